//! A table's index over SQLite's transaction protocol ([`Lifecycle`]): which
//! version it uses (shared with the process's other connections, see
//! registry.rs), the staleness rule, catch-up and load, the copy-on-write fork a
//! transaction writes to, persistence (flushes) and publishing, and the
//! transaction hooks with their state ([`Txn`]).
//!
//! Rules (see ARCHITECTURE.md, "The in-memory index and transactions" and "One
//! index per process"):
//! * The index is loaded on first use from `T_graph` joined with `T_rows`, or
//!   taken from the process's registry.
//! * Every write of graph nodes to the shadow tables (a *flush*) stores a new
//!   `generation` in `T_config` and a `T_log` row for it, so each distinct state of
//!   the stored graph has its own number. The in-memory index carries the number of
//!   the stored state it matches (`Hnsw::tag`, saved in every journal frame).
//! * Before each use, the stored `generation` is read inside the connection's
//!   current transaction; if it differs from the index's tag, the index is caught up
//!   from `T_log` or reloaded. So another connection's or process's commit, a WAL
//!   reader on an older snapshot, a rolled-back rebuild, and a table object that
//!   SQLite destroyed and reconnected inside a transaction (DROP TABLE rolled back)
//!   are all handled by one rule.
//! * The tables are complete at every savepoint: xSavepoint flushes before opening
//!   its journal frame (as FTS5 does), so whatever SQLite restores with ROLLBACK TO
//!   agrees with the in-memory state the journal restores, or carries another
//!   generation and is reloaded. xSync flushes the rest ("prepare"); the journal is
//!   kept until xCommit or xRollback (xRollback can follow a successful xSync when
//!   the pager's commit fails). Nothing is written in xCommit, whose errors SQLite
//!   ignores.

use std::sync::Arc;

use super::config::quote_ident;
use super::ffi::{OwnedValue, ValueType};
use super::filterset::CachedFilter;
use super::predicate::stored_cell;
use super::registry;
use super::shadow;
use super::stats;
use super::store::{
    config_int, damaged, decode_log, encode_log, has_codes, load, new_token, params, read_tag,
    IndexState, Sql, Store,
};
use super::txn::Txn;
use crate::error::{Error, Result};
use crate::hnsw::{codec, Hnsw, Scratch, Tag};
use crate::vector;

/// The metadata columns the version holds.
fn st_loaded(st: Option<&IndexState>) -> Vec<usize> {
    st.map(|s| s.hnsw.loaded_attrs()).unwrap_or_default()
}

/// How many write transactions the change log keeps.
const LOG_KEEP: i64 = 64;

/// A table's index over the transaction protocol: the version it uses, where the
/// transaction stands, and what is derived from them (the data epoch that dates
/// cached filter results, the registry key). Every method gets the table's
/// [`Store`] for its statements.
#[derive(Default)]
pub struct Lifecycle {
    /// The in-memory index, loaded on first use.
    pub state: Option<IndexState>,
    /// Transaction phase, open savepoints, flushing guard.
    pub txn: Txn,
    /// Bumped by every write, index (re)load, version change and rollback: cached
    /// filter results from another epoch are stale.
    pub data_epoch: u64,
    /// This table's key in the process's index registry, once worked out (the
    /// inner None: the index stays private to the connection).
    key: Option<Option<registry::Key>>,
    /// Recently used filter results (matching slots), newest last.
    pub filter_cache: Vec<CachedFilter>,
    /// The stored table persists its int8 codes in `T_codes` (format 2): every
    /// write of a row writes its code too. Read again whenever the stored tag
    /// differs from `codes_tag` (see [`stored_tag`](Self::stored_tag)): a format
    /// changes only by a rebuild, which writes a new generation and token, so a
    /// table another connection upgraded (or an upgrade rolled back) is seen as
    /// such before the next write, and queries pay nothing for it.
    pub codes: bool,
    codes_tag: Option<Tag>,
}

impl Lifecycle {
    fn update_stats(&self, store: &Store<'_>, f: impl FnOnce(&mut stats::Stats)) {
        stats::update(store.db, &store.names.schema, &store.names.table, f);
    }

    /// Records what the connection's version holds (veclite_info's memory figures).
    /// Records the version the connection now uses (veclite_info works its memory
    /// figures out from it when asked).
    fn note_memory(&self, store: &Store<'_>) {
        let Some(st) = self.state.as_ref() else {
            self.update_stats(store, |s| {
                s.loaded = false;
                s.version = None;
            });
            return;
        };
        let lv = st.hnsw.max_level();
        let version = Arc::downgrade(&st.hnsw);
        self.update_stats(store, |s| {
            s.version = Some(version);
            s.loaded = true;
            s.levels = lv;
        });
    }

    /// The index already validated by [`index`](Self::index) in this call.
    pub fn loaded_index(&mut self) -> Result<&mut IndexState> {
        match self.state.as_mut() {
            Some(st) => Ok(st),
            None => Err(Error::usage("veclite: internal error: index not loaded")),
        }
    }

    /// The stored generation and token, read in the connection's transaction.
    pub fn stored_tag(&mut self, store: &mut Store<'_>) -> Result<Tag> {
        let mut st = store.take(Sql::Generation)?;
        let r = read_tag(&mut st, &store.names.table);
        store.put(Sql::Generation, st);
        let tag = r?;
        if self.codes_tag != Some(tag) {
            let format = config_int(store.db, store.names, "format_read").unwrap_or(None);
            self.codes = has_codes(store.cfg, format);
            self.codes_tag = Some(tag);
        }
        Ok(tag)
    }

    /// `PRAGMA data_version` of the table's schema.
    pub fn data_version(&mut self, store: &mut Store<'_>) -> Result<i64> {
        let mut st = store.take(Sql::DataVersion)?;
        let r = st.step().map(|row| if row { st.column_i64(0) } else { 0 });
        store.put(Sql::DataVersion, st);
        r
    }

    /// The table's key in the process registry (None: the index stays private),
    /// worked out once per table object.
    pub fn registry_key(&mut self, store: &mut Store<'_>) -> Option<registry::Key> {
        if self.key.is_none() {
            self.key = Some(registry::key(
                store.db,
                &store.names.schema,
                &store.names.table,
            ));
        }
        self.key.clone().flatten()
    }

    /// Takes the process's published version `tag`, if there is one.
    fn adopt_published(
        &mut self,
        store: &mut Store<'_>,
        key: Option<&registry::Key>,
        tag: Tag,
    ) -> bool {
        match key.and_then(|k| registry::find(k, tag)) {
            Some(v) => {
                self.adopt(store, v);
                true
            }
            None => false,
        }
    }

    /// Makes `v` (a published version) this connection's index.
    fn adopt(&mut self, store: &mut Store<'_>, v: Arc<Hnsw>) {
        if let Some(Some(k)) = &self.key {
            registry::mark_shared(k);
        }
        self.state = Some(IndexState::new(v, false));
        self.data_epoch += 1;
        self.update_stats(store, |s| s.shared_uses += 1);
        self.note_memory(store);
    }

    /// The table's index, as it must be for what this connection's transaction
    /// sees: the version it holds if that is still the stored one, else the one
    /// the process already holds for the stored state, else caught up from the
    /// change log or loaded (and published for the other connections).
    pub fn index(&mut self, store: &mut Store<'_>) -> Result<&mut IndexState> {
        let stored = self.stored_tag(store)?;
        match &self.state {
            Some(st) if st.hnsw.tag() == stored => {
                return Ok(self.state.as_mut().expect("checked"));
            }
            Some(st) if st.hnsw.has_changes() || st.full_write => {
                // Unwritten changes exist only while this connection holds the write
                // lock, so nobody else can have moved the generation.
                return Err(Error::corrupt(format!(
                    "veclite: internal error: table {}: the stored generation moved ({} to {}) under unwritten index changes",
                    &store.names.table,
                    st.hnsw.tag().generation,
                    stored.generation
                )));
            }
            _ => {}
        }
        let key = self.registry_key(store);
        if self.adopt_published(store, key.as_ref(), stored) {
            return Ok(self.state.as_mut().expect("adopted"));
        }
        // Connections that miss the same version together load it once: look
        // again under the load lock, another may have published it meanwhile.
        let lock = key.as_ref().map(registry::loading);
        let _guard = lock
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()));
        if self.adopt_published(store, key.as_ref(), stored) {
            return Ok(self.state.as_mut().expect("adopted"));
        }
        if !self.catch_up(store, stored)? {
            self.state = None;
            self.data_epoch += 1;
            let t0 = std::time::Instant::now();
            let (mut h, problems) = load(store.db, store.names, store.cfg)?;
            h.set_tag(stored);
            if let Some(p) = problems.first() {
                let more = if problems.len() > 1 {
                    format!("; and {} more problems", problems.len() - 1)
                } else {
                    String::new()
                };
                self.note_memory(store);
                return Err(damaged(&store.names.table, &format!("{p}{more}")));
            }
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            self.state = Some(IndexState::new(Arc::new(h), false));
            self.update_stats(store, |s| {
                s.loads += 1;
                s.last_load_ms = ms;
            });
        }
        let st = self.state.as_ref().expect("loaded or caught up");
        if let (Some(k), false) = (&key, st.own) {
            registry::publish(k, stored, &st.hnsw);
        }
        self.note_memory(store);
        Ok(self.state.as_mut().expect("loaded above"))
    }

    /// The index for changing, with the connection's scratch space. On the
    /// transaction's first change a version others may be reading is forked
    /// (copy-on-write: only what changes is copied), with journal frames for the
    /// savepoints already open; later changes go to that private version.
    pub fn writable(&mut self) -> Result<(&mut Hnsw, &mut Scratch)> {
        let levels = self.txn.savepoints().to_vec();
        let Some(st) = self.state.as_mut() else {
            return Err(Error::usage("veclite: internal error: index not loaded"));
        };
        if !st.own {
            if matches!(&self.key, Some(Some(k)) if registry::is_shared(k)) {
                // A shared index: the committed version stays as it is (pinned as
                // the base) for every connection that opens meanwhile.
                let fork = Arc::new(st.hnsw.fork());
                st.base = Some(std::mem::replace(&mut st.hnsw, fork));
            } else if Arc::strong_count(&st.hnsw) > 1 {
                st.hnsw = Arc::new(st.hnsw.fork());
            } else {
                // Nobody else holds it and no other connection has used this
                // index: change it in place (the registry's entry for the
                // committed version goes), leaving the journal of the transaction
                // that made it.
                Arc::make_mut(&mut st.hnsw).commit();
            }
            st.own = true;
            let h = Arc::make_mut(&mut st.hnsw);
            for l in levels {
                h.savepoint(l);
            }
        }
        // A query of this connection may still hold the version (copied then).
        Ok((Arc::make_mut(&mut st.hnsw), &mut st.scratch))
    }

    /// Rebuilds the index from the rows and writes it out at once (so a savepoint
    /// rolled back to before the rebuild finds an older generation and reloads).
    pub fn rebuild_index(&mut self, store: &mut Store<'_>) -> Result<usize> {
        self.repair_config(store)?;
        let stored = self.stored_tag(store)?;
        let seed = config_int(store.db, store.names, "seed")?.unwrap_or(shadow::DEFAULT_SEED);
        let sql = format!(
            "SELECT rowid, {} FROM {} ORDER BY rowid",
            quote_ident(&store.cfg.vector_name),
            store.names.q("rows")
        );
        // Other connections of the process see the rebuild's progress in
        // veclite_info, from the registry (none when the index is private: no other
        // connection can reach this table then).
        let progress = super::registry::key(store.db, &store.names.schema, &store.names.table)
            .map(|k| super::registry::start_rebuild(&k));
        if let Some(g) = &progress {
            let mut st = store.db.prepare(
                &format!("SELECT count(*) FROM {}", store.names.q("rows")),
                false,
            )?;
            st.step()?;
            g.progress().set_total(st.column_i64(0).max(0) as usize);
        }
        let mut st = store.db.prepare(&sql, false)?;
        // sqlite3_interrupt stops the rebuild within milliseconds, the parallel
        // build included; nothing has been written then (the statement fails).
        let mut poll = super::ffi::InterruptPoll::new(store.db);
        let mut rows: Vec<(i64, Vec<f32>)> = Vec::new();
        while st.step()? {
            let rowid = st.column_i64(0);
            let b = st.column_bytes(1);
            if b.len() != store.cfg.dims * 4 {
                return Err(Error::corrupt(format!(
                    "veclite: {}_rows: row {rowid} has a vector of {} bytes, expected {}; the rows table itself is damaged",
                    &store.names.table,
                    b.len(),
                    store.cfg.dims * 4
                )));
            }
            let mut v = Vec::new();
            vector::decode_into(b, &mut v);
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::corrupt(format!(
                    "veclite: {}_rows: row {rowid} has a non-finite vector (NaN or infinity); the rows table itself is damaged: delete or fix that row",
                    &store.names.table
                )));
            }
            rows.push((rowid, v));
            if rows.len().is_multiple_of(1024) {
                if let Some(g) = &progress {
                    g.progress().set_done(rows.len());
                }
                if poll.interrupted() {
                    return Err(super::ffi::interrupted());
                }
            }
        }
        drop(st);
        if let Some(g) = &progress {
            g.progress().set_total(rows.len());
            g.progress().set_done(0);
            g.progress().set_phase(super::registry::Phase::Building);
        }
        let mut h = crate::hnsw::builder::build_parallel_until(
            params(store.cfg, seed),
            &rows,
            &mut |done| {
                if let Some(g) = &progress {
                    g.progress().set_done(done);
                }
                poll.interrupted()
            },
        )
        .ok_or_else(super::ffi::interrupted)?;
        if let Some(g) = &progress {
            g.progress().set_phase(super::registry::Phase::Writing);
        }
        h.reserve_attrs(store.cfg.meta.len());
        h.set_tag(stored);
        if h.quantized() {
            // (veclite_rebuild keeps what last_insert_rowid() reports around the
            // whole command)
            write_all_codes(store, &h)?;
        }
        let n = h.len();
        let mut st = IndexState::new(Arc::new(h), true);
        st.full_write = true;
        // A rollback goes back to the version before the transaction's changes.
        st.base = self
            .state
            .take()
            .and_then(|p| if p.own { p.base } else { Some(p.hnsw) });
        self.state = Some(st);
        if let Err(e) = self.flush_index(store) {
            // The rebuilt graph carries the old generation and no journal: if it
            // stayed, a rollback of the failed statement would leave it looking
            // current. Drop it; the next use reloads from what SQLite restores.
            self.state = None;
            self.note_memory(store);
            return Err(e);
        }
        self.note_memory(store);
        Ok(n)
    }

    /// Before a rebuild: rewrites the `T_config` entries a table needs when they are
    /// missing or not integers (format, generation, seed), and the config JSON from
    /// the table's definition, which is what queries use. A newer format was refused
    /// before.
    fn repair_config(&mut self, store: &mut Store<'_>) -> Result<()> {
        let t = store.names.q("config");
        let valid = |db: super::ffi::Db, key: &str| -> Result<bool> {
            let mut st = db.prepare(
                &format!("SELECT typeof(value) = 'integer' AND (value >= 1 OR ?1 IN ('generation', 'seed')) FROM {t} WHERE key = ?1"),
                false,
            )?;
            st.bind_text(1, key.as_bytes())?;
            Ok(st.step()? && st.column_i64(0) == 1)
        };
        let set = |key: &str, sql_value: String| -> Result<()> {
            store.db.exec(&format!(
                "INSERT OR REPLACE INTO {t}(key, value) VALUES ('{key}', {sql_value})"
            ))
        };
        let db = store.db;
        if !valid(db, "format_read")? {
            set("format_read", shadow::format_of(store.cfg).to_string())?;
        }
        if !valid(db, "format_write")? {
            set("format_write", shadow::format_of(store.cfg).to_string())?;
        }
        if !valid(db, "generation")? {
            set("generation", "random() & 281474976710655".into())?;
        }
        if !valid(db, "seed")? {
            set("seed", shadow::DEFAULT_SEED.to_string())?;
        }
        let json = shadow::config_json(store.cfg).replace('\'', "''");
        set("config", format!("'{json}'"))?;
        Ok(())
    }

    /// Writes the index's changes to the shadow tables (xSavepoint, xSync and the
    /// flush command): purge tombstones, write dirty nodes (or, after a rebuild,
    /// the whole graph), the entry point, a new generation and its `T_log` row. On
    /// success the index's tag is the new generation; on failure nothing in memory
    /// is forgotten (a later flush writes everything again, and SQLite rolls back
    /// the statement or transaction that failed).
    pub fn flush_index(&mut self, store: &mut Store<'_>) -> Result<()> {
        let Some(st) = self.state.as_mut() else {
            return Ok(());
        };
        if !st.hnsw.has_changes() && !st.full_write {
            return Ok(());
        }
        let tag = st.hnsw.tag();
        if self.stored_tag(store)? != tag {
            // The tables moved to another generation without this table object being
            // told: SQLite rolled back to a savepoint opened before the object joined
            // the transaction through CREATE VIRTUAL TABLE (it then sends no
            // xRollbackTo), undoing the object's creation and every write it made.
            // Its index describes nothing that exists any more; write none of it.
            self.state = None;
            self.note_memory(store);
            return Ok(());
        }
        // Our writes must not change what last_insert_rowid() reports to the user.
        let last_rowid = store.db.last_insert_rowid();
        self.txn.set_flushing(true);
        let r = self.write_index(store);
        self.txn.set_flushing(false);
        store.db.set_last_insert_rowid(last_rowid);
        r
    }

    fn write_index(&mut self, store: &mut Store<'_>) -> Result<()> {
        {
            let (h, sc) = self.writable()?;
            h.purge(sc);
        }
        let st = self.state.as_ref().expect("checked by flush_index");
        let rebuilt = st.full_write;
        let dirty: Vec<u32> = if rebuilt {
            (0..st.hnsw.n_slots() as u32).collect()
        } else {
            st.hnsw.dirty_slots()
        };
        let entry = st.hnsw.entry();
        if rebuilt {
            let mut s = store.take(Sql::NodesClear)?;
            let r = s.run();
            store.put(Sql::NodesClear, s);
            r?;
        }
        let mut ups = store.take(Sql::NodeUpsert)?;
        let mut dels = store.take(Sql::NodeDelete)?;
        let st = self.state.as_ref().expect("checked");
        let r = (|| -> Result<()> {
            for &slot in &dirty {
                if st.hnsw.is_live(slot) {
                    let lv = st.hnsw.level_of_slot(slot) as usize;
                    let lists: Vec<&[u32]> = (0..=lv).map(|l| st.hnsw.links(slot, l)).collect();
                    ups.bind_i64(1, slot as i64)?;
                    ups.bind_i64(2, st.hnsw.rowid_of_slot(slot))?;
                    ups.bind_blob(3, &codec::encode(&lists))?;
                    ups.run()?;
                } else {
                    dels.bind_i64(1, slot as i64)?;
                    dels.run()?;
                }
            }
            Ok(())
        })();
        store.put(Sql::NodeUpsert, ups);
        store.put(Sql::NodeDelete, dels);
        r?;
        let new = Tag {
            generation: self.state.as_ref().map_or(0, |st| st.hnsw.tag().generation) + 1,
            token: new_token(),
        };
        let gen = new.generation;
        // One row per statement: a multi-row write would use a statement journal,
        // and inside xSavepoint of a statement savepoint that would open the outer
        // statement's pager savepoint early, so a failing outer statement would
        // undo the rest of this flush (found by the model fuzzer). Every statement
        // of a flush writes one row or deletes without a constraint to check.
        let mut s = store.take(Sql::ConfigSet)?;
        let r = (|| -> Result<()> {
            s.bind_text(1, b"entry")?;
            match entry {
                Some(e) => s.bind_i64(2, e as i64)?,
                None => s.bind_null(2)?,
            }
            s.run()?;
            s.bind_text(1, b"generation")?;
            s.bind_i64(2, gen)?;
            s.run()?;
            s.bind_text(1, b"token")?;
            s.bind_i64(2, new.token)?;
            s.run()
        })();
        store.put(Sql::ConfigSet, s);
        r?;
        // The change log other connections catch up from.
        let mut s = store.take(Sql::LogInsert)?;
        let r = (|| -> Result<()> {
            s.bind_i64(1, gen)?;
            let b = encode_log((!rebuilt).then_some(&dirty[..]), new.token);
            s.bind_blob(2, &b)?;
            s.run()
        })();
        store.put(Sql::LogInsert, s);
        r?;
        let mut s = store.take(Sql::LogTrim)?;
        let r = s.bind_i64(1, gen - LOG_KEEP).and_then(|_| s.run());
        store.put(Sql::LogTrim, s);
        r?;
        let (h, _) = self.writable()?;
        h.clear_dirty();
        h.set_tag(new);
        if let Some(st) = self.state.as_mut() {
            st.full_write = false;
        }
        Ok(())
    }

    /// Brings a stale index up to `stored` by applying the logged changes of the
    /// transactions in between, when they are all logged and few, and the log
    /// shows that the state the index holds is the one they were made on (its
    /// token is logged with its generation). A version others may read is forked
    /// first. Returns false when a full reload is needed instead.
    fn catch_up(&mut self, store: &mut Store<'_>, stored: Tag) -> Result<bool> {
        let Some(st) = self.state.as_ref() else {
            return Ok(false);
        };
        let from = st.hnsw.tag();
        if stored.generation <= from.generation
            || stored.generation - from.generation > LOG_KEEP
            || st.hnsw.has_changes()
            || from.token == 0
        {
            return Ok(false);
        }
        let limit = (st.hnsw.len() / 8).max(256);
        let mut slots: std::collections::BTreeSet<u32> = std::collections::BTreeSet::new();
        let mut log = store.take(Sql::LogRange)?;
        let r = (|| -> Result<bool> {
            log.bind_i64(1, from.generation)?;
            log.bind_i64(2, stored.generation)?;
            let mut expect = from.generation;
            while log.step()? {
                if log.column_i64(0) != expect {
                    return Ok(false);
                }
                let Some(row) = decode_log(log.column_type(1), log.column_bytes(1)) else {
                    return Ok(false);
                };
                let want = if expect == from.generation {
                    from.token
                } else if expect == stored.generation {
                    stored.token
                } else {
                    0
                };
                if want != 0 && row.token != Some(want) {
                    return Ok(false);
                }
                if expect > from.generation {
                    let Some(s) = row.slots else {
                        return Ok(false);
                    };
                    slots.extend(s);
                    if slots.len() > limit {
                        return Ok(false);
                    }
                }
                expect += 1;
            }
            Ok(expect == stored.generation + 1)
        })();
        store.put(Sql::LogRange, log);
        if !r? {
            return Ok(false);
        }
        let entry = config_int(store.db, store.names, "entry")?;
        // Read everything before changing anything.
        let mut present: Vec<(u32, i64, Vec<u8>, Vec<u8>)> = Vec::new();
        let mut absent: Vec<u32> = Vec::new();
        let mut node = store.take(Sql::NodeFetch)?;
        let r = (|| -> Result<bool> {
            for &slot in &slots {
                node.bind_i64(1, slot as i64)?;
                if node.step()? {
                    if node.column_type(2) != ValueType::Blob {
                        return Ok(false);
                    }
                    present.push((
                        slot,
                        node.column_i64(0),
                        node.column_bytes(1).to_vec(),
                        node.column_bytes(2).to_vec(),
                    ));
                } else {
                    absent.push(slot);
                }
                node.reset();
            }
            Ok(true)
        })();
        store.put(Sql::NodeFetch, node);
        if !r? {
            return Ok(false);
        }
        // The loaded metadata cells of the changed rows, as now stored.
        let loaded = st_loaded(self.state.as_ref());
        let mut cells: Vec<Vec<OwnedValue>> = Vec::new();
        if !loaded.is_empty() {
            for (_, rowid, _, _) in &present {
                match store.row_meta(*rowid)? {
                    Some(v) => cells.push(v),
                    None => return Ok(false),
                }
            }
        }
        let st = self.state.as_mut().expect("checked");
        let was_own = st.own;
        if !was_own {
            st.hnsw = Arc::new(st.hnsw.fork());
        }
        let h = Arc::make_mut(&mut st.hnsw);
        // Free first, so a rowid that moved between slots lands cleanly.
        for &slot in &absent {
            h.apply_free(slot);
        }
        for (slot, _, _, _) in &present {
            h.apply_free(*slot);
        }
        let mut ok = true;
        for (j, (slot, rowid, n, v)) in present.iter().enumerate() {
            if h.apply_node(*slot, *rowid, n, v).is_err() {
                ok = false;
                break;
            }
            if let Some(vals) = cells.get(j) {
                for &i in &loaded {
                    h.set_attr(i, *slot, stored_cell(&vals[i]));
                }
            }
        }
        let changed: Vec<u32> = slots.iter().copied().collect();
        if !ok || h.finish_apply(entry.map(|e| e as u32), &changed).is_err() {
            self.state = None;
            return Ok(false);
        }
        h.set_tag(stored);
        self.data_epoch += 1;
        self.update_stats(store, |s| s.catch_ups += 1);
        Ok(true)
    }

    /// xSync, after the last flush: the version is now exactly the stored state its
    /// tag names, which nobody else can read before the file commit. Publishing it
    /// now means a connection that reads the new generation right after the commit
    /// (before this table's xCommit runs) finds it instead of loading it.
    fn publish_index(&mut self, store: &mut Store<'_>) {
        let key = self.registry_key(store);
        if let (Some(k), Some(st)) = (key, self.state.as_ref()) {
            if !st.hnsw.has_changes() && !st.full_write {
                registry::publish(&k, st.hnsw.tag(), &st.hnsw);
            }
        }
    }

    /// xCommit: the version becomes one every connection may share.
    fn commit_index(&mut self, store: &mut Store<'_>) {
        let key = self.registry_key(store);
        if let Some(st) = self.state.as_mut() {
            debug_assert!(
                !st.hnsw.has_changes() && !st.full_write,
                "xCommit without xSync"
            );
            if st.own {
                st.base = None;
                if Arc::strong_count(&st.hnsw) == 1 {
                    // Nobody reads it yet: drop the journal now (a reader that took
                    // it since xSync leaves it to the next fork, which drops it).
                    Arc::make_mut(&mut st.hnsw).commit();
                }
                st.own = false;
                if let Some(k) = &key {
                    registry::publish(k, st.hnsw.tag(), &st.hnsw);
                }
            }
        }
        registry::sweep();
        self.note_memory(store);
    }

    /// xRollback: the journal brings back the state (and tag) the index had when
    /// the transaction's first change was journaled; if the process still holds
    /// that version, this connection shares it again. If SQLite restored the tables
    /// to another generation (the index was loaded or rebuilt inside the
    /// transaction), the next use reloads it.
    fn rollback_index(&mut self, store: &mut Store<'_>) {
        let key = self.registry_key(store);
        if let Some(st) = self.state.as_mut() {
            if st.own {
                match st.base.take() {
                    // The version the transaction started from.
                    Some(b) => st.hnsw = b,
                    None => Arc::make_mut(&mut st.hnsw).rollback(),
                }
                st.full_write = false;
                st.own = false;
                if let Some(v) = key.and_then(|k| registry::find(&k, st.hnsw.tag())) {
                    st.hnsw = v;
                }
            }
        }
        self.note_memory(store);
    }

    /// xRollbackTo: the journal restores the state at the savepoint, which the
    /// savepoint's flush had written, so nothing is left to write. A frame the
    /// index only assumed (opened before it was loaded or rebuilt) carries a later
    /// tag than the restored tables, and the next use reloads. A version not yet
    /// changed in this transaction has nothing to undo.
    fn rollback_index_to(&mut self, level: i32) {
        if let Some(st) = self.state.as_mut() {
            if st.own {
                let h = Arc::make_mut(&mut st.hnsw);
                h.rollback_to(level);
                h.clear_dirty();
                st.full_write = false;
            }
        }
    }

    /// xSavepoint: write everything first, so the tables are complete at this
    /// savepoint, then open the journal frame.
    fn savepoint_index(&mut self, store: &mut Store<'_>, level: i32) -> Result<()> {
        self.flush_index(store)?;
        if self.state.is_some() {
            self.writable()?.0.savepoint(level);
        }
        Ok(())
    }

    fn release_index(&mut self, level: i32) {
        if let Some(st) = self.state.as_mut() {
            if st.own {
                Arc::make_mut(&mut st.hnsw).release(level);
            }
        }
    }

    /// xBegin.
    pub fn begin(&mut self) {
        self.txn.begin();
    }
    /// xSync: the last flush, then the version is published (see publish_index).
    pub fn sync(&mut self, store: &mut Store<'_>) -> Result<()> {
        self.flush_index(store)?;
        self.publish_index(store);
        self.txn.sync();
        Ok(())
    }
    /// xCommit.
    pub fn commit(&mut self, store: &mut Store<'_>) {
        self.txn.commit();
        self.commit_index(store);
    }
    /// xRollback.
    pub fn rollback(&mut self, store: &mut Store<'_>) {
        self.data_epoch += 1;
        self.txn.rollback();
        self.rollback_index(store);
    }
    /// xSavepoint. The hooks of the statement savepoints our own flush opens are
    /// ignored (they change nothing in memory).
    pub fn savepoint(&mut self, store: &mut Store<'_>, level: i32) -> Result<()> {
        if self.txn.flushing() {
            return Ok(());
        }
        self.savepoint_index(store, level)?;
        self.txn.savepoint(level);
        Ok(())
    }
    /// xRelease.
    pub fn release(&mut self, level: i32) {
        if self.txn.flushing() {
            return;
        }
        self.txn.release(level);
        self.release_index(level);
    }
    /// xRollbackTo.
    pub fn rollback_to(&mut self, level: i32) {
        if self.txn.flushing() {
            return;
        }
        self.data_epoch += 1;
        self.txn.rollback_to(level);
        self.rollback_index_to(level);
    }

    /// A streamed KNN query ended having skipped `skips` rows.
    pub fn count_stream(&self, store: &Store<'_>, skips: u64) {
        self.update_stats(store, |s| {
            s.stream_searches += 1;
            s.stream_skips += skips;
        });
    }

    pub fn count_search(&self, store: &Store<'_>, graph: bool) {
        self.update_stats(store, |s| {
            if graph {
                s.graph_searches += 1
            } else {
                s.exact_searches += 1
            }
        });
    }
}

/// A rebuild of an int8 table: writes the code row of every row into
/// `T_codes` (created if the table has none yet: a table written before format 2
/// is upgraded) and marks the table format 2, so loads read the codes.
fn write_all_codes(store: &mut Store<'_>, h: &Hnsw) -> Result<()> {
    let db = store.db;
    let mut cols = Vec::new();
    {
        let mut st = db.prepare("SELECT name FROM pragma_table_info(?1, ?2)", false)?;
        st.bind_text(1, format!("{}_codes", store.names.table).as_bytes())?;
        st.bind_text(2, store.names.schema.as_bytes())?;
        while st.step()? {
            cols.push(String::from_utf8_lossy(st.column_bytes(0)).to_ascii_lowercase());
        }
    }
    if cols == ["rowid", "code"] {
        db.exec(&format!("DELETE FROM {}", store.names.q("codes")))?;
    } else {
        // (an object of that name that is not ours makes this fail: it is left alone)
        db.exec(&shadow::codes_ddl(store.names))
            .map_err(|e| match e {
                Error::Sqlite { code, msg } => Error::Sqlite {
                    code,
                    msg: format!(
                        "veclite: cannot create {}_codes for the int8 codes of {}: {msg}",
                        store.names.table, store.names.table
                    ),
                },
                e => e,
            })?;
    }
    let mut ins = store.take(Sql::CodeInsert)?;
    let r = (|| -> Result<()> {
        for slot in 0..h.n_slots() as u32 {
            if !h.is_live(slot) {
                continue;
            }
            let code = h.code_of_slot(slot).expect("a quantized index");
            ins.bind_i64(1, h.rowid_of_slot(slot))?;
            ins.bind_blob(2, &code)?;
            ins.run()?;
        }
        Ok(())
    })();
    store.put(Sql::CodeInsert, ins);
    r?;
    let mut s = store.take(Sql::ConfigSet)?;
    let r = (|| -> Result<()> {
        for key in [&b"format_read"[..], b"format_write"] {
            s.bind_text(1, key)?;
            s.bind_i64(2, 2)?;
            s.run()?;
        }
        Ok(())
    })();
    store.put(Sql::ConfigSet, s);
    r
}
