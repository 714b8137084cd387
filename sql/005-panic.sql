-- A Rust panic inside a callback becomes an SQLite error; the shell keeps running.
-- (veclite_test_panic exists only when VECLITE_TESTING=1 at load time.)
.load ./target/release/libveclite
SELECT veclite_test_panic();
SELECT 'the shell is still alive', l2_distance('[0]', '[2]');
SELECT veclite_test_panic();
SELECT 1 + 1;
