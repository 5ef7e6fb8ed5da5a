//! waldb against SQLite, side by side in one run, on files in one directory.
//!
//! Both engines are fully durable: waldb with its default [`Options`]
//! (`Durability::Full`, group commit), SQLite (rusqlite, bundled) with
//! `journal_mode=WAL`, `synchronous=FULL` and a 5,000 ms `busy_timeout` on
//! every connection. Every operation goes through a prepared statement. Rounds
//! alternate between the engines and the median round is reported; every
//! result is checked, so a step cannot silently measure nothing.
//!
//! Table `t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)`, `v` 100 bytes,
//! `k` pseudo-random. Workloads (sizes of the full run; `--quick` shrinks
//! them to a smoke test):
//!
//! | id | workload | reported |
//! |---|---|---|
//! | W0 | 4 KiB `pwrite` + `fdatasync`, appending and overwriting (the disk's limit) | syncs/s |
//! | W1 | one thread, 5,000 single-row autocommit inserts | commits/s, p50/p99/max |
//! | W1b | one thread, 1,000 transactions of 100 rows | txns/s, p99 |
//! | W2 | 8 and 16 threads × 1,000 autocommit inserts (SQLite: a connection each; waldb: clones of one handle) | commits/s, p50/p99/p99.9/max, waldb's commits per fsync |
//! | W3 | 1,000,000 rows in one transaction, in a child process per engine | rows/s, peak RSS, file size |
//! | W4 | 200,000 random lookups by `id`; `CREATE INDEX` on `k`; 200,000 lookups by `k` | lookups/s, index time |
//! | W5 | `SELECT count(*), sum(k), avg(length(v)) FROM t`; `k BETWEEN` without an index | rows/s |
//! | W6 | recovery: a child writes 200,000 rows in 2,000-row transactions with automatic checkpoints off and aborts; first open + `count(*)` | time, WAL size |
//! | W7 | an explicit checkpoint of the same 200,000-row log (written again, without a crash) | time |
//!
//! W6 note: waldb's recovery ends with a checkpoint (redone pages reach the
//! data file before `open` returns), SQLite's does not (it rebuilds the
//! wal-index and checkpoints later), so waldb's W6 time includes work that
//! SQLite defers to its W7.
//!
//! The summary is a Markdown table (both engines, ratio waldb/SQLite, target,
//! verdict) followed by the machine (cores, CPU, kernel, file system) and the
//! versions. Targets are those of issue 8; they are reported, never asserted
//! (performance is not a test).
//!
//! Run: `cargo bench --bench compare` (full, about two minutes);
//! `cargo bench --bench compare -- --quick` (tiny sizes: CI's smoke test,
//! which checks only that every step completes with correct results).
//! `WALDB_BENCH_DIR` chooses where the files go (default: a temporary
//! directory under the system's temp dir); `WALDB_BENCH_ROUNDS` the rounds.

//!
//! Files: this one (configuration, data, the run and its summary),
//! `engines.rs` (the two engines behind one connection trait),
//! `workloads.rs` (W0-W7) and `report.rs` (figures, table, machine).

mod engines;
mod report;
mod workloads;

use std::fs::File;
use std::io::Write as _;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use waldb::{Database, Options};

use engines::*;
use report::*;
use workloads::*;

/// Bytes of every `v`.
const V_LEN: usize = 100;
/// Size of the text `v` values are cut from.
const POOL_LEN: usize = 1 << 16;
/// Set in a re-executed child: which job it runs (`w3` or `w6`).
const CHILD_ENV: &str = "WALDB_COMPARE_CHILD";
const INSERT: &str = "INSERT INTO t VALUES (?, ?, ?)";
const CREATE: &str = "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)";
const AGGREGATE: &str = "SELECT count(*), sum(k), avg(length(v)) FROM t";
const RANGE: &str = "SELECT count(*), sum(k) FROM t WHERE k BETWEEN ? AND ?";

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Sizes of one run.
#[derive(Clone, Copy, Debug)]
struct Config {
    quick: bool,
    rounds: usize,
    /// W0 syncs per mode.
    syncs: usize,
    /// W1 commits.
    commits: u64,
    /// W1b transactions and rows per transaction.
    txns: u64,
    txn_rows: u64,
    /// W2 commits per thread.
    per_thread: u64,
    /// W3 rows (also the table W4 and W5 read).
    rows: u64,
    /// W4 lookups per lookup step.
    lookups: usize,
    /// W6/W7 rows and rows per transaction.
    log_rows: u64,
    log_txn_rows: u64,
}

impl Config {
    fn from_env() -> Config {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let env_quick = std::env::var("WALDB_BENCH_QUICK").ok().filter(|v| !v.is_empty() && v != "0").is_some();
        // `cargo bench` passes `--bench`; `cargo test --benches` does not.
        let quick =
            env_quick || args.iter().any(|a| a == "--quick" || a == "--test") || !args.iter().any(|a| a == "--bench");
        let rounds = env_u64("WALDB_BENCH_ROUNDS").map_or(if quick { 1 } else { 3 }, |v| v.max(1) as usize);
        if quick {
            Config {
                quick,
                rounds,
                syncs: 50,
                commits: 100,
                txns: 20,
                txn_rows: 20,
                per_thread: 20,
                rows: 5_000,
                lookups: 1_000,
                log_rows: 4_000,
                log_txn_rows: 400,
            }
        } else {
            Config {
                quick,
                rounds,
                syncs: 2_000,
                commits: 5_000,
                txns: 1_000,
                txn_rows: 100,
                per_thread: 1_000,
                rows: 1_000_000,
                lookups: 200_000,
                log_rows: 200_000,
                log_txn_rows: 2_000,
            }
        }
    }
}

/// A 64-bit mixer (splitmix64's finaliser).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The rows and probes, identical for both engines and computed on the fly:
/// row `id` has `k = k_of(id)` (in `0..domain`) and `v = v_of(id)`.
#[derive(Clone)]
struct Data {
    domain: u64,
    /// ASCII text the `v` values are 100-byte windows of.
    text: String,
}

impl Data {
    fn new(domain: u64) -> Data {
        let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
        let text =
            (0..POOL_LEN as u64).map(|i| char::from(alphabet[(mix(i) % alphabet.len() as u64) as usize])).collect();
        Data { domain: domain.max(1), text }
    }

    fn k_of(&self, id: i64) -> i64 {
        (mix(id as u64 ^ 0x5EED) % self.domain) as i64
    }

    fn v_of(&self, id: i64) -> &str {
        let at = (mix(id as u64) % (POOL_LEN - V_LEN) as u64) as usize;
        &self.text[at..at + V_LEN]
    }

    /// `n` random ids in `1..=rows` (deterministic per `seed`).
    fn id_probes(&self, rows: u64, n: usize, seed: u64) -> Vec<i64> {
        (0..n as u64).map(|i| 1 + (mix(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % rows) as i64).collect()
    }
}

fn main() {
    if let Ok(job) = std::env::var(CHILD_ENV) {
        child_main(&job);
        return;
    }
    let cfg = Config::from_env();
    let root_guard;
    let root = match std::env::var_os("WALDB_BENCH_DIR") {
        Some(d) => {
            let d = PathBuf::from(d).join(format!("waldb-compare-{}", std::process::id()));
            std::fs::create_dir_all(&d).expect("mkdir bench dir");
            root_guard = None;
            d
        }
        None => {
            let t = tempfile::tempdir().expect("temp dir");
            let d = t.path().to_path_buf();
            root_guard = Some(t);
            d
        }
    };
    println!(
        "compare bench, {} mode, {} round(s) per step, files in {}",
        if cfg.quick { "quick (smoke test)" } else { "full" },
        cfg.rounds,
        root.display()
    );
    let mut lines: Vec<Line> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let say = |s: &str| {
        println!("{s}");
        let _ = std::io::stdout().flush();
    };

    // W0 — the disk.
    let mut raw_overwrite = 0.0;
    let mut overwrite_p50_ms = 0.0;
    for overwrite in [false, true] {
        let r = median_run((0..cfg.rounds).map(|_| raw_syncs(&root, cfg.syncs, overwrite)).collect());
        let what = if overwrite { "4 KiB write + fdatasync, overwrite" } else { "4 KiB write + fdatasync, append" };
        say(&format!("W0 {what}: {:.0}/s, p50 {:.3} ms, p99 {:.3} ms", r.rate(), ms(r.lat.p50), ms(r.lat.p99)));
        lines.push(Line::new("W0", what, "syncs/s", r.rate(), None, Target::None));
        if overwrite {
            raw_overwrite = r.rate();
            overwrite_p50_ms = ms(r.lat.p50);
        }
    }

    let d = Data::new(1 << 20);

    // W1 and W1b — one committer.
    let pair = |f: &dyn Fn(Engine) -> Run| -> [Run; 2] {
        let mut runs = [Vec::new(), Vec::new()];
        for _ in 0..cfg.rounds {
            for (i, e) in ENGINES.into_iter().enumerate() {
                runs[i].push(f(e));
            }
        }
        let [w, s] = runs;
        [median_run(w), median_run(s)]
    };
    let [w, s] = pair(&|e| single_thread(&root, e, &d, cfg.commits, None));
    say(&format!(
        "W1 commits/s waldb {:.0} (p99 {:.3} ms), SQLite {:.0} (p99 {:.3} ms)",
        w.rate(),
        ms(w.lat.p99),
        s.rate(),
        ms(s.lat.p99)
    ));
    lines.push(Line::new(
        "W1",
        format!("1 thread, {} autocommit inserts", cfg.commits),
        "commits/s",
        w.rate(),
        Some(s.rate()),
        Target::RatioAtLeast(1.0),
    ));
    let one_thread = w.rate();
    lines.push(Line::new("W1", "  latency p50", "ms", ms(w.lat.p50), Some(ms(s.lat.p50)), Target::None));
    lines.push(Line::new("W1", "  latency p99", "ms", ms(w.lat.p99), Some(ms(s.lat.p99)), Target::None));
    lines.push(Line::new("W1", "  latency max", "ms", ms(w.lat.max), Some(ms(s.lat.max)), Target::None));
    let [w, s] = pair(&|e| single_thread(&root, e, &d, cfg.txns, Some(cfg.txn_rows)));
    say(&format!("W1b txns/s waldb {:.0}, SQLite {:.0}", w.rate(), s.rate()));
    lines.push(Line::new(
        "W1b",
        format!("1 thread, {} txns × {} rows", cfg.txns, cfg.txn_rows),
        "txns/s",
        w.rate(),
        Some(s.rate()),
        Target::RatioAtLeast(1.0),
    ));
    lines.push(Line::new("W1b", "  latency p99", "ms", ms(w.lat.p99), Some(ms(s.lat.p99)), Target::None));

    // W2 — many committers. Targets: issue 8 (rates, latency) and issue 20
    // (commits per fsync, the ratio to the disk, scaling over W1, p99 in
    // fsyncs).
    let w2_targets = [(8usize, 30_000.0, 0.5, 50_000.0, 5.0), (16, 45_000.0, 0.7, 80_000.0, 9.0)];
    for (threads, min_rate, max_p99, stretch, disk_ratio) in w2_targets {
        let [w, s] = pair(&|e| many_threads(&root, e, &d, threads, cfg.per_thread));
        say(&format!(
            "W2 {threads} threads: waldb {:.0}/s p99 {:.3} ms max {:.3} ms ({:.1} commits/fsync); SQLite {:.0}/s p99 {:.3} ms max {:.3} ms",
            w.rate(),
            ms(w.lat.p99),
            ms(w.lat.max),
            w.per_sync.unwrap_or(0.0),
            s.rate(),
            ms(s.lat.p99),
            ms(s.lat.max)
        ));
        let id = "W2";
        lines.push(Line::new(
            id,
            format!("{threads} threads × {} autocommit inserts", cfg.per_thread),
            "commits/s",
            w.rate(),
            Some(s.rate()),
            Target::AtLeast(min_rate),
        ));
        lines.push(Line::new(
            id,
            format!("  stretch: {threads} threads"),
            "commits/s",
            w.rate(),
            Some(s.rate()),
            Target::AtLeast(stretch),
        ));
        lines.push(Line::new(id, "  latency p50", "ms", ms(w.lat.p50), Some(ms(s.lat.p50)), Target::None));
        lines.push(Line::new(id, "  latency p99", "ms", ms(w.lat.p99), Some(ms(s.lat.p99)), Target::AtMost(max_p99)));
        lines.push(Line::new(id, "  latency p99.9", "ms", ms(w.lat.p999), Some(ms(s.lat.p999)), Target::None));
        lines.push(Line::new(id, "  latency max", "ms", ms(w.lat.max), Some(ms(s.lat.max)), Target::AtMost(5.0)));
        lines.push(Line::new(
            id,
            "  waldb commits per fsync",
            "×",
            w.per_sync.unwrap_or(0.0),
            None,
            Target::AtLeast(0.8 * threads as f64),
        ));
        lines.push(Line::new(
            id,
            "  latency p99 ÷ W0 overwrite p50",
            "fsyncs",
            ms(w.lat.p99) / overwrite_p50_ms.max(1e-9),
            Some(ms(s.lat.p99) / overwrite_p50_ms.max(1e-9)),
            Target::AtMost(2.5),
        ));
        // The disk's speed varies from run to run (and machine to machine);
        // this ratio does not.
        lines.push(Line::new(
            id,
            "  commits/s ÷ W0 overwrite syncs/s",
            "×",
            w.rate() / raw_overwrite.max(1e-9),
            Some(s.rate() / raw_overwrite.max(1e-9)),
            Target::AtLeast(disk_ratio),
        ));
        if threads == 8 {
            lines.push(Line::new(
                id,
                "  commits/s ÷ W1 (1 thread)",
                "×",
                w.rate() / one_thread.max(1e-9),
                None,
                Target::AtLeast(5.0),
            ));
        }
    }

    // W3 — bulk load, one child process per engine and round.
    let mut w3: [Vec<ChildReport>; 2] = [Vec::new(), Vec::new()];
    let mut w3_dirs = [PathBuf::new(), PathBuf::new()];
    for round in 0..cfg.rounds {
        for (i, e) in ENGINES.into_iter().enumerate() {
            let dir = fresh(&root, &format!("w3-{}-{round}", e.name()));
            w3[i].push(run_child("w3", e, &dir, cfg.rows, cfg.rows, false));
            if round > 0 {
                let _ = std::fs::remove_dir_all(&w3_dirs[i]);
            }
            w3_dirs[i] = dir;
        }
    }
    let med = |v: &[ChildReport]| {
        let mut m: Vec<u64> = v.iter().map(|r| r.micros).collect();
        m.sort_unstable();
        Duration::from_micros(m[m.len() / 2])
    };
    let hwm = |v: &[ChildReport]| v.iter().map(|r| r.hwm_kib).max().unwrap_or(0) as f64 / 1024.0;
    let (tw, ts) = (med(&w3[0]), med(&w3[1]));
    say(&format!("W3 bulk insert: waldb {:.3} s, SQLite {:.3} s", tw.as_secs_f64(), ts.as_secs_f64()));
    lines.push(Line::new(
        "W3",
        format!("{} rows in 1 txn", cfg.rows),
        "rows/s",
        rate(cfg.rows, tw),
        Some(rate(cfg.rows, ts)),
        Target::RatioAtLeast(0.7),
    ));
    lines.push(Line::new(
        "W3",
        "  peak RSS of the process",
        "MiB",
        hwm(&w3[0]),
        Some(hwm(&w3[1])),
        Target::AtMost(512.0),
    ));
    let mib = |b: u64| b as f64 / 1048576.0;
    lines.push(Line::new(
        "W3",
        "  files after close",
        "MiB",
        mib(files_bytes(&w3_dirs[0], "")),
        Some(mib(files_bytes(&w3_dirs[1], ""))),
        Target::None,
    ));

    // W4 and W5 on the W3 tables.
    let d3 = Data::new(cfg.rows);
    let want = Expect::of(&d3, cfg.rows);
    let mut conns: [Box<dyn Conn>; 2] = [Engine::Waldb.open(&w3_dirs[0], true), Engine::Sqlite.open(&w3_dirs[1], true)];
    let warm = d3.id_probes(cfg.rows, cfg.lookups / 10 + 1, 1);
    let probes = d3.id_probes(cfg.rows, cfg.lookups, 2);
    for c in conns.iter_mut() {
        c.lookup_ids(&d3, &warm);
    }
    let [w, s] = alternate(&mut conns, cfg.rounds, |c| timed(|| c.lookup_ids(&d3, &probes)).0);
    say(&format!("W4 lookups by id: waldb {:.3} s, SQLite {:.3} s", w.as_secs_f64(), s.as_secs_f64()));
    lines.push(Line::new(
        "W4",
        format!("{} random lookups by id", cfg.lookups),
        "lookups/s",
        rate(cfg.lookups as u64, w),
        Some(rate(cfg.lookups as u64, s)),
        Target::RatioAtLeast(0.5),
    ));

    let avg_len = V_LEN as f64;
    let [w, s] = alternate(&mut conns, cfg.rounds, |c| {
        let (t, got) = timed(|| c.aggregate());
        assert_eq!((got.0, got.1), (want.count, want.sum_k), "aggregate");
        assert!((got.2 - avg_len).abs() < 1e-9, "avg(length(v)) = {}", got.2);
        t
    });
    say(&format!("W5 aggregate: waldb {:.3} s, SQLite {:.3} s", w.as_secs_f64(), s.as_secs_f64()));
    lines.push(Line::new(
        "W5",
        "count(*), sum(k), avg(length(v))",
        "rows/s",
        rate(cfg.rows, w),
        Some(rate(cfg.rows, s)),
        Target::RatioAtLeast(0.5),
    ));
    let ranges: Vec<(i64, i64)> = (0..4)
        .map(|i| {
            let lo = (cfg.rows as i64 / 10) * (2 * i + 1);
            (lo, lo + cfg.rows as i64 / 10)
        })
        .collect();
    let [w, s] = alternate(&mut conns, cfg.rounds, |c| {
        timed(|| {
            for &(lo, hi) in &ranges {
                assert_eq!(c.range(lo, hi), want.range(lo, hi), "k BETWEEN {lo} AND {hi}");
            }
        })
        .0
    });
    say(&format!("W5 ranges: waldb {:.3} s, SQLite {:.3} s", w.as_secs_f64(), s.as_secs_f64()));
    let scanned = cfg.rows * ranges.len() as u64;
    lines.push(Line::new(
        "W5",
        format!("{} × k BETWEEN (10%), no index", ranges.len()),
        "rows/s",
        rate(scanned, w),
        Some(rate(scanned, s)),
        Target::RatioAtLeast(0.5),
    ));

    let [w, s] = alternate(&mut conns, cfg.rounds, |c| {
        c.execute("DROP INDEX IF EXISTS tk");
        timed(|| c.execute("CREATE INDEX tk ON t(k)")).0
    });
    say(&format!("W4 CREATE INDEX: waldb {:.3} s, SQLite {:.3} s", w.as_secs_f64(), s.as_secs_f64()));
    lines.push(Line::new("W4", "CREATE INDEX on k", "s", w.as_secs_f64(), Some(s.as_secs_f64()), Target::None));
    let kprobes: Vec<i64> = probes.iter().map(|&id| d3.k_of(id)).collect();
    let expected: u64 = kprobes.iter().map(|&k| u64::from(want.k_counts[k as usize])).sum();
    for c in conns.iter_mut() {
        c.lookup_ks(&d3, &kprobes[..kprobes.len() / 10]);
    }
    let [w, s] = alternate(&mut conns, cfg.rounds, |c| {
        let (t, found) = timed(|| c.lookup_ks(&d3, &kprobes));
        assert_eq!(found, expected, "rows found by k");
        t
    });
    say(&format!("W4 lookups by k: waldb {:.3} s, SQLite {:.3} s", w.as_secs_f64(), s.as_secs_f64()));
    lines.push(Line::new(
        "W4",
        format!("{} random lookups by k", cfg.lookups),
        "lookups/s",
        rate(cfg.lookups as u64, w),
        Some(rate(cfg.lookups as u64, s)),
        Target::RatioAtLeast(0.5),
    ));
    drop(conns);
    for d in &w3_dirs {
        let _ = std::fs::remove_dir_all(d);
    }

    // W6 — recovery after abort(), W7 — an explicit checkpoint.
    let dl = Data::new(cfg.log_rows);
    let mut crashed = [PathBuf::new(), PathBuf::new()];
    let mut wal_size = [0u64; 2];
    for (i, e) in ENGINES.into_iter().enumerate() {
        crashed[i] = fresh(&root, &format!("w6-{}", e.name()));
        run_child("w6", e, &crashed[i], cfg.log_rows, cfg.log_txn_rows, true);
        wal_size[i] = wal_bytes(e, &crashed[i]);
    }
    let mut rec = [Vec::new(), Vec::new()];
    let mut ckpt = [Vec::new(), Vec::new()];
    for round in 0..cfg.rounds {
        for (i, e) in ENGINES.into_iter().enumerate() {
            let dir = root.join(format!("w6-{}-{round}", e.name()));
            copy_dir(&crashed[i], &dir);
            let (t, n) = timed(|| {
                let mut c = e.open(&dir, false);
                let (n, _, _) = c.aggregate();
                (c, n)
            });
            assert_eq!(n.1, cfg.log_rows as i64, "{}: rows after recovery", e.name());
            rec[i].push(t);
            drop(n.0);
            let _ = std::fs::remove_dir_all(&dir);
            // W7: the same log, written without a crash, then checkpointed.
            let dir = fresh(&root, &format!("w7-{}-{round}", e.name()));
            let mut c = e.open(&dir, false);
            c.create_table();
            c.txn_inserts(&dl, 1..cfg.log_rows as i64 + 1, cfg.log_txn_rows);
            ckpt[i].push(timed(|| c.checkpoint()).0);
            assert_eq!(c.aggregate().0, cfg.log_rows as i64, "{}: rows after checkpoint", e.name());
            drop(c);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let [rw, rs] = rec;
    let (rw, rs) = (median(rw), median(rs));
    say(&format!("W6 recovery: waldb {:.3} s, SQLite {:.3} s", rw.as_secs_f64(), rs.as_secs_f64()));
    lines.push(Line::new(
        "W6",
        format!("open + count(*) after abort, {} rows in the log", cfg.log_rows),
        "s",
        rw.as_secs_f64(),
        Some(rs.as_secs_f64()),
        Target::RatioAtMost(4.0),
    ));
    lines.push(Line::new(
        "W6",
        "  log size at the crash",
        "MiB",
        mib(wal_size[0]),
        Some(mib(wal_size[1])),
        Target::None,
    ));
    let [cw, cs] = ckpt;
    let (cw, cs) = (median(cw), median(cs));
    say(&format!("W7 checkpoint: waldb {:.3} s, SQLite {:.3} s", cw.as_secs_f64(), cs.as_secs_f64()));
    lines.push(Line::new(
        "W7",
        format!("checkpoint of {} rows' log", cfg.log_rows),
        "s",
        cw.as_secs_f64(),
        Some(cs.as_secs_f64()),
        Target::RatioAtMost(2.0),
    ));
    for c in &crashed {
        let _ = std::fs::remove_dir_all(c);
    }
    notes.push("W6: waldb's recovery ends with a checkpoint; SQLite's does not.".into());
    let busy = SQLITE_BUSY_RETRIES.load(Ordering::Relaxed);
    if busy > 0 {
        notes.push(format!(
            "W2: SQLite returned SQLITE_BUSY after its 5,000 ms busy timeout {busy} time(s); the bench retried."
        ));
    }

    // The table.
    println!();
    println!("| | workload | unit | waldb | SQLite | waldb/SQLite | target | |");
    println!("|---|---|---|---:|---:|---:|---|---|");
    for l in &lines {
        let (target, verdict) = l.verdict();
        let num = |x: f64| match l.unit {
            "ms" | "s" | "MiB" => format!("{x:.3}"),
            "×" => format!("{x:.1}"),
            _ => thousands(x),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {target} | {verdict} |",
            l.id,
            l.what,
            l.unit,
            num(l.waldb),
            l.sqlite.map_or("—".into(), num),
            l.ratio().map_or("—".into(), |r| format!("{r:.2}×")),
        );
    }
    println!();
    println!("machine: {}", machine(&root));
    for n in &notes {
        println!("note: {n}");
    }
    if cfg.quick {
        println!(
            "quick mode: sizes are tiny; figures are not meaningful, only that every step completed with correct results."
        );
    }
    drop(root_guard);
}
