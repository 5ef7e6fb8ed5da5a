//! The transaction layer's behaviour: commit, rollback, recovery, readers,
//! large transactions, checkpoints, poisoning.

// B+tree keys are big-endian integers, so byte order is numeric order.
#![allow(clippy::big_endian_bytes)]

mod common;

use std::ops::Bound;

use std::sync::Arc;

use common::sim::{self, Change, State, Step, TABLES, db_path, dump, sim_options};
use waldb::btree::{BTree, Direction};
use waldb::io::{Fault, LossMode, OpFilter, OpKind, SimVfs, Vfs, When};
use waldb::storage::{PageStore, header};
use waldb::txn::{Engine, EngineOptions};
use waldb::{Error, PageId};

fn open(vfs: &SimVfs, opts: &EngineOptions) -> Engine {
    Engine::open(Arc::new(vfs.clone()) as Arc<dyn Vfs>, &db_path(), opts.clone()).expect("open")
}

/// Insert a row holding `bytes` into the workload's table in `slot`, under
/// the next rowid.
fn insert_row<S: PageStore>(s: &S, slot: u8, bytes: &[u8]) -> waldb::Result<i64> {
    sim::insert_row(s, &sim::table(s, slot)?.expect("the table exists"), None, bytes)
}

/// A new B+tree registered in root slot `slot`.
fn create_tree<S: PageStore>(s: &S, slot: usize) -> BTree {
    let t = BTree::create(s, true).expect("create the tree");
    header::set_root(&mut s.write(PageId::HEADER).expect("header"), slot, t.root());
    t
}

/// The B+tree in root slot `slot`.
fn tree_in<S: PageStore>(s: &S, slot: usize) -> BTree {
    BTree::open(header::root(&s.read(PageId::HEADER).expect("header"), slot))
}

/// Every key of `t`.
fn keys<S: PageStore>(s: &S, t: BTree) -> Vec<Vec<u8>> {
    let mut c = t.range(s, Bound::Unbounded, Bound::Unbounded, Direction::Forward).expect("cursor");
    let mut out = Vec::new();
    while let Some((k, _)) = c.next(s).expect("scan") {
        out.push(k);
    }
    out
}

fn inserts(n: usize, len: usize) -> Vec<Step> {
    (0..n)
        .map(|i| Step::Txn { changes: vec![Change::Insert { table: 1 + (i % 3) as u8, len }], commit: true })
        .collect()
}

#[test]
fn committed_rows_survive_a_clean_reopen_and_a_crash() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(1);
    let out = sim::run(&vfs, &opts, &inserts(50, 40), 1);
    assert_eq!(out.error, None);
    assert_eq!(out.acked, out.attempted);
    let expected = out.states.last().expect("states").clone();
    assert_eq!(expected.len(), 50);
    // Power loss without close: recovery replays the log.
    let disk = vfs.reboot(LossMode::DropAll);
    let e = open(&disk, &opts);
    assert_eq!(dump(&e).expect("dump"), expected);
    let r = e.recovery_report();
    assert!(!r.created && r.txns_redone >= 50 && r.records_applied > 0 && r.checkpointed, "{r:?}");
    e.close().expect("close");
    drop(e);
    let e = open(&disk, &opts);
    assert_eq!(dump(&e).expect("dump"), expected);
    assert_eq!(e.recovery_report().records_applied, 0, "a clean close leaves nothing to redo");
}

#[test]
fn rolled_back_and_uncommitted_work_leaves_no_trace() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(2);
    let mut steps = inserts(10, 30);
    steps.push(Step::Txn {
        changes: vec![Change::Insert { table: 1, len: 500 }, Change::Delete { table: 2, pick: 0 }],
        commit: false,
    });
    let out = sim::run(&vfs, &opts, &steps, 1);
    assert_eq!(out.error, None);
    let e = open(&vfs.reboot(LossMode::KeepAll), &opts);
    assert_eq!(dump(&e).expect("dump"), *out.states.last().expect("states"));
    // An open transaction at the crash.
    let tx = e.begin_write().expect("begin");
    insert_row(&tx, 1, &[9u8; 100]).expect("insert");
    let before = e.pool().stats().page_writes;
    e.pool().flush_all().expect("flush");
    assert_eq!(e.pool().stats().page_writes, before, "uncommitted pages are never written (no steal)");
    std::mem::forget(tx);
}

#[test]
fn a_reader_sees_only_durable_commits() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(3);
    let e = open(&vfs, &opts);
    let tx = e.begin_write().expect("begin");
    create_tree(&tx, 1);
    let pending = tx.commit_pending().expect("commit record appended");
    let lsn = pending.lsn().expect("changed");
    assert!(e.durable_lsn() <= lsn, "not durable yet");
    let r = e.begin_read().expect("read");
    assert!(e.durable_lsn() > lsn, "the reader waited for the commit to be durable");
    drop(r);
    assert_eq!(pending.wait().expect("ack"), lsn);
}

#[test]
fn a_transaction_too_large_for_the_pool_cap_fails_cleanly() {
    let mut opts = sim_options(64 * 1024, None);
    opts.pool_cap_bytes = 64 * 1024;
    let vfs = SimVfs::new(4);
    let out = sim::run(&vfs, &opts, &inserts(5, 20), 1);
    assert_eq!(out.error, None);
    let e = open(&vfs.reboot(LossMode::KeepAll), &opts);
    let before = dump(&e).expect("dump");
    {
        let tx = e.begin_write().expect("begin");
        let err = (0..10_000).find_map(|i| insert_row(&tx, 1, &vec![i as u8; 500]).err()).expect("the cap is reached");
        assert!(matches!(err, Error::BufferPoolFull { .. }), "{err}");
        assert!(insert_row(&tx, 1, b"more").is_err(), "the transaction can only roll back now");
        assert!(tx.commit().is_err());
    }
    assert_eq!(dump(&e).expect("dump"), before, "rolled back");
    let out2 = sim::run(&vfs.reboot(LossMode::KeepAll), &opts, &inserts(3, 10), 1);
    assert_eq!(out2.error, None, "the database stays usable");
}

#[test]
fn a_million_row_transaction_succeeds_with_default_settings() {
    let vfs = SimVfs::new(5);
    let opts =
        EngineOptions { wal: waldb::wal::WalOptions { background: false, ..Default::default() }, ..Default::default() };
    let e = open(&vfs, &opts);
    let rows: u64 = 1_000_000;
    let tx = e.begin_write().expect("begin");
    let t = create_tree(&tx, 1);
    let mut v = vec![7u8; 112];
    for i in 0..rows {
        v[..8].copy_from_slice(&i.to_le_bytes());
        assert!(t.insert(&tx, &i.to_be_bytes(), &v).expect("insert"));
    }
    tx.commit().expect("commit");
    drop(e);
    let e = open(&vfs.reboot(LossMode::DropAll), &opts);
    let r = e.begin_read().expect("read");
    assert_eq!(tree_in(&r, 1).check(&r).expect("check").entries, rows);
}

#[test]
fn automatic_checkpoints_keep_the_log_bounded() {
    let opts = sim_options(16 * 1024, Some(48 * 1024));
    let vfs = SimVfs::new(6);
    let out = sim::run(&vfs, &opts, &sim::oltp(6, 400, None), 4);
    assert_eq!(out.error, None);
    let segs = waldb::wal::segment::list(&vfs, &db_path()).expect("list").len();
    assert!(segs <= 10, "{segs} segments after 400 transactions");
    let e = open(&vfs.reboot(LossMode::DropAll), &opts);
    assert_eq!(dump(&e).expect("dump"), *out.states.last().expect("states"));
    assert!(e.recovery_report().records_scanned < 2_000, "{:?}", e.recovery_report());
}

#[test]
fn a_failed_wal_sync_poisons_and_reopen_recovers_every_ack() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(7);
    vfs.add_fault(Fault::FailSyncLosingData(When::Nth(OpFilter::ops(&[OpKind::SyncData]).on_path("-wal-"), 20)));
    let out = sim::run(&vfs, &opts, &inserts(60, 30), 1);
    assert!(out.poisoned, "{:?}", out.error);
    assert!(out.acked < 60 && out.acked > 5, "acked {}", out.acked);
    let e = open(&vfs.reboot(LossMode::KeepAll), &opts);
    let got = dump(&e).expect("dump");
    let k = sim::matching_prefix(&out, &got).expect("a prefix with every ack");
    assert!(k >= out.acked);
}

#[test]
fn a_poisoned_engine_refuses_writes_and_stale_reads() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(8);
    let e = open(&vfs, &opts);
    vfs.add_fault(Fault::FailSyncLosingData(When::Nth(OpFilter::ops(&[OpKind::SyncData]).on_path("-wal-"), 0)));
    let tx = e.begin_write().expect("begin");
    BTree::create(&tx, true).expect("tree");
    assert!(matches!(tx.commit(), Err(Error::Poisoned { .. })));
    assert!(matches!(e.begin_write(), Err(Error::Poisoned { .. })));
    assert!(matches!(e.begin_read(), Err(Error::Poisoned { .. })), "the last commit is not durable");
    assert!(matches!(e.checkpoint(), Err(Error::Poisoned { .. })));
}

#[test]
fn closed_engines_refuse_work() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(9);
    let e = open(&vfs, &opts);
    e.close().expect("close");
    assert!(matches!(e.begin_write(), Err(Error::Closed)));
    assert!(matches!(e.begin_read(), Err(Error::Closed)));
}

#[test]
fn a_second_open_is_locked() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(10);
    let _e = open(&vfs, &opts);
    let err = Engine::open(Arc::new(vfs.clone()) as Arc<dyn Vfs>, &db_path(), opts).expect_err("locked");
    assert!(matches!(err, Error::Locked { .. }), "{err}");
}

#[test]
fn recovery_restarts_transaction_ids_above_the_log() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(11);
    let out = sim::run(&vfs, &opts, &inserts(20, 10), 1);
    assert_eq!(out.error, None);
    let e = open(&vfs.reboot(LossMode::KeepAll), &opts);
    let tx = e.begin_write().expect("begin");
    assert!(tx.id().0 > 20, "{:?}", tx.id());
}

#[test]
fn the_model_state_type_is_shared() {
    let s: State = State::new();
    assert!(s.is_empty() && TABLES == 3);
}

#[test]
fn recovery_reads_the_log_twice_when_its_redo_does_not_fit_in_memory() {
    for limit in [0usize, 64 << 20] {
        let mut opts = sim_options(64 * 1024, None);
        opts.recovery_buffer_bytes = limit;
        let vfs = SimVfs::new(12);
        let out = sim::run(&vfs, &opts, &sim::oltp(12, 120, None), 4);
        assert_eq!(out.error, None);
        let e = open(&vfs.reboot(LossMode::DropAll), &opts);
        assert_eq!(dump(&e).expect("dump"), *out.states.last().expect("states"), "limit {limit}");
        assert!(e.recovery_report().records_applied > 0);
    }
}

/// Real threads committing through clones of one engine (group commit
/// under contention), power lost at a random moment: every acknowledged
/// transaction is there, each whole (its two rows, in two tables, together).
#[test]
fn concurrent_committers_survive_power_loss() {
    for seed in 0..6u64 {
        let opts = sim_options(64 * 1024, None);
        let vfs = SimVfs::new(seed);
        let e = open(&vfs, &opts);
        let tx = e.begin_write().expect("begin");
        for slot in 1..=2 {
            create_tree(&tx, slot);
        }
        tx.commit().expect("commit");
        let acked = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (e, acked) = (e.clone(), acked.clone());
                std::thread::spawn(move || {
                    for i in 0..200u64 {
                        let id = t * 1_000 + i;
                        let Ok(tx) = e.begin_write() else { return };
                        for slot in 1..=2 {
                            match tree_in(&tx, slot).insert(&tx, &id.to_be_bytes(), &[]) {
                                Ok(fresh) => assert!(fresh, "row {id} inserted twice"),
                                Err(_) => return,
                            }
                        }
                        match tx.commit() {
                            Ok(_) => acked.lock().push(id),
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        // Lose power once some commits are acknowledged.
        while acked.lock().len() < 50 + 40 * seed as usize {
            std::thread::yield_now();
        }
        let image = vfs.crash_now();
        for t in threads {
            t.join().expect("committer");
        }
        let acked_then = acked.lock().clone();
        drop(e);
        for mode in [LossMode::DropAll, LossMode::RandomSectors { sector: 512 }] {
            let e = open(&image.boot_seeded(mode, seed), &opts);
            let r = e.begin_read().expect("read");
            let mut tables = Vec::new();
            for slot in 1..=2 {
                let t = tree_in(&r, slot);
                t.check(&r).expect("the tree is well formed");
                let ids: std::collections::BTreeSet<u64> = keys(&r, t)
                    .iter()
                    .map(|k| u64::from_be_bytes(k.as_slice().try_into().expect("8-byte key")))
                    .collect();
                tables.push(ids);
            }
            assert_eq!(tables[0], tables[1], "seed {seed}: a transaction was split");
            let missing: Vec<u64> = acked_then.iter().filter(|id| !tables[0].contains(id)).copied().collect();
            assert!(missing.is_empty(), "seed {seed} {mode:?}: acknowledged but lost: {missing:?}");
        }
    }
}

/// A failed statement inside a transaction leaves no trace; the
/// transaction's earlier changes, and the transaction, survive.
#[test]
fn a_statement_rollback_keeps_the_transactions_earlier_changes() {
    let opts = sim_options(64 * 1024, None);
    let vfs = SimVfs::new(13);
    let e = open(&vfs, &opts);
    let tx = e.begin_write().expect("begin");
    let t = create_tree(&tx, 1);
    let row = |i: u32| i.to_le_bytes().repeat(20);
    for i in 0..50u32 {
        t.insert(&tx, &u64::from(i).to_be_bytes(), &row(i)).expect("insert");
    }
    tx.begin_statement();
    for i in 50..400u32 {
        t.insert(&tx, &u64::from(i).to_be_bytes(), &row(i)).expect("insert");
    }
    t.delete(&tx, &3u64.to_be_bytes()).expect("delete");
    tx.rollback_statement().expect("statement rollback");
    assert_eq!(t.check(&tx).expect("check").entries, 50);
    assert_eq!(t.get(&tx, &3u64.to_be_bytes()).expect("get"), Some(row(3)));
    t.insert(&tx, &u64::MAX.to_be_bytes(), b"after").expect("insert");
    tx.commit().expect("commit");
    drop(e);
    let e = open(&vfs.reboot(LossMode::DropAll), &opts);
    let r = e.begin_read().expect("read");
    let c = t.check(&r).expect("check");
    assert_eq!(c.entries, 51);
    // Nothing leaked: every page is the tree's or free.
    waldb::storage::check::check_pages(&r, &[("tree", c.pages)]).expect("accounting");
}
