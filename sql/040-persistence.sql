-- The table lives in the database file: it survives close/reopen, VACUUM and .backup.
.open test.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text);
INSERT INTO docs(rowid, embedding, tag) VALUES (1, '[0,0]', 'a'), (2, '[1,1]', 'b'), (3, '[5,5]', 'c');
DELETE FROM docs WHERE rowid = 2;
.open test.db
.load ./target/release/libveclite
SELECT rowid, tag FROM docs WHERE knn_match(embedding, '[1,1]') AND k = 2;
VACUUM;
SELECT rowid, vector_to_json(embedding), tag FROM docs;
.backup copy.db
.open copy.db
.load ./target/release/libveclite
SELECT rowid, distance FROM docs('[5,5]', 1);
PRAGMA integrity_check;
