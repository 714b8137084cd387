-- Rowid conflicts follow the statement's conflict clause, as on an ordinary table.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text);
INSERT INTO docs(rowid, embedding, tag) VALUES (1, '[1,0]', 'first'), (2, '[0,1]', 'second');
INSERT INTO docs(rowid, embedding, tag) VALUES (1, '[9,9]', 'dup');
INSERT OR ABORT INTO docs(rowid, embedding, tag) VALUES (1, '[9,9]', 'dup');
INSERT OR FAIL INTO docs(rowid, embedding, tag) VALUES (1, '[9,9]', 'dup');
INSERT OR IGNORE INTO docs(rowid, embedding, tag) VALUES (1, '[9,9]', 'ignored'), (3, '[3,3]', 'third');
SELECT rowid, vector_to_json(embedding), tag FROM docs ORDER BY rowid;
INSERT OR REPLACE INTO docs(rowid, embedding, tag) VALUES (1, '[7,7]', 'replaced');
REPLACE INTO docs(rowid, embedding, tag) VALUES (4, '[4,4]', 'new');
SELECT rowid, vector_to_json(embedding), tag FROM docs ORDER BY rowid;
-- an UPDATE that moves a rowid onto an existing one
UPDATE docs SET rowid = 2 WHERE rowid = 1;
UPDATE OR REPLACE docs SET rowid = 2 WHERE rowid = 1;
SELECT rowid, tag FROM docs ORDER BY rowid;
-- a multi-row INSERT that conflicts in its second row is undone as a whole
INSERT INTO docs(rowid, embedding, tag) VALUES (10, '[1,1]', 'x'), (3, '[1,1]', 'y');
SELECT count(*) FROM docs WHERE rowid = 10;
-- UPSERT is not available on virtual tables (SQLite's rule)
INSERT INTO docs(rowid, embedding, tag) VALUES (3, '[1,1]', 'z') ON CONFLICT DO NOTHING;
