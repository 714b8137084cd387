//! The entry point called with a connection and its API table (as `sqlite3_load_extension` does) gives a rusqlite connection everything the shared library does.

mod common;

#[test]
fn register_gives_functions_and_module() {
    let c = common::conn();
    let d: f64 = c
        .query_row("SELECT l2_distance('[0,0]', '[3,4]')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(d, 5.0);
    c.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[2], tag text);
         INSERT INTO t(rowid, v, tag) VALUES (1, '[0,0]', 'a'), (2, '[1,0]', 'b'), (3, '[5,5]', 'a');",
    )
    .unwrap();
    let ids: Vec<i64> = c
        .prepare("SELECT rowid FROM t WHERE knn_match(v, '[0.9,0]') AND k = 2 AND tag = 'a'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![1, 3]);
}

#[test]
fn limit_form_works_on_hosts_that_pass_limit() {
    // The bundled SQLite is 3.5x: LIMIT reaches the virtual table.
    let c = common::conn();
    c.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[1]);
         INSERT INTO t(rowid, v) VALUES (1, '[0]'), (2, '[1]'), (3, '[2]'), (4, '[3]');",
    )
    .unwrap();
    let ids: Vec<i64> = c
        .prepare("SELECT rowid FROM t WHERE knn_match(v, '[2.1]') ORDER BY distance LIMIT 2")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![3, 4]);
    // LIMIT with OFFSET: k covers both, SQLite skips the offset rows.
    let ids: Vec<i64> = c
        .prepare(
            "SELECT rowid FROM t WHERE knn_match(v, '[2.1]') ORDER BY distance LIMIT 2 OFFSET 1",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![4, 2]);
}

#[test]
fn bad_vector_is_an_error_not_a_panic() {
    let c = common::conn();
    c.execute_batch("CREATE VIRTUAL TABLE t USING veclite(v float[2])")
        .unwrap();
    let e = c
        .execute("INSERT INTO t(v) VALUES ('[1,2,3]')", [])
        .unwrap_err()
        .to_string();
    assert!(e.contains("vector has 3 dimensions, expected 2"), "{e}");
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

/// KNN through SQL, for every metric, with vectors long enough (37 dimensions) to
/// go through the SIMD kernels' main loop, leftover registers and tail, against a
/// brute-force ranking by the scalar reference; and `veclite_info` reports the
/// kernel table in use (NEON on aarch64 unless `VECLITE_SIMD=scalar`).
#[test]
fn knn_through_sql_agrees_with_the_scalar_reference() {
    use veclite::distance::{kernels, scalar_kernels, Metric};
    const D: usize = 37;
    const N: usize = 300;
    const K: usize = 5;
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut f = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let rows: Vec<Vec<f32>> = (0..N).map(|_| (0..D).map(|_| f()).collect()).collect();
    let queries: Vec<Vec<f32>> = (0..8).map(|_| (0..D).map(|_| f()).collect()).collect();
    let sk = scalar_kernels();
    let c = common::conn();
    for metric in [Metric::L2, Metric::Cosine, Metric::Dot] {
        let name = metric.name();
        let reference = |a: &[f32], b: &[f32]| match metric {
            Metric::L2 => (sk.l2_squared)(a, b).sqrt(),
            Metric::Cosine => (sk.cosine_distance)(a, b),
            Metric::Dot => -(sk.dot)(a, b),
        };
        c.execute_batch(&format!(
            "CREATE VIRTUAL TABLE t_{name} USING veclite(v float[{D}], distance = {name}, exact_threshold = 1000000000)"
        ))
        .unwrap();
        {
            let mut st = c
                .prepare(&format!("INSERT INTO t_{name}(rowid, v) VALUES (?, ?)"))
                .unwrap();
            for (i, v) in rows.iter().enumerate() {
                st.execute(rusqlite::params![i as i64, common::blob(v)])
                    .unwrap();
            }
        }
        let mut st = c
            .prepare(&format!(
                "SELECT rowid, distance FROM t_{name} WHERE knn_match(v, ?) AND k = {K}"
            ))
            .unwrap();
        for q in &queries {
            let got: Vec<(i64, f64)> = st
                .query_map([common::blob(q)], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let mut all: Vec<f32> = rows.iter().map(|v| reference(q, v)).collect();
            all.sort_by(f32::total_cmp);
            assert_eq!(got.len(), K, "{name}");
            for (id, d) in got {
                let want = reference(q, &rows[id as usize]);
                assert!(
                    (d - f64::from(want)).abs() <= 1e-5 * (1.0 + f64::from(want).abs()),
                    "{name}: row {id} at {d}, scalar says {want}"
                );
                assert!(
                    want <= all[K - 1] + 1e-5,
                    "{name}: row {id} is not among the {K} nearest"
                );
            }
        }
    }
    let simd: String = c
        .query_row(
            "SELECT json_extract(veclite_info('t_l2'), '$.simd')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(simd, kernels().name);
    if cfg!(target_arch = "aarch64") && std::env::var_os("VECLITE_SIMD").is_none() {
        assert_eq!(simd, "neon");
    }
}
