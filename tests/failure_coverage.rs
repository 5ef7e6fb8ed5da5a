//! G12: every failure-path variant of [`waldb::Error`] is reached by a test.
//!
//! What it proves (`docs/TESTING.md` goal G12; fault-catalogue rows 4–9, 12, 16,
//! 17, 18, 21): for each variant of `Error` there is a scenario below that
//! provokes it through the public API, files on disk or `SimVfs` faults,
//! and checks that exactly that variant comes back, with the details a
//! caller relies on (the file, page, segment, operation). The corruption
//! variants each have several scenarios (a bit flip in a page, a
//! misdirected page; a foreign data file, a damaged control file, a segment
//! of another database; a flipped bit in a durable log record, a damaged
//! segment header), and every [`ConstraintKind`] is reached.
//!
//! **How it stays complete.** `Error` is `#[non_exhaustive]`, so this file
//! cannot `match` it exhaustively; instead `src/error.rs` names every
//! variant once in a macro that generates both `Error::VARIANTS` and the
//! exhaustive `match` of `Error::variant_name`. A new variant does not
//! compile until it is named there, and then
//! [`every_error_variant_is_reached_by_a_scenario`] fails until a scenario
//! here returns it. `ConstraintKind` likewise: `ConstraintKind::ALL` lists every kind.
//!
//! Scale: none; each scenario takes milliseconds (the whole file well under
//! a second).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use waldb::io::{Errno, Fault, LossMode, OpFilter, OpKind, SimVfs, Vfs, When};
use waldb::storage::page;
use waldb::{ConstraintKind, Database, Error, Options, PageId};

fn db_path() -> PathBuf {
    PathBuf::from("/g12/t.db")
}

fn options() -> Options {
    Options {
        pool_bytes: 64 * 4096,
        pool_cap_bytes: 1 << 20,
        wal_segment_size: 64 * 1024,
        checkpoint_bytes: None,
        ..Options::default()
    }
}

fn open(vfs: &SimVfs) -> waldb::Result<Database> {
    Database::open_on(Arc::new(vfs.clone()), &db_path(), options())
}

/// A database with a table `t` (a few rows) and an index, on `vfs`; every
/// commit durable.
fn populated(vfs: &SimVfs) -> Database {
    let db = open(vfs).expect("create");
    db.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT UNIQUE);
         CREATE TABLE big(v BLOB);
         INSERT INTO t(a, b) VALUES (1, 'one'), (2, 'two'), (3, 'three');
         INSERT INTO t(a, b) VALUES (4, 'four');
         INSERT INTO t(a, b) VALUES (5, 'five');",
    )
    .expect("populate");
    db
}

/// Close cleanly (checkpoint), so the data file holds everything and the
/// log has nothing to redo: damage to a page is then not repaired.
fn closed(vfs: &SimVfs) {
    populated(vfs).close().expect("close");
}

fn file(vfs: &SimVfs, suffix: &str) -> PathBuf {
    vfs.list(Path::new("/g12"))
        .expect("list")
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no file ending in {suffix}"))
}

fn segments(vfs: &SimVfs) -> Vec<PathBuf> {
    vfs.list(Path::new("/g12")).expect("list").into_iter().filter(|p| p.to_string_lossy().contains("-wal-0")).collect()
}

fn write(vfs: &SimVfs, path: &Path, off: u64, bytes: &[u8]) {
    let f = vfs.open(path, waldb::io::OpenMode::Existing).expect("open");
    f.write_all_at(bytes, off).expect("write");
    f.sync_data().expect("sync");
}

fn err<T: std::fmt::Debug>(r: waldb::Result<T>, what: &str) -> Error {
    match r {
        Err(e) => e,
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
    }
}

// --- Storage and disk ------------------------------------------------------

/// A read of the control file fails with EIO: `Io`, naming the operation
/// and the file, with the OS error kept.
fn io_error_on_read() -> Error {
    let vfs = SimVfs::new(1);
    closed(&vfs);
    let when = When::Nth(OpFilter::ops(&[OpKind::Read]).on_path("-ctl"), 0);
    vfs.add_fault(Fault::Fail { when, errno: Errno::Eio, persistent: false });
    let e = err(open(&vfs), "open with a failing read");
    match &e {
        Error::Io { op, path, source } => {
            assert_eq!(*op, "read");
            assert!(path.to_string_lossy().ends_with("-ctl"), "{e}");
            assert_eq!(source.raw_os_error(), Some(5));
        }
        other => panic!("expected Io, got {other:?}"),
    }
    e
}

/// No room for the next WAL segment: `DiskFull`, and the handle stays
/// usable once there is room again.
fn disk_full_at_segment_creation() -> Error {
    let vfs = SimVfs::new(2);
    let db = populated(&vfs);
    let used: u64 = vfs
        .list(Path::new("/g12"))
        .expect("list")
        .iter()
        .map(|p| vfs.live_bytes(p).map_or(0, |b| b.len() as u64))
        .sum();
    vfs.set_capacity(Some(used + 4096));
    let big = vec![7u8; 300 * 1024];
    let e = err(db.execute("INSERT INTO big VALUES (?)", [&big]), "a 300 KiB insert on a full disk");
    assert!(matches!(&e, Error::DiskFull { .. }), "{e:?}");
    vfs.set_capacity(None);
    db.execute("INSERT INTO big VALUES (?)", [&big]).expect("usable again once there is room");
    e
}

/// The WAL's fdatasync fails (and drops the unsynced bytes, fsyncgate):
/// the commit fails and the handle is `Poisoned` from then on.
fn poisoned_after_a_failed_wal_fsync() -> Error {
    let vfs = SimVfs::new(3);
    let db = populated(&vfs);
    vfs.add_fault(Fault::FailSyncLosingData(When::Nth(OpFilter::ops(&[OpKind::SyncData]).on_path("-wal-"), 0)));
    let first = err(db.execute("INSERT INTO t(a, b) VALUES (6, 'six')", ()), "commit with a failing fsync");
    assert!(matches!(first, Error::Poisoned { .. } | Error::Io { .. }), "{first:?}");
    let e = err(db.execute("INSERT INTO t(a, b) VALUES (7, 'seven')", ()), "a write after the failure");
    assert!(matches!(&e, Error::Poisoned { .. }), "{e:?}");
    assert!(e.is_poisoned());
    e
}

/// One flipped bit in a page at rest: `Corrupt` naming the page.
fn corrupt_page_bit_flip() -> Error {
    let vfs = SimVfs::new(4);
    closed(&vfs);
    let data = file(&vfs, "t.db");
    let ps = 4096u64;
    let pages = vfs.live_bytes(&data).expect("data").len() as u64 / ps;
    for p in 2..pages {
        vfs.flip_bit(&data, p * ps + 2000, 3).expect("flip");
    }
    let db = open(&vfs).expect("the schema pages are sound");
    let e = err(db.query("SELECT * FROM t", ()), "a scan over damaged pages");
    match &e {
        Error::Corrupt { file, page, reason } => {
            assert_eq!(file, &data);
            assert!(page.0 >= 2, "{e}");
            assert!(reason.contains("checksum"), "{e}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(e.is_corruption());
    e
}

/// A page written where another belongs (valid checksum, wrong page id):
/// `Corrupt`, "misdirected".
fn corrupt_misdirected_page() -> Error {
    let vfs = SimVfs::new(5);
    closed(&vfs);
    let data = file(&vfs, "t.db");
    let bytes = vfs.live_bytes(&data).expect("data");
    let ps = 4096;
    let pages = bytes.len() / ps;
    // The written pages from 2 on (the file may be longer, preallocated)
    // each hold the next one's image: whole and sealed, but for another
    // page number.
    let image = |p: usize| bytes[p * ps..(p + 1) * ps].to_vec();
    let valid: Vec<usize> =
        (2..pages).filter(|&p| page::verify(&image(p), PageId(p as u32), Path::new("t")).is_ok()).collect();
    assert!(valid.len() >= 2, "{valid:?}");
    for (i, &p) in valid.iter().enumerate() {
        write(&vfs, &data, (p * ps) as u64, &image(valid[(i + 1) % valid.len()]));
    }
    let db = open(&vfs).expect("the schema pages are sound");
    let e = err(db.query("SELECT * FROM t", ()), "a scan over misdirected pages");
    assert!(matches!(&e, Error::Corrupt { reason, .. } if reason.contains("misdirected")), "{e:?}");
    e
}

/// A SQLite database where the waldb file should be: `CorruptFile`.
fn corrupt_file_foreign_data_file() -> Error {
    let vfs = SimVfs::new(6);
    let mut foreign = b"SQLite format 3\0".to_vec();
    foreign.resize(4096, 0x42);
    let f = vfs.open(&db_path(), waldb::io::OpenMode::Create).expect("create");
    f.write_all_at(&foreign, 0).expect("write");
    let e = err(open(&vfs), "open of a foreign file");
    assert!(matches!(&e, Error::CorruptFile { file, .. } if *file == db_path()), "{e:?}");
    // Refused, never overwritten.
    assert_eq!(vfs.live_bytes(&db_path()).expect("still there"), foreign);
    e
}

/// One flipped bit in the control file: `CorruptFile` naming it.
fn corrupt_file_damaged_control_file() -> Error {
    let vfs = SimVfs::new(7);
    closed(&vfs);
    let ctl = file(&vfs, "-ctl");
    vfs.flip_bit(&ctl, 33, 0).expect("flip");
    let e = err(open(&vfs), "open with a damaged control file");
    assert!(matches!(&e, Error::CorruptFile { file, reason } if *file == ctl && reason.contains("checksum")), "{e:?}");
    e
}

/// A WAL segment of another database in this one's place: `CorruptFile`.
fn corrupt_file_segment_of_another_database() -> Error {
    let ours = SimVfs::new(8);
    closed(&ours);
    let theirs = SimVfs::new(9);
    closed(&theirs);
    // After a clean close recovery reads from the redo point: replace the
    // segment holding it with the other database's segment of that name,
    // or the first segment of theirs.
    let ours_segs = segments(&ours);
    let their_segs = segments(&theirs);
    assert!(!ours_segs.is_empty() && !their_segs.is_empty());
    for seg in &ours_segs {
        let name = seg.file_name().expect("name");
        let src = their_segs.iter().find(|p| p.file_name() == Some(name)).unwrap_or(&their_segs[0]);
        write(&ours, seg, 0, &theirs.live_bytes(src).expect("bytes"));
    }
    let e = err(open(&ours), "open with a foreign segment");
    assert!(matches!(&e, Error::CorruptFile { reason, .. } if reason.contains("belongs to database")), "{e:?}");
    e
}

/// A bit flipped in a WAL record that was durable, with later durable
/// records behind it: `CorruptLog` naming segment, offset and LSN — not a
/// silently truncated log.
fn corrupt_log_bit_flip_mid_log() -> Error {
    let vfs = SimVfs::new(10);
    let db = populated(&vfs);
    db.execute("INSERT INTO t(a, b) VALUES (6, 'six')", ()).expect("a later durable commit");
    // Power fails; every acknowledged commit is durable.
    let disk = vfs.crash_now().boot(LossMode::DropAll);
    drop(db);
    let first = segments(&disk).into_iter().min().expect("a segment");
    // The first record (at LSN 4096, file offset 4096): a bit of its
    // durable-LSN field, under its CRC.
    disk.flip_bit(&first, 4096 + 17, 2).expect("flip");
    let e = err(open(&disk), "recovery over a damaged durable record");
    match &e {
        Error::CorruptLog { segment, offset, lsn, reason } => {
            assert_eq!(segment, &first);
            assert_eq!((*offset, lsn.0), (4096, 4096));
            assert!(reason.contains("durable"), "{e}");
        }
        other => panic!("expected CorruptLog, got {other:?}"),
    }
    e
}

/// The header of a segment the log still needs, damaged: `CorruptLog`.
fn corrupt_log_damaged_segment_header() -> Error {
    let vfs = SimVfs::new(11);
    let db = populated(&vfs);
    // Enough log for a second segment, so the first is not the last.
    let big = vec![1u8; 100 * 1024];
    db.execute("INSERT INTO big VALUES (?)", [&big]).expect("big insert");
    let disk = vfs.crash_now().boot(LossMode::DropAll);
    drop(db);
    let segs = segments(&disk);
    assert!(segs.len() >= 2, "{segs:?}");
    let first = segs.iter().min().expect("first").clone();
    disk.flip_bit(&first, 40, 1).expect("flip a bit of the segment size");
    let e = err(open(&disk), "recovery over a damaged segment header");
    assert!(matches!(&e, Error::CorruptLog { segment, offset: 0, .. } if *segment == first), "{e:?}");
    e
}

/// A second open of an open database: `Locked`, at once.
fn locked_by_another_handle() -> Error {
    let vfs = SimVfs::new(12);
    let _first = populated(&vfs);
    let e = err(open(&vfs), "a second open");
    assert!(matches!(&e, Error::Locked { path } if *path == db_path()), "{e:?}");
    e
}

/// A transaction larger than the pool may grow to (no steal):
/// `BufferPoolFull`, and the transaction is rolled back whole.
fn buffer_pool_full() -> Error {
    let vfs = SimVfs::new(13);
    let db = populated(&vfs);
    let tx = db.transaction().expect("begin");
    let mut failure = None;
    for i in 0..2000 {
        if let Err(e) = tx.execute("INSERT INTO big VALUES (?)", [vec![i as u8; 3000]]) {
            failure = Some(e);
            break;
        }
    }
    let e = failure.expect("the pool fills up");
    assert!(matches!(&e, Error::BufferPoolFull { .. }), "{e:?}");
    drop(tx);
    let n: i64 = db.query_row("SELECT count(*) FROM big", (), |r| r.get(0)).expect("count");
    assert_eq!(n, 0, "nothing of the failed transaction");
    e
}

// --- Input -----------------------------------------------------------------

/// An index key longer than a B+tree page holds: `TooBig`.
fn too_big_index_key() -> Error {
    let db = Database::open_in_memory().expect("open");
    db.execute_batch("CREATE TABLE k(v TEXT); CREATE INDEX k_v ON k(v);").expect("schema");
    let e = err(db.execute("INSERT INTO k VALUES (?)", ["k".repeat(5000)]), "a 5,000-byte index key");
    assert!(matches!(&e, Error::TooBig { what: "index key", size, limit } if size > limit), "{e:?}");
    e
}

fn parse_error() -> Error {
    let db = Database::open_in_memory().expect("open");
    let e = err(db.execute("SELECT a\n  FROM WHERE", ()), "bad SQL");
    assert!(matches!(&e, Error::Parse { line: 2, .. }), "{e:?}");
    e
}

fn not_supported() -> Error {
    let db = Database::open_in_memory().expect("open");
    db.execute("CREATE TABLE t(a)", ()).expect("table");
    let e = err(db.execute("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", ()), "a trigger");
    assert!(matches!(&e, Error::NotSupported(m) if m.contains("TRIGGER")), "{e:?}");
    e
}

fn sql_error() -> Error {
    let db = Database::open_in_memory().expect("open");
    let e = err(db.query("SELECT * FROM missing", ()), "a missing table");
    assert!(matches!(&e, Error::Sql(m) if m.contains("no such table")), "{e:?}");
    e
}

/// Each constraint kind in turn. `ConstraintKind` is `#[non_exhaustive]`,
/// so the match needs a wildcard arm; `every_constraint_kind_is_reached`
/// runs every kind the crate lists (`ConstraintKind::ALL`), so a new kind
/// fails it until it has a statement here.
fn constraint(kind: ConstraintKind) -> Error {
    let db = Database::open_in_memory().expect("open");
    db.execute("CREATE TABLE c(id INTEGER PRIMARY KEY, n TEXT NOT NULL, u TEXT UNIQUE CHECK (u <> 'bad'))", ())
        .expect("table");
    db.execute("INSERT INTO c VALUES (1, 'x', 'y')", ()).expect("row");
    let sql = match kind {
        ConstraintKind::NotNull => "INSERT INTO c VALUES (2, NULL, 'z')",
        ConstraintKind::Unique => "INSERT INTO c VALUES (2, 'x', 'y')",
        ConstraintKind::PrimaryKey => "INSERT INTO c VALUES (1, 'x', 'w')",
        ConstraintKind::Check => "INSERT INTO c VALUES (2, 'x', 'bad')",
        other => panic!("no statement violates constraint kind {other} yet: add one"),
    };
    let e = err(db.execute(sql, ()), sql);
    assert!(matches!(&e, Error::Constraint { kind: k, .. } if *k == kind), "{e:?}");
    e
}

fn type_mismatch() -> Error {
    let db = Database::open_in_memory().expect("open");
    db.execute("CREATE TABLE s(i INTEGER)", ()).expect("table");
    let e = err(db.execute("INSERT INTO s VALUES ('not a number')", ()), "text into an INTEGER column");
    assert!(matches!(&e, Error::TypeMismatch(_)), "{e:?}");
    e
}

fn no_rows() -> Error {
    let db = Database::open_in_memory().expect("open");
    let e = err(db.query_row("SELECT 1 WHERE 0", (), |r| r.get::<i64>(0)), "an empty result");
    assert!(matches!(&e, Error::NoRows), "{e:?}");
    e
}

/// A clone used after the database was closed: `Closed`.
fn closed_handle() -> Error {
    let vfs = SimVfs::new(14);
    let db = populated(&vfs);
    let other = db.clone();
    db.close().expect("close");
    let e = err(other.execute("INSERT INTO t(a, b) VALUES (6, 'six')", ()), "a write after close");
    assert!(matches!(&e, Error::Closed), "{e:?}");
    e
}

fn invalid_input() -> Error {
    let db = Database::open_in_memory().expect("open");
    let e = err(db.query("SELECT ?, ?", [1]), "one parameter for two");
    assert!(matches!(&e, Error::InvalidInput(m) if m.contains("parameter")), "{e:?}");
    e
}

/// A write through a read-only open: `ReadOnly`.
fn read_only_write() -> Error {
    let vfs = SimVfs::new(15);
    populated(&vfs).close().expect("close");
    let db = Database::open_on(Arc::new(vfs.clone()), &db_path(), options().read_only(true)).expect("open read-only");
    let e = err(db.execute("INSERT INTO t(a, b) VALUES (6, 'six')", ()), "a write through a read-only open");
    assert!(matches!(&e, Error::ReadOnly(m) if m.contains("t.db")), "{e:?}");
    e
}

/// A scenario: the variant it must produce, its name, and the run.
type Scenario = (&'static str, &'static str, fn() -> Error);

/// Every scenario.
fn scenarios() -> Vec<Scenario> {
    vec![
        ("Io", "EIO on a read of the control file", io_error_on_read),
        ("DiskFull", "no room for the next WAL segment", disk_full_at_segment_creation),
        ("Poisoned", "a failed WAL fdatasync", poisoned_after_a_failed_wal_fsync),
        ("Corrupt", "a flipped bit in pages at rest", corrupt_page_bit_flip),
        ("Corrupt", "misdirected pages", corrupt_misdirected_page),
        ("CorruptFile", "a foreign data file", corrupt_file_foreign_data_file),
        ("CorruptFile", "a damaged control file", corrupt_file_damaged_control_file),
        ("CorruptFile", "a segment of another database", corrupt_file_segment_of_another_database),
        ("CorruptLog", "a flipped bit in a durable record mid-log", corrupt_log_bit_flip_mid_log),
        ("CorruptLog", "a damaged header of a needed segment", corrupt_log_damaged_segment_header),
        ("Locked", "a second open", locked_by_another_handle),
        ("BufferPoolFull", "a transaction past the pool's cap", buffer_pool_full),
        ("TooBig", "an index key past a page", too_big_index_key),
        ("Parse", "SQL that does not parse", parse_error),
        ("NotSupported", "a trigger", not_supported),
        ("Sql", "a missing table", sql_error),
        ("Constraint", "NOT NULL", || constraint(ConstraintKind::NotNull)),
        ("Constraint", "UNIQUE", || constraint(ConstraintKind::Unique)),
        ("Constraint", "PRIMARY KEY", || constraint(ConstraintKind::PrimaryKey)),
        ("TypeMismatch", "text into an INTEGER column", type_mismatch),
        ("NoRows", "query_row with no row", no_rows),
        ("Closed", "a clone after close", closed_handle),
        ("InvalidInput", "a missing parameter", invalid_input),
        ("ReadOnly", "a write through a read-only open", read_only_write),
    ]
}

#[test]
fn every_error_variant_is_reached_by_a_scenario() {
    let all = scenarios();
    let missing: Vec<&str> =
        Error::VARIANTS.iter().copied().filter(|v| !all.iter().any(|(variant, _, _)| variant == v)).collect();
    assert!(missing.is_empty(), "variants of waldb::Error reached by no scenario (add one here): {missing:?}");
    for (variant, _, _) in &all {
        assert!(Error::VARIANTS.contains(variant), "scenario for unknown variant {variant}");
    }
    let mut reached = Vec::new();
    for (variant, name, run) in all {
        let e = run();
        assert_eq!(e.variant_name(), variant, "scenario \"{name}\" returned {e:?}");
        assert!(!e.to_string().is_empty());
        reached.push(format!("{variant} ({name})"));
    }
    println!("G12: {} scenarios reach all {} variants: {}", reached.len(), Error::VARIANTS.len(), reached.join("; "));
}

/// `Poisoned` and `DiskFull` keep the OS error that caused them as their
/// `source()`: the failed fdatasync's EIO (shared by every later call, as
/// the handle's poison latch hands it on) and the write's ENOSPC.
#[test]
fn poisoned_and_disk_full_keep_the_os_error_as_their_source() {
    use std::error::Error as _;
    let poisoned = poisoned_after_a_failed_wal_fsync();
    let source = poisoned.source().expect("Poisoned has a source");
    let io = source.downcast_ref::<Arc<std::io::Error>>().expect("the source is the shared OS error");
    assert_eq!(io.raw_os_error(), Some(5), "the fdatasync's EIO: {io}");
    assert_eq!(poisoned.io_error().and_then(std::io::Error::raw_os_error), Some(5));
    assert!(poisoned.to_string().contains("fsync"), "the message still says why: {poisoned}");

    let full = disk_full_at_segment_creation();
    let source = full.source().expect("DiskFull has a source");
    let io = source.downcast_ref::<std::io::Error>().expect("the source is the OS error");
    assert_eq!(io.raw_os_error(), Some(28), "ENOSPC: {io}");
    assert_eq!(full.io_error().map(std::io::Error::kind), Some(std::io::ErrorKind::StorageFull));
}

#[test]
fn every_constraint_kind_is_reached() {
    // Every kind the crate lists (its list is an exhaustive match inside
    // the crate, so it is whole); a kind without a statement fails here.
    assert_eq!(ConstraintKind::ALL.len(), 4, "a new kind: add it to `scenarios()` too");
    for &kind in ConstraintKind::ALL {
        assert!(matches!(constraint(kind), Error::Constraint { kind: k, .. } if k == kind));
    }
}

#[test]
fn variant_names_match_the_variants() {
    // The generated names are the variants' own (spot checks on each shape:
    // struct, tuple and unit variants).
    assert_eq!(Error::NoRows.variant_name(), "NoRows");
    assert_eq!(Error::Sql("x".into()).variant_name(), "Sql");
    assert_eq!(Error::Locked { path: "p".into() }.variant_name(), "Locked");
    assert_eq!(Error::VARIANTS.len(), 18);
    let mut sorted = Error::VARIANTS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), Error::VARIANTS.len(), "each variant named once");
}
