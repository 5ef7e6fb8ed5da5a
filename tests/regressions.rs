//! `docs/TESTING.md` §7: the scenarios other engines' bugs say to pin, each
//! as a named test.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::sim::{self, Change, State, Step, db_path, dump, sim_options};
use parking_lot::Mutex;
use waldb::io::{Fault, LossMode, OpFilter, OpKind, SimVfs, TraceEntry, Vfs, When};
use waldb::sql::catalog::Table;
use waldb::sql::table::RowStore;
use waldb::storage::PageStore;
use waldb::storage::page::page_lsn;
use waldb::txn::{Engine, EngineOptions};
use waldb::{Error, Lsn, Value};

fn open(vfs: &SimVfs, opts: &EngineOptions) -> Engine {
    Engine::open(Arc::new(vfs.clone()) as Arc<dyn Vfs>, &db_path(), opts.clone()).expect("open")
}

/// Create table 1 and return it.
fn table(e: &Engine) -> Table {
    let tx = e.begin_write().expect("begin");
    let t = sim::create_table(&tx, 1).expect("create the table");
    tx.commit().expect("commit");
    t
}

/// Store a row holding `bytes` in `t`.
fn insert(tx: &waldb::txn::WriteTxn, t: &Table, bytes: &[u8]) {
    sim::insert_row(tx, t, None, bytes).expect("insert");
}

fn wal_syncs(vfs: &SimVfs) -> u64 {
    waldb::wal::segment::list(vfs, &db_path()).expect("list").iter().map(|(_, p)| vfs.sync_count(p)).sum()
}

/// Commit one row and check that an fdatasync of the log happened between
/// the commit record and the acknowledgement.
fn commit_is_synced_before_ack(e: &Engine, vfs: &SimVfs, h: &Table, what: &str) {
    let tx = e.begin_write().expect("begin");
    insert(&tx, h, what.as_bytes());
    let pending = tx.commit_pending().expect("commit record");
    let lsn = pending.lsn().expect("a change");
    let before = wal_syncs(vfs);
    assert!(e.durable_lsn() <= lsn, "{what}: not durable before the wait");
    pending.wait().expect("ack");
    assert!(wal_syncs(vfs) > before, "{what}: no log fsync before the acknowledgement");
    assert!(e.durable_lsn() > lsn, "{what}: acknowledged but not durable");
}

/// 1. The first commit of a new database, and the first after a checkpoint,
///    a segment switch and a recovery, are each followed by an fsync before
///    the acknowledgement (Turso PR #8172: a missing fsync).
#[test]
fn first_commits_are_synced_before_they_are_acknowledged() {
    let opts = sim_options(16 * 1024, None);
    let vfs = SimVfs::new(1);
    let e = open(&vfs, &opts);
    let h = table(&e);
    commit_is_synced_before_ack(&e, &vfs, &h, "first commit of a new database");
    e.checkpoint().expect("checkpoint");
    commit_is_synced_before_ack(&e, &vfs, &h, "first commit after a checkpoint");
    let seg = e.wal().segments().first().map(|s| s.0);
    while e.wal().segments().first().map(|s| s.0) == seg {
        let tx = e.begin_write().expect("begin");
        insert(&tx, &h, &[1u8; 900]);
        tx.commit().expect("commit");
        e.checkpoint().expect("checkpoint");
    }
    commit_is_synced_before_ack(&e, &vfs, &h, "first commit after a segment switch");
    drop(e);
    let vfs = vfs.reboot(LossMode::KeepAll);
    let e = open(&vfs, &opts);
    commit_is_synced_before_ack(&e, &vfs, &h, "first commit after recovery");
}

fn position(trace: &[TraceEntry], from: usize, f: impl Fn(&TraceEntry) -> bool) -> Option<usize> {
    trace[from..].iter().position(f).map(|i| i + from)
}

fn name(t: &TraceEntry) -> String {
    t.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// 2. The log is truncated (segments removed or recycled) only after the
///    data file is fsynced and the CHECKPOINT record is durable (Turso
///    #4467/#4652); 6. the control file is swapped by temp, fsync, rename,
///    directory fsync.
#[test]
fn a_checkpoint_runs_its_steps_in_order() {
    let opts = EngineOptions {
        wal: waldb::wal::WalOptions { recycle_limit: 0, ..sim_options(16 * 1024, None).wal },
        ..sim_options(16 * 1024, None)
    };
    let vfs = SimVfs::new(2);
    let e = open(&vfs, &opts);
    let h = table(&e);
    for i in 0..40u32 {
        let tx = e.begin_write().expect("begin");
        insert(&tx, &h, &i.to_le_bytes().repeat(100));
        tx.commit().expect("commit");
    }
    vfs.enable_trace();
    e.checkpoint().expect("checkpoint");
    let t = vfs.trace();
    let data_write = position(&t, 0, |x| x.op == OpKind::Write && name(x) == "t.db").expect("pages written");
    let data_sync = position(&t, data_write, |x| x.op == OpKind::SyncData && name(x) == "t.db").expect("data fsync");
    let wal_sync =
        position(&t, data_sync, |x| x.op == OpKind::SyncData && name(x).contains("-wal-")).expect("record durable");
    let ctl_write = position(&t, wal_sync, |x| x.op == OpKind::Write && name(x) == "t.db-ctl.tmp").expect("ctl write");
    let ctl_sync =
        position(&t, ctl_write, |x| x.op == OpKind::SyncAll && name(x) == "t.db-ctl.tmp").expect("ctl fsync");
    let ctl_rename = position(&t, ctl_sync, |x| x.op == OpKind::Rename && name(x) == "t.db-ctl.tmp").expect("rename");
    let ctl_dir = position(&t, ctl_rename, |x| x.op == OpKind::SyncDir).expect("directory fsync");
    assert!(data_write < data_sync && data_sync < wal_sync && wal_sync < ctl_write);
    assert!(ctl_write < ctl_sync && ctl_sync < ctl_rename && ctl_rename < ctl_dir);
    let truncation = t.iter().position(|x| {
        (x.op == OpKind::Remove || x.op == OpKind::Rename) && name(x).contains("-wal-") && !name(x).ends_with("tmp")
    });
    let truncation = truncation.expect("old segments were released");
    assert!(
        truncation > ctl_dir,
        "segments released at {truncation}, before the control file was durable at {ctl_dir}"
    );
}

/// 3. A checkpoint while readers are active never loses what they pinned
///    (Turso PR #4495): readers scan while commits and checkpoints run; a
///    power loss afterwards recovers everything.
#[test]
fn checkpoints_with_readers_in_flight_lose_nothing() {
    let opts = sim_options(16 * 1024, None);
    let vfs = SimVfs::new(3);
    let e = open(&vfs, &opts);
    let h = table(&e);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (e, stop, h) = (e.clone(), stop.clone(), h.clone());
            std::thread::spawn(move || {
                let mut scans = 0;
                // At least a few scans, however the threads are scheduled.
                while scans < 3 || !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = e.begin_read().expect("read");
                    let rows = sim::rows(&r, &h).expect("scan");
                    assert!(rows.iter().all(|(_, b)| b.len() == 200), "every row read back whole");
                    scans += 1;
                }
                scans
            })
        })
        .collect();
    for i in 0..200u32 {
        let tx = e.begin_write().expect("begin");
        insert(&tx, &h, &[i as u8; 200]);
        tx.commit().expect("commit");
        if i % 10 == 9 {
            e.checkpoint().expect("checkpoint");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader") > 0);
    }
    drop(e);
    let e = open(&vfs.reboot(LossMode::DropAll), &opts);
    let r = e.begin_read().expect("read");
    assert_eq!(sim::rows(&r, &h).expect("scan").len(), 200);
}

/// 4. Pages reach the data file only after the log is durable past their
///    LSN (Turso #7781/#8101): checked on every page write of a workload
///    with a small pool, evictions and checkpoints.
#[test]
fn every_page_write_follows_its_log() {
    let opts = sim_options(16 * 1024, None);
    let vfs = SimVfs::new(4);
    let e = open(&vfs, &opts);
    let seen: Arc<Mutex<Option<Engine>>> = Arc::new(Mutex::new(None));
    let checks = Arc::new(Mutex::new((0u64, Vec::new())));
    let (s2, c2) = (seen.clone(), checks.clone());
    *seen.lock() = Some(e.clone());
    vfs.set_write_observer(Some(Arc::new(move |path: &Path, off, bytes: &[u8]| {
        if path == db_path() && bytes.len() == 1024 {
            let lsn = page_lsn(bytes);
            let durable = s2.lock().as_ref().map_or(Lsn::ZERO, |e| e.durable_lsn());
            let mut c = c2.lock();
            c.0 += 1;
            if lsn != Lsn::ZERO && lsn >= durable {
                c.1.push((off / 1024, lsn, durable));
            }
        }
    })));
    let h = table(&e);
    for i in 0..300u32 {
        let tx = e.begin_write().expect("begin");
        for j in 0..5 {
            insert(&tx, &h, &(i * 10 + j).to_le_bytes().repeat(30));
        }
        let p = tx.commit_pending().expect("commit");
        if i % 3 == 0 {
            p.wait().expect("ack");
        } else {
            drop(p);
        }
        if i % 50 == 49 {
            e.checkpoint().expect("checkpoint");
        }
    }
    seen.lock().take();
    let (writes, violations) = checks.lock().clone();
    assert!(writes > 100, "{writes} page writes");
    assert!(violations.is_empty(), "pages written before their log was durable: {violations:?}");
}

/// 5. After a failed fsync a later successful one proves nothing
///    (PostgreSQL's fsyncgate): the engine stays poisoned, and only what was
///    durable before the failure comes back.
#[test]
fn a_later_successful_fsync_proves_nothing() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(5);
    let e = open(&vfs, &opts);
    let h = table(&e);
    for i in 0..5u32 {
        let tx = e.begin_write().expect("begin");
        insert(&tx, &h, &i.to_le_bytes());
        tx.commit().expect("commit");
    }
    vfs.add_fault(Fault::FailSyncLosingData(When::Nth(OpFilter::ops(&[OpKind::SyncData]).on_path("-wal-"), 0)));
    let tx = e.begin_write().expect("begin");
    insert(&tx, &h, b"lost");
    assert!(matches!(tx.commit(), Err(Error::Poisoned { .. })));
    for _ in 0..3 {
        assert!(matches!(e.begin_write(), Err(Error::Poisoned { .. })), "no retry pretends success");
    }
    drop(e);
    let e = open(&vfs.reboot(LossMode::KeepAll), &opts);
    let r = e.begin_read().expect("read");
    assert_eq!(sim::rows(&r, &h).expect("scan").len(), 5, "the failed commit is gone, the acknowledged ones are there");
}

/// 7. The recovery oracle is the model of acknowledged commits, not an
///    integrity check (Turso #8101/#8172 passed `integrity_check` while
///    wrong): a database that lost an acknowledged commit reads back fine,
///    and only the model catches it.
#[test]
fn the_oracle_catches_a_lost_commit_that_reads_back_fine() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(7);
    let steps: Vec<Step> =
        (0..10).map(|_| Step::Txn { changes: vec![Change::Insert { table: 1, len: 20 }], commit: true }).collect();
    let out = sim::run(&vfs, &opts, &steps, 1);
    assert_eq!(out.error, None);
    let e = open(&vfs.reboot(LossMode::KeepAll), &opts);
    let mut state: State = dump(&e).expect("reads back fine");
    assert!(sim::matching_prefix(&out, &state).is_ok());
    let last = *state.keys().last().expect("rows");
    state.remove(&last);
    assert!(sim::matching_prefix(&out, &state).is_err(), "a lost acknowledged commit must be caught");
}

/// 8. A flush torn with garbage sectors, right after an acknowledged one,
///    never damages it (why flushes start on a fresh 4 KiB block).
#[test]
fn a_torn_flush_never_damages_an_acknowledged_commit() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(8);
    let e = open(&vfs, &opts);
    let h = table(&e);
    let tx = e.begin_write().expect("begin");
    insert(&tx, &h, b"acknowledged");
    tx.commit().expect("commit");
    vfs.add_fault(Fault::Crash(When::Nth(OpFilter::ops(&[OpKind::SyncData]).on_path("-wal-"), 0)));
    let tx = e.begin_write().expect("begin");
    insert(&tx, &h, &[7u8; 600]);
    assert!(tx.commit().is_err());
    drop(e);
    let image = vfs.crash_image();
    for seed in 0..48 {
        for sector in [512, 4096] {
            let disk = image.boot_seeded(LossMode::TearLast { sector, garbage: true }, seed);
            let e = open(&disk, &opts);
            let r = e.begin_read().expect("read");
            let first = sim::rows(&r, &h).expect("scan").into_iter().next().map(|(_, b)| b);
            assert_eq!(first.as_deref(), Some(&b"acknowledged"[..]), "seed {seed}, {sector}-byte sectors");
        }
    }
}

/// Found by the G2 suite: a page a transaction wrote but left unchanged (or
/// rolled back) stayed marked dirty, was written back with no change logged
/// since the checkpoint, tore, and could not be repaired. A page is dirty
/// only when it holds a change the log has.
#[test]
fn pages_left_unchanged_or_rolled_back_stay_clean() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(9);
    let e = open(&vfs, &opts);
    let h = table(&e);
    let tx = e.begin_write().expect("begin");
    insert(&tx, &h, b"row");
    tx.commit().expect("commit");
    e.checkpoint().expect("checkpoint");
    assert_eq!(e.pool().dirty_count(), 0);
    // Touched, not changed.
    let tx = e.begin_write().expect("begin");
    drop(tx.write(h.root).expect("write access"));
    tx.commit().expect("commit");
    assert_eq!(e.pool().dirty_count(), 0, "an unchanged page is not dirty");
    // Changed, then rolled back.
    let tx = e.begin_write().expect("begin");
    RowStore::new(&h).replace_raw(&tx, 1, &[Value::Blob(b"new".to_vec())]).expect("update");
    tx.rollback().expect("rollback");
    assert_eq!(e.pool().dirty_count(), 0, "a rolled-back page is not dirty");
    let before = e.pool().stats().page_writes;
    e.checkpoint().expect("checkpoint");
    assert_eq!(e.pool().stats().page_writes, before, "nothing to write");
}
