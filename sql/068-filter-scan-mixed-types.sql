-- An INTEGER column can hold REALs and TEXT too (values its affinity cannot make
-- integers). The pass over the index's cells tests INTEGER cells with plain integer
-- comparisons and every other cell with SQLite's rules, so it selects what an
-- ordinary table does: an empty integer range (n > 5 AND n < 6) still admits 5.5,
-- and TEXT sorts above every number.
.load target/release/libveclite
CREATE VIRTUAL TABLE d USING veclite(v float[2], n integer, tag text, exact_threshold = 0);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400)
INSERT INTO d(rowid, v, n, tag) SELECT i, json_array(i % 17, i % 23),
  CASE i % 10 WHEN 0 THEN 5.5 WHEN 1 THEN 'x' || i WHEN 2 THEN -2.25 ELSE i % 9 END,
  char(97 + i % 3) FROM c;
CREATE TABLE r AS SELECT rowid AS id, n, tag FROM d_rows;
SELECT typeof(n), count(*) FROM r GROUP BY 1 ORDER BY 1;
-- each query: the KNN answer (every matching row: k covers the table) against the
-- same WHERE on an ordinary table
SELECT 'empty int range', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 400 AND n > 5 AND n < 6 ORDER BY rowid))
  = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE n > 5 AND n < 6 ORDER BY id)),
  (SELECT count(*) FROM r WHERE n > 5 AND n < 6);
SELECT 'range', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 400 AND n >= 3 ORDER BY rowid))
  = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE n >= 3 ORDER BY id));
SELECT 'between', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 400 AND n BETWEEN -3 AND 2 ORDER BY rowid))
  = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE n BETWEEN -3 AND 2 ORDER BY id));
SELECT 'in', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 400 AND n IN (1, 4, 7) ORDER BY rowid))
  = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE n IN (1, 4, 7) ORDER BY id));
SELECT 'not equal', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 400 AND n != 4 ORDER BY rowid))
  = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE n != 4 ORDER BY id));
SELECT 'with another column', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 400 AND n > 5 AND n < 6 AND tag = 'b' ORDER BY rowid))
  = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE n > 5 AND n < 6 AND tag = 'b' ORDER BY id));
SELECT 'in list, another column', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 400 AND n IN (2, 3) AND tag != 'a' ORDER BY rowid))
  = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE n IN (2, 3) AND tag != 'a' ORDER BY id));
SELECT 'in the index', json_extract(veclite_info('d'), '$.filters.in_index') >= 7, json_extract(veclite_info('d'), '$.filters.sql');
