-- Every malformed vector is an error that says what is wrong.
.load ./target/release/libveclite
SELECT vector('[1, 2,, 3]');
SELECT vector('[1 2]');
SELECT vector('1, 2');
SELECT vector('[]');
SELECT vector('');
SELECT vector('[1, 2] x');
SELECT vector('[1e39]');
SELECT vector('[NaN]');
SELECT vector(X'000000');
SELECT vector(X'');
SELECT vector(X'0000C07F');
SELECT vector(X'0000807F');
SELECT vector(42);
SELECT vector(4.2);
SELECT l2_distance('[1,2]', '[1,2,3]');
SELECT cosine_distance('[0,0]', '[1,1]');
SELECT inner_product('[1]', 'oops');
SELECT knn_match('[1]', '[1]');
SELECT 'still running';
