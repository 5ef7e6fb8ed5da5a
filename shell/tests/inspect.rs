//! The inspection dot-commands driven through the binary, and the offline,
//! read-only `waldb wal dump`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn waldb(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_waldb"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn waldb");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

const SETUP: &str = "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n\
                     CREATE INDEX tv ON t(v);\n\
                     INSERT INTO t(v) VALUES ('a'), ('b'), ('c');\n\
                     INSERT INTO t(v) VALUES ('d');\n";

#[test]
fn a_script_runs_every_inspection_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let script =
        format!("{SETUP}.wal\n.wal dump --limit 5\n.wal dump --txn 2\n.durability\n.page 1\n.checkpoint\n.recovery\n");
    let o = waldb(&[db.to_str().unwrap()], &script);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for want in [
        "durable LSN:",
        "redo LSN:",
        "a.db-wal-",
        "BEGIN",
        "FULL_PAGE_IMAGE",
        "limit reached",
        "commits/flush:",
        "fsync latency:",
        "page LSN:",
        "checksum:    ok",
        "pages written:",
        "created by this open",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // Reopened: recovery has something to say, and the dump shows commit boundaries.
    let o = waldb(&[db.to_str().unwrap()], ".recovery\n.wal dump\n.page 999\n");
    let out = text(&o);
    assert!(out.contains("recovery of") && out.contains("transactions:"), "{out}");
    assert!(out.contains("COMMIT of txn") && out.contains("end of log at LSN"), "{out}");
    assert!(out.contains("does not exist"), "{out}");
}

#[test]
fn offline_wal_dump_reads_without_modifying_anything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let o = waldb(&[db.to_str().unwrap()], SETUP);
    assert!(o.status.success(), "{}", text(&o));
    let before = files(dir.path());
    let o = waldb(&["wal", "dump", db.to_str().unwrap()], "");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("read-only, recovery not run"), "{out}");
    assert!(out.contains("COMMIT of txn") && out.contains("CHECKPOINT") && out.contains("no torn tail"), "{out}");
    let o = waldb(&["wal", "dump", db.to_str().unwrap(), "--txn", "2", "--limit", "2"], "");
    assert!(o.status.success() && text(&o).contains("limit reached"), "{}", text(&o));
    assert_eq!(before, files(dir.path()), "wal dump changed a file");
}

#[test]
fn offline_wal_dump_works_while_the_database_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let db = waldb::Database::open(&path).unwrap();
    db.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);").unwrap();
    let o = waldb(&["wal", "dump", path.to_str().unwrap()], "");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("COMMIT"), "{out}");
    drop(db);
}

#[test]
fn offline_wal_dump_of_a_missing_or_foreign_file_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = waldb(&["wal", "dump", dir.path().join("nope.db").to_str().unwrap()], "");
    assert!(!o.status.success());
    assert!(text(&o).contains("no such file") && !text(&o).contains("panicked"), "{}", text(&o));
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"hello").unwrap();
    let o = waldb(&["wal", "dump", junk.to_str().unwrap()], "");
    assert!(!o.status.success());
    assert!(text(&o).contains("no control file") && !text(&o).contains("panicked"), "{}", text(&o));
    assert_eq!(std::fs::read(&junk).unwrap(), b"hello");
}

#[test]
fn page_and_checkpoint_refuse_inside_an_open_transaction_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tx.db");
    let script =
        "CREATE TABLE t(x);\nBEGIN;\nINSERT INTO t VALUES (1);\n.page 1\n.checkpoint\n.wal\nCOMMIT;\n.page 1\n";
    let o = waldb(&[db.to_str().unwrap()], script);
    let out = text(&o);
    assert_eq!(out.matches("COMMIT or ROLLBACK first").count(), 2, "{out}");
    assert!(out.contains("durable LSN:") && out.contains("type:        BTreeLeaf"), "{out}");
}
