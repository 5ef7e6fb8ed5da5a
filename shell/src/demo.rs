//! `waldb demo crash`: the live zero-loss demonstration.
//!
//! # The workload
//!
//! A bank: `accounts(id, balance)` with a constant total, and `ledger(id,
//! src, dst, amount)`. A transfer is one transaction — debit, credit, ledger
//! row — so after any crash every account must equal its initial balance
//! plus its ledger credits minus its ledger debits (both sides or neither),
//! and the total is unchanged. Beside it, numbered autocommit inserts into
//! `items(n, thread)`. Several threads run both, each on its own handle.
//! A commit is **acknowledged** once `commit()` (or the autocommit
//! `execute`) has returned `Ok`, and only then reported.
//!
//! # SIGKILL mode (default)
//!
//! The parent re-executes itself as the hidden `waldb demo child`, which
//! opens the database (printing `READY`), runs the workload and prints one
//! line per acknowledged commit on its stdout (`T <ledger id>` or
//! `I <item n>`). After a random delay from `READY` the
//! parent kills it with SIGKILL ([`Child::kill`](std::process::Child::kill)),
//! reopens the database — which runs recovery — and checks every
//! acknowledged commit is there and nothing is half-applied. `kill -9`
//! leaves the OS page cache intact, so this shows process crashes only.
//!
//! # Power-loss mode (`--power-loss`)
//!
//! The same workload runs in threads on a [`SimVfs`]; at a random moment the
//! simulated machine loses power ([`SimVfs::crash_now`]), its unsynced
//! writes are dropped, kept or torn (a loss mode drawn per round from
//! [`LossMode::SWEEP`]), and the database is recovered from that crash image.
//!
//! A lost acknowledged commit, or a half-applied transfer, is a loud report
//! and exit status 1.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use waldb::vfs::{LossMode, SimVfs, Vfs};
use waldb::{Database, Options};

/// Accounts in the bank.
const ACCOUNTS: i64 = 16;
/// Initial balance of each account.
const INITIAL: i64 = 1_000;
/// Ledger ids and item numbers of one round start at a multiple of this,
/// above every id already in the database (so a reused FILE never collides).
const ROUND_SPAN: i64 = 1_000_000_000;
/// Ledger ids of one thread within a round.
const THREAD_SPAN: i64 = 10_000_000;

/// `waldb demo …`.
#[derive(Debug, clap::Subcommand)]
pub enum DemoCommand {
    /// Kill a writer at random moments and prove every acknowledged commit survives.
    Crash(CrashArgs),
    /// The child process of `demo crash` (internal).
    #[command(hide = true)]
    Child(ChildArgs),
}

/// `waldb demo crash [FILE] [--rounds N] [--power-loss]`.
#[derive(Debug, clap::Args)]
pub struct CrashArgs {
    /// Database file (a temporary one if omitted; with --power-loss, its
    /// name on the simulated disk).
    pub file: Option<PathBuf>,
    /// Crash-and-recover rounds.
    #[arg(long, default_value_t = 10)]
    pub rounds: u32,
    /// Simulate power loss on the simulated file system instead of SIGKILL.
    #[arg(long)]
    pub power_loss: bool,
    /// Writer threads.
    #[arg(long, default_value_t = 4)]
    pub threads: u32,
    /// Seed of the random crash moments (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Arguments of the internal child process.
#[derive(Debug, clap::Args)]
pub struct ChildArgs {
    /// Database file.
    pub file: PathBuf,
    /// Writer threads.
    #[arg(long, default_value_t = 4)]
    pub threads: u32,
    /// Ledger ids and item numbers start above this.
    #[arg(long, default_value_t = 0)]
    pub base: i64,
    /// Seed of the workload's choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Run a demo subcommand; the exit code is 1 if any commit was lost.
pub fn run(cmd: &DemoCommand) -> ExitCode {
    match cmd {
        DemoCommand::Child(a) => match child(a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("waldb demo child: {e}");
                ExitCode::from(2)
            }
        },
        DemoCommand::Crash(a) => match crash(a) {
            Ok(0) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("waldb demo crash: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// xorshift64*: small, seeded, good enough for crash moments.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What a writer reports: a ledger id or an item number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ack {
    Transfer(i64),
    Item(i64),
}

impl Ack {
    fn line(self) -> String {
        match self {
            Ack::Transfer(id) => format!("T {id}"),
            Ack::Item(n) => format!("I {n}"),
        }
    }
    fn parse(line: &str) -> Option<Ack> {
        let (kind, n) = line.trim().split_once(' ')?;
        let n = n.parse().ok()?;
        match kind {
            "T" => Some(Ack::Transfer(n)),
            "I" => Some(Ack::Item(n)),
            _ => None,
        }
    }
}

fn e2s(e: waldb::Error) -> String {
    e.to_string()
}

/// Create the tables and accounts if they are not there.
fn setup(db: &Database) -> Result<(), String> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS ledger(id INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, amount INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS items(n INTEGER PRIMARY KEY, thread INTEGER NOT NULL);",
    )
    .map_err(e2s)?;
    let n: i64 = db.query_row("SELECT count(*) FROM accounts", (), |r| r.get(0)).map_err(e2s)?;
    if n == 0 {
        let tx = db.transaction().map_err(e2s)?;
        for id in 1..=ACCOUNTS {
            tx.execute("INSERT INTO accounts(id, balance) VALUES (?, ?)", (id, INITIAL)).map_err(e2s)?;
        }
        tx.commit().map_err(e2s)?;
    }
    Ok(())
}

/// Where the next round's ids start: a multiple of [`ROUND_SPAN`] above
/// every ledger id and item number in the database.
fn next_base(db: &Database) -> Result<i64, String> {
    let max: i64 = db
        .query_row(
            "SELECT max(coalesce((SELECT max(id) FROM ledger), 0), coalesce((SELECT max(n) FROM items), 0))",
            (),
            |r| r.get(0),
        )
        .map_err(e2s)?;
    Ok((max.max(0) / ROUND_SPAN + 1) * ROUND_SPAN)
}

/// One writer thread: transfers and inserts until an error (a crash) or
/// `stop`; `ack` is called after each acknowledged commit. An error is
/// printed to stderr when `loud` (in the child, where none is expected).
fn writer(db: &Database, thread: u32, base: i64, seed: u64, loud: bool, stop: &AtomicBool, ack: &mut dyn FnMut(Ack)) {
    let mut rng = Rng::new(seed ^ (u64::from(thread) << 32) ^ base as u64);
    let base = base + i64::from(thread) * THREAD_SPAN;
    let mut k = 0i64;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        let id = base + k;
        let r = if rng.below(3) < 2 {
            let src = 1 + rng.below(ACCOUNTS as u64) as i64;
            let dst = 1 + (src + rng.below(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS;
            let amount = 1 + rng.below(50) as i64;
            transfer(db, id, src, dst, amount).map(|()| Ack::Transfer(id))
        } else {
            db.execute("INSERT INTO items(n, thread) VALUES (?, ?)", (id, i64::from(thread))).map(|_| Ack::Item(id))
        };
        match r {
            Ok(a) => ack(a),
            Err(e) => {
                if loud {
                    eprintln!("waldb demo child: writer {thread} stops: {e}");
                }
                return;
            }
        }
    }
}

fn transfer(db: &Database, id: i64, src: i64, dst: i64, amount: i64) -> waldb::Result<()> {
    let tx = db.transaction()?;
    tx.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, src))?;
    tx.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, dst))?;
    tx.execute("INSERT INTO ledger(id, src, dst, amount) VALUES (?, ?, ?, ?)", (id, src, dst, amount))?;
    tx.commit()?;
    Ok(())
}

/// The hidden child: run the workload, print each acknowledged commit.
fn child(a: &ChildArgs) -> Result<(), String> {
    let db = Database::open(&a.file).map_err(e2s)?;
    setup(&db)?;
    let mut so = std::io::stdout();
    // Opened and recovered: the parent's random delay starts now.
    so.write_all(b"READY\n").and_then(|()| so.flush()).map_err(|e| format!("stdout: {e}"))?;
    let out = Arc::new(Mutex::new(so));
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..a.threads.max(1) {
            let db = db.clone();
            let out = out.clone();
            let stop = &stop;
            s.spawn(move || {
                writer(&db, t, a.base, a.seed, true, stop, &mut |ack| {
                    if let Ok(mut o) = out.lock() {
                        // One write per line, flushed: the parent sees whole lines only.
                        let _ = o.write_all(format!("{}\n", ack.line()).as_bytes());
                        let _ = o.flush();
                    }
                });
            });
        }
    });
    Ok(())
}

/// What a reopened database holds, checked against the acknowledgements.
#[derive(Debug, Default)]
struct Verdict {
    transfers: usize,
    items: usize,
    lost: Vec<Ack>,
    problems: Vec<String>,
}

fn verify(db: &Database, acked: &HashSet<Ack>) -> Result<Verdict, String> {
    let mut v = Verdict::default();
    let balances: BTreeMap<i64, i64> = db
        .query("SELECT id, balance FROM accounts", ())
        .map_err(e2s)?
        .iter()
        .map(|r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)))
        .collect::<waldb::Result<_>>()
        .map_err(e2s)?;
    let mut expected: BTreeMap<i64, i64> = (1..=ACCOUNTS).map(|id| (id, INITIAL)).collect();
    let mut ledger = HashSet::new();
    for r in &db.query("SELECT id, src, dst, amount FROM ledger", ()).map_err(e2s)? {
        let (id, src, dst, amount): (i64, i64, i64, i64) =
            (r.get(0).map_err(e2s)?, r.get(1).map_err(e2s)?, r.get(2).map_err(e2s)?, r.get(3).map_err(e2s)?);
        *expected.entry(src).or_default() -= amount;
        *expected.entry(dst).or_default() += amount;
        ledger.insert(id);
    }
    let mut items = HashSet::new();
    for r in &db.query("SELECT n FROM items", ()).map_err(e2s)? {
        items.insert(r.get::<i64>(0).map_err(e2s)?);
    }
    v.transfers = ledger.len();
    v.items = items.len();
    let total: i64 = balances.values().sum();
    if total != ACCOUNTS * INITIAL {
        v.problems.push(format!("total balance is {total}, expected {}", ACCOUNTS * INITIAL));
    }
    if balances != expected {
        let bad: Vec<String> = expected
            .iter()
            .filter(|(id, want)| balances.get(id) != Some(want))
            .map(|(id, want)| format!("account {id}: {:?}, ledger says {want}", balances.get(id)))
            .take(5)
            .collect();
        v.problems.push(format!("half-applied transfers: {}", bad.join("; ")));
    }
    for a in acked {
        let there = match a {
            Ack::Transfer(id) => ledger.contains(id),
            Ack::Item(n) => items.contains(n),
        };
        if !there {
            v.lost.push(*a);
        }
    }
    Ok(v)
}

struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(rounds: u32) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(u64::from(rounds));
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} rounds {msg}") {
                b.set_style(style);
            }
            b
        });
        Progress { bar }
    }
    fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }
    fn inc(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
            b.inc(1);
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Totals across rounds.
#[derive(Debug, Default)]
struct Totals {
    acked: HashSet<Ack>,
    lost: Vec<Ack>,
    problems: Vec<String>,
    recovery: Vec<Duration>,
}

fn crash(a: &CrashArgs) -> Result<usize, String> {
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = Rng::new(seed);
    let rounds = a.rounds.max(1);
    let threads = a.threads.clamp(1, 64);
    let mode = if a.power_loss { "simulated power loss (SimVfs)" } else { "SIGKILL of a child process" };
    let _tmp;
    let path = match &a.file {
        Some(p) => p.clone(),
        None if a.power_loss => PathBuf::from("/demo/bank.db"),
        None => {
            let d = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
            let p = d.path().join("bank.db");
            _tmp = d;
            p
        }
    };
    println!("waldb demo crash: {rounds} rounds, {threads} writer threads, {mode}, seed {seed}");
    if a.power_loss {
        println!("database: {} on a simulated disk", path.display());
    } else {
        println!("database: {}", path.display());
    }
    let progress = Progress::new(rounds);
    let mut totals = Totals::default();
    let mut sim = SimVfs::new(seed);
    let mut base = {
        let db = if a.power_loss { sim_open(&sim, &path)? } else { Database::open(&path).map_err(e2s)? };
        setup(&db)?;
        let b = next_base(&db)?;
        db.close().map_err(e2s)?;
        b
    };
    for round in 1..=rounds {
        let delay = Duration::from_millis(50 + rng.below(351));
        let (acks, killed_after, note) = if a.power_loss {
            let (acks, image_vfs, note) = power_round(&sim, &path, base, threads, rng.next(), delay, &mut rng)?;
            sim = image_vfs;
            (acks, delay, note)
        } else {
            let acks = kill_round(&path, base, threads, rng.next(), delay)?;
            (acks, delay, "SIGKILL".to_string())
        };
        let new = acks.len();
        totals.acked.extend(acks);
        let t0 = Instant::now();
        let db = if a.power_loss { sim_open(&sim, &path) } else { Database::open(&path).map_err(e2s) };
        let db = db.map_err(|e| format!("round {round}: reopening after the crash failed: {e}"))?;
        let recovery = db.recovery_report().duration.max(Duration::from_micros(1));
        let open_time = t0.elapsed();
        let v = verify(&db, &totals.acked)?;
        base = next_base(&db)?;
        totals.recovery.push(recovery);
        let line = format!(
            "round {round:>3}/{rounds}: {note} after {} ms; {new:>5} acks (total {:>6}); recovered {} transfers + {} \
             items; recovery {:.1} ms (open {:.1} ms); lost {}",
            killed_after.as_millis(),
            totals.acked.len(),
            v.transfers,
            v.items,
            recovery.as_secs_f64() * 1e3,
            open_time.as_secs_f64() * 1e3,
            v.lost.len()
        );
        progress.println(&line);
        for p in &v.problems {
            progress.println(&format!("!!! round {round}: {p}"));
        }
        for l in v.lost.iter().take(10) {
            progress.println(&format!("!!! round {round}: LOST acknowledged commit {l:?}"));
        }
        totals.lost.extend(v.lost);
        totals.problems.extend(v.problems);
        progress.inc(format!("{} acks, lost {}", totals.acked.len(), totals.lost.len()));
        if a.power_loss {
            // Close cleanly so the next round starts from this disk.
            db.close().map_err(|e| format!("round {round}: close: {e}"))?;
        } else {
            drop(db);
        }
    }
    progress.finish();
    let mut rec = totals.recovery.clone();
    rec.sort();
    let p50 = rec.get(rec.len() / 2).copied().unwrap_or_default();
    let max = rec.last().copied().unwrap_or_default();
    println!(
        "summary: rounds: {rounds}, acknowledged commits: {}, lost: {}, half-applied: {}, recovery p50 {:.1} ms, max \
         {:.1} ms",
        totals.acked.len(),
        totals.lost.len(),
        totals.problems.len(),
        p50.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    let bad = totals.lost.len() + totals.problems.len();
    if bad > 0 {
        eprintln!(
            "!!!!!!!! DURABILITY VIOLATED: {} acknowledged commit(s) lost, {} consistency problem(s) !!!!!!!!",
            totals.lost.len(),
            totals.problems.len()
        );
    }
    Ok(bad)
}

/// One SIGKILL round; returns the acknowledged commits the child reported.
fn kill_round(path: &Path, base: i64, threads: u32, seed: u64, delay: Duration) -> Result<Vec<Ack>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut child = Command::new(exe)
        .args(["demo", "child"])
        .arg(path)
        .args(["--threads", &threads.to_string(), "--base", &base.to_string(), "--seed", &seed.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the child process: {e}"))?;
    let stdout = child.stdout.take().ok_or("the child has no stdout")?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line == "READY" {
                let _ = ready_tx.send(());
            } else if let Some(a) = Ack::parse(&line) {
                acks.push(a);
            }
        }
        acks
    });
    // The delay counts from the moment the child has opened the database.
    if ready_rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the child process did not open the database (see its error above)".into());
    }
    std::thread::sleep(delay);
    // SIGKILL on Unix: no chance to flush or close anything.
    let _ = child.kill();
    let _ = child.wait();
    reader.join().map_err(|_| "the reader of the child's acknowledgements panicked".to_string())
}

fn sim_open(vfs: &SimVfs, path: &Path) -> Result<Database, String> {
    Database::open_on(Arc::new(vfs.clone()) as Arc<dyn Vfs>, path, Options::default()).map_err(e2s)
}

/// One power-loss round on `sim`: returns the acknowledged commits and the
/// disk as it boots after the crash.
fn power_round(
    sim: &SimVfs,
    path: &Path,
    base: i64,
    threads: u32,
    seed: u64,
    delay: Duration,
    rng: &mut Rng,
) -> Result<(Vec<Ack>, SimVfs, String), String> {
    let db = sim_open(sim, path)?;
    let acks = Arc::new(Mutex::new(Vec::new()));
    let stop = AtomicBool::new(false);
    let image = std::thread::scope(|s| {
        for t in 0..threads {
            let db = db.clone();
            let acks = acks.clone();
            let stop = &stop;
            s.spawn(move || {
                writer(&db, t, base, seed, false, stop, &mut |a| {
                    if let Ok(mut v) = acks.lock() {
                        v.push(a);
                    }
                });
            });
        }
        std::thread::sleep(delay);
        // Power fails: every later I/O of the writers fails, and what was
        // not synced is at the mercy of the loss mode.
        let image = sim.crash_now();
        stop.store(true, Ordering::Relaxed);
        image
    });
    // Every I/O of the crashed handle fails now; dropping it frees the old
    // disk (its close cannot write anything).
    drop(db);
    let modes = LossMode::SWEEP;
    let mode = modes[rng.below(modes.len() as u64) as usize];
    let booted = image.boot(mode);
    let acks = acks.lock().map(|v| v.clone()).unwrap_or_default();
    Ok((acks, booted, format!("power loss ({mode:?})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_round_trip_and_junk_is_ignored() {
        for a in [Ack::Transfer(1_000_000_007), Ack::Item(3)] {
            assert_eq!(Ack::parse(&a.line()), Some(a));
        }
        assert_eq!(Ack::parse("T"), None);
        assert_eq!(Ack::parse("X 1"), None);
        assert_eq!(Ack::parse("T 12x"), None);
    }

    #[test]
    fn the_prng_is_seeded_and_bounded() {
        let (mut a, mut b) = (Rng::new(5), Rng::new(5));
        for _ in 0..100 {
            let x = a.below(351);
            assert_eq!(x, b.below(351));
            assert!(x < 351);
        }
    }

    #[test]
    fn verify_spots_a_lost_commit_and_a_half_transfer() {
        let db = Database::open_in_memory().unwrap();
        setup(&db).unwrap();
        transfer(&db, 1, 1, 2, 10).unwrap();
        let mut acked: HashSet<Ack> = [Ack::Transfer(1)].into_iter().collect();
        let v = verify(&db, &acked).unwrap();
        assert!(v.lost.is_empty() && v.problems.is_empty(), "{v:?}");
        acked.insert(Ack::Item(9));
        assert_eq!(verify(&db, &acked).unwrap().lost, vec![Ack::Item(9)]);
        db.execute("UPDATE accounts SET balance = balance - 5 WHERE id = 3", ()).unwrap();
        assert_eq!(verify(&db, &acked).unwrap().problems.len(), 2);
    }
}
