//! SQL workload, side by side: waldb and SQLite (rusqlite, bundled) on real
//! files in a temporary directory, both fully durable — SQLite with
//! `journal_mode=WAL` and `synchronous=FULL`, waldb with its default
//! [`Options`] (durable commits, 64 MiB pool). Both use their default page
//! cache otherwise (SQLite: 2 MB; waldb: 64 MiB).
//!
//! On `t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)` with 100-byte `v`:
//!
//! 1. bulk insert of `N` rows (ids 1..=N in order, `k` pseudo-random in
//!    `0..N`) in one transaction through a prepared
//!    `INSERT INTO t VALUES (?, ?, ?)`, commit (durable) included — rows/s;
//! 2. random point lookups by primary key (`SELECT v FROM t WHERE id = ?`,
//!    prepared) — lookups/s;
//! 3. `CREATE INDEX tk ON t(k)` (timed, for information), then random
//!    lookups by `k` (`SELECT id, v FROM t WHERE k = ?`, prepared; every
//!    probed `k` exists) — lookups/s;
//! 4. a full-scan aggregate `SELECT count(*), sum(length(v)), max(k) FROM t`
//!    — rows/s.
//!
//! Both engines get the same rows and the same probes. Each lookup and scan
//! step has an untimed warm-up, then timed rounds that alternate between the
//! engines; the median round is reported. Every result is checked (lookups
//! return the stored `v`, index lookups the expected number of rows, the
//! aggregate `N`, `100·N` and the largest `k`), so the benchmark cannot
//! silently measure nothing. Ratios are waldb/SQLite throughput from the
//! same run, against the targets: bulk insert ≥ 0.5×, lookups ≥ 0.5×,
//! scan ≥ 0.4×.
//!
//! Peak memory: the bulk insert is run again in a child process (this
//! binary, re-executed with `WALDB_BENCH_RSS_CHILD=1`) with waldb's default
//! options, and the child reports its peak RSS (`VmHWM` from
//! `/proc/self/status`, Linux only). Target: ≤ 512 MiB.
//!
//! Run: `cargo bench --bench sql` (full mode, `N` = 1,000,000, 200,000
//! lookups per lookup step). Quick mode (`N` = 20,000, 5,000 lookups; a
//! smoke test that finishes in seconds, ratios not meaningful in a debug
//! build): `WALDB_BENCH_QUICK=1 cargo bench --bench sql`,
//! `cargo bench --bench sql -- --test`, or `cargo test --benches` (which
//! runs bench binaries without `--bench`). `WALDB_BENCH_ROWS`,
//! `WALDB_BENCH_LOOKUPS` and `WALDB_BENCH_ROUNDS` override the sizes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use waldb::{Database, Options};

/// Bytes of every `v`.
const V_LEN: usize = 100;
/// Size of the text `v` values are cut from.
const POOL_LEN: usize = 1 << 16;
/// Set in the re-executed child that measures peak RSS.
const CHILD_ENV: &str = "WALDB_BENCH_RSS_CHILD";
/// Peak RSS target for waldb's bulk insert.
const RSS_TARGET_MIB: f64 = 512.0;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Sizes of one run.
#[derive(Clone, Copy, Debug)]
struct Config {
    quick: bool,
    rows: u64,
    lookups: usize,
    rounds: usize,
}

impl Config {
    fn from_env() -> Config {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let env_quick = std::env::var("WALDB_BENCH_QUICK").ok().filter(|v| !v.is_empty() && v != "0").is_some();
        // `cargo bench` passes `--bench`; `cargo test --benches` does not;
        // `cargo bench -- --test` asks for a test run.
        let quick = env_quick || args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench");
        let (rows, lookups, rounds) = if quick { (20_000, 5_000, 1) } else { (1_000_000, 200_000, 3) };
        Config {
            quick,
            rows: env_u64("WALDB_BENCH_ROWS").unwrap_or(rows).max(1),
            lookups: env_u64("WALDB_BENCH_LOOKUPS").map_or(lookups, |v| v as usize).max(1),
            rounds: env_u64("WALDB_BENCH_ROUNDS").map_or(rounds, |v| v as usize).max(1),
        }
    }
}

/// A 64-bit mixer (splitmix64's finaliser).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The rows and probes, identical for both engines. Row `id` (1..=N) has
/// `k = k_of(id)` and `v = v_of(id)`, computed on the fly, so no engine
/// pays for a copy of the data set in its memory.
struct Data {
    rows: u64,
    /// ASCII text the `v` values are 100-byte windows of.
    text: String,
}

impl Data {
    fn new(rows: u64) -> Data {
        let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
        let text =
            (0..POOL_LEN as u64).map(|i| char::from(alphabet[(mix(i) % alphabet.len() as u64) as usize])).collect();
        Data { rows, text }
    }

    fn k_of(&self, id: i64) -> i64 {
        (mix(id as u64 ^ 0x5EED) % self.rows) as i64
    }

    fn v_of(&self, id: i64) -> &str {
        let at = (mix(id as u64) % (POOL_LEN - V_LEN) as u64) as usize;
        &self.text[at..at + V_LEN]
    }

    /// `n` random ids of existing rows (deterministic per `seed`).
    fn id_probes(&self, n: usize, seed: u64) -> Vec<i64> {
        (0..n as u64).map(|i| 1 + (mix(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % self.rows) as i64).collect()
    }

    /// `n` random `k` values that exist (the `k` of a random row).
    fn k_probes(&self, n: usize, seed: u64) -> Vec<i64> {
        self.id_probes(n, seed).into_iter().map(|id| self.k_of(id)).collect()
    }

    /// How many rows have each `k` (index = k).
    fn k_counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.rows as usize];
        for id in 1..=self.rows as i64 {
            c[self.k_of(id) as usize] += 1;
        }
        c
    }

    fn max_k(&self) -> i64 {
        (1..=self.rows as i64).map(|id| self.k_of(id)).max().unwrap_or(0)
    }
}

/// What one engine does for each step; every method checks its results.
trait Engine {
    fn name(&self) -> &'static str;
    /// Create `t` (not timed).
    fn create_table(&mut self);
    /// Insert every row in one transaction through one prepared statement,
    /// and commit durably.
    fn bulk_insert(&mut self, d: &Data);
    /// Look up `v` by id for each probe; checks each against `d`.
    fn lookup_ids(&mut self, d: &Data, probes: &[i64]);
    fn create_index(&mut self);
    /// Look up (id, v) by k for each probe; returns the rows found (each
    /// checked against `d`).
    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64;
    /// count(*), sum(length(v)), max(k).
    fn scan(&mut self) -> (i64, i64, i64);
}

struct Waldb(Database);

impl Waldb {
    fn open(dir: &Path) -> Waldb {
        Waldb(Database::open_with(dir.join("waldb.db"), Options::default()).expect("open waldb"))
    }
}

impl Engine for Waldb {
    fn name(&self) -> &'static str {
        "waldb"
    }

    fn create_table(&mut self) {
        self.0.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)", ()).expect("create table");
    }

    fn bulk_insert(&mut self, d: &Data) {
        let tx = self.0.transaction().expect("begin");
        let mut st = tx.prepare("INSERT INTO t VALUES (?, ?, ?)").expect("prepare insert");
        for id in 1..=d.rows as i64 {
            let n = st.execute((id, d.k_of(id), d.v_of(id))).expect("insert");
            assert_eq!(n, 1, "waldb: insert of row {id} changed {n} rows");
        }
        drop(st);
        tx.commit().expect("commit");
    }

    fn lookup_ids(&mut self, d: &Data, probes: &[i64]) {
        let mut st = self.0.prepare("SELECT v FROM t WHERE id = ?").expect("prepare lookup");
        for &id in probes {
            let v: String = st.query_row([id], |r| r.get(0)).expect("lookup by id");
            assert_eq!(v, d.v_of(id), "waldb: wrong v for id {id}");
        }
    }

    fn create_index(&mut self) {
        self.0.execute("CREATE INDEX tk ON t(k)", ()).expect("create index");
    }

    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64 {
        let mut st = self.0.prepare("SELECT id, v FROM t WHERE k = ?").expect("prepare lookup by k");
        let mut found = 0;
        for &k in probes {
            let rows = st.query([k]).expect("lookup by k");
            assert!(!rows.is_empty(), "waldb: no row with k = {k}");
            for r in &rows {
                let id: i64 = r.get(0).expect("id");
                let v: String = r.get(1).expect("v");
                assert!(d.k_of(id) == k && v == d.v_of(id), "waldb: wrong row {id} for k = {k}");
                found += 1;
            }
        }
        found
    }

    fn scan(&mut self) -> (i64, i64, i64) {
        self.0
            .query_row("SELECT count(*), sum(length(v)), max(k) FROM t", (), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("scan")
    }
}

struct Sqlite(rusqlite::Connection);

impl Sqlite {
    fn open(dir: &Path) -> Sqlite {
        let c = rusqlite::Connection::open(dir.join("sqlite.db")).expect("open sqlite");
        let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).expect("journal_mode");
        assert_eq!(mode, "wal");
        c.pragma_update(None, "synchronous", "FULL").expect("synchronous");
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("synchronous");
        assert_eq!(sync, 2, "synchronous=FULL");
        Sqlite(c)
    }
}

impl Engine for Sqlite {
    fn name(&self) -> &'static str {
        "SQLite"
    }

    fn create_table(&mut self) {
        self.0.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)", []).expect("create table");
    }

    fn bulk_insert(&mut self, d: &Data) {
        let tx = self.0.transaction().expect("begin");
        {
            let mut st = tx.prepare("INSERT INTO t VALUES (?, ?, ?)").expect("prepare insert");
            for id in 1..=d.rows as i64 {
                let n = st.execute((id, d.k_of(id), d.v_of(id))).expect("insert");
                assert_eq!(n, 1, "SQLite: insert of row {id} changed {n} rows");
            }
        }
        tx.commit().expect("commit");
    }

    fn lookup_ids(&mut self, d: &Data, probes: &[i64]) {
        let mut st = self.0.prepare("SELECT v FROM t WHERE id = ?").expect("prepare lookup");
        for &id in probes {
            let v: String = st.query_row([id], |r| r.get(0)).expect("lookup by id");
            assert_eq!(v, d.v_of(id), "SQLite: wrong v for id {id}");
        }
    }

    fn create_index(&mut self) {
        self.0.execute("CREATE INDEX tk ON t(k)", []).expect("create index");
    }

    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64 {
        let mut st = self.0.prepare("SELECT id, v FROM t WHERE k = ?").expect("prepare lookup by k");
        let mut found = 0;
        for &k in probes {
            let mut rows = st.query([k]).expect("lookup by k");
            let mut here = 0;
            while let Some(r) = rows.next().expect("next row") {
                let id: i64 = r.get(0).expect("id");
                let v: String = r.get(1).expect("v");
                assert!(d.k_of(id) == k && v == d.v_of(id), "SQLite: wrong row {id} for k = {k}");
                here += 1;
            }
            assert!(here > 0, "SQLite: no row with k = {k}");
            found += here;
        }
        found
    }

    fn scan(&mut self) -> (i64, i64, i64) {
        self.0
            .query_row("SELECT count(*), sum(length(v)), max(k) FROM t", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("scan")
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t0 = Instant::now();
    let out = f();
    (t0.elapsed(), out)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Bytes of the files in `dir` whose names start with `prefix`.
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

/// A field of `/proc/self/status` in KiB (Linux).
fn proc_status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// The child: waldb's bulk insert with default options, then its peak RSS.
fn rss_child(cfg: Config) {
    let d = Data::new(cfg.rows);
    let dir = tempfile::tempdir().expect("temp dir");
    let before = proc_status_kib("VmRSS:").unwrap_or(0);
    let mut w = Waldb::open(dir.path());
    w.create_table();
    let (t, ()) = timed(|| w.bulk_insert(&d));
    let (n, _, _) = w.scan();
    assert_eq!(n, cfg.rows as i64, "child: row count after the bulk insert");
    let hwm = proc_status_kib("VmHWM:").expect("VmHWM in /proc/self/status");
    println!("rss-child hwm_kib={hwm} before_kib={before} insert_ms={}", t.as_millis());
}

struct Rss {
    hwm_kib: u64,
    before_kib: u64,
    insert: Duration,
}

fn measure_rss(cfg: Config) -> Option<Rss> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .env(CHILD_ENV, "1")
        .env("WALDB_BENCH_ROWS", cfg.rows.to_string())
        .output()
        .expect("run the RSS child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "RSS child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().find(|l| l.starts_with("rss-child "))?;
    let field = |name: &str| -> Option<u64> {
        line.split_whitespace().find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    Some(Rss {
        hwm_kib: field("hwm_kib")?,
        before_kib: field("before_kib")?,
        insert: Duration::from_millis(field("insert_ms")?),
    })
}

fn rate(n: u64, t: Duration) -> f64 {
    n as f64 / t.as_secs_f64().max(1e-9)
}

fn fmt_rate(r: f64) -> String {
    let s = format!("{:.0}", r);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One line of the summary.
struct Line {
    step: String,
    unit: &'static str,
    waldb: f64,
    sqlite: f64,
    times: (Duration, Duration),
    target: Option<f64>,
}

fn main() {
    let cfg = Config::from_env();
    if std::env::var_os(CHILD_ENV).is_some() {
        rss_child(cfg);
        return;
    }
    let mode = if cfg.quick { "quick (smoke test)" } else { "full" };
    println!(
        "sql bench, {mode} mode: {} rows, {} lookups per lookup step, {} timed round(s){}",
        cfg.rows,
        cfg.lookups,
        cfg.rounds,
        if cfg!(debug_assertions) { " — DEBUG BUILD, figures not meaningful" } else { "" }
    );
    let d = Data::new(cfg.rows);
    let k_counts = d.k_counts();
    let max_k = d.max_k();
    let dir = tempfile::tempdir().expect("temp dir");
    let (wdir, sdir) = (dir.path().join("waldb"), dir.path().join("sqlite"));
    std::fs::create_dir_all(&wdir).expect("mkdir");
    std::fs::create_dir_all(&sdir).expect("mkdir");

    // Warm-up: code paths and allocator, on scratch databases.
    {
        let warm = Data::new(cfg.rows.min(10_000));
        let scratch = tempfile::tempdir().expect("temp dir");
        let mut engines: [Box<dyn Engine>; 2] =
            [Box::new(Waldb::open(scratch.path())), Box::new(Sqlite::open(scratch.path()))];
        for e in &mut engines {
            e.create_table();
            e.bulk_insert(&warm);
        }
    }

    let mut engines: [Box<dyn Engine>; 2] = [Box::new(Waldb::open(&wdir)), Box::new(Sqlite::open(&sdir))];
    let mut lines = Vec::new();
    let pair = |f: &mut dyn FnMut(&mut dyn Engine) -> Duration, engines: &mut [Box<dyn Engine>; 2]| {
        let mut w = Vec::new();
        let mut s = Vec::new();
        for _ in 0..cfg.rounds {
            w.push(f(&mut *engines[0]));
            s.push(f(&mut *engines[1]));
        }
        (median(w), median(s))
    };

    // 1. Bulk insert.
    let mut insert = [Duration::ZERO; 2];
    for (i, e) in engines.iter_mut().enumerate() {
        e.create_table();
        insert[i] = timed(|| e.bulk_insert(&d)).0;
    }
    lines.push(Line {
        step: format!("bulk insert, 1 txn ({} rows)", cfg.rows),
        unit: "rows/s",
        waldb: rate(cfg.rows, insert[0]),
        sqlite: rate(cfg.rows, insert[1]),
        times: (insert[0], insert[1]),
        target: Some(0.5),
    });
    for e in engines.iter_mut() {
        let (n, sum, mk) = e.scan();
        assert_eq!(
            (n, sum, mk),
            (cfg.rows as i64, cfg.rows as i64 * V_LEN as i64, max_k),
            "{}: after insert",
            e.name()
        );
    }

    // 2. Point lookups by primary key.
    let warm = d.id_probes(cfg.lookups / 10 + 1, 1);
    let probes = d.id_probes(cfg.lookups, 2);
    for e in engines.iter_mut() {
        e.lookup_ids(&d, &warm);
    }
    let (w, s) = pair(&mut |e: &mut dyn Engine| timed(|| e.lookup_ids(&d, &probes)).0, &mut engines);
    lines.push(Line {
        step: format!("lookup by id ({} random)", cfg.lookups),
        unit: "lookups/s",
        waldb: rate(cfg.lookups as u64, w),
        sqlite: rate(cfg.lookups as u64, s),
        times: (w, s),
        target: Some(0.5),
    });

    // 3. Secondary index, then lookups by k.
    let mut index = [Duration::ZERO; 2];
    for (i, e) in engines.iter_mut().enumerate() {
        index[i] = timed(|| e.create_index()).0;
    }
    lines.push(Line {
        step: "CREATE INDEX tk ON t(k)".into(),
        unit: "rows/s",
        waldb: rate(cfg.rows, index[0]),
        sqlite: rate(cfg.rows, index[1]),
        times: (index[0], index[1]),
        target: None,
    });
    let warm = d.k_probes(cfg.lookups / 10 + 1, 3);
    let probes = d.k_probes(cfg.lookups, 4);
    let expected: u64 = probes.iter().map(|&k| u64::from(k_counts[k as usize])).sum();
    for e in engines.iter_mut() {
        e.lookup_ks(&d, &warm);
    }
    let (w, s) = pair(
        &mut |e: &mut dyn Engine| {
            let (t, found) = timed(|| e.lookup_ks(&d, &probes));
            assert_eq!(found, expected, "{}: rows found by k", e.name());
            t
        },
        &mut engines,
    );
    lines.push(Line {
        step: format!("lookup by k ({} random, {expected} rows)", cfg.lookups),
        unit: "lookups/s",
        waldb: rate(cfg.lookups as u64, w),
        sqlite: rate(cfg.lookups as u64, s),
        times: (w, s),
        target: Some(0.5),
    });

    // 4. Full-scan aggregate.
    let want = (cfg.rows as i64, cfg.rows as i64 * V_LEN as i64, max_k);
    for e in engines.iter_mut() {
        assert_eq!(e.scan(), want, "{}: aggregate", e.name());
    }
    let (w, s) = pair(
        &mut |e: &mut dyn Engine| {
            let (t, got) = timed(|| e.scan());
            assert_eq!(got, want, "{}: aggregate", e.name());
            t
        },
        &mut engines,
    );
    lines.push(Line {
        step: "scan: count, sum(length(v)), max(k)".into(),
        unit: "rows/s",
        waldb: rate(cfg.rows, w),
        sqlite: rate(cfg.rows, s),
        times: (w, s),
        target: Some(0.4),
    });
    drop(engines);
    let (wbytes, sbytes) = (files_bytes(&wdir, ""), files_bytes(&sdir, ""));

    println!();
    println!(
        "| step | unit | waldb | SQLite | waldb time | SQLite time | waldb/SQLite | target | |\n|---|---|---:|---:|---:|---:|---:|---:|---|"
    );
    for l in &lines {
        let ratio = l.waldb / l.sqlite;
        let (target, verdict) = match l.target {
            Some(t) => (format!("≥ {t:.1}×"), if ratio >= t { "ok" } else { "MISS" }),
            None => ("—".into(), ""),
        };
        println!(
            "| {} | {} | {} | {} | {:.3} s | {:.3} s | {ratio:.2}× | {target} | {verdict} |",
            l.step,
            l.unit,
            fmt_rate(l.waldb),
            fmt_rate(l.sqlite),
            l.times.0.as_secs_f64(),
            l.times.1.as_secs_f64()
        );
    }
    println!(
        "\nfiles after the run (closed): waldb {:.1} MiB, SQLite {:.1} MiB",
        wbytes as f64 / 1048576.0,
        sbytes as f64 / 1048576.0
    );

    match measure_rss(cfg) {
        Some(r) => {
            let peak = r.hwm_kib as f64 / 1024.0;
            println!(
                "peak RSS of waldb's bulk insert ({} rows, default options, own process): {peak:.1} MiB (process before open: {:.1} MiB; insert {:.3} s) — target ≤ {RSS_TARGET_MIB:.0} MiB: {}",
                cfg.rows,
                r.before_kib as f64 / 1024.0,
                r.insert.as_secs_f64(),
                if peak <= RSS_TARGET_MIB { "ok" } else { "MISS" }
            );
        }
        None => println!("peak RSS: not available (needs /proc/self/status)"),
    }
}
