//! One error type for the crate. It knows nothing of SQLite result codes: the mapping
//! to codes happens only in `sqlite/`.

use crate::vector::VectorError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed vector value (JSON, BLOB, dimensions, non-finite numbers).
    #[error("{0}")]
    Vector(#[from] VectorError),
    /// A bad CREATE VIRTUAL TABLE argument.
    #[error("{0}")]
    Config(String),
    /// A usage error in a query or write (bad k, missing k, read-only column, ...).
    #[error("{0}")]
    Usage(String),
    /// A rowid conflict under the statement's conflict clause (ABORT/FAIL/ROLLBACK).
    #[error("{0}")]
    Constraint(String),
    /// Stored data that does not have the documented format.
    #[error("{0}")]
    Corrupt(String),
    /// An error reported by SQLite itself while running our own statements.
    #[error("{msg}")]
    Sqlite { code: i32, msg: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
    pub fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }
    pub fn corrupt(msg: impl Into<String>) -> Self {
        Error::Corrupt(msg.into())
    }
}
