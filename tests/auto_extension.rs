//! The way a Rust program uses veclite with the SQLite it links: register the entry
//! point with `sqlite3_auto_extension` once; every connection opened afterwards has
//! the module and the functions, and each connection keeps its own state.

use std::ffi::{c_char, c_int, c_void};

type Entry = unsafe extern "C" fn(*mut c_void, *mut *mut c_char, *const c_void) -> c_int;
type RusqliteEntry = unsafe extern "C" fn(
    *mut rusqlite::ffi::sqlite3,
    *mut *mut c_char,
    *const rusqlite::ffi::sqlite3_api_routines,
) -> c_int;

fn auto_register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: the same C signature; the bindings only name the pointer types
        // differently.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_auto_extension(Some(
                std::mem::transmute::<Entry, RusqliteEntry>(veclite::sqlite3_veclite_auto_init),
            ))
        };
        assert_eq!(rc, 0);
    });
}

#[test]
fn every_new_connection_has_veclite() {
    auto_register();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let a = rusqlite::Connection::open(&path).unwrap();
    a.execute_batch(
        "CREATE VIRTUAL TABLE t USING veclite(v float[2], tag text, exact_threshold = 0);
         INSERT INTO t(rowid, v, tag) VALUES (1, '[0,0]', 'a'), (2, '[1,0]', 'b'), (3, '[5,5]', 'a');",
    )
    .unwrap();
    let b = rusqlite::Connection::open(&path).unwrap();
    let ids: Vec<i64> = b
        .prepare("SELECT rowid FROM t WHERE knn_match(v, '[0.9,0]') AND k = 2")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ids, vec![2, 1]);
    // Counters are per connection: b searched once, a not at all.
    let searches = |c: &rusqlite::Connection| -> i64 {
        c.query_row(
            "SELECT json_extract(veclite_info('t'), '$.searches.graph')",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(searches(&b), 1);
    assert_eq!(searches(&a), 0);
    drop(a);
    drop(b);
    // A connection at a reused address starts with fresh counters.
    let c = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(searches(&c), 0);
}
