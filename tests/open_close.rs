//! Opening and closing without needless I/O (issue 15): read-only opens
//! that write nothing, and a close that does nothing when nothing changed.
//!
//! What it proves:
//! - `Options::read_only(true)` opens through no write, rename, removal,
//!   sync or file creation — on a cleanly closed database and on one whose
//!   last session crashed (recovery runs in memory only, and the read-write
//!   open afterwards still recovers the same state); it works over a VFS
//!   that refuses every change (`ReadOnlyVfs`) and on real files in a
//!   directory made read-only; writes fail with `Error::ReadOnly`; read-only
//!   opens share the database, a read-write open alongside one is `Locked`.
//! - A session that changed nothing closes with zero I/O calls: no
//!   fdatasync, no CHECKPOINT record, no new control file.
//!
//! Scale: none; each test takes milliseconds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use waldb::io::{LossMode, OsVfs, ReadOnlyVfs, SimVfs, Vfs};
use waldb::{Database, Error, Options};

fn db_path() -> PathBuf {
    PathBuf::from("/oc/t.db")
}

fn options() -> Options {
    Options {
        pool_bytes: 64 * 4096,
        pool_cap_bytes: 4 << 20,
        wal_segment_size: 64 * 1024,
        checkpoint_bytes: None,
        ..Options::default()
    }
}

fn open(vfs: &SimVfs, opts: Options) -> waldb::Result<Database> {
    Database::open_on(Arc::new(vfs.clone()), &db_path(), opts)
}

/// Every file of the database's directory with its live bytes.
fn files(vfs: &SimVfs) -> BTreeMap<PathBuf, Vec<u8>> {
    vfs.list(Path::new("/oc"))
        .expect("list")
        .into_iter()
        .map(|p| {
            let b = vfs.live_bytes(&p).expect("bytes");
            (p, b)
        })
        .collect()
}

fn count(db: &Database) -> i64 {
    db.query_row("SELECT count(*) FROM t", (), |r| r.get(0)).expect("count")
}

/// A database with `n` rows in `t`, closed cleanly.
fn closed_with_rows(vfs: &SimVfs, n: i64) {
    let db = open(vfs, options()).expect("create");
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).expect("create table");
    for i in 0..n {
        db.execute("INSERT INTO t(v) VALUES (?)", (format!("row {i}"),)).expect("insert");
    }
    db.close().expect("close");
}

/// What a read-only session must never do, and what it did.
fn assert_wrote_nothing(vfs: &SimVfs, before: &BTreeMap<PathBuf, Vec<u8>>, stats: waldb::io::SimStats) {
    let after = vfs.stats();
    assert_eq!(after.bytes_written, stats.bytes_written, "a read-only session wrote bytes");
    assert_eq!(after.dir_syncs, stats.dir_syncs, "a read-only session synced a directory");
    assert_eq!(&files(vfs), before, "a read-only session changed the files");
}

#[test]
fn a_read_only_open_of_a_clean_database_does_no_write_and_no_sync() {
    let vfs = SimVfs::new(1);
    closed_with_rows(&vfs, 5);
    let before = files(&vfs);
    let stats = vfs.stats();
    vfs.enable_trace();
    let db = open(&vfs, options().read_only(true)).expect("open read-only");
    assert_eq!(count(&db), 5);
    for sql in ["INSERT INTO t(v) VALUES ('x')", "CREATE TABLE u(x)", "DELETE FROM t", "BEGIN"] {
        let e = db.execute(sql, ()).expect_err(sql);
        assert!(matches!(&e, Error::ReadOnly(m) if m.contains("write")), "{sql}: {e:?}");
        assert!(e.to_string().starts_with("database is open read-only"), "{e}");
    }
    assert!(matches!(db.checkpoint(), Err(Error::ReadOnly(_))));
    db.close().expect("close");
    assert_eq!(vfs.stats().file_syncs, stats.file_syncs, "a clean database needs no sync to be read");
    assert_wrote_nothing(&vfs, &before, stats);
    let changing = vfs.trace().into_iter().filter(|t| {
        use waldb::io::OpKind::*;
        matches!(t.op, Write | SetLen | Allocate | SyncData | SyncAll | SyncDir | Remove | Rename)
    });
    assert_eq!(changing.count(), 0);
    // And the database is as it was for the next writer.
    let db = open(&vfs, options()).expect("reopen read-write");
    assert_eq!(count(&db), 5);
}

#[test]
fn a_read_only_open_works_over_a_vfs_that_refuses_every_change() {
    let sim = SimVfs::new(2);
    closed_with_rows(&sim, 3);
    let ro: Arc<dyn Vfs> = Arc::new(ReadOnlyVfs::new(Arc::new(sim.clone())));
    let db = Database::open_on(ro.clone(), &db_path(), options().read_only(true)).expect("open read-only");
    assert_eq!(count(&db), 3);
    drop(db);
    // A read-write open there fails (it needs the exclusive lock).
    assert!(Database::open_on(ro, &db_path(), options()).is_err());
}

#[test]
fn a_read_only_open_after_a_crash_recovers_in_memory_only() {
    let vfs = SimVfs::new(3);
    let db = open(&vfs, options()).expect("create");
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).expect("create table");
    db.checkpoint().expect("checkpoint");
    for i in 0..20 {
        db.execute("INSERT INTO t(v) VALUES (?)", (format!("row {i}"),)).expect("insert");
    }
    // Power loss with every commit acknowledged: the rows are in the log only.
    let after = vfs.reboot(LossMode::DropAll);
    drop(db);
    let before = files(&after);
    let stats = after.stats();
    let ro = open(&after, options().read_only(true)).expect("open read-only");
    assert_eq!(count(&ro), 20, "the log is replayed in memory");
    let report = ro.recovery_report();
    assert!(report.records_applied > 0 && !report.checkpointed, "{report:?}");
    ro.close().expect("close");
    assert_wrote_nothing(&after, &before, stats);
    // A second read-only open replays the same again.
    let ro = open(&after, options().read_only(true)).expect("open read-only again");
    assert_eq!(count(&ro), 20);
    drop(ro);
    assert_eq!(files(&after), before);
    let db = open(&after, options()).expect("recover read-write");
    assert_eq!(count(&db), 20);
    assert!(db.recovery_report().checkpointed);
}

#[test]
fn read_only_opens_share_the_database_and_keep_a_writer_out() {
    let vfs = SimVfs::new(4);
    closed_with_rows(&vfs, 2);
    let a = open(&vfs, options().read_only(true)).expect("first reader");
    let b = open(&vfs, options().read_only(true)).expect("second reader");
    assert_eq!(count(&a) + count(&b), 4);
    assert!(matches!(open(&vfs, options()), Err(Error::Locked { .. })));
    drop((a, b));
    let w = open(&vfs, options()).expect("writer after the readers");
    assert!(matches!(open(&vfs, options().read_only(true)), Err(Error::Locked { .. })));
    drop(w);
}

#[test]
fn a_read_only_open_of_a_missing_database_creates_nothing() {
    let vfs = SimVfs::new(5);
    let e = open(&vfs, options().read_only(true)).expect_err("nothing to open");
    assert!(matches!(&e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound), "{e:?}");
    assert!(files(&vfs).is_empty());
    assert_eq!(vfs.stats().bytes_written, 0);
}

#[test]
fn a_read_only_open_works_in_a_directory_nobody_may_write() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ro.db");
    {
        let db =
            Database::open_with(&path, Options { wal_segment_size: 64 * 1024, ..Options::default() }).expect("create");
        db.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b');")
            .expect("fill");
        db.close().expect("close");
    }
    let snapshot = || -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
        let mut m = BTreeMap::new();
        for e in std::fs::read_dir(dir.path()).expect("read dir") {
            let p = e.expect("entry").path();
            let meta = std::fs::metadata(&p).expect("stat");
            m.insert(p.clone(), (std::fs::read(&p).expect("read"), meta.modified().expect("mtime")));
        }
        m
    };
    let before = snapshot();
    let set_mode = |file_mode: u32, dir_mode: u32| {
        for p in before.keys() {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(file_mode)).expect("chmod file");
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(dir_mode)).expect("chmod dir");
    };
    set_mode(0o444, 0o555);
    // (Run as root, the permissions do not bite; the snapshot still shows
    // that nothing was written, created or touched.)
    let opened = Database::open_with(&path, Options::default().read_only(true));
    let result = opened.and_then(|db| {
        let n: i64 = db.query_row("SELECT count(*) FROM t", (), |r| r.get(0))?;
        let refused = db.execute("INSERT INTO t(v) VALUES ('c')", ());
        db.close()?;
        Ok((n, refused))
    });
    let after = snapshot();
    set_mode(0o644, 0o755);
    let (n, refused) = result.expect("read-only session");
    assert_eq!(n, 2);
    assert!(matches!(refused, Err(Error::ReadOnly(_))), "{refused:?}");
    assert_eq!(after, before, "the read-only session changed the directory");
    // The real file system's shared lock: readers coexist, a writer waits.
    let a = Database::open_on(Arc::new(OsVfs::new()), &path, Options::default().read_only(true)).expect("reader");
    let b = Database::open_with(&path, Options::default().read_only(true)).expect("second reader");
    assert!(matches!(Database::open(&path), Err(Error::Locked { .. })));
    drop((a, b));
    Database::open(&path).expect("writer after the readers");
}

#[test]
fn closing_a_session_that_changed_nothing_does_no_io() {
    let vfs = SimVfs::new(6);
    closed_with_rows(&vfs, 4);
    let control = db_path().with_file_name("t.db-ctl");
    let db = open(&vfs, options()).expect("reopen");
    assert_eq!(count(&db), 4);
    let before = files(&vfs);
    let calls = vfs.io_count();
    db.close().expect("close");
    assert_eq!(vfs.io_count(), calls, "a close with nothing to do made I/O calls");
    assert_eq!(files(&vfs), before);
    // The same through the last handle's drop.
    let db = open(&vfs, options()).expect("reopen");
    let clone = db.clone();
    assert_eq!(count(&clone), 4);
    let calls = vfs.io_count();
    drop(clone);
    drop(db);
    assert_eq!(vfs.io_count(), calls, "dropping an unchanged database made I/O calls");
    // A session that did change something still checkpoints at close.
    let db = open(&vfs, options()).expect("reopen");
    db.execute("INSERT INTO t(v) VALUES ('new')", ()).expect("insert");
    let syncs = vfs.stats().file_syncs;
    db.close().expect("close");
    assert!(vfs.stats().file_syncs > syncs, "a close after a change checkpoints");
    assert_ne!(vfs.live_bytes(&control), before.get(&control).cloned(), "the control file names the new checkpoint");
    let db = open(&vfs, options()).expect("reopen");
    assert_eq!(count(&db), 5);
    assert_eq!(db.recovery_report().records_applied, 0, "the close left nothing to redo");
}
