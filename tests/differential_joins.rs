//! Joins against SQLite (rusqlite, bundled): equi-joins that waldb runs as
//! hash joins must return exactly SQLite's rows.
//!
//! - **Comparison affinity.** Tables with columns of every affinity
//!   (INTEGER, REAL, NUMERIC, TEXT, none) hold values of every storage
//!   class that equality might confuse (`1`, `1.0`, `'1'`, `'1.0'`, `' 1'`,
//!   `x'31'`, `-0.0`, `0`, 2^53 and its neighbours, NULL); every pair of
//!   columns is joined with `JOIN … ON`, `LEFT JOIN … ON` and a comma join
//!   with `WHERE`, and the rows must be SQLite's (as multisets).
//! - **Many tables.** Eight tables of ten rows joined on equalities
//!   written in shuffled order with single-table filters (the shape of
//!   SQLite's `select5.test`), generated from a seed; EXPLAIN must show
//!   hash joins, and the rows must be SQLite's.
//! - **The memory bound.** A right side past the hash table's bound makes
//!   the join fall back to a nested loop, with the same rows.

mod common;

use common::rng::Rng;
use common::scale::pick;
use common::sqlite::{Rows, sqlite_rows, waldb_rows};
use waldb::{Database, Value};

/// Both engines with the same statements run.
fn both(setup: &str) -> (Database, rusqlite::Connection) {
    let w = Database::open_in_memory().expect("open waldb");
    w.execute_batch(setup).expect("waldb setup");
    let s = rusqlite::Connection::open_in_memory().expect("open sqlite");
    s.execute_batch(setup).expect("sqlite setup");
    (w, s)
}

/// A total order on values, to compare result multisets.
fn sort_key(v: &Value) -> (u8, String) {
    match v {
        Value::Null => (0, String::new()),
        Value::Integer(i) => (1, format!("{i:+021}")),
        // -0.0 and 0.0 are one value (SQLite stores -0.0 as 0.0).
        Value::Real(r) => (2, format!("{:?}", (r + 0.0).to_bits())),
        Value::Text(t) => (3, t.clone()),
        Value::Blob(b) => (4, format!("{b:?}")),
    }
}

fn sorted(mut rows: Rows) -> Rows {
    rows.sort_by_key(|r| r.iter().map(sort_key).collect::<Vec<_>>());
    rows
}

/// The query's rows agree on both engines; returns how many there were.
fn agree(w: &Database, s: &rusqlite::Connection, sql: &str) -> usize {
    let ours = waldb_rows(w, sql).map(sorted);
    let theirs = sqlite_rows(s, sql).map(sorted);
    assert_eq!(ours, theirs, "{sql}");
    ours.map_or(0, |r| r.len())
}

fn explain(w: &Database, sql: &str) -> String {
    let rows = waldb_rows(w, &format!("EXPLAIN {sql}")).expect("explain");
    rows.iter()
        .flat_map(|r| r.iter())
        .map(|v| match v {
            Value::Text(t) => t.clone(),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const AFFINITY_TABLES: &str = "
    CREATE TABLE a(i INTEGER, r REAL, n NUMERIC, t TEXT, x);
    CREATE TABLE b(i INTEGER, r REAL, n NUMERIC, t TEXT, x);
    CREATE TABLE probe(i INTEGER, r REAL, n NUMERIC, t TEXT, x);
";

/// Values that equality may or may not call equal, depending on the
/// columns' affinities.
const TRICKY: &[&str] = &[
    "1",
    "1.0",
    "'1'",
    "'1.0'",
    "' 1'",
    "x'31'",
    "-0.0",
    "0",
    "'0'",
    "9007199254740992",
    "9007199254740993",
    "9007199254740992.0",
    "'abc'",
    "NULL",
    "2.5",
    "'2.5'",
];

#[test]
fn hash_joins_follow_comparison_affinity() {
    let (w, s) = both(AFFINITY_TABLES);
    for (k, v) in TRICKY.iter().enumerate() {
        // Each row holds one tricky value in every column; b's rows are
        // rotated so that unequal values meet too.
        let other = TRICKY[(k + 3) % TRICKY.len()];
        for (table, value) in [("a", v), ("b", v), ("b", &other)] {
            // waldb's typed columns refuse what their affinity cannot
            // convert (a BLOB, 'abc' in INTEGER), where SQLite stores it:
            // such a column gets NULL on both.
            let fits = |col: &str| w.execute(&format!("INSERT INTO probe({col}) VALUES ({value})"), ()).is_ok();
            let row: Vec<&str> =
                ["i", "r", "n", "t", "x"].iter().map(|c| if fits(c) { *value } else { "NULL" }).collect();
            let sql = format!("INSERT INTO {table} VALUES ({})", row.join(", "));
            w.execute(&sql, ()).expect("waldb insert");
            s.execute(&sql, []).expect("sqlite insert");
        }
    }
    let cols = ["i", "r", "n", "t", "x"];
    let mut rows = 0;
    for l in cols {
        for r in cols {
            let joins = [
                format!("SELECT a.{l}, b.{r} FROM a JOIN b ON a.{l} = b.{r}"),
                format!("SELECT a.{l}, b.{r} FROM a JOIN b ON b.{r} = a.{l}"),
                format!("SELECT a.{l}, b.{r} FROM a LEFT JOIN b ON a.{l} = b.{r}"),
                format!("SELECT a.{l}, b.{r} FROM a, b WHERE b.{r} = a.{l} AND a.{l} IS NOT NULL"),
                format!("SELECT count(*) FROM a JOIN b ON a.{l} = b.{r} AND a.i = b.i"),
            ];
            for sql in &joins {
                assert!(explain(&w, sql).contains("(hash on"), "not a hash join: {sql}\n{}", explain(&w, sql));
                rows += agree(&w, &s, sql);
            }
        }
    }
    assert!(rows > 500, "the joins matched too little to test anything: {rows} rows");
}

#[test]
fn joins_served_by_an_index_stay_nested_loops() {
    let (w, _) = both("CREATE TABLE a(k INTEGER); CREATE TABLE b(k INTEGER); CREATE INDEX b_k ON b(k);");
    let plan = explain(&w, "SELECT * FROM a JOIN b ON a.k = b.k");
    assert!(plan.contains("JOIN (nested loop)"), "{plan}");
    let plan = explain(&w, "SELECT * FROM a JOIN b ON a.k < b.k");
    assert!(plan.contains("JOIN (nested loop)"), "no equality, no hash: {plan}");
}

/// Eight tables of ten rows, joined on a chain of equalities in shuffled
/// order with filters on single tables.
#[test]
fn many_table_equi_joins_agree_with_sqlite() {
    const TABLES: usize = 8;
    let mut setup = String::new();
    for t in 0..TABLES {
        setup.push_str(&format!("CREATE TABLE t{t}(a INTEGER, b INTEGER, c TEXT);"));
        for r in 0..10 {
            setup.push_str(&format!("INSERT INTO t{t} VALUES ({r}, {}, 'r{}');", (r * 7 + t) % 10, r % 3));
        }
    }
    let (w, s) = both(&setup);
    let mut rng = Rng(0x5e1ec75);
    let queries = pick(20, 200, 2000);
    let mut rows = 0;
    for _ in 0..queries {
        let n = 2 + rng.below(TABLES as u64 - 1) as usize;
        let mut terms: Vec<String> = (1..n)
            .map(|t| {
                let prev = rng.below(t as u64);
                let (x, y) = (["a", "b"][rng.below(2) as usize], ["a", "b"][rng.below(2) as usize]);
                format!("t{t}.{x} = t{prev}.{y}")
            })
            .collect();
        for _ in 0..rng.below(3) {
            let t = rng.below(n as u64);
            terms.push(match rng.below(3) {
                0 => format!("t{t}.a < {}", rng.below(10)),
                1 => format!("t{t}.c <> 'r{}'", rng.below(3)),
                _ => format!("t{t}.b IN ({}, {})", rng.below(10), rng.below(10)),
            });
        }
        for i in (1..terms.len()).rev() {
            terms.swap(i, rng.index(i + 1));
        }
        let from = (0..n).map(|t| format!("t{t}")).collect::<Vec<_>>().join(", ");
        let sql =
            format!("SELECT t0.a, t{}.c, count(*) FROM {from} WHERE {} GROUP BY 1, 2", n - 1, terms.join(" AND "));
        let plan = explain(&w, &sql);
        assert_eq!(plan.matches("(hash on").count(), n - 1, "every join is a hash join: {sql}\n{plan}");
        rows += agree(&w, &s, &sql);
    }
    assert!(rows > queries as usize, "the joins matched too little: {rows} rows for {queries} queries");
}

/// A right side larger than the hash table's bound is joined by a nested
/// loop instead, with the same rows.
#[test]
fn a_right_side_past_the_memory_bound_falls_back_to_a_nested_loop() {
    let (w, s) = both("CREATE TABLE small(k INTEGER); CREATE TABLE big(k INTEGER, pad BLOB);");
    for k in 0..3 {
        w.execute("INSERT INTO small VALUES (?1)", (k,)).expect("insert");
        s.execute("INSERT INTO small VALUES (?1)", [k]).expect("insert");
    }
    // 70 rows of 1 MiB: past the 64 MiB bound.
    w.execute("BEGIN", ()).expect("begin");
    for k in 0..70 {
        w.execute("INSERT INTO big VALUES (?1, zeroblob(1048576))", (k % 5,)).expect("insert");
        s.execute("INSERT INTO big VALUES (?1, zeroblob(1048576))", [k % 5]).expect("insert");
    }
    w.execute("COMMIT", ()).expect("commit");
    let sql = "SELECT small.k, big.k, length(big.pad) FROM small JOIN big ON small.k = big.k";
    assert!(explain(&w, sql).contains("(hash on"));
    assert_eq!(agree(&w, &s, sql), 3 * 14);
    assert_eq!(agree(&w, &s, "SELECT count(*) FROM small LEFT JOIN big ON small.k = big.k + 2"), 1);
}

#[test]
fn natural_joins_agree_with_sqlite() {
    let (w, s) = both(
        "CREATE TABLE a(id INTEGER, k TEXT, x REAL); CREATE TABLE b(k TEXT, id INTEGER, y TEXT); \
         CREATE TABLE c(z INTEGER, k TEXT); CREATE TABLE d(q INTEGER); \
         INSERT INTO a VALUES (1, 'p', 1.5), (2, 'q', 2.5), (3, NULL, 0.0), (4, 'p', -1.0); \
         INSERT INTO b VALUES ('p', 1, 'one'), ('q', 2, 'two'), ('q', 3, 'three'), (NULL, 3, 'null'); \
         INSERT INTO c VALUES (10, 'p'), (20, 'q'), (30, 'r'); INSERT INTO d VALUES (7), (8);",
    );
    let queries = [
        // Two shared columns (id, k); SELECT * shows them once.
        "SELECT * FROM a NATURAL JOIN b",
        "SELECT id, k, x, y FROM a NATURAL JOIN b",
        "SELECT * FROM a NATURAL LEFT JOIN b",
        "SELECT a.id, b.id, y FROM a NATURAL LEFT JOIN b",
        // One shared column.
        "SELECT * FROM b NATURAL JOIN c",
        // None shared: a cross join.
        "SELECT * FROM a NATURAL JOIN d",
        // A chain: c matches on k, which the left side has from a.
        "SELECT * FROM a NATURAL JOIN b NATURAL JOIN c",
        "SELECT count(*) FROM (SELECT 1 AS id, 'p' AS k) AS s NATURAL JOIN a",
        "SELECT * FROM a AS l NATURAL JOIN a AS r WHERE l.x > 0",
        // Subqueries without an alias.
        "SELECT * FROM (SELECT 1 AS x, 2 AS y) JOIN (SELECT 1 AS x, 3 AS z) USING (x)",
        "SELECT x, y FROM (SELECT id AS x, k AS y FROM a) NATURAL JOIN (SELECT id AS x FROM b)",
        "SELECT * FROM a JOIN (SELECT k, y FROM b) USING (k)",
    ];
    let mut rows = 0;
    for q in queries {
        rows += agree(&w, &s, q);
    }
    // A view keeps its NATURAL join through the schema's rendering of it.
    let view = "CREATE VIEW v AS SELECT * FROM a NATURAL LEFT JOIN b";
    w.execute(view, ()).expect("waldb view");
    s.execute(view, []).expect("sqlite view");
    rows += agree(&w, &s, "SELECT * FROM v");
    assert!(rows > 10, "the natural joins found only {rows} rows in all");
    // The column count of SELECT * (each shared column once).
    for (q, n) in [("SELECT * FROM a NATURAL JOIN b", 4), ("SELECT * FROM a NATURAL JOIN d", 4)] {
        let cols = w.prepare(q).expect("prepare").column_names().len();
        assert_eq!(cols, n, "{q}");
    }
}
