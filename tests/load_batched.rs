//! A table large enough for the load to prepare vectors on a second thread (4,096
//! slots and more) loads exactly the index the writer built: the same answers and
//! distances for every query, f32 and int8, with slots freed by deletes in between
//! and a row count that is no multiple of the batch.

mod common;

use rusqlite::Connection;

const N: usize = 6_500;

fn info(c: &Connection, key: &str) -> serde_json::Value {
    let s: String = c
        .query_row("SELECT veclite_info('t')", [], |r| r.get(0))
        .unwrap();
    serde_json::from_str::<serde_json::Value>(&s).unwrap()[key].clone()
}

/// Writes `blob` straight into the rows table (past veclite, as damage would).
fn set_vector(c: &Connection, rowid: i64, blob: &[u8]) {
    c.execute(
        "UPDATE t_rows SET v = ? WHERE rowid = ?",
        rusqlite::params![blob, rowid],
    )
    .unwrap();
}

/// The error of the first KNN query on a new connection (which loads the index).
fn load_error(path: &std::path::Path, q: &[u8]) -> String {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    let mut st = c
        .prepare("SELECT rowid FROM t WHERE knn_match(v, ?) AND k = 10")
        .unwrap();
    let r = st
        .query_map([q], |r| r.get::<_, i64>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>();
    r.unwrap_err().to_string()
}

fn check(quantize: &str) {
    let w = common::wordnet(N, 40);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = Connection::open(&path).unwrap();
    common::register(&a);
    a.execute_batch(&format!(
        "CREATE VIRTUAL TABLE t USING veclite(v float[384], distance = cosine, quantize = {quantize})"
    ))
    .unwrap();
    a.execute_batch("BEGIN").unwrap();
    for (i, v) in w.base.iter().enumerate() {
        a.execute(
            "INSERT INTO t(rowid, v) VALUES (?, ?)",
            rusqlite::params![i as i64 * 3 + 1, common::blob(v)],
        )
        .unwrap();
    }
    a.execute_batch("COMMIT").unwrap();
    // free slots in the middle and at the end
    a.execute_batch("DELETE FROM t WHERE rowid % 7 = 2 OR rowid > 19000")
        .unwrap();
    let rows: i64 = a
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert!(rows > 4096 && rows % 1024 != 0, "{rows} rows");
    let qs: Vec<Vec<u8>> = w.queries.iter().map(|q| common::blob(q)).collect();
    let expected: Vec<_> = qs.iter().map(|q| common::knn10(&a, q)).collect();

    // The writer closed, no version of the index is left in the process: the next
    // connection loads it from the file.
    drop(a);
    let b = Connection::open(&path).unwrap();
    common::register(&b);
    for (q, want) in qs.iter().zip(&expected) {
        assert_eq!(&common::knn10(&b, q), want, "quantize = {quantize}");
    }
    assert_eq!(info(&b, "index_loads"), serde_json::json!(1));
    let ok: String = b
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");

    // A row whose vector was damaged outside veclite (a NaN written straight into
    // the rows table) fails the threaded load with the row named, as a small one.
    // An int8 table loads its persisted codes instead: veclite_check names that
    // row, and a damaged code row fails the load.
    let bad_row = expected[0][3].0;
    let mut nan = common::blob(&w.base[0]);
    nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    set_vector(&b, bad_row, &nan);
    if quantize == "int8" {
        let check: String = b
            .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
            .unwrap();
        assert!(
            check.contains(&format!("row {bad_row} has a non-finite vector")),
            "{check}"
        );
        // the trailer's squared norm no longer matches the codes
        b.execute(
            "UPDATE t_codes SET code = CAST(substr(code, 1, 384) || x'00000000' || x'0000803f' AS BLOB) WHERE rowid = ?",
            [bad_row],
        )
        .unwrap();
    }
    drop(b);
    let err = load_error(&path, &qs[0]);
    let want = if quantize == "int8" {
        format!("row {bad_row} has a damaged int8 code in t_codes")
    } else {
        format!("row {bad_row} has a non-finite vector")
    };
    assert!(err.contains(&want), "{err}");

    // A graph whose two nodes name one rowid (rowids are mapped in bulk once the
    // nodes are in) is refused too, with the rowid named.
    let c = Connection::open(&path).unwrap();
    set_vector(&c, bad_row, &common::blob(&w.base[0]));
    if quantize == "int8" {
        common::register(&c);
        let n: i64 = c
            .query_row("SELECT veclite_rebuild('t')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, rows);
    }
    let (slot, twice): (i64, i64) = c
        .query_row(
            "SELECT slot, (SELECT rowid FROM t_graph WHERE slot > g.slot ORDER BY slot LIMIT 1) \
             FROM t_graph g ORDER BY slot DESC LIMIT 1 OFFSET 100",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    c.execute(
        "UPDATE t_graph SET rowid = ? WHERE slot = ?",
        rusqlite::params![twice, slot],
    )
    .unwrap();
    drop(c);
    let err = load_error(&path, &qs[0]);
    assert!(
        err.contains(&format!("rowid {twice} has two nodes")),
        "{err}"
    );
}

#[test]
fn large_loads_equal_what_was_built() {
    if !common::have_rows(N, "load_batched") {
        return;
    }
    check("none");
    check("int8");
}
