//! # waldb
//!
//! An embedded relational database whose first promise is **zero loss of
//! committed transactions**: once a commit returns `Ok`, the data survives
//! power loss, `kill -9` and torn writes, and recovery needs no human.
//!
//! ## Layers (data flows down; nothing calls up)
//!
//! ```text
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
//! each layer on its own; the SQL-level API will be re-exported from the crate
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
pub use error::{ConstraintKind, Error, Result};
pub use ids::{DbId, Lsn, PageId, TxnId};
pub use txn::{CheckpointReport, EngineStats, RecoveryReport};
pub use value::Value;
pub use wal::Durability;
