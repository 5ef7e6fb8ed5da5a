//! Unit tests of `SimVfs`: one per fault and per loss mode.

use super::*;

fn p(name: &str) -> PathBuf {
    PathBuf::from("/d").join(name)
}

/// A file created, its entry made durable, then `durable` synced and
/// `unsynced` written after it.
fn setup(durable: &[u8], unsynced: &[(u64, &[u8])]) -> (SimVfs, Arc<dyn VfsFile>) {
    let vfs = SimVfs::new(7);
    let f = vfs.open(&p("f"), OpenMode::Create).expect("create");
    f.write_all_at(durable, 0).expect("write");
    f.sync_data().expect("sync");
    vfs.sync_dir(Path::new("/d")).expect("sync_dir");
    for (off, b) in unsynced {
        f.write_all_at(b, *off).expect("write");
    }
    (vfs, f)
}

fn read_all(vfs: &SimVfs, name: &str) -> Vec<u8> {
    let f = vfs.open(&p(name), OpenMode::Existing).expect("open");
    let mut buf = vec![0u8; f.len().expect("len") as usize];
    f.read_exact_at(&mut buf, 0).expect("read");
    buf
}

#[test]
fn drop_all_keeps_only_synced_bytes() {
    let (vfs, f) = setup(b"aaaa", &[(2, b"XXXX")]);
    let mut buf = [0u8; 6];
    f.read_exact_at(&mut buf, 0).expect("live read");
    assert_eq!(&buf, b"aaXXXX", "reads see unsynced writes");
    let after = vfs.reboot(LossMode::DropAll);
    assert_eq!(read_all(&after, "f"), b"aaaa");
}

#[test]
fn keep_all_keeps_unsynced_bytes() {
    let (vfs, _f) = setup(b"aaaa", &[(2, b"XXXX")]);
    let after = vfs.reboot(LossMode::KeepAll);
    assert_eq!(read_all(&after, "f"), b"aaXXXX");
}

#[test]
fn unsynced_directory_entries_are_lost_under_drop_all() {
    let vfs = SimVfs::new(1);
    let f = vfs.open(&p("new"), OpenMode::Create).expect("create");
    f.write_all_at(b"data", 0).expect("write");
    f.sync_all().expect("file fsync does not make its name durable");
    let img = vfs.crash_image();
    assert!(!img.boot(LossMode::DropAll).exists(&p("new")).expect("exists"));
    assert!(img.boot(LossMode::KeepAll).exists(&p("new")).expect("exists"));
    vfs.sync_dir(Path::new("/d")).expect("sync_dir");
    let after = vfs.reboot(LossMode::DropAll);
    assert_eq!(read_all(&after, "new"), b"data");
}

#[test]
fn unsynced_rename_and_remove_revert_under_drop_all() {
    let vfs = SimVfs::new(1);
    for (name, body) in [("ctl", b"old"), ("gone", b"bye")] {
        let f = vfs.open(&p(name), OpenMode::Create).expect("create");
        f.write_all_at(body, 0).expect("write");
        f.sync_all().expect("sync");
    }
    let tmp = vfs.open(&p("ctl.tmp"), OpenMode::Create).expect("tmp");
    tmp.write_all_at(b"new", 0).expect("write");
    tmp.sync_all().expect("sync");
    vfs.sync_dir(Path::new("/d")).expect("sync_dir");
    vfs.rename(&p("ctl.tmp"), &p("ctl")).expect("rename");
    vfs.remove(&p("gone")).expect("remove");
    let img = vfs.crash_image();
    let dropped = img.boot(LossMode::DropAll);
    assert_eq!(read_all(&dropped, "ctl"), b"old");
    assert_eq!(read_all(&dropped, "gone"), b"bye");
    let kept = img.boot(LossMode::KeepAll);
    assert_eq!(read_all(&kept, "ctl"), b"new");
    assert!(!kept.exists(&p("gone")).expect("exists"));
    assert!(!kept.exists(&p("ctl.tmp")).expect("exists"));
}

#[test]
fn random_writes_keep_each_write_whole_or_not_at_all() {
    let (vfs, _f) = setup(&[0u8; 8], &[(0, b"AAAA"), (4, b"BBBB")]);
    let img = vfs.crash_image();
    let mut outcomes = BTreeSet::new();
    for seed in 0..64 {
        let got = read_all(&img.boot_seeded(LossMode::RandomWrites, seed), "f");
        assert!(got[..4] == *b"AAAA" || got[..4] == [0; 4], "{got:?}");
        assert!(got[4..] == *b"BBBB" || got[4..] == [0; 4], "{got:?}");
        outcomes.insert(got);
    }
    assert_eq!(outcomes.len(), 4, "all four keep/drop combinations appear");
}

#[test]
fn random_sectors_keep_each_sector_whole_or_not_at_all() {
    let (vfs, _f) = setup(&[0u8; 2048], &[(256, &[7u8; 1024])]);
    let img = vfs.crash_image();
    let mut patterns = BTreeSet::new();
    for seed in 0..64 {
        let got = read_all(&img.boot_seeded(LossMode::RandomSectors { sector: 512 }, seed), "f");
        // Pieces: [256,512), [512,1024), [1024,1280).
        let piece = |a: usize, b: usize| {
            let s = &got[a..b];
            assert!(s.iter().all(|&x| x == 7) || s.iter().all(|&x| x == 0), "piece {a}..{b} torn inside");
            s[0] == 7
        };
        patterns.insert((piece(256, 512), piece(512, 1024), piece(1024, 1280)));
        assert!(got[..256].iter().all(|&x| x == 0) && got[1280..].iter().all(|&x| x == 0));
    }
    assert_eq!(patterns.len(), 8, "every sector subset appears over 64 seeds");
}

#[test]
fn tear_last_keeps_earlier_writes_and_can_garble_whole_sectors() {
    let mut durable = vec![0x11u8; 4096];
    durable[..512].fill(0x22);
    let (vfs, _f) = setup(&durable, &[(3000, b"early"), (512 + 100, &[0x33u8; 200])]);
    let img = vfs.crash_image();
    let mut saw = (false, false, false);
    for seed in 0..64 {
        let got = read_all(&img.boot_seeded(LossMode::TearLast { sector: 512, garbage: true }, seed), "f");
        assert_eq!(&got[3000..3005], b"early", "writes before the last one survive");
        assert!(got[..512].iter().all(|&x| x == 0x22), "sectors the torn write did not cover are intact");
        let sector = &got[512..1024];
        if sector[100..300].iter().all(|&x| x == 0x33) && sector[..100].iter().all(|&x| x == 0x11) {
            saw.0 = true;
        } else if sector.iter().all(|&x| x == 0x11) {
            saw.1 = true;
        } else {
            // Garbage covers the whole aligned sector, including durable bytes
            // outside the write's range.
            assert_ne!(&sector[..100], &[0x11u8; 100][..], "garbage spans the sector");
            saw.2 = true;
        }
    }
    assert_eq!(saw, (true, true, true), "new, old and garbage outcomes all appear");
}

#[test]
fn tear_last_drops_unsynced_directory_entries() {
    let vfs = SimVfs::new(3);
    vfs.open(&p("x"), OpenMode::Create).expect("create");
    let after = vfs.reboot(LossMode::TearLast { sector: 4096, garbage: false });
    assert!(!after.exists(&p("x")).expect("exists"));
}

#[test]
fn crash_at_call_n_kills_every_handle_and_boots_durable_state() {
    let (vfs, f) = setup(b"base", &[]);
    let n = vfs.io_count();
    vfs.add_fault(Fault::Crash(When::Call(n + 1)));
    f.write_all_at(b"one", 0).expect("call n succeeds");
    assert!(f.write_all_at(b"two", 0).is_err(), "call n+1 is the crash");
    assert!(vfs.crashed());
    assert!(f.sync_data().is_err(), "dead handles fail");
    assert!(vfs.open(&p("f"), OpenMode::Existing).is_err(), "the dead vfs fails");
    let after = vfs.reboot(LossMode::DropAll);
    assert!(!after.crashed());
    assert_eq!(read_all(&after, "f"), b"base");
}

#[test]
fn transient_failure_hits_one_call_only() {
    let (vfs, f) = setup(b"base", &[]);
    let n = vfs.io_count();
    vfs.add_fault(Fault::Fail { when: When::Call(n), errno: Errno::Eio, persistent: false });
    let e = f.write_all_at(b"x", 0).expect_err("injected");
    assert_eq!(e.raw_os_error(), Some(5));
    f.write_all_at(b"y", 0).expect("next call works");
    assert_eq!(read_all(&vfs, "f"), b"yase");
}

#[test]
fn persistent_eio_fails_everything_after() {
    let (vfs, f) = setup(b"base", &[]);
    let n = vfs.io_count();
    vfs.add_fault(Fault::Fail { when: When::Call(n), errno: Errno::Eio, persistent: true });
    assert!(f.sync_data().is_err());
    let mut b = [0u8; 1];
    assert_eq!(f.read_at(&mut b, 0).expect_err("reads fail too").raw_os_error(), Some(5));
    vfs.clear_faults();
    f.read_exact_at(&mut b, 0).expect("cleared");
}

#[test]
fn persistent_enospc_fails_growth_but_not_reads_or_syncs() {
    let (vfs, f) = setup(b"base", &[]);
    vfs.add_fault(Fault::Fail {
        when: When::Nth(OpFilter::ops(&[OpKind::Write]), 0),
        errno: Errno::Enospc,
        persistent: true,
    });
    let e = f.write_all_at(b"x", 4).expect_err("enospc");
    assert!(crate::error::is_disk_full(&e), "{e:?}");
    assert!(f.allocate(100).is_err());
    let mut b = [0u8; 4];
    f.read_exact_at(&mut b, 0).expect("reads work");
    f.sync_data().expect("syncs work");
}

#[test]
fn nth_matching_call_on_a_path_fails() {
    let vfs = SimVfs::new(1);
    let a = vfs.open(&p("a.wal"), OpenMode::Create).expect("a");
    let b = vfs.open(&p("b.db"), OpenMode::Create).expect("b");
    vfs.add_fault(Fault::Fail {
        when: When::Nth(OpFilter::ops(&[OpKind::SyncData]).on_path("wal"), 1),
        errno: Errno::Eio,
        persistent: false,
    });
    a.sync_data().expect("0th wal sync");
    b.sync_data().expect("db syncs do not match");
    assert!(a.sync_data().is_err(), "1st wal sync fails");
    a.sync_data().expect("2nd wal sync");
}

#[test]
fn every_matching_call_fails() {
    let vfs = SimVfs::new(1);
    let a = vfs.open(&p("a"), OpenMode::Create).expect("a");
    vfs.add_fault(Fault::Fail {
        when: When::Every(OpFilter::ops(&[OpKind::SyncAll])),
        errno: Errno::Eio,
        persistent: false,
    });
    for _ in 0..3 {
        assert!(a.sync_all().is_err());
    }
    a.sync_data().expect("other kinds pass");
}

#[test]
fn failed_sync_loses_pending_bytes_but_reads_still_return_them() {
    let (vfs, f) = setup(b"aaaa", &[(0, b"LOST")]);
    vfs.add_fault(Fault::FailSyncLosingData(When::Nth(OpFilter::ops(&[OpKind::SyncData]), 0)));
    assert!(f.sync_data().is_err(), "the sync reports the failure once");
    let mut b = [0u8; 4];
    f.read_exact_at(&mut b, 0).expect("read");
    assert_eq!(&b, b"LOST", "the cache still returns the bytes");
    f.sync_data().expect("a later sync succeeds ...");
    let after = vfs.reboot(LossMode::KeepAll);
    assert_eq!(read_all(&after, "f"), b"aaaa", "... but proves nothing: the bytes never land");
}

#[test]
fn bit_flip_at_rest_changes_durable_and_live_bytes() {
    let (vfs, f) = setup(&[0u8; 16], &[]);
    vfs.flip_bit(&p("f"), 5, 3).expect("flip");
    let mut b = [0u8; 16];
    f.read_exact_at(&mut b, 0).expect("read");
    assert_eq!(b[5], 8);
    assert_eq!(read_all(&vfs.reboot(LossMode::DropAll), "f")[5], 8);
}

#[test]
fn capacity_limits_growth_with_enospc() {
    let vfs = SimVfs::new(1);
    vfs.set_capacity(Some(100));
    let f = vfs.open(&p("f"), OpenMode::Create).expect("create");
    f.write_all_at(&[1u8; 100], 0).expect("fits");
    let e = f.write_all_at(&[1u8; 1], 100).expect_err("full");
    assert!(crate::error::is_disk_full(&e));
    f.write_all_at(&[2u8; 10], 0).expect("overwrite needs no space");
    assert!(f.allocate(200).is_err());
    vfs.set_capacity(None);
    f.allocate(200).expect("space freed");
}

#[test]
fn observer_sees_every_write_before_it_lands() {
    let vfs = SimVfs::new(1);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    vfs.set_write_observer(Some(Arc::new(move |path: &Path, off, bytes: &[u8]| {
        s2.lock().push((path.to_path_buf(), off, bytes.len()));
    })));
    let f = vfs.open(&p("f"), OpenMode::Create).expect("create");
    f.write_all_at(b"abc", 10).expect("w");
    f.write_all_at(b"de", 0).expect("w");
    assert_eq!(*seen.lock(), vec![(p("f"), 10, 3), (p("f"), 0, 2)]);
}

#[test]
fn trace_records_every_call_with_its_index() {
    let vfs = SimVfs::new(1);
    vfs.enable_trace();
    let f = vfs.open(&p("f"), OpenMode::Create).expect("create");
    f.write_all_at(b"abc", 0).expect("w");
    f.sync_data().expect("s");
    let ops: Vec<(u64, OpKind)> = vfs.trace().iter().map(|t| (t.index, t.op)).collect();
    assert_eq!(ops, vec![(0, OpKind::Open), (1, OpKind::Write), (2, OpKind::SyncData)]);
    assert_eq!(vfs.io_count(), 3);
    assert_eq!(vfs.sync_count(&p("f")), 1);
    assert_eq!(vfs.stats().bytes_written, 3);
}

#[test]
fn same_seed_same_outcome() {
    let run = || {
        let (vfs, _f) = setup(&[0u8; 4096], &[(0, &[9u8; 4096])]);
        let r = read_all(&vfs.reboot(LossMode::RandomSectors { sector: 512 }), "f");
        (r, vfs.random_u64())
    };
    assert_eq!(run(), run());
}

#[test]
fn reboot_releases_locks() {
    let vfs = SimVfs::new(1);
    let _held = vfs.lock_exclusive(&p("db")).expect("lock");
    let after = vfs.reboot(LossMode::KeepAll);
    after.lock_exclusive(&p("db")).expect("a rebooted machine holds no locks");
}
