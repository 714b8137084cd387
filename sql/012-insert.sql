-- INSERT with explicit and automatic rowids, JSON and BLOB vectors; reading back.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[3], category text, year integer);
INSERT INTO docs(rowid, embedding, category, year) VALUES (10, '[1,0,0]', 'a', 2020);
INSERT INTO docs(embedding, category) VALUES (vector('[0,1,0]'), 'b');
SELECT last_insert_rowid();
INSERT INTO docs(embedding) VALUES (X'0000803F0000803F0000803F');
INSERT INTO docs(rowid, embedding, year) VALUES (-5, '[0.5, 0.25, -1]', '2024');
SELECT rowid, vector_to_json(embedding), category, year, typeof(year) FROM docs;
SELECT typeof(embedding), length(embedding) FROM docs LIMIT 1;
-- rowid as text that looks like an integer is accepted, as on ordinary tables
INSERT INTO docs(rowid, embedding) VALUES ('7', '[1,2,3]');
SELECT rowid FROM docs WHERE rowid = 7;
INSERT INTO docs(rowid, embedding) VALUES ('seven', '[1,2,3]');
SELECT count(*) FROM docs;
