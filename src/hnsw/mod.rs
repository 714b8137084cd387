//! HNSW index (Malkov & Yashunin), pure Rust: no SQLite in here.
//!
//! * Layout: vectors contiguous in one `Vec<f32>` indexed by slot; level-0 links
//!   fixed-width (`[count, id * 2M]` per slot); upper levels per slot
//!   (`[count, id * M]` per level).
//! * Insert with the neighbour-selection heuristic (algorithm 4), layered search
//!   (algorithms 2 and 5), levels from hash(seed, rowid), so the same rows give the
//!   same graph and a rolled-back insert leaves no trace.
//! * Delete marks a tombstone (still traversed, never returned); [`Hnsw::purge`]
//!   unlinks tombstones and repairs their neighbours in one pass (the SQLite layer
//!   calls it once per transaction, before writing), and frees their slots for reuse
//!   after commit. No tombstone outlives its transaction.
//! * A journal of node before-images per savepoint level: [`Hnsw::rollback_to`] and
//!   [`Hnsw::rollback`] restore the index exactly; `release`/`commit` drop images.
//!   Each frame also saves the owner's [`tag`](Hnsw::tag) (an opaque number naming
//!   the persisted state the index matched when the frame opened), and a restore
//!   brings it back, so the owner can tell whether its storage was restored to the
//!   same state.
//! * Dirty tracking: the slots changed since the owner last wrote them out
//!   ([`Hnsw::dirty_slots`], cleared by [`Hnsw::clear_dirty`]). The journal is
//!   independent of it: writing dirty nodes out does not forget how to undo them.
//! * A filtered search admits only rows a predicate accepts while walking through
//!   the others.

pub mod builder;
pub mod codec;

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

use crate::distance::{self, prefetch, Kernels, Metric};

/// Level value of a free slot.
pub const FREE: u8 = u8::MAX;
/// Highest level a node can get.
pub const MAX_LEVEL: u8 = 15;

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub dims: usize,
    pub metric: Metric,
    pub m: usize,
    pub ef_construction: usize,
    pub seed: u64,
}

/// A search candidate: internal distance and slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cand {
    pub d: f32,
    pub id: u32,
}
impl Eq for Cand {}
impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.d.total_cmp(&o.d).then(self.id.cmp(&o.id))
    }
}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// An insert computed against the graph but not yet applied.
pub struct InsertPlan {
    rowid: i64,
    level: u8,
    q: Vec<f32>,
    neighbors: Vec<(usize, Vec<u32>)>,
}

/// A heap entry ordered by distance only (cheaper than `Cand`'s full order; ties
/// are settled by the final sort).
#[derive(Clone, Copy, Debug)]
struct Item(f32, u32);
impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0).is_eq()
    }
}
impl Eq for Item {}
impl Ord for Item {
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl PartialOrd for Item {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Reusable search state: a visited set of generation tags and the two heaps.
#[derive(Default)]
pub struct Scratch {
    visited: Vec<u32>,
    tag: u32,
    cand: BinaryHeap<Reverse<Item>>,
    res: BinaryHeap<Item>,
}

impl Scratch {
    fn reset(&mut self, n: usize) {
        if self.visited.len() < n {
            self.visited.resize(n, 0);
        }
        self.tag = self.tag.wrapping_add(1);
        if self.tag == 0 {
            self.visited.iter_mut().for_each(|v| *v = 0);
            self.tag = 1;
        }
        self.cand.clear();
        self.res.clear();
    }
    /// Adds a result, keeping the best `ef`; returns the distance a new result must
    /// beat (infinite while fewer than `ef` are held).
    #[inline]
    fn keep(&mut self, it: Item, ef: usize) -> f32 {
        self.res.push(it);
        if self.res.len() > ef {
            self.res.pop();
        }
        if self.res.len() >= ef {
            self.res.peek().map(|r| r.0).unwrap_or(f32::INFINITY)
        } else {
            f32::INFINITY
        }
    }

    /// The results, nearest first.
    fn drain_sorted(&mut self) -> Vec<Cand> {
        let mut out: Vec<Cand> = self.res.drain().map(|Item(d, id)| Cand { d, id }).collect();
        out.sort();
        out
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

#[derive(Clone, Debug)]
struct Image {
    slot: u32,
    level: u8,
    deleted: bool,
    rowid: i64,
    links0: Vec<u32>,
    upper: Vec<u32>,
}

#[derive(Clone, Debug)]
struct Frame {
    level: i32,
    touched: HashSet<u32>,
    images: Vec<Image>,
    entry: Option<u32>,
    max_level: u8,
    n_slots: usize,
    n_tombstones: usize,
    tag: i64,
}

pub struct Hnsw {
    p: Params,
    m0: usize,
    ml: f64,
    kern: &'static Kernels,
    vectors: Vec<f32>,
    rowids: Vec<i64>,
    levels: Vec<u8>,
    deleted: Vec<bool>,
    links0: Vec<u32>,
    upper: Vec<Vec<u32>>,
    map: HashMap<i64, u32>,
    free: BTreeSet<u32>,
    /// Slots freed by purge in the current transaction: reusable after commit.
    pending_free: Vec<u32>,
    entry: Option<u32>,
    max_level: u8,
    n_tombstones: usize,
    journal: Vec<Frame>,
    dirty: HashSet<u32>,
    meta_dirty: bool,
    /// Off while building a fresh index (nothing to undo, nothing dirty).
    journaling: bool,
    /// The owner's name for the persisted state this index matches (saved in every
    /// journal frame and restored with it).
    tag: i64,
    /// In-links: for each slot, the slots whose lists hold it (one entry per source
    /// and level), so a purge finds the nodes that link to a tombstone without
    /// scanning the graph. Kept up to date by inserts and purges; the bulk paths
    /// (journal restore, load, catch-up, build) drop it and the next purge that
    /// needs it rebuilds it in one pass.
    inlinks: Option<Vec<Vec<u32>>>,
    /// Live nodes the last purge examined (a test hook: a purge's work must not
    /// grow with the graph).
    purge_examined: usize,
}

/// Removes one occurrence of `x` from `v` (order does not matter).
fn remove_one(v: &mut Vec<u32>, x: u32) {
    if let Some(i) = v.iter().position(|&y| y == x) {
        v.swap_remove(i);
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Hnsw {
    pub fn new(p: Params) -> Self {
        assert!(p.m >= 2 && p.dims >= 1);
        let ml = 1.0 / (p.m as f64).ln();
        Hnsw {
            m0: 2 * p.m,
            ml,
            kern: distance::kernels(),
            p,
            vectors: Vec::new(),
            rowids: Vec::new(),
            levels: Vec::new(),
            deleted: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            map: HashMap::new(),
            free: BTreeSet::new(),
            pending_free: Vec::new(),
            entry: None,
            max_level: 0,
            n_tombstones: 0,
            journal: Vec::new(),
            dirty: HashSet::new(),
            meta_dirty: false,
            journaling: true,
            tag: 0,
            inlinks: None,
            purge_examined: 0,
        }
    }

    /// Live nodes the last [`purge`](Self::purge) examined.
    #[doc(hidden)]
    pub fn purge_examined(&self) -> usize {
        self.purge_examined
    }

    /// The owner's tag (see the module comment).
    pub fn tag(&self) -> i64 {
        self.tag
    }
    pub fn set_tag(&mut self, tag: i64) {
        self.tag = tag;
    }

    /// Reserves room for `n` slots in total (exactly, no doubling).
    pub fn reserve(&mut self, n: usize) {
        let extra = n.saturating_sub(self.levels.len());
        self.levels.reserve_exact(extra);
        self.deleted.reserve_exact(extra);
        self.rowids.reserve_exact(extra);
        self.upper.reserve_exact(extra);
        self.links0.reserve_exact(extra * (self.m0 + 1));
        self.vectors.reserve_exact(extra * self.p.dims);
        self.map.reserve(extra);
    }

    /// Turns the journal and dirty tracking off (for building a fresh index) or on.
    pub fn set_journaling(&mut self, on: bool) {
        self.journaling = on;
    }

    pub fn params(&self) -> &Params {
        &self.p
    }
    /// Live (searchable) rows.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn n_slots(&self) -> usize {
        self.levels.len()
    }
    pub fn entry(&self) -> Option<u32> {
        self.entry
    }
    pub fn max_level(&self) -> u8 {
        self.max_level
    }
    pub fn contains(&self, rowid: i64) -> bool {
        self.map.contains_key(&rowid)
    }
    pub fn slot_of(&self, rowid: i64) -> Option<u32> {
        self.map.get(&rowid).copied()
    }
    pub fn level_of_slot(&self, slot: u32) -> u8 {
        self.levels[slot as usize]
    }
    pub fn rowid_of_slot(&self, slot: u32) -> i64 {
        self.rowids[slot as usize]
    }
    pub fn is_live(&self, slot: u32) -> bool {
        (slot as usize) < self.levels.len() && self.levels[slot as usize] != FREE
    }

    /// Bytes held by the index (vectors, links, maps), for veclite_info.
    pub fn memory_bytes(&self) -> usize {
        self.vectors.capacity() * 4
            + self.links0.capacity() * 4
            + self
                .upper
                .iter()
                .map(|u| u.capacity() * 4 + 24)
                .sum::<usize>()
            + self.rowids.capacity() * 8
            + self.levels.capacity() * 2
            + self.map.capacity() * 16
            + self.inlinks.as_ref().map_or(0, |il| {
                il.iter().map(|v| v.capacity() * 4 + 24).sum::<usize>()
            })
    }

    /// The level a row gets: a pure function of (seed, rowid).
    pub fn level_for(&self, rowid: i64) -> u8 {
        let h = splitmix64(self.p.seed ^ (rowid as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let u = ((h >> 11) as f64 + 1.0) / (1u64 << 53) as f64; // (0, 1]
        ((-u.ln() * self.ml).floor() as u64).min(MAX_LEVEL as u64) as u8
    }

    #[inline]
    pub fn vector(&self, slot: u32) -> &[f32] {
        let d = self.p.dims;
        &self.vectors[slot as usize * d..(slot as usize + 1) * d]
    }

    /// The query as the index compares it (normalised under cosine).
    pub fn prepare_query(&self, q: &[f32]) -> Vec<f32> {
        let mut v = q.to_vec();
        if self.p.metric.normalizes() {
            crate::vector::normalize(&mut v);
        }
        v
    }

    /// Internal distance: squared L2, 1 - dot of unit vectors, or -dot.
    #[inline]
    fn dist(&self, q: &[f32], slot: u32) -> f32 {
        let m = self.p.metric;
        m.score_of((m.kernel(self.kern))(q, self.vector(slot)))
    }

    fn cap(&self, level: usize) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.p.m
        }
    }

    pub fn links(&self, slot: u32, level: usize) -> &[u32] {
        if level == 0 {
            let b = slot as usize * (self.m0 + 1);
            let n = self.links0[b] as usize;
            &self.links0[b + 1..b + 1 + n]
        } else {
            let w = self.p.m + 1;
            let u = &self.upper[slot as usize];
            let b = (level - 1) * w;
            if b >= u.len() {
                return &[];
            }
            let n = u[b] as usize;
            &u[b + 1..b + 1 + n]
        }
    }

    // ---- journal ------------------------------------------------------------------

    fn frame(&mut self) -> &mut Frame {
        // (also used while not journaling: frames are then never filled)
        if self.journal.is_empty() {
            self.push_frame(-1);
        }
        self.journal.last_mut().expect("just pushed")
    }

    fn push_frame(&mut self, level: i32) {
        self.journal.push(Frame {
            level,
            touched: HashSet::new(),
            images: Vec::new(),
            entry: self.entry,
            max_level: self.max_level,
            n_slots: self.levels.len(),
            n_tombstones: self.n_tombstones,
            tag: self.tag,
        });
    }

    /// Records the before-image of `slot` once per savepoint frame.
    fn touch(&mut self, slot: u32) {
        if !self.journaling {
            return;
        }
        self.dirty.insert(slot);
        let s = slot as usize;
        {
            let f = self.frame();
            if s >= f.n_slots || !f.touched.insert(slot) {
                return;
            }
        }
        let b = s * (self.m0 + 1);
        let img = Image {
            slot,
            level: self.levels[s],
            deleted: self.deleted[s],
            rowid: self.rowids[s],
            links0: self.links0[b..b + self.m0 + 1].to_vec(),
            upper: self.upper[s].clone(),
        };
        self.journal
            .last_mut()
            .expect("frame() made one")
            .images
            .push(img);
    }

    fn touch_meta(&mut self) {
        if !self.journaling {
            return;
        }
        self.frame();
        self.meta_dirty = true;
    }

    /// Opens savepoint level `level` (SQLite's xSavepoint).
    pub fn savepoint(&mut self, level: i32) {
        self.release(level);
        if self.journal.is_empty() {
            self.push_frame(-1);
        }
        self.push_frame(level);
    }

    /// Merges savepoint levels >= `level` into the one below (xRelease).
    pub fn release(&mut self, level: i32) {
        while self.journal.len() > 1 && self.journal.last().map(|f| f.level >= level) == Some(true)
        {
            let top = self.journal.pop().expect("len > 1");
            let below = self.journal.last_mut().expect("len >= 1");
            for img in top.images {
                if (img.slot as usize) < below.n_slots && below.touched.insert(img.slot) {
                    below.images.push(img);
                }
            }
        }
    }

    fn restore_frame(&mut self, f: Frame) {
        self.inlinks = None;
        for img in f.images.into_iter().rev() {
            let s = img.slot as usize;
            if s >= self.levels.len() {
                continue;
            }
            self.levels[s] = img.level;
            self.deleted[s] = img.deleted;
            self.rowids[s] = img.rowid;
            let b = s * (self.m0 + 1);
            self.links0[b..b + self.m0 + 1].copy_from_slice(&img.links0);
            self.upper[s] = img.upper;
        }
        self.levels.truncate(f.n_slots);
        self.deleted.truncate(f.n_slots);
        self.rowids.truncate(f.n_slots);
        self.upper.truncate(f.n_slots);
        self.links0.truncate(f.n_slots * (self.m0 + 1));
        self.vectors.truncate(f.n_slots * self.p.dims);
        self.entry = f.entry;
        self.max_level = f.max_level;
        self.n_tombstones = f.n_tombstones;
        self.tag = f.tag;
    }

    fn rebuild_maps(&mut self) {
        self.map.clear();
        self.free.clear();
        // Slots freed by a purge earlier in this transaction stay unusable until
        // commit (a rollback may bring them back with their vectors); those the
        // rollback brought back are live again.
        let pending: HashSet<u32> = self.pending_free.iter().copied().collect();
        self.pending_free
            .retain(|&s| (s as usize) < self.levels.len() && self.levels[s as usize] == FREE);
        for s in 0..self.levels.len() {
            if self.levels[s] == FREE {
                if !pending.contains(&(s as u32)) {
                    self.free.insert(s as u32);
                }
            } else if !self.deleted[s] {
                self.map.insert(self.rowids[s], s as u32);
            }
        }
    }

    /// Undoes everything since savepoint `level` was opened; it stays open.
    ///
    /// A table that joins a transaction late (its first write comes after some
    /// SAVEPOINTs) is told only about the innermost level; the outer ones were
    /// opened before it changed anything, so rolling back to one of them restores
    /// the state at the start of the transaction.
    pub fn rollback_to(&mut self, level: i32) {
        let mut any = false;
        let mut found = false;
        while let Some(f) = self.journal.last() {
            if f.level < level {
                break;
            }
            let f = self.journal.pop().expect("checked");
            found = f.level == level;
            self.restore_frame(f);
            any = true;
            if found {
                break;
            }
        }
        if !found && self.journal.iter().all(|f| f.level < 0) {
            while let Some(f) = self.journal.pop() {
                self.restore_frame(f);
                any = true;
            }
        }
        if self.journal.is_empty() {
            self.push_frame(-1);
        }
        self.push_frame(level);
        if any {
            self.rebuild_maps();
        }
    }

    /// Undoes the whole transaction.
    pub fn rollback(&mut self) {
        let any = !self.journal.is_empty();
        while let Some(f) = self.journal.pop() {
            self.restore_frame(f);
        }
        if any {
            self.rebuild_maps();
        }
        self.dirty.clear();
        self.meta_dirty = false;
    }

    /// Forgets the journal; slots freed in the transaction become reusable.
    pub fn commit(&mut self) {
        self.journal.clear();
        self.dirty.clear();
        self.meta_dirty = false;
        for s in self.pending_free.drain(..) {
            self.free.insert(s);
        }
    }

    /// Slots changed since the last [`clear_dirty`](Self::clear_dirty), commit or
    /// rollback (some may be free now), in slot order.
    pub fn dirty_slots(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.dirty.iter().copied().collect();
        v.sort_unstable();
        v
    }

    /// The owner has written every dirty slot out. The journal is kept: the
    /// changes can still be undone.
    pub fn clear_dirty(&mut self) {
        self.dirty.clear();
        self.meta_dirty = false;
    }

    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty() || self.meta_dirty
    }

    // ---- structure changes --------------------------------------------------------

    fn set_links(&mut self, slot: u32, level: usize, ids: &[u32]) {
        self.touch(slot);
        let cap = self.cap(level);
        let n = ids.len().min(cap);
        if self.inlinks.is_some() {
            let old: Vec<u32> = self.links(slot, level).to_vec();
            if let Some(il) = self.inlinks.as_mut() {
                for &o in old.iter().filter(|o| !ids[..n].contains(o)) {
                    remove_one(&mut il[o as usize], slot);
                }
                for &x in ids[..n].iter().filter(|x| !old.contains(x)) {
                    il[x as usize].push(slot);
                }
            }
        }
        if level == 0 {
            let b = slot as usize * (self.m0 + 1);
            self.links0[b] = n as u32;
            self.links0[b + 1..b + 1 + n].copy_from_slice(&ids[..n]);
        } else {
            let w = self.p.m + 1;
            let u = &mut self.upper[slot as usize];
            let b = (level - 1) * w;
            u[b] = n as u32;
            u[b + 1..b + 1 + n].copy_from_slice(&ids[..n]);
        }
    }

    fn alloc(&mut self, rowid: i64, level: u8, v: &[f32]) -> u32 {
        let w = self.p.m + 1;
        let slot = match self.free.pop_first() {
            Some(s) => {
                self.touch(s);
                let i = s as usize;
                let d = self.p.dims;
                self.vectors[i * d..(i + 1) * d].copy_from_slice(v);
                s
            }
            None => {
                let s = self.levels.len() as u32;
                if self.levels.len() == self.levels.capacity() {
                    // Grow by an eighth (not by doubling) so a large index carries
                    // at most ~12% of spare capacity.
                    self.reserve(self.levels.len() + (self.levels.len() / 8).max(1024));
                }
                self.levels.push(FREE);
                self.deleted.push(false);
                self.rowids.push(0);
                self.links0.resize(self.links0.len() + self.m0 + 1, 0);
                self.upper.push(Vec::new());
                self.vectors.extend_from_slice(v);
                if let Some(il) = self.inlinks.as_mut() {
                    il.push(Vec::new());
                }
                self.touch(s);
                s
            }
        };
        let i = slot as usize;
        self.levels[i] = level;
        self.deleted[i] = false;
        self.rowids[i] = rowid;
        let b = i * (self.m0 + 1);
        self.links0[b] = 0;
        self.upper[i] = vec![0; level as usize * w];
        self.map.insert(rowid, slot);
        slot
    }

    /// Inserts (or replaces) the vector of `rowid`. `v` has `dims` finite elements.
    pub fn insert(&mut self, rowid: i64, v: &[f32], scratch: &mut Scratch) -> u32 {
        if self.journaling {
            self.frame();
        }
        if self.map.contains_key(&rowid) {
            self.delete(rowid);
        }
        let plan = self.plan_insert(rowid, v, scratch);
        self.apply_insert(plan)
    }

    /// The read-only half of an insert: the new node's level and its neighbours at
    /// each level, found against the current graph. Several can be computed in
    /// parallel (see `builder`).
    pub fn plan_insert(&self, rowid: i64, v: &[f32], scratch: &mut Scratch) -> InsertPlan {
        let q = self.prepare_query(v);
        let level = self.level_for(rowid);
        let mut neighbors = Vec::new();
        if let Some(entry) = self.entry {
            let mut ep = vec![Cand {
                d: self.dist(&q, entry),
                id: entry,
            }];
            let top = self.max_level;
            for lc in ((level as usize + 1)..=(top as usize)).rev() {
                ep = self.search_layer(&q, &ep, 1, lc, scratch, &|_| true, true);
            }
            for lc in (0..=(level.min(top) as usize)).rev() {
                let w = self.search_layer(
                    &q,
                    &ep,
                    self.p.ef_construction,
                    lc,
                    scratch,
                    &|_| true,
                    true,
                );
                neighbors.push((lc, self.select(&w, self.p.m)));
                ep = w;
            }
        }
        InsertPlan {
            rowid,
            level,
            q,
            neighbors,
        }
    }

    /// The writing half of an insert.
    pub fn apply_insert(&mut self, plan: InsertPlan) -> u32 {
        let slot = self.alloc(plan.rowid, plan.level, &plan.q);
        let had_entry = self.entry.is_some();
        for (lc, nb) in &plan.neighbors {
            // Neighbours freed since the plan was made (not possible within one
            // build, but cheap to guard) are skipped.
            let nb: Vec<u32> = nb
                .iter()
                .copied()
                .filter(|&n| self.is_live(n) && n != slot)
                .collect();
            self.set_links(slot, *lc, &nb);
            for &n in &nb {
                self.add_link(n, slot, *lc);
            }
        }
        if !had_entry || plan.level > self.max_level {
            self.touch_meta();
            self.entry = Some(slot);
            self.max_level = plan.level;
        }
        slot
    }

    /// Adds `new` to `n`'s list at `level`, shrinking with the heuristic when full.
    fn add_link(&mut self, n: u32, new: u32, level: usize) {
        let cur = self.links(n, level);
        if cur.contains(&new) {
            return;
        }
        let cap = self.cap(level);
        let mut ids: Vec<u32> = cur.to_vec();
        ids.push(new);
        if ids.len() > cap {
            let base = self.vector(n).to_vec();
            let mut cs: Vec<Cand> = ids
                .iter()
                .map(|&x| Cand {
                    d: self.dist(&base, x),
                    id: x,
                })
                .collect();
            cs.sort();
            ids = self.select(&cs, cap);
        }
        self.set_links(n, level, &ids);
    }

    /// Algorithm 4: keeps a candidate only if it is closer to the base than to every
    /// neighbour already kept. `cands` is sorted nearest first.
    fn select(&self, cands: &[Cand], m: usize) -> Vec<u32> {
        let mut sel: Vec<u32> = Vec::with_capacity(m);
        for c in cands {
            if sel.len() >= m {
                break;
            }
            let v = self.vector(c.id);
            if sel.iter().all(|&s| self.dist(v, s) >= c.d) {
                sel.push(c.id);
            }
        }
        sel
    }

    /// Marks `rowid` deleted: it is still traversed but never returned, until
    /// [`purge`](Self::purge) unlinks it. Returns false if it is not in the index.
    pub fn delete(&mut self, rowid: i64) -> bool {
        if !self.map.contains_key(&rowid) {
            return false;
        }
        self.frame();
        let slot = self.map.remove(&rowid).expect("checked");
        self.touch(slot);
        self.deleted[slot as usize] = true;
        self.n_tombstones += 1;
        self.touch_meta();
        true
    }

    pub fn tombstones(&self) -> usize {
        self.n_tombstones
    }

    /// Unlinks every tombstone and repairs the nodes that pointed to it (their new
    /// neighbours are chosen with the heuristic among their remaining links and the
    /// tombstone's live neighbours), then frees the tombstones' slots.
    pub fn purge(&mut self, sc: &mut Scratch) {
        if self.n_tombstones == 0 {
            return;
        }
        self.frame();
        let n = self.levels.len();
        if self.inlinks.is_none() {
            self.inlinks = Some(self.compute_inlinks());
        }
        let tombs: Vec<u32> = (0..n as u32)
            .filter(|&s| self.levels[s as usize] != FREE && self.deleted[s as usize])
            .collect();
        // The live nodes that link to a tombstone, in slot order (the order a scan
        // of the whole graph would repair them in).
        let mut affected: Vec<u32> = {
            let il = self.inlinks.as_ref().expect("built above");
            tombs
                .iter()
                .flat_map(|&t| il[t as usize].iter().copied())
                .filter(|&s| self.levels[s as usize] != FREE && !self.deleted[s as usize])
                .collect()
        };
        affected.sort_unstable();
        affected.dedup();
        self.purge_examined = affected.len();
        for s in affected {
            let lvl = self.levels[s as usize];
            for lc in 0..=lvl as usize {
                let cur = self.links(s, lc);
                if !cur.iter().any(|&x| self.deleted[x as usize]) {
                    continue;
                }
                let mut pool: Vec<u32> = Vec::new();
                for &x in cur {
                    if self.deleted[x as usize] {
                        for &y in self.links(x, lc) {
                            if y != s && !self.deleted[y as usize] {
                                pool.push(y);
                            }
                        }
                    } else {
                        pool.push(x);
                    }
                }
                let base = self.vector(s).to_vec();
                if pool.len() < self.cap(lc) / 2 {
                    // Few candidates nearby: look for more from the entry point, as
                    // an insert would, so the node does not end up isolated.
                    pool.extend(
                        self.search_from_entry(&base, self.p.ef_construction.min(64), lc, sc)
                            .into_iter()
                            .map(|c| c.id)
                            .filter(|&x| x != s),
                    );
                }
                pool.sort_unstable();
                pool.dedup();
                let mut cs: Vec<Cand> = pool
                    .into_iter()
                    .map(|x| Cand {
                        d: self.dist(&base, x),
                        id: x,
                    })
                    .collect();
                cs.sort();
                let sel = self.select(&cs, self.cap(lc));
                self.set_links(s, lc, &sel);
            }
        }
        let mut entry_dead = false;
        for s in tombs {
            self.touch(s);
            self.clear_slot(s);
            self.pending_free.push(s);
            if self.entry == Some(s) {
                entry_dead = true;
            }
        }
        self.n_tombstones = 0;
        if entry_dead {
            self.touch_meta();
            let best = (0..n as u32)
                .filter(|&s| self.levels[s as usize] != FREE)
                .max_by_key(|&s| (self.levels[s as usize], Reverse(s)));
            self.entry = best;
            self.max_level = best.map(|s| self.levels[s as usize]).unwrap_or(0);
        }
    }

    /// True when the kept in-links (if any) equal those of the graph as it is (a
    /// test hook).
    #[doc(hidden)]
    pub fn inlinks_consistent(&self) -> bool {
        let Some(kept) = &self.inlinks else {
            return true;
        };
        let fresh = self.compute_inlinks();
        kept.len() == fresh.len()
            && kept.iter().zip(&fresh).all(|(a, b)| {
                let (mut a, mut b) = (a.clone(), b.clone());
                a.sort_unstable();
                b.sort_unstable();
                a == b
            })
    }

    /// The in-links of every slot, from one pass over the graph.
    fn compute_inlinks(&self) -> Vec<Vec<u32>> {
        let mut il: Vec<Vec<u32>> = vec![Vec::new(); self.levels.len()];
        for s in 0..self.levels.len() as u32 {
            let lvl = self.levels[s as usize];
            if lvl == FREE {
                continue;
            }
            for lc in 0..=lvl as usize {
                for &x in self.links(s, lc) {
                    il[x as usize].push(s);
                }
            }
        }
        il
    }

    // ---- search -------------------------------------------------------------------

    /// Algorithm 2. `admit` decides which nodes may enter the result set (all nodes
    /// are traversed); with `construction` set, tombstones are admitted too.
    #[allow(clippy::too_many_arguments)]
    fn search_layer<F: Fn(u32) -> bool>(
        &self,
        q: &[f32],
        eps: &[Cand],
        ef: usize,
        level: usize,
        sc: &mut Scratch,
        admit: &F,
        construction: bool,
    ) -> Vec<Cand> {
        sc.reset(self.levels.len());
        let ok = |id: u32| (construction || !self.deleted[id as usize]) && admit(id);
        let dims = self.p.dims;
        let metric = self.p.metric;
        let kernel = metric.kernel(self.kern);
        let dist = |id: u32| -> f32 {
            let i = id as usize * dims;
            metric.score_of(kernel(q, &self.vectors[i..i + dims]))
        };
        for &e in eps {
            if sc.visit(e.id) {
                sc.cand.push(Reverse(Item(e.d, e.id)));
                if ok(e.id) {
                    sc.res.push(Item(e.d, e.id));
                    if sc.res.len() > ef {
                        sc.res.pop();
                    }
                }
            }
        }
        let mut bound = if sc.res.len() >= ef {
            sc.res.peek().map(|r| r.0).unwrap_or(f32::INFINITY)
        } else {
            f32::INFINITY
        };
        while let Some(Reverse(Item(cd, cid))) = sc.cand.pop() {
            if cd > bound {
                break;
            }
            let links = self.links(cid, level);
            for (i, &n) in links.iter().enumerate() {
                if let Some(&after) = links.get(i + 1) {
                    prefetch(&self.vectors[after as usize * dims..]);
                }
                if !sc.visit(n) {
                    continue;
                }
                let d = dist(n);
                if d < bound {
                    sc.cand.push(Reverse(Item(d, n)));
                    if ok(n) {
                        bound = sc.keep(Item(d, n), ef);
                    }
                }
            }
        }
        let mut out = sc.drain_sorted();
        if out.is_empty() && construction {
            // Keep the walk going from the entry points.
            out = eps.to_vec();
        }
        out
    }

    /// Level-0 search that admits only nodes `admit` accepts and computes distances
    /// only for them: a neighbour that does not match is not scored but expanded, its
    /// own neighbours taking its place (two hops, as in ACORN), so the walk crosses
    /// regions of non-matching nodes without paying for them. The entry points are
    /// scored whatever they are, to start the walk.
    fn search_filtered<F: Fn(u32) -> bool>(
        &self,
        q: &[f32],
        eps: &[Cand],
        ef: usize,
        sc: &mut Scratch,
        admit: &F,
    ) -> Vec<Cand> {
        sc.reset(self.levels.len());
        let ok = |id: u32| !self.deleted[id as usize] && admit(id);
        let dims = self.p.dims;
        for &e in eps {
            if sc.visit(e.id) {
                sc.cand.push(Reverse(Item(e.d, e.id)));
                if ok(e.id) {
                    sc.res.push(Item(e.d, e.id));
                }
            }
        }
        let mut bound = f32::INFINITY;
        let mut next: Vec<u32> = Vec::with_capacity(2 * self.m0);
        while let Some(Reverse(Item(cd, cid))) = sc.cand.pop() {
            if cd > bound {
                break;
            }
            // the matching nodes one or two hops away, not seen yet
            next.clear();
            for &n in self.links(cid, 0) {
                if !sc.visit(n) {
                    continue;
                }
                if ok(n) {
                    next.push(n);
                } else {
                    for &m in self.links(n, 0) {
                        if ok(m) && sc.visit(m) {
                            next.push(m);
                        }
                    }
                }
            }
            for (i, &n) in next.iter().enumerate() {
                if let Some(&after) = next.get(i + 1) {
                    prefetch(&self.vectors[after as usize * dims..]);
                }
                let d = self.dist(q, n);
                if d < bound {
                    sc.cand.push(Reverse(Item(d, n)));
                    bound = sc.keep(Item(d, n), ef);
                }
            }
        }
        sc.drain_sorted()
    }

    /// Layered descent from the entry point to `level`, then a search of width `ef`
    /// there; tombstones are traversed but not returned. `q` is prepared.
    fn search_from_entry(&self, q: &[f32], ef: usize, level: usize, sc: &mut Scratch) -> Vec<Cand> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        let mut ep = vec![Cand {
            d: self.dist(q, entry),
            id: entry,
        }];
        for lc in ((level + 1)..=self.max_level as usize).rev() {
            ep = self.search_layer(q, &ep, 1, lc, sc, &|_| true, true);
        }
        self.search_layer(q, &ep, ef, level, sc, &|_| true, false)
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
        self.search_with(q, k, ef, sc, admit, false)
    }

    /// [`search`](Self::search) with a choice of filtered walk: `two_hop` scores only
    /// admitted nodes and crosses non-admitted ones by their neighbours (better for
    /// selective filters); otherwise every node is scored and walked through.
    pub fn search_with(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        sc: &mut Scratch,
        admit: Option<&dyn Fn(u32) -> bool>,
        two_hop: bool,
    ) -> Vec<(f32, i64)> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        let q = self.prepare_query(q);
        let mut ep = vec![Cand {
            d: self.dist(&q, entry),
            id: entry,
        }];
        for lc in (1..=self.max_level as usize).rev() {
            ep = self.search_layer(&q, &ep, 1, lc, sc, &|_| true, true);
        }
        let ef = ef.max(k);
        let found = match admit {
            None => self.search_layer(&q, &ep, ef, 0, sc, &|_| true, false),
            Some(f) if two_hop => self.search_filtered(&q, &ep, ef, sc, &f),
            Some(f) => self.search_layer(&q, &ep, ef, 0, sc, &f, false),
        };
        let mut out: Vec<(f32, i64)> = found
            .into_iter()
            .map(|c| (c.d, self.rowids[c.id as usize]))
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
        let slots: Vec<u32> = (0..self.levels.len() as u32)
            .filter(|&s| {
                self.levels[s as usize] != FREE
                    && !self.deleted[s as usize]
                    && admit.is_none_or(|f| f(s))
            })
            .collect();
        self.exact_over(&q, &slots, k)
    }

    /// Exact k nearest among `slots` (sorted ascending, so the vectors are read in
    /// memory order), prefetching a few rows ahead. `q` is prepared.
    pub fn exact_over(&self, q: &[f32], slots: &[u32], k: usize) -> Vec<(f32, i64)> {
        const AHEAD: usize = 4;
        let dims = self.p.dims;
        let mut top = crate::topk::TopK::new(k);
        for (i, &s) in slots.iter().enumerate() {
            if let Some(&next) = slots.get(i + AHEAD) {
                prefetch(&self.vectors[next as usize * dims..]);
            }
            let d = self.dist(q, s);
            if d <= top.bound() {
                top.push(crate::topk::Hit {
                    dist: d,
                    rowid: self.rowids[s as usize],
                });
            }
        }
        top.into_sorted()
            .into_iter()
            .map(|h| (h.dist, h.rowid))
            .collect()
    }

    /// Internal distance between a raw query and a stored row (for exact paths that
    /// read vectors from the index).
    pub fn distance_to(&self, prepared_q: &[f32], slot: u32) -> f32 {
        self.dist(prepared_q, slot)
    }

    /// Iterates live rows: (slot, rowid).
    pub fn live(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.map.iter().map(|(&r, &s)| (s, r))
    }

    // ---- loading and checking -----------------------------------------------------

    /// Adds a node read from storage: its slot, rowid and encoded links (see
    /// `codec`). Its vector comes later with [`load_vector`](Self::load_vector); call
    /// [`finish_load`](Self::finish_load) after the last one.
    pub fn load_node(&mut self, slot: u32, rowid: i64, node: &[u8]) -> Result<(), String> {
        self.inlinks = None;
        let s = slot as usize;
        if s > 50_000_000 {
            return Err(format!("node {slot}: slot number out of range"));
        }
        if s >= self.levels.len() {
            let n = s + 1;
            if n > self.levels.capacity() {
                let extra = (n - self.levels.len()).max(self.levels.len() / 8).max(1024);
                self.reserve(self.levels.len() + extra);
            }
            self.levels.resize(n, FREE);
            self.deleted.resize(n, false);
            self.rowids.resize(n, 0);
            self.links0.resize(n * (self.m0 + 1), 0);
            self.upper.resize(n, Vec::new());
            self.vectors.resize(n * self.p.dims, 0.0);
        }
        if self.levels[s] != FREE {
            return Err(format!("node {slot} appears twice"));
        }
        let (m, m0) = (self.p.m, self.m0);
        let level = codec::level_of(node).map_err(|e| format!("node {slot}: {e}"))?;
        let mut upper = vec![0u32; level * (m + 1)];
        let b0 = s * (m0 + 1);
        let links0 = &mut self.links0[b0..b0 + m0 + 1];
        codec::decode_with(
            node,
            |l| if l == 0 { m0 } else { m },
            |lc, ids| {
                let dst: &mut [u32] = if lc == 0 {
                    &mut links0[..]
                } else {
                    &mut upper[(lc - 1) * (m + 1)..lc * (m + 1)]
                };
                dst[0] = ids.len() as u32;
                for (i, x) in ids.enumerate() {
                    dst[1 + i] = x;
                }
            },
        )
        .map_err(|e| format!("node {slot}: {e}"))?;
        self.levels[s] = level as u8;
        self.rowids[s] = rowid;
        self.upper[s] = upper;
        if self.map.insert(rowid, slot).is_some() {
            return Err(format!("rowid {rowid} has two nodes"));
        }
        Ok(())
    }

    /// Sets the vector of a loaded node from its stored little-endian float32 bytes
    /// (normalised here under cosine). Returns false if the rowid has no node.
    pub fn load_vector(&mut self, rowid: i64, bytes: &[u8]) -> bool {
        let Some(&slot) = self.map.get(&rowid) else {
            return false;
        };
        let d = self.p.dims;
        let s = slot as usize;
        let dst = &mut self.vectors[s * d..(s + 1) * d];
        for (x, c) in dst.iter_mut().zip(bytes.chunks_exact(4)) {
            *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        if self.p.metric.normalizes() {
            crate::vector::normalize(dst);
        }
        true
    }

    /// Catching up with another connection's commit: replaces whatever is at
    /// `slot` by the stored node (links, rowid) and vector. Not journaled: it is
    /// only used outside this connection's own transactions.
    pub fn apply_node(
        &mut self,
        slot: u32,
        rowid: i64,
        node: &[u8],
        vec: &[u8],
    ) -> Result<(), String> {
        self.inlinks = None;
        self.apply_free(slot);
        self.free.remove(&slot);
        if let Some(&other) = self.map.get(&rowid) {
            // the rowid moved to this slot; its old slot is rewritten or freed by
            // the same commit
            if other != slot {
                self.map.remove(&rowid);
            }
        }
        self.load_node(slot, rowid, node)?;
        if vec.len() != self.p.dims * 4 || !self.load_vector(rowid, vec) {
            return Err(format!("row {rowid}: bad vector"));
        }
        Ok(())
    }

    /// Catching up: `slot` is free in the committed graph.
    pub fn apply_free(&mut self, slot: u32) {
        self.inlinks = None;
        let s = slot as usize;
        if s >= self.levels.len() || self.levels[s] == FREE {
            if s < self.levels.len() {
                self.free.insert(slot);
            }
            return;
        }
        let r = self.rowids[s];
        if self.map.get(&r) == Some(&slot) {
            self.map.remove(&r);
        }
        self.clear_slot(slot);
        self.free.insert(slot);
    }

    /// Marks `slot` free and empties its links (callers journal and file it).
    fn clear_slot(&mut self, slot: u32) {
        let s = slot as usize;
        if self.inlinks.is_some() && self.levels[s] != FREE {
            for lc in 0..=self.levels[s] as usize {
                let out: Vec<u32> = self.links(slot, lc).to_vec();
                if let Some(il) = self.inlinks.as_mut() {
                    for o in out {
                        remove_one(&mut il[o as usize], slot);
                    }
                }
            }
        }
        self.levels[s] = FREE;
        self.deleted[s] = false;
        self.links0[s * (self.m0 + 1)] = 0;
        self.upper[s] = Vec::new();
    }

    /// All free slots (after loading or catching up; no transaction is open).
    fn free_slots(&self) -> BTreeSet<u32> {
        (0..self.levels.len() as u32)
            .filter(|&s| self.levels[s as usize] == FREE)
            .collect()
    }

    /// Catching up: the committed entry point; then checks the nodes that changed.
    pub fn finish_apply(&mut self, entry: Option<u32>, changed: &[u32]) -> Result<(), String> {
        self.entry = entry;
        self.max_level = entry
            .and_then(|e| self.levels.get(e as usize).copied())
            .unwrap_or(0);
        if let Some(e) = entry {
            if !self.is_live(e) {
                return Err(format!("entry point {e} is not a live node"));
            }
        }
        for &s in changed {
            if !self.is_live(s) {
                continue;
            }
            for lc in 0..=self.levels[s as usize] as usize {
                for &x in self.links(s, lc) {
                    if !self.is_live(x) || (self.levels[x as usize] as usize) < lc {
                        return Err(format!("node {s}: link to {x} at level {lc}"));
                    }
                }
            }
        }
        if self.levels.iter().any(|&l| l != FREE && l > self.max_level) {
            return Err("entry point is not on the top level".into());
        }
        self.free = self.free_slots();
        Ok(())
    }

    /// Validates the loaded graph and sets the entry point. On error the index must
    /// not be used.
    pub fn finish_load(&mut self, entry: Option<u32>) -> Result<(), String> {
        self.free = self.free_slots();
        self.entry = entry;
        self.max_level = entry
            .map(|e| self.levels.get(e as usize).copied().unwrap_or(0))
            .unwrap_or(0);
        let problems = self.check();
        if let Some(p) = problems.first() {
            return Err(format!(
                "{p}{}",
                if problems.len() > 1 {
                    format!(" (and {} more)", problems.len() - 1)
                } else {
                    String::new()
                }
            ));
        }
        self.journal.clear();
        self.dirty.clear();
        self.meta_dirty = false;
        Ok(())
    }

    /// Structural problems: links to free or missing slots, levels, entry point.
    pub fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        let n = self.levels.len();
        match self.entry {
            None if !self.map.is_empty() => {
                out.push("no entry point but the index has rows".into())
            }
            Some(e) if (e as usize) >= n || self.levels[e as usize] == FREE => {
                out.push(format!("entry point {e} is not a live node"))
            }
            Some(e) => {
                let top = (0..n)
                    .filter(|&s| self.levels[s] != FREE)
                    .map(|s| self.levels[s])
                    .max();
                if top != Some(self.levels[e as usize]) {
                    out.push(format!("entry point {e} is not on the top level"));
                }
            }
            None => {}
        }
        let mut seen: Vec<u32> = vec![0; n];
        let mut tag: u32 = 0;
        for s in 0..n {
            let lvl = self.levels[s];
            if lvl == FREE {
                continue;
            }
            if lvl > MAX_LEVEL {
                out.push(format!("node {s}: level {lvl} too high"));
                continue;
            }
            for lc in 0..=lvl as usize {
                let l = self.links(s as u32, lc);
                tag = tag.wrapping_add(1);
                for &x in l {
                    if x as usize >= n || self.levels[x as usize] == FREE {
                        out.push(format!(
                            "node {s} (rowid {}): link to missing node {x} at level {lc}",
                            self.rowids[s]
                        ));
                    } else if (self.levels[x as usize] as usize) < lc {
                        out.push(format!(
                            "node {s}: link to node {x} at level {lc} above that node's level"
                        ));
                    } else if x as usize == s {
                        out.push(format!("node {s}: links to itself at level {lc}"));
                    } else if seen[x as usize] == tag {
                        out.push(format!("node {s}: duplicate link to {x} at level {lc}"));
                    }
                    if (x as usize) < n {
                        seen[x as usize] = tag;
                    }
                    if out.len() > 100 {
                        return out;
                    }
                }
            }
        }
        if out.is_empty() {
            if let Some(p) = self.unreachable_problem() {
                out.push(p);
            }
        }
        out
    }

    /// A graph whose links are all valid can still be degenerate (every level-0 list
    /// emptied, or all pointing at one node): searches then silently miss most rows.
    /// A few nodes out of reach can happen after deletes (queries fall back to an
    /// exact pass when a walk finds fewer than k rows); more than 5% is damage.
    fn unreachable_problem(&self) -> Option<String> {
        let e = self.entry?;
        let live = self.map.len() + self.n_tombstones;
        let mut seen = vec![false; self.levels.len()];
        let mut stack = vec![e];
        seen[e as usize] = true;
        let mut reached = 0usize;
        while let Some(s) = stack.pop() {
            reached += 1;
            for &x in self.links(s, 0) {
                let xi = x as usize;
                if xi < seen.len() && !seen[xi] && self.levels[xi] != FREE {
                    seen[xi] = true;
                    stack.push(x);
                }
            }
        }
        let unreached = live.saturating_sub(reached);
        (unreached > 5 && unreached * 20 > live).then(|| {
            format!(
                "{unreached} of {live} graph nodes cannot be reached from the entry point (the graph is degenerate)"
            )
        })
    }
}
