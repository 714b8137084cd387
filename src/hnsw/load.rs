//! Loading from storage (nodes, then vectors), catching up with another
//! connection's commit, and the structural check of a loaded graph.

use super::problem::GraphProblem;
use std::collections::BTreeSet;

use super::nodes::{QRef, Slot};
use super::quant::{self, Quantize};
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
        if self.map.insert(rowid, slot).is_some() {
            return Err(GraphProblem::RowidTwice(rowid));
        }
        Ok(())
    }

    /// Sets the vector of a loaded node from its stored little-endian float32 bytes
    /// (normalised here under cosine). Returns false if the rowid has no node.
    pub fn load_vector(&mut self, rowid: i64, bytes: &[u8]) -> bool {
        let prep = self.vector_prep();
        let mut batch = prep.batch(1);
        prep.prepare(bytes, &mut batch);
        self.store_prepared(rowid, &batch, 0)
    }

    /// How this index turns a stored vector into what a slot holds, as a value of
    /// its own: a loader can prepare vectors on other threads.
    pub fn vector_prep(&self) -> VectorPrep {
        VectorPrep {
            dims: self.p.dims,
            normalize: self.p.metric.normalizes(),
            quantize: self.p.quantize,
        }
    }

    /// Sets the vector of `rowid`'s node to vector `i` of `batch` (prepared by this
    /// index's [`vector_prep`](Self::vector_prep)). Returns false if the rowid has no
    /// node.
    pub fn store_prepared(&mut self, rowid: i64, batch: &Prepared, i: usize) -> bool {
        let Some(slot) = self.map.get(rowid) else {
            return false;
        };
        let w = self.vector_prep().width();
        match batch {
            Prepared::F32(v) => self
                .nodes
                .vectors
                .set(slot, QRef::F32(&v[i * w..(i + 1) * w])),
            Prepared::I8(v) => self
                .nodes
                .vectors
                .set(slot, QRef::I8(&v[i * w..(i + 1) * w])),
        }
        true
    }
}

/// Prepares stored vectors for an index (see [`Hnsw::vector_prep`]).
#[derive(Clone, Copy, Debug)]
pub struct VectorPrep {
    dims: usize,
    normalize: bool,
    quantize: Quantize,
}

/// Vectors prepared one after another, each [`VectorPrep::width`] elements.
#[derive(Debug)]
pub enum Prepared {
    F32(Vec<f32>),
    I8(Vec<i8>),
}

impl VectorPrep {
    /// Elements a slot holds: `dims` floats, or `dims` codes and the trailer.
    pub fn width(&self) -> usize {
        match self.quantize {
            Quantize::None => self.dims,
            Quantize::Int8 => self.dims + quant::TRAILER,
        }
    }

    /// An empty batch with room for `n` vectors.
    pub fn batch(&self, n: usize) -> Prepared {
        match self.quantize {
            Quantize::None => Prepared::F32(Vec::with_capacity(n * self.width())),
            Quantize::Int8 => Prepared::I8(Vec::with_capacity(n * self.width())),
        }
    }

    /// Appends the vector of the little-endian float32 `bytes` to `batch`:
    /// `dims` components (missing ones 0), normalised under cosine, then quantized
    /// if the index is.
    pub fn prepare(&self, bytes: &[u8], batch: &mut Prepared) {
        let d = self.dims;
        let mut v: Vec<f32> = bytes
            .chunks_exact(4)
            .take(d)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        v.resize(d, 0.0);
        if self.normalize {
            crate::vector::normalize(&mut v);
        }
        match batch {
            Prepared::F32(out) => out.extend_from_slice(&v),
            Prepared::I8(out) => {
                let at = out.len();
                out.resize(at + d + quant::TRAILER, 0);
                quant::encode(&v, &mut out[at..]);
            }
        }
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
        self.free = self.free_slots();
        self.entry = entry.map(Slot);
        self.max_level = entry
            .filter(|&e| (e as usize) < self.nodes.len())
            .map(|e| self.nodes.levels[e as usize])
            .unwrap_or(0);
        let mut problems = self.check();
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
        let mut seen: Vec<u32> = vec![0; n];
        let mut tag: u32 = 0;
        for s in 0..n {
            let lvl = self.nodes.levels[s];
            if lvl == FREE {
                continue;
            }
            if lvl > MAX_LEVEL {
                out.push(GraphProblem::LevelTooHigh {
                    slot: s as u32,
                    level: lvl,
                });
                continue;
            }
            for lc in 0..=lvl as usize {
                let l = self.links(s as u32, lc);
                tag = tag.wrapping_add(1);
                for &x in l {
                    if x as usize >= n || self.nodes.levels[x as usize] == FREE {
                        out.push(GraphProblem::LinkToMissing {
                            slot: s as u32,
                            rowid: self.nodes.rowids[s],
                            target: x,
                            level: lc,
                        });
                    } else if (self.nodes.levels[x as usize] as usize) < lc {
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
                    } else if seen[x as usize] == tag {
                        out.push(GraphProblem::DuplicateLink {
                            slot: s as u32,
                            target: x,
                            level: lc,
                        });
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
