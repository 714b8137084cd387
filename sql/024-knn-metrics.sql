-- The distance column per metric; for dot it is the negative inner product.
.load ./target/release/libveclite
CREATE VIRTUAL TABLE l2 USING veclite(v float[2]);
CREATE VIRTUAL TABLE cos USING veclite(v float[2], distance = cosine);
CREATE VIRTUAL TABLE dot USING veclite(v float[2], distance = dot);
INSERT INTO l2(rowid, v) VALUES (1, '[1,0]'), (2, '[0,2]'), (3, '[3,3]');
INSERT INTO cos(rowid, v) SELECT rowid, v FROM l2;
INSERT INTO dot(rowid, v) SELECT rowid, v FROM l2;
SELECT rowid, round(distance, 5), round(l2_distance(v, '[1,1]'), 5) FROM l2 WHERE knn_match(v, '[1,1]') AND k = 3;
SELECT rowid, round(distance, 5), round(cosine_distance(v, '[1,1]'), 5) FROM cos WHERE knn_match(v, '[1,1]') AND k = 3;
SELECT rowid, round(distance, 5), -inner_product(v, '[1,1]') FROM dot WHERE knn_match(v, '[1,1]') AND k = 3;
-- the stored vector is kept exactly as given, also under cosine
SELECT vector_to_json(v) FROM cos WHERE rowid = 3;
