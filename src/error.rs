//! The one error type of waldb, and the policy questions callers ask of it.
//!
//! Variants are grouped by what the caller must do:
//!
//! | variant | meaning | what the caller does |
//! |---|---|---|
//! | [`Error::Io`] | an OS call failed (file, operation and OS error kept) | report; the operation did not happen |
//! | [`Error::DiskFull`] | no space to grow a file | free space and retry; the database stays usable |
//! | [`Error::Poisoned`] | an earlier write or fsync failed (`docs/DESIGN.md` invariant 7) | reopen the database; recovery repairs |
//! | [`Error::Corrupt`] | a page failed its checksum or identity check | restore from backup; data is never returned |
//! | [`Error::CorruptFile`] | a header or whole file is damaged or foreign | as above |
//! | [`Error::CorruptLog`] | a durable WAL record or segment header is damaged | as above; nothing after it is dropped silently |
//! | [`Error::Locked`] | another handle or process has the database open | close the other one |
//! | [`Error::BufferPoolFull`] | every frame is pinned or holds uncommitted changes | make the transaction smaller or the pool larger |
//! | [`Error::TooBig`] | a value or record exceeds a hard limit | make it smaller |
//! | [`Error::Parse`], [`Error::NotSupported`], [`Error::Sql`] | the SQL is wrong or unsupported | fix the statement |
//! | [`Error::Constraint`] | a NOT NULL / UNIQUE / PRIMARY KEY violation | the statement did nothing; handle the conflict |
//! | [`Error::TypeMismatch`] | a value of the wrong type | fix the value or the typed read |
//! | [`Error::Closed`] | the handle was closed | open the database again |
//! | [`Error::ReadOnly`] | a write, checkpoint or creation through a read-only open | open read-write to change it |
//! | [`Error::InvalidInput`] | a caller mistake (bad option, bad id) | fix the call |
//!
//! I/O errors keep their `std::io::Error` source, unlike string-flattening
//! designs, so `ErrorKind` and the OS error number survive: `Io` and
//! `DiskFull` hold it, and `Poisoned` holds the failure that poisoned the
//! handle as an `Arc<std::io::Error>` (the latch hands it to every later
//! caller). [`Error::io_error`] reaches it in all three.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::ids::{Lsn, PageId};

/// Result alias used throughout waldb.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error waldb returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed.
    #[error("I/O error during {op} on {}: {source}", path.display())]
    Io {
        /// The operation that failed (`"read"`, `"write"`, `"fsync"`, ...).
        op: &'static str,
        /// The file it was applied to.
        path: PathBuf,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },

    /// A file could not grow because the disk (or quota) is full. Nothing was
    /// acknowledged that depended on the failed allocation; the database stays
    /// usable once space is freed.
    #[error("disk full during {op} on {}", path.display())]
    DiskFull {
        /// The operation that ran out of space.
        op: &'static str,
        /// The file that could not grow.
        path: PathBuf,
        /// The underlying OS error (`ENOSPC`, `EDQUOT`).
        #[source]
        source: io::Error,
    },

    /// An earlier write or fsync failed, so the on-disk state can no longer be
    /// trusted to match what was acknowledged. The handle refuses further
    /// writes until the database is reopened and recovered (`docs/DESIGN.md` invariant 7).
    #[error("database handle is poisoned by an earlier I/O failure ({reason}); reopen it to recover")]
    Poisoned {
        /// What failed first: the operation, the file and the OS error.
        reason: String,
        /// The OS error of that first failure, shared by every error the
        /// poisoned handle returns (`source()` is this `Arc<io::Error>`; see
        /// also [`Error::io_error`]).
        #[source]
        source: Arc<io::Error>,
    },

    /// A page failed its checksum or identity check. Its contents are never
    /// returned.
    #[error("corrupt page {page} in {}: {reason}", file.display())]
    Corrupt {
        /// The file holding the page.
        file: PathBuf,
        /// The page that failed.
        page: PageId,
        /// Which check failed.
        reason: String,
    },

    /// A file header, control file or whole file is damaged, truncated, or is
    /// not a waldb file at all.
    #[error("corrupt or foreign file {}: {reason}", file.display())]
    CorruptFile {
        /// The file.
        file: PathBuf,
        /// Which check failed.
        reason: String,
    },

    /// A write-ahead-log record or segment header that was durable failed its
    /// check. Recovery refuses to open rather than drop acknowledged commits
    /// after it (`docs/DESIGN.md` invariant 8).
    #[error("corrupt write-ahead log {} at offset {offset} (LSN {lsn}): {reason}", segment.display())]
    CorruptLog {
        /// The segment file.
        segment: PathBuf,
        /// Byte offset in the segment file.
        offset: u64,
        /// LSN of the bad spot.
        lsn: Lsn,
        /// Which check failed.
        reason: String,
    },

    /// The database is already open in another handle or process.
    #[error("database {} is locked: another handle or process has it open", path.display())]
    Locked {
        /// The database file.
        path: PathBuf,
    },

    /// No buffer-pool frame can be evicted: all are pinned or hold changes of
    /// a transaction that has not committed (no steal, `docs/DESIGN.md` invariant 3).
    #[error("buffer pool full: all {frames} frames are pinned or hold uncommitted changes")]
    BufferPoolFull {
        /// Number of frames in the pool.
        frames: usize,
    },

    /// A value, record or key is larger than a hard limit.
    #[error("{what} of {size} bytes exceeds the limit of {limit} bytes")]
    TooBig {
        /// What was too big.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// SQL text that does not parse, with where the parser stopped.
    #[error("syntax error at line {line}, column {column}: {message}")]
    Parse {
        /// What the parser expected or found.
        message: String,
        /// 1-based line of the error.
        line: u64,
        /// 1-based column of the error.
        column: u64,
    },

    /// Valid SQL that waldb does not support (yet).
    #[error("not supported: {0}")]
    NotSupported(String),

    /// A statement that parses but cannot run: no such table or column, a
    /// wrong number of arguments or values, and the like.
    #[error("{0}")]
    Sql(String),

    /// A constraint (NOT NULL, UNIQUE, PRIMARY KEY, CHECK) was violated. The
    /// statement left no trace; an enclosing transaction stays usable.
    #[error("{kind} constraint failed: {detail}")]
    Constraint {
        /// Which kind.
        kind: ConstraintKind,
        /// The table and columns involved.
        detail: String,
    },

    /// A value of the wrong type: a typed read of a column, or a value a
    /// column cannot hold.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),

    /// A query expected to return a row returned none.
    #[error("the query returned no rows")]
    NoRows,

    /// The database was closed; open it again to use it.
    #[error("the database is closed")]
    Closed,

    /// The caller passed something invalid (an option out of range, a page id
    /// that does not belong to the operation).
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The database was opened read-only ([`Options::read_only`](crate::Options::read_only)),
    /// and this call would have to change it: a write transaction, a
    /// checkpoint, or creating a database that does not exist.
    #[error("database is open read-only: {0}")]
    ReadOnly(String),
}

impl Error {
    /// Wrap an OS error, turning "no space left" into [`Error::DiskFull`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        let path = path.into();
        if is_disk_full(&source) { Error::DiskFull { op, path, source } } else { Error::Io { op, path, source } }
    }

    /// The OS error behind an [`Error::Io`], [`Error::DiskFull`] or
    /// [`Error::Poisoned`]; `None` for the others.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Io { source, .. } | Error::DiskFull { source, .. } => Some(source),
            Error::Poisoned { source, .. } => Some(source),
            _ => None,
        }
    }

    /// True for errors after which the handle must be reopened.
    pub fn is_poisoned(&self) -> bool {
        matches!(self, Error::Poisoned { .. })
    }

    /// True for damage detected in stored data.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corrupt { .. } | Error::CorruptFile { .. } | Error::CorruptLog { .. })
    }
}

/// Names every variant once: the list drives both [`Error::VARIANTS`] and
/// the exhaustive `match` of [`Error::variant_name`], so a new variant does
/// not compile until it is named here — and `tests/failure_coverage.rs`
/// (`docs/TESTING.md` G12) then fails until some scenario reaches it.
macro_rules! variant_names {
    ($($v:ident),* $(,)?) => {
        impl Error {
            /// The name of every variant, in declaration order.
            #[doc(hidden)]
            pub const VARIANTS: &'static [&'static str] = &[$(stringify!($v)),*];

            /// This error's variant name, e.g. `"CorruptLog"`.
            #[doc(hidden)]
            pub fn variant_name(&self) -> &'static str {
                match self {
                    $(Error::$v { .. } => stringify!($v),)*
                }
            }
        }
    };
}

variant_names!(
    Io,
    DiskFull,
    Poisoned,
    Corrupt,
    CorruptFile,
    CorruptLog,
    Locked,
    BufferPoolFull,
    TooBig,
    Parse,
    NotSupported,
    Sql,
    Constraint,
    TypeMismatch,
    NoRows,
    Closed,
    InvalidInput,
    ReadOnly,
);

/// The first failed write or sync of a file or of the log, latched: every
/// later call gets the [`Error::Poisoned`] of [`Poison::error`], with the
/// same reason and the same OS error (`docs/DESIGN.md` invariant 7). Clones share the OS
/// error.
#[derive(Clone, Debug)]
pub struct Poison {
    reason: String,
    source: Arc<io::Error>,
}

impl Poison {
    /// Latch `e`, which the caller keeps (to return it to the first
    /// caller): the latch's OS error is a copy with the same kind, OS error
    /// number and message.
    pub fn new(reason: String, e: &Error) -> Poison {
        let copy = match e.io_error() {
            Some(io) => match io.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(io.kind(), io.to_string()),
            },
            None => io::Error::other(e.to_string()),
        };
        Poison { reason, source: Arc::new(copy) }
    }

    /// Latch `e` itself: its OS error becomes the latch's, unchanged.
    pub fn from_error(reason: String, e: Error) -> Poison {
        let source = match e {
            Error::Io { source, .. } | Error::DiskFull { source, .. } => Arc::new(source),
            Error::Poisoned { source, .. } => source,
            other => Arc::new(io::Error::other(other.to_string())),
        };
        Poison { reason, source }
    }

    /// What failed.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The error every later call returns.
    pub fn error(&self) -> Error {
        Error::Poisoned { reason: self.reason.clone(), source: Arc::clone(&self.source) }
    }
}

/// Names every constraint kind once, for [`ConstraintKind::ALL`] and its
/// `Display` (an exhaustive match: a new kind does not compile until it is
/// named here).
macro_rules! constraint_kinds {
    ($($v:ident => $name:literal),* $(,)?) => {
        impl ConstraintKind {
            /// Every kind, in declaration order.
            #[doc(hidden)]
            pub const ALL: &'static [ConstraintKind] = &[$(ConstraintKind::$v),*];
        }

        impl std::fmt::Display for ConstraintKind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self {
                    $(ConstraintKind::$v => $name,)*
                })
            }
        }
    };
}

/// The kinds of constraint a statement can violate. More may come (CHECK,
/// FOREIGN KEY): match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// `NOT NULL`.
    NotNull,
    /// `UNIQUE` (a unique index).
    Unique,
    /// `PRIMARY KEY`.
    PrimaryKey,
    /// `CHECK` (the detail is the constraint's name or expression).
    Check,
}

constraint_kinds!(NotNull => "NOT NULL", Unique => "UNIQUE", PrimaryKey => "PRIMARY KEY", Check => "CHECK");

/// True when an OS error means the device or quota is out of space.
pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
}

/// Build an [`Error::InvalidInput`] from format arguments. Crate-internal
/// (not exported): `crate::errinput!(...)`.
macro_rules! errinput {
    ($($arg:tt)*) => { $crate::Error::InvalidInput(format!($($arg)*)) };
}
pub(crate) use errinput;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_becomes_disk_full_and_keeps_the_path() {
        let e = Error::io("write", "/tmp/x.db", io::Error::from_raw_os_error(28));
        assert_eq!(e.io_error().and_then(io::Error::raw_os_error), Some(28));
        let source = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(source.and_then(io::Error::raw_os_error), Some(28), "source() is the OS error");
        match e {
            Error::DiskFull { op, path, .. } => {
                assert_eq!(op, "write");
                assert_eq!(path, PathBuf::from("/tmp/x.db"));
            }
            other => panic!("expected DiskFull, got {other:?}"),
        }
    }

    #[test]
    fn eio_stays_io_with_its_source() {
        let e = Error::io("fsync", "/tmp/x.db", io::Error::from_raw_os_error(5));
        assert!(matches!(&e, Error::Io { op: "fsync", .. }));
        assert!(e.to_string().contains("fsync"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn a_poison_latch_hands_every_caller_the_first_os_error() {
        let first = Error::io("fsync", "/tmp/x.db-wal", io::Error::from_raw_os_error(5));
        let copied = Poison::new(format!("WAL flush failed: {first}"), &first);
        let moved = Poison::from_error("WAL flush failed".into(), first);
        for p in [copied, moved] {
            let (a, b) = (p.error(), p.error());
            assert!(a.is_poisoned());
            assert!(a.to_string().contains("WAL flush failed"), "{a}");
            let src = std::error::Error::source(&a).and_then(|s| s.downcast_ref::<Arc<io::Error>>());
            assert_eq!(src.and_then(|s| s.raw_os_error()), Some(5), "source() is the OS error");
            assert_eq!(a.io_error().map(io::Error::kind), Some(io::Error::from_raw_os_error(5).kind()));
            match (&a, &b) {
                (Error::Poisoned { source: x, .. }, Error::Poisoned { source: y, .. }) => {
                    assert!(Arc::ptr_eq(x, y), "one OS error, shared");
                }
                other => panic!("{other:?}"),
            }
        }
        let other = Poison::new("test".into(), &Error::Sql("no I/O".into())).error();
        assert_eq!(other.io_error().map(io::Error::kind), Some(io::ErrorKind::Other));
    }

    #[test]
    fn constraint_kinds_are_all_listed() {
        let names: Vec<String> = ConstraintKind::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["NOT NULL", "UNIQUE", "PRIMARY KEY", "CHECK"]);
    }

    #[test]
    fn corrupt_message_names_file_and_page() {
        let e = Error::Corrupt { file: "a.db".into(), page: PageId(9), reason: "checksum mismatch".into() };
        assert_eq!(e.to_string(), "corrupt page 9 in a.db: checksum mismatch");
        assert!(e.is_corruption());
    }
}
