//! Our own bindings of the parts of SQLite's C API that veclite uses: the structs a
//! virtual table shares with SQLite, the constants, and the `sqlite3_api_routines`
//! table every call goes through.
//!
//! veclite links no SQLite and depends on no SQLite crate: SQLite hands its API
//! table to the entry point (`sqlite3_load_extension`, `.load`, or
//! `sqlite3_auto_extension`, which passes the table to statically linked programs
//! too), and every call is made through that table, kept per connection (two
//! SQLite libraries in one process may load the same shared object). The table is
//! read as an array of pointers by slot index: [`SLOTS`] lists every slot we use
//! with its index in `sqlite3ext.h`'s `struct sqlite3_api_routines`, and the test
//! `tests/api_slots.rs` checks each index against a real SQLite. Slots added after
//! 3.34.1 are read only when the host's version says they exist.
#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_char, c_int, c_uchar, c_void};

/// Opaque SQLite handle types.
#[repr(C)]
pub struct sqlite3 {
    _p: [u8; 0],
}
#[repr(C)]
pub struct sqlite3_stmt {
    _p: [u8; 0],
}
#[repr(C)]
pub struct sqlite3_value {
    _p: [u8; 0],
}
#[repr(C)]
pub struct sqlite3_context {
    _p: [u8; 0],
}

#[repr(C)]
pub struct sqlite3_vtab {
    pub pModule: *const sqlite3_module,
    pub nRef: c_int,
    pub zErrMsg: *mut c_char,
}

#[repr(C)]
pub struct sqlite3_vtab_cursor {
    pub pVtab: *mut sqlite3_vtab,
}

#[repr(C)]
pub struct sqlite3_index_constraint {
    pub iColumn: c_int,
    pub op: c_uchar,
    pub usable: c_uchar,
    pub iTermOffset: c_int,
}

#[repr(C)]
pub struct sqlite3_index_orderby {
    pub iColumn: c_int,
    pub desc: c_uchar,
}

#[repr(C)]
pub struct sqlite3_index_constraint_usage {
    pub argvIndex: c_int,
    pub omit: c_uchar,
}

#[repr(C)]
pub struct sqlite3_index_info {
    pub nConstraint: c_int,
    pub aConstraint: *mut sqlite3_index_constraint,
    pub nOrderBy: c_int,
    pub aOrderBy: *mut sqlite3_index_orderby,
    pub aConstraintUsage: *mut sqlite3_index_constraint_usage,
    pub idxNum: c_int,
    pub idxStr: *mut c_char,
    pub needToFreeIdxStr: c_int,
    pub orderByConsumed: c_int,
    pub estimatedCost: f64,
    /// 3.8.2+
    pub estimatedRows: i64,
    /// 3.9.0+
    pub idxFlags: c_int,
    /// 3.10.0+
    pub colUsed: u64,
}

pub type ScalarCallback =
    unsafe extern "C" fn(*mut sqlite3_context, c_int, *mut *mut sqlite3_value);

/// `sqlite3_module` as of SQLite 3.44 (iVersion 4, with xIntegrity). Hosts older
/// than 3.44 read only up to xShadowName.
#[repr(C)]
pub struct sqlite3_module {
    pub iVersion: c_int,
    pub xCreate: Option<
        unsafe extern "C" fn(
            *mut sqlite3,
            *mut c_void,
            c_int,
            *const *const c_char,
            *mut *mut sqlite3_vtab,
            *mut *mut c_char,
        ) -> c_int,
    >,
    pub xConnect: Option<
        unsafe extern "C" fn(
            *mut sqlite3,
            *mut c_void,
            c_int,
            *const *const c_char,
            *mut *mut sqlite3_vtab,
            *mut *mut c_char,
        ) -> c_int,
    >,
    pub xBestIndex:
        Option<unsafe extern "C" fn(*mut sqlite3_vtab, *mut sqlite3_index_info) -> c_int>,
    pub xDisconnect: Option<unsafe extern "C" fn(*mut sqlite3_vtab) -> c_int>,
    pub xDestroy: Option<unsafe extern "C" fn(*mut sqlite3_vtab) -> c_int>,
    pub xOpen:
        Option<unsafe extern "C" fn(*mut sqlite3_vtab, *mut *mut sqlite3_vtab_cursor) -> c_int>,
    pub xClose: Option<unsafe extern "C" fn(*mut sqlite3_vtab_cursor) -> c_int>,
    pub xFilter: Option<
        unsafe extern "C" fn(
            *mut sqlite3_vtab_cursor,
            c_int,
            *const c_char,
            c_int,
            *mut *mut sqlite3_value,
        ) -> c_int,
    >,
    pub xNext: Option<unsafe extern "C" fn(*mut sqlite3_vtab_cursor) -> c_int>,
    pub xEof: Option<unsafe extern "C" fn(*mut sqlite3_vtab_cursor) -> c_int>,
    pub xColumn: Option<
        unsafe extern "C" fn(*mut sqlite3_vtab_cursor, *mut sqlite3_context, c_int) -> c_int,
    >,
    pub xRowid: Option<unsafe extern "C" fn(*mut sqlite3_vtab_cursor, *mut i64) -> c_int>,
    pub xUpdate: Option<
        unsafe extern "C" fn(*mut sqlite3_vtab, c_int, *mut *mut sqlite3_value, *mut i64) -> c_int,
    >,
    pub xBegin: Option<unsafe extern "C" fn(*mut sqlite3_vtab) -> c_int>,
    pub xSync: Option<unsafe extern "C" fn(*mut sqlite3_vtab) -> c_int>,
    pub xCommit: Option<unsafe extern "C" fn(*mut sqlite3_vtab) -> c_int>,
    pub xRollback: Option<unsafe extern "C" fn(*mut sqlite3_vtab) -> c_int>,
    pub xFindFunction: Option<
        unsafe extern "C" fn(
            *mut sqlite3_vtab,
            c_int,
            *const c_char,
            *mut Option<ScalarCallback>,
            *mut *mut c_void,
        ) -> c_int,
    >,
    pub xRename: Option<unsafe extern "C" fn(*mut sqlite3_vtab, *const c_char) -> c_int>,
    pub xSavepoint: Option<unsafe extern "C" fn(*mut sqlite3_vtab, c_int) -> c_int>,
    pub xRelease: Option<unsafe extern "C" fn(*mut sqlite3_vtab, c_int) -> c_int>,
    pub xRollbackTo: Option<unsafe extern "C" fn(*mut sqlite3_vtab, c_int) -> c_int>,
    pub xShadowName: Option<unsafe extern "C" fn(*const c_char) -> c_int>,
    pub xIntegrity: Option<
        unsafe extern "C" fn(
            *mut sqlite3_vtab,
            *const c_char,
            *const c_char,
            c_int,
            *mut *mut c_char,
        ) -> c_int,
    >,
}

pub type Destructor = Option<unsafe extern "C" fn(*mut c_void)>;

// Result codes and flags (sqlite3.h).
pub const SQLITE_OK: c_int = 0;
pub const SQLITE_ERROR: c_int = 1;
pub const SQLITE_INTERRUPT: c_int = 9;
pub const SQLITE_CORRUPT: c_int = 11;
pub const SQLITE_CONSTRAINT: c_int = 19;
pub const SQLITE_ROW: c_int = 100;
pub const SQLITE_DONE: c_int = 101;
pub const SQLITE_CORRUPT_VTAB: c_int = SQLITE_CORRUPT | (1 << 8);
pub const SQLITE_CONSTRAINT_VTAB: c_int = SQLITE_CONSTRAINT | (9 << 8);
pub const SQLITE_OK_LOAD_PERMANENTLY: c_int = SQLITE_OK | (1 << 8);

pub const SQLITE_INTEGER: c_int = 1;
pub const SQLITE_FLOAT: c_int = 2;
pub const SQLITE_TEXT: c_int = 3;
pub const SQLITE_BLOB: c_int = 4;
pub const SQLITE_NULL: c_int = 5;

pub const SQLITE_UTF8: c_int = 1;
pub const SQLITE_DETERMINISTIC: c_int = 0x0000_0800;
pub const SQLITE_DIRECTONLY: c_int = 0x0008_0000;
pub const SQLITE_INNOCUOUS: c_int = 0x0020_0000;
pub const SQLITE_PREPARE_PERSISTENT: u32 = 0x01;
/// `sqlite3_file_control` op: the `sqlite3_vfs*` of a schema's file.
pub const SQLITE_FCNTL_VFS_POINTER: c_int = 27;

/// The head of `struct sqlite3_vfs` (stable since version 1): enough to read its name.
#[repr(C)]
pub struct sqlite3_vfs_head {
    pub i_version: c_int,
    pub sz_os_file: c_int,
    pub mx_pathname: c_int,
    pub p_next: *mut c_void,
    pub z_name: *const c_char,
}

pub const SQLITE_IGNORE: c_int = 2;
pub const SQLITE_REPLACE: c_int = 5;

pub const SQLITE_VTAB_CONSTRAINT_SUPPORT: c_int = 1;
pub const SQLITE_VTAB_INNOCUOUS: c_int = 2;

pub const SQLITE_INDEX_SCAN_UNIQUE: c_int = 1;
pub const SQLITE_INDEX_CONSTRAINT_EQ: u8 = 2;
pub const SQLITE_INDEX_CONSTRAINT_GT: u8 = 4;
pub const SQLITE_INDEX_CONSTRAINT_LE: u8 = 8;
pub const SQLITE_INDEX_CONSTRAINT_LT: u8 = 16;
pub const SQLITE_INDEX_CONSTRAINT_GE: u8 = 32;
pub const SQLITE_INDEX_CONSTRAINT_MATCH: u8 = 64;
pub const SQLITE_INDEX_CONSTRAINT_NE: u8 = 68;
pub const SQLITE_INDEX_CONSTRAINT_ISNOT: u8 = 69;
pub const SQLITE_INDEX_CONSTRAINT_ISNOTNULL: u8 = 70;
pub const SQLITE_INDEX_CONSTRAINT_ISNULL: u8 = 71;
pub const SQLITE_INDEX_CONSTRAINT_IS: u8 = 72;
pub const SQLITE_INDEX_CONSTRAINT_LIMIT: u8 = 73;
pub const SQLITE_INDEX_CONSTRAINT_OFFSET: u8 = 74;
pub const SQLITE_INDEX_CONSTRAINT_FUNCTION: u8 = 150;

/// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
pub fn transient() -> Destructor {
    // SAFETY: SQLite defines SQLITE_TRANSIENT as the destructor value -1, which it
    // compares against and never calls.
    Some(unsafe { std::mem::transmute::<isize, unsafe extern "C" fn(*mut c_void)>(-1) })
}

/// The oldest host veclite runs in: every slot below `txn_state` (index 252) exists.
pub const MIN_HOST_VERSION: i32 = 3_034_000;

/// The host's `sqlite3_api_routines`, read by slot index.
#[derive(Clone, Copy)]
pub struct Api {
    table: *const *const c_void,
    version: i32,
}

// SAFETY: the table is an immutable array of function pointers owned by the SQLite
// library, which lives as long as the process; reading it from any thread is fine.
unsafe impl Send for Api {}
// SAFETY: as above.
unsafe impl Sync for Api {}

macro_rules! slots {
    ($( $name:ident = $slot:literal, since $since:literal: fn($($arg:ty),*) -> $ret:ty; )*) => {
        /// Every API-table slot veclite calls: (name, index, first SQLite version).
        pub const SLOTS: &[(&str, usize, i32)] = &[$((stringify!($name), $slot, $since),)* ("vtab_config", VTAB_CONFIG, 3_034_000)];

        impl Api {
            $(
                #[doc = concat!("`sqlite3_", stringify!($name), "` (slot ", stringify!($slot), ").")]
                #[inline]
                pub fn $name(&self) -> Option<unsafe extern "C" fn($($arg),*) -> $ret> {
                    if self.version < $since {
                        return None;
                    }
                    // SAFETY: the host is at least version $since, so its table has
                    // slot $slot, and sqlite3ext.h declares it with this signature
                    // (tests/api_slots.rs checks the index against a real SQLite).
                    // A NULL slot (a feature compiled out) becomes None.
                    unsafe {
                        let p = *self.table.add($slot);
                        std::mem::transmute::<*const c_void, Option<unsafe extern "C" fn($($arg),*) -> $ret>>(p)
                    }
                }
            )*
        }
    };
}

slots! {
    bind_double = 3, since 3_034_000: fn(*mut sqlite3_stmt, c_int, f64) -> c_int;
    bind_int64 = 5, since 3_034_000: fn(*mut sqlite3_stmt, c_int, i64) -> c_int;
    bind_null = 6, since 3_034_000: fn(*mut sqlite3_stmt, c_int) -> c_int;
    bind_value = 12, since 3_034_000: fn(*mut sqlite3_stmt, c_int, *const sqlite3_value) -> c_int;
    column_blob = 19, since 3_034_000: fn(*mut sqlite3_stmt, c_int) -> *const c_void;
    column_bytes = 20, since 3_034_000: fn(*mut sqlite3_stmt, c_int) -> c_int;
    column_double = 27, since 3_034_000: fn(*mut sqlite3_stmt, c_int) -> f64;
    column_int64 = 29, since 3_034_000: fn(*mut sqlite3_stmt, c_int) -> i64;
    column_type = 38, since 3_034_000: fn(*mut sqlite3_stmt, c_int) -> c_int;
    column_value = 39, since 3_034_000: fn(*mut sqlite3_stmt, c_int) -> *mut sqlite3_value;
    declare_vtab = 50, since 3_034_000: fn(*mut sqlite3, *const c_char) -> c_int;
    errmsg = 53, since 3_034_000: fn(*mut sqlite3) -> *const c_char;
    exec = 55, since 3_034_000: fn(*mut sqlite3, *const c_char, *const c_void, *mut c_void, *mut *mut c_char) -> c_int;
    finalize = 57, since 3_034_000: fn(*mut sqlite3_stmt) -> c_int;
    free = 58, since 3_034_000: fn(*mut c_void) -> ();
    get_autocommit = 60, since 3_034_000: fn(*mut sqlite3) -> c_int;
    last_insert_rowid = 65, since 3_034_000: fn(*mut sqlite3) -> i64;
    libversion_number = 67, since 0: fn() -> c_int;
    reset = 77, since 3_034_000: fn(*mut sqlite3_stmt) -> c_int;
    result_double = 79, since 3_034_000: fn(*mut sqlite3_context, f64) -> ();
    result_error = 80, since 3_034_000: fn(*mut sqlite3_context, *const c_char, c_int) -> ();
    result_int64 = 83, since 3_034_000: fn(*mut sqlite3_context, i64) -> ();
    result_null = 84, since 3_034_000: fn(*mut sqlite3_context) -> ();
    result_value = 89, since 3_034_000: fn(*mut sqlite3_context, *mut sqlite3_value) -> ();
    step = 94, since 3_034_000: fn(*mut sqlite3_stmt) -> c_int;
    user_data = 101, since 3_034_000: fn(*mut sqlite3_context) -> *mut c_void;
    value_blob = 102, since 3_034_000: fn(*mut sqlite3_value) -> *const c_void;
    value_bytes = 103, since 3_034_000: fn(*mut sqlite3_value) -> c_int;
    value_double = 105, since 3_034_000: fn(*mut sqlite3_value) -> f64;
    value_int64 = 107, since 3_034_000: fn(*mut sqlite3_value) -> i64;
    value_text = 109, since 3_034_000: fn(*mut sqlite3_value) -> *const c_uchar;
    value_type = 113, since 3_034_000: fn(*mut sqlite3_value) -> c_int;
    clear_bindings = 118, since 3_034_000: fn(*mut sqlite3_stmt) -> c_int;
    create_module_v2 = 119, since 3_034_000: fn(*mut sqlite3, *const c_char, *const sqlite3_module, *mut c_void, Destructor) -> c_int;
    file_control = 127, since 3_034_000: fn(*mut sqlite3, *const c_char, c_int, *mut c_void) -> c_int;
    result_error_code = 146, since 3_034_000: fn(*mut sqlite3_context, c_int) -> ();
    context_db_handle = 149, since 3_034_000: fn(*mut sqlite3_context) -> *mut sqlite3;
    create_function_v2 = 162, since 3_034_000: fn(*mut sqlite3, *const c_char, c_int, c_int, *mut c_void, Option<ScalarCallback>, Option<ScalarCallback>, Option<unsafe extern "C" fn(*mut sqlite3_context)>, Destructor) -> c_int;
    vtab_on_conflict = 178, since 3_034_000: fn(*mut sqlite3) -> c_int;
    db_filename = 180, since 3_034_000: fn(*mut sqlite3, *const c_char) -> *const c_char;
    uri_parameter = 189, since 3_034_000: fn(*const c_char, *const c_char) -> *const c_char;
    bind_blob64 = 193, since 3_034_000: fn(*mut sqlite3_stmt, c_int, *const c_void, u64, Destructor) -> c_int;
    bind_text64 = 194, since 3_034_000: fn(*mut sqlite3_stmt, c_int, *const c_char, u64, Destructor, c_uchar) -> c_int;
    malloc64 = 197, since 3_034_000: fn(u64) -> *mut c_void;
    result_blob64 = 201, since 3_034_000: fn(*mut sqlite3_context, *const c_void, u64, Destructor) -> ();
    result_text64 = 202, since 3_034_000: fn(*mut sqlite3_context, *const c_char, u64, Destructor, c_uchar) -> ();
    set_last_insert_rowid = 216, since 3_034_000: fn(*mut sqlite3, i64) -> ();
    prepare_v3 = 217, since 3_034_000: fn(*mut sqlite3, *const c_char, c_int, u32, *mut *mut sqlite3_stmt, *mut *const c_char) -> c_int;
    vtab_nochange = 222, since 3_034_000: fn(*mut sqlite3_context) -> c_int;
    value_nochange = 223, since 3_034_000: fn(*mut sqlite3_value) -> c_int;
    vtab_collation = 224, since 3_034_000: fn(*mut sqlite3_index_info, c_int) -> *const c_char;
    vtab_rhs_value = 257, since 3_038_000: fn(*mut sqlite3_index_info, c_int, *mut *mut sqlite3_value) -> c_int;
    vtab_in = 259, since 3_038_000: fn(*mut sqlite3_index_info, c_int, c_int) -> c_int;
    vtab_in_first = 260, since 3_038_000: fn(*mut sqlite3_value, *mut *mut sqlite3_value) -> c_int;
    vtab_in_next = 261, since 3_038_000: fn(*mut sqlite3_value, *mut *mut sqlite3_value) -> c_int;
    is_interrupted = 266, since 3_041_000: fn(*mut sqlite3) -> c_int;
}

/// Slot of the variadic `sqlite3_vtab_config` (declared by hand: a C-variadic
/// function must be called through a variadic pointer type).
const VTAB_CONFIG: usize = 177;

impl Api {
    /// `sqlite3_vtab_config` (slot 177), a C-variadic function.
    #[inline]
    pub fn vtab_config(&self) -> Option<unsafe extern "C" fn(*mut sqlite3, c_int, ...) -> c_int> {
        // SAFETY: slot 177 exists in every supported host (3.34+) and holds the
        // variadic sqlite3_vtab_config; NULL becomes None.
        unsafe {
            let p = *self.table.add(VTAB_CONFIG);
            std::mem::transmute::<
                *const c_void,
                Option<unsafe extern "C" fn(*mut sqlite3, c_int, ...) -> c_int>,
            >(p)
        }
    }

    /// Wraps the table SQLite handed to the entry point and reads the host's version.
    ///
    /// # Safety
    /// `table` must be the `sqlite3_api_routines` pointer SQLite passed to an
    /// extension entry point.
    pub unsafe fn new(table: *const c_void) -> Option<Api> {
        if table.is_null() {
            return None;
        }
        let mut api = Api {
            table: table as *const *const c_void,
            version: 0,
        };
        // SAFETY: libversion_number exists in every SQLite with loadable extensions.
        api.version = unsafe { (api.libversion_number()?)() };
        Some(api)
    }

    /// True when both wrap the same table (the same SQLite library).
    pub fn same_table(&self, other: &Api) -> bool {
        std::ptr::eq(self.table, other.table)
    }

    /// `sqlite3_libversion_number()` of the host (e.g. 3040001).
    pub fn version(&self) -> i32 {
        self.version
    }

    /// The raw slot `index`, for the slot test.
    #[doc(hidden)]
    pub fn raw_slot(&self, index: usize) -> *const c_void {
        // SAFETY: only called by tests with indices from SLOTS on a current host.
        unsafe { *self.table.add(index) }
    }
}
