-- UPDATE ... SET rowid = NULL fails as on an ordinary table, and a command INSERT
-- that also carries values is refused instead of dropping the row (reliability
-- issue, items 5 and 8).
.load ./target/release/libveclite
CREATE VIRTUAL TABLE t USING veclite(v float[2], tag text);
CREATE TABLE o(tag text);
INSERT INTO t(rowid, v, tag) VALUES (5, '[1,2]', 'a');
INSERT INTO o(rowid, tag) VALUES (5, 'a');
UPDATE o SET rowid = NULL WHERE rowid = 5;
UPDATE t SET rowid = NULL WHERE rowid = 5;
SELECT changes(), rowid, tag FROM t;
INSERT INTO t(rowid, v, tag, query) VALUES (7, '[1,2]', 'x', 'veclite:rebuild');
INSERT INTO t(tag, query) VALUES ('x', 'veclite:flush');
SELECT count(*) FROM t;
-- the plain command still works, also from a trigger (commands are writes of the
-- table, allowed wherever a write is; veclite_rebuild() itself is direct-only)
INSERT INTO t(query) VALUES ('veclite:rebuild');
CREATE TABLE jobs(x);
CREATE TRIGGER jobs_rebuild AFTER INSERT ON jobs BEGIN INSERT INTO t(query) VALUES ('veclite:rebuild'); END;
INSERT INTO jobs VALUES (1);
CREATE TRIGGER jobs_rebuild_fn AFTER INSERT ON jobs BEGIN SELECT veclite_rebuild('t'); END;
INSERT INTO jobs VALUES (2);
SELECT veclite_check('t'), count(*) FROM t;
