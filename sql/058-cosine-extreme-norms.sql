-- Vectors whose squared norm leaves the float32 range, under cosine: KNN and
-- cosine_distance() agree, and a tiny vector is not a zero vector (reliability
-- issue, item 3: [2e19,0,0] used to get distance 0 to every query).
.load ./target/release/libveclite
CREATE VIRTUAL TABLE c USING veclite(v float[3], distance = cosine, exact_threshold = 0);
INSERT INTO c(rowid, v) VALUES (1, '[2e19, 0, 0]'), (2, '[0, 1, 0]'), (3, '[1e-40, 0, 0]'), (4, '[0, 3e38, 3e38]');
SELECT rowid, round(distance, 4) FROM c WHERE knn_match(v, '[0, 1, 0]') AND k = 4;
SELECT rowid, round(distance, 4) FROM c WHERE knn_match(v, '[5e30, 0, 0]') AND k = 2;
SELECT rowid, round(cosine_distance(v, '[0, 1, 0]'), 4) FROM c ORDER BY rowid;
SELECT round(cosine_distance('[2e19, 0, 0]', '[1, 0, 0]'), 4), round(cosine_distance('[1e-40, 0, 0]', '[1, 1, 0]'), 4);
SELECT round(vector_norm('[2e19, 0, 0]') / 1e19, 3), vector_norm('[1e-40, 0, 0]') > 0;
SELECT vector_to_json(l2_normalize('[3e38, 3e38, 0]'));
-- an exact zero is still refused
INSERT INTO c(rowid, v) VALUES (9, '[0, 0, 0]');
SELECT cosine_distance('[0, 0]', '[1e-40, 0]');
