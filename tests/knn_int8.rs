//! `quantize = int8` against brute force over the f32 vectors (wordnet-minilm, first
//! 10k rows): recall of the graph walk, exact distances (equal to
//! `cosine_distance` of the stored row and to what an f32 table returns, within
//! 1e-6), results
//! ordered by them, on every path: graph walk, the exact pass of a small table,
//! selective filters (exact over the codes, re-ranked), and streaming KNN.

mod common;
use common::*;

const N: usize = 10_000;
const NQ: usize = 60;
const K: usize = 10;

fn setup() -> (rusqlite::Connection, Wordnet) {
    let w = wordnet(N, NQ);
    let mut c = conn();
    c.execute_batch(
        "CREATE VIRTUAL TABLE q8 USING veclite(embedding float[384], lex integer, distance = cosine, quantize = int8, exact_threshold = 0);
         CREATE VIRTUAL TABLE f32 USING veclite(embedding float[384], lex integer, distance = cosine, exact_threshold = 0);",
    )
    .unwrap();
    let tx = c.transaction().unwrap();
    for t in ["q8", "f32"] {
        let mut st = tx
            .prepare(&format!(
                "INSERT INTO {t}(rowid, embedding, lex) VALUES (?, ?, ?)"
            ))
            .unwrap();
        for (i, v) in w.base.iter().enumerate() {
            st.execute(rusqlite::params![i as i64, blob(v), w.lex[i] as i64])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    (c, w)
}

fn oracle(w: &Wordnet, q: &[f32], keep: &dyn Fn(usize) -> bool) -> Vec<i64> {
    let mut all: Vec<(f32, i64)> = (0..N)
        .filter(|&i| keep(i))
        .map(|i| (cosine(q, &w.base[i]), i as i64))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(K).map(|x| x.1).collect()
}

/// (rowid, distance, cosine_distance of the stored row) of a query.
fn run(c: &rusqlite::Connection, sql: &str, q: &[f32]) -> Vec<(i64, f64, f64)> {
    let mut st = c.prepare(sql).unwrap();
    st.query_map([blob(q)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn knn_sql(t: &str, tail: &str) -> String {
    format!(
        "SELECT rowid, distance, cosine_distance(embedding, ?1) FROM {t} WHERE knn_match(embedding, ?1) {tail}"
    )
}

/// Distances exact and ordered (ties by rowid).
fn check_exact(got: &[(i64, f64, f64)], what: &str) {
    for (id, d, exact) in got {
        assert!(
            (d - exact).abs() <= 1e-6,
            "{what}: row {id}: distance {d}, cosine_distance {exact}"
        );
    }
    for w in got.windows(2) {
        assert!(
            w[0].1 < w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0),
            "{what}: not ordered: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
}

#[test]
fn int8_matches_brute_force_on_every_path() {
    let (c, w) = setup();
    let (mut hits, mut hits_f32, mut filt_hits) = (0usize, 0usize, 0usize);
    for q in &w.queries {
        let want = oracle(&w, q, &|_| true);
        // graph walk at the default ef (64)
        let got = run(&c, &knn_sql("q8", &format!("AND k = {K}")), q);
        check_exact(&got, "graph walk");
        assert_eq!(got.len(), K);
        hits += got.iter().filter(|r| want.contains(&r.0)).count();
        // the f32 table's answer: the same distances for the rows both return
        let f = run(&c, &knn_sql("f32", &format!("AND k = {K}")), q);
        hits_f32 += f.iter().filter(|r| want.contains(&r.0)).count();
        for (id, d, _) in &got {
            if let Some(x) = f.iter().find(|x| x.0 == *id) {
                assert!((d - x.1).abs() <= 1e-6, "row {id}: int8 {d}, f32 {}", x.1);
            }
        }
        // a selective filter (one lexname: the exact pass over the codes, re-ranked)
        let lex = w.lex[(q[0].to_bits() as usize) % N] as i64;
        let got = run(
            &c,
            &knn_sql("q8", &format!("AND k = {K} AND lex = {lex}")),
            q,
        );
        check_exact(&got, "filtered");
        let want_f = oracle(&w, q, &|i| w.lex[i] as i64 == lex);
        assert_eq!(got.len(), want_f.len());
        filt_hits += got.iter().filter(|r| want_f.contains(&r.0)).count();
        // streaming (no k, a term the table does not take): ordered by exact distance
        let got = run(
            &c,
            &knn_sql(
                "q8",
                "AND (lex % 3 = 0 OR rowid % 2 = 0) ORDER BY distance LIMIT 10",
            ),
            q,
        );
        check_exact(&got, "stream");
        let want_s = oracle(&w, q, &|i| (w.lex[i] % 3 == 0) || i % 2 == 0);
        let s_hits = got.iter().filter(|r| want_s.contains(&r.0)).count();
        assert!(s_hits >= 8, "stream found {s_hits} of 10");
    }
    let recall = hits as f64 / (NQ * K) as f64;
    let recall_f32 = hits_f32 as f64 / (NQ * K) as f64;
    eprintln!("recall@10 at ef=64: int8 {recall:.4}, f32 {recall_f32:.4}");
    assert!(recall >= 0.97, "int8 recall {recall}");
    assert!(
        recall >= recall_f32 - 0.01,
        "int8 {recall} vs f32 {recall_f32}"
    );
    let filt = filt_hits as f64 / (NQ * K) as f64;
    assert!(filt >= 0.999, "filtered recall {filt}");

    // a small table (below exact_threshold) scans the codes and re-ranks: exact
    c.execute_batch(
        "CREATE VIRTUAL TABLE small USING veclite(embedding float[384], distance = cosine, quantize = int8);
         INSERT INTO small(rowid, embedding) SELECT rowid, embedding FROM q8 WHERE rowid < 500;",
    )
    .unwrap();
    for q in w.queries.iter().take(20) {
        let got = run(&c, &knn_sql("small", &format!("AND k = {K}")), q);
        check_exact(&got, "small table");
        let want = oracle(&w, q, &|i| i < 500);
        assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), want);
    }
}

/// The int8 index holds at most 0.4x the bytes of the f32 one (384-d, m = 16),
/// and veclite_info says which it is.
#[test]
fn int8_index_is_small() {
    let w = wordnet(2000, 1);
    let c = conn();
    for (t, q) in [("a", "none"), ("b", "int8")] {
        c.execute_batch(&format!(
            "CREATE VIRTUAL TABLE {t} USING veclite(embedding float[384], distance = cosine, quantize = {q})"
        ))
        .unwrap();
        let mut st = c
            .prepare(&format!("INSERT INTO {t}(rowid, embedding) VALUES (?, ?)"))
            .unwrap();
        for (i, v) in w.base.iter().enumerate() {
            st.execute(rusqlite::params![i as i64, blob(v)]).unwrap();
        }
    }
    let info = |t: &str| -> serde_json::Value {
        let s: String = c
            .query_row(&format!("SELECT veclite_info('{t}')"), [], |r| r.get(0))
            .unwrap();
        serde_json::from_str(&s).unwrap()
    };
    let (a, b) = (info("a"), info("b"));
    assert_eq!(a["params"]["quantize"], "none");
    assert_eq!(b["params"]["quantize"], "int8");
    let (ma, mb) = (
        a["memory_bytes"].as_f64().unwrap(),
        b["memory_bytes"].as_f64().unwrap(),
    );
    eprintln!("memory_bytes: f32 {ma}, int8 {mb} ({:.3}x)", mb / ma);
    assert!(mb <= 0.4 * ma, "int8 {mb} bytes vs f32 {ma}");
    assert_eq!(
        b["shared_bytes"].as_f64().unwrap() + b["private_bytes"].as_f64().unwrap(),
        mb
    );
}
