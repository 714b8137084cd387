//! Copy-on-write storage for the per-slot arrays: [`Chunked`], slots in fixed-size
//! chunks of [`CHUNK`] slots, each chunk an `Arc<[T]>` holding `CHUNK * w` elements
//! (`w` per slot: 1 for a flag or a number, `m0 + 1` for a level-0 list, `dims` for
//! a vector). Cloning copies the chunk pointers only; a write goes through
//! `Arc::make_mut` on the one chunk it touches, so a chunk shared with another
//! holder is copied once (then written in place), an unshared one is written in
//! place. [`RowMap`] does the same for the rowid -> slot map, in shards.
//!
//! The last chunk is allocated whole; the slots past [`Chunked::len`] in it always
//! hold the free value, so growing only moves the length.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::ops::{Index, IndexMut};
use std::sync::{Arc, OnceLock};

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

/// log2 of the slots per chunk.
const SHIFT: u32 = 8;
/// Slots per chunk.
pub(super) const CHUNK: usize = 1 << SHIFT;
const MASK: usize = CHUNK - 1;
/// Bytes of an `Arc`'s counts (strong and weak), counted with each chunk.
const ARC_HEADER: usize = 16;

/// Heap bytes an element owns beyond its own size (its share of the memory
/// figures).
pub(super) trait Elem: Clone {
    #[inline]
    fn heap_bytes(&self) -> usize {
        0
    }
}
impl Elem for u8 {}
impl Elem for bool {}
impl Elem for i64 {}
impl Elem for u32 {}
impl Elem for f32 {}
impl Elem for i8 {}
impl Elem for Vec<u32> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * 4
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn out_of_range(slot: usize, len: usize) -> ! {
    panic!("slot {slot} out of range (the arrays hold {len} slots)")
}

/// Bytes held, split into those shared with another holder and the private ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Split {
    pub(super) shared: usize,
    pub(super) private: usize,
}

impl Split {
    pub(super) fn add(&mut self, bytes: usize, shared: bool) {
        if shared {
            self.shared += bytes;
        } else {
            self.private += bytes;
        }
    }
    pub(super) fn total(self) -> usize {
        self.shared + self.private
    }
}

impl std::ops::AddAssign for Split {
    fn add_assign(&mut self, o: Split) {
        self.shared += o.shared;
        self.private += o.private;
    }
}

/// A per-slot array of `w` elements per slot in copy-on-write chunks (see the
/// module comment).
#[derive(Clone, Debug)]
pub(super) struct Chunked<T> {
    w: usize,
    len: usize,
    /// The value of a new slot's elements.
    free: T,
    chunks: Vec<Arc<[T]>>,
}

impl<T: Elem> Chunked<T> {
    pub(super) fn new(w: usize, free: T) -> Self {
        assert!(w >= 1);
        Chunked {
            w,
            len: 0,
            free,
            chunks: Vec::new(),
        }
    }

    /// A width-1 array holding `v` (slot `i` is `v[i]`).
    pub(super) fn from_vec(v: Vec<T>, free: T) -> Self {
        let len = v.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut it = v.into_iter();
        while chunks.len() * CHUNK < len {
            let c: Vec<T> = it
                .by_ref()
                .take(CHUNK)
                .chain(std::iter::repeat(free.clone()))
                .take(CHUNK)
                .collect();
            chunks.push(Arc::from(c));
        }
        Chunked {
            w: 1,
            len,
            free,
            chunks,
        }
    }

    /// Number of slots.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    #[track_caller]
    fn check(&self, slot: usize) {
        if slot >= self.len {
            out_of_range(slot, self.len);
        }
    }

    /// The `w` elements of `slot`.
    #[inline]
    #[track_caller]
    pub(super) fn get(&self, slot: usize) -> &[T] {
        self.check(slot);
        let w = self.w;
        let b = (slot & MASK) * w;
        &self.chunks[slot >> SHIFT][b..b + w]
    }

    /// The `w` elements of `slot`, for writing: copies its chunk first if another
    /// holder shares it.
    #[inline]
    #[track_caller]
    pub(super) fn get_mut(&mut self, slot: usize) -> &mut [T] {
        self.check(slot);
        let w = self.w;
        let b = (slot & MASK) * w;
        &mut Arc::make_mut(&mut self.chunks[slot >> SHIFT])[b..b + w]
    }

    /// The elements of every slot in order (width 1: the values).
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .take(self.len * self.w)
    }

    /// The chunks' elements in slot order, one slice per chunk (the last one cut
    /// at the length): for scans that go over every slot.
    pub(super) fn slices(&self) -> impl Iterator<Item = &[T]> + '_ {
        let mut left = self.len * self.w;
        self.chunks.iter().map(move |c| {
            let n = left.min(c.len());
            left -= n;
            &c[..n]
        })
    }

    /// Room in the chunk table for `n` slots in total.
    pub(super) fn reserve(&mut self, n: usize) {
        let want = n.div_ceil(CHUNK);
        self.chunks
            .reserve_exact(want.saturating_sub(self.chunks.len()));
    }

    /// Grows to `n` slots (no-op if it has as many), the new ones free. Returns the
    /// number of slots of the chunks allocated (0 if none).
    pub(super) fn grow_to(&mut self, n: usize) -> usize {
        if n <= self.len {
            return 0;
        }
        let want = n.div_ceil(CHUNK);
        let added = want.saturating_sub(self.chunks.len()) * CHUNK;
        while self.chunks.len() < want {
            let c: Arc<[T]> = std::iter::repeat_n(self.free.clone(), CHUNK * self.w).collect();
            self.chunks.push(c);
        }
        self.len = n;
        added
    }

    /// Drops every slot from `n` on.
    pub(super) fn truncate(&mut self, n: usize) {
        if n >= self.len {
            return;
        }
        let keep = n.div_ceil(CHUNK);
        // the slots of the last kept chunk past `n` (up to the old length) go back
        // to the free value
        let end = self.len.min(keep * CHUNK);
        self.chunks.truncate(keep);
        if n < end {
            let w = self.w;
            let c = Arc::make_mut(&mut self.chunks[keep - 1]);
            let lo = (n & MASK) * w;
            let hi = lo + (end - n) * w;
            c[lo..hi].fill(self.free.clone());
        }
        self.len = n;
    }

    /// Bytes held (each chunk's allocation with what its elements own, and the
    /// chunk table), split by whether another holder shares them. The table of
    /// chunk pointers is private to each holder.
    pub(super) fn memory(&self) -> Split {
        let mut s = Split::default();
        s.add(self.chunks.capacity() * size_of::<Arc<[T]>>(), false);
        for c in &self.chunks {
            let own: usize = c.iter().map(Elem::heap_bytes).sum();
            let bytes = ARC_HEADER + c.len() * size_of::<T>() + own;
            s.add(bytes, Arc::strong_count(c) > 1);
        }
        s
    }
}

impl<T: Elem> Index<usize> for Chunked<T> {
    type Output = T;
    /// Slot `i` of a width-1 array.
    #[inline]
    #[track_caller]
    fn index(&self, i: usize) -> &T {
        debug_assert_eq!(self.w, 1);
        self.check(i);
        &self.chunks[i >> SHIFT][i & MASK]
    }
}

impl<T: Elem> IndexMut<usize> for Chunked<T> {
    /// Slot `i` of a width-1 array, for writing (copy-on-write of its chunk).
    #[inline]
    #[track_caller]
    fn index_mut(&mut self, i: usize) -> &mut T {
        debug_assert_eq!(self.w, 1);
        self.check(i);
        &mut Arc::make_mut(&mut self.chunks[i >> SHIFT])[i & MASK]
    }
}

/// Shards of the row map.
const SHARDS: usize = 64;

/// The row map's hash of a rowid: splitmix64's finaliser over the rowid xor a key
/// drawn once per process (from std's random hasher state). Rowids are the
/// application's (dense, sequential or strided: multiples of a power of two mix
/// like any other), and the key makes the buckets differ from process to process
/// (not a cryptographic guarantee, as SipHash's is meant to be). SipHash costs
/// about twice as much per insert or lookup (BENCHMARKS.md), which a load of a
/// million rows pays a million times.
#[derive(Clone, Copy, Debug)]
pub(super) struct RowHash(u64);

impl Default for RowHash {
    fn default() -> Self {
        static KEY: OnceLock<u64> = OnceLock::new();
        RowHash(*KEY.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u64)))
    }
}

impl BuildHasher for RowHash {
    type Hasher = RowHasher;
    fn build_hasher(&self) -> RowHasher {
        RowHasher(self.0)
    }
}

/// See [`RowHash`]; only `i64` keys are hashed.
#[derive(Clone, Copy, Debug)]
pub(super) struct RowHasher(u64);

impl Hasher for RowHasher {
    fn write(&mut self, bytes: &[u8]) {
        // (not reached for i64 keys; kept correct for any other use)
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
    }
    fn write_i64(&mut self, i: i64) {
        let mut x = (i as u64) ^ self.0;
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        self.0 = x ^ (x >> 31);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type Shard = HashMap<i64, Slot, RowHash>;

/// The rowid -> slot map in [`SHARDS`] copy-on-write shards chosen by a hash of
/// the rowid: a write copies (if shared) only the shard it goes to.
#[derive(Clone, Debug)]
pub(super) struct RowMap {
    shards: Vec<Arc<Shard>>,
}

impl Default for RowMap {
    fn default() -> Self {
        RowMap {
            shards: (0..SHARDS).map(|_| Arc::new(Shard::default())).collect(),
        }
    }
}

#[inline]
fn shard_of(rowid: i64) -> usize {
    // Fibonacci hashing: the top bits of a multiplicative hash
    ((rowid as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARDS.trailing_zeros())) as usize
}

impl RowMap {
    #[inline]
    pub(super) fn get(&self, rowid: i64) -> Option<Slot> {
        self.shards[shard_of(rowid)].get(&rowid).copied()
    }
    #[inline]
    pub(super) fn contains(&self, rowid: i64) -> bool {
        self.shards[shard_of(rowid)].contains_key(&rowid)
    }
    /// Returns the slot `rowid` had.
    pub(super) fn insert(&mut self, rowid: i64, slot: Slot) -> Option<Slot> {
        Arc::make_mut(&mut self.shards[shard_of(rowid)]).insert(rowid, slot)
    }
    /// Inserts every pair, shard by shard (a shard's table then stays in cache
    /// while it fills, where inserts in the given order would miss the cache at
    /// every one for a large map). Returns the rowids given more than once (the
    /// last pair of such a rowid wins).
    pub(super) fn insert_all(&mut self, pairs: &[(i64, Slot)]) -> Vec<i64> {
        let mut counts = [0usize; SHARDS + 1];
        for &(r, _) in pairs {
            counts[shard_of(r) + 1] += 1;
        }
        for i in 1..=SHARDS {
            counts[i] += counts[i - 1];
        }
        let mut at = counts;
        let mut order = vec![(0i64, Slot(0)); pairs.len()];
        for &(r, s) in pairs {
            let sh = shard_of(r);
            order[at[sh]] = (r, s);
            at[sh] += 1;
        }
        let mut twice = Vec::new();
        for (sh, map) in self.shards.iter_mut().enumerate() {
            let part = &order[counts[sh]..counts[sh + 1]];
            if part.is_empty() {
                continue;
            }
            let map = Arc::make_mut(map);
            map.reserve(part.len());
            for &(r, s) in part {
                if map.insert(r, s).is_some() {
                    twice.push(r);
                }
            }
        }
        twice
    }
    pub(super) fn remove(&mut self, rowid: i64) -> Option<Slot> {
        let sh = &mut self.shards[shard_of(rowid)];
        if !sh.contains_key(&rowid) {
            return None;
        }
        Arc::make_mut(sh).remove(&rowid)
    }
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }
    pub(super) fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.is_empty())
    }
    /// Room for `additional` more rows (spread over the shards; a shard that has
    /// the room already is left alone, shared or not).
    pub(super) fn reserve(&mut self, additional: usize) {
        if additional == 0 {
            return;
        }
        // a shard gets its share plus some slack for the spread of the hash
        let per = additional.div_ceil(SHARDS);
        let per = per + per / 8 + 4;
        for sh in &mut self.shards {
            if sh.capacity() - sh.len() < per {
                Arc::make_mut(sh).reserve(per);
            }
        }
    }
    pub(super) fn iter(&self) -> impl Iterator<Item = (i64, Slot)> + '_ {
        self.shards
            .iter()
            .flat_map(|s| s.iter().map(|(&r, &s)| (r, s)))
    }
    /// A map of the same rows as `rows`, keeping (shared) every shard of `self`
    /// that already holds exactly the same rows, and the capacity of the others.
    pub(super) fn rebuilt(&self, rows: impl Iterator<Item = (i64, Slot)>) -> RowMap {
        let mut fresh: Vec<Shard> = self
            .shards
            .iter()
            .map(|s| Shard::with_capacity_and_hasher(s.capacity(), RowHash::default()))
            .collect();
        for (r, s) in rows {
            fresh[shard_of(r)].insert(r, s);
        }
        RowMap {
            shards: fresh
                .into_iter()
                .zip(&self.shards)
                .map(|(f, old)| {
                    if f == **old {
                        Arc::clone(old)
                    } else {
                        Arc::new(f)
                    }
                })
                .collect(),
        }
    }
    /// Bytes of the shards' tables (16 per entry of capacity), split by sharing.
    pub(super) fn memory(&self) -> Split {
        let mut s = Split::default();
        for sh in &self.shards {
            s.add(sh.capacity() * 16, Arc::strong_count(sh) > 1);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_truncate_and_copy_on_write() {
        let mut a: Chunked<u32> = Chunked::new(3, 7);
        assert_eq!(a.grow_to(CHUNK + 1), 2 * CHUNK);
        assert_eq!(a.len(), CHUNK + 1);
        assert!(a.iter().all(|&x| x == 7));
        a.get_mut(CHUNK)[1] = 5;
        a.get_mut(2)[0] = 1;
        let b = a.clone();
        assert_eq!(a.memory().private, a.chunks.capacity() * 16);
        a.get_mut(3)[2] = 9;
        // the first chunk was copied; the second is still shared
        assert_eq!(b.get(3), &[7, 7, 7]);
        assert_eq!(a.get(3), &[7, 7, 9]);
        assert_eq!(b.get(2), &[1, 7, 7]);
        assert!(Arc::ptr_eq(&a.chunks[1], &b.chunks[1]));
        assert!(!Arc::ptr_eq(&a.chunks[0], &b.chunks[0]));
        // truncating into a chunk resets its tail to the free value
        a.truncate(2);
        assert_eq!(a.len(), 2);
        assert_eq!(a.chunks.len(), 1);
        a.grow_to(CHUNK + 1);
        assert_eq!(a.get(2), &[7, 7, 7]);
        assert_eq!(a.get(3), &[7, 7, 7]);
        assert_eq!(a.get(CHUNK), &[7, 7, 7]);
        assert_eq!(b.get(CHUNK), &[7, 5, 7]);
        assert_eq!(b.get(3), &[7, 7, 7]);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn reading_past_the_length_panics() {
        let mut a: Chunked<u8> = Chunked::new(1, 0);
        a.grow_to(3);
        let _ = a[3];
    }

    #[test]
    fn from_vec_and_index() {
        let v: Vec<Vec<u32>> = (0..(CHUNK as u32 + 3)).map(|i| vec![i]).collect();
        let mut c = Chunked::from_vec(v.clone(), Vec::new());
        assert_eq!(c.len(), v.len());
        assert!(c.iter().eq(v.iter()));
        assert!(c.slices().flatten().eq(v.iter()));
        assert_eq!(c.slices().map(<[_]>::len).collect::<Vec<_>>(), [CHUNK, 3]);
        c[CHUNK + 2].push(1);
        assert_eq!(c[CHUNK + 2], vec![CHUNK as u32 + 2, 1]);
        c.grow_to(CHUNK + 5);
        assert!(c[CHUNK + 4].is_empty());
    }

    #[test]
    fn row_map_shards() {
        let mut m = RowMap::default();
        for r in 0..1000i64 {
            assert_eq!(m.insert(r * 7, Slot(r as u32)), None);
        }
        let before = m.clone();
        assert_eq!(m.memory().private, 0);
        assert_eq!(m.remove(14), Some(Slot(2)));
        assert_eq!(m.remove(14), None);
        assert_eq!(m.len(), 999);
        assert_eq!(before.len(), 1000);
        assert_eq!(before.get(14), Some(Slot(2)));
        // one shard was copied
        let sp = m.memory();
        assert!(sp.private > 0 && sp.private * 8 < sp.total());
        let again = m.rebuilt(before.iter());
        assert_eq!(again.len(), 1000);
        // every shard but the one written is still shared
        let shared = again
            .shards
            .iter()
            .zip(&m.shards)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert_eq!(shared, SHARDS - 1);
    }
}
