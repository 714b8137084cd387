-- A dot-product graph (poorly connected by nature) loads and answers on a fresh
-- connection, and veclite_check does not call it degenerate.
.open dot.db
.load ./target/release/libveclite
CREATE VIRTUAL TABLE d USING veclite(v float[5], distance = dot, exact_threshold = 0, m = 4);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 800)
INSERT INTO d(rowid, v) SELECT i, json_array(sin(i*1.1), cos(i*2.3)*2, sin(i*0.7)*(i%5), cos(i*0.37), sin(i*3.1)*0.5) FROM c;
SELECT veclite_check('d');
.open dot.db
.load ./target/release/libveclite
SELECT count(*) FROM d WHERE knn_match(v, '[1,0,0,0,0]') AND k = 10;
SELECT veclite_check('d');
