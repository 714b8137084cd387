//! The top floor of `sqlite/`: what the entry point registers on a connection
//! (the `veclite` module and the SQL functions) and the per-connection state.

use std::any::Any;

use super::cursor::VecCursor;
use super::ffi::{self, sys, Db, IndexInfo, Registrar, Value};
use super::functions::FUNCTIONS;
use super::stats::ConnState;
use super::vtab::VecTable;
use crate::error::{Error, Result};

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

/// The C boundary (`ffi::module`) drives the table through this trait.
impl ffi::VTab for VecTable {
    type Cursor = VecCursor;

    fn connect(db: Db, args: &[&str], create: bool) -> Result<(Self, String)> {
        if args.len() < 3 {
            return Err(Error::usage("veclite: missing module arguments"));
        }
        let t = VecTable::open(db, args[1], args[2], &args[3..], create)?;
        let decl = t.declaration();
        Ok((t, decl))
    }
    fn best_index(&mut self, info: &mut IndexInfo<'_>) -> Result<bool> {
        super::plan::best_index(info, &self.cfg, self.est_rows)
    }
    fn destroy(&mut self) -> Result<()> {
        VecTable::destroy(self)
    }
    fn open(&mut self) -> Result<VecCursor> {
        Ok(VecCursor::new())
    }
    fn update(&mut self, args: &[Value<'_>]) -> Result<Option<i64>> {
        VecTable::update(self, args)
    }
    fn begin(&mut self) -> Result<()> {
        VecTable::begin(self)
    }
    fn sync(&mut self) -> Result<()> {
        VecTable::sync(self)
    }
    fn commit(&mut self) -> Result<()> {
        VecTable::commit(self)
    }
    fn rollback(&mut self) -> Result<()> {
        VecTable::rollback(self)
    }
    fn savepoint(&mut self, level: i32) -> Result<()> {
        VecTable::savepoint(self, level)
    }
    fn release(&mut self, level: i32) -> Result<()> {
        VecTable::release(self, level)
    }
    fn rollback_to(&mut self, level: i32) -> Result<()> {
        VecTable::rollback_to(self, level)
    }
    fn rename(&mut self, new_name: &str) -> Result<()> {
        VecTable::rename(self, new_name)
    }
    /// PRAGMA integrity_check (3.44+ hosts): rows against graph, as veclite_check.
    fn integrity(&mut self) -> Result<Option<String>> {
        let name = format!("{}.{}", self.names.schema, self.names.table);
        let r = super::admin::table_check(self.db, &name)?;
        Ok(if r == "ok" {
            None
        } else {
            Some(format!("veclite: {}: {r}", self.names.table))
        })
    }
    fn find_function(n_arg: i32, name: &[u8]) -> Option<(ffi::ScalarFn, u8)> {
        (n_arg == 2 && name.eq_ignore_ascii_case(b"knn_match")).then_some((
            super::functions::knn_match_outside as ffi::ScalarFn,
            ffi::sys::SQLITE_INDEX_CONSTRAINT_FUNCTION,
        ))
    }
    fn is_shadow_name(name: &[u8]) -> bool {
        super::shadow::SHADOW_SUFFIXES
            .iter()
            .any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
    }
}
