//! Reading a table's graph out of its shadow tables: the loader (also what
//! veclite_check compares rows and graph with), config entries, and the in-memory
//! index state a table keeps.

use super::config::{quote_ident, TableConfig};
use super::ffi::{Db, Stmt, ValueType};
use super::shadow::{self, Names};
use crate::error::{Error, Result};
use crate::hnsw::{Hnsw, Params, Scratch};

/// A table's in-memory index.
pub struct IndexState {
    /// The graph; `hnsw.tag()` is the stored generation it matches.
    pub hnsw: Hnsw,
    pub scratch: Scratch,
    /// The graph replaces the stored one wholesale at the next flush (a rebuild).
    pub full_write: bool,
}

pub fn params(cfg: &TableConfig, seed: i64) -> Params {
    Params {
        dims: cfg.dims,
        metric: cfg.metric,
        m: cfg.m,
        ef_construction: cfg.ef_construction,
        seed: seed as u64,
    }
}

pub fn damaged(table: &str, detail: &str) -> Error {
    Error::corrupt(format!(
        "veclite: table {table} is damaged ({detail}); if {table}_rows is intact, \
         SELECT veclite_rebuild('{table}') rebuilds the graph from it"
    ))
}

/// Reads `key` from `T_config` as an integer (None for NULL or a missing key).
pub fn config_int(db: Db, names: &Names, key: &str) -> Result<Option<i64>> {
    let mut st = db.prepare(
        &format!("SELECT value FROM {} WHERE key = ?1", names.q("config")),
        false,
    )?;
    st.bind_text(1, key.as_bytes())?;
    if st.step()? {
        match st.column_type(0) {
            ValueType::Null => Ok(None),
            ValueType::Integer => Ok(Some(st.column_i64(0))),
            _ => Err(Error::corrupt(format!(
                "veclite: table {}: {}_config entry '{key}' is not an integer",
                names.table, names.table
            ))),
        }
    } else {
        Ok(None)
    }
}

/// Loads the graph of a table from its shadow tables. Every problem found is
/// returned (for veclite_check); the index is only usable if there are none.
pub fn load(db: Db, names: &Names, cfg: &TableConfig) -> Result<(Hnsw, Vec<String>)> {
    let seed = config_int(db, names, "seed")?.unwrap_or(shadow::DEFAULT_SEED);
    let entry = config_int(db, names, "entry")?;
    let mut h = Hnsw::new(params(cfg, seed));
    let mut problems = Vec::new();
    {
        let mut st = db.prepare(
            &format!("SELECT max(slot) FROM {}", names.q("graph")),
            false,
        )?;
        if st.step()? && st.column_type(0) == ValueType::Integer {
            let max = st.column_i64(0);
            if (0..=50_000_000).contains(&max) {
                h.reserve(max as usize + 1);
            }
        }
    }
    // Two sequential scans (no per-node B-tree seeks): the nodes, then the vectors.
    let mut st = db.prepare(
        &format!("SELECT slot, rowid, node FROM {}", names.q("graph")),
        false,
    )?;
    let mut nodes = 0usize;
    while st.step()? {
        nodes += 1;
        let slot = st.column_i64(0);
        let rowid = st.column_i64(1);
        if !(0..=u32::MAX as i64 / 2).contains(&slot) {
            problems.push(format!("node {slot}: slot number out of range"));
        } else if let Err(e) = h.load_node(slot as u32, rowid, st.column_bytes(2)) {
            problems.push(e.to_string());
        }
        if problems.len() > 100 {
            return Ok((h, problems));
        }
    }
    let mut st = db.prepare(
        &format!(
            "SELECT rowid, {} FROM {}",
            quote_ident(&cfg.vector_name),
            names.q("rows")
        ),
        false,
    )?;
    let mut rows = 0usize;
    let mut missing: Vec<String> = Vec::new();
    while st.step()? {
        rows += 1;
        let rowid = st.column_i64(0);
        let vb = st.column_bytes(1);
        if vb.len() != cfg.dims * 4 {
            problems.push(format!(
                "row {rowid} has a vector of {} bytes, expected {}",
                vb.len(),
                cfg.dims * 4
            ));
        } else if vb
            .chunks_exact(4)
            .any(|c| !f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite())
        {
            problems.push(format!(
                "row {rowid} has a non-finite vector (NaN or infinity) in {}_rows",
                names.table
            ));
        } else if !h.load_vector(rowid, vb) && missing.len() < 5 {
            missing.push(rowid.to_string());
        }
    }
    if problems.is_empty() && (rows != nodes || !missing.is_empty()) {
        problems.push(format!(
            "{rows} rows but {nodes} graph nodes (rows without a node: {})",
            if missing.is_empty() {
                "none".to_string()
            } else {
                missing.join(", ")
            }
        ));
    }
    if problems.is_empty() {
        if let Some(e) = entry {
            if !(0..=u32::MAX as i64).contains(&e) {
                problems.push(format!("entry point {e} out of range"));
            }
        }
    }
    if problems.is_empty() {
        if let Err(e) = h.finish_load(entry.map(|e| e as u32)) {
            problems.push(e.to_string());
        }
    }
    Ok((h, problems))
}

/// Every fixed statement veclite runs on a table's shadow tables, by name (as
/// FTS5's `aStmt[FTS5_STMT_*]`): prepared once per table object on first use and
/// kept. Statements whose text depends on the query (the pushed-down filters, an
/// UPDATE of some columns) are kept in a small least-recently-used cache instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sql {
    /// `T_config`: the stored generation.
    Generation,
    /// `T_config`: one entry (key ?1, value ?2).
    ConfigSet,
    /// `T_graph`: one node (slot ?1, rowid ?2, node ?3).
    NodeUpsert,
    /// `T_graph`: the node in slot ?1.
    NodeDelete,
    /// `T_graph`: every node (before a rebuild writes the whole graph).
    NodesClear,
    /// `T_log`: the slots a flush wrote (generation ?1, slots ?2 or NULL).
    LogInsert,
    /// `T_log`: entries at or below generation ?1.
    LogTrim,
    /// `T_rows`: does rowid ?1 exist.
    RowExists,
    /// `T_rows`: delete rowid ?1.
    RowDelete,
    /// `T_rows`: the vector of rowid ?1.
    RowVector,
    /// `T_rows`: the vector and metadata of rowid ?1.
    RowFetch,
    /// `T_rows`: a new row (rowid ?1 or NULL, vector ?2, metadata ?3...).
    RowInsert,
}

const N_SQL: usize = 12;

impl Sql {
    fn text(self, names: &Names, cfg: &TableConfig) -> String {
        let v = quote_ident(&cfg.vector_name);
        let meta: Vec<String> = cfg.meta.iter().map(|m| quote_ident(&m.name)).collect();
        match self {
            Sql::Generation => format!(
                "SELECT value FROM {} WHERE key = 'generation'",
                names.q("config")
            ),
            Sql::ConfigSet => format!(
                "INSERT OR REPLACE INTO {}(key, value) VALUES (?1, ?2)",
                names.q("config")
            ),
            Sql::NodeUpsert => format!(
                "INSERT OR REPLACE INTO {}(slot, rowid, node) VALUES (?1, ?2, ?3)",
                names.q("graph")
            ),
            Sql::NodeDelete => format!("DELETE FROM {} WHERE slot = ?1", names.q("graph")),
            Sql::NodesClear => format!("DELETE FROM {}", names.q("graph")),
            Sql::LogInsert => format!(
                "INSERT OR REPLACE INTO {}(generation, slots) VALUES (?1, ?2)",
                names.q("log")
            ),
            Sql::LogTrim => format!("DELETE FROM {} WHERE generation <= ?1", names.q("log")),
            Sql::RowExists => format!("SELECT 1 FROM {} WHERE rowid = ?1", names.q("rows")),
            Sql::RowDelete => format!("DELETE FROM {} WHERE rowid = ?1", names.q("rows")),
            Sql::RowVector => format!("SELECT {v} FROM {} WHERE rowid = ?1", names.q("rows")),
            Sql::RowFetch => {
                let mut cols = vec![v];
                cols.extend(meta);
                format!(
                    "SELECT {} FROM {} WHERE rowid = ?1",
                    cols.join(", "),
                    names.q("rows")
                )
            }
            Sql::RowInsert => {
                let mut cols = vec!["rowid".to_string(), v];
                cols.extend(meta);
                let params: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                format!(
                    "INSERT INTO {}({}) VALUES ({})",
                    names.q("rows"),
                    cols.join(", "),
                    params.join(", ")
                )
            }
        }
    }
}

/// How many query-dependent statements a table keeps.
const DYNAMIC_KEEP: usize = 32;

/// A table object's prepared statements.
pub struct Statements {
    fixed: [Option<Stmt>; N_SQL],
    /// Query-dependent statements by SQL text, least recently used first.
    dynamic: Vec<(String, Stmt)>,
}

impl Default for Statements {
    fn default() -> Self {
        Statements {
            fixed: std::array::from_fn(|_| None),
            dynamic: Vec::new(),
        }
    }
}

impl Statements {
    /// Statement `id`, prepared on first use. Give it back with [`put`](Self::put).
    pub fn take(&mut self, db: Db, names: &Names, cfg: &TableConfig, id: Sql) -> Result<Stmt> {
        match self.fixed[id as usize].take() {
            Some(s) => Ok(s),
            None => db.prepare(&id.text(names, cfg), true),
        }
    }

    pub fn put(&mut self, id: Sql, mut stmt: Stmt) {
        stmt.reset();
        self.fixed[id as usize] = Some(stmt);
    }

    /// A query-dependent statement, from the cache or freshly prepared. Give it
    /// back with [`put_sql`](Self::put_sql).
    pub fn take_sql(&mut self, db: Db, sql: &str) -> Result<Stmt> {
        match self.dynamic.iter().position(|(s, _)| s == sql) {
            Some(i) => Ok(self.dynamic.remove(i).1),
            None => db.prepare(sql, true),
        }
    }

    pub fn put_sql(&mut self, sql: String, mut stmt: Stmt) {
        stmt.reset();
        if self.dynamic.len() >= DYNAMIC_KEEP {
            self.dynamic.remove(0);
        }
        self.dynamic.push((sql, stmt));
    }

    /// Drops every statement (the tables are dropped or renamed).
    pub fn clear(&mut self) {
        *self = Statements::default();
    }
}
