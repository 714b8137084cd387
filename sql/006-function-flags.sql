-- Vector functions are deterministic (usable in indexes and generated columns).
.load ./target/release/libveclite
CREATE TABLE t(v BLOB, n REAL GENERATED ALWAYS AS (vector_norm(v)));
CREATE INDEX t_dims ON t(vector_dims(v));
INSERT INTO t(v) VALUES (vector('[3,4]')), (vector('[1,0,0]'));
SELECT n FROM t ORDER BY n;
SELECT count(*) FROM t WHERE vector_dims(v) = 3;
SELECT name, (flags & 0x800) != 0 AS deterministic, (flags & 0x200000) != 0 AS innocuous FROM pragma_function_list WHERE name IN ('l2_distance','vector','veclite_version','veclite_info') ORDER BY name;
