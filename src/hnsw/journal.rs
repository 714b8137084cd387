//! The undo journal and dirty tracking: a frame of node before-images per savepoint
//! level (with the entry point, slot count, tombstone count and owner tag at the
//! time it opened), restored by `rollback_to`/`rollback`, dropped by
//! `release`/`commit`; and the set of slots changed since the owner last wrote
//! them out.

use std::collections::HashSet;

use super::nodes::{Image, Slot};
use super::{Hnsw, FREE};

/// The owner's name for the persisted state an index matches: a generation
/// counter and a random token (so two states that happen to carry the same
/// generation, e.g. a file replaced by a copy that diverged, are told apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tag {
    pub generation: i64,
    pub token: i64,
}

#[derive(Clone, Debug)]
pub(super) struct Frame {
    level: i32,
    touched: HashSet<Slot>,
    images: Vec<Image>,
    entry: Option<Slot>,
    max_level: u8,
    n_slots: usize,
    n_tombstones: usize,
    tag: Tag,
}

impl Hnsw {
    /// The owner's tag (see the module comment).
    pub fn tag(&self) -> Tag {
        self.tag
    }
    pub fn set_tag(&mut self, tag: Tag) {
        self.tag = tag;
    }

    /// Turns the journal and dirty tracking off (for building a fresh index) or on.
    pub fn set_journaling(&mut self, on: bool) {
        self.journaling = on;
    }

    pub(super) fn frame(&mut self) -> &mut Frame {
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
            n_slots: self.nodes.levels.len(),
            n_tombstones: self.n_tombstones,
            tag: self.tag,
        });
    }

    /// Records the before-image of `slot` once per savepoint frame.
    pub(super) fn touch(&mut self, slot: Slot) {
        if !self.journaling {
            return;
        }
        self.dirty.insert(slot);
        let s = slot.idx();
        {
            let f = self.frame();
            if s >= f.n_slots || !f.touched.insert(slot) {
                return;
            }
        }
        let img = self.nodes.image(slot);
        self.journal
            .last_mut()
            .expect("frame() made one")
            .images
            .push(img);
    }

    pub(super) fn touch_meta(&mut self) {
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
                if img.slot.idx() < below.n_slots && below.touched.insert(img.slot) {
                    below.images.push(img);
                }
            }
        }
    }

    fn restore_frame(&mut self, f: Frame) {
        self.inlinks = None;
        for img in f.images.into_iter().rev() {
            self.nodes.restore(img);
        }
        self.nodes.truncate(f.n_slots);
        self.entry = f.entry;
        self.max_level = f.max_level;
        self.n_tombstones = f.n_tombstones;
        self.tag = f.tag;
    }

    fn rebuild_maps(&mut self) {
        self.free.clear();
        // Slots freed by a purge earlier in this transaction stay unusable until
        // commit (a rollback may bring them back with their vectors); those the
        // rollback brought back are live again.
        let pending: HashSet<Slot> = self.pending_free.iter().copied().collect();
        self.pending_free
            .retain(|&s| s.idx() < self.nodes.len() && self.nodes.levels[s.idx()] == FREE);
        let mut rows = Vec::with_capacity(self.map.len());
        for s in (0..self.nodes.len() as u32).map(Slot) {
            if self.nodes.levels[s.idx()] == FREE {
                if !pending.contains(&s) {
                    self.free.insert(s);
                }
            } else if !self.nodes.deleted[s.idx()] {
                rows.push((self.nodes.rowids[s.idx()], s));
            }
        }
        // (the shards that hold the same rows as before stay shared)
        self.map = self.map.rebuilt(rows.into_iter());
    }

    /// Undoes everything since savepoint `level` was opened; it stays open.
    ///
    /// A table that joins a transaction late (its first write comes after some
    /// SAVEPOINTs) is told only about the innermost level; the outer ones were
    /// opened before it changed anything, so rolling back to one of them restores
    /// the state at the start of the transaction.
    pub fn rollback_to(&mut self, level: i32) {
        // Attribute columns are not journaled: the owner reloads them.
        self.unload_attrs();
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
        self.unload_attrs();
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
        let mut v: Vec<u32> = self.dirty.iter().map(|s| s.0).collect();
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
}
