//! The node arrays: one entry per slot in each of six parallel arrays (level,
//! tombstone flag, rowid, level-0 links, upper links, vector). Their length changes
//! only here: [`Nodes::grow_to`] (new slots, free), [`Nodes::truncate`] (the journal
//! restore) and [`Nodes::clear`] (a slot made free); a slot's whole state is saved
//! and put back by [`Nodes::image`] / [`Nodes::restore`].
//!
//! Layout: vectors contiguous, `dims` floats per slot; level-0 links fixed-width
//! (`[count, id * m0]` per slot); upper levels per slot (`[count, id * m]` per
//! level, `level` of them).

use super::FREE;

/// A slot number: a node's index in the arrays (and its key in storage). The
/// public methods of [`Hnsw`](super::Hnsw) take and return plain `u32`; inside the
/// module slots are typed, apart from the link lists (stored as `u32`) and the
/// candidates of the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Slot(pub(super) u32);

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Slot {
    /// The index into the per-slot arrays.
    #[inline]
    pub(super) fn idx(self) -> usize {
        self.0 as usize
    }
}

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

#[derive(Clone)]
pub(super) struct Nodes {
    dims: usize,
    /// Upper-level list capacity (`M`) and level-0 list capacity (`2M`).
    m: usize,
    m0: usize,
    pub(super) levels: Vec<u8>,
    pub(super) deleted: Vec<bool>,
    pub(super) rowids: Vec<i64>,
    pub(super) links0: Vec<u32>,
    pub(super) upper: Vec<Vec<u32>>,
    pub(super) vectors: Vec<f32>,
}

impl Nodes {
    pub(super) fn new(dims: usize, m: usize, m0: usize) -> Self {
        Nodes {
            dims,
            m,
            m0,
            levels: Vec::new(),
            deleted: Vec::new(),
            rowids: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            vectors: Vec::new(),
        }
    }

    /// Number of slots (live, tombstoned or free).
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Reserves room for `n` slots in total (exactly, no doubling); returns how many
    /// slots beyond the current ones that is.
    pub(super) fn reserve(&mut self, n: usize) -> usize {
        let extra = n.saturating_sub(self.levels.len());
        self.levels.reserve_exact(extra);
        self.deleted.reserve_exact(extra);
        self.rowids.reserve_exact(extra);
        self.upper.reserve_exact(extra);
        self.links0.reserve_exact(extra * (self.m0 + 1));
        self.vectors.reserve_exact(extra * self.dims);
        extra
    }

    /// Grows to at least `n` slots, the new ones free (no links, zero vector). When
    /// the room runs out it reserves at least an eighth more (not double) so a large
    /// index carries at most ~12% of spare capacity. Returns the number of slots
    /// room was reserved for (0 if none).
    pub(super) fn grow_to(&mut self, n: usize) -> usize {
        let len = self.levels.len();
        if n <= len {
            return 0;
        }
        let extra = if n > self.levels.capacity() {
            self.reserve(len + (n - len).max(len / 8).max(1024))
        } else {
            0
        };
        self.levels.resize(n, FREE);
        self.deleted.resize(n, false);
        self.rowids.resize(n, 0);
        self.links0.resize(n * (self.m0 + 1), 0);
        self.upper.resize(n, Vec::new());
        self.vectors.resize(n * self.dims, 0.0);
        extra
    }

    /// Drops every slot from `n` on (the journal restore).
    pub(super) fn truncate(&mut self, n: usize) {
        self.levels.truncate(n);
        self.deleted.truncate(n);
        self.rowids.truncate(n);
        self.upper.truncate(n);
        self.links0.truncate(n * (self.m0 + 1));
        self.vectors.truncate(n * self.dims);
    }

    /// Marks `slot` free and empties its links (the vector stays).
    pub(super) fn clear(&mut self, slot: Slot) {
        let s = slot.idx();
        self.levels[s] = FREE;
        self.deleted[s] = false;
        self.links0[s * (self.m0 + 1)] = 0;
        self.upper[s] = Vec::new();
    }

    /// Makes `slot` a node of `rowid` at `level` with empty link lists.
    pub(super) fn init(&mut self, slot: Slot, rowid: i64, level: u8) {
        let s = slot.idx();
        self.levels[s] = level;
        self.deleted[s] = false;
        self.rowids[s] = rowid;
        self.links0[s * (self.m0 + 1)] = 0;
        self.upper[s] = vec![0; level as usize * (self.m + 1)];
    }

    /// The state of `slot` to restore later.
    pub(super) fn image(&self, slot: Slot) -> Image {
        let s = slot.idx();
        let b = s * (self.m0 + 1);
        Image {
            slot,
            level: self.levels[s],
            deleted: self.deleted[s],
            rowid: self.rowids[s],
            links0: self.links0[b..b + self.m0 + 1].to_vec(),
            upper: self.upper[s].clone(),
        }
    }

    /// Puts back a slot's saved state; false if the slot no longer exists.
    pub(super) fn restore(&mut self, img: Image) -> bool {
        let s = img.slot.idx();
        if s >= self.levels.len() {
            return false;
        }
        self.levels[s] = img.level;
        self.deleted[s] = img.deleted;
        self.rowids[s] = img.rowid;
        let b = s * (self.m0 + 1);
        self.links0[b..b + self.m0 + 1].copy_from_slice(&img.links0);
        self.upper[s] = img.upper;
        true
    }

    /// Bytes held by the arrays.
    pub(super) fn memory_bytes(&self) -> usize {
        self.vectors.capacity() * 4
            + self.links0.capacity() * 4
            + self
                .upper
                .iter()
                .map(|u| u.capacity() * 4 + 24)
                .sum::<usize>()
            + self.rowids.capacity() * 8
            + self.levels.capacity() * 2
    }

    #[inline]
    pub(super) fn vector(&self, slot: Slot) -> &[f32] {
        let d = self.dims;
        &self.vectors[slot.idx() * d..(slot.idx() + 1) * d]
    }

    #[inline]
    pub(super) fn vector_mut(&mut self, slot: Slot) -> &mut [f32] {
        let d = self.dims;
        &mut self.vectors[slot.idx() * d..(slot.idx() + 1) * d]
    }

    /// The list of `slot` at `level` (empty above its level).
    #[inline]
    pub(super) fn links(&self, slot: Slot, level: usize) -> &[u32] {
        if level == 0 {
            let b = slot.idx() * (self.m0 + 1);
            let n = self.links0[b] as usize;
            &self.links0[b + 1..b + 1 + n]
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
            let b = slot.idx() * (self.m0 + 1);
            &mut self.links0[b..b + self.m0 + 1]
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
