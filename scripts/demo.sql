.load ./target/release/libveclite
.mode tabs
CREATE TABLE staging(id INTEGER, gloss TEXT, pos TEXT, vec TEXT);
CREATE TABLE queries(id INTEGER, text TEXT, vec TEXT);
.import target/demo/glosses.tsv staging
.import target/demo/queries.tsv queries
CREATE VIRTUAL TABLE glosses USING veclite(embedding float[384], gloss text, pos text, distance = cosine);
.read target/demo/load.sql
DROP TABLE staging;
.mode box
.print '== veclite' 
SELECT veclite_version() AS version, json_extract(veclite_info('glosses'), '$.rows') AS rows, json_extract(veclite_info('glosses'), '$.simd') AS simd;
.print '== the 5 nearest glosses to each query (WHERE knn_match(...) AND k = 5)'
SELECT substr(q.text, 1, 40) AS query, substr(g.gloss, 1, 70) AS nearest, round(g.distance, 3) AS distance
  FROM queries q JOIN glosses g ON knn_match(g.embedding, q.vec) AND g.k = 5
 WHERE q.id < 3 ORDER BY q.id, g.distance;
.print '== filtered inside the search: the 3 nearest *verbs* (table-valued form)'
SELECT substr(q.text, 1, 40) AS query, substr(g.gloss, 1, 70) AS nearest_verb, round(g.distance, 3) AS distance
  FROM queries q, glosses(q.vec, 3) g
 WHERE q.id < 2 AND g.pos = 'verb' ORDER BY q.id, g.distance;
.print '== the plan shows which terms the search took over'
EXPLAIN QUERY PLAN SELECT rowid FROM glosses WHERE knn_match(embedding, '[0]') AND k = 3 AND pos = 'verb';
