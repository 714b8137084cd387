//! The KNN planner: for each query, from the bound values, the choice between an
//! exact pass and a graph walk (and, for filters, between exact distances to the
//! matching rows and a filtered or two-hop walk), the matching-row sets and their
//! per-table cache, the cost constants, and the SQL that selects the rows matching
//! the pushed-down terms.
//!
//! Every filter reads the rows table through one SQL statement whose WHERE clause
//! holds the terms the plan took over, bound to the values SQLite hands us. So a
//! pushed-down term selects exactly the rows the same WHERE selects on `<t>_rows`
//! (same declared types, affinity, NULL rules and collations), whatever the path.

use std::cell::RefCell;
use std::sync::Arc;

use super::config::{quote_ident, tuning};
use super::ffi::{OwnedValue, Value, ValueType};
use super::filterset::FilterSet;
use super::predicate::{
    cast_for, eval_all, int_range, stored_cell, whole_cell, Affinity, Cast, Coll, Term, Tri,
};
use super::rerank;
use super::vtab::VecTable;
use crate::error::{Error, Result};
use crate::hnsw::{Cell as CellValue, Column, Hnsw};
use crate::topk::Hit;

pub const MAX_K: i64 = 10_000;
pub const MAX_EF: i64 = 10_000;
/// IN lists are bound in chunks of at most this many values (each chunk padded to a
/// power of two so few distinct statements are prepared).
const IN_CHUNK: usize = 256;

/// The value(s) a pushed-down term was bound to.
pub enum Bound {
    One(OwnedValue),
    List(Vec<OwnedValue>),
    Nothing,
}

pub fn int_param(v: Value<'_>, name: &str, lo: i64, hi: i64) -> Result<i64> {
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

/// The k nearest rows for `q` (among those matching `filters`) and whether the
/// graph answered (for veclite_info's counters). `k` and `ef` are checked.
pub fn knn(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
    q: &[f32],
    k: usize,
    ef: usize,
) -> Result<(Vec<Hit>, bool)> {
    // The graph walk or the exact scan is chosen here, at run time: filtered
    // queries and tables below exact_threshold rows scan exactly.
    let threshold = t.cfg.exact_threshold;
    let n = t.index()?.hnsw.len();
    t.est_rows = n as f64;
    // A quantized index returns an oversampled pool by code distance (kw from a
    // walk, kx from an exact scan of the codes), re-ranked exactly below.
    let quantized = t.loaded_index()?.hnsw.quantized();
    let (kw, kx) = if quantized {
        (rerank::pool(k, ef), rerank::pool_exact(k))
    } else {
        (k, k)
    };
    let (hits, use_graph) = if !filters.is_empty() {
        filtered_knn(t, filters, q, (k, kw, kx), ef, n < threshold.max(1))?
    } else if n < threshold.max(1) {
        // A small table: exact distances to every row, from the index's copy.
        let st = t.loaded_index()?;
        (to_hits(st.hnsw.exact_search(q, kx, None)), false)
    } else {
        let st = t.loaded_index()?;
        let mut found = st.hnsw.search(q, kw, ef, &mut st.scratch, None);
        if found.len() < k.min(n) {
            // Part of the graph was out of the walk's reach: answer exactly.
            found = st.hnsw.exact_search(q, kx, None);
        }
        (to_hits(found), true)
    };
    if quantized {
        return Ok((rerank::rerank_hits(t, q, hits, k)?, use_graph));
    }
    Ok((hits, use_graph))
}

/// The cartesian product of the chunks of every IN list.
pub struct Combos {
    /// For each filter: its chunks (one chunk for non-IN filters).
    chunks: Vec<Vec<Vec<OwnedValue>>>,
}

impl Combos {
    pub fn new(filters: &[(&super::plan::Filter, Bound)]) -> Self {
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
    pub fn is_empty(&self) -> bool {
        self.chunks.iter().any(|c| c.is_empty())
    }

    pub fn count(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).product()
    }

    /// SQL and bind values for combination `n`.
    pub fn sql(
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
const TWO_HOP_BELOW: f64 = 0.22;

/// Whether a filtered walk over `count` matching of `n` rows takes two hops.
fn two_hop(count: usize, n: usize) -> bool {
    (count as f64) < two_hop_below() * n as f64
}

/// TWO_HOP_BELOW; VECLITE_TWO_HOP_BELOW overrides it (for calibrating).
fn two_hop_below() -> f64 {
    static F: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *F.get_or_init(|| tuning("VECLITE_TWO_HOP_BELOW", TWO_HOP_BELOW, |f| non_negative(*f)))
}

fn non_negative(f: f64) -> bool {
    f.is_finite() && f >= 0.0
}

/// A scan passes over each other column too (rather than testing the rows left)
/// when more than 1/DENSE_AFTER_LEAD of the slots pass the lead column's terms.
const DENSE_AFTER_LEAD: usize = 16;

/// Exact over the matching rows when count² <= exact_factor() · ef · N.
const EXACT_FACTOR: f64 = 2.0;

/// The planner's exact-vs-graph constant; VECLITE_EXACT_FACTOR overrides it (for
/// calibrating on other hardware; see BENCHMARKS.md).
fn exact_factor() -> f64 {
    static F: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *F.get_or_init(|| tuning("VECLITE_EXACT_FACTOR", EXACT_FACTOR, |f| non_negative(*f)))
}

/// A stream of rows in distance order for a KNN query without k (see stream.rs),
/// over the current version of the index, which it pins.
pub fn stream(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
    q: Vec<f32>,
    ef: usize,
) -> Result<super::stream::Stream> {
    let n = t.index()?.hnsw.len();
    let small = n < t.cfg.exact_threshold.max(1);
    let (set, two_hop) = if filters.is_empty() {
        (None, false)
    } else {
        let set = match in_index_set(t, filters)? {
            Some(set) => set,
            None => filter_set(t, filters)?,
        };
        let two_hop = two_hop(set.slots.len(), n);
        (Some(set), two_hop)
    };
    let hnsw = std::sync::Arc::clone(&t.loaded_index()?.hnsw);
    Ok(super::stream::Stream::new(hnsw, q, set, two_hop, ef, small))
}

/// The matching slots for `filters`, from the per-table cache when the same terms
/// with the same values were evaluated since the last write (or reload).
fn filter_set(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
) -> Result<std::rc::Rc<FilterSet>> {
    let key = filter_key(filters);
    // This connection's writes and reloads move data_epoch; another connection's
    // commit (a metadata-only UPDATE leaves the graph and its generation alone)
    // moves data_version.
    let epoch = (t.life.data_epoch, t.data_version()?);
    t.life.filter_cache.retain(|(_, e, _)| *e == epoch);
    if let Some(i) = t.life.filter_cache.iter().position(|(k, _, _)| *k == key) {
        let entry = t.life.filter_cache.remove(i);
        let set = entry.2.clone();
        t.life.filter_cache.push(entry);
        return Ok(set);
    }
    let rowids = sql_rowids(t, filters)?;
    let table = t.names.table.clone();
    let st = t.loaded_index()?;
    let n = st.hnsw.n_slots();
    let mut bits = vec![0u64; n.div_ceil(64)];
    for r in rowids {
        let Some(s) = st.hnsw.slot_of(r) else {
            return Err(no_node(&table, r));
        };
        bits[s as usize / 64] |= 1 << (s % 64);
    }
    let set = std::rc::Rc::new(FilterSet::from_bits(bits));
    if t.life.filter_cache.len() >= FILTER_CACHE {
        t.life.filter_cache.remove(0);
    }
    t.life.filter_cache.push((key, epoch, set.clone()));
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
/// The terms are evaluated on the index's metadata cells when they can be (see
/// `in_index_knn`); otherwise (the SQL path) the matching set comes from SQL. The
/// cost model compares the rows an exact scan touches (`count`) with the nodes a
/// filtered walk visits (proportional to `ef` divided by the selectivity
/// `count/N`): exact when `count² <= exact_factor()·ef·N`. If the walk returns fewer
/// than min(k, count) rows (a part of the graph it cannot reach), the exact answer
/// is used. Returns the hits and whether the graph answered.
fn filtered_knn(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
    q: &[f32],
    // k, and the pools a walk and an exact pass return (k unless quantized)
    (k, kw, kx): (usize, usize, usize),
    ef: usize,
    small_table: bool,
) -> Result<(Vec<Hit>, bool)> {
    if let Some(r) = in_index_knn(t, filters, q, (k, kw, kx), ef, small_table)? {
        return Ok(r);
    }
    t.life_stats(|s| s.filters_sql += 1);
    let set = filter_set(t, filters)?;
    let st = t.loaded_index()?;
    let count = set.slots.len();
    let n = st.hnsw.len().max(1);
    let exact = small_table
        || count <= k
        || (count as f64).powi(2) <= exact_factor() * ef as f64 * n as f64;
    if !exact {
        let h = &st.hnsw;
        let found = if two_hop(count, n) {
            h.search_in_set(q, kw, ef, &mut st.scratch, &set.bits)
        } else {
            let admit = |slot: u32| set.has(slot);
            h.search(q, kw, ef, &mut st.scratch, Some(&admit))
        };
        if found.len() >= k.min(count) {
            return Ok((to_hits(found), true));
        }
    }
    let pq = st.hnsw.prepare_query(q);
    Ok((to_hits(st.hnsw.exact_over(&pq, &set.slots, kx)), false))
}

/// The terms compiled for evaluation on the index's metadata cells, with the
/// columns they read loaded into the current version; None when a term must go
/// through SQL (a collation that is not built in, a database not in UTF-8, an
/// index without room for the columns).
fn compile_terms(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
) -> Result<Option<Vec<Term>>> {
    if t.utf8.is_none() {
        let mut st = t.take_stmt("PRAGMA encoding")?;
        let r = st
            .step()
            .map(|row| row && st.column_bytes(0).eq_ignore_ascii_case(b"UTF-8"));
        t.put_stmt("PRAGMA encoding".into(), st);
        t.utf8 = Some(r?);
    }
    if t.utf8 != Some(true) {
        return Ok(None);
    }
    let mut terms = Vec::with_capacity(filters.len());
    for (f, b) in filters {
        let declared = f.column.and_then(|i| t.cfg.meta[i].collate.clone());
        if Coll::of(f.collation.as_deref().or(declared.as_deref())).is_none() {
            return Ok(None);
        }
        let aff = Affinity::of(f.column.map(|i| t.cfg.meta[i].ty));
        let raw: &[OwnedValue] = match b {
            Bound::One(v) => std::slice::from_ref(v),
            Bound::List(l) => l,
            Bound::Nothing => &[],
        };
        let mut values = Vec::with_capacity(raw.len());
        for v in raw {
            values.push(match cast_for(v, aff) {
                None => whole_cell(v),
                Some(c) => whole_cell(&sqlite_cast(t, v, c)?),
            });
        }
        let Some(term) = Term::new(f, declared.as_deref(), values) else {
            return Ok(None);
        };
        terms.push(term);
    }
    for term in &terms {
        if let Some(i) = term.column {
            if !load_column(t, i)? {
                return Ok(None);
            }
        }
    }
    Ok(Some(terms))
}

/// SQLite's own conversion of a bound value (`CAST(?1 AS TEXT | NUMERIC)`).
fn sqlite_cast(t: &mut VecTable, v: &OwnedValue, c: Cast) -> Result<OwnedValue> {
    let sql = match c {
        Cast::Text => "SELECT CAST(?1 AS TEXT)",
        Cast::Numeric => "SELECT CAST(?1 AS NUMERIC)",
    };
    let mut st = t.take_stmt(sql)?;
    let r = (|| {
        v.bind(&mut st, 1)?;
        st.step()?;
        Ok(OwnedValue::from_value(st.column_value(0)))
    })();
    t.put_stmt(sql.into(), st);
    r
}

/// Loads metadata column `i` into the current version, if it is not there:
/// every row's stored value (long texts and blobs as their prefix), read through
/// the column's index on the rows table when it has one (a covering scan).
/// Returns false if the version has no room for it.
fn load_column(t: &mut VecTable, i: usize) -> Result<bool> {
    let h = Arc::clone(&t.loaded_index()?.hnsw);
    if h.attr(i).is_some() {
        return Ok(true);
    }
    let t0 = std::time::Instant::now();
    let sql = format!(
        "SELECT rowid, {} FROM {}",
        quote_ident(&t.cfg.meta[i].name),
        t.names.q("rows")
    );
    let mut st = t.db.prepare(&sql, false)?;
    let mut col = Column::new();
    let mut n = 0usize;
    while st.step()? {
        let rowid = st.column_i64(0);
        let Some(slot) = h.slot_of(rowid) else {
            return Err(no_node(&t.names.table, rowid));
        };
        col.set(
            slot,
            stored_cell(&OwnedValue::from_value(st.column_value(1))),
        );
        n += 1;
        if n.is_multiple_of(4096) && t.db.is_interrupted() {
            return Err(super::ffi::interrupted());
        }
    }
    drop(st);
    if !h.install_attr(i, col) {
        return Ok(false);
    }
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    t.life_stats(|s| {
        s.column_loads += 1;
        s.last_column_load_ms = ms;
    });
    Ok(true)
}

fn no_node(table: &str, rowid: i64) -> Error {
    Error::corrupt(format!(
        "veclite: table {table}: row {rowid} has no graph node; run SELECT veclite_rebuild('{table}')"
    ))
}

/// Tests rows against compiled terms on a version's cells; a row whose long
/// value's prefix leaves a term open is read back from the rows table.
struct Matcher<'a> {
    h: &'a Hnsw,
    terms: &'a [Term],
    cols: Vec<Option<&'a Column>>,
    /// Some term is on the rowid.
    rowid_terms: bool,
    store: RefCell<&'a mut VecTable>,
    err: RefCell<Option<Error>>,
    reads: std::cell::Cell<u64>,
    /// Per slot, for a walk (which reaches a node from many neighbours): 0 not
    /// tested yet, 1 no, 2 yes.
    memo: RefCell<Vec<u8>>,
}

/// What an even sample of the slots says about the terms.
struct Estimate {
    /// Matching rows (all terms).
    all: f64,
    /// Matching rows per term, counting all the terms on the same column (a
    /// range's two ends) together.
    each: Vec<f64>,
}

impl<'a> Matcher<'a> {
    fn new(h: &'a Hnsw, terms: &'a [Term], t: &'a mut VecTable) -> Matcher<'a> {
        let cols = (0..t.cfg.meta.len()).map(|i| h.attr(i)).collect();
        Matcher {
            h,
            terms,
            cols,
            rowid_terms: terms.iter().any(|t| t.column.is_none()),
            store: RefCell::new(t),
            err: RefCell::new(None),
            reads: std::cell::Cell::new(0),
            memo: RefCell::new(Vec::new()),
        }
    }

    /// [`test`](Self::test), remembered per slot for the rest of the query.
    #[inline]
    fn admits(&self, slot: u32) -> bool {
        let i = slot as usize;
        {
            let memo = self.memo.borrow();
            if let Some(&m) = memo.get(i) {
                if m != 0 {
                    return m == 2;
                }
            }
        }
        let r = self.test(slot);
        let mut memo = self.memo.borrow_mut();
        if memo.len() < self.h.n_slots() {
            memo.resize(self.h.n_slots(), 0);
        }
        if let Some(m) = memo.get_mut(i) {
            *m = if r { 2 } else { 1 };
        }
        r
    }

    #[inline]
    fn cell(&self, i: usize, slot: u32) -> &CellValue {
        static NULL: CellValue = CellValue::Null;
        self.cols[i].map_or(&NULL, |c| c.get(slot))
    }

    #[inline]
    fn test(&self, slot: u32) -> bool {
        let rowid = if self.rowid_terms {
            self.h.rowid_of_slot(slot)
        } else {
            0
        };
        match eval_all(self.terms, rowid, |i| self.cell(i, slot)) {
            Tri::Yes => true,
            Tri::No => false,
            Tri::Maybe => self.settle(self.h.rowid_of_slot(slot)),
        }
    }

    /// Evaluates the row again with its stored values, whole.
    fn settle(&self, rowid: i64) -> bool {
        if self.err.borrow().is_some() {
            return false;
        }
        self.reads.set(self.reads.get() + 1);
        let got = {
            let mut t = self.store.borrow_mut();
            t.split().1.row_meta(rowid)
        };
        match got {
            Ok(Some(vals)) => {
                let cells: Vec<CellValue> = vals.iter().map(whole_cell).collect();
                eval_all(self.terms, rowid, |i| &cells[i]) == Tri::Yes
            }
            Ok(None) => false,
            Err(e) => {
                *self.err.borrow_mut() = Some(e);
                false
            }
        }
    }

    /// Matching counts estimated from an even sample of the slots, for all terms
    /// together and for each alone (a term a prefix leaves open counts as a match).
    fn estimate(&self) -> Estimate {
        let n = self.h.n_slots();
        let step = (n / SAMPLE).max(1);
        let (mut seen, mut all) = (0usize, 0usize);
        let mut each = vec![0usize; self.terms.len()];
        let mut pass: Vec<bool> = Vec::with_capacity(self.terms.len());
        let mut s = step / 2;
        // (a sample is a cache miss or two: the per-slot live check is skipped
        // when every slot is live)
        let all_live = self.h.all_searchable();
        while s < n {
            let slot = s as u32;
            if all_live || self.h.searchable(slot) {
                seen += 1;
                let rowid = CellValue::Int(self.h.rowid_of_slot(slot));
                pass.clear();
                pass.extend(self.terms.iter().map(|t| {
                    let c = match t.column {
                        None => &rowid,
                        Some(i) => self.cell(i, slot),
                    };
                    t.eval(c) != Tri::No
                }));
                for (j, t) in self.terms.iter().enumerate() {
                    let same_column = self
                        .terms
                        .iter()
                        .zip(&pass)
                        .filter(|(u, _)| u.column == t.column)
                        .all(|(_, &p)| p);
                    each[j] += usize::from(same_column);
                }
                all += usize::from(pass.iter().all(|&p| p));
            }
            s += step;
        }
        let live = self.h.len() as f64;
        let scale = if seen == 0 { 0.0 } else { live / seen as f64 };
        Estimate {
            all: all as f64 * scale,
            each: each.into_iter().map(|c| c as f64 * scale).collect(),
        }
    }

    /// Every matching slot, in order (see [`scan_bits`](Self::scan_bits)).
    fn scan(&self, lead: usize) -> Vec<u32> {
        super::filterset::slots_of(&self.scan_bits(lead))
    }

    /// The matching slots as a bitset (bit `s % 64` of word `s / 64`): a pass over
    /// the cells of the term `lead` (the most selective) with every term on its
    /// column; then, if many slots are left, a pass over each other column with its
    /// terms, the results ANDed, else the other terms tested on the slots left.
    /// Only rows a search may return are kept.
    fn scan_bits(&self, lead: usize) -> Vec<u64> {
        let n = self.h.n_slots();
        let lead_col = self.terms[lead].column;
        let Some(col) = lead_col.and_then(|i| self.cols[i]) else {
            let mut bits = vec![0u64; n.div_ceil(64)];
            for slot in 0..n as u32 {
                if self.h.searchable(slot) && self.test(slot) {
                    bits[slot as usize / 64] |= 1 << (slot % 64);
                }
            }
            return bits;
        };
        // the terms grouped by column, the lead's first
        let mut groups: Vec<(Option<usize>, Vec<&Term>)> = vec![(lead_col, Vec::new())];
        for t in self.terms {
            match groups.iter_mut().find(|(c, _)| *c == t.column) {
                Some((_, g)) => g.push(t),
                None => groups.push((t.column, vec![t])),
            }
        }
        let alone = groups.len() == 1;
        let mut bits = self.column_pass(col, &groups[0].1, alone, n);
        // (a lead column without integer tests was tested with every term already)
        let mut test_left = !alone && groups[0].1.iter().all(|t| t.has_ints());
        if test_left {
            let left: usize = bits.iter().map(|w| w.count_ones() as usize).sum();
            if left * DENSE_AFTER_LEAD > n {
                test_left = false;
                for (c, g) in &groups[1..] {
                    match c.and_then(|i| self.cols[i]) {
                        Some(col) => {
                            let more = self.column_pass(col, g, false, n);
                            bits.iter_mut().zip(&more).for_each(|(w, m)| *w &= m);
                        }
                        // (a rowid term)
                        None => test_left = true,
                    }
                }
            }
        }
        if !test_left && self.h.all_searchable() {
            return bits;
        }
        for (w, word) in bits.iter_mut().enumerate() {
            let mut b = *word;
            while b != 0 {
                let i = b.trailing_zeros();
                b &= b - 1;
                let slot = (w * 64) as u32 + i;
                if !self.h.searchable(slot) || (test_left && !self.test(slot)) {
                    *word &= !(1u64 << i);
                }
            }
        }
        bits
    }

    /// One pass over `col`'s cells with `same`, the terms on that column, as a
    /// bitset: every slot where they hold, and where they cannot say (or, unless
    /// `alone`, where they hold on a cell that is not an INTEGER) the whole row
    /// tested instead. So it holds every matching slot and only slots where the
    /// column's terms hold. INTEGER cells under integer tests skip the general
    /// comparison, one integer range (`day BETWEEN ? AND ?`, `tenant = ?`) without
    /// a branch; 64 cells are gathered into a register word.
    fn column_pass(&self, col: &Column, same: &[&Term], alone: bool, n: usize) -> Vec<u64> {
        let mut bits = vec![0u64; n.div_ceil(64)];
        let slow = |s: u32, c: &CellValue| -> bool {
            let mut r = Tri::Yes;
            for t in same {
                match t.eval(c) {
                    Tri::No => return false,
                    Tri::Maybe => r = Tri::Maybe,
                    Tri::Yes => {}
                }
            }
            (r == Tri::Yes && alone) || self.test(s)
        };
        let ints = same.iter().all(|t| t.has_ints());
        let s = match int_range(same) {
            Some((lo, hi)) => {
                // x in lo..=hi as one unsigned comparison. An empty range (`n > 5
                // AND n < 6`) admits no INTEGER, but a REAL (5.5) may hold.
                let any = lo <= hi;
                let width = hi.wrapping_sub(lo) as u64;
                word_pass(col, n, &mut bits, |c, s| match c {
                    CellValue::Int(x) => any && (x.wrapping_sub(lo) as u64) <= width,
                    other => slow(s, other),
                })
            }
            // one short IN list of integers (`cat IN (?, ?, ?)`): compared with
            // every value, without a branch (the list padded with its first value
            // to 4, 8 or 16, so the comparisons unroll)
            None if ints
                && same.len() == 1
                && same[0]
                    .int_list()
                    .is_some_and(|v| !v.is_empty() && v.len() <= 16) =>
            {
                let vs = same[0].int_list().unwrap_or_default();
                match vs.len() {
                    1..=4 => in_list_pass::<4>(col, n, &mut bits, vs, &slow),
                    5..=8 => in_list_pass::<8>(col, n, &mut bits, vs, &slow),
                    _ => in_list_pass::<16>(col, n, &mut bits, vs, &slow),
                }
            }
            // every term an integer test (a longer IN list, `!=`, several terms)
            None if ints => word_pass(col, n, &mut bits, |c, s| match c {
                CellValue::Int(x) => same.iter().all(|t| t.int_holds(*x)),
                other => slow(s, other),
            }),
            None => word_pass(col, n, &mut bits, |c, s| slow(s, c)),
        };
        // Slots past the column's end hold NULL.
        if s < n && same.iter().all(|t| t.eval(&CellValue::Null) != Tri::No) {
            for slot in s..n {
                if self.test(slot as u32) {
                    bits[slot / 64] |= 1 << (slot % 64);
                }
            }
        }
        bits
    }

    fn finish(self, t_stats: impl FnOnce(&mut VecTable, u64)) -> Result<()> {
        let reads = self.reads.get();
        let t = self.store.into_inner();
        t_stats(t, reads);
        match self.err.into_inner() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// `hit` on every cell of `col` up to slot `n`, into `bits` 64 cells to a word (a
/// chunk of the column holds a whole number of words). Returns the cells seen.
#[inline(always)]
fn word_pass(
    col: &Column,
    n: usize,
    bits: &mut [u64],
    hit: impl Fn(&CellValue, u32) -> bool,
) -> usize {
    let mut s = 0usize;
    for sl in col.slices() {
        let sl = &sl[..sl.len().min(n - s)];
        debug_assert!(s.is_multiple_of(64));
        for (w, cells) in sl.chunks(64).enumerate() {
            let base = s + w * 64;
            let mut word = 0u64;
            for (i, c) in cells.iter().enumerate() {
                word |= u64::from(hit(c, (base + i) as u32)) << i;
            }
            bits[base / 64] = word;
        }
        s += sl.len();
        if s == n {
            break;
        }
    }
    s
}

/// [`word_pass`] for `x IN vs` on INTEGER cells (`slow` for the others): the list
/// padded with its first value to `L` (1 <= vs.len() <= L), so the comparisons
/// unroll without a branch.
fn in_list_pass<const L: usize>(
    col: &Column,
    n: usize,
    bits: &mut [u64],
    vs: &[i64],
    slow: &impl Fn(u32, &CellValue) -> bool,
) -> usize {
    let mut a = [vs[0]; L];
    a[..vs.len()].copy_from_slice(vs);
    word_pass(col, n, bits, |c, s| match c {
        CellValue::Int(x) => a.iter().fold(false, |h, &v| h | (*x == v)),
        other => slow(s, other),
    })
}

/// Slots sampled to estimate a filter's selectivity.
const SAMPLE: usize = 1024;
/// Below this share of the rows, a term the rows table indexes (or a rowid term)
/// gives the candidates through SQLite's index instead of a pass over the cells.
const INDEX_BELOW: f64 = 0.01;

/// Whether term `f` can be answered by the rows table's index on its column.
fn index_friendly(t: &VecTable, f: &super::plan::Filter) -> bool {
    use super::plan::Op;
    let indexed = f
        .column
        .is_none_or(|i| super::shadow::indexed(t.cfg.meta[i].ty));
    indexed
        && f.collation.is_none()
        && matches!(
            f.op,
            Op::Eq | Op::In | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Is | Op::IsNull
        )
}

/// The rowids matching the terms `of` (all on one column), through SQL.
fn term_rowids(t: &mut VecTable, of: &[(&super::plan::Filter, &Bound)]) -> Result<Vec<i64>> {
    let one: Vec<(&super::plan::Filter, Bound)> =
        of.iter().map(|(f, b)| (*f, clone_bound(b))).collect();
    sql_rowids(t, &one)
}

/// The rowids of the rows table matching `filters`, through SQL (one statement per
/// combination of IN-list chunks).
fn sql_rowids(t: &mut VecTable, filters: &[(&super::plan::Filter, Bound)]) -> Result<Vec<i64>> {
    let combos = Combos::new(filters);
    let mut rowids = Vec::new();
    if combos.is_empty() {
        return Ok(rowids);
    }
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
    Ok(rowids)
}

fn clone_bound(b: &Bound) -> Bound {
    match b {
        Bound::One(v) => Bound::One(v.clone()),
        Bound::List(l) => Bound::List(l.clone()),
        Bound::Nothing => Bound::Nothing,
    }
}

/// How the matching rows of an in-index filter are found.
enum Source {
    /// A pass over the cells of term `lead`.
    Scan(usize),
    /// The rows table's index for term `lead`, then the cells for the others.
    Index(usize),
}

/// The most selective term (by its column's estimate).
fn lead_term(e: &Estimate) -> usize {
    (0..e.each.len())
        .min_by(|&a, &b| e.each[a].total_cmp(&e.each[b]))
        .unwrap_or(0)
}

/// The cheaper way to list the matching rows, from the per-term estimates.
fn source(
    t: &VecTable,
    filters: &[(&super::plan::Filter, Bound)],
    e: &Estimate,
    n: usize,
) -> Source {
    let lead = lead_term(e);
    let by_index = (0..e.each.len())
        .filter(|&j| index_friendly(t, filters[j].0))
        .min_by(|&a, &b| e.each[a].total_cmp(&e.each[b]));
    match by_index {
        Some(j) if e.each[j] <= INDEX_BELOW * n as f64 => Source::Index(j),
        _ => Source::Scan(lead),
    }
}

/// The matching slots, sorted, from `src`.
fn matching_slots(
    m: &Matcher<'_>,
    filters: &[(&super::plan::Filter, Bound)],
    src: Source,
) -> Result<Vec<u32>> {
    match src {
        Source::Scan(lead) => Ok(m.scan(lead)),
        Source::Index(j) => {
            let col = filters[j].0.column;
            let of: Vec<(&super::plan::Filter, &Bound)> = {
                let t = m.store.borrow();
                filters
                    .iter()
                    .filter(|(f, _)| f.column == col && index_friendly(&t, f))
                    .map(|(f, b)| (*f, b))
                    .collect()
            };
            let rowids = {
                let mut t = m.store.borrow_mut();
                term_rowids(&mut t, &of)?
            };
            let table = m.store.borrow().names.table.clone();
            let mut slots = Vec::with_capacity(rowids.len());
            for r in rowids {
                let Some(s) = m.h.slot_of(r) else {
                    return Err(no_node(&table, r));
                };
                if m.test(s) {
                    slots.push(s);
                }
            }
            slots.sort_unstable();
            slots.dedup();
            Ok(slots)
        }
    }
}

/// KNN among the rows matching `filters`, evaluated on the index's metadata
/// cells (None: the terms need the SQL path). The plan is chosen per query from
/// the matching count estimated on an even sample of the slots: exact distances
/// over the matching rows when few (count² <= exact_factor · ef · N), listed
/// through the rows table's index when one term is rare and indexed, else by a
/// pass over the cells; otherwise the walk that admits only matching rows (two
/// hops below TWO_HOP_BELOW), with the exact pass if the walk finds fewer than k.
fn in_index_knn(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
    q: &[f32],
    // k, and the pools a walk and an exact pass return (k unless quantized)
    (k, kw, kx): (usize, usize, usize),
    ef: usize,
    small_table: bool,
) -> Result<Option<(Vec<Hit>, bool)>> {
    let Some(terms) = compile_terms(t, filters)? else {
        return Ok(None);
    };
    let st = t.loaded_index()?;
    let h = Arc::clone(&st.hnsw);
    let mut scratch = std::mem::take(&mut st.scratch);
    let n = h.len().max(1);
    let m = Matcher::new(&h, &terms, t);
    let e = m.estimate();
    let est = e.all;
    let exact = small_table || est.powi(2) <= exact_factor() * ef as f64 * n as f64;
    let mut plan = if exact { 0 } else { 1 };
    let mut found = Vec::new();
    let mut graph = false;
    let mut result = Ok(());
    if !exact {
        let hop = two_hop(est as usize, n);
        if hop {
            // A two-hop walk tests the neighbours of every node it crosses (about
            // m0² per expansion): one pass over the cells into a bitset first costs
            // less than testing them one by one.
            plan = 2;
            let bits = m.scan_bits(lead_term(&e));
            found = h.search_in_set(q, kw, ef, &mut scratch, &bits);
        } else {
            let admit = |slot: u32| m.admits(slot);
            found = h.search(q, kw, ef, &mut scratch, Some(&admit));
        }
        graph = found.len() >= k;
    }
    if !graph {
        let src = {
            let t = m.store.borrow();
            source(&t, filters, &e, n)
        };
        match matching_slots(&m, filters, src) {
            Ok(slots) => {
                let pq = h.prepare_query(q);
                found = h.exact_over(&pq, &slots, kx);
            }
            Err(err) => result = Err(err),
        }
    }
    m.finish(|t, reads| {
        t.life_stats(|s| {
            s.filters_in_index += 1;
            s.filter_row_reads += reads;
            match plan {
                0 => s.plan_exact += 1,
                1 => s.plan_walk += 1,
                _ => s.plan_two_hop += 1,
            }
        })
    })?;
    result?;
    if let Some(st) = t.life.state.as_mut() {
        st.scratch = scratch;
    }
    Ok(Some((to_hits(found), graph)))
}

/// The matching slots of `filters` for a stream, from the index's metadata cells
/// (None: the terms need the SQL path).
fn in_index_set(
    t: &mut VecTable,
    filters: &[(&super::plan::Filter, Bound)],
) -> Result<Option<std::rc::Rc<FilterSet>>> {
    let Some(terms) = compile_terms(t, filters)? else {
        return Ok(None);
    };
    let h = Arc::clone(&t.loaded_index()?.hnsw);
    let n = h.n_slots();
    let m = Matcher::new(&h, &terms, t);
    let e = m.estimate();
    let src = {
        let t = m.store.borrow();
        source(&t, filters, &e, h.len().max(1))
    };
    // (a pass over the cells gives the bitset, the rows table's index the slots)
    let set = match src {
        Source::Scan(lead) => Ok(FilterSet::from_bits(m.scan_bits(lead))),
        src => matching_slots(&m, filters, src).map(|s| FilterSet::from_slots(n, s)),
    };
    m.finish(|t, reads| {
        t.life_stats(|s| {
            s.filters_in_index += 1;
            s.filter_row_reads += reads;
        })
    })?;
    Ok(Some(std::rc::Rc::new(set?)))
}
