//! Shared helpers for integration tests: a veclite connection and the wordnet data.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn conn() -> rusqlite::Connection {
    let c = rusqlite::Connection::open_in_memory().unwrap();
    register(&c);
    c
}

/// The `sqlite3_api_routines` table of the SQLite these tests link (rusqlite's
/// bundled build), captured once through `sqlite3_auto_extension`, which hands the
/// table to every entry point, as the extension loader does.
pub fn api_table() -> *const std::ffi::c_void {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static API: AtomicUsize = AtomicUsize::new(0);
    static ONCE: std::sync::Once = std::sync::Once::new();
    unsafe extern "C" fn capture(
        _db: *mut rusqlite::ffi::sqlite3,
        _err: *mut *mut std::ffi::c_char,
        api: *const rusqlite::ffi::sqlite3_api_routines,
    ) -> std::ffi::c_int {
        API.store(api as usize, Ordering::SeqCst);
        0
    }
    ONCE.call_once(|| {
        // SAFETY: capture has the signature sqlite3_auto_extension expects; it is
        // removed again before anything else can open a connection through it.
        unsafe {
            rusqlite::ffi::sqlite3_auto_extension(Some(capture));
            drop(rusqlite::Connection::open_in_memory().unwrap());
            rusqlite::ffi::sqlite3_cancel_auto_extension(Some(capture));
        }
    });
    let p = API.load(Ordering::SeqCst) as *const std::ffi::c_void;
    assert!(!p.is_null(), "the auto extension did not run");
    p
}

/// Registers veclite on an open connection: calls the extension's entry point with
/// the connection and the API table, exactly as `sqlite3_load_extension` does.
pub fn register(c: &rusqlite::Connection) {
    // SAFETY: a live connection of the SQLite whose API table api_table() returns.
    let rc = unsafe {
        veclite::sqlite3_veclite_init(
            c.handle() as *mut std::ffi::c_void,
            std::ptr::null_mut(),
            api_table(),
        )
    };
    assert!(rc == 256, "veclite entry point failed with code {rc}");
}

/// The wordnet-minilm directory: `$VECLITE_DATA` if set; else the full 100k set in
/// `../shared/data/wordnet-minilm` beside the checkout, if it is there; else the 10k
/// slice in the repository, `data/wordnet-minilm-10k`.
pub fn data_dir() -> PathBuf {
    let (p, from) = match std::env::var_os("VECLITE_DATA").filter(|v| !v.is_empty()) {
        Some(v) => (PathBuf::from(v), "$VECLITE_DATA"),
        None => {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let shared = root.join("../shared/data/wordnet-minilm");
            if shared.join("base.f16").exists() {
                (shared, "../shared beside the checkout")
            } else {
                (root.join("data/wordnet-minilm-10k"), "the in-repo slice")
            }
        }
    };
    assert!(
        p.join("base.f16").exists(),
        "test data missing: {}/base.f16 (from {from}; set VECLITE_DATA to a wordnet-minilm directory)",
        p.display()
    );
    p
}

/// Base rows in the data directory (100,000 in the full set, 10,000 in the slice).
pub fn data_rows() -> usize {
    let len = std::fs::metadata(data_dir().join("base.f16"))
        .unwrap()
        .len() as usize;
    len / (DIMS * 2)
}

/// False, after a one-line message on stderr, when the data has fewer than `n` base
/// rows (only the in-repo 10k slice was found): the caller skips its test.
pub fn have_rows(n: usize, test: &str) -> bool {
    let rows = data_rows();
    if rows < n {
        // io::stderr, not eprintln!: the test harness captures eprintln! output of
        // passing tests, and a skip should show in a plain `cargo test`.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped {test}: needs {n} wordnet-minilm rows, {} has {rows} (set VECLITE_DATA to the full set)",
            data_dir().display()
        );
    }
    rows >= n
}

pub const DIMS: usize = 384;

pub struct Wordnet {
    pub base: Vec<Vec<f32>>,
    pub queries: Vec<Vec<f32>>,
    /// gt[q] = ids of the 100 nearest among the first 10k rows.
    pub gt10k: Vec<Vec<i32>>,
    pub pos: Vec<u8>,
    pub lex: Vec<u8>,
}

pub fn wordnet(n: usize, nq: usize) -> Wordnet {
    let d = data_dir();
    let rows = data_rows();
    assert!(
        n <= rows,
        "{n} wordnet-minilm rows asked, {} has {rows} (skip with have_rows)",
        d.display()
    );
    let raw = std::fs::read(d.join("base.f16")).unwrap();
    let base: Vec<Vec<f32>> = raw[..n * DIMS * 2]
        .chunks_exact(DIMS * 2)
        .map(|row| {
            row.chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()
        })
        .collect();
    let raw = std::fs::read(d.join("queries.f32")).unwrap();
    let queries = raw[..nq * DIMS * 4]
        .chunks_exact(DIMS * 4)
        .map(|row| {
            row.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect();
    let raw = std::fs::read(d.join("gt10k.i32")).unwrap();
    let gt10k = raw[..nq * 100 * 4]
        .chunks_exact(400)
        .map(|row| {
            row.chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect();
    let pos = std::fs::read(d.join("pos.u8")).unwrap()[..n].to_vec();
    let lex = std::fs::read(d.join("lexname.u8")).unwrap()[..n].to_vec();
    Wordnet {
        base,
        queries,
        gt10k,
        pos,
        lex,
    }
}

pub fn blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut d, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        d += (*x as f64) * (*y as f64);
        na += (*x as f64) * (*x as f64);
        nb += (*y as f64) * (*y as f64);
    }
    (1.0 - d / (na.sqrt() * nb.sqrt())) as f32
}

/// The rowids and distances of `SELECT ... FROM t WHERE knn_match(v, q) AND k = 10`.
pub fn knn10(c: &rusqlite::Connection, q: &[u8]) -> Vec<(i64, f64)> {
    c.prepare_cached("SELECT rowid, distance FROM t WHERE knn_match(v, ?) AND k = 10")
        .unwrap()
        .query_map([q], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}
