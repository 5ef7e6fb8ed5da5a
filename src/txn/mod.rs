//! Transactions, checkpoints and crash recovery over the buffer pool and
//! the WAL — the layer that keeps the promise.
//!
//! - [`engine`]: [`Engine`], one open database: open (create or recover),
//!   begin, checkpoint, close, statistics; the concurrency rules.
//! - [`write`](mod@write): [`WriteTxn`], page access with before-images, commit and
//!   rollback; the life of a commit.
//! - [`read`]: [`ReadTxn`], shared read access to durable data.
//! - [`log`]: page-change and full-page-image payloads, diff and redo.
//! - [`recovery`]: redo-only recovery from the last checkpoint.

pub mod engine;
pub mod log;
pub mod read;
pub mod recovery;
pub mod write;

pub use engine::{CheckpointReport, Engine, EngineOptions, EngineStats, RecoveryReport};
pub use read::ReadTxn;
pub use write::{PendingCommit, WriteTxn};
