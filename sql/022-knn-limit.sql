-- KNN, LIMIT form. SQLite 3.40 does not pass LIMIT to a virtual table when the WHERE
-- holds knn_match, so there the error says to add k = N (3.41+ hosts take LIMIT).
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2]);
INSERT INTO docs(rowid, embedding) VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[5,5]');
SELECT CASE WHEN sqlite_version() >= '3.41' THEN 'limit passed' ELSE 'limit not passed' END;
SELECT rowid, distance FROM docs WHERE knn_match(embedding, '[0,0]') ORDER BY distance LIMIT 2;
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 2 ORDER BY distance LIMIT 1;
