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

use super::config::quote_ident;
use super::ffi::{OwnedValue, Value, ValueType};
use super::filterset::FilterSet;
use super::rerank;
use super::vtab::VecTable;
use crate::error::{Error, Result};
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
const TWO_HOP_BELOW: f64 = 0.3;

/// Whether a filtered walk over `count` matching of `n` rows takes two hops.
fn two_hop(count: usize, n: usize) -> bool {
    (count as f64) < TWO_HOP_BELOW * n as f64
}
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
        let set = filter_set(t, filters)?;
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
/// The cost model compares the rows an exact scan touches (`count`) with the nodes a
/// filtered walk visits (about `16·ef` for an unfiltered walk, divided by the
/// selectivity `count/N`): exact when `count² <= 16·ef·N`. If the walk returns fewer
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
    let set = filter_set(t, filters)?;
    let st = t.loaded_index()?;
    let count = set.slots.len();
    let n = st.hnsw.len().max(1);
    let exact = small_table
        || count <= k
        || (count as f64).powi(2) <= exact_factor() * ef as f64 * n as f64;
    if !exact {
        let admit = |slot: u32| set.has(slot);
        let two_hop = two_hop(count, n);
        let found = st
            .hnsw
            .search_with(q, kw, ef, &mut st.scratch, Some(&admit), two_hop);
        if found.len() >= k.min(count) {
            return Ok((to_hits(found), true));
        }
    }
    let pq = st.hnsw.prepare_query(q);
    Ok((to_hits(st.hnsw.exact_over(&pq, &set.slots, kx)), false))
}
