//! The integration tests' one kit, shared by every suite:
//!
//! - [`scale`]: the `WALDB_SIM_SCALE` knob (quick, ci, long);
//! - [`rng`]: the seeded generator (SplitMix64);
//! - [`sim`]: the engine-level crash harness (workloads of page-level
//!   changes on `SimVfs`, the model of acknowledged commits, the checks);
//! - [`sql_sim`]: the SQL-level harness (a workload through the public API
//!   on `SimVfs`, its model, the runner that survives injected faults, and
//!   the restart oracle);
//! - [`sqlite`]: SQLite beside waldb for the differential suites;
//! - [`slow_sync`]: a file system whose syncs take a fixed time (group commit);
//! - here: a data file and buffer pool on any VFS, and proptest's case count
//!   from the environment.
//!
//! Each test binary compiles the whole kit and uses a part of it, hence the
//! `dead_code` allowance.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use waldb::buffer::{BufferPool, LogFlusher, NoLog, PoolOptions};
use waldb::io::Vfs;
use waldb::storage::DataFile;

/// A buffer pool of `frames` frames over the database at `path`, created
/// with `page_size` if missing.
pub fn open_pool(vfs: &dyn Vfs, path: &Path, page_size: usize, frames: usize) -> BufferPool {
    open_pool_with(vfs, path, page_size, frames, Arc::new(NoLog))
}

/// As [`open_pool`], with a chosen log flusher.
pub fn open_pool_with(
    vfs: &dyn Vfs,
    path: &Path,
    page_size: usize,
    frames: usize,
    flusher: Arc<dyn LogFlusher>,
) -> BufferPool {
    let file = DataFile::open_or_create(vfs, path, page_size).expect("open database").file;
    BufferPool::new(file, flusher, PoolOptions { frames, max_frames: frames })
}

/// Proptest cases: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
pub mod rng;
pub mod scale;
pub mod sim;
pub mod slow_sync;
pub mod sql_sim;
pub mod sqlite;
