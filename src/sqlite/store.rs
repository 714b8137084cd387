//! Reading a table's graph out of its shadow tables: the loader (also what
//! veclite_check compares rows and graph with), config entries, and the in-memory
//! index state a table keeps.

use super::config::{quote_ident, TableConfig};
use super::ffi::{Db, ValueType};
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
            problems.push(e);
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
            problems.push(e);
        }
    }
    Ok((h, problems))
}
