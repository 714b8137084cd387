//! `veclite_info` on one connection shows a `veclite_rebuild` running on another
//! connection of the same process (one database file, rollback journal): a
//! `rebuild` object whose `rows_done` grows to `rows_total`, served from process
//! memory, and gone once the rebuild has finished.

mod common;

use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const ROWS: usize = 4000;
const DIMS: usize = 32;

fn open(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    c
}

/// `ROWS` pseudo-random vectors (an LCG: no dependency, same every run).
fn fill(c: &Connection) {
    c.execute_batch(&format!(
        "CREATE VIRTUAL TABLE t USING veclite(v float[{DIMS}], exact_threshold = 0, m = 16, ef_construction = 200)"
    ))
    .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let tx = c.unchecked_transaction().unwrap();
    {
        let mut st = tx
            .prepare("INSERT INTO t(rowid, v) VALUES (?1, ?2)")
            .unwrap();
        for i in 0..ROWS {
            let v: Vec<f32> = (0..DIMS)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            st.execute(rusqlite::params![i as i64 + 1, common::blob(&v)])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

#[test]
fn another_connection_sees_a_running_rebuild_and_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w = open(&path);
    assert_eq!(
        w.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "delete"
    );
    fill(&w);
    // A small page cache spills while the graph is written: the writer takes its
    // exclusive lock before the commit, and the reader cannot read the tables.
    w.execute_batch("PRAGMA cache_size = 8").unwrap();
    let r = open(&path);
    // No waiting on the writer's lock: when the tables cannot be read, the answer
    // must still come, from memory.
    r.busy_timeout(Duration::ZERO).unwrap();
    let before: String = r
        .query_row("SELECT veclite_info('t')", [], |row| row.get(0))
        .unwrap();
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert!(before.get("rebuild").is_none(), "{before}");

    let finished = AtomicBool::new(false);
    let mut seen: Vec<(u64, u64, String)> = Vec::new();
    let (mut locked, mut busy_errors) = (0, 0);
    std::thread::scope(|s| {
        let finished = &finished;
        let rebuild = s.spawn(move || {
            let t = Instant::now();
            let n: i64 = w
                .query_row("SELECT veclite_rebuild('t')", [], |row| row.get(0))
                .unwrap();
            finished.store(true, Ordering::SeqCst);
            (n, t.elapsed())
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        while !finished.load(Ordering::SeqCst) && Instant::now() < deadline {
            match r.query_row("SELECT veclite_info('t')", [], |row| {
                row.get::<_, String>(0)
            }) {
                Ok(s) => {
                    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
                    if v.get("locked").is_some() {
                        locked += 1;
                    }
                    if let Some(p) = v.get("rebuild") {
                        seen.push((
                            p["rows_done"].as_u64().unwrap(),
                            p["rows_total"].as_u64().unwrap(),
                            p["phase"].as_str().unwrap().to_string(),
                        ));
                        assert!(p["started_ms_ago"].as_u64().is_some(), "{v}");
                    }
                }
                // Locked out before veclite_info could run at all (the statement
                // itself could not start); the next poll tries again.
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) =>
                {
                    busy_errors += 1
                }
                Err(e) => panic!("veclite_info during the rebuild: {e}"),
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let (n, took) = rebuild.join().unwrap();
        assert_eq!(n, ROWS as i64);
        eprintln!(
            "rebuild of {ROWS} rows: {took:?}; {} progress answers ({locked} with the tables locked, {busy_errors} busy errors)",
            seen.len()
        );
    });

    let building: Vec<u64> = seen
        .iter()
        .filter(|(_, _, p)| p == "building")
        .map(|(d, _, _)| *d)
        .collect();
    assert!(
        building.windows(2).all(|w| w[0] <= w[1]),
        "rows_done went back: {building:?}"
    );
    let distinct = {
        let mut d = building.clone();
        d.dedup();
        d.len()
    };
    assert!(
        distinct >= 2,
        "rows_done did not visibly grow during the build: {seen:?}"
    );
    assert!(
        seen.iter().all(|(d, t, _)| *t == ROWS as u64 && *d <= *t),
        "{seen:?}"
    );

    // Finished: the object is gone, and the table answers as usual.
    r.busy_timeout(Duration::from_secs(5)).unwrap();
    let after: String = r
        .query_row("SELECT veclite_info('t')", [], |row| row.get(0))
        .unwrap();
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert!(after.get("rebuild").is_none(), "{after}");
    assert_eq!(after["rows"], ROWS);
    assert_eq!(after["graph_nodes"], ROWS);
}
