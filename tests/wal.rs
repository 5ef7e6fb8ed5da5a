//! The write-ahead log against its promises: round trips, torn tails cut at
//! every byte, bit flips, crashes at every I/O call under every loss mode,
//! fail stop, group commit, recycling and a full disk.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use waldb::ids::DbId;
use waldb::io::{Errno, Fault, LossMode, OpFilter, OpKind, OsVfs, SimVfs, Vfs, When};
use waldb::wal::format::{SEGMENT_HEADER_BLOCK, max_payload};
use waldb::wal::{Durability, FIRST_LSN, LogEnd, Record, RecordType, Wal, WalOptions, scan, segment};
use waldb::{Error, Lsn, TxnId};

const ID: DbId = DbId(0xD00D);

fn db() -> PathBuf {
    PathBuf::from("/d/t.db")
}

fn opts(segment_size: u64) -> WalOptions {
    WalOptions { segment_size, background: false, ..WalOptions::default() }
}

/// A record as appended: what the reader must give back.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    lsn: Lsn,
    kind: RecordType,
    txid: TxnId,
    payload: Vec<u8>,
}

fn payload(seed: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed.wrapping_mul(31).wrapping_add(i as u64 * 7) % 251) as u8).collect()
}

/// The records of a scan that the test appended (segment switches are the
/// log's own).
fn user_records(records: &[Record]) -> Vec<Sent> {
    records
        .iter()
        .filter(|r| r.kind != RecordType::SegmentSwitch)
        .map(|r| Sent { lsn: r.lsn, kind: r.kind, txid: r.txid, payload: r.payload.clone() })
        .collect()
}

fn append(wal: &Wal, sent: &mut Vec<Sent>, kind: RecordType, txid: u64, payload: Vec<u8>) -> waldb::Result<Lsn> {
    let lsn = wal.append(kind, TxnId(txid), &payload)?;
    sent.push(Sent { lsn, kind, txid: TxnId(txid), payload });
    Ok(lsn)
}

/// Read the whole log and continue it, as recovery will.
fn reopen(vfs: Arc<dyn Vfs>, o: WalOptions) -> (Wal, Vec<Sent>, LogEnd) {
    let s = scan(vfs.as_ref(), &db(), ID, FIRST_LSN).expect("scan");
    let wal = Wal::open(vfs, &db(), ID, o, s.end, FIRST_LSN).expect("open");
    (wal, user_records(&s.records), s.end)
}

#[derive(Clone, Debug)]
enum Step {
    Append(u8, usize),
    Flush,
}

fn step(max: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (1u8..=6, 0usize..600).prop_map(|(k, n)| Step::Append(k, n)),
        1 => (1u8..=6, 0..=max).prop_map(|(k, n)| Step::Append(k, n)),
        2 => Just(Step::Flush),
    ]
}

fn kind(k: u8) -> RecordType {
    RecordType::from_u8(k).expect("types 1..=6 exist")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases(48), ..ProptestConfig::default() })]

    /// Random records and segment sizes: flushed records survive power loss
    /// and read back identical, and the log continues after reopening.
    #[test]
    fn round_trip_across_segments_and_reopen(
        seg_blocks in prop::sample::select(vec![4u64, 5, 8, 16]),
        steps in prop::collection::vec(step(8000), 1..120),
    ) {
        let seg = seg_blocks * SEGMENT_HEADER_BLOCK;
        let max = max_payload(seg);
        let vfs = SimVfs::new(11);
        let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(seg)).expect("create");
        let mut sent = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            match *s {
                Step::Append(k, n) => {
                    append(&wal, &mut sent, kind(k), i as u64, payload(i as u64, n.min(max))).expect("append");
                }
                Step::Flush => wal.flush_all().expect("flush"),
            }
        }
        wal.flush_all().expect("flush");
        let lsns: Vec<Lsn> = sent.iter().map(|s| s.lsn).collect();
        prop_assert!(lsns.windows(2).all(|w| w[0] < w[1]), "LSNs increase");
        drop(wal);
        let disk: Arc<dyn Vfs> = Arc::new(vfs.reboot(LossMode::DropAll));
        let (wal, got, _) = reopen(disk.clone(), opts(seg));
        prop_assert_eq!(&got, &sent);
        append(&wal, &mut sent, RecordType::Commit, 999, b"after reopen".to_vec()).expect("append");
        wal.flush_all().expect("flush");
        drop(wal);
        let (_, got, _) = reopen(disk, opts(seg));
        prop_assert_eq!(&got, &sent);
    }
}

/// Write `n` flushes of a few records each; return the records and the LSN
/// range of the last flush.
fn flushes(vfs: &SimVfs, n: usize) -> (Vec<Sent>, Lsn, Lsn) {
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(64 * 1024)).expect("create");
    let mut sent = Vec::new();
    let mut last_start = FIRST_LSN;
    for f in 0..n {
        last_start = wal.next_lsn();
        for r in 0..4 {
            let k = if r == 3 { RecordType::Commit } else { RecordType::PageChange };
            append(&wal, &mut sent, k, f as u64, payload((f * 4 + r) as u64, 40 + 150 * r)).expect("append");
        }
        wal.flush_all().expect("flush");
    }
    (sent, last_start, wal.durable_lsn())
}

fn segment_offset(lsn: Lsn) -> u64 {
    lsn.0 - FIRST_LSN.0 + SEGMENT_HEADER_BLOCK
}

#[test]
fn cutting_the_last_flush_at_every_byte_returns_exactly_the_whole_records() {
    let vfs = SimVfs::new(1);
    let (sent, start, end) = flushes(&vfs, 3);
    let seg = segment::segment_path(&db(), FIRST_LSN);
    let image = vfs.crash_image();
    for cut in start.0..=end.0 {
        let disk = image.boot(LossMode::KeepAll);
        let f = disk.open(&seg, waldb::io::OpenMode::Existing).expect("open");
        let zeros = vec![0u8; (end.0 - cut) as usize];
        f.write_all_at(&zeros, segment_offset(Lsn(cut))).expect("cut");
        let s = scan(&disk, &db(), ID, FIRST_LSN).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let expected: Vec<Sent> =
            sent.iter().filter(|r| r.lsn.0 + 48 + r.payload.len() as u64 <= cut).cloned().collect();
        assert_eq!(user_records(&s.records), expected, "cut at LSN {cut}");
        assert!(s.end.end.0 <= cut.div_ceil(8) * 8, "end {:?} past the cut {cut}", s.end.end);
    }
}

#[test]
fn every_bit_flip_in_a_durable_record_mid_log_is_corruption() {
    let vfs = SimVfs::new(2);
    let (sent, _, _) = flushes(&vfs, 3);
    // A record of the first flush: later flushes prove it was durable.
    let victim = &sent[1];
    let len = 48 + victim.payload.len() as u64;
    let image = vfs.crash_image();
    let seg = segment::segment_path(&db(), FIRST_LSN);
    for bit in 0..len * 8 {
        let disk = image.boot(LossMode::KeepAll);
        disk.flip_bit(&seg, segment_offset(victim.lsn) + bit / 8, (bit % 8) as u8).expect("flip");
        match scan(&disk, &db(), ID, FIRST_LSN) {
            Err(Error::CorruptLog { lsn, offset, segment, .. }) => {
                assert_eq!(lsn, victim.lsn, "bit {bit}");
                assert_eq!(offset, segment_offset(victim.lsn));
                assert_eq!(segment, seg);
            }
            other => panic!("bit {bit}: expected corruption, got {other:?}"),
        }
    }
}

#[test]
fn a_flip_in_the_last_flush_is_a_torn_tail_until_a_later_flush_covers_it() {
    // The documented residual window: rot inside the final flush, before any
    // later write, cannot be told from a tear.
    let vfs = SimVfs::new(3);
    let (sent, start, _) = flushes(&vfs, 2);
    let victim = sent.iter().find(|r| r.lsn >= start).expect("a record of the last flush");
    let seg = segment::segment_path(&db(), FIRST_LSN);
    vfs.flip_bit(&seg, segment_offset(victim.lsn) + 50, 1).expect("flip");
    let s = scan(&vfs, &db(), ID, FIRST_LSN).expect("torn, not corrupt");
    let torn = s.torn.as_ref().expect("a torn tail is reported");
    assert!(torn.at <= victim.lsn && torn.at >= s.end.end, "{torn:?} {:?}", s.end);
    assert_eq!(user_records(&s.records), sent.iter().filter(|r| r.lsn < victim.lsn).cloned().collect::<Vec<_>>());
}

/// Pipelined group commit, made deterministic: while each flush is being
/// written (the leader has released the log's lock), the next batch of
/// records is appended — as committers do while a flush is in flight. Those
/// records know only the durable LSN of the flush before. The leader stamps
/// its flush's last record with the durable LSN of the moment it writes, so
/// each flush proves the one before it durable: a flip in any flush but the
/// last is corruption. Before the stamp, flush N was only proven by flush
/// N+2, and rot in the second-to-last flush read as a torn tail — its
/// acknowledged commits silently gone.
#[test]
fn each_flush_proves_the_one_before_it_durable_even_when_pipelined() {
    let vfs = SimVfs::new(6);
    let wal = Arc::new(Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(64 * 1024)).expect("create"));
    let batches = 8u64;
    let starts = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let (w2, s2) = (Arc::downgrade(&wal), starts.clone());
    vfs.set_write_observer(Some(Arc::new(move |p: &Path, off: u64, _bytes: &[u8]| {
        if !p.to_string_lossy().contains("-wal-") || off < SEGMENT_HEADER_BLOCK {
            return;
        }
        let mut starts = s2.lock();
        starts.push(Lsn(off - SEGMENT_HEADER_BLOCK + FIRST_LSN.0));
        let n = starts.len() as u64;
        drop(starts);
        if n < batches
            && let Some(wal) = w2.upgrade()
        {
            for k in [RecordType::PageChange, RecordType::PageChange, RecordType::Commit] {
                wal.append(k, TxnId(100 + n), &payload(n, 60)).expect("append while the flush is in flight");
            }
        }
    })));
    for k in [RecordType::PageChange, RecordType::Commit] {
        wal.append(k, TxnId(100), &payload(0, 60)).expect("append");
    }
    for _ in 0..batches {
        wal.flush_all().expect("flush");
    }
    vfs.set_write_observer(None);
    let starts = starts.lock().clone();
    assert_eq!(starts.len() as u64, batches, "one write per flush");
    let seg = segment::segment_path(&db(), FIRST_LSN);
    let image = vfs.crash_image();
    for (i, start) in starts.iter().enumerate().take(starts.len() - 1) {
        let disk = image.boot(LossMode::KeepAll);
        disk.flip_bit(&seg, segment_offset(*start) + 9, 2).expect("flip");
        match scan(&disk, &db(), ID, FIRST_LSN) {
            // Reported where the valid log stops: the damaged record, or the
            // padding of the flush before it.
            Err(Error::CorruptLog { lsn, .. }) => assert!(lsn <= *start, "flush {i}: {lsn:?}"),
            Ok(s) => panic!("flush {i} of {}: read as {:?}, its commits silently dropped", starts.len(), s.torn),
            Err(e) => panic!("flush {i}: {e}"),
        }
    }
}

#[test]
fn every_bit_flip_of_a_segment_header_is_detected() {
    let vfs = SimVfs::new(4);
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(16384)).expect("create");
    let mut sent = Vec::new();
    for i in 0..40u64 {
        append(&wal, &mut sent, RecordType::Commit, i, payload(i, 900)).expect("append");
        wal.flush_all().expect("flush");
    }
    let segs = wal.segments();
    assert!(segs.len() >= 4, "{segs:?}");
    drop(wal);
    let image = vfs.crash_image();
    // A middle segment: corruption. The prepared, empty last one: a torn
    // creation, ignored.
    let (mid_start, mid) = segs[1].clone();
    let (_, last) = segs.last().cloned().expect("segments");
    for bit in 0..64 * 8 {
        let disk = image.boot(LossMode::KeepAll);
        disk.flip_bit(&mid, bit / 8, (bit % 8) as u8).expect("flip");
        match scan(&disk, &db(), ID, FIRST_LSN) {
            Err(Error::CorruptLog { lsn, .. }) => assert_eq!(lsn, mid_start, "bit {bit}"),
            Err(Error::CorruptFile { .. }) if (16..24).contains(&(bit / 8)) => {} // the database id
            other => panic!("bit {bit} of a middle segment header: {other:?}"),
        }
        let disk = image.boot(LossMode::KeepAll);
        disk.flip_bit(&last, bit / 8, (bit % 8) as u8).expect("flip");
        match scan(&disk, &db(), ID, FIRST_LSN) {
            Ok(s) => assert_eq!(user_records(&s.records), sent, "bit {bit} of the last header"),
            Err(Error::CorruptFile { .. }) if (16..24).contains(&(bit / 8)) => {}
            Err(e) => panic!("bit {bit} of the empty last segment's header: {e}"),
        }
    }
}

/// A crash workload's shape.
#[derive(Clone, Copy, Debug)]
struct Workload {
    write_behind: usize,
    /// Truncate the log every this many transactions (0: never).
    truncate_every: u64,
}

/// What one run of the crash workload did before its first error.
struct Run {
    sent: Vec<Sent>,
    /// Records acknowledged: `commit` returned `Ok` after them.
    acked: usize,
    /// Where a reader must start: the last truncation point announced
    /// before its truncation began (a control file would hold it).
    redo: Lsn,
}

fn crash_workload(vfs: &SimVfs, w: Workload) -> Run {
    let mut run = Run { sent: Vec::new(), acked: 0, redo: FIRST_LSN };
    let o = WalOptions { write_behind: w.write_behind, recycle_limit: 2, ..opts(16384) };
    let Ok(wal) = Wal::create(Arc::new(vfs.clone()), &db(), ID, o) else { return run };
    for t in 0..24u64 {
        let n = 1 + (t % 3) as usize;
        for r in 0..n {
            let k = if r + 1 == n { RecordType::Commit } else { RecordType::PageChange };
            let p = payload(t * 10 + r as u64, 100 + (t as usize * 397) % 3000);
            if append(&wal, &mut run.sent, k, t, p).is_err() {
                return run;
            }
        }
        let last = run.sent.last().expect("appended").lsn;
        if wal.commit(last).is_err() {
            return run;
        }
        run.acked = run.sent.len();
        if w.truncate_every > 0 && t % w.truncate_every == w.truncate_every - 1 {
            let first_of_txn = run.sent[run.sent.len() - n].lsn;
            run.redo = first_of_txn;
            if wal.truncate_before(first_of_txn).is_err() {
                return run;
            }
        }
    }
    run
}

/// Crash at every I/O call of the workload, boot each crash image under
/// every loss mode, and check that the log holds a prefix of what was
/// appended that includes every acknowledged record. Returns the crashes.
fn sweep(w: Workload) -> usize {
    let probe = SimVfs::new(5);
    let full = crash_workload(&probe, w);
    assert_eq!(full.acked, full.sent.len());
    let calls = probe.io_count();
    assert!(calls > 60, "the workload makes {calls} calls");
    let mut crashes = 0;
    for n in 0..calls {
        let vfs = SimVfs::new(5);
        vfs.add_fault(Fault::Crash(When::Call(n)));
        let run = crash_workload(&vfs, w);
        assert!(vfs.crashed(), "call {n} crashed");
        let image = vfs.crash_image();
        let expected: Vec<Sent> = run.sent.iter().filter(|r| r.lsn >= run.redo).cloned().collect();
        let acked = run.sent[..run.acked].iter().filter(|r| r.lsn >= run.redo).count();
        for mode in LossMode::SWEEP {
            for seed in 0..2 {
                let what = format!("crash at call {n}, {mode:?}, seed {seed}, {w:?}");
                let disk = image.boot_seeded(mode, seed);
                let s = scan(&disk, &db(), ID, run.redo).unwrap_or_else(|e| panic!("{what}: {e}"));
                let got = user_records(&s.records);
                assert!(got.len() >= acked, "{what}: {} of {acked} acknowledged records", got.len());
                assert_eq!(got[..], expected[..got.len()], "{what}: not a prefix of what was appended");
                // The log continues after recovery, and what it adds is read.
                let disk: Arc<dyn Vfs> = Arc::new(disk);
                let wal = Wal::open(disk.clone(), &db(), ID, opts(16384), s.end, run.redo)
                    .unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
                let lsn = wal.append(RecordType::Commit, TxnId(1000), b"next").expect("append");
                wal.flush_to(lsn).expect("flush");
                drop(wal);
                let again = scan(disk.as_ref(), &db(), ID, run.redo).expect("rescan");
                assert_eq!(user_records(&again.records).len(), got.len() + 1, "{what}: the new record is read");
                crashes += 1;
            }
        }
    }
    crashes
}

#[test]
fn crash_at_every_io_call_loses_no_acknowledged_record() {
    let plain = sweep(Workload { write_behind: 4 << 20, truncate_every: 0 });
    let behind = sweep(Workload { write_behind: 4096, truncate_every: 0 });
    let recycling = sweep(Workload { write_behind: 4 << 20, truncate_every: 4 });
    println!("WAL crash sweep: {plain} + {behind} (write-behind) + {recycling} (truncate/recycle) crashes");
}

#[test]
fn a_failed_sync_poisons_and_acknowledges_nothing_after() {
    let vfs = SimVfs::new(6);
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(65536)).expect("create");
    let mut sent = Vec::new();
    for i in 0..3 {
        let l = append(&wal, &mut sent, RecordType::Commit, i, payload(i, 300)).expect("append");
        wal.flush_to(l).expect("flush");
    }
    let durable = sent.clone();
    vfs.add_fault(Fault::FailSyncLosingData(When::Nth(OpFilter::ops(&[OpKind::SyncData]), 0)));
    let l = append(&wal, &mut sent, RecordType::Commit, 3, payload(3, 300)).expect("append");
    assert!(matches!(wal.flush_to(l), Err(Error::Poisoned { .. })), "the failed batch is not acknowledged");
    assert!(wal.poisoned().is_some());
    assert!(matches!(wal.append(RecordType::Commit, TxnId(4), b"x"), Err(Error::Poisoned { .. })));
    assert!(matches!(wal.flush_to(l), Err(Error::Poisoned { .. })), "no retry pretends success");
    drop(wal);
    let disk: Arc<dyn Vfs> = Arc::new(vfs.reboot(LossMode::KeepAll));
    let (_, got, _) = reopen(disk, opts(65536));
    assert_eq!(got, durable, "only what was durable comes back");
}

#[test]
fn eio_on_a_write_poisons() {
    let vfs = SimVfs::new(6);
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(65536)).expect("create");
    vfs.add_fault(Fault::Fail {
        when: When::Nth(OpFilter::ops(&[OpKind::Write]).on_path("-wal-"), 0),
        errno: Errno::Eio,
        persistent: false,
    });
    let l = wal.append(RecordType::Commit, TxnId(1), b"x").expect("append");
    assert!(matches!(wal.flush_to(l), Err(Error::Poisoned { .. })));
    assert!(matches!(wal.flush_to(l), Err(Error::Poisoned { .. })));
}

#[test]
fn a_full_disk_at_segment_creation_fails_the_append_and_keeps_the_log_usable() {
    let vfs = SimVfs::new(7);
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(16384)).expect("create");
    let used: u64 = wal.segments().len() as u64 * 16384;
    vfs.set_capacity(Some(used));
    let mut sent = Vec::new();
    let mut full = None;
    for i in 0..100u64 {
        match append(&wal, &mut sent, RecordType::Commit, i, payload(i, 2000)) {
            Ok(l) => wal.flush_to(l).expect("flush of a prepared segment"),
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let e = full.expect("the disk fills");
    assert!(matches!(e, Error::DiskFull { .. }), "{e}");
    assert!(wal.poisoned().is_none(), "DiskFull does not poison");
    vfs.set_capacity(None);
    let l = append(&wal, &mut sent, RecordType::Commit, 500, b"after".to_vec()).expect("append");
    wal.flush_to(l).expect("flush");
    drop(wal);
    let (_, got, _) = reopen(Arc::new(vfs.reboot(LossMode::DropAll)), opts(16384));
    assert_eq!(got, sent);
}

#[test]
fn segments_are_recycled_and_the_log_stays_bounded() {
    let vfs = SimVfs::new(8);
    let o = WalOptions { recycle_limit: 8, ..opts(16384) };
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, o).expect("create");
    let mut sent = Vec::new();
    for i in 0..400u64 {
        let l = append(&wal, &mut sent, RecordType::Commit, i, payload(i, 1000)).expect("append");
        wal.flush_to(l).expect("flush");
        if i % 20 == 19 {
            wal.truncate_before(l).expect("truncate");
            let files = segment::list(&vfs, &db()).expect("list").len();
            assert!(files <= 8 + 3, "{files} segment files after truncating at {l:?}");
        }
    }
    let st = wal.stats();
    assert!(st.segments_recycled > 20, "{st:?}");
    assert!(st.segments_created < 15, "{st:?}");
    let keep_from = sent[380].lsn;
    wal.truncate_before(keep_from).expect("truncate");
    drop(wal);
    let disk: Arc<dyn Vfs> = Arc::new(vfs.reboot(LossMode::DropAll));
    let s = scan(disk.as_ref(), &db(), ID, keep_from).expect("scan from the redo point");
    assert_eq!(user_records(&s.records), sent[380..].to_vec());
    let wal = Wal::open(disk.clone(), &db(), ID, opts(16384), s.end, keep_from).expect("open");
    let l = wal.append(RecordType::Commit, TxnId(9), b"more").expect("append");
    wal.flush_to(l).expect("flush");
}

#[test]
fn the_first_commit_of_a_new_log_is_synced_before_it_returns() {
    let vfs = SimVfs::new(9);
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(16384)).expect("create");
    let seg = segment::segment_path(&db(), FIRST_LSN);
    let before = vfs.sync_count(&seg);
    let l = wal.append(RecordType::Commit, TxnId(1), b"first").expect("append");
    wal.commit(l).expect("commit");
    assert_eq!(vfs.sync_count(&seg), before + 1, "one fdatasync covers the first commit");
    // And the first commit after a segment switch.
    let mut last = l;
    while wal.segments().first().map(|s| s.0) == Some(FIRST_LSN) && last < Lsn(FIRST_LSN.0 + 12288) {
        last = wal.append(RecordType::Commit, TxnId(2), &[1u8; 1000]).expect("append");
    }
    let second = segment::segment_path(&db(), Lsn(FIRST_LSN.0 + 12288));
    let before = vfs.sync_count(&second);
    wal.commit(last).expect("commit");
    assert!(vfs.sync_count(&second) > before, "the new segment was synced before the ack");
}

#[test]
fn a_torn_flush_never_damages_the_previous_flush() {
    // `docs/TESTING.md` §7, scenario 8: crash the flush after an
    // acknowledged one with torn, garbage sectors.
    let vfs = SimVfs::new(10);
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, opts(65536)).expect("create");
    let mut sent = Vec::new();
    let l = append(&wal, &mut sent, RecordType::Commit, 1, payload(1, 100)).expect("append");
    wal.flush_to(l).expect("acknowledged");
    let acked = sent.clone();
    let l = append(&wal, &mut sent, RecordType::Commit, 2, payload(2, 3000)).expect("append");
    vfs.add_fault(Fault::Crash(When::Nth(OpFilter::ops(&[OpKind::SyncData]), 0)));
    assert!(wal.flush_to(l).is_err());
    let image = vfs.crash_image();
    for seed in 0..64 {
        for sector in [512, 4096] {
            let disk = image.boot_seeded(LossMode::TearLast { sector, garbage: true }, seed);
            let s = scan(&disk, &db(), ID, FIRST_LSN).expect("torn tail, not corruption");
            let got = user_records(&s.records);
            assert_eq!(got[..1], acked[..], "seed {seed}: the acknowledged flush survived");
        }
    }
}

#[test]
fn records_over_the_limit_are_too_big() {
    let vfs = SimVfs::new(1);
    let wal = Wal::create(Arc::new(vfs), &db(), ID, opts(16384)).expect("create");
    let max = max_payload(16384);
    wal.append(RecordType::FullPageImage, TxnId(1), &vec![1u8; max]).expect("at the limit");
    let e = wal.append(RecordType::FullPageImage, TxnId(1), &vec![1u8; max + 1]).expect_err("too big");
    assert!(matches!(e, Error::TooBig { .. }), "{e}");
}

#[test]
fn a_foreign_segment_is_refused() {
    let vfs = SimVfs::new(1);
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), DbId(1), opts(16384)).expect("create");
    let l = wal.append(RecordType::Commit, TxnId(1), b"x").expect("append");
    wal.flush_to(l).expect("flush");
    drop(wal);
    let e = scan(&vfs, &db(), DbId(2), FIRST_LSN).expect_err("foreign");
    assert!(matches!(e, Error::CorruptFile { .. }), "{e}");
    assert!(e.to_string().contains("belongs to database"), "{e}");
}

#[test]
fn concurrent_committers_get_unique_ordered_lsns_and_share_syncs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    let o = WalOptions { segment_size: 1 << 20, ..WalOptions::default() };
    let wal = Arc::new(Wal::create(Arc::new(OsVfs::new()), &path, ID, o.clone()).expect("create"));
    let threads: Vec<_> = (0..16u64)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..50u64 {
                    let p = payload(t * 1000 + i, 64);
                    let lsn = wal.append(RecordType::Commit, TxnId(t), &p).expect("append");
                    wal.commit(lsn).expect("commit");
                    assert!(wal.durable_lsn() > lsn, "acknowledged only once durable");
                    mine.push((lsn, p));
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<(Lsn, Vec<u8>)> = Vec::new();
    for t in threads {
        let mine = t.join().expect("thread");
        assert!(mine.windows(2).all(|w| w[0].0 < w[1].0), "each thread's LSNs increase");
        all.extend(mine);
    }
    all.sort();
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "LSNs are unique");
    let st = wal.stats();
    assert_eq!(st.commits, 800);
    assert!(st.syncs < 800, "group commit shares syncs: {} syncs for 800 commits", st.syncs);
    drop(wal);
    let s = scan(&OsVfs::new(), &path, ID, FIRST_LSN).expect("scan");
    let got: Vec<(Lsn, Vec<u8>)> = s.records.iter().map(|r| (r.lsn, r.payload.clone())).collect();
    assert_eq!(got, all);
}

#[test]
fn normal_durability_returns_at_once_and_flushes_in_the_background() {
    let vfs = SimVfs::new(12);
    let o = WalOptions { durability: Durability::Normal { interval: Duration::from_millis(5) }, ..opts(65536) };
    let wal = Wal::create(Arc::new(vfs.clone()), &db(), ID, o).expect("create");
    let l = wal.append(RecordType::Commit, TxnId(1), b"soon").expect("append");
    wal.commit(l).expect("returns without waiting");
    for _ in 0..400 {
        if wal.durable_lsn() > l {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the background flusher never made the commit durable");
}

#[test]
fn segments_prepared_in_the_background_are_ready_before_they_are_needed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    let o = WalOptions { segment_size: 64 * 1024, background: true, ..WalOptions::default() };
    let wal = Wal::create(Arc::new(OsVfs::new()), &path, ID, o).expect("create");
    for i in 0..200u64 {
        let l = wal.append(RecordType::Commit, TxnId(i), &[7u8; 1500]).expect("append");
        wal.commit(l).expect("commit");
    }
    assert!(wal.stats().segments_created >= 4);
    let s = scan(&OsVfs::new(), &path, ID, FIRST_LSN).expect("scan");
    assert_eq!(user_records(&s.records).len(), 200);
}

#[test]
fn the_log_path_helpers_agree() {
    assert_eq!(segment::prefix(Path::new("/x/y.db")), "y.db-wal-");
}
