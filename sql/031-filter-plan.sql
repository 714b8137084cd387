-- EXPLAIN QUERY PLAN shows which terms the plan took over. Terms SQLite never hands
-- to a virtual table (OR, LIKE, functions of columns) are applied after the search.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[1], tag text COLLATE NOCASE, n integer);
EXPLAIN QUERY PLAN SELECT rowid FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag = 'a' AND n >= 2;
EXPLAIN QUERY PLAN SELECT rowid FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND n IN (1, 2) AND rowid != 5;
EXPLAIN QUERY PLAN SELECT rowid FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag IS NULL;
EXPLAIN QUERY PLAN SELECT rowid FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND (n = 1 OR n = 2);
EXPLAIN QUERY PLAN SELECT rowid FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND abs(n) = 1;
EXPLAIN QUERY PLAN SELECT tag FROM docs WHERE n = 3;
EXPLAIN QUERY PLAN SELECT tag FROM docs WHERE rowid = 3;
EXPLAIN QUERY PLAN SELECT rowid FROM docs;
-- OR is applied after the search: fewer than k rows may come back
INSERT INTO docs(rowid, embedding, tag, n) VALUES (1, '[1]', 'a', 1), (2, '[2]', 'b', 2), (3, '[3]', 'c', 3), (4, '[4]', 'd', 1);
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 2 AND (n = 3 OR n = 1);
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 2 AND n IN (3, 1);
