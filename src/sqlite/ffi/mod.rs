//! The bottom floor of `sqlite/`: everything that touches SQLite's C API, and all
//! of its unsafe code. It imports nothing from the rest of `sqlite/`.
//!
//! * [`sys`]: our own declarations of the C structs and constants, and the
//!   `sqlite3_api_routines` table every call goes through (kept per connection);
//! * [`wrap`]: safe wrappers (`Db`, `Stmt`, `Value`/`ValueRef`, `Ctx`, `IndexInfo`);
//! * [`module`]: the virtual-table and scalar-function callbacks, generic over the
//!   [`VTab`]/[`VCursor`] traits, the entry point's body and registration.
#![allow(unsafe_code)]

pub mod conn;
pub mod module;
pub mod sys;
pub mod wrap;

pub use module::{extension_init, module, Registrar, VCursor, VTab};
pub use wrap::{
    interrupted, Constraint, Ctx, Db, IndexInfo, InterruptPoll, OnConflict, Out, OwnedValue,
    ScalarFn, Stmt, Value, ValueType,
};
