'use strict';
// Smoke test of an installed sqlite-veclite tarball (run by scripts/package_check.sh
// from a folder where `npm install <tarball> better-sqlite3@12` was run).
//   node smoke.js better-sqlite3
//   node smoke.js node:sqlite      (Node 22.13+ / 23.5+: DatabaseSync with allowExtension)
// Prints one "ok: ..." line per check; throws (exit 1) on the first failure.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const sqliteVeclite = require('sqlite-veclite');

const host = process.argv[2] || 'better-sqlite3';
const ok = (what) => console.log(`ok: ${host}: ${what}`);

function open(allowExtension) {
  if (host === 'better-sqlite3') {
    const Database = require('better-sqlite3');
    return new Database(':memory:');
  }
  if (host === 'node:sqlite') {
    const { DatabaseSync } = require('node:sqlite');
    return new DatabaseSync(':memory:', { allowExtension });
  }
  throw new Error(`unknown host ${host}: better-sqlite3 or node:sqlite`);
}

const f32 = (v) => Buffer.from(new Float32Array(v).buffer);

const file = sqliteVeclite.getLoadablePath();
assert.ok(path.isAbsolute(file) && path.basename(file) === 'veclite.so' && fs.existsSync(file), file);
ok(`getLoadablePath() = ${file}`);
assert.throws(() => sqliteVeclite.load({}), /loadExtension/);

if (host === 'node:sqlite') {
  assert.throws(() => sqliteVeclite.load(open(false)), /allowExtension: true/);
  ok('load() of a DatabaseSync opened without allowExtension says what to pass');
}

const db = open(true);
sqliteVeclite.load(db);
const { v, s } = db.prepare('SELECT veclite_version() AS v, sqlite_version() AS s').get();
const pkg = require('sqlite-veclite/package.json');
assert.equal(v, pkg.version);
ok(`load(db) on SQLite ${s}: veclite_version() = ${v} = package version`);

// deterministic vectors (an LCG), inserted as float32 Buffers and as JSON text
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const dims = 12;
const n = 300;
const vectors = new Map();
for (let i = 1; i <= n; i++) vectors.set(i, Array.from(new Float32Array(Array.from({ length: dims }, rand))));
db.exec(`CREATE VIRTUAL TABLE docs USING veclite(embedding float[${dims}], tag text, exact_threshold = 0)`);
const insert = db.prepare('INSERT INTO docs(rowid, embedding, tag) VALUES (?, ?, ?)');
db.exec('BEGIN');
for (const [i, vec] of vectors) insert.run(i, i % 2 ? f32(vec) : JSON.stringify(vec), i % 3 === 0 ? 'three' : 'other');
db.exec('COMMIT');
assert.equal(db.prepare('SELECT count(*) AS c FROM docs').get().c, n);
const blob = db.prepare('SELECT embedding FROM docs WHERE rowid = 8').get().embedding;
assert.deepEqual(Buffer.from(blob), f32(vectors.get(8)));
ok(`${n} rows inserted (Float32Array Buffers and JSON text), vector reads back as the float32 BLOB`);

const dist = (a, b) => Math.sqrt(a.reduce((acc, x, j) => acc + (x - b[j]) ** 2, 0));
const exact = (q, k, keep = () => true) =>
  [...vectors]
    .filter(([i]) => keep(i))
    .map(([i, vec]) => [dist(q, vec), i])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1])
    .slice(0, k)
    .map(([, i]) => i);

const knn = db.prepare('SELECT rowid, distance FROM docs WHERE knn_match(embedding, ?) AND k = ?');
let hits = 0;
for (const qi of [5, 100, 300]) {
  const rows = knn.all(f32(vectors.get(qi)), 10);
  assert.equal(rows.length, 10);
  assert.equal(Number(rows[0].rowid), qi);
  assert.ok(Math.abs(rows[0].distance) < 1e-6);
  const want = new Set(exact(vectors.get(qi), 10));
  hits += rows.filter((r) => want.has(Number(r.rowid))).length;
}
assert.ok(hits >= 27, `recall ${hits}/30`);
ok(`KNN through the HNSW graph: nearest is the query's own row, recall ${hits}/30`);

const q = vectors.get(20);
const got = db
  .prepare("SELECT rowid FROM docs WHERE knn_match(embedding, ?) AND k = 4 AND tag = 'three' AND rowid <= 90")
  .all(JSON.stringify(q))
  .map((r) => Number(r.rowid));
assert.deepEqual(got, exact(q, 4, (i) => i % 3 === 0 && i <= 90));
ok(`filtered KNN with a JSON query (tag = 'three' AND rowid <= 90) equals brute force: ${got}`);

assert.throws(() => knn.all(JSON.stringify([1, 2]), 1), /vector has 2 dimensions, expected 12/);
ok("a wrong-sized query vector gives veclite's error");
db.close();
