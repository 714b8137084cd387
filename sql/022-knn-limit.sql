-- KNN without k: rows stream in distance order and LIMIT (or OFFSET) stops the
-- stream, on every host (3.40 does not pass LIMIT to the table; newer hosts may, and
-- then it is used as k when the table evaluates every other term).
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2]);
INSERT INTO docs(rowid, embedding) VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[5,5]');
SELECT rowid, distance FROM docs WHERE knn_match(embedding, '[0,0]') ORDER BY distance LIMIT 2;
SELECT rowid, distance FROM docs WHERE knn_match(embedding, '[0,0]') ORDER BY distance LIMIT 1 OFFSET 1;
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 2 ORDER BY distance LIMIT 1;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[5,5]');
SELECT rowid, k FROM docs WHERE knn_match(embedding, '[0,0]') AND rowid % 2 = 1;
