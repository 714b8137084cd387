-- ALTER TABLE RENAME renames every shadow table; DROP TABLE removes them.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text);
INSERT INTO docs(rowid, embedding, tag) VALUES (1, '[0,0]', 'a'), (2, '[1,1]', 'b');
ALTER TABLE docs RENAME TO articles;
SELECT name FROM sqlite_schema ORDER BY name;
SELECT rowid, tag FROM articles WHERE knn_match(embedding, '[1,1]') AND k = 1 AND tag = 'b';
-- the old name is free again
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text);
SELECT count(*) FROM docs;
DROP TABLE articles;
DROP TABLE docs;
SELECT count(*) FROM sqlite_schema;
