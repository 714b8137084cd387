//! xFilter/xNext/xColumn: binds a plan's arguments, asks the planner for KNN
//! results or streams a (filtered) scan of the rows table, then iterates rows and
//! answers columns. How a KNN query is answered is decided in `planner.rs`.

use std::collections::BTreeSet;

use super::config::quote_ident;
use super::ffi::{self, Ctx, OwnedValue, Stmt, Value, ValueType};
use super::plan::{Arg, Op, Plan};
use super::planner::{self, int_param, Bound, Combos};
use super::store::Sql;
use super::vtab::VecTable;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::topk::Hit;
use crate::vector;

pub use super::planner::{MAX_EF, MAX_K};

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
    /// A KNN query without k: rows in distance order as SQLite asks for them.
    Stream {
        stream: Box<super::stream::Stream>,
        current: Option<Hit>,
        knn: KnnInfo,
        row: Option<Vec<OwnedValue>>,
        /// The table's data epoch at xFilter: once this connection writes, a row
        /// the pinned version still holds may be gone, and is skipped.
        epoch: u64,
        /// Exact distances for a quantized index (see rerank.rs).
        exact: Option<Box<super::rerank::Exact>>,
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

impl VecCursor {
    pub fn new() -> Self {
        VecCursor { mode: Mode::Done }
    }

    /// Gives cached statements back to the table.
    pub fn close(&mut self, t: &mut VecTable) {
        match std::mem::replace(&mut self.mode, Mode::Done) {
            Mode::Scan { sql, stmt, .. } => t.put_stmt(sql, stmt),
            Mode::Stream { stream, .. } => t.count_stream(stream.skips),
            _ => {}
        }
    }

    /// Moves a stream to its next row that still exists.
    fn settle(&mut self, t: &mut VecTable) -> Result<()> {
        if let Mode::Stream {
            stream,
            current,
            row,
            epoch,
            exact,
            ..
        } = &mut self.mode
        {
            *row = None;
            loop {
                *current = match exact {
                    Some(e) => stream.peek(&mut |c| e.rescore(t, c))?,
                    None => stream.peek(&mut |_| Ok(()))?,
                };
                match *current {
                    Some(h) if *epoch != t.life.data_epoch && !t.rowid_exists(h.rowid)? => {
                        stream.advance()
                    }
                    _ => break,
                }
            }
        }
        Ok(())
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
                    // No k: stream rows in distance order until SQLite stops asking.
                    let (q, blob) = query.expect("knn plan has a query");
                    let ef = ef.unwrap_or(t.cfg.ef_search as i64);
                    let exact = t
                        .index()?
                        .hnsw
                        .quantized()
                        .then(|| Box::new(super::rerank::Exact::new(t.cfg.metric, &q)));
                    let stream = Box::new(planner::stream(t, &filters, q, ef as usize)?);
                    self.mode = Mode::Stream {
                        stream,
                        current: None,
                        knn: KnnInfo {
                            query: blob,
                            k: 0,
                            ef,
                            metric: t.cfg.metric,
                        },
                        row: None,
                        epoch: t.life.data_epoch,
                        exact,
                    };
                    return self.settle(t);
                }
            };
            let (q, blob) = query.expect("knn plan has a query");
            let ef = ef.unwrap_or(t.cfg.ef_search as i64).max(k);
            let (hits, use_graph) = planner::knn(t, &filters, &q, k as usize, ef as usize)?;
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

    pub fn next(&mut self, t: &mut VecTable) -> Result<()> {
        match &mut self.mode {
            Mode::Done => {}
            Mode::Stream { stream, .. } => {
                stream.advance();
                return self.settle(t);
            }
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
            Mode::Stream { current, .. } => current.is_none(),
            Mode::List { hits, pos, .. } => *pos >= hits.len(),
        }
    }

    pub fn rowid(&self) -> i64 {
        match &self.mode {
            Mode::Done => 0,
            Mode::Scan { stmt, .. } => stmt.column_i64(0),
            Mode::Stream { current, .. } => current.map_or(0, |h| h.rowid),
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
            Mode::List { .. } | Mode::Stream { .. } => {
                let (hit, knn, row, bounded) = match &mut self.mode {
                    Mode::List {
                        hits,
                        pos,
                        knn,
                        row,
                    } => (hits.get(*pos).copied(), knn.as_ref(), row, true),
                    Mode::Stream {
                        current, knn, row, ..
                    } => (*current, Some(&*knn), row, false),
                    _ => unreachable!(),
                };
                let Some(hit) = hit else {
                    ctx.null();
                    return Ok(());
                };
                if i == lay.distance() {
                    match knn {
                        Some(kn) => ctx.f64(kn.metric.user_distance(hit.dist) as f64),
                        None => ctx.null(),
                    }
                } else if i == lay.query() {
                    match knn {
                        Some(kn) => ctx.blob(&kn.query),
                        None => ctx.null(),
                    }
                } else if i == lay.k() {
                    match knn {
                        Some(kn) if bounded => ctx.i64(kn.k),
                        _ => ctx.null(),
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
    let n = 1 + t.cfg.meta.len();
    let mut st = t.take(Sql::RowFetch)?;
    let r = (|| {
        st.bind_i64(1, rowid)?;
        let mut out = Vec::with_capacity(n);
        if st.step()? {
            for i in 0..n {
                out.push(OwnedValue::from_value(st.column_value(i)));
            }
        }
        Ok(out)
    })();
    t.put(Sql::RowFetch, st);
    r
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
