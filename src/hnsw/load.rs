//! Loading from storage (nodes, then vectors), catching up with another
//! connection's commit, and the structural check of a loaded graph.

use super::problem::GraphProblem;
use std::collections::BTreeSet;

use super::chunks::Chunked;
use super::nodes::{Slot, Vectors};
use super::quant;
use super::{codec, Hnsw, FREE, MAX_LEVEL};

impl Hnsw {
    /// Adds a node read from storage: its slot, rowid and encoded links (see
    /// `codec`). Its vector comes later with [`load_vector`](Self::load_vector); call
    /// [`finish_load`](Self::finish_load) after the last one.
    pub fn load_node(&mut self, slot: u32, rowid: i64, node: &[u8]) -> Result<(), GraphProblem> {
        self.inlinks = None;
        let slot = Slot(slot);
        let s = slot.idx();
        if s > 50_000_000 {
            return Err(GraphProblem::SlotOutOfRange(slot.0));
        }
        self.grow_to(s + 1);
        if self.nodes.levels[s] != FREE {
            return Err(GraphProblem::DuplicateNode(slot.0));
        }
        let (m, m0) = (self.p.m, self.m0);
        let bad = |detail: String| GraphProblem::BadNode {
            slot: slot.0,
            detail,
        };
        let level = codec::level_of(node).map_err(bad)?;
        let mut upper = vec![0u32; level * (m + 1)];
        let links0 = self.nodes.list_mut(slot, 0);
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
        .map_err(bad)?;
        self.nodes.levels[s] = level as u8;
        self.nodes.rowids[s] = rowid;
        self.nodes.upper[s] = upper;
        // (mapped all at once by map_loaded)
        self.loaded_rows.push((rowid, slot));
        Ok(())
    }

    /// Maps the rowids of the nodes loaded so far to their slots (after the last
    /// [`load_node`](Self::load_node); [`vector_fill`](Self::vector_fill) and
    /// [`finish_load`](Self::finish_load) need it). A rowid in two nodes is a
    /// problem.
    pub fn map_loaded(&mut self) -> Result<(), GraphProblem> {
        let pairs = std::mem::take(&mut self.loaded_rows);
        match self.map.insert_all(&pairs).first() {
            Some(&r) => Err(GraphProblem::RowidTwice(r)),
            None => Ok(()),
        }
    }

    /// Sets the vector of a loaded node from its stored little-endian float32 bytes
    /// (normalised here under cosine). Returns false if the rowid has no node or
    /// the vector is not finite.
    pub fn load_vector(&mut self, rowid: i64, bytes: &[u8]) -> bool {
        // (the nodes loaded before it are mapped first)
        if self.map_loaded().is_err() {
            return false;
        }
        let mut fill = self.vector_fill();
        let r = fill.fill(self, rowid, bytes);
        self.finish_fill(fill);
        r == Filled::Ok
    }

    /// Takes the vectors out of a loading index, to be set from the stored rows
    /// by a [`VectorFill`] (on another thread if need be: the index itself is
    /// then only read, for the rowid -> slot map) and put back by
    /// [`finish_fill`](Self::finish_fill). Call after the last
    /// [`load_node`](Self::load_node): the slots must exist.
    pub fn vector_fill(&mut self) -> VectorFill {
        let empty = match self.nodes.vectors {
            Vectors::F32(_) => Vectors::F32(Chunked::new(self.p.dims, 0.0)),
            Vectors::I8(_) => Vectors::I8(Chunked::new(self.p.dims + quant::TRAILER, 0)),
        };
        VectorFill {
            vectors: std::mem::replace(&mut self.nodes.vectors, empty),
            dims: self.p.dims,
            normalize: self.p.metric.normalizes(),
            buf: Vec::with_capacity(self.p.dims),
            next: 0,
        }
    }

    /// Puts back the vectors a [`VectorFill`] set.
    pub fn finish_fill(&mut self, fill: VectorFill) {
        self.nodes.vectors = fill.vectors;
    }
}

/// The vectors of a loading index, set row by row from their stored bytes (see
/// [`Hnsw::vector_fill`]).
#[derive(Debug)]
pub struct VectorFill {
    vectors: Vectors,
    dims: usize,
    normalize: bool,
    /// The decoded floats of the vector being quantized.
    buf: Vec<f32>,
    /// The slot after the last one filled.
    next: usize,
}

/// What [`VectorFill::fill`] did with a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filled {
    Ok,
    /// The rowid has no node.
    NoNode,
    /// The vector holds a NaN or an infinity (what the slot holds then is not to
    /// be used: the load or catch-up fails).
    NotFinite,
    /// A persisted int8 code row is not well formed (or the index is not
    /// quantized).
    BadCode,
}

impl VectorFill {
    /// Sets the vector of `rowid`'s node in `h` (the index this fill was taken
    /// from) from the little-endian float32 `bytes`: `dims` components (missing
    /// ones 0), normalised under cosine, then quantized if the index is.
    pub fn fill(&mut self, h: &Hnsw, rowid: i64, bytes: &[u8]) -> Filled {
        let Some(slot) = self.slot_for(h, rowid) else {
            return Filled::NoNode;
        };
        let d = self.dims;
        let decode = |out: &mut [f32]| {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
            let n = (bytes.len() / 4).min(d);
            out[n..].fill(0.0);
            // (all exponent bits set: an infinity or a NaN; or-ed without an early
            // exit, which vectorises)
            let exp = 0x7f80_0000u32;
            out.iter()
                .fold(0u32, |acc, x| acc | u32::from(x.to_bits() & exp == exp))
                == 0
        };
        match &mut self.vectors {
            Vectors::F32(c) => {
                // (decoded straight into the slot: a load that meets a non-finite
                // vector fails, and a catch-up that does is dropped, so what the
                // slot then holds is never used)
                let dst = c.get_mut(slot.idx());
                if !decode(dst) {
                    return Filled::NotFinite;
                }
                if self.normalize {
                    crate::vector::normalize(dst);
                }
            }
            Vectors::I8(c) => {
                self.buf.resize(d, 0.0);
                if !decode(&mut self.buf) {
                    return Filled::NotFinite;
                }
                if self.normalize {
                    crate::vector::normalize(&mut self.buf);
                }
                quant::encode(&self.buf, c.get_mut(slot.idx()));
            }
        }
        Filled::Ok
    }

    /// The slot of `rowid`'s node. The rows come in rowid order, which is slot
    /// order for rows inserted one after another: the slot after the last one is
    /// tried first, and the map (a cache miss per row at a million rows) asked
    /// only when that is not it. (A rowid in two nodes fails the load in
    /// map_loaded, so in any index that loads, a live slot holding this rowid is
    /// the map's answer.)
    fn slot_for(&mut self, h: &Hnsw, rowid: i64) -> Option<Slot> {
        let n = h.nodes.len();
        let next = self.next;
        let slot = if next < n && h.nodes.rowids[next] == rowid && h.nodes.levels[next] != FREE {
            Slot(next as u32)
        } else {
            h.map.get(rowid)?
        };
        self.next = slot.idx() + 1;
        Some(slot)
    }

    /// Sets the int8 codes of `rowid`'s node in `h` (a quantized index) from a
    /// persisted code row (`T_codes`: `dims` codes and the trailer, exactly as
    /// the index keeps them), checked to be well formed.
    pub fn fill_code(&mut self, h: &Hnsw, rowid: i64, bytes: &[u8]) -> Filled {
        let Some(slot) = self.slot_for(h, rowid) else {
            return Filled::NoNode;
        };
        let Vectors::I8(c) = &mut self.vectors else {
            return Filled::BadCode;
        };
        let dst = c.get_mut(slot.idx());
        if bytes.len() != dst.len() {
            return Filled::BadCode;
        }
        for (d, &b) in dst.iter_mut().zip(bytes) {
            *d = b as i8;
        }
        if !quant::well_formed(dst, h.kern.dot_i8) {
            return Filled::BadCode;
        }
        Filled::Ok
    }
}

impl Hnsw {
    /// Catching up with another connection's commit: replaces whatever is at
    /// `slot` by the stored node (links, rowid) and vector. Not journaled: it is
    /// only used outside this connection's own transactions.
    pub fn apply_node(
        &mut self,
        slot: u32,
        rowid: i64,
        node: &[u8],
        vec: &[u8],
    ) -> Result<(), GraphProblem> {
        self.inlinks = None;
        self.apply_free(slot);
        self.free.remove(&Slot(slot));
        if let Some(other) = self.map.get(rowid) {
            // the rowid moved to this slot; its old slot is rewritten or freed by
            // the same commit
            if other != Slot(slot) {
                self.map.remove(rowid);
            }
        }
        self.load_node(slot, rowid, node)?;
        self.map_loaded()?;
        if vec.len() != self.p.dims * 4 || !self.load_vector(rowid, vec) {
            return Err(GraphProblem::BadVector(rowid));
        }
        Ok(())
    }

    /// Catching up: `slot` is free in the committed graph.
    pub fn apply_free(&mut self, slot: u32) {
        self.inlinks = None;
        let slot = Slot(slot);
        let s = slot.idx();
        if s >= self.nodes.len() || self.nodes.levels[s] == FREE {
            if s < self.nodes.len() {
                self.free.insert(slot);
            }
            return;
        }
        let r = self.nodes.rowids[s];
        if self.map.get(r) == Some(slot) {
            self.map.remove(r);
        }
        self.clear_slot(slot);
        self.free.insert(slot);
    }

    /// All free slots (after loading or catching up; no transaction is open).
    fn free_slots(&self) -> BTreeSet<Slot> {
        (0..self.nodes.len() as u32)
            .map(Slot)
            .filter(|&s| self.nodes.levels[s.idx()] == FREE)
            .collect()
    }

    /// Catching up: the committed entry point; then checks the nodes that changed.
    pub fn finish_apply(
        &mut self,
        entry: Option<u32>,
        changed: &[u32],
    ) -> Result<(), GraphProblem> {
        self.entry = entry.map(Slot);
        self.max_level = entry
            .filter(|&e| (e as usize) < self.nodes.len())
            .map(|e| self.nodes.levels[e as usize])
            .unwrap_or(0);
        if let Some(e) = entry {
            if !self.is_live(e) {
                return Err(GraphProblem::EntryNotLive(e));
            }
        }
        for &s in changed {
            if !self.is_live(s) {
                continue;
            }
            for lc in 0..=self.nodes.levels[s as usize] as usize {
                for &x in self.links(s, lc) {
                    if !self.is_live(x) || (self.nodes.levels[x as usize] as usize) < lc {
                        return Err(GraphProblem::BadLink {
                            slot: s,
                            target: x,
                            level: lc,
                        });
                    }
                }
            }
        }
        if self
            .nodes
            .levels
            .iter()
            .any(|&l| l != FREE && l > self.max_level)
        {
            return Err(GraphProblem::NodeAboveEntry);
        }
        self.free = self.free_slots();
        Ok(())
    }

    /// Validates the loaded graph and sets the entry point. On error the index must
    /// not be used.
    pub fn finish_load(&mut self, entry: Option<u32>) -> Result<(), GraphProblem> {
        self.finish_load_checked(entry, None)
    }

    /// [`finish_load`](Self::finish_load) with the links already checked: `links`
    /// is what [`check_links`](Self::check_links) found (a loader checks them on
    /// its second thread while the first one still reads the vectors).
    pub fn finish_load_checked(
        &mut self,
        entry: Option<u32>,
        links: Option<Vec<GraphProblem>>,
    ) -> Result<(), GraphProblem> {
        self.map_loaded()?;
        self.free = self.free_slots();
        self.entry = entry.map(Slot);
        self.max_level = entry
            .filter(|&e| (e as usize) < self.nodes.len())
            .map(|e| self.nodes.levels[e as usize])
            .unwrap_or(0);
        let mut problems = self.check_entry();
        problems.extend(links.unwrap_or_else(|| self.check_links()));
        problems.truncate(101);
        if !problems.is_empty() {
            let more = problems.len() - 1;
            let first = problems.swap_remove(0);
            return Err(if more == 0 {
                first
            } else {
                GraphProblem::Several {
                    first: Box::new(first),
                    more,
                }
            });
        }
        self.journal.clear();
        self.dirty.clear();
        self.meta_dirty = false;
        Ok(())
    }

    /// Structural problems: links to free or missing slots, levels, entry point.
    pub fn check(&self) -> Vec<GraphProblem> {
        let mut out = self.check_entry();
        out.extend(self.check_links());
        out.truncate(101);
        out
    }

    /// The entry point's problems: missing, not live, not on the top level.
    pub fn check_entry(&self) -> Vec<GraphProblem> {
        let mut out = Vec::new();
        let n = self.nodes.levels.len();
        match self.entry {
            None if !self.map.is_empty() => out.push(GraphProblem::NoEntry),
            Some(e) if e.idx() >= n || self.nodes.levels[e.idx()] == FREE => {
                out.push(GraphProblem::EntryNotLive(e.0))
            }
            Some(e) => {
                let top = (0..n)
                    .filter(|&s| self.nodes.levels[s] != FREE)
                    .map(|s| self.nodes.levels[s])
                    .max();
                if top != Some(self.nodes.levels[e.idx()]) {
                    out.push(GraphProblem::EntryNotTop(e.0));
                }
            }
            None => {}
        }
        out
    }

    /// The links' problems: to free or missing slots, above the target's level,
    /// to the node itself, twice in one list; levels out of range. At most 101.
    pub fn check_links(&self) -> Vec<GraphProblem> {
        let mut out = Vec::new();
        let n = self.nodes.levels.len();
        // Bitsets of the live slots and of the targets seen in the list at hand: a
        // million slots take 125 KB each, which stay in cache, where the levels
        // (1 MB) or a tag per slot (4 MB) would cost a cache miss per link.
        let words = n.div_ceil(64);
        let mut live = vec![0u64; words];
        for s in 0..n {
            if self.nodes.levels[s] != FREE {
                live[s / 64] |= 1 << (s % 64);
            }
        }
        let is_live = |x: usize| x < n && live[x / 64] & (1 << (x % 64)) != 0;
        let mut seen = vec![0u64; words];
        for s in 0..n {
            if !is_live(s) {
                continue;
            }
            let lvl = self.nodes.levels[s];
            if lvl > MAX_LEVEL {
                out.push(GraphProblem::LevelTooHigh {
                    slot: s as u32,
                    level: lvl,
                });
                continue;
            }
            for lc in 0..=lvl as usize {
                let l = self.links(s as u32, lc);
                for &x in l {
                    if !is_live(x as usize) {
                        out.push(GraphProblem::LinkToMissing {
                            slot: s as u32,
                            rowid: self.nodes.rowids[s],
                            target: x,
                            level: lc,
                        });
                    } else if lc > 0 && (self.nodes.levels[x as usize] as usize) < lc {
                        out.push(GraphProblem::LinkAboveLevel {
                            slot: s as u32,
                            target: x,
                            level: lc,
                        });
                    } else if x as usize == s {
                        out.push(GraphProblem::SelfLink {
                            slot: s as u32,
                            level: lc,
                        });
                    } else if seen[x as usize / 64] & (1 << (x % 64)) != 0 {
                        out.push(GraphProblem::DuplicateLink {
                            slot: s as u32,
                            target: x,
                            level: lc,
                        });
                    }
                    if (x as usize) < n {
                        seen[x as usize / 64] |= 1 << (x % 64);
                    }
                    if out.len() > 100 {
                        return out;
                    }
                }
                for &x in l {
                    if (x as usize) < n {
                        seen[x as usize / 64] = 0;
                    }
                }
            }
        }
        out
    }

    /// A graph whose links are all valid can still be degenerate (every level-0 list
    /// emptied, or all pointing at one node): searches then silently miss most rows.
    /// Some nodes out of reach are legitimate: after deletes, and under `dot`, whose
    /// graphs are poorly connected by nature (a fifth of the nodes out of reach is
    /// seen on random data), so only more than half out of reach is reported. This
    /// is veclite_check's test, not the loader's: a table whose graph fails it still
    /// answers (a walk that finds fewer than k rows falls back to an exact pass).
    pub fn unreachable_problem(&self) -> Option<GraphProblem> {
        let e = self.entry?;
        let live = self.map.len() + self.n_tombstones;
        let mut seen = vec![false; self.nodes.levels.len()];
        let mut stack = vec![e];
        seen[e.idx()] = true;
        let mut reached = 0usize;
        while let Some(s) = stack.pop() {
            reached += 1;
            for &x in self.nodes.links(s, 0) {
                let xi = x as usize;
                if xi < seen.len() && !seen[xi] && self.nodes.levels[xi] != FREE {
                    seen[xi] = true;
                    stack.push(Slot(x));
                }
            }
        }
        let unreached = live.saturating_sub(reached);
        (unreached > 5 && unreached * 2 > live)
            .then_some(GraphProblem::Unreachable { unreached, live })
    }
}
