//! Measures a KNN query through SQL against the same search called directly on the
//! index: what SQL costs per query. Run:
//! cargo run --release --example overhead
use std::time::Instant;

fn main() {
    // $VECLITE_DATA, else ../shared beside the checkout, else the in-repo 10k slice
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let d = match std::env::var_os("VECLITE_DATA").filter(|v| !v.is_empty()) {
        Some(v) => std::path::PathBuf::from(v),
        None if root.join("../shared/data/wordnet-minilm/base.f16").exists() => {
            root.join("../shared/data/wordnet-minilm")
        }
        None => root.join("data/wordnet-minilm-10k"),
    };
    let n = 10_000;
    let raw = std::fs::read(d.join("base.f16")).unwrap();
    let base: Vec<Vec<f32>> = raw[..n * 384 * 2]
        .chunks_exact(768)
        .map(|r| {
            r.chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()
        })
        .collect();
    let raw = std::fs::read(d.join("queries.f32")).unwrap();
    let qs: Vec<Vec<f32>> = raw[..300 * 384 * 4]
        .chunks_exact(1536)
        .map(|r| {
            r.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect();
    let blob = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    // SAFETY: the entry point has the signature of an SQLite extension entry point;
    // the two bindings name the pointer types differently.
    unsafe {
        rusqlite::ffi::sqlite3_auto_extension(Some(std::mem::transmute::<
            unsafe extern "C" fn(
                *mut std::ffi::c_void,
                *mut *mut std::ffi::c_char,
                *const std::ffi::c_void,
            ) -> std::ffi::c_int,
            unsafe extern "C" fn(
                *mut rusqlite::ffi::sqlite3,
                *mut *mut std::ffi::c_char,
                *const rusqlite::ffi::sqlite3_api_routines,
            ) -> std::ffi::c_int,
        >(veclite::sqlite3_veclite_auto_init)));
    }
    let mut c = rusqlite::Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE VIRTUAL TABLE t USING veclite(e float[384], distance = cosine)")
        .unwrap();
    let t0 = Instant::now();
    let tx = c.transaction().unwrap();
    {
        let mut st = tx.prepare("INSERT INTO t(rowid, e) VALUES (?, ?)").unwrap();
        for (i, v) in base.iter().enumerate() {
            st.execute(rusqlite::params![i as i64, blob(v)]).unwrap();
        }
    }
    tx.commit().unwrap();
    println!("insert: {:.0} vec/s", n as f64 / t0.elapsed().as_secs_f64());
    let mut h = veclite::hnsw::Hnsw::new(veclite::hnsw::Params {
        dims: 384,
        metric: veclite::distance::Metric::Cosine,
        m: 16,
        ef_construction: 200,
        seed: 0x5EED_7AB1E,
        quantize: Default::default(),
    });
    let mut sc = veclite::hnsw::Scratch::default();
    let t0 = Instant::now();
    for (i, v) in base.iter().enumerate() {
        h.insert(i as i64, v, &mut sc);
    }
    println!(
        "direct insert (journal on): {:.0} vec/s",
        n as f64 / t0.elapsed().as_secs_f64()
    );
    for ef in [32usize, 64] {
        let qb: Vec<Vec<u8>> = qs.iter().map(|q| blob(q)).collect();
        let mut st = c
            .prepare("SELECT rowid FROM t WHERE knn_match(e, ?1) AND k = 10 AND ef = ?2")
            .unwrap();
        for _ in 0..2 {
            let t0 = Instant::now();
            for q in &qb {
                let r: Vec<i64> = st
                    .query_map(rusqlite::params![q, ef as i64], |r| r.get(0))
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                assert_eq!(r.len(), 10);
            }
            let sql = t0.elapsed().as_secs_f64() / qb.len() as f64 * 1e6;
            let t0 = Instant::now();
            for q in &qs {
                let r = h.search(q, 10, ef, &mut sc, None);
                assert_eq!(r.len(), 10);
            }
            let direct = t0.elapsed().as_secs_f64() / qs.len() as f64 * 1e6;
            println!(
                "ef={ef}: SQL {sql:.1} us/query, direct {direct:.1} us/query, overhead {:.1} us",
                sql - direct
            );
        }
    }
}
