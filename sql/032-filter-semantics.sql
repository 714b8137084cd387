-- Pushed-down terms select exactly what the same WHERE selects on an ordinary table:
-- affinity, NULL rules and collation. The oracle is docs_rows, the table's own rows.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[1], tag text COLLATE NOCASE, n integer, x real, b blob);
INSERT INTO docs(rowid, embedding, tag, n, x, b) VALUES
  (1, '[1]', 'Apple', 1, 1.5, X'01'), (2, '[2]', 'apple', '2', 2, X'02'), (3, '[3]', 'APPLE ', NULL, NULL, NULL),
  (4, '[4]', 'banana', 10, 10.0, X'0102'), (5, '[5]', NULL, '9', 9.5, X'01'), (6, '[6]', '10', 3, '3.5', 'text');
CREATE TEMP VIEW cases(id, w) AS VALUES
  (1, 'tag = ''apple'''), (2, 'tag = ''apple'' COLLATE BINARY'), (3, 'n = ''2'''), (4, 'n > ''9'''),
  (5, 'x >= 3'), (6, 'n != 2'), (7, 'tag > ''B'''), (8, 'b = X''01'''), (9, 'n IS NULL'), (10, 'tag IN (''APPLE'', ''x'')');
-- each: KNN result with the term == same WHERE on docs_rows
SELECT 1, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND tag = 'apple'), (SELECT group_concat(rowid) FROM docs_rows WHERE tag = 'apple');
SELECT 2, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND tag = 'apple' COLLATE BINARY), (SELECT group_concat(rowid) FROM docs_rows WHERE tag = 'apple' COLLATE BINARY);
SELECT 3, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND n = '2'), (SELECT group_concat(rowid) FROM docs_rows WHERE n = '2');
SELECT 4, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND n > '9'), (SELECT group_concat(rowid) FROM docs_rows WHERE n > '9');
SELECT 5, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND x >= 3), (SELECT group_concat(rowid) FROM docs_rows WHERE x >= 3);
SELECT 6, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND n != 2), (SELECT group_concat(rowid) FROM docs_rows WHERE n != 2);
SELECT 7, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND tag > 'B'), (SELECT group_concat(rowid) FROM docs_rows WHERE tag > 'B');
SELECT 8, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND b = X'01'), (SELECT group_concat(rowid) FROM docs_rows WHERE b = X'01');
SELECT 9, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND n IS NULL), (SELECT group_concat(rowid) FROM docs_rows WHERE n IS NULL);
SELECT 10, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND tag IN ('APPLE', 'x')), (SELECT group_concat(rowid) FROM docs_rows WHERE tag IN ('APPLE', 'x'));
SELECT 11, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND n = NULL), (SELECT group_concat(rowid) FROM docs_rows WHERE n = NULL);
SELECT 12, (SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[0]') AND k = 10 AND x < '4'), (SELECT group_concat(rowid) FROM docs_rows WHERE x < '4');
-- the same terms without KNN
SELECT 13, (SELECT group_concat(rowid) FROM docs WHERE tag = 'apple' AND n >= 1), (SELECT group_concat(rowid) FROM docs_rows WHERE tag = 'apple' AND n >= 1);
SELECT 14, (SELECT group_concat(rowid) FROM docs WHERE rowid IN (2, 4, 99)), (SELECT group_concat(rowid) FROM docs_rows WHERE rowid IN (2, 4, 99));
