//! Figures and their report: latency percentiles, medians, the summary
//! table's lines and targets, file sizes, peak RSS, and the machine.

use super::*;

// ---------------------------------------------------------------------------
// Figures

/// Latency percentiles of a sample.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Lat {
    pub(super) p50: Duration,
    pub(super) p99: Duration,
    pub(super) p999: Duration,
    pub(super) max: Duration,
}

impl Lat {
    pub(super) fn of(mut v: Vec<Duration>) -> Lat {
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
pub(super) struct Run {
    pub(super) ops: u64,
    pub(super) time: Duration,
    pub(super) lat: Lat,
    /// Commits per fsync (waldb).
    pub(super) per_sync: Option<f64>,
}

impl Run {
    pub(super) fn rate(&self) -> f64 {
        self.ops as f64 / self.time.as_secs_f64().max(1e-9)
    }
}

/// The run with the median rate.
pub(super) fn median_run(mut v: Vec<Run>) -> Run {
    v.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    v[v.len() / 2]
}

pub(super) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub(super) fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t0 = Instant::now();
    let out = f();
    (t0.elapsed(), out)
}

/// What a line's target says.
#[derive(Clone, Copy, Debug)]
pub(super) enum Target {
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
pub(super) struct Line {
    pub(super) id: &'static str,
    pub(super) what: String,
    pub(super) unit: &'static str,
    pub(super) waldb: f64,
    pub(super) sqlite: Option<f64>,
    pub(super) target: Target,
}

impl Line {
    pub(super) fn new(
        id: &'static str,
        what: impl Into<String>,
        unit: &'static str,
        w: f64,
        s: Option<f64>,
        t: Target,
    ) -> Line {
        Line { id, what: what.into(), unit, waldb: w, sqlite: s, target: t }
    }

    pub(super) fn ratio(&self) -> Option<f64> {
        self.sqlite.map(|s| self.waldb / s.max(1e-12))
    }

    pub(super) fn verdict(&self) -> (String, &'static str) {
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

pub(super) fn thousands(x: f64) -> String {
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

pub(super) fn fmt_num(x: f64, unit: &str) -> String {
    match unit {
        "ms" | "s" | "MiB" => format!("{x:.2} {unit}"),
        "fsyncs" => format!("{x:.1} {unit}"),
        "×" => format!("{x:.1}"),
        _ => format!("{} {unit}", thousands(x)),
    }
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Bytes of the files under `dir` whose names start with `prefix`.
pub(super) fn files_bytes(dir: &Path, prefix: &str) -> u64 {
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
pub(super) fn wal_bytes(e: Engine, dir: &Path) -> u64 {
    files_bytes(dir, &format!("{}.db-wal", e.name()))
}

pub(super) fn copy_dir(from: &Path, to: &Path) {
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
pub(super) fn proc_status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

// ---------------------------------------------------------------------------
// The machine

pub(super) fn machine(dir: &Path) -> String {
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
