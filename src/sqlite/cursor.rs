//! xFilter/xNext/xColumn: full or filtered scans of the rows table, and exact KNN.
//!
//! Every plan reads the rows table through one SQL statement whose WHERE clause holds
//! the terms the plan took over, bound to the values SQLite hands us. So a pushed-down
//! term selects exactly the rows the same WHERE selects on `<t>_rows` (same declared
//! types, affinity, NULL rules and collations), whatever the path.

use std::collections::BTreeSet;

use super::config::quote_ident;
use super::ffi::{self, Ctx, OwnedValue, Stmt, Value, ValueType};
use super::filterset::FilterSet;
use super::plan::{Arg, Op, Plan};
use super::vtab::VecTable;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::topk::Hit;
use crate::vector;

pub const MAX_K: i64 = 10_000;
pub const MAX_EF: i64 = 10_000;
/// IN lists are bound in chunks of at most this many values (each chunk padded to a
/// power of two so few distinct statements are prepared).
const IN_CHUNK: usize = 256;

pub struct VecCursor {
    mode: Mode,
}

enum Mode {
    Done,
    /// Streaming over the rows table.
    Scan {
        sql: String,
        stmt: Stmt,
        eof: bool,
    },
    /// A materialised list of rows: KNN results (with distances) or the union of
    /// several chunked scans.
    List {
        hits: Vec<Hit>,
        pos: usize,
        knn: Option<KnnInfo>,
        row: Option<Vec<OwnedValue>>,
    },
}

struct KnnInfo {
    query: Vec<u8>,
    k: i64,
    ef: i64,
    metric: Metric,
}

enum Bound {
    One(OwnedValue),
    List(Vec<OwnedValue>),
    Nothing,
}

fn int_param(v: Value<'_>, name: &str, lo: i64, hi: i64) -> Result<i64> {
    let n = match v.value_type() {
        ValueType::Integer => Some(v.i64()),
        ValueType::Float if v.f64().fract() == 0.0 => Some(v.f64() as i64),
        ValueType::Text => std::str::from_utf8(v.text())
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok()),
        _ => None,
    };
    match n {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(Error::usage(format!(
            "veclite: {name} must be an integer from {lo} to {hi}"
        ))),
    }
}

impl VecCursor {
    pub fn new() -> Self {
        VecCursor { mode: Mode::Done }
    }

    /// Gives cached statements back to the table.
    pub fn close(&mut self, t: &mut VecTable) {
        if let Mode::Scan { sql, stmt, .. } = std::mem::replace(&mut self.mode, Mode::Done) {
            t.put_stmt(sql, stmt);
        }
    }

    pub fn filter(
        &mut self,
        t: &mut VecTable,
        _idx_num: i32,
        idx_str: &str,
        args: &[Value<'_>],
    ) -> Result<()> {
        self.close(t);
        t.ensure_format()?;
        let plan = Plan::decode(idx_str, &t.cfg)?;
        if plan.args.len() != args.len() {
            return Err(Error::usage("veclite: plan and arguments disagree"));
        }
        let mut query: Option<(Vec<f32>, Vec<u8>)> = None;
        let mut k: Option<i64> = None;
        let mut limit: Option<i64> = None;
        let mut offset: i64 = 0;
        let mut ef: Option<i64> = None;
        let mut filters: Vec<(&super::plan::Filter, Bound)> = Vec::new();
        for (a, v) in plan.args.iter().zip(args) {
            match a {
                Arg::Query => {
                    let q = t.query_vector(*v)?;
                    let blob = vector::to_blob(&q);
                    query = Some((q, blob));
                }
                Arg::K => k = Some(int_param(*v, "k", 1, MAX_K)?),
                Arg::Ef => ef = Some(int_param(*v, "ef", 1, MAX_EF)?),
                Arg::Limit => {
                    limit = match v.value_type() {
                        ValueType::Integer if v.i64() >= 0 => Some(v.i64()),
                        _ => None,
                    }
                }
                Arg::Offset => offset = v.i64().max(0),
                Arg::Filter(f) => {
                    let b = match f.op {
                        Op::IsNull | Op::NotNull => Bound::Nothing,
                        Op::In => Bound::List(v.in_list()?),
                        _ => Bound::One(OwnedValue::from_value(*v)),
                    };
                    filters.push((f, b));
                }
            }
        }
        if plan.knn {
            let k = match (k, limit) {
                (Some(k), _) => k,
                (None, Some(l)) => {
                    let k = l.saturating_add(offset);
                    if !(1..=MAX_K).contains(&k) {
                        return Err(Error::usage(format!(
                            "veclite: k (from LIMIT + OFFSET) must be from 1 to {MAX_K}, got {k}"
                        )));
                    }
                    k
                }
                (None, None) => {
                    return Err(Error::usage(format!(
                        "veclite: a KNN query on {} needs k: add `AND k = N` to the WHERE clause \
                         (LIMIT is not passed to virtual tables by every SQLite version)",
                        t.names.table
                    )))
                }
            };
            let (q, blob) = query.expect("knn plan has a query");
            let ef = ef.unwrap_or(t.cfg.ef_search as i64).max(k);
            // The graph walk or the exact scan is chosen here, at run time: filtered
            // queries and tables below exact_threshold rows scan exactly.
            let threshold = t.cfg.exact_threshold;
            let n = t.index()?.hnsw.len();
            t.est_rows = n as f64;
            let (hits, use_graph) = if !filters.is_empty() {
                filtered_knn(
                    t,
                    &filters,
                    &q,
                    k as usize,
                    ef as usize,
                    n < threshold.max(1),
                )?
            } else if n < threshold.max(1) {
                // A small table: exact distances to every row, from the index's copy.
                let st = t.loaded_index()?;
                (to_hits(st.hnsw.exact_search(&q, k as usize, None)), false)
            } else {
                let st = t.loaded_index()?;
                let mut found = st
                    .hnsw
                    .search(&q, k as usize, ef as usize, &mut st.scratch, None);
                if found.len() < (k as usize).min(n) {
                    // Part of the graph was out of the walk's reach: answer exactly.
                    found = st.hnsw.exact_search(&q, k as usize, None);
                }
                (to_hits(found), true)
            };
            t.count_search(use_graph);
            self.mode = Mode::List {
                hits,
                pos: 0,
                knn: Some(KnnInfo {
                    query: blob,
                    k,
                    ef,
                    metric: t.cfg.metric,
                }),
                row: None,
            };
            return Ok(());
        }
        // Plain scan with the pushed-down terms.
        let select = select_list(t, plan.reads_vector);
        let combos = Combos::new(&filters);
        if combos.is_empty() {
            self.mode = Mode::List {
                hits: Vec::new(),
                pos: 0,
                knn: None,
                row: None,
            };
            return Ok(());
        }
        if combos.count() == 1 {
            let (sql, binds) = combos.sql(t, &select, &filters, 0);
            let mut stmt = t.take_stmt(&sql)?;
            let first = (|| {
                for (i, b) in binds.iter().enumerate() {
                    b.bind(&mut stmt, i + 1)?;
                }
                stmt.step()
            })();
            match first {
                Ok(has_row) => {
                    self.mode = Mode::Scan {
                        sql,
                        stmt,
                        eof: !has_row,
                    };
                    Ok(())
                }
                Err(e) => {
                    t.put_stmt(sql, stmt);
                    Err(e)
                }
            }
        } else {
            let mut rowids = BTreeSet::new();
            for c in 0..combos.count() {
                let (sql, binds) = combos.sql(t, "rowid", &filters, c);
                let mut stmt = t.take_stmt(&sql)?;
                let r = (|| -> Result<()> {
                    for (i, b) in binds.iter().enumerate() {
                        b.bind(&mut stmt, i + 1)?;
                    }
                    while stmt.step()? {
                        rowids.insert(stmt.column_i64(0));
                    }
                    Ok(())
                })();
                t.put_stmt(sql, stmt);
                r?;
            }
            self.mode = Mode::List {
                hits: rowids
                    .into_iter()
                    .map(|rowid| Hit {
                        dist: f32::NAN,
                        rowid,
                    })
                    .collect(),
                pos: 0,
                knn: None,
                row: None,
            };
            Ok(())
        }
    }

    pub fn next(&mut self, _t: &mut VecTable) -> Result<()> {
        match &mut self.mode {
            Mode::Done => {}
            Mode::Scan { stmt, eof, .. } => {
                if !*eof {
                    *eof = !stmt.step()?;
                }
            }
            Mode::List { pos, row, .. } => {
                *pos += 1;
                *row = None;
            }
        }
        Ok(())
    }

    pub fn eof(&self) -> bool {
        match &self.mode {
            Mode::Done => true,
            Mode::Scan { eof, .. } => *eof,
            Mode::List { hits, pos, .. } => *pos >= hits.len(),
        }
    }

    pub fn rowid(&self) -> i64 {
        match &self.mode {
            Mode::Done => 0,
            Mode::Scan { stmt, .. } => stmt.column_i64(0),
            Mode::List { hits, pos, .. } => hits.get(*pos).map(|h| h.rowid).unwrap_or(0),
        }
    }

    pub fn column(&mut self, t: &mut VecTable, ctx: &Ctx, i: i32) -> Result<()> {
        let lay = t.layout();
        match &mut self.mode {
            Mode::Done => ctx.null(),
            Mode::Scan { stmt, .. } => {
                // During an UPDATE, a column the statement does not change is
                // answered "no change" (sqlite3_vtab_nochange); SQLite hands the
                // marker to xUpdate (through its temporary table for multi-row
                // UPDATEs too), which keeps the stored value.
                if i == lay.vector() {
                    if ctx.nochange() {
                        return Ok(());
                    }
                    ctx.value(stmt.column_value(1));
                } else if let Some(m) = lay.meta(i) {
                    if ctx.nochange() {
                        return Ok(());
                    }
                    ctx.value(stmt.column_value(2 + m));
                } else {
                    ctx.null();
                }
            }
            Mode::List {
                hits,
                pos,
                knn,
                row,
            } => {
                let Some(hit) = hits.get(*pos) else {
                    ctx.null();
                    return Ok(());
                };
                if i == lay.distance() {
                    match knn {
                        Some(kn) => ctx.f64(output_distance(kn.metric, hit.dist) as f64),
                        None => ctx.null(),
                    }
                } else if i == lay.query() {
                    match knn {
                        Some(kn) => ctx.blob(&kn.query),
                        None => ctx.null(),
                    }
                } else if i == lay.k() {
                    match knn {
                        Some(kn) => ctx.i64(kn.k),
                        None => ctx.null(),
                    }
                } else if i == lay.ef() {
                    match knn {
                        Some(kn) => ctx.i64(kn.ef),
                        None => ctx.null(),
                    }
                } else {
                    if row.is_none() {
                        *row = Some(fetch_row(t, hit.rowid)?);
                    }
                    let r = row.as_ref().expect("just fetched");
                    let idx = if i == lay.vector() {
                        0
                    } else {
                        lay.meta(i).map(|m| m + 1).unwrap_or(usize::MAX)
                    };
                    match r.get(idx) {
                        Some(v) => ctx.owned(v),
                        None => ctx.null(),
                    }
                }
            }
        }
        Ok(())
    }
}

impl Default for VecCursor {
    fn default() -> Self {
        Self::new()
    }
}

/// The ranking value kept in the heap -> the `distance` column.
fn output_distance(m: Metric, d: f32) -> f32 {
    m.user_distance(d)
}

fn select_list(t: &VecTable, reads_vector: bool) -> String {
    let mut s = vec!["rowid".to_string()];
    s.push(if reads_vector {
        quote_ident(&t.cfg.vector_name)
    } else {
        "NULL".into()
    });
    for m in &t.cfg.meta {
        s.push(quote_ident(&m.name));
    }
    s.join(", ")
}

fn fetch_row(t: &mut VecTable, rowid: i64) -> Result<Vec<OwnedValue>> {
    let mut cols = vec![quote_ident(&t.cfg.vector_name)];
    cols.extend(t.cfg.meta.iter().map(|m| quote_ident(&m.name)));
    let sql = format!(
        "SELECT {} FROM {} WHERE rowid = ?1",
        cols.join(", "),
        t.names.q("rows")
    );
    let mut st = t.take_stmt(&sql)?;
    let r = (|| {
        st.bind_i64(1, rowid)?;
        let mut out = Vec::with_capacity(cols.len());
        if st.step()? {
            for i in 0..cols.len() {
                out.push(OwnedValue::from_value(st.column_value(i)));
            }
        }
        Ok(out)
    })();
    t.put_stmt(sql, st);
    r
}

/// The cartesian product of the chunks of every IN list.
struct Combos {
    /// For each filter: its chunks (one chunk for non-IN filters).
    chunks: Vec<Vec<Vec<OwnedValue>>>,
}

impl Combos {
    fn new(filters: &[(&super::plan::Filter, Bound)]) -> Self {
        let chunks = filters
            .iter()
            .map(|(_, b)| match b {
                Bound::One(v) => vec![vec![v.clone()]],
                Bound::Nothing => vec![vec![]],
                Bound::List(l) => l
                    .chunks(IN_CHUNK)
                    .map(|c| {
                        let mut c = c.to_vec();
                        let last = c.last().cloned().expect("chunks are not empty");
                        while !c.len().is_power_of_two() {
                            c.push(last.clone());
                        }
                        c
                    })
                    .collect(),
            })
            .collect();
        Combos { chunks }
    }

    /// True when some IN list is empty: no row can match.
    fn is_empty(&self) -> bool {
        self.chunks.iter().any(|c| c.is_empty())
    }

    fn count(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).product()
    }

    /// SQL and bind values for combination `n`.
    fn sql(
        &self,
        t: &VecTable,
        select: &str,
        filters: &[(&super::plan::Filter, Bound)],
        mut n: usize,
    ) -> (String, Vec<OwnedValue>) {
        let mut conds = Vec::new();
        let mut binds: Vec<OwnedValue> = Vec::new();
        for ((f, _), chunks) in filters.iter().zip(&self.chunks) {
            let chunk = &chunks[n % chunks.len()];
            n /= chunks.len();
            let mut lhs = match f.column {
                None => "rowid".to_string(),
                Some(i) => quote_ident(&t.cfg.meta[i].name),
            };
            if let Some(c) = &f.collation {
                lhs = format!("{lhs} COLLATE {}", quote_ident(c));
            }
            let params: Vec<String> = chunk
                .iter()
                .map(|v| {
                    binds.push(v.clone());
                    format!("?{}", binds.len())
                })
                .collect();
            conds.push(f.op.sql(&lhs, &params.join(", ")));
        }
        let mut sql = format!("SELECT {select} FROM {}", t.names.q("rows"));
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        (sql, binds)
    }
}

fn to_hits(found: Vec<(f32, i64)>) -> Vec<Hit> {
    found
        .into_iter()
        .map(|(dist, rowid)| Hit { dist, rowid })
        .collect()
}

const FILTER_CACHE: usize = 8;
/// Below this selectivity the filtered walk scores only matching nodes (two hops).
const TWO_HOP_BELOW: f64 = 0.3;
/// Exact over the matching rows when count² <= exact_factor() · ef · N.
const EXACT_FACTOR: f64 = 16.0;

/// The planner's exact-vs-graph constant; VECLITE_EXACT_FACTOR overrides it (for
/// calibrating on other hardware; see BENCHMARKS.md).
fn exact_factor() -> f64 {
    static F: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *F.get_or_init(|| {
        std::env::var("VECLITE_EXACT_FACTOR")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|f| f.is_finite() && *f >= 0.0)
            .unwrap_or(EXACT_FACTOR)
    })
}

/// The matching slots for `filters`, from the per-table cache when the same terms
/// with the same values were evaluated since the last write (or reload).
fn filter_set(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
) -> Result<std::rc::Rc<FilterSet>> {
    let key = filter_key(filters);
    let epoch = t.data_epoch;
    t.filter_cache.retain(|(_, e, _)| *e == epoch);
    if let Some(i) = t.filter_cache.iter().position(|(k, _, _)| *k == key) {
        let entry = t.filter_cache.remove(i);
        let set = entry.2.clone();
        t.filter_cache.push(entry);
        return Ok(set);
    }
    let combos = Combos::new(filters);
    let mut rowids: Vec<i64> = Vec::new();
    if !combos.is_empty() {
        for c in 0..combos.count() {
            let (sql, binds) = combos.sql(t, "rowid", filters, c);
            let mut stmt = t.take_stmt(&sql)?;
            let r = (|| -> Result<()> {
                for (i, b) in binds.iter().enumerate() {
                    b.bind(&mut stmt, i + 1)?;
                }
                while stmt.step()? {
                    rowids.push(stmt.column_i64(0));
                }
                Ok(())
            })();
            t.put_stmt(sql, stmt);
            r?;
        }
    }
    let table = t.names.table.clone();
    let st = t.loaded_index()?;
    let n = st.hnsw.n_slots();
    let mut bits = vec![0u64; n.div_ceil(64)];
    let mut slots = Vec::with_capacity(rowids.len());
    for r in rowids {
        let Some(s) = st.hnsw.slot_of(r) else {
            return Err(Error::corrupt(format!(
                "veclite: table {table}: row {r} has no graph node; run SELECT veclite_rebuild('{table}')"
            )));
        };
        let (w, b) = (s as usize / 64, s as usize % 64);
        if bits[w] >> b & 1 == 0 {
            bits[w] |= 1 << b;
            slots.push(s);
        }
    }
    slots.sort_unstable();
    let set = std::rc::Rc::new(FilterSet { bits, slots });
    let epoch = t.data_epoch;
    if t.filter_cache.len() >= FILTER_CACHE {
        t.filter_cache.remove(0);
    }
    t.filter_cache.push((key, epoch, set.clone()));
    Ok(set)
}

/// The cache key of a set of pushed-down terms with their values: column, operator,
/// collation and the bytes of every value (no SQL text is built on a cache hit).
fn filter_key(filters: &[(&super::plan::Filter, Bound)]) -> Vec<u8> {
    fn value(k: &mut Vec<u8>, v: &OwnedValue) {
        match v {
            OwnedValue::Null => k.push(0),
            OwnedValue::Integer(x) => {
                k.push(1);
                k.extend_from_slice(&x.to_le_bytes());
            }
            OwnedValue::Real(x) => {
                k.push(2);
                k.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            OwnedValue::Text(t) | OwnedValue::Blob(t) => {
                k.push(if matches!(v, OwnedValue::Text(_)) {
                    3
                } else {
                    4
                });
                k.extend_from_slice(&(t.len() as u64).to_le_bytes());
                k.extend_from_slice(t);
            }
        }
    }
    let mut k = Vec::with_capacity(64);
    for (f, b) in filters {
        k.extend_from_slice(&f.column.map(|c| c as i64).unwrap_or(-1).to_le_bytes());
        k.extend_from_slice(format!("{:?}", f.op).as_bytes());
        if let Some(c) = &f.collation {
            k.extend_from_slice(c.as_bytes());
        }
        k.push(0xff);
        match b {
            Bound::One(v) => value(&mut k, v),
            Bound::List(l) => {
                k.extend_from_slice(&(l.len() as u64).to_le_bytes());
                for v in l {
                    value(&mut k, v);
                }
            }
            Bound::Nothing => k.push(0xfe),
        }
    }
    k
}

/// KNN among the rows matching `filters`, choosing per query (the choice depends on
/// the bound values, so it is made here):
/// * few matches: exact distances to just those rows (vectors from the index);
/// * many: the graph walk that admits only matching nodes.
///
/// The cost model compares the rows an exact scan touches (`count`) with the nodes a
/// filtered walk visits (about `16·ef` for an unfiltered walk, divided by the
/// selectivity `count/N`): exact when `count² <= 16·ef·N`. If the walk returns fewer
/// than min(k, count) rows (a part of the graph it cannot reach), the exact answer
/// is used. Returns the hits and whether the graph answered.
fn filtered_knn(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
    q: &[f32],
    k: usize,
    ef: usize,
    small_table: bool,
) -> Result<(Vec<Hit>, bool)> {
    let set = filter_set(t, filters)?;
    let st = t.loaded_index()?;
    let count = set.slots.len();
    let n = st.hnsw.len().max(1);
    let exact = small_table
        || count <= k
        || (count as f64).powi(2) <= exact_factor() * ef as f64 * n as f64;
    if !exact {
        let admit = |slot: u32| set.has(slot);
        let two_hop = (count as f64) < TWO_HOP_BELOW * n as f64;
        let found = st
            .hnsw
            .search_with(q, k, ef, &mut st.scratch, Some(&admit), two_hop);
        if found.len() >= k.min(count) {
            return Ok((to_hits(found), true));
        }
    }
    let pq = st.hnsw.prepare_query(q);
    Ok((to_hits(st.hnsw.exact_over(&pq, &set.slots, k)), false))
}

impl ffi::VCursor for VecCursor {
    type Table = VecTable;
    fn filter(
        &mut self,
        t: &mut VecTable,
        idx_num: i32,
        idx_str: &str,
        args: &[Value<'_>],
    ) -> Result<()> {
        VecCursor::filter(self, t, idx_num, idx_str, args)
    }
    fn next(&mut self, t: &mut VecTable) -> Result<()> {
        VecCursor::next(self, t)
    }
    fn eof(&self) -> bool {
        VecCursor::eof(self)
    }
    fn column(&mut self, t: &mut VecTable, ctx: &Ctx, i: i32) -> Result<()> {
        VecCursor::column(self, t, ctx, i)
    }
    fn rowid(&self) -> i64 {
        VecCursor::rowid(self)
    }
    fn close(&mut self, t: &mut VecTable) {
        VecCursor::close(self, t)
    }
}
