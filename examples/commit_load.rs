//! A commit load for profiling the commit path: `threads` handles of one
//! database each run `per_thread` single-row autocommit inserts (the shape
//! of `benches/compare` W2), then the run prints commits/s and commits per
//! fsync.
//!
//! `cargo run --release --example commit_load -- [threads] [per_thread] [full|off] [dir]`
//! (`off`: `Durability::Off`, the CPU cost of a commit without its fsync).
//! Run it under `perf record -g` to see where a commit's CPU goes.

use std::sync::{Arc, Barrier};
use std::time::Instant;

use waldb::{Database, Durability, Options};

fn main() -> waldb::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let threads: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(8);
    let per_thread: i64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let durability = match args.get(2).map(String::as_str) {
        Some("off") => Durability::Off,
        _ => Durability::Full,
    };
    let dir = args.get(3).map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let path = dir.join(format!("commit-load-{}.db", std::process::id()));
    let opts = Options { durability, ..Options::default() };
    let db = Database::open_with(&path, opts)?;
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)", ())?;
    let before = db.stats().wal;
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = db.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || -> waldb::Result<()> {
                let mut st = db.prepare("INSERT INTO t VALUES (?, ?, ?)")?;
                let v = "x".repeat(100);
                barrier.wait();
                for i in 0..per_thread {
                    let id = 1 + t as i64 * per_thread + i;
                    st.execute((id, id.wrapping_mul(7919) % 1_000_003, v.as_str()))?;
                }
                Ok(())
            })
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    for h in handles {
        match h.join() {
            Ok(r) => r?,
            Err(_) => return Err(waldb::Error::InvalidInput("a committer thread panicked".into())),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let after = db.stats().wal;
    let commits = after.commits - before.commits;
    let syncs = (after.syncs - before.syncs).max(1);
    println!(
        "{threads} threads: {:.0} commits/s, {:.2} commits per fsync, {:.1} µs per fsync",
        commits as f64 / secs,
        commits as f64 / syncs as f64,
        (after.fsync_micros - before.fsync_micros) as f64 / syncs as f64
    );
    db.close()?;
    for p in std::fs::read_dir(&dir).map_err(|e| waldb::Error::io("read dir", &dir, e))?.flatten() {
        if p.file_name().to_string_lossy().starts_with(&format!("commit-load-{}", std::process::id())) {
            let _ = std::fs::remove_file(p.path());
        }
    }
    Ok(())
}
