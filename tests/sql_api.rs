//! The embedded API end to end: SQL in, typed rows out, durable commits,
//! constraint errors that leave no trace, prepared statements that follow
//! schema changes, values larger than a page, and the planner's index use
//! as EXPLAIN shows it.

use std::path::Path;
use std::sync::Arc;

use waldb::io::{LossMode, SimVfs, Vfs};
use waldb::{ConstraintKind, Database, Error, Options, Value, params};

fn mem() -> Database {
    Database::open_in_memory().expect("open in memory")
}

fn count(db: &Database, sql: &str) -> i64 {
    db.query_row(sql, (), |r| r.get(0)).expect(sql)
}

fn plan(db: &Database, sql: &str) -> String {
    let rows = db.query(&format!("EXPLAIN {sql}"), ()).expect("explain");
    rows.iter().map(|r| r.get::<String>(0).expect("plan line")).collect::<Vec<_>>().join("\n")
}

fn sim_db(vfs: &SimVfs) -> Database {
    Database::open_on(Arc::new(vfs.clone()) as Arc<dyn Vfs>, Path::new("app.db"), Options::default()).expect("open")
}

#[test]
fn execute_query_and_typed_reads() {
    let db = mem();
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)", ()).unwrap();
    assert_eq!(
        db.execute("INSERT INTO t(name, score, data) VALUES ('a', 1.5, X'01'), ('b', NULL, NULL)", ()).unwrap(),
        2
    );
    let rows = db.query("SELECT id, name, score, data FROM t ORDER BY id", ()).unwrap();
    assert_eq!(rows.columns(), ["id", "name", "score", "data"]);
    assert_eq!(rows.len(), 2);
    let r = rows.get(0).unwrap();
    assert_eq!(r.get::<i64>(0).unwrap(), 1);
    assert_eq!(r.get::<String>("NAME").unwrap(), "a");
    assert_eq!(r.get::<f64>("score").unwrap(), 1.5);
    assert_eq!(r.get::<Vec<u8>>(3).unwrap(), vec![1]);
    let r = rows.get(1).unwrap();
    assert_eq!(r.get::<Option<f64>>(2).unwrap(), None);
    assert!(matches!(r.get::<f64>(2), Err(Error::TypeMismatch(_))));
    assert!(matches!(r.get::<i64>(1), Err(Error::TypeMismatch(_))));
    assert!(matches!(r.get::<i64>("nope"), Err(Error::InvalidInput(_))));
    assert!(matches!(db.query_row("SELECT 1 WHERE 0", (), |r| r.get::<i64>(0)), Err(Error::NoRows)));
    assert_eq!(db.execute("UPDATE t SET score = score * 2 WHERE score IS NOT NULL", ()).unwrap(), 1);
    assert_eq!(db.execute("DELETE FROM t WHERE name = 'b'", ()).unwrap(), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 1);
    assert_eq!(db.query_row("SELECT score FROM t", (), |r| r.get::<f64>(0)).unwrap(), 3.0);
}

#[test]
fn parameters_in_every_form() {
    let db = mem();
    db.execute("CREATE TABLE t(a INTEGER, b TEXT, c REAL)", ()).unwrap();
    db.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "x", 0.5)).unwrap();
    db.execute("INSERT INTO t VALUES (?, ?, ?)", params![2, "y".to_string(), None::<f64>]).unwrap();
    db.execute("INSERT INTO t VALUES (?3, ?1, ?2)", [Value::Text("z".into()), Value::Real(2.5), Value::Integer(3)])
        .unwrap();
    db.execute("INSERT INTO t VALUES (?1, ?2, ?1)", vec![Value::Integer(4), Value::Text("w".into())]).unwrap();
    let rows = db.query("SELECT a, b, c FROM t ORDER BY a", ()).unwrap().values();
    assert_eq!(rows[2], vec![Value::Integer(3), Value::Text("z".into()), Value::Real(2.5)]);
    assert_eq!(rows[3], vec![Value::Integer(4), Value::Text("w".into()), Value::Real(4.0)]);
    assert_eq!(rows[1][2], Value::Null);
    // Wrong parameter counts are errors, not silent NULLs.
    assert!(matches!(db.execute("INSERT INTO t VALUES (?, ?, ?)", (1, 2)), Err(Error::InvalidInput(_))));
    assert!(matches!(db.query("SELECT ?", (1, 2)), Err(Error::InvalidInput(_))));
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 4);
}

#[test]
fn prepared_statements_run_many_times_and_follow_schema_changes() {
    let db = mem();
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).unwrap();
    let mut ins = db.prepare("INSERT INTO t(v) VALUES (?)").unwrap();
    assert_eq!(ins.parameter_count(), 1);
    for i in 0..100 {
        assert_eq!(ins.execute([format!("v{i}")]).unwrap(), 1);
    }
    let mut q = db.prepare("SELECT * FROM t WHERE id = ?").unwrap();
    assert_eq!(q.column_names(), ["id", "v"]);
    assert_eq!(q.query_row([42], |r| r.get::<String>("v")).unwrap(), "v41");
    // The table is replaced with another shape: the statement replans.
    db.execute_batch(
        "DROP TABLE t; CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b INTEGER); INSERT INTO t VALUES (42, 1, 2);",
    )
    .unwrap();
    let rows = q.query([42]).unwrap();
    assert_eq!(rows.columns(), ["id", "a", "b"]);
    assert_eq!(q.column_names(), ["id", "a", "b"]);
    assert_eq!(rows.values(), vec![vec![Value::Integer(42), Value::Integer(1), Value::Integer(2)]]);
    // A statement whose table is gone fails clearly.
    db.execute("DROP TABLE t", ()).unwrap();
    assert!(matches!(q.query([1]), Err(Error::Sql(m)) if m.contains("no such table")));
    // Preparing reports errors at once.
    assert!(matches!(db.prepare("SELECT nope FROM missing"), Err(Error::Sql(_))));
    assert!(matches!(db.prepare("SELECT 1; SELECT 2"), Err(Error::InvalidInput(_))));
}

#[test]
fn transactions_commit_with_a_durable_lsn_and_roll_back_on_drop() {
    let db = mem();
    db.execute("CREATE TABLE t(x INTEGER)", ()).unwrap();
    let tx = db.transaction().unwrap();
    assert!(db.in_transaction());
    tx.execute("INSERT INTO t VALUES (1)", ()).unwrap();
    assert_eq!(count(&tx, "SELECT count(*) FROM t"), 1, "a transaction sees its own writes");
    let lsn = tx.commit().unwrap();
    assert!(db.durable_lsn() >= lsn, "commit returns only once its LSN is durable");
    assert_eq!(db.last_commit_lsn(), Some(lsn));
    assert!(!db.in_transaction());
    {
        let tx = db.transaction().unwrap();
        tx.execute("INSERT INTO t VALUES (2)", ()).unwrap();
    }
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 1, "dropped transaction rolled back");
    let tx = db.transaction().unwrap();
    tx.execute("DELETE FROM t", ()).unwrap();
    tx.rollback().unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 1);
    // SQL transaction control.
    db.execute("BEGIN", ()).unwrap();
    assert!(matches!(db.execute("BEGIN", ()), Err(Error::Sql(_))));
    db.execute("INSERT INTO t VALUES (3)", ()).unwrap();
    db.execute("COMMIT", ()).unwrap();
    assert!(matches!(db.execute("COMMIT", ()), Err(Error::Sql(_))));
    assert!(matches!(db.execute("ROLLBACK", ()), Err(Error::Sql(_))));
    assert_eq!(count(&db, "SELECT sum(x) FROM t"), 4);
}

#[test]
fn a_failed_statement_leaves_no_trace_and_the_transaction_goes_on() {
    let db = mem();
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT UNIQUE, n INTEGER NOT NULL)", ()).unwrap();
    db.execute("CREATE INDEX tn ON t(n)", ()).unwrap();
    // Autocommit: a multi-row insert failing on its third row inserts nothing.
    let e = db.execute("INSERT INTO t(u, n) VALUES ('a', 1), ('b', 2), ('a', 3)", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Unique, .. }), "{e}");
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 0);
    let tx = db.transaction().unwrap();
    tx.execute("INSERT INTO t(u, n) VALUES ('a', 1)", ()).unwrap();
    let e = tx.execute("INSERT INTO t(u, n) VALUES ('b', 2), ('c', NULL)", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::NotNull, .. }), "{e}");
    let e = tx.execute("UPDATE t SET u = 'z', n = n + 10", ()).map(|_| ());
    assert!(e.is_ok());
    let e = tx.execute("INSERT INTO t(id, u, n) VALUES (1, 'q', 5)", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::PrimaryKey, .. }), "{e}");
    let e = tx.execute("INSERT INTO t(u, n) VALUES ('y', 'not a number')", ()).unwrap_err();
    assert!(matches!(e, Error::TypeMismatch(_)), "{e}");
    tx.execute("INSERT INTO t(u, n) VALUES ('d', 4)", ()).unwrap();
    tx.commit().unwrap();
    let rows = db.query("SELECT u, n FROM t ORDER BY id", ()).unwrap().values();
    assert_eq!(
        rows,
        vec![vec![Value::Text("z".into()), Value::Integer(11)], vec![Value::Text("d".into()), Value::Integer(4)]]
    );
    // The index agrees with the table after the rolled-back statements.
    assert_eq!(count(&db, "SELECT count(*) FROM t WHERE n = 11"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM t WHERE n = 2"), 0);
    assert!(plan(&db, "SELECT * FROM t WHERE n = 2").contains("USING INDEX tn"));
}

#[test]
fn conflict_clauses_and_strict_column_types() {
    let db = mem();
    db.execute("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT, f REAL, b BLOB, any_col)", ()).unwrap();
    db.execute("INSERT INTO t VALUES (1, 'one', 1, X'00', 'x')", ()).unwrap();
    assert_eq!(db.execute("INSERT OR IGNORE INTO t(k, v) VALUES (1, 'dup'), (2, 'two')", ()).unwrap(), 1);
    db.execute("INSERT OR REPLACE INTO t(k, v) VALUES (1, 'uno')", ()).unwrap();
    db.execute("REPLACE INTO t(k, v) VALUES (3, 'tres')", ()).unwrap();
    let rows = db.query("SELECT k, v FROM t ORDER BY k", ()).unwrap().values();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][1], Value::Text("uno".into()));
    // Affinity converts what converts losslessly; the rest is refused.
    db.execute("INSERT INTO t(k, v, f) VALUES ('10', 12, '2.5')", ()).unwrap();
    let r = db.query("SELECT typeof(k), typeof(v), typeof(f) FROM t WHERE k = 10", ()).unwrap().values();
    assert_eq!(r[0], vec![Value::Text("integer".into()), Value::Text("text".into()), Value::Text("real".into())]);
    for bad in [
        "INSERT INTO t(k) VALUES ('abc')",
        "INSERT INTO t(k) VALUES (1.5)",
        "INSERT INTO t(f) VALUES ('x')",
        "INSERT INTO t(v) VALUES (X'01')",
        "INSERT INTO t(b) VALUES ('text')",
    ] {
        assert!(matches!(db.execute(bad, ()), Err(Error::TypeMismatch(_))), "{bad}");
    }
    // An untyped column takes anything.
    db.execute("INSERT INTO t(any_col) VALUES (X'FF')", ()).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 5);
}

#[test]
fn composite_primary_keys_and_unique_indexes_are_enforced_through_the_index() {
    let db = mem();
    db.execute("CREATE TABLE m(a INTEGER, b TEXT, c INTEGER, PRIMARY KEY (a, b), UNIQUE (c))", ()).unwrap();
    db.execute("INSERT INTO m VALUES (1, 'x', 1), (1, 'y', 2), (2, 'x', NULL), (3, 'x', NULL)", ()).unwrap();
    let e = db.execute("INSERT INTO m VALUES (1, 'x', 9)", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::PrimaryKey, .. }), "{e}");
    let e = db.execute("INSERT INTO m VALUES (5, 'x', 2)", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Unique, .. }), "{e}");
    let e = db.execute("INSERT INTO m VALUES (NULL, 'q', 7)", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::NotNull, .. }), "{e}");
    let e = db.execute("UPDATE m SET c = 1 WHERE a = 2", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Unique, .. }), "{e}");
    db.execute("CREATE UNIQUE INDEX mb ON m(b, c)", ()).unwrap();
    let e = db.execute("CREATE UNIQUE INDEX ma ON m(a)", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Unique, .. }), "{e}");
    assert!(db.query("SELECT * FROM m WHERE a = 1", ()).is_ok(), "the failed index left nothing behind");
    assert!(matches!(db.execute("DROP INDEX waldb_autoindex_m_1", ()), Err(Error::Sql(_))));
    assert_eq!(count(&db, "SELECT count(*) FROM waldb_schema WHERE type = 'index'"), 3);
}

#[test]
fn explain_shows_the_index_the_planner_picks() {
    let db = mem();
    db.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, g INTEGER, v TEXT);
         CREATE INDEX tk ON t(k);
         CREATE INDEX tgk ON t(g, k);
         CREATE TABLE u(id INTEGER PRIMARY KEY, tk INTEGER);",
    )
    .unwrap();
    for i in 0..200 {
        db.execute("INSERT INTO t(k, g, v) VALUES (?, ?, ?)", (i % 50, i % 7, format!("v{i}"))).unwrap();
    }
    db.execute("INSERT INTO u(tk) SELECT k FROM t WHERE id <= 20", ()).unwrap();
    // (query, what EXPLAIN must show, the same query with the index made
    // unusable by `+col`, which must return the same rows).
    let cases = [
        ("SELECT * FROM t WHERE id = 5", "USING ROWID", "SELECT * FROM t WHERE +id = 5"),
        ("SELECT * FROM t WHERE id BETWEEN 5 AND 9", "USING ROWID", "SELECT * FROM t WHERE +id BETWEEN 5 AND 9"),
        ("SELECT * FROM t WHERE k = 5", "USING INDEX tk", "SELECT * FROM t WHERE +k = 5"),
        ("SELECT * FROM t WHERE k > 40", "USING INDEX tk", "SELECT * FROM t WHERE +k > 40"),
        ("SELECT * FROM t WHERE k BETWEEN 3 AND 4", "USING INDEX tk", "SELECT * FROM t WHERE +k BETWEEN 3 AND 4"),
        ("SELECT * FROM t WHERE k IN (1, 2, 3)", "USING INDEX tk", "SELECT * FROM t WHERE +k IN (1, 2, 3)"),
        ("SELECT * FROM t WHERE g = 3 AND k = 10", "USING INDEX tgk", "SELECT * FROM t WHERE +g = 3 AND +k = 10"),
        ("SELECT * FROM t WHERE g = 3 AND k > 10", "USING INDEX tgk", "SELECT * FROM t WHERE +g = 3 AND +k > 10"),
        ("SELECT * FROM u JOIN t ON t.k = u.tk", "SEARCH t USING INDEX tk", "SELECT * FROM u JOIN t ON +t.k = u.tk"),
    ];
    for (sql, want, scan) in cases {
        let p = plan(&db, sql);
        assert!(p.contains(want), "{sql}:\n{p}");
        assert!(!plan(&db, scan).contains("INDEX"), "{scan}");
        let mut via_index = db.query(sql, ()).unwrap().values();
        let mut by_scan = db.query(scan, ()).unwrap().values();
        assert!(!via_index.is_empty(), "{sql}");
        let key = |r: &Vec<Value>| format!("{r:?}");
        via_index.sort_by_key(key);
        by_scan.sort_by_key(key);
        assert_eq!(via_index, by_scan, "{sql}");
    }
    let p = plan(&db, "SELECT * FROM t ORDER BY k");
    assert!(!p.contains("SORT"), "an index gives the order:\n{p}");
    let p = plan(&db, "SELECT * FROM t ORDER BY id DESC");
    assert!(!p.contains("SORT"), "the rowid gives the order:\n{p}");
    let p = plan(&db, "SELECT * FROM t ORDER BY v");
    assert!(p.contains("SORT"), "{p}");
    assert!(plan(&db, "SELECT * FROM t WHERE v = 'x'").contains("SCAN t"));
}

#[test]
fn values_larger_than_a_page_use_overflow_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    let big_blob: Vec<u8> = (0..16 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let big_text: String = "waldb ".repeat(3 << 20);
    {
        let db = Database::open(&path).unwrap();
        db.execute("CREATE TABLE b(id INTEGER PRIMARY KEY, data BLOB, t TEXT)", ()).unwrap();
        db.execute("INSERT INTO b VALUES (1, ?, ?)", (&big_blob, &big_text)).unwrap();
        db.execute("INSERT INTO b VALUES (2, X'00', 'small')", ()).unwrap();
        let back: Vec<u8> = db.query_row("SELECT data FROM b WHERE id = 1", (), |r| r.get(0)).unwrap();
        assert!(back == big_blob);
        // Shrink, grow back, and the pages of the old value are reused.
        db.execute("UPDATE b SET data = X'01' WHERE id = 1", ()).unwrap();
        db.execute("UPDATE b SET data = ? WHERE id = 1", [&big_blob]).unwrap();
        // Over the documented maximum row size: TooBig, nothing changed.
        let huge = vec![0u8; 65 << 20];
        assert!(matches!(db.execute("INSERT INTO b(data) VALUES (?)", [&huge]), Err(Error::TooBig { .. })));
        assert_eq!(count(&db, "SELECT count(*) FROM b"), 2);
    }
    let db = Database::open(&path).unwrap();
    assert_eq!(count(&db, "SELECT length(data) FROM b WHERE id = 1"), 16 << 20);
    let back: Vec<u8> = db.query_row("SELECT data FROM b WHERE id = 1", (), |r| r.get(0)).unwrap();
    assert!(back == big_blob, "the 16 MiB blob survives a reopen");
    let t: String = db.query_row("SELECT t FROM b WHERE id = 1", (), |r| r.get(0)).unwrap();
    assert!(t == big_text);
    db.execute("DELETE FROM b", ()).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM b"), 0);
}

#[test]
fn schema_and_data_survive_reopen_and_power_loss() {
    let vfs = SimVfs::new(7);
    let db = sim_db(&vfs);
    db.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER UNIQUE, v TEXT);
         CREATE INDEX tv ON t(v);
         CREATE VIEW big AS SELECT id, v FROM t WHERE k > 10;",
    )
    .unwrap();
    for i in 0..50 {
        db.execute("INSERT INTO t(k, v) VALUES (?, ?)", (i, format!("v{i}"))).unwrap();
    }
    let tx = db.transaction().unwrap();
    tx.execute("INSERT INTO t(k, v) VALUES (1000, 'uncommitted')", ()).unwrap();
    // Power fails with the transaction open and nothing checkpointed.
    let disk = vfs.reboot(LossMode::DropAll);
    std::mem::forget(tx);
    std::mem::forget(db);
    let db = sim_db(&disk);
    assert!(db.recovery_report().txns_redone > 0);
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 50);
    assert_eq!(count(&db, "SELECT count(*) FROM big"), 39);
    assert_eq!(count(&db, "SELECT k FROM t WHERE v = 'v7'"), 7);
    assert!(plan(&db, "SELECT k FROM t WHERE v = 'v7'").contains("USING INDEX tv"));
    let e = db.execute("INSERT INTO t(k, v) VALUES (7, 'again')", ()).unwrap_err();
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Unique, .. }));
    let names = db.query("SELECT name FROM waldb_schema ORDER BY name", ()).unwrap().values();
    assert_eq!(names.len(), 4, "{names:?}"); // big, t, tv, the autoindex of k
}

#[test]
fn threads_share_the_database_and_every_acknowledged_commit_is_there() {
    let db = mem();
    db.execute("CREATE TABLE t(thread INTEGER, i INTEGER)", ()).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|n| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    db.execute("INSERT INTO t VALUES (?, ?)", (n, i)).unwrap();
                }
                let tx = db.transaction().unwrap();
                tx.execute("INSERT INTO t VALUES (?, -1)", [n]).unwrap();
                tx.commit().unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 8 * 51);
    assert_eq!(count(&db, "SELECT count(DISTINCT thread) FROM t WHERE i = -1"), 8);
    let s = db.stats();
    assert!(s.commits >= 8 * 51, "{s:?}");
}

#[test]
fn bad_sql_gets_a_clear_error_never_a_panic() {
    let db = mem();
    db.execute("CREATE TABLE t(a INTEGER)", ()).unwrap();
    let cases = [
        "SELEC 1",
        "SELECT * FROM",
        "CREATE TABLE t(a INTEGER)",
        "INSERT INTO t VALUES (1, 2)",
        "INSERT INTO nope VALUES (1)",
        "SELECT b FROM t",
        "SELECT count(*) FROM t GROUP BY count(*)",
        "SELECT * FROM t WINDOW w AS ()",
        "CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END",
        "DROP TABLE waldb_schema",
        "DELETE FROM waldb_schema",
        "CREATE TABLE waldb_x(a)",
        "",
        ";;;",
    ];
    for sql in cases {
        let e = db.execute(sql, ());
        assert!(e.is_err(), "{sql:?} should fail");
    }
    match db.execute("SELECT a\n  FROM t WHERE", ()) {
        Err(Error::Parse { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected a parse error with a position, got {other:?}"),
    }
    assert!(matches!(
        db.execute("SELECT * FROM t WINDOW w AS ()", ()),
        Err(Error::NotSupported(_) | Error::Parse { .. })
    ));
    // Still fully usable.
    db.execute("INSERT INTO t VALUES (1)", ()).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 1);
}

#[test]
fn views_indexes_and_tables_are_created_and_dropped() {
    let db = mem();
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS t(a INTEGER, b TEXT);
         CREATE TABLE IF NOT EXISTS t(a INTEGER, b TEXT);
         INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'x');
         CREATE VIEW v AS SELECT b, count(*) AS n FROM t GROUP BY b;
         CREATE INDEX IF NOT EXISTS tb ON t(b);
         CREATE INDEX IF NOT EXISTS tb ON t(b);",
    )
    .unwrap();
    let rows = db.query("SELECT * FROM v ORDER BY b", ()).unwrap();
    assert_eq!(rows.columns(), ["b", "n"]);
    assert_eq!(rows.values()[0], vec![Value::Text("x".into()), Value::Integer(2)]);
    assert!(matches!(db.execute("INSERT INTO v VALUES ('z', 1)", ()), Err(Error::Sql(_))));
    assert!(matches!(db.execute("CREATE VIEW bad AS SELECT * FROM missing", ()), Err(Error::Sql(_))));
    assert!(matches!(db.execute("DROP TABLE v", ()), Err(Error::Sql(_))));
    db.execute_batch("DROP VIEW v; DROP INDEX tb; DROP VIEW IF EXISTS v; DROP INDEX IF EXISTS tb;").unwrap();
    db.execute("DROP TABLE t", ()).unwrap();
    db.execute("DROP TABLE IF EXISTS t", ()).unwrap();
    assert!(matches!(db.execute("DROP TABLE t", ()), Err(Error::Sql(_))));
    assert_eq!(count(&db, "SELECT count(*) FROM waldb_schema"), 0);
    // Schema changes inside a transaction roll back with it.
    let tx = db.transaction().unwrap();
    tx.execute("CREATE TABLE gone(x)", ()).unwrap();
    tx.execute("INSERT INTO gone VALUES (1)", ()).unwrap();
    assert_eq!(count(&tx, "SELECT count(*) FROM gone"), 1);
    tx.rollback().unwrap();
    assert!(db.query("SELECT * FROM gone", ()).is_err());
    db.execute("CREATE TABLE gone(y, z)", ()).unwrap();
    assert_eq!(db.query("SELECT * FROM gone", ()).unwrap().columns(), ["y", "z"]);
}

#[test]
fn the_handle_is_send_and_sync_and_deep_nesting_fits_a_default_thread_stack() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Database>();
    // Threads get 2 MiB stacks by default: the deepest statements the
    // parser accepts must plan and run in one.
    let t = std::thread::spawn(|| {
        let db = mem();
        let mut results = Vec::new();
        let mut run =
            |sql: String| results.push(db.query_row(&sql, (), |r| r.get::<i64>(0)).map_err(|e| e.to_string()));
        for depth in [100, 245, 1000] {
            run(format!("SELECT {}1{}", "-(".repeat(depth), ")".repeat(depth)));
        }
        for depth in [50, 240, 1000] {
            run(format!("SELECT {}1{}", "(SELECT ".repeat(depth), ")".repeat(depth)));
        }
        run(format!("SELECT 1 WHERE {}", vec!["1 = 1"; 900].join(" AND ")));
        run(format!("SELECT 1 WHERE {}", vec!["1 = 1"; 5000].join(" AND ")));
        results
    });
    let results = t.join().expect("no stack overflow");
    let too_deep = |r: &Result<i64, String>| r.as_ref().is_err_and(|e| e.contains("nested too deeply"));
    assert_eq!(results[0], Ok(1));
    assert_eq!(results[1], Ok(-1));
    assert!(too_deep(&results[2]), "{:?}", results[2]);
    assert_eq!(results[3], Ok(1));
    assert_eq!(results[4], Ok(1));
    assert!(too_deep(&results[5]), "{:?}", results[5]);
    assert_eq!(results[6], Ok(1));
    assert!(too_deep(&results[7]), "{:?}", results[7]);
}

#[test]
fn a_storage_error_in_a_single_row_insert_ends_the_transaction_and_loses_nothing_committed() {
    // Single-row inserts run without a statement savepoint (they check
    // everything before writing); a failure after their first write, here a
    // buffer pool too small for the transaction, rolls the transaction back.
    let vfs = SimVfs::new(11);
    let opts = Options { pool_bytes: 16 * 4096, pool_cap_bytes: 16 * 4096, ..Options::default() };
    let db = Database::open_on(Arc::new(vfs.clone()), Path::new("small.db"), opts).unwrap();
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)", ()).unwrap();
    db.execute("INSERT INTO t VALUES (1, zeroblob(100))", ()).unwrap();
    let tx = db.transaction().unwrap();
    let mut failure = None;
    for id in 2..1000 {
        if let Err(e) = tx.execute("INSERT INTO t VALUES (?, zeroblob(3000))", [id]) {
            failure = Some(e);
            break;
        }
    }
    let e = failure.expect("the pool fills up");
    assert!(matches!(e, Error::BufferPoolFull { .. }), "{e}");
    assert!(!db.in_transaction(), "the transaction ended");
    assert!(tx.commit().is_err(), "nothing left to commit");
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 1);
    db.execute("INSERT INTO t VALUES (2, zeroblob(10))", ()).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 2);
}

/// Found by the long fuzz run: an alias whose expression names the alias
/// itself (directly or through another alias) expanded forever, and the
/// recursion guard turned the overflow into an out-of-memory kill.
#[test]
fn an_alias_that_names_itself_is_no_such_column_not_endless_recursion() {
    let db = Database::open_in_memory().expect("open");
    for sql in ["SELECT c + 1 AS c", "SELECT a AS b, b AS a", "SELECT c / hex [c], -9223372036854775808"] {
        match db.query(sql, ()) {
            Err(waldb::Error::Sql(m)) => assert!(m.starts_with("no such column"), "{sql}: {m}"),
            other => panic!("{sql}: expected no such column, got {other:?}"),
        }
    }
    // Aliases still work where SQLite allows them.
    let n: i64 = db.query_row("SELECT 2 AS c WHERE c > 1", (), |r| r.get(0)).expect("alias in WHERE");
    assert_eq!(n, 2);
}
