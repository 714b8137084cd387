-- Queries without KNN behave as on an ordinary table.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE docs USING veclite(embedding float[2], tag text, n integer);
INSERT INTO docs(rowid, embedding, tag, n) VALUES (1, '[1,0]', 'a', 1), (2, '[0,1]', 'b', 2), (3, '[1,1]', 'a', NULL);
SELECT rowid, tag, n, distance IS NULL FROM docs;
SELECT rowid FROM docs WHERE rowid = 2;
SELECT rowid FROM docs WHERE tag = 'a' ORDER BY rowid DESC;
SELECT count(*), sum(n) FROM docs;
SELECT tag, count(*) FROM docs GROUP BY tag;
SELECT rowid, round(l2_distance(embedding, '[0,0]'), 4) AS d FROM docs ORDER BY d, rowid;
SELECT d.rowid, o.rowid FROM docs d JOIN docs o ON o.tag = d.tag AND o.rowid > d.rowid;
SELECT rowid FROM docs WHERE rowid IN (SELECT rowid FROM docs WHERE n IS NULL);
SELECT vector_to_json(embedding) FROM docs WHERE embedding = vector('[0,1]');
