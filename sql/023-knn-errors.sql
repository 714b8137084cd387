-- Bad KNN queries fail with errors that say how to fix them.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text);
INSERT INTO docs(rowid, embedding, tag) VALUES (1, '[0,0]', 'a');
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 0;
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 10001;
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 'ten';
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = NULL;
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 1 AND ef = 0;
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0,0]') AND k = 1;
SELECT rowid FROM docs WHERE knn_match(embedding, 'nope') AND k = 1;
SELECT rowid FROM docs WHERE knn_match(embedding, NULL) AND k = 1;
SELECT rowid FROM docs WHERE knn_match(tag, '[0,0]') AND k = 1;
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') OR k = 1;
SELECT knn_match(embedding, '[0,0]') FROM docs;
SELECT 'ok';
