//! # waldb
//!
//! An embedded relational database whose first promise is **zero loss of
//! committed transactions**: once a commit returns `Ok`, the data survives
//! power loss, `kill -9` and torn writes, and recovery needs no human.
//!
//! ## Use
//!
//! Shaped like `rusqlite`: open a file, run SQL with parameters, read typed
//! columns, group statements in transactions.
//!
//! ```
//! use waldb::{params, Database};
//!
//! # fn main() -> waldb::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("waldb-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).ok();
//! # let path = dir.join("app.db");
//! let db = Database::open(&path)?; // created if missing; recovered if it crashed
//! db.execute("CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)", ())?;
//! db.execute("INSERT INTO person(name, age) VALUES (?, ?)", ("Ada", 36))?;
//!
//! // Several statements, all or nothing; commit returns once the log is durable.
//! let tx = db.transaction()?;
//! let mut insert = tx.prepare("INSERT INTO person(name, age) VALUES (?1, ?2)")?;
//! for (name, age) in [("Grace", 45), ("Edsger", 42)] {
//!     insert.execute(params![name, age])?;
//! }
//! drop(insert);
//! tx.commit()?;
//!
//! let oldest: String = db.query_row("SELECT name FROM person ORDER BY age DESC LIMIT 1", (), |r| r.get(0))?;
//! assert_eq!(oldest, "Grace");
//! for row in &db.query("SELECT name, age FROM person WHERE age > ?", [40])? {
//!     let (name, age): (String, i64) = (row.get("name")?, row.get(1)?);
//!     assert!(age > 40, "{name}");
//! }
//! # drop(db);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
//!
//! ## Layers (data flows down; nothing calls up)
//!
//! ```text
//!  src/api        Database, Statement, Transaction, Row: the embedded API
//!    |
//!  src/sql        parse (sqlparser) -> plan -> execute; catalog; DDL/DML
//!    |
//!  src/btree      B+trees of byte-string keys (rowid tables, indexes) over any page store
//!    |
//!  src/txn        begin / commit / rollback; writer lock; no steal; checkpoints; recovery
//!    |        \
//!  src/buffer     buffer pool  |  src/wal   log records, segments, group commit
//!    |       \________________________/
//!  src/storage    page formats (header, free list, overflow chains), the data file
//!    |
//!  src/io         Vfs trait: OsVfs (real files) and SimVfs (faulty, in memory)
//! ```
//!
//! ## The life of a commit
//!
//! `db.execute("INSERT INTO t VALUES (1, 'a')", ())` outside a transaction,
//! with the default `Durability::Full` (docs/DESIGN.md has the invariants
//! each step keeps):
//!
//! 1. **Begin.** The engine (`src/txn`) takes the writer lock (one writer
//!    at a time) and opens a write transaction with a fresh transaction id.
//! 2. **Change pages.** The SQL layer changes B+tree pages through the
//!    transaction. The first touch of a page keeps its before-image (for
//!    rollback) and marks its buffer-pool frame *uncommitted*: the pool
//!    never writes such a page to the data file (no steal), so the data
//!    file never holds a change that was not committed.
//! 3. **Log.** `commit` appends `BEGIN`, one record per changed page (a
//!    full image the first time a page changes after a checkpoint, byte
//!    ranges after that) and `COMMIT` to the WAL's in-memory buffer
//!    (`src/wal`). Each frame remembers the LSN of this `COMMIT`; the
//!    writer lock is then released (early lock release), so the next
//!    writer can start while this commit waits.
//! 4. **Group flush.** The committer waits until its `COMMIT` is durable.
//!    The first waiter becomes the leader: it writes everything appended so
//!    far to the current segment and calls `fdatasync` once; every commit
//!    in that range is durable with it (group commit). Only then does
//!    `execute` return `Ok` — the acknowledgement that the commit survives
//!    a crash. A failed write or sync poisons the log: every later commit
//!    fails, nothing is acknowledged that is not on disk.
//! 5. **Write back, later.** Dirty pages reach the data file when the pool
//!    evicts them or a checkpoint flushes them — never before the log is
//!    durable up to both the page's last record and the `COMMIT` of the
//!    transaction that changed it (the WAL rule, in `src/buffer`). A
//!    checkpoint then records the redo point in the control file, and
//!    segments wholly before it are recycled.
//! 6. **Recovery.** After a crash, `open` replays the log from the redo
//!    point: page records of transactions with a durable `COMMIT` are
//!    applied where the page's LSN is older (redo only, idempotent); those
//!    without one are ignored. A torn tail ends the log; damage before it
//!    is an error, never a silent truncation.
//!
//! `io` is the only module that touches the operating system's files; every
//! other layer goes through the [`vfs::Vfs`] trait, so the crash simulator
//! ([`vfs::SimVfs`]) can stand in for the disk.
//!
//! ## The public API, and the unstable one
//!
//! With the default features the crate exports what an application uses:
//! the items at the root, [`vfs`] (the file systems a database runs on,
//! including the simulated disk with its injectable faults) and [`inspect`]
//! (decoded WAL records, page summaries, the integrity check, for tools).
//! Every layer module (`btree`, `buffer`, `storage`, `txn`, `wal`, `sql`, `io`,
//! `ids`, ...) is private, so nothing reachable writes a page without
//! logging it.
//!
//! The cargo feature `unstable` makes the layer modules public (plus
//! `Database::engine` and `Database::open_on_engine`) so that the
//! workspace's own tests, benchmarks and tools can drive each layer on its
//! own. It is **not** covered by semantic versioning: anything behind it
//! may change or vanish in any release.

// Without `unstable`, the layers' conveniences that only the tests and the
// benchmarks use (and the re-exports that name them) are unused. They stay
// until the layout work moves or removes them.
#![cfg_attr(not(feature = "unstable"), allow(dead_code, unused_imports))]

/// Declares the layer modules: `pub` with the `unstable` feature, private
/// without it.
macro_rules! layer_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "unstable")]
        pub mod $name;
        #[cfg(not(feature = "unstable"))]
        mod $name;
    )*};
}

// The layer modules: private unless the `unstable` feature is on.
layer_modules!(api, btree, buffer, error, ids, io, sql, storage, txn, value, wal);

// The public API.
pub mod inspect;

pub use api::{
    Database, FromSql, Options, Params, Row, RowIndex, Rows, Statement, ToSql, Transaction, quote_identifier,
};
pub use buffer::PoolStats;
/// Crate-internal, so that `crate::errinput!` names it.
pub(crate) use error::errinput;
pub use error::{ConstraintKind, Error, Result};
pub use ids::{Lsn, PageId, TxnId};
pub use inspect::IntegrityReport;
pub use txn::{CheckpointReport, EngineStats, RecoveryReport};
pub use value::Value;
pub use wal::{Durability, TornTail, WalStats};

/// The file systems a database runs on: [`OsVfs`](crate::vfs::OsVfs) (real files), [`SimVfs`](crate::vfs::SimVfs)
/// (in memory, with injectable faults and crash images, to test an
/// application against a lying disk) and [`ReadOnlyVfs`](crate::vfs::ReadOnlyVfs) (a wrapper that
/// refuses every change, for offline inspection).
pub mod vfs {
    pub use crate::io::{
        CrashHook, CrashImage, Errno, Fault, LossMode, OpFilter, OpKind, OpenMode, OsVfs, ReadOnlyVfs, SimStats,
        SimVfs, TraceEntry, Vfs, VfsFile, VfsLock, When, WriteObserver, parent_dir,
    };
}
