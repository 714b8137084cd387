-- A join condition on the rowid (`docs.id = d.rowid`) is applied by SQLite to the k
-- rows of the search, whatever order SQLite picks; a join condition on a metadata
-- column from an outer table (`d.pos = a.pos`) is a filter inside the search, per
-- outer row. A literal `rowid = 7` stays a filter inside the search.
.load target/release/libveclite
CREATE VIRTUAL TABLE d USING veclite(embedding float[2], pos text, exact_threshold = 0);
CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600)
INSERT INTO d(rowid, embedding, pos)
  SELECT i, json_array(i % 37, i % 91), CASE i % 3 WHEN 0 THEN 'noun' ELSE 'verb' END FROM c;
INSERT INTO docs SELECT rowid, 'body ' || rowid FROM d_rows;
CREATE TABLE queries(id INTEGER PRIMARY KEY, vec);
INSERT INTO queries VALUES (0, '[1, 2]'), (3, '[5, 5]');
CREATE TABLE asks(id INTEGER PRIMARY KEY, query_id INTEGER, pos TEXT, n INTEGER);
INSERT INTO asks VALUES (1, 0, 'noun', 2), (2, 0, 'verb', 1), (3, 3, 'noun', 3);
SELECT 'join on rowid', count(*) FROM docs JOIN d ON docs.id = d.rowid
 WHERE knn_match(d.embedding, '[1, 2]') AND d.k = 5;
SELECT 'same as', count(*) FROM (SELECT rowid FROM d WHERE knn_match(embedding, '[1, 2]') AND k = 5);
SELECT 'batch', a.id, d.rowid, d.pos, docs.body
  FROM asks a JOIN queries q ON q.id = a.query_id
  JOIN d ON knn_match(d.embedding, q.vec) AND d.k = a.n AND d.pos = a.pos
  JOIN docs ON docs.id = d.rowid
 ORDER BY a.id, d.distance, d.rowid;
-- every batch row's pos matches its ask, and each ask gets its n rows
SELECT 'batch counts', a.id, a.n, count(*), sum(d.pos = a.pos)
  FROM asks a JOIN queries q ON q.id = a.query_id
  JOIN d ON knn_match(d.embedding, q.vec) AND d.k = a.n AND d.pos = a.pos
  JOIN docs ON docs.id = d.rowid
 GROUP BY a.id ORDER BY a.id;
SELECT 'literal rowid', rowid FROM d WHERE knn_match(embedding, '[1, 2]') AND k = 5 AND rowid = 7;
EXPLAIN QUERY PLAN SELECT d.rowid FROM asks a JOIN queries q ON q.id = a.query_id
  JOIN d ON knn_match(d.embedding, q.vec) AND d.k = a.n AND d.pos = a.pos
  JOIN docs ON docs.id = d.rowid;
