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
//!  src/storage    page formats (header, slotted heap page), the data file, heap files
//!    |
//!  src/io         Vfs trait: OsVfs (real files) and SimVfs (faulty, in memory)
//! ```
//!
//! `io` is the only module that touches the operating system's files; every
//! other layer goes through [`io::Vfs`], so the crash simulator
//! ([`io::SimVfs`]) can stand in for the disk.
//!
//! The layer modules are public so that tests, benchmarks and tools can drive
//! each layer on its own; the SQL-level API is re-exported from the crate
//! root.

pub mod api;
pub mod buffer;
pub mod error;
pub mod ids;
pub mod io;
pub mod sql;
pub mod storage;
pub mod txn;
pub mod value;
pub mod wal;

pub use api::{Database, FromSql, Options, Params, Row, RowIndex, Rows, Statement, ToSql, Transaction};
/// Crate-internal, so that `crate::errinput!` names it.
pub(crate) use error::errinput;
pub use error::{ConstraintKind, Error, Result};
pub use ids::{DbId, Lsn, PageId, TxnId};
pub use txn::{CheckpointReport, EngineStats, RecoveryReport};
pub use value::Value;
pub use wal::Durability;
