//! One index per process: connections to the same table of the same file share
//! one loaded version; each transaction still answers from its own snapshot, and
//! databases that are not a named file never share.

mod common;

use rusqlite::Connection;
use std::path::Path;

fn open(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    c
}

fn knn(c: &Connection, table: &str, q: &str, k: usize) -> Vec<i64> {
    c.prepare(&format!(
        "SELECT rowid FROM {table} WHERE knn_match(v, '{q}') AND k = {k}"
    ))
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

fn info(c: &Connection, table: &str, key: &str) -> serde_json::Value {
    let s: String = c
        .query_row(&format!("SELECT veclite_info('{table}')"), [], |r| r.get(0))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    v[key].clone()
}

fn fill(c: &Connection, table: &str, n: usize) {
    c.execute_batch(&format!(
        "CREATE VIRTUAL TABLE {table} USING veclite(v float[2], exact_threshold = 0, m = 6);
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
         INSERT INTO {table}(rowid, v) SELECT i, json_array(i % 37 + 1, i / 37 + 1.5) FROM s;"
    ))
    .unwrap();
}

/// A WAL database in a temporary directory with `fill`'s table of `n` rows.
fn wal_table(n: usize) -> (tempfile::TempDir, std::path::PathBuf, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = open(&path);
    a.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    fill(&a, "t", n);
    (dir, path, a)
}

#[test]
fn connections_of_one_process_share_one_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = open(&path);
    fill(&a, "t", 2000);
    assert_eq!(knn(&a, "t", "[1,1]", 1), vec![1]);
    let b = open(&path);
    assert_eq!(knn(&b, "t", "[1,1]", 1), vec![1]);
    assert_eq!(info(&b, "t", "index_loads"), 0);
    assert_eq!(info(&b, "t", "index_shared_uses"), 1);
    assert_eq!(info(&b, "t", "versions_alive"), 1);
    assert_eq!(info(&b, "t", "shared_index"), true);
    let mem = info(&a, "t", "memory_bytes").as_i64().unwrap();
    assert!(mem > 0);
    assert_eq!(info(&b, "t", "memory_bytes").as_i64().unwrap(), mem);
    assert_eq!(info(&b, "t", "shared_bytes").as_i64().unwrap(), mem);
    assert_eq!(info(&b, "t", "private_bytes"), 0);
    // Worked out when asked: a's version is now shared too.
    assert_eq!(info(&a, "t", "shared_bytes").as_i64().unwrap(), mem);
    // The same file attached under another name is the same index.
    let c = Connection::open_in_memory().unwrap();
    common::register(&c);
    c.execute("ATTACH ?1 AS other", [path.to_str().unwrap()])
        .unwrap();
    assert_eq!(knn(&c, "other.t", "[1,1]", 1), vec![1]);
    assert_eq!(info(&c, "other.t", "index_loads"), 0);
    // A write by b is a new version that a and c take over, not reload.
    b.execute("INSERT INTO t(rowid, v) VALUES (9000, '[0.5, 0.5]')", [])
        .unwrap();
    assert_eq!(knn(&a, "t", "[0,0]", 1), vec![9000]);
    assert_eq!(knn(&c, "other.t", "[0,0]", 1), vec![9000]);
    assert_eq!(
        info(&a, "t", "index_loads"),
        1,
        "a loaded once (at CREATE time)"
    );
    assert_eq!(info(&c, "other.t", "index_loads"), 0);
    assert_eq!(
        info(&a, "t", "versions_alive"),
        1,
        "the old version is freed"
    );
    // Closing every connection but one frees nothing the last one uses.
    drop(a);
    drop(b);
    assert_eq!(knn(&c, "other.t", "[0,0]", 1), vec![9000]);
    assert_eq!(info(&c, "other.t", "versions_alive"), 1);
}

#[test]
fn a_connection_opened_during_a_write_takes_the_committed_version() {
    let (_dir, path, w) = wal_table(1000);
    assert_eq!(knn(&w, "t", "[1,1]", 1), vec![1]);
    // Once a second connection has used the index, writers keep the committed
    // version for the others (a lone connection changes its index in place).
    let r0 = open(&path);
    assert_eq!(knn(&r0, "t", "[1,1]", 1), vec![1]);
    drop(r0);
    w.execute_batch("BEGIN; INSERT INTO t(rowid, v) VALUES (5000, '[0, 0]');")
        .unwrap();
    let r = open(&path);
    assert_eq!(knn(&r, "t", "[0,0]", 1), vec![1], "the committed state");
    assert_eq!(info(&r, "t", "index_loads"), 0, "no load while w writes");
    assert_eq!(info(&r, "t", "index_shared_uses"), 1);
    w.execute_batch("ROLLBACK").unwrap();
    assert_eq!(knn(&w, "t", "[0,0]", 1), vec![1]);
    assert_eq!(
        info(&w, "t", "versions_alive"),
        1,
        "w is back on the shared one"
    );
    w.execute_batch("BEGIN; INSERT INTO t(rowid, v) VALUES (5001, '[0, 0]'); COMMIT")
        .unwrap();
    assert_eq!(knn(&r, "t", "[0,0]", 1), vec![5001]);
    assert_eq!(info(&r, "t", "index_loads"), 0);
}

#[test]
fn private_databases_never_meet() {
    // Two :memory: databases with tables of the same name.
    let m1 = common::conn();
    let m2 = common::conn();
    fill(&m1, "t", 300);
    m2.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[2], exact_threshold = 0, m = 6);
         INSERT INTO t(rowid, v) VALUES (5, '[1, 1]'), (6, '[9, 9]');",
    )
    .unwrap();
    assert_eq!(knn(&m1, "t", "[1,1]", 1), vec![1]);
    assert_eq!(knn(&m2, "t", "[1,1]", 1), vec![5]);
    assert_eq!(info(&m2, "t", "shared_index"), false);
    // Temp tables of two connections to one file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = open(&path);
    let b = open(&path);
    a.execute_batch(
        "CREATE VIRTUAL TABLE temp.x USING veclite(v float[2], exact_threshold = 0);
         INSERT INTO temp.x(rowid, v) VALUES (1, '[1, 1]');",
    )
    .unwrap();
    b.execute_batch(
        "CREATE VIRTUAL TABLE temp.x USING veclite(v float[2], exact_threshold = 0);
         INSERT INTO temp.x(rowid, v) VALUES (2, '[1, 1]');",
    )
    .unwrap();
    assert_eq!(knn(&a, "x", "[1,1]", 5), vec![1]);
    assert_eq!(knn(&b, "x", "[1,1]", 5), vec![2]);
    // A shared-cache in-memory database: one database, each connection's index
    // private, both right after the other's writes.
    let uri = "file:veclite_shared_mem?mode=memory&cache=shared";
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
        | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
        | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let s1 = Connection::open_with_flags(uri, flags).unwrap();
    let s2 = Connection::open_with_flags(uri, flags).unwrap();
    common::register(&s1);
    common::register(&s2);
    fill(&s1, "t", 300);
    assert_eq!(knn(&s2, "t", "[1,1]", 1), vec![1]);
    s1.execute("INSERT INTO t(rowid, v) VALUES (777, '[0, 0]')", [])
        .unwrap();
    assert_eq!(knn(&s2, "t", "[0,0]", 1), vec![777]);
    assert_eq!(info(&s2, "t", "shared_index"), false);
    assert_eq!(info(&s2, "t", "index_shared_uses"), 0);
}

#[test]
fn a_wal_reader_keeps_the_version_of_its_snapshot() {
    let (_dir, path, a) = wal_table(1000);
    let b = open(&path);
    b.execute_batch("BEGIN").unwrap();
    assert_eq!(knn(&b, "t", "[0,0]", 1), vec![1]);
    a.execute("INSERT INTO t(rowid, v) VALUES (5000, '[0, 0]')", [])
        .unwrap();
    assert_eq!(knn(&a, "t", "[0,0]", 1), vec![5000]);
    assert_eq!(knn(&b, "t", "[0,0]", 1), vec![1], "b's snapshot");
    assert_eq!(info(&a, "t", "versions_alive"), 2);
    b.execute_batch("COMMIT").unwrap();
    assert_eq!(knn(&b, "t", "[0,0]", 1), vec![5000]);
    assert_eq!(
        info(&b, "t", "versions_alive"),
        1,
        "b let go of the old one"
    );
    assert_eq!(info(&b, "t", "index_loads"), 0);
}

#[test]
fn uncommitted_changes_stay_with_their_connection() {
    let (_dir, path, a) = wal_table(1000);
    let b = open(&path);
    assert_eq!(knn(&b, "t", "[0,0]", 1), vec![1]);
    a.execute_batch(
        "BEGIN; INSERT INTO t(rowid, v) VALUES (5000, '[0, 0]'); SAVEPOINT s;
         DELETE FROM t WHERE rowid = 5000; INSERT INTO t(rowid, v) VALUES (5001, '[0.1, 0]');",
    )
    .unwrap();
    assert_eq!(knn(&a, "t", "[0,0]", 1), vec![5001]);
    assert_eq!(knn(&b, "t", "[0,0]", 1), vec![1]);
    a.execute_batch("ROLLBACK TO s").unwrap();
    assert_eq!(knn(&a, "t", "[0,0]", 1), vec![5000]);
    assert_eq!(knn(&b, "t", "[0,0]", 1), vec![1]);
    a.execute_batch("ROLLBACK").unwrap();
    assert_eq!(knn(&a, "t", "[0,0]", 1), vec![1]);
    assert_eq!(knn(&b, "t", "[0,0]", 1), vec![1]);
    assert_eq!(
        info(&a, "t", "versions_alive"),
        1,
        "a shares b's version again"
    );
    a.execute_batch("BEGIN; INSERT INTO t(rowid, v) VALUES (6000, '[0, 0]'); COMMIT")
        .unwrap();
    assert_eq!(knn(&b, "t", "[0,0]", 1), vec![6000]);
    let chk: String = b
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chk, "ok");
}

#[test]
fn a_file_replaced_by_a_diverged_copy_is_not_mistaken_for_the_cached_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let copy = dir.path().join("copy.db");
    let a = open(&path);
    fill(&a, "t", 500);
    drop(a);
    std::fs::copy(&path, &copy).unwrap();
    let a = open(&path);
    a.execute("INSERT INTO t(rowid, v) VALUES (1000, '[0, 0]')", [])
        .unwrap();
    assert_eq!(knn(&a, "t", "[0,0]", 1), vec![1000]);
    // The copy goes its own way from the same state: two commits (the same
    // generations as the original's, and more), different rows.
    {
        let c = open(&copy);
        c.execute("INSERT INTO t(rowid, v) VALUES (2000, '[0, 0]')", [])
            .unwrap();
        c.execute("INSERT INTO t(rowid, v) VALUES (2001, '[0.1, 0]')", [])
            .unwrap();
    }
    // Restore the copy in place (same inode) while a holds the index.
    let bytes = std::fs::read(&copy).unwrap();
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(knn(&a, "t", "[0,0]", 2), vec![2000, 2001]);
    assert_eq!(
        info(&a, "t", "index_catch_ups"),
        0,
        "reloaded, not caught up"
    );
    let chk: String = a
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chk, "ok");
}

/// Readers on their own connections, in parallel with a writer: every answer is
/// the exact answer over a committed state (tables below `exact_threshold` scan
/// the in-memory version exactly, so brute force is the oracle).
#[test]
fn parallel_readers_see_committed_states_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w = open(&path);
    w.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE VIRTUAL TABLE t USING veclite(v float[2], exact_threshold = 100000);
         CREATE TABLE state(n INTEGER);
         INSERT INTO state VALUES (0);",
    )
    .unwrap();
    let vec_of = |i: i64| -> [f32; 2] {
        let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        [
            (h >> 40) as f32 / 16_777_216.0,
            ((h >> 16) & 0xFF_FFFF) as f32 / 16_777_216.0,
        ]
    };
    let rounds = 150i64;
    let per = 10i64;
    std::thread::scope(|s| {
        for r in 0..3 {
            let path = path.clone();
            s.spawn(move || {
                let c = open(&path);
                let mut checked = 0;
                let mut last = 0;
                while last < rounds * per {
                    c.execute_batch("BEGIN").unwrap();
                    let n: i64 = c
                        .query_row("SELECT n FROM state", [], |x| x.get(0))
                        .unwrap();
                    let q = vec_of(1_000_000 + r * 7919 + checked);
                    let got: Vec<i64> = c
                        .prepare(&format!(
                            "SELECT rowid FROM t WHERE knn_match(v, '[{},{}]') AND k = 5",
                            q[0], q[1]
                        ))
                        .unwrap()
                        .query_map([], |x| x.get(0))
                        .unwrap()
                        .map(|x| x.unwrap())
                        .collect();
                    c.execute_batch("COMMIT").unwrap();
                    // Committed state n: rows 1..=n, minus every multiple of 7
                    // below the last full batch (deleted with it).
                    let live = |i: i64| i <= n && i % 7 != 0;
                    let mut all: Vec<(f32, i64)> = (1..=n)
                        .filter(|&i| live(i))
                        .map(|i| {
                            let v = vec_of(i);
                            ((v[0] - q[0]).powi(2) + (v[1] - q[1]).powi(2), i)
                        })
                        .collect();
                    all.sort_by(|x, y| x.partial_cmp(y).unwrap());
                    let want: Vec<i64> = all.iter().take(5).map(|x| x.1).collect();
                    assert_eq!(got, want, "reader {r} at state {n}");
                    checked += 1;
                    last = n;
                }
                assert!(checked > 0);
            });
        }
        for b in 0..rounds {
            let mut sql = String::from("BEGIN;");
            for i in b * per + 1..=(b + 1) * per {
                let v = vec_of(i);
                sql.push_str(&format!(
                    "INSERT INTO t(rowid, v) VALUES ({i}, '[{},{}]');",
                    v[0], v[1]
                ));
            }
            sql.push_str(&format!(
                "DELETE FROM t WHERE rowid % 7 = 0 AND rowid <= {};",
                (b + 1) * per
            ));
            sql.push_str(&format!("UPDATE state SET n = {}; COMMIT;", (b + 1) * per));
            w.execute_batch(&sql).unwrap();
        }
    });
    let chk: String = w
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chk, "ok");
}
