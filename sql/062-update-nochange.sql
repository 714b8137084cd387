-- Multi-row UPDATEs keep the columns they do not set, exactly as an ordinary table:
-- `UPDATE OR REPLACE t SET rowid = rowid + 1` carries each row's own values along
-- (reliability issue, item 4: it used to keep the values captured before the
-- statement, so (4, tag 3) survived instead of (4, tag 1)).
.load ./target/release/libveclite
CREATE VIRTUAL TABLE t USING veclite(v float[1], tag integer, note text);
CREATE TABLE o(v text, tag integer, note text);
INSERT INTO t(rowid, v, tag, note) VALUES (1,'[1]',1,'a'), (2,'[2]',2,'b'), (3,'[3]',3,'c'), (5,'[5]',5,'e');
INSERT INTO o(rowid, v, tag, note) VALUES (1,'[1.0]',1,'a'), (2,'[2.0]',2,'b'), (3,'[3.0]',3,'c'), (5,'[5.0]',5,'e');
CREATE VIEW diff AS
  SELECT 'only in t', rowid, vector_to_json(v), tag, note FROM t
  EXCEPT SELECT 'only in t', rowid, v, tag, note FROM o
  UNION ALL
  SELECT 'only in o', rowid, v, tag, note FROM o
  EXCEPT SELECT 'only in o', rowid, vector_to_json(v), tag, note FROM t;
UPDATE OR REPLACE t SET rowid = rowid + 1;
UPDATE OR REPLACE o SET rowid = rowid + 1;
SELECT * FROM diff;
SELECT rowid, tag, note FROM t ORDER BY rowid;
UPDATE OR REPLACE t SET rowid = rowid - 2 WHERE rowid > 4;
UPDATE OR REPLACE o SET rowid = rowid - 2 WHERE rowid > 4;
SELECT * FROM diff;
UPDATE t SET tag = tag * 10 WHERE tag > 1;
UPDATE o SET tag = tag * 10 WHERE tag > 1;
UPDATE t SET note = note || '!';
UPDATE o SET note = note || '!';
UPDATE t SET v = '[9]' WHERE note = 'a!';
UPDATE o SET v = '[9.0]' WHERE note = 'a!';
SELECT * FROM diff;
SELECT rowid, vector_to_json(v), tag, note FROM t ORDER BY rowid;
SELECT veclite_check('t');
SELECT group_concat(rowid) FROM t WHERE knn_match(v, '[8]') AND k = 3;
