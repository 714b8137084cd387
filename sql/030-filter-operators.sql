-- Metadata terms are applied inside the search: the k nearest *matching* rows.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[1], tag text, n integer, x real);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20)
INSERT INTO docs(rowid, embedding, tag, n, x)
  SELECT i, json_array(i), CASE i % 3 WHEN 0 THEN 'red' WHEN 1 THEN 'green' ELSE NULL END, i % 5, i / 4.0 FROM c;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag = 'red';
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag != 'red';
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND n < 1;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND n <= 1;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND n > 3;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND n >= 3;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND x BETWEEN 2 AND 3;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag IN ('red', 'blue');
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND n IN (4, 2);
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag IS NULL;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag IS NOT NULL;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag IS 'green';
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag IS NOT 'green';
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND rowid > 15;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND rowid IN (SELECT value FROM json_each('[20, 7, 9, 1]'));
-- combined with AND
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 3 AND tag = 'red' AND n >= 2 AND x < 4;
-- a single matching row
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 5 AND n = 4 AND tag = 'green';
-- no matching row
SELECT count(*) FROM docs WHERE knn_match(embedding, '[0]') AND k = 5 AND tag = 'blue';
SELECT count(*) FROM docs WHERE knn_match(embedding, '[0]') AND k = 5 AND n IN (SELECT 1 WHERE 0);
