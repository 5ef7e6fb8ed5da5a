//! SQLite's sqllogictest corpus (`tests/slt/`, a public-domain subset of
//! SQLite's sqllogictest files; see `tests/slt/SOURCE.md` and
//! `tests/slt/COPYRIGHT.md`), run through the `sqllogictest` crate the way
//! SQLite's own harness runs it: engine name `sqlite`, SQLite's value
//! rendering by type letter, hash threshold 8, every record counted (no stop
//! at the first failure). The corpus is part of the repository: if it is
//! missing the test fails, it never skips.
//!
//! The pass count of each file may only go up: `tests/slt_baseline.txt`
//! holds the minimum per file, and the test fails if any file falls below
//! it. Run with `WALDB_SLT_BASELINE=write` to record the current counts;
//! `WALDB_SLT_VERBOSE=N` prints the first N failures of each file,
//! `WALDB_SLT_ONLY=text` runs only the files whose path contains `text`, and
//! `WALDB_SLT_DIR=dir` runs another corpus. The per-file and total pass
//! counts are printed to stderr on every run, captured or not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sqllogictest::{DBOutput, DefaultColumnType, QueryExpect, Record, RecordOutput, Runner};
use waldb::{Database, Value};

const ENGINE: &str = "sqlite";

fn corpus_dir() -> PathBuf {
    match std::env::var_os("WALDB_SLT_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt"),
    }
}

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt_baseline.txt")
}

/// Make SQLite's files digestible for sqllogictest-rs: valuewise results,
/// conditions without trailing comments, conditional `halt` resolved here.
fn preprocess(script: &str) -> String {
    let mut out = String::from("control resultmode valuewise\n\n");
    let lines: Vec<&str> = script.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let (mut conds, mut j) = (vec![], i);
        while j < lines.len() {
            let t: Vec<&str> = lines[j].split_whitespace().collect();
            if t.len() >= 2 && (t[0] == "skipif" || t[0] == "onlyif") {
                conds.push((t[0], t[1]));
                j += 1;
            } else {
                break;
            }
        }
        if j < lines.len() && lines[j].trim() == "halt" {
            let skip = conds.iter().any(|&(c, e)| (c == "skipif") == e.eq_ignore_ascii_case(ENGINE));
            if !skip {
                break;
            }
            i = j + 1;
            continue;
        }
        for (c, e) in conds {
            out.push_str(c);
            out.push(' ');
            out.push_str(e);
            out.push('\n');
        }
        if j < lines.len() {
            out.push_str(lines[j]);
            out.push('\n');
        }
        i = j + 1;
    }
    out
}

/// Like `sqlite3_column_int` on text: the leading numeric prefix.
fn leading_int(s: &str) -> i64 {
    let t = s.trim_start();
    let end = t
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    t[..end].parse::<f64>().map(|f| f as i64).unwrap_or(0)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => waldb::sql::types::real_to_text(*r),
        Value::Text(s) => s.clone(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// `printf("%.3f")` as SQLite's own printf does it: at most 16 significant
/// digits, the rest zeros (`-9223372036854775808` prints as
/// `-9223372036854776000.000`).
fn sqlite_fixed3(f: f64) -> String {
    if !f.is_finite() || f.abs() < 1e15 {
        return format!("{f:.3}");
    }
    // Round to 16 significant digits, then write the integer part out.
    let sci = format!("{f:.15e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: usize = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut int = digits.clone();
    if exp + 1 > int.len() {
        int.push_str(&"0".repeat(exp + 1 - int.len()));
    }
    let int = &int[..exp + 1];
    format!("{}{int}.000", if neg { "-" } else { "" })
}

/// SQLite's harness rendering: the record's type letter decides.
fn render(v: &Value, ty: char) -> String {
    match (v, ty) {
        (Value::Null, _) => "NULL".into(),
        (Value::Integer(i), 'I') => i.to_string(),
        (Value::Real(f), 'I') => (*f as i64).to_string(),
        (Value::Text(s), 'I') => leading_int(s).to_string(),
        (Value::Integer(i), 'R') => sqlite_fixed3(*i as f64),
        (Value::Real(f), 'R') => sqlite_fixed3(*f),
        (Value::Text(s), 'R') => sqlite_fixed3(s.trim().parse::<f64>().unwrap_or(0.0)),
        (v, _) => {
            let s = text_of(v);
            if s.is_empty() {
                "(empty)".into()
            } else {
                s.chars().map(|c| if (' '..='~').contains(&c) { c } else { '@' }).collect()
            }
        }
    }
}

#[derive(Debug)]
struct E(String);

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for E {}

struct Adapter {
    db: Database,
    types: Arc<Mutex<Vec<char>>>,
}

impl sqllogictest::DB for Adapter {
    type Error = E;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, E> {
        let types = self.types.lock().map(|t| t.clone()).unwrap_or_default();
        let stmts = waldb::sql::parse::parse(sql).map_err(|e| E(e.to_string()))?;
        let is_query = stmts.len() == 1 && matches!(stmts[0], waldb::sql::ast::Statement::Query(_));
        if !is_query {
            self.db.execute_batch(sql).map_err(|e| E(e.to_string()))?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let mut stmt = self.db.prepare(sql).map_err(|e| E(e.to_string()))?;
        let ncols = stmt.column_names().len();
        // A failure while running (after a successful prepare) is an empty
        // result in SQLite's harness.
        let rows = stmt.query(()).map(|r| r.values()).unwrap_or_default();
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; ncols],
            rows: rows
                .iter()
                .map(|r| r.iter().enumerate().map(|(c, v)| render(v, types.get(c).copied().unwrap_or('T'))).collect())
                .collect(),
        })
    }

    fn engine_name(&self) -> &str {
        ENGINE
    }
}

/// (passed, failed) for one file.
fn run_file(path: &Path, verbose: usize) -> (usize, usize) {
    let Ok(text) = std::fs::read_to_string(path) else { return (0, 0) };
    let script = preprocess(&text);
    let records = match sqllogictest::parse_with_name::<DefaultColumnType>(&script, path.display().to_string()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: cannot parse: {e}", path.display());
            return (0, 0);
        }
    };
    let types = Arc::new(Mutex::new(vec![]));
    let t = types.clone();
    let mut runner = Runner::new(move || {
        let t = t.clone();
        async move { Database::open_in_memory().map(|db| Adapter { db, types: t }).map_err(|e| E(e.to_string())) }
    });
    runner.with_hash_threshold(8);
    let (mut pass, mut fail) = (0, 0);
    for rec in records {
        let counted = matches!(rec, Record::Statement { .. } | Record::Query { .. });
        if let Record::Query { expected: QueryExpect::Results { types: ty, .. }, .. } = &rec
            && let Ok(mut t) = types.lock()
        {
            *t = ty.iter().map(sqllogictest::ColumnType::to_char).collect();
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.run(rec))) {
            Ok(Ok(RecordOutput::Nothing)) => {}
            Ok(Ok(_)) if counted => pass += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                fail += 1;
                if fail <= verbose {
                    eprintln!("{}", e.display(false));
                }
            }
            Err(_) => {
                fail += 1;
                eprintln!("{}: PANIC", path.display());
            }
        }
    }
    (pass, fail)
}

fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "test") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn read_baseline() -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(baseline_path()).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

#[test]
fn sqllogictest_corpus_ratchet() {
    let dir = corpus_dir();
    assert!(dir.is_dir(), "no sqllogictest corpus at {} (it ships in tests/slt/)", dir.display());
    let verbose: usize = std::env::var("WALDB_SLT_VERBOSE").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let only = std::env::var("WALDB_SLT_ONLY").ok();
    let files: Vec<PathBuf> = test_files(&dir)
        .into_iter()
        .filter(|f| only.as_deref().is_none_or(|o| f.to_string_lossy().contains(o)))
        .collect();
    assert!(!files.is_empty(), "no .test files under {}", dir.display());
    // Two workers (the machine's cores), each on a large stack: deeply
    // nested expressions recurse in the parser and the evaluator.
    let queue = Arc::new(Mutex::new(files.clone()));
    let results = Arc::new(Mutex::new(BTreeMap::new()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (queue, results, dir) = (queue.clone(), results.clone(), dir.clone());
            std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn(move || {
                    loop {
                        let next = queue.lock().ok().and_then(|mut q| q.pop());
                        let Some(f) = next else { break };
                        let started = std::time::Instant::now();
                        let (p, n) = run_file(&f, verbose);
                        let name = f.strip_prefix(&dir).unwrap_or(&f).display().to_string();
                        eprintln!("{name}: {p} passed, {n} failed ({:.1}s)", started.elapsed().as_secs_f64());
                        if let Ok(mut r) = results.lock() {
                            r.insert(name, (p, n));
                        }
                    }
                })
                .expect("spawn a test worker")
        })
        .collect();
    for w in workers {
        w.join().expect("a worker panicked");
    }
    let results = results.lock().expect("results").clone();
    let (mut pass, mut fail) = (0, 0);
    let mut table = format!("{:<48} {:>7} {:>7} {:>7}\n", "file", "passed", "failed", "rate");
    for (name, (p, n)) in &results {
        pass += p;
        fail += n;
        let rate = if p + n == 0 { 0.0 } else { 100.0 * *p as f64 / (*p + *n) as f64 };
        table.push_str(&format!("{name:<48} {p:>7} {n:>7} {rate:>6.1}%\n"));
    }
    let rate = if pass + fail == 0 { 0.0 } else { 100.0 * pass as f64 / (pass + fail) as f64 };
    table.push_str(&format!("sqllogictest total: {pass} passed, {fail} failed ({rate:.1}%)\n"));
    // Straight to stderr, past the test harness's capture: the counts show
    // in every `cargo test` run, not only with `--nocapture`.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), table.as_bytes());
    let empty: Vec<&String> = results.iter().filter(|(_, (p, n))| p + n == 0).map(|(name, _)| name).collect();
    assert!(empty.is_empty(), "sqllogictest files that ran no record (unreadable or unparsable): {empty:?}");
    if std::env::var("WALDB_SLT_BASELINE").as_deref() == Ok("write") {
        let mut text = String::from("# Minimum sqllogictest passes per file (tests/slt.rs); raise, never lower.\n");
        for (name, (p, _)) in &results {
            text.push_str(&format!("{name} {p}\n"));
        }
        std::fs::write(baseline_path(), text).expect("write the baseline");
        return;
    }
    let baseline = read_baseline();
    assert!(!baseline.is_empty(), "no baseline in {}", baseline_path().display());
    let mut dropped = Vec::new();
    for (name, min) in &baseline {
        match results.get(name) {
            Some((p, _)) if p < min => dropped.push(format!("{name}: {p} < {min}")),
            None if only.is_none() => dropped.push(format!("{name}: not run")),
            _ => {}
        }
    }
    assert!(dropped.is_empty(), "sqllogictest passes fell below tests/slt_baseline.txt:\n{}", dropped.join("\n"));
}
