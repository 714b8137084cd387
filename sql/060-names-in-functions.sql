-- Naming a table in veclite_check / veclite_info: a table whose name holds a dot,
-- quoted parts, a schema prefix, a view and SQLite's own schema table (reliability
-- issue, item 9); `float[ 3 ]` with spaces is a vector type.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE "x.y" USING veclite(v float[ 3 ]);
INSERT INTO "x.y"(rowid, v) VALUES (1, '[1,2,3]');
SELECT veclite_check('x.y'), veclite_check('"x.y"'), veclite_check('main."x.y"');
SELECT json_extract(veclite_info('x.y'), '$.rows', '$.dims');
CREATE VIRTUAL TABLE t USING veclite(v float [2]);
SELECT veclite_check('main.t'), veclite_check('"main"."t"'), veclite_check('T');
CREATE VIEW vw AS SELECT 1;
SELECT veclite_check('vw');
SELECT veclite_check('sqlite_master');
SELECT veclite_check('nosuch.t');
SELECT veclite_check('x.nosuch');
