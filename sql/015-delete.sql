.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], category text);
INSERT INTO docs(rowid, embedding, category) VALUES (1, '[1,0]', 'a'), (2, '[0,1]', 'b'), (3, '[1,1]', 'a');
DELETE FROM docs WHERE rowid = 2;
SELECT rowid, category FROM docs;
DELETE FROM docs WHERE category = 'a';
SELECT count(*) FROM docs;
INSERT INTO docs(rowid, embedding) VALUES (1, '[2,2]');
SELECT rowid, vector_to_json(embedding) FROM docs;
DELETE FROM docs;
SELECT count(*), json_extract(veclite_info('docs'), '$.rows') FROM docs;
