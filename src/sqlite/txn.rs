//! Where a table stands in SQLite's transaction protocol: one struct for the
//! phase, the savepoints open and the flushing guard, with a debug assertion on
//! every move (as FTS5's fts5CheckTransactionState()). `scripts/test.sh` runs the
//! model fuzzer in a debug build so the assertions are exercised.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No write transaction (or one this table has not written in yet).
    Idle,
    /// Joined a write transaction (xBegin, or a first write: a table created inside
    /// a transaction joins it without xBegin).
    Open,
    /// xSync done: only xCommit or xRollback may follow.
    Synced,
}

#[derive(Debug)]
pub struct Txn {
    phase: Phase,
    /// Savepoint levels open in the current transaction (so an index loaded in the
    /// middle of one gets matching journal frames).
    savepoints: Vec<i32>,
    /// Set while the index is being written out: the statements that write it open
    /// statement savepoints of their own, which SQLite reports to this table too;
    /// they change nothing in memory, so their hooks are ignored.
    flushing: bool,
}

impl Default for Txn {
    fn default() -> Self {
        Txn {
            phase: Phase::Idle,
            savepoints: Vec::new(),
            flushing: false,
        }
    }
}

impl Txn {
    pub fn savepoints(&self) -> &[i32] {
        &self.savepoints
    }
    pub fn flushing(&self) -> bool {
        self.flushing
    }
    pub fn set_flushing(&mut self, on: bool) {
        debug_assert_ne!(self.flushing, on, "nested flush");
        self.flushing = on;
    }

    /// xBegin.
    pub fn begin(&mut self) {
        debug_assert_eq!(self.phase, Phase::Idle, "xBegin inside a transaction");
        self.phase = Phase::Open;
    }
    /// xUpdate: a write joins the transaction.
    pub fn write(&mut self) {
        debug_assert_ne!(self.phase, Phase::Synced, "a write after xSync");
        self.phase = Phase::Open;
    }
    /// xSavepoint(level).
    pub fn savepoint(&mut self, level: i32) {
        debug_assert_ne!(self.phase, Phase::Synced, "xSavepoint after xSync");
        debug_assert!(level >= 0);
        self.savepoints.retain(|&l| l < level);
        self.savepoints.push(level);
    }
    /// xRelease(level).
    pub fn release(&mut self, level: i32) {
        self.savepoints.retain(|&l| l < level);
    }
    /// xRollbackTo(level): the savepoint stays open.
    pub fn rollback_to(&mut self, level: i32) {
        debug_assert_ne!(self.phase, Phase::Synced, "xRollbackTo after xSync");
        self.savepoints.retain(|&l| l <= level);
    }
    /// xSync.
    pub fn sync(&mut self) {
        debug_assert_ne!(self.phase, Phase::Synced, "xSync twice");
        self.phase = Phase::Synced;
    }
    /// xCommit.
    pub fn commit(&mut self) {
        debug_assert_ne!(self.phase, Phase::Open, "xCommit without xSync");
        self.phase = Phase::Idle;
        self.savepoints.clear();
    }
    /// xRollback (may follow a successful xSync when the pager's commit fails).
    pub fn rollback(&mut self) {
        self.phase = Phase::Idle;
        self.savepoints.clear();
    }
}
