-- The extension loads and registers its functions.
.load ./target/release/libveclite
SELECT veclite_version() GLOB '[0-9]*.[0-9]*.[0-9]*';
SELECT count(*) FROM pragma_function_list WHERE name IN ('l2_distance','cosine_distance','inner_product','vector','vector_to_json','vector_dims','vector_norm','l2_normalize','veclite_version','knn_match','veclite_info');
SELECT count(*) FROM pragma_module_list WHERE name = 'veclite';
-- Loading twice is harmless.
.load ./target/release/libveclite
SELECT l2_distance('[0,0]', '[3,4]');
