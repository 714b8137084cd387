.load ./target/release/libveclite
SELECT l2_distance('[1,2,3]', '[1,2,3]');
SELECT l2_distance('[0,0]', '[3,4]');
SELECT round(cosine_distance('[1,0]', '[0,1]'), 6);
SELECT round(cosine_distance('[1,1]', '[2,2]'), 6);
SELECT round(cosine_distance('[1,0]', '[-1,0]'), 6);
SELECT inner_product('[1,2,3]', '[4,5,6]');
-- BLOB and JSON inputs mix
SELECT l2_distance(vector('[0,0]'), '[3,4]');
SELECT inner_product(X'0000803F00000040', '[1,1]');
-- NULL in, NULL out
SELECT l2_distance(NULL, '[1]') IS NULL, cosine_distance('[1]', NULL) IS NULL, inner_product(NULL, NULL) IS NULL;
