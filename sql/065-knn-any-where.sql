-- KNN without k and WHERE terms the table does not take (modulo, OR, LIKE, a
-- pushed-down term with a residual one, json_extract, a JOIN): rows stream in
-- distance order, SQLite applies the terms and LIMIT stops the stream, so every
-- query returns 10 matching rows. Each line pairs veclite's answer with the same
-- query on an ordinary table (the oracle); the two halves must be equal.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE d USING veclite(v float[2], year integer, tag text, js text, exact_threshold = 0);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i < 5000)
INSERT INTO d(rowid, v, year, tag, js) SELECT i, json_array((i*7919 % 1000)/10.0, (i*104729 % 1000)/10.0), 1950 + i % 70, 'tag' || (i % 13), json_object('n', i % 11) FROM s;
CREATE TABLE r AS SELECT rowid AS id, v, year, tag, js FROM d_rows;
CREATE TABLE kinds(n INTEGER PRIMARY KEY, kind TEXT);
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM s WHERE i < 69) INSERT INTO kinds SELECT 1950 + i, CASE WHEN i % 4 = 0 THEN 'a' ELSE 'b' END FROM s;
SELECT (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[50, 50]') AND year % 7 = 3 ORDER BY distance LIMIT 10))
    = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE year % 7 = 3 ORDER BY l2_distance(v, vector('[50,50]')), id LIMIT 10));
SELECT (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[10, 90]') AND (tag = 'tag3' OR year = 1990) ORDER BY distance LIMIT 10))
    = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE (tag = 'tag3' OR year = 1990) ORDER BY l2_distance(v, vector('[10,90]')), id LIMIT 10));
SELECT (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[10, 90]') AND tag LIKE '%1%' ORDER BY distance LIMIT 10))
    = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE tag LIKE '%1%' ORDER BY l2_distance(v, vector('[10,90]')), id LIMIT 10));
SELECT (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[10, 90]') AND year >= 2000 AND rowid % 5 = 0 ORDER BY distance LIMIT 10))
    = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE year >= 2000 AND id % 5 = 0 ORDER BY l2_distance(v, vector('[10,90]')), id LIMIT 10));
SELECT (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[70, 20]') AND json_extract(js, '$.n') = 4 ORDER BY distance LIMIT 10))
    = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE json_extract(js, '$.n') = 4 ORDER BY l2_distance(v, vector('[70,20]')), id LIMIT 10));
SELECT (SELECT group_concat(rowid) FROM (SELECT d.rowid FROM d JOIN kinds k ON k.n = d.year WHERE knn_match(d.v, '[30, 30]') AND k.kind = 'a' ORDER BY d.distance LIMIT 10))
    = (SELECT group_concat(id) FROM (SELECT id FROM r JOIN kinds k ON k.n = r.year WHERE k.kind = 'a' ORDER BY l2_distance(v, vector('[30,30]')), id LIMIT 10));
-- OFFSET, and a stream read to its end
SELECT (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[50, 50]') AND year = 1960 ORDER BY distance LIMIT 5 OFFSET 3))
    = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE year = 1960 ORDER BY l2_distance(v, vector('[50,50]')), id LIMIT 5 OFFSET 3));
SELECT count(*), count(DISTINCT rowid) FROM d WHERE knn_match(v, '[50, 50]');
SELECT json_extract(veclite_info('d'), '$.searches.stream');
