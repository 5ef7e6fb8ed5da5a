//! WAL benchmarks on real files: group-commit throughput and latency with 1,
//! 4, 8 and 16 committers, beside the raw 4 KiB write + fdatasync loop on the
//! same disk (appending and overwriting) — the physical limit.
//!
//! `cargo bench --bench wal` runs criterion (throughput per commit) and then
//! prints a summary table measured side by side in one run: commits/s,
//! p50/p99/max latency, commits per fsync, and the ratios the WAL issue
//! targets. `WALDB_BENCH_COMMITS` sets commits per committer in the summary
//! pass (default 2,000).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use waldb::TxnId;
use waldb::ids::DbId;
use waldb::io::{OpenMode, OsVfs, Vfs, VfsFile};
use waldb::wal::{RecordType, Wal, WalOptions};

const PAYLOAD: [u8; 100] = [42; 100];

fn wal_in(dir: &Path) -> Arc<Wal> {
    let o = WalOptions { segment_size: 64 << 20, ..WalOptions::default() };
    Arc::new(Wal::create(Arc::new(OsVfs::new()), &dir.join("bench.db"), DbId(1), o).expect("create wal"))
}

/// `threads` committers, `per_thread` commits each; returns the elapsed time
/// and every commit's latency.
fn run_commits(wal: &Arc<Wal>, threads: usize, per_thread: usize) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::with_capacity(per_thread);
                for _ in 0..per_thread {
                    let t0 = Instant::now();
                    // Announced, as the engine announces a transaction's
                    // commit, so flush leaders gather for it.
                    let intent = wal.announce_commit();
                    let lsn = wal.append(RecordType::Commit, TxnId(t as u64), &PAYLOAD).expect("append");
                    drop(intent);
                    wal.commit(lsn).expect("commit");
                    lat.push(t0.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().expect("committer"));
    }
    (start.elapsed(), all)
}

/// 4 KiB write + fdatasync `n` times; `overwrite` reuses one preallocated
/// 4 MiB region, otherwise the file grows.
fn raw_fdatasync(dir: &Path, n: usize, overwrite: bool) -> (Duration, Vec<Duration>) {
    let path = dir.join(if overwrite { "raw-overwrite" } else { "raw-append" });
    let vfs = OsVfs::new();
    let _ = vfs.remove(&path);
    let f: Arc<dyn VfsFile> = vfs.open(&path, OpenMode::Create).expect("open");
    let region = 4u64 << 20;
    if overwrite {
        f.allocate(region).expect("allocate");
        f.sync_all().expect("sync");
    }
    let block = [7u8; 4096];
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n as u64 {
        let off = if overwrite { (i * 4096) % region } else { i * 4096 };
        let t0 = Instant::now();
        f.write_all_at(&block, off).expect("write");
        f.sync_data().expect("fdatasync");
        lat.push(t0.elapsed());
    }
    (start.elapsed(), lat)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn criterion_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut g = c.benchmark_group("wal");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("raw_fdatasync_overwrite_4k", |b| {
        b.iter_custom(|iters| raw_fdatasync(dir.path(), iters as usize, true).0)
    });
    for threads in [1usize, 4, 8, 16] {
        let wal = wal_in(&dir.path().join(format!("c{threads}")).tap_mkdir());
        g.bench_function(format!("commit_{threads}_committers"), |b| {
            b.iter_custom(|iters| {
                let per = (iters as usize).div_ceil(threads);
                let (t, _) = run_commits(&wal, threads, per);
                t.mul_f64(iters as f64 / (per * threads) as f64)
            })
        });
    }
    g.finish();
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).expect("mkdir");
        self
    }
}

/// The side-by-side summary the issue asks for.
fn summary() {
    let per: usize = std::env::var("WALDB_BENCH_COMMITS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    println!("\n## WAL summary ({per} commits per committer, 100-byte records, real fdatasync)\n");
    println!("| workload | ops/s | p50 µs | p99 µs | max µs | commits/fsync |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut rates = Vec::new();
    let mut raw_p99 = Duration::ZERO;
    for overwrite in [false, true] {
        let (t, mut lat) = raw_fdatasync(dir.path(), per, overwrite);
        lat.sort();
        let rate = per as f64 / t.as_secs_f64();
        if overwrite {
            raw_p99 = pct(&lat, 0.99);
            rates.push(("raw", rate));
        }
        let name = if overwrite { "raw 4 KiB write+fdatasync, overwrite" } else { "raw 4 KiB write+fdatasync, append" };
        println!(
            "| {name} | {rate:.0} | {:.0} | {:.0} | {:.0} | 1 |",
            micros(pct(&lat, 0.5)),
            micros(pct(&lat, 0.99)),
            micros(*lat.last().expect("samples"))
        );
    }
    let mut p99s = Vec::new();
    let mut per_syncs = Vec::new();
    for threads in [1usize, 4, 8, 16] {
        let wal = wal_in(&dir.path().join(format!("s{threads}")).tap_mkdir());
        // Warm up: segments prepared, caches hot.
        run_commits(&wal, threads, 50);
        let before = wal.stats();
        let (t, mut lat) = run_commits(&wal, threads, per);
        let after = wal.stats();
        lat.sort();
        let n = threads * per;
        let rate = n as f64 / t.as_secs_f64();
        let per_sync = (after.commits - before.commits) as f64 / (after.syncs - before.syncs).max(1) as f64;
        rates.push(("wal", rate));
        p99s.push(pct(&lat, 0.99));
        per_syncs.push((threads, per_sync));
        println!(
            "| WAL, {threads} committer{} | {rate:.0} | {:.0} | {:.0} | {:.0} | {per_sync:.1} |",
            if threads == 1 { "" } else { "s" },
            micros(pct(&lat, 0.5)),
            micros(pct(&lat, 0.99)),
            micros(*lat.last().expect("samples"))
        );
    }
    let raw = rates[0].1;
    let one = rates[1].1;
    println!("\n| target | measured | goal |");
    println!("|---|---:|---:|");
    println!("| 1 committer / raw overwrite fdatasync rate | {:.2}x | >= 0.75x |", one / raw);
    println!("| 8 committers / 1 committer | {:.2}x | >= 5x |", rates[3].1 / one);
    println!("| 16 committers / 1 committer | {:.2}x | >= 8x |", rates[4].1 / one);
    for (threads, per_sync) in per_syncs.into_iter().filter(|(t, _)| *t >= 8) {
        println!("| {threads} committers: commits per fsync | {per_sync:.1} | >= {:.1} |", 0.8 * threads as f64);
    }
    let worst = p99s.iter().max().copied().unwrap_or_default();
    println!(
        "| worst WAL p99 / raw fdatasync p99 | {:.2}x | <= 3x |",
        worst.as_secs_f64() / raw_p99.as_secs_f64().max(1e-9)
    );
}

fn benches(c: &mut Criterion) {
    criterion_benches(c);
    summary();
}

criterion_group!(wal_benches, benches);
criterion_main!(wal_benches);
