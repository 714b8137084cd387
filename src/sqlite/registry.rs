//! The process's loaded indexes, shared by every connection (of any SQLite
//! library in the process) that opens the same table of the same file.
//!
//! * Key: (VFS name, the file's device and inode, table name), never the schema
//!   name (one file may be attached under several names) nor the path (one file
//!   may have several). Only databases kept in a named file are shared: the temp
//!   schema, `:memory:`, `mode=memory`, memdb and `cache=shared` connections keep
//!   a private index ([`key`] returns None for them).
//! * Versions: immutable indexes by [`Tag`] (generation and random token), held
//!   weakly. A version lives while something pins it: a connection's current index
//!   (its last-used pin, dropped when it sees the generation move) or a query in
//!   progress. Nothing else keeps it; a version nothing pins is freed and drops out
//!   of the registry.
//! * A version is published only when it is exactly the stored state its tag
//!   names: after a load or catch-up, and by a writer at xSync (before the file
//!   commit: the tag's random token cannot be read from the file by anyone else
//!   until that commit lands, so readers never see uncommitted state and a reader
//!   that reads the new generation right after the commit finds it published).
//! * A running `veclite_rebuild` of the table leaves its [`Rebuild`] progress here
//!   (atomics the rebuilding connection updates without the lock), so `veclite_info`
//!   on another connection reads it from memory, with no SQL: under a rollback
//!   journal the writer's lock may keep it from reading the tables at all.
//! * The registry lock is held only to look up or publish; searches hold none.
//!   Loading is serialised per key ([`loading`]), so connections that miss the same
//!   version together load it once: the others wait for it and then find it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};
use std::time::Instant;

use super::ffi::Db;
use crate::hnsw::{Hnsw, Tag};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    vfs: String,
    dev: u64,
    ino: u64,
    table: String,
}

#[derive(Default)]
struct Entry {
    versions: Vec<(Tag, Weak<Hnsw>)>,
    loading: Arc<Mutex<()>>,
    /// A second connection has taken a version of this index: from then on
    /// writers keep the committed version for others (see `is_shared`).
    shared: bool,
    /// The rebuild running on this table, if any (one writer per file: at most one).
    rebuild: Option<Arc<Rebuild>>,
}

/// The progress of a running rebuild: rows read from the rows table, then rows
/// placed in the graph (`rows_done` of `rows_total`), then the graph being written.
pub struct Rebuild {
    started: Instant,
    rows_total: AtomicU64,
    rows_done: AtomicU64,
    phase: AtomicU8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading the rows (`rows_done` counts rows read).
    Reading = 0,
    /// Building the graph (`rows_done` counts rows placed).
    Building = 1,
    /// Writing the graph to the shadow tables (`rows_done` = `rows_total`).
    Writing = 2,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Reading => "reading",
            Phase::Building => "building",
            Phase::Writing => "writing",
        }
    }
}

impl Rebuild {
    pub fn set_total(&self, n: usize) {
        self.rows_total.store(n as u64, Ordering::Relaxed);
    }
    pub fn set_done(&self, n: usize) {
        self.rows_done.store(n as u64, Ordering::Relaxed);
    }
    pub fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Relaxed);
    }
    /// (rows_done, rows_total, phase, milliseconds since the start).
    pub fn snapshot(&self) -> (u64, u64, Phase, u64) {
        let phase = match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Reading,
            1 => Phase::Building,
            _ => Phase::Writing,
        };
        (
            self.rows_done.load(Ordering::Relaxed),
            self.rows_total.load(Ordering::Relaxed),
            phase,
            self.started.elapsed().as_millis() as u64,
        )
    }
}

/// Shows a rebuild's progress in the registry while it lives; dropping it (the
/// rebuild finished, failed or was interrupted) takes the progress away again.
pub struct RebuildGuard {
    key: Key,
    progress: Arc<Rebuild>,
}

impl RebuildGuard {
    pub fn progress(&self) -> &Rebuild {
        &self.progress
    }
}

impl Drop for RebuildGuard {
    fn drop(&mut self) {
        if let Some(e) = registry().get_mut(&self.key) {
            if e.rebuild
                .as_ref()
                .is_some_and(|r| Arc::ptr_eq(r, &self.progress))
            {
                e.rebuild = None;
            }
        }
    }
}

/// Starts showing a rebuild of `key`'s table (until the guard is dropped).
pub fn start_rebuild(key: &Key) -> RebuildGuard {
    let progress = Arc::new(Rebuild {
        started: Instant::now(),
        rows_total: AtomicU64::new(0),
        rows_done: AtomicU64::new(0),
        phase: AtomicU8::new(Phase::Reading as u8),
    });
    registry().entry(key.clone()).or_default().rebuild = Some(progress.clone());
    RebuildGuard {
        key: key.clone(),
        progress,
    }
}

/// The progress of the rebuild running on `key`'s table, if one is.
pub fn rebuild_progress(key: &Key) -> Option<Arc<Rebuild>> {
    registry().get(key).and_then(|e| e.rebuild.clone())
}

impl Entry {
    /// Forgets the versions nothing pins any more.
    fn prune(&mut self) {
        self.versions.retain(|(_, w)| w.strong_count() > 0);
    }
}

static REGISTRY: LazyLock<Mutex<HashMap<Key, Entry>>> = LazyLock::new(Default::default);

fn registry() -> MutexGuard<'static, HashMap<Key, Entry>> {
    // Nothing can leave the map inconsistent (every change is one call), so a
    // panic elsewhere while it was held does not make it unusable.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The registry key of `table` in `schema`, or None when its index must stay
/// private to the connection.
pub fn key(db: Db, schema: &str, table: &str) -> Option<Key> {
    let (vfs, path) = db.file_location(schema)?;
    file_key(&vfs, &path, table)
}

#[cfg(unix)]
fn file_key(vfs: &str, path: &str, table: &str) -> Option<Key> {
    use std::os::unix::fs::MetadataExt;
    // SQLite's unix VFSes name a database by its absolute path. Any other name
    // (dqlite's in-memory VFS names a database `docs`) says nothing about a file
    // of that name in the working directory: such an index stays private.
    if !std::path::Path::new(path).is_absolute() {
        return None;
    }
    let md = std::fs::metadata(path).ok()?;
    Some(Key {
        vfs: vfs.to_string(),
        dev: md.dev(),
        ino: md.ino(),
        table: table.to_ascii_lowercase(),
    })
}

#[cfg(not(unix))]
fn file_key(_vfs: &str, _path: &str, _table: &str) -> Option<Key> {
    None
}

/// The published version `tag` of `key`'s index, if it is alive.
pub fn find(key: &Key, tag: Tag) -> Option<Arc<Hnsw>> {
    let mut reg = registry();
    let e = reg.get_mut(key)?;
    e.prune();
    e.versions
        .iter()
        .find(|(t, _)| *t == tag)
        .and_then(|(_, w)| w.upgrade())
}

/// Publishes `index` as version `tag` of `key` (it must be exactly that stored
/// state). A version already published under the tag is kept if alive.
pub fn publish(key: &Key, tag: Tag, index: &Arc<Hnsw>) {
    let mut reg = registry();
    let e = reg.entry(key.clone()).or_default();
    e.prune();
    if !e.versions.iter().any(|(t, _)| *t == tag) {
        e.versions.push((tag, Arc::downgrade(index)));
    }
}

/// Notes that a connection took a version another had loaded or published.
pub fn mark_shared(key: &Key) {
    registry().entry(key.clone()).or_default().shared = true;
}

/// Whether connections of this process have shared `key`'s index. A writer of an
/// index nobody else has used changes it in place (as a private one); once it is
/// shared, a writer forks, so the committed version stays for the others.
pub fn is_shared(key: &Key) -> bool {
    registry().get(key).is_some_and(|e| e.shared)
}

/// The lock that serialises loads of `key`'s index in this process.
pub fn loading(key: &Key) -> Arc<Mutex<()>> {
    registry().entry(key.clone()).or_default().loading.clone()
}

/// How many versions of `key`'s index are alive in the process.
pub fn versions_alive(key: &Key) -> usize {
    let mut reg = registry();
    let Some(e) = reg.get_mut(key) else {
        return 0;
    };
    e.prune();
    e.versions.len()
}

/// Drops keys with no live version and nobody loading (called now and then, so
/// a process that opens many files does not keep their keys forever).
pub fn sweep() {
    let mut reg = registry();
    reg.retain(|_, e| {
        e.prune();
        !e.versions.is_empty()
            || Arc::strong_count(&e.loading) > 1
            || e.shared
            || e.rebuild.is_some()
    });
}
