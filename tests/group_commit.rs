//! Group commit's gather (`src/wal/writer.rs`, "Who a flush waits for";
//! issue 20): a flush leader waits for the committers in flight — in a write
//! transaction, queued on the writer lock, or released by the last flush and
//! not yet back — and for nobody else.
//!
//! The disk is `SimVfs` behind [`SlowSync`]: every sync takes a fixed time,
//! long next to composing a commit in memory, so who joins a batch depends
//! on the gather rule and not on the machine's speed. What it proves:
//!
//! - `every_committer_in_flight_joins_the_flush`: N clones of one database
//!   run autocommit inserts; the flushes carry at least 0.8 N commits on
//!   average (before the gather: about N/2, the pipelined halves), and every
//!   acknowledged commit is durable when `execute` returns.
//! - `a_gather_waits_for_announced_committers_only`: at the log, N
//!   committers announce their commits; every flush after the first carries
//!   all N. A lone committer never waits (no gather is counted).
//! - `no_committer_waits_more_than_two_flushes`: announced and unannounced
//!   committers together; each acknowledgement comes within two flushes of
//!   its append, and is durable.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::slow_sync::SlowSync;
use waldb::ids::DbId;
use waldb::io::{SimVfs, Vfs};
use waldb::wal::{RecordType, Wal, WalOptions};
use waldb::{Database, Options, TxnId};

fn slow_sim(delay_ms: u64) -> Arc<dyn Vfs> {
    Arc::new(SlowSync { inner: Arc::new(SimVfs::new(20)), delay: Duration::from_millis(delay_ms) })
}

#[test]
fn every_committer_in_flight_joins_the_flush() {
    const N: usize = 8;
    const PER_THREAD: i64 = 12;
    let opts = Options { checkpoint_bytes: None, ..Options::default() };
    let db = Database::open_on(slow_sim(20), &PathBuf::from("/g/db"), opts).expect("open");
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).expect("create");
    let before = db.stats().wal;
    let start = Arc::new(Barrier::new(N));
    let threads: Vec<_> = (0..N as i64)
        .map(|t| {
            let (db, start) = (db.clone(), start.clone());
            std::thread::spawn(move || {
                let mut insert = db.prepare("INSERT INTO t VALUES (?, 'x')").expect("prepare");
                start.wait();
                for i in 0..PER_THREAD {
                    let (n, lsn) = insert.execute_durable([t * PER_THREAD + i]).expect("insert");
                    let lsn = lsn.expect("an autocommit insert commits");
                    assert_eq!(n, 1);
                    let durable = db.durable_lsn();
                    assert!(durable > lsn, "acknowledged {lsn:?} with the durable LSN at {durable:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("committer");
    }
    let after = db.stats().wal;
    let commits = after.commits - before.commits;
    let flushes = after.flushes - before.flushes;
    let per_flush = commits as f64 / flushes as f64;
    println!("{N} committers: {commits} commits in {flushes} flushes, {per_flush:.2} per flush");
    assert_eq!(commits, N as u64 * PER_THREAD as u64);
    assert!(
        per_flush >= 0.8 * N as f64,
        "{N} committers: {per_flush:.2} commits per flush ({commits} in {flushes}); want at least {}",
        0.8 * N as f64
    );
    let n: i64 = db.query_row("SELECT count(*) FROM t", (), |r| r.get(0)).expect("count");
    assert_eq!(n, N as i64 * PER_THREAD);
}

fn slow_wal(delay_ms: u64) -> Arc<Wal> {
    let opts = WalOptions { segment_size: 1 << 20, background: false, ..WalOptions::default() };
    Arc::new(Wal::create(slow_sim(delay_ms), &PathBuf::from("/g/w.db"), DbId(3), opts).expect("create log"))
}

/// One committer's round: announce (or not), append a page record and a
/// `COMMIT`, wait for it. Returns (flushes completed right after the
/// append, flushes completed at the acknowledgement).
fn commit_round(wal: &Wal, txid: TxnId, announce: bool) -> (u64, u64) {
    let intent = announce.then(|| wal.announce_commit());
    wal.append(RecordType::PageChange, txid, &[7; 40]).expect("append page record");
    let lsn = wal.append(RecordType::Commit, txid, &[]).expect("append commit");
    drop(intent);
    let appended = wal.stats().flushes;
    wal.commit(lsn).expect("commit");
    let acked = wal.stats().flushes;
    assert!(wal.durable_lsn() > lsn, "acknowledged {lsn:?} before it was durable");
    (appended, acked)
}

#[test]
fn a_gather_waits_for_announced_committers_only() {
    // A lone committer: nobody else is in flight, so no leader ever waits.
    let wal = slow_wal(5);
    for i in 0..5 {
        commit_round(&wal, TxnId(i), true);
    }
    let s = wal.stats();
    assert_eq!((s.flushes, s.gathers), (5, 0), "a lone committer's flushes must not gather");

    // N announced committers, each round started together: after the first
    // flush (no sync time measured yet, so no gather), every flush carries
    // all N.
    const N: u64 = 8;
    const ROUNDS: u64 = 10;
    let wal = slow_wal(40);
    let start = Arc::new(Barrier::new(N as usize));
    let threads: Vec<_> = (0..N)
        .map(|c| {
            let (wal, start) = (wal.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for r in 0..ROUNDS {
                    commit_round(&wal, TxnId(c << 32 | r), true);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("committer");
    }
    let s = wal.stats();
    let per_flush = s.commits as f64 / s.flushes as f64;
    println!("{N} announced committers: {} commits in {} flushes ({} gathered)", s.commits, s.flushes, s.gathers);
    assert_eq!(s.commits, N * ROUNDS);
    assert!(per_flush >= 0.8 * N as f64, "{per_flush:.2} commits per flush; want at least {}", 0.8 * N as f64);
    assert!(s.gathers > 0, "no leader gathered");
}

#[test]
fn no_committer_waits_more_than_two_flushes() {
    const ANNOUNCED: u64 = 5;
    const SILENT: u64 = 3;
    const ROUNDS: u64 = 12;
    // Syncs of 30 ms: a count read a little late (a thread descheduled
    // right after its append or its acknowledgement) could only add a
    // flush if it slept through a whole one.
    let wal = slow_wal(30);
    let threads: Vec<_> = (0..ANNOUNCED + SILENT)
        .map(|c| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                let mut worst = 0;
                for r in 0..ROUNDS {
                    let (appended, acked) = commit_round(&wal, TxnId(c << 32 | r), c < ANNOUNCED);
                    worst = worst.max(acked - appended);
                    if c >= ANNOUNCED {
                        // Unannounced committers arrive at odd moments,
                        // during gathers as well as flushes.
                        std::thread::sleep(Duration::from_micros(2_100 * (c + r) % 27_000));
                    }
                }
                worst
            })
        })
        .collect();
    let worst = threads.into_iter().map(|t| t.join().expect("committer")).max().unwrap_or(0);
    let s = wal.stats();
    println!("{} commits in {} flushes; the longest wait was {worst} flushes", s.commits, s.flushes);
    assert_eq!(s.commits, (ANNOUNCED + SILENT) * ROUNDS);
    assert!(worst <= 2, "a committer waited {worst} flushes after appending");
}
