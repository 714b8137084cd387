//! Model-based fuzzing: random sequences of operations run against veclite (a table
//! in a database file) and against an in-memory model with exact search. Any
//! divergence fails the test.
//!
//! Operations: INSERT / INSERT OR REPLACE / UPDATE of vector, metadata and rowid /
//! DELETE, a multi-row INSERT that fails on its last row, BEGIN / SAVEPOINT /
//! ROLLBACK TO / RELEASE / COMMIT / ROLLBACK, KNN with and without filters, and the
//! events that replace or drop the index: `veclite_rebuild`, a rebuild inside a
//! statement that then fails, `DROP TABLE` (re-created at once, or rolled back
//! with ROLLBACK TO), and closing and reopening the connection. After every COMMIT
//! the table is checked (rows, `veclite_check`, KNN) in a second connection that
//! stays open (it catches up from the change log) and in a fresh one.
//!
//! A failure is shrunk to a minimal sequence of operations (delta debugging over
//! replays in fresh databases), printed, and written to
//! `target/model_fuzz/<seed>.ops`; copy that file into `tests/model_fuzz_cases/`
//! to keep it as a regression case. Every `.ops` file there is replayed by
//! `model_fuzz_regressions`.
//!
//! CI runs a few seeds; the long run is
//! `VECLITE_FUZZ_OPS=100000 VECLITE_FUZZ_SEEDS=3 cargo test --release --test model_fuzz -- --nocapture`.
//! `VECLITE_FUZZ_QUANTIZE=int8` runs every test here with `quantize = int8`;
//! `model_based_fuzz_int8` always does (fewer seeds).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use rusqlite::Connection;

const DIMS: usize = 4;
/// Read-only connections beside the two writing ones.
const N_READERS: usize = 2;
const CREATE: &str = "CREATE VIRTUAL TABLE t USING veclite(v float[4], n integer, tag text, exact_threshold = 0, m = 4, ef_construction = 32)";

thread_local! {
    /// This test thread's tables are quantized (`quantize = int8`).
    static INT8: std::cell::Cell<bool> = std::cell::Cell::new(
        std::env::var("VECLITE_FUZZ_QUANTIZE").is_ok_and(|v| v == "int8"),
    );
}

/// The CREATE statement of this test thread's table.
fn create() -> String {
    if INT8.get() {
        format!("{}, quantize = int8)", CREATE.strip_suffix(')').unwrap())
    } else {
        CREATE.to_string()
    }
}

struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    fn f(&mut self) -> f32 {
        // coarse values make exact distance ties common: tie-breaking by rowid is
        // part of what is checked
        (self.below(21) as f32 - 10.0) / 4.0
    }
    fn vec(&mut self) -> Vec<f32> {
        loop {
            let v: Vec<f32> = (0..DIMS).map(|_| self.f()).collect();
            if v.iter().any(|x| *x != 0.0) {
                return v;
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Row {
    v: Vec<f32>,
    n: Option<i64>,
    tag: Option<String>,
}

type Model = BTreeMap<i64, Row>;

/// One step of a run. Every operation is valid in any state: those that make no
/// sense there (ROLLBACK TO a savepoint that is not open, COMMIT outside a
/// transaction, ...) are skipped on both sides, so any subsequence of a run is a
/// run (which is what shrinking needs).
#[derive(Clone, Debug, PartialEq)]
enum Op {
    Insert {
        id: i64,
        v: Vec<f32>,
        n: Option<i64>,
        tag: Option<String>,
        replace: bool,
    },
    SetVector {
        id: i64,
        v: Vec<f32>,
    },
    /// `UPDATE t SET n = {n}, tag = 'y' WHERE n IS NULL OR n < {lim}`
    SetMeta {
        n: i64,
        lim: i64,
    },
    MoveRowid {
        id: i64,
        to: i64,
        replace: bool,
    },
    /// `UPDATE [OR REPLACE] t SET rowid = rowid + {delta} WHERE rowid BETWEEN lo AND hi`
    ShiftRowids {
        lo: i64,
        hi: i64,
        delta: i64,
        replace: bool,
    },
    Delete {
        id: i64,
    },
    DeleteWhereN {
        n: i64,
    },
    /// A two-row INSERT whose second row has the wrong dimensions.
    BadMultiInsert {
        id: i64,
        v: Vec<f32>,
    },
    Begin,
    Savepoint(u8),
    RollbackTo(u8),
    Release(u8),
    Commit,
    Rollback,
    Knn {
        q: Vec<f32>,
        k: usize,
        filter: u8,
        a: i64,
        b: i64,
    },
    Check,
    Rebuild,
    /// A two-row command INSERT: the first row rebuilds, the second fails, so the
    /// statement (rebuild included) is undone.
    RebuildThenFail,
    /// DROP TABLE t, then CREATE it again (empty).
    DropTable,
    /// The database to WAL mode (the first operation of a WAL run).
    Wal,
    /// The next operations run on the other writing connection (when no
    /// transaction is open on this one).
    Switch,
    /// Reader `i` opens a read transaction (in WAL mode, a snapshot it keeps).
    ReaderBegin(u8),
    /// A KNN query on reader `i`, against its snapshot (or the committed state).
    ReaderKnn(u8, Box<Op>),
    /// Reader `i` ends its read transaction.
    ReaderEnd(u8),
    /// Close the connection and open a new one (outside transactions only).
    Reopen,
}

fn vec_text(v: &[f32]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

fn parse_vec(s: &str) -> Result<Vec<f32>, String> {
    let inner = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or(format!("bad vector {s}"))?;
    inner
        .split(',')
        .map(|x| x.parse::<f32>().map_err(|e| format!("{x}: {e}")))
        .collect()
}

fn opt_text(o: &Option<i64>) -> String {
    o.map(|x| x.to_string()).unwrap_or("NULL".into())
}

impl Op {
    /// The line of a `.ops` file.
    fn to_line(&self) -> String {
        match self {
            Op::Insert {
                id,
                v,
                n,
                tag,
                replace,
            } => format!(
                "insert {id} {} {} {} {}",
                vec_text(v),
                opt_text(n),
                tag.clone().unwrap_or("NULL".into()),
                if *replace { "replace" } else { "abort" }
            ),
            Op::SetVector { id, v } => format!("set-vector {id} {}", vec_text(v)),
            Op::SetMeta { n, lim } => format!("set-meta {n} {lim}"),
            Op::MoveRowid { id, to, replace } => format!(
                "move-rowid {id} {to} {}",
                if *replace { "replace" } else { "abort" }
            ),
            Op::ShiftRowids {
                lo,
                hi,
                delta,
                replace,
            } => format!(
                "shift-rowids {lo} {hi} {delta} {}",
                if *replace { "replace" } else { "abort" }
            ),
            Op::Delete { id } => format!("delete {id}"),
            Op::DeleteWhereN { n } => format!("delete-where-n {n}"),
            Op::BadMultiInsert { id, v } => format!("bad-multi-insert {id} {}", vec_text(v)),
            Op::Begin => "begin".into(),
            Op::Savepoint(s) => format!("savepoint {s}"),
            Op::RollbackTo(s) => format!("rollback-to {s}"),
            Op::Release(s) => format!("release {s}"),
            Op::Commit => "commit".into(),
            Op::Rollback => "rollback".into(),
            Op::Knn { q, k, filter, a, b } => {
                format!("knn {} {k} {filter} {a} {b}", vec_text(q))
            }
            Op::Check => "check".into(),
            Op::Rebuild => "rebuild".into(),
            Op::RebuildThenFail => "rebuild-then-fail".into(),
            Op::DropTable => "drop-table".into(),
            Op::Reopen => "reopen".into(),
            Op::Wal => "wal".into(),
            Op::Switch => "switch".into(),
            Op::ReaderBegin(i) => format!("reader-begin {i}"),
            Op::ReaderKnn(i, k) => format!("reader-{i} {}", k.to_line()),
            Op::ReaderEnd(i) => format!("reader-end {i}"),
        }
    }

    fn from_line(line: &str) -> Result<Op, String> {
        let w: Vec<&str> = line.split_whitespace().collect();
        let int = |i: usize| -> Result<i64, String> {
            w.get(i)
                .ok_or(format!("missing field {i} in `{line}`"))?
                .parse::<i64>()
                .map_err(|e| format!("`{line}`: {e}"))
        };
        let vecf = |i: usize| parse_vec(w.get(i).ok_or(format!("missing vector in `{line}`"))?);
        let opt = |i: usize| -> Result<Option<i64>, String> {
            match w.get(i) {
                Some(&"NULL") => Ok(None),
                _ => int(i).map(Some),
            }
        };
        let replace = |i: usize| w.get(i) == Some(&"replace");
        Ok(match w.first().copied().unwrap_or("") {
            "insert" => Op::Insert {
                id: int(1)?,
                v: vecf(2)?,
                n: opt(3)?,
                tag: match w.get(4) {
                    Some(&"NULL") | None => None,
                    Some(t) => Some(t.to_string()),
                },
                replace: replace(5),
            },
            "set-vector" => Op::SetVector {
                id: int(1)?,
                v: vecf(2)?,
            },
            "set-meta" => Op::SetMeta {
                n: int(1)?,
                lim: int(2)?,
            },
            "move-rowid" => Op::MoveRowid {
                id: int(1)?,
                to: int(2)?,
                replace: replace(3),
            },
            "shift-rowids" => Op::ShiftRowids {
                lo: int(1)?,
                hi: int(2)?,
                delta: int(3)?,
                replace: replace(4),
            },
            "delete" => Op::Delete { id: int(1)? },
            "delete-where-n" => Op::DeleteWhereN { n: int(1)? },
            "bad-multi-insert" => Op::BadMultiInsert {
                id: int(1)?,
                v: vecf(2)?,
            },
            "begin" => Op::Begin,
            "savepoint" => Op::Savepoint(int(1)? as u8),
            "rollback-to" => Op::RollbackTo(int(1)? as u8),
            "release" => Op::Release(int(1)? as u8),
            "commit" => Op::Commit,
            "rollback" => Op::Rollback,
            "knn" => Op::Knn {
                q: vecf(1)?,
                k: int(2)? as usize,
                filter: int(3)? as u8,
                a: int(4)?,
                b: int(5)?,
            },
            "check" => Op::Check,
            "rebuild" => Op::Rebuild,
            "rebuild-then-fail" => Op::RebuildThenFail,
            "drop-table" => Op::DropTable,
            "reopen" => Op::Reopen,
            "wal" => Op::Wal,
            "switch" => Op::Switch,
            "reader-begin" => Op::ReaderBegin(int(1)? as u8),
            "reader-end" => Op::ReaderEnd(int(1)? as u8),
            r if r.starts_with("reader-") => {
                let i: u8 = r["reader-".len()..]
                    .parse()
                    .map_err(|e| format!("`{line}`: {e}"))?;
                let rest = line
                    .trim_start()
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, r)| r);
                Op::ReaderKnn(i, Box::new(Op::from_line(rest)?))
            }
            other => return Err(format!("unknown operation `{other}` in `{line}`")),
        })
    }

    /// A random operation (some come as a short sequence, e.g. a DROP TABLE inside
    /// a savepoint that is rolled back).
    fn random(rng: &mut Rng, out: &mut Vec<Op>) {
        let id = rng.below(60) as i64;
        if rng.below(100) < 15 {
            // The other connections of the process.
            let r = rng.below(N_READERS as u64) as u8;
            out.push(match rng.below(10) {
                0..=1 => Op::Switch,
                2..=3 => Op::ReaderBegin(r),
                4..=5 => Op::ReaderEnd(r),
                _ => Op::ReaderKnn(
                    r,
                    Box::new(Op::Knn {
                        q: rng.vec(),
                        k: 1 + rng.below(12) as usize,
                        filter: rng.below(7) as u8,
                        a: rng.below(60) as i64,
                        b: rng.below(60) as i64,
                    }),
                ),
            });
            return;
        }
        let op = match rng.below(100) {
            0..=23 => Op::Insert {
                id,
                v: rng.vec(),
                n: if rng.below(5) == 0 {
                    None
                } else {
                    Some(rng.below(5) as i64)
                },
                tag: match rng.below(3) {
                    0 => None,
                    1 => Some("x".into()),
                    _ => Some("y".into()),
                },
                replace: rng.below(2) == 0,
            },
            24..=32 => Op::SetVector { id, v: rng.vec() },
            33..=38 => Op::SetMeta {
                n: rng.below(5) as i64,
                lim: rng.below(3) as i64,
            },
            39..=43 => Op::MoveRowid {
                id,
                to: rng.below(60) as i64,
                replace: rng.below(2) == 0,
            },
            44..=45 => {
                let lo = rng.below(60) as i64;
                Op::ShiftRowids {
                    lo,
                    hi: lo + rng.below(20) as i64,
                    delta: if rng.below(2) == 0 { 1 } else { -1 },
                    replace: rng.below(3) != 0,
                }
            }
            46..=53 => Op::Delete { id },
            54..=55 => Op::DeleteWhereN {
                n: rng.below(5) as i64,
            },
            56..=58 => Op::BadMultiInsert {
                id: 100 + rng.below(50) as i64,
                v: rng.vec(),
            },
            59..=62 => Op::Begin,
            63..=67 => Op::Savepoint(rng.below(4) as u8),
            68..=71 => Op::RollbackTo(rng.below(4) as u8),
            72..=74 => Op::Release(rng.below(4) as u8),
            75..=78 => Op::Commit,
            79..=81 => Op::Rollback,
            82..=92 => Op::Knn {
                q: rng.vec(),
                k: 1 + rng.below(12) as usize,
                filter: rng.below(7) as u8,
                a: rng.below(60) as i64,
                b: rng.below(60) as i64,
            },
            93 => Op::Check,
            94..=95 => Op::Rebuild,
            96 => Op::RebuildThenFail,
            97 => {
                // DROP TABLE inside a savepoint, rolled back (the savepoint stays open)
                let s = rng.below(4) as u8;
                out.push(Op::Savepoint(s));
                out.push(Op::DropTable);
                Op::RollbackTo(s)
            }
            98 => Op::DropTable,
            _ => Op::Reopen,
        };
        out.push(op);
    }
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

fn open(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    c
}

fn read_table(c: &Connection) -> Result<Model, String> {
    let mut st = c
        .prepare("SELECT rowid, v, n, tag FROM t")
        .map_err(|e| e.to_string())?;
    let rows = st
        .query_map([], |r| {
            let b: Vec<u8> = r.get(1)?;
            Ok((
                r.get::<_, i64>(0)?,
                Row {
                    v: b.chunks_exact(4)
                        .map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]]))
                        .collect(),
                    n: r.get(2)?,
                    tag: r.get(3)?,
                },
            ))
        })
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Model, _>>()
        .map_err(|e| e.to_string())
}

/// Compares the table seen by `c` with `model`, and runs veclite_check.
fn check_against(c: &Connection, model: &Model, who: &str) -> Result<(), String> {
    let rows = read_table(c).map_err(|e| format!("{who}: reading the table: {e}"))?;
    if &rows != model {
        let extra: Vec<_> = rows.keys().filter(|k| !model.contains_key(k)).collect();
        let missing: Vec<_> = model.keys().filter(|k| !rows.contains_key(k)).collect();
        let changed: Vec<_> = rows
            .iter()
            .filter(|(k, r)| model.get(k).is_some_and(|m| m != *r))
            .map(|(k, _)| k)
            .collect();
        return Err(format!(
            "{who}: table differs from model: extra rowids {extra:?}, missing {missing:?}, changed {changed:?}"
        ));
    }
    let chk: String = c
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .map_err(|e| format!("{who}: veclite_check failed: {e}"))?;
    if chk != "ok" {
        return Err(format!("{who}: veclite_check: {chk}"));
    }
    Ok(())
}

struct Knn {
    hits: usize,
    want: usize,
}

/// Runs one KNN query on `c` and compares it with brute force over `model`.
fn knn_against(
    c: &Connection,
    model: &Model,
    op: &Op,
    stats: &mut Knn,
    who: &str,
) -> Result<(), String> {
    let Op::Knn { q, k, filter, a, b } = op else {
        unreachable!()
    };
    let (a, b, k) = (*a, *b, *k);
    type Keep = Box<dyn Fn(&Row, i64) -> bool>;
    let (sql_filter, keep): (String, Keep) = match filter {
        0 | 1 => (String::new(), Box::new(|_, _| true)),
        2 => (
            format!("AND n = {}", a % 5),
            Box::new(move |r: &Row, _| r.n == Some(a % 5)),
        ),
        3 => (
            format!("AND n >= {}", a % 5),
            Box::new(move |r: &Row, _| r.n.is_some_and(|n| n >= a % 5)),
        ),
        4 => (
            "AND tag IS NULL".into(),
            Box::new(|r: &Row, _| r.tag.is_none()),
        ),
        6 => (
            format!("AND tag = 'y' AND n < {}", a % 5 + 1),
            Box::new(move |r: &Row, _| {
                r.tag.as_deref() == Some("y") && r.n.is_some_and(|n| n < a % 5 + 1)
            }),
        ),
        _ => (
            format!("AND rowid IN ({a}, {b}) AND tag != 'x'"),
            Box::new(move |r: &Row, id| {
                (id == a || id == b) && r.tag.as_deref().is_some_and(|t| t != "x")
            }),
        ),
    };
    let sql = format!(
        "SELECT rowid, distance FROM t WHERE knn_match(v, '{}') AND k = {k} {sql_filter}",
        vec_text(q)
    );
    let got: Vec<(i64, f64)> = c
        .prepare(&sql)
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| format!("{who}: KNN failed: {e}"))?;
    let mut want: Vec<(f32, i64)> = model
        .iter()
        .filter(|(id, r)| keep(r, **id))
        .map(|(id, r)| (l2(q, &r.v), *id))
        .collect();
    want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let expect = k.min(want.len());
    if got.len() != expect {
        return Err(format!(
            "{who}: KNN returned {} rows, expected {expect}",
            got.len()
        ));
    }
    if got.windows(2).any(|w| w[0].1 > w[1].1 + 1e-6) {
        return Err(format!("{who}: KNN results not ordered by distance"));
    }
    let kth = want
        .get(expect.saturating_sub(1))
        .map(|x| x.0)
        .unwrap_or(0.0);
    for (id, d) in &got {
        let Some(r) = model.get(id) else {
            return Err(format!(
                "{who}: KNN returned rowid {id} which does not exist"
            ));
        };
        if !keep(r, *id) {
            return Err(format!(
                "{who}: KNN returned rowid {id} which does not match `{sql_filter}`"
            ));
        }
        if ((l2(q, &r.v) as f64) - d).abs() > 1e-4 {
            return Err(format!(
                "{who}: KNN distance of {id} is {d}, expected {}",
                l2(q, &r.v)
            ));
        }
        if l2(q, &r.v) <= kth + 1e-5 {
            stats.hits += 1;
        }
    }
    stats.want += expect;
    Ok(())
}

/// A database, its connections and the model, stepping through operations.
struct Run {
    _dir: tempfile::TempDir,
    path: PathBuf,
    c: Connection,
    /// A second connection that stays open: after each COMMIT it must catch up.
    other: Connection,
    /// The other writing connection (`Switch` exchanges it with `c`).
    spare: Connection,
    /// Connections that only read, each with the committed state its open read
    /// transaction sees (WAL runs keep snapshots).
    readers: Vec<(Connection, Option<Model>)>,
    wal: bool,
    /// The state other connections see.
    committed: Model,
    model: Model,
    /// Open savepoints with the model as it was when each was opened.
    stack: Vec<(u8, Model)>,
    in_txn: bool,
    begin_state: Model,
    knn: Knn,
    /// The SQL sent, for the report.
    sql: Vec<String>,
}

impl Run {
    fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.db");
        let c = open(&path);
        c.execute_batch(&create()).unwrap();
        let other = open(&path);
        let spare = open(&path);
        let readers = (0..N_READERS).map(|_| (open(&path), None)).collect();
        Run {
            _dir: dir,
            path,
            c,
            other,
            spare,
            readers,
            wal: false,
            committed: Model::new(),
            model: Model::new(),
            stack: Vec::new(),
            in_txn: false,
            begin_state: Model::new(),
            knn: Knn { hits: 0, want: 0 },
            sql: Vec::new(),
        }
    }

    fn exec(&mut self, sql: &str) -> Result<usize, String> {
        self.sql.push(sql.to_string());
        self.c.execute(sql, []).map_err(|e| e.to_string())
    }

    fn exec_ok(&mut self, sql: &str) -> Result<(), String> {
        self.exec(sql)
            .map(|_| ())
            .map_err(|e| format!("`{sql}` failed: {e}"))
    }

    fn query_ok(&mut self, sql: &str) -> Result<(), String> {
        self.sql.push(sql.to_string());
        self.c
            .query_row(sql, [], |_| Ok(()))
            .map_err(|e| format!("`{sql}` failed: {e}"))
    }

    fn txn_open(&self) -> bool {
        self.in_txn || !self.stack.is_empty()
    }

    /// The innermost open savepoint named `s`, as SQLite resolves names.
    fn savepoint_index(&self, s: u8) -> Option<usize> {
        self.stack.iter().rposition(|(n, _)| *n == s)
    }

    /// After a COMMIT: the committed state as the other connections see it.
    fn check_committed(&mut self) -> Result<(), String> {
        check_against(&self.other, &self.model, "the second connection")?;
        let fresh = open(&self.path);
        check_against(&fresh, &self.model, "a fresh connection")?;
        let q = Op::Knn {
            q: vec![0.5, -0.25, 1.0, 0.0],
            k: 5,
            filter: 0,
            a: 0,
            b: 0,
        };
        let model = self.model.clone();
        knn_against(
            &self.other,
            &model,
            &q,
            &mut self.knn,
            "the second connection",
        )?;
        knn_against(&fresh, &model, &q, &mut self.knn, "a fresh connection")
    }

    fn apply(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::Insert {
                id,
                v,
                n,
                tag,
                replace,
            } => {
                let sql = format!(
                    "INSERT {}INTO t(rowid, v, n, tag) VALUES ({id}, '{}', {}, {})",
                    if *replace { "OR REPLACE " } else { "" },
                    vec_text(v),
                    opt_text(n),
                    tag.as_ref()
                        .map(|t| format!("'{t}'"))
                        .unwrap_or("NULL".into())
                );
                let r = self.exec(&sql);
                let exists = self.model.contains_key(id);
                match (r, exists && !replace) {
                    (Ok(_), false) => {
                        self.model.insert(
                            *id,
                            Row {
                                v: v.clone(),
                                n: *n,
                                tag: tag.clone(),
                            },
                        );
                    }
                    (Err(e), true) if e.contains("UNIQUE constraint failed") => {}
                    (r, _) => return Err(format!("insert: got {r:?} (row existed: {exists})")),
                }
            }
            Op::SetVector { id, v } => {
                self.exec_ok(&format!(
                    "UPDATE t SET v = '{}' WHERE rowid = {id}",
                    vec_text(v)
                ))?;
                if let Some(r) = self.model.get_mut(id) {
                    r.v = v.clone();
                }
            }
            Op::SetMeta { n, lim } => {
                self.exec_ok(&format!(
                    "UPDATE t SET n = {n}, tag = 'y' WHERE n IS NULL OR n < {lim}"
                ))?;
                for r in self.model.values_mut() {
                    if r.n.is_none_or(|x| x < *lim) {
                        r.n = Some(*n);
                        r.tag = Some("y".into());
                    }
                }
            }
            Op::MoveRowid { id, to, replace } => {
                let sql = format!(
                    "UPDATE {}t SET rowid = {to} WHERE rowid = {id}",
                    if *replace { "OR REPLACE " } else { "" }
                );
                let r = self.exec(&sql);
                let moving = self.model.contains_key(id) && id != to;
                let conflict = moving && self.model.contains_key(to);
                match (r, conflict && !replace) {
                    (Ok(_), false) => {
                        if moving {
                            let row = self.model.remove(id).unwrap();
                            self.model.insert(*to, row);
                        }
                    }
                    (Err(e), true) if e.contains("UNIQUE constraint failed") => {}
                    (r, _) => return Err(format!("rowid update: got {r:?}")),
                }
            }
            Op::ShiftRowids {
                lo,
                hi,
                delta,
                replace,
            } => {
                let sql = format!(
                    "UPDATE {}t SET rowid = rowid + ({delta}) WHERE rowid BETWEEN {lo} AND {hi}",
                    if *replace { "OR REPLACE " } else { "" }
                );
                // As on an ordinary table: the rows in rowid order, each moving with
                // its current values; a conflict without REPLACE undoes the statement.
                let mut m = self.model.clone();
                let olds: Vec<i64> = m.range(*lo..=*hi).map(|(k, _)| *k).collect();
                let mut conflict = false;
                for old in olds {
                    let new = old + delta;
                    if let Some(row) = m.remove(&old) {
                        if m.contains_key(&new) && !replace {
                            conflict = true;
                            break;
                        }
                        m.insert(new, row);
                    }
                }
                match (self.exec(&sql), conflict) {
                    (Ok(_), false) => self.model = m,
                    (Err(e), true) if e.contains("UNIQUE constraint failed") => {}
                    (r, _) => return Err(format!("rowid shift: got {r:?} (conflict: {conflict})")),
                }
            }
            Op::Delete { id } => {
                self.exec_ok(&format!("DELETE FROM t WHERE rowid = {id}"))?;
                self.model.remove(id);
            }
            Op::DeleteWhereN { n } => {
                self.exec_ok(&format!("DELETE FROM t WHERE n = {n}"))?;
                self.model.retain(|_, r| r.n != Some(*n));
            }
            Op::BadMultiInsert { id, v } => {
                let sql = format!(
                    "INSERT INTO t(rowid, v) VALUES ({id}, '{}'), ({}, '[1]')",
                    vec_text(v),
                    id + 1
                );
                match self.exec(&sql) {
                    Err(e) if e.contains("dimensions") => {}
                    r => return Err(format!("bad multi-row insert: got {r:?}")),
                }
            }
            Op::Begin => {
                if !self.txn_open() {
                    self.exec_ok("BEGIN")?;
                    self.in_txn = true;
                    self.begin_state = self.model.clone();
                }
            }
            Op::Savepoint(s) => {
                self.exec_ok(&format!("SAVEPOINT s{s}"))?;
                let m = self.model.clone();
                self.stack.push((*s, m));
            }
            Op::RollbackTo(s) => {
                if let Some(i) = self.savepoint_index(*s) {
                    self.exec_ok(&format!("ROLLBACK TO s{s}"))?;
                    self.model = self.stack[i].1.clone();
                    self.stack.truncate(i + 1);
                }
            }
            Op::Release(s) => {
                if let Some(i) = self.savepoint_index(*s) {
                    self.exec_ok(&format!("RELEASE s{s}"))?;
                    self.stack.truncate(i);
                    if !self.in_txn && self.stack.is_empty() {
                        // releasing the outermost savepoint of a transaction that
                        // SAVEPOINT started commits it
                        self.check_committed()?;
                    }
                }
            }
            Op::Commit => {
                if self.txn_open() {
                    self.exec_ok("COMMIT")?;
                    self.in_txn = false;
                    self.stack.clear();
                    self.check_committed()?;
                }
            }
            Op::Rollback => {
                if self.txn_open() {
                    self.exec_ok("ROLLBACK")?;
                    self.model = if self.in_txn {
                        self.begin_state.clone()
                    } else {
                        self.stack[0].1.clone()
                    };
                    self.in_txn = false;
                    self.stack.clear();
                }
            }
            Op::Knn { .. } => {
                self.sql.push(format!("-- {}", op.to_line()));
                let model = self.model.clone();
                knn_against(&self.c, &model, op, &mut self.knn, "KNN")?;
            }
            Op::Check => {
                self.sql.push("SELECT veclite_check('t')".into());
                check_against(&self.c, &self.model, "this connection")?;
            }
            Op::Rebuild => self.query_ok("SELECT veclite_rebuild('t')")?,
            Op::RebuildThenFail => {
                let sql = "INSERT INTO t(query) VALUES ('veclite:rebuild'), ('not a command')";
                match self.exec(sql) {
                    Err(e) if e.contains("cannot be written") => {}
                    r => return Err(format!("rebuild then fail: got {r:?}")),
                }
            }
            Op::DropTable => {
                self.exec_ok("DROP TABLE t")?;
                self.exec_ok(&create())?;
                self.model.clear();
            }
            Op::Reopen => {
                if !self.txn_open() {
                    self.sql.push("-- reopen".into());
                    self.c = open(&self.path);
                }
            }
            Op::Wal => {
                if !self.txn_open() {
                    let mode: String = self
                        .c
                        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                        .map_err(|e| format!("journal_mode: {e}"))?;
                    self.sql.push("PRAGMA journal_mode = WAL".into());
                    self.wal = mode == "wal";
                }
            }
            Op::Switch => {
                if !self.txn_open() {
                    self.sql.push("-- switch connection".into());
                    std::mem::swap(&mut self.c, &mut self.spare);
                }
            }
            Op::ReaderBegin(i) => {
                // Without WAL a reader's snapshot would block the writer's commit.
                let i = *i as usize % N_READERS;
                if self.wal && self.readers[i].1.is_none() {
                    self.sql.push(format!("-- reader {i}: BEGIN; (a read)"));
                    let c = &self.readers[i].0;
                    c.execute_batch("BEGIN")
                        .and_then(|_| c.query_row("SELECT count(*) FROM t", [], |_| Ok(())))
                        .map_err(|e| format!("reader {i} begin: {e}"))?;
                    self.readers[i].1 = Some(self.committed.clone());
                }
            }
            Op::ReaderEnd(i) => {
                let i = *i as usize % N_READERS;
                if self.readers[i].1.take().is_some() {
                    self.sql.push(format!("-- reader {i}: COMMIT"));
                    self.readers[i]
                        .0
                        .execute_batch("COMMIT")
                        .map_err(|e| format!("reader {i} commit: {e}"))?;
                }
            }
            Op::ReaderKnn(i, q) => {
                let i = *i as usize % N_READERS;
                if !self.wal && self.txn_open() {
                    // A rollback-journal writer may hold the file exclusively.
                    return Ok(());
                }
                self.sql.push(format!("-- reader {i}: {}", q.to_line()));
                let model = self.readers[i]
                    .1
                    .clone()
                    .unwrap_or_else(|| self.committed.clone());
                let who = format!("reader {i}");
                knn_against(&self.readers[i].0, &model, q, &mut self.knn, &who)?;
            }
        }
        if !self.txn_open() {
            self.committed = self.model.clone();
        }
        Ok(())
    }

    /// Runs `ops`; the first divergence is returned with its step.
    fn replay(ops: &[Op]) -> (Run, Result<(), (usize, String)>) {
        let mut run = Run::new();
        for (i, op) in ops.iter().enumerate() {
            if let Err(e) = run.apply(op) {
                return (run, Err((i, e)));
            }
        }
        let m = run.model.clone();
        let r = check_against(&run.c, &m, "this connection at the end").map_err(|e| (ops.len(), e));
        (run, r)
    }
}

/// Delta debugging (ddmin) over the operations: the smallest sequence that still
/// fails (with any divergence), within a time budget.
fn shrink(mut ops: Vec<Op>, budget: Duration) -> Vec<Op> {
    let t0 = Instant::now();
    let mut n = 2usize;
    while ops.len() >= 2 && t0.elapsed() < budget {
        let chunk = ops.len().div_ceil(n);
        let mut reduced = false;
        let mut start = 0;
        while start < ops.len() && t0.elapsed() < budget {
            let mut cand = ops.clone();
            cand.drain(start..(start + chunk).min(ops.len()));
            if !cand.is_empty() && Run::replay(&cand).1.is_err() {
                ops = cand;
                reduced = true;
                n = n.saturating_sub(1).max(2);
                break;
            }
            start += chunk;
        }
        if !reduced {
            if chunk == 1 {
                break;
            }
            n = (n * 2).min(ops.len());
        }
    }
    ops
}

fn report(name: &str, ops: &[Op], step: usize, err: &str) -> ! {
    let shrunk = shrink(
        ops[..=step.min(ops.len() - 1)].to_vec(),
        Duration::from_secs(120),
    );
    let (run, r) = Run::replay(&shrunk);
    let why = r.err().map(|(_, e)| e).unwrap_or_else(|| err.to_string());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/model_fuzz");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{name}.ops"));
    let text: String = shrunk.iter().map(|o| o.to_line() + "\n").collect();
    let _ = std::fs::write(&file, &text);
    panic!(
        "model_fuzz divergence in {name} at step {step}: {err}\n\
         shrunk to {} operations ({}), written to {} (copy it into tests/model_fuzz_cases/ to keep it):\n{text}\
         SQL of the shrunk run:\n{}",
        shrunk.len(),
        why,
        file.display(),
        run.sql.join(";\n")
    );
}

fn fuzz(seed: u64, n_ops: usize) -> Knn {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut ops = Vec::with_capacity(n_ops + 2);
    if seed.is_multiple_of(2) {
        ops.push(Op::Wal);
    }
    while ops.len() < n_ops {
        Op::random(&mut rng, &mut ops);
    }
    ops.push(Op::Commit);
    let mut run = Run::new();
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = run.apply(op) {
            report(&format!("seed{seed}"), &ops, i, &e);
        }
    }
    run.knn
}

#[test]
fn model_based_fuzz() {
    let n_ops: usize = std::env::var("VECLITE_FUZZ_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let seeds: u64 = std::env::var("VECLITE_FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let first: u64 = std::env::var("VECLITE_FUZZ_FIRST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (mut hits, mut want) = (0, 0);
    for seed in first..first + seeds {
        let k = fuzz(seed, n_ops);
        hits += k.hits;
        want += k.want;
    }
    let recall = hits as f64 / want.max(1) as f64;
    eprintln!(
        "model_fuzz: {seeds} seeds x {n_ops} operations, KNN recall {recall:.4} over {want} expected rows"
    );
    assert!(recall >= 0.95, "KNN recall {recall} below 0.95");
}

/// The same with a quantized index: the walk ranks by int8 codes, the answers
/// are re-ranked exactly, so the model's exact answers still hold (recall aside).
#[test]
fn model_based_fuzz_int8() {
    INT8.set(true);
    let (mut hits, mut want) = (0, 0);
    for seed in 101..104 {
        let k = fuzz(seed, 2000);
        hits += k.hits;
        want += k.want;
    }
    let recall = hits as f64 / want.max(1) as f64;
    eprintln!("model_fuzz int8: KNN recall {recall:.4} over {want} expected rows");
    assert!(recall >= 0.95, "KNN recall {recall} below 0.95");
}

/// Every shrunk failure kept in tests/model_fuzz_cases/ replays without divergence.
#[test]
fn model_fuzz_regressions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/model_fuzz_cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ops"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression cases in {}",
        dir.display()
    );
    let mut failed = Vec::new();
    for f in &files {
        let ops: Vec<Op> = std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| Op::from_line(l).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
            .collect();
        for op in &ops {
            assert_eq!(&Op::from_line(&op.to_line()).unwrap(), op);
        }
        let (run, r) = Run::replay(&ops);
        if let Err((step, e)) = r {
            eprintln!(
                "{}: divergence at step {step}: {e}\nSQL:\n{}\n",
                f.display(),
                run.sql.join(";\n")
            );
            failed.push(f.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(
        failed.is_empty(),
        "regression cases that diverge: {failed:?}"
    );
    eprintln!("model_fuzz_regressions: {} cases replayed", files.len());
}
