-- In defensive mode, shadow tables cannot be written directly; the table still works.
.load ./target/release/libveclite
.dbconfig defensive on
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text);
INSERT INTO docs(rowid, embedding, tag) VALUES (1, '[0,0]', 'a');
INSERT INTO docs_rows(rowid, embedding) VALUES (2, X'00');
UPDATE docs_config SET value = 99 WHERE key = 'format_read';
DELETE FROM docs_rows;
DROP TABLE docs_rows;
SELECT rowid, tag FROM docs_rows;
UPDATE docs SET tag = 'b';
SELECT rowid, tag FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 1;
DROP TABLE docs;
SELECT count(*) FROM sqlite_schema;
