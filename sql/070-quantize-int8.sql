-- quantize = int8: the option is stored (veclite_info, the config JSON), KNN
-- answers with exact distances (equal to l2_distance of the row) in order on the
-- graph walk, the small-table exact pass, a filter and a stream; a reopened
-- connection reads the persisted codes; a table whose config has no quantize key
-- (written before the option) opens as none.
.open q8.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE g USING veclite(v float[4], tag integer, quantize = INT8, exact_threshold = 0, m = 4);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600)
INSERT INTO g(rowid, v, tag) SELECT i, json_array(sin(i*1.1), cos(i*2.3)*2, sin(i*0.7)*(i%5), cos(i*0.37)), i % 7 FROM c;
SELECT json_extract(veclite_info('g'), '$.params.quantize');
SELECT json_extract(value, '$.quantize') FROM g_config WHERE key = 'config';
.mode list
SELECT rowid, round(distance, 6), distance = l2_distance(v, '[0.5, 1, -0.5, 0.2]') FROM g
 WHERE knn_match(v, '[0.5, 1, -0.5, 0.2]') AND k = 5;
SELECT 'filter', rowid, round(distance, 6), distance = l2_distance(v, '[0.5, 1, -0.5, 0.2]') FROM g
 WHERE knn_match(v, '[0.5, 1, -0.5, 0.2]') AND k = 3 AND tag = 3;
SELECT 'stream', rowid, round(distance, 6) FROM g
 WHERE knn_match(v, '[0.5, 1, -0.5, 0.2]') AND (tag = 1 OR rowid % 11 = 0) ORDER BY distance LIMIT 4;
-- the same rows in an f32 table give the same answers
CREATE VIRTUAL TABLE f USING veclite(v float[4], tag integer, exact_threshold = 0, m = 4);
INSERT INTO f(rowid, v, tag) SELECT rowid, v, tag FROM g;
SELECT count(*) FROM (SELECT rowid, distance FROM g WHERE knn_match(v, '[0.5, 1, -0.5, 0.2]') AND k = 10
  EXCEPT SELECT rowid, distance FROM f WHERE knn_match(v, '[0.5, 1, -0.5, 0.2]') AND k = 10 AND ef = 600);
-- a small table: the exact pass over the codes, re-ranked
CREATE VIRTUAL TABLE s USING veclite(v float[4], quantize = int8);
INSERT INTO s(rowid, v) SELECT rowid, v FROM g WHERE rowid <= 100;
SELECT rowid, round(distance, 6) FROM s WHERE knn_match(v, '[0.5, 1, -0.5, 0.2]') AND k = 3;
SELECT json_extract(veclite_info('s'), '$.searches');
SELECT veclite_check('g'), veclite_check('s');
-- reopen: the codes are read back from g_codes
.open q8.db
.load ./target/release/libveclite
SELECT rowid, round(distance, 6) FROM g WHERE knn_match(v, '[0.5, 1, -0.5, 0.2]') AND k = 5;
-- a table written before the option: no quantize key in its config JSON
PRAGMA writable_schema = 0;
UPDATE f_config SET value = json_remove(value, '$.quantize') WHERE key = 'config';
.open q8.db
.load ./target/release/libveclite
SELECT json_extract(veclite_info('f'), '$.params.quantize'), veclite_check('f');
SELECT rowid, round(distance, 6) FROM f WHERE knn_match(v, '[0.5, 1, -0.5, 0.2]') AND k = 2;
