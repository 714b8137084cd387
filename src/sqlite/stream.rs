//! A KNN query without k: rows in non-decreasing distance, produced as SQLite asks
//! for them, so SQLite applies every WHERE term the table did not take (OR across
//! columns, functions of columns, LIKE, a JOIN) and LIMIT stops the stream.
//!
//! The stream pins the index version current at xFilter (an `Arc`, so writes of
//! this or any connection between two xNext calls work on other versions) and
//! never holds a reference into the table. It walks the graph in batches of
//! growing breadth: each batch is a fresh walk with `ef` results, of which the
//! nearest quarter (the part a walk of that breadth gets right: sending half left
//! four times as many rows to skip, 420 against 104 over 240 queries of
//! tests/knn_any_where.rs, and recall@10 0.975-0.998 against 0.988-1.000) goes
//! out, minus rows already sent; the next batch doubles `ef`. Once a batch would cost about as
//! much as reading every vector, one exact ordered pass sends the rest. A row a
//! later batch finds closer than a row already sent is skipped (ordering is
//! SQLite's contract once the table says it consumes ORDER BY distance) and
//! counted in `veclite_info` (`stream_skips`).
//!
//! Over a quantized index the walk's distances are those of the int8 codes: each
//! batch (and the exact pass) is re-ranked with exact distances by the caller's
//! `rescore` (see rerank.rs) before the nearest quarter goes out, so the rows go
//! out in non-decreasing *exact* distance and the skip rule compares exact
//! distances.

use std::collections::{HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use super::filterset::FilterSet;
use crate::error::Result;
use crate::hnsw::{Hnsw, Scratch};
use crate::topk::Hit;

/// Gives candidates `(distance, rowid)` their exact distances, drops rows that
/// no longer exist and sorts them nearest first (called only for a quantized
/// index).
pub type Rescore<'a> = &'a mut dyn FnMut(&mut Vec<(f32, i64)>) -> Result<()>;

/// First batch breadth (at least the table's ef_search).
const FIRST_EF: usize = 64;
/// An exact pass replaces the walk once `ef * EXACT_AFTER >= rows`.
const EXACT_AFTER: usize = 8;

pub struct Stream {
    hnsw: Arc<Hnsw>,
    q: Vec<f32>,
    /// The rows matching the pushed-down terms (None: every row).
    filter: Option<Rc<FilterSet>>,
    two_hop: bool,
    ef: usize,
    sent: HashSet<i64>,
    last: f32,
    buf: VecDeque<Hit>,
    /// The exact pass ran: nothing is left after `buf`.
    finished: bool,
    /// The next refill is the exact pass (a small table).
    exact_next: bool,
    pub skips: u64,
    scratch: Scratch,
}

impl Stream {
    pub fn new(
        hnsw: Arc<Hnsw>,
        q: Vec<f32>,
        filter: Option<Rc<FilterSet>>,
        two_hop: bool,
        ef_search: usize,
        exact_from_start: bool,
    ) -> Stream {
        Stream {
            hnsw,
            q,
            filter,
            two_hop,
            ef: ef_search.max(FIRST_EF),
            sent: HashSet::new(),
            last: f32::NEG_INFINITY,
            buf: VecDeque::new(),
            finished: false,
            exact_next: exact_from_start,
            skips: 0,
            scratch: Scratch::default(),
        }
    }

    /// The next row, or None at the end. `rescore` re-ranks candidates of a
    /// quantized index.
    pub fn peek(&mut self, rescore: Rescore<'_>) -> Result<Option<Hit>> {
        while self.buf.is_empty() && !self.finished {
            self.refill(rescore)?;
        }
        Ok(self.buf.front().copied())
    }

    pub fn advance(&mut self) {
        self.buf.pop_front();
    }

    fn candidates(&self) -> usize {
        match &self.filter {
            Some(f) => f.slots.len(),
            None => self.hnsw.len(),
        }
    }

    fn send(&mut self, found: &[(f32, i64)]) {
        for &(d, rowid) in found {
            if self.sent.contains(&rowid) {
                continue;
            }
            if d < self.last {
                self.skips += 1;
                // Never sent: keep the stream in order.
                self.sent.insert(rowid);
                continue;
            }
            self.sent.insert(rowid);
            self.last = d;
            self.buf.push_back(Hit { dist: d, rowid });
        }
    }

    fn refill(&mut self, rescore: Rescore<'_>) -> Result<()> {
        let n = self.candidates();
        if self.exact_next || self.ef.saturating_mul(EXACT_AFTER) >= n || self.hnsw.is_empty() {
            return self.exact_pass(rescore);
        }
        let ef = self.ef;
        let found = match self.filter.clone() {
            Some(f) if self.two_hop => {
                self.hnsw
                    .search_in_set(&self.q, ef, ef, &mut self.scratch, &f.bits)
            }
            filter => {
                let admit = filter.as_ref().map(|f| move |slot: u32| f.has(slot));
                let admit_ref: Option<&dyn Fn(u32) -> bool> =
                    admit.as_ref().map(|a| a as &dyn Fn(u32) -> bool);
                self.hnsw
                    .search(&self.q, ef, ef, &mut self.scratch, admit_ref)
            }
        };
        let mut found = found;
        // (a quantized index's walk ranks by code distance)
        if self.hnsw.quantized() {
            rescore(&mut found)?;
        }
        // A walk that found fewer than it could hold reached all it can: the rest
        // (out of the walk's reach) comes from the exact pass.
        if found.len() < ef {
            self.send(&found);
            self.ef = n.max(1);
        } else {
            self.send(&found[..found.len() / 4]);
            self.ef = ef.saturating_mul(2);
        }
        Ok(())
    }

    /// Every remaining candidate in order (under int8: every candidate's exact
    /// distance, read from the rows table).
    fn exact_pass(&mut self, rescore: Rescore<'_>) -> Result<()> {
        let mut all = match &self.filter {
            Some(f) => {
                let pq = self.hnsw.prepare_query(&self.q);
                self.hnsw.exact_over(&pq, &f.slots, f.slots.len())
            }
            None => self.hnsw.exact_search(&self.q, self.hnsw.len(), None),
        };
        if self.hnsw.quantized() {
            all.retain(|(_, r)| !self.sent.contains(r));
            rescore(&mut all)?;
        }
        self.send(&all);
        self.finished = true;
        Ok(())
    }
}
