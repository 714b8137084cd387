-- veclite_check sees what made KNN fail or lie, and veclite_rebuild repairs it when
-- the rows are intact (reliability issue, item 6): bad T_config entries, a config
-- JSON that disagrees with the table's definition, a degenerate graph, non-finite
-- vectors written into T_rows, and a schema edited through writable_schema.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE t USING veclite(v float[2], tag text, exact_threshold = 0, m = 4);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200)
INSERT INTO t(rowid, v, tag) SELECT i, json_array(i % 20, i / 20), 'x' FROM c;
SELECT veclite_check('t');
-- 1. generation missing: KNN fails, check says why, rebuild repairs
DELETE FROM t_config WHERE key = 'generation';
SELECT count(*) FROM t WHERE knn_match(v, '[1,1]') AND k = 3;
SELECT veclite_check('t');
SELECT veclite_rebuild('t');
SELECT veclite_check('t'), count(*) FROM t WHERE knn_match(v, '[1,1]') AND k = 3;
-- 2. format_read not an integer
UPDATE t_config SET value = 'one' WHERE key = 'format_read';
SELECT veclite_check('t');
SELECT veclite_rebuild('t');
SELECT veclite_check('t');
-- 3. the config JSON disagrees with the definition (queries use the definition)
UPDATE t_config SET value = json_set(value, '$.m', 1000, '$.metric', 'dot') WHERE key = 'config';
SELECT veclite_check('t');
UPDATE t_config SET value = 'not json' WHERE key = 'config';
SELECT veclite_check('t');
SELECT veclite_rebuild('t');
SELECT veclite_check('t');
-- 4. a degenerate graph: every level-0 list emptied (links stay valid)
UPDATE t_graph SET node = X'0100' || X'0000' WHERE unicode(substr(node, 2, 1)) IS NULL OR substr(node, 2, 1) = X'00';
UPDATE t_config SET value = value + 1 WHERE key = 'generation';
SELECT veclite_check('t') LIKE '%cannot be reached from the entry point%';
SELECT veclite_rebuild('t');
SELECT veclite_check('t');
-- 5. a NaN vector written straight into the rows table
UPDATE t_rows SET v = X'0000C07F0000803F' WHERE rowid = 7;
UPDATE t_config SET value = value + 1 WHERE key = 'generation';
SELECT veclite_check('t');
SELECT veclite_rebuild('t');
UPDATE t_rows SET v = X'0000803F0000803F' WHERE rowid = 7;
SELECT veclite_rebuild('t');
SELECT veclite_check('t');
-- 6. the schema edited through writable_schema (float[2] -> float[3]): the stored
-- vectors no longer fit the definition
.open schema.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE s USING veclite(v float[2]);
INSERT INTO s(rowid, v) VALUES (1, '[1,2]'), (2, '[3,4]');
UPDATE s_config SET value = json_set(value, '$.metric', 'cosine') WHERE key = 'config';
SELECT veclite_check('s');
SELECT veclite_rebuild('s'), veclite_check('s');
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'float[2]', 'float[3]') WHERE name = 's';
PRAGMA writable_schema = OFF;
.open schema.db
.load ./target/release/libveclite
SELECT veclite_check('s');
