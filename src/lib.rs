//! veclite: a SQLite extension that gives SQLite vector tables with KNN search.
//!
//! Load the shared library (`.load ./target/release/libveclite`) or, from Rust, call
//! [`register`] on a rusqlite connection.

pub mod distance;
pub mod error;
pub mod fuzzing;
pub mod hnsw;
pub mod sqlite;
pub mod topk;
pub mod vector;

pub use error::{Error, Result};
pub use sqlite::ffi::register;
