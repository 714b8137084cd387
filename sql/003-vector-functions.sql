.load ./target/release/libveclite
SELECT hex(vector('[1, -2, 0.5]'));
SELECT vector_to_json(vector('[1, -2, 0.5]'));
SELECT vector_to_json('[ 1e-3 ,2E2 ]');
SELECT vector_to_json(X'0000C03F');
SELECT vector_dims('[1,2,3,4]'), vector_dims(X'0000803F00000040');
SELECT vector_norm('[3,4]');
SELECT vector_to_json(l2_normalize('[3,4]'));
SELECT vector_to_json(l2_normalize('[0,0]'));
SELECT vector(NULL) IS NULL, vector_to_json(NULL) IS NULL, vector_dims(NULL) IS NULL, vector_norm(NULL) IS NULL, l2_normalize(NULL) IS NULL;
SELECT typeof(vector('[1]')), typeof(vector_to_json('[1]')), typeof(vector_dims('[1]')), typeof(vector_norm('[1]'));
