//! The top floor of `sqlite/`: what the entry point registers on a connection
//! (the `veclite` module and the SQL functions) and the per-connection state.

use std::any::Any;

use super::ffi::{self, sys, Registrar};
use super::functions::FUNCTIONS;
use super::stats::ConnState;
use super::vtab::VecTable;
use crate::error::Result;

static MODULE: sys::sqlite3_module = ffi::module::<VecTable>();

/// A new connection's state.
pub fn new_state() -> Box<dyn Any + Send + Sync> {
    Box::new(ConnState::default())
}

/// Registers the module and every SQL function.
pub fn register(r: &Registrar) -> Result<()> {
    r.module::<VecTable>("veclite", &MODULE)?;
    for f in FUNCTIONS.iter().filter(|f| f.enabled()) {
        r.function(f.name, f.n_args, f.flags, f.func)?;
    }
    Ok(())
}
