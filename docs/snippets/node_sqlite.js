const { DatabaseSync } = require('node:sqlite'); // Node 22.13+ or 23.5+
const sqliteVeclite = require('sqlite-veclite');

const db = new DatabaseSync('docs.db', { allowExtension: true });
sqliteVeclite.load(db);
db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS docs USING veclite(
           embedding float[3], category text, year integer, distance = cosine)`);
const insert = db.prepare('INSERT OR REPLACE INTO docs(rowid, embedding, category, year) VALUES (?, ?, ?, ?)');
db.exec('BEGIN');
insert.run(1, new Float32Array([0.1, 0.9, 0.0]), 'news', 2021); // a Float32Array binds as the BLOB
insert.run(2, new Float32Array([0.8, 0.1, 0.1]), 'blog', 2019);
insert.run(3, JSON.stringify([0.2, 0.7, 0.1]), 'news', 2018);
db.exec('COMMIT');
const knn = db.prepare(
  'SELECT rowid, category, round(distance, 4) AS distance FROM docs WHERE knn_match(embedding, ?) AND k = ?'
);
console.log(JSON.stringify(knn.all(new Float32Array([0, 1, 0]), 2)));
db.close();
