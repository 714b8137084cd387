//! Model-based fuzzing: random sequences of INSERT / INSERT OR REPLACE / UPDATE /
//! DELETE / BEGIN / SAVEPOINT / ROLLBACK TO / RELEASE / COMMIT / ROLLBACK and KNN
//! queries with and without filters run against veclite and against an in-memory
//! model with exact search. Any divergence fails with the seed, the step and the SQL
//! that led there.
//!
//! CI runs a few seeds; the long run is
//! `VECLITE_FUZZ_OPS=100000 VECLITE_FUZZ_SEEDS=1 cargo test --release --no-default-features --features bundled --test model_fuzz -- --nocapture`.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

const DIMS: usize = 4;

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
/// A filter as the model evaluates it.
type Keep = Box<dyn Fn(&Row, i64) -> bool>;

fn json(v: &[f32]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

struct Fuzz {
    c: Connection,
    model: Model,
    /// Open savepoints with the model as it was when each was opened. The first
    /// entry, if `in_txn`, is the state at BEGIN.
    stack: Vec<(String, Model)>,
    in_txn: bool,
    begin_state: Model,
    log: Vec<String>,
    seed: u64,
    step: usize,
    knn_hits: usize,
    knn_want: usize,
}

impl Fuzz {
    fn fail(&self, what: &str) -> ! {
        let path = std::env::temp_dir().join(format!("veclite-model-fuzz-seed{}.sql", self.seed));
        let _ = std::fs::write(
            &path,
            format!(
                ".load ./target/release/libveclite\nCREATE VIRTUAL TABLE t USING veclite(v float[4], n integer, tag text, exact_threshold = 0, m = 4, ef_construction = 32);\n{};\n",
                self.log.join(";\n")
            ),
        );
        eprintln!(
            "full reproduction (sqlite3 shell script): {}",
            path.display()
        );
        let tail: Vec<&String> = self
            .log
            .iter()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        panic!(
            "model_fuzz divergence: seed {} step {}: {what}\nlast statements:\n{}",
            self.seed,
            self.step,
            tail.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    fn exec(&mut self, sql: &str) -> Result<usize, String> {
        self.log.push(sql.to_string());
        self.c.execute(sql, []).map_err(|e| e.to_string())
    }

    fn check_table(&mut self) {
        self.log.push("SELECT count(*) FROM t".into());
        let rows: Model = self
            .c
            .prepare("SELECT rowid, v, n, tag FROM t")
            .unwrap()
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
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        if rows != self.model {
            let extra: Vec<_> = rows
                .keys()
                .filter(|k| !self.model.contains_key(k))
                .collect();
            let missing: Vec<_> = self
                .model
                .keys()
                .filter(|k| !rows.contains_key(k))
                .collect();
            self.fail(&format!(
                "table differs from model: extra rowids {extra:?}, missing {missing:?}"
            ));
        }
        self.log.push("SELECT veclite_check('t')".into());
        let chk: String = self
            .c
            .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
            .unwrap();
        if chk != "ok" {
            self.fail(&format!("veclite_check: {chk}"));
        }
    }

    fn knn(&mut self, rng: &mut Rng) {
        let q = rng.vec();
        let k = 1 + rng.below(12) as usize;
        let (filter, keep): (String, Keep) = match rng.below(6) {
            0 | 1 => (String::new(), Box::new(|_, _| true)),
            2 => {
                let x = rng.below(5) as i64;
                (
                    format!("AND n = {x}"),
                    Box::new(move |r: &Row, _| r.n == Some(x)),
                )
            }
            3 => {
                let x = rng.below(5) as i64;
                (
                    format!("AND n >= {x}"),
                    Box::new(move |r: &Row, _| r.n.is_some_and(|n| n >= x)),
                )
            }
            4 => (
                "AND tag IS NULL".into(),
                Box::new(|r: &Row, _| r.tag.is_none()),
            ),
            _ => {
                let a = rng.below(60) as i64;
                let b = rng.below(60) as i64;
                (
                    format!("AND rowid IN ({a}, {b}) AND tag != 'x'"),
                    Box::new(move |r: &Row, id| {
                        (id == a || id == b) && r.tag.as_deref().is_some_and(|t| t != "x")
                    }),
                )
            }
        };
        let sql = format!(
            "SELECT rowid, distance FROM t WHERE knn_match(v, '{}') AND k = {k} {filter}",
            json(&q)
        );
        self.log.push(sql.clone());
        let got: Vec<(i64, f64)> = match self.c.prepare(&sql).and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        }) {
            Ok(g) => g,
            Err(e) => self.fail(&format!("KNN failed: {e}")),
        };
        let mut want: Vec<(f32, i64)> = self
            .model
            .iter()
            .filter(|(id, r)| keep(r, **id))
            .map(|(id, r)| (l2(&q, &r.v), *id))
            .collect();
        want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let expect = k.min(want.len());
        if got.len() != expect {
            self.fail(&format!(
                "KNN returned {} rows, expected {expect}",
                got.len()
            ));
        }
        for w in got.windows(2) {
            if w[0].1 > w[1].1 + 1e-6 {
                self.fail("KNN results not ordered by distance");
            }
        }
        let kth = want
            .get(expect.saturating_sub(1))
            .map(|x| x.0)
            .unwrap_or(0.0);
        for (id, d) in &got {
            let Some(r) = self.model.get(id) else {
                self.fail(&format!("KNN returned rowid {id} which does not exist"));
            };
            if !keep(r, *id) {
                self.fail(&format!(
                    "KNN returned rowid {id} which does not match `{filter}`"
                ));
            }
            if ((l2(&q, &r.v) as f64) - d).abs() > 1e-4 {
                self.fail(&format!(
                    "KNN distance of {id} is {d}, expected {}",
                    l2(&q, &r.v)
                ));
            }
            if l2(&q, &r.v) <= kth + 1e-5 {
                self.knn_hits += 1;
            }
        }
        self.knn_want += expect;
    }

    fn snapshot_push(&mut self, name: String) {
        let m = self.model.clone();
        self.stack.push((name, m));
    }

    fn run(&mut self, rng: &mut Rng, ops: usize) {
        for step in 0..ops {
            self.step = step;
            let id = rng.below(60) as i64;
            match rng.below(100) {
                0..=24 => {
                    let v = rng.vec();
                    let n = if rng.below(5) == 0 {
                        None
                    } else {
                        Some(rng.below(5) as i64)
                    };
                    let tag = match rng.below(3) {
                        0 => None,
                        1 => Some("x".to_string()),
                        _ => Some("y".to_string()),
                    };
                    let replace = rng.below(2) == 0;
                    let sql = format!(
                        "INSERT {}INTO t(rowid, v, n, tag) VALUES ({id}, '{}', {}, {})",
                        if replace { "OR REPLACE " } else { "" },
                        json(&v),
                        n.map(|x| x.to_string()).unwrap_or("NULL".into()),
                        tag.as_ref()
                            .map(|t| format!("'{t}'"))
                            .unwrap_or("NULL".into())
                    );
                    let r = self.exec(&sql);
                    let exists = self.model.contains_key(&id);
                    match (r, exists && !replace) {
                        (Ok(_), false) => {
                            self.model.insert(id, Row { v, n, tag });
                        }
                        (Err(e), true) if e.contains("UNIQUE constraint failed") => {}
                        (r, _) => self.fail(&format!("insert: got {r:?} (row existed: {exists})")),
                    }
                }
                25..=34 => {
                    let v = rng.vec();
                    let sql = format!("UPDATE t SET v = '{}' WHERE rowid = {id}", json(&v));
                    if let Err(e) = self.exec(&sql) {
                        self.fail(&e);
                    }
                    if let Some(r) = self.model.get_mut(&id) {
                        r.v = v;
                    }
                }
                35..=41 => {
                    let n = rng.below(5) as i64;
                    let sql = format!(
                        "UPDATE t SET n = {n}, tag = 'y' WHERE n IS NULL OR n < {}",
                        rng.below(3)
                    );
                    let lim = sql.rsplit("< ").next().unwrap().parse::<i64>().unwrap();
                    if let Err(e) = self.exec(&sql) {
                        self.fail(&e);
                    }
                    for r in self.model.values_mut() {
                        if r.n.is_none() || r.n.unwrap() < lim {
                            r.n = Some(n);
                            r.tag = Some("y".into());
                        }
                    }
                }
                42..=46 => {
                    let to = rng.below(60) as i64;
                    let replace = rng.below(2) == 0;
                    let sql = format!(
                        "UPDATE {}t SET rowid = {to} WHERE rowid = {id}",
                        if replace { "OR REPLACE " } else { "" }
                    );
                    let r = self.exec(&sql);
                    let moving = self.model.contains_key(&id) && id != to;
                    let conflict = moving && self.model.contains_key(&to);
                    match (r, conflict && !replace) {
                        (Ok(_), false) => {
                            if moving {
                                let row = self.model.remove(&id).unwrap();
                                self.model.insert(to, row);
                            }
                        }
                        (Err(e), true) if e.contains("UNIQUE constraint failed") => {}
                        (r, _) => self.fail(&format!("rowid update: got {r:?}")),
                    }
                }
                47..=56 => {
                    let sql = format!("DELETE FROM t WHERE rowid = {id}");
                    if let Err(e) = self.exec(&sql) {
                        self.fail(&e);
                    }
                    self.model.remove(&id);
                }
                57..=58 => {
                    let sql = format!("DELETE FROM t WHERE n = {}", rng.below(5));
                    let x = sql.rsplit("= ").next().unwrap().parse::<i64>().unwrap();
                    if let Err(e) = self.exec(&sql) {
                        self.fail(&e);
                    }
                    self.model.retain(|_, r| r.n != Some(x));
                }
                59..=61 => {
                    // a multi-row INSERT whose last row is bad: the statement is undone
                    let a = 100 + rng.below(50) as i64;
                    let sql = format!(
                        "INSERT INTO t(rowid, v) VALUES ({a}, '{}'), ({}, '[1]')",
                        json(&rng.vec()),
                        a + 1
                    );
                    match self.exec(&sql) {
                        Err(e) if e.contains("dimensions") => {}
                        r => self.fail(&format!("bad multi-row insert: got {r:?}")),
                    }
                }
                62..=65 => {
                    if !self.in_txn && self.stack.is_empty() {
                        if let Err(e) = self.exec("BEGIN") {
                            self.fail(&e);
                        }
                        self.in_txn = true;
                        self.begin_state = self.model.clone();
                    }
                }
                66..=70 => {
                    let name = format!("s{}", rng.below(4));
                    if let Err(e) = self.exec(&format!("SAVEPOINT {name}")) {
                        self.fail(&e);
                    }
                    self.snapshot_push(name);
                }
                71..=74 => {
                    if let Some(i) = self.pick_savepoint(rng) {
                        let name = self.stack[i].0.clone();
                        if let Err(e) = self.exec(&format!("ROLLBACK TO {name}")) {
                            self.fail(&e);
                        }
                        self.model = self.stack[i].1.clone();
                        self.stack.truncate(i + 1);
                    }
                }
                75..=77 => {
                    if let Some(i) = self.pick_savepoint(rng) {
                        let name = self.stack[i].0.clone();
                        if let Err(e) = self.exec(&format!("RELEASE {name}")) {
                            self.fail(&e);
                        }
                        self.stack.truncate(i);
                    }
                }
                78..=81 => {
                    if self.in_txn || !self.stack.is_empty() {
                        if let Err(e) = self.exec("COMMIT") {
                            self.fail(&e);
                        }
                        self.in_txn = false;
                        self.stack.clear();
                    }
                }
                82..=84 => {
                    if self.in_txn || !self.stack.is_empty() {
                        if let Err(e) = self.exec("ROLLBACK") {
                            self.fail(&e);
                        }
                        self.model = if self.in_txn {
                            self.begin_state.clone()
                        } else {
                            self.stack[0].1.clone()
                        };
                        self.in_txn = false;
                        self.stack.clear();
                    }
                }
                85..=97 => self.knn(rng),
                _ => self.check_table(),
            }
        }
        self.check_table();
    }

    /// A savepoint name that is open, resolved as SQLite does (the innermost one
    /// with that name).
    fn pick_savepoint(&self, rng: &mut Rng) -> Option<usize> {
        if self.stack.is_empty() {
            return None;
        }
        let name = format!("s{}", rng.below(4));
        self.stack.iter().rposition(|(n, _)| *n == name)
    }
}

fn fuzz(seed: u64, ops: usize) -> (usize, usize) {
    let c = Connection::open_in_memory().unwrap();
    veclite::register(&c).unwrap();
    c.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[4], n integer, tag text, exact_threshold = 0, m = 4, ef_construction = 32)",
    )
    .unwrap();
    let mut f = Fuzz {
        c,
        model: Model::new(),
        stack: Vec::new(),
        in_txn: false,
        begin_state: Model::new(),
        log: Vec::new(),
        seed,
        step: 0,
        knn_hits: 0,
        knn_want: 0,
    };
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    f.run(&mut rng, ops);
    let _ = params![];
    (f.knn_hits, f.knn_want)
}

#[test]
fn model_based_fuzz() {
    let ops: usize = std::env::var("VECLITE_FUZZ_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let seeds: u64 = std::env::var("VECLITE_FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let (mut hits, mut want) = (0, 0);
    for seed in 1..=seeds {
        let (h, w) = fuzz(seed, ops);
        hits += h;
        want += w;
    }
    let recall = hits as f64 / want.max(1) as f64;
    eprintln!(
        "model_fuzz: {} seeds x {ops} operations, KNN recall {recall:.4} over {want} expected rows",
        seeds
    );
    assert!(recall >= 0.95, "KNN recall {recall} below 0.95");
}
