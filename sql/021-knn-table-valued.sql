-- KNN, table-valued form: docs(query, k) binds the hidden columns query and k.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text, n integer);
INSERT INTO docs(rowid, embedding, tag, n) VALUES (1, '[0,0]', 'a', 1), (2, '[1,0]', 'b', 2), (3, '[0,2]', 'c', 3), (4, '[3,4]', 'd', 4);
SELECT rowid, distance, tag FROM docs('[0,0]', 3);
SELECT rowid, distance FROM docs('[0,0]', 3) WHERE n >= 2;
SELECT rowid, k, vector_to_json(query) FROM docs('[0,0]', 1);
SELECT rowid FROM docs(vector('[3,3]'), 2) ORDER BY distance;
-- in a join: the query comes from another table
CREATE TABLE queries(id INTEGER PRIMARY KEY, q TEXT);
INSERT INTO queries VALUES (1, '[0,0]'), (2, '[3,4]');
SELECT queries.id, docs.rowid FROM queries, docs(queries.q, 1) ORDER BY queries.id;
SELECT q.id, d.rowid, round(d.distance, 3) FROM queries q JOIN docs d ON knn_match(d.embedding, q.q) AND d.k = 2 ORDER BY q.id, d.distance;
