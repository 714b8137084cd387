//! Shadow-table names and DDL. The layouts are specified in ARCHITECTURE.md
//! ("Storage format, version 1").

use super::config::{quote_ident, TableConfig};

/// Suffixes of the shadow tables (`<table>_<suffix>`), for xShadowName: the rows,
/// the config entries, the HNSW graph's nodes, the change log and (int8 tables
/// of format 2) the persisted codes.
pub const SHADOW_SUFFIXES: &[&str] = &["rows", "config", "graph", "log", "codes"];

/// The newest format this build reads (`format_read` in `<t>_config`); a build
/// refuses tables whose `format_read` is newer.
pub const FORMAT_READ: i64 = 2;

/// The format this build writes a table in (both `format_read` and
/// `format_write`): 2 for `quantize = int8`, whose codes are persisted in
/// `<t>_codes` (a format-1 reader would not keep them in step, so it must refuse
/// the table), 1 otherwise (unchanged, still read by older builds).
pub fn format_of(cfg: &TableConfig) -> i64 {
    if cfg.quantize == crate::hnsw::Quantize::Int8 {
        2
    } else {
        1
    }
}

pub struct Names {
    pub schema: String,
    pub table: String,
}

impl Names {
    /// `"schema"."<table>_<suffix>"`
    pub fn q(&self, suffix: &str) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident(&format!("{}_{}", self.table, suffix))
        )
    }
    pub fn unqualified(&self, suffix: &str) -> String {
        quote_ident(&format!("{}_{}", self.table, suffix))
    }
    /// Name of the index on metadata column `col` of the rows table.
    pub fn index_name(&self, col: &str) -> String {
        format!("{}_rows_by_{}", self.table, col)
    }
}

/// Whether a metadata column gets an index in the rows table (BLOB columns do not:
/// nobody filters on them by range, and they would double the storage).
pub fn indexed(ty: super::config::ColType) -> bool {
    ty != super::config::ColType::Blob
}

/// DDL for the rows table: rowid, the vector as declared, then metadata columns with
/// their declared types and collations, so the same WHERE behaves identically on it.
pub fn rows_ddl(n: &Names, cfg: &TableConfig) -> String {
    let mut cols = vec![
        "rowid INTEGER PRIMARY KEY".to_string(),
        format!("{} BLOB NOT NULL", quote_ident(&cfg.vector_name)),
    ];
    for m in &cfg.meta {
        let mut c = format!("{} {}", quote_ident(&m.name), m.ty.sql());
        if let Some(coll) = &m.collate {
            c.push_str(&format!(" COLLATE {}", quote_ident(coll)));
        }
        cols.push(c);
    }
    format!("CREATE TABLE {}({})", n.q("rows"), cols.join(", "))
}

/// CREATE INDEX statements for the metadata columns. Index names start as
/// `<table>_rows_by_<column>`; `taken` says when a name is in use (e.g. kept by a
/// renamed table), and then a numeric suffix is added.
pub fn index_ddl(n: &Names, cfg: &TableConfig, taken: impl Fn(&str) -> bool) -> Vec<String> {
    cfg.meta
        .iter()
        .filter(|m| indexed(m.ty) && !m.aux)
        .map(|m| {
            let base = n.index_name(&m.name);
            let mut name = base.clone();
            let mut i = 2;
            while taken(&name) {
                name = format!("{base}_{i}");
                i += 1;
            }
            format!(
                "CREATE INDEX {}.{} ON {}({})",
                quote_ident(&n.schema),
                quote_ident(&name),
                n.unqualified("rows"),
                quote_ident(&m.name)
            )
        })
        .collect()
}

/// One row per HNSW node: its slot, the rowid it indexes, and its links
/// (`hnsw::codec`). INTEGER PRIMARY KEY, so VACUUM keeps slot numbers.
pub fn graph_ddl(n: &Names) -> String {
    format!(
        "CREATE TABLE {}(slot INTEGER PRIMARY KEY, rowid INTEGER NOT NULL, node BLOB NOT NULL)",
        n.q("graph")
    )
}

/// One row per recent write transaction: the graph slots it changed (u32 LE each),
/// or NULL for "everything" (a rebuild). Other connections apply these instead of
/// reloading the whole graph when the change is small. Old rows are pruned.
pub fn log_ddl(n: &Names) -> String {
    format!(
        "CREATE TABLE {}(generation INTEGER PRIMARY KEY, slots BLOB)",
        n.q("log")
    )
}

/// Format 2, `quantize = int8`: one row per vector, the int8 code row the index
/// keeps for it (`dims` codes, then scale and squared norm as f32 LE; see
/// `hnsw::quant`), written with the row, so a load reads `dims + 8` bytes a row
/// instead of the `4 * dims` of `T_rows`.
pub fn codes_ddl(n: &Names) -> String {
    format!(
        "CREATE TABLE {}(rowid INTEGER PRIMARY KEY, code BLOB NOT NULL)",
        n.q("codes")
    )
}

/// Seed of the level hash (fixed, so the same rows always give the same graph).
pub const DEFAULT_SEED: i64 = 0x5EED_7AB1E;

pub fn config_ddl(n: &Names) -> String {
    format!(
        "CREATE TABLE {}(key TEXT PRIMARY KEY, value) WITHOUT ROWID",
        n.q("config")
    )
}

pub fn config_json(cfg: &TableConfig) -> String {
    let cols: Vec<serde_json::Value> = cfg
        .meta
        .iter()
        .map(|m| {
            let mut c = serde_json::json!({
                "name": m.name,
                "type": m.ty.sql().to_ascii_lowercase(),
                "collate": m.collate,
            });
            if m.aux {
                c["aux"] = true.into(); // absent for metadata columns (and in older tables)
            }
            c
        })
        .collect();
    serde_json::json!({
        "vector_column": cfg.vector_name,
        "dims": cfg.dims,
        "metric": cfg.metric.name(),
        "m": cfg.m,
        "ef_construction": cfg.ef_construction,
        "ef_search": cfg.ef_search,
        "exact_threshold": cfg.exact_threshold,
        "quantize": cfg.quantize.name(),
        "columns": cols,
    })
    .to_string()
}
