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

/// Not a test of its own: the body of the child process that
/// `another_process_commits_are_caught_up_once_and_shared` starts (this test
/// binary run again with `VECLITE_CHILD_DB` set). It runs `VECLITE_CHILD_SQL` on
/// the database, then prints the rowids of a KNN query from a freshly loaded index.
#[test]
fn child_process_writer() {
    let (Some(db), Some(sql)) = (
        std::env::var_os("VECLITE_CHILD_DB"),
        std::env::var("VECLITE_CHILD_SQL").ok(),
    ) else {
        return;
    };
    let c = open(std::path::Path::new(&db));
    c.execute_batch(&sql).unwrap();
    let got = knn(&c, "[50.1,50]", 5);
    println!("CHILD-ANSWER {got:?}");
}

fn in_child(db: &std::path::Path, sql: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VECLITE_CHILD_DB", db)
        .env("VECLITE_CHILD_SQL", sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.split_once("CHILD-ANSWER ").map(|(_, a)| a.to_string()))
        .unwrap_or_else(|| panic!("no answer from the child: {text}"))
}

#[test]
fn another_process_commits_are_caught_up_once_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = open(&path);
    a.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[2], exact_threshold = 0, m = 6);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)
         INSERT INTO t(rowid, v) SELECT i, json_array(i % 97, i / 97) FROM c;",
    )
    .unwrap();
    let info = |c: &Connection, key: &str| -> i64 {
        c.query_row(
            &format!("SELECT json_extract(veclite_info('t'), '$.{key}')"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(knn(&a, "[0,1]", 1), vec![97]);
    // Connections of this process opened later take a's version: no load.
    let b = open(&path);
    let c = open(&path);
    assert_eq!(knn(&b, "[0,1]", 1), vec![97]);
    assert_eq!(info(&b, "index_loads"), 0, "b shares a's index");
    assert_eq!(info(&b, "index_shared_uses"), 1);
    for i in 0..20 {
        let child = in_child(
            &path,
            &format!(
                "BEGIN; INSERT INTO t(rowid, v) VALUES ({}, '[0.{}, 0]'); DELETE FROM t WHERE rowid = {}; UPDATE t SET v = '[50, 50]' WHERE rowid = {}; COMMIT;",
                10_000 + i,
                i + 1,
                2000 + i,
                1000 + i
            ),
        );
        // b catches the other process's commit up from the change log; c and a
        // then take b's version.
        assert_eq!(
            format!("{:?}", knn(&b, "[50.1,50]", 5)),
            child,
            "commit {i}"
        );
        assert_eq!(
            format!("{:?}", knn(&c, "[50.1,50]", 5)),
            child,
            "commit {i}"
        );
        assert_eq!(
            format!("{:?}", knn(&a, "[50.1,50]", 5)),
            child,
            "commit {i}"
        );
        assert_eq!(knn(&c, "[0,0]", 1), vec![10_000], "commit {i}");
    }
    assert_eq!(info(&b, "index_loads"), 0, "no reload");
    assert_eq!(info(&b, "index_catch_ups"), 20);
    assert_eq!(info(&c, "index_catch_ups"), 0, "caught up once, by b");
    assert_eq!(info(&a, "index_catch_ups"), 0);
    assert_eq!(info(&c, "index_loads"), 0);
    assert_eq!(info(&c, "versions_alive"), 1, "older versions freed");
    let chk: String = b
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chk, "ok");
    // A large change (a rebuild in another process) is loaded once, then shared.
    in_child(&path, "SELECT veclite_rebuild('t');");
    assert_eq!(knn(&b, "[0,0]", 1), vec![10_000]);
    assert_eq!(knn(&c, "[0,0]", 1), vec![10_000]);
    assert_eq!(info(&b, "index_loads") + info(&c, "index_loads"), 1);
}
