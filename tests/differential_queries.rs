//! Differential test of query constructs against SQLite (rusqlite,
//! bundled, in memory): `WITH` common table expressions (ordinary, chained,
//! with column lists, `AS [NOT] MATERIALIZED`, as the source of
//! `INSERT … SELECT`) and `WITH RECURSIVE` (`UNION` and `UNION ALL`, the
//! CTE's own `ORDER BY` / `LIMIT` / `OFFSET`, an outer `LIMIT` that stops a
//! recursion that would not end).
//!
//! Each generated case builds the same small random tables on both engines,
//! then runs random statements: a query must give the same rows in the
//! same order (every generated query that could differ in order has an
//! `ORDER BY`, or an order SQLite documents: a recursive CTE's queue), or
//! fail on both; an `INSERT … SELECT` must succeed on both or fail on both
//! and leave the same table. Targeted tests pin the edge cases: the
//! recursion limit, SQLite's rules on recursive references.
//!
//! Also `RETURNING`, upserts (`INSERT … ON CONFLICT … DO NOTHING | DO
//! UPDATE`: targeted tests per rule of SQLite's, and a generator of
//! multi-row upserts on small keys, with several clauses, `OR …` and
//! `RETURNING`), and the two conflict resolutions that keep or drop more
//! than the failing statement: `INSERT OR FAIL` and `INSERT OR ROLLBACK`.
//!
//! Case counts follow `WALDB_SIM_SCALE` (see `tests/common/scale.rs`):
//! [`cases`] seeds, each running [`STATEMENTS`] statements.

mod common;

use common::rng::Rng;
use common::scale::pick;
use common::sqlite::{Rows, sqlite_rows, waldb_rows};
use waldb::{Database, Value};

/// Statements per generated case.
const STATEMENTS: usize = 12;

/// Generated cases (seeds) at the current scale.
fn cases() -> u64 {
    pick(150, 1_500, 15_000)
}

struct Pair {
    w: Database,
    s: rusqlite::Connection,
}

impl Pair {
    fn new() -> Pair {
        Pair {
            w: Database::open_in_memory().expect("open waldb"),
            s: rusqlite::Connection::open_in_memory().expect("open sqlite"),
        }
    }

    /// Run a statement that must succeed on both.
    fn exec(&self, sql: &str) {
        self.w.execute(sql, ()).unwrap_or_else(|e| panic!("waldb: {sql}: {e}"));
        self.s.execute(sql, []).unwrap_or_else(|e| panic!("sqlite: {sql}: {e}"));
    }

    /// Both engines' outcomes for a query.
    fn both(&self, sql: &str) -> (Result<Rows, String>, Result<Rows, String>) {
        (waldb_rows(&self.w, sql), sqlite_rows(&self.s, sql))
    }

    /// The query gives the same rows on both, or fails on both; the rows
    /// (if any) are returned.
    fn same(&self, sql: &str) -> Result<Rows, String> {
        let (w, s) = self.both(sql);
        match (&w, &s) {
            (Ok(a), Ok(b)) if same_rows(a, b) => {}
            (Err(_), Err(_)) => {}
            _ => panic!("differs: {sql}\n  waldb:  {w:?}\n  sqlite: {s:?}"),
        }
        w
    }

    /// A statement (not a query) succeeds on both or fails on both; then
    /// `check` gives the same rows on both.
    fn same_effect(&self, sql: &str, check: &str) {
        let w = self.w.execute(sql, ()).map_err(|e| e.to_string());
        let s = self.s.execute(sql, []).map_err(|e| e.to_string());
        match (&w, &s) {
            (Ok(a), Ok(b)) => assert_eq!(*a, *b, "changes differ: {sql}"),
            (Err(_), Err(_)) => {}
            _ => panic!("differs: {sql}\n  waldb:  {w:?}\n  sqlite: {s:?}"),
        }
        self.same(check).unwrap_or_else(|e| panic!("{check} failed after {sql}: {e}"));
    }
}

fn same_rows(a: &Rows, b: &Rows) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| match (p, q) {
                    (Value::Real(u), Value::Real(v)) => u.to_bits() == v.to_bits(),
                    _ => p == q,
                })
        })
}

fn ints(rows: &Rows) -> Vec<i64> {
    rows.iter()
        .map(|r| match r.first() {
            Some(Value::Integer(i)) => *i,
            other => panic!("not an integer: {other:?}"),
        })
        .collect()
}

/// Tables `t(a INTEGER, b TEXT, c REAL)` and `e(src INTEGER, dst INTEGER)`
/// (a graph on nodes 0..8, cycles included), and an empty `out` like `t`.
fn setup(p: &Pair, rng: &mut Rng) {
    p.exec("CREATE TABLE t(a INTEGER, b TEXT, c REAL)");
    p.exec("CREATE TABLE e(src INTEGER, dst INTEGER)");
    p.exec("CREATE TABLE out(a INTEGER, b TEXT, c REAL)");
    for _ in 0..rng.between(0, 14) {
        let a = if rng.below(8) == 0 { "NULL".to_string() } else { (rng.below(12) as i64 - 3).to_string() };
        let b = ["'x'", "'y'", "'zz'", "NULL", "'x'"][rng.index(5)];
        let c = ["1.5", "-2.25", "0.0", "NULL", "3.0"][rng.index(5)];
        p.exec(&format!("INSERT INTO t VALUES ({a}, {b}, {c})"));
    }
    for _ in 0..rng.between(0, 12) {
        p.exec(&format!("INSERT INTO e VALUES ({}, {})", rng.below(8), rng.below(8)));
    }
}

/// A condition on `t`'s columns.
fn cond(rng: &mut Rng, a: &str, b: &str) -> String {
    match rng.below(5) {
        0 => format!("{a} > {}", rng.below(8) as i64 - 2),
        1 => format!("{a} IS NOT NULL"),
        2 => format!("{b} = 'x'"),
        3 => format!("{a} % 2 = 0"),
        _ => "1".into(),
    }
}

/// An ordinary `WITH` query over `t`.
fn plain_cte(rng: &mut Rng) -> String {
    let mat = ["", "MATERIALIZED ", "NOT MATERIALIZED "][rng.index(3)];
    let first = match rng.below(3) {
        0 => format!("x(p, q) AS {mat}(SELECT a, b FROM t WHERE {})", cond(rng, "a", "b")),
        1 => format!("x AS {mat}(SELECT a AS p, b AS q FROM t WHERE {})", cond(rng, "a", "b")),
        _ => format!("x(p, q) AS {mat}(SELECT a, b FROM t UNION ALL SELECT a + 1, 'y' FROM t WHERE a < 3)"),
    };
    let second = match rng.below(4) {
        0 => ", y(n) AS (SELECT count(*) FROM x)".to_string(),
        1 => format!(", y(p, n) AS (SELECT p, count(*) FROM x WHERE {} GROUP BY p)", cond(rng, "p", "q")),
        2 => ", t AS (SELECT p AS a FROM x)".to_string(),
        _ => String::new(),
    };
    let has_y = second.contains(" y(");
    let shadow = second.contains(", t AS");
    let body = match rng.below(6) {
        0 => "SELECT p, q FROM x ORDER BY p, q".to_string(),
        1 if has_y => "SELECT * FROM y ORDER BY 1, 2".to_string(),
        1 => "SELECT count(*), sum(p) FROM x".to_string(),
        2 => "SELECT x1.p, x2.q FROM x AS x1 JOIN x AS x2 ON x1.p = x2.p ORDER BY 1, 2".to_string(),
        3 if shadow => "SELECT a FROM t ORDER BY a".to_string(),
        3 => format!("SELECT a FROM t WHERE a IN (SELECT p FROM x WHERE {}) ORDER BY a", cond(rng, "p", "q")),
        4 => "SELECT (SELECT max(p) FROM x), (SELECT count(*) FROM x WHERE q = 'x')".to_string(),
        _ => format!(
            "SELECT * FROM (WITH z AS (SELECT p + 1 AS r FROM x) SELECT r FROM z WHERE {}) ORDER BY 1",
            cond(rng, "r", "r")
        ),
    };
    format!("WITH {first}{second} {body}")
}

/// A `WITH RECURSIVE` query: a series, or a walk of the graph `e`.
fn recursive_cte(rng: &mut Rng) -> String {
    let kw = if rng.below(4) == 0 { "WITH" } else { "WITH RECURSIVE" };
    match rng.below(5) {
        0 => {
            let union = ["UNION", "UNION ALL"][rng.index(2)];
            let start = rng.below(5);
            let step = rng.between(1, 3);
            let end = rng.below(40);
            let tail = match rng.below(3) {
                0 => String::new(),
                1 => format!(" LIMIT {}", rng.below(10)),
                _ => format!(" LIMIT {} OFFSET {}", rng.below(10), rng.below(5)),
            };
            format!(
                "{kw} c(n) AS (SELECT {start} {union} SELECT n + {step} FROM c WHERE n < {end}{tail}) \
                 SELECT n, n * n FROM c"
            )
        }
        1 => {
            // Reachability: UNION ends on cycles.
            let from = rng.below(8);
            let extra = if rng.below(2) == 0 { " WHERE src <> dst" } else { "" };
            format!(
                "{kw} r(x) AS (SELECT {from} UNION SELECT dst FROM e JOIN r ON src = x{extra}) \
                 SELECT x FROM r ORDER BY x"
            )
        }
        2 => {
            // Paths with a depth bound, UNION ALL (duplicates kept), the
            // queue ordered or not. The order of one step's rows is the
            // join's, which SQLite may change (an automatic index), so the
            // outer query sorts.
            let from = rng.below(8);
            let depth = rng.below(4);
            let order = ["", " ORDER BY 2", " ORDER BY 2 DESC", " ORDER BY 1, 2"][rng.index(4)];
            format!(
                "{kw} w(node, d) AS (SELECT {from}, 0 UNION ALL SELECT e.dst, w.d + 1 FROM w, e \
                 WHERE e.src = w.node AND w.d < {depth}{order}) SELECT node, d FROM w ORDER BY d, node"
            )
        }
        3 => {
            // A recursion that never ends, stopped by the outer LIMIT.
            let lim = rng.below(20);
            format!("{kw} c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c LIMIT {lim}")
        }
        _ => {
            // An ordinary CTE feeding a recursive one, and a join with it.
            let start = rng.below(4);
            format!(
                "{kw} base(v) AS (SELECT a FROM t WHERE a IS NOT NULL), \
                 s(n) AS (SELECT {start} UNION ALL SELECT n + 1 FROM s WHERE n < 5) \
                 SELECT s.n, count(base.v) FROM s LEFT JOIN base ON base.v = s.n GROUP BY s.n ORDER BY s.n"
            )
        }
    }
}

/// `INSERT INTO out … SELECT` from a CTE, written before or inside the
/// INSERT; or an UPDATE or DELETE of `out` whose expressions read a CTE.
fn insert_cte(rng: &mut Rng) -> String {
    let c = cond(rng, "a", "b");
    match rng.below(6) {
        3 => format!("WITH x AS (SELECT a FROM t WHERE {c}) DELETE FROM out WHERE a IN (SELECT a FROM x)"),
        4 => format!(
            "WITH x(m) AS (SELECT max(c) FROM t WHERE {c}) UPDATE out SET c = (SELECT m FROM x) WHERE a > {}",
            rng.below(8) as i64 - 2
        ),
        5 => format!(
            "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 2 FROM k WHERE n < {}) \
             UPDATE out SET b = b || '+' WHERE a IN (SELECT n FROM k)",
            rng.below(9)
        ),
        0 => format!("WITH x AS (SELECT a, b, c FROM t WHERE {c}) INSERT INTO out SELECT * FROM x"),
        1 => format!("INSERT INTO out WITH x(p, q, r) AS (SELECT a, b, c FROM t WHERE {c}) SELECT p, q, r FROM x"),
        _ => format!(
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {}) \
             INSERT INTO out(a, b) SELECT n, 'gen' FROM c",
            rng.below(6)
        ),
    }
}

#[test]
fn generated_ctes_match_sqlite() {
    for seed in 0..cases() {
        let mut rng = Rng(seed.wrapping_mul(0x5151) + 7);
        let p = Pair::new();
        setup(&p, &mut rng);
        for _ in 0..STATEMENTS {
            match rng.below(5) {
                0 | 1 => {
                    let _ = p.same(&plain_cte(&mut rng));
                }
                2 | 3 => {
                    let _ = p.same(&recursive_cte(&mut rng));
                }
                _ => p.same_effect(&insert_cte(&mut rng), "SELECT a, b, c FROM out ORDER BY rowid"),
            }
        }
    }
}

#[test]
fn recursion_that_never_ends_stops_at_the_limit() {
    let db = Database::open_in_memory().unwrap();
    let err = db
        .query("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c", ())
        .map(|r| r.values())
        .unwrap_err()
        .to_string();
    assert!(err.contains("recursion limit") && err.contains("1000000"), "{err}");
    // Just under the limit is fine.
    let rows = db
        .query("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 999999) SELECT count(*), max(n) FROM c", ())
        .unwrap()
        .values();
    assert_eq!(rows, vec![vec![Value::Integer(999_999), Value::Integer(999_999)]]);
    // A statement that fails on the limit changes nothing.
    db.execute("CREATE TABLE t(n INTEGER)", ()).unwrap();
    assert!(
        db.execute("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) INSERT INTO t SELECT n FROM c", ())
            .is_err()
    );
    assert_eq!(db.query("SELECT count(*) FROM t", ()).unwrap().values(), vec![vec![Value::Integer(0)]]);
}

#[test]
fn outer_limit_stops_an_endless_recursion() {
    let p = Pair::new();
    let rows =
        p.same("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n * 2 FROM c) SELECT n FROM c LIMIT 5").unwrap();
    assert_eq!(ints(&rows), vec![1, 2, 4, 8, 16]);
    // The CTE's own LIMIT too.
    let rows = p
        .same("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 3 OFFSET 2) SELECT n FROM c")
        .unwrap();
    assert_eq!(ints(&rows), vec![3, 4, 5]);
}

/// CTEs (and views) that each read the previous one twice: planned anew
/// at every reference, 2^40 plans — refused at the expansion limit, at
/// once, instead of exhausting memory. Shallower chains still run.
#[test]
fn references_that_double_at_every_level_are_refused() {
    let chain = |levels: usize, tables: &str| {
        let mut with = vec![format!("c0 AS (SELECT 1 AS x FROM {tables})")];
        for i in 1..=levels {
            with.push(format!("c{i} AS (SELECT p.x FROM c{} p, c{} q)", i - 1, i - 1));
        }
        format!("WITH {} SELECT count(*) FROM c{levels}", with.join(", "))
    };
    let p = Pair::new();
    let rows = p.same(&chain(3, "(SELECT 1 UNION ALL SELECT 2)")).unwrap();
    assert_eq!(ints(&rows), vec![256]);
    let db = Database::open_in_memory().unwrap();
    let err = db.query(&chain(40, "(SELECT 1)"), ()).unwrap_err().to_string();
    assert!(err.contains("too many references to views and common table expressions"), "{err}");
    // Views: creating one plans its query, so the chain is refused when
    // a view would expand past the limit (v13 makes 2^14 - 2 > 10,000 references).
    db.execute_batch("CREATE VIEW v0 AS SELECT 1 AS x").unwrap();
    let refused = (1..=40)
        .find_map(|i| {
            db.execute_batch(&format!("CREATE VIEW v{i} AS SELECT p.x FROM v{} p, v{} q", i - 1, i - 1))
                .err()
                .map(|e| (i, e.to_string()))
        })
        .expect("some view of the chain is refused");
    assert_eq!(refused.0, 13, "{refused:?}");
    assert!(refused.1.contains("too many references"), "{refused:?}");
    assert_eq!(db.query_row("SELECT count(*) FROM v12", (), |r| r.get::<i64>(0)).unwrap(), 1);
}

#[test]
fn recursive_reference_rules_match_sqlite() {
    let p = Pair::new();
    p.exec("CREATE TABLE t(a INTEGER)");
    p.exec("INSERT INTO t VALUES (1), (2)");
    let errors = [
        // Read twice in the recursive SELECT.
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT c1.n + 1 FROM c AS c1, c AS c2 WHERE c1.n < 3) SELECT * FROM c",
        // Read in a subquery of the recursive SELECT.
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE a IN (SELECT n FROM c)) SELECT * FROM c",
        // Column list of the wrong width.
        "WITH c(x, y) AS (SELECT 1) SELECT * FROM c",
        // Two CTEs of one name.
        "WITH c AS (SELECT 1), c AS (SELECT 2) SELECT * FROM c",
        // Recursive SELECT of another width.
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n, n FROM c WHERE n < 3) SELECT * FROM c",
        // A cycle between CTEs.
        "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM a) SELECT * FROM a",
    ];
    for sql in errors {
        let (w, s) = p.both(sql);
        assert!(w.is_err() && s.is_err(), "{sql}\n  waldb:  {w:?}\n  sqlite: {s:?}");
    }
    let ok = [
        // A CTE hides a table of its name.
        "WITH t(a) AS (SELECT 10) SELECT a FROM t",
        // A CTE sees the CTEs written after it in its WITH clause.
        "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a",
        // RECURSIVE does not make an ordinary CTE recursive.
        "WITH RECURSIVE c(n) AS (SELECT a FROM t UNION SELECT a + 5 FROM t) SELECT n FROM c ORDER BY n",
        // A compound initial SELECT.
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT 5 UNION ALL SELECT n + 1 FROM c WHERE n < 7) SELECT n FROM c",
        // UNION drops rows already queued, also ones already taken.
        "WITH RECURSIVE c(n) AS (VALUES (1) UNION SELECT (n + 1) % 4 FROM c) SELECT n FROM c",
        // Nested WITH inside a CTE, and a CTE used in a scalar subquery.
        "WITH a AS (WITH b AS (SELECT 2 AS v) SELECT v * 3 AS w FROM b) SELECT (SELECT w FROM a), w + 1 FROM a",
        // The queue ordered by the CTE's own ORDER BY (depth first).
        "WITH RECURSIVE c(n, d) AS (SELECT 1, 0 UNION ALL SELECT n * 10 + k.a, d + 1 FROM c, t AS k WHERE d < 3 ORDER BY 2 DESC) SELECT n FROM c",
        // A view read inside a CTE; a CTE of the view's name does not
        // reach into the view.
        "WITH x AS (SELECT * FROM t) SELECT count(*) FROM x",
    ];
    for sql in ok {
        let rows = p.same(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(!rows.is_empty(), "{sql}");
    }
    p.exec("CREATE VIEW v AS SELECT a FROM t");
    let rows = p.same("WITH t(a) AS (SELECT 99) SELECT a FROM v ORDER BY a").unwrap();
    assert_eq!(ints(&rows), vec![1, 2]);
}

#[test]
fn cte_as_insert_source() {
    let p = Pair::new();
    p.exec("CREATE TABLE t(a INTEGER, b TEXT)");
    p.same_effect(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) INSERT INTO t SELECT n, 'v' || n FROM c",
        "SELECT * FROM t ORDER BY rowid",
    );
    p.same_effect(
        "WITH x(v) AS (SELECT max(a) FROM t) INSERT INTO t VALUES ((SELECT v FROM x) + 1, 'next')",
        "SELECT * FROM t ORDER BY rowid",
    );
    let rows = p.same("SELECT a FROM t ORDER BY a DESC LIMIT 1").unwrap();
    assert_eq!(ints(&rows), vec![6]);
}

#[test]
fn cte_before_update_and_delete() {
    let p = Pair::new();
    p.exec("CREATE TABLE t(a INTEGER, b TEXT)");
    p.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')");
    let check = "SELECT * FROM t ORDER BY a";
    p.same_effect(
        "WITH odd(v) AS (SELECT a FROM t WHERE a % 2 = 1) UPDATE t SET b = upper(b) WHERE a IN (SELECT v FROM odd)",
        check,
    );
    // A CTE hides the table of its name inside the statement's subqueries.
    p.same_effect("WITH t(a) AS (SELECT 4) DELETE FROM t WHERE a IN (SELECT a FROM t)", check);
    p.same_effect(
        "WITH RECURSIVE s(n) AS (SELECT 10 UNION ALL SELECT n + 10 FROM s WHERE n < 30) \
         UPDATE t SET a = a + (SELECT max(n) FROM s) WHERE a < 3",
        check,
    );
    let w = waldb_rows(&p.w, "WITH k(v) AS (SELECT 5) DELETE FROM t WHERE a = (SELECT v FROM k) RETURNING a, b");
    assert_eq!(w.map(|r| ints(&r)), Ok(vec![5]));
    p.exec("DELETE FROM t WHERE a = 5");
    p.same(check).expect("same rows");
    // Its names are gone after the statement.
    p.same("SELECT * FROM odd").expect_err("odd is not a table");
}

// --- RETURNING ---------------------------------------------------------------

/// Rows in a canonical order (RETURNING of a multi-row UPDATE or DELETE
/// comes in the order rows are visited, which SQLite does not document).
fn sorted(mut rows: Rows) -> Rows {
    rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    rows
}

/// A random INSERT, UPDATE or DELETE on `r(id INTEGER PRIMARY KEY, a
/// INTEGER, b TEXT UNIQUE)` with a random RETURNING.
fn returning_statement(rng: &mut Rng) -> (String, bool) {
    let items = [
        "*",
        "id",
        "a * 2 AS twice",
        "b || '!'",
        "rowid, a",
        "id, (SELECT count(*) FROM e)",
        "upper(b), a IS NULL",
        "*, id + 1",
    ];
    let ret = items[rng.index(items.len())];
    let val = |rng: &mut Rng| {
        let a = if rng.below(6) == 0 { "NULL".to_string() } else { (rng.below(10) as i64 - 2).to_string() };
        let b = if rng.below(5) == 0 { "NULL".to_string() } else { format!("'k{}'", rng.below(12)) };
        (a, b)
    };
    match rng.below(4) {
        0 | 1 => {
            let n = rng.between(1, 3);
            let mut rows = Vec::new();
            for _ in 0..n {
                let (a, b) = val(rng);
                let id = if rng.below(2) == 0 { "NULL".to_string() } else { rng.between(1, 12).to_string() };
                rows.push(format!("({id}, {a}, {b})"));
            }
            let or = ["", "OR IGNORE ", "OR REPLACE "][rng.index(3)];
            (format!("INSERT {or}INTO r VALUES {} RETURNING {ret}", rows.join(", ")), false)
        }
        2 => {
            let set = match rng.below(3) {
                0 => format!("a = a + {}", rng.below(3)),
                1 => format!("b = 'k{}'", rng.below(12)),
                _ => "id = id + 10".to_string(),
            };
            (format!("UPDATE r SET {set} WHERE a > {} RETURNING {ret}", rng.below(8) as i64 - 2), true)
        }
        _ => (format!("DELETE FROM r WHERE a < {} RETURNING {ret}", rng.below(8) as i64 - 2), true),
    }
}

#[test]
fn generated_returning_matches_sqlite() {
    for seed in 0..cases() {
        let mut rng = Rng(seed.wrapping_mul(0x9E37) + 11);
        let p = Pair::new();
        setup(&p, &mut rng);
        p.exec("CREATE TABLE r(id INTEGER PRIMARY KEY, a INTEGER, b TEXT UNIQUE)");
        for _ in 0..STATEMENTS {
            let (sql, unordered) = returning_statement(&mut rng);
            let (w, s) = p.both(&sql);
            match (w, s) {
                (Ok(a), Ok(b)) => {
                    let (a, b) = if unordered { (sorted(a), sorted(b)) } else { (a, b) };
                    assert!(same_rows(&a, &b), "differs: {sql}\n  waldb:  {a:?}\n  sqlite: {b:?}");
                }
                (Err(_), Err(_)) => {}
                (w, s) => panic!("differs: {sql}\n  waldb:  {w:?}\n  sqlite: {s:?}"),
            }
            p.same("SELECT id, a, b FROM r ORDER BY id").unwrap();
        }
    }
}

#[test]
fn returning_columns_and_execute() {
    let p = Pair::new();
    p.exec("CREATE TABLE r(id INTEGER PRIMARY KEY, a INTEGER, b TEXT)");
    let sql = "INSERT INTO r(a, b) VALUES (5, 'x') RETURNING *, a + 1, b AS bee, rowid";
    let rows = p.w.query(sql, ()).unwrap();
    let st = p.s.prepare(sql).unwrap();
    let names: Vec<String> = st.column_names().map(String::from).collect();
    drop(st);
    assert_eq!(rows.columns(), names.as_slice());
    assert_eq!(
        rows.values(),
        vec![vec![
            Value::Integer(1),
            Value::Integer(5),
            Value::Text("x".into()),
            Value::Integer(6),
            Value::Text("x".into()),
            Value::Integer(1)
        ]]
    );
    // `execute` runs it and counts the changes.
    assert_eq!(p.w.execute("INSERT INTO r(a) VALUES (1), (2) RETURNING id", ()).unwrap(), 2);
    assert_eq!(p.w.execute("UPDATE r SET a = 0 RETURNING id", ()).unwrap(), 3);
    assert_eq!(p.w.execute("DELETE FROM r WHERE id > 1 RETURNING id", ()).unwrap(), 2);
    // Aggregates are refused, as in SQLite.
    assert!(p.w.query("DELETE FROM r RETURNING count(*)", ()).is_err());
    assert!(p.s.prepare("DELETE FROM r RETURNING count(*)").is_err());
}

#[test]
fn returning_statement_that_fails_half_way_returns_and_changes_nothing() {
    let db = Database::open_in_memory().unwrap();
    db.execute("CREATE TABLE r(id INTEGER PRIMARY KEY, a INTEGER UNIQUE)", ()).unwrap();
    db.execute("INSERT INTO r VALUES (1, 10)", ()).unwrap();
    let count = |db: &Database| db.query("SELECT count(*), sum(a) FROM r", ()).unwrap().values();
    let before = count(&db);
    // The third row conflicts: nothing is returned, nothing stays.
    assert!(db.query("INSERT INTO r VALUES (2, 20), (3, 30), (4, 10) RETURNING id", ()).is_err());
    assert_eq!(count(&db), before);
    // An UPDATE whose second row conflicts.
    db.execute("INSERT INTO r VALUES (2, 20)", ()).unwrap();
    assert!(db.query("UPDATE r SET a = 7 RETURNING id", ()).is_err());
    assert_eq!(
        db.query("SELECT a FROM r ORDER BY id", ()).unwrap().values(),
        vec![vec![Value::Integer(10)], vec![Value::Integer(20)]]
    );
    // A RETURNING expression that fails after the write (integer overflow),
    // inside an explicit transaction: the statement is undone, the
    // transaction stays open with its earlier changes.
    db.execute("BEGIN", ()).unwrap();
    db.execute("INSERT INTO r VALUES (5, 50)", ()).unwrap();
    assert!(db.query("INSERT INTO r VALUES (6, 60) RETURNING abs(-9223372036854775807 - 1)", ()).is_err());
    assert!(
        db.query("DELETE FROM r RETURNING abs(CASE WHEN id = 2 THEN -9223372036854775807 - 1 ELSE 0 END)", ()).is_err()
    );
    db.execute("COMMIT", ()).unwrap();
    assert_eq!(
        db.query("SELECT id FROM r ORDER BY id", ()).unwrap().values(),
        vec![vec![Value::Integer(1)], vec![Value::Integer(2)], vec![Value::Integer(5)]]
    );
}

// --- Upserts (INSERT … ON CONFLICT) -----------------------------------------

/// `u(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v INTEGER)` with three rows,
/// on both engines.
fn upsert_pair() -> Pair {
    let p = Pair::new();
    p.exec("CREATE TABLE u(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v INTEGER)");
    p.exec("INSERT INTO u VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30)");
    p
}

const U_ROWS: &str = "SELECT id, k, v FROM u ORDER BY id";

/// `sql` succeeds on both with the same change count (or fails on both),
/// and leaves `u` the same; returns `u`'s rows.
fn upsert_effect(p: &Pair, sql: &str) -> Rows {
    p.same_effect(sql, U_ROWS);
    p.same(U_ROWS).unwrap_or_else(|e| panic!("{U_ROWS}: {e}"))
}

fn row(id: i64, k: &str, v: i64) -> Vec<Value> {
    vec![Value::Integer(id), Value::Text(k.into()), Value::Integer(v)]
}

#[test]
fn upsert_do_nothing_skips_conflicting_rows() {
    let p = upsert_pair();
    // Any conflict, a named UNIQUE column, the INTEGER PRIMARY KEY.
    upsert_effect(&p, "INSERT INTO u VALUES (4, 'a', 1), (5, 'e', 50) ON CONFLICT DO NOTHING");
    upsert_effect(&p, "INSERT INTO u VALUES (1, 'f', 1) ON CONFLICT DO NOTHING");
    upsert_effect(&p, "INSERT INTO u VALUES (6, 'b', 1), (7, 'g', 70) ON CONFLICT (k) DO NOTHING");
    upsert_effect(&p, "INSERT INTO u VALUES (2, 'h', 1) ON CONFLICT (id) DO NOTHING");
    // A duplicate inside the statement: the second row meets the first.
    let rows = upsert_effect(&p, "INSERT INTO u(k, v) VALUES ('z', 1), ('z', 2) ON CONFLICT (k) DO NOTHING");
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows.contains(&row(5, "e", 50)) && rows.contains(&row(7, "g", 70)) && rows.contains(&row(8, "z", 1)));
}

#[test]
fn upsert_do_update_reads_excluded() {
    let p = upsert_pair();
    upsert_effect(&p, "INSERT INTO u(k, v) VALUES ('a', 5) ON CONFLICT (k) DO UPDATE SET v = v + excluded.v");
    upsert_effect(&p, "INSERT INTO u VALUES (2, 'bb', 7) ON CONFLICT (id) DO UPDATE SET k = excluded.k, v = u.v * 2");
    // Several rows, one new, two updates of the same row in one statement.
    upsert_effect(
        &p,
        "INSERT INTO u(k, v) VALUES ('c', 1), ('d', 2), ('c', 3) ON CONFLICT (k) DO UPDATE SET v = v * 10 + excluded.v",
    );
    // The key itself changes; the rowid moves.
    upsert_effect(&p, "INSERT INTO u VALUES (3, 'q', 0) ON CONFLICT (id) DO UPDATE SET id = 30, k = excluded.k || 'x'");
    let rows = upsert_effect(&p, "INSERT INTO u VALUES (9, 'a', 9) ON CONFLICT DO UPDATE SET v = excluded.id");
    assert_eq!(
        rows,
        vec![row(1, "a", 9), row(2, "bb", 40), row(4, "d", 2), row(30, "qx", 3013)],
        "waldb's rows after the upserts"
    );
}

#[test]
fn upsert_do_update_where_limits_the_update() {
    let p = upsert_pair();
    upsert_effect(
        &p,
        "INSERT INTO u(k, v) VALUES ('a', 5), ('b', 25) ON CONFLICT (k) DO UPDATE SET v = excluded.v WHERE excluded.v > v",
    );
    upsert_effect(&p, "INSERT INTO u(k, v) VALUES ('c', 5) ON CONFLICT (k) DO UPDATE SET v = 0 WHERE NULL");
    upsert_effect(
        &p,
        "INSERT INTO u(k, v) VALUES ('c', 5) ON CONFLICT (k) DO UPDATE SET v = 0 WHERE u.k = 'c' AND excluded.v = 5",
    );
    // The target's WHERE (a partial index's, in SQLite) is accepted.
    let rows =
        upsert_effect(&p, "INSERT INTO u(k, v) VALUES ('a', 1) ON CONFLICT (k) WHERE v > 0 DO UPDATE SET v = -1");
    assert_eq!(rows, vec![row(1, "a", -1), row(2, "b", 25), row(3, "c", 0)]);
}

#[test]
fn upsert_clauses_apply_in_order() {
    let p = upsert_pair();
    let sql = |values: &str| {
        format!(
            "INSERT INTO u VALUES {values} ON CONFLICT (id) DO UPDATE SET v = v + 1 \
             ON CONFLICT (k) DO UPDATE SET v = v + 100 ON CONFLICT DO NOTHING"
        )
    };
    // id conflicts (first clause); k conflicts (second); both (first wins).
    upsert_effect(&p, &sql("(1, 'x', 0), (9, 'b', 0), (3, 'a', 0), (4, 'd', 4)"));
    // The other order of targets: k's clause wins a row that conflicts on both.
    let rows = upsert_effect(
        &p,
        "INSERT INTO u VALUES (1, 'c', 0) ON CONFLICT (k) DO UPDATE SET v = -v ON CONFLICT (id) DO UPDATE SET v = 0",
    );
    assert_eq!(rows, vec![row(1, "a", 11), row(2, "b", 120), row(3, "c", -31), row(4, "d", 4)]);
    // With RETURNING after the clauses, and in a batch of statements.
    p.same(
        "INSERT INTO u VALUES (2, 'd', 0) ON CONFLICT (id) DO NOTHING ON CONFLICT (k) DO UPDATE SET v = 7 RETURNING *",
    )
    .unwrap();
    p.w.execute_batch(
        "INSERT INTO u VALUES (5, 'a', 0) ON CONFLICT (k) DO NOTHING ON CONFLICT DO NOTHING; \
         INSERT INTO u VALUES (6, 'f', 6) ON CONFLICT (id) DO NOTHING ON CONFLICT (k) DO NOTHING",
    )
    .unwrap();
    p.s.execute_batch(
        "INSERT INTO u VALUES (5, 'a', 0) ON CONFLICT (k) DO NOTHING ON CONFLICT DO NOTHING; \
         INSERT INTO u VALUES (6, 'f', 6) ON CONFLICT (id) DO NOTHING ON CONFLICT (k) DO NOTHING",
    )
    .unwrap();
    assert_eq!(p.same(U_ROWS).unwrap().len(), 5);
    // Only the last clause may omit the target.
    upsert_effect(&p, "INSERT INTO u VALUES (1, 'a', 0) ON CONFLICT DO NOTHING ON CONFLICT (id) DO NOTHING");
}

#[test]
fn upsert_composite_target_in_any_order() {
    let p = Pair::new();
    p.exec("CREATE TABLE c(x INTEGER, y TEXT, v INTEGER, UNIQUE(x, y))");
    p.exec("INSERT INTO c VALUES (1, 'p', 0), (1, 'q', 0), (2, 'p', 0)");
    let check = "SELECT x, y, v FROM c ORDER BY x, y";
    p.same_effect(
        "INSERT INTO c VALUES (1, 'q', 5), (2, 'q', 6) ON CONFLICT (y, x) DO UPDATE SET v = excluded.v",
        check,
    );
    p.same_effect("INSERT INTO c VALUES (1, 'p', 7) ON CONFLICT (x, y) DO UPDATE SET v = v + 100", check);
    // NULLs never conflict.
    p.same_effect("INSERT INTO c VALUES (NULL, 'p', 8), (NULL, 'p', 9) ON CONFLICT (x, y) DO NOTHING", check);
    // A subset of the columns is no target.
    p.same_effect("INSERT INTO c VALUES (1, 'p', 1) ON CONFLICT (x) DO NOTHING", check);
    let rows = p.same(check).unwrap();
    assert_eq!(rows.len(), 6);
    // NULLs sort first.
    assert_eq!(rows[2], vec![Value::Integer(1), Value::Text("p".into()), Value::Integer(100)]);
}

#[test]
fn upsert_returning_reports_inserted_and_updated_rows() {
    let p = upsert_pair();
    let sql = "INSERT INTO u(k, v) VALUES ('a', 1), ('n', 2), ('b', 3) \
               ON CONFLICT (k) DO UPDATE SET v = excluded.v + 100 WHERE k = 'a' RETURNING id, k, v";
    let rows = p.same(sql).unwrap();
    // 'b' hit the WHERE: neither inserted nor updated, not returned.
    assert_eq!(rows, vec![row(1, "a", 101), row(4, "n", 2)]);
    let rows = p.same("INSERT INTO u VALUES (2, 'x', 0) ON CONFLICT DO NOTHING RETURNING *").unwrap();
    assert!(rows.is_empty());
    p.same(U_ROWS).unwrap();
}

#[test]
fn upsert_conflict_on_another_constraint_follows_the_statement() {
    let p = upsert_pair();
    // The target is k; the row conflicts on id only: ABORT, nothing stays.
    let rows = upsert_effect(&p, "INSERT INTO u VALUES (4, 'd', 1), (1, 'z', 1) ON CONFLICT (k) DO NOTHING");
    assert_eq!(rows.len(), 3);
    assert!(p.w.execute("INSERT INTO u VALUES (1, 'z', 1) ON CONFLICT (k) DO NOTHING", ()).is_err());
    // With OR IGNORE / OR REPLACE, that conflict resolves their way.
    upsert_effect(&p, "INSERT OR IGNORE INTO u VALUES (1, 'z', 1), (5, 'a', 5) ON CONFLICT (k) DO UPDATE SET v = 0");
    let rows = upsert_effect(&p, "INSERT OR REPLACE INTO u VALUES (2, 'y', 2) ON CONFLICT (k) DO NOTHING");
    assert_eq!(rows, vec![row(1, "a", 0), row(2, "y", 2), row(3, "c", 30)]);
}

#[test]
fn upsert_target_must_match_a_unique_constraint() {
    let p = upsert_pair();
    for sql in [
        "INSERT INTO u VALUES (4, 'd', 1) ON CONFLICT (v) DO NOTHING",
        "INSERT INTO u VALUES (4, 'd', 1) ON CONFLICT (k, v) DO NOTHING",
        "INSERT INTO u VALUES (4, 'd', 1) ON CONFLICT (id, k) DO NOTHING",
    ] {
        let e = p.w.execute(sql, ()).unwrap_err().to_string();
        let s = p.s.execute(sql, []).unwrap_err().to_string();
        let msg = "ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint";
        assert!(e.contains(msg) && s.contains(msg), "{sql}\n  waldb:  {e}\n  sqlite: {s}");
    }
    // Unknown names fail on both.
    upsert_effect(&p, "INSERT INTO u VALUES (4, 'd', 1) ON CONFLICT (nope) DO NOTHING");
    upsert_effect(&p, "INSERT INTO u VALUES (1, 'd', 1) ON CONFLICT (id) DO UPDATE SET nope = 1");
    upsert_effect(&p, "INSERT INTO u VALUES (1, 'd', 1) ON CONFLICT (id) DO UPDATE SET v = excluded.nope");
    upsert_effect(&p, "INSERT INTO u VALUES (1, 'd', 1) ON CONFLICT (id) DO UPDATE SET v = other.v");
    assert_eq!(p.same(U_ROWS).unwrap().len(), 3);
}

#[test]
fn upsert_update_that_violates_uniqueness_fails() {
    let p = upsert_pair();
    // The update gives row 1 the k of row 2: ABORT, the whole statement
    // undone (the row inserted before it too).
    let rows =
        upsert_effect(&p, "INSERT INTO u VALUES (7, 'g', 7), (1, 'x', 0) ON CONFLICT (id) DO UPDATE SET k = 'b'");
    assert_eq!(rows.len(), 3);
    // Inside a transaction the statement is undone, the transaction stays.
    p.exec("BEGIN");
    p.exec("INSERT INTO u VALUES (8, 'h', 8)");
    upsert_effect(&p, "INSERT INTO u(k) VALUES ('a') ON CONFLICT (k) DO UPDATE SET id = 2");
    p.exec("COMMIT");
    let rows = upsert_effect(&p, "INSERT INTO u(k) VALUES ('a') ON CONFLICT (k) DO UPDATE SET v = NULL, k = NULL");
    assert_eq!(rows.len(), 4);
}

#[test]
fn upsert_from_select() {
    let p = upsert_pair();
    p.exec("CREATE TABLE src(k TEXT, v INTEGER)");
    p.exec("INSERT INTO src VALUES ('a', 1), ('z', 2), ('b', 3), ('z', 4)");
    let rows = upsert_effect(
        &p,
        "INSERT INTO u(k, v) SELECT k, v FROM src WHERE true ORDER BY v ON CONFLICT (k) DO UPDATE SET v = u.v + excluded.v",
    );
    assert_eq!(rows, vec![row(1, "a", 11), row(2, "b", 23), row(3, "c", 30), row(4, "z", 6)]);
}

/// A random upsert on `g(id INTEGER PRIMARY KEY, k INTEGER UNIQUE, v
/// INTEGER)`: a few rows of small keys, so conflicts are common.
fn upsert_statement(rng: &mut Rng) -> String {
    let n = rng.between(1, 4);
    let rows: Vec<String> = (0..n)
        .map(|_| {
            let id = if rng.below(3) == 0 { "NULL".to_string() } else { rng.between(1, 6).to_string() };
            let k = if rng.below(8) == 0 { "NULL".to_string() } else { rng.below(6).to_string() };
            format!("({id}, {k}, {})", rng.below(50))
        })
        .collect();
    let target = ["", "(id) ", "(k) ", "(k) DO NOTHING ON CONFLICT (id) ", "(id) DO UPDATE SET v = 0 ON CONFLICT "]
        [rng.index(5)];
    let action = match rng.below(5) {
        0 => "DO NOTHING".to_string(),
        1 => "DO UPDATE SET v = excluded.v".to_string(),
        2 => "DO UPDATE SET v = v + excluded.v WHERE excluded.v % 2 = 0".to_string(),
        3 => format!("DO UPDATE SET k = {}", rng.below(8)),
        _ => "DO UPDATE SET v = -v, id = id + 10 WHERE id < 5".to_string(),
    };
    let or = ["", "", "OR IGNORE ", "OR REPLACE ", "OR FAIL "][rng.index(5)];
    let ret = if rng.below(2) == 0 { " RETURNING id, k, v" } else { "" };
    format!("INSERT {or}INTO g VALUES {} ON CONFLICT {target}{action}{ret}", rows.join(", "))
}

#[test]
fn generated_upserts_match_sqlite() {
    let (mut ok, mut failed, mut returned) = (0, 0, 0);
    for seed in 0..cases() {
        let mut rng = Rng(seed.wrapping_mul(0x5851_F42D) + 7);
        let p = Pair::new();
        p.exec("CREATE TABLE g(id INTEGER PRIMARY KEY, k INTEGER UNIQUE, v INTEGER)");
        for _ in 0..STATEMENTS {
            let sql = upsert_statement(&mut rng);
            match p.same(&sql) {
                Ok(rows) => (ok, returned) = (ok + 1, returned + rows.len()),
                Err(_) => failed += 1,
            }
            p.same("SELECT id, k, v FROM g ORDER BY id").unwrap();
        }
    }
    // The generator reaches both outcomes, and RETURNING rows.
    assert!(ok > 0 && failed > 0 && returned > 0, "ok {ok}, failed {failed}, returned {returned}");
}

// --- INSERT OR FAIL / OR ROLLBACK -------------------------------------------

#[test]
fn insert_or_fail_keeps_the_rows_before_the_failing_one() {
    let p = upsert_pair();
    // Outside a transaction: rows 4 and 5 stay, row 1 fails, 6 is never
    // reached.
    let rows = upsert_effect(&p, "INSERT OR FAIL INTO u VALUES (4, 'd', 4), (5, 'e', 5), (1, 'x', 0), (6, 'f', 6)");
    assert_eq!(rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), (1..=5).map(Value::Integer).collect::<Vec<_>>());
    // Inside one: the same, and the transaction goes on.
    p.exec("BEGIN");
    upsert_effect(&p, "INSERT OR FAIL INTO u VALUES (7, 'g', 7), (8, 'a', 8)");
    upsert_effect(&p, "INSERT OR FAIL INTO u(k, v) VALUES ('h', 1), ('i', NULL), ('h', 2)");
    // An upsert's DO UPDATE that violates uniqueness aborts (undoes the
    // statement) even under OR FAIL.
    let before = p.same(U_ROWS).unwrap();
    let after = upsert_effect(
        &p,
        "INSERT OR FAIL INTO u VALUES (9, 'j', 9), (1, 'x', 0) ON CONFLICT (id) DO UPDATE SET k = 'b'",
    );
    assert_eq!(before, after);
    p.exec("COMMIT");
    let rows = p.same(U_ROWS).unwrap();
    assert_eq!(rows.len(), 8, "{rows:?}");
    assert_eq!(rows[5], row(7, "g", 7));
}

#[test]
fn insert_or_rollback_rolls_back_the_transaction() {
    let p = upsert_pair();
    p.exec("BEGIN");
    p.exec("INSERT INTO u VALUES (4, 'd', 4)");
    let rows = upsert_effect(&p, "INSERT OR ROLLBACK INTO u VALUES (5, 'e', 5), (1, 'x', 0)");
    // Row 4, inserted earlier in the transaction, is gone with it ...
    assert_eq!(rows.len(), 3, "{rows:?}");
    // ... and so is the transaction: COMMIT fails on both.
    let (w, s) = (p.w.execute("COMMIT", ()), p.s.execute("COMMIT", []));
    assert!(w.is_err() && s.is_err(), "waldb: {w:?}, sqlite: {s:?}");
    // Without a transaction it undoes just the statement (as ABORT).
    let rows = upsert_effect(&p, "INSERT OR ROLLBACK INTO u VALUES (6, 'f', 6), (2, 'y', 0)");
    assert_eq!(rows.len(), 3);
    // A NOT NULL or CHECK violation counts too; a success changes nothing.
    p.exec("CREATE TABLE n(a INTEGER NOT NULL, b INTEGER CHECK (b > 0))");
    p.exec("BEGIN");
    p.exec("INSERT INTO n VALUES (1, 1)");
    p.same_effect("INSERT OR ROLLBACK INTO n VALUES (2, 2)", "SELECT * FROM n ORDER BY a");
    p.same_effect("INSERT OR ROLLBACK INTO n VALUES (3, -3)", "SELECT * FROM n ORDER BY a");
    assert!(p.w.execute("COMMIT", ()).is_err());
    assert!(p.same("SELECT * FROM n").unwrap().is_empty());
}
