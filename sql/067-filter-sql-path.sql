-- In a UTF-16 database the index's metadata cells (UTF-8 bytes) would order text
-- differently from SQLite, so filters there take the SQL path on the rows table
-- (veclite_info's filters.sql counts them) and select what an ordinary table does.
.load target/release/libveclite
PRAGMA encoding = 'UTF-16le';
CREATE VIRTUAL TABLE d USING veclite(v float[2], tag text collate nocase, n integer, exact_threshold = 0);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300)
INSERT INTO d(rowid, v, tag, n) SELECT i, json_array(i % 17, i % 23), char(65 + i % 5) || char(0x00e9 + i % 3), i % 7 FROM c;
CREATE TABLE r AS SELECT rowid AS id, tag, n FROM d_rows;
SELECT 'eq', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 300 AND tag = 'aé' ORDER BY rowid))
        = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE tag = 'aé' COLLATE NOCASE ORDER BY id));
SELECT 'range', (SELECT group_concat(rowid) FROM (SELECT rowid FROM d WHERE knn_match(v, '[1, 1]') AND k = 300 AND tag > 'Bê' AND n < 3 ORDER BY rowid))
        = (SELECT group_concat(id) FROM (SELECT id FROM r WHERE tag > 'Bê' COLLATE NOCASE AND n < 3 ORDER BY id));
SELECT 'counted', json_extract(veclite_info('d'), '$.filters.sql') >= 2, json_extract(veclite_info('d'), '$.filters.in_index');
