//! Safe wrappers over the host API: a connection (`Db`), prepared statements
//! (`Stmt`), values SQLite hands us (`Value`, read once into a [`ValueRef`] whose
//! borrowed text or blob cannot outlive the value), result slots (`Ctx`) and the
//! xBestIndex structure (`IndexInfo`). Each carries the API table of its
//! connection.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::ptr;

use super::conn::Conn;
use super::sys::{self, Api};
use crate::error::Error;

/// Calls API slot `$name` of `$api`; a slot the host lacks panics with its name
/// (every callback catches panics and reports them as SQLite errors).
macro_rules! api {
    ($api:expr, $name:ident) => {
        $api.$name().unwrap_or_else(|| {
            panic!(concat!(
                "veclite: the host SQLite has no sqlite3_",
                stringify!($name)
            ))
        })
    };
}
pub(crate) use api;

pub(crate) fn to_cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).expect("NULs were replaced")
}

/// Copies `s` into memory from sqlite3_malloc64, as SQLite wants for error messages
/// and idxStr.
pub(crate) fn sqlite_strdup(api: Api, s: &str) -> *mut c_char {
    let bytes = s.as_bytes();
    // SAFETY: we allocate len+1 bytes and write exactly that many.
    unsafe {
        let p = api!(api, malloc64)((bytes.len() + 1) as u64) as *mut u8;
        if p.is_null() {
            return ptr::null_mut();
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
        p as *mut c_char
    }
}

/// Maps an error to the SQLite result code it is reported with.
pub fn error_code(e: &Error) -> c_int {
    match e {
        Error::Constraint(_) => sys::SQLITE_CONSTRAINT_VTAB,
        Error::Corrupt(_) => sys::SQLITE_CORRUPT_VTAB,
        Error::Sqlite { code, .. } => *code,
        _ => sys::SQLITE_ERROR,
    }
}

/// The error of an interrupted operation.
pub fn interrupted() -> Error {
    Error::Sqlite {
        code: sys::SQLITE_INTERRUPT,
        msg: "interrupted".into(),
    }
}

/// A database connection handle, as handed to us by SQLite, with its API table and
/// the state registered with veclite on it.
#[derive(Clone, Copy)]
pub struct Db {
    raw: *mut sys::sqlite3,
    api: Api,
    conn: *const Conn,
}

impl Db {
    /// # Safety
    /// `raw` must be a live connection whose API table is `api`, used only while
    /// the connection is open; `conn` is null or its registered [`Conn`], which
    /// lives as long as veclite's module or functions are registered on it.
    pub(crate) unsafe fn from_raw(raw: *mut sys::sqlite3, api: Api, conn: *const Conn) -> Db {
        Db { raw, api, conn }
    }

    /// Runs `f` with the per-connection state registered with veclite's module and
    /// functions (None for a connection veclite was not registered on).
    pub fn with_state<T: 'static, R>(self, f: impl FnOnce(&T) -> R) -> Option<R> {
        if self.conn.is_null() {
            return None;
        }
        // SAFETY: per from_raw's contract the Conn outlives every callback that
        // holds this Db, and the reference does not escape `f`.
        unsafe { (*self.conn).state::<T>() }.map(f)
    }

    pub(crate) fn raw(self) -> *mut sys::sqlite3 {
        self.raw
    }

    pub(crate) fn api(self) -> Api {
        self.api
    }

    fn errmsg(self) -> String {
        // SAFETY: sqlite3_errmsg returns a valid NUL-terminated string owned by db.
        unsafe {
            let p = api!(self.api, errmsg)(self.raw);
            if p.is_null() {
                "unknown error".into()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        }
    }

    pub(crate) fn error(self, code: c_int) -> Error {
        Error::Sqlite {
            code,
            msg: self.errmsg(),
        }
    }

    /// Runs one or more statements that return no rows.
    pub fn exec(self, sql: &str) -> Result<(), Error> {
        let c = to_cstring(sql);
        let mut err: *mut c_char = ptr::null_mut();
        // SAFETY: valid db and NUL-terminated SQL; err is freed with sqlite3_free.
        unsafe {
            let rc =
                api!(self.api, exec)(self.raw, c.as_ptr(), ptr::null(), ptr::null_mut(), &mut err);
            if rc != sys::SQLITE_OK {
                let msg = if err.is_null() {
                    self.errmsg()
                } else {
                    let m = CStr::from_ptr(err).to_string_lossy().into_owned();
                    api!(self.api, free)(err as *mut c_void);
                    m
                };
                return Err(Error::Sqlite { code: rc, msg });
            }
        }
        Ok(())
    }

    pub fn prepare(self, sql: &str, persistent: bool) -> Result<Stmt, Error> {
        let c = to_cstring(sql);
        let mut raw: *mut sys::sqlite3_stmt = ptr::null_mut();
        let flags = if persistent {
            sys::SQLITE_PREPARE_PERSISTENT
        } else {
            0
        };
        // SAFETY: valid db, NUL-terminated SQL, out-pointer to a local.
        let rc = unsafe {
            api!(self.api, prepare_v3)(self.raw, c.as_ptr(), -1, flags, &mut raw, ptr::null_mut())
        };
        if rc != sys::SQLITE_OK {
            return Err(self.error(rc));
        }
        if raw.is_null() {
            return Err(Error::usage(format!("veclite: empty statement: {sql}")));
        }
        Ok(Stmt { raw, db: self })
    }

    /// True when no transaction is open on the connection.
    pub fn autocommit(self) -> bool {
        // SAFETY: valid db.
        unsafe { api!(self.api, get_autocommit)(self.raw) != 0 }
    }

    pub fn last_insert_rowid(self) -> i64 {
        // SAFETY: valid db.
        unsafe { api!(self.api, last_insert_rowid)(self.raw) }
    }

    pub fn set_last_insert_rowid(self, rowid: i64) {
        // SAFETY: valid db.
        unsafe { api!(self.api, set_last_insert_rowid)(self.raw, rowid) }
    }

    /// The conflict mode of the running INSERT/UPDATE (only valid inside xUpdate).
    pub fn on_conflict(self) -> OnConflict {
        // SAFETY: valid db, called from inside xUpdate.
        match unsafe { api!(self.api, vtab_on_conflict)(self.raw) } {
            sys::SQLITE_REPLACE => OnConflict::Replace,
            sys::SQLITE_IGNORE => OnConflict::Ignore,
            _ => OnConflict::Abort,
        }
    }

    /// Where `schema`'s database lives: (VFS name, file name) for a database kept in
    /// a named file, None for the temp schema, in-memory databases (`:memory:`,
    /// `mode=memory`, memdb) and shared-cache connections (`cache=shared`), whose
    /// state must never be shared by file name.
    pub fn file_location(self, schema: &str) -> Option<(String, String)> {
        if schema.eq_ignore_ascii_case("temp") {
            return None;
        }
        let s = to_cstring(schema);
        // SAFETY: valid db and NUL-terminated schema name; the returned filename
        // (NULL for an unknown schema) belongs to the connection and is read at once.
        let path = unsafe {
            let f = api!(self.api, db_filename)(self.raw, s.as_ptr());
            if f.is_null() || *f == 0 {
                return None;
            }
            let param = |key: &CStr| -> Option<String> {
                let p = api!(self.api, uri_parameter)(f, key.as_ptr());
                (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().to_ascii_lowercase())
            };
            if param(c"mode").as_deref() == Some("memory")
                || param(c"cache").as_deref() == Some("shared")
            {
                return None;
            }
            CStr::from_ptr(f).to_string_lossy().into_owned()
        };
        let mut vfs: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: SQLITE_FCNTL_VFS_POINTER writes one sqlite3_vfs* to the pointer we
        // pass; the VFS is registered and outlives the connection, and its zName is
        // a NUL-terminated string (or NULL).
        let name = unsafe {
            let rc = api!(self.api, file_control)(
                self.raw,
                s.as_ptr(),
                sys::SQLITE_FCNTL_VFS_POINTER,
                (&mut vfs as *mut *mut std::ffi::c_void).cast(),
            );
            if rc != sys::SQLITE_OK || vfs.is_null() {
                return None;
            }
            let head = vfs as *const sys::sqlite3_vfs_head;
            let z = (*head).z_name;
            if z.is_null() {
                String::new()
            } else {
                CStr::from_ptr(z).to_string_lossy().into_owned()
            }
        };
        if name == "memdb" {
            return None;
        }
        Some((name, path))
    }

    /// Whether the statement running on this connection was interrupted
    /// (`sqlite3_is_interrupted`, 3.41+; always false on older hosts: see
    /// [`InterruptPoll`]).
    pub fn is_interrupted(self) -> bool {
        match self.api.is_interrupted() {
            // SAFETY: valid db; the slot exists (the host is 3.41+).
            Some(f) => unsafe { f(self.raw) != 0 },
            None => false,
        }
    }
}

/// Tells whether `sqlite3_interrupt` was called on a connection while one of our
/// callbacks runs: `sqlite3_is_interrupted` where the host has it (3.41+); on older
/// hosts by stepping a prepared `SELECT 1`, which fails with SQLITE_INTERRUPT while
/// the flag is set (SQLite keeps it set while the interrupted statement is active).
/// A poll costs about a microsecond.
pub struct InterruptPoll {
    db: Db,
    probe: Option<Stmt>,
}

impl InterruptPoll {
    pub fn new(db: Db) -> Self {
        let probe = match db.api.is_interrupted() {
            Some(_) => None,
            None => db.prepare("SELECT 1", false).ok(),
        };
        InterruptPoll { db, probe }
    }

    pub fn interrupted(&mut self) -> bool {
        match &mut self.probe {
            None => self.db.is_interrupted(),
            Some(st) => {
                let r = st.step();
                st.reset();
                matches!(r, Err(Error::Sqlite { code, .. }) if code & 0xff == sys::SQLITE_INTERRUPT)
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    Abort,
    Ignore,
    Replace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Integer,
    Float,
    Text,
    Blob,
    Null,
}

fn value_type_of(t: c_int) -> ValueType {
    match t {
        sys::SQLITE_INTEGER => ValueType::Integer,
        sys::SQLITE_FLOAT => ValueType::Float,
        sys::SQLITE_TEXT => ValueType::Text,
        sys::SQLITE_BLOB => ValueType::Blob,
        sys::SQLITE_NULL => ValueType::Null,
        _ => ValueType::Null,
    }
}

/// A prepared statement, finalized on drop.
pub struct Stmt {
    raw: *mut sys::sqlite3_stmt,
    db: Db,
}

impl Stmt {
    fn check(&self, rc: c_int) -> Result<(), Error> {
        if rc == sys::SQLITE_OK {
            Ok(())
        } else {
            Err(self.db.error(rc))
        }
    }

    pub fn bind_null(&mut self, i: usize) -> Result<(), Error> {
        // SAFETY: valid statement; SQLite checks the index.
        self.check(unsafe { api!(self.db.api, bind_null)(self.raw, i as c_int) })
    }
    pub fn bind_i64(&mut self, i: usize, v: i64) -> Result<(), Error> {
        // SAFETY: valid statement.
        self.check(unsafe { api!(self.db.api, bind_int64)(self.raw, i as c_int, v) })
    }
    pub fn bind_f64(&mut self, i: usize, v: f64) -> Result<(), Error> {
        // SAFETY: valid statement.
        self.check(unsafe { api!(self.db.api, bind_double)(self.raw, i as c_int, v) })
    }
    pub fn bind_blob(&mut self, i: usize, v: &[u8]) -> Result<(), Error> {
        // SAFETY: valid statement; SQLITE_TRANSIENT makes SQLite copy the bytes.
        self.check(unsafe {
            api!(self.db.api, bind_blob64)(
                self.raw,
                i as c_int,
                v.as_ptr() as *const c_void,
                v.len() as u64,
                sys::transient(),
            )
        })
    }
    pub fn bind_text(&mut self, i: usize, v: &[u8]) -> Result<(), Error> {
        // SAFETY: valid statement; SQLITE_TRANSIENT makes SQLite copy the bytes.
        self.check(unsafe {
            api!(self.db.api, bind_text64)(
                self.raw,
                i as c_int,
                v.as_ptr() as *const c_char,
                v.len() as u64,
                sys::transient(),
                sys::SQLITE_UTF8 as u8,
            )
        })
    }
    pub fn bind_value(&mut self, i: usize, v: Value<'_>) -> Result<(), Error> {
        // SAFETY: valid statement and value; SQLite copies the value.
        self.check(unsafe { api!(self.db.api, bind_value)(self.raw, i as c_int, v.raw) })
    }

    /// Steps once: Ok(true) when a row is ready, Ok(false) when done.
    pub fn step(&mut self) -> Result<bool, Error> {
        // SAFETY: valid statement.
        match unsafe { api!(self.db.api, step)(self.raw) } {
            sys::SQLITE_ROW => Ok(true),
            sys::SQLITE_DONE => Ok(false),
            rc => {
                // SAFETY: valid statement; reset returns the same error and lets the
                // statement be reused.
                let code = unsafe { api!(self.db.api, reset)(self.raw) };
                let code = if code == sys::SQLITE_OK { rc } else { code };
                Err(self.db.error(code))
            }
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    pub fn run(&mut self) -> Result<(), Error> {
        let r = self.step().map(|_| ());
        self.reset();
        r
    }

    /// Resets and clears bindings so the statement can be reused.
    pub fn reset(&mut self) {
        // SAFETY: valid statement.
        unsafe {
            api!(self.db.api, reset)(self.raw);
            api!(self.db.api, clear_bindings)(self.raw);
        }
    }

    pub fn column_type(&self, i: usize) -> ValueType {
        // SAFETY: valid statement positioned on a row; SQLite checks the index.
        value_type_of(unsafe { api!(self.db.api, column_type)(self.raw, i as c_int) })
    }
    pub fn column_i64(&self, i: usize) -> i64 {
        // SAFETY: as above.
        unsafe { api!(self.db.api, column_int64)(self.raw, i as c_int) }
    }
    /// The column as bytes (a BLOB as stored, a TEXT as UTF-8). Valid until the next
    /// step/reset.
    pub fn column_bytes(&self, i: usize) -> &[u8] {
        if self.column_type(i) == ValueType::Text {
            // A text comes as UTF-8 whatever the database's encoding (the blob
            // pointer would give a UTF-16 database's own bytes).
            return self.column_value(i).text();
        }
        // SAFETY: sqlite3_column_blob then sqlite3_column_bytes, in that order, give
        // the pointer and length of the same buffer, which lives until the statement
        // steps or resets; the borrow of self ties the slice to that.
        unsafe {
            let p = api!(self.db.api, column_blob)(self.raw, i as c_int) as *const u8;
            let n = api!(self.db.api, column_bytes)(self.raw, i as c_int);
            if p.is_null() || n <= 0 {
                &[]
            } else {
                std::slice::from_raw_parts(p, n as usize)
            }
        }
    }
    /// The column as an unprotected value, valid until the next step/reset.
    pub fn column_value(&self, i: usize) -> Value<'_> {
        // SAFETY: the value is owned by the statement and lives until it steps; the
        // borrow of self ties the Value to that.
        Value {
            raw: unsafe { api!(self.db.api, column_value)(self.raw, i as c_int) },
            api: self.db.api,
            _p: PhantomData,
        }
    }
}

impl Drop for Stmt {
    fn drop(&mut self) {
        // SAFETY: we own the statement and finalize it once.
        unsafe {
            api!(self.db.api, finalize)(self.raw);
        }
    }
}

/// A value read once: text and blobs borrow from the value for its lifetime.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// A value SQLite hands us (an argument, a bound value, a column).
#[derive(Clone, Copy)]
pub struct Value<'a> {
    raw: *mut sys::sqlite3_value,
    api: Api,
    _p: PhantomData<&'a ()>,
}

impl<'a> Value<'a> {
    /// # Safety
    /// `raw` must be a value that stays valid for `'a`, from a connection whose API
    /// table is `api`.
    pub(crate) unsafe fn from_raw(raw: *mut sys::sqlite3_value, api: Api) -> Value<'a> {
        Value {
            raw,
            api,
            _p: PhantomData,
        }
    }

    /// The value with its storage class, read once.
    pub fn get(self) -> ValueRef<'a> {
        match self.value_type() {
            ValueType::Null => ValueRef::Null,
            ValueType::Integer => ValueRef::Integer(self.i64()),
            ValueType::Float => ValueRef::Real(self.f64()),
            ValueType::Text => ValueRef::Text(self.text()),
            ValueType::Blob => ValueRef::Blob(self.blob()),
        }
    }

    pub fn value_type(self) -> ValueType {
        // SAFETY: valid value for 'a.
        value_type_of(unsafe { api!(self.api, value_type)(self.raw) })
    }
    pub fn is_null(self) -> bool {
        self.value_type() == ValueType::Null
    }
    pub fn i64(self) -> i64 {
        // SAFETY: valid value for 'a.
        unsafe { api!(self.api, value_int64)(self.raw) }
    }
    pub fn f64(self) -> f64 {
        // SAFETY: valid value for 'a.
        unsafe { api!(self.api, value_double)(self.raw) }
    }
    /// BLOB bytes (or the bytes of another type converted to BLOB).
    pub fn blob(self) -> &'a [u8] {
        // SAFETY: blob then bytes, in that order, describe one buffer that lives as
        // long as the value is not converted again, which this API never does while
        // the slice is alive ('a).
        unsafe {
            let p = api!(self.api, value_blob)(self.raw) as *const u8;
            let n = api!(self.api, value_bytes)(self.raw);
            if p.is_null() || n <= 0 {
                &[]
            } else {
                std::slice::from_raw_parts(p, n as usize)
            }
        }
    }
    /// UTF-8 text bytes.
    pub fn text(self) -> &'a [u8] {
        // SAFETY: as for blob(), with sqlite3_value_text.
        unsafe {
            let p = api!(self.api, value_text)(self.raw);
            let n = api!(self.api, value_bytes)(self.raw);
            if p.is_null() || n <= 0 {
                &[]
            } else {
                std::slice::from_raw_parts(p, n as usize)
            }
        }
    }
    /// True for an UPDATE argument whose column was not changed (sqlite3_value_nochange).
    pub fn nochange(self) -> bool {
        // SAFETY: valid value.
        unsafe { api!(self.api, value_nochange)(self.raw) != 0 }
    }

    /// The values of an `IN (...)` right-hand side handed over with sqlite3_vtab_in.
    pub fn in_list(self) -> Result<Vec<OwnedValue>, Error> {
        let (Some(first), Some(next)) = (self.api.vtab_in_first(), self.api.vtab_in_next()) else {
            return Err(Error::usage("veclite: IN lists need SQLite 3.38 or newer"));
        };
        let mut out = Vec::new();
        let mut v: *mut sys::sqlite3_value = ptr::null_mut();
        // SAFETY: self is an xFilter argument whose constraint was marked with
        // sqlite3_vtab_in(.., 1); each returned value is copied before the next call.
        unsafe {
            let mut rc = first(self.raw, &mut v);
            while rc == sys::SQLITE_OK && !v.is_null() {
                out.push(OwnedValue::from_value(Value::from_raw(v, self.api)));
                rc = next(self.raw, &mut v);
            }
            if rc != sys::SQLITE_OK && rc != sys::SQLITE_DONE {
                return Err(Error::Sqlite {
                    code: rc,
                    msg: "veclite: reading an IN list failed".into(),
                });
            }
        }
        Ok(out)
    }
}

/// # Safety
/// `argv` must hold `argc` values valid for `'a`.
pub(crate) unsafe fn values<'a>(
    api: Api,
    argc: c_int,
    argv: *mut *mut sys::sqlite3_value,
) -> Vec<Value<'a>> {
    if argc <= 0 || argv.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract, argv holds argc valid values.
    unsafe { std::slice::from_raw_parts(argv, argc as usize) }
        .iter()
        // SAFETY: as above.
        .map(|&raw| unsafe { Value::from_raw(raw, api) })
        .collect()
}

/// A copy of an SQLite value that we own.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl OwnedValue {
    pub fn from_value(v: Value<'_>) -> Self {
        match v.get() {
            ValueRef::Null => OwnedValue::Null,
            ValueRef::Integer(x) => OwnedValue::Integer(x),
            ValueRef::Real(x) => OwnedValue::Real(x),
            ValueRef::Text(t) => OwnedValue::Text(t.to_vec()),
            ValueRef::Blob(b) => OwnedValue::Blob(b.to_vec()),
        }
    }

    pub fn bind(&self, stmt: &mut Stmt, i: usize) -> Result<(), Error> {
        match self {
            OwnedValue::Null => stmt.bind_null(i),
            OwnedValue::Integer(x) => stmt.bind_i64(i, *x),
            OwnedValue::Real(x) => stmt.bind_f64(i, *x),
            OwnedValue::Text(t) => stmt.bind_text(i, t),
            OwnedValue::Blob(b) => stmt.bind_blob(i, b),
        }
    }
}

/// The result slot of a function call or xColumn.
pub struct Ctx {
    raw: *mut sys::sqlite3_context,
    api: Api,
}

impl Ctx {
    /// # Safety
    /// `raw` must be the context of the running callback, from a connection whose
    /// API table is `api`.
    pub(crate) unsafe fn from_raw(raw: *mut sys::sqlite3_context, api: Api) -> Ctx {
        Ctx { raw, api }
    }

    pub fn null(&self) {
        // SAFETY: valid context for the duration of the callback.
        unsafe { api!(self.api, result_null)(self.raw) }
    }
    pub fn i64(&self, v: i64) {
        // SAFETY: as above.
        unsafe { api!(self.api, result_int64)(self.raw, v) }
    }
    pub fn f64(&self, v: f64) {
        // SAFETY: as above.
        unsafe { api!(self.api, result_double)(self.raw, v) }
    }
    pub fn blob(&self, v: &[u8]) {
        // SAFETY: as above; SQLITE_TRANSIENT makes SQLite copy.
        unsafe {
            api!(self.api, result_blob64)(
                self.raw,
                v.as_ptr() as *const c_void,
                v.len() as u64,
                sys::transient(),
            )
        }
    }
    pub fn text(&self, v: &str) {
        // SAFETY: as above.
        unsafe {
            api!(self.api, result_text64)(
                self.raw,
                v.as_ptr() as *const c_char,
                v.len() as u64,
                sys::transient(),
                sys::SQLITE_UTF8 as u8,
            )
        }
    }
    pub fn value(&self, v: Value<'_>) {
        // SAFETY: as above; SQLite copies the value.
        unsafe { api!(self.api, result_value)(self.raw, v.raw) }
    }
    pub fn owned(&self, v: &OwnedValue) {
        match v {
            OwnedValue::Null => self.null(),
            OwnedValue::Integer(x) => self.i64(*x),
            OwnedValue::Real(x) => self.f64(*x),
            OwnedValue::Text(t) => self.text(&String::from_utf8_lossy(t)),
            OwnedValue::Blob(b) => self.blob(b),
        }
    }
    pub fn out(&self, v: Out) {
        match v {
            Out::Null => self.null(),
            Out::Integer(x) => self.i64(x),
            Out::Real(x) => self.f64(x),
            Out::Text(s) => self.text(&s),
            Out::Blob(b) => self.blob(&b),
        }
    }
    pub fn error(&self, e: &Error) {
        let msg = e.to_string();
        // SAFETY: SQLite copies the message.
        unsafe {
            api!(self.api, result_error)(
                self.raw,
                msg.as_ptr() as *const c_char,
                msg.len() as c_int,
            );
            api!(self.api, result_error_code)(self.raw, error_code(e));
        }
    }
    /// True inside xColumn during an UPDATE for a column the UPDATE does not change.
    pub fn nochange(&self) -> bool {
        // SAFETY: valid context inside xColumn.
        unsafe { api!(self.api, vtab_nochange)(self.raw) != 0 }
    }
}

/// Result of a scalar SQL function.
pub enum Out {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Signature of our scalar SQL functions: the calling connection and the arguments.
pub type ScalarFn = fn(Db, &[Value<'_>]) -> Result<Out, Error>;

/// One constraint of xBestIndex.
#[derive(Clone, Copy, Debug)]
pub struct Constraint {
    pub column: i32,
    pub op: u8,
    pub usable: bool,
}

/// The xBestIndex in/out structure.
pub struct IndexInfo<'a> {
    raw: &'a mut sys::sqlite3_index_info,
    api: Api,
}

impl<'a> IndexInfo<'a> {
    pub(crate) fn new(raw: &'a mut sys::sqlite3_index_info, api: Api) -> Self {
        IndexInfo { raw, api }
    }

    pub fn constraints(&self) -> Vec<Constraint> {
        let n = self.raw.nConstraint.max(0) as usize;
        if n == 0 {
            return Vec::new();
        }
        // SAFETY: SQLite provides nConstraint entries.
        let cs = unsafe { std::slice::from_raw_parts(self.raw.aConstraint, n) };
        cs.iter()
            .map(|c| Constraint {
                column: c.iColumn,
                op: c.op,
                usable: c.usable != 0,
            })
            .collect()
    }
    /// ORDER BY terms: (column, descending).
    pub fn order_by(&self) -> Vec<(i32, bool)> {
        let n = self.raw.nOrderBy.max(0) as usize;
        if n == 0 {
            return Vec::new();
        }
        // SAFETY: SQLite provides nOrderBy entries.
        let o = unsafe { std::slice::from_raw_parts(self.raw.aOrderBy, n) };
        o.iter().map(|t| (t.iColumn, t.desc != 0)).collect()
    }
    pub fn set_usage(&mut self, i: usize, argv_index: i32, omit: bool) {
        assert!(i < self.raw.nConstraint as usize);
        // SAFETY: index checked above; SQLite provides nConstraint usage slots.
        unsafe {
            let u = &mut *self.raw.aConstraintUsage.add(i);
            u.argvIndex = argv_index;
            u.omit = omit as u8;
        }
    }
    pub fn set_idx_num(&mut self, n: i32) {
        self.raw.idxNum = n;
    }
    pub fn set_idx_str(&mut self, s: &str) {
        let p = sqlite_strdup(self.api, s);
        if !p.is_null() {
            self.raw.idxStr = p;
            self.raw.needToFreeIdxStr = 1;
        }
    }
    pub fn set_cost(&mut self, cost: f64, rows: i64) {
        self.raw.estimatedCost = cost;
        self.raw.estimatedRows = rows;
    }
    pub fn set_order_by_consumed(&mut self, yes: bool) {
        self.raw.orderByConsumed = yes as c_int;
    }
    pub fn set_unique(&mut self) {
        self.raw.idxFlags |= sys::SQLITE_INDEX_SCAN_UNIQUE;
    }
    pub fn col_used(&self) -> u64 {
        self.raw.colUsed
    }
    /// The collation the constraint's comparison uses (e.g. "BINARY", "NOCASE").
    pub fn collation(&mut self, i: usize) -> String {
        // SAFETY: called inside xBestIndex with a valid constraint index.
        unsafe {
            let p = api!(self.api, vtab_collation)(self.raw, i as c_int);
            if p.is_null() {
                "BINARY".into()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        }
    }
    /// True if constraint i is an `IN (...)` that can be handed over as one list;
    /// asks SQLite to do so (sqlite3_vtab_in(.., 1)). False on hosts before 3.38.
    pub fn take_in_list(&mut self, i: usize) -> bool {
        let Some(vtab_in) = self.api.vtab_in() else {
            return false;
        };
        // SAFETY: inside xBestIndex, valid constraint index.
        unsafe {
            if vtab_in(self.raw, i as c_int, -1) == 0 {
                return false;
            }
            vtab_in(self.raw, i as c_int, 1) != 0
        }
    }
}
