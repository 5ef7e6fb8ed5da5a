//! The interactive prompt through a pseudo-terminal: multi-line input,
//! Ctrl-C cancelling the current input, the transaction prompt, Ctrl-D,
//! history kept across sessions in `$HOME/.waldb_history`, and Tab
//! completion of table and column names.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Expect, Session};

fn spawn(home: &Path, db: &Path) -> expectrl::session::OsSession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_waldb"));
    cmd.arg(db).env("HOME", home).env("TERM", "xterm").env_remove("NO_COLOR");
    let mut s = Session::spawn(cmd).expect("spawn waldb in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s
}

/// Wait for a fresh, empty prompt (a redraw of a line being edited also
/// shows the prompt, followed by the line's text; an empty one is followed
/// by the cursor moving to just after it).
fn prompt(s: &mut expectrl::session::OsSession, p: &str) {
    let fresh = format!("{p}\r\x1b[{}C", p.len());
    if let Err(e) = s.expect(fresh.as_str()) {
        panic!("no fresh prompt {p:?}: {e}");
    }
}

#[test]
fn multi_line_input_ctrl_c_and_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("i.db");
    let mut s = spawn(dir.path(), &db);
    prompt(&mut s, "waldb> ");
    s.send("CREATE TABLE t(a);\r").expect("send");
    prompt(&mut s, "waldb> ");
    // Enter inside a statement continues it.
    s.send("INSERT INTO t\r").expect("send");
    s.send("VALUES (21);\r").expect("send");
    prompt(&mut s, "waldb> ");
    // Ctrl-C throws the unfinished statement away.
    s.send("SELECT a\r").expect("send");
    s.send("\x03").expect("ctrl-c");
    prompt(&mut s, "waldb> ");
    s.send("SELECT a * 2 AS doubled FROM t;\r").expect("send");
    s.expect("42 │").expect("result in box mode");
    prompt(&mut s, "waldb> ");
    // An open transaction shows in the prompt.
    s.send("BEGIN;\r").expect("send");
    prompt(&mut s, "waldb*> ");
    s.send("ROLLBACK;\r").expect("send");
    prompt(&mut s, "waldb> ");
    s.send("SELECT 40 + 2 AS answer;\r").expect("send");
    s.expect("42 │").expect("result");
    prompt(&mut s, "waldb> ");
    s.send("\x04").expect("ctrl-d");
    s.expect(Eof).expect("exits on ctrl-d");

    let history = std::fs::read_to_string(dir.path().join(".waldb_history")).expect("history file");
    assert!(history.contains("SELECT 40 + 2 AS answer;"), "{history}");
    assert!(!history.contains("SELECT a\n") && !history.contains("SELECT a\\n"), "{history}");

    // A second session recalls the first's last statement with Up.
    let mut s = spawn(dir.path(), &db);
    prompt(&mut s, "waldb> ");
    s.send("\x1b[A").expect("up");
    s.send("\r").expect("enter");
    s.expect("42 │").expect("history recalled and run");
    prompt(&mut s, "waldb> ");
    // Tab completes column and table names.
    s.send("CREATE TABLE people(name);\r").expect("send");
    prompt(&mut s, "waldb> ");
    s.send("SELECT na\t").expect("tab");
    s.expect("SELECT name").expect("column completed");
    s.send(" FROM peo\t").expect("tab");
    s.expect("SELECT name FROM people").expect("table completed");
    s.send(";\r").expect("enter");
    prompt(&mut s, "waldb> ");
    s.send(".quit\r").expect("quit");
    s.expect(Eof).expect("exits on .quit");
}

#[test]
fn without_home_there_is_no_history_and_no_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_waldb"));
    cmd.current_dir(dir.path()).env_remove("HOME").env("TERM", "xterm");
    let mut s = Session::spawn(cmd).expect("spawn waldb in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s.expect("nothing will be saved").expect("in-memory notice");
    prompt(&mut s, "waldb> ");
    s.send("SELECT 'no home' AS h;\r").expect("send");
    s.expect("no home │").expect("result");
    prompt(&mut s, "waldb> ");
    s.send("\x04").expect("ctrl-d");
    s.expect(Eof).expect("exits on ctrl-d");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0, "no history file anywhere here");
}
