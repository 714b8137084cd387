-- Writes are transactional: ROLLBACK, ROLLBACK TO, and a failing statement is undone
-- while earlier statements of the transaction stay.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text);
INSERT INTO docs(rowid, embedding, tag) VALUES (1, '[0,0]', 'committed');
BEGIN;
INSERT INTO docs(rowid, embedding, tag) VALUES (2, '[1,1]', 'rolled back');
UPDATE docs SET tag = 'changed' WHERE rowid = 1;
ROLLBACK;
SELECT rowid, tag FROM docs WHERE knn_match(embedding, '[1,1]') AND k = 5;
BEGIN;
INSERT INTO docs(rowid, embedding, tag) VALUES (2, '[1,1]', 'kept');
SAVEPOINT s1;
INSERT INTO docs(rowid, embedding, tag) VALUES (3, '[2,2]', 'undone');
DELETE FROM docs WHERE rowid = 1;
ROLLBACK TO s1;
RELEASE s1;
-- a multi-row INSERT ... SELECT with a bad vector in the middle: the statement is undone
CREATE TEMP TABLE src(id, v);
INSERT INTO src VALUES (10, '[1,0]'), (11, '[1,2,3]'), (12, '[0,1]');
INSERT INTO docs(rowid, embedding) SELECT id, v FROM src;
SELECT rowid, tag FROM docs ORDER BY rowid;
COMMIT;
SELECT rowid, tag FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 5;
