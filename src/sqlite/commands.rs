//! Special commands sent through a table as INSERTs into its hidden `query`
//! column (as FTS5's `INSERT INTO t(t) VALUES ('rebuild')`), so they run inside the
//! table object and its transaction.

/// The value of the hidden `query` column that makes an INSERT a rebuild command
/// (what veclite_rebuild() sends).
pub const REBUILD_COMMAND: &str = "veclite:rebuild";
/// Writes the current transaction's graph changes to the shadow tables (used by
/// veclite_check inside a transaction).
pub const FLUSH_COMMAND: &str = "veclite:flush";
