//! `quantize = int8` tables persist their codes (format 2, `t_codes`): a load reads
//! them instead of the f32 rows and answers exactly as the writer did; every write
//! keeps them in step with `t_rows` (veclite_check compares the two); damage to
//! them is found; a table written before format 2 opens, loads from its rows, and
//! `veclite_rebuild` upgrades it; other tables stay format 1.

mod common;

use rusqlite::Connection;

const N: usize = 1_200;

fn one<T: rusqlite::types::FromSql>(c: &Connection, sql: &str) -> T {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn open(path: &std::path::Path) -> Connection {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    c
}

fn loads(c: &Connection) -> i64 {
    let s: String = one(c, "SELECT veclite_info('t')");
    serde_json::from_str::<serde_json::Value>(&s).unwrap()["index_loads"]
        .as_i64()
        .unwrap()
}

/// A temporary directory holding `build`'s table, its path and `nq` queries.
fn setup(nq: usize) -> (tempfile::TempDir, std::path::PathBuf, Vec<Vec<u8>>) {
    let w = common::wordnet(N, nq);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let qs = build(&path, &w);
    (dir, path, qs)
}

/// An int8 table of `N` rows with some updated, moved and deleted, written in
/// several transactions with a savepoint rolled back; returns the queries.
fn build(path: &std::path::Path, w: &common::Wordnet) -> Vec<Vec<u8>> {
    let a = open(path);
    a.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[384], cat integer, distance = cosine, quantize = int8)",
    )
    .unwrap();
    a.execute_batch("BEGIN").unwrap();
    for (i, v) in w.base.iter().enumerate() {
        a.execute(
            "INSERT INTO t(rowid, v, cat) VALUES (?, ?, ?)",
            rusqlite::params![i as i64 + 1, common::blob(v), i as i64 % 5],
        )
        .unwrap();
    }
    a.execute_batch("COMMIT").unwrap();
    a.execute_batch(
        "BEGIN;
         UPDATE t SET v = (SELECT v FROM t_rows WHERE rowid = 7) WHERE rowid = 8;
         UPDATE t SET cat = 9 WHERE rowid = 9;
         UPDATE t SET rowid = 5000 WHERE rowid = 10;
         DELETE FROM t WHERE rowid % 11 = 3;
         SAVEPOINT s;
         DELETE FROM t WHERE rowid < 100;
         INSERT INTO t(rowid, v) SELECT rowid + 10000, v FROM t_rows WHERE rowid < 50;
         ROLLBACK TO s;
         INSERT OR REPLACE INTO t(rowid, v) SELECT rowid, v FROM t_rows WHERE rowid BETWEEN 20 AND 30 ORDER BY rowid DESC;
         COMMIT;",
    )
    .unwrap();
    assert_eq!(one::<String>(&a, "SELECT veclite_check('t')"), "ok");
    w.queries.iter().map(|q| common::blob(q)).collect()
}

#[test]
fn codes_are_written_with_the_rows_and_loaded_instead_of_them() {
    let (_dir, path, qs) = setup(20);
    let a = open(&path);
    let expected: Vec<_> = qs.iter().map(|q| common::knn10(&a, q)).collect();
    drop(a);

    let b = open(&path);
    assert_eq!(
        one::<i64>(&b, "SELECT value FROM t_config WHERE key = 'format_read'"),
        2
    );
    assert_eq!(
        one::<i64>(&b, "SELECT count(*) FROM t_codes"),
        one::<i64>(&b, "SELECT count(*) FROM t_rows")
    );
    assert_eq!(
        one::<i64>(
            &b,
            "SELECT min(length(code)) = max(length(code)) AND max(length(code)) = 392 FROM t_codes"
        ),
        1
    );
    // A fresh process-level load (the writer is gone) answers as the writer did.
    for (q, want) in qs.iter().zip(&expected) {
        assert_eq!(&common::knn10(&b, q), want);
    }
    assert_eq!(loads(&b), 1);

    // The load reads the codes, not the rows: a vector changed behind veclite's back
    // does not fail it (the distances come from the rows, so that row's moves), and
    // veclite_check finds the code that no longer encodes it.
    let moved = expected[0][0].0;
    b.execute(
        "UPDATE t_rows SET v = (SELECT v FROM t_rows WHERE rowid = 2) WHERE rowid = ?",
        [moved],
    )
    .unwrap();
    drop(b);
    let c = open(&path);
    assert_eq!(common::knn10(&c, &qs[1]), expected[1]);
    let check: String = one(&c, "SELECT veclite_check('t')");
    assert_eq!(
        check,
        format!("row {moved}: its int8 code in t_codes does not encode its vector")
    );
    assert!(one::<i64>(&c, "SELECT veclite_rebuild('t')") > 0);
    assert_eq!(one::<String>(&c, "SELECT veclite_check('t')"), "ok");
}

#[test]
fn damaged_codes_are_found() {
    let (_dir, path, qs) = setup(4);
    // (each damage on its own, repaired by veclite_rebuild after)
    let damage = [
        (
            "UPDATE t_codes SET code = substr(code, 1, 100) WHERE rowid = 44",
            "row 44 has an int8 code of 100 bytes in t_codes, expected 392",
        ),
        (
            // a code of -128, which no encoder writes
            "UPDATE t_codes SET code = CAST(x'80' || substr(code, 2) AS BLOB) WHERE rowid = 45",
            "row 45 has a damaged int8 code in t_codes",
        ),
        (
            "DELETE FROM t_codes WHERE rowid = 46",
            "rows in t_codes but",
        ),
    ];
    for (sql, want) in damage {
        let c = open(&path);
        c.execute_batch(sql).unwrap();
        let check: String = one(&c, "SELECT veclite_check('t')");
        assert!(check.contains(want), "{sql}: {check}");
        drop(c);
        let c = open(&path);
        let err = c
            .prepare("SELECT rowid FROM t WHERE knn_match(v, ?) AND k = 10")
            .unwrap()
            .query_map([&qs[0]], |r| r.get::<_, i64>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(want) && err.contains("veclite_rebuild"),
            "{sql}: {err}"
        );
        one::<i64>(&c, "SELECT veclite_rebuild('t')");
        assert_eq!(
            one::<String>(&c, "SELECT veclite_check('t')"),
            "ok",
            "{sql}"
        );
    }
    // A code without a row: the load does not see it (it has no node), the check does.
    let c = open(&path);
    c.execute_batch("INSERT INTO t_codes SELECT 99999, code FROM t_codes WHERE rowid = 2")
        .unwrap();
    let check: String = one(&c, "SELECT veclite_check('t')");
    assert!(
        check.contains("t_codes has 1 rows without a row in t_rows"),
        "{check}"
    );
    // and a missing codes table is damage too
    c.execute_batch("DROP TABLE t_codes").unwrap();
    drop(c);
    let c = open(&path);
    let check: String = one(&c, "SELECT veclite_check('t')");
    assert!(check.contains("cannot read t_codes"), "{check}");
    one::<i64>(&c, "SELECT veclite_rebuild('t')");
    assert_eq!(one::<String>(&c, "SELECT veclite_check('t')"), "ok");
}

#[test]
fn a_table_written_before_format_2_opens_and_rebuild_upgrades_it() {
    let (_dir, path, qs) = setup(20);
    let a = open(&path);
    let expected: Vec<_> = qs.iter().map(|q| common::knn10(&a, q)).collect();
    // what a table of an older build holds: no codes, format 1
    a.execute_batch(
        "DROP TABLE t_codes; UPDATE t_config SET value = 1 WHERE key IN ('format_read', 'format_write');",
    )
    .unwrap();
    drop(a);
    let b = open(&path);
    for (q, want) in qs.iter().zip(&expected) {
        assert_eq!(&common::knn10(&b, q), want);
    }
    // writes keep it format 1, without codes
    b.execute_batch("INSERT INTO t(rowid, v) SELECT rowid + 20000, v FROM t_rows WHERE rowid < 30; DELETE FROM t WHERE rowid = 20001;")
        .unwrap();
    assert_eq!(one::<String>(&b, "SELECT veclite_check('t')"), "ok");
    assert_eq!(
        one::<i64>(
            &b,
            "SELECT count(*) FROM sqlite_schema WHERE name = 't_codes'"
        ),
        0
    );
    let after: Vec<_> = qs.iter().map(|q| common::knn10(&b, q)).collect();
    // veclite_rebuild writes the codes and moves the table to format 2
    let n: i64 = one(&b, "SELECT veclite_rebuild('t')");
    assert_eq!(one::<i64>(&b, "SELECT count(*) FROM t_codes"), n);
    assert_eq!(
        one::<String>(
            &b,
            "SELECT group_concat(value) FROM t_config WHERE key IN ('format_read', 'format_write')"
        ),
        "2,2"
    );
    assert_eq!(one::<String>(&b, "SELECT veclite_check('t')"), "ok");
    let rebuilt: Vec<_> = qs.iter().map(|q| common::knn10(&b, q)).collect();
    drop(b);
    let c = open(&path);
    for (q, want) in qs.iter().zip(&rebuilt) {
        assert_eq!(&common::knn10(&c, q), want);
    }
    // the rebuilt graph differs from the incremental one, the answers hardly
    let same: usize = after
        .iter()
        .zip(&rebuilt)
        .map(|(a, b)| a.iter().filter(|x| b.iter().any(|y| y.0 == x.0)).count())
        .sum();
    assert!(same as f64 >= 0.9 * (10 * qs.len()) as f64, "{same}");
    // a rollback of the upgrade leaves format 1 and no codes
    c.execute_batch(
        "DROP TABLE t_codes; UPDATE t_config SET value = 1 WHERE key IN ('format_read', 'format_write');",
    )
    .unwrap();
    drop(c);
    let d = open(&path);
    d.execute_batch("BEGIN; SELECT veclite_rebuild('t'); INSERT INTO t(rowid, v) SELECT 30000, v FROM t_rows WHERE rowid = 2; ROLLBACK;")
        .unwrap();
    assert_eq!(
        one::<i64>(
            &d,
            "SELECT count(*) FROM sqlite_schema WHERE name = 't_codes'"
        ),
        0
    );
    d.execute_batch("INSERT INTO t(rowid, v) SELECT 30001, v FROM t_rows WHERE rowid = 2")
        .unwrap();
    assert_eq!(one::<String>(&d, "SELECT veclite_check('t')"), "ok");
}

#[test]
fn other_tables_stay_format_1_and_leave_a_users_codes_table_alone() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(&dir.path().join("t.db"));
    c.execute_batch(
        "CREATE TABLE t_codes(x); INSERT INTO t_codes VALUES (42);
         CREATE VIRTUAL TABLE t USING veclite(v float[2]);
         INSERT INTO t(rowid, v) VALUES (1, '[1, 2]');",
    )
    .unwrap();
    assert_eq!(
        one::<String>(
            &c,
            "SELECT group_concat(value) FROM t_config WHERE key IN ('format_read', 'format_write')"
        ),
        "1,1"
    );
    c.execute_batch("ALTER TABLE t RENAME TO u; DROP TABLE u;")
        .unwrap();
    assert_eq!(one::<i64>(&c, "SELECT x FROM t_codes"), 42);
    // an int8 table cannot take a name whose codes table is someone else's
    let err = c
        .execute_batch("CREATE VIRTUAL TABLE t USING veclite(v float[2], quantize = int8)")
        .unwrap_err()
        .to_string();
    assert!(err.contains("t_codes"), "{err}");
    assert_eq!(one::<i64>(&c, "SELECT x FROM t_codes"), 42);
}
