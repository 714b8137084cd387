//! `quantize = int8` under the transaction protocol: ROLLBACK TO and ROLLBACK
//! restore the quantized index exactly, another connection catches up with a
//! commit (from the change log), a reopened connection re-quantizes from the rows
//! table, and veclite_check is ok throughout. (tests/model_fuzz.rs runs the whole
//! model with int8 too: `model_based_fuzz_int8`.)

mod common;

use std::collections::BTreeMap;

const D: usize = 16;
const K: usize = 5;

struct Rng(u64);
impl Rng {
    fn f(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    fn vec(&mut self) -> Vec<f32> {
        (0..D).map(|_| self.f()).collect()
    }
}

type Model = BTreeMap<i64, Vec<f32>>;

fn open(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    common::register(&c);
    c
}

fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The table's answer equals brute force over the model: same rows, exact
/// distances, in order.
fn check(c: &rusqlite::Connection, m: &Model, q: &[f32], what: &str) {
    let mut st = c
        .prepare(&format!(
            "SELECT rowid, distance FROM t WHERE knn_match(v, ?1) AND k = {K} AND ef = 1000"
        ))
        .unwrap();
    let got: Vec<(i64, f64)> = st
        .query_map([common::blob(q)], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut want: Vec<(f64, i64)> = m.iter().map(|(id, v)| (l2(q, v), *id)).collect();
    want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    want.truncate(K);
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        want.iter().map(|w| w.1).collect::<Vec<_>>(),
        "{what}"
    );
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g.1 - w.0).abs() < 1e-5,
            "{what}: distance {} vs {}",
            g.1,
            w.0
        );
    }
    let ok: String = c
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "{what}");
}

fn insert(c: &rusqlite::Connection, m: &mut Model, id: i64, v: Vec<f32>) {
    c.execute(
        "INSERT OR REPLACE INTO t(rowid, v) VALUES (?, ?)",
        rusqlite::params![id, common::blob(&v)],
    )
    .unwrap();
    m.insert(id, v);
}

fn delete(c: &rusqlite::Connection, m: &mut Model, id: i64) {
    c.execute("DELETE FROM t WHERE rowid = ?", [id]).unwrap();
    m.remove(&id);
}

#[test]
fn int8_rollback_savepoint_and_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q8.db");
    let c = open(&path);
    c.execute_batch(&format!(
        "CREATE VIRTUAL TABLE t USING veclite(v float[{D}], quantize = int8, exact_threshold = 0, m = 8)"
    ))
    .unwrap();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut m = Model::new();
    c.execute_batch("BEGIN").unwrap();
    for id in 0..300 {
        insert(&c, &mut m, id, rng.vec());
    }
    c.execute_batch("COMMIT").unwrap();
    let qs: Vec<Vec<f32>> = (0..8).map(|_| rng.vec()).collect();
    let other = open(&path);
    for q in &qs {
        check(&c, &m, q, "after the first commit");
        check(&other, &m, q, "another connection");
    }

    let committed = m.clone();
    c.execute_batch("BEGIN").unwrap();
    for id in 300..340 {
        insert(&c, &mut m, id, rng.vec());
    }
    c.execute_batch("SAVEPOINT s").unwrap();
    let before_s = m.clone();
    for id in (0..100).step_by(3) {
        delete(&c, &mut m, id);
    }
    for id in 100..120 {
        // a query's near neighbours move
        let v = qs[id as usize % qs.len()]
            .iter()
            .map(|x| x + 0.01 * rng.f())
            .collect();
        insert(&c, &mut m, id, v);
    }
    for q in &qs {
        check(&c, &m, q, "inside the savepoint");
        check(
            &other,
            &committed,
            q,
            "another connection during the transaction",
        );
    }
    c.execute_batch("ROLLBACK TO s").unwrap();
    for q in &qs {
        check(&c, &before_s, q, "after ROLLBACK TO");
    }
    c.execute_batch("ROLLBACK").unwrap();
    for q in &qs {
        check(&c, &committed, q, "after ROLLBACK");
    }

    // a commit that the other connection catches up with
    let mut m = committed;
    c.execute_batch("BEGIN").unwrap();
    for id in 0..10 {
        delete(&c, &mut m, id);
    }
    for id in 1000..1010 {
        let v = qs[0].iter().map(|x| x + 0.02 * rng.f()).collect();
        insert(&c, &mut m, id, v);
    }
    c.execute_batch("COMMIT").unwrap();
    for q in &qs {
        check(&other, &m, q, "another connection after the commit");
        check(&c, &m, q, "the writer after the commit");
    }
    let info: String = other
        .query_row("SELECT veclite_info('t')", [], |r| r.get(0))
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert!(
        info["index_catch_ups"].as_i64().unwrap() + info["index_shared_uses"].as_i64().unwrap()
            >= 1,
        "{info}"
    );
    drop((c, other));
    // a fresh connection quantizes the stored rows again
    let fresh = open(&path);
    for q in &qs {
        check(&fresh, &m, q, "a reopened connection");
    }
}
