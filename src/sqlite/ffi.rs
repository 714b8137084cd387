//! The only place where veclite touches SQLite's C API.
//!
//! * the loadable-extension entry point `sqlite3_veclite_init`;
//! * the host API: the host's version, and the `sqlite3_api_routines` slots newer than
//!   the bindings we compile against (3.34.1), read only when the host has them;
//! * small safe wrappers (`Db`, `Stmt`, `Value`, `Ctx`, `IndexInfo`) used by the rest
//!   of `sqlite/`;
//! * our own `sqlite3_module` table and its trampolines. Every callback SQLite calls is
//!   wrapped in `catch_unwind`: a Rust panic becomes an SQLite error, never an abort.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use rusqlite::ffi;

use super::cursor::VecCursor;
use super::vtab::VecTable;
use crate::error::Error;

// ---------------------------------------------------------------------------------
// Host API
// ---------------------------------------------------------------------------------

static HOST_VERSION: AtomicI32 = AtomicI32::new(0);

#[cfg(feature = "loadable")]
static API: std::sync::atomic::AtomicPtr<ffi::sqlite3_api_routines> =
    std::sync::atomic::AtomicPtr::new(ptr::null_mut());

/// `sqlite3_libversion_number()` of the SQLite we run inside (e.g. 3040001).
pub fn host_version() -> i32 {
    let v = HOST_VERSION.load(Ordering::Relaxed);
    if v != 0 {
        return v;
    }
    // SAFETY: sqlite3_libversion_number takes no arguments and only reads a constant.
    // In loadable builds it is only reachable after the entry point stored the API
    // table (host_version is first called from register_all, after init).
    let v = unsafe { ffi::sqlite3_libversion_number() };
    HOST_VERSION.store(v, Ordering::Relaxed);
    v
}

/// Indices of `sqlite3_api_routines` slots added after SQLite 3.34.1 (the struct of
/// our bindings ends at index 252, `txn_state`). Each is read only when the host's
/// version says the slot exists: an older host's table is shorter.
#[cfg(feature = "loadable")]
mod slot {
    pub const VTAB_RHS_VALUE: usize = 257; // 3.38.0
    pub const VTAB_IN: usize = 259; // 3.38.0
    pub const VTAB_IN_FIRST: usize = 260; // 3.38.0
    pub const VTAB_IN_NEXT: usize = 261; // 3.38.0
    pub const IS_INTERRUPTED: usize = 266; // 3.41.0
}

#[cfg(feature = "loadable")]
fn api_slot(index: usize) -> *const c_void {
    let api = API.load(Ordering::Acquire);
    if api.is_null() {
        return ptr::null();
    }
    // SAFETY: `api` is the host's sqlite3_api_routines table, which lives as long as
    // the process. The struct is a sequence of function pointers; callers only ask for
    // an index after checking host_version() against the release that added it, so
    // the slot is inside the host's table.
    unsafe { *(api as *const *const c_void).add(index) }
}

/// True when the host has `sqlite3_vtab_in` & co (3.38+).
pub fn host_has_vtab_in() -> bool {
    host_version() >= 3_038_000
}

unsafe fn vtab_in_raw(info: *mut ffi::sqlite3_index_info, i: c_int, handle: c_int) -> c_int {
    if !host_has_vtab_in() {
        return 0;
    }
    #[cfg(feature = "loadable")]
    {
        let f = api_slot(slot::VTAB_IN);
        if f.is_null() {
            return 0;
        }
        let f: unsafe extern "C" fn(*mut ffi::sqlite3_index_info, c_int, c_int) -> c_int =
            std::mem::transmute(f);
        f(info, i, handle)
    }
    #[cfg(not(feature = "loadable"))]
    {
        ffi::sqlite3_vtab_in(info, i, handle)
    }
}

unsafe fn vtab_in_first_raw(
    v: *mut ffi::sqlite3_value,
    out: *mut *mut ffi::sqlite3_value,
) -> c_int {
    #[cfg(feature = "loadable")]
    {
        let f = api_slot(slot::VTAB_IN_FIRST);
        if f.is_null() || !host_has_vtab_in() {
            return ffi::SQLITE_MISUSE;
        }
        let f: unsafe extern "C" fn(
            *mut ffi::sqlite3_value,
            *mut *mut ffi::sqlite3_value,
        ) -> c_int = std::mem::transmute(f);
        f(v, out)
    }
    #[cfg(not(feature = "loadable"))]
    {
        ffi::sqlite3_vtab_in_first(v, out)
    }
}

unsafe fn vtab_in_next_raw(v: *mut ffi::sqlite3_value, out: *mut *mut ffi::sqlite3_value) -> c_int {
    #[cfg(feature = "loadable")]
    {
        let f = api_slot(slot::VTAB_IN_NEXT);
        if f.is_null() || !host_has_vtab_in() {
            return ffi::SQLITE_MISUSE;
        }
        let f: unsafe extern "C" fn(
            *mut ffi::sqlite3_value,
            *mut *mut ffi::sqlite3_value,
        ) -> c_int = std::mem::transmute(f);
        f(v, out)
    }
    #[cfg(not(feature = "loadable"))]
    {
        ffi::sqlite3_vtab_in_next(v, out)
    }
}

#[allow(dead_code)]
unsafe fn vtab_rhs_value_raw(
    info: *mut ffi::sqlite3_index_info,
    i: c_int,
    out: *mut *mut ffi::sqlite3_value,
) -> c_int {
    if !host_has_vtab_in() {
        return ffi::SQLITE_NOTFOUND;
    }
    #[cfg(feature = "loadable")]
    {
        let f = api_slot(slot::VTAB_RHS_VALUE);
        if f.is_null() {
            return ffi::SQLITE_NOTFOUND;
        }
        let f: unsafe extern "C" fn(
            *mut ffi::sqlite3_index_info,
            c_int,
            *mut *mut ffi::sqlite3_value,
        ) -> c_int = std::mem::transmute(f);
        f(info, i, out)
    }
    #[cfg(not(feature = "loadable"))]
    {
        ffi::sqlite3_vtab_rhs_value(info, i, out)
    }
}

/// `sqlite3_vtab_config(db, op, 1)`. The loadable bindings declare it without the
/// variadic argument, so call the host's function pointer with it ourselves.
unsafe fn vtab_config_int(db: *mut ffi::sqlite3, op: c_int, arg: c_int) -> c_int {
    #[cfg(feature = "loadable")]
    {
        let api = API.load(Ordering::Acquire);
        match (*api).vtab_config {
            Some(f) => f(db, op, arg),
            None => ffi::SQLITE_MISUSE,
        }
    }
    #[cfg(not(feature = "loadable"))]
    {
        ffi::sqlite3_vtab_config(db, op, arg)
    }
}

unsafe fn vtab_config_flag(db: *mut ffi::sqlite3, op: c_int) -> c_int {
    #[cfg(feature = "loadable")]
    {
        let api = API.load(Ordering::Acquire);
        match (*api).vtab_config {
            Some(f) => f(db, op),
            None => ffi::SQLITE_MISUSE,
        }
    }
    #[cfg(not(feature = "loadable"))]
    {
        ffi::sqlite3_vtab_config(db, op)
    }
}

// ---------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------

/// Entry point for `.load libveclite` / `sqlite3_load_extension`.
///
/// # Safety
/// Called by SQLite with a valid connection and its API table.
#[cfg(feature = "loadable")]
#[no_mangle]
pub unsafe extern "C" fn sqlite3_veclite_init(
    db: *mut ffi::sqlite3,
    pz_err_msg: *mut *mut c_char,
    p_api: *mut ffi::sqlite3_api_routines,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        if p_api.is_null() {
            return ffi::SQLITE_ERROR;
        }
        API.store(p_api, Ordering::Release);
        quiet_panics();
        // SAFETY: db and p_api come from SQLite's extension loader; extension_init2
        // stores the API table for the bindings (checking the host is >= 3.34.1) and
        // then runs our init, which only registers functions and the module.
        rusqlite::Connection::extension_init2(db, pz_err_msg, p_api, |conn| {
            // SAFETY: the handle is the live connection SQLite is loading us into.
            let rc = register_all(conn.handle());
            if rc != ffi::SQLITE_OK {
                return Err(rusqlite::Error::SqliteFailure(
                    ffi::Error::new(rc),
                    Some("veclite: registering functions failed".into()),
                ));
            }
            // true = SQLITE_OK_LOAD_PERMANENTLY: never unload us under running code.
            Ok(true)
        })
    }));
    r.unwrap_or(ffi::SQLITE_ERROR)
}

/// In the loadable library the Rust runtime (and its panic hook) is ours alone: a
/// caught panic is reported as an SQLite error, so do not also print it into the
/// host's stderr unless VECLITE_DEBUG_PANIC is set.
#[cfg(feature = "loadable")]
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("VECLITE_DEBUG_PANIC").is_none() {
            std::panic::set_hook(Box::new(|_| {}));
        }
    });
}

/// Registers the `veclite` module and every SQL function on a rusqlite connection,
/// for Rust programs that link SQLite themselves (no shared library needed).
pub fn register(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    // SAFETY: handle() is the connection's live sqlite3*; we only register things.
    let rc = unsafe { register_all(conn.handle()) };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(rc),
            Some("veclite: registration failed".into()),
        ))
    }
}

unsafe fn register_all(db: *mut ffi::sqlite3) -> c_int {
    HOST_VERSION.store(ffi::sqlite3_libversion_number(), Ordering::Relaxed);
    let rc =
        ffi::sqlite3_create_module_v2(db, c"veclite".as_ptr(), module_ptr(), ptr::null_mut(), None);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    for f in super::functions::FUNCTIONS {
        if !f.enabled() {
            continue;
        }
        let name = CString::new(f.name).expect("function names have no NUL");
        let rc = ffi::sqlite3_create_function_v2(
            db,
            name.as_ptr(),
            f.n_args,
            ffi::SQLITE_UTF8 | f.flags,
            f.func as usize as *mut c_void,
            Some(scalar_trampoline),
            None,
            None,
            None,
        );
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    ffi::SQLITE_OK
}

// ---------------------------------------------------------------------------------
// Safe wrappers
// ---------------------------------------------------------------------------------

fn to_cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).expect("NULs were replaced")
}

/// Copies `s` into memory from sqlite3_malloc64, as SQLite wants for error messages
/// and idxStr.
fn sqlite_strdup(s: &str) -> *mut c_char {
    let bytes = s.as_bytes();
    // SAFETY: we allocate len+1 bytes and write exactly that many.
    unsafe {
        let p = ffi::sqlite3_malloc64((bytes.len() + 1) as u64) as *mut u8;
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
        Error::Constraint(_) => ffi::SQLITE_CONSTRAINT_VTAB,
        Error::Corrupt(_) => ffi::SQLITE_CORRUPT_VTAB,
        Error::Sqlite { code, .. } => *code,
        _ => ffi::SQLITE_ERROR,
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    let detail = if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    };
    format!("veclite: internal error (a Rust panic was caught): {detail}")
}

/// A database connection handle, as handed to us by SQLite.
#[derive(Clone, Copy)]
pub struct Db(*mut ffi::sqlite3);

impl Db {
    /// The handle's address (identifies the connection, e.g. in stats keys).
    pub fn ptr(self) -> *const c_void {
        self.0 as *const c_void
    }

    fn errmsg(self) -> String {
        // SAFETY: sqlite3_errmsg returns a valid NUL-terminated string owned by db.
        unsafe {
            let p = ffi::sqlite3_errmsg(self.0);
            if p.is_null() {
                "unknown error".into()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        }
    }

    fn error(self, code: c_int) -> Error {
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
            let rc = ffi::sqlite3_exec(self.0, c.as_ptr(), None, ptr::null_mut(), &mut err);
            if rc != ffi::SQLITE_OK {
                let msg = if err.is_null() {
                    self.errmsg()
                } else {
                    let m = CStr::from_ptr(err).to_string_lossy().into_owned();
                    ffi::sqlite3_free(err as *mut c_void);
                    m
                };
                return Err(Error::Sqlite { code: rc, msg });
            }
        }
        Ok(())
    }

    pub fn prepare(self, sql: &str, persistent: bool) -> Result<Stmt, Error> {
        let c = to_cstring(sql);
        let mut raw: *mut ffi::sqlite3_stmt = ptr::null_mut();
        let flags = if persistent {
            ffi::SQLITE_PREPARE_PERSISTENT
        } else {
            0
        };
        // SAFETY: valid db, NUL-terminated SQL, out-pointer to a local.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(self.0, c.as_ptr(), -1, flags, &mut raw, ptr::null_mut())
        };
        if rc != ffi::SQLITE_OK {
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
        unsafe { ffi::sqlite3_get_autocommit(self.0) != 0 }
    }

    pub fn last_insert_rowid(self) -> i64 {
        // SAFETY: valid db.
        unsafe { ffi::sqlite3_last_insert_rowid(self.0) }
    }

    pub fn set_last_insert_rowid(self, rowid: i64) {
        // SAFETY: valid db.
        unsafe { ffi::sqlite3_set_last_insert_rowid(self.0, rowid) }
    }

    /// The conflict mode of the running INSERT/UPDATE (only valid inside xUpdate).
    pub fn on_conflict(self) -> OnConflict {
        // SAFETY: valid db, called from inside xUpdate.
        match unsafe { ffi::sqlite3_vtab_on_conflict(self.0) } {
            ffi::SQLITE_REPLACE => OnConflict::Replace,
            ffi::SQLITE_IGNORE => OnConflict::Ignore,
            _ => OnConflict::Abort,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    Abort,
    Ignore,
    Replace,
}

/// A prepared statement, finalized on drop.
pub struct Stmt {
    raw: *mut ffi::sqlite3_stmt,
    db: Db,
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
        ffi::SQLITE_INTEGER => ValueType::Integer,
        ffi::SQLITE_FLOAT => ValueType::Float,
        ffi::SQLITE_TEXT => ValueType::Text,
        ffi::SQLITE_BLOB => ValueType::Blob,
        _ => ValueType::Null,
    }
}

impl Stmt {
    fn check(&self, rc: c_int) -> Result<(), Error> {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.db.error(rc))
        }
    }

    pub fn bind_null(&mut self, i: usize) -> Result<(), Error> {
        // SAFETY: valid statement; SQLite checks the index.
        self.check(unsafe { ffi::sqlite3_bind_null(self.raw, i as c_int) })
    }
    pub fn bind_i64(&mut self, i: usize, v: i64) -> Result<(), Error> {
        // SAFETY: valid statement.
        self.check(unsafe { ffi::sqlite3_bind_int64(self.raw, i as c_int, v) })
    }
    pub fn bind_f64(&mut self, i: usize, v: f64) -> Result<(), Error> {
        // SAFETY: valid statement.
        self.check(unsafe { ffi::sqlite3_bind_double(self.raw, i as c_int, v) })
    }
    pub fn bind_blob(&mut self, i: usize, v: &[u8]) -> Result<(), Error> {
        // SAFETY: valid statement; SQLITE_TRANSIENT makes SQLite copy the bytes.
        self.check(unsafe {
            ffi::sqlite3_bind_blob64(
                self.raw,
                i as c_int,
                v.as_ptr() as *const c_void,
                v.len() as u64,
                ffi::SQLITE_TRANSIENT(),
            )
        })
    }
    pub fn bind_text(&mut self, i: usize, v: &[u8]) -> Result<(), Error> {
        // SAFETY: valid statement; SQLITE_TRANSIENT makes SQLite copy the bytes.
        self.check(unsafe {
            ffi::sqlite3_bind_text64(
                self.raw,
                i as c_int,
                v.as_ptr() as *const c_char,
                v.len() as u64,
                ffi::SQLITE_TRANSIENT(),
                ffi::SQLITE_UTF8 as u8,
            )
        })
    }
    pub fn bind_value(&mut self, i: usize, v: Value<'_>) -> Result<(), Error> {
        // SAFETY: valid statement and value; SQLite copies the value.
        self.check(unsafe { ffi::sqlite3_bind_value(self.raw, i as c_int, v.raw) })
    }

    /// Steps once: Ok(true) when a row is ready, Ok(false) when done.
    pub fn step(&mut self) -> Result<bool, Error> {
        // SAFETY: valid statement.
        match unsafe { ffi::sqlite3_step(self.raw) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => {
                // SAFETY: valid statement; reset returns the same error and lets the
                // statement be reused.
                let code = unsafe { ffi::sqlite3_reset(self.raw) };
                let code = if code == ffi::SQLITE_OK { rc } else { code };
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
            ffi::sqlite3_reset(self.raw);
            ffi::sqlite3_clear_bindings(self.raw);
        }
    }

    pub fn column_type(&self, i: usize) -> ValueType {
        // SAFETY: valid statement positioned on a row; SQLite checks the index.
        value_type_of(unsafe { ffi::sqlite3_column_type(self.raw, i as c_int) })
    }
    pub fn column_i64(&self, i: usize) -> i64 {
        // SAFETY: as above.
        unsafe { ffi::sqlite3_column_int64(self.raw, i as c_int) }
    }
    pub fn column_f64(&self, i: usize) -> f64 {
        // SAFETY: as above.
        unsafe { ffi::sqlite3_column_double(self.raw, i as c_int) }
    }
    /// The column as bytes (BLOB or TEXT). Valid until the next step/reset.
    pub fn column_bytes(&self, i: usize) -> &[u8] {
        // SAFETY: sqlite3_column_blob then sqlite3_column_bytes, in that order, give
        // the pointer and length of the same buffer, which lives until the statement
        // steps or resets; the borrow of self ties the slice to that.
        unsafe {
            let p = ffi::sqlite3_column_blob(self.raw, i as c_int) as *const u8;
            let n = ffi::sqlite3_column_bytes(self.raw, i as c_int);
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
            raw: unsafe { ffi::sqlite3_column_value(self.raw, i as c_int) },
            _p: PhantomData,
        }
    }
}

impl Drop for Stmt {
    fn drop(&mut self) {
        // SAFETY: we own the statement and finalize it once.
        unsafe {
            ffi::sqlite3_finalize(self.raw);
        }
    }
}

/// A value SQLite hands us (an argument, a bound value, a column).
#[derive(Clone, Copy)]
pub struct Value<'a> {
    raw: *mut ffi::sqlite3_value,
    _p: PhantomData<&'a ()>,
}

impl<'a> Value<'a> {
    pub fn value_type(self) -> ValueType {
        // SAFETY: valid value for 'a.
        value_type_of(unsafe { ffi::sqlite3_value_type(self.raw) })
    }
    pub fn is_null(self) -> bool {
        self.value_type() == ValueType::Null
    }
    pub fn i64(self) -> i64 {
        // SAFETY: valid value for 'a.
        unsafe { ffi::sqlite3_value_int64(self.raw) }
    }
    pub fn f64(self) -> f64 {
        // SAFETY: valid value for 'a.
        unsafe { ffi::sqlite3_value_double(self.raw) }
    }
    /// BLOB bytes (or the bytes of another type converted to BLOB).
    pub fn blob(self) -> &'a [u8] {
        // SAFETY: blob then bytes, in that order, describe one buffer that lives as
        // long as the value is not converted again, which this API never does while
        // the slice is alive ('a).
        unsafe {
            let p = ffi::sqlite3_value_blob(self.raw) as *const u8;
            let n = ffi::sqlite3_value_bytes(self.raw);
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
            let p = ffi::sqlite3_value_text(self.raw);
            let n = ffi::sqlite3_value_bytes(self.raw);
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
        unsafe { ffi::sqlite3_value_nochange(self.raw) != 0 }
    }

    /// The values of an `IN (...)` right-hand side handed over with sqlite3_vtab_in.
    pub fn in_list(self) -> Result<Vec<OwnedValue>, Error> {
        let mut out = Vec::new();
        let mut v: *mut ffi::sqlite3_value = ptr::null_mut();
        // SAFETY: self is an xFilter argument whose constraint was marked with
        // sqlite3_vtab_in(.., 1); each returned value is copied before the next call.
        unsafe {
            let mut rc = vtab_in_first_raw(self.raw, &mut v);
            while rc == ffi::SQLITE_OK && !v.is_null() {
                out.push(OwnedValue::from_value(Value {
                    raw: v,
                    _p: PhantomData,
                }));
                rc = vtab_in_next_raw(self.raw, &mut v);
            }
            if rc != ffi::SQLITE_OK && rc != ffi::SQLITE_DONE {
                return Err(Error::Sqlite {
                    code: rc,
                    msg: "veclite: reading an IN list failed".into(),
                });
            }
        }
        Ok(out)
    }
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
        match v.value_type() {
            ValueType::Null => OwnedValue::Null,
            ValueType::Integer => OwnedValue::Integer(v.i64()),
            ValueType::Float => OwnedValue::Real(v.f64()),
            ValueType::Text => OwnedValue::Text(v.text().to_vec()),
            ValueType::Blob => OwnedValue::Blob(v.blob().to_vec()),
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
pub struct Ctx(*mut ffi::sqlite3_context);

impl Ctx {
    pub fn null(&self) {
        // SAFETY: valid context for the duration of the callback.
        unsafe { ffi::sqlite3_result_null(self.0) }
    }
    pub fn i64(&self, v: i64) {
        // SAFETY: as above.
        unsafe { ffi::sqlite3_result_int64(self.0, v) }
    }
    pub fn f64(&self, v: f64) {
        // SAFETY: as above.
        unsafe { ffi::sqlite3_result_double(self.0, v) }
    }
    pub fn blob(&self, v: &[u8]) {
        // SAFETY: as above; SQLITE_TRANSIENT makes SQLite copy.
        unsafe {
            ffi::sqlite3_result_blob64(
                self.0,
                v.as_ptr() as *const c_void,
                v.len() as u64,
                ffi::SQLITE_TRANSIENT(),
            )
        }
    }
    pub fn text(&self, v: &str) {
        // SAFETY: as above.
        unsafe {
            ffi::sqlite3_result_text64(
                self.0,
                v.as_ptr() as *const c_char,
                v.len() as u64,
                ffi::SQLITE_TRANSIENT(),
                ffi::SQLITE_UTF8 as u8,
            )
        }
    }
    pub fn value(&self, v: Value<'_>) {
        // SAFETY: as above; SQLite copies the value.
        unsafe { ffi::sqlite3_result_value(self.0, v.raw) }
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
    pub fn error(&self, e: &Error) {
        let msg = e.to_string();
        // SAFETY: SQLite copies the message.
        unsafe {
            ffi::sqlite3_result_error(self.0, msg.as_ptr() as *const c_char, msg.len() as c_int);
            ffi::sqlite3_result_error_code(self.0, error_code(e));
        }
    }
    /// True inside xColumn during an UPDATE for a column the UPDATE does not change.
    pub fn nochange(&self) -> bool {
        // SAFETY: valid context inside xColumn.
        unsafe { ffi::sqlite3_vtab_nochange(self.0) != 0 }
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

unsafe extern "C" fn scalar_trampoline(
    ctx: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    let c = Ctx(ctx);
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user data is the ScalarFn pointer stored at registration.
        let f: ScalarFn = std::mem::transmute::<*mut c_void, ScalarFn>(ffi::sqlite3_user_data(ctx));
        let args = values(argc, argv);
        f(Db(ffi::sqlite3_context_db_handle(ctx)), &args)
    }));
    match r {
        Ok(Ok(out)) => match out {
            Out::Null => c.null(),
            Out::Integer(v) => c.i64(v),
            Out::Real(v) => c.f64(v),
            Out::Text(s) => c.text(&s),
            Out::Blob(b) => c.blob(&b),
        },
        Ok(Err(e)) => c.error(&e),
        Err(p) => c.error(&Error::usage(panic_message(&*p))),
    }
}

unsafe fn values<'a>(argc: c_int, argv: *mut *mut ffi::sqlite3_value) -> Vec<Value<'a>> {
    if argc <= 0 || argv.is_null() {
        return Vec::new();
    }
    std::slice::from_raw_parts(argv, argc as usize)
        .iter()
        .map(|&raw| Value {
            raw,
            _p: PhantomData,
        })
        .collect()
}

/// One constraint of xBestIndex.
#[derive(Clone, Copy, Debug)]
pub struct Constraint {
    pub column: i32,
    pub op: u8,
    pub usable: bool,
}

/// The xBestIndex in/out structure.
pub struct IndexInfo<'a> {
    raw: &'a mut ffi::sqlite3_index_info,
}

impl IndexInfo<'_> {
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
        let p = sqlite_strdup(s);
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
        self.raw.idxFlags |= ffi::SQLITE_INDEX_SCAN_UNIQUE;
    }
    pub fn col_used(&self) -> u64 {
        self.raw.colUsed
    }
    /// The collation the constraint's comparison uses (e.g. "BINARY", "NOCASE").
    pub fn collation(&mut self, i: usize) -> String {
        // SAFETY: called inside xBestIndex with a valid constraint index.
        unsafe {
            let p = ffi::sqlite3_vtab_collation(self.raw, i as c_int);
            if p.is_null() {
                "BINARY".into()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        }
    }
    /// True if constraint i is an `IN (...)` that can be handed over as one list;
    /// asks SQLite to do so (sqlite3_vtab_in(.., 1)).
    pub fn take_in_list(&mut self, i: usize) -> bool {
        // SAFETY: inside xBestIndex, valid constraint index; no-op on old hosts.
        unsafe {
            if vtab_in_raw(self.raw, i as c_int, -1) == 0 {
                return false;
            }
            vtab_in_raw(self.raw, i as c_int, 1) != 0
        }
    }
}

// ---------------------------------------------------------------------------------
// The module table and its trampolines
// ---------------------------------------------------------------------------------

#[repr(C)]
struct VTab {
    base: ffi::sqlite3_vtab,
    table: VecTable,
}

#[repr(C)]
struct Cursor {
    base: ffi::sqlite3_vtab_cursor,
    cursor: VecCursor,
}

#[cfg(feature = "loadable")]
type XIntegrity = unsafe extern "C" fn(
    *mut ffi::sqlite3_vtab,
    *const c_char,
    *const c_char,
    c_int,
    *mut *mut c_char,
) -> c_int;

/// `sqlite3_module` as of SQLite 3.44 (iVersion 4, with xIntegrity). The loadable
/// bindings describe the 3.34 struct, so the last slot is appended here; hosts older
/// than 3.44 never read past xShadowName.
#[cfg(feature = "loadable")]
#[repr(C)]
struct Module {
    base: ffi::sqlite3_module,
    x_integrity: Option<XIntegrity>,
}

#[cfg(feature = "loadable")]
static MODULE_V4: Module = Module {
    base: module_base(),
    x_integrity: Some(x_integrity),
};

#[cfg(feature = "loadable")]
fn module_ptr() -> *const ffi::sqlite3_module {
    &MODULE_V4 as *const Module as *const ffi::sqlite3_module
}

#[cfg(not(feature = "loadable"))]
static MODULE_V4: ffi::sqlite3_module = module_base();

#[cfg(not(feature = "loadable"))]
fn module_ptr() -> *const ffi::sqlite3_module {
    &MODULE_V4
}

const fn module_base() -> ffi::sqlite3_module {
    ffi::sqlite3_module {
        iVersion: 4,
        xCreate: Some(x_create),
        xConnect: Some(x_connect),
        xBestIndex: Some(x_best_index),
        xDisconnect: Some(x_disconnect),
        xDestroy: Some(x_destroy),
        xOpen: Some(x_open),
        xClose: Some(x_close),
        xFilter: Some(x_filter),
        xNext: Some(x_next),
        xEof: Some(x_eof),
        xColumn: Some(x_column),
        xRowid: Some(x_rowid),
        xUpdate: Some(x_update),
        xBegin: Some(x_begin),
        xSync: Some(x_sync),
        xCommit: Some(x_commit),
        xRollback: Some(x_rollback),
        xFindFunction: Some(x_find_function),
        xRename: Some(x_rename),
        xSavepoint: Some(x_savepoint),
        xRelease: Some(x_release),
        xRollbackTo: Some(x_rollback_to),
        xShadowName: Some(x_shadow_name),
        #[cfg(not(feature = "loadable"))]
        xIntegrity: Some(x_integrity),
    }
}

/// xIntegrity (3.44+): PRAGMA integrity_check also checks rows against the graph.
unsafe extern "C" fn x_integrity(
    vtab: *mut ffi::sqlite3_vtab,
    _schema: *const c_char,
    _table: *const c_char,
    _flags: c_int,
    pz_err: *mut *mut c_char,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let t = table(vtab);
        let name = format!("{}.{}", t.names.schema, t.names.table);
        super::vtab::table_check(t.db, &name)
    }));
    let msg = match r {
        Ok(Ok(s)) if s == "ok" => return ffi::SQLITE_OK,
        Ok(Ok(s)) => s,
        Ok(Err(e)) => e.to_string(),
        Err(p) => panic_message(&*p),
    };
    if !pz_err.is_null() {
        *pz_err = sqlite_strdup(&format!("veclite: {}", msg.replace('\n', "; ")));
    }
    ffi::SQLITE_OK
}

/// Stores `msg` as the vtab's error message (freeing an earlier one).
unsafe fn set_vtab_error(vtab: *mut ffi::sqlite3_vtab, msg: &str) {
    if vtab.is_null() {
        return;
    }
    if !(*vtab).zErrMsg.is_null() {
        ffi::sqlite3_free((*vtab).zErrMsg as *mut c_void);
    }
    (*vtab).zErrMsg = sqlite_strdup(msg);
}

/// Runs `f` for a vtab callback: errors become the vtab's message and code, panics
/// become SQLITE_ERROR with a message.
unsafe fn guard_vtab(
    vtab: *mut ffi::sqlite3_vtab,
    f: impl FnOnce() -> Result<c_int, Error>,
) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(rc)) => rc,
        Ok(Err(e)) => {
            set_vtab_error(vtab, &e.to_string());
            error_code(&e)
        }
        Err(p) => {
            set_vtab_error(vtab, &panic_message(&*p));
            ffi::SQLITE_ERROR
        }
    }
}

unsafe fn table<'a>(vtab: *mut ffi::sqlite3_vtab) -> &'a mut VecTable {
    &mut (*(vtab as *mut VTab)).table
}

unsafe fn args<'a>(argc: c_int, argv: *const *const c_char) -> Vec<&'a str> {
    (0..argc.max(0) as usize)
        .map(|i| {
            let p = *argv.add(i);
            if p.is_null() {
                ""
            } else {
                CStr::from_ptr(p).to_str().unwrap_or("")
            }
        })
        .collect()
}

unsafe fn create_or_connect(
    db: *mut ffi::sqlite3,
    argc: c_int,
    argv: *const *const c_char,
    pp_vtab: *mut *mut ffi::sqlite3_vtab,
    pz_err: *mut *mut c_char,
    create: bool,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<Box<VTab>, Error> {
        // SAFETY: SQLite passes argc NUL-terminated strings.
        let a = args(argc, argv);
        if a.len() < 3 {
            return Err(Error::usage("veclite: missing module arguments"));
        }
        let dbh = Db(db);
        let table = VecTable::open(dbh, a[1], a[2], &a[3..], create)?;
        let decl = to_cstring(&table.declaration());
        let rc = ffi::sqlite3_declare_vtab(db, decl.as_ptr());
        if rc != ffi::SQLITE_OK {
            return Err(dbh.error(rc));
        }
        vtab_config_int(db, ffi::SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
        vtab_config_flag(db, ffi::SQLITE_VTAB_INNOCUOUS);
        Ok(Box::new(VTab {
            base: ffi::sqlite3_vtab {
                pModule: ptr::null(),
                nRef: 0,
                zErrMsg: ptr::null_mut(),
            },
            table,
        }))
    }));
    let err = match r {
        Ok(Ok(b)) => {
            *pp_vtab = Box::into_raw(b) as *mut ffi::sqlite3_vtab;
            return ffi::SQLITE_OK;
        }
        Ok(Err(e)) => (e.to_string(), error_code(&e)),
        Err(p) => (panic_message(&*p), ffi::SQLITE_ERROR),
    };
    if !pz_err.is_null() {
        *pz_err = sqlite_strdup(&err.0);
    }
    err.1
}

unsafe extern "C" fn x_create(
    db: *mut ffi::sqlite3,
    _aux: *mut c_void,
    argc: c_int,
    argv: *const *const c_char,
    pp_vtab: *mut *mut ffi::sqlite3_vtab,
    pz_err: *mut *mut c_char,
) -> c_int {
    create_or_connect(db, argc, argv, pp_vtab, pz_err, true)
}

unsafe extern "C" fn x_connect(
    db: *mut ffi::sqlite3,
    _aux: *mut c_void,
    argc: c_int,
    argv: *const *const c_char,
    pp_vtab: *mut *mut ffi::sqlite3_vtab,
    pz_err: *mut *mut c_char,
) -> c_int {
    create_or_connect(db, argc, argv, pp_vtab, pz_err, false)
}

unsafe extern "C" fn x_best_index(
    vtab: *mut ffi::sqlite3_vtab,
    info: *mut ffi::sqlite3_index_info,
) -> c_int {
    guard_vtab(vtab, || {
        let mut ii = IndexInfo { raw: &mut *info };
        match table(vtab).best_index(&mut ii) {
            Ok(true) => Ok(ffi::SQLITE_OK),
            // This combination of usable constraints cannot be planned.
            Ok(false) => Ok(ffi::SQLITE_CONSTRAINT),
            Err(e) => Err(e),
        }
    })
}

unsafe extern "C" fn x_disconnect(vtab: *mut ffi::sqlite3_vtab) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        drop(Box::from_raw(vtab as *mut VTab));
    }));
    if r.is_err() {
        return ffi::SQLITE_ERROR;
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_destroy(vtab: *mut ffi::sqlite3_vtab) -> c_int {
    let rc = guard_vtab(vtab, || table(vtab).destroy().map(|_| ffi::SQLITE_OK));
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    x_disconnect(vtab)
}

unsafe extern "C" fn x_open(
    vtab: *mut ffi::sqlite3_vtab,
    pp_cursor: *mut *mut ffi::sqlite3_vtab_cursor,
) -> c_int {
    guard_vtab(vtab, || {
        let c = Box::new(Cursor {
            base: ffi::sqlite3_vtab_cursor {
                pVtab: ptr::null_mut(),
            },
            cursor: VecCursor::new(),
        });
        *pp_cursor = Box::into_raw(c) as *mut ffi::sqlite3_vtab_cursor;
        Ok(ffi::SQLITE_OK)
    })
}

unsafe extern "C" fn x_close(cur: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    let vtab = (*cur).pVtab;
    guard_vtab(vtab, || {
        let mut c = Box::from_raw(cur as *mut Cursor);
        if !vtab.is_null() {
            c.cursor.close(table(vtab));
        }
        drop(c);
        Ok(ffi::SQLITE_OK)
    })
}

unsafe fn cursor_parts<'a>(
    cur: *mut ffi::sqlite3_vtab_cursor,
) -> (&'a mut VecCursor, &'a mut VecTable) {
    let vtab = (*cur).pVtab;
    (&mut (*(cur as *mut Cursor)).cursor, table(vtab))
}

unsafe extern "C" fn x_filter(
    cur: *mut ffi::sqlite3_vtab_cursor,
    idx_num: c_int,
    idx_str: *const c_char,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) -> c_int {
    let vtab = (*cur).pVtab;
    guard_vtab(vtab, || {
        let (c, t) = cursor_parts(cur);
        let s = if idx_str.is_null() {
            ""
        } else {
            CStr::from_ptr(idx_str).to_str().unwrap_or("")
        };
        let a = values(argc, argv);
        c.filter(t, idx_num, s, &a)?;
        Ok(ffi::SQLITE_OK)
    })
}

unsafe extern "C" fn x_next(cur: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    let vtab = (*cur).pVtab;
    guard_vtab(vtab, || {
        let (c, t) = cursor_parts(cur);
        c.next(t)?;
        Ok(ffi::SQLITE_OK)
    })
}

unsafe extern "C" fn x_eof(cur: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| (*(cur as *mut Cursor)).cursor.eof()));
    // A panic here cannot carry a message; ending the scan is the safe answer.
    r.unwrap_or(true) as c_int
}

unsafe extern "C" fn x_column(
    cur: *mut ffi::sqlite3_vtab_cursor,
    ctx: *mut ffi::sqlite3_context,
    i: c_int,
) -> c_int {
    let c = Ctx(ctx);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let (cursor, t) = cursor_parts(cur);
        cursor.column(t, &c, i)
    }));
    match r {
        Ok(Ok(())) => ffi::SQLITE_OK,
        Ok(Err(e)) => {
            c.error(&e);
            error_code(&e)
        }
        Err(p) => {
            c.error(&Error::usage(panic_message(&*p)));
            ffi::SQLITE_ERROR
        }
    }
}

unsafe extern "C" fn x_rowid(cur: *mut ffi::sqlite3_vtab_cursor, p_rowid: *mut i64) -> c_int {
    let vtab = (*cur).pVtab;
    guard_vtab(vtab, || {
        *p_rowid = (*(cur as *mut Cursor)).cursor.rowid();
        Ok(ffi::SQLITE_OK)
    })
}

unsafe extern "C" fn x_update(
    vtab: *mut ffi::sqlite3_vtab,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
    p_rowid: *mut i64,
) -> c_int {
    guard_vtab(vtab, || {
        let a = values(argc, argv);
        if let Some(rowid) = table(vtab).update(&a)? {
            *p_rowid = rowid;
        }
        Ok(ffi::SQLITE_OK)
    })
}

unsafe extern "C" fn x_begin(vtab: *mut ffi::sqlite3_vtab) -> c_int {
    guard_vtab(vtab, || table(vtab).begin().map(|_| ffi::SQLITE_OK))
}
unsafe extern "C" fn x_sync(vtab: *mut ffi::sqlite3_vtab) -> c_int {
    guard_vtab(vtab, || table(vtab).sync().map(|_| ffi::SQLITE_OK))
}
unsafe extern "C" fn x_commit(vtab: *mut ffi::sqlite3_vtab) -> c_int {
    guard_vtab(vtab, || table(vtab).commit().map(|_| ffi::SQLITE_OK))
}
unsafe extern "C" fn x_rollback(vtab: *mut ffi::sqlite3_vtab) -> c_int {
    guard_vtab(vtab, || table(vtab).rollback().map(|_| ffi::SQLITE_OK))
}
unsafe extern "C" fn x_savepoint(vtab: *mut ffi::sqlite3_vtab, n: c_int) -> c_int {
    guard_vtab(vtab, || table(vtab).savepoint(n).map(|_| ffi::SQLITE_OK))
}
unsafe extern "C" fn x_release(vtab: *mut ffi::sqlite3_vtab, n: c_int) -> c_int {
    guard_vtab(vtab, || table(vtab).release(n).map(|_| ffi::SQLITE_OK))
}
unsafe extern "C" fn x_rollback_to(vtab: *mut ffi::sqlite3_vtab, n: c_int) -> c_int {
    guard_vtab(vtab, || table(vtab).rollback_to(n).map(|_| ffi::SQLITE_OK))
}

unsafe extern "C" fn x_rename(vtab: *mut ffi::sqlite3_vtab, new_name: *const c_char) -> c_int {
    guard_vtab(vtab, || {
        let name = CStr::from_ptr(new_name).to_string_lossy().into_owned();
        table(vtab).rename(&name).map(|_| ffi::SQLITE_OK)
    })
}

unsafe extern "C" fn x_find_function(
    _vtab: *mut ffi::sqlite3_vtab,
    n_arg: c_int,
    name: *const c_char,
    px_func: *mut Option<
        unsafe extern "C" fn(*mut ffi::sqlite3_context, c_int, *mut *mut ffi::sqlite3_value),
    >,
    pp_arg: *mut *mut c_void,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let name = CStr::from_ptr(name).to_bytes();
        if n_arg == 2 && name.eq_ignore_ascii_case(b"knn_match") {
            *px_func = Some(scalar_trampoline);
            *pp_arg = super::functions::knn_match_outside as ScalarFn as usize as *mut c_void;
            return ffi::SQLITE_INDEX_CONSTRAINT_FUNCTION;
        }
        0
    }));
    r.unwrap_or(0)
}

unsafe extern "C" fn x_shadow_name(name: *const c_char) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let n = CStr::from_ptr(name).to_bytes();
        super::shadow::SHADOW_SUFFIXES
            .iter()
            .any(|s| n.eq_ignore_ascii_case(s.as_bytes())) as c_int
    }));
    r.unwrap_or(0)
}

/// Whether sqlite3_is_interrupted exists on this host (3.41+).
#[allow(dead_code)]
pub fn is_interrupted(db: Db) -> bool {
    if host_version() < 3_041_000 {
        return false;
    }
    #[cfg(feature = "loadable")]
    {
        let f = api_slot(slot::IS_INTERRUPTED);
        if f.is_null() {
            return false;
        }
        // SAFETY: the host is 3.41+ so the slot holds sqlite3_is_interrupted.
        unsafe {
            let f: unsafe extern "C" fn(*mut ffi::sqlite3) -> c_int = std::mem::transmute(f);
            f(db.0) != 0
        }
    }
    #[cfg(not(feature = "loadable"))]
    {
        // SAFETY: valid db.
        unsafe { ffi::sqlite3_is_interrupted(db.0) != 0 }
    }
}
