//! Everything that touches SQLite. `ffi.rs` holds all of the unsafe code.

pub mod cache;
pub mod config;
pub mod cursor;
pub mod ffi;
pub mod functions;
pub mod plan;
pub mod shadow;
pub mod vtab;
