//! veclite from a Rust program that links SQLite through rusqlite: register the
//! entry point once with `sqlite3_auto_extension`, then every connection has the
//! `veclite` module and functions.

use std::ffi::{c_char, c_int, c_void};

fn register_veclite() {
    type Entry = unsafe extern "C" fn(*mut c_void, *mut *mut c_char, *const c_void) -> c_int;
    type RusqliteEntry = unsafe extern "C" fn(
        *mut rusqlite::ffi::sqlite3,
        *mut *mut c_char,
        *const rusqlite::ffi::sqlite3_api_routines,
    ) -> c_int;
    // SAFETY: the same C signature; the two bindings only name the pointer types
    // differently.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_auto_extension(Some(std::mem::transmute::<Entry, RusqliteEntry>(
            veclite::sqlite3_veclite_auto_init,
        )))
    };
    assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
}

fn main() -> rusqlite::Result<()> {
    register_veclite();
    let db = rusqlite::Connection::open_in_memory()?;
    db.execute_batch(
        "CREATE VIRTUAL TABLE docs USING veclite(embedding float[3], category text, distance = cosine);
         INSERT INTO docs(rowid, embedding, category) VALUES
           (1, '[0.1, 0.9, 0.0]', 'news'), (2, '[0.8, 0.1, 0.1]', 'blog'), (3, '[0.2, 0.7, 0.1]', 'news');",
    )?;
    let mut st = db.prepare(
        "SELECT rowid, distance FROM docs WHERE knn_match(embedding, ?1) AND k = 2 AND category = 'news'",
    )?;
    let hits: Vec<(i64, f64)> = st
        .query_map(["[0, 1, 0]"], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let version: String = db.query_row("SELECT sqlite_version()", [], |r| r.get(0))?;
    println!("SQLite {version} through rusqlite: {hits:?}");
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 3]);
    println!("rust example: 1 passed, 0 failed");
    Ok(())
}
