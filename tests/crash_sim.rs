//! The simulation suite that proves zero loss (`docs/TESTING.md` G1–G5).
//!
//! Every check compares the recovered database with a model of
//! acknowledged commits — never with an integrity check alone: the state must
//! equal the model after a prefix of the commit order that contains every
//! acknowledged commit, and a second recovery must give the same state.
//!
//! Scale with one knob, `WALDB_SIM_SCALE`:
//! - `quick` (default, a plain `cargo test`): a slice of every suite;
//! - `ci` (`.ci/run`): the `docs/TESTING.md` figures (≥ 20,000 crashes, …);
//! - `long`: ten times further, for a run by hand.
//!
//! Each suite prints what it covered; a failure names the workload, the I/O
//! index, the loss mode and the seed, so it replays exactly.

mod common;

use std::sync::Arc;

use common::rng::Rng;
use common::scale::{Scale, pick, scale};
use common::sim::{self, Change, Outcome, Step, check_image, check_image_with, sim_options};
use parking_lot::Mutex;
use waldb::io::{Errno, Fault, LossMode, OpKind, SimVfs, When};
use waldb::txn::EngineOptions;

/// A named workload: its steps, engine options and commit group size.
struct Workload {
    name: &'static str,
    steps: Vec<Step>,
    opts: EngineOptions,
    group: usize,
}

/// `docs/TESTING.md`'s canonical workloads. W1: OLTP, 4 committers interleaved by
/// group commit. W2: W1 with a checkpoint every 20 transactions. W3: W1
/// with 16 KiB segments (rotation every few transactions) and one large
/// transaction (4 MiB in long mode, 1 MiB in CI). And B1: a B+tree whose
/// nodes split and merge.
fn workloads() -> Vec<Workload> {
    let txns = pick(60, 400, 400);
    let w1 = sim::oltp(1, txns, None);
    let w2 = sim::oltp(2, txns, Some(20));
    let mut w3 = sim::oltp(3, txns, None);
    // One transaction carrying a large value spread over rows of 3,500
    // bytes, each in an overflow chain of its own: 4 MiB in long mode; CI shrinks it to 1 MiB to stay in its time
    // box (`docs/TESTING.md`: shrink the workload, never the crash-point coverage).
    let big_bytes = pick(192 << 10, 1 << 20, 4 << 20);
    let big: Vec<Change> =
        (0..big_bytes / 3500).map(|i| Change::Insert { table: 1 + (i % 3) as u8, len: 3500 }).collect();
    w3.insert(txns / 2, Step::Txn { changes: big, commit: true });
    // Checkpoint after it (recycling the segments it filled), so crashes
    // later in W3 do not each replay it.
    w3.insert(txns / 2 + 1, Step::Checkpoint);
    let mut w3_opts = sim_options(16 * 1024, None);
    w3_opts.page_size = 4096;
    w3_opts.pool_bytes = 32 * 4096;
    let mut w1_opts = sim_options(64 * 1024, None);
    w1_opts.page_size = 4096;
    w1_opts.pool_bytes = 32 * 4096;
    // B1: one table — inserts, then as many deletes as inserts, so its
    // tree's nodes split and merge; 1 KiB pages make the tree deep.
    let b1 = sim::btree_oltp(4, pick(60, 300, 300), Some(40));
    // M1: several committers in flight (commits acknowledged four at a
    // time) on an 8-frame pool, with a group flush forced between every
    // transaction's page records and its COMMIT: the next writer evicts
    // pages whose commit is not durable yet (no steal with early lock
    // release). Transactions touch three tables, many pages.
    let mut m1 = vec![Step::FlushBeforeCommits];
    m1.extend(sim::oltp(5, pick(40, 150, 300), Some(50)));
    let mut m1_opts = sim_options(32 * 1024, None);
    m1_opts.pool_bytes = 8 * m1_opts.page_size;
    vec![
        Workload { name: "W1", steps: w1, opts: w1_opts, group: 4 },
        Workload { name: "W2", steps: w2, opts: sim_options(64 * 1024, None), group: 4 },
        Workload { name: "W3", steps: w3, opts: w3_opts, group: 4 },
        Workload { name: "B1", steps: b1, opts: sim_options(32 * 1024, None), group: 3 },
        Workload { name: "M1", steps: m1, opts: m1_opts, group: 4 },
    ]
}

/// I/O calls of a fault-free run, and its outcome.
fn probe(w: &Workload, seed: u64) -> (u64, Outcome, Vec<waldb::io::TraceEntry>) {
    let vfs = SimVfs::new(seed);
    vfs.enable_trace();
    let out = sim::run(&vfs, &w.opts, &w.steps, w.group);
    assert_eq!(out.error, None, "{} runs clean without faults", w.name);
    assert_eq!(out.acked, out.attempted);
    (vfs.io_count(), out, vfs.trace())
}

/// G1: crash at every I/O index (a stride of them in quick mode) × the four
/// loss modes, in one run per workload: a crash hook hands over the crash
/// image at each call. Returns (crash points, crashes checked).
fn crash_sweep(w: &Workload, stride: u64, seeds: u64) -> (u64, u64) {
    let counts = Arc::new(Mutex::new((0u64, 0u64)));
    let (c2, opts, name) = (counts.clone(), w.opts.clone(), w.name);
    let vfs = SimVfs::new(7);
    let out = sim::run_with_crash_hook(&vfs, &w.opts, &w.steps, w.group, move |n, image, out| {
        if n % stride != 0 {
            return;
        }
        for (m, mode) in sim::loss_modes(opts.page_size).into_iter().enumerate() {
            for seed in 0..seeds {
                // Recovery twice (idempotence) for one mode per point, in
                // turn; G2 crashes recovery itself.
                let twice = m as u64 == n % 4;
                if let Err(e) = check_image_with(image, mode, seed, out, &opts, twice) {
                    panic!("{name}: crash at I/O call {n}, {mode:?}, seed {seed}: {e}");
                }
                c2.lock().1 += 1;
            }
        }
        c2.lock().0 += 1;
    });
    assert_eq!(out.error, None, "{}: the run itself succeeds", w.name);
    let totals = counts.lock();
    *totals
}

#[test]
fn g1_crash_at_every_io_call_under_every_loss_mode() {
    let stride = pick(7, 1, 1);
    let seeds = pick(1, 1, 3);
    let mut total = (0, 0);
    for w in workloads() {
        let t0 = std::time::Instant::now();
        let (p, c) = crash_sweep(&w, stride, seeds);
        println!("G1 {}: {p} crash points, {c} crashes recovered and checked in {:?}", w.name, t0.elapsed());
        total = (total.0 + p, total.1 + c);
    }
    println!("G1 total: {} crash points, {} crashes", total.0, total.1);
    if scale() != Scale::Quick {
        assert!(total.0 >= 5_000 && total.1 >= 20_000, "G1 figures not reached: {total:?}");
    }
}

/// G2: crash during recovery. At a sample of crash points, boot the image,
/// and crash its recovery at each of its first I/O calls (a hook on the
/// recovering disk), then recover again: the model still holds, and so does
/// a second recovery.
#[test]
fn g2_crash_again_during_recovery() {
    // Crash images per workload (W1, W2, W3, B1, M1), and recovery calls crashed per
    // image (every third call, spread over the recovery): 2,000 images and
    // 24,000 compound crashes in CI.
    let images_per = pick([10, 20, 10, 10, 10], [400, 800, 400, 400, 300], [2_000, 4_000, 2_000, 2_000, 2_000]);
    let per_image = pick(6, 12, 50) as u64;
    let budget = pick(500u64, 30_000, 500_000);
    let totals = Arc::new(Mutex::new((0u64, 0u64)));
    for (w, images) in workloads().into_iter().zip(images_per) {
        let (calls, _, _) = probe(&w, 11);
        let stride = (calls / images).max(1);
        let (t2, opts, name) = (totals.clone(), w.opts.clone(), w.name);
        let vfs = SimVfs::new(11);
        let out = sim::run_with_crash_hook(&vfs, &w.opts, &w.steps, w.group, move |n, image, out| {
            if n % stride != 0 || t2.lock().1 >= budget {
                return;
            }
            let modes = sim::loss_modes(opts.page_size);
            let mode = modes[(n / stride % 4) as usize];
            let disk = image.boot_seeded(mode, n);
            let inner = Arc::new(Mutex::new(0u64));
            let (i2, opts2, out2) = (inner.clone(), opts.clone(), out.clone_model());
            disk.set_crash_hook(Some(Arc::new(move |r: u64, second: &waldb::io::CrashImage| {
                let mut k = i2.lock();
                if *k >= per_image || r % 3 != n % 3 {
                    return;
                }
                let m2 = modes[((n + r) % 4) as usize];
                // Recovered twice for one compound crash in four.
                if let Err(e) = check_image_with(second, m2, r, &out2, &opts2, r.is_multiple_of(4)) {
                    panic!("{name}: crash at call {n} ({mode:?}), then at recovery call {r} ({m2:?}): {e}");
                }
                *k += 1;
            })));
            let recovered = waldb::txn::Engine::open(Arc::new(disk.clone()), &sim::db_path(), opts.clone());
            disk.set_crash_hook(None);
            if let Err(e) = recovered {
                panic!("{name}: crash at call {n} ({mode:?}): recovery failed: {e}");
            }
            let mut t = t2.lock();
            t.0 += 1;
            t.1 += *inner.lock();
        });
        assert_eq!(out.error, None);
    }
    let (images, compound) = *totals.lock();
    println!("G2: {images} crash images, {compound} compound crashes (crash during recovery, recover again)");
    if scale() != Scale::Quick {
        assert!(compound >= 20_000, "G2 figure not reached: {compound}");
    }
}

/// Whether call `n` of a trace is the fdatasync of a WAL flush (not of a
/// segment being prepared): the last write to that file before it landed
/// in the data area, past the header block.
fn is_wal_flush_sync(trace: &[waldb::io::TraceEntry], n: usize) -> bool {
    let e = &trace[n];
    if e.op != OpKind::SyncData || !e.path.to_string_lossy().contains("-wal-") {
        return false;
    }
    trace[..n].iter().rev().find(|t| t.path == e.path && t.op == OpKind::Write).is_some_and(|w| w.offset >= 4096)
}

/// G3: every I/O call fails in turn, with EIO and ENOSPC, transient and
/// persistent. The failing statement gets an error; a failed WAL sync
/// poisons; after a restart every acknowledged commit is there.
#[test]
fn g3_every_io_call_fails_in_turn() {
    let stride = pick(5, 1, 1);
    let mut runs = 0u64;
    let mut wal_sync_failures = 0u64;
    for w in workloads().into_iter().take(2) {
        let (calls, _, trace) = probe(&w, 13);
        for n in (0..calls).step_by(stride as usize) {
            let variants = [
                Fault::Fail { when: When::Call(n), errno: Errno::Eio, persistent: false },
                Fault::Fail { when: When::Call(n), errno: Errno::Eio, persistent: true },
                Fault::Fail { when: When::Call(n), errno: Errno::Enospc, persistent: false },
                Fault::Fail { when: When::Call(n), errno: Errno::Enospc, persistent: true },
                Fault::FailSyncLosingData(When::Call(n)),
            ];
            for fault in variants {
                let what = format!("{}: {fault:?} at call {n} {:?}", w.name, trace[n as usize]);
                let vfs = SimVfs::new(13);
                vfs.add_fault(fault);
                let out = sim::run(&vfs, &w.opts, &w.steps, w.group);
                let wal_sync = is_wal_flush_sync(&trace, n as usize) && out.error.is_some();
                if wal_sync {
                    assert!(out.poisoned, "{what}: a failed WAL sync must poison, got {:?}", out.error);
                    wal_sync_failures += 1;
                }
                for mode in [LossMode::KeepAll, LossMode::DropAll] {
                    if let Err(e) = check_image(&vfs.crash_image(), mode, n, &out, &w.opts) {
                        panic!("{what}, restart {mode:?}: {e}");
                    }
                }
                runs += 1;
            }
        }
    }
    println!("G3: {runs} failure runs, {wal_sync_failures} failed WAL syncs (all poisoned)");
    assert!(wal_sync_failures > 0);
    if scale() != Scale::Quick {
        assert!(runs >= 10_000, "G3 figure not reached: {runs}");
    }
}

/// G4: deterministic simulation with proptest: a random workload (up to a
/// few hundred transactions, checkpoints, reopens) and a random fault plan
/// (a crash, a transient EIO/ENOSPC, a failed sync that loses data), then
/// recovery under a random loss mode, checked against the model.
mod g4 {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    struct Plan {
        seed: u64,
        txns: usize,
        checkpoint_every: Option<usize>,
        reopen_at: Option<usize>,
        group: usize,
        fault: u8,
        at: u64,
        mode: usize,
        segment_kib: u64,
        tree: bool,
        /// Several committers in flight on an 8-frame pool, with a flush
        /// forced before every COMMIT (workload M1's window).
        gap: bool,
    }

    fn plan() -> impl Strategy<Value = Plan> {
        (
            any::<u64>(),
            1usize..200,
            prop::option::of(5usize..40),
            prop::option::of(0usize..200),
            1usize..6,
            0u8..5,
            0u64..3_000,
            0usize..4,
            prop::sample::select(vec![16u64, 32, 64]),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(seed, txns, checkpoint_every, reopen_at, group, fault, at, mode, segment_kib, tree, gap)| Plan {
                    seed,
                    txns,
                    checkpoint_every,
                    reopen_at,
                    group,
                    fault,
                    at,
                    mode,
                    segment_kib,
                    tree,
                    gap,
                },
            )
    }

    fn fault(p: &Plan) -> Option<Fault> {
        match p.fault {
            0 | 1 => Some(Fault::Crash(When::Call(p.at))),
            2 => Some(Fault::Fail { when: When::Call(p.at), errno: Errno::Eio, persistent: false }),
            3 => Some(Fault::Fail { when: When::Call(p.at), errno: Errno::Enospc, persistent: false }),
            _ => Some(Fault::FailSyncLosingData(When::Nth(waldb::io::OpFilter::ops(&[OpKind::SyncData]), p.at % 40))),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: common::cases(pick(24, 2_000, 100_000)),
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/crash_sim.txt"),
            )),
            ..ProptestConfig::default()
        })]

        #[test]
        fn g4_random_workload_and_fault_plan(p in plan()) {
            let mut steps = if p.tree {
                sim::btree_oltp(p.seed, p.txns, p.checkpoint_every)
            } else {
                sim::oltp(p.seed, p.txns, p.checkpoint_every)
            };
            if let Some(r) = p.reopen_at { steps.insert(r.min(steps.len()), Step::Reopen); }
            let mut opts = sim_options(p.segment_kib * 1024, None);
            if p.gap {
                steps.insert(0, Step::FlushBeforeCommits);
                opts.pool_bytes = 8 * opts.page_size;
            }
            let vfs = SimVfs::new(p.seed);
            if let Some(f) = fault(&p) { vfs.add_fault(f); }
            let out = sim::run(&vfs, &opts, &steps, p.group);
            let mode = sim::loss_modes(opts.page_size)[p.mode];
            if let Err(e) = check_image(&vfs.crash_image(), mode, p.seed, &out, &opts) {
                prop_assert!(false, "{p:?}, {mode:?}: {e} (run ended with {:?})", out.error);
            }
        }
    }
}

/// G5: single-bit flips in durable bytes — data-file pages, WAL records
/// and segment headers, the control file. Each is detected (a corruption
/// error naming what failed) or provably harmless (repaired from the log,
/// or in bytes nobody reads): the database never answers with wrong data.
#[test]
fn g5_bit_flips_are_detected_or_harmless() {
    use waldb::Error;
    use waldb::storage::control::{Control, control_path};
    use waldb::wal::format::SEGMENT_HEADER_BLOCK;

    let flips = pick(600, 20_000, 200_000);
    let opts = sim_options(64 * 1024, None);
    let mut steps = sim::oltp(21, pick(80, 200, 200), Some(25));
    // A last commit of its own: every record before its flush is covered
    // by a later durable flush (the documented residual window is the last
    // flush alone).
    steps.push(Step::Txn { changes: vec![Change::Insert { table: 1, len: 10 }], commit: true });
    let vfs = SimVfs::new(21);
    let out = sim::run(&vfs, &opts, &steps, 1);
    assert_eq!(out.error, None);
    let expected = out.states.last().expect("states").clone();
    let disk = vfs.reboot(LossMode::DropAll);
    let image = disk.crash_image();
    let db = sim::db_path();
    let ctl = Control::read(&disk, &db).expect("control").expect("present");
    let scan = waldb::wal::scan(&disk, &db, ctl.db_id, ctl.redo_lsn).expect("scan");
    let last_begin =
        scan.records.iter().rev().find(|r| r.kind == waldb::wal::RecordType::Begin).expect("a transaction").lsn;
    let sentinel_flush = last_begin.0 / 4096 * 4096;
    let data_len = disk.live_bytes(&db).expect("data file").len() as u64;
    let segments = waldb::wal::segment::list(&disk, &db).expect("segments");
    let mut g = Rng(99);
    let (mut detected, mut harmless) = (0u64, 0u64);
    for i in 0..flips {
        let d = image.boot(LossMode::KeepAll);
        let (file, offset, what) = match g.below(20) {
            0..=9 => (db.clone(), g.below(data_len), "data file"),
            10..=17 => {
                // A durable WAL byte between the redo point and the last flush.
                let lsn = ctl.redo_lsn.0 + g.below(sentinel_flush.saturating_sub(ctl.redo_lsn.0).max(1));
                let (start, path) = segments.iter().rev().find(|(s, _)| s.0 <= lsn).expect("segment").clone();
                (path, lsn - start.0 + SEGMENT_HEADER_BLOCK, "WAL record")
            }
            18 => {
                let (_, path) = &segments[g.below(segments.len() as u64) as usize];
                (path.clone(), g.below(64), "segment header")
            }
            _ => (control_path(&db), g.below(64), "control file"),
        };
        let bit = (i % 8) as u8;
        d.flip_bit(&file, offset, bit).expect("flip");
        let result =
            waldb::txn::Engine::open(std::sync::Arc::new(d.clone()), &db, opts.clone()).and_then(|e| sim::dump(&e));
        match result {
            Ok(state) if state == expected => harmless += 1,
            Ok(_) => panic!("flip {i}: {what} {} byte {offset} bit {bit}: wrong data returned", file.display()),
            Err(e) if e.is_corruption() => detected += 1,
            Err(Error::Poisoned { .. }) => detected += 1,
            Err(e) => panic!("flip {i}: {what} {} byte {offset} bit {bit}: {e}", file.display()),
        }
    }
    println!("G5: {flips} single-bit flips: {detected} detected, {harmless} harmless, 0 wrong answers");
    assert!(detected > flips / 10, "most flips land in checked bytes: {detected}");
}

/// Prints the size of each workload (I/O calls, time of one run and one
/// recovery) to calibrate the suites: `cargo test --test crash_sim calibrate
/// -- --ignored --nocapture`.
#[test]
#[ignore]
fn calibrate() {
    for w in workloads() {
        let t0 = std::time::Instant::now();
        let (calls, out, _) = probe(&w, 7);
        let run = t0.elapsed();
        let vfs = SimVfs::new(7);
        let _ = sim::run(&vfs, &w.opts, &w.steps, w.group);
        let image = vfs.crash_image();
        let t1 = std::time::Instant::now();
        check_image(&image, LossMode::DropAll, 0, &out, &w.opts).expect("recovers");
        println!(
            "{}: {calls} I/O calls, {} commits, run {run:?}, check (2 recoveries) {:?}",
            w.name,
            out.acked,
            t1.elapsed()
        );
    }
}

/// Profiles one W3 recovery after the big transaction's commit began.
#[test]
#[ignore]
fn profile_w3_recovery() {
    let w = workloads().into_iter().nth(2).expect("W3");
    let (calls, _, trace) = probe(&w, 7);
    // The middle of the run: inside the big transaction's commit.
    let n = trace.iter().position(|t| t.op == OpKind::Write && t.path.to_string_lossy().contains("-wal-")).unwrap_or(0)
        as u64;
    let n = n.max(calls * 2 / 3);
    let vfs = SimVfs::new(7);
    vfs.add_fault(Fault::Crash(When::Call(n)));
    let out = sim::run(&vfs, &w.opts, &w.steps, w.group);
    let image = vfs.crash_image();
    let t0 = std::time::Instant::now();
    for _ in 0..20 {
        check_image(&image, LossMode::DropAll, 0, &out, &w.opts).expect("recovers");
    }
    println!("W3 at call {n} of {calls}: 20 checks in {:?}", t0.elapsed());
}
