//! Crash safety: a writer process doing random transactions is killed with SIGKILL at
//! random moments (inside transactions and during COMMIT), many times. After each kill
//! the database must reopen with PRAGMA integrity_check = ok, veclite_check = ok,
//! exactly the committed rows, and KNN answers that agree with brute force.
//!
//! Rounds: VECLITE_CRASH_ROUNDS (default 12; the long run is
//! `VECLITE_CRASH_ROUNDS=200 cargo test --release --test crash_safety`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

mod common;

use rusqlite::Connection;

const DIMS: usize = 8;

struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

#[derive(Debug)]
enum Op {
    Put(i64, Vec<f32>, i64),
    Update(i64, Vec<f32>),
    Delete(i64),
}

/// The operations of transaction `txn`: a pure function of its number, and
/// idempotent, so replaying a transaction gives the same state.
fn ops(txn: u64) -> Vec<Op> {
    let mut r = Rng::new(txn + 1);
    let n = 1 + r.next_u64() % 40;
    (0..n)
        .map(|_| {
            let id = (r.next_u64() % 1500) as i64;
            match r.next_u64() % 10 {
                0..=5 => Op::Put(
                    id,
                    (0..DIMS).map(|_| r.f()).collect(),
                    (r.next_u64() % 7) as i64,
                ),
                6 | 7 => Op::Update(id, (0..DIMS).map(|_| r.f()).collect()),
                _ => Op::Delete(id),
            }
        })
        .collect()
}

fn apply_model(m: &mut BTreeMap<i64, Vec<f32>>, txn: u64) {
    for op in ops(txn) {
        match op {
            Op::Put(id, v, _) => {
                m.insert(id, v);
            }
            Op::Update(id, v) => {
                if let Some(x) = m.get_mut(&id) {
                    *x = v;
                }
            }
            Op::Delete(id) => {
                m.remove(&id);
            }
        }
    }
}

fn blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn open(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

/// The last committed transaction in the log. Each entry is `N N` on a line of its
/// own, written with one write: a line torn by a kill (no newline, or the two
/// numbers differ) is ignored.
fn last_logged(log: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let a = it.next()?.parse::<u64>().ok()?;
            let b = it.next()?.parse::<u64>().ok()?;
            (a == b && it.next().is_none()).then_some(a)
        })
        .max()
}

/// The writer. Runs only when the parent test starts this binary with
/// VECLITE_CRASH_DB set; otherwise it returns at once.
#[test]
fn crash_child_writer() {
    let Ok(db) = std::env::var("VECLITE_CRASH_DB") else {
        return;
    };
    let log_path = std::env::var("VECLITE_CRASH_LOG").unwrap();
    let wal = std::env::var("VECLITE_CRASH_WAL").is_ok();
    let c = open(Path::new(&db));
    if wal {
        c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
    }
    c.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS t USING veclite(v float[8], n integer, exact_threshold = 0, m = 6, ef_construction = 40)",
    )
    .unwrap();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .unwrap();
    // A line torn by the previous kill is closed so the next entry starts clean.
    if std::fs::read(&log_path)
        .map(|b| b.last().is_some_and(|&c| c != b'\n'))
        .unwrap_or(false)
    {
        log.write_all(b"\n").unwrap();
    }
    let mut txn = last_logged(Path::new(&log_path))
        .map(|x| x + 1)
        .unwrap_or(0);
    loop {
        c.execute_batch("BEGIN").unwrap();
        for op in ops(txn) {
            match op {
                Op::Put(id, v, n) => c
                    .execute(
                        "INSERT OR REPLACE INTO t(rowid, v, n) VALUES (?1, ?2, ?3)",
                        rusqlite::params![id, blob(&v), n],
                    )
                    .unwrap(),
                Op::Update(id, v) => c
                    .execute(
                        "UPDATE t SET v = ?1 WHERE rowid = ?2",
                        rusqlite::params![blob(&v), id],
                    )
                    .unwrap(),
                Op::Delete(id) => c.execute("DELETE FROM t WHERE rowid = ?1", [id]).unwrap(),
            };
        }
        c.execute_batch("COMMIT").unwrap();
        log.write_all(format!("{txn} {txn}\n").as_bytes()).unwrap();
        log.sync_all().unwrap();
        txn += 1;
    }
}

fn verify(path: &Path, log: &Path, round: usize) {
    let c = open(path);
    let ic: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ic, "ok", "round {round}");
    let exists: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 't'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if exists == 0 {
        assert!(last_logged(log).is_none(), "round {round}: table lost");
        return;
    }
    let chk: String = c
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chk, "ok", "round {round}");
    let rows: BTreeMap<i64, Vec<f32>> = c
        .prepare("SELECT rowid, v FROM t")
        .unwrap()
        .query_map([], |r| {
            let b: Vec<u8> = r.get(1)?;
            Ok((
                r.get(0)?,
                b.chunks_exact(4)
                    .map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]]))
                    .collect(),
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    // exactly the committed state: everything logged, plus possibly the one
    // transaction that committed before the kill but was not yet logged
    let mut model = BTreeMap::new();
    let last = last_logged(log);
    if let Some(l) = last {
        for t in 0..=l {
            apply_model(&mut model, t);
        }
    }
    if rows != model {
        let mut next = model.clone();
        apply_model(&mut next, last.map(|l| l + 1).unwrap_or(0));
        assert!(
            rows == next,
            "round {round}: rows differ from the committed state (last logged {last:?})"
        );
    }
    // KNN through the graph agrees with brute force over the rows
    let mut r = Rng::new(round as u64 + 77);
    for _ in 0..5 {
        let q: Vec<f32> = (0..DIMS).map(|_| r.f()).collect();
        let got: Vec<i64> = c
            .prepare("SELECT rowid FROM t WHERE knn_match(v, ?1) AND k = 10")
            .unwrap()
            .query_map([blob(&q)], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut all: Vec<(f32, i64)> = rows
            .iter()
            .map(|(id, v)| {
                (
                    v.iter()
                        .zip(&q)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f32>(),
                    *id,
                )
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let want: Vec<i64> = all.iter().take(10).map(|x| x.1).collect();
        assert_eq!(got.len(), want.len(), "round {round}");
        let hit = got.iter().filter(|x| want.contains(x)).count();
        assert!(
            hit * 10 >= want.len() * 8,
            "round {round}: KNN recall {hit}/{}",
            want.len()
        );
    }
}

fn run(wal: bool) {
    let rounds: usize = std::env::var("VECLITE_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let log = dir.path().join("committed.log");
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(if wal { 2 } else { 1 });
    let mut committed_seen = 0;
    for round in 0..rounds {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("VECLITE_CRASH_DB", &db)
        .env("VECLITE_CRASH_LOG", &log)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        if wal {
            cmd.env("VECLITE_CRASH_WAL", "1");
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(30 + rng.next_u64() % 400));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        verify(&db, &log, round);
        committed_seen = last_logged(&log).unwrap_or(0);
    }
    eprintln!("crash_safety (wal={wal}): {rounds} kills survived, {committed_seen} transactions committed");
    assert!(
        committed_seen > 0,
        "the writer never committed: increase the delays"
    );
}

#[test]
fn sigkill_rollback_journal() {
    run(false);
}

#[test]
fn sigkill_wal() {
    run(true);
}
