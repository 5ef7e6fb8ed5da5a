//! Regression tests for the commit path under concurrency (issue 13): each
//! makes its interleaving happen deterministically — a flush forced between
//! a transaction's page records and its `COMMIT`, a durability mode that
//! leaves commits unflushed, slow WAL writes that make flushes overlap — and
//! checks what a crash image of that moment recovers to.
//!
//! - no steal with early lock release: a page is never written before the
//!   `COMMIT` of the transaction that last changed it is durable;
//! - no statement shows data that a crash can take back, whatever kind of
//!   transaction runs it;
//! - dropping a handle with an open transaction rolls it back and closes;
//! - a session's transaction is not joined from another thread by accident;
//! - every flush proves the one before it durable (bit rot in any
//!   acknowledged flush but the last is corruption, never silent loss);
//! - fail stop: after a failed fsync no read is served.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::sim::{self, Step, check_image_with, sim_options};
use parking_lot::Mutex;
use waldb::btree::BTree;
use waldb::io::{CrashImage, Errno, Fault, LossMode, OpFilter, OpKind, SimVfs, Vfs, When};
use waldb::storage::{PageStore, header};
use waldb::txn::{Engine, EngineOptions};
use waldb::wal::{Durability, RecordType, Wal, WalOptions};
use waldb::{Database, Error, PageId};

fn path() -> PathBuf {
    PathBuf::from("/db/bank.db")
}

fn open(vfs: &SimVfs, opts: &EngineOptions) -> waldb::Result<Database> {
    Database::open_on_engine(Arc::new(vfs.clone()) as Arc<dyn Vfs>, &path(), opts.clone())
}

/// The log flushes everything appended before each `COMMIT` record.
fn flush_before_every_commit(db: &Database) {
    db.engine().wal().set_append_hook(Some(Arc::new(|wal: &Wal, kind: RecordType| {
        if kind == RecordType::Commit {
            let _ = wal.flush_all();
        }
    })));
}

/// Engine-level, single thread: commits pipelined four deep on an 8-frame
/// pool with a flush before every COMMIT. The next transaction evicts pages
/// whose commit is not durable; a crash at every I/O call, under every loss
/// mode, must recover to a prefix of the commit order. Before the fix the
/// evicted page was written as soon as its own records were durable, and a
/// crash image kept half a transaction.
#[test]
fn a_page_is_never_written_before_its_commit_is_durable() {
    let mut opts = sim_options(32 * 1024, None);
    // 8 frames, growing to at most 16 for a transaction's uncommitted
    // pages: committed dirty pages must be evicted.
    opts.pool_bytes = 8 * opts.page_size;
    opts.pool_cap_bytes = 16 * opts.page_size;
    let mut steps = vec![Step::FlushBeforeCommits];
    steps.extend(sim::oltp(13, 40, Some(15)));
    let checked = Arc::new(AtomicU64::new(0));
    let (c2, o2) = (checked.clone(), opts.clone());
    let vfs = SimVfs::new(13);
    let out = sim::run_with_crash_hook(&vfs, &opts, &steps, 4, move |n, image, out| {
        for mode in sim::loss_modes(o2.page_size) {
            if let Err(e) = check_image_with(image, mode, n, out, &o2, false) {
                panic!("crash at I/O call {n}, {mode:?}: {e}");
            }
            c2.fetch_add(1, Ordering::Relaxed);
        }
    });
    assert_eq!(out.error, None);
    assert!(out.acked > 30, "{out:?}");
    let evictions = checked.load(Ordering::Relaxed);
    println!("no steal, engine level: {evictions} crash images recovered and checked");
    assert!(evictions > 500);
}

/// Engine level, the interleaving spelled out: right after a checkpoint,
/// transaction A changes three leaves (each logged whole: its first change
/// since the redo point) and a flush takes those records but not A's
/// COMMIT; transaction B then changes six other leaves in an 8-frame pool,
/// evicting A's pages. A crash right then must recover A whole or not at
/// all. Before the fix the evicted pages were written at once and the image
/// held A's change to them without A's COMMIT: half a transaction.
#[test]
#[allow(clippy::big_endian_bytes)] // keys sort as the row numbers
fn the_next_writer_evicting_pages_of_an_undurable_commit_leaves_no_half_transaction() {
    let opts = EngineOptions {
        page_size: 1024,
        pool_bytes: 8 * 1024,
        pool_cap_bytes: 8 * 1024,
        wal: WalOptions { segment_size: 64 * 1024, background: false, ..WalOptions::default() },
        checkpoint_bytes: None,
        ..EngineOptions::default()
    };
    let vfs = SimVfs::new(1);
    let e = Engine::open(Arc::new(vfs.clone()) as Arc<dyn Vfs>, &path(), opts.clone()).expect("open");
    // Rows of 200 bytes keyed by their number: four to a leaf (ascending
    // inserts leave full leaves), so row k is on leaf k / 4.
    let key = |k: usize| (k as u64).to_be_bytes();
    let tx = e.begin_write().expect("begin");
    let tree = BTree::create(&tx, true).expect("tree");
    header::set_root(&mut tx.write(PageId::HEADER).expect("header"), 1, tree.root());
    tx.commit().expect("commit");
    for i in 0..40u8 {
        let tx = e.begin_write().expect("begin");
        assert!(tree.insert(&tx, &key(usize::from(i)), &[i; 200]).expect("insert"));
        tx.commit().expect("commit");
    }
    e.checkpoint().expect("checkpoint");
    let pages = tree.pages(&e.begin_read().expect("read")).expect("pages");
    assert_eq!(pages.len(), 11, "a root over ten leaves: {pages:?}");
    e.wal().set_append_hook(Some(Arc::new(|wal: &Wal, kind: RecordType| {
        if kind == RecordType::Commit {
            let _ = wal.flush_all();
        }
    })));
    let changed = [0usize, 16, 32];
    let a = e.begin_write().expect("begin A");
    for &k in &changed {
        assert!(tree.put(&a, &key(k), &[0xAA; 200]).expect("update").is_some());
    }
    assert_eq!(tree.pages(&a).expect("pages"), pages, "updated in place: three leaves changed");
    let pending = a.commit_pending().expect("A's COMMIT appended");
    assert!(e.durable_lsn() <= pending.lsn().expect("changed"), "A's COMMIT is not durable yet");
    // B changes six other pages: with A's three dirty frames and B's
    // uncommitted ones, the 8-frame pool must evict A's pages.
    let b = e.begin_write().expect("begin B");
    for k in [4usize, 8, 12, 20, 24, 28] {
        tree.put(&b, &key(k), &[0xBB; 200]).expect("update");
    }
    drop(b);
    let image = vfs.crash_image();
    for mode in [LossMode::KeepAll, LossMode::DropAll] {
        let disk = image.boot(mode);
        let e2 = Engine::open(Arc::new(disk) as Arc<dyn Vfs>, &path(), opts.clone()).expect("recover");
        let r = e2.begin_read().expect("read");
        let seen: Vec<bool> =
            changed.iter().map(|&k| tree.get(&r, &key(k)).expect("get").expect("row") == vec![0xAA; 200]).collect();
        assert!(seen.iter().all(|&s| s) || seen.iter().all(|&s| !s), "{mode:?}: half of A survived: {seen:?}");
    }
    drop(pending);
}

const ACCOUNTS: i64 = 120;
const OPENING: i64 = 1_000;

/// A bank on 1 KiB pages: each account row carries filler so the table
/// spans many pages; every transfer is logged in `transfers`.
fn bank(db: &Database) {
    db.execute_batch(
        "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, filler TEXT);
         CREATE TABLE transfers(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER);",
    )
    .expect("schema");
    let tx = db.transaction().expect("begin");
    for id in 0..ACCOUNTS {
        tx.execute("INSERT INTO accounts VALUES (?, ?, ?)", (id, OPENING, "x".repeat(90))).expect("account");
    }
    tx.commit().expect("commit");
}

/// Every balance equals the opening balance plus what the transfer log
/// says came in, less what went out; the total is unchanged; the integrity
/// check is clean.
fn check_bank(db: &Database) -> Result<(), String> {
    let rows = db.query("SELECT id, balance FROM accounts ORDER BY id", ()).map_err(|e| e.to_string())?;
    let mut expected: BTreeMap<i64, i64> = (0..ACCOUNTS).map(|id| (id, OPENING)).collect();
    let log = db.query("SELECT src, dst, amount FROM transfers", ()).map_err(|e| e.to_string())?;
    for r in &log {
        let (src, dst, amount): (i64, i64, i64) = (
            r.get(0).map_err(|e| e.to_string())?,
            r.get(1).map_err(|e| e.to_string())?,
            r.get(2).map_err(|e| e.to_string())?,
        );
        *expected.entry(src).or_default() -= amount;
        *expected.entry(dst).or_default() += amount;
    }
    let mut got = BTreeMap::new();
    for r in &rows {
        got.insert(r.get::<i64>(0).map_err(|e| e.to_string())?, r.get::<i64>(1).map_err(|e| e.to_string())?);
    }
    if got != expected {
        let diff: Vec<_> = got.iter().filter(|(k, v)| expected.get(k) != Some(v)).take(5).collect();
        return Err(format!("balances disagree with the transfer log ({} transfers): {diff:?}", log.len()));
    }
    let total: i64 = got.values().sum();
    if total != ACCOUNTS * OPENING {
        return Err(format!("total {total}, expected {}", ACCOUNTS * OPENING));
    }
    db.check_integrity().map_err(|e| format!("integrity check failed: {e}"))?;
    Ok(())
}

/// Four committer threads, transactions of several transfers over many
/// pages, a 12-frame pool, a flush before every COMMIT. A crash image is
/// kept after every data-file write; each must recover to a bank that
/// agrees with its transfer log.
#[test]
fn four_committers_with_a_crash_image_after_every_data_file_write() {
    let opts = EngineOptions {
        page_size: 1024,
        pool_bytes: 16 * 1024,
        pool_cap_bytes: 16 * 1024,
        // Each flush leader waits a little: the next writer runs, and
        // evicts, while the last commit is not durable yet.
        wal: WalOptions {
            segment_size: 256 * 1024,
            background: false,
            commit_delay: Duration::from_micros(500),
            ..WalOptions::default()
        },
        // Frequent checkpoints: a page's first change after one is logged
        // whole, and recovery installs such an image as it is — so a page
        // written too early is only repaired if an older committed image
        // follows the redo point. Right after a checkpoint none does.
        checkpoint_bytes: Some(16 * 1024),
        ..EngineOptions::default()
    };
    let vfs = SimVfs::new(41);
    // The bank is opened in one transaction, in a pool that can hold it.
    let roomy = EngineOptions { pool_cap_bytes: 8 << 20, ..opts.clone() };
    let db = open(&vfs, &roomy).expect("open");
    bank(&db);
    db.close().expect("close");
    let db = open(&vfs, &opts).expect("reopen");
    flush_before_every_commit(&db);
    // The write observer marks a data-file write; the crash hook at the
    // next call keeps the image, which holds that write unsynced.
    let wrote_data = Arc::new(AtomicBool::new(false));
    let images: Arc<Mutex<Vec<CrashImage>>> = Arc::new(Mutex::new(Vec::new()));
    let data_file = path();
    let w2 = wrote_data.clone();
    vfs.set_write_observer(Some(Arc::new(move |p: &Path, _off: u64, _bytes: &[u8]| {
        if p == data_file {
            w2.store(true, Ordering::SeqCst);
        }
    })));
    let (w3, i2) = (wrote_data.clone(), images.clone());
    vfs.set_crash_hook(Some(Arc::new(move |_n: u64, image: &CrashImage| {
        if w3.swap(false, Ordering::SeqCst) {
            i2.lock().push(image.clone());
        }
    })));
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let db = db.clone();
            s.spawn(move || {
                let mut x = (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut next = || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                };
                for _ in 0..40 {
                    let tx = db.transaction().expect("begin");
                    for _ in 0..3 {
                        let (a, b) = ((next() % ACCOUNTS as u64) as i64, (next() % ACCOUNTS as u64) as i64);
                        let amount = (next() % 50) as i64 + 1;
                        tx.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, a))
                            .expect("debit");
                        tx.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, b))
                            .expect("credit");
                        tx.execute("INSERT INTO transfers(src, dst, amount) VALUES (?, ?, ?)", (a, b, amount))
                            .expect("log");
                    }
                    tx.commit().expect("commit");
                }
            });
        }
    });
    vfs.set_crash_hook(None);
    vfs.set_write_observer(None);
    check_bank(&db).expect("the live database");
    let images = std::mem::take(&mut *images.lock());
    assert!(images.len() > 50, "the pool evicted committed pages: {} data-file writes", images.len());
    for (i, image) in images.iter().enumerate() {
        for mode in [LossMode::KeepAll, LossMode::DropAll] {
            let disk = image.boot(mode);
            let db = open(&disk, &opts).unwrap_or_else(|e| panic!("image {i}, {mode:?}: recovery failed: {e}"));
            if let Err(e) = check_bank(&db) {
                panic!("image {i} of {}, {mode:?}: {e}", images.len());
            }
        }
    }
    println!("four committers: {} crash images after data-file writes, each recovered twice and checked", images.len());
}

/// `Durability::Off`: one handle commits without a flush; another handle's
/// statements inside `BEGIN` — a read, a conflict that changes nothing, an
/// error — must not show that commit unless it is durable. Before the fix
/// they did, and a power cut then took it back.
#[test]
fn a_write_transaction_never_shows_a_commit_a_crash_can_take_back() {
    let opts = EngineOptions {
        page_size: 1024,
        wal: WalOptions {
            segment_size: 64 * 1024,
            background: false,
            durability: Durability::Off,
            ..WalOptions::default()
        },
        checkpoint_bytes: None,
        ..EngineOptions::default()
    };
    type Probe = fn(&Database) -> String;
    let probes: [(&str, Probe); 4] = [
        ("a count inside BEGIN", |db| {
            let tx = db.transaction().expect("begin");
            let n: i64 = tx.query_row("SELECT count(*) FROM t", (), |r| r.get(0)).expect("count");
            tx.rollback().expect("rollback");
            n.to_string()
        }),
        ("INSERT OR IGNORE that ignored", |db| {
            db.execute("INSERT OR IGNORE INTO t VALUES (1, 'again')", ()).expect("ignore").to_string()
        }),
        ("a UNIQUE violation", |db| match db.execute("INSERT INTO t VALUES (1, 'again')", ()) {
            Err(Error::Constraint { .. }) => "conflict".to_string(),
            other => format!("{other:?}"),
        }),
        ("an UPDATE's count inside BEGIN", |db| {
            let tx = db.transaction().expect("begin");
            let n = tx.execute("UPDATE t SET v = 'seen' WHERE id = 1", ()).expect("update");
            tx.rollback().expect("rollback");
            n.to_string()
        }),
    ];
    for (what, probe) in probes {
        let vfs = SimVfs::new(7);
        let writer = open(&vfs, &opts).expect("open");
        writer.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).expect("create");
        writer.checkpoint().expect("the table is durable");
        writer.execute("INSERT INTO t VALUES (1, 'first')", ()).expect("insert, not flushed");
        let other = writer.clone();
        let shown = probe(&other);
        // Power is lost: unsynced writes are gone.
        let disk = vfs.crash_image().boot(LossMode::DropAll);
        drop((writer, other));
        let db = open(&disk, &opts).expect("recover");
        let survived: i64 = db.query_row("SELECT count(*) FROM t", (), |r| r.get(0)).expect("count");
        assert_eq!(survived, 1, "{what} showed '{shown}' from the commit of row 1, which a crash then took back");
    }
}

/// Dropping the last handle while its session has a transaction open — or
/// a panic unwinding through it — rolls the transaction back and closes;
/// before the fix the close waited forever for the writer lock the
/// transaction held.
#[test]
fn dropping_a_handle_with_an_open_transaction_rolls_back_and_closes() {
    for panics in [false, true] {
        let vfs = SimVfs::new(3);
        let opts = EngineOptions { page_size: 1024, ..EngineOptions::default() };
        let db = open(&vfs, &opts).expect("open");
        db.execute("CREATE TABLE t(x)", ()).expect("create");
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                db.execute("BEGIN", ()).expect("begin");
                db.execute("INSERT INTO t VALUES (1)", ()).expect("insert");
                if panics {
                    panic!("the application fails inside its transaction");
                }
                drop(db);
            }));
            let _ = done_tx.send(result.is_err());
        });
        let panicked = done_rx.recv_timeout(Duration::from_secs(20)).expect("the drop finished: no hang");
        assert_eq!(panicked, panics);
        let db = open(&vfs, &opts).expect("reopen");
        let n: i64 = db.query_row("SELECT count(*) FROM t", (), |r| r.get(0)).expect("count");
        assert_eq!(n, 0, "the open transaction was rolled back");
        assert_eq!(db.recovery_report().txns_redone, 0, "closed cleanly: nothing to redo");
    }
}

/// Threads that share one handle do not share its transaction by
/// accident: thread B's statement fails clearly instead of joining thread
/// A's `BEGIN` (and returning before anything is durable).
#[test]
fn a_statement_from_another_thread_does_not_join_a_transaction() {
    let db = Database::open_in_memory().expect("open");
    db.execute("CREATE TABLE t(x)", ()).expect("create");
    db.execute("BEGIN", ()).expect("begin on this thread");
    db.execute("INSERT INTO t VALUES (1)", ()).expect("insert in the transaction");
    std::thread::scope(|s| {
        s.spawn(|| {
            let e = db.execute("INSERT INTO t VALUES (2)", ()).expect_err("another thread's statement");
            assert!(matches!(&e, Error::Sql(m) if m.contains("another thread")), "{e}");
            let e = db.query("SELECT count(*) FROM t", ()).expect_err("another thread's query");
            assert!(matches!(&e, Error::Sql(m) if m.contains("another thread")), "{e}");
            let e = db.execute("COMMIT", ()).expect_err("another thread's COMMIT");
            assert!(matches!(&e, Error::Sql(m) if m.contains("another thread")), "{e}");
            // A clone is a session of its own: it waits for the writer,
            // so only a read-only use is tried here.
            assert!(!db.clone().in_transaction());
        });
    });
    db.execute("COMMIT", ()).expect("commit on the thread that began");
    let n: i64 = db.query_row("SELECT count(*) FROM t", (), |r| r.get(0)).expect("count");
    assert_eq!(n, 1, "only the owner's insert");
    // ROLLBACK works from any thread (dropping a Transaction elsewhere).
    db.execute("BEGIN", ()).expect("begin");
    std::thread::scope(|s| {
        s.spawn(|| db.execute("ROLLBACK", ()).expect("rollback from another thread"));
    });
    assert!(!db.in_transaction());
}

/// Four committer threads with slow WAL writes, so the next batch is
/// appended while a flush is in flight. Then a bit is flipped at the start
/// of every acknowledged flush but the last: recovery must refuse with
/// `CorruptLog`, never open with those commits silently gone. Before the
/// fix a record carried the durable LSN of its append, so flush N was only
/// proven durable by flush N+2.
#[test]
fn bit_rot_in_any_acknowledged_flush_but_the_last_is_corruption() {
    let opts = EngineOptions {
        page_size: 1024,
        wal: WalOptions { segment_size: 4 << 20, background: false, ..WalOptions::default() },
        checkpoint_bytes: None,
        ..EngineOptions::default()
    };
    let vfs = SimVfs::new(5);
    let db = open(&vfs, &opts).expect("open");
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).expect("create");
    // (offset, first 16 bytes) of each flush's write: the segment handle
    // still carries the temporary name it was built under, so the segment
    // is found again by its bytes.
    type Flushes = Mutex<Vec<(u64, Vec<u8>)>>;
    let flushes: Arc<Flushes> = Arc::new(Mutex::new(Vec::new()));
    let f2 = flushes.clone();
    vfs.set_write_observer(Some(Arc::new(move |p: &Path, off: u64, bytes: &[u8]| {
        if p.to_string_lossy().contains("-wal-") && off >= 4096 && bytes.len() >= 16 && bytes[..4] != [0; 4] {
            f2.lock().push((off, bytes[..16].to_vec()));
            // A slow device: committers append the next batch meanwhile.
            std::thread::sleep(Duration::from_micros(300));
        }
    })));
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let db = db.clone();
            s.spawn(move || {
                for i in 0..40i64 {
                    db.execute("INSERT INTO t VALUES (?, ?)", (t * 1000 + i, "v")).expect("insert");
                }
            });
        }
    });
    vfs.set_write_observer(None);
    let image = vfs.crash_image();
    let flushes = std::mem::take(&mut *flushes.lock());
    assert!(flushes.len() > 20, "{} flushes", flushes.len());
    let mut corrupt = 0;
    let segments: Vec<PathBuf> = {
        let disk = image.boot(LossMode::KeepAll);
        let dir = disk.list(Path::new("/db")).expect("list");
        dir.into_iter().filter(|p| p.to_string_lossy().contains("-wal-")).collect()
    };
    for (k, (off, head)) in flushes.iter().enumerate().take(flushes.len() - 1) {
        let disk = image.boot(LossMode::KeepAll);
        let seg = segments
            .iter()
            .find(|p| disk.live_bytes(p).is_some_and(|b| b.get(*off as usize..*off as usize + 16) == Some(head)))
            .expect("the flush's segment");
        disk.flip_bit(seg, *off + 2, 3).expect("flip");
        match open(&disk, &opts) {
            Err(Error::CorruptLog { .. }) => corrupt += 1,
            Err(e) => panic!("flush {k} of {}: unexpected error {e}", flushes.len()),
            Ok(db) => {
                let n: i64 = db.query_row("SELECT count(*) FROM t", (), |r| r.get(0)).expect("count");
                panic!(
                    "flush {k} of {} damaged, yet the database opened with {n} of 160 acknowledged rows",
                    flushes.len()
                );
            }
        }
    }
    println!("bit rot: {corrupt} acknowledged flushes damaged, each refused as CorruptLog");
}

/// Fail stop for readers: after the data file's fsync failed (its state on
/// disk is unknown), a read is refused with `Poisoned` instead of served
/// from pages that may be old versions.
#[test]
fn after_a_failed_data_file_fsync_no_read_is_served() {
    let opts = EngineOptions { page_size: 1024, pool_bytes: 8 * 1024, ..EngineOptions::default() };
    let vfs = SimVfs::new(9);
    let db = open(&vfs, &opts).expect("open");
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).expect("create");
    for i in 0..200 {
        db.execute("INSERT INTO t VALUES (?, ?)", (i, "y".repeat(50))).expect("insert");
    }
    vfs.add_fault(Fault::Fail {
        when: When::Nth(OpFilter::ops(&[OpKind::SyncData]).on_path("bank.db"), 0),
        errno: Errno::Eio,
        persistent: false,
    });
    let e = db.checkpoint().expect_err("the data file's fsync fails");
    assert!(e.to_string().contains("fsync"), "{e}");
    let e = db.query("SELECT count(*) FROM t", ()).expect_err("no read after the failure");
    assert!(e.is_poisoned(), "{e}");
    let e = db.execute("INSERT INTO t VALUES (1000, 'z')", ()).expect_err("no write either");
    assert!(e.is_poisoned(), "{e}");
    drop(db);
    let db = open(&vfs, &opts).expect("reopen recovers");
    let n: i64 = db.query_row("SELECT count(*) FROM t", (), |r| r.get(0)).expect("count");
    assert_eq!(n, 200);
}
