//! WAL mode, several reader threads and one writer thread, each on its own
//! connection, for a fixed number of operations: every read sees a committed state
//! (the row count is a whole number of batches and KNN returns only rows of that
//! state), SQLITE_BUSY is waited out with busy_timeout, no deadlock, no crash.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;

use rusqlite::Connection;

const BATCH: i64 = 25;
const BATCHES: i64 = 40;

fn open(path: &std::path::Path) -> Connection {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    c.busy_timeout(Duration::from_secs(20)).unwrap();
    c
}

fn vec_for(id: i64) -> String {
    format!(
        "[{}, {}, {}]",
        (id % 7) as f32,
        (id % 11) as f32,
        (id / 13) as f32
    )
}

#[test]
fn readers_see_committed_states_while_a_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let c = open(&path);
        c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
        c.execute_batch("CREATE VIRTUAL TABLE t USING veclite(v float[3], b integer, exact_threshold = 0, m = 8)")
            .unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for r in 0..3 {
        let (path, done, reads) = (path.clone(), done.clone(), reads.clone());
        readers.push(std::thread::spawn(move || {
            let c = open(&path);
            let mut i = 0i64;
            while !done.load(Ordering::Acquire) || i < 5 {
                i += 1;
                c.execute_batch("BEGIN").unwrap();
                let n: i64 = c
                    .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(n % BATCH, 0, "reader {r} saw a partial batch ({n} rows)");
                let q = vec_for(i * 31 + r);
                let ids: Vec<(i64, i64)> = c
                    .prepare("SELECT rowid, b FROM t WHERE knn_match(v, ?1) AND k = 5")
                    .unwrap()
                    .query_map([&q], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                assert_eq!(ids.len() as i64, n.min(5), "reader {r}: KNN row count");
                for (id, b) in &ids {
                    assert!(
                        *id < n,
                        "reader {r}: rowid {id} is not in a state of {n} rows"
                    );
                    assert_eq!(*b, id / BATCH);
                }
                let f: i64 = c
                    .query_row(
                        "SELECT count(*) FROM t WHERE knn_match(v, ?1) AND k = 3 AND b = 0",
                        [&q],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(f, if n > 0 { 3 } else { 0 });
                c.execute_batch("COMMIT").unwrap();
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let c = open(&path);
            for b in 0..BATCHES {
                c.execute_batch("BEGIN IMMEDIATE").unwrap();
                for j in 0..BATCH {
                    let id = b * BATCH + j;
                    c.execute(
                        "INSERT INTO t(rowid, v, b) VALUES (?1, ?2, ?3)",
                        rusqlite::params![id, vec_for(id), b],
                    )
                    .unwrap();
                }
                if b % 5 == 4 {
                    // a rolled-back batch never becomes visible
                    c.execute_batch("ROLLBACK").unwrap();
                    c.execute_batch("BEGIN IMMEDIATE").unwrap();
                    for j in 0..BATCH {
                        let id = b * BATCH + j;
                        c.execute(
                            "INSERT INTO t(rowid, v, b) VALUES (?1, ?2, ?3)",
                            rusqlite::params![id, vec_for(id), b],
                        )
                        .unwrap();
                    }
                }
                c.execute_batch("COMMIT").unwrap();
            }
        })
    };
    writer.join().unwrap();
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().unwrap();
    }
    let c = open(&path);
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, BATCH * BATCHES);
    let chk: String = c
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chk, "ok");
    assert!(reads.load(Ordering::Relaxed) >= 15);
}
