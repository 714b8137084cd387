//! The C boundary of a virtual table and of scalar functions, generic over the
//! [`VTab`] / [`VCursor`] traits (as rusqlite's `vtab` module is), so this floor
//! knows no concrete table. Every callback runs inside `catch_unwind`: a Rust panic
//! becomes an SQLite error, never an abort.
//!
//! Also here: the extension entry point's body ([`extension_init`]) and
//! [`Registrar`], through which the upper floors register their module and
//! functions on a connection together with their per-connection state.

use std::any::Any;
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe, UnwindSafe};
use std::ptr;
use std::sync::{Arc, OnceLock};

use super::conn::Conn;
use super::sys::{self, Api};
use super::wrap::{
    api, error_code, sqlite_strdup, to_cstring, values, Ctx, Db, IndexInfo, ScalarFn, Value,
};
use crate::error::Error;

/// A virtual table type.
pub trait VTab: Sized + 'static {
    type Cursor: VCursor<Table = Self>;
    /// xCreate (`create`) or xConnect, with the module arguments (module name,
    /// schema, table, then the CREATE arguments): the table and its `CREATE TABLE`
    /// declaration.
    fn connect(db: Db, args: &[&str], create: bool) -> Result<(Self, String), Error>;
    /// Ok(false): this combination of usable constraints cannot be planned.
    fn best_index(&mut self, info: &mut IndexInfo<'_>) -> Result<bool, Error>;
    fn destroy(&mut self) -> Result<(), Error>;
    fn open(&mut self) -> Result<Self::Cursor, Error>;
    /// xUpdate; returns the new rowid of an INSERT.
    fn update(&mut self, args: &[Value<'_>]) -> Result<Option<i64>, Error>;
    fn begin(&mut self) -> Result<(), Error>;
    fn sync(&mut self) -> Result<(), Error>;
    fn commit(&mut self) -> Result<(), Error>;
    fn rollback(&mut self) -> Result<(), Error>;
    fn savepoint(&mut self, level: i32) -> Result<(), Error>;
    fn release(&mut self, level: i32) -> Result<(), Error>;
    fn rollback_to(&mut self, level: i32) -> Result<(), Error>;
    fn rename(&mut self, new_name: &str) -> Result<(), Error>;
    /// xIntegrity: None when consistent, else the problems (one per line).
    fn integrity(&mut self) -> Result<Option<String>, Error>;
    /// xFindFunction: a function overloaded for this table's columns.
    fn find_function(n_arg: i32, name: &[u8]) -> Option<(ScalarFn, u8)>;
    /// xShadowName.
    fn is_shadow_name(name: &[u8]) -> bool;
}

/// A cursor of a [`VTab`].
pub trait VCursor: Sized {
    type Table;
    fn filter(
        &mut self,
        table: &mut Self::Table,
        idx_num: i32,
        idx_str: &str,
        args: &[Value<'_>],
    ) -> Result<(), Error>;
    fn next(&mut self, table: &mut Self::Table) -> Result<(), Error>;
    fn eof(&self) -> bool;
    fn column(&mut self, table: &mut Self::Table, ctx: &Ctx, i: i32) -> Result<(), Error>;
    fn rowid(&self) -> i64;
    fn close(&mut self, table: &mut Self::Table);
}

/// Registers a module and functions on one connection.
pub struct Registrar {
    db: Db,
    conn: Arc<Conn>,
}

impl Registrar {
    pub fn module<T: VTab>(
        &self,
        name: &str,
        module: &'static sys::sqlite3_module,
    ) -> Result<(), Error> {
        let c = to_cstring(name);
        let aux = Arc::into_raw(self.conn.clone()) as *mut c_void;
        // SAFETY: valid connection; SQLite keeps `aux` until it drops the module and
        // then calls drop_conn, which releases the Arc taken here.
        let rc = unsafe {
            api!(self.db.api(), create_module_v2)(
                self.db.raw(),
                c.as_ptr(),
                module,
                aux,
                Some(drop_conn),
            )
        };
        if rc != sys::SQLITE_OK {
            return Err(self.db.error(rc));
        }
        Ok(())
    }

    pub fn function(&self, name: &str, n_args: i32, flags: i32, f: ScalarFn) -> Result<(), Error> {
        let c = to_cstring(name);
        let data = Box::into_raw(Box::new(FnData {
            f,
            conn: self.conn.clone(),
        })) as *mut c_void;
        // SAFETY: valid connection; SQLite owns `data` from here on and frees it with
        // drop_fn_data (also when registration fails).
        let rc = unsafe {
            api!(self.db.api(), create_function_v2)(
                self.db.raw(),
                c.as_ptr(),
                n_args,
                sys::SQLITE_UTF8 | flags,
                data,
                Some(TRAMPOLINES[self.conn.k]),
                None,
                None,
                Some(drop_fn_data),
            )
        };
        if rc != sys::SQLITE_OK {
            return Err(self.db.error(rc));
        }
        Ok(())
    }
}

unsafe extern "C" fn drop_conn(p: *mut c_void) {
    let _ = catch(|| {
        // SAFETY: p came from Arc::into_raw in Registrar::module.
        drop(unsafe { Arc::from_raw(p as *const Conn) });
    });
}

struct FnData {
    f: ScalarFn,
    conn: Arc<Conn>,
}

unsafe extern "C" fn drop_fn_data(p: *mut c_void) {
    let _ = catch(|| {
        // SAFETY: p came from Box::into_raw in Registrar::function.
        drop(unsafe { Box::from_raw(p as *mut FnData) });
    });
}

/// The body of the extension entry points: wraps the API table, refuses hosts that
/// are too old, and runs `register` with a fresh per-connection state. SQLITE_OK
/// or an error code.
///
/// # Safety
/// Called from the entry point with the arguments SQLite passed to it: a live
/// connection, the error-message out-pointer, and that connection's API table.
pub unsafe fn extension_init(
    db: *mut c_void,
    pz_err_msg: *mut *mut c_char,
    p_api: *const c_void,
    state: fn() -> Box<dyn Any + Send + Sync>,
    register: fn(&Registrar) -> Result<(), Error>,
) -> c_int {
    let r = catch(AssertUnwindSafe(|| {
        // SAFETY: p_api is the table SQLite handed to the entry point.
        let Some(api) = (unsafe { Api::new(p_api) }) else {
            return sys::SQLITE_ERROR;
        };
        quiet_panics();
        let fail = |msg: String, rc: c_int| {
            if !pz_err_msg.is_null() {
                // SAFETY: SQLite frees *pz_err_msg with sqlite3_free.
                unsafe { *pz_err_msg = sqlite_strdup(api, &msg) };
            }
            rc
        };
        if api.version() < sys::MIN_HOST_VERSION {
            return fail(
                format!(
                    "veclite needs SQLite 3.34 or newer; this host is {}",
                    api.version()
                ),
                sys::SQLITE_ERROR,
            );
        }
        let Some(k) = api_index(api) else {
            return fail(
                "veclite: more than 4 different SQLite libraries in this process".into(),
                sys::SQLITE_ERROR,
            );
        };
        let conn = Arc::new(Conn {
            api,
            k,
            state: state(),
        });
        let reg = Registrar {
            // SAFETY: as above; the Conn lives while anything is registered.
            db: unsafe { Db::from_raw(db as *mut sys::sqlite3, api, Arc::as_ptr(&conn)) },
            conn,
        };
        match register(&reg) {
            Ok(()) => sys::SQLITE_OK,
            Err(e) => fail(format!("veclite: registration failed: {e}"), error_code(&e)),
        }
    }));
    r.unwrap_or(sys::SQLITE_ERROR)
}

thread_local! {
    /// Set while one of our callbacks runs (see [`quiet_panics`]).
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// `catch_unwind` for SQLite's callbacks: a panic inside is reported as an SQLite
/// error, so the panic hook stays quiet for it.
fn catch<R>(f: impl FnOnce() -> R + UnwindSafe) -> std::thread::Result<R> {
    let outer = IN_CALLBACK.with(|c| c.replace(true));
    let r = catch_unwind(f);
    IN_CALLBACK.with(|c| c.set(outer));
    r
}

/// A caught panic becomes an SQLite error with its message, so printing it too
/// (into the host's stderr) would only be noise: the hook installed here stays
/// silent for panics inside veclite's callbacks, unless VECLITE_DEBUG_PANIC is set,
/// and leaves every other panic of the process to the hook it had.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("VECLITE_DEBUG_PANIC").is_some() {
            return;
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CALLBACK.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    let detail = if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    };
    format!("veclite: internal error (a Rust panic was caught): {detail}")
}

/// The distinct API tables (SQLite libraries) seen in this process. A scalar
/// function's trampoline must call `sqlite3_user_data` before it can reach its
/// connection's table, so each table gets a trampoline of its own.
static APIS: [OnceLock<ApiKey>; 4] = [const { OnceLock::new() }; 4];

struct ApiKey(Api);

fn api_index(api: Api) -> Option<usize> {
    for (k, slot) in APIS.iter().enumerate() {
        let got = slot.get_or_init(|| ApiKey(api));
        if got.0.same_table(&api) {
            return Some(k);
        }
    }
    None
}

const TRAMPOLINES: [sys::ScalarCallback; 4] = [
    scalar_trampoline::<0>,
    scalar_trampoline::<1>,
    scalar_trampoline::<2>,
    scalar_trampoline::<3>,
];

unsafe extern "C" fn scalar_trampoline<const K: usize>(
    ctx: *mut sys::sqlite3_context,
    argc: c_int,
    argv: *mut *mut sys::sqlite3_value,
) {
    let Some(ApiKey(api)) = APIS[K].get() else {
        return;
    };
    let api = *api;
    // SAFETY: ctx is the running call's, from a connection of this SQLite library.
    let c = unsafe { Ctx::from_raw(ctx, api) };
    let r = catch(AssertUnwindSafe(|| {
        // SAFETY: the user data is the FnData given at registration (or, for
        // knn_match through xFindFunction, the table's own FnData); it outlives
        // the call.
        let data = unsafe { &*(api!(api, user_data)(ctx) as *const FnData) };
        let api = data.conn.api;
        // SAFETY: the connection running the call, and argv with argc values.
        let db = unsafe {
            Db::from_raw(
                api!(api, context_db_handle)(ctx),
                api,
                Arc::as_ptr(&data.conn),
            )
        };
        let args = unsafe { values(api, argc, argv) };
        match (data.f)(db, &args) {
            Ok(out) => c.out(out),
            Err(e) => c.error(&e),
        }
    }));
    if let Err(p) = r {
        c.error(&Error::usage(panic_message(&*p)));
    }
}

// ---------------------------------------------------------------------------------
// The module table
// ---------------------------------------------------------------------------------

#[repr(C)]
struct TableBox<T: VTab> {
    base: sys::sqlite3_vtab,
    api: Api,
    conn: Arc<Conn>,
    /// knn_match & co. through xFindFunction point at these (boxed: they must not
    /// move while SQLite holds the pointer).
    #[allow(clippy::vec_box)]
    overloads: Vec<Box<FnData>>,
    table: T,
}

#[repr(C)]
struct CursorBox<C> {
    base: sys::sqlite3_vtab_cursor,
    cursor: C,
}

/// The `sqlite3_module` of table type `T` (iVersion 4: xIntegrity is read by 3.44+
/// hosts, ignored by older ones).
pub const fn module<T: VTab>() -> sys::sqlite3_module {
    sys::sqlite3_module {
        iVersion: 4,
        xCreate: Some(x_create_or_connect::<T, true>),
        xConnect: Some(x_create_or_connect::<T, false>),
        xBestIndex: Some(x_best_index::<T>),
        xDisconnect: Some(x_disconnect::<T>),
        xDestroy: Some(x_destroy::<T>),
        xOpen: Some(x_open::<T>),
        xClose: Some(x_close::<T>),
        xFilter: Some(x_filter::<T>),
        xNext: Some(x_next::<T>),
        xEof: Some(x_eof::<T>),
        xColumn: Some(x_column::<T>),
        xRowid: Some(x_rowid::<T>),
        xUpdate: Some(x_update::<T>),
        xBegin: Some(x_begin::<T>),
        xSync: Some(x_sync::<T>),
        xCommit: Some(x_commit::<T>),
        xRollback: Some(x_rollback::<T>),
        xFindFunction: Some(x_find_function::<T>),
        xRename: Some(x_rename::<T>),
        xSavepoint: Some(x_savepoint::<T>),
        xRelease: Some(x_release::<T>),
        xRollbackTo: Some(x_rollback_to::<T>),
        xShadowName: Some(x_shadow_name::<T>),
        xIntegrity: Some(x_integrity::<T>),
    }
}

/// # Safety
/// `vtab` must be a table made by x_create/x_connect for `T`.
unsafe fn boxed<'a, T: VTab>(vtab: *mut sys::sqlite3_vtab) -> &'a mut TableBox<T> {
    // SAFETY: per the contract, vtab points at the base of a TableBox<T>.
    unsafe { &mut *(vtab as *mut TableBox<T>) }
}

/// Stores `msg` as the vtab's error message (freeing an earlier one).
unsafe fn set_vtab_error<T: VTab>(vtab: *mut sys::sqlite3_vtab, msg: &str) {
    if vtab.is_null() {
        return;
    }
    // SAFETY: vtab is one of ours.
    let b = unsafe { boxed::<T>(vtab) };
    if !b.base.zErrMsg.is_null() {
        // SAFETY: the previous message came from sqlite3_malloc64.
        unsafe { api!(b.api, free)(b.base.zErrMsg as *mut c_void) };
    }
    b.base.zErrMsg = sqlite_strdup(b.api, msg);
}

/// Runs `f` for a vtab callback: errors become the vtab's message and code, panics
/// become SQLITE_ERROR with a message.
unsafe fn guard<T: VTab>(
    vtab: *mut sys::sqlite3_vtab,
    f: impl FnOnce() -> Result<c_int, Error>,
) -> c_int {
    match catch(AssertUnwindSafe(f)) {
        Ok(Ok(rc)) => rc,
        Ok(Err(e)) => {
            // SAFETY: vtab is one of ours.
            unsafe { set_vtab_error::<T>(vtab, &e.to_string()) };
            error_code(&e)
        }
        Err(p) => {
            // SAFETY: as above.
            unsafe { set_vtab_error::<T>(vtab, &panic_message(&*p)) };
            sys::SQLITE_ERROR
        }
    }
}

/// # Safety
/// SQLite passes `argc` NUL-terminated strings.
unsafe fn args<'a>(argc: c_int, argv: *const *const c_char) -> Vec<&'a str> {
    (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: per the contract.
            let p = unsafe { *argv.add(i) };
            if p.is_null() {
                ""
            } else {
                // SAFETY: per the contract.
                unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
            }
        })
        .collect()
}

unsafe fn create_or_connect<T: VTab>(
    db: *mut sys::sqlite3,
    aux: *mut c_void,
    argc: c_int,
    argv: *const *const c_char,
    pp_vtab: *mut *mut sys::sqlite3_vtab,
    pz_err: *mut *mut c_char,
    create: bool,
) -> c_int {
    // SAFETY: aux is the Arc<Conn> given to create_module_v2; SQLite keeps it alive
    // while the module exists. Take another reference for the table.
    let conn: Arc<Conn> = unsafe {
        Arc::increment_strong_count(aux as *const Conn);
        Arc::from_raw(aux as *const Conn)
    };
    let api = conn.api;
    let r = catch(AssertUnwindSafe(|| -> Result<Box<TableBox<T>>, Error> {
        // SAFETY: SQLite passes argc NUL-terminated strings.
        let a = unsafe { args(argc, argv) };
        // SAFETY: the connection SQLite is creating the table on.
        let dbh = unsafe { Db::from_raw(db, api, Arc::as_ptr(&conn)) };
        let (table, decl) = T::connect(dbh, &a, create)?;
        let decl = to_cstring(&decl);
        // SAFETY: valid connection, inside xCreate/xConnect.
        let rc = unsafe { api!(api, declare_vtab)(db, decl.as_ptr()) };
        if rc != sys::SQLITE_OK {
            return Err(dbh.error(rc));
        }
        // SAFETY: inside xCreate/xConnect, as sqlite3_vtab_config requires.
        unsafe {
            let config = api!(api, vtab_config);
            config(db, sys::SQLITE_VTAB_CONSTRAINT_SUPPORT, 1 as c_int);
            config(db, sys::SQLITE_VTAB_INNOCUOUS);
        }
        Ok(Box::new(TableBox {
            base: sys::sqlite3_vtab {
                pModule: ptr::null(),
                nRef: 0,
                zErrMsg: ptr::null_mut(),
            },
            api,
            conn: conn.clone(),
            overloads: Vec::new(),
            table,
        }))
    }));
    let (msg, rc) = match r {
        Ok(Ok(b)) => {
            // SAFETY: SQLite's out-pointer.
            unsafe { *pp_vtab = Box::into_raw(b) as *mut sys::sqlite3_vtab };
            return sys::SQLITE_OK;
        }
        Ok(Err(e)) => (e.to_string(), error_code(&e)),
        Err(p) => (panic_message(&*p), sys::SQLITE_ERROR),
    };
    if !pz_err.is_null() {
        // SAFETY: SQLite frees the message with sqlite3_free.
        unsafe { *pz_err = sqlite_strdup(api, &msg) };
    }
    rc
}

/// xCreate (`CREATE` = true) and xConnect.
unsafe extern "C" fn x_create_or_connect<T: VTab, const CREATE: bool>(
    db: *mut sys::sqlite3,
    aux: *mut c_void,
    argc: c_int,
    argv: *const *const c_char,
    pp_vtab: *mut *mut sys::sqlite3_vtab,
    pz_err: *mut *mut c_char,
) -> c_int {
    // SAFETY: SQLite's arguments, passed on.
    unsafe { create_or_connect::<T>(db, aux, argc, argv, pp_vtab, pz_err, CREATE) }
}

unsafe extern "C" fn x_best_index<T: VTab>(
    vtab: *mut sys::sqlite3_vtab,
    info: *mut sys::sqlite3_index_info,
) -> c_int {
    // SAFETY: vtab is ours; info is SQLite's for this call.
    unsafe {
        guard::<T>(vtab, || {
            let b = boxed::<T>(vtab);
            let mut ii = IndexInfo::new(&mut *info, b.api);
            match b.table.best_index(&mut ii) {
                Ok(true) => Ok(sys::SQLITE_OK),
                Ok(false) => Ok(sys::SQLITE_CONSTRAINT),
                Err(e) => Err(e),
            }
        })
    }
}

unsafe extern "C" fn x_disconnect<T: VTab>(vtab: *mut sys::sqlite3_vtab) -> c_int {
    let r = catch(AssertUnwindSafe(|| {
        // SAFETY: vtab came from Box::into_raw in create_or_connect and is dropped once.
        drop(unsafe { Box::from_raw(vtab as *mut TableBox<T>) });
    }));
    if r.is_err() {
        return sys::SQLITE_ERROR;
    }
    sys::SQLITE_OK
}

unsafe extern "C" fn x_destroy<T: VTab>(vtab: *mut sys::sqlite3_vtab) -> c_int {
    // SAFETY: vtab is ours.
    let rc = unsafe {
        guard::<T>(vtab, || {
            boxed::<T>(vtab).table.destroy().map(|_| sys::SQLITE_OK)
        })
    };
    if rc != sys::SQLITE_OK {
        return rc;
    }
    // SAFETY: as above.
    unsafe { x_disconnect::<T>(vtab) }
}

unsafe extern "C" fn x_open<T: VTab>(
    vtab: *mut sys::sqlite3_vtab,
    pp_cursor: *mut *mut sys::sqlite3_vtab_cursor,
) -> c_int {
    // SAFETY: vtab is ours; pp_cursor is SQLite's out-pointer.
    unsafe {
        guard::<T>(vtab, || {
            let cursor = boxed::<T>(vtab).table.open()?;
            let c = Box::new(CursorBox {
                base: sys::sqlite3_vtab_cursor {
                    pVtab: ptr::null_mut(),
                },
                cursor,
            });
            *pp_cursor = Box::into_raw(c) as *mut sys::sqlite3_vtab_cursor;
            Ok(sys::SQLITE_OK)
        })
    }
}

/// # Safety
/// `cur` must be a cursor made by x_open for `T`, with pVtab set by SQLite.
unsafe fn cursor_parts<'a, T: VTab>(
    cur: *mut sys::sqlite3_vtab_cursor,
) -> (&'a mut T::Cursor, &'a mut T) {
    // SAFETY: per the contract.
    unsafe {
        let vtab = (*cur).pVtab;
        (
            &mut (*(cur as *mut CursorBox<T::Cursor>)).cursor,
            &mut boxed::<T>(vtab).table,
        )
    }
}

unsafe extern "C" fn x_close<T: VTab>(cur: *mut sys::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: cur is ours; it came from Box::into_raw in x_open and is dropped once.
    unsafe {
        let vtab = (*cur).pVtab;
        guard::<T>(vtab, || {
            let mut c = Box::from_raw(cur as *mut CursorBox<T::Cursor>);
            if !vtab.is_null() {
                c.cursor.close(&mut boxed::<T>(vtab).table);
            }
            drop(c);
            Ok(sys::SQLITE_OK)
        })
    }
}

unsafe extern "C" fn x_filter<T: VTab>(
    cur: *mut sys::sqlite3_vtab_cursor,
    idx_num: c_int,
    idx_str: *const c_char,
    argc: c_int,
    argv: *mut *mut sys::sqlite3_value,
) -> c_int {
    // SAFETY: cur is ours; idx_str is our own idxStr (or NULL); argv holds argc values.
    unsafe {
        let vtab = (*cur).pVtab;
        guard::<T>(vtab, || {
            let api = boxed::<T>(vtab).api;
            let (c, t) = cursor_parts::<T>(cur);
            let s = if idx_str.is_null() {
                ""
            } else {
                CStr::from_ptr(idx_str).to_str().unwrap_or("")
            };
            let a = values(api, argc, argv);
            c.filter(t, idx_num, s, &a)?;
            Ok(sys::SQLITE_OK)
        })
    }
}

unsafe extern "C" fn x_next<T: VTab>(cur: *mut sys::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: cur is ours.
    unsafe {
        let vtab = (*cur).pVtab;
        guard::<T>(vtab, || {
            let (c, t) = cursor_parts::<T>(cur);
            c.next(t)?;
            Ok(sys::SQLITE_OK)
        })
    }
}

unsafe extern "C" fn x_eof<T: VTab>(cur: *mut sys::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: cur is ours.
    let r = catch(AssertUnwindSafe(|| unsafe {
        (*(cur as *mut CursorBox<T::Cursor>)).cursor.eof()
    }));
    // A panic here cannot carry a message; ending the scan is the safe answer.
    r.unwrap_or(true) as c_int
}

unsafe extern "C" fn x_column<T: VTab>(
    cur: *mut sys::sqlite3_vtab_cursor,
    ctx: *mut sys::sqlite3_context,
    i: c_int,
) -> c_int {
    // SAFETY: cur is ours; ctx is the running call's.
    let c = unsafe { Ctx::from_raw(ctx, boxed::<T>((*cur).pVtab).api) };
    let r = catch(AssertUnwindSafe(|| {
        // SAFETY: as above.
        let (cursor, t) = unsafe { cursor_parts::<T>(cur) };
        cursor.column(t, &c, i)
    }));
    match r {
        Ok(Ok(())) => sys::SQLITE_OK,
        Ok(Err(e)) => {
            c.error(&e);
            error_code(&e)
        }
        Err(p) => {
            c.error(&Error::usage(panic_message(&*p)));
            sys::SQLITE_ERROR
        }
    }
}

unsafe extern "C" fn x_rowid<T: VTab>(
    cur: *mut sys::sqlite3_vtab_cursor,
    p_rowid: *mut i64,
) -> c_int {
    // SAFETY: cur is ours; p_rowid is SQLite's out-pointer.
    unsafe {
        let vtab = (*cur).pVtab;
        guard::<T>(vtab, || {
            *p_rowid = (*(cur as *mut CursorBox<T::Cursor>)).cursor.rowid();
            Ok(sys::SQLITE_OK)
        })
    }
}

unsafe extern "C" fn x_update<T: VTab>(
    vtab: *mut sys::sqlite3_vtab,
    argc: c_int,
    argv: *mut *mut sys::sqlite3_value,
    p_rowid: *mut i64,
) -> c_int {
    // SAFETY: vtab is ours; argv holds argc values; p_rowid is SQLite's out-pointer.
    unsafe {
        guard::<T>(vtab, || {
            let b = boxed::<T>(vtab);
            let a = values(b.api, argc, argv);
            if let Some(rowid) = b.table.update(&a)? {
                *p_rowid = rowid;
            }
            Ok(sys::SQLITE_OK)
        })
    }
}

macro_rules! txn_callback {
    ($name:ident, $method:ident) => {
        unsafe extern "C" fn $name<T: VTab>(vtab: *mut sys::sqlite3_vtab) -> c_int {
            // SAFETY: vtab is ours.
            unsafe {
                guard::<T>(vtab, || {
                    boxed::<T>(vtab).table.$method().map(|_| sys::SQLITE_OK)
                })
            }
        }
    };
    ($name:ident, $method:ident, level) => {
        unsafe extern "C" fn $name<T: VTab>(vtab: *mut sys::sqlite3_vtab, n: c_int) -> c_int {
            // SAFETY: vtab is ours.
            unsafe {
                guard::<T>(vtab, || {
                    boxed::<T>(vtab).table.$method(n).map(|_| sys::SQLITE_OK)
                })
            }
        }
    };
}
txn_callback!(x_begin, begin);
txn_callback!(x_sync, sync);
txn_callback!(x_commit, commit);
txn_callback!(x_rollback, rollback);
txn_callback!(x_savepoint, savepoint, level);
txn_callback!(x_release, release, level);
txn_callback!(x_rollback_to, rollback_to, level);

unsafe extern "C" fn x_rename<T: VTab>(
    vtab: *mut sys::sqlite3_vtab,
    new_name: *const c_char,
) -> c_int {
    // SAFETY: vtab is ours; new_name is a NUL-terminated string.
    unsafe {
        guard::<T>(vtab, || {
            let name = CStr::from_ptr(new_name).to_string_lossy().into_owned();
            boxed::<T>(vtab).table.rename(&name).map(|_| sys::SQLITE_OK)
        })
    }
}

unsafe extern "C" fn x_integrity<T: VTab>(
    vtab: *mut sys::sqlite3_vtab,
    _schema: *const c_char,
    _table: *const c_char,
    _flags: c_int,
    pz_err: *mut *mut c_char,
) -> c_int {
    // SAFETY: vtab is ours.
    let b = unsafe { boxed::<T>(vtab) };
    let api = b.api;
    let r = catch(AssertUnwindSafe(|| b.table.integrity()));
    let msg = match r {
        Ok(Ok(None)) => return sys::SQLITE_OK,
        Ok(Ok(Some(s))) => s,
        Ok(Err(e)) => e.to_string(),
        Err(p) => panic_message(&*p),
    };
    if !pz_err.is_null() {
        // SAFETY: SQLite frees the message with sqlite3_free.
        unsafe { *pz_err = sqlite_strdup(api, &msg.replace('\n', "; ")) };
    }
    sys::SQLITE_OK
}

unsafe extern "C" fn x_find_function<T: VTab>(
    vtab: *mut sys::sqlite3_vtab,
    n_arg: c_int,
    name: *const c_char,
    px_func: *mut Option<sys::ScalarCallback>,
    pp_arg: *mut *mut c_void,
) -> c_int {
    let r = catch(AssertUnwindSafe(|| {
        // SAFETY: name is NUL-terminated; vtab is ours; the out-pointers are SQLite's.
        unsafe {
            let name = CStr::from_ptr(name).to_bytes();
            let Some((f, code)) = T::find_function(n_arg, name) else {
                return 0;
            };
            let b = boxed::<T>(vtab);
            let i = match b.overloads.iter().position(|d| d.f as usize == f as usize) {
                Some(i) => i,
                None => {
                    b.overloads.push(Box::new(FnData {
                        f,
                        conn: b.conn.clone(),
                    }));
                    b.overloads.len() - 1
                }
            };
            *px_func = Some(TRAMPOLINES[b.conn.k]);
            *pp_arg = &*b.overloads[i] as *const FnData as *mut c_void;
            code as c_int
        }
    }));
    r.unwrap_or(0)
}

unsafe extern "C" fn x_shadow_name<T: VTab>(name: *const c_char) -> c_int {
    let r = catch(AssertUnwindSafe(|| {
        // SAFETY: name is NUL-terminated.
        T::is_shadow_name(unsafe { CStr::from_ptr(name) }.to_bytes()) as c_int
    }));
    r.unwrap_or(0)
}
