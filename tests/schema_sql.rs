//! Targeted tests of schema evolution and introspection: `sqlite_schema` /
//! `sqlite_master`, `ALTER TABLE`, `AUTOINCREMENT`, `PRAGMA`s and `CHECK`
//! constraints — the edge cases SQLite documents, each also run on SQLite
//! (rusqlite, bundled) where the outcome is compared directly.

use waldb::{ConstraintKind, Database, Error, Value};

fn db() -> Database {
    Database::open_in_memory().expect("open")
}

fn rows(db: &Database, sql: &str) -> Vec<Vec<Value>> {
    db.query(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}")).values()
}

fn one(db: &Database, sql: &str) -> Value {
    rows(db, sql).into_iter().next().and_then(|r| r.into_iter().next()).unwrap_or(Value::Null)
}

fn int(i: i64) -> Value {
    Value::Integer(i)
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn err(db: &Database, sql: &str) -> String {
    match db.execute_batch(sql) {
        Ok(()) => panic!("{sql}: expected an error"),
        Err(e) => e.to_string(),
    }
}

/// Run `script` on SQLite and return the error of its last statement.
fn sqlite_err(script: &str) -> String {
    let c = rusqlite::Connection::open_in_memory().expect("sqlite");
    match c.execute_batch(script) {
        Ok(()) => panic!("SQLite accepted {script}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn schema_table_answers_to_sqlite_names() {
    let db = db();
    db.execute_batch("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT UNIQUE); CREATE INDEX tb ON t(b); CREATE VIEW v AS SELECT a FROM t;")
        .expect("schema");
    for name in ["sqlite_schema", "sqlite_master", "SQLITE_MASTER", "main.sqlite_master"] {
        let got = rows(&db, &format!("SELECT type, name, tbl_name FROM {name} WHERE sql IS NOT NULL ORDER BY name"));
        assert_eq!(
            got,
            vec![
                vec![text("table"), text("t"), text("t")],
                vec![text("index"), text("tb"), text("t")],
                vec![text("view"), text("v"), text("v")],
            ],
            "{name}"
        );
    }
    assert_eq!(one(&db, "SELECT rootpage FROM sqlite_master WHERE name = 'v'"), int(0));
    assert_eq!(one(&db, "SELECT count(*) FROM sqlite_master m WHERE m.type = 'table' AND m.rootpage > 0"), int(1));
    assert!(err(&db, "DELETE FROM sqlite_master").contains("may not be modified"));
    assert!(err(&db, "INSERT INTO sqlite_schema VALUES ('table', 'x', 'x', 0, NULL)").contains("may not be modified"));
    assert!(err(&db, "DROP TABLE sqlite_master").contains("may not be dropped"));
    assert!(err(&db, "CREATE INDEX mi ON sqlite_master(name)").contains("may not be indexed"));
    assert!(err(&db, "CREATE TABLE sqlite_x(a)").contains("reserved for internal use"));
    assert!(sqlite_err("CREATE TABLE sqlite_x(a)").contains("reserved for internal use"));
}

#[test]
fn alter_table_rename_to_moves_rows_indexes_and_sequence() {
    let db = db();
    db.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT UNIQUE, c INTEGER); CREATE INDEX tc ON t(c);
         INSERT INTO t(b, c) VALUES ('x', 1), ('y', 2);
         ALTER TABLE t RENAME TO u;",
    )
    .expect("rename");
    assert!(err(&db, "SELECT * FROM t").contains("no such table"));
    assert_eq!(rows(&db, "SELECT id, b, c FROM u WHERE c = 2"), vec![vec![int(2), text("y"), int(2)]]);
    assert_eq!(one(&db, "SELECT tbl_name FROM sqlite_master WHERE name = 'tc'"), text("u"));
    assert_eq!(rows(&db, "SELECT name, seq FROM sqlite_sequence"), vec![vec![text("u"), int(2)]]);
    // The unique index still works under its new name.
    let e = db.execute("INSERT INTO u(b, c) VALUES ('x', 3)", ()).expect_err("unique");
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Unique, .. }), "{e}");
    assert!(err(&db, "CREATE TABLE w(a); ALTER TABLE u RENAME TO w").contains("already another table"));
    db.check_integrity().expect("integrity");
}

#[test]
fn alter_table_is_transactional() {
    let db = db();
    db.execute_batch("CREATE TABLE t(a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x');").expect("setup");
    db.execute_batch(
        "BEGIN; ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 7; ALTER TABLE t RENAME COLUMN a TO z;
         ALTER TABLE t DROP COLUMN b; ALTER TABLE t RENAME TO u;",
    )
    .expect("alter in txn");
    assert_eq!(rows(&db, "SELECT * FROM u"), vec![vec![int(1), int(7)]]);
    db.execute("ROLLBACK", ()).expect("rollback");
    assert_eq!(rows(&db, "SELECT * FROM t"), vec![vec![int(1), text("x")]]);
    assert_eq!(rows(&db, "PRAGMA table_info(t)").len(), 2);
    assert!(err(&db, "SELECT * FROM u").contains("no such table"));
    db.check_integrity().expect("integrity");
}

#[test]
fn add_column_follows_sqlites_restrictions() {
    let db = db();
    db.execute_batch("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1), (2);").expect("setup");
    let setup = "CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1), (2);";
    for (alter, needle) in [
        ("ALTER TABLE t ADD COLUMN b INTEGER PRIMARY KEY", "Cannot add a PRIMARY KEY column"),
        ("ALTER TABLE t ADD COLUMN b INTEGER UNIQUE", "Cannot add a UNIQUE column"),
        ("ALTER TABLE t ADD COLUMN b INTEGER NOT NULL", "Cannot add a NOT NULL column with default value NULL"),
        ("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT (1 + 1)", "Cannot add a column with non-constant default"),
        ("ALTER TABLE t ADD COLUMN a TEXT", "duplicate column name: a"),
        ("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 3 CHECK (b > 3)", "CHECK constraint failed"),
    ] {
        assert!(err(&db, alter).contains(needle), "{alter}: {}", err(&db, alter));
        assert!(sqlite_err(&format!("{setup} {alter}")).contains(needle), "SQLite on {alter}");
    }
    db.execute("ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'd'", ()).expect("add");
    db.execute("ALTER TABLE t ADD COLUMN c REAL DEFAULT -1.5 CHECK (c < 0)", ()).expect("add");
    assert_eq!(rows(&db, "SELECT * FROM t WHERE a = 2"), vec![vec![int(2), text("d"), Value::Real(-1.5)]]);
    db.execute("INSERT INTO t(a) VALUES (3)", ()).expect("insert");
    assert_eq!(rows(&db, "SELECT b, c FROM t WHERE a = 3"), vec![vec![text("d"), Value::Real(-1.5)]]);
    let e = db.execute("INSERT INTO t(a, c) VALUES (4, 1.0)", ()).expect_err("check");
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Check, .. }), "{e}");
    db.check_integrity().expect("integrity");
}

#[test]
fn drop_column_refuses_what_sqlite_refuses() {
    let setup = "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT UNIQUE, c INTEGER, d INTEGER, e INTEGER, CHECK (e > 0));
                 CREATE INDEX tc ON t(c); CREATE VIEW v AS SELECT d FROM t; INSERT INTO t VALUES (1, 'x', 2, 3, 4);";
    let db = db();
    db.execute_batch(setup).expect("setup");
    for (alter, needle) in [
        ("ALTER TABLE t DROP COLUMN a", "cannot drop PRIMARY KEY column"),
        ("ALTER TABLE t DROP COLUMN b", "cannot drop UNIQUE column"),
        ("ALTER TABLE t DROP COLUMN c", "error in index tc after drop column"),
        ("ALTER TABLE t DROP COLUMN d", "error in view v after drop column"),
        ("ALTER TABLE t DROP COLUMN e", "error in table t after drop column"),
        ("ALTER TABLE t DROP COLUMN zz", "no such column"),
    ] {
        assert!(err(&db, alter).contains(needle), "{alter}: {}", err(&db, alter));
        assert!(sqlite_err(&format!("{setup} {alter}")).contains(needle), "SQLite on {alter}");
    }
    db.execute_batch("DROP VIEW v; ALTER TABLE t DROP COLUMN d;").expect("drop");
    assert_eq!(rows(&db, "SELECT * FROM t"), vec![vec![int(1), text("x"), int(2), int(4)]]);
    assert_eq!(one(&db, "SELECT a FROM t WHERE c = 2"), int(1));
    let only = "CREATE TABLE o(a); ALTER TABLE o DROP COLUMN a";
    assert!(err(&db, only).contains("no other columns exist"));
    assert!(sqlite_err(only).contains("no other columns exist"));
    db.check_integrity().expect("integrity");
}

#[test]
fn rename_column_updates_constraints_and_indexes() {
    let db = db();
    db.execute_batch(
        "CREATE TABLE t(a INTEGER, b INTEGER CHECK (b >= a), UNIQUE (a, b)); CREATE INDEX tb ON t(b DESC);
         INSERT INTO t VALUES (1, 2); ALTER TABLE t RENAME COLUMN a TO x; ALTER TABLE t RENAME b TO y;",
    )
    .expect("rename");
    assert_eq!(rows(&db, "SELECT x, y FROM t WHERE y = 2"), vec![vec![int(1), int(2)]]);
    let e = db.execute("INSERT INTO t VALUES (5, 4)", ()).expect_err("check");
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Check, .. }), "{e}");
    let e = db.execute("INSERT INTO t VALUES (1, 2)", ()).expect_err("unique");
    assert!(matches!(e, Error::Constraint { kind: ConstraintKind::Unique, .. }), "{e}");
    assert_eq!(rows(&db, "PRAGMA index_info(tb)"), vec![vec![int(0), int(1), text("y")]]);
    assert!(err(&db, "ALTER TABLE t RENAME COLUMN x TO y").contains("duplicate column name"));
    assert!(err(&db, "ALTER TABLE t RENAME COLUMN q TO r").contains("no such column"));
    db.check_integrity().expect("integrity");
}

#[test]
fn autoincrement_never_reuses_a_rowid() {
    let db = db();
    db.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
         INSERT INTO t(v) VALUES ('a'), ('b'), ('c'); DELETE FROM t WHERE id = 3; INSERT INTO t(v) VALUES ('d');",
    )
    .expect("autoinc");
    assert_eq!(one(&db, "SELECT max(id) FROM t"), int(4));
    db.execute_batch("DELETE FROM t; INSERT INTO t(v) VALUES ('e');").expect("again");
    assert_eq!(one(&db, "SELECT id FROM t"), int(5));
    db.execute("INSERT INTO t VALUES (100, 'f')", ()).expect("explicit");
    db.execute_batch("DELETE FROM t WHERE id = 100; INSERT INTO t(v) VALUES ('g');").expect("after explicit");
    assert_eq!(one(&db, "SELECT max(id) FROM t"), int(101));
    assert_eq!(rows(&db, "SELECT name, seq FROM sqlite_sequence"), vec![vec![text("t"), int(101)]]);
    // A plain INTEGER PRIMARY KEY does reuse the largest rowid.
    db.execute_batch("CREATE TABLE p(id INTEGER PRIMARY KEY, v); INSERT INTO p(v) VALUES (1), (2); DELETE FROM p WHERE id = 2; INSERT INTO p(v) VALUES (3);").expect("plain");
    assert_eq!(one(&db, "SELECT max(id) FROM p"), int(2));
    // A rolled-back insert leaves the sequence where it was.
    db.execute_batch("BEGIN; INSERT INTO t(v) VALUES ('h'); ROLLBACK;").expect("rollback");
    assert_eq!(one(&db, "SELECT seq FROM sqlite_sequence WHERE name = 't'"), int(101));
    // Dropping the table forgets its sequence.
    db.execute("DROP TABLE t", ()).expect("drop");
    assert_eq!(one(&db, "SELECT count(*) FROM sqlite_sequence"), int(0));
    assert!(err(&db, "DROP TABLE sqlite_sequence").contains("may not be dropped"));
    for bad in [
        "CREATE TABLE b(id INTEGER PRIMARY KEY DESC AUTOINCREMENT)",
        "CREATE TABLE b(id INT PRIMARY KEY AUTOINCREMENT)",
    ] {
        assert!(err(&db, bad).contains("AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY"), "{bad}");
        assert!(sqlite_err(bad).contains("AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY"), "SQLite {bad}");
    }
    db.execute_batch(
        "CREATE TABLE f(id INTEGER PRIMARY KEY AUTOINCREMENT); INSERT INTO f VALUES (9223372036854775807);",
    )
    .expect("max");
    assert!(err(&db, "INSERT INTO f DEFAULT VALUES").contains("database or disk is full"));
    db.check_integrity().expect("integrity");
}

#[test]
fn pragmas_report_like_sqlite() {
    let db = db();
    db.execute_batch(
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x', c REAL DEFAULT -1, d, UNIQUE (c, d));
         CREATE INDEX tb ON t(b, d DESC);",
    )
    .expect("schema");
    assert_eq!(
        rows(&db, "PRAGMA table_info(t)"),
        vec![
            vec![int(0), text("a"), text("INTEGER"), int(0), Value::Null, int(1)],
            vec![int(1), text("b"), text("TEXT"), int(1), text("'x'"), int(0)],
            vec![int(2), text("c"), text("REAL"), int(0), text("-1"), int(0)],
            vec![int(3), text("d"), text(""), int(0), Value::Null, int(0)],
        ]
    );
    assert_eq!(rows(&db, "PRAGMA table_xinfo('t')").len(), 4);
    assert_eq!(rows(&db, "PRAGMA table_info(nope)"), Vec::<Vec<Value>>::new());
    assert_eq!(
        rows(&db, "PRAGMA index_list(t)"),
        vec![
            vec![int(0), text("tb"), int(0), text("c"), int(0)],
            vec![int(1), text("waldb_autoindex_t_1"), int(1), text("u"), int(0)],
        ]
    );
    assert_eq!(
        rows(&db, "PRAGMA index_info(tb)"),
        vec![vec![int(0), int(1), text("b")], vec![int(1), int(3), text("d")]]
    );
    assert_eq!(rows(&db, "PRAGMA index_xinfo(tb)").len(), 3);
    assert_eq!(one(&db, "PRAGMA user_version"), int(0));
    db.execute("PRAGMA user_version = -7", ()).expect("set");
    assert_eq!(one(&db, "PRAGMA user_version"), int(-7));
    db.execute_batch("BEGIN; PRAGMA user_version = 3; ROLLBACK;").expect("txn");
    assert_eq!(one(&db, "PRAGMA main.user_version"), int(-7));
    db.execute("PRAGMA application_id = 1234", ()).expect("set");
    assert_eq!(one(&db, "PRAGMA application_id"), int(1234));
    assert_eq!(one(&db, "PRAGMA journal_mode"), text("wal"));
    assert_eq!(one(&db, "PRAGMA journal_mode = DELETE"), text("wal"));
    assert_eq!(one(&db, "PRAGMA foreign_keys"), int(0));
    assert_eq!(one(&db, "PRAGMA page_size"), int(4096));
    assert!(matches!(one(&db, "PRAGMA page_count"), Value::Integer(n) if n > 3));
    assert_eq!(one(&db, "PRAGMA integrity_check"), text("ok"));
    assert_eq!(one(&db, "PRAGMA quick_check"), text("ok"));
    assert!(matches!(db.execute("PRAGMA no_such_pragma", ()), Err(Error::NotSupported(_))));
}

#[test]
fn user_version_survives_reopening() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("v.db");
    {
        let db = Database::open(&path).expect("open");
        db.execute("PRAGMA user_version = 42", ()).expect("set");
        db.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, c CHECK (c > 0)); INSERT INTO t(c) VALUES (1);",
        )
        .expect("t");
        db.execute("ALTER TABLE t ADD COLUMN d TEXT DEFAULT 'z'", ()).expect("alter");
        db.close().expect("close");
    }
    let db = Database::open(&path).expect("reopen");
    assert_eq!(one(&db, "PRAGMA user_version"), int(42));
    assert_eq!(rows(&db, "SELECT * FROM t"), vec![vec![int(1), int(1), text("z")]]);
    assert!(db.execute("INSERT INTO t(c) VALUES (0)", ()).is_err());
    assert_eq!(one(&db, "SELECT seq FROM sqlite_sequence"), int(1));
}

#[test]
fn check_constraints_follow_sqlites_rules() {
    let db = db();
    db.execute_batch("CREATE TABLE t(a INTEGER CHECK (a > 0), b INTEGER, CONSTRAINT bc CHECK (b <> a));").expect("t");
    db.execute("INSERT INTO t VALUES (1, 2)", ()).expect("ok");
    // NULL passes a CHECK.
    db.execute("INSERT INTO t VALUES (NULL, NULL)", ()).expect("null passes");
    let e = db.execute("INSERT INTO t VALUES (0, 2)", ()).expect_err("column check");
    assert_eq!(e.to_string(), "CHECK constraint failed: a > 0");
    let e = db.execute("INSERT INTO t VALUES (2, 2)", ()).expect_err("table check");
    assert_eq!(e.to_string(), "CHECK constraint failed: bc");
    assert_eq!(db.execute("INSERT OR IGNORE INTO t VALUES (-1, 5)", ()).expect("ignored"), 0);
    assert!(db.execute("UPDATE t SET a = -1 WHERE a = 1", ()).is_err());
    assert_eq!(one(&db, "SELECT count(*) FROM t"), int(2));
    // A failing row of a multi-row statement undoes the statement.
    assert!(db.execute("INSERT INTO t VALUES (5, 6), (7, 7)", ()).is_err());
    assert_eq!(one(&db, "SELECT count(*) FROM t"), int(2));
    assert!(err(&db, "CREATE TABLE u(a CHECK (zz > 0))").contains("no such column"));
    assert!(sqlite_err("CREATE TABLE u(a CHECK (zz > 0))").contains("no such column"));
    assert!(err(&db, "CREATE TABLE u(a CHECK (a IN (SELECT 1)))").contains("subqueries prohibited"));
}

#[test]
fn dropping_a_handle_inside_begin_rolls_the_schema_change_back() {
    // Used to hang: the engine closed (waiting for the writer) before the
    // open transaction was dropped.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("d.db");
    {
        let db = Database::open(&path).expect("open");
        db.execute_batch("CREATE TABLE t(a INTEGER); BEGIN; ALTER TABLE t ADD COLUMN b TEXT; PRAGMA user_version = 9;")
            .expect("txn");
    }
    let db = Database::open(&path).expect("reopen");
    assert_eq!(rows(&db, "PRAGMA table_info(t)").len(), 1);
    assert_eq!(one(&db, "PRAGMA user_version"), int(0));
}
