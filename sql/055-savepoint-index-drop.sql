-- Index-dropping events inside a savepoint (a rebuild, DROP TABLE) rolled back with
-- ROLLBACK TO: the committed table must pass veclite_check and answer KNN, in this
-- connection and in a fresh one (reliability issue, item 1).
.open t.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE t USING veclite(v float[2], exact_threshold = 0);
INSERT INTO t(rowid, v) VALUES (1,'[1,0]'), (2,'[0,1]'), (3,'[1,1]');
-- the issue's reproduction: an insert before the savepoint, a rebuild inside it
BEGIN; INSERT INTO t(rowid, v) VALUES (4,'[2,2]');
SAVEPOINT s1; SELECT veclite_rebuild('t'); ROLLBACK TO s1;
INSERT INTO t(rowid, v) VALUES (5,'[3,3]');
COMMIT;
SELECT veclite_check('t');
SELECT group_concat(rowid) FROM t WHERE knn_match(v, '[3,3]') AND k = 5;
-- DROP TABLE inside the savepoint, after a delete and a rowid update
BEGIN; DELETE FROM t WHERE rowid = 1; UPDATE t SET rowid = 10 WHERE rowid = 2;
SAVEPOINT s1; DROP TABLE t; ROLLBACK TO s1;
INSERT INTO t(rowid, v) VALUES (6,'[0,2]');
COMMIT;
SELECT veclite_check('t');
SELECT group_concat(rowid) FROM t WHERE knn_match(v, '[0,2]') AND k = 10;
-- a rebuild, then more writes, then ROLLBACK TO a savepoint opened after the rebuild
BEGIN; SELECT veclite_rebuild('t'); SAVEPOINT a; INSERT INTO t(rowid, v) VALUES (7,'[5,5]');
ROLLBACK TO a; DELETE FROM t WHERE rowid = 3; COMMIT;
SELECT veclite_check('t');
SELECT group_concat(rowid) FROM t WHERE knn_match(v, '[1,1]') AND k = 10;
-- nested: writes between two savepoints, a rebuild in the inner one, back to the outer
BEGIN; SAVEPOINT a; INSERT INTO t(rowid, v) VALUES (8,'[8,8]');
SAVEPOINT b; INSERT INTO t(rowid, v) VALUES (9,'[9,9]'); SELECT veclite_rebuild('t');
ROLLBACK TO a; INSERT INTO t(rowid, v) VALUES (11,'[1,2]'); RELEASE a; COMMIT;
SELECT veclite_check('t');
SELECT group_concat(rowid) FROM t WHERE knn_match(v, '[1,2]') AND k = 10;
-- xSync succeeded for an earlier transaction's graph; a full ROLLBACK after a
-- savepoint flush restores the committed state
BEGIN; INSERT INTO t(rowid, v) VALUES (12,'[4,4]'); SAVEPOINT x; DELETE FROM t WHERE rowid = 5;
ROLLBACK;
SELECT veclite_check('t');
SELECT group_concat(rowid) FROM t WHERE knn_match(v, '[4,4]') AND k = 10;
-- a fresh connection sees the same committed index
.open t.db
.load ./target/release/libveclite
SELECT veclite_check('t');
SELECT group_concat(rowid) FROM t WHERE knn_match(v, '[4,4]') AND k = 10;
