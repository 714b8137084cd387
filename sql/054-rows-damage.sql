-- Damage in the rows table (a vector BLOB of the wrong length) and in the config
-- table is reported as corruption naming the table, never followed.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE t USING veclite(v float[2], tag text, exact_threshold = 0);
INSERT INTO t(rowid, v, tag) VALUES (1, '[1,1]', 'a'), (2, '[2,2]', 'b'), (3, '[3,3]', 'c');
UPDATE t_rows SET v = X'0000803F' WHERE rowid = 2;
UPDATE t_config SET value = value + 1 WHERE key = 'generation';
SELECT rowid FROM t WHERE knn_match(v, '[2,2]') AND k = 1;
SELECT veclite_check('t');
SELECT veclite_rebuild('t');
-- the damaged row can still be read, fixed, or deleted through the table
SELECT rowid, length(v), tag FROM t WHERE rowid = 2;
DELETE FROM t_rows WHERE rowid = 2;
DELETE FROM t_graph WHERE rowid = 2;
SELECT veclite_rebuild('t');
SELECT veclite_check('t');
SELECT rowid FROM t WHERE knn_match(v, '[2,2]') AND k = 1;
-- a config entry that is not JSON
UPDATE t_config SET value = 'not json' WHERE key = 'config';
SELECT veclite_info('t');
SELECT veclite_check('t');
-- a missing shadow table
DROP TABLE t_graph;
SELECT rowid FROM t WHERE knn_match(v, '[2,2]') AND k = 1;
DROP TABLE t;
SELECT count(*) FROM sqlite_schema;
