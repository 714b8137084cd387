//! HNSW index (Malkov & Yashunin), pure Rust: no SQLite in here.
//!
//! * Layout: per-slot arrays in copy-on-write chunks of 256 slots (`chunks`):
//!   vectors `dims` floats per slot; level-0 links fixed-width (`[count, id * 2M]`
//!   per slot); upper levels per slot (`[count, id * M]` per level); the rowid ->
//!   slot map in 64 copy-on-write shards.
//! * Structural sharing: `clone()` copies only chunk and shard pointers (and the
//!   small per-transaction state: journal, dirty set, free lists), so an owner can
//!   keep one immutable version per generation (`Arc<Hnsw>`) and a writer can take
//!   a copy (`Arc::make_mut`, or [`Hnsw::fork`] for a new transaction: no journal,
//!   nothing dirty, the slots freed by the copied transaction reusable). A write
//!   copies the chunk (of that one array) or shard it goes to if it is shared, once;
//!   [`Hnsw::memory_split`] tells how many bytes are shared. `Hnsw` is `Send +
//!   Sync`.
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
//!
//! Files: this one holds the [`Hnsw`] struct, [`Params`] and the slot accessors;
//! `chunks` the copy-on-write chunked array and the sharded row map; `nodes` the
//! per-slot arrays (one grow, truncate and clear path); `graph` the
//! structure changes (insert, delete, purge, links), `search` the walks
//! and exact search, `journal` the savepoint journal and dirty tracking, `load`
//! loading, catching up and the check, `codec` the stored node format, `builder`
//! the parallel build of a fresh index.

mod attrs;
pub mod builder;
mod chunks;
pub mod codec;
mod graph;
mod journal;
mod load;
mod nodes;
mod problem;
pub mod quant;
mod search;

use std::collections::{BTreeSet, HashSet};

use crate::distance::{self, Kernels, Metric};

pub use attrs::{Bytes, Cell, Column, PREFIX};
pub use graph::InsertPlan;
pub use journal::Tag;
pub use load::{Filled, VectorFill};
pub use nodes::{QRef, Query};
pub use problem::GraphProblem;
pub use quant::Quantize;
pub use search::{Cand, Scratch, RERANK_Z};

use chunks::{Chunked, RowMap};
use journal::Frame;
use nodes::{Nodes, Slot};

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
    /// f32 vectors, or int8 codes (see `quant`).
    pub quantize: Quantize,
}

#[derive(Clone)]
pub struct Hnsw {
    p: Params,
    m0: usize,
    ml: f64,
    kern: &'static Kernels,
    nodes: Nodes,
    map: RowMap,
    free: BTreeSet<Slot>,
    /// Slots freed by purge in the current transaction: reusable after commit.
    pending_free: Vec<Slot>,
    entry: Option<Slot>,
    max_level: u8,
    n_tombstones: usize,
    journal: Vec<Frame>,
    dirty: HashSet<Slot>,
    meta_dirty: bool,
    /// Off while building a fresh index (nothing to undo, nothing dirty).
    journaling: bool,
    /// The owner's name for the persisted state this index matches (saved in every
    /// journal frame and restored with it).
    tag: Tag,
    /// In-links: for each slot, the slots whose lists hold it (one entry per source
    /// and level), so a purge finds the nodes that link to a tombstone without
    /// scanning the graph. Kept up to date by inserts and purges; the bulk paths
    /// (journal restore, load, catch-up, build) drop it and the next purge that
    /// needs it rebuilds it in one pass.
    inlinks: Option<Chunked<Vec<u32>>>,
    /// Live nodes the last purge examined (a test hook: a purge's work must not
    /// grow with the graph).
    purge_examined: usize,
    /// The owner's attribute columns, loaded on demand (see `attrs`).
    attrs: attrs::Attrs,
    /// Rowids and slots of the nodes a load read, not mapped yet (see
    /// `Hnsw::map_loaded`).
    loaded_rows: Vec<(i64, Slot)>,
}

// Shared versions are read from several threads.
const _: fn() = || {
    fn f<T: Send + Sync>() {}
    f::<Hnsw>();
};

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
            nodes: Nodes::new(p.dims, p.m, 2 * p.m, p.quantize),
            m0: 2 * p.m,
            ml,
            kern: distance::kernels(),
            p,
            map: RowMap::default(),
            free: BTreeSet::new(),
            pending_free: Vec::new(),
            entry: None,
            max_level: 0,
            n_tombstones: 0,
            journal: Vec::new(),
            dirty: HashSet::new(),
            meta_dirty: false,
            journaling: true,
            tag: Tag::default(),
            inlinks: None,
            purge_examined: 0,
            attrs: attrs::Attrs::default(),
            loaded_rows: Vec::new(),
        }
    }

    /// Reserves room for `n` slots in total (exactly, no doubling): the chunk
    /// tables and the row map (the chunks themselves are allocated as slots reach
    /// them).
    pub fn reserve(&mut self, n: usize) {
        let extra = self.nodes.reserve(n);
        self.map.reserve(extra);
    }

    /// Grows the node arrays (and the in-links, if kept) to at least `n` slots, the
    /// new ones free. The row map grows by itself, shard by shard (reserving room in
    /// every shard here would copy all of them in a fork).
    fn grow_to(&mut self, n: usize) {
        self.nodes.grow_to(n);
        if let Some(il) = self.inlinks.as_mut() {
            il.grow_to(n);
        }
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
        self.nodes.len()
    }
    pub fn entry(&self) -> Option<u32> {
        self.entry.map(|s| s.0)
    }
    pub fn max_level(&self) -> u8 {
        self.max_level
    }
    pub fn contains(&self, rowid: i64) -> bool {
        self.map.contains(rowid)
    }
    pub fn slot_of(&self, rowid: i64) -> Option<u32> {
        self.map.get(rowid).map(|s| s.0)
    }
    pub fn level_of_slot(&self, slot: u32) -> u8 {
        self.nodes.levels[slot as usize]
    }
    pub fn rowid_of_slot(&self, slot: u32) -> i64 {
        self.nodes.rowids[slot as usize]
    }
    pub fn is_live(&self, slot: u32) -> bool {
        (slot as usize) < self.nodes.levels.len() && self.nodes.levels[slot as usize] != FREE
    }

    /// Bytes held by the index (vectors, links, maps), for veclite_info.
    pub fn memory_bytes(&self) -> usize {
        self.memory().total()
    }

    /// [`memory_bytes`](Self::memory_bytes) split into (shared, private): the bytes
    /// of the chunks and row-map shards that another clone of this index also
    /// holds, and those that only this one does (see [`fork`](Self::fork)). The
    /// two add up to `memory_bytes()`.
    pub fn memory_split(&self) -> (usize, usize) {
        let s = self.memory();
        (s.shared, s.private)
    }

    fn memory(&self) -> chunks::Split {
        let mut s = self.nodes.memory();
        s += self.map.memory();
        if let Some(il) = &self.inlinks {
            s += il.memory();
        }
        s += self.attrs.memory();
        s
    }

    /// A copy of the index for a new transaction of another owner: it shares every
    /// node chunk and row-map shard with `self` (each side copies only what it
    /// writes), and starts with no journal, nothing dirty, and the slots `self`
    /// freed in its open transaction reusable (as if that transaction had been
    /// committed: what [`commit`](Self::commit) does, applied to the copy). The tag
    /// is kept. `clone()` instead copies the transaction state as it is.
    pub fn fork(&self) -> Hnsw {
        let mut free = self.free.clone();
        free.extend(self.pending_free.iter().copied());
        Hnsw {
            p: self.p.clone(),
            m0: self.m0,
            ml: self.ml,
            kern: self.kern,
            nodes: self.nodes.clone(),
            map: self.map.clone(),
            free,
            pending_free: Vec::new(),
            entry: self.entry,
            max_level: self.max_level,
            n_tombstones: self.n_tombstones,
            journal: Vec::new(),
            dirty: HashSet::new(),
            meta_dirty: false,
            journaling: self.journaling,
            tag: self.tag,
            inlinks: self.inlinks.clone(),
            purge_examined: self.purge_examined,
            attrs: self.attrs.clone(),
            loaded_rows: Vec::new(),
        }
    }

    /// The level a row gets: a pure function of (seed, rowid).
    pub fn level_for(&self, rowid: i64) -> u8 {
        let h = splitmix64(self.p.seed ^ (rowid as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let u = ((h >> 11) as f64 + 1.0) / (1u64 << 53) as f64; // (0, 1]
        ((-u.ln() * self.ml).floor() as u64).min(MAX_LEVEL as u64) as u8
    }

    /// The stored f32 vector of `slot` (normalised under cosine). Panics for a
    /// quantized index, which keeps no f32 copy (see [`decoded`](Self::decoded)).
    #[inline]
    pub fn vector(&self, slot: u32) -> &[f32] {
        match self.nodes.row(Slot(slot)) {
            QRef::F32(v) => v,
            QRef::I8(_) => panic!("a quantized index keeps no f32 vectors"),
        }
    }

    /// The vector of `slot` as the index holds it, as f32 (decoded from its int8
    /// codes under int8).
    pub fn decoded(&self, slot: u32) -> Vec<f32> {
        match self.nodes.row(Slot(slot)) {
            QRef::F32(v) => v.to_vec(),
            QRef::I8(v) => quant::decode(v),
        }
    }

    /// True when the index keeps int8 codes: its distances are approximate, and
    /// callers that need exact ones re-rank its results from the f32 vectors.
    pub fn quantized(&self) -> bool {
        self.p.quantize != Quantize::None
    }

    /// The query as the index compares it (normalised under cosine, quantized
    /// under int8).
    pub fn prepare_query(&self, q: &[f32]) -> Query {
        let mut v = q.to_vec();
        if self.p.metric.normalizes() {
            crate::vector::normalize(&mut v);
        }
        match self.p.quantize {
            Quantize::None => Query::F32(v),
            Quantize::Int8 => {
                let mut c = vec![0i8; v.len() + quant::TRAILER];
                quant::encode(&v, &mut c);
                Query::I8(c)
            }
        }
    }

    /// The int8 code row an insert of `v` keeps (codes and trailer, as bytes), for
    /// persisting; None for an index that is not quantized.
    pub fn code_for(&self, v: &[f32]) -> Option<Vec<u8>> {
        match self.prepare_query(v) {
            Query::I8(c) => Some(c.iter().map(|&b| b as u8).collect()),
            Query::F32(_) => None,
        }
    }

    /// The int8 code row `slot` holds (see [`code_for`](Self::code_for)).
    pub fn code_of_slot(&self, slot: u32) -> Option<Vec<u8>> {
        match self.nodes.row(Slot(slot)) {
            QRef::I8(c) => Some(c.iter().map(|&b| b as u8).collect()),
            QRef::F32(_) => None,
        }
    }

    /// Internal distance: squared L2, 1 - dot of unit vectors, or -dot (of the
    /// decoded vectors under int8).
    #[inline]
    fn dist(&self, q: QRef<'_>, slot: Slot) -> f32 {
        let m = self.p.metric;
        match (q, self.nodes.row(slot)) {
            (QRef::F32(q), QRef::F32(v)) => m.score_of((m.kernel(self.kern))(q, v)),
            (QRef::I8(q), QRef::I8(v)) => quant::Scorer::new(q, m, self.kern).score(v),
            _ => unreachable!("a query prepared for another kind of index"),
        }
    }

    fn cap(&self, level: usize) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.p.m
        }
    }

    pub fn links(&self, slot: u32, level: usize) -> &[u32] {
        self.nodes.links(Slot(slot), level)
    }
}
