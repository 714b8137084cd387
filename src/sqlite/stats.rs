//! Per-connection counters of each table's index (what `veclite_info` reports),
//! kept in the connection's registered state, not in a process-global map: a
//! closed connection takes its counters with it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::ffi::Db;

/// What a table's searches and loads did on one connection.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub graph_searches: u64,
    pub exact_searches: u64,
    /// KNN queries without k, streamed in distance order, and the rows they left
    /// out because a later batch found them closer than a row already sent.
    pub stream_searches: u64,
    pub stream_skips: u64,
    pub loads: u64,
    /// Times another connection's commit was applied from the change log instead
    /// of reloading.
    pub catch_ups: u64,
    pub last_load_ms: f64,
    /// Times a version another connection had loaded was taken instead of loading.
    pub shared_uses: u64,
    /// Filtered KNN queries whose terms were evaluated on the index's metadata
    /// cells, and those that went through SQL on the rows table (a collation that
    /// is not built in, a database not in UTF-8).
    pub filters_in_index: u64,
    pub filters_sql: u64,
    /// Rows read back because a long value's prefix could not settle a term.
    pub filter_row_reads: u64,
    /// The planner's choices for filtered queries: exact distances over the
    /// matching rows, or a filtered walk (two-hop or not).
    pub plan_exact: u64,
    pub plan_walk: u64,
    pub plan_two_hop: u64,
    /// Metadata columns loaded into the index, and the time the last one took.
    pub column_loads: u64,
    pub last_column_load_ms: f64,
    pub levels: u8,
    /// This connection holds the table's index in memory.
    pub loaded: bool,
    /// The version it holds (for the memory figures at the time veclite_info asks).
    pub version: Option<std::sync::Weak<crate::hnsw::Hnsw>>,
}

/// The state veclite registers with each connection.
#[derive(Default)]
pub struct ConnState {
    stats: Mutex<HashMap<String, Stats>>,
}

fn key(schema: &str, table: &str) -> String {
    format!(
        "{}/{}",
        schema.to_ascii_lowercase(),
        table.to_ascii_lowercase()
    )
}

/// The counters of `schema.table` on this connection.
pub fn get(db: Db, schema: &str, table: &str) -> Stats {
    db.with_state(|s: &ConnState| {
        s.stats
            .lock()
            .ok()
            .and_then(|m| m.get(&key(schema, table)).cloned())
    })
    .flatten()
    .unwrap_or_default()
}

/// Updates the counters of `schema.table` on this connection.
pub fn update(db: Db, schema: &str, table: &str, f: impl FnOnce(&mut Stats)) {
    db.with_state(|s: &ConnState| {
        if let Ok(mut m) = s.stats.lock() {
            f(m.entry(key(schema, table)).or_default());
        }
    });
}

/// A renamed table keeps its counters.
pub fn rename(db: Db, schema: &str, from: &str, to: &str) {
    db.with_state(|s: &ConnState| {
        if let Ok(mut m) = s.stats.lock() {
            if let Some(v) = m.remove(&key(schema, from)) {
                m.insert(key(schema, to), v);
            }
        }
    });
}
