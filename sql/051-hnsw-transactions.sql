-- ROLLBACK and ROLLBACK TO restore the graph: the next KNN answers as if the
-- rolled-back writes never happened.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE g USING veclite(v float[1], exact_threshold = 0, m = 4);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50)
INSERT INTO g(rowid, v) SELECT i, json_array(i) FROM c;
BEGIN;
INSERT INTO g(rowid, v) VALUES (100, '[0]'), (101, '[0.5]');
DELETE FROM g WHERE rowid = 1;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[0]') AND k = 3;
ROLLBACK;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[0]') AND k = 3;
BEGIN;
DELETE FROM g WHERE rowid = 2;
SAVEPOINT a;
INSERT INTO g(rowid, v) VALUES (200, '[1.1]');
DELETE FROM g WHERE rowid = 3;
SAVEPOINT b;
UPDATE g SET v = '[1.2]' WHERE rowid = 50;
ROLLBACK TO b;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[1]') AND k = 4;
ROLLBACK TO a;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[1]') AND k = 4;
RELEASE a;
-- a failing multi-row statement is undone, the transaction goes on
INSERT INTO g(rowid, v) VALUES (300, '[0.9]'), (301, '[1,2]');
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[1]') AND k = 4;
COMMIT;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[1]') AND k = 4;
SELECT veclite_check('g');
-- a rebuild rolled back leaves the old graph
BEGIN;
DELETE FROM g WHERE rowid = 4;
SELECT veclite_rebuild('g');
ROLLBACK;
SELECT group_concat(rowid) FROM g WHERE knn_match(v, '[4]') AND k = 3;
SELECT veclite_check('g');
