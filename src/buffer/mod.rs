//! The buffer pool: cached pages, pin guards, eviction, dirty tracking — and
//! the two rules that make write-back safe: the WAL rule (`docs/DESIGN.md` invariant 1) and no
//! steal (`docs/DESIGN.md` invariant 3). See [`pool`] for the design.
//!
//! The pool reaches the log only through [`LogFlusher`] (`durable_lsn` and
//! `flush_to`), never the whole WAL.

pub mod flusher;
pub mod pool;

pub use flusher::{LogFlusher, NoLog, RecordingFlusher};
pub use pool::{BufferPool, DEFAULT_POOL_BYTES, PageMut, PageRef, PoolOptions, PoolStats};
