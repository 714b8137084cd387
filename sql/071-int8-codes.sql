-- quantize = int8 tables are storage format 2: t_codes holds one code row per row
-- (dims + 8 bytes), written with the row by every INSERT, UPDATE, DELETE and
-- REPLACE, undone with it by ROLLBACK; veclite_check compares them with the rows.
-- An f32 table stays format 1. An int8 table of format 1 (an older build's, no
-- codes table) opens, is written as format 1, and veclite_rebuild upgrades it.
.open codes.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE c USING veclite(v float[3], tag integer, quantize = int8);
CREATE VIRTUAL TABLE f USING veclite(v float[3]);
SELECT 'format', (SELECT group_concat(value) FROM c_config WHERE key LIKE 'format%'),
       (SELECT group_concat(value) FROM f_config WHERE key LIKE 'format%'),
       (SELECT count(*) FROM sqlite_schema WHERE name = 'f_codes');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
INSERT INTO c(rowid, v, tag) SELECT i, json_array(sin(i), cos(i * 3), i % 4 - 1.5), i % 3 FROM n;
SELECT 'codes', count(*), min(length(code)), max(length(code)) FROM c_codes;
SELECT 'row 1', hex(code) FROM c_codes WHERE rowid = 1;
UPDATE c SET v = '[2, 0, -1]' WHERE rowid = 1;
SELECT 'row 1 updated', hex(code) FROM c_codes WHERE rowid = 1;
-- writing a code is an INSERT of veclite's own: last_insert_rowid() still says what
-- an ordinary table would (the last row the user inserted)
SELECT 'last_insert_rowid', last_insert_rowid();
UPDATE c SET v = '[1, 1, 1]' WHERE rowid = 5;
SELECT veclite_rebuild('c') > 0;
SELECT 'last_insert_rowid', last_insert_rowid();
UPDATE c SET rowid = 100 WHERE rowid = 2;
UPDATE c SET tag = 7 WHERE rowid = 3;
DELETE FROM c WHERE rowid > 40 AND rowid < 100;
INSERT OR REPLACE INTO c(rowid, v) VALUES (4, '[0, 0, 1]');
BEGIN;
INSERT INTO c(rowid, v) VALUES (500, '[1, 1, 1]');
DELETE FROM c WHERE rowid < 10;
ROLLBACK;
SELECT 'after writes', (SELECT count(*) FROM c_codes), (SELECT count(*) FROM c_rows),
       (SELECT group_concat(rowid) FROM c_codes WHERE rowid NOT IN (SELECT rowid FROM c_rows)),
       veclite_check('c');
SELECT rowid, round(distance, 6) FROM c WHERE knn_match(v, '[1, 0, 0]') AND k = 3;
-- damage: a code that no longer encodes its row's vector
UPDATE c_codes SET code = (SELECT code FROM c_codes WHERE rowid = 5) WHERE rowid = 6;
SELECT veclite_check('c');
SELECT 'rebuild', veclite_rebuild('c'), veclite_check('c');
-- an older build's int8 table: no codes, format 1
DROP TABLE c_codes;
UPDATE c_config SET value = 1 WHERE key LIKE 'format%';
.open codes.db
.load ./target/release/libveclite
SELECT rowid, round(distance, 6) FROM c WHERE knn_match(v, '[1, 0, 0]') AND k = 3;
INSERT INTO c(rowid, v) VALUES (600, '[1, 0, 0.1]');
SELECT 'format 1', (SELECT group_concat(value) FROM c_config WHERE key LIKE 'format%'),
       (SELECT count(*) FROM sqlite_schema WHERE name = 'c_codes'), veclite_check('c');
SELECT 'upgrade', veclite_rebuild('c');
SELECT 'format 2', (SELECT group_concat(value) FROM c_config WHERE key LIKE 'format%'),
       (SELECT count(*) FROM c_codes), veclite_check('c');
.open codes.db
.load ./target/release/libveclite
SELECT rowid, round(distance, 6) FROM c WHERE knn_match(v, '[1, 0, 0]') AND k = 3;
-- vectors so large that a code's squared norm is past f32 (stored as infinity) load
CREATE VIRTUAL TABLE h USING veclite(v float[3], quantize = int8, exact_threshold = 0);
INSERT INTO h(rowid, v) VALUES (1, '[3e19, -1e19, 2e18]'), (2, '[1, 2, 3]');
.open codes.db
.load ./target/release/libveclite
SELECT 'huge', rowid, distance FROM h WHERE knn_match(v, '[1, 2, 3]') AND k = 2;
SELECT 'huge', veclite_check('h');
-- a table name whose codes table is taken by another table cannot be an int8 table
CREATE TABLE d_codes(x);
CREATE VIRTUAL TABLE d USING veclite(v float[3], quantize = int8);
SELECT 'still there', count(*) FROM sqlite_schema WHERE name = 'd_codes';
