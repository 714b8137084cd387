//! Search: the layer walk (algorithm 2) generic over an admission rule (plain,
//! filtered, two-hop filtered, construction), the layered descent from the entry
//! point, k-NN search, and the exact (brute-force) paths; the candidate type and
//! the reusable search state.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::chunks::{Chunked, Elem};
use super::nodes::{Query, Slot, Vectors};
use super::quant::Scorer;
use super::{Hnsw, FREE};

/// Standard deviations of the int8 rounding noise that
/// [`Hnsw::prune_candidates`] allows on each side.
pub const RERANK_Z: f32 = 8.0;
use crate::distance::prefetch;

/// A search candidate: internal distance and slot. Compared by distance alone (the
/// cheap order the heaps need; equal distances compare equal); sorts that must
/// settle ties use [`Cand::nearest_first`].
#[derive(Clone, Copy, Debug)]
pub struct Cand {
    pub d: f32,
    pub id: u32,
}
impl Cand {
    /// The full order: distance, then slot.
    #[inline]
    pub fn nearest_first(&self, o: &Self) -> Ordering {
        self.d.total_cmp(&o.d).then(self.id.cmp(&o.id))
    }
}
impl PartialEq for Cand {
    fn eq(&self, o: &Self) -> bool {
        self.d.total_cmp(&o.d).is_eq()
    }
}
impl Eq for Cand {}
impl Ord for Cand {
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        self.d.total_cmp(&o.d)
    }
}
impl PartialOrd for Cand {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Reusable search state: a visited set of generation tags and the two heaps. A tag
/// is one byte (a quarter of the cache a u32 would take at 100k nodes), so the set
/// is cleared once every 255 walks.
#[derive(Default)]
pub struct Scratch {
    visited: Vec<u8>,
    tag: u8,
    cand: BinaryHeap<Reverse<Cand>>,
    res: BinaryHeap<Cand>,
    /// The walk's buffer of nodes to score next (kept to reuse its allocation).
    next: Vec<u32>,
}

impl Scratch {
    fn reset(&mut self, n: usize) {
        if self.visited.len() < n {
            self.visited.resize(n, 0);
        }
        self.tag = self.tag.wrapping_add(1);
        if self.tag == 0 {
            self.visited.fill(0);
            self.tag = 1;
        }
        self.cand.clear();
        self.res.clear();
    }
    /// Adds a result, keeping the best `ef`; returns the distance a new result must
    /// beat (infinite while fewer than `ef` are held).
    #[inline]
    fn keep(&mut self, it: Cand, ef: usize) -> f32 {
        self.res.push(it);
        if self.res.len() > ef {
            self.res.pop();
        }
        if self.res.len() >= ef {
            self.res.peek().map(|r| r.d).unwrap_or(f32::INFINITY)
        } else {
            f32::INFINITY
        }
    }

    /// The results, nearest first.
    fn drain_sorted(&mut self) -> Vec<Cand> {
        let mut out: Vec<Cand> = self.res.drain().collect();
        out.sort_by(Cand::nearest_first);
        out
    }

    #[inline]
    fn seen(&self, id: u32) -> bool {
        self.visited[id as usize] == self.tag
    }

    #[inline]
    fn visit(&mut self, id: u32) -> bool {
        let v = &mut self.visited[id as usize];
        if *v == self.tag {
            false
        } else {
            *v = self.tag;
            true
        }
    }
}

/// Which nodes a walk may return, and how it treats the others. Implemented by
/// zero-sized or closure-holding types so that each walk is monomorphised: the
/// checks below compile to straight-line code in the loop.
pub(super) trait Admission {
    /// Nodes that are not admitted are crossed instead of walked through: they are
    /// not scored, their own neighbours (the admitted ones) take their place, two
    /// hops from the node being expanded (as in ACORN). A crossing walk's entry
    /// points are held whatever their number and set no first bound.
    const CROSS: bool = false;
    /// A construction walk (insert, descent): when nothing is admitted it returns
    /// its entry points, so the caller always has somewhere to go on from.
    const CONSTRUCTION: bool = false;
    /// May `id` enter the result set?
    fn admits(&self, h: &Hnsw, id: u32) -> bool;
}

/// Construction: every node, tombstones included (they still carry the graph
/// until a purge unlinks them).
pub(super) struct Build;
impl Admission for Build {
    const CONSTRUCTION: bool = true;
    #[inline]
    fn admits(&self, _: &Hnsw, _: u32) -> bool {
        true
    }
}

/// Every live node (tombstones are walked through, never returned).
pub(super) struct Live;
impl Admission for Live {
    #[inline]
    fn admits(&self, h: &Hnsw, id: u32) -> bool {
        !h.is_tombstone(id)
    }
}

/// Live nodes the predicate accepts; the others are scored and walked through.
pub(super) struct Filter<F>(pub(super) F);
impl<F: Fn(u32) -> bool> Admission for Filter<F> {
    #[inline]
    fn admits(&self, h: &Hnsw, id: u32) -> bool {
        !h.is_tombstone(id) && (self.0)(id)
    }
}

/// Live nodes whose bit is set (bit `s % 64` of word `s / 64`); the others are
/// crossed (two hops), so the walk goes over regions of non-matching nodes without
/// scoring them.
pub(super) struct TwoHopSet<'a>(&'a [u64]);
impl Admission for TwoHopSet<'_> {
    const CROSS: bool = true;
    #[inline]
    fn admits(&self, h: &Hnsw, id: u32) -> bool {
        let i = id as usize;
        !h.is_tombstone(id) && self.0.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }
}

impl Hnsw {
    /// Is `id` a tombstone? Outside a write transaction there are none (a purge
    /// unlinks them all before commit), so the walks' admission rules skip the
    /// lookup of the flag then: `deleted` is only ever set with `n_tombstones`
    /// counting it (which `purge` relies on too).
    #[inline]
    fn is_tombstone(&self, id: u32) -> bool {
        self.n_tombstones != 0 && self.nodes.deleted[id as usize]
    }

    /// Algorithm 2, the one best-first walk of a layer: from `eps`, expanding the
    /// nearest candidate while it can still improve the `ef` best admitted nodes
    /// held; `rule` decides which nodes are admitted and how the others are
    /// treated (see [`Admission`]). Returns the admitted nodes found, nearest first.
    /// `q` is prepared (by this index).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn walk<A: Admission>(
        &self,
        q: &Query,
        eps: &[Cand],
        ef: usize,
        level: usize,
        sc: &mut Scratch,
        rule: &A,
    ) -> Vec<Cand> {
        let metric = self.p.metric;
        match (&self.nodes.vectors, q) {
            (Vectors::F32(vs), Query::F32(q)) => {
                let kernel = metric.kernel(self.kern);
                self.walk_in(
                    vs,
                    |v| metric.score_of(kernel(q, v)),
                    eps,
                    ef,
                    level,
                    sc,
                    rule,
                )
            }
            (Vectors::I8(vs), Query::I8(q)) => {
                let s = Scorer::new(q, metric, self.kern);
                self.walk_in(vs, |v| s.score(v), eps, ef, level, sc, rule)
            }
            _ => unreachable!("a query prepared for another kind of index"),
        }
    }

    /// [`walk`](Self::walk) over one kind of stored vector, `score` giving the
    /// distance from the query to a stored row.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn walk_in<A: Admission, T: Elem, F: Fn(&[T]) -> f32>(
        &self,
        vectors: &Chunked<T>,
        score: F,
        eps: &[Cand],
        ef: usize,
        level: usize,
        sc: &mut Scratch,
        rule: &A,
    ) -> Vec<Cand> {
        sc.reset(self.nodes.len());
        for &e in eps {
            if sc.visit(e.id) {
                sc.cand.push(Reverse(e));
                if rule.admits(self, e.id) {
                    sc.res.push(e);
                    if !A::CROSS && sc.res.len() > ef {
                        sc.res.pop();
                    }
                }
            }
        }
        let mut bound = if !A::CROSS && sc.res.len() >= ef {
            sc.res.peek().map(|r| r.d).unwrap_or(f32::INFINITY)
        } else {
            f32::INFINITY
        };
        // the unseen nodes to score from the candidate being expanded
        let mut next = std::mem::take(&mut sc.next);
        while let Some(Reverse(Cand { d: cd, id: cid })) = sc.cand.pop() {
            if cd > bound {
                break;
            }
            next.clear();
            let links = self.links(cid, level);
            if A::CROSS {
                // The admitted neighbours first, then the others crossed.
                // (the lists of the nodes to cross are fetched meanwhile, so their
                // cache misses overlap instead of following one another)
                for &n in links {
                    if rule.admits(self, n) {
                        if sc.visit(n) {
                            next.push(n);
                        }
                    } else if level == 0 && !sc.seen(n) {
                        prefetch(self.nodes.links0_row(Slot(n)));
                    }
                }
                for &n in links {
                    if rule.admits(self, n) || !sc.visit(n) {
                        continue;
                    }
                    for &m in self.links(n, level) {
                        if rule.admits(self, m) && sc.visit(m) {
                            next.push(m);
                        }
                    }
                }
            } else {
                for &n in links {
                    if sc.visit(n) {
                        next.push(n);
                    }
                }
            }
            // each vector is looked up once: as the one to prefetch, then as the one
            // to score
            let mut v = next.first().map_or(&[][..], |&n| vectors.get(n as usize));
            for (i, &n) in next.iter().enumerate() {
                let cur = v;
                if let Some(&after) = next.get(i + 1) {
                    v = vectors.get(after as usize);
                    prefetch(v);
                }
                let d = score(cur);
                if d < bound {
                    sc.cand.push(Reverse(Cand { d, id: n }));
                    // (a crossing walk gathered admitted nodes only)
                    if A::CROSS || rule.admits(self, n) {
                        bound = sc.keep(Cand { d, id: n }, ef);
                    }
                }
            }
        }
        sc.next = next;
        let mut out = sc.drain_sorted();
        if out.is_empty() && A::CONSTRUCTION {
            out = eps.to_vec();
        }
        out
    }

    /// Layered descent from the entry point to `level`, then a search of width `ef`
    /// there; tombstones are traversed but not returned. `q` is prepared.
    pub(super) fn search_from_entry(
        &self,
        q: &Query,
        ef: usize,
        level: usize,
        sc: &mut Scratch,
    ) -> Vec<Cand> {
        let Some(ep) = self.descend(q, level, sc) else {
            return Vec::new();
        };
        self.walk(q, &ep, ef, level, sc, &Live)
    }

    /// The layered descent (the upper phase of algorithms 1 and 5): from the entry
    /// point down through every level above `level`, keeping the nearest node of
    /// each; returns the entry points for a search at `level`, or `None` when the
    /// index is empty. `q` is prepared.
    pub(super) fn descend(&self, q: &Query, level: usize, sc: &mut Scratch) -> Option<Vec<Cand>> {
        let entry = self.entry?;
        let mut ep = vec![Cand {
            d: self.dist(q.as_ref(), entry),
            id: entry.0,
        }];
        for lc in ((level + 1)..=self.max_level as usize).rev() {
            ep = self.walk(q, &ep, 1, lc, sc, &Build);
        }
        Some(ep)
    }

    /// The k nearest live rows to `q` (raw query; normalised here when needed), as
    /// (internal distance, rowid), nearest first, ties by rowid. `admit(slot)` filters
    /// rows: the walk goes through every node but only admitted ones enter the
    /// result, and it goes on until `ef` admitted nodes are held or the reachable
    /// graph is exhausted.
    pub fn search(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        sc: &mut Scratch,
        admit: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<(f32, i64)> {
        let q = self.prepare_query(q);
        let Some(ep) = self.descend(&q, 0, sc) else {
            return Vec::new();
        };
        let ef = ef.max(k);
        let found = match admit {
            None => self.walk(&q, &ep, ef, 0, sc, &Live),
            Some(f) => self.walk(&q, &ep, ef, 0, sc, &Filter(f)),
        };
        self.ranked(found, k)
    }

    /// [`search`](Self::search) admitting the slots set in `bits` (bit `s % 64` of
    /// word `s / 64`) by the two-hop walk: only admitted nodes are scored, and
    /// non-admitted ones are crossed by their neighbours (for selective filters).
    pub fn search_in_set(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        sc: &mut Scratch,
        bits: &[u64],
    ) -> Vec<(f32, i64)> {
        let q = self.prepare_query(q);
        let Some(ep) = self.descend(&q, 0, sc) else {
            return Vec::new();
        };
        let ef = ef.max(k);
        let found = self.walk(&q, &ep, ef, 0, sc, &TwoHopSet(bits));
        self.ranked(found, k)
    }

    /// Walk results as (internal distance, rowid), nearest first (ties by rowid),
    /// the first `k`.
    fn ranked(&self, found: Vec<Cand>, k: usize) -> Vec<(f32, i64)> {
        let mut out: Vec<(f32, i64)> = found
            .into_iter()
            .map(|c| (c.d, self.nodes.rowids[c.id as usize]))
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out.truncate(k);
        out
    }

    /// Exact k nearest live rows (brute force over the index's vectors), admitted by
    /// `admit(slot)`: the fallback when a walk could not reach enough rows.
    pub fn exact_search(
        &self,
        q: &[f32],
        k: usize,
        admit: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<(f32, i64)> {
        let q = self.prepare_query(q);
        let mut slots: Vec<u32> = Vec::new();
        let mut s = 0u32;
        let (levels, deleted) = (self.nodes.levels.slices(), self.nodes.deleted.slices());
        for (lv, del) in levels.zip(deleted) {
            for (&l, &d) in lv.iter().zip(del) {
                if l != FREE && !d && admit.is_none_or(|f| f(s)) {
                    slots.push(s);
                }
                s += 1;
            }
        }
        self.exact_over(&q, &slots, k)
    }

    /// Exact k nearest among `slots` (sorted ascending, so the vectors are read in
    /// memory order), prefetching a few rows ahead. `q` is prepared. Under int8
    /// the distances are those of the codes (exact for the decoded vectors).
    pub fn exact_over(&self, q: &Query, slots: &[u32], k: usize) -> Vec<(f32, i64)> {
        let metric = self.p.metric;
        match (&self.nodes.vectors, q) {
            (Vectors::F32(vs), Query::F32(q)) => {
                let kernel = metric.kernel(self.kern);
                self.exact_in(vs, |v| metric.score_of(kernel(q, v)), slots, k)
            }
            (Vectors::I8(vs), Query::I8(q)) => {
                let s = Scorer::new(q, metric, self.kern);
                self.exact_in(vs, |v| s.score(v), slots, k)
            }
            _ => unreachable!("a query prepared for another kind of index"),
        }
    }

    #[inline(always)]
    fn exact_in<T: Elem, F: Fn(&[T]) -> f32>(
        &self,
        vectors: &Chunked<T>,
        score: F,
        slots: &[u32],
        k: usize,
    ) -> Vec<(f32, i64)> {
        const AHEAD: usize = 4;
        let mut top = crate::topk::TopK::new(k);
        // the vectors of slots i .. i + AHEAD, each looked up once (to prefetch it,
        // then to score it)
        let mut ahead: [&[T]; AHEAD] = [&[]; AHEAD];
        for (a, &s) in ahead.iter_mut().zip(slots) {
            *a = vectors.get(s as usize);
        }
        for (i, &s) in slots.iter().enumerate() {
            let cur = ahead[i % AHEAD];
            if let Some(&next) = slots.get(i + AHEAD) {
                let v = vectors.get(next as usize);
                prefetch(v);
                ahead[i % AHEAD] = v;
            }
            let d = score(cur);
            if d <= top.bound() {
                top.push(crate::topk::Hit {
                    dist: d,
                    rowid: self.nodes.rowids[s as usize],
                });
            }
        }
        top.into_sorted()
            .into_iter()
            .map(|h| (h.dist, h.rowid))
            .collect()
    }

    /// For a quantized index, keeps of `cands` (its results for the raw query
    /// `q`: code distances and rowids, nearest first) those that may be among the
    /// `k` nearest by exact distance: the first `k`, and each later one whose code
    /// distance, less its error bound, does not exceed the largest code distance
    /// plus error bound among the first `k` (error bounds of [`RERANK_Z`] standard
    /// deviations of the codes' rounding noise). Every candidate of an f32 index
    /// is kept. Callers re-rank what is left with exact distances.
    pub fn prune_candidates(&self, q: &[f32], cands: &mut Vec<(f32, i64)>, k: usize) {
        if cands.len() <= k || !self.quantized() {
            return;
        }
        let Query::I8(pq) = self.prepare_query(q) else {
            return;
        };
        let metric = self.p.metric;
        let bound = |rowid: i64| -> f32 {
            match (self.map.get(rowid), &self.nodes.vectors) {
                (Some(s), Vectors::I8(vs)) => {
                    super::quant::error_bound(&pq, vs.get(s.idx()), metric, RERANK_Z)
                }
                _ => f32::INFINITY,
            }
        };
        let top = cands[..k]
            .iter()
            .map(|&(d, r)| d + bound(r))
            .fold(f32::NEG_INFINITY, f32::max);
        let mut seen = 0usize;
        cands.retain(|&(d, r)| {
            seen += 1;
            seen <= k || d - bound(r) <= top
        });
    }

    /// Internal distance between a raw query and a stored row (for exact paths that
    /// read vectors from the index).
    pub fn distance_to(&self, prepared_q: &Query, slot: u32) -> f32 {
        self.dist(prepared_q.as_ref(), Slot(slot))
    }

    /// Iterates live rows: (slot, rowid).
    pub fn live(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.map.iter().map(|(r, s)| (s.0, r))
    }
}
