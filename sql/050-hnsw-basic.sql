-- The HNSW graph path (exact_threshold = 0 forces it even on a tiny table): writes
-- keep the graph in step; veclite_check and veclite_info see it.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE g USING veclite(v float[2], tag text, exact_threshold = 0, m = 4);
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 99)
INSERT INTO g(rowid, v, tag) SELECT i, json_array(i % 10, i / 10), CASE WHEN i % 2 THEN 'odd' ELSE 'even' END FROM c;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[0,0]') AND k = 3;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[9.1,9.1]') AND k = 4;
SELECT veclite_check('g');
SELECT json_extract(veclite_info('g'), '$.rows', '$.graph_nodes', '$.searches');
DELETE FROM g WHERE rowid IN (0, 1, 10, 11);
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[0,0]') AND k = 3;
UPDATE g SET v = '[0,0]' WHERE rowid = 55;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[0,0]') AND k = 2;
UPDATE g SET rowid = 1000 WHERE rowid = 55;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[0,0]') AND k = 2;
UPDATE g SET tag = 'moved' WHERE rowid = 1000;
SELECT rowid, tag, vector_to_json(v) FROM g WHERE knn_match(v, '[0,0]') AND k = 1;
INSERT OR REPLACE INTO g(rowid, v, tag) VALUES (1000, '[9,9]', 'replaced');
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[9,9]') AND k = 2;
SELECT veclite_check('g');
SELECT count(*), (SELECT count(*) FROM g_graph) FROM g;
-- freed slots are reused
INSERT INTO g(rowid, v) VALUES (5000, '[4.5, 4.5]'), (5001, '[4.6, 4.6]'), (5002, '[4.7, 4.7]');
SELECT max(slot) < 100 FROM g_graph;
SELECT veclite_rebuild('g');
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[4.6,4.6]') AND k = 3;
SELECT veclite_check('g');
