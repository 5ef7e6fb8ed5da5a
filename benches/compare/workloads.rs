//! The workloads W0-W7: raw syncs, single- and multi-threaded commits,
//! the child processes of W3 and W6, and the checked alternation of
//! rounds between the engines.

use super::*;

// ---------------------------------------------------------------------------
// Workloads

/// W0: `n` × (4 KiB write + fdatasync); `overwrite` cycles through a
/// preallocated 4 MiB region, otherwise the file grows.
pub(super) fn raw_syncs(dir: &Path, n: usize, overwrite: bool) -> Run {
    let path = dir.join(if overwrite { "raw-overwrite" } else { "raw-append" });
    let _ = std::fs::remove_file(&path);
    let f = File::create(&path).expect("create raw file");
    let block = [0x5Au8; 4096];
    let region = 4u64 << 20;
    if overwrite {
        for off in (0..region).step_by(4096) {
            f.write_all_at(&block, off).expect("prefill");
        }
        f.sync_all().expect("sync");
    }
    let mut lat = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n as u64 {
        let t = Instant::now();
        let off = if overwrite { (i * 4096) % region } else { i * 4096 };
        f.write_all_at(&block, off).expect("write");
        f.sync_data().expect("fdatasync");
        lat.push(t.elapsed());
    }
    let time = t0.elapsed();
    let _ = std::fs::remove_file(&path);
    Run { ops: n as u64, time, lat: Lat::of(lat), per_sync: None }
}

/// A fresh directory for one engine's round.
pub(super) fn fresh(root: &Path, name: &str) -> PathBuf {
    let d = root.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// W1 and W1b on a fresh database: one connection.
pub(super) fn single_thread(root: &Path, e: Engine, d: &Data, n: u64, per_txn: Option<u64>) -> Run {
    let dir = fresh(root, &format!("w1-{}", e.name()));
    let mut c = e.open(&dir, true);
    c.create_table();
    let ids = 1..n as i64 * per_txn.unwrap_or(1) as i64 + 1;
    let (time, lat) = timed(|| match per_txn {
        None => c.autocommit_inserts(d, ids.clone()),
        Some(k) => c.txn_inserts(d, ids.clone(), k),
    });
    let (count, _, _) = c.aggregate();
    assert_eq!(count, ids.end - 1, "{}: rows after W1", e.name());
    Run { ops: lat.len() as u64, time, lat: Lat::of(lat), per_sync: None }
}

/// W2: `threads` connections (clones) committing `per_thread` autocommit
/// inserts each, started together.
pub(super) fn many_threads(root: &Path, e: Engine, d: &Data, threads: usize, per_thread: u64) -> Run {
    let dir = fresh(root, &format!("w2-{}", e.name()));
    let mut base = e.open(&dir, true);
    base.create_table();
    let before = base.commit_syncs();
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let mut c = base.another();
            let barrier = barrier.clone();
            let text = d.clone();
            std::thread::spawn(move || {
                let start = 1 + (t as u64 * per_thread) as i64;
                barrier.wait();
                c.autocommit_inserts(&text, start..start + per_thread as i64)
            })
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.join().expect("committer thread"));
    }
    let time = t0.elapsed();
    let per_sync = match (before, base.commit_syncs()) {
        (Some((c0, s0)), Some((c1, s1))) => Some((c1 - c0) as f64 / (s1 - s0).max(1) as f64),
        _ => None,
    };
    let (count, _, _) = base.aggregate();
    assert_eq!(count as u64, threads as u64 * per_thread, "{}: rows after W2", e.name());
    Run { ops: lat.len() as u64, time, lat: Lat::of(lat), per_sync }
}

/// What a child process reports.
#[derive(Debug, Default)]
pub(super) struct ChildReport {
    pub(super) micros: u64,
    pub(super) hwm_kib: u64,
}

/// Run this binary as a child doing `job` for `e` in `dir`.
pub(super) fn run_child(job: &str, e: Engine, dir: &Path, rows: u64, txn_rows: u64, expect_abort: bool) -> ChildReport {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .env(CHILD_ENV, job)
        .env("WALDB_COMPARE_ENGINE", e.name())
        .env("WALDB_COMPARE_DIR", dir)
        .env("WALDB_COMPARE_ROWS", rows.to_string())
        .env("WALDB_COMPARE_TXN_ROWS", txn_rows.to_string())
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.success(), !expect_abort, "child {job} {}: {:?}\n{stdout}\n{stderr}", e.name(), out.status);
    let line = stdout.lines().find(|l| l.starts_with("child ")).unwrap_or_else(|| panic!("child said: {stdout}"));
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    ChildReport { micros: field("micros"), hwm_kib: field("hwm_kib") }
}

/// The child's side: W3 (bulk insert, then a clean close) or W6 (the log
/// workload, then `abort()`).
pub(super) fn child_main(job: &str) {
    let e = Engine::parse(&std::env::var("WALDB_COMPARE_ENGINE").unwrap_or_default()).expect("engine");
    let dir = PathBuf::from(std::env::var_os("WALDB_COMPARE_DIR").expect("dir"));
    let rows = env_u64("WALDB_COMPARE_ROWS").expect("rows");
    let txn_rows = env_u64("WALDB_COMPARE_TXN_ROWS").expect("txn rows");
    let d = Data::new(rows);
    let mut c = e.open(&dir, job != "w6");
    c.create_table();
    let (t, _) = timed(|| c.txn_inserts(&d, 1..rows as i64 + 1, txn_rows));
    let hwm = proc_status_kib("VmHWM:").unwrap_or(0);
    println!("child micros={} hwm_kib={hwm}", t.as_micros());
    std::io::stdout().flush().expect("flush");
    if job == "w6" {
        std::process::abort();
    }
}

/// Expected answers over the W3 table.
pub(super) struct Expect {
    pub(super) count: i64,
    pub(super) sum_k: i64,
    /// `k` counts, index = k.
    pub(super) k_counts: Vec<u32>,
}

impl Expect {
    pub(super) fn of(d: &Data, rows: u64) -> Expect {
        let mut k_counts = vec![0u32; d.domain as usize];
        let mut sum_k = 0;
        for id in 1..=rows as i64 {
            let k = d.k_of(id);
            k_counts[k as usize] += 1;
            sum_k += k;
        }
        Expect { count: rows as i64, sum_k, k_counts }
    }

    pub(super) fn range(&self, lo: i64, hi: i64) -> (i64, i64) {
        let (mut n, mut s) = (0, 0);
        for k in lo.max(0)..=hi.min(self.k_counts.len() as i64 - 1) {
            n += i64::from(self.k_counts[k as usize]);
            s += k * i64::from(self.k_counts[k as usize]);
        }
        (n, s)
    }
}

/// Alternate `rounds` times between the engines; the median per engine.
pub(super) fn alternate(
    conns: &mut [Box<dyn Conn>; 2],
    rounds: usize,
    mut f: impl FnMut(&mut dyn Conn) -> Duration,
) -> [Duration; 2] {
    let mut t = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, c) in conns.iter_mut().enumerate() {
            t[i].push(f(c.as_mut()));
        }
    }
    let [w, s] = t;
    [median(w), median(s)]
}

pub(super) fn rate(n: u64, t: Duration) -> f64 {
    n as f64 / t.as_secs_f64().max(1e-9)
}
