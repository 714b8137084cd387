//! Per-slot attribute columns kept next to the vectors (the owner's metadata), so
//! a filtered search can test a candidate without leaving the index. The index
//! only stores cells; what they mean and how they compare is the owner's business.
//!
//! * A column is loaded by the owner when it first needs it
//!   ([`Hnsw::install_attr`] works on a shared `&Hnsw`: every holder of a version
//!   reads the same stored state, so whichever loads it first loads it for all).
//! * Cells live in copy-on-write chunks like the vectors, so a fork shares them and
//!   a write copies one chunk.
//! * Text and blob cells keep the whole value up to [`PREFIX`] bytes; a longer value
//!   keeps its first [`PREFIX`] bytes and its length, so comparisons the prefix
//!   decides stay in memory and the rest go back to the owner's storage.
//! * Columns are not journaled: a rollback (to a savepoint or of the transaction)
//!   unloads them, and the owner loads them again from what its storage restored.

use std::sync::{Arc, OnceLock};

use super::chunks::{Chunked, Elem};
use super::Hnsw;

/// Bytes of a text or blob value kept in memory.
pub const PREFIX: usize = 32;

/// A text or blob value: whole if it is at most [`PREFIX`] bytes, else its prefix.
/// One pointer wide, so a [`Cell`] takes 16 bytes and a pass over a column reads
/// half as much memory as with the length inline.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Bytes(Box<BytesInner>);

#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct BytesInner {
    len: u32,
    data: Box<[u8]>,
}

impl Bytes {
    pub fn new(b: &[u8]) -> Bytes {
        let keep = b.len().min(PREFIX);
        Bytes(Box::new(BytesInner {
            len: b.len().min(u32::MAX as usize) as u32,
            data: b[..keep].into(),
        }))
    }
    /// The whole value, however long (a value compared with the cells, or a
    /// stored value read back).
    pub fn whole(b: &[u8]) -> Bytes {
        Bytes(Box::new(BytesInner {
            len: b.len().min(u32::MAX as usize) as u32,
            data: b.into(),
        }))
    }
    /// The bytes held: the whole value, or its first [`PREFIX`] bytes.
    #[inline]
    pub fn held(&self) -> &[u8] {
        &self.0.data
    }
    /// The value's length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len as usize
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }
    /// Whether only a prefix is held.
    #[inline]
    pub fn truncated(&self) -> bool {
        self.0.data.len() < self.0.len as usize
    }
    /// Heap bytes it owns.
    fn heap_bytes(&self) -> usize {
        size_of::<BytesInner>() + self.0.data.len()
    }
}

/// One stored value.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Cell {
    #[default]
    Null,
    Int(i64),
    Real(f64),
    Text(Bytes),
    Blob(Bytes),
}

// A cell is two words: a pass over a column reads 16 bytes a row.
const _: () = assert!(size_of::<Cell>() == 16);

impl Elem for Cell {
    fn heap_bytes(&self) -> usize {
        match self {
            Cell::Text(b) | Cell::Blob(b) => b.heap_bytes(),
            _ => 0,
        }
    }
}

/// One attribute column: a cell per slot.
#[derive(Clone, Debug)]
pub struct Column {
    cells: Chunked<Cell>,
}

impl Default for Column {
    fn default() -> Self {
        Column::new()
    }
}

impl Column {
    pub fn new() -> Column {
        Column {
            cells: Chunked::new(1, Cell::Null),
        }
    }
    /// The cell of `slot` (NULL past the end).
    #[inline]
    pub fn get(&self, slot: u32) -> &Cell {
        static NULL: Cell = Cell::Null;
        if (slot as usize) < self.cells.len() {
            &self.cells[slot as usize]
        } else {
            &NULL
        }
    }
    pub fn set(&mut self, slot: u32, c: Cell) {
        let s = slot as usize;
        if s >= self.cells.len() {
            self.cells.grow_to(s + 1);
        }
        self.cells[s] = c;
    }
    /// Number of slots held (slots past it are NULL).
    pub fn len(&self) -> usize {
        self.cells.len()
    }
    pub fn is_empty(&self) -> bool {
        self.cells.len() == 0
    }
    /// The cells in slot order, a slice per chunk (for scans over every slot).
    pub fn slices(&self) -> impl Iterator<Item = &[Cell]> + '_ {
        self.cells.slices()
    }
    fn memory(&self) -> super::chunks::Split {
        self.cells.memory()
    }
}

/// The attribute columns of a version: slot `i` is column `i`, loaded or not.
#[derive(Clone, Debug, Default)]
pub(super) struct Attrs {
    cols: Vec<OnceLock<Arc<Column>>>,
}

impl Attrs {
    pub(super) fn memory(&self) -> super::chunks::Split {
        let mut s = super::chunks::Split::default();
        for c in self.cols.iter().filter_map(|c| c.get()) {
            s += c.memory();
        }
        s
    }
}

impl Hnsw {
    /// Gives the index room for `n` attribute columns (none loaded).
    pub fn reserve_attrs(&mut self, n: usize) {
        if self.attrs.cols.len() < n {
            self.attrs.cols.resize_with(n, OnceLock::new);
        }
    }

    /// Column `i`, if loaded.
    #[inline]
    pub fn attr(&self, i: usize) -> Option<&Column> {
        self.attrs.cols.get(i)?.get().map(|c| &**c)
    }

    /// Installs column `i` (loaded by the owner from the state this version
    /// matches). Returns false if the index has no room for it; a column already
    /// there stays (it holds the same values).
    pub fn install_attr(&self, i: usize, col: Column) -> bool {
        match self.attrs.cols.get(i) {
            Some(c) => {
                let _ = c.set(Arc::new(col));
                true
            }
            None => false,
        }
    }

    /// The loaded columns.
    pub fn loaded_attrs(&self) -> Vec<usize> {
        (0..self.attrs.cols.len())
            .filter(|&i| self.attrs.cols[i].get().is_some())
            .collect()
    }

    /// Sets the cell of `slot` in column `i`, if that column is loaded.
    pub fn set_attr(&mut self, i: usize, slot: u32, c: Cell) {
        if let Some(col) = self.attrs.cols.get_mut(i).and_then(|c| c.get_mut()) {
            Arc::make_mut(col).set(slot, c);
        }
    }

    /// Forgets every loaded column (the owner loads them again when needed).
    pub fn unload_attrs(&mut self) {
        for c in &mut self.attrs.cols {
            c.take();
        }
    }

    /// Bytes of the loaded columns (shared, private), part of
    /// [`memory_split`](Self::memory_split).
    pub fn attr_memory(&self) -> (usize, usize) {
        let s = self.attrs.memory();
        (s.shared, s.private)
    }

    /// Whether `slot` holds a row a search may return (live, not deleted).
    #[inline]
    pub fn searchable(&self, slot: u32) -> bool {
        self.is_live(slot) && !self.nodes.deleted[slot as usize]
    }

    /// Whether every slot holds a row a search may return (no free slot, no
    /// tombstone): a pass over the slots then needs no [`searchable`](Self::searchable).
    #[inline]
    pub fn all_searchable(&self) -> bool {
        // every mapped slot is live, so as many rows as slots leaves none free
        self.len() == self.n_slots() && self.n_tombstones == 0
    }

    /// Marks `slot` changed without changing its node (its attributes changed), so
    /// the owner writes it out and logs it with the next flush.
    pub fn attrs_changed(&mut self, slot: u32) {
        if self.is_live(slot) {
            self.touch(super::nodes::Slot(slot));
        }
    }
}
