//! Fault injection at the I/O layer, as SQLite's own ioerr tests do it.
//!
//! A shim VFS over the default one forwards every call, except that once armed the
//! Nth `xWrite` (or `xSync`, or `xTruncate`) of any file it opened (database,
//! journal, WAL, statement journals) returns `SQLITE_IOERR_WRITE` / `SQLITE_FULL` /
//! `SQLITE_IOERR_FSYNC` / `SQLITE_IOERR_TRUNCATE` instead of reaching the disk:
//! only that one call ("transient") or that one and every later one
//! ("persistent"). A fixed workload (multi-row INSERTs, INSERT OR REPLACE,
//! DELETEs, vector UPDATEs, multi-row UPDATEs, SAVEPOINT / ROLLBACK TO / RELEASE,
//! `veclite_rebuild` inside a transaction and inside a savepoint rolled back,
//! `veclite_check` inside a transaction, autocommit statements, a transaction
//! opened by SAVEPOINT, a ROLLBACK, WAL checkpoints) runs with the fault armed on a
//! copy of a prepared database, through a connection with a small page cache (so
//! pages spill in the middle of statements), for N = 1, 2, 3, ... up to the number
//! of such calls the workload makes, in rollback-journal and in WAL mode.
//!
//! The workload goes on after a failure. A statement error: ROLLBACK (its error is
//! ignored when SQLite has rolled back already), not committed. An error on the
//! statement that commits: committed or not, either state is allowed, but exactly
//! one. A statement that returns no error while SQLite has rolled the transaction
//! back under it is a divergence (the application cannot tell). No error may be a
//! caught panic, a veclite "internal error", SQLITE_CORRUPT or SQLITE_MISUSE.
//! Then the fault is disarmed and, on the connection that saw the errors and then
//! on a fresh one through the default VFS:
//! * `PRAGMA integrity_check` is ok and `veclite_check('t')` is 'ok';
//! * the rows (rowid, vector, tag) are exactly one of the states the outcomes allow;
//! * KNN agrees with brute force over those rows (see `knn_check`);
//! * the connection that saw the errors can commit a write, after which it and a
//!   fresh connection give the same graph answers (its in-memory graph is the
//!   stored one).
//!
//! By default (CI) at most `RUNS_PER_KIND` values of N are tried per fault kind and
//! journal mode (every N when the workload makes fewer calls, else evenly spaced);
//! `VECLITE_IOFAULT_FULL=1` tries every N. `VECLITE_IOFAULT_ONLY=<mode>:<kind>:<N>`
//! (e.g. `wal:write-ioerr-persistent:17`) runs one case and prints what it saw.
//! `failed_rebuild_then_rollback` and `check_in_transaction_hides_a_write_error`
//! are the sweep's divergences reduced to a few statements.
//!
//! `io_fault_sweep_int8` runs the same sweep on a `quantize = int8` table (whose
//! codes are written to `t_codes` with every row), with a third of the Ns.
//!
//! `nice -n 10 cargo test --release --test io_faults -- --nocapture`

#![warn(unsafe_op_in_unsafe_fn)]

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_void, CString};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::Instant;

mod common;

use rusqlite::types::Value;
use rusqlite::{ffi, Connection, OpenFlags};

// ---------------------------------------------------------------------------
// The shim VFS
// ---------------------------------------------------------------------------

/// The file operations a fault can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileOp {
    Write = 0,
    Sync = 1,
    Truncate = 2,
}

/// The fault plan and call counters of one shim VFS (shared by all its files).
struct Fault {
    /// Calls of each `FileOp` since the last `arm`, over every file of the VFS.
    counts: [AtomicU64; 3],
    armed: AtomicBool,
    target: AtomicU8,
    nth: AtomicU64,
    persistent: AtomicBool,
    rc: AtomicI32,
    /// Calls that were failed since the last `arm`.
    hits: AtomicU64,
}

impl Fault {
    fn new() -> Fault {
        Fault {
            counts: Default::default(),
            armed: AtomicBool::new(false),
            target: AtomicU8::new(0),
            nth: AtomicU64::new(0),
            persistent: AtomicBool::new(false),
            rc: AtomicI32::new(ffi::SQLITE_IOERR),
            hits: AtomicU64::new(0),
        }
    }

    /// Resets the counters; then the `nth` call (1-based) of `op` fails with `rc`,
    /// and with `persistent` every later one too.
    fn arm(&self, op: FileOp, nth: u64, persistent: bool, rc: c_int) {
        self.count_only();
        self.target.store(op as u8, SeqCst);
        self.nth.store(nth, SeqCst);
        self.persistent.store(persistent, SeqCst);
        self.rc.store(rc, SeqCst);
        self.armed.store(true, SeqCst);
    }

    /// Resets the counters and fails nothing (a dry run counts the calls).
    fn count_only(&self) {
        self.armed.store(false, SeqCst);
        for c in &self.counts {
            c.store(0, SeqCst);
        }
        self.hits.store(0, SeqCst);
    }

    fn disarm(&self) {
        self.armed.store(false, SeqCst);
    }

    fn count(&self, op: FileOp) -> u64 {
        self.counts[op as usize].load(SeqCst)
    }

    fn hits(&self) -> u64 {
        self.hits.load(SeqCst)
    }

    /// Counts one call of `op`; `Some(rc)` when that call must fail.
    fn check(&self, op: FileOp) -> Option<c_int> {
        let k = self.counts[op as usize].fetch_add(1, SeqCst) + 1;
        if !self.armed.load(SeqCst) || self.target.load(SeqCst) != op as u8 {
            return None;
        }
        let n = self.nth.load(SeqCst);
        if k == n || (k > n && self.persistent.load(SeqCst)) {
            self.hits.fetch_add(1, SeqCst);
            Some(self.rc.load(SeqCst))
        } else {
            None
        }
    }
}

/// What a shim VFS's `pAppData` points to. Created once per VFS name and leaked:
/// SQLite keeps a registered VFS for the life of the process.
struct Shim {
    /// The default VFS at registration (never unregistered, so never dangling).
    real: *mut ffi::sqlite3_vfs,
    fault: Fault,
}

// SAFETY: `real` is only read, and points to a VFS object SQLite keeps for the life
// of the process; SQLite's VFS methods may be called from any thread. `fault` is
// all atomics.
unsafe impl Send for Shim {}
// SAFETY: as above.
unsafe impl Sync for Shim {}

/// A file opened through the shim: SQLite allocates `szOsFile` bytes for it, our
/// header first (`base` must be first: SQLite sees a `sqlite3_file`), then the real
/// VFS's file object, which `real` points to.
#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    fault: *const Fault,
    real: *mut ffi::sqlite3_file,
}

// The real file object follows the header; SQLite allocates file objects with
// 8-byte alignment, so the header's size must keep the real one aligned.
const _: () = assert!(std::mem::size_of::<ShimFile>().is_multiple_of(8));

/// Registers (once per name, not as the default) a shim VFS over the default VFS and
/// returns its fault plan.
fn shim_vfs(name: &'static str) -> &'static Fault {
    static REGISTERED: Mutex<Vec<(&'static str, &'static Shim)>> = Mutex::new(Vec::new());
    let mut reg = REGISTERED.lock().unwrap();
    if let Some((_, s)) = reg.iter().find(|(n, _)| *n == name) {
        return &s.fault;
    }
    // rusqlite checks SQLite's threading mode before first use: open a connection
    // through it before calling SQLite directly.
    drop(Connection::open_in_memory().unwrap());
    // SAFETY: SQLite is initialised (above); a NULL name asks for the default VFS.
    let real = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
    assert!(!real.is_null(), "no default VFS");
    // SAFETY: `real` is a registered VFS, valid for the life of the process.
    let r = unsafe { &*real };
    let shim: &'static Shim = Box::leak(Box::new(Shim {
        real,
        fault: Fault::new(),
    }));
    let vfs: &'static mut ffi::sqlite3_vfs = Box::leak(Box::new(ffi::sqlite3_vfs {
        iVersion: r.iVersion.min(3),
        szOsFile: r.szOsFile + std::mem::size_of::<ShimFile>() as c_int,
        mxPathname: r.mxPathname,
        pNext: ptr::null_mut(),
        zName: CString::new(name).unwrap().into_raw(),
        pAppData: shim as *const Shim as *mut c_void,
        xOpen: Some(vfs_open),
        xDelete: r.xDelete.and(Some(vfs_delete)),
        xAccess: r.xAccess.and(Some(vfs_access)),
        xFullPathname: r.xFullPathname.and(Some(vfs_full_pathname)),
        xDlOpen: r.xDlOpen.and(Some(vfs_dl_open)),
        xDlError: r.xDlError.and(Some(vfs_dl_error)),
        xDlSym: r.xDlSym.and(Some(vfs_dl_sym)),
        xDlClose: r.xDlClose.and(Some(vfs_dl_close)),
        xRandomness: r.xRandomness.and(Some(vfs_randomness)),
        xSleep: r.xSleep.and(Some(vfs_sleep)),
        xCurrentTime: r.xCurrentTime.and(Some(vfs_current_time)),
        xGetLastError: r.xGetLastError.and(Some(vfs_get_last_error)),
        xCurrentTimeInt64: r.xCurrentTimeInt64.and(Some(vfs_current_time_int64)),
        xSetSystemCall: r.xSetSystemCall.and(Some(vfs_set_system_call)),
        xGetSystemCall: r.xGetSystemCall.and(Some(vfs_get_system_call)),
        xNextSystemCall: r.xNextSystemCall.and(Some(vfs_next_system_call)),
    }));
    // SAFETY: `vfs` is fully initialised and leaked (SQLite keeps the pointer), and
    // its name is unique (checked above under the lock).
    let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
    assert_eq!(rc, ffi::SQLITE_OK, "sqlite3_vfs_register");
    reg.push((name, shim));
    &shim.fault
}

/// The VFS the shim `v` forwards to.
///
/// # Safety
/// `v` must be a VFS made by `shim_vfs`.
unsafe fn real_vfs(v: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    // SAFETY: per the contract, pAppData is a leaked `Shim`.
    unsafe { (*((*v).pAppData as *const Shim)).real }
}

/// Calls method `$m` of the real VFS behind the shim `$v` with the real VFS pointer
/// and the other arguments. The shim has a method only where the real VFS has one
/// (`shim_vfs`), so the `expect` cannot fire.
macro_rules! forward_vfs {
    ($v:expr, $m:ident $(, $a:expr)*) => {{
        // SAFETY: `$v` is the shim SQLite called (the caller's contract).
        let r = unsafe { real_vfs($v) };
        // SAFETY: `r` is the live default VFS; the arguments are SQLite's own,
        // passed on unchanged, as the method's contract expects.
        unsafe { ((*r).$m.expect(stringify!($m)))(r $(, $a)*) }
    }};
}

/// xOpen: opens the real file inside our allocation, then points SQLite at our
/// methods (or at none when the real open left none, so that SQLite does not close
/// a file that was never opened).
unsafe extern "C" fn vfs_open(
    v: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite hands us `szOsFile` bytes at `file`, 8-byte aligned: a
    // `ShimFile` header followed by room for the real VFS's file object; `v` is
    // our shim, whose pAppData is a leaked `Shim`.
    unsafe {
        let shim = &*((*v).pAppData as *const Shim);
        let f = file as *mut ShimFile;
        let real = (file as *mut u8).add(std::mem::size_of::<ShimFile>()) as *mut ffi::sqlite3_file;
        ptr::write(
            f,
            ShimFile {
                base: ffi::sqlite3_file {
                    pMethods: ptr::null(),
                },
                fault: &shim.fault,
                real,
            },
        );
        (*real).pMethods = ptr::null();
        let rc = ((*shim.real).xOpen.expect("xOpen"))(shim.real, name, real, flags, out_flags);
        let m = (*real).pMethods;
        if !m.is_null() {
            (*f).base.pMethods = match (*m).iVersion {
                1 => &IO_V1,
                2 => &IO_V2,
                _ => &IO_V3,
            };
        }
        rc
    }
}

unsafe extern "C" fn vfs_delete(
    v: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    forward_vfs!(v, xDelete, name, sync_dir)
}

unsafe extern "C" fn vfs_access(
    v: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    forward_vfs!(v, xAccess, name, flags, out)
}

unsafe extern "C" fn vfs_full_pathname(
    v: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    forward_vfs!(v, xFullPathname, name, n, out)
}

unsafe extern "C" fn vfs_dl_open(v: *mut ffi::sqlite3_vfs, name: *const c_char) -> *mut c_void {
    forward_vfs!(v, xDlOpen, name)
}

unsafe extern "C" fn vfs_dl_error(v: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) {
    forward_vfs!(v, xDlError, n, out)
}

type DlSym = unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char);

unsafe extern "C" fn vfs_dl_sym(
    v: *mut ffi::sqlite3_vfs,
    h: *mut c_void,
    sym: *const c_char,
) -> Option<DlSym> {
    forward_vfs!(v, xDlSym, h, sym)
}

unsafe extern "C" fn vfs_dl_close(v: *mut ffi::sqlite3_vfs, h: *mut c_void) {
    forward_vfs!(v, xDlClose, h)
}

unsafe extern "C" fn vfs_randomness(v: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    forward_vfs!(v, xRandomness, n, out)
}

unsafe extern "C" fn vfs_sleep(v: *mut ffi::sqlite3_vfs, us: c_int) -> c_int {
    forward_vfs!(v, xSleep, us)
}

unsafe extern "C" fn vfs_current_time(v: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    forward_vfs!(v, xCurrentTime, out)
}

unsafe extern "C" fn vfs_get_last_error(
    v: *mut ffi::sqlite3_vfs,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    forward_vfs!(v, xGetLastError, n, out)
}

unsafe extern "C" fn vfs_current_time_int64(
    v: *mut ffi::sqlite3_vfs,
    out: *mut ffi::sqlite3_int64,
) -> c_int {
    forward_vfs!(v, xCurrentTimeInt64, out)
}

unsafe extern "C" fn vfs_set_system_call(
    v: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    f: ffi::sqlite3_syscall_ptr,
) -> c_int {
    forward_vfs!(v, xSetSystemCall, name, f)
}

unsafe extern "C" fn vfs_get_system_call(
    v: *mut ffi::sqlite3_vfs,
    name: *const c_char,
) -> ffi::sqlite3_syscall_ptr {
    forward_vfs!(v, xGetSystemCall, name)
}

unsafe extern "C" fn vfs_next_system_call(
    v: *mut ffi::sqlite3_vfs,
    name: *const c_char,
) -> *const c_char {
    forward_vfs!(v, xNextSystemCall, name)
}

/// The io methods of a shim file, one table per `iVersion` of the real file's
/// methods (so SQLite uses WAL shared memory and mmap exactly when the real file
/// supports them).
const fn io_methods(version: c_int) -> ffi::sqlite3_io_methods {
    ffi::sqlite3_io_methods {
        iVersion: version,
        xClose: Some(io_close),
        xRead: Some(io_read),
        xWrite: Some(io_write),
        xTruncate: Some(io_truncate),
        xSync: Some(io_sync),
        xFileSize: Some(io_file_size),
        xLock: Some(io_lock),
        xUnlock: Some(io_unlock),
        xCheckReservedLock: Some(io_check_reserved_lock),
        xFileControl: Some(io_file_control),
        xSectorSize: Some(io_sector_size),
        xDeviceCharacteristics: Some(io_device_characteristics),
        xShmMap: if version >= 2 { Some(io_shm_map) } else { None },
        xShmLock: if version >= 2 {
            Some(io_shm_lock)
        } else {
            None
        },
        xShmBarrier: if version >= 2 {
            Some(io_shm_barrier)
        } else {
            None
        },
        xShmUnmap: if version >= 2 {
            Some(io_shm_unmap)
        } else {
            None
        },
        xFetch: if version >= 3 { Some(io_fetch) } else { None },
        xUnfetch: if version >= 3 { Some(io_unfetch) } else { None },
    }
}

static IO_V1: ffi::sqlite3_io_methods = io_methods(1);
static IO_V2: ffi::sqlite3_io_methods = io_methods(2);
static IO_V3: ffi::sqlite3_io_methods = io_methods(3);

/// Calls method `$m` of the real file inside the shim file `$f`. Our table has a
/// method only where the real table's `iVersion` says it has one; a NULL slot of
/// the real table (allowed for some) is reported as `$none`.
macro_rules! forward_io {
    ($f:expr, $none:expr, $m:ident $(, $a:expr)*) => {{
        // SAFETY: SQLite calls our methods only on files `vfs_open` initialised
        // and not yet closed (or, for xClose, being closed), so the header and the
        // real file object are live; the real file's methods are those its VFS
        // set, called with SQLite's own arguments.
        unsafe {
            let r = (*($f as *mut ShimFile)).real;
            match (*(*r).pMethods).$m {
                Some(m) => m(r $(, $a)*),
                None => $none,
            }
        }
    }};
}

/// The fault plan of a shim file.
///
/// # Safety
/// `f` must be a live file opened by `vfs_open`.
unsafe fn fault_of(f: *mut ffi::sqlite3_file) -> &'static Fault {
    // SAFETY: per the contract; the `Fault` lives in a leaked `Shim`.
    unsafe { &*(*(f as *mut ShimFile)).fault }
}

unsafe extern "C" fn io_close(f: *mut ffi::sqlite3_file) -> c_int {
    forward_io!(f, ffi::SQLITE_OK, xClose)
}

unsafe extern "C" fn io_read(
    f: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    n: c_int,
    off: ffi::sqlite3_int64,
) -> c_int {
    forward_io!(f, ffi::SQLITE_IOERR_READ, xRead, buf, n, off)
}

unsafe extern "C" fn io_write(
    f: *mut ffi::sqlite3_file,
    buf: *const c_void,
    n: c_int,
    off: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite calls xWrite only on a live file that vfs_open opened.
    if let Some(rc) = unsafe { fault_of(f) }.check(FileOp::Write) {
        return rc;
    }
    forward_io!(f, ffi::SQLITE_IOERR_WRITE, xWrite, buf, n, off)
}

unsafe extern "C" fn io_truncate(f: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    // SAFETY: as in io_write.
    if let Some(rc) = unsafe { fault_of(f) }.check(FileOp::Truncate) {
        return rc;
    }
    forward_io!(f, ffi::SQLITE_IOERR_TRUNCATE, xTruncate, size)
}

unsafe extern "C" fn io_sync(f: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: as in io_write.
    if let Some(rc) = unsafe { fault_of(f) }.check(FileOp::Sync) {
        return rc;
    }
    forward_io!(f, ffi::SQLITE_IOERR_FSYNC, xSync, flags)
}

unsafe extern "C" fn io_file_size(
    f: *mut ffi::sqlite3_file,
    out: *mut ffi::sqlite3_int64,
) -> c_int {
    forward_io!(f, ffi::SQLITE_IOERR_FSTAT, xFileSize, out)
}

unsafe extern "C" fn io_lock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward_io!(f, ffi::SQLITE_IOERR_LOCK, xLock, level)
}

unsafe extern "C" fn io_unlock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    forward_io!(f, ffi::SQLITE_IOERR_UNLOCK, xUnlock, level)
}

unsafe extern "C" fn io_check_reserved_lock(f: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    forward_io!(
        f,
        ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        xCheckReservedLock,
        out
    )
}

unsafe extern "C" fn io_file_control(
    f: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    forward_io!(f, ffi::SQLITE_NOTFOUND, xFileControl, op, arg)
}

unsafe extern "C" fn io_sector_size(f: *mut ffi::sqlite3_file) -> c_int {
    forward_io!(f, 0, xSectorSize)
}

unsafe extern "C" fn io_device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    forward_io!(f, 0, xDeviceCharacteristics)
}

unsafe extern "C" fn io_shm_map(
    f: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    forward_io!(
        f,
        ffi::SQLITE_IOERR_SHMMAP,
        xShmMap,
        page,
        size,
        extend,
        out
    )
}

unsafe extern "C" fn io_shm_lock(
    f: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    forward_io!(f, ffi::SQLITE_IOERR_SHMLOCK, xShmLock, offset, n, flags)
}

unsafe extern "C" fn io_shm_barrier(f: *mut ffi::sqlite3_file) {
    forward_io!(f, (), xShmBarrier)
}

unsafe extern "C" fn io_shm_unmap(f: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    forward_io!(f, ffi::SQLITE_OK, xShmUnmap, delete)
}

unsafe extern "C" fn io_fetch(
    f: *mut ffi::sqlite3_file,
    off: ffi::sqlite3_int64,
    n: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // Without a real xFetch, "no mapping": SQLite then reads with xRead.
    // SAFETY: `out` is SQLite's out-pointer for the mapping.
    unsafe { *out = ptr::null_mut() };
    forward_io!(f, ffi::SQLITE_OK, xFetch, off, n, out)
}

unsafe extern "C" fn io_unfetch(
    f: *mut ffi::sqlite3_file,
    off: ffi::sqlite3_int64,
    p: *mut c_void,
) -> c_int {
    forward_io!(f, ffi::SQLITE_OK, xUnfetch, off, p)
}

// ---------------------------------------------------------------------------
// The workload and its model
// ---------------------------------------------------------------------------

const DIMS: usize = 8;
const CREATE: &str =
    "CREATE VIRTUAL TABLE t USING veclite(v float[8], tag integer, exact_threshold = 0, m = 4, ef_construction = 32)";
/// The sweep's table is `quantize = int8` (`io_fault_sweep_int8`): its codes are
/// written to `t_codes` with every row, so the faults also land in those writes.
static INT8: AtomicBool = AtomicBool::new(false);

fn create_sql() -> String {
    if INT8.load(SeqCst) {
        format!("{}, quantize = int8)", CREATE.strip_suffix(')').unwrap())
    } else {
        CREATE.to_string()
    }
}
/// Rows of the prepared database: rowids 1..=BASE_ROWS.
const BASE_ROWS: i64 = 40;
/// The faulty connection's page cache, in pages (of 1024 bytes): small, so dirty
/// pages spill to the files in the middle of statements, not only at COMMIT.
const CACHE_PAGES: i64 = 12;
/// KNN checks use `ef` at least the row count (the table never has more), so the
/// graph walk reaches every reachable row and must equal brute force exactly.
const EF: i64 = 256;
const K: usize = 5;

/// A row: vector and tag.
type Row = (Vec<f32>, i64);
type Rows = BTreeMap<i64, Row>;

struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

/// Version `ver` of row `id`'s vector: a pure function, so a replayed model agrees.
fn vector(id: i64, ver: u64) -> Vec<f32> {
    let mut r = Rng::new((id as u64) << 8 | ver);
    (0..DIMS).map(|_| r.f()).collect()
}

fn row(id: i64, ver: u64) -> (i64, Vec<f32>, i64) {
    (id, vector(id, ver), id % 5)
}

fn rows(ids: std::ops::RangeInclusive<i64>) -> Vec<(i64, Vec<f32>, i64)> {
    ids.map(|i| row(i, 0)).collect()
}

fn blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[derive(Clone, Debug)]
enum Step {
    /// One multi-row `INSERT [OR REPLACE] INTO t(rowid, v, tag) VALUES ...`.
    Insert {
        replace: bool,
        rows: Vec<(i64, Vec<f32>, i64)>,
    },
    /// `DELETE FROM t WHERE rowid IN (...)`.
    Delete(Vec<i64>),
    /// `DELETE FROM t WHERE rowid BETWEEN a AND b`.
    DeleteRange(i64, i64),
    /// `DELETE FROM t WHERE tag = x`.
    DeleteTag(i64),
    /// `UPDATE t SET v = ? WHERE rowid = ?`.
    SetVector(i64, Vec<f32>),
    /// `UPDATE t SET tag = new WHERE tag = old` (a multi-row UPDATE).
    Retag(i64, i64),
    Savepoint(&'static str),
    RollbackTo(&'static str),
    Release(&'static str),
    /// `SELECT veclite_rebuild('t')`.
    Rebuild,
    /// `SELECT veclite_check('t')` (inside a transaction it flushes first): 'ok'.
    Check,
    /// The connection's own KNN agrees with brute force over its own rows.
    SelfCheck,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum TxnKind {
    /// BEGIN; steps; COMMIT.
    Begin,
    /// SAVEPOINT name; steps; RELEASE name (the RELEASE commits).
    Savepoint(&'static str),
    /// One step in autocommit mode.
    Auto,
    /// BEGIN; steps; ROLLBACK (never commits).
    RolledBack,
    /// `PRAGMA wal_checkpoint(TRUNCATE)` (a no-op outside WAL mode); no steps.
    Checkpoint,
}

#[derive(Clone, Debug)]
struct Txn {
    kind: TxnKind,
    steps: Vec<Step>,
}

fn txn(kind: TxnKind, steps: Vec<Step>) -> Txn {
    Txn { kind, steps }
}

/// The workload, on top of the prepared rows 1..=40 (tag = rowid % 5). Plain
/// INSERTs use rowids no earlier transaction touched, so every statement is valid
/// whichever earlier transactions committed.
fn workload() -> Vec<Txn> {
    use Step::*;
    use TxnKind::{Auto, Begin, Checkpoint, RolledBack};
    let set = |id: i64, ver: u64| SetVector(id, vector(id, ver));
    vec![
        // multi-row insert, delete
        txn(
            Begin,
            vec![
                Insert {
                    replace: false,
                    rows: rows(41..=52),
                },
                Delete(vec![3, 7, 11]),
            ],
        ),
        // vector updates, INSERT OR REPLACE over existing and new rows
        txn(
            Begin,
            vec![
                set(5, 1),
                set(8, 1),
                set(41, 1),
                Insert {
                    replace: true,
                    rows: vec![row(9, 1), row(12, 1), row(53, 0)],
                },
            ],
        ),
        // a savepoint rolled back, then released
        txn(
            Begin,
            vec![
                Savepoint("a"),
                Insert {
                    replace: false,
                    rows: rows(54..=61),
                },
                Delete(vec![1, 2]),
                set(10, 1),
                RollbackTo("a"),
                Insert {
                    replace: false,
                    rows: rows(62..=64),
                },
                Release("a"),
            ],
        ),
        // a rebuild inside a transaction, writes on both sides of it
        txn(
            Begin,
            vec![
                SelfCheck,
                Insert {
                    replace: false,
                    rows: rows(65..=70),
                },
                Rebuild,
                Delete(vec![13, 14]),
                Insert {
                    replace: false,
                    rows: rows(71..=72),
                },
            ],
        ),
        // a transaction opened by SAVEPOINT, a nested savepoint, multi-row UPDATEs
        txn(
            TxnKind::Savepoint("outer"),
            vec![
                Insert {
                    replace: false,
                    rows: rows(73..=77),
                },
                Savepoint("inner"),
                Retag(3, 13),
                RollbackTo("inner"),
                DeleteTag(1),
                Release("inner"),
                Retag(2, 12),
            ],
        ),
        // autocommit: a large insert (spills the cache)
        txn(
            Auto,
            vec![Insert {
                replace: false,
                rows: rows(78..=117),
            }],
        ),
        // range delete, veclite_check inside the transaction, more inserts
        txn(
            Begin,
            vec![
                DeleteRange(20, 35),
                Check,
                Insert {
                    replace: false,
                    rows: rows(118..=122),
                },
                SelfCheck,
            ],
        ),
        // a rebuild rolled back with its savepoint
        txn(
            Begin,
            vec![
                Savepoint("b"),
                Rebuild,
                Insert {
                    replace: false,
                    rows: rows(123..=125),
                },
                RollbackTo("b"),
                set(15, 1),
                set(16, 1),
                set(90, 1),
                Release("b"),
            ],
        ),
        // rolled back by the workload
        txn(
            RolledBack,
            vec![
                Insert {
                    replace: false,
                    rows: rows(126..=130),
                },
                Delete(vec![41, 42, 43]),
                set(44, 2),
            ],
        ),
        txn(Checkpoint, vec![]),
        // autocommit delete
        txn(Auto, vec![Delete(vec![44, 45, 46, 47, 100, 101])]),
        // three nested savepoints, partial rollbacks, REPLACE
        txn(
            Begin,
            vec![
                Savepoint("x"),
                Insert {
                    replace: false,
                    rows: rows(131..=135),
                },
                Savepoint("y"),
                Delete(vec![131, 62, 63]),
                Savepoint("z"),
                Insert {
                    replace: true,
                    rows: vec![row(132, 1), row(64, 1)],
                },
                RollbackTo("y"),
                Insert {
                    replace: false,
                    rows: rows(136..=138),
                },
                set(133, 1),
                Release("x"),
                SelfCheck,
            ],
        ),
        // a rebuild at the end of a transaction, just before COMMIT's flush
        txn(
            Begin,
            vec![
                Delete(vec![48, 49, 50]),
                Insert {
                    replace: true,
                    rows: vec![row(51, 2), row(139, 0)],
                },
                Rebuild,
            ],
        ),
        txn(Checkpoint, vec![]),
    ]
}

/// The model's effect of one step (savepoint steps are handled by `apply`).
fn apply_step(m: &mut Rows, s: &Step) {
    match s {
        Step::Insert { replace, rows } => {
            for (id, v, tag) in rows {
                let old = m.insert(*id, (v.clone(), *tag));
                assert!(
                    *replace || old.is_none(),
                    "workload bug: plain INSERT of existing rowid {id}"
                );
            }
        }
        Step::Delete(ids) => {
            for id in ids {
                m.remove(id);
            }
        }
        Step::DeleteRange(a, b) => m.retain(|id, _| !(a..=b).contains(&id)),
        Step::DeleteTag(t) => m.retain(|_, r| r.1 != *t),
        Step::SetVector(id, v) => {
            if let Some(r) = m.get_mut(id) {
                r.0 = v.clone();
            }
        }
        Step::Retag(old, new) => {
            for r in m.values_mut() {
                if r.1 == *old {
                    r.1 = *new;
                }
            }
        }
        Step::Savepoint(_)
        | Step::RollbackTo(_)
        | Step::Release(_)
        | Step::Rebuild
        | Step::Check
        | Step::SelfCheck => {}
    }
}

/// The state after `t` commits on top of `m`.
fn apply(m: &Rows, t: &Txn) -> Rows {
    if matches!(t.kind, TxnKind::RolledBack | TxnKind::Checkpoint) {
        return m.clone();
    }
    let mut cur = m.clone();
    let mut stack: Vec<(&str, Rows)> = Vec::new();
    for s in &t.steps {
        match s {
            Step::Savepoint(n) => stack.push((n, cur.clone())),
            Step::RollbackTo(n) => {
                let i = stack
                    .iter()
                    .rposition(|(x, _)| x == n)
                    .expect("workload: no such savepoint");
                stack.truncate(i + 1);
                cur = stack[i].1.clone();
            }
            Step::Release(n) => {
                let i = stack
                    .iter()
                    .rposition(|(x, _)| x == n)
                    .expect("workload: no such savepoint");
                stack.truncate(i);
            }
            _ => apply_step(&mut cur, s),
        }
    }
    cur
}

// ---------------------------------------------------------------------------
// Running the workload
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Committed,
    NotCommitted,
    /// COMMIT (or the RELEASE or autocommit statement that commits) failed: either
    /// state is allowed.
    Unknown,
}

#[derive(Default)]
struct RunLog {
    outcomes: Vec<Outcome>,
    /// Every error the workload saw, as "txn i step: code: message".
    errors: Vec<String>,
    /// What went wrong (a divergence when not empty).
    problems: Vec<String>,
    /// Extended result codes of the workload's errors, counted.
    codes: BTreeMap<i32, u64>,
    /// The faulty connection was still inside a transaction after its ROLLBACK.
    stuck: u64,
}

impl RunLog {
    /// Records an error; flags the kinds no I/O fault may cause.
    fn error(&mut self, at: &str, e: &rusqlite::Error) {
        let code = e.sqlite_error().map(|x| x.extended_code).unwrap_or(-1);
        let msg = e.to_string();
        *self.codes.entry(code).or_default() += 1;
        let primary = code & 0xff;
        if msg.contains("panic")
            || msg.contains("internal error")
            || primary == ffi::SQLITE_CORRUPT
            || primary == ffi::SQLITE_MISUSE
            || primary == ffi::SQLITE_INTERNAL
            || code == -1
        {
            self.problems
                .push(format!("{at}: unexpected error {code}: {msg}"));
        }
        self.errors.push(format!("{at}: {code}: {msg}"));
    }
}

fn exec(c: &Connection, sql: &str, params: Vec<Value>) -> rusqlite::Result<()> {
    let mut st = c.prepare(sql)?;
    let mut q = st.query(rusqlite::params_from_iter(params))?;
    while q.next()?.is_some() {}
    Ok(())
}

fn placeholders(n: usize, each: &str) -> String {
    vec![each; n].join(", ")
}

/// Runs one step. `Ok(Some(problem))` when the step ran but its answer is wrong.
fn run_step(c: &Connection, s: &Step) -> rusqlite::Result<Option<String>> {
    match s {
        Step::Insert { replace, rows } => {
            let sql = format!(
                "INSERT {}INTO t(rowid, v, tag) VALUES {}",
                if *replace { "OR REPLACE " } else { "" },
                placeholders(rows.len(), "(?, ?, ?)")
            );
            let p = rows
                .iter()
                .flat_map(|(id, v, tag)| {
                    [
                        Value::Integer(*id),
                        Value::Blob(blob(v)),
                        Value::Integer(*tag),
                    ]
                })
                .collect();
            exec(c, &sql, p)?;
        }
        Step::Delete(ids) => {
            let sql = format!(
                "DELETE FROM t WHERE rowid IN ({})",
                placeholders(ids.len(), "?")
            );
            exec(c, &sql, ids.iter().map(|&i| Value::Integer(i)).collect())?;
        }
        Step::DeleteRange(a, b) => exec(
            c,
            "DELETE FROM t WHERE rowid BETWEEN ? AND ?",
            vec![Value::Integer(*a), Value::Integer(*b)],
        )?,
        Step::DeleteTag(t) => exec(c, "DELETE FROM t WHERE tag = ?", vec![Value::Integer(*t)])?,
        Step::SetVector(id, v) => exec(
            c,
            "UPDATE t SET v = ? WHERE rowid = ?",
            vec![Value::Blob(blob(v)), Value::Integer(*id)],
        )?,
        Step::Retag(old, new) => exec(
            c,
            "UPDATE t SET tag = ? WHERE tag = ?",
            vec![Value::Integer(*new), Value::Integer(*old)],
        )?,
        Step::Savepoint(n) => c.execute_batch(&format!("SAVEPOINT {n}"))?,
        Step::RollbackTo(n) => c.execute_batch(&format!("ROLLBACK TO {n}"))?,
        Step::Release(n) => c.execute_batch(&format!("RELEASE {n}"))?,
        Step::Rebuild => {
            c.query_row("SELECT veclite_rebuild('t')", [], |r| r.get::<_, i64>(0))?;
        }
        Step::Check => {
            let s: String = c.query_row("SELECT veclite_check('t')", [], |r| r.get(0))?;
            if s != "ok" {
                return Ok(Some(format!("veclite_check inside the transaction: {s}")));
            }
        }
        Step::SelfCheck => {
            let own = read_rows(c)?;
            if let Err(p) = knn_check(c, &own)? {
                return Ok(Some(format!(
                    "KNN inside the transaction, against the connection's own rows: {p}"
                )));
            }
        }
    }
    Ok(None)
}

fn step_name(s: &Step) -> String {
    match s {
        Step::Insert { replace, rows } => format!(
            "INSERT{} {} rows ({}..{})",
            if *replace { " OR REPLACE" } else { "" },
            rows.len(),
            rows[0].0,
            rows[rows.len() - 1].0
        ),
        Step::Delete(ids) => format!("DELETE rowid IN {ids:?}"),
        Step::DeleteRange(a, b) => format!("DELETE rowid BETWEEN {a} AND {b}"),
        Step::DeleteTag(t) => format!("DELETE tag = {t}"),
        Step::SetVector(id, _) => format!("UPDATE v WHERE rowid = {id}"),
        Step::Retag(a, b) => format!("UPDATE tag = {b} WHERE tag = {a}"),
        Step::Savepoint(n) => format!("SAVEPOINT {n}"),
        Step::RollbackTo(n) => format!("ROLLBACK TO {n}"),
        Step::Release(n) => format!("RELEASE {n}"),
        Step::Rebuild => "veclite_rebuild".into(),
        Step::Check => "veclite_check".into(),
        Step::SelfCheck => "KNN self-check".into(),
    }
}

/// ROLLBACK after a failed statement; SQLite may have rolled back already (its
/// error then is ignored, as the documentation says).
fn rollback(c: &Connection, at: &str, log: &mut RunLog) {
    if let Err(e) = c.execute_batch("ROLLBACK") {
        if !c.is_autocommit() {
            log.error(&format!("{at}: ROLLBACK"), &e);
        }
    }
    if !c.is_autocommit() {
        log.stuck += 1;
    }
}

/// Runs the workload on `c`, recording each transaction's outcome.
fn run_workload(c: &Connection, wl: &[Txn], log: &mut RunLog) {
    for (i, t) in wl.iter().enumerate() {
        let at = format!("txn {i}");
        let outcome = match t.kind {
            TxnKind::Checkpoint => {
                if let Err(e) = exec(c, "PRAGMA wal_checkpoint(TRUNCATE)", vec![]) {
                    log.error(&format!("{at}: checkpoint"), &e);
                }
                Outcome::NotCommitted
            }
            TxnKind::Auto => {
                assert_eq!(t.steps.len(), 1);
                match run_step(c, &t.steps[0]) {
                    Ok(p) => {
                        log.problems.extend(p.map(|p| format!("{at}: {p}")));
                        Outcome::Committed
                    }
                    Err(e) => {
                        log.error(
                            &format!("{at}: {} (autocommit)", step_name(&t.steps[0])),
                            &e,
                        );
                        if c.is_autocommit() {
                            Outcome::Unknown
                        } else {
                            rollback(c, &at, log);
                            Outcome::NotCommitted
                        }
                    }
                }
            }
            TxnKind::Begin | TxnKind::Savepoint(_) | TxnKind::RolledBack => {
                let (open, close) = match t.kind {
                    TxnKind::Savepoint(n) => (format!("SAVEPOINT {n}"), format!("RELEASE {n}")),
                    TxnKind::RolledBack => ("BEGIN".into(), "ROLLBACK".into()),
                    _ => ("BEGIN".into(), "COMMIT".into()),
                };
                run_txn(c, t, &at, &open, &close, log)
            }
        };
        log.outcomes.push(outcome);
    }
}

fn run_txn(
    c: &Connection,
    t: &Txn,
    at: &str,
    open: &str,
    close: &str,
    log: &mut RunLog,
) -> Outcome {
    if let Err(e) = c.execute_batch(open) {
        log.error(&format!("{at}: {open}"), &e);
        rollback(c, at, log);
        return Outcome::NotCommitted;
    }
    for s in &t.steps {
        match run_step(c, s) {
            Ok(p) => {
                log.problems.extend(p.map(|p| format!("{at}: {p}")));
                if c.is_autocommit() {
                    // SQLite rolled the transaction back under a statement that
                    // reported success: the application cannot know, and what it
                    // runs next would run in autocommit mode.
                    log.problems.push(format!(
                        "{at}: {} returned no error, but the transaction is gone (SQLite rolled it back)",
                        step_name(s)
                    ));
                    return Outcome::NotCommitted;
                }
            }
            Err(e) => {
                log.error(&format!("{at}: {}", step_name(s)), &e);
                rollback(c, at, log);
                return Outcome::NotCommitted;
            }
        }
    }
    match c.execute_batch(close) {
        Ok(()) if t.kind == TxnKind::RolledBack => Outcome::NotCommitted,
        Ok(()) => Outcome::Committed,
        Err(e) => {
            log.error(&format!("{at}: {close}"), &e);
            if t.kind == TxnKind::RolledBack {
                rollback(c, at, log);
                Outcome::NotCommitted
            } else if c.is_autocommit() {
                Outcome::Unknown
            } else {
                // SQLite kept the transaction open (it does for SQLITE_BUSY): it is
                // rolled back here, so it did not commit.
                rollback(c, at, log);
                Outcome::NotCommitted
            }
        }
    }
}

/// The states the outcomes allow: one per choice for each Unknown transaction.
fn allowed_states(base: &Rows, wl: &[Txn], outcomes: &[Outcome]) -> Vec<Rows> {
    let mut states = vec![base.clone()];
    for (t, o) in wl.iter().zip(outcomes) {
        states = match o {
            Outcome::NotCommitted => states,
            Outcome::Committed => states.iter().map(|s| apply(s, t)).collect(),
            Outcome::Unknown => {
                let mut v = states.clone();
                v.extend(states.iter().map(|s| apply(s, t)));
                v
            }
        };
        states.dedup();
    }
    states
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

fn read_rows(c: &Connection) -> rusqlite::Result<Rows> {
    let mut st = c.prepare("SELECT rowid, v, tag FROM t")?;
    let r = st
        .query_map([], |r| {
            let b: Vec<u8> = r.get(1)?;
            let v = b
                .chunks_exact(4)
                .map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]]))
                .collect();
            Ok((r.get(0)?, (v, r.get(2)?)))
        })?
        .collect();
    r
}

fn queries() -> Vec<Vec<f32>> {
    (0..8).map(|i| vector(1_000_000 + i, 0)).collect()
}

/// The graph walk's answers to `queries()`: rowids in order.
type Answers = Vec<Vec<i64>>;

/// KNN against brute force over `rows`; `Ok(Err(what))` on a wrong answer.
/// * Filtered on `tag = 2` the matching rows are few, so veclite computes their
///   distances exactly (from its in-memory vectors): the answer must equal brute
///   force (order may differ only among equal distances).
/// * Unfiltered, the graph is walked (`exact_threshold = 0`). HNSW is approximate
///   even with `ef` above the row count: after deletes a node can be out of reach
///   of the entry point (the fault-free workload leaves such a node in some
///   states). So every answer must be a real row at its true distance, in order,
///   with at least 4 of the 5 true nearest; and the answers are returned, so that
///   two connections over the same stored graph can be compared (they must agree
///   exactly: the in-memory graph must be the stored one).
fn knn_check(c: &Connection, rows: &Rows) -> rusqlite::Result<Result<Answers, String>> {
    let dist = |v: &[f32], q: &[f32]| -> f64 {
        v.iter()
            .zip(q)
            .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let mut answers = Vec::new();
    for (qi, q) in queries().iter().enumerate() {
        for tag in [None, Some(2i64)] {
            let mut p = vec![Value::Blob(blob(q))];
            let mut sql = format!(
                "SELECT rowid, distance FROM t WHERE knn_match(v, ?) AND k = {K} AND ef = {EF}"
            );
            if let Some(t) = tag {
                p.push(Value::Integer(t));
                sql += " AND tag = ?";
            }
            let got: Vec<(i64, f64)> = c
                .prepare(&sql)?
                .query_map(rusqlite::params_from_iter(p), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut all: Vec<(f64, i64)> = rows
                .iter()
                .filter(|(_, r)| tag.is_none_or(|t| r.1 == t))
                .map(|(id, r)| (dist(&r.0, q), *id))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let want: Vec<(f64, i64)> = all.into_iter().take(K).collect();
            let what = || {
                format!(
                    "query {qi}{}: KNN {:?}, brute force {:?} over {} rows",
                    tag.map(|t| format!(" with tag = {t}")).unwrap_or_default(),
                    got.iter().map(|x| x.0).collect::<Vec<_>>(),
                    want.iter().map(|x| x.1).collect::<Vec<_>>(),
                    rows.len()
                )
            };
            if got.len() != want.len() {
                return Ok(Err(what()));
            }
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * (1.0 + b);
            // every answer a real (matching) row, at its distance, in order
            for (i, (id, d)) in got.iter().enumerate() {
                let real = rows
                    .get(id)
                    .filter(|r| tag.is_none_or(|t| r.1 == t))
                    .map(|r| dist(&r.0, q));
                if !real.is_some_and(|x| close(*d, x)) || (i > 0 && got[i - 1].1 > *d) {
                    return Ok(Err(format!(
                        "{}: row {id} at distance {d}, true distance {real:?}",
                        what()
                    )));
                }
            }
            match tag {
                // exact: the same distances as brute force, position by position
                // (an int8 index ranks the rows it re-ranks by their codes, which at
                // 8 dimensions are coarse: held to the walk's rule)
                Some(_) if !INT8.load(SeqCst) => {
                    if !got.iter().zip(&want).all(|(g, w)| close(g.1, w.0)) {
                        return Ok(Err(what()));
                    }
                }
                _ => {
                    let hit = got
                        .iter()
                        .filter(|g| want.iter().any(|w| w.1 == g.0))
                        .count();
                    if hit * 5 < want.len() * 4 {
                        return Ok(Err(format!("{} (recall {hit}/{})", what(), want.len())));
                    }
                    answers.push(got.iter().map(|g| g.0).collect());
                }
            }
        }
    }
    Ok(Ok(answers))
}

/// What differs between `got` and `want`, briefly.
fn diff(got: &Rows, want: &Rows) -> String {
    let missing: Vec<i64> = want
        .keys()
        .filter(|k| !got.contains_key(k))
        .copied()
        .collect();
    let extra: Vec<i64> = got
        .keys()
        .filter(|k| !want.contains_key(k))
        .copied()
        .collect();
    let changed: Vec<i64> = got
        .iter()
        .filter(|(k, v)| want.get(k).is_some_and(|w| w != *v))
        .map(|(k, _)| *k)
        .collect();
    format!("missing {missing:?}, extra {extra:?}, changed {changed:?}")
}

/// integrity_check, veclite_check, rows among `allowed`, KNN: the rows seen and
/// the graph walk's answers, or what failed.
fn verify(c: &Connection, allowed: &[Rows]) -> Result<(Rows, Answers), String> {
    let ic: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| format!("integrity_check failed: {e}"))?;
    if ic != ["ok"] {
        return Err(format!("integrity_check: {ic:?}"));
    }
    let chk: String = c
        .query_row("SELECT veclite_check('t')", [], |r| r.get(0))
        .map_err(|e| format!("veclite_check failed: {e}"))?;
    if chk != "ok" {
        return Err(format!("veclite_check: {chk}"));
    }
    let got = read_rows(c).map_err(|e| format!("reading the rows failed: {e}"))?;
    if !allowed.contains(&got) {
        let near = allowed
            .iter()
            .map(|a| diff(&got, a))
            .min_by_key(|s| s.len())
            .unwrap_or_default();
        return Err(format!(
            "the rows are none of the {} allowed states ({} rows; against the nearest: {near})",
            allowed.len(),
            got.len()
        ));
    }
    let answers = knn_check(c, &got)
        .map_err(|e| format!("KNN failed: {e}"))?
        .map_err(|e| format!("KNN: {e}"))?;
    Ok((got, answers))
}

/// Two connections over the same stored state must walk the same graph.
fn same_answers(a: &Answers, b: &Answers) -> Result<(), String> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        None => Ok(()),
        Some(i) => Err(format!(
            "query {i}: the graph walk answers {:?} on the connection that wrote the graph, {:?} on a fresh one: the in-memory graph is not the stored one",
            a[i], b[i]
        )),
    }
}

/// A write transaction after the fault is disarmed: the connection must be usable.
fn probe(c: &Connection, seen: &Rows) -> rusqlite::Result<Rows> {
    let mut want = seen.clone();
    let mut steps = vec![Step::Insert {
        replace: false,
        rows: vec![row(1001, 0), row(1002, 0), row(1003, 0)],
    }];
    if let Some(&first) = seen.keys().next() {
        steps.push(Step::Delete(vec![first]));
    }
    if let Some(&last) = seen.keys().next_back() {
        steps.push(Step::SetVector(last, vector(last, 7)));
    }
    c.execute_batch("BEGIN")?;
    for s in &steps {
        if let Err(e) = run_step(c, s) {
            let _ = c.execute_batch("ROLLBACK");
            return Err(e);
        }
        apply_step(&mut want, s);
    }
    c.execute_batch("COMMIT")?;
    Ok(want)
}

// ---------------------------------------------------------------------------
// The sweep
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct FaultKind {
    name: &'static str,
    op: FileOp,
    rc: c_int,
    persistent: bool,
}

const KINDS: &[FaultKind] = &[
    FaultKind {
        name: "write-ioerr",
        op: FileOp::Write,
        rc: ffi::SQLITE_IOERR_WRITE,
        persistent: false,
    },
    FaultKind {
        name: "write-ioerr-persistent",
        op: FileOp::Write,
        rc: ffi::SQLITE_IOERR_WRITE,
        persistent: true,
    },
    FaultKind {
        name: "write-full",
        op: FileOp::Write,
        rc: ffi::SQLITE_FULL,
        persistent: false,
    },
    FaultKind {
        name: "write-full-persistent",
        op: FileOp::Write,
        rc: ffi::SQLITE_FULL,
        persistent: true,
    },
    FaultKind {
        name: "sync-ioerr",
        op: FileOp::Sync,
        rc: ffi::SQLITE_IOERR_FSYNC,
        persistent: false,
    },
    FaultKind {
        name: "sync-ioerr-persistent",
        op: FileOp::Sync,
        rc: ffi::SQLITE_IOERR_FSYNC,
        persistent: true,
    },
    FaultKind {
        name: "truncate-ioerr",
        op: FileOp::Truncate,
        rc: ffi::SQLITE_IOERR_TRUNCATE,
        persistent: false,
    },
];

/// Values of N tried per fault kind and journal mode in the short form (the int8
/// sweep, which repeats the f32 one's workload with codes, a third of them).
const RUNS_PER_KIND: u64 = 150;

fn runs_per_kind() -> u64 {
    if INT8.load(SeqCst) {
        RUNS_PER_KIND / 3
    } else {
        RUNS_PER_KIND
    }
}

#[derive(Clone, Copy)]
struct Mode {
    name: &'static str,
    wal: bool,
    vfs: &'static str,
}

struct Sweep {
    mode: Mode,
    fault: &'static Fault,
    dir: tempfile::TempDir,
    wl: Vec<Txn>,
    base_rows: Rows,
}

/// A temporary directory, on tmpfs when there is one: the workload makes dozens of
/// fsyncs per run.
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("veclite-io-faults")
            .tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap()
}

/// The prepared database: 1024-byte pages, the journal mode, table `t` with rows
/// 1..=BASE_ROWS. Returns those rows.
fn make_base(path: &Path, wal: bool) -> Rows {
    let c = open_plain(path);
    c.execute_batch("PRAGMA page_size = 1024").unwrap();
    if wal {
        let m: String = c
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(m, "wal");
    }
    c.execute_batch(&create_sql()).unwrap();
    let base: Vec<_> = rows(1..=BASE_ROWS);
    run_step(
        &c,
        &Step::Insert {
            replace: false,
            rows: base.clone(),
        },
    )
    .unwrap();
    c.close().map_err(|(_, e)| e).unwrap();
    base.into_iter()
        .map(|(id, v, tag)| (id, (v, tag)))
        .collect()
}

/// The result of one run.
struct Run {
    hit: bool,
    log: RunLog,
}

fn open_plain(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    common::register(&c);
    c
}

impl Sweep {
    fn new(mode: Mode) -> Sweep {
        let dir = scratch_dir();
        let base_rows = make_base(&dir.path().join("base.db"), mode.wal);
        Sweep {
            mode,
            fault: shim_vfs(mode.vfs),
            dir,
            wl: workload(),
            base_rows,
        }
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("run.db")
    }

    /// A fresh copy of the prepared database.
    fn fresh(&self) {
        let db = self.db();
        for ext in ["", "-journal", "-wal", "-shm"] {
            let p = format!("{}{ext}", db.display());
            let _ = std::fs::remove_file(p);
        }
        std::fs::copy(self.dir.path().join("base.db"), &db).unwrap();
    }

    fn open_faulty(&self) -> Connection {
        let c = Connection::open_with_flags_and_vfs(self.db(), OpenFlags::default(), self.mode.vfs)
            .unwrap();
        common::register(&c);
        c.execute_batch(&format!("PRAGMA cache_size = {CACHE_PAGES}"))
            .unwrap();
        c
    }

    /// Runs the workload with no fault: the calls it makes of each kind.
    fn dry_run(&self) -> [u64; 3] {
        self.fresh();
        let c = self.open_faulty();
        self.fault.count_only();
        let mut log = RunLog::default();
        run_workload(&c, &self.wl, &mut log);
        let counts = [FileOp::Write, FileOp::Sync, FileOp::Truncate].map(|op| self.fault.count(op));
        assert!(
            log.errors.is_empty(),
            "{}: the workload fails without faults: {:?}",
            self.mode.name,
            log.errors
        );
        assert!(
            log.problems.is_empty(),
            "{}: {:?}",
            self.mode.name,
            log.problems
        );
        assert!(log.outcomes.iter().all(|o| *o != Outcome::Unknown));
        // the fault-free run must reach the model's final state
        let want = allowed_states(&self.base_rows, &self.wl, &log.outcomes);
        assert_eq!(want.len(), 1);
        let name = self.mode.name;
        let (_, a) =
            verify(&c, &want).unwrap_or_else(|e| panic!("{name}: the fault-free run: {e}"));
        drop(c);
        let c = open_plain(&self.db());
        let (_, b) = verify(&c, &want)
            .unwrap_or_else(|e| panic!("{name}: the fault-free run, reopened: {e}"));
        same_answers(&a, &b).unwrap_or_else(|e| panic!("{name}: the fault-free run: {e}"));
        counts
    }

    /// One run: the workload with `kind` armed at call `n`, then the checks.
    fn run(&self, kind: FaultKind, n: u64) -> Run {
        self.fresh();
        let mut log = RunLog::default();
        let c = self.open_faulty();
        self.fault.arm(kind.op, n, kind.persistent, kind.rc);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_workload(&c, &self.wl, &mut log)
        }));
        let hit = self.fault.hits() > 0;
        self.fault.disarm();
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
        let allowed = allowed_states(&self.base_rows, &self.wl, &log.outcomes);

        // the connection that saw the errors, with the disk healthy again
        if !c.is_autocommit() {
            log.problems
                .push("the faulty connection is still in a transaction after the workload".into());
            let _ = c.execute_batch("ROLLBACK");
        }
        let mut expect_after = allowed.clone();
        let mut answers = None;
        match verify(&c, &allowed) {
            Ok((seen, _)) => match probe(&c, &seen) {
                Ok(after) => {
                    match verify(&c, std::slice::from_ref(&after)) {
                        Ok((_, a)) => answers = Some(a),
                        Err(p) => log.problems.push(format!(
                            "faulty connection, after a write once the fault was gone: {p}"
                        )),
                    }
                    expect_after = vec![after];
                }
                Err(e) => log.problems.push(format!(
                    "faulty connection: a write transaction once the fault was gone failed: {e}"
                )),
            },
            Err(p) => log
                .problems
                .push(format!("faulty connection, once the fault was gone: {p}")),
        }
        if let Err((c, e)) = c.close() {
            log.problems
                .push(format!("closing the faulty connection: {e}"));
            drop(c);
        }

        // a fresh connection through the default VFS
        let c = open_plain(&self.db());
        match verify(&c, &expect_after) {
            Ok((_, b)) => {
                if let Some(a) = &answers {
                    if let Err(p) = same_answers(a, &b) {
                        log.problems
                            .push(format!("after a write once the fault was gone: {p}"));
                    }
                }
            }
            Err(p) => log.problems.push(format!("reopened: {p}")),
        }
        drop(c);
        Run { hit, log }
    }
}

/// The Ns to try for a workload making `total` calls: every N up to total + 1 (the
/// first that the workload does not reach), or in the short form at most
/// RUNS_PER_KIND of them, evenly spaced, starting at an offset that differs per
/// kind; always ending with total + 1.
fn schedule(total: u64, full: bool, offset: u64) -> Vec<u64> {
    let step = if full {
        1
    } else {
        total.div_ceil(runs_per_kind()).max(1)
    };
    let mut v: Vec<u64> = (1 + offset % step..=total).step_by(step as usize).collect();
    v.push(total + 1);
    v
}

struct Summary {
    runs: u64,
    divergences: Vec<String>,
    lines: Vec<String>,
}

fn describe(mode: &str, kind: &FaultKind, n: u64, run: &Run) -> String {
    let mut s = format!("{mode}:{}:{n}: ", kind.name);
    s += &run.log.problems.join("\n    ");
    s += &format!("\n  outcomes: {:?}", run.log.outcomes);
    for e in run.log.errors.iter().take(12) {
        s += &format!("\n  error: {e}");
    }
    if run.log.errors.len() > 12 {
        s += &format!("\n  ... {} more errors", run.log.errors.len() - 12);
    }
    s
}

fn sweep(mode: Mode, only: Option<(String, u64)>) -> Summary {
    let full = std::env::var("VECLITE_IOFAULT_FULL").is_ok_and(|v| v == "1");
    let sw = Sweep::new(mode);
    let counts = sw.dry_run();
    let again = sw.dry_run();
    if counts != again {
        eprintln!(
            "io_faults {}: the workload's call counts vary between runs ({counts:?}, {again:?}); sweeping up to the larger",
            mode.name
        );
    }
    let mut sum = Summary {
        runs: 0,
        divergences: Vec::new(),
        lines: Vec::new(),
    };
    for (ki, kind) in KINDS.iter().enumerate() {
        let total = counts[kind.op as usize].max(again[kind.op as usize]);
        let ns = match &only {
            Some((k, n)) if k == kind.name => vec![*n],
            Some(_) => continue,
            None => schedule(total, full, ki as u64),
        };
        let t0 = Instant::now();
        let (mut hits, mut unknown, mut stuck) = (0, 0, 0);
        let mut codes: BTreeMap<i32, u64> = BTreeMap::new();
        for &n in &ns {
            let run = sw.run(*kind, n);
            sum.runs += 1;
            hits += run.hit as u64;
            unknown += run.log.outcomes.contains(&Outcome::Unknown) as u64;
            stuck += run.log.stuck;
            for (c, k) in &run.log.codes {
                *codes.entry(*c).or_default() += k;
            }
            if only.is_some() {
                eprintln!("{}", describe(mode.name, kind, n, &run));
            }
            if n == total + 1 && run.hit {
                sum.divergences.push(format!(
                    "{}:{}:{n}: the fault was hit past the dry run's count {total} (the workload is not deterministic)",
                    mode.name, kind.name
                ));
            }
            if n <= total && !run.hit {
                sum.divergences.push(format!(
                    "{}:{}:{n}: the fault was never hit, though the dry run made {total} calls",
                    mode.name, kind.name
                ));
            }
            if !run.log.problems.is_empty() {
                sum.divergences.push(describe(mode.name, kind, n, &run));
            }
        }
        let line = format!(
            "io_faults {:<8} {:<23} calls {total:>5}, N tried {:>4} ({}..={}, step {}), faults hit {hits:>4}, COMMIT errors {unknown:>3}, ROLLBACK left a transaction open {stuck}, error codes {codes:?}, {:.1} s",
            mode.name,
            kind.name,
            ns.len(),
            ns.first().unwrap(),
            ns.last().unwrap(),
            if ns.len() > 1 { ns[1] - ns[0] } else { 1 },
            t0.elapsed().as_secs_f64()
        );
        eprintln!("{line}");
        sum.lines.push(line);
    }
    sum
}

#[test]
fn io_fault_sweep() {
    let _g = serial();
    INT8.store(false, SeqCst);
    sweep_all();
}

#[test]
fn io_fault_sweep_int8() {
    let _g = serial();
    INT8.store(true, SeqCst);
    sweep_all();
    INT8.store(false, SeqCst);
}

fn sweep_all() {
    let t0 = Instant::now();
    // VECLITE_IOFAULT_ONLY=<mode>:<kind>:<N> runs one case
    let only: Option<(String, String, u64)> = std::env::var("VECLITE_IOFAULT_ONLY").ok().map(|s| {
        let p: Vec<&str> = s.split(':').collect();
        assert!(p.len() == 3, "VECLITE_IOFAULT_ONLY=<mode>:<kind>:<N>");
        (p[0].to_string(), p[1].to_string(), p[2].parse().unwrap())
    });
    let modes = [
        Mode {
            name: "rollback",
            wal: false,
            vfs: "veclite-faulty-rollback",
        },
        Mode {
            name: "wal",
            wal: true,
            vfs: "veclite-faulty-wal",
        },
    ];
    // One mode after the other, never side by side: this SQLite is built with
    // SQLITE_ENABLE_MEMORY_MANAGEMENT, so all connections of the process share one
    // page-cache pool, and another connection's pages would change when ours spill
    // (and so the number of writes the workload makes).
    let results: Vec<Summary> = modes
        .iter()
        .filter(|m| only.as_ref().is_none_or(|o| o.0 == m.name))
        .map(|m| sweep(*m, only.as_ref().map(|o| (o.1.clone(), o.2))))
        .collect();
    let runs: u64 = results.iter().map(|r| r.runs).sum();
    let divs: Vec<&String> = results.iter().flat_map(|r| &r.divergences).collect();
    for d in divs.iter().take(6) {
        eprintln!("DIVERGENCE {d}");
    }
    for d in divs.iter().skip(6) {
        eprintln!("DIVERGENCE {}", d.lines().next().unwrap_or(""));
    }
    eprintln!(
        "io_faults{}: {runs} runs, {} divergences ({:.1} s)",
        if INT8.load(SeqCst) { " (int8)" } else { "" },
        divs.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(
        divs.is_empty(),
        "{} divergences; the first: {}",
        divs.len(),
        divs[0]
    );
}

/// The tests of this file one at a time: the shared page-cache pool would let one
/// test's connections change how often the other's pages spill (its write counts).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A prepared rollback-journal database and a connection to it through the shim.
fn repro_setup(dir: &tempfile::TempDir) -> (Connection, &'static Fault, Rows) {
    let path = dir.path().join("repro.db");
    let base = make_base(&path, false);
    let fault = shim_vfs("veclite-faulty-repro");
    let c =
        Connection::open_with_flags_and_vfs(&path, OpenFlags::default(), "veclite-faulty-repro")
            .unwrap();
    common::register(&c);
    (c, fault, base)
}

/// `committed` (autocommit), then `BEGIN`, `pre`, a `veclite_rebuild` whose first
/// write fails, ROLLBACK, and a committed write (`probe`), each state checked on the
/// same connection and the last also on a fresh one: what went wrong, if anything.
fn failed_rebuild_case(committed: &[Step], pre: &[Step], persistent: bool) -> Result<(), String> {
    let dir = scratch_dir();
    let (c, fault, mut base) = repro_setup(&dir);
    for s in committed {
        run_step(&c, s).unwrap();
        apply_step(&mut base, s);
    }
    c.execute_batch("BEGIN").unwrap();
    for s in pre {
        run_step(&c, s).unwrap();
    }
    fault.arm(FileOp::Write, 1, persistent, ffi::SQLITE_IOERR_WRITE);
    let r = c.query_row("SELECT veclite_rebuild('t')", [], |r| r.get::<_, i64>(0));
    let hit = fault.hits();
    fault.disarm();
    if hit == 0 || r.is_ok() {
        return Err(format!("the rebuild's first write did not fail: {r:?}"));
    }
    let _ = c.execute_batch("ROLLBACK");
    let mut problems = Vec::new();
    if let Err(p) = verify(&c, std::slice::from_ref(&base)) {
        problems.push(format!("after the ROLLBACK: {p}"));
    }
    match probe(&c, &base) {
        Ok(want) => {
            let a = verify(&c, std::slice::from_ref(&want));
            drop(c);
            let b = verify(
                &open_plain(&dir.path().join("repro.db")),
                std::slice::from_ref(&want),
            );
            match (a, b) {
                (Ok((_, a)), Ok((_, b))) => problems.extend(same_answers(&a, &b).err()),
                (a, b) => {
                    problems.extend(a.err().map(|p| format!("after a committed write: {p}")));
                    problems.extend(
                        b.err()
                            .map(|p| format!("after a committed write, reopened: {p}")),
                    );
                }
            }
        }
        Err(e) => problems.push(format!("a write after the ROLLBACK failed: {e}")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

/// Reduced from the sweep (rollback:write-ioerr:136..=156 and
/// rollback:write-ioerr-persistent:47..=344, and the same with SQLITE_FULL): a
/// `veclite_rebuild` inside a transaction whose first write fails, then ROLLBACK.
/// The connection keeps the graph the failed rebuild built in memory, tagged with
/// the generation the ROLLBACK restores, so it is taken as current:
///
/// ```sql
/// -- t: rows 1..=40
/// DELETE FROM t WHERE rowid = 3;           -- committed: slots no longer follow rowid order
/// BEGIN;
/// SELECT veclite_rebuild('t');             -- its first xWrite fails: SQLITE_IOERR_WRITE
/// ROLLBACK;
/// BEGIN; INSERT INTO t(rowid, v, tag) VALUES (1001, ...), (1002, ...), (1003, ...);
///        DELETE FROM t WHERE rowid = 1; UPDATE t SET v = ... WHERE rowid = 40; COMMIT;
/// PRAGMA integrity_check;  -- "veclite: t: rowid 4 has two nodes; rowid 7 has two nodes; ..."
///                          -- (stored: a fresh connection reports it too)
/// ```
/// and, with the rebuild's transaction writing first:
/// ```sql
/// BEGIN;
/// INSERT INTO t(rowid, v, tag) VALUES (65, ...), ..., (70, ...);
/// SELECT veclite_rebuild('t');             -- fails as above
/// ROLLBACK;
/// SELECT rowid FROM t WHERE knn_match(v, ?) AND k = 5;  -- returns 70 and 69, rolled back
/// -- and after the next committed write: "42 rows but 43 graph nodes", stored
/// ```
#[test]
fn failed_rebuild_then_rollback() {
    let _g = serial();
    INT8.store(false, SeqCst);
    let ins = Step::Insert {
        replace: false,
        rows: rows(65..=70),
    };
    let a = failed_rebuild_case(&[Step::Delete(vec![3])], &[], false);
    let b = failed_rebuild_case(&[], &[ins], false);
    assert!(
        a.is_ok() && b.is_ok(),
        "a rebuild that failed on its first write, then ROLLBACK:\n  after a committed DELETE:\n    {}\n  after an INSERT in its transaction:\n    {}",
        a.err().unwrap_or("ok".into()),
        b.err().unwrap_or("ok".into())
    );
}

/// Reduced from the sweep (rollback:write-ioerr:281, wal:write-ioerr:157,
/// wal:write-ioerr-persistent:26): `veclite_check` inside a transaction flushes
/// the pending graph changes; when that write fails, SQLite rolls the transaction
/// back, but `veclite_check` returns a result ('ok', or the error's text under a
/// persistent fault), not the error. The application goes on as if its
/// transaction were open: its next statements autocommit.
///
/// ```sql
/// BEGIN;
/// DELETE FROM t WHERE rowid = 5;
/// SELECT veclite_check('t');      -- its flush's first xWrite fails; returns 'ok'
/// -- the transaction is gone: sqlite3_get_autocommit() = 1
/// ```
#[test]
fn check_in_transaction_hides_a_write_error() {
    let _g = serial();
    INT8.store(false, SeqCst);
    let dir = scratch_dir();
    let (c, fault, _) = repro_setup(&dir);
    c.execute_batch("BEGIN; DELETE FROM t WHERE rowid = 5;")
        .unwrap();
    fault.arm(FileOp::Write, 1, false, ffi::SQLITE_IOERR_WRITE);
    let r = c.query_row("SELECT veclite_check('t')", [], |r| r.get::<_, String>(0));
    let hit = fault.hits();
    fault.disarm();
    assert_eq!(hit, 1, "veclite_check's flush made no write");
    assert!(
        r.is_err() || !c.is_autocommit(),
        "veclite_check returned {r:?} (no error) while SQLite rolled the transaction back"
    );
}
