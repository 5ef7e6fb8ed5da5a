//! Recovery and checkpoint benchmarks on real files.
//!
//! A database is built in a temporary directory on `OsVfs` with about
//! `WALDB_BENCH_WAL_MB` (default 24) MiB of log after its redo point: B+tree
//! appends of 100-byte rows (an 8-byte key and a 92-byte value), `WALDB_BENCH_ROWS` (default 30) per committed
//! transaction, no checkpoints, then the handle is dropped without `close`.
//!
//! - `recovery/open_after_crash`: `Engine::open` of a fresh copy of that
//!   crashed directory (recovery ends with a checkpoint, which changes the
//!   files, so every open gets its own copy; the copy is not timed). The
//!   copies are in the page cache: this is warm-cache recovery.
//! - `recovery/checkpoint_after_workload`: an explicit `checkpoint()` after
//!   the same workload in a freshly built database (large pool, nothing
//!   written back before it). The build is not timed.
//!
//! `cargo bench --bench recovery` prints a summary after criterion: WAL bytes
//! replayed, recovery ms and MB/s, checkpoint ms, and the target
//! (24 MB of WAL recovered within 100 ms).

// Row keys are big-endian row numbers, so byte order is numeric order.
#![allow(clippy::big_endian_bytes)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use tempfile::TempDir;
use waldb::PageId;
use waldb::btree::BTree;
use waldb::io::{OsVfs, Vfs};
use waldb::storage::{PageStore, header};
use waldb::txn::{Engine, EngineOptions, RecoveryReport};
use waldb::wal::WalOptions;

const DB: &str = "bench.db";
const ROW_LEN: usize = 100;
/// The target: 24 MB of WAL recovered within this.
const TARGET: Duration = Duration::from_millis(100);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// No automatic checkpoints, no checkpoint on close, 16 MiB segments, and a
/// pool large enough that nothing is written back before a checkpoint.
fn options() -> EngineOptions {
    EngineOptions {
        pool_bytes: 256 << 20,
        pool_cap_bytes: 512 << 20,
        wal: WalOptions { segment_size: 16 << 20, ..WalOptions::default() },
        checkpoint_bytes: None,
        checkpoint_on_close: false,
        ..EngineOptions::default()
    }
}

fn open(dir: &Path) -> Engine {
    Engine::open(Arc::new(OsVfs::new()) as Arc<dyn Vfs>, &dir.join(DB), options()).expect("open the database")
}

/// What the workload left behind.
#[derive(Clone, Copy, Debug)]
struct Workload {
    commits: u64,
    rows: u64,
    /// Log bytes after the redo point.
    wal_bytes: u64,
    build: Duration,
}

/// Create a database in `dir` and commit transactions of `rows_per_txn`
/// inserts until `wal_bytes` of log follow the redo point. Returns the open
/// engine (the caller crashes or checkpoints it).
fn build(dir: &Path, wal_bytes: u64, rows_per_txn: u64) -> (Engine, Workload) {
    let t0 = Instant::now();
    let e = open(dir);
    let start = e.wal().next_lsn().0;
    let tx = e.begin_write().expect("begin");
    let t = BTree::create(&tx, true).expect("create the table");
    header::set_root(&mut tx.write(PageId::HEADER).expect("header page"), 1, t.root());
    tx.commit().expect("commit the table");
    let mut value = [0u8; ROW_LEN - 8];
    let (mut commits, mut rows) = (1u64, 0u64);
    while e.wal().next_lsn().0 - start < wal_bytes {
        let tx = e.begin_write().expect("begin");
        for _ in 0..rows_per_txn {
            rows += 1;
            value.fill(rows as u8);
            t.insert(&tx, &rows.to_be_bytes(), &value).expect("insert");
        }
        tx.commit().expect("commit");
        commits += 1;
    }
    let wal_bytes = e.wal().next_lsn().0 - start;
    (e, Workload { commits, rows, wal_bytes, build: t0.elapsed() })
}

/// Copy every file of `from` into a new temporary directory.
fn copy_dir(from: &Path) -> TempDir {
    let to = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(from).expect("list the crashed directory") {
        let entry = entry.expect("directory entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), to.path().join(entry.file_name())).expect("copy a file");
        }
    }
    to
}

/// One recovery measurement.
#[derive(Clone, Debug)]
struct Recovery {
    open: Duration,
    report: RecoveryReport,
}

impl Recovery {
    fn wal_bytes(&self) -> u64 {
        self.report.log_end.0 - self.report.redo_from.0
    }
}

/// One checkpoint measurement.
#[derive(Clone, Copy, Debug)]
struct Checkpoint {
    time: Duration,
    pages: usize,
    wal_bytes: u64,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median<T: Clone>(v: &[T], key: impl Fn(&T) -> Duration) -> T {
    let mut v = v.to_vec();
    v.sort_by_key(|x| key(x));
    v[v.len() / 2].clone()
}

fn benches(c: &mut Criterion) {
    let wal_target = env_or("WALDB_BENCH_WAL_MB", 24) << 20;
    let rows_per_txn = env_or("WALDB_BENCH_ROWS", 30).max(1);

    // The crashed database every recovery starts from.
    let crashed = tempfile::tempdir().expect("temp dir");
    let (e, work) = build(crashed.path(), wal_target, rows_per_txn);
    let pool = e.pool().stats();
    drop(e); // no close(): the log alone holds the workload
    println!(
        "workload: {} commits of {rows_per_txn} x {ROW_LEN}-byte rows ({} rows), {:.1} MiB of WAL after the redo \
         point, built in {:.1} s; pages written before the crash: {}",
        work.commits,
        work.rows,
        mib(work.wal_bytes),
        work.build.as_secs_f64(),
        pool.page_writes
    );

    let recoveries: Mutex<Vec<Recovery>> = Mutex::new(Vec::new());
    let checkpoints: Mutex<Vec<Checkpoint>> = Mutex::new(Vec::new());
    let mut g = c.benchmark_group("recovery");
    g.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("open_after_crash", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let copy = copy_dir(crashed.path());
                let t0 = Instant::now();
                let e = open(copy.path());
                let took = t0.elapsed();
                total += took;
                let report = e.recovery_report();
                assert!(report.records_applied > 0 && report.checkpointed, "nothing recovered: {report:?}");
                recoveries.lock().expect("results").push(Recovery { open: took, report });
                drop(e);
            }
            total
        })
    });
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("checkpoint_after_workload", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("temp dir");
                let (e, work) = build(dir.path(), wal_target, rows_per_txn);
                let written = e.pool().stats().page_writes;
                let t0 = Instant::now();
                let report = e.checkpoint().expect("checkpoint");
                let took = t0.elapsed();
                total += took;
                assert_eq!(written, 0, "pages were written back before the checkpoint");
                checkpoints.lock().expect("results").push(Checkpoint {
                    time: took,
                    pages: report.pages_written,
                    wal_bytes: work.wal_bytes,
                });
                drop(e);
            }
            total
        })
    });
    g.finish();

    let recoveries = recoveries.into_inner().expect("results");
    let checkpoints = checkpoints.into_inner().expect("results");
    let r = median(&recoveries, |r| r.open);
    let k = median(&checkpoints, |k| k.time);
    let wal = r.wal_bytes();
    let rate = mib(wal) / r.report.duration.as_secs_f64();
    println!("\n## Recovery summary (medians of {} recoveries, {} checkpoints)\n", recoveries.len(), checkpoints.len());
    println!(
        "recovery: {:.1} MiB of WAL ({} .. {}), {} records scanned, {} applied, {} transactions redone",
        mib(wal),
        r.report.redo_from,
        r.report.log_end,
        r.report.records_scanned,
        r.report.records_applied,
        r.report.txns_redone
    );
    println!(
        "recovery: {:.1} ms in recovery (report.duration, final checkpoint included), {:.1} ms for Engine::open, \
         {rate:.0} MiB/s of WAL replayed",
        ms(r.report.duration),
        ms(r.open)
    );
    println!("checkpoint: {:.1} ms, {} pages written, after {:.1} MiB of WAL", ms(k.time), k.pages, mib(k.wal_bytes));
    let at_target = r.report.duration.as_secs_f64() * (24u64 << 20) as f64 / wal.max(1) as f64;
    println!(
        "SUMMARY recovery_ms={:.1} open_ms={:.1} wal_mib={:.1} mib_per_s={rate:.0} checkpoint_ms={:.1} | target: 24 MB \
         in <= {} ms -> {:.1} ms at this rate ({})",
        ms(r.report.duration),
        ms(r.open),
        mib(wal),
        ms(k.time),
        TARGET.as_millis(),
        at_target * 1e3,
        if Duration::from_secs_f64(at_target) <= TARGET { "met" } else { "NOT met" }
    );
}

criterion_group!(recovery_benches, benches);
criterion_main!(recovery_benches);
