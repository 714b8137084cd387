const Database = require('better-sqlite3');
const sqliteVeclite = require('sqlite-veclite');

const db = new Database('docs.db');
sqliteVeclite.load(db);
db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS docs USING veclite(
           embedding float[3], category text, year integer, distance = cosine)`);
const f32 = (v) => Buffer.from(new Float32Array(v).buffer); // the float32 BLOB
const insert = db.prepare('INSERT OR REPLACE INTO docs(rowid, embedding, category, year) VALUES (?, ?, ?, ?)');
db.transaction(() => {
  insert.run(1, f32([0.1, 0.9, 0.0]), 'news', 2021);
  insert.run(2, f32([0.8, 0.1, 0.1]), 'blog', 2019);
  insert.run(3, JSON.stringify([0.2, 0.7, 0.1]), 'news', 2018); // JSON text works too
})();
const knn = db.prepare(
  'SELECT rowid, category, round(distance, 4) AS distance FROM docs WHERE knn_match(embedding, ?) AND k = ?'
);
console.log(JSON.stringify(knn.all(f32([0, 1, 0]), 2)));
db.close();
