//! Durability on real files: the engine on `OsVfs` in a temporary
//! directory, crashed by dropping the handle, by `abort()` in a child
//! process, and by `SIGKILL` from outside; and the `flock` that keeps a
//! second process out.
//!
//! The child-process tests re-execute this test binary on one `#[ignore]`d
//! test (`child_writer_process`, `child_open_probe`) with the database path
//! in `WALDB_CHILD_DB`. The writer prints `ack <id>` after each commit
//! returns `Ok` (and flushes), so every line the parent reads names a commit
//! the engine acknowledged. Run without that variable the child tests return
//! at once.

// Row keys are big-endian ids, so byte order is numeric order.
#![allow(clippy::big_endian_bytes)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use common::rng::Rng;
use waldb::btree::{BTree, Direction};
use waldb::io::{OsVfs, Vfs};
use waldb::storage::{PageStore, header};
use waldb::txn::{Engine, EngineOptions};
use waldb::wal::WalOptions;
use waldb::{Error, PageId};

/// The database a child works on; without it a child test does nothing.
const ENV_DB: &str = "WALDB_CHILD_DB";
/// Commits after which the writer aborts mid-transaction (absent: never).
const ENV_ABORT_AFTER: &str = "WALDB_CHILD_ABORT_AFTER";
/// Committing threads in the writer (default 1).
const ENV_THREADS: &str = "WALDB_CHILD_THREADS";
/// The writer's automatic checkpoint threshold in bytes (absent: default).
const ENV_CHECKPOINT: &str = "WALDB_CHILD_CHECKPOINT_BYTES";

/// The root slot of the one table.
const TABLE_SLOT: usize = 1;
/// Bytes of a row after its id.
const ROW_TAIL: usize = 56;
/// Upper bound on a killed writer's commits (it is killed long before).
const WRITER_LIMIT: u64 = 100_000;

const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;

/// Held by each test for its whole run. The lock is an `flock`, owned by
/// the open file description: a child spawned by another test holds a copy
/// of every descriptor from its fork until its exec closes them, and an
/// in-process reopen inside that window fails with `Error::Locked`. So the
/// tests here run one at a time (they take well under a second each).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Default options, with 1 MiB segments to keep the files small.
fn options(checkpoint_bytes: Option<Option<u64>>) -> EngineOptions {
    let mut o = EngineOptions { wal: WalOptions { segment_size: 1 << 20, ..Default::default() }, ..Default::default() };
    if let Some(c) = checkpoint_bytes {
        o.checkpoint_bytes = c;
    }
    o
}

fn open(path: &Path, opts: &EngineOptions) -> waldb::Result<Engine> {
    Engine::open(Arc::new(OsVfs::new()) as Arc<dyn Vfs>, path, opts.clone())
}

/// A row: the id (u64 LE) and a tail derived from it.
fn row(id: u64) -> Vec<u8> {
    let mut v = id.to_le_bytes().to_vec();
    v.extend((0..ROW_TAIL as u64).map(|i| id.wrapping_mul(31).wrapping_add(i * 7) as u8));
    v
}

/// The table, created (and committed) if it does not exist yet.
/// The table is a B+tree keyed by the id (8 bytes, big-endian), its value
/// the row.
fn table(e: &Engine) -> waldb::Result<BTree> {
    let tx = e.begin_write()?;
    let root = header::root(&tx.read(PageId::HEADER)?, TABLE_SLOT);
    if !root.is_none() {
        tx.rollback()?;
        return Ok(BTree::open(root));
    }
    let t = BTree::create(&tx, true)?;
    header::set_root(&mut tx.write(PageId::HEADER)?, TABLE_SLOT, t.root());
    tx.commit()?;
    Ok(t)
}

/// Store row `id` (in the transaction `tx`).
fn insert<S: PageStore>(tx: &S, t: &BTree, id: u64) -> waldb::Result<()> {
    if !t.insert(tx, &id.to_be_bytes(), &row(id))? {
        return Err(Error::InvalidInput(format!("row {id} inserted twice")));
    }
    Ok(())
}

/// Insert row `id` in a transaction of its own; `Ok` means acknowledged.
fn insert_committed(e: &Engine, t: &BTree, id: u64) -> waldb::Result<()> {
    let tx = e.begin_write()?;
    insert(&tx, t, id)?;
    tx.commit()?;
    Ok(())
}

/// Every row's id → how many times it appears; panics on a row whose bytes
/// are not those written under its id.
fn scan(e: &Engine) -> BTreeMap<u64, usize> {
    let r = e.begin_read().expect("begin a read transaction");
    let root = header::root(&r.read(PageId::HEADER).expect("read the header page"), TABLE_SLOT);
    let mut out = BTreeMap::new();
    if root.is_none() {
        return out;
    }
    let t = BTree::open(root);
    t.check(&r).expect("the table's tree is well formed");
    let mut cur =
        t.range(&r, std::ops::Bound::Unbounded, std::ops::Bound::Unbounded, Direction::Forward).expect("open a cursor");
    while let Some((key, bytes)) = cur.next(&r).expect("read the next row") {
        assert!(bytes.len() >= 8, "row {key:?} is {} bytes long", bytes.len());
        let id = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        assert_eq!(key, id.to_be_bytes(), "row {id} stored under another key");
        assert_eq!(bytes, row(id), "row {id} holds other bytes than were written");
        *out.entry(id).or_insert(0) += 1;
    }
    out
}

/// Assert no row appears twice; returns the ids.
fn ids_once(rows: &BTreeMap<u64, usize>) -> BTreeSet<u64> {
    let twice: Vec<_> = rows.iter().filter(|&(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "rows appearing more than once (id, count): {twice:?}");
    rows.keys().copied().collect()
}

/// Assert every acknowledged id is among `present`.
fn assert_acked_present(acked: &BTreeSet<u64>, present: &BTreeSet<u64>, what: &str) {
    let lost: Vec<_> = acked.difference(present).collect();
    assert!(
        lost.is_empty(),
        "{what}: {} acknowledged commits lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(20)]
    );
}

fn time_seed() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
        ^ u64::from(std::process::id())
}

// ---------------------------------------------------------------------------
// In one process
// ---------------------------------------------------------------------------

#[test]
fn acknowledged_commits_survive_dropping_the_handle_without_close() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    let opts = options(None);
    let mut acked = BTreeSet::new();
    {
        let e = open(&path, &opts).expect("create the database");
        assert!(e.recovery_report().created);
        let h = table(&e).expect("create the table");
        for id in 1..=200u64 {
            insert_committed(&e, &h, id).expect("commit");
            acked.insert(id);
        }
        // No close(): nothing is checkpointed, the log alone holds the rows.
        drop(e);
    }
    let e = open(&path, &opts).expect("reopen through recovery");
    let r = e.recovery_report();
    assert!(!r.created, "{r:?}");
    assert!(r.records_applied > 0, "recovery applied nothing: {r:?}");
    assert!(r.txns_redone >= 201, "the table and 200 rows: {r:?}");
    assert!(r.checkpointed, "{r:?}");
    let present = ids_once(&scan(&e));
    assert_acked_present(&acked, &present, "after dropping the handle");
    assert_eq!(present, acked, "only what was committed");
    // Recovered state is itself durable: a clean close and reopen redo nothing.
    e.close().expect("close");
    drop(e);
    let e = open(&path, &opts).expect("reopen after a clean close");
    assert_eq!(e.recovery_report().records_applied, 0, "{:?}", e.recovery_report());
    assert_eq!(ids_once(&scan(&e)), acked);
}

// ---------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------

/// Re-execute this test binary on the ignored test `name`, with `env`.
fn spawn_child(name: &str, db: &Path, env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", name, "--nocapture", "--ignored", "--test-threads", "1"])
        .env(ENV_DB, db)
        .env_remove(ENV_ABORT_AFTER)
        .env_remove(ENV_THREADS)
        .env_remove(ENV_CHECKPOINT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn the child process")
}

/// The id on an `ack <id>` line (the harness may have written on the same
/// line before it).
fn parse_ack(line: &str) -> Option<u64> {
    let at = line.rfind("ack ")?;
    line[at + 4..].trim().parse().ok()
}

/// The child's stderr, for failure messages.
fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
    }
    s
}

/// What a writer child was told and what it acknowledged.
struct WriterRun {
    acked: BTreeSet<u64>,
    /// Lines that were not acks.
    other: Vec<String>,
    /// Acks read before the kill (all of them when not killed).
    acked_before_kill: usize,
    status: ExitStatus,
    stderr: String,
}

/// Run the writer on `db`; with `kill_after`, SIGKILL it once that many
/// acks have been read. Reads every line the child wrote either way.
fn run_writer(db: &Path, env: &[(&str, String)], kill_after: Option<usize>) -> WriterRun {
    let mut child = spawn_child("child_writer_process", db, env);
    let stdout = child.stdout.take().expect("child stdout");
    let mut acked = BTreeSet::new();
    let mut acked_before_kill = None;
    let mut other = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read a line from the child");
        match parse_ack(&line) {
            Some(id) => assert!(acked.insert(id), "id {id} acknowledged twice"),
            None => other.push(line),
        }
        if kill_after.is_some_and(|k| acked_before_kill.is_none() && acked.len() >= k) {
            acked_before_kill = Some(acked.len());
            child.kill().expect("SIGKILL the child");
            // Keep reading: lines already in the pipe are acknowledged too.
        }
    }
    let stderr = stderr_of(&mut child);
    let status = child.wait().expect("wait for the child");
    if let Some(k) = kill_after {
        assert!(
            acked_before_kill.is_some(),
            "the child exited ({status}) after {} acks, before the kill point {k}; stdout: {other:?}; stderr: {stderr}",
            acked.len()
        );
    }
    WriterRun { acked_before_kill: acked_before_kill.unwrap_or(acked.len()), acked, other, status, stderr }
}

/// Reopen `db` after a crash and check it: every ack present, no row twice,
/// and per committing thread a prefix of its id sequence holding every ack
/// and at most one commit more (durable, its ack not yet printed).
fn check_after_crash(db: &Path, run: &WriterRun, threads: u64, what: &str) -> BTreeSet<u64> {
    let e = open(db, &options(None)).unwrap_or_else(|err| panic!("{what}: recovery failed: {err}"));
    let present = ids_once(&scan(&e));
    assert_acked_present(&run.acked, &present, what);
    for t in 0..threads {
        let mine: Vec<u64> = present.iter().copied().filter(|id| (id - 1) % threads == t).collect();
        let expected: Vec<u64> = (0..mine.len() as u64).map(|k| 1 + t + k * threads).collect();
        assert_eq!(mine, expected, "{what}: thread {t}'s rows are not a prefix of its commit order");
        let acked_mine = run.acked.iter().filter(|id| (*id - 1) % threads == t).count();
        assert!(mine.len() <= acked_mine + 1, "{what}: thread {t} has {} rows but only {acked_mine} acks", mine.len());
    }
    let r = e.recovery_report();
    assert!(!r.created, "{what}: {r:?}");
    present
}

#[test]
fn acknowledged_commits_survive_process_abort() {
    let _serial = serial();
    const COMMITS: u64 = 300;
    let dir = tempfile::tempdir().expect("temp dir");
    // Round 0 with default settings; rounds 1 and 2 checkpoint every 256 and
    // 64 KiB of log, so the crash meets checkpointed and recycled segments.
    for (round, checkpoint) in [None, Some(256u64 << 10), Some(64 << 10)].into_iter().enumerate() {
        let db = dir.path().join(format!("abort-{round}.db"));
        let mut env = vec![(ENV_ABORT_AFTER, COMMITS.to_string())];
        if let Some(c) = checkpoint {
            env.push((ENV_CHECKPOINT, c.to_string()));
        }
        let t0 = Instant::now();
        let run = run_writer(&db, &env, None);
        let what = format!("abort round {round} (checkpoint every {checkpoint:?} bytes)");
        assert!(!run.status.success(), "{what}: the child exited normally; stderr: {}", run.stderr);
        assert_eq!(run.status.signal(), Some(SIGABRT), "{what}: {}; stderr: {}", run.status, run.stderr);
        assert_eq!(run.acked, (1..=COMMITS).collect(), "{what}: the child acknowledged other ids");
        let checkpoints: u64 = run
            .other
            .iter()
            .find_map(|l| l.rfind("checkpoints ").and_then(|at| l[at + 12..].trim().parse().ok()))
            .unwrap_or_else(|| panic!("{what}: no checkpoint count in {:?}", run.other));
        assert_eq!(checkpoints > 0, checkpoint.is_some(), "{what}: {checkpoints} automatic checkpoints");
        let present = check_after_crash(&db, &run, 1, &what);
        // The transaction cut off by abort() never committed.
        assert_eq!(present, run.acked, "{what}: the aborted transaction left a trace");
        eprintln!("{what}: {} acks, {checkpoints} checkpoints, all present ({:?})", run.acked.len(), t0.elapsed());
    }
}

#[test]
fn acknowledged_commits_survive_sigkill_at_a_random_moment() {
    let _serial = serial();
    let seed = time_seed();
    println!("sigkill seed: {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    // One committer, then two (group commit), then two with frequent
    // checkpoints (the kill may land inside one).
    for (round, (threads, checkpoint)) in [(1u64, None), (2, None), (2, Some(64u64 << 10))].into_iter().enumerate() {
        let db = dir.path().join(format!("kill-{round}.db"));
        let kill_after = rng.between(20, 200) as usize;
        let mut env = vec![(ENV_THREADS, threads.to_string())];
        if let Some(c) = checkpoint {
            env.push((ENV_CHECKPOINT, c.to_string()));
        }
        let t0 = Instant::now();
        let run = run_writer(&db, &env, Some(kill_after));
        let what = format!(
            "seed {seed} round {round}: kill after {kill_after} acks, {threads} committers, checkpoint every \
             {checkpoint:?} bytes"
        );
        assert_eq!(run.status.signal(), Some(SIGKILL), "{what}: {}; stderr: {}", run.status, run.stderr);
        check_after_crash(&db, &run, threads, &what);
        eprintln!(
            "{what}: {} acks read before the kill, {} in all, all present ({:?})",
            run.acked_before_kill,
            run.acked.len(),
            t0.elapsed()
        );
    }
}

#[test]
fn a_second_open_in_another_process_is_locked() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("locked.db");
    let opts = options(None);
    let probe = |expect: &str| -> Vec<String> {
        let mut child = spawn_child("child_open_probe", &db, &[]);
        let stdout = child.stdout.take().expect("child stdout");
        let lines: Vec<String> =
            BufReader::new(stdout).lines().collect::<Result<_, _>>().expect("read the child's output");
        let stderr = stderr_of(&mut child);
        let status = child.wait().expect("wait for the child");
        assert!(status.success(), "probe exited with {status}; stdout: {lines:?}; stderr: {stderr}");
        assert!(
            lines.iter().any(|l| l.contains(expect)),
            "expected the probe to report {expect:?}; stdout: {lines:?}; stderr: {stderr}"
        );
        lines
    };
    let e = open(&db, &opts).expect("create the database");
    let h = table(&e).expect("create the table");
    for id in 1..=3 {
        insert_committed(&e, &h, id).expect("commit");
    }
    probe("probe: locked");
    // A second handle in this process conflicts the same way.
    let err = open(&db, &opts).expect_err("a second open in this process");
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    // Still ours, and still usable.
    insert_committed(&e, &h, 4).expect("commit after the probe");
    drop(e);
    // Released on drop: the child opens it (recovering the four rows).
    probe("probe: opened 4 rows");
}

// ---------------------------------------------------------------------------
// The children (run only when re-executed by the tests above)
// ---------------------------------------------------------------------------

/// Print one line on stdout and flush it, or exit quietly if the parent has
/// gone.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(3);
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

#[test]
#[ignore = "a child process of acknowledged_commits_survive_process_abort/sigkill; needs WALDB_CHILD_DB"]
fn child_writer_process() {
    let Some(db) = std::env::var_os(ENV_DB).map(PathBuf::from) else { return };
    let abort_after = env_u64(ENV_ABORT_AFTER);
    let threads = env_u64(ENV_THREADS).unwrap_or(1).max(1);
    let opts = options(env_u64(ENV_CHECKPOINT).map(Some));
    let e = open(&db, &opts).expect("child: open the database");
    let h = table(&e).expect("child: create the table");
    let limit = abort_after.unwrap_or(WRITER_LIMIT);
    let committers: Vec<_> = (0..threads)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                // Thread t commits ids t+1, t+1+threads, ...
                let mut id = 1 + t;
                while id <= limit {
                    insert_committed(&e, &h, id).expect("child: commit");
                    say(&format!("ack {id}"));
                    id += threads;
                }
            })
        })
        .collect();
    for c in committers {
        c.join().expect("child: committer thread");
    }
    if abort_after.is_some() {
        say(&format!("checkpoints {}", e.stats().checkpoints));
        // Mid-transaction: rows inserted, nothing committed.
        let tx = e.begin_write().expect("child: begin the last transaction");
        for id in limit + 1..=limit + 50 {
            insert(&tx, &h, id).expect("child: insert");
        }
        std::process::abort();
    }
}

#[test]
#[ignore = "a child process of a_second_open_in_another_process_is_locked; needs WALDB_CHILD_DB"]
fn child_open_probe() {
    let Some(db) = std::env::var_os(ENV_DB).map(PathBuf::from) else { return };
    match open(&db, &options(None)) {
        Err(Error::Locked { .. }) => say("probe: locked"),
        Err(e) => say(&format!("probe: error {e}")),
        Ok(e) => {
            let rows = scan(&e);
            say(&format!("probe: opened {} rows", ids_once(&rows).len()));
            e.close().expect("child: close");
        }
    }
}
