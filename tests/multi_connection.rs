//! Several connections on one database file: after one connection commits, every
//! other connection's next query sees the change (no stale in-memory index), in
//! rollback-journal and WAL mode. A WAL reader inside an older snapshot keeps
//! answering from that snapshot.

mod common;

use rusqlite::Connection;

fn open(path: &std::path::Path) -> Connection {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    c
}

fn knn(c: &Connection, q: &str, k: usize) -> Vec<i64> {
    c.prepare(&format!(
        "SELECT rowid FROM t WHERE knn_match(v, '{q}') AND k = {k}"
    ))
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

fn scenario(wal: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = open(&path);
    if wal {
        a.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
    }
    a.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[1], exact_threshold = 0, m = 4);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200)
         INSERT INTO t(rowid, v) SELECT i, json_array(i) FROM c;",
    )
    .unwrap();
    let b = open(&path);
    // b loads its index
    assert_eq!(knn(&b, "[0]", 2), vec![1, 2]);
    // a commits an insert, a delete, an update
    a.execute_batch(
        "BEGIN; INSERT INTO t(rowid, v) VALUES (1000, '[0.1]'); DELETE FROM t WHERE rowid = 1;
         UPDATE t SET v = '[0.2]' WHERE rowid = 150; COMMIT;",
    )
    .unwrap();
    assert_eq!(knn(&b, "[0]", 3), vec![1000, 150, 2]);
    // b writes, a sees it
    b.execute("DELETE FROM t WHERE rowid = 1000", []).unwrap();
    assert_eq!(knn(&a, "[0]", 2), vec![150, 2]);
    // an uncommitted change of a is invisible to b; after rollback nothing changed
    a.execute_batch("BEGIN; INSERT INTO t(rowid, v) VALUES (2000, '[0]');")
        .unwrap();
    assert_eq!(knn(&a, "[0]", 1), vec![2000]);
    if wal {
        assert_eq!(knn(&b, "[0]", 1), vec![150]);
    }
    a.execute_batch("ROLLBACK").unwrap();
    assert_eq!(knn(&a, "[0]", 1), vec![150]);
    assert_eq!(knn(&b, "[0]", 1), vec![150]);
    if wal {
        // a long reader keeps its snapshot while another connection commits
        b.execute_batch("BEGIN").unwrap();
        assert_eq!(knn(&b, "[0]", 1), vec![150]);
        a.execute("INSERT INTO t(rowid, v) VALUES (3000, '[0]')", [])
            .unwrap();
        assert_eq!(knn(&a, "[0]", 1), vec![3000]);
        assert_eq!(knn(&b, "[0]", 1), vec![150], "snapshot isolation");
        b.execute_batch("COMMIT").unwrap();
        assert_eq!(knn(&b, "[0]", 1), vec![3000]);
    }
    let ok: String = a
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    // a rebuild in one connection is seen by the other
    let n: i64 = a
        .query_row("SELECT veclite_rebuild('t')", [], |r| r.get(0))
        .unwrap();
    assert!(n > 190);
    assert_eq!(knn(&b, "[200]", 2), vec![200, 199]);
}

#[test]
fn rollback_journal_mode() {
    scenario(false);
}

#[test]
fn wal_mode() {
    scenario(true);
}

#[test]
fn small_commits_are_applied_without_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = open(&path);
    a.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[2], exact_threshold = 0, m = 6);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)
         INSERT INTO t(rowid, v) SELECT i, json_array(i % 97, i / 97) FROM c;",
    )
    .unwrap();
    let b = open(&path);
    let info = |c: &Connection, key: &str| -> i64 {
        c.query_row(
            &format!("SELECT json_extract(veclite_info('t'), '$.{key}')"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(knn(&b, "[0,1]", 1), vec![97]);
    assert_eq!(info(&b, "index_loads"), 1);
    for i in 0..20 {
        a.execute_batch(&format!(
            "BEGIN; INSERT INTO t(rowid, v) VALUES ({}, '[0.{}, 0]'); DELETE FROM t WHERE rowid = {}; UPDATE t SET v = '[50, 50]' WHERE rowid = {}; COMMIT;",
            10_000 + i,
            i + 1,
            2000 + i,
            1000 + i
        ))
        .unwrap();
        // b sees each commit, without reloading
        let want: Vec<i64> = a
            .prepare("SELECT rowid FROM t WHERE knn_match(v, '[50.1, 50]') AND k = 5 AND rowid > 0")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(knn(&b, "[50.1,50]", 5), want, "commit {i}");
        assert_eq!(knn(&b, "[0,0]", 1), vec![10_000], "commit {i}");
    }
    assert_eq!(info(&b, "index_loads"), 1, "no reload");
    assert!(info(&b, "index_catch_ups") >= 20);
    let chk: String = b
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chk, "ok");
    // a large change (a rebuild) makes b reload
    a.query_row("SELECT veclite_rebuild('t')", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert_eq!(knn(&b, "[0,0]", 1), vec![10_000]);
    assert_eq!(info(&b, "index_loads"), 2);
}
