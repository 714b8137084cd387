-- A damaged graph is detected and reported, never followed; veclite_rebuild
-- recovers it from the rows; DROP TABLE still works.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE g USING veclite(v float[1], exact_threshold = 0);
INSERT INTO g(rowid, v) VALUES (1, '[1]'), (2, '[2]'), (3, '[3]');
-- (each damage also bumps the generation, as another process's commit would)
UPDATE g_graph SET node = X'0100' WHERE rowid = 2;
UPDATE g_config SET value = value + 1 WHERE key = 'generation';
SELECT rowid FROM g WHERE knn_match(v, '[2]') AND k = 1;
SELECT veclite_check('g');
SELECT veclite_rebuild('g');
SELECT veclite_check('g');
SELECT rowid FROM g WHERE knn_match(v, '[2]') AND k = 1;
-- a link to a node that does not exist
UPDATE g_graph SET node = X'01000100E7030000' WHERE rowid = 1;
UPDATE g_config SET value = value + 1 WHERE key = 'generation';
SELECT veclite_check('g');
SELECT rowid FROM g WHERE knn_match(v, '[2]') AND k = 1;
-- a row without a node
DELETE FROM g_graph WHERE rowid = 3;
SELECT veclite_check('g');
-- garbage config
UPDATE g_config SET value = 'x' WHERE key = 'generation';
SELECT rowid FROM g WHERE knn_match(v, '[2]') AND k = 1;
UPDATE g_config SET value = 7 WHERE key = 'format_read';
DROP TABLE g;
SELECT count(*) FROM sqlite_schema;
