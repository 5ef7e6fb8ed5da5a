//! `waldb check FILE`: verdicts on good, corrupted, truncated and locked files.

use std::path::Path;
use std::process::{Command, Output};

fn check(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waldb")).arg("check").arg(path).output().expect("run waldb check")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A closed database with a table, an index and a few hundred rows; returns
/// the root page of the table.
fn make(path: &Path) -> u32 {
    let db = waldb::Database::open(path).expect("make the database");
    db.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER UNIQUE, v TEXT); CREATE INDEX tv ON t(v);")
        .expect("make the database");
    let tx = db.transaction().expect("make the database");
    for i in 0..300 {
        tx.execute("INSERT INTO t(k, v) VALUES (?, ?)", (i, format!("value {i}"))).expect("make the database");
    }
    tx.commit().expect("make the database");
    let root: i64 = db
        .query_row("SELECT rootpage FROM waldb_schema WHERE name = 't'", (), |r| r.get(0))
        .expect("make the database");
    db.close().expect("make the database");
    root as u32
}

#[test]
fn a_good_file_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.db");
    make(&path);
    let before = std::fs::read(&path).unwrap();
    let o = check(&path);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for want in ["verdict: healthy", "every checksum valid", "consistent with the table", "none leaked"] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
    assert_eq!(before, std::fs::read(&path).unwrap(), "check modified the file");
}

#[test]
fn a_flipped_byte_in_a_data_page_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flip.db");
    let page = make(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[page as usize * 4096 + 1000] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let o = check(&path);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains(&format!("corrupt page {page}")) && out.contains("checksum mismatch"), "{out}");
    assert!(out.contains("PROBLEM") && !out.contains("panicked"), "{out}");
}

#[test]
fn a_truncated_file_is_a_clean_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.db");
    make(&path);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(4096 + 100).unwrap();
    drop(f);
    let o = check(&path);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("truncated") && !out.contains("panicked"), "{out}");
}

#[test]
fn a_missing_or_locked_database_cannot_be_checked() {
    let dir = tempfile::tempdir().unwrap();
    let o = check(&dir.path().join("none.db"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let path = dir.path().join("open.db");
    let db = waldb::Database::open(&path).unwrap();
    let o = check(&path);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("open in another process"), "{}", text(&o));
    drop(db);
}

#[test]
fn a_torn_wal_tail_is_reported_as_such_not_as_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torn.db");
    make(&path);
    let dump = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_waldb"))
            .args(["wal", "dump"])
            .arg(&path)
            .args(extra)
            .output()
            .expect("run waldb wal dump")
    };
    let o = dump(&[]);
    let out = text(&o);
    assert!(o.status.success() && out.contains("no torn tail"), "{out}");
    // The end of the log, and where it lies in the first segment (which starts at LSN 4096, file offset 4096).
    let end: u64 = out
        .rsplit("end of log at LSN ")
        .next()
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.trim().parse().ok())
        .expect("end LSN in the summary");
    let seg = dir.path().join("torn.db-wal-0000000000001000");
    let mut bytes = std::fs::read(&seg).unwrap();
    assert!((end as usize) + 200 < bytes.len(), "the log ends in its first segment");
    // Half-written garbage after the last durable record: an unfinished flush.
    for (i, b) in bytes[end as usize + 16..end as usize + 160].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) | 1;
    }
    std::fs::write(&seg, &bytes).unwrap();
    let o = dump(&[]);
    let out = text(&o);
    assert!(o.status.success() && out.contains("TORN TAIL at LSN"), "{out}");
    let redo: u64 = out
        .split("redo LSN ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.trim().parse().ok())
        .expect("redo LSN in the header");
    let o = dump(&["--from", &redo.to_string()]);
    assert!(text(&o).contains(&format!("reading from LSN {redo}")), "{}", text(&o));
    let o = check(&path);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("note     WAL: torn tail") && out.contains("verdict: healthy"), "{out}");
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "neither tool modified the segment");
}
