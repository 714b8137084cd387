//! The vector table: create/connect/destroy/rename and writes (xUpdate).

use super::commands::{FLUSH_COMMAND, REBUILD_COMMAND};
use super::config::{self, quote_ident, TableConfig};
use super::ffi::{Db, OnConflict, Stmt, Value, ValueType};
use super::lifecycle::Lifecycle;
use super::plan::Layout;
use super::predicate::stored_cell;
use super::shadow::{self, Names};
use super::store::{IndexState, Sql, Statements, Store};
use crate::distance::{self, Metric};
use crate::error::{Error, Result};
use crate::hnsw::{Hnsw, Scratch};
use crate::vector;

pub struct VecTable {
    pub db: Db,
    pub names: Names,
    pub cfg: TableConfig,
    stmts: Statements,
    format_checked: bool,
    /// Row-count estimate for the planner (refreshed by full scans and KNN queries).
    pub est_rows: f64,
    /// The index and where the table stands in its transaction (see lifecycle.rs).
    pub life: Lifecycle,
    /// The database's text encoding is UTF-8 (worked out on first need): the
    /// index's metadata cells compare as SQLite does only then.
    pub utf8: Option<bool>,
}

impl VecTable {
    pub fn open(db: Db, schema: &str, table: &str, args: &[&str], create: bool) -> Result<Self> {
        let cfg = config::parse(args)?;
        let t = VecTable {
            db,
            names: Names {
                schema: schema.to_string(),
                table: table.to_string(),
            },
            cfg,
            stmts: Statements::default(),
            format_checked: false,
            est_rows: 100_000.0,
            life: Lifecycle::default(),
            utf8: None,
        };
        if create {
            t.create_shadow()?;
        }
        Ok(t)
    }

    fn create_shadow(&self) -> Result<()> {
        let n = &self.names;
        // (each shadow table's DDL with its suffix, so a failure drops only what
        // this call created)
        let mut ddl: Vec<(Option<&str>, String)> =
            vec![(Some("rows"), shadow::rows_ddl(n, &self.cfg))];
        ddl.extend(
            shadow::index_ddl(n, &self.cfg, |name| self.name_taken(name))
                .into_iter()
                .map(|s| (None, s)),
        );
        ddl.push((Some("graph"), shadow::graph_ddl(n)));
        ddl.push((Some("log"), shadow::log_ddl(n)));
        ddl.push((Some("config"), shadow::config_ddl(n)));
        let format = shadow::format_of(&self.cfg);
        if format >= 2 {
            ddl.push((Some("codes"), shadow::codes_ddl(n)));
        }
        // The generation starts at a random 48-bit value, so two incarnations of a
        // table (dropped and created again inside one transaction, then rolled back
        // past the CREATE) never carry the same number.
        ddl.push((None, format!(
            "INSERT INTO {}(key, value) VALUES ('format_read', {}), ('format_write', {}), \
             ('generation', random() & 281474976710655), ('entry', NULL), ('seed', {}), ('created_by', 'veclite {}'), ('config', {})",
            n.q("config"),
            format,
            format,
            shadow::DEFAULT_SEED,
            env!("CARGO_PKG_VERSION"),
            sql_string(&shadow::config_json(&self.cfg))
        )));
        let mut made: Vec<&str> = Vec::new();
        for (suffix, stmt) in &ddl {
            if let Err(e) = self.db.exec(stmt) {
                // Leave nothing behind (e.g. an unknown COLLATE fails the rows table).
                for s in &made {
                    let _ = self
                        .db
                        .exec(&format!("DROP TABLE IF EXISTS {}", self.names.q(s)));
                }
                // (an older veclite drops an int8 table without its codes table)
                let hint = if *suffix == Some("codes") {
                    format!(
                        " (if an older veclite dropped a table {t} and left {t}_codes behind, DROP TABLE {t}_codes first)",
                        t = n.table
                    )
                } else {
                    String::new()
                };
                return Err(match e {
                    Error::Sqlite { code, msg } => Error::Sqlite {
                        code,
                        msg: format!("veclite: cannot create table {}: {msg}{hint}", n.table),
                    },
                    e => e,
                });
            }
            made.extend(*suffix);
        }
        Ok(())
    }

    /// True if `name` is already used by a table, index, view or trigger in our schema.
    fn name_taken(&self, name: &str) -> bool {
        let sql = format!(
            "SELECT 1 FROM {}.sqlite_schema WHERE name = ?1 COLLATE NOCASE",
            quote_ident(&self.names.schema)
        );
        let Ok(mut st) = self.db.prepare(&sql, false) else {
            return false;
        };
        st.bind_text(1, name.as_bytes()).is_ok() && st.step().unwrap_or(false)
    }

    /// The shadow tables this table has: `T_codes` only under `quantize = int8`
    /// (a table of another kind leaves a user's table of that name alone).
    fn shadow_suffixes(&self) -> impl Iterator<Item = &'static str> {
        let int8 = self.cfg.quantize == crate::hnsw::Quantize::Int8;
        shadow::SHADOW_SUFFIXES
            .iter()
            .copied()
            .filter(move |s| *s != "codes" || int8)
    }

    fn drop_shadow(&self) -> Result<()> {
        for s in self.shadow_suffixes() {
            self.db
                .exec(&format!("DROP TABLE IF EXISTS {}", self.names.q(s)))?;
        }
        Ok(())
    }

    /// The CREATE TABLE statement declared to SQLite: vector, metadata, distance, then
    /// the hidden query, k, ef (so `t(:q, 10)` binds query and k).
    pub fn declaration(&self) -> String {
        let mut cols = vec![format!("{} BLOB", quote_ident(&self.cfg.vector_name))];
        for m in &self.cfg.meta {
            let mut c = format!("{} {}", quote_ident(&m.name), m.ty.sql());
            if let Some(coll) = &m.collate {
                c.push_str(&format!(" COLLATE {}", quote_ident(coll)));
            }
            cols.push(c);
        }
        cols.push("distance REAL".into());
        cols.push("query HIDDEN".into());
        cols.push("k HIDDEN".into());
        cols.push("ef HIDDEN".into());
        format!("CREATE TABLE x({})", cols.join(", "))
    }

    pub fn layout(&self) -> Layout {
        Layout {
            n_meta: self.cfg.meta.len(),
        }
    }

    pub fn destroy(&mut self) -> Result<()> {
        self.stmts.clear();
        self.drop_shadow()
    }

    pub fn rename(&mut self, new_name: &str) -> Result<()> {
        self.stmts.clear();
        let new = Names {
            schema: self.names.schema.clone(),
            table: new_name.to_string(),
        };
        // (an int8 table written before format 2 has no codes table)
        let codes = super::store::has_codes(
            &self.cfg,
            super::store::config_int(self.db, &self.names, "format_read").unwrap_or(None),
        );
        let suffixes: Vec<&str> = self
            .shadow_suffixes()
            .filter(|s| *s != "codes" || codes)
            .collect();
        for s in suffixes {
            self.db.exec(&format!(
                "ALTER TABLE {} RENAME TO {}",
                self.names.q(s),
                new.unqualified(s)
            ))?;
        }
        // Indexes follow their table and keep their names (SQLite cannot rename an
        // index, and dropping one is not allowed while ALTER TABLE runs); new tables
        // pick free index names, so the old name can be reused.
        super::stats::rename(self.db, &self.names.schema, &self.names.table, new_name);
        self.names = new;
        Ok(())
    }

    /// The named statement `id` (see store.rs). Give it back with [`put`](Self::put).
    pub fn take(&mut self, id: Sql) -> Result<Stmt> {
        self.stmts.take(self.db, &self.names, &self.cfg, id)
    }

    pub fn put(&mut self, id: Sql, stmt: Stmt) {
        self.stmts.put(id, stmt);
    }

    /// A query-dependent statement for `sql` (filters, an UPDATE of some columns),
    /// from the table's small cache. Give it back with [`put_stmt`](Self::put_stmt).
    pub fn take_stmt(&mut self, sql: &str) -> Result<Stmt> {
        self.stmts.take_sql(self.db, sql)
    }

    pub fn put_stmt(&mut self, sql: String, stmt: Stmt) {
        self.stmts.put_sql(sql, stmt);
    }

    /// Refuses tables written in a newer format, once per connection.
    pub fn ensure_format(&mut self) -> Result<()> {
        self.check_format(false)
    }

    /// With `repairing` (a rebuild), a missing or invalid format entry is let
    /// through (the rebuild rewrites it); a newer format never is.
    fn check_format(&mut self, repairing: bool) -> Result<()> {
        if self.format_checked {
            return Ok(());
        }
        let sql = format!(
            "SELECT value FROM {} WHERE key = 'format_read'",
            self.names.q("config")
        );
        let mut st = self.db.prepare(&sql, false).map_err(|e| {
            Error::corrupt(format!(
                "veclite: table {}: cannot read {}_config: {e}",
                self.names.table, self.names.table
            ))
        })?;
        let v = if st.step()? {
            Some(st.column_i64(0))
        } else {
            None
        };
        match v {
            Some(v) if (1..=shadow::FORMAT_READ).contains(&v) => {}
            Some(v) if v > shadow::FORMAT_READ => {
                return Err(Error::usage(format!(
                    "veclite: table {} has format {v}, written by a newer veclite; this build reads format {} (upgrade veclite)",
                    self.names.table,
                    shadow::FORMAT_READ
                )))
            }
            _ if repairing => return Ok(()),
            _ => {
                return Err(Error::corrupt(format!(
                    "veclite: table {}: {}_config has no valid format_read entry; if {}_rows is intact, SELECT veclite_rebuild('{}') rewrites it",
                    self.names.table, self.names.table, self.names.table, self.names.table
                )))
            }
        }
        self.format_checked = true;
        Ok(())
    }

    /// Parses and validates a vector being written into the table.
    pub fn input_vector(&self, v: Value<'_>) -> Result<Vec<f32>> {
        let col = format!("veclite: {}.{}", self.names.table, self.cfg.vector_name);
        let r = match v.value_type() {
            ValueType::Null => {
                return Err(Error::usage(format!(
                    "{col} cannot be NULL: every row needs a vector"
                )))
            }
            _ => super::args::arg_vector(&col, v)
                .map_err(|e| self.float64_hint(v, e))?
                .expect("not NULL"),
        };
        vector::check_dims(&r, self.cfg.dims)
            .map_err(|e| self.float64_hint(v, Error::usage(format!("{col}: {e}"))))?;
        if self.cfg.metric == Metric::Cosine && distance::norm_f64(&r) == 0.0 {
            return Err(Error::usage(format!(
                "{col}: a zero vector has no direction, so it cannot be stored under distance = cosine"
            )));
        }
        Ok(r)
    }

    /// A BLOB of exactly 8 bytes per dimension is most likely a float64 array (numpy's
    /// default dtype, a JavaScript Float64Array): say so after the error it got.
    fn float64_hint(&self, v: Value<'_>, e: Error) -> Error {
        match e {
            Error::Usage(msg)
                if v.value_type() == ValueType::Blob && v.blob().len() == 8 * self.cfg.dims =>
            {
                Error::usage(format!("{msg} (a float64 array? send float32)"))
            }
            e => e,
        }
    }

    /// Parses and validates a KNN query vector.
    pub fn query_vector(&self, v: Value<'_>) -> Result<Vec<f32>> {
        let what = format!("veclite: KNN query on {}", self.names.table);
        if v.is_null() {
            return Err(Error::usage(format!("{what}: the query vector is NULL")));
        }
        let r = super::args::arg_vector(&what, v)
            .map_err(|e| self.float64_hint(v, e))?
            .expect("not NULL");
        vector::check_dims(&r, self.cfg.dims)
            .map_err(|e| self.float64_hint(v, Error::usage(format!("{what}: {e}"))))?;
        if self.cfg.metric == Metric::Cosine && distance::norm_f64(&r) == 0.0 {
            return Err(Error::usage(format!(
                "{what}: a zero query vector has no direction under distance = cosine"
            )));
        }
        Ok(r)
    }

    pub fn rowid_exists(&mut self, rowid: i64) -> Result<bool> {
        let mut st = self.take(Sql::RowExists)?;
        let r = st.bind_i64(1, rowid).and_then(|_| st.step());
        self.put(Sql::RowExists, st);
        r
    }

    fn delete_row(&mut self, rowid: i64) -> Result<()> {
        let mut st = self.take(Sql::RowDelete)?;
        let r = st.bind_i64(1, rowid).and_then(|_| st.run());
        self.put(Sql::RowDelete, st);
        r?;
        self.index()?;
        if self.life.codes {
            self.delete_code(rowid)?;
        }
        self.writable()?.0.delete(rowid);
        Ok(())
    }

    /// Writes the int8 code row of `rowid`, whose vector is `v` (format 2): the
    /// code the index keeps for it, made by the same function. Before the index
    /// changes, so a failure leaves it as it was.
    fn write_code(&mut self, rowid: i64, v: &[f32]) -> Result<()> {
        let code = match self.life.state.as_ref() {
            Some(st) => st.hnsw.code_for(v),
            None => None,
        };
        let Some(code) = code else {
            return Err(Error::usage(
                "veclite: internal error: no quantized index to write a code for",
            ));
        };
        // (an INSERT of ours must not change what last_insert_rowid() reports:
        // after an UPDATE the user's last inserted row is still the one before)
        let last_rowid = self.db.last_insert_rowid();
        let mut st = self.take(Sql::CodeInsert)?;
        let r = (|| {
            st.bind_i64(1, rowid)?;
            st.bind_blob(2, &code)?;
            st.run()
        })();
        self.put(Sql::CodeInsert, st);
        self.db.set_last_insert_rowid(last_rowid);
        r
    }

    fn delete_code(&mut self, rowid: i64) -> Result<()> {
        let mut st = self.take(Sql::CodeDelete)?;
        let r = st.bind_i64(1, rowid).and_then(|_| st.run());
        self.put(Sql::CodeDelete, st);
        r
    }

    fn stored_vector(&mut self, rowid: i64) -> Result<Vec<f32>> {
        let mut st = self.take(Sql::RowVector)?;
        let r = (|| {
            st.bind_i64(1, rowid)?;
            if !st.step()? {
                return Err(Error::corrupt(format!(
                    "veclite: {}: row {rowid} vanished",
                    self.names.table
                )));
            }
            vector::from_blob(st.column_bytes(0)).map_err(|e| {
                Error::corrupt(format!(
                    "veclite: {}_rows: row {rowid}: {e}",
                    self.names.table
                ))
            })
        })();
        self.put(Sql::RowVector, st);
        r
    }

    /// Loads the index for a write (the first change forks it, see `writable`).
    pub fn index_for_write(&mut self) -> Result<()> {
        self.index()?;
        Ok(())
    }

    /// Resolves a rowid conflict on `rowid` per the statement's conflict clause.
    /// Returns false when the write must be skipped (OR IGNORE).
    fn resolve_conflict(&mut self, rowid: i64) -> Result<()> {
        if !self.rowid_exists(rowid)? {
            return Ok(());
        }
        match self.db.on_conflict() {
            OnConflict::Replace => self.delete_row(rowid),
            // SQLite turns SQLITE_CONSTRAINT into "skip this row" under OR IGNORE.
            OnConflict::Ignore => Err(Error::Constraint(format!(
                "UNIQUE constraint failed: {}.rowid",
                self.names.table
            ))),
            OnConflict::Abort => Err(Error::Constraint(format!(
                "UNIQUE constraint failed: {}.rowid",
                self.names.table
            ))),
        }
    }

    fn check_computed_columns(&self, args: &[Value<'_>]) -> Result<()> {
        let lay = self.layout();
        for (c, name) in [
            (lay.distance(), "distance"),
            (lay.query(), "query"),
            (lay.k(), "k"),
            (lay.ef(), "ef"),
        ] {
            let v = args[2 + c as usize];
            if !v.is_null() && !v.nochange() {
                return Err(Error::usage(format!(
                    "veclite: column {name} of {} is a query parameter and cannot be written",
                    self.names.table
                )));
            }
        }
        Ok(())
    }

    /// xUpdate. Every check happens before the first write, so a failing row leaves
    /// the table untouched. Returns the new rowid for INSERTs.
    pub fn update(&mut self, args: &[Value<'_>]) -> Result<Option<i64>> {
        let n_cols = 1 + self.cfg.meta.len() + 4;
        let rebuilding = args.len() == 2 + n_cols && args[0].is_null() && {
            let q = args[2 + self.layout().query() as usize];
            q.value_type() == ValueType::Text && q.text() == REBUILD_COMMAND.as_bytes()
        };
        self.check_format(rebuilding)?;
        self.life.txn.write();
        self.life.data_epoch += 1;
        if args.len() == 2 + n_cols && args[0].is_null() {
            let q = args[2 + self.layout().query() as usize];
            let is_command = q.value_type() == ValueType::Text
                && (q.text() == FLUSH_COMMAND.as_bytes() || q.text() == REBUILD_COMMAND.as_bytes());
            if is_command {
                // A command carries nothing else: a row written with it would be
                // dropped silently.
                let q_at = 2 + self.layout().query() as usize;
                if args[1..]
                    .iter()
                    .enumerate()
                    .any(|(i, a)| i + 1 != q_at && !a.is_null())
                {
                    return Err(Error::usage(format!(
                        "veclite: a command INSERT into {t}(query) ('{}') takes no other values: write INSERT INTO {t}(query) VALUES ('{}')",
                        String::from_utf8_lossy(q.text()),
                        String::from_utf8_lossy(q.text()),
                        t = self.names.table
                    )));
                }
            }
            if q.value_type() == ValueType::Text && q.text() == FLUSH_COMMAND.as_bytes() {
                // veclite_check() inside a transaction: write this transaction's
                // graph changes now, so the shadow tables agree with the rows.
                self.life.data_epoch -= 1;
                self.flush_index()?;
                return Ok(None);
            }
            if q.value_type() == ValueType::Text && q.text() == REBUILD_COMMAND.as_bytes() {
                // veclite_rebuild(): no row is written; the index is rebuilt from the
                // rows (even when the stored graph is damaged) and saved at xSync.
                self.rebuild_index()?;
                let levels = self.life.txn.savepoints().to_vec();
                if self.life.state.is_some() {
                    let (h, _) = self.writable()?;
                    for l in levels {
                        h.savepoint(l);
                    }
                }
                return Ok(None);
            }
        }
        self.index_for_write()?;
        if args.len() == 1 {
            let rowid = args[0].i64();
            self.delete_row(rowid)?;
            return Ok(None);
        }
        if args.len() != 2 + n_cols {
            return Err(Error::usage(
                "veclite: unexpected number of columns in xUpdate",
            ));
        }
        self.check_computed_columns(args)?;
        let new_rowid = rowid_arg(args[1])?;
        let is_insert = args[0].is_null();
        if !is_insert && new_rowid.is_none() {
            // `UPDATE t SET rowid = NULL`: an ordinary rowid table refuses it too.
            return Err(Error::Sqlite {
                code: 20, // SQLITE_MISMATCH
                msg: "datatype mismatch".into(),
            });
        }
        let vec_arg = args[2];
        let new_vector = if !is_insert && vec_arg.nochange() {
            None
        } else {
            Some(self.input_vector(vec_arg)?)
        };
        let meta = &args[3..3 + self.cfg.meta.len()];
        if is_insert {
            if let Some(r) = new_rowid {
                self.resolve_conflict(r)?;
            }
            let mut st = self.take(Sql::RowInsert)?;
            let r = (|| {
                match new_rowid {
                    Some(r) => st.bind_i64(1, r)?,
                    None => st.bind_null(1)?,
                }
                st.bind_blob(
                    2,
                    &vector::to_blob(new_vector.as_ref().expect("insert has a vector")),
                )?;
                for (i, v) in meta.iter().enumerate() {
                    st.bind_value(3 + i, *v)?;
                }
                st.run()
            })();
            self.put(Sql::RowInsert, st);
            r?;
            let rowid = self.db.last_insert_rowid();
            let v = new_vector.expect("insert has a vector");
            self.index()?;
            if self.life.codes {
                self.write_code(rowid, &v)?;
            }
            let (h, sc) = self.writable()?;
            let slot = h.insert(rowid, &v, sc);
            self.refresh_cells(rowid, slot)?;
            return Ok(Some(rowid));
        }
        // UPDATE
        let old_rowid = args[0].i64();
        let new_rowid = new_rowid.unwrap_or(old_rowid);
        if new_rowid != old_rowid {
            self.resolve_conflict(new_rowid)?;
        }
        // The vector the index must hold for the row after the UPDATE (None: the
        // index entry stays as it is).
        let index_vector = match (&new_vector, new_rowid != old_rowid) {
            (Some(v), _) => Some(v.clone()),
            (None, true) => Some(self.stored_vector(old_rowid)?),
            (None, false) => None,
        };
        let mut sets = vec!["rowid = ?1".to_string()];
        if new_vector.is_some() {
            sets.push(format!("{} = ?2", quote_ident(&self.cfg.vector_name)));
        }
        // A column the UPDATE does not change arrives as "no change" (xColumn
        // answered sqlite3_vtab_nochange): keep what is stored. SQLite computes a
        // multi-row UPDATE's new values before the first xUpdate, so with a rowid
        // change (`SET rowid = rowid + 1`) the stored value is the one an ordinary
        // table would carry along.
        for (i, m) in self.cfg.meta.iter().enumerate() {
            if !meta[i].nochange() {
                sets.push(format!("{} = ?{}", quote_ident(&m.name), 3 + i));
            }
        }
        let sql = format!(
            "UPDATE {} SET {} WHERE rowid = ?{}",
            self.names.q("rows"),
            sets.join(", "),
            3 + self.cfg.meta.len()
        );
        let mut st = self.take_stmt(&sql)?;
        let r = (|| {
            st.bind_i64(1, new_rowid)?;
            if let Some(v) = &new_vector {
                st.bind_blob(2, &vector::to_blob(v))?;
            }
            for (i, v) in meta.iter().enumerate() {
                if !v.nochange() {
                    st.bind_value(3 + i, *v)?;
                }
            }
            st.bind_i64(3 + self.cfg.meta.len(), old_rowid)?;
            st.run()
        })();
        self.put_stmt(sql, st);
        r?;
        self.index()?;
        if let (Some(v), true) = (&index_vector, self.life.codes) {
            self.delete_code(old_rowid)?;
            self.write_code(new_rowid, v)?;
        }
        let slot = match index_vector {
            Some(v) => {
                let (h, sc) = self.writable()?;
                h.delete(old_rowid);
                Some(h.insert(new_rowid, &v, sc))
            }
            None => {
                // Only metadata changed: the node is written and logged again all
                // the same, so the change gets a generation of its own and every
                // version's metadata cells name the state they hold.
                let (h, _) = self.writable()?;
                let slot = h.slot_of(new_rowid);
                if let Some(s) = slot {
                    h.attrs_changed(s);
                }
                slot
            }
        };
        if let Some(slot) = slot {
            self.refresh_cells(new_rowid, slot)?;
        }
        Ok(None)
    }

    /// Brings the loaded metadata cells of `rowid` (in `slot` of the writable
    /// version) to what the rows table now stores for it.
    fn refresh_cells(&mut self, rowid: i64, slot: u32) -> Result<()> {
        let loaded = match self.life.state.as_ref() {
            Some(st) => st.hnsw.loaded_attrs(),
            None => return Ok(()),
        };
        if loaded.is_empty() {
            return Ok(());
        }
        let vals = self.split().1.row_meta(rowid)?;
        let (h, _) = self.writable()?;
        match vals {
            Some(v) => {
                for i in loaded {
                    h.set_attr(i, slot, stored_cell(&v[i]));
                }
            }
            None => h.unload_attrs(),
        }
        Ok(())
    }

    /// The table's index lifecycle and what it needs of the table.
    pub fn split(&mut self) -> (&mut Lifecycle, Store<'_>) {
        (
            &mut self.life,
            Store {
                db: self.db,
                names: &self.names,
                cfg: &self.cfg,
                stmts: &mut self.stmts,
            },
        )
    }

    /// The table's index, as it must be for this connection's transaction.
    pub fn index(&mut self) -> Result<&mut IndexState> {
        let (l, mut s) = self.split();
        l.index(&mut s)
    }
    /// The index already validated by [`index`](Self::index) in this call.
    pub fn loaded_index(&mut self) -> Result<&mut IndexState> {
        self.life.loaded_index()
    }
    /// The index for changing (forked for the transaction on its first change).
    pub fn writable(&mut self) -> Result<(&mut Hnsw, &mut Scratch)> {
        self.life.writable()
    }
    pub fn data_version(&mut self) -> Result<i64> {
        let (l, mut s) = self.split();
        l.data_version(&mut s)
    }
    pub fn rebuild_index(&mut self) -> Result<usize> {
        let (l, mut s) = self.split();
        l.rebuild_index(&mut s)
    }
    pub fn flush_index(&mut self) -> Result<()> {
        let (l, mut s) = self.split();
        l.flush_index(&mut s)
    }
    pub fn count_stream(&mut self, skips: u64) {
        let (l, s) = self.split();
        l.count_stream(&s, skips)
    }
    /// Updates this table's counters on the connection (veclite_info).
    pub fn life_stats(&mut self, f: impl FnOnce(&mut super::stats::Stats)) {
        super::stats::update(self.db, &self.names.schema, &self.names.table, f);
    }

    pub fn count_search(&mut self, graph: bool) {
        let (l, s) = self.split();
        l.count_search(&s, graph)
    }

    // The transaction hooks (Lifecycle's).
    pub fn begin(&mut self) -> Result<()> {
        self.life.begin();
        Ok(())
    }
    /// Everything that can fail at commit happens here (SQLite ignores xCommit errors).
    pub fn sync(&mut self) -> Result<()> {
        let (l, mut s) = self.split();
        l.sync(&mut s)
    }
    pub fn commit(&mut self) -> Result<()> {
        let (l, mut s) = self.split();
        l.commit(&mut s);
        Ok(())
    }
    pub fn rollback(&mut self) -> Result<()> {
        let (l, mut s) = self.split();
        l.rollback(&mut s);
        Ok(())
    }
    pub fn savepoint(&mut self, level: i32) -> Result<()> {
        let (l, mut s) = self.split();
        l.savepoint(&mut s, level)
    }
    pub fn release(&mut self, level: i32) -> Result<()> {
        self.life.release(level);
        Ok(())
    }
    pub fn rollback_to(&mut self, level: i32) -> Result<()> {
        self.life.rollback_to(level);
        Ok(())
    }
}

/// The new-rowid argument of xUpdate: NULL (choose one) or an integer.
fn rowid_arg(v: Value<'_>) -> Result<Option<i64>> {
    match v.value_type() {
        ValueType::Null => Ok(None),
        ValueType::Integer => Ok(Some(v.i64())),
        ValueType::Float => {
            let f = v.f64();
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                Ok(Some(f as i64))
            } else {
                Err(Error::usage("datatype mismatch: rowid must be an integer"))
            }
        }
        _ => {
            let s = String::from_utf8_lossy(v.text()).trim().to_string();
            s.parse::<i64>()
                .map(Some)
                .map_err(|_| Error::usage("datatype mismatch: rowid must be an integer"))
        }
    }
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
