-- UPDATE of the vector, of metadata (the vector is kept), and of the rowid.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], category text, year integer);
INSERT INTO docs(rowid, embedding, category, year) VALUES (1, '[1,0]', 'a', 2000), (2, '[0,1]', 'b', 2001), (3, '[1,1]', 'c', 2002);
UPDATE docs SET category = 'A' WHERE rowid = 1;
UPDATE docs SET year = year + 10;
UPDATE docs SET year = NULL WHERE category = 'c';
UPDATE docs SET embedding = '[5,5]' WHERE rowid = 2;
UPDATE docs SET embedding = vector('[9,9]'), category = 'cc' WHERE year IS NULL;
SELECT rowid, vector_to_json(embedding), category, year FROM docs;
UPDATE docs SET rowid = 20 WHERE rowid = 2;
UPDATE docs SET rowid = rowid + 100 WHERE rowid < 10;
SELECT rowid, vector_to_json(embedding), category, year FROM docs ORDER BY rowid;
-- errors write nothing
UPDATE docs SET embedding = '[1]' WHERE rowid = 20;
UPDATE docs SET embedding = NULL WHERE rowid = 20;
UPDATE docs SET embedding = NULL;
UPDATE docs SET distance = 1;
SELECT rowid, vector_to_json(embedding) FROM docs ORDER BY rowid;
