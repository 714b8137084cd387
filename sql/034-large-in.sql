-- IN lists of any length arrive as one list and are applied inside the search.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[1], n integer);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)
INSERT INTO docs(rowid, embedding, n) SELECT i, json_array(i), i FROM c;
CREATE TABLE pick(v INTEGER);
WITH RECURSIVE c(i) AS (SELECT 2 UNION ALL SELECT i + 3 FROM c WHERE i < 2900) INSERT INTO pick SELECT i FROM c;
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[1500]') AND k = 5 AND n IN (SELECT v FROM pick);
SELECT group_concat(rowid) FROM docs WHERE knn_match(embedding, '[1500]') AND k = 5 AND rowid IN (SELECT v FROM pick) AND n IN (SELECT v + 3 FROM pick);
SELECT count(*) FROM docs WHERE n IN (SELECT v FROM pick);
SELECT count(*) FROM docs WHERE rowid IN (SELECT v FROM pick UNION ALL SELECT v FROM pick);
