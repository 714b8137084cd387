//! The node arrays: one entry per slot in each of six parallel arrays (level,
//! tombstone flag, rowid, level-0 links, upper links, vector). Their length changes
//! only here: [`Nodes::grow_to`] (new slots, free), [`Nodes::truncate`] (the journal
//! restore) and [`Nodes::clear`] (a slot made free); a slot's whole state is saved
//! and put back by [`Nodes::image`] / [`Nodes::restore`].
//!
//! Layout: every array is a [`Chunked`] (copy-on-write chunks of
//! [`CHUNK`](super::chunks::CHUNK) slots): vectors `dims` floats per slot; level-0
//! links fixed-width (`[count, id * m0]` per slot); upper levels per slot
//! (`[count, id * m]` per level, `level` of them). The vectors and the links are
//! separate arrays, so a link change never copies a vector.
//!
//! Cloning [`Nodes`] copies only the chunk pointers: the clone and the original
//! share every chunk until one of them writes a slot, which copies that slot's
//! chunk of that one array (once; later writes to it are in place).

use super::chunks::{Chunked, Split};
use super::quant::{self, Quantize};
use super::FREE;

pub(super) use super::chunks::Slot;

/// The before-image of one slot (everything but its vector, which a slot keeps
/// until it is reused after commit).
#[derive(Clone, Debug)]
pub(super) struct Image {
    pub(super) slot: Slot,
    level: u8,
    deleted: bool,
    rowid: i64,
    links0: Vec<u32>,
    upper: Vec<u32>,
}

#[derive(Clone, Debug)]
pub(super) struct Nodes {
    /// Upper-level list capacity (`M`; the level-0 one, `2M`, is `links0`'s width
    /// less one).
    m: usize,
    pub(super) levels: Chunked<u8>,
    pub(super) deleted: Chunked<bool>,
    pub(super) rowids: Chunked<i64>,
    /// `[count, id * m0]` per slot.
    pub(super) links0: Chunked<u32>,
    pub(super) upper: Chunked<Vec<u32>>,
    /// `dims` floats per slot, or `dims` int8 codes and their trailer.
    pub(super) vectors: Vectors,
}

/// The vectors of every slot, as the index keeps them.
#[derive(Clone, Debug)]
pub(super) enum Vectors {
    /// `dims` floats per slot.
    F32(Chunked<f32>),
    /// `dims + quant::TRAILER` bytes per slot (see `quant`).
    I8(Chunked<i8>),
}

/// A vector as the index compares it: a stored row or a prepared query.
#[derive(Clone, Copy, Debug)]
pub enum QRef<'a> {
    F32(&'a [f32]),
    I8(&'a [i8]),
}

/// A prepared query (normalised under cosine, quantized under int8), owned; made
/// by [`Hnsw::prepare_query`](super::Hnsw::prepare_query) for that index.
#[derive(Clone, Debug)]
pub enum Query {
    F32(Vec<f32>),
    I8(Vec<i8>),
}

impl Query {
    #[inline]
    pub fn as_ref(&self) -> QRef<'_> {
        match self {
            Query::F32(v) => QRef::F32(v),
            Query::I8(v) => QRef::I8(v),
        }
    }
}

impl Vectors {
    fn reserve(&mut self, n: usize) {
        match self {
            Vectors::F32(c) => c.reserve(n),
            Vectors::I8(c) => c.reserve(n),
        }
    }
    fn grow_to(&mut self, n: usize) {
        match self {
            Vectors::F32(c) => c.grow_to(n),
            Vectors::I8(c) => c.grow_to(n),
        };
    }
    fn truncate(&mut self, n: usize) {
        match self {
            Vectors::F32(c) => c.truncate(n),
            Vectors::I8(c) => c.truncate(n),
        }
    }
    fn memory(&self) -> Split {
        match self {
            Vectors::F32(c) => c.memory(),
            Vectors::I8(c) => c.memory(),
        }
    }
    /// The stored row of `slot`.
    #[inline]
    pub(super) fn row(&self, slot: Slot) -> QRef<'_> {
        match self {
            Vectors::F32(c) => QRef::F32(c.get(slot.idx())),
            Vectors::I8(c) => QRef::I8(c.get(slot.idx())),
        }
    }
    /// Stores a prepared query of the same index at `slot`.
    pub(super) fn set(&mut self, slot: Slot, q: QRef<'_>) {
        match (self, q) {
            (Vectors::F32(c), QRef::F32(v)) => c.get_mut(slot.idx()).copy_from_slice(v),
            (Vectors::I8(c), QRef::I8(v)) => c.get_mut(slot.idx()).copy_from_slice(v),
            _ => unreachable!("a query prepared for another kind of index"),
        }
    }
}

impl Nodes {
    pub(super) fn new(dims: usize, m: usize, m0: usize, q: Quantize) -> Self {
        Nodes {
            m,
            levels: Chunked::new(1, FREE),
            deleted: Chunked::new(1, false),
            rowids: Chunked::new(1, 0),
            links0: Chunked::new(m0 + 1, 0),
            upper: Chunked::new(1, Vec::new()),
            vectors: match q {
                Quantize::None => Vectors::F32(Chunked::new(dims, 0.0)),
                Quantize::Int8 => Vectors::I8(Chunked::new(dims + quant::TRAILER, 0)),
            },
        }
    }

    /// Number of slots (live, tombstoned or free).
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Reserves room for `n` slots in total (the chunk tables; chunks are allocated
    /// as slots reach them); returns how many slots beyond the current ones that
    /// is.
    pub(super) fn reserve(&mut self, n: usize) -> usize {
        let extra = n.saturating_sub(self.len());
        self.levels.reserve(n);
        self.deleted.reserve(n);
        self.rowids.reserve(n);
        self.upper.reserve(n);
        self.links0.reserve(n);
        self.vectors.reserve(n);
        extra
    }

    /// Grows to at least `n` slots, the new ones free (no links, zero vector).
    pub(super) fn grow_to(&mut self, n: usize) {
        self.levels.grow_to(n);
        self.deleted.grow_to(n);
        self.rowids.grow_to(n);
        self.links0.grow_to(n);
        self.upper.grow_to(n);
        self.vectors.grow_to(n);
    }

    /// Drops every slot from `n` on (the journal restore).
    pub(super) fn truncate(&mut self, n: usize) {
        self.levels.truncate(n);
        self.deleted.truncate(n);
        self.rowids.truncate(n);
        self.upper.truncate(n);
        self.links0.truncate(n);
        self.vectors.truncate(n);
    }

    /// Marks `slot` free and empties its links (the vector stays).
    pub(super) fn clear(&mut self, slot: Slot) {
        let s = slot.idx();
        self.levels[s] = FREE;
        self.deleted[s] = false;
        self.links0.get_mut(s)[0] = 0;
        self.upper[s] = Vec::new();
    }

    /// Makes `slot` a node of `rowid` at `level` with empty link lists.
    pub(super) fn init(&mut self, slot: Slot, rowid: i64, level: u8) {
        let s = slot.idx();
        self.levels[s] = level;
        self.deleted[s] = false;
        self.rowids[s] = rowid;
        self.links0.get_mut(s)[0] = 0;
        self.upper[s] = vec![0; level as usize * (self.m + 1)];
    }

    /// The state of `slot` to restore later.
    pub(super) fn image(&self, slot: Slot) -> Image {
        let s = slot.idx();
        Image {
            slot,
            level: self.levels[s],
            deleted: self.deleted[s],
            rowid: self.rowids[s],
            links0: self.links0.get(s).to_vec(),
            upper: self.upper[s].clone(),
        }
    }

    /// Puts back a slot's saved state; false if the slot no longer exists.
    pub(super) fn restore(&mut self, img: Image) -> bool {
        let s = img.slot.idx();
        if s >= self.len() {
            return false;
        }
        self.levels[s] = img.level;
        self.deleted[s] = img.deleted;
        self.rowids[s] = img.rowid;
        self.links0.get_mut(s).copy_from_slice(&img.links0);
        self.upper[s] = img.upper;
        true
    }

    /// Bytes held by the arrays, split into those shared with other holders (the
    /// chunks another clone also points to) and the private ones.
    pub(super) fn memory(&self) -> Split {
        let mut s = self.vectors.memory();
        s += self.links0.memory();
        s += self.upper.memory();
        s += self.rowids.memory();
        s += self.levels.memory();
        s += self.deleted.memory();
        s
    }

    /// The stored row of `slot` (f32 or int8).
    #[inline]
    pub(super) fn row(&self, slot: Slot) -> QRef<'_> {
        self.vectors.row(slot)
    }

    /// A copy of the stored row of `slot`, as a query.
    pub(super) fn row_query(&self, slot: Slot) -> Query {
        match self.vectors.row(slot) {
            QRef::F32(v) => Query::F32(v.to_vec()),
            QRef::I8(v) => Query::I8(v.to_vec()),
        }
    }

    /// The memory of `slot`'s level-0 list (its length first), without reading it:
    /// for prefetching.
    #[inline]
    pub(super) fn links0_row(&self, slot: Slot) -> &[u32] {
        self.links0.get(slot.idx())
    }

    /// The list of `slot` at `level` (empty above its level).
    #[inline]
    pub(super) fn links(&self, slot: Slot, level: usize) -> &[u32] {
        if level == 0 {
            let l = self.links0.get(slot.idx());
            let n = l[0] as usize;
            &l[1..1 + n]
        } else {
            let w = self.m + 1;
            let u = &self.upper[slot.idx()];
            let b = (level - 1) * w;
            if b >= u.len() {
                return &[];
            }
            let n = u[b] as usize;
            &u[b + 1..b + 1 + n]
        }
    }

    /// The list buffer of `slot` at `level`: `[count, id * capacity]`.
    #[inline]
    pub(super) fn list_mut(&mut self, slot: Slot, level: usize) -> &mut [u32] {
        if level == 0 {
            self.links0.get_mut(slot.idx())
        } else {
            let w = self.m + 1;
            let b = (level - 1) * w;
            &mut self.upper[slot.idx()][b..b + w]
        }
    }

    /// Sets the list of `slot` at `level` (`ids` fits its capacity).
    pub(super) fn set_list(&mut self, slot: Slot, level: usize, ids: &[u32]) {
        let dst = self.list_mut(slot, level);
        dst[0] = ids.len() as u32;
        dst[1..1 + ids.len()].copy_from_slice(ids);
    }
}
