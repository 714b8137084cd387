-- KNN, WHERE form: knn_match(vector, query) AND k = N. Ordered by distance, then rowid.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text);
INSERT INTO docs(rowid, embedding, tag) VALUES
  (1, '[0,0]', 'a'), (2, '[1,0]', 'b'), (3, '[0,1]', 'c'), (4, '[3,4]', 'd'), (5, '[-1,0]', 'e'), (6, '[10,10]', 'f');
SELECT rowid, distance, tag FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 4;
-- ties (rows 2, 3 and 5 are all at distance 1) come by rowid
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 3 AND rowid != 1;
-- BLOB query, k larger than the table
SELECT count(*) FROM docs WHERE knn_match(embedding, vector('[0,0]')) AND k = 100;
-- MATCH is a synonym
SELECT rowid, distance FROM docs WHERE embedding MATCH '[3,4]' AND k = 2;
-- KNN_MATCH is case-insensitive; k may come from a parameter or expression
SELECT rowid FROM docs WHERE KNN_MATCH(embedding, '[10,9]') AND k = 1 + 1;
-- distance column and ORDER BY distance need no extra sort
EXPLAIN QUERY PLAN SELECT rowid, distance FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 3 ORDER BY distance;
-- ef is accepted (it matters for the HNSW path)
SELECT rowid FROM docs WHERE knn_match(embedding, '[0,0]') AND k = 2 AND ef = 100;
