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

/// One connection to one engine. Each method runs a whole step with its own
/// prepared statement and checks what it gets back.
trait Conn: Send {
    fn create_table(&mut self);
    /// One autocommit insert per id; the latency of each.
    fn autocommit_inserts(&mut self, d: &Data, ids: Range<i64>) -> Vec<Duration>;
    /// `BEGIN`, `per_txn` inserts, `COMMIT` until `ids` is done; the latency
    /// of each transaction.
    fn txn_inserts(&mut self, d: &Data, ids: Range<i64>, per_txn: u64) -> Vec<Duration>;
    /// Look up `v` by id for each probe.
    fn lookup_ids(&mut self, d: &Data, probes: &[i64]);
    fn execute(&mut self, sql: &str);
    /// Rows found by `k = ?` for each probe (each checked against `d`).
    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64;
    /// count(*), sum(k), avg(length(v)).
    fn aggregate(&mut self) -> (i64, i64, f64);
    /// count(*), sum(k) of `k BETWEEN lo AND hi`.
    fn range(&mut self, lo: i64, hi: i64) -> (i64, i64);
    fn checkpoint(&mut self);
    /// Another connection to the same database, for another thread.
    fn another(&self) -> Box<dyn Conn>;
    /// (commits, fsyncs) so far, where the engine counts them.
    fn commit_syncs(&self) -> Option<(u64, u64)>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Waldb,
    Sqlite,
}

const ENGINES: [Engine; 2] = [Engine::Waldb, Engine::Sqlite];

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Waldb => "waldb",
            Engine::Sqlite => "sqlite",
        }
    }

    fn parse(s: &str) -> Option<Engine> {
        ENGINES.into_iter().find(|e| e.name() == s)
    }

    fn db_path(self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.db", self.name()))
    }

    /// Open the engine's database in `dir`; `autocheckpoint: false` turns
    /// automatic checkpoints off (W6, W7).
    fn open(self, dir: &Path, autocheckpoint: bool) -> Box<dyn Conn> {
        let path = self.db_path(dir);
        match self {
            Engine::Waldb => {
                let mut o = Options::default();
                if !autocheckpoint {
                    o.checkpoint_bytes = None;
                }
                Box::new(Waldb(Database::open_with(path, o).expect("open waldb")))
            }
            Engine::Sqlite => {
                let s = Sqlite::open(&path);
                if !autocheckpoint {
                    s.0.pragma_update(None, "wal_autocheckpoint", 0).expect("wal_autocheckpoint");
                }
                Box::new(s)
            }
        }
    }
}

struct Waldb(Database);

impl Conn for Waldb {
    fn create_table(&mut self) {
        self.0.execute(CREATE, ()).expect("waldb: create table");
    }

    fn autocommit_inserts(&mut self, d: &Data, ids: Range<i64>) -> Vec<Duration> {
        let mut st = self.0.prepare(INSERT).expect("waldb: prepare insert");
        let mut lat = Vec::with_capacity(ids.end.saturating_sub(ids.start) as usize);
        for id in ids {
            let t0 = Instant::now();
            let n = st.execute((id, d.k_of(id), d.v_of(id))).expect("waldb: insert");
            lat.push(t0.elapsed());
            assert_eq!(n, 1, "waldb: insert of {id}");
        }
        lat
    }

    fn txn_inserts(&mut self, d: &Data, ids: Range<i64>, per_txn: u64) -> Vec<Duration> {
        let mut st = self.0.prepare(INSERT).expect("waldb: prepare insert");
        let mut begin = self.0.prepare("BEGIN").expect("waldb: prepare begin");
        let mut commit = self.0.prepare("COMMIT").expect("waldb: prepare commit");
        let mut lat = Vec::new();
        let mut id = ids.start;
        while id < ids.end {
            let t0 = Instant::now();
            begin.execute(()).expect("waldb: begin");
            for _ in 0..per_txn.min((ids.end - id) as u64) {
                assert_eq!(st.execute((id, d.k_of(id), d.v_of(id))).expect("waldb: insert"), 1);
                id += 1;
            }
            commit.execute(()).expect("waldb: commit");
            lat.push(t0.elapsed());
        }
        lat
    }

    fn lookup_ids(&mut self, d: &Data, probes: &[i64]) {
        let mut st = self.0.prepare("SELECT v FROM t WHERE id = ?").expect("waldb: prepare lookup");
        for &id in probes {
            let v: String = st.query_row([id], |r| r.get(0)).expect("waldb: lookup by id");
            assert_eq!(v, d.v_of(id), "waldb: wrong v for id {id}");
        }
    }

    fn execute(&mut self, sql: &str) {
        self.0.execute(sql, ()).unwrap_or_else(|e| panic!("waldb: {sql}: {e}"));
    }

    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64 {
        let mut st = self.0.prepare("SELECT id, v FROM t WHERE k = ?").expect("waldb: prepare lookup by k");
        let mut found = 0;
        for &k in probes {
            for r in &st.query([k]).expect("waldb: lookup by k") {
                let id: i64 = r.get(0).expect("id");
                let v: String = r.get(1).expect("v");
                assert!(d.k_of(id) == k && v == d.v_of(id), "waldb: wrong row {id} for k = {k}");
                found += 1;
            }
        }
        found
    }

    fn aggregate(&mut self) -> (i64, i64, f64) {
        self.0.query_row(AGGREGATE, (), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("waldb: aggregate")
    }

    fn range(&mut self, lo: i64, hi: i64) -> (i64, i64) {
        let mut st = self.0.prepare(RANGE).expect("waldb: prepare range");
        st.query_row((lo, hi), |r| Ok((r.get(0)?, r.get::<Option<i64>>(1)?.unwrap_or(0)))).expect("waldb: range")
    }

    fn checkpoint(&mut self) {
        self.0.checkpoint().expect("waldb: checkpoint");
    }

    fn another(&self) -> Box<dyn Conn> {
        Box::new(Waldb(self.0.clone()))
    }

    fn commit_syncs(&self) -> Option<(u64, u64)> {
        let s = self.0.stats();
        Some((s.wal.commits, s.wal.syncs))
    }
}

struct Sqlite(rusqlite::Connection, PathBuf);

/// Autocommit inserts SQLite gave up on after its busy timeout (retried).
static SQLITE_BUSY_RETRIES: AtomicU64 = AtomicU64::new(0);

impl Sqlite {
    fn open(path: &Path) -> Sqlite {
        let c = rusqlite::Connection::open(path).expect("open sqlite");
        c.busy_timeout(Duration::from_millis(5000)).expect("busy_timeout");
        let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).expect("journal_mode");
        assert_eq!(mode, "wal");
        c.pragma_update(None, "synchronous", "FULL").expect("synchronous");
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("synchronous");
        assert_eq!(sync, 2, "synchronous=FULL");
        Sqlite(c, path.to_path_buf())
    }
}

impl Conn for Sqlite {
    fn create_table(&mut self) {
        self.0.execute(CREATE, []).expect("sqlite: create table");
    }

    fn autocommit_inserts(&mut self, d: &Data, ids: Range<i64>) -> Vec<Duration> {
        let mut st = self.0.prepare(INSERT).expect("sqlite: prepare insert");
        let mut lat = Vec::with_capacity(ids.end.saturating_sub(ids.start) as usize);
        for id in ids {
            let t0 = Instant::now();
            // Past its busy timeout SQLite gives up with SQLITE_BUSY; an
            // application would try again, so the bench does, and the
            // latency includes the wait.
            let n = loop {
                match st.execute((id, d.k_of(id), d.v_of(id))) {
                    Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
                        SQLITE_BUSY_RETRIES.fetch_add(1, Ordering::Relaxed);
                    }
                    r => break r.expect("sqlite: insert"),
                }
            };
            lat.push(t0.elapsed());
            assert_eq!(n, 1, "sqlite: insert of {id}");
        }
        lat
    }

    fn txn_inserts(&mut self, d: &Data, ids: Range<i64>, per_txn: u64) -> Vec<Duration> {
        let mut st = self.0.prepare(INSERT).expect("sqlite: prepare insert");
        let mut begin = self.0.prepare("BEGIN").expect("sqlite: prepare begin");
        let mut commit = self.0.prepare("COMMIT").expect("sqlite: prepare commit");
        let mut lat = Vec::new();
        let mut id = ids.start;
        while id < ids.end {
            let t0 = Instant::now();
            begin.execute([]).expect("sqlite: begin");
            for _ in 0..per_txn.min((ids.end - id) as u64) {
                assert_eq!(st.execute((id, d.k_of(id), d.v_of(id))).expect("sqlite: insert"), 1);
                id += 1;
            }
            commit.execute([]).expect("sqlite: commit");
            lat.push(t0.elapsed());
        }
        lat
    }

    fn lookup_ids(&mut self, d: &Data, probes: &[i64]) {
        let mut st = self.0.prepare("SELECT v FROM t WHERE id = ?").expect("sqlite: prepare lookup");
        for &id in probes {
            let v: String = st.query_row([id], |r| r.get(0)).expect("sqlite: lookup by id");
            assert_eq!(v, d.v_of(id), "sqlite: wrong v for id {id}");
        }
    }

    fn execute(&mut self, sql: &str) {
        self.0.execute(sql, []).unwrap_or_else(|e| panic!("sqlite: {sql}: {e}"));
    }

    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64 {
        let mut st = self.0.prepare("SELECT id, v FROM t WHERE k = ?").expect("sqlite: prepare lookup by k");
        let mut found = 0;
        for &k in probes {
            let mut rows = st.query([k]).expect("sqlite: lookup by k");
            while let Some(r) = rows.next().expect("next row") {
                let id: i64 = r.get(0).expect("id");
                let v: String = r.get(1).expect("v");
                assert!(d.k_of(id) == k && v == d.v_of(id), "sqlite: wrong row {id} for k = {k}");
                found += 1;
            }
        }
        found
    }

    fn aggregate(&mut self) -> (i64, i64, f64) {
        self.0.query_row(AGGREGATE, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("sqlite: aggregate")
    }

    fn range(&mut self, lo: i64, hi: i64) -> (i64, i64) {
        let mut st = self.0.prepare(RANGE).expect("sqlite: prepare range");
        st.query_row((lo, hi), |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0)))).expect("sqlite: range")
    }

    fn checkpoint(&mut self) {
        let (busy, _, _): (i64, i64, i64) = self
            .0
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("sqlite: checkpoint");
        assert_eq!(busy, 0, "sqlite: checkpoint was blocked");
    }

    fn another(&self) -> Box<dyn Conn> {
        Box::new(Sqlite::open(&self.1))
    }

    fn commit_syncs(&self) -> Option<(u64, u64)> {
        None
    }
}

// ---------------------------------------------------------------------------
// Figures

/// Latency percentiles of a sample.
#[derive(Clone, Copy, Debug, Default)]
struct Lat {
    p50: Duration,
    p99: Duration,
    p999: Duration,
    max: Duration,
}

impl Lat {
    fn of(mut v: Vec<Duration>) -> Lat {
        if v.is_empty() {
            return Lat::default();
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
        Lat { p50: at(0.50), p99: at(0.99), p999: at(0.999), max: v[v.len() - 1] }
    }
}

/// One measured run of a throughput step.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    ops: u64,
    time: Duration,
    lat: Lat,
    /// Commits per fsync (waldb).
    per_sync: Option<f64>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.time.as_secs_f64().max(1e-9)
    }
}

/// The run with the median rate.
fn median_run(mut v: Vec<Run>) -> Run {
    v.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    v[v.len() / 2]
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t0 = Instant::now();
    let out = f();
    (t0.elapsed(), out)
}

/// What a line's target says.
#[derive(Clone, Copy, Debug)]
enum Target {
    None,
    /// waldb/SQLite of a rate at least this.
    RatioAtLeast(f64),
    /// waldb/SQLite of a time at most this.
    RatioAtMost(f64),
    /// waldb's figure at least this.
    AtLeast(f64),
    /// waldb's figure at most this.
    AtMost(f64),
}

/// One line of the summary table.
struct Line {
    id: &'static str,
    what: String,
    unit: &'static str,
    waldb: f64,
    sqlite: Option<f64>,
    target: Target,
}

impl Line {
    fn new(id: &'static str, what: impl Into<String>, unit: &'static str, w: f64, s: Option<f64>, t: Target) -> Line {
        Line { id, what: what.into(), unit, waldb: w, sqlite: s, target: t }
    }

    fn ratio(&self) -> Option<f64> {
        self.sqlite.map(|s| self.waldb / s.max(1e-12))
    }

    fn verdict(&self) -> (String, &'static str) {
        let ok = |b: bool| if b { "ok" } else { "MISS" };
        match self.target {
            Target::None => ("—".into(), ""),
            Target::RatioAtLeast(t) => (format!("≥ {t:.1}×"), ok(self.ratio().is_some_and(|r| r >= t))),
            Target::RatioAtMost(t) => (format!("≤ {t:.1}×"), ok(self.ratio().is_some_and(|r| r <= t))),
            Target::AtLeast(t) => (format!("≥ {}", fmt_num(t, self.unit)), ok(self.waldb >= t)),
            Target::AtMost(t) => (format!("≤ {}", fmt_num(t, self.unit)), ok(self.waldb <= t)),
        }
    }
}

fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 && c != '-' {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_num(x: f64, unit: &str) -> String {
    match unit {
        "ms" | "s" | "MiB" => format!("{x:.2} {unit}"),
        "×" => format!("{x:.1}"),
        _ => format!("{} {unit}", thousands(x)),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Bytes of the files under `dir` whose names start with `prefix`.
fn files_bytes(dir: &Path, prefix: &str) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name().to_string_lossy().starts_with(prefix) {
                total += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

/// Bytes of an engine's log files: waldb's segments (preallocated), SQLite's
/// `-wal` file.
fn wal_bytes(e: Engine, dir: &Path) -> u64 {
    files_bytes(dir, &format!("{}.db-wal", e.name()))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// A field of `/proc/self/status` in KiB (Linux).
fn proc_status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

// ---------------------------------------------------------------------------
// Workloads

/// W0: `n` × (4 KiB write + fdatasync); `overwrite` cycles through a
/// preallocated 4 MiB region, otherwise the file grows.
fn raw_syncs(dir: &Path, n: usize, overwrite: bool) -> Run {
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
fn fresh(root: &Path, name: &str) -> PathBuf {
    let d = root.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// W1 and W1b on a fresh database: one connection.
fn single_thread(root: &Path, e: Engine, d: &Data, n: u64, per_txn: Option<u64>) -> Run {
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
fn many_threads(root: &Path, e: Engine, d: &Data, threads: usize, per_thread: u64) -> Run {
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
struct ChildReport {
    micros: u64,
    hwm_kib: u64,
}

/// Run this binary as a child doing `job` for `e` in `dir`.
fn run_child(job: &str, e: Engine, dir: &Path, rows: u64, txn_rows: u64, expect_abort: bool) -> ChildReport {
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
fn child_main(job: &str) {
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
struct Expect {
    count: i64,
    sum_k: i64,
    /// `k` counts, index = k.
    k_counts: Vec<u32>,
}

impl Expect {
    fn of(d: &Data, rows: u64) -> Expect {
        let mut k_counts = vec![0u32; d.domain as usize];
        let mut sum_k = 0;
        for id in 1..=rows as i64 {
            let k = d.k_of(id);
            k_counts[k as usize] += 1;
            sum_k += k;
        }
        Expect { count: rows as i64, sum_k, k_counts }
    }

    fn range(&self, lo: i64, hi: i64) -> (i64, i64) {
        let (mut n, mut s) = (0, 0);
        for k in lo.max(0)..=hi.min(self.k_counts.len() as i64 - 1) {
            n += i64::from(self.k_counts[k as usize]);
            s += k * i64::from(self.k_counts[k as usize]);
        }
        (n, s)
    }
}

/// Alternate `rounds` times between the engines; the median per engine.
fn alternate(
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

fn rate(n: u64, t: Duration) -> f64 {
    n as f64 / t.as_secs_f64().max(1e-9)
}

// ---------------------------------------------------------------------------
// The machine

fn machine(dir: &Path) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(|_| "?".into(), |s| s.trim().to_string());
    // The mount with the longest prefix of the bench directory.
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let fs = std::fs::read_to_string("/proc/mounts")
        .ok()
        .and_then(|m| {
            m.lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() >= 3 && dir.starts_with(f[1]))
                        .then(|| (f[1].len(), format!("{} ({} on {})", f[2], f[0], f[1])))
                })
                .max_by_key(|(n, _)| *n)
                .map(|(_, s)| s)
        })
        .unwrap_or_else(|| "unknown".into());
    format!(
        "{cores} cores ({cpu}), Linux {kernel}, file system {fs}; waldb {}, SQLite {} (rusqlite, bundled); {} build",
        env!("CARGO_PKG_VERSION"),
        rusqlite::version(),
        if cfg!(debug_assertions) { "DEBUG" } else { "release" }
    )
}

// ---------------------------------------------------------------------------

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
    for overwrite in [false, true] {
        let r = median_run((0..cfg.rounds).map(|_| raw_syncs(&root, cfg.syncs, overwrite)).collect());
        let what = if overwrite { "4 KiB write + fdatasync, overwrite" } else { "4 KiB write + fdatasync, append" };
        say(&format!("W0 {what}: {:.0}/s, p50 {:.3} ms, p99 {:.3} ms", r.rate(), ms(r.lat.p50), ms(r.lat.p99)));
        lines.push(Line::new("W0", what, "syncs/s", r.rate(), None, Target::None));
        if overwrite {
            raw_overwrite = r.rate();
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

    // W2 — many committers.
    for (threads, min_rate, max_p99, stretch) in [(8usize, 30_000.0, 0.5, 50_000.0), (16, 45_000.0, 0.7, 80_000.0)] {
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
        lines.push(Line::new(id, "  waldb commits per fsync", "×", w.per_sync.unwrap_or(0.0), None, Target::None));
        // The disk's speed varies from run to run (and machine to machine);
        // this ratio does not.
        lines.push(Line::new(
            id,
            "  commits/s ÷ W0 overwrite syncs/s",
            "×",
            w.rate() / raw_overwrite.max(1e-9),
            Some(s.rate() / raw_overwrite.max(1e-9)),
            Target::None,
        ));
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
