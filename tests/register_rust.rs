//! The entry point called with a connection and its API table (as `sqlite3_load_extension` does) gives a rusqlite connection everything the shared library does.

mod common;

#[test]
fn register_gives_functions_and_module() {
    let c = common::conn();
    let d: f64 = c
        .query_row("SELECT l2_distance('[0,0]', '[3,4]')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(d, 5.0);
    c.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[2], tag text);
         INSERT INTO t(rowid, v, tag) VALUES (1, '[0,0]', 'a'), (2, '[1,0]', 'b'), (3, '[5,5]', 'a');",
    )
    .unwrap();
    let ids: Vec<i64> = c
        .prepare("SELECT rowid FROM t WHERE knn_match(v, '[0.9,0]') AND k = 2 AND tag = 'a'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![1, 3]);
}

#[test]
fn limit_form_works_on_hosts_that_pass_limit() {
    // The bundled SQLite is 3.5x: LIMIT reaches the virtual table.
    let c = common::conn();
    c.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[1]);
         INSERT INTO t(rowid, v) VALUES (1, '[0]'), (2, '[1]'), (3, '[2]'), (4, '[3]');",
    )
    .unwrap();
    let ids: Vec<i64> = c
        .prepare("SELECT rowid FROM t WHERE knn_match(v, '[2.1]') ORDER BY distance LIMIT 2")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![3, 4]);
    // LIMIT with OFFSET: k covers both, SQLite skips the offset rows.
    let ids: Vec<i64> = c
        .prepare(
            "SELECT rowid FROM t WHERE knn_match(v, '[2.1]') ORDER BY distance LIMIT 2 OFFSET 1",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![4, 2]);
}

#[test]
fn bad_vector_is_an_error_not_a_panic() {
    let c = common::conn();
    c.execute_batch("CREATE VIRTUAL TABLE t USING veclite(v float[2])")
        .unwrap();
    let e = c
        .execute("INSERT INTO t(v) VALUES ('[1,2,3]')", [])
        .unwrap_err()
        .to_string();
    assert!(e.contains("vector has 3 dimensions, expected 2"), "{e}");
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}
