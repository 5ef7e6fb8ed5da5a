//! The `waldb` binary as a user runs it: SQL arguments, scripts on stdin,
//! exit statuses, output modes and the dot-commands.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Run waldb with `args`, feeding `stdin`.
fn waldb_in(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_waldb"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run waldb");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TABLE: &str = "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL);
INSERT INTO t VALUES (1, 'Ada', 3.5), (2, '日本', NULL), (3, 'x,y', 1e20);
";

/// The small table, printed in `mode`.
fn in_mode(mode: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &["--mode", mode], &format!("{TABLE}SELECT * FROM t;\n"));
    assert!(o.status.success(), "{o:?}");
    out(&o)
}

#[test]
fn script_from_stdin_reports_errors_with_line_numbers_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "CREATE TABLE t(x);\nINSERT INTO t VALUES (1);\nSELECT * FROM nope;\nSELECT x\n  FROM t;\n";
    let o = waldb_in(dir.path(), &[], script);
    assert_eq!(out(&o), "1\n");
    assert!(err(&o).contains("Error: near line 3: no such table: nope"), "{}", err(&o));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bail_stops_at_the_first_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "SELECT 1;\nSELECT nope;\nSELECT 2;\n";
    let o = waldb_in(dir.path(), &["--bail"], script);
    assert_eq!(out(&o), "1\n");
    assert_eq!(o.status.code(), Some(1));
    let o = waldb_in(dir.path(), &["-bail"], script);
    assert_eq!(out(&o), "1\n", "sqlite3's spelling");
    let o = waldb_in(dir.path(), &[], script);
    assert_eq!(out(&o), "1\n2\n", "without --bail the script goes on");
}

#[test]
fn a_clean_script_exits_zero_and_an_in_memory_database_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &[], "SELECT 1 + 1;\n");
    assert!(o.status.success());
    assert_eq!(out(&o), "2\n");
    assert!(err(&o).contains("nothing will be saved"), "{}", err(&o));
}

#[test]
fn semicolons_in_strings_and_comments_do_not_end_a_statement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "-- a comment; with a semicolon\nSELECT 'a;b', /* ; */ \"x;\" FROM (SELECT 1 AS \"x;\")\n;\nSELECT 2";
    let o = waldb_in(dir.path(), &[], script);
    assert_eq!(out(&o), "a;b|1\n2\n", "{}", err(&o));
    assert!(o.status.success());
}

#[test]
fn sql_arguments_run_against_the_file_and_persist() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o =
        waldb_in(dir.path(), &["f.db", "CREATE TABLE t(x)", "INSERT INTO t VALUES (7); INSERT INTO t VALUES (8)"], "");
    assert!(o.status.success(), "{o:?}");
    assert!(!err(&o).contains("nothing will be saved"));
    let o = waldb_in(dir.path(), &["f.db", "SELECT sum(x) FROM t"], "");
    assert_eq!(out(&o), "15\n");
    let o = waldb_in(dir.path(), &["f.db", "SELECT nope FROM t"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("no such column: nope"), "{}", err(&o));
}

#[test]
fn a_database_open_in_another_process_is_locked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("held.db");
    let held = waldb::Database::open(&path).expect("open");
    let o = waldb_in(dir.path(), &["held.db", "SELECT 1"], "");
    assert!(!o.status.success());
    assert!(err(&o).contains("is locked"), "{o:?}");
    held.close().expect("close");
    assert!(waldb_in(dir.path(), &["held.db", "SELECT 1"], "").status.success(), "lock released with its holder");
}

#[test]
fn a_foreign_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.txt");
    let text = "my precious notes\n".repeat(100);
    std::fs::write(&path, &text).expect("write");
    let o = waldb_in(dir.path(), &["notes.txt", "SELECT 1"], "");
    assert!(!o.status.success());
    assert!(err(&o).contains("not a waldb database"), "{o:?}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
}

#[test]
fn version_flag_prints_the_version() {
    let o = waldb_in(Path::new("."), &["--version"], "");
    assert!(o.status.success());
    assert!(out(&o).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn list_mode_is_the_script_default() {
    assert_eq!(in_mode("list"), "1|Ada|3.5\n2|日本|\n3|x,y|1.0e+20\n");
    let dir = tempfile::tempdir().expect("temp dir");
    let script = format!("{TABLE}SELECT * FROM t WHERE id = 1;\n.nullvalue NULL\nSELECT * FROM t WHERE id = 2;\n");
    let o = waldb_in(dir.path(), &["--header"], &script);
    assert_eq!(out(&o), "id|name|score\n1|Ada|3.5\nid|name|score\n2|日本|NULL\n");
    let o = waldb_in(dir.path(), &["-header"], &script);
    assert_eq!(out(&o), "id|name|score\n1|Ada|3.5\nid|name|score\n2|日本|NULL\n");
}

#[test]
fn box_mode() {
    assert_eq!(
        in_mode("box"),
        "┌────┬──────┬─────────┐
│ id │ name │  score  │
├────┼──────┼─────────┤
│  1 │ Ada  │     3.5 │
│  2 │ 日本 │         │
│  3 │ x,y  │ 1.0e+20 │
└────┴──────┴─────────┘
"
    );
}

#[test]
fn table_mode() {
    assert_eq!(
        in_mode("table"),
        "+----+------+---------+
| id | name |  score  |
+----+------+---------+
|  1 | Ada  |     3.5 |
|  2 | 日本 |         |
|  3 | x,y  | 1.0e+20 |
+----+------+---------+
"
    );
}

#[test]
fn markdown_mode() {
    assert_eq!(
        in_mode("markdown"),
        "| id | name |  score  |
|----|------|---------|
|  1 | Ada  |     3.5 |
|  2 | 日本 |         |
|  3 | x,y  | 1.0e+20 |
"
    );
}

#[test]
fn csv_mode() {
    assert_eq!(in_mode("csv"), "1,Ada,3.5\n2,日本,\n3,\"x,y\",1.0e+20\n");
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &["--mode", "csv", "--header"], "SELECT 'say \"hi\"' AS q, NULL AS n;");
    assert_eq!(out(&o), "q,n\n\"say \"\"hi\"\"\",\n");
}

#[test]
fn json_mode() {
    assert_eq!(
        in_mode("json"),
        "[{\"id\":1,\"name\":\"Ada\",\"score\":3.5},
{\"id\":2,\"name\":\"日本\",\"score\":null},
{\"id\":3,\"name\":\"x,y\",\"score\":1.0e+20}]
"
    );
}

#[test]
fn line_mode() {
    assert_eq!(
        in_mode("line"),
        "   id = 1
 name = Ada
score = 3.5

   id = 2
 name = 日本
score = 

   id = 3
 name = x,y
score = 1.0e+20
"
    );
}

#[test]
fn mode_can_change_mid_script_and_unknown_commands_fail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o =
        waldb_in(dir.path(), &[], "SELECT 1 AS a;\n.mode csv\n.headers on\nSELECT 2 AS b;\n.frobnicate\n.mode nope\n");
    assert_eq!(out(&o), "1\nb\n2\n");
    assert!(err(&o).contains("Error: near line 5: unknown command: .frobnicate"), "{}", err(&o));
    assert!(err(&o).contains("Error: near line 6: unknown mode"), "{}", err(&o));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn timer_reports_time_fsyncs_and_wal_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &["f.db"], "CREATE TABLE t(x);\n.timer on\nINSERT INTO t VALUES (1);\n");
    let s = out(&o);
    let line = s.lines().find(|l| l.starts_with("Run Time: real ")).expect("timer line");
    assert!(line.contains("fsyncs ") && line.contains("WAL bytes "), "{line}");
    assert!(!line.contains("fsyncs 0,"), "an autocommit insert syncs the log: {line}");
}

#[test]
fn tables_schema_and_indexes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "CREATE TABLE b(x);\nCREATE TABLE a(y TEXT UNIQUE);\nCREATE INDEX bx ON b(x);\n\
                  .tables\n.schema b\n.indexes b\n";
    let o = waldb_in(dir.path(), &[], script);
    assert_eq!(out(&o), "a  b\nCREATE TABLE b (x);\nCREATE INDEX bx ON b (x);\nbx\n", "{}", err(&o));
}

const DATA: &str = "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, r REAL, b BLOB, n);
INSERT INTO t VALUES (1, 'it''s; two
lines', 0.1, X'00FF10', NULL);
INSERT INTO t VALUES (2, '日本', 1e300, X'', 3);
INSERT INTO t VALUES (3, '', -2.5e-7, NULL, 123456789012);
INSERT INTO t VALUES (4, 'x', 0.30000000000000004, NULL, 1.5);
CREATE INDEX ts ON t(s);
CREATE TABLE u(\"odd name\" TEXT);
INSERT INTO u VALUES ('q');
CREATE VIEW v AS SELECT id FROM t;
";

#[test]
fn dump_round_trips() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &["a.db"], DATA);
    assert!(o.status.success(), "{}", err(&o));
    let d1 = waldb_in(dir.path(), &["a.db", ".dump"], "");
    let d1 = out(&d1);
    assert!(d1.starts_with("BEGIN TRANSACTION;\nCREATE TABLE t "), "{d1}");
    assert!(d1.ends_with("CREATE VIEW v AS SELECT id FROM t;\nCOMMIT;\n"), "{d1}");
    assert!(d1.contains("INSERT INTO t VALUES(4,'x',0.30000000000000004,NULL,1.5);"), "{d1}");
    let o = waldb_in(dir.path(), &["b.db"], &d1);
    assert!(o.status.success(), "{}", err(&o));
    let d2 = out(&waldb_in(dir.path(), &["b.db", ".dump"], ""));
    assert_eq!(d1, d2);
    // The values themselves survived, not just their text.
    let q = "SELECT typeof(r), r = 0.30000000000000004, hex(b) FROM t WHERE id = 4 OR id = 1 ORDER BY id";
    assert_eq!(out(&waldb_in(dir.path(), &["b.db", q], "")), "real|0|00FF10\nreal|1|\n");
    // One table only.
    let du = out(&waldb_in(dir.path(), &["b.db", ".dump u"], ""));
    assert_eq!(du, "BEGIN TRANSACTION;\nCREATE TABLE u (\"odd name\" TEXT);\nINSERT INTO u VALUES('q');\nCOMMIT;\n");
}

#[test]
fn import_of_a_good_csv_creates_the_table_from_its_header() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("good.csv"), "name,city\nAda,London\n\"Hopper, Grace\",\"New\nYork\"\n")
        .expect("write");
    let o = waldb_in(dir.path(), &["f.db", ".import good.csv people", ".mode csv", "SELECT * FROM people"], "");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "Ada,London\n\"Hopper, Grace\",\"New\nYork\"\n");
    // Into an existing table every row is data.
    std::fs::write(dir.path().join("more.csv"), "Edsger,Rotterdam\n").expect("write");
    let o = waldb_in(dir.path(), &["f.db", ".import more.csv people", "SELECT count(*) FROM people"], "");
    assert_eq!(out(&o), "3\n", "{}", err(&o));
}

#[test]
fn import_of_a_bad_csv_reports_the_line_and_imports_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bad.csv"), "a,b\n1,2\n3,4\n5\n6,7\n").expect("write");
    let o = waldb_in(dir.path(), &["f.db", "CREATE TABLE t(a, b)", "INSERT INTO t VALUES ('old', 'row')"], "");
    assert!(o.status.success());
    let o = waldb_in(dir.path(), &["f.db", ".import bad.csv t"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("bad.csv:4: expected 2 columns but found 1"), "{}", err(&o));
    let o = waldb_in(dir.path(), &["f.db", "SELECT * FROM t"], "");
    assert_eq!(out(&o), "old|row\n", "table unchanged");
    // A table the import would have created is not left behind either.
    let o = waldb_in(dir.path(), &["f.db", ".import bad.csv fresh", ".tables"], "");
    assert_eq!(out(&o), "t\n");
}

#[test]
fn read_runs_a_file_and_output_redirects() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("s.sql"), "CREATE TABLE t(x);\nINSERT INTO t VALUES (5);\nSELECT bad;\n")
        .expect("write");
    let o = waldb_in(dir.path(), &[], ".read s.sql\n.output o.txt\nSELECT x * 2 FROM t;\n.output\nSELECT x FROM t;\n");
    assert_eq!(out(&o), "5\n");
    assert!(err(&o).contains("Error: near line 3: no such column: bad"), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(dir.path().join("o.txt")).expect("read"), "10\n");
}

#[test]
fn backup_writes_a_copy_that_opens_with_the_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &["a.db"], &format!("{DATA}.backup copy.db\n"));
    assert!(o.status.success(), "{}", err(&o));
    let orig = out(&waldb_in(dir.path(), &["a.db", ".dump"], ""));
    let copy = waldb_in(dir.path(), &["copy.db", ".dump"], "");
    assert!(copy.status.success());
    assert_eq!(out(&copy), orig);
    let o = waldb_in(dir.path(), &["a.db", ".backup copy.db"], "");
    assert!(err(&o).contains("already exists"), "never overwrites: {}", err(&o));
}

#[test]
fn each_statement_of_a_script_runs_and_prints_before_the_next_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_waldb"))
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run waldb");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdin.write_all(b"SELECT 'first';\n").expect("write");
    stdin.flush().expect("flush");
    let mut line = String::new();
    // Blocks until the first statement's output arrives, while stdin is still open.
    stdout.read_line(&mut line).expect("read");
    assert_eq!(line, "first\n");
    stdin.write_all(b"SELECT 'second';\n").expect("write");
    drop(stdin);
    line.clear();
    stdout.read_line(&mut line).expect("read");
    assert_eq!(line, "second\n");
    assert!(child.wait().expect("wait").success());
}

#[test]
fn open_switches_databases_and_help_lists_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &[], "CREATE TABLE mem(x);\n.open f.db\nCREATE TABLE disk(y);\n.tables\n.help\n");
    assert!(o.status.success(), "{}", err(&o));
    let s = out(&o);
    assert!(s.starts_with("disk\n"), "{s}");
    for cmd in [".backup FILE", ".dump ?TABLE?", ".import FILE TABLE", ".timer on|off", ".quit"] {
        assert!(s.contains(cmd), "{cmd} in {s}");
    }
    assert_eq!(out(&waldb_in(dir.path(), &["f.db", ".tables"], "")), "disk\n");
}

#[test]
fn quit_stops_a_script() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &[], "SELECT 1;\n.quit\nSELECT 2;\n");
    assert_eq!(out(&o), "1\n");
    assert!(o.status.success());
}

#[test]
fn readonly_reads_refuses_writes_and_changes_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = waldb_in(dir.path(), &["f.db"], TABLE);
    assert!(o.status.success(), "{}", err(&o));
    let files = || {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .map(|e| {
                let p = e.expect("entry").path();
                (p.display().to_string(), std::fs::read(&p).expect("read"))
            })
            .collect();
        v.sort();
        v
    };
    let before = files();
    let o = waldb_in(dir.path(), &["--readonly", "f.db", "SELECT count(*) FROM t"], "");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "3\n");
    let o = waldb_in(dir.path(), &["-readonly", "f.db", "INSERT INTO t(name) VALUES ('no')"], "");
    assert!(!o.status.success());
    assert!(err(&o).contains("read-only"), "{}", err(&o));
    assert_eq!(files(), before, "a read-only session changed a file");
    let o = waldb_in(dir.path(), &["--readonly", "missing.db", "SELECT 1"], "");
    assert!(!o.status.success());
    assert!(!dir.path().join("missing.db").exists(), "a read-only open created the database");
}
