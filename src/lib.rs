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
//!  src/storage/btree   clustered rowid B+trees and index B+trees, overflow chains
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
//! Every layer module (`buffer`, `storage`, `txn`, `wal`, `sql`, `io`,
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

// The layer modules: private unless the `unstable` feature is on.
#[cfg(feature = "unstable")]
pub mod api;
#[cfg(not(feature = "unstable"))]
mod api;
#[cfg(feature = "unstable")]
pub mod buffer;
#[cfg(not(feature = "unstable"))]
mod buffer;
#[cfg(feature = "unstable")]
pub mod error;
#[cfg(not(feature = "unstable"))]
mod error;
#[cfg(feature = "unstable")]
pub mod ids;
#[cfg(not(feature = "unstable"))]
mod ids;
#[cfg(feature = "unstable")]
pub mod io;
#[cfg(not(feature = "unstable"))]
mod io;
#[cfg(feature = "unstable")]
pub mod sql;
#[cfg(not(feature = "unstable"))]
mod sql;
#[cfg(feature = "unstable")]
pub mod storage;
#[cfg(not(feature = "unstable"))]
mod storage;
#[cfg(feature = "unstable")]
pub mod txn;
#[cfg(not(feature = "unstable"))]
mod txn;
#[cfg(feature = "unstable")]
pub mod value;
#[cfg(not(feature = "unstable"))]
mod value;
#[cfg(feature = "unstable")]
pub mod wal;
#[cfg(not(feature = "unstable"))]
mod wal;

// The public API.
pub mod inspect;

pub use api::{Database, FromSql, Options, Params, Row, RowIndex, Rows, Statement, ToSql, Transaction};
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
