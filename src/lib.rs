//! veclite: a SQLite extension that gives SQLite vector tables with KNN search.
//!
//! The library links no SQLite and depends on no SQLite crate: it is loaded into a
//! connection by SQLite itself, which hands the entry point its API table.
//!
//! * Shared library: `.load veclite` (after `make install`) or
//!   `.load ./target/release/libveclite`.
//! * Rust, with any SQLite the program links (rusqlite with `bundled`, say): register
//!   the entry point once with `sqlite3_auto_extension`, and every connection opened
//!   afterwards has veclite:
//!
//! ```ignore
//! unsafe {
//!     rusqlite::ffi::sqlite3_auto_extension(Some(std::mem::transmute(
//!         veclite::sqlite3_veclite_auto_init as *const (),
//!     )));
//! }
//! let db = rusqlite::Connection::open_in_memory()?;
//! ```
#![deny(unsafe_code)]

pub mod distance;
pub mod error;
/// Entry points for the cargo-fuzz targets and the corpus replay test.
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hnsw;
pub(crate) mod sqlite;
pub(crate) mod topk;
pub mod vector;

/// Test hooks, not a stable API: the API-table slots veclite reads (checked against
/// a real SQLite by `tests/api_slots.rs`).
#[doc(hidden)]
pub mod testing {
    pub use crate::sqlite::ffi::sys::{Api, SLOTS};
}

pub use error::{Error, Result};

use std::ffi::{c_char, c_int, c_void};

/// The extension entry point of `sqlite3_load_extension` (`.load veclite`): called
/// with the connection, an error-message out-pointer and the connection's
/// `sqlite3_api_routines` table. Returns `SQLITE_OK_LOAD_PERMANENTLY`, so SQLite
/// never unloads the library (its worker threads and panic hook live in it).
///
/// # Safety
/// Only SQLite calls this, with the arguments above.
#[allow(unsafe_code)] // one of the two exported C symbols; forwards to sqlite::ffi
#[no_mangle]
pub unsafe extern "C" fn sqlite3_veclite_init(
    db: *mut c_void,
    pz_err_msg: *mut *mut c_char,
    p_api: *const c_void,
) -> c_int {
    // SAFETY: SQLite passes a live connection and that connection's API table.
    let rc = unsafe { init(db, pz_err_msg, p_api) };
    if rc == 0 {
        sqlite::ffi::sys::SQLITE_OK_LOAD_PERMANENTLY
    } else {
        rc
    }
}

/// The entry point for `sqlite3_auto_extension` (programs that link SQLite and
/// veclite): the same as [`sqlite3_veclite_init`] but returns `SQLITE_OK`, which
/// automatic extensions must return.
///
/// # Safety
/// Only SQLite calls this, with the arguments of an extension entry point.
#[allow(unsafe_code)] // one of the two exported C symbols; forwards to sqlite::ffi
#[no_mangle]
pub unsafe extern "C" fn sqlite3_veclite_auto_init(
    db: *mut c_void,
    pz_err_msg: *mut *mut c_char,
    p_api: *const c_void,
) -> c_int {
    // SAFETY: as above.
    unsafe { init(db, pz_err_msg, p_api) }
}

#[allow(unsafe_code)]
unsafe fn init(db: *mut c_void, pz_err_msg: *mut *mut c_char, p_api: *const c_void) -> c_int {
    // SAFETY: the caller passes what SQLite passed to an entry point.
    unsafe {
        sqlite::ffi::extension_init(
            db,
            pz_err_msg,
            p_api,
            sqlite::extension::new_state,
            sqlite::extension::register,
        )
    }
}
