//! Reading a table's graph out of its shadow tables: the loader (also what
//! veclite_check compares rows and graph with), config entries, and the in-memory
//! index state a table keeps.

use super::config::{quote_ident, TableConfig};
use super::ffi::{Db, OwnedValue, Stmt, ValueType};
use super::shadow::{self, Names};
use crate::error::{Error, Result};
use crate::hnsw::{Filled, GraphProblem, Hnsw, Params, Scratch, Tag, VectorFill};
use std::sync::Arc;

/// A table's in-memory index as one connection holds it.
pub struct IndexState {
    /// The version this connection uses; `hnsw.tag()` is the stored state it
    /// matches. While `own` is false it may be shared with other connections (see
    /// registry.rs) and is never changed in place.
    pub hnsw: Arc<Hnsw>,
    /// The version carries this connection's transaction (journal frames,
    /// unwritten changes): it was forked for it and is not published before xSync.
    pub own: bool,
    /// While `own`, the version the transaction forked from, kept alive until
    /// it ends (connections that open meanwhile find the committed state in the
    /// registry instead of loading it) and taken back by xRollback.
    pub base: Option<Arc<Hnsw>>,
    pub scratch: Scratch,
    /// The graph replaces the stored one wholesale at the next flush (a rebuild).
    pub full_write: bool,
}

impl IndexState {
    pub fn new(hnsw: Arc<Hnsw>, own: bool) -> Self {
        IndexState {
            hnsw,
            own,
            base: None,
            scratch: Scratch::default(),
            full_write: false,
        }
    }
}

/// A `T_log` row. Format 2 (written by builds with the shared index): the slots a flush wrote
/// or freed as u32 little-endian, then the new state's token (i64 little-endian),
/// then one byte: 2, or 0x82 when the flush replaced the whole graph (no slots).
/// Its length is 1 modulo 4, so a format-1 reader (which expects a multiple of 4
/// or NULL) reloads instead of reading it. Format 1: the slots alone, or NULL for
/// a whole-graph write; it carries no token.
#[derive(Debug, PartialEq)]
pub struct LogRow {
    /// None: the flush replaced the whole graph.
    pub slots: Option<Vec<u32>>,
    /// The token of the state the flush produced (None in format 1).
    pub token: Option<i64>,
}

/// Vectors prepared per batch at load.
const LOAD_BATCH: usize = 1024;
/// From this many slots a load prepares vectors on a second thread.
const THREADED_LOAD_FROM: usize = 4096;

const LOG_V2: u8 = 2;
const LOG_WHOLE: u8 = 0x80;

pub fn encode_log(slots: Option<&[u32]>, token: i64) -> Vec<u8> {
    let mut b: Vec<u8> = slots
        .unwrap_or(&[])
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    b.extend_from_slice(&token.to_le_bytes());
    b.push(if slots.is_some() {
        LOG_V2
    } else {
        LOG_V2 | LOG_WHOLE
    });
    b
}

/// Reads a `T_log` row's `slots` value (None: not a row this build can read).
pub fn decode_log(ty: ValueType, b: &[u8]) -> Option<LogRow> {
    let u32s = |b: &[u8]| -> Vec<u32> {
        b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    match ty {
        ValueType::Null => Some(LogRow {
            slots: None,
            token: None,
        }),
        ValueType::Blob if b.len().is_multiple_of(4) => Some(LogRow {
            slots: Some(u32s(b)),
            token: None,
        }),
        ValueType::Blob if b.len() % 4 == 1 && b.len() >= 9 => {
            let n = b.len() - 9;
            let flag = b[b.len() - 1];
            let token = i64::from_le_bytes(b[n..n + 8].try_into().ok()?);
            match flag {
                LOG_V2 => Some(LogRow {
                    slots: Some(u32s(&b[..n])),
                    token: Some(token),
                }),
                f if f == LOG_V2 | LOG_WHOLE && n == 0 => Some(LogRow {
                    slots: None,
                    token: Some(token),
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A new random token for a stored state (no two flushes in the process, nor,
/// with overwhelming probability, anywhere else, share one).
pub fn new_token() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    // Never 0, which stands for "no token" (a table last written by format 1).
    (h.finish() as i64) | 1
}

/// Reads the stored generation and token (the token is 0 before a format-2
/// build first writes the table).
pub fn read_tag(st: &mut Stmt, table: &str) -> Result<Tag> {
    if st.step()? && st.column_type(0) == ValueType::Integer {
        let token = if st.column_type(1) == ValueType::Integer {
            st.column_i64(1)
        } else {
            0
        };
        Ok(Tag {
            generation: st.column_i64(0),
            token,
        })
    } else {
        Err(Error::corrupt(format!(
            "veclite: table {table}: {table}_config has no valid generation"
        )))
    }
}

pub fn params(cfg: &TableConfig, seed: i64) -> Params {
    Params {
        dims: cfg.dims,
        metric: cfg.metric,
        m: cfg.m,
        ef_construction: cfg.ef_construction,
        seed: seed as u64,
        quantize: cfg.quantize,
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
/// One batch of what a load reads, in the order it is read: every node, then
/// every vector.
enum Read {
    /// `T_graph` rows: (slot, rowid, end of its node in `bytes`), and the node
    /// BLOBs back to back.
    Nodes {
        rows: Vec<(u32, i64, usize)>,
        bytes: Vec<u8>,
    },
    /// `T_rows` rows: rowids and their vectors back to back.
    Vectors { ids: Vec<i64>, bytes: Vec<u8> },
}

impl Read {
    fn nodes() -> Read {
        Read::Nodes {
            rows: Vec::with_capacity(LOAD_BATCH),
            bytes: Vec::new(),
        }
    }
    fn vectors(width: usize) -> Read {
        Read::Vectors {
            ids: Vec::with_capacity(LOAD_BATCH),
            bytes: Vec::with_capacity(LOAD_BATCH * width),
        }
    }
    fn len(&self) -> usize {
        match self {
            Read::Nodes { rows, .. } => rows.len(),
            Read::Vectors { ids, .. } => ids.len(),
        }
    }
    fn clear(&mut self) {
        match self {
            Read::Nodes { rows, bytes } => {
                rows.clear();
                bytes.clear();
            }
            Read::Vectors { ids, bytes } => {
                ids.clear();
                bytes.clear();
            }
        }
    }
}

/// Batches the reading side of a load may be ahead of the building side: the
/// builder's first part (the nodes) takes longer than reading them, so the
/// reader goes on to the vectors meanwhile. At most this many, and at most
/// [`READ_AHEAD_BYTES`] of vectors (at 384 dimensions a batch is 1.5 MB: 32 of
/// them; at 4,096 dimensions 4).
const READ_AHEAD: usize = 32;
const READ_AHEAD_BYTES: usize = 64 << 20;

/// Problems a load reports past this many are not looked for.
const LOAD_PROBLEMS: usize = 100;

/// The side of a load that builds the index from what is read: the nodes, then
/// the vectors (through a [`VectorFill`], taken when the first vectors come).
struct Builder {
    h: Hnsw,
    /// Bytes of a stored vector (or code row).
    width: usize,
    /// The vectors are persisted int8 code rows (`T_codes`), not f32 (`T_rows`).
    codes: bool,
    fill: Option<VectorFill>,
    node_problems: Vec<String>,
    /// Rows whose vector is not finite (or whose code row is damaged), rows
    /// without a node.
    bad: Vec<i64>,
    missing: Vec<i64>,
    /// What checking the links found, once every node is in.
    links: Option<Vec<GraphProblem>>,
}

impl Builder {
    fn take(&mut self, r: &Read) {
        match r {
            Read::Nodes { rows, bytes } => {
                let mut at = 0;
                for &(slot, rowid, end) in rows {
                    if self.node_problems.len() <= LOAD_PROBLEMS {
                        if let Err(e) = self.h.load_node(slot, rowid, &bytes[at..end]) {
                            self.node_problems.push(e.to_string());
                        }
                    }
                    at = end;
                }
            }
            Read::Vectors { ids, bytes } => {
                if self.fill.is_none() {
                    // every node is in: map their rowids, check their links
                    if let Err(e) = self.h.map_loaded() {
                        self.node_problems.push(e.to_string());
                    }
                    self.links = Some(self.h.check_links());
                }
                let fill = self.fill.get_or_insert_with(|| self.h.vector_fill());
                for (&rowid, b) in ids.iter().zip(bytes.chunks_exact(self.width)) {
                    let r = if self.codes {
                        fill.fill_code(&self.h, rowid, b)
                    } else {
                        fill.fill(&self.h, rowid, b)
                    };
                    match r {
                        Filled::Ok => {}
                        Filled::NoNode => self.missing.push(rowid),
                        Filled::NotFinite | Filled::BadCode => self.bad.push(rowid),
                    }
                }
            }
        }
    }

    /// Too many problems already: the rest of the load is not worth reading.
    fn given_up(&self) -> bool {
        self.node_problems.len() > LOAD_PROBLEMS
    }

    fn finish(mut self) -> Builder {
        if let Some(f) = self.fill.take() {
            self.h.finish_fill(f);
        }
        self
    }
}

/// Whether the stored table persists its int8 codes in `T_codes` (format 2, see
/// [`shadow::format_of`]): loads read them instead of `T_rows`, and every write
/// keeps them in step with the rows.
pub fn has_codes(cfg: &TableConfig, format_read: Option<i64>) -> bool {
    cfg.quantize == crate::hnsw::Quantize::Int8 && format_read.unwrap_or(1) >= 2
}

pub fn load(db: Db, names: &Names, cfg: &TableConfig) -> Result<(Hnsw, Vec<String>)> {
    // (a damaged entry is veclite_check's to report, and refused before a query
    // gets here; the rows are then read, which every table has)
    let codes = has_codes(cfg, config_int(db, names, "format_read").unwrap_or(None));
    let seed = config_int(db, names, "seed")?.unwrap_or(shadow::DEFAULT_SEED);
    let entry = config_int(db, names, "entry")?;
    let mut h = Hnsw::new(params(cfg, seed));
    h.reserve_attrs(cfg.meta.len());
    let mut slots = 0;
    {
        let mut st = db.prepare(
            &format!("SELECT max(slot) FROM {}", names.q("graph")),
            false,
        )?;
        if st.step()? && st.column_type(0) == ValueType::Integer {
            let max = st.column_i64(0);
            if (0..=50_000_000).contains(&max) {
                slots = max as usize + 1;
                h.reserve(slots);
            }
        }
    }
    // Two sequential scans (no per-node B-tree seeks): the nodes, then the
    // vectors. This thread only reads them, in batches; the index is built from
    // the batches, for a large table by a second thread meanwhile (which has the
    // index to itself: nodes first, then vectors, in the order read). Batch
    // buffers go back and forth, so a load does not fault in fresh pages for
    // every batch.
    let threaded = slots >= THREADED_LOAD_FROM;
    let width = if codes {
        cfg.dims + crate::hnsw::quant::TRAILER
    } else {
        cfg.dims * 4
    };
    let builder = Builder {
        h,
        width,
        codes,
        fill: None,
        node_problems: Vec::new(),
        bad: Vec::new(),
        missing: Vec::new(),
        links: None,
    };
    // the problems this side finds, by scan
    let (mut graph_problems, mut row_problems) = (Vec::new(), Vec::new());
    let (mut nodes, mut rows) = (0usize, 0usize);
    let given_up = std::sync::atomic::AtomicBool::new(false);
    let builder = std::thread::scope(|scope| -> Result<Builder> {
        let ahead = (READ_AHEAD_BYTES / (LOAD_BATCH * width).max(1)).clamp(2, READ_AHEAD);
        let (to_worker, batches) = std::sync::mpsc::sync_channel::<Read>(ahead);
        let (to_loader, spent) = std::sync::mpsc::channel::<Read>();
        let given_up = &given_up;
        let (worker, mut here) = if threaded {
            let mut b = builder;
            let w = std::thread::Builder::new()
                .name("veclite-load".into())
                .spawn_scoped(scope, move || {
                    for r in batches {
                        b.take(&r);
                        if b.given_up() {
                            given_up.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        if to_loader.send(r).is_err() {
                            break;
                        }
                    }
                    b.finish()
                })
                .map_err(|e| {
                    Error::usage(format!("veclite: cannot start the index loader: {e}"))
                })?;
            (Some(w), None)
        } else {
            (None, Some(builder))
        };
        let mut spare: Vec<Read> = Vec::new();
        // hands a full batch over and returns an empty one of the same kind
        let mut hand = |r: Read, here: &mut Option<Builder>| -> Result<Read> {
            let is_nodes = matches!(r, Read::Nodes { .. });
            if let Some(b) = here.as_mut() {
                b.take(&r);
                if b.given_up() {
                    given_up.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                let mut r = r;
                r.clear();
                return Ok(r);
            }
            while let Ok(mut done) = spent.try_recv() {
                done.clear();
                spare.push(done);
            }
            if to_worker.send(r).is_err() {
                return Err(Error::usage(
                    "veclite: internal error: the index loader stopped",
                ));
            }
            let i = spare
                .iter()
                .position(|s| matches!(s, Read::Nodes { .. }) == is_nodes);
            Ok(match i {
                Some(i) => spare.swap_remove(i),
                None if is_nodes => Read::nodes(),
                None => Read::vectors(width),
            })
        };
        let stop = || given_up.load(std::sync::atomic::Ordering::Relaxed);

        let mut st = db.prepare(
            &format!("SELECT slot, rowid, node FROM {}", names.q("graph")),
            false,
        )?;
        let mut batch = Read::nodes();
        while st.step()? {
            nodes += 1;
            let slot = st.column_i64(0);
            if !(0..=u32::MAX as i64 / 2).contains(&slot) {
                graph_problems.push(format!("node {slot}: slot number out of range"));
                if graph_problems.len() > LOAD_PROBLEMS {
                    break;
                }
                continue;
            }
            if let Read::Nodes { rows, bytes } = &mut batch {
                bytes.extend_from_slice(st.column_bytes(2));
                rows.push((slot as u32, st.column_i64(1), bytes.len()));
            }
            if batch.len() == LOAD_BATCH {
                batch = hand(batch, &mut here)?;
                if stop() {
                    break;
                }
            }
        }
        drop(st);
        if batch.len() > 0 {
            hand(batch, &mut here)?;
        }
        if !stop() && graph_problems.len() <= LOAD_PROBLEMS {
            // an int8 table that persists its codes needs only them: dims + 8
            // bytes a row instead of 4 * dims
            let sql = if codes {
                format!("SELECT rowid, code FROM {}", names.q("codes"))
            } else {
                format!(
                    "SELECT rowid, {} FROM {}",
                    quote_ident(&cfg.vector_name),
                    names.q("rows")
                )
            };
            let mut st = db.prepare(&sql, false).map_err(|e| {
                if codes {
                    damaged(
                        &names.table,
                        &format!("cannot read {}_codes ({e})", names.table),
                    )
                } else {
                    e
                }
            })?;
            let mut batch = Read::vectors(width);
            while st.step()? {
                rows += 1;
                let rowid = st.column_i64(0);
                let vb = st.column_bytes(1);
                if vb.len() != width {
                    row_problems.push(if codes {
                        format!(
                            "row {rowid} has an int8 code of {} bytes in {}_codes, expected {width}",
                            vb.len(),
                            names.table
                        )
                    } else {
                        format!(
                            "row {rowid} has a vector of {} bytes, expected {width}",
                            vb.len(),
                        )
                    });
                    continue;
                }
                if let Read::Vectors { ids, bytes } = &mut batch {
                    ids.push(rowid);
                    bytes.extend_from_slice(vb);
                }
                if batch.len() == LOAD_BATCH {
                    batch = hand(batch, &mut here)?;
                }
            }
            if batch.len() > 0 {
                hand(batch, &mut here)?;
            }
        }
        drop(to_worker);
        match (worker, here) {
            (Some(w), _) => w
                .join()
                .map_err(|_| Error::usage("veclite: internal error: the index loader failed")),
            (None, Some(b)) => Ok(b.finish()),
            (None, None) => unreachable!("the builder is here or on the worker"),
        }
    })?;
    let Builder {
        mut h,
        node_problems,
        bad,
        missing,
        links,
        ..
    } = builder;
    let mut problems = graph_problems;
    problems.extend(node_problems);
    if problems.len() > LOAD_PROBLEMS {
        return Ok((h, problems));
    }
    problems.extend(row_problems);
    for rowid in bad {
        problems.push(if codes {
            format!(
                "row {rowid} has a damaged int8 code in {}_codes",
                names.table
            )
        } else {
            format!(
                "row {rowid} has a non-finite vector (NaN or infinity) in {}_rows",
                names.table
            )
        });
    }
    if problems.is_empty() && (rows != nodes || !missing.is_empty()) {
        problems.push(format!(
            "{rows} {} but {nodes} graph nodes (rows without a node: {})",
            if codes {
                format!("rows in {}_codes", names.table)
            } else {
                "rows".to_string()
            },
            if missing.is_empty() {
                "none".to_string()
            } else {
                missing
                    .iter()
                    .take(5)
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
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
        if let Err(e) = h.finish_load_checked(entry.map(|e| e as u32), links) {
            problems.push(e.to_string());
        }
    }
    Ok((h, problems))
}

/// veclite_check of a table that persists its int8 codes (format 2): every row
/// of `T_rows` has a finite vector and a code row in `T_codes` that encodes it,
/// and `T_codes` has no other rows. (A load reads only the codes; this is where
/// they are compared with the rows.)
pub fn check_codes(db: Db, names: &Names, cfg: &TableConfig) -> Result<Vec<String>> {
    let t = &names.table;
    let mut problems = Vec::new();
    let sql = format!(
        "SELECT r.rowid, r.{}, c.code FROM {} AS r LEFT JOIN {} AS c ON c.rowid = r.rowid",
        quote_ident(&cfg.vector_name),
        names.q("rows"),
        names.q("codes")
    );
    let mut st = match db.prepare(&sql, false) {
        Ok(st) => st,
        Err(e) => return Ok(vec![format!("cannot read {t}_codes ({e})")]),
    };
    let normalize = cfg.metric.normalizes();
    let mut v = Vec::new();
    let mut code = Vec::new();
    while st.step()? && problems.len() <= LOAD_PROBLEMS {
        let rowid = st.column_i64(0);
        let vb = st.column_bytes(1);
        if vb.len() != cfg.dims * 4 {
            problems.push(format!(
                "row {rowid} has a vector of {} bytes, expected {}",
                vb.len(),
                cfg.dims * 4
            ));
            continue;
        }
        crate::vector::decode_into(vb, &mut v);
        if v.iter().any(|x| !x.is_finite()) {
            problems.push(format!(
                "row {rowid} has a non-finite vector (NaN or infinity) in {t}_rows"
            ));
            continue;
        }
        if st.column_type(2) != ValueType::Blob {
            problems.push(format!("row {rowid} has no int8 code in {t}_codes"));
            continue;
        }
        if normalize {
            crate::vector::normalize(&mut v);
        }
        code.clear();
        code.extend(st.column_bytes(2).iter().map(|&b| b as i8));
        if !crate::hnsw::quant::encodes(&code, &v) {
            problems.push(format!(
                "row {rowid}: its int8 code in {t}_codes does not encode its vector"
            ));
        }
    }
    drop(st);
    let mut st = db.prepare(
        &format!(
            "SELECT count(*) FROM {} WHERE rowid NOT IN (SELECT rowid FROM {})",
            names.q("codes"),
            names.q("rows")
        ),
        false,
    )?;
    if st.step()? && st.column_i64(0) > 0 {
        problems.push(format!(
            "{t}_codes has {} rows without a row in {t}_rows",
            st.column_i64(0)
        ));
    }
    Ok(problems)
}

/// Every fixed statement veclite runs on a table's shadow tables, by name (as
/// FTS5's `aStmt[FTS5_STMT_*]`): prepared once per table object on first use and
/// kept. Statements whose text depends on the query (the pushed-down filters, an
/// UPDATE of some columns) are kept in a small least-recently-used cache instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sql {
    /// `T_config`: the stored generation and token.
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
    /// `T_log`: entries from generation ?1 to ?2, in order.
    LogRange,
    /// `T_graph` and `T_rows`: the node in slot ?1 with its rowid and vector.
    NodeFetch,
    /// The schema's `PRAGMA data_version`: moves when another connection commits.
    DataVersion,
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
    /// `T_rows`: the metadata of rowid ?1 (every metadata column, in order).
    RowMeta,
    /// `T_codes`: the int8 code row of rowid ?1 (?2).
    CodeInsert,
    /// `T_codes`: delete rowid ?1.
    CodeDelete,
}

const N_SQL: usize = 18;

impl Sql {
    fn text(self, names: &Names, cfg: &TableConfig) -> String {
        let v = quote_ident(&cfg.vector_name);
        let meta: Vec<String> = cfg.meta.iter().map(|m| quote_ident(&m.name)).collect();
        match self {
            Sql::Generation => format!(
                "SELECT (SELECT value FROM {c} WHERE key = 'generation'), (SELECT value FROM {c} WHERE key = 'token')",
                c = names.q("config")
            ),
            Sql::LogRange => format!(
                "SELECT generation, slots FROM {} WHERE generation >= ?1 AND generation <= ?2 ORDER BY generation",
                names.q("log")
            ),
            Sql::DataVersion => format!("PRAGMA {}.data_version", quote_ident(&names.schema)),
            Sql::NodeFetch => format!(
                "SELECT g.rowid, g.node, r.{v} FROM {} AS g LEFT JOIN {} AS r ON r.rowid = g.rowid WHERE g.slot = ?1",
                names.q("graph"),
                names.q("rows")
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
            Sql::CodeInsert => format!(
                "INSERT INTO {}(rowid, code) VALUES (?1, ?2)",
                names.q("codes")
            ),
            Sql::CodeDelete => format!("DELETE FROM {} WHERE rowid = ?1", names.q("codes")),
            Sql::RowMeta => {
                // A table without metadata columns still gets a valid statement.
                let cols = if meta.is_empty() {
                    "NULL".to_string()
                } else {
                    meta.join(", ")
                };
                format!("SELECT {cols} FROM {} WHERE rowid = ?1", names.q("rows"))
            }
        }
    }
}

/// How many query-dependent statements a table keeps.
const DYNAMIC_KEEP: usize = 32;

/// What the index lifecycle needs of its table: the connection, the names and
/// definition, and the table's prepared statements (borrowed from the table).
pub struct Store<'a> {
    pub db: Db,
    pub names: &'a Names,
    pub cfg: &'a TableConfig,
    pub stmts: &'a mut Statements,
}

impl Store<'_> {
    pub fn take(&mut self, id: Sql) -> Result<Stmt> {
        self.stmts.take(self.db, self.names, self.cfg, id)
    }
    pub fn put(&mut self, id: Sql, stmt: Stmt) {
        self.stmts.put(id, stmt);
    }

    /// The stored metadata values of `rowid`, in column order (None: no such row).
    pub fn row_meta(&mut self, rowid: i64) -> Result<Option<Vec<OwnedValue>>> {
        let n = self.cfg.meta.len();
        let mut st = self.take(Sql::RowMeta)?;
        let r = (|| {
            st.bind_i64(1, rowid)?;
            if !st.step()? {
                return Ok(None);
            }
            Ok(Some(
                (0..n)
                    .map(|i| OwnedValue::from_value(st.column_value(i)))
                    .collect(),
            ))
        })();
        self.put(Sql::RowMeta, st);
        r
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_rows_round_trip_and_format_1_still_reads() {
        let slots = [0u32, 7, 123_456];
        let b = encode_log(Some(&slots), -42);
        assert_eq!(b.len() % 4, 1, "a format-1 reader must see a bad length");
        assert_eq!(
            decode_log(ValueType::Blob, &b),
            Some(LogRow {
                slots: Some(slots.to_vec()),
                token: Some(-42)
            })
        );
        let w = encode_log(None, 9);
        assert_eq!(w.len(), 9);
        assert_eq!(
            decode_log(ValueType::Blob, &w),
            Some(LogRow {
                slots: None,
                token: Some(9)
            })
        );
        // Format 1: the slots alone, NULL for a whole-graph write.
        let v1: Vec<u8> = slots.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            decode_log(ValueType::Blob, &v1),
            Some(LogRow {
                slots: Some(slots.to_vec()),
                token: None
            })
        );
        assert_eq!(
            decode_log(ValueType::Null, &[]),
            Some(LogRow {
                slots: None,
                token: None
            })
        );
        // Anything else is not read (the reader reloads).
        assert_eq!(decode_log(ValueType::Blob, &[1, 2, 3]), None);
        let mut bad = encode_log(Some(&slots), 1);
        *bad.last_mut().unwrap() = 3;
        assert_eq!(decode_log(ValueType::Blob, &bad), None);
        let mut whole_with_slots = encode_log(Some(&slots), 1);
        *whole_with_slots.last_mut().unwrap() = 0x82;
        assert_eq!(decode_log(ValueType::Blob, &whole_with_slots), None);
        assert_eq!(decode_log(ValueType::Integer, &[]), None);
    }

    #[test]
    fn tokens_are_never_zero_and_differ() {
        let a: Vec<i64> = (0..1000).map(|_| new_token()).collect();
        assert!(a.iter().all(|&t| t != 0));
        let mut b = a.clone();
        b.sort_unstable();
        b.dedup();
        assert_eq!(b.len(), a.len());
    }
}
