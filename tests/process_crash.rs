//! Process crashes and second openers, through the public SQL API on real
//! files (fault catalogue rows 15, 11, 12 and 14 for the crashes, row 16 for
//! the lock; goal figures G7 and G9 in `docs/TESTING.md`).
//!
//! # G7: `kill -9` of a committing process
//!
//! [`acknowledged_transfers_survive_sigkill_of_the_writer_process`] re-executes
//! this test binary as a child (the `#[ignore]`d [`child_bank_writer`], told
//! what to do through `WALDB_PROC_*` variables). The child opens the
//! database with [`Database::open_with`] and runs a bank: several threads move
//! money between `accounts` in explicit transactions (debit, credit and a row
//! in `transfers` whose id is unique to the transfer), with prepared
//! statements, and print `@ack <id>` — flushed — only after `commit()`
//! returned `Ok`. Another thread calls [`Database::checkpoint`] in a loop
//! between `@ckpt-begin` and `@ckpt-end` lines. The parent SIGKILLs it at a
//! random moment — after some acks, after a random delay that may land in
//! open and recovery, or (one round in four) right after reading a
//! `@ckpt-begin`, and counts the kills that landed before the matching
//! `@ckpt-end` — and then reopens the database and checks:
//!
//! - every acknowledged transfer is there, and every transfer row holds the
//!   values its id stands for;
//! - per writer thread the transfers present are a prefix of its sequence:
//!   every ack and at most one commit more (durable, its ack not printed);
//! - the total balance is unchanged and each account equals its initial
//!   balance plus credits minus debits in `transfers` (no half transfer);
//! - rows seen by an earlier check are still there, unchanged;
//! - the structures are sound: each table's and index's B+tree checks, the
//!   index holds exactly the table's rows, and every page of the file is
//!   owned once or free (the same check `waldb check` runs after recovery).
//!
//! The file is reused across rounds (a fresh one now and then). In one round
//! in four the parent leaves the check for later, so the next child's open
//! must recover the crashed database itself — and may be killed while it
//! does. The seed is printed; `WALDB_PROC_SEED` replays one. CI mode runs
//! 200 rounds, 50 of them aimed at a checkpoint; long mode:
//!
//! ```text
//! WALDB_PROC_ROUNDS=2000 cargo test --test process_crash -- --nocapture
//! ```
//!
//! `kill -9` leaves the OS page cache intact, so this proves process-crash
//! atomicity and that nothing acknowledged sits in a user-space buffer; power
//! loss is the crash simulator's job.
//!
//! # G9: two openers
//!
//! While one handle has the database open, 100 second opens — 50 from another
//! thread of this process, 50 from a child process, half of them while the
//! first handle has a write transaction open — must each fail at once with
//! [`Error::Locked`], while the first handle goes on committing and reading.
//! After it closes, an open (here and in a child) succeeds and finds every
//! row. A holder process killed with SIGKILL releases the lock.
//!
//! The `flock` belongs to the open file description, and a child holds a
//! copy of every descriptor between its fork and exec, so the tests here run
//! one at a time (like those in `real_files.rs`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::rng::{Rng, mix};
use waldb::sql::catalog::Catalog;
use waldb::{Database, Error, Options};

// ---------------------------------------------------------------------------
// Knobs and protocol
// ---------------------------------------------------------------------------

/// The database a child works on; without it a child test returns at once.
const ENV_DB: &str = "WALDB_PROC_DB";
/// First transfer id of the writer's round (a multiple of [`ROUND_SPAN`]).
const ENV_BASE: &str = "WALDB_PROC_BASE";
/// Writer threads in the child.
const ENV_THREADS: &str = "WALDB_PROC_THREADS";
/// The child's automatic checkpoint threshold in bytes (absent: none).
const ENV_AUTO_CKPT: &str = "WALDB_PROC_AUTO_CKPT";
/// Longest pause of the child's checkpoint thread between two calls, in ms.
const ENV_CKPT_PAUSE: &str = "WALDB_PROC_CKPT_PAUSE_MS";
/// Seed of the child's pauses.
const ENV_CHILD_SEED: &str = "WALDB_PROC_CHILD_SEED";
/// The child's buffer pool in KiB (default 256).
const ENV_POOL_KIB: &str = "WALDB_PROC_POOL_KIB";
/// Transfers in each of the child's transactions (default 1).
const ENV_TXN_TRANSFERS: &str = "WALDB_PROC_TXN_TRANSFERS";
/// The row a holder child commits before it waits to be killed.
const ENV_HOLD_ROW: &str = "WALDB_PROC_HOLD_ROW";
/// Crash rounds (default [`CI_ROUNDS`]).
const ENV_ROUNDS: &str = "WALDB_PROC_ROUNDS";
/// Seed of the crash rounds (default: from the clock).
const ENV_SEED: &str = "WALDB_PROC_SEED";

/// Every variable a child reads, removed before each spawn.
const CHILD_VARS: [&str; 9] = [
    ENV_DB,
    ENV_BASE,
    ENV_THREADS,
    ENV_AUTO_CKPT,
    ENV_CKPT_PAUSE,
    ENV_CHILD_SEED,
    ENV_HOLD_ROW,
    ENV_POOL_KIB,
    ENV_TXN_TRANSFERS,
];

const CI_ROUNDS: usize = 200;
/// Accounts in the bank, and the initial balance of each.
const ACCOUNTS: i64 = 8;
const INITIAL: i64 = 1_000;
/// Transfer ids of round r are `(r + 1) * ROUND_SPAN + thread * THREAD_SPAN + k`, k = 1, 2, …
const ROUND_SPAN: i64 = 1_000_000_000;
const THREAD_SPAN: i64 = 100_000_000;
/// A writer child that has not been killed by then stops (and the parent fails).
const CHILD_DEADLINE: Duration = Duration::from_secs(30);
/// The parent gives up on a child that says nothing for this long.
const PARENT_TIMEOUT: Duration = Duration::from_secs(60);
/// "At once" for a refused open.
const AT_ONCE: Duration = Duration::from_secs(2);

const SIGKILL: i32 = 9;

/// Held by each test for its whole run (see the module docs).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The options every opener here uses: small segments (rotation and
/// recycling every few dozen commits) and a small pool (pages evicted and
/// written between checkpoints).
fn options(auto_checkpoint: Option<u64>) -> Options {
    Options {
        wal_segment_size: 256 << 10,
        pool_bytes: 256 << 10,
        checkpoint_bytes: auto_checkpoint,
        ..Options::default()
    }
}

/// What a transfer with id `id` does: `(src, dst, amount)`, src ≠ dst.
fn transfer_of(id: i64) -> (i64, i64, i64) {
    let h = mix(id as u64);
    let src = 1 + (h % ACCOUNTS as u64) as i64;
    let offset = 1 + ((h >> 20) % (ACCOUNTS as u64 - 1)) as i64;
    let dst = (src - 1 + offset) % ACCOUNTS + 1;
    let amount = 1 + ((h >> 40) % 100) as i64;
    (src, dst, amount)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

/// A line from a child: `@<word> [<number>]`, anywhere on the line (the
/// test harness may have written on it before).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Msg {
    /// Opened (recovered) and set up; the workload starts.
    Ready,
    /// A transfer whose commit returned `Ok`.
    Ack(i64),
    CkptBegin(u64),
    /// A checkpoint call returned: its number, µs in the call, µs in the
    /// checkpoint proper (after the writer lock was taken), pages written.
    CkptEnd(u64, u64, u64, u64),
    /// The holder child committed its row and waits.
    Holding,
    /// A probe's second open failed with `Error::Locked`, after this many µs.
    Locked(u64),
    /// A probe's open succeeded and found this many rows.
    Opened(u64),
    /// Something failed in the child (details on its stderr).
    Failed,
}

fn parse_msg(line: &str) -> Option<Msg> {
    let at = line.rfind('@')?;
    let mut words = line[at + 1..].split_whitespace();
    let word = words.next()?;
    let nums: Vec<i64> = words.map_while(|w| w.parse().ok()).collect();
    let n = nums.first().copied();
    let u = || n.and_then(|n| u64::try_from(n).ok());
    Some(match word {
        "ready" => Msg::Ready,
        "ack" => Msg::Ack(n?),
        "ckpt-begin" => Msg::CkptBegin(u()?),
        "ckpt-end" => match nums[..] {
            [n, call, inside, pages] => Msg::CkptEnd(n as u64, call as u64, inside as u64, pages as u64),
            _ => return None,
        },
        "holding" => Msg::Holding,
        "locked" => Msg::Locked(u()?),
        "opened" => Msg::Opened(u()?),
        "failed" => Msg::Failed,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Children: spawning and listening
// ---------------------------------------------------------------------------

/// Re-execute this test binary on the ignored test `name` with `env`.
fn spawn_child(name: &str, db: &Path, env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", name, "--nocapture", "--ignored", "--test-threads", "1"]);
    for k in CHILD_VARS {
        cmd.env_remove(k);
    }
    cmd.env(ENV_DB, db).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn the child process")
}

/// A child with its stdout parsed line by line on a thread (so the parent
/// can wait with a timeout and kill promptly) and its stderr collected.
struct Listener {
    child: Child,
    msgs: mpsc::Receiver<Msg>,
    stderr: JoinHandle<String>,
}

impl Listener {
    fn new(mut child: Child) -> Listener {
        let stdout = child.stdout.take().expect("child stdout");
        let mut err = child.stderr.take().expect("child stderr");
        let (tx, msgs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(m) = parse_msg(&line)
                    && tx.send(m).is_err()
                {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Listener { child, msgs, stderr }
    }

    /// Wait for the next message; `None` once the child closed its stdout.
    fn next(&self, timeout: Duration) -> Option<Msg> {
        match self.msgs.recv_timeout(timeout) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("the child said nothing for {timeout:?}"),
        }
    }

    /// SIGKILL the child (`Child::kill` sends SIGKILL on Unix); returns true.
    fn kill(&mut self) -> bool {
        self.child.kill().expect("SIGKILL the child");
        true
    }

    /// Wait for the child to exit; returns its signal (if killed) and stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("wait for the child");
        let stderr = self.stderr.join().unwrap_or_default();
        (status.signal(), stderr)
    }
}

/// Print one line on stdout and flush it; exit quietly if the parent has gone.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(3);
    }
}

/// In a child: report a failure and exit at once (a panic in one thread
/// would let the others run on until the parent's kill hid it).
fn die(what: &str) -> ! {
    eprintln!("child: {what}");
    say("@failed");
    std::process::exit(2)
}

/// In a child: the value, or [`die`].
fn or_die<T>(r: waldb::Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| die(&format!("{what}: {e} ({e:?})")))
}

// ---------------------------------------------------------------------------
// The bank
// ---------------------------------------------------------------------------

/// Create the schema and the accounts, all in one transaction, unless they
/// are there.
fn setup(db: &Database) -> waldb::Result<()> {
    let tx = db.transaction()?;
    let has: i64 = tx.query_row("SELECT count(*) FROM waldb_schema WHERE name = 'accounts'", (), |r| r.get(0))?;
    if has == 0 {
        tx.execute("CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)", ())?;
        tx.execute(
            "CREATE TABLE transfers(id INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, amount INTEGER \
             NOT NULL)",
            (),
        )?;
        tx.execute("CREATE INDEX transfers_by_src ON transfers(src)", ())?;
        let mut insert = tx.prepare("INSERT INTO accounts(id, balance) VALUES (?1, ?2)")?;
        for id in 1..=ACCOUNTS {
            insert.execute((id, INITIAL))?;
        }
        drop(insert);
        tx.commit()?;
    }
    Ok(())
}

/// The writer child: open, set up, then transfers on `threads` threads and
/// checkpoints on one more, until killed.
#[test]
#[ignore = "a child process of acknowledged_transfers_survive_sigkill_of_the_writer_process; needs WALDB_PROC_DB"]
fn child_bank_writer() {
    let Some(path) = std::env::var_os(ENV_DB).map(PathBuf::from) else { return };
    let base = env_u64(ENV_BASE).expect("WALDB_PROC_BASE") as i64;
    let threads = env_u64(ENV_THREADS).unwrap_or(2).clamp(1, 9) as i64;
    let pause_ms = env_u64(ENV_CKPT_PAUSE).unwrap_or(10);
    let seed = env_u64(ENV_CHILD_SEED).unwrap_or(1);
    let per_txn = env_u64(ENV_TXN_TRANSFERS).unwrap_or(1).clamp(1, 100) as i64;
    let mut opts = options(env_u64(ENV_AUTO_CKPT));
    if let Some(kib) = env_u64(ENV_POOL_KIB) {
        opts.pool_bytes = kib as usize * 1024;
    }
    let db = or_die(Database::open_with(&path, opts), "open");
    or_die(setup(&db), "set up the bank");
    say("@ready");
    let deadline = Instant::now() + CHILD_DEADLINE;
    std::thread::scope(|s| {
        for t in 0..threads {
            let db = db.clone();
            s.spawn(move || {
                let mut debit =
                    or_die(db.prepare("UPDATE accounts SET balance = balance - ?1 WHERE id = ?2"), "prepare");
                let mut credit =
                    or_die(db.prepare("UPDATE accounts SET balance = balance + ?1 WHERE id = ?2"), "prepare");
                let mut log = or_die(
                    db.prepare("INSERT INTO transfers(id, src, dst, amount) VALUES (?1, ?2, ?3, ?4)"),
                    "prepare",
                );
                let mut k = 0;
                while Instant::now() < deadline {
                    let tx = or_die(db.transaction(), "begin");
                    let first = k + 1;
                    for _ in 0..per_txn {
                        k += 1;
                        let id = base + t * THREAD_SPAN + k;
                        let (src, dst, amount) = transfer_of(id);
                        if or_die(debit.execute((amount, src)), "debit") != 1 {
                            die(&format!("transfer {id}: no account {src} to debit"));
                        }
                        if or_die(credit.execute((amount, dst)), "credit") != 1 {
                            die(&format!("transfer {id}: no account {dst} to credit"));
                        }
                        or_die(log.execute((id, src, dst, amount)), "log the transfer");
                    }
                    or_die(tx.commit(), "commit");
                    for j in first..=k {
                        say(&format!("@ack {}", base + t * THREAD_SPAN + j));
                    }
                }
            });
        }
        let db = db.clone();
        s.spawn(move || {
            let mut rng = Rng(seed);
            let mut n = 0;
            while Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(rng.between(0, pause_ms)));
                n += 1;
                say(&format!("@ckpt-begin {n}"));
                let t0 = Instant::now();
                let report = or_die(db.checkpoint(), "checkpoint");
                let call = t0.elapsed();
                say(&format!(
                    "@ckpt-end {n} {} {} {}",
                    call.as_micros(),
                    report.duration.as_micros(),
                    report.pages_written
                ));
            }
        });
    });
    // Not killed in time: the parent reports it.
    eprintln!("child: not killed within {CHILD_DEADLINE:?}");
}

/// When the parent kills a writer child.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// After reading this many acks.
    Acks(usize),
    /// After this long from the spawn: may land in open, recovery or setup.
    Delay(Duration),
    /// Right after reading the n-th `@ckpt-begin`.
    CkptBegin(u64),
}

/// One round, drawn up front from the seed.
#[derive(Clone, Copy, Debug)]
struct Plan {
    fresh: bool,
    threads: i64,
    kill: KillAt,
    auto_checkpoint: Option<u64>,
    pause_ms: u64,
    /// Check the database after this round's kill (else the next child's
    /// open recovers it first).
    verify: bool,
    /// The child's pool in KiB, and transfers per transaction.
    pool_kib: u64,
    per_txn: u64,
}

fn plans(rounds: usize, rng: &mut Rng) -> Vec<Plan> {
    let mut v: Vec<Plan> = Vec::with_capacity(rounds);
    for r in 0..rounds {
        // After a round left unchecked, aim every other kill at the next
        // child's open, which recovers that crash (a crash during recovery).
        let recovering = v.last().is_some_and(|p| !p.verify);
        let kill = if r % 4 == 3 {
            KillAt::CkptBegin(rng.between(1, 3))
        } else if rng.below(if recovering { 2 } else { 8 }) == 0 {
            KillAt::Delay(Duration::from_micros(rng.between(0, 40_000)))
        } else {
            KillAt::Acks(rng.between(1, 100) as usize)
        };
        v.push(Plan {
            fresh: r == 0 || rng.below(16) == 0,
            threads: rng.between(1, 4) as i64,
            kill,
            auto_checkpoint: (rng.below(3) == 0).then_some(64 << 10),
            pause_ms: rng.between(2, 15),
            verify: rng.below(4) != 0,
            pool_kib: 256,
            per_txn: 1,
        });
    }
    // Never leave a crashed database unchecked before starting a fresh one.
    for r in 0..rounds {
        if r + 1 == rounds || v[r + 1].fresh {
            v[r].verify = true;
        }
    }
    v
}

/// What one killed child reported.
#[derive(Debug, Default)]
struct Round {
    base: i64,
    threads: i64,
    /// Transfers per transaction.
    per_txn: usize,
    ready: bool,
    /// Acks per thread, in the order read (each must be 1, 2, …).
    acks: Vec<Vec<i64>>,
    ckpt_begins: u64,
    /// The kill came after a `@ckpt-begin` whose `@ckpt-end` never came.
    killed_in_checkpoint: bool,
    /// Completed checkpoint calls: (µs in the call, µs in the checkpoint proper, pages written).
    checkpoints: Vec<(u64, u64, u64)>,
}

/// Run one writer child and kill it as `plan` says.
fn run_round(path: &Path, base: i64, plan: &Plan, seed: u64, what: &str) -> Round {
    let mut env = vec![
        (ENV_BASE, base.to_string()),
        (ENV_THREADS, plan.threads.to_string()),
        (ENV_CKPT_PAUSE, plan.pause_ms.to_string()),
        (ENV_CHILD_SEED, seed.to_string()),
        (ENV_POOL_KIB, plan.pool_kib.to_string()),
        (ENV_TXN_TRANSFERS, plan.per_txn.to_string()),
    ];
    if let Some(c) = plan.auto_checkpoint {
        env.push((ENV_AUTO_CKPT, c.to_string()));
    }
    let t0 = Instant::now();
    let mut l = Listener::new(spawn_child("child_bank_writer", path, &env));
    let mut round = Round {
        base,
        threads: plan.threads,
        per_txn: plan.per_txn as usize,
        acks: vec![Vec::new(); plan.threads as usize],
        ..Round::default()
    };
    let mut killed = false;
    let mut open_ckpt: Option<u64> = None;
    let mut acks = 0usize;
    let mut failed = false;
    loop {
        let timeout = match (killed, plan.kill) {
            (false, KillAt::Delay(d)) => d.saturating_sub(t0.elapsed()),
            _ => PARENT_TIMEOUT,
        };
        let msg = match l.msgs.recv_timeout(timeout) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) if !killed && matches!(plan.kill, KillAt::Delay(_)) => {
                killed = l.kill();
                continue;
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = l.kill();
                panic!("{what}: the child said nothing for {PARENT_TIMEOUT:?}");
            }
        };
        let Some(msg) = msg else { break };
        match msg {
            Msg::Ready => round.ready = true,
            Msg::Ack(id) => {
                let off = id - base;
                let (t, k) = (off / THREAD_SPAN, off % THREAD_SPAN);
                assert!(off > 0 && t < plan.threads, "{what}: ack of a foreign id {id}");
                let mine = &mut round.acks[t as usize];
                assert_eq!(k, mine.len() as i64 + 1, "{what}: thread {t} acknowledged {id} out of order");
                mine.push(id);
                acks += 1;
                if !killed && matches!(plan.kill, KillAt::Acks(n) if acks >= n) {
                    killed = l.kill();
                }
            }
            Msg::CkptBegin(n) => {
                if !killed {
                    open_ckpt = Some(n);
                    round.ckpt_begins = n;
                    if matches!(plan.kill, KillAt::CkptBegin(at) if n >= at) {
                        killed = l.kill();
                    }
                }
            }
            Msg::CkptEnd(n, call, inside, pages) => {
                round.checkpoints.push((call, inside, pages));
                // Also after the kill: lines already in the pipe were written before it.
                if open_ckpt == Some(n) {
                    open_ckpt = None;
                }
            }
            Msg::Failed => failed = true,
            Msg::Holding | Msg::Locked(_) | Msg::Opened(_) => {}
        }
    }
    round.killed_in_checkpoint = killed && open_ckpt.is_some();
    let (signal, stderr) = l.finish();
    assert!(!failed, "{what}: the child failed; its stderr:\n{stderr}");
    assert!(killed, "{what}: the child exited before the kill ({signal:?}); its stderr:\n{stderr}");
    assert_eq!(signal, Some(SIGKILL), "{what}: the child was not killed by SIGKILL; its stderr:\n{stderr}");
    round
}

/// What the parent knows about one database file.
#[derive(Default)]
struct Epoch {
    /// The set-up transaction was acknowledged (`@ready` read).
    setup_acked: bool,
    /// Every acknowledged transfer id.
    acked: BTreeSet<i64>,
    /// The transfers found by the last check.
    known: BTreeMap<i64, (i64, i64, i64)>,
    /// Rounds since the last check.
    pending: Vec<Round>,
}

/// Totals for the summary line.
#[derive(Default, Debug)]
struct Totals {
    kills: usize,
    kills_before_ready: usize,
    /// Kills before ready on a file left crashed by the round before: during its recovery.
    kills_in_recovery: usize,
    ckpt_rounds: usize,
    ckpt_landed: usize,
    other_in_checkpoint: usize,
    fresh: usize,
    deferred: usize,
    checks: usize,
    acks: usize,
    ack_checks: usize,
    unacked_durable: usize,
    /// Recoveries that discarded a log tail, by reason (digits dropped):
    /// stale bytes of a recycled segment or an unfinished last flush.
    torn_tails: BTreeMap<String, usize>,
    discarded_txns: u64,
    max_recovery: Duration,
    /// Completed checkpoint calls: (µs in the call, µs in the checkpoint proper, pages written).
    checkpoints: Vec<(u64, u64, u64)>,
}

/// Reopen the database after a crash and check it against `epoch` (module
/// docs); then record what it holds as known.
fn verify(path: &Path, epoch: &mut Epoch, totals: &mut Totals, what: &str) {
    let db = Database::open_with(path, options(None)).unwrap_or_else(|e| panic!("{what}: recovery failed: {e}"));
    let rep = db.recovery_report();
    if let Some(t) = &rep.torn_tail {
        let reason: String = t.reason.chars().filter(|c| !c.is_ascii_digit()).collect();
        *totals.torn_tails.entry(reason).or_default() += 1;
    }
    totals.discarded_txns += rep.txns_discarded;
    totals.max_recovery = totals.max_recovery.max(rep.duration);
    totals.checks += 1;
    check_structure(&db, what);
    let has_bank = {
        let r = db.engine().begin_read().expect("begin a read transaction");
        let cat = Catalog::load(&r).unwrap_or_else(|e| panic!("{what}: load the catalog: {e}"));
        let names: Vec<&String> = cat.user_tables().map(|t| &t.name).collect();
        match names.len() {
            0 => false,
            // The set-up transaction made both tables and the index, or none.
            2 => {
                assert!(cat.index("transfers_by_src").is_some(), "{what}: tables without their index");
                true
            }
            _ => panic!("{what}: part of the set-up transaction survived: tables {names:?}"),
        }
    };
    if !has_bank {
        assert!(!epoch.setup_acked, "{what}: the acknowledged set-up transaction is lost");
        assert!(epoch.acked.is_empty() && epoch.known.is_empty(), "{what}: the bank is gone");
        epoch.pending.clear();
        return;
    }
    let balances: Vec<(i64, i64)> = db
        .query("SELECT id, balance FROM accounts ORDER BY id", ())
        .expect("read the accounts")
        .iter()
        .map(|r| (r.get(0).expect("id"), r.get(1).expect("balance")))
        .collect();
    let ids: Vec<i64> = balances.iter().map(|b| b.0).collect();
    assert_eq!(ids, (1..=ACCOUNTS).collect::<Vec<_>>(), "{what}: the accounts are not 1..={ACCOUNTS}");
    let mut present = BTreeMap::new();
    for r in &db.query("SELECT id, src, dst, amount FROM transfers", ()).expect("read the transfers") {
        let id: i64 = r.get(0).expect("id");
        let row = (r.get(1).expect("src"), r.get(2).expect("dst"), r.get(3).expect("amount"));
        assert_eq!(row, transfer_of(id), "{what}: transfer {id} holds other values than were written");
        assert!(present.insert(id, row).is_none(), "{what}: transfer {id} twice");
    }
    // No half transfer: each balance is what the transfer log says.
    let mut expected: BTreeMap<i64, i64> = (1..=ACCOUNTS).map(|a| (a, INITIAL)).collect();
    let mut debits: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for &(src, dst, amount) in present.values() {
        *expected.entry(src).or_default() -= amount;
        *expected.entry(dst).or_default() += amount;
        let d = debits.entry(src).or_default();
        d.0 += 1;
        d.1 += amount;
    }
    let total: i64 = balances.iter().map(|b| b.1).sum();
    assert_eq!(total, ACCOUNTS * INITIAL, "{what}: the total balance changed");
    assert_eq!(
        balances.iter().copied().collect::<BTreeMap<_, _>>(),
        expected,
        "{what}: balances disagree with the {} transfers (a half-applied transaction)",
        present.len()
    );
    // The same through the index on transfers(src).
    for src in 1..=ACCOUNTS {
        let got: (i64, i64) = db
            .query_row("SELECT count(*), coalesce(sum(amount), 0) FROM transfers WHERE src = ?1", [src], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("debits of an account");
        assert_eq!(got, debits.get(&src).copied().unwrap_or_default(), "{what}: debits of account {src}");
    }
    // Every ack, and what an earlier check saw, unchanged.
    let lost: Vec<_> = epoch.acked.iter().filter(|id| !present.contains_key(id)).take(20).collect();
    assert!(lost.is_empty(), "{what}: LOST acknowledged transfers, e.g. {lost:?}");
    totals.ack_checks += epoch.acked.len();
    for (id, row) in &epoch.known {
        assert_eq!(present.get(id), Some(row), "{what}: transfer {id}, present at the last check, changed or vanished");
    }
    // New rows: per round and thread, a prefix of its sequence holding every ack and at most one more.
    let mut new_rows = 0usize;
    for round in &epoch.pending {
        for t in 0..round.threads {
            let lo = round.base + t * THREAD_SPAN;
            let mine: Vec<i64> = present.range(lo + 1..lo + THREAD_SPAN).map(|(id, _)| id - lo).collect();
            let acked = round.acks[t as usize].len();
            assert_eq!(
                mine,
                (1..=mine.len() as i64).collect::<Vec<_>>(),
                "{what}: round base {} thread {t}: transfers present are not a prefix of its commit order",
                round.base
            );
            // At most one more transaction than acknowledged, and only whole
            // transactions (the acks of a commit may be cut short by the kill).
            let per = round.per_txn.max(1);
            assert!(
                (acked..=acked + per).contains(&mine.len()) && mine.len().is_multiple_of(per),
                "{what}: round base {} thread {t}: {} transfers present, {acked} acknowledged",
                round.base,
                mine.len()
            );
            totals.unacked_durable += mine.len() - acked;
            new_rows += mine.len();
        }
    }
    assert_eq!(
        present.len(),
        epoch.known.len() + new_rows,
        "{what}: transfers present that no child of this file's rounds wrote"
    );
    epoch.known = present;
    epoch.pending.clear();
    drop(db);
}

/// The structural check `waldb check` runs after recovery
/// ([`Database::check_integrity`]): every B+tree well formed, every index
/// entry matching a row and back, every page owned once or free.
fn check_structure(db: &Database, what: &str) {
    if let Err(e) = db.check_integrity() {
        panic!("{what}: integrity check: {e}");
    }
}

fn time_seed() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
        ^ u64::from(std::process::id()).rotate_left(32)
}

/// G7 (module docs).
#[test]
fn acknowledged_transfers_survive_sigkill_of_the_writer_process() {
    let _serial = serial();
    let seed = env_u64(ENV_SEED).unwrap_or_else(time_seed);
    let rounds = env_u64(ENV_ROUNDS).map_or(CI_ROUNDS, |r| r.max(1) as usize);
    println!("process crash seed {seed} ({ENV_SEED}={seed} replays it), {rounds} rounds ({ENV_ROUNDS})");
    let mut rng = Rng(seed);
    let plans = plans(rounds, &mut rng);
    crash_rounds(seed, &plans, &mut rng);
}

/// Issue 13's shape: transactions of 15 transfers from 6 threads, a 64 KiB
/// pool (pages of commits not yet durable are evicted while the next writer
/// runs), killed at random; every account is checked against the transfer
/// log after each kill.
#[test]
fn fifteen_transfer_transactions_from_six_threads_survive_sigkill_with_a_64_kib_pool() {
    let _serial = serial();
    let seed = env_u64(ENV_SEED).unwrap_or_else(time_seed);
    let rounds = env_u64(ENV_ROUNDS).map_or(CI_ROUNDS / 10, |r| r.max(1) as usize);
    println!("process crash (6 threads x 15 transfers, 64 KiB pool) seed {seed}, {rounds} rounds");
    let mut rng = Rng(seed);
    let plans: Vec<Plan> = plans(rounds, &mut rng)
        .into_iter()
        .map(|p| Plan {
            threads: 6,
            pool_kib: 64,
            per_txn: 15,
            verify: true,
            kill: match p.kill {
                KillAt::Acks(n) => KillAt::Acks(n * 15),
                other => other,
            },
            ..p
        })
        .collect();
    crash_rounds(seed, &plans, &mut rng);
}

/// Run the rounds of `plans`, each checked as its plan says; print the
/// figures and check the rounds exercised what they claim to.
fn crash_rounds(seed: u64, plans: &[Plan], rng: &mut Rng) {
    let rounds = plans.len();
    let root = tempfile::tempdir().expect("temp dir");
    let t0 = Instant::now();
    let mut totals = Totals::default();
    let mut epoch = Epoch::default();
    let mut path = PathBuf::new();
    for (r, plan) in plans.iter().enumerate() {
        if plan.fresh {
            if let Some(dir) = path.parent() {
                std::fs::remove_dir_all(dir).expect("remove the last file's directory");
            }
            let dir = root.path().join(format!("db{r}"));
            std::fs::create_dir(&dir).expect("create a directory");
            path = dir.join("bank.db");
            epoch = Epoch::default();
            totals.fresh += 1;
        }
        let what = format!("seed {seed} round {r} ({plan:?})");
        let base = (r as i64 + 1) * ROUND_SPAN;
        let round = run_round(&path, base, plan, rng.next(), &what);
        totals.kills += 1;
        totals.kills_before_ready += usize::from(!round.ready);
        totals.kills_in_recovery += usize::from(!round.ready && !epoch.pending.is_empty());
        if matches!(plan.kill, KillAt::CkptBegin(_)) {
            totals.ckpt_rounds += 1;
            assert!(round.ckpt_begins > 0, "{what}: killed in a checkpoint round without one");
            totals.ckpt_landed += usize::from(round.killed_in_checkpoint);
        } else {
            totals.other_in_checkpoint += usize::from(round.killed_in_checkpoint);
        }
        totals.checkpoints.extend(&round.checkpoints);
        epoch.setup_acked |= round.ready;
        let n: usize = round.acks.iter().map(Vec::len).sum();
        totals.acks += n;
        epoch.acked.extend(round.acks.iter().flatten());
        epoch.pending.push(round);
        if plan.verify {
            verify(&path, &mut epoch, &mut totals, &what);
        } else {
            totals.deferred += 1;
        }
    }
    let elapsed = t0.elapsed();
    let median = |f: fn(&(u64, u64, u64)) -> u64| {
        let mut v: Vec<u64> = totals.checkpoints.iter().map(f).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    println!(
        "G7 checkpoints: {} calls completed, median {} µs per call of which {} µs in the checkpoint proper (after the \
         writer lock), {} of them wrote pages",
        totals.checkpoints.len(),
        median(|c| c.0),
        median(|c| c.1),
        totals.checkpoints.iter().filter(|c| c.2 > 0).count()
    );
    println!(
        "G7 summary: seed {seed}: {rounds} rounds, {} SIGKILLs ({} before the child was ready: in open, recovery or \
         set-up; {} of them while recovering a crashed file), {} fresh files, {} checks deferred to the next child's recovery; kills aimed at a checkpoint: {} of \
         which {} landed between ckpt-begin and ckpt-end (+{} other kills inside a checkpoint); {} acks, {} ack checks \
         in {} reopenings, {} durable-but-unacknowledged commits found, {} transactions discarded, slowest \
         recovery {:?}; tails discarded by recovery: {:?}; lost=0; {:.1} s",
        totals.kills,
        totals.kills_before_ready,
        totals.kills_in_recovery,
        totals.fresh,
        totals.deferred,
        totals.ckpt_rounds,
        totals.ckpt_landed,
        totals.other_in_checkpoint,
        totals.acks,
        totals.ack_checks,
        totals.checks,
        totals.unacked_durable,
        totals.discarded_txns,
        totals.max_recovery,
        totals.torn_tails,
        elapsed.as_secs_f64()
    );
    // The rounds must have exercised what they claim to.
    assert!(totals.acks >= rounds, "only {} acks in {rounds} rounds", totals.acks);
    if totals.ckpt_rounds >= 10 {
        assert!(
            totals.ckpt_landed * 5 >= totals.ckpt_rounds,
            "only {} of {} kills aimed at a checkpoint landed in one",
            totals.ckpt_landed,
            totals.ckpt_rounds
        );
    }
}

// ---------------------------------------------------------------------------
// G9: two openers
// ---------------------------------------------------------------------------

/// An open that must be refused: `Ok(elapsed)` for `Error::Locked` naming
/// `path`, else a description of what happened.
fn refused_open(path: &Path, default_options: bool) -> Result<Duration, String> {
    let t0 = Instant::now();
    let r = if default_options { Database::open(path) } else { Database::open_with(path, options(None)) };
    let elapsed = t0.elapsed();
    match r {
        Err(Error::Locked { path: p }) if p == path => Ok(elapsed),
        Err(Error::Locked { path: p }) => Err(format!("Locked naming {} instead of {}", p.display(), path.display())),
        Err(e) => Err(format!("{e} ({e:?})")),
        Ok(db) => {
            // Do not let the intruder close (checkpoint) the database.
            std::mem::forget(db);
            Err("the second open succeeded".into())
        }
    }
}

/// A second open from another thread of this process.
fn thread_attempt(path: &Path, default_options: bool) -> Result<Duration, String> {
    let p = path.to_path_buf();
    std::thread::spawn(move || refused_open(&p, default_options)).join().expect("the opener thread")
}

/// A child process that opens `path` and reports.
fn probe(path: &Path) -> Msg {
    let l = Listener::new(spawn_child("child_open_probe", path, &[]));
    let mut got = Vec::new();
    while let Some(m) = l.next(PARENT_TIMEOUT) {
        got.push(m);
    }
    let (signal, stderr) = l.finish();
    assert_eq!(signal, None, "the probe died; its stderr:\n{stderr}");
    match got[..] {
        [m] if m != Msg::Failed => m,
        _ => panic!("the probe said {got:?}; its stderr:\n{stderr}"),
    }
}

#[test]
#[ignore = "a child process of the G9 tests; needs WALDB_PROC_DB"]
fn child_open_probe() {
    let Some(path) = std::env::var_os(ENV_DB).map(PathBuf::from) else { return };
    let t0 = Instant::now();
    match Database::open_with(&path, options(None)) {
        Err(Error::Locked { path: p }) if p == path => say(&format!("@locked {}", t0.elapsed().as_micros())),
        Err(e) => {
            eprintln!("child: open: {e} ({e:?})");
            say("@failed");
        }
        Ok(db) => {
            let n = or_die(db.query_row("SELECT count(*) FROM kv", (), |r| r.get::<i64>(0)), "count");
            or_die(db.close(), "close");
            say(&format!("@opened {n}"));
        }
    }
}

/// The value stored under `id` in the G9 tests.
fn value_of(id: i64) -> String {
    format!("row {id} {:016x}", mix(id as u64))
}

/// Assert `kv` holds exactly rows `0..n` with their values.
fn check_kv(db: &Database, n: i64, what: &str) {
    let rows: Vec<(i64, String)> = db
        .query("SELECT id, v FROM kv ORDER BY id", ())
        .unwrap_or_else(|e| panic!("{what}: read kv: {e}"))
        .iter()
        .map(|r| (r.get(0).expect("id"), r.get(1).expect("v")))
        .collect();
    let expected: Vec<(i64, String)> = (0..n).map(|id| (id, value_of(id))).collect();
    assert_eq!(rows, expected, "{what}: kv");
}

#[test]
fn second_opens_are_locked_while_the_first_handle_keeps_working() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kv.db");
    let db = Database::open_with(&path, options(None)).expect("create the database");
    db.execute("CREATE TABLE kv(id INTEGER PRIMARY KEY, v TEXT NOT NULL)", ()).expect("create kv");
    let (mut by_thread, mut by_child, mut slowest) = (0, 0, Duration::ZERO);
    for i in 0..100i64 {
        let from_child = i % 2 == 1;
        // Half the attempts while the first handle has a write transaction open.
        let tx = (i % 4 >= 2).then(|| db.transaction().expect("begin"));
        let write = "INSERT INTO kv(id, v) VALUES (?1, ?2)";
        if let Some(tx) = &tx {
            tx.execute(write, (i, value_of(i))).expect("insert in the open transaction");
        }
        let what = format!(
            "attempt {i} ({}, transaction open: {})",
            if from_child { "child" } else { "thread" },
            tx.is_some()
        );
        let elapsed = if from_child {
            match probe(&path) {
                Msg::Locked(us) => Duration::from_micros(us),
                m => panic!("{what}: the child's second open was not refused with Locked: {m:?}"),
            }
        } else {
            thread_attempt(&path, i % 8 == 0).unwrap_or_else(|e| panic!("{what}: {e}"))
        };
        assert!(elapsed < AT_ONCE, "{what}: refused only after {elapsed:?}");
        slowest = slowest.max(elapsed);
        if from_child {
            by_child += 1;
        } else {
            by_thread += 1;
        }
        // The first handle still commits and reads.
        match tx {
            Some(tx) => {
                tx.commit().unwrap_or_else(|e| panic!("{what}: commit after the attempt: {e}"));
            }
            None => {
                db.execute(write, (i, value_of(i))).unwrap_or_else(|e| panic!("{what}: insert after the attempt: {e}"));
            }
        }
        let v: String = db.query_row("SELECT v FROM kv WHERE id = ?1", [i], |r| r.get(0)).expect("read back");
        assert_eq!(v, value_of(i), "{what}");
        if i % 25 == 24 {
            check_kv(&db, i + 1, &what);
        }
    }
    println!(
        "G9 summary: 100 second opens ({by_thread} from a thread, {by_child} from a child process) all refused with \
         Locked, slowest {slowest:?}; the first handle committed and read after each"
    );
    drop(db);
    // Released on drop: this process opens it, then a child does.
    let db = Database::open_with(&path, options(None)).expect("open after the first handle closed");
    check_kv(&db, 100, "reopened");
    check_structure(&db, "reopened");
    db.close().expect("close");
    assert_eq!(probe(&path), Msg::Opened(100), "a child's open after the close");
    let db = Database::open_with(&path, options(None)).expect("open after the child closed");
    check_kv(&db, 100, "reopened after the child");
    check_structure(&db, "reopened after the child");
}

#[test]
#[ignore = "a child process of the_lock_of_a_sigkilled_holder_is_released; needs WALDB_PROC_DB"]
fn child_lock_holder() {
    let Some(path) = std::env::var_os(ENV_DB).map(PathBuf::from) else { return };
    let row = env_u64(ENV_HOLD_ROW).expect("WALDB_PROC_HOLD_ROW") as i64;
    let db = or_die(Database::open_with(&path, options(None)), "open");
    or_die(db.execute("CREATE TABLE IF NOT EXISTS kv(id INTEGER PRIMARY KEY, v TEXT NOT NULL)", ()), "create kv");
    or_die(db.execute("INSERT INTO kv(id, v) VALUES (?1, ?2)", (row, value_of(row))), "insert");
    // Mid-transaction when killed: this row must not survive.
    let tx = or_die(db.transaction(), "begin");
    or_die(tx.execute("INSERT INTO kv(id, v) VALUES (?1, 'uncommitted')", [row + 1_000]), "insert");
    say("@holding");
    std::thread::sleep(CHILD_DEADLINE);
    eprintln!("child: not killed within {CHILD_DEADLINE:?}");
}

#[test]
fn the_lock_of_a_sigkilled_holder_is_released() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("held.db");
    let mut refused = 0;
    for round in 0..5i64 {
        let what = format!("holder {round}");
        let mut l = Listener::new(spawn_child("child_lock_holder", &path, &[(ENV_HOLD_ROW, round.to_string())]));
        match l.next(PARENT_TIMEOUT) {
            Some(Msg::Holding) => {}
            m => {
                let _ = l.kill();
                let (_, stderr) = l.finish();
                panic!("{what}: the holder said {m:?}; its stderr:\n{stderr}");
            }
        }
        for default_options in [false, true] {
            let e = refused_open(&path, default_options).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(e < AT_ONCE, "{what}: refused only after {e:?}");
            refused += 1;
        }
        assert!(matches!(probe(&path), Msg::Locked(_)), "{what}: a second child was not refused");
        refused += 1;
        l.kill();
        let (signal, stderr) = l.finish();
        assert_eq!(signal, Some(SIGKILL), "{what}: the holder was not killed; its stderr:\n{stderr}");
        // The holder is dead and reaped: its lock went with it.
        let db = Database::open_with(&path, options(None))
            .unwrap_or_else(|e| panic!("{what}: open after the holder was killed: {e}"));
        check_kv(&db, round + 1, &what);
        check_structure(&db, &what);
        drop(db);
    }
    println!("G9 holder summary: 5 holders SIGKILLed, {refused} second opens refused with Locked while each lived");
}
