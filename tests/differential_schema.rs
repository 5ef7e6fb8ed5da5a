//! Differential test of schema evolution and introspection against SQLite
//! (rusqlite, bundled, in memory): random scripts of CREATE TABLE (with
//! AUTOINCREMENT and CHECK constraints), CREATE INDEX, ALTER TABLE (RENAME
//! TO, RENAME COLUMN, ADD COLUMN with defaults and constraints, DROP
//! COLUMN), INSERT/UPDATE/DELETE, PRAGMA user_version and transactions
//! (BEGIN … COMMIT | ROLLBACK) run on both.
//!
//! Every statement must succeed on both or fail on both, report the same
//! number of changes, and after every statement the visible schema and data
//! must agree:
//!
//! - `SELECT type, name, tbl_name FROM sqlite_master` for the objects with a
//!   statement (constraint indexes are named `sqlite_autoindex_…` by SQLite
//!   and `waldb_autoindex_…` by waldb, and the stored SQL text is waldb's
//!   own rendering, so neither is compared);
//! - every table's rows in rowid order, and `sqlite_sequence`;
//! - `PRAGMA table_info` of every table (declared types compared
//!   upper-cased: SQLite keeps them as written), `PRAGMA index_list` (names
//!   mapped) and `PRAGMA index_info` of every explicit index;
//! - `PRAGMA user_version`.
//!
//! Values always fit their column's declared type (waldb's columns are
//! typed like SQLite `STRICT` tables; SQLite's side is not STRICT so that
//! ALTER TABLE behaves as it does for ordinary tables).
//!
//! `PROPTEST_CASES` sets the number of cases (default [`DEFAULT_CASES`],
//! fixed seed unless `PROPTEST_CASES` is set).

mod common;

use common::sqlite::{Rows, sqlite_rows, waldb_rows};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use waldb::{Database, Value};

/// Cases per run when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 200;

/// Column types.
const TYPES: &[&str] = &["INTEGER", "TEXT", "REAL"];

#[derive(Clone, Debug)]
struct Col {
    name: usize,
    ty: usize,
    not_null: bool,
    unique: bool,
    default: Option<i64>,
    check: Option<(&'static str, i64)>,
}

#[derive(Clone, Debug)]
enum Op {
    Create { t: usize, id: Option<bool>, cols: Vec<Col>, table_check: Option<(usize, usize)> },
    Index { t: usize, cols: Vec<usize>, unique: bool, n: usize },
    Insert { t: usize, id: Option<i64>, vals: Vec<(usize, i64)>, ignore: bool },
    Update { t: usize, col: usize, v: i64, below: i64 },
    Delete { t: usize, max_only: bool, below: i64 },
    RenameTable { t: usize, to: usize },
    RenameColumn { t: usize, c: usize, to: usize },
    AddColumn { t: usize, col: Col, paren_default: bool, pk: bool },
    DropColumn { t: usize, c: usize },
    DropTable { t: usize },
    UserVersion(i64),
    Begin,
    Commit,
    Rollback,
}

fn col() -> impl Strategy<Value = Col> {
    (
        0..6usize,
        0..TYPES.len(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.15),
        prop::option::weighted(0.4, -3..10i64),
        prop::option::weighted(0.3, (prop::sample::select(vec![">", "<", ">=", "<>"]), -2..6i64)),
    )
        .prop_map(|(name, ty, not_null, unique, default, check)| Col {
            name,
            ty,
            not_null,
            unique,
            default,
            check,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, prop::option::of(any::<bool>()), vec(col(), 1..4), prop::option::weighted(0.3, (0..6usize, 0..6usize)))
            .prop_map(|(t, id, cols, table_check)| Op::Create { t, id, cols, table_check }),
        1 => (0..3usize, vec(0..6usize, 1..3), prop::bool::weighted(0.3), 0..4usize)
            .prop_map(|(t, cols, unique, n)| Op::Index { t, cols, unique, n }),
        6 => (0..3usize, prop::option::weighted(0.2, 1..8i64), vec((0..6usize, -3..10i64), 0..4), prop::bool::weighted(0.2))
            .prop_map(|(t, id, vals, ignore)| Op::Insert { t, id, vals, ignore }),
        1 => (0..3usize, 0..6usize, -3..10i64, -2..8i64).prop_map(|(t, col, v, below)| Op::Update { t, col, v, below }),
        2 => (0..3usize, any::<bool>(), -2..8i64).prop_map(|(t, max_only, below)| Op::Delete { t, max_only, below }),
        1 => (0..3usize, 0..4usize).prop_map(|(t, to)| Op::RenameTable { t, to }),
        1 => (0..3usize, 0..6usize, 0..7usize).prop_map(|(t, c, to)| Op::RenameColumn { t, c, to }),
        2 => (0..3usize, col(), prop::bool::weighted(0.1), prop::bool::weighted(0.05))
            .prop_map(|(t, col, paren_default, pk)| Op::AddColumn { t, col, paren_default, pk }),
        2 => (0..3usize, 0..6usize).prop_map(|(t, c)| Op::DropColumn { t, c }),
        1 => (0..3usize).prop_map(|t| Op::DropTable { t }),
        1 => (-5..100i64).prop_map(Op::UserVersion),
        1 => Just(Op::Begin),
        1 => Just(Op::Commit),
        1 => Just(Op::Rollback),
    ]
}

fn lit(ty: usize, v: i64) -> String {
    match TYPES[ty] {
        "TEXT" => format!("'{v}'"),
        "REAL" => format!("{v}.5"),
        _ => v.to_string(),
    }
}

fn col_sql(c: &Col, paren_default: bool) -> String {
    let mut s = format!("c{} {}", c.name, TYPES[c.ty]);
    if c.not_null {
        s.push_str(" NOT NULL");
    }
    if c.unique {
        s.push_str(" UNIQUE");
    }
    if let Some(d) = c.default {
        if paren_default {
            // Not a constant: ADD COLUMN refuses it.
            s.push_str(&format!(" DEFAULT ({} + 0)", lit(c.ty, d)));
        } else {
            s.push_str(&format!(" DEFAULT {}", lit(c.ty, d)));
        }
    }
    if let Some((op, v)) = c.check {
        // Compare in the column's own domain: text compares as text.
        s.push_str(&format!(" CHECK (c{} {op} {})", c.name, lit(c.ty, v)));
    }
    s
}

/// The SQL of an op. Columns of a table are looked up by name only, so
/// an op may name a column or table that does not exist: both sides must
/// then fail alike. Values are typed by the column's generated type when
/// the op knows it, else integers (which any numeric column takes;
/// a TEXT column refuses them on waldb's side, so those go as text).
fn render(op: &Op, types: &std::collections::HashMap<(String, String), usize>) -> String {
    let ty_of = |t: &str, c: usize| types.get(&(t.to_string(), format!("c{c}"))).copied().unwrap_or(0);
    match op {
        Op::Create { t, id, cols, table_check } => {
            let mut parts = Vec::new();
            match id {
                Some(true) => parts.push("id INTEGER PRIMARY KEY AUTOINCREMENT".to_string()),
                Some(false) => parts.push("id INTEGER PRIMARY KEY".to_string()),
                None => {}
            }
            let mut seen = Vec::new();
            for c in cols {
                if !seen.contains(&c.name) {
                    seen.push(c.name);
                    parts.push(col_sql(c, false));
                }
            }
            if let Some((a, b)) = table_check
                && seen.contains(a)
                && seen.contains(b)
            {
                parts.push(format!("CHECK (c{a} IS NOT c{b} OR c{a} IS NULL)"));
            }
            format!("CREATE TABLE t{t} ({})", parts.join(", "))
        }
        Op::Index { t, cols, unique, n } => {
            let cs: Vec<String> = cols.iter().map(|c| format!("c{c}")).collect();
            format!("CREATE {}INDEX i{t}_{n} ON t{t} ({})", if *unique { "UNIQUE " } else { "" }, cs.join(", "))
        }
        Op::Insert { t, id, vals, ignore } => {
            let tn = format!("t{t}");
            let mut names = Vec::new();
            let mut vs = Vec::new();
            if let Some(i) = id {
                names.push("id".to_string());
                vs.push(i.to_string());
            }
            for (c, v) in vals {
                let n = format!("c{c}");
                if !names.contains(&n) {
                    names.push(n);
                    vs.push(lit(ty_of(&tn, *c), *v));
                }
            }
            let or = if *ignore { "OR IGNORE " } else { "" };
            if names.is_empty() {
                format!("INSERT {or}INTO {tn} DEFAULT VALUES")
            } else {
                format!("INSERT {or}INTO {tn} ({}) VALUES ({})", names.join(", "), vs.join(", "))
            }
        }
        Op::Update { t, col, v, below } => {
            let tn = format!("t{t}");
            format!("UPDATE {tn} SET c{col} = {} WHERE rowid < {below}", lit(ty_of(&tn, *col), *v))
        }
        Op::Delete { t, max_only: true, .. } => format!("DELETE FROM t{t} WHERE rowid = (SELECT max(rowid) FROM t{t})"),
        Op::Delete { t, below, .. } => format!("DELETE FROM t{t} WHERE rowid < {below}"),
        Op::RenameTable { t, to } => format!("ALTER TABLE t{t} RENAME TO t{to}"),
        Op::RenameColumn { t, c, to } => format!("ALTER TABLE t{t} RENAME COLUMN c{c} TO c{to}"),
        Op::AddColumn { t, col, paren_default, pk } => {
            let mut s = format!("ALTER TABLE t{t} ADD COLUMN {}", col_sql(col, *paren_default));
            if *pk {
                s.push_str(" PRIMARY KEY");
            }
            s
        }
        Op::DropColumn { t, c } => format!("ALTER TABLE t{t} DROP COLUMN c{c}"),
        Op::DropTable { t } => format!("DROP TABLE t{t}"),
        Op::UserVersion(v) => format!("PRAGMA user_version = {v}"),
        Op::Begin => "BEGIN".into(),
        Op::Commit => "COMMIT".into(),
        Op::Rollback => "ROLLBACK".into(),
    }
}

/// Names and types of autoindexes differ; make both sides comparable.
fn normalize(mut rows: Rows) -> Rows {
    for r in &mut rows {
        for v in r.iter_mut() {
            if let Value::Text(t) = v
                && let Some(rest) = t.strip_prefix("waldb_autoindex_")
            {
                *t = format!("sqlite_autoindex_{rest}");
            }
        }
    }
    rows
}

/// Everything visible about the schema and the data, as one list of
/// (what, rows) pairs.
fn snapshot(q: &dyn Fn(&str) -> Result<Rows, String>) -> Result<Vec<(String, Rows)>, String> {
    let mut out = Vec::new();
    let objects = q("SELECT type, name, tbl_name FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")?;
    out.push(("sqlite_master".into(), objects.clone()));
    for o in &objects {
        let (Value::Text(kind), Value::Text(name)) = (&o[0], &o[1]) else { continue };
        if kind == "table" {
            out.push((format!("rows of {name}"), q(&format!("SELECT * FROM {name} ORDER BY rowid"))?));
            let mut info = q(&format!("PRAGMA table_info({name})"))?;
            for r in &mut info {
                if let Value::Text(t) = &mut r[2] {
                    *t = t.to_uppercase();
                }
            }
            out.push((format!("table_info({name})"), info));
            out.push((format!("index_list({name})"), normalize(q(&format!("PRAGMA index_list({name})"))?)));
        } else if kind == "index" {
            out.push((format!("index_info({name})"), q(&format!("PRAGMA index_info({name})"))?));
        }
    }
    out.push(("user_version".into(), q("PRAGMA user_version")?));
    Ok(out)
}

fn run_case(ops: &[Op]) -> Result<usize, TestCaseError> {
    let c = rusqlite::Connection::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let d = Database::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut types = std::collections::HashMap::new();
    let mut log = Vec::new();
    let mut ran = 0;
    for op in ops {
        let sql = render(op, &types);
        log.push(sql.clone());
        let s = c.execute(&sql, []).map_err(|e| e.to_string());
        let w = d.execute(&sql, ()).map_err(|e| e.to_string());
        // SQLite's change count is that of the last INSERT, UPDATE or
        // DELETE, so only those are compared.
        let dml = ["INSERT", "UPDATE", "DELETE"].iter().any(|k| sql.starts_with(k));
        if s.is_ok() != w.is_ok() || (dml && s != w) {
            return Err(TestCaseError::fail(format!(
                "statement disagrees: {sql}\n sqlite: {s:?}\n waldb: {w:?}\nscript:\n{}",
                log.join(";\n")
            )));
        }
        ran += usize::from(s.is_ok());
        // Track declared types by (table, column) from SQLite's own view.
        types.clear();
        if let Ok(tables) = sqlite_rows(&c, "SELECT name FROM sqlite_master WHERE type = 'table'") {
            for t in tables {
                let Value::Text(t) = &t[0] else { continue };
                for r in sqlite_rows(&c, &format!("PRAGMA table_info({t})")).unwrap_or_default() {
                    if let (Value::Text(n), Value::Text(ty)) = (&r[1], &r[2]) {
                        let i = TYPES.iter().position(|x| x.eq_ignore_ascii_case(ty)).unwrap_or(0);
                        types.insert((t.clone(), n.clone()), i);
                    }
                }
            }
        }
        let sq = |q: &str| sqlite_rows(&c, q);
        let wq = |q: &str| waldb_rows(&d, q);
        let (ss, ws) = (snapshot(&sq), snapshot(&wq));
        if ss != ws {
            return Err(TestCaseError::fail(format!(
                "state disagrees after: {sql}\n sqlite: {ss:?}\n waldb: {ws:?}\nscript:\n{}",
                log.join(";\n")
            )));
        }
    }
    Ok(ran)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES)
}

#[test]
fn schema_changes_agree_with_sqlite() {
    let fixed = std::env::var("PROPTEST_CASES").is_err();
    let mut config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    if fixed {
        config.rng_seed = RngSeed::Fixed(0x5c4e_3a11);
    }
    let mut runner = TestRunner::new(config);
    let total = std::cell::Cell::new((0usize, 0usize));
    let result = runner.run(&vec(op(), 5..40), |ops| {
        let ok = run_case(&ops)?;
        let (n, s) = total.get();
        total.set((n + 1, s + ok));
        Ok(())
    });
    let (n, ok) = total.get();
    eprintln!("differential_schema: {n} generated cases run, {ok} statements succeeded on both sides");
    if let Err(TestError::Fail(why, ops)) = result {
        panic!("{why}\nminimal ops: {ops:?}");
    } else if let Err(e) = result {
        panic!("{e}");
    }
}
