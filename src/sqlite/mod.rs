//! Everything that touches SQLite, as a stack of floors (each file imports only
//! from floors below it):
//!
//! * `ffi/` — the C API: our own bindings, safe wrappers, the generic module glue;
//!   all of SQLite's unsafe code;
//! * `config`, `shadow`, `args`, `stats` — CREATE arguments, shadow-table DDL,
//!   values as vectors, per-connection counters;
//! * `plan` — xBestIndex and the plan string;
//! * `lifecycle`, `vtab` — the table, its index and transactions;
//! * `cursor` — xFilter / xNext / xColumn;
//! * `admin`, `functions` — SQL functions;
//! * `extension` — what the entry point registers.

pub mod admin;
pub mod args;
pub mod commands;
pub mod config;
pub mod cursor;
pub mod extension;
pub mod ffi;
pub mod filterset;
pub mod functions;
pub mod lifecycle;
pub mod plan;
pub mod planner;
pub mod predicate;
pub mod registry;
pub mod rerank;
pub mod shadow;
pub mod stats;
pub mod store;
pub mod stream;
pub mod txn;
pub mod vtab;
