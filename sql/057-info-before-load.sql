-- veclite_info tells the truth on a fresh connection, before the first query loads
-- the index: the graph's levels come from the stored entry point, and it says that
-- this connection holds no index yet (distribution issue, item 8).
.open info.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE t USING veclite(v float[2], exact_threshold = 0, m = 2);
SELECT json_extract(veclite_info('t'), '$.rows', '$.levels', '$.index_loaded', '$.memory_bytes');
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300)
INSERT INTO t(rowid, v) SELECT i, json_array(i % 17, i / 17) FROM c;
.open info.db
.load ./target/release/libveclite
SELECT json_extract(veclite_info('t'), '$.rows', '$.index_loaded', '$.memory_bytes', '$.index_loads');
SELECT json_extract(veclite_info('t'), '$.levels') > 1;
SELECT count(*) FROM t WHERE knn_match(v, '[3,3]') AND k = 5;
SELECT json_extract(veclite_info('t'), '$.index_loaded', '$.index_loads'), json_extract(veclite_info('t'), '$.memory_bytes') > 300 * 8;
