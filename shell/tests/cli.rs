//! The `waldb` binary as a user runs it.

use std::process::{Command, Output};

use waldb::io::OsVfs;
use waldb::storage::DataFile;

fn waldb(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waldb")).args(args).output().expect("run waldb")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn id_line(s: &str) -> String {
    s.lines().find(|l| l.starts_with("database id:")).expect("id line").to_string()
}

#[test]
fn creates_then_reopens_a_database_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("new.db");
    let first = waldb(&[path.as_os_str()]);
    assert!(first.status.success(), "{first:?}");
    let out = stdout(&first);
    assert!(out.contains("(created)") && out.contains("page size:      4096 bytes"), "{out}");
    let second = waldb(&[path.as_os_str()]);
    assert!(second.status.success());
    assert!(stdout(&second).contains("(opened)"));
    assert_eq!(id_line(&out), id_line(&stdout(&second)), "same database");
}

#[test]
fn a_database_open_in_another_process_is_locked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("held.db");
    let held = DataFile::open_or_create(&OsVfs::new(), &path, 4096).expect("open");
    let o = waldb(&[path.as_os_str()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is locked"), "{o:?}");
    drop(held);
    assert!(waldb(&[path.as_os_str()]).status.success(), "lock released with its holder");
}

#[test]
fn a_foreign_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.txt");
    let text = "my precious notes\n".repeat(100);
    std::fs::write(&path, &text).expect("write");
    let o = waldb(&[path.as_os_str()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a waldb database"), "{o:?}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
}

#[test]
fn version_flag_prints_the_version() {
    let o = waldb(&["--version".as_ref()]);
    assert!(o.status.success());
    assert!(stdout(&o).contains(env!("CARGO_PKG_VERSION")));
}
