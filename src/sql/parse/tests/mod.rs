//! Unit tests of the parser: statements and queries here, expressions,
//! errors, limits and the no-panic property in [`expr`].

use super::*;
use crate::sql::ast::{Expr, FromItem, JoinKind, SelectItem, SetExpr, SetOp, Statement, TableConstraint};

// --- helpers -----------------------------------------------------------

fn all(sql: &str) -> Vec<Statement> {
    parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn one(sql: &str) -> Statement {
    let mut statements = all(sql);
    assert_eq!(statements.len(), 1, "{sql}");
    statements.remove(0)
}

fn err(sql: &str) -> Error {
    match parse(sql) {
        Ok(statements) => panic!("{sql} parsed: {statements:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_not_supported(sql: &str, needle: &str) {
    match err(sql) {
        Error::NotSupported(message) => assert!(message.contains(needle), "{sql}: {message:?} lacks {needle:?}"),
        other => panic!("{sql}: expected NotSupported, got {other:?}"),
    }
}

#[track_caller]
fn assert_sql_error(sql: &str, needle: &str) {
    match err(sql) {
        Error::Sql(message) => assert!(message.contains(needle), "{sql}: {message:?} lacks {needle:?}"),
        other => panic!("{sql}: expected Error::Sql, got {other:?}"),
    }
}

fn query_of(statement: Statement) -> Query {
    match statement {
        Statement::Query(q) => *q,
        other => panic!("not a query: {other:?}"),
    }
}

fn select_of(sql: &str) -> Select {
    match query_of(one(sql)).body {
        SetExpr::Select(s) => *s,
        other => panic!("not a select: {other:?}"),
    }
}

/// The expression `e` in `SELECT e`.
fn expr(e: &str) -> Expr {
    let mut select = select_of(&format!("SELECT {e}"));
    assert_eq!(select.items.len(), 1, "{e}");
    match select.items.remove(0) {
        SelectItem::Expr { expr, alias: None } => expr,
        other => panic!("{e}: {other:?}"),
    }
}

fn int(i: i64) -> Expr {
    Expr::Literal(Value::Integer(i))
}
fn real(r: f64) -> Expr {
    Expr::Literal(Value::Real(r))
}
fn text(s: &str) -> Expr {
    Expr::Literal(Value::Text(s.into()))
}
fn null() -> Expr {
    Expr::Literal(Value::Null)
}
fn col(name: &str) -> Expr {
    Expr::Column { table: None, name: name.into() }
}
fn qcol(table: &str, name: &str) -> Expr {
    Expr::Column { table: Some(table.into()), name: name.into() }
}
fn bin(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(left), right: Box::new(right) }
}
fn un(op: UnaryOp, e: Expr) -> Expr {
    Expr::Unary { op, expr: Box::new(e) }
}
fn func(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function { name: name.into(), args, distinct: false, star: false }
}
fn item(e: Expr) -> SelectItem {
    SelectItem::Expr { expr: e, alias: None }
}
fn aliased(e: Expr, alias: &str) -> SelectItem {
    SelectItem::Expr { expr: e, alias: Some(alias.into()) }
}
fn table(name: &str) -> FromItem {
    FromItem::Table { name: name.into(), alias: None }
}
fn table_as(name: &str, alias: &str) -> FromItem {
    FromItem::Table { name: name.into(), alias: Some(alias.into()) }
}
fn join(left: FromItem, right: FromItem, kind: JoinKind, on: Option<Expr>) -> FromItem {
    FromItem::Join { left: Box::new(left), right: Box::new(right), kind, on, using: Vec::new(), natural: false }
}
fn select(items: Vec<SelectItem>, from: Vec<FromItem>) -> Select {
    Select { distinct: false, items, from, filter: None, group_by: Vec::new(), having: None }
}
fn query(body: SetExpr) -> Query {
    Query { with: None, body, order_by: Vec::new(), limit: None, offset: None }
}
fn select_query(s: Select) -> Query {
    query(SetExpr::Select(Box::new(s)))
}
/// `SELECT <e>` as a set-expression operand.
fn select_value(e: Expr) -> SetExpr {
    SetExpr::Select(Box::new(select(vec![item(e)], Vec::new())))
}
fn compound(op: SetOp, left: SetExpr, right: SetExpr) -> SetExpr {
    SetExpr::Compound { op, left: Box::new(left), right: Box::new(right) }
}
fn column(name: &str, type_name: Option<&str>) -> ColumnDef {
    ColumnDef::new(name.into(), type_name.map(String::from))
}

/// Run `f` on a thread with a 64 MiB stack, as callers must.
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap_or_else(|e| panic!("cannot spawn a thread: {e}"));
    handle.join().unwrap_or_else(|_| panic!("the parsing thread panicked"))
}

// --- statements: DDL ----------------------------------------------------

#[test]
fn create_table_with_column_options_and_constraints() {
    let sql = "CREATE TABLE IF NOT EXISTS t1(a INTEGER PRIMARY KEY DESC, b VARCHAR(10) NOT NULL UNIQUE DEFAULT 'x', \
               c FLOAT NULL, d, e TEXT DEFAULT -1, f INT PRIMARY KEY ASC, CONSTRAINT pk PRIMARY KEY(a, b DESC), UNIQUE(c, d))";
    let expected = Statement::CreateTable {
        name: "t1".into(),
        if_not_exists: true,
        columns: vec![
            ColumnDef { primary_key: true, primary_key_desc: true, ..column("a", Some("INTEGER")) },
            ColumnDef { not_null: true, unique: true, default: Some(text("x")), ..column("b", Some("VARCHAR(10)")) },
            column("c", Some("FLOAT")),
            column("d", None),
            ColumnDef { default: Some(int(-1)), ..column("e", Some("TEXT")) },
            ColumnDef { primary_key: true, ..column("f", Some("INT")) },
        ],
        constraints: vec![
            TableConstraint::PrimaryKey(vec!["a".into(), "b".into()]),
            TableConstraint::Unique(vec!["c".into(), "d".into()]),
        ],
    };
    assert_eq!(one(sql), expected);
}

#[test]
fn create_table_keeps_type_names_upper_cased() {
    let sql = "CREATE TABLE main.t(a integer, b varchar(10), c float, d real, e text, f double precision, \
               g numeric(10,2), h varchar(-1), i blob, j \"my type\")";
    let Statement::CreateTable { name, columns, if_not_exists: false, constraints } = one(sql) else {
        panic!("not CREATE TABLE");
    };
    assert_eq!(name, "t");
    assert!(constraints.is_empty());
    let types: Vec<Option<String>> = columns.into_iter().map(|c| c.type_name).collect();
    let expected = [
        "INTEGER",
        "VARCHAR(10)",
        "FLOAT",
        "REAL",
        "TEXT",
        "DOUBLE PRECISION",
        "NUMERIC(10,2)",
        "VARCHAR(-1)",
        "BLOB",
        "MY TYPE",
    ];
    assert_eq!(types, expected.map(|t| Some(t.to_string())));
}

#[test]
fn create_table_rejects_what_it_cannot_represent() {
    assert_not_supported("CREATE TEMP TABLE t(a)", "TEMP tables");
    assert_not_supported("CREATE TABLE temp.t(a)", "TEMP tables");
    assert_not_supported("CREATE TABLE t AS SELECT 1", "AS SELECT");
    assert_not_supported("CREATE TABLE t(a) WITHOUT ROWID", "WITHOUT ROWID");
    assert_not_supported("CREATE TABLE t(a INTEGER AUTOINCREMENT)", "AUTOINCREMENT");
    assert_not_supported("CREATE TABLE t(a REFERENCES u(x))", "foreign keys");
    assert_not_supported("CREATE TABLE t(a TEXT COLLATE nocase)", "COLLATE");
    assert_not_supported("CREATE TABLE t(a PRIMARY KEY ON CONFLICT REPLACE)", "ON CONFLICT");
    assert_not_supported("CREATE TABLE t(a, PRIMARY KEY(a COLLATE nocase))", "COLLATE");
    assert_not_supported("CREATE TABLE t(a, UNIQUE(a + 1))", "expressions");
    assert_not_supported("CREATE TABLE other.t(a)", "schema `other`");
    assert_not_supported("CREATE TABLE t(a) COMMENT 'x'", "CREATE TABLE clauses");
}

#[test]
fn drop_statements() {
    assert_eq!(one("DROP TABLE t1"), Statement::DropTable { name: "t1".into(), if_exists: false });
    assert_eq!(one("DROP TABLE IF EXISTS main.t1"), Statement::DropTable { name: "t1".into(), if_exists: true });
    assert_eq!(one("DROP INDEX i1"), Statement::DropIndex { name: "i1".into(), if_exists: false });
    assert_eq!(one("DROP INDEX IF EXISTS i1"), Statement::DropIndex { name: "i1".into(), if_exists: true });
    assert_eq!(one("DROP VIEW v1"), Statement::DropView { name: "v1".into(), if_exists: false });
    assert_eq!(one("DROP VIEW IF EXISTS v1"), Statement::DropView { name: "v1".into(), if_exists: true });
    assert_not_supported("DROP TABLE t1, t2", "several objects");
    assert_not_supported("DROP TABLE t1 CASCADE", "options of DROP");
    assert_not_supported("DROP TRIGGER tr", "DROP TRIGGER");
}

#[test]
fn create_index() {
    assert_eq!(
        one("CREATE UNIQUE INDEX IF NOT EXISTS main.i1 ON t1(a DESC, b ASC, c)"),
        Statement::CreateIndex {
            name: "i1".into(),
            table: "t1".into(),
            columns: vec![
                IndexColumn { name: "a".into(), desc: true },
                IndexColumn { name: "b".into(), desc: false },
                IndexColumn { name: "c".into(), desc: false },
            ],
            unique: true,
            if_not_exists: true,
        }
    );
    assert_eq!(
        one("CREATE INDEX i2 ON t1(a)"),
        Statement::CreateIndex {
            name: "i2".into(),
            table: "t1".into(),
            columns: vec![IndexColumn { name: "a".into(), desc: false }],
            unique: false,
            if_not_exists: false,
        }
    );
    assert_not_supported("CREATE INDEX i ON t(a) WHERE a > 0", "partial indexes");
    assert_not_supported("CREATE INDEX i ON t(a + 1)", "indexes on expressions");
    assert_not_supported("CREATE INDEX i ON t(a COLLATE nocase)", "COLLATE");
}

#[test]
fn create_view() {
    let expected_query = select_query(select(vec![item(col("a")), item(col("b"))], vec![table("t1")]));
    assert_eq!(
        one("CREATE TEMP VIEW IF NOT EXISTS v1(x, y) AS SELECT a, b FROM t1"),
        Statement::CreateView {
            name: "v1".into(),
            if_not_exists: true,
            columns: vec!["x".into(), "y".into()],
            query: Box::new(expected_query.clone()),
            query_sql: "SELECT a, b FROM t1".into(),
        }
    );
    assert_eq!(
        one("CREATE VIEW v2 AS SELECT a, b FROM t1"),
        Statement::CreateView {
            name: "v2".into(),
            if_not_exists: false,
            columns: Vec::new(),
            query: Box::new(expected_query),
            query_sql: "SELECT a, b FROM t1".into(),
        }
    );
    assert_eq!(
        one("CREATE TEMPORARY VIEW v3 AS SELECT 1"),
        Statement::CreateView {
            name: "v3".into(),
            if_not_exists: false,
            columns: Vec::new(),
            query: Box::new(select_query(select(vec![item(int(1))], Vec::new()))),
            query_sql: "SELECT 1".into(),
        }
    );
    assert_not_supported("CREATE MATERIALIZED VIEW v AS SELECT 1", "materialized");
}

// --- statements: DML ----------------------------------------------------

#[test]
fn insert_forms() {
    assert_eq!(
        one("INSERT INTO t(a, b) VALUES (1, 'x'), (2, NULL)"),
        Statement::Insert {
            table: "t".into(),
            columns: Some(vec!["a".into(), "b".into()]),
            source: InsertSource::Values(vec![vec![int(1), text("x")], vec![int(2), null()]]),
            on_conflict: OnConflict::Abort,
            upsert: Vec::new(),
            returning: Vec::new(),
        }
    );
    // The conflict clause, however it is spelled.
    for (sql, on_conflict) in [
        ("INSERT OR REPLACE INTO main.t VALUES (1)", OnConflict::Replace),
        ("REPLACE INTO t VALUES (1)", OnConflict::Replace),
        ("INSERT OR IGNORE INTO t VALUES (1)", OnConflict::Ignore),
        ("INSERT OR FAIL INTO t VALUES (1)", OnConflict::Fail),
        ("INSERT OR ROLLBACK INTO t VALUES (1)", OnConflict::Rollback),
        ("INSERT OR ABORT INTO t VALUES (1)", OnConflict::Abort),
    ] {
        let expected = Statement::Insert {
            table: "t".into(),
            columns: None,
            source: InsertSource::Values(vec![vec![int(1)]]),
            on_conflict,
            upsert: Vec::new(),
            returning: Vec::new(),
        };
        assert_eq!(one(sql), expected, "{sql}");
    }
    assert_eq!(
        one("INSERT INTO t DEFAULT VALUES"),
        Statement::Insert {
            table: "t".into(),
            columns: None,
            source: InsertSource::DefaultValues,
            on_conflict: OnConflict::Abort,
            upsert: Vec::new(),
            returning: Vec::new(),
        }
    );
    assert_eq!(
        one("INSERT INTO t(a) SELECT x FROM u"),
        Statement::Insert {
            table: "t".into(),
            columns: Some(vec!["a".into()]),
            source: InsertSource::Query(Box::new(select_query(select(vec![item(col("x"))], vec![table("u")])))),
            on_conflict: OnConflict::Abort,
            upsert: Vec::new(),
            returning: Vec::new(),
        }
    );
    assert_sql_error("INSERT INTO t VALUES (1, 2), (3)", "same number of terms");
    // Upserts: a target or none, DO NOTHING or DO UPDATE with its WHERE.
    let upsert_of = |sql: &str| match one(sql) {
        Statement::Insert { upsert, .. } => upsert,
        other => panic!("not an INSERT: {other:?}"),
    };
    assert_eq!(
        upsert_of("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING"),
        vec![Upsert { target: None, target_filter: None, assignments: Vec::new(), filter: None }]
    );
    assert_eq!(
        upsert_of("INSERT INTO t VALUES (1) ON CONFLICT (a, b) WHERE a > 1 DO UPDATE SET c = excluded.c WHERE c < 2"),
        vec![Upsert {
            target: Some(vec!["a".into(), "b".into()]),
            target_filter: Some(bin(BinaryOp::Gt, col("a"), int(1))),
            assignments: vec![("c".into(), qcol("excluded", "c"))],
            filter: Some(bin(BinaryOp::Lt, col("c"), int(2))),
        }]
    );
    assert_not_supported("INSERT INTO t VALUES (1) ON CONFLICT ON CONSTRAINT k DO NOTHING", "ON CONSTRAINT");
    // Several clauses, kept in order (sqlparser reads one: the others are
    // cut out and parsed apart), then RETURNING; in a batch, each INSERT
    // gets its own.
    let statements = all("INSERT INTO t VALUES (1) ON CONFLICT (a) DO NOTHING ON CONFLICT (b) DO UPDATE SET c = 1 \
         ON CONFLICT DO NOTHING RETURNING a; ; SELECT 1; INSERT INTO t SELECT 2 WHERE true ON CONFLICT (c) \
         DO NOTHING ON CONFLICT DO UPDATE SET a = (SELECT 1)");
    assert_eq!(statements.len(), 3);
    let targets = |s: &Statement| match s {
        Statement::Insert { upsert, returning, .. } => {
            (upsert.iter().map(|u| u.target.clone()).collect::<Vec<_>>(), returning.len())
        }
        other => panic!("not an INSERT: {other:?}"),
    };
    assert_eq!(targets(&statements[0]), (vec![Some(vec!["a".into()]), Some(vec!["b".into()]), None], 1));
    assert_eq!(targets(&statements[2]).0, vec![Some(vec!["c".into()]), None]);
    assert_eq!(
        one("INSERT INTO t VALUES (1) RETURNING a, *"),
        Statement::Insert {
            table: "t".into(),
            columns: None,
            source: InsertSource::Values(vec![vec![int(1)]]),
            on_conflict: OnConflict::Abort,
            upsert: Vec::new(),
            returning: vec![item(col("a")), SelectItem::Wildcard],
        }
    );
}

#[test]
fn update_and_delete() {
    assert_eq!(
        one("UPDATE t SET t.a = 1, b = b + 1 WHERE c > 2"),
        Statement::Update {
            with: None,
            table: "t".into(),
            assignments: vec![("a".into(), int(1)), ("b".into(), bin(BinaryOp::Add, col("b"), int(1)))],
            filter: Some(bin(BinaryOp::Gt, col("c"), int(2))),
            returning: Vec::new(),
        }
    );
    assert_eq!(
        one("UPDATE main.t SET a = NULL"),
        Statement::Update {
            with: None,
            table: "t".into(),
            assignments: vec![("a".into(), null())],
            filter: None,
            returning: Vec::new()
        }
    );
    assert_eq!(
        one("DELETE FROM t WHERE a = 1"),
        Statement::Delete {
            with: None,
            table: "t".into(),
            filter: Some(bin(BinaryOp::Eq, col("a"), int(1))),
            returning: Vec::new()
        }
    );
    assert_eq!(one("DELETE FROM main.t"), Statement::Delete { with: None, table: "t".into(), filter: None, returning: Vec::new() });
    assert_not_supported("UPDATE OR REPLACE t SET a = 1", "UPDATE OR REPLACE");
    assert_not_supported("UPDATE t SET a = u.b FROM u", "UPDATE … FROM");
    assert_not_supported("UPDATE t SET (a, b) = (1, 2)", "row-value assignments");
    assert_sql_error("DELETE FROM t RETURNING t.*", "RETURNING may not use");
}

#[test]
fn transactions_and_explain() {
    for sql in ["BEGIN", "BEGIN TRANSACTION", "START TRANSACTION", "BEGIN DEFERRED TRANSACTION"] {
        assert_eq!(one(sql), Statement::Begin, "{sql}");
    }
    for sql in ["COMMIT", "COMMIT TRANSACTION", "END", "END TRANSACTION"] {
        assert_eq!(one(sql), Statement::Commit, "{sql}");
    }
    assert_eq!(one("ROLLBACK"), Statement::Rollback);
    assert_eq!(one("ROLLBACK TRANSACTION"), Statement::Rollback);
    assert_not_supported("ROLLBACK TO sp1", "savepoints");
    assert_not_supported("SAVEPOINT sp1", "SAVEPOINT statements");
    assert_not_supported("BEGIN IMMEDIATE", "BEGIN IMMEDIATE");
    let select_1 = Statement::Query(Box::new(select_query(select(vec![item(int(1))], Vec::new()))));
    assert_eq!(one("EXPLAIN SELECT 1"), Statement::Explain(Box::new(select_1.clone())));
    assert_eq!(one("EXPLAIN QUERY PLAN SELECT 1"), Statement::Explain(Box::new(select_1)));
    assert_eq!(
        one("EXPLAIN DELETE FROM t"),
        Statement::Explain(Box::new(Statement::Delete { with: None, table: "t".into(), filter: None, returning: Vec::new() }))
    );
}

#[test]
fn autoincrement_checks_alter_and_pragma() {
    let Statement::CreateTable { columns, constraints, .. } =
        one("CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT, b CONSTRAINT pos CHECK (b > 0), CHECK (a <> b))")
    else {
        panic!("not a CREATE TABLE")
    };
    assert!(columns[0].autoincrement && columns[0].primary_key);
    assert_eq!(columns[1].checks, vec![Check { name: Some("pos".into()), expr: bin(BinaryOp::Gt, col("b"), int(0)) }]);
    assert_eq!(
        constraints,
        vec![TableConstraint::Check(Check { name: None, expr: bin(BinaryOp::NotEq, col("a"), col("b")) })]
    );
    let alter = |sql: &str| match one(sql) {
        Statement::AlterTable { table, op } => (table, op),
        other => panic!("{sql}: {other:?}"),
    };
    assert_eq!(alter("ALTER TABLE t RENAME TO u"), ("t".into(), AlterOp::RenameTable("u".into())));
    assert_eq!(
        alter("ALTER TABLE main.t RENAME COLUMN a TO b"),
        ("t".into(), AlterOp::RenameColumn { old: "a".into(), new: "b".into() })
    );
    assert_eq!(alter("ALTER TABLE t DROP COLUMN a"), ("t".into(), AlterOp::DropColumn("a".into())));
    assert!(
        matches!(alter("ALTER TABLE t ADD b TEXT DEFAULT 'x'").1, AlterOp::AddColumn(ColumnDef { ref name, .. }) if name == "b")
    );
    let pragma = |sql: &str| match one(sql) {
        Statement::Pragma { name, value, assign } => (name, value, assign),
        other => panic!("{sql}: {other:?}"),
    };
    assert_eq!(pragma("PRAGMA table_info(t)"), ("table_info".into(), Some(Value::Text("t".into())), false));
    assert_eq!(pragma("PRAGMA main.Table_Info('t')"), ("table_info".into(), Some(Value::Text("t".into())), false));
    assert_eq!(pragma("PRAGMA user_version = -3"), ("user_version".into(), Some(Value::Integer(-3)), true));
    assert_eq!(pragma("PRAGMA journal_mode = WAL"), ("journal_mode".into(), Some(Value::Text("WAL".into())), true));
    assert_eq!(pragma("PRAGMA foreign_keys=ON"), ("foreign_keys".into(), Some(Value::Text("ON".into())), true));
    assert_eq!(pragma("PRAGMA page_count"), ("page_count".into(), None, false));
    // The rewrite is for PRAGMA only.
    assert_eq!(all("PRAGMA user_version; SELECT (1)").len(), 2);
}

#[test]
fn unsupported_statements_are_named() {
    assert_not_supported("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", "CREATE TRIGGER statements");
    assert_not_supported("ALTER TABLE t ADD COLUMN b INTEGER, ADD COLUMN c INTEGER", "several operations");
    assert_not_supported("VACUUM", "VACUUM statements");
    assert_not_supported("ATTACH DATABASE 'x.db' AS x", "ATTACH DATABASE statements");
}

#[test]
fn with_clauses() {
    let q = query_of(one(
        "WITH RECURSIVE c(n) AS NOT MATERIALIZED (SELECT 1), d AS MATERIALIZED (SELECT 2) SELECT n FROM c",
    ));
    let Some(with) = q.with else { panic!("no WITH") };
    assert!(with.recursive);
    let names: Vec<_> = with.ctes.iter().map(|c| (c.name.as_str(), c.columns.clone(), c.materialized)).collect();
    // The hints are dropped with the tokens (sqlparser's SQLite dialect
    // does not parse them); they change no result.
    assert_eq!(names, vec![("c", vec!["n".to_string()], None), ("d", Vec::new(), None)]);
    // A column alias named `materialized` is still an alias.
    let q = query_of(one("SELECT 1 AS materialized"));
    assert!(q.to_string().contains("materialized"), "{q}");
}

#[test]
fn several_and_empty_statements() {
    assert_eq!(all(""), Vec::new());
    assert_eq!(all(" ;; ; -- comment\n"), Vec::new());
    let statements = all("BEGIN; SELECT 1;; COMMIT;");
    assert_eq!(statements.len(), 3);
    assert_eq!(statements.first(), Some(&Statement::Begin));
    assert_eq!(statements.last(), Some(&Statement::Commit));
}

// --- queries -------------------------------------------------------------

#[test]
fn select_with_every_clause() {
    let q =
        query_of(one("SELECT DISTINCT a AS x, t.b y, *, t.* FROM t WHERE a > 1 GROUP BY a, b HAVING count(*) > 1 \
         ORDER BY 1 DESC, a NULLS FIRST, b ASC NULLS LAST LIMIT 10 OFFSET 5"));
    let expected = Query {
        with: None,
        body: SetExpr::Select(Box::new(Select {
            distinct: true,
            items: vec![
                aliased(col("a"), "x"),
                aliased(qcol("t", "b"), "y"),
                SelectItem::Wildcard,
                SelectItem::QualifiedWildcard("t".into()),
            ],
            from: vec![table("t")],
            filter: Some(bin(BinaryOp::Gt, col("a"), int(1))),
            group_by: vec![col("a"), col("b")],
            having: Some(bin(
                BinaryOp::Gt,
                Expr::Function { name: "count".into(), args: Vec::new(), distinct: false, star: true },
                int(1),
            )),
        })),
        order_by: vec![
            OrderItem { expr: int(1), desc: true, nulls_first: None },
            OrderItem { expr: col("a"), desc: false, nulls_first: Some(true) },
            OrderItem { expr: col("b"), desc: false, nulls_first: Some(false) },
        ],
        limit: Some(int(10)),
        offset: Some(int(5)),
    };
    assert_eq!(q, expected);
}

#[test]
fn select_all_and_string_alias() {
    assert_eq!(select_of("SELECT ALL a 'x' FROM t"), select(vec![aliased(col("a"), "x")], vec![table("t")]));
}

#[test]
fn limit_comma_is_offset_then_limit() {
    let q = query_of(one("SELECT a FROM t LIMIT 5, 10"));
    assert_eq!(q.limit, Some(int(10)));
    assert_eq!(q.offset, Some(int(5)));
    let q = query_of(one("SELECT a FROM t LIMIT ?"));
    assert_eq!((q.limit, q.offset), (Some(Expr::Param(None)), None));
}

#[test]
fn compound_selects_associate_left_to_right() {
    // sqlparser binds INTERSECT tighter; SQLite does not.
    let q = query_of(one(
        "SELECT 1 UNION SELECT 2 UNION ALL SELECT 3 EXCEPT SELECT 4 INTERSECT SELECT 5 ORDER BY 1 LIMIT 2",
    ));
    let body = compound(
        SetOp::Intersect,
        compound(
            SetOp::Except,
            compound(
                SetOp::UnionAll,
                compound(SetOp::Union, select_value(int(1)), select_value(int(2))),
                select_value(int(3)),
            ),
            select_value(int(4)),
        ),
        select_value(int(5)),
    );
    assert_eq!(
        q,
        Query {
            with: None,
            body,
            order_by: vec![OrderItem { expr: int(1), desc: false, nulls_first: None }],
            limit: Some(int(2)),
            offset: None
        }
    );
}

#[test]
fn parenthesised_queries() {
    // Parentheses with their own ORDER BY/LIMIT stay; plain ones vanish.
    let q = query_of(one("(SELECT 1 ORDER BY 1 LIMIT 1) UNION (SELECT 2)"));
    let inner = Query {
        with: None,
        body: select_value(int(1)),
        order_by: vec![OrderItem { expr: int(1), desc: false, nulls_first: None }],
        limit: Some(int(1)),
        offset: None,
    };
    assert_eq!(q, query(compound(SetOp::Union, SetExpr::Query(Box::new(inner)), select_value(int(2)))));
    assert_eq!(query_of(one("((SELECT 7))")), query(select_value(int(7))));
    // A parenthesised compound on the right keeps its grouping.
    let q = query_of(one("SELECT 1 EXCEPT (SELECT 2 UNION SELECT 3)"));
    assert_eq!(
        q,
        query(compound(
            SetOp::Except,
            select_value(int(1)),
            compound(SetOp::Union, select_value(int(2)), select_value(int(3)))
        ))
    );
}

#[test]
fn values_query() {
    assert_eq!(
        query_of(one("VALUES (1, 'a'), (2, 'b')")),
        query(SetExpr::Values(vec![vec![int(1), text("a")], vec![int(2), text("b")]]))
    );
    assert_sql_error("VALUES (1), (2, 3)", "same number of terms");
}

#[test]
fn from_items_and_joins() {
    let s = select_of(
        "SELECT * FROM a AS x, b y JOIN c ON 1 LEFT OUTER JOIN d USING (k, l) CROSS JOIN e \
         INNER JOIN f ON 2 LEFT JOIN g ON 3 JOIN h",
    );
    let using = FromItem::Join {
        left: Box::new(join(table_as("b", "y"), table("c"), JoinKind::Inner, Some(int(1)))),
        right: Box::new(table("d")),
        kind: JoinKind::Left,
        on: None,
        using: vec!["k".into(), "l".into()],
        natural: false,
    };
    let chain = join(
        join(
            join(join(using, table("e"), JoinKind::Cross, None), table("f"), JoinKind::Inner, Some(int(2))),
            table("g"),
            JoinKind::Left,
            Some(int(3)),
        ),
        table("h"),
        JoinKind::Inner,
        None,
    );
    assert_eq!(s, select(vec![SelectItem::Wildcard], vec![table_as("a", "x"), chain]));
}

#[test]
fn nested_joins_and_derived_tables() {
    let s = select_of("SELECT * FROM t1, (t2 JOIN t3 ON t2.a = t3.a), (SELECT 1) AS q, (SELECT 2) r, main.t4");
    let nested =
        join(table("t2"), table("t3"), JoinKind::Inner, Some(bin(BinaryOp::Eq, qcol("t2", "a"), qcol("t3", "a"))));
    let sub = |v: i64, alias: &str| FromItem::Subquery {
        query: Box::new(select_query(select(vec![item(int(v))], Vec::new()))),
        alias: Some(alias.into()),
    };
    assert_eq!(s, select(vec![SelectItem::Wildcard], vec![table("t1"), nested, sub(1, "q"), sub(2, "r"), table("t4")]));
    // NOT INDEXED only forbids index use: accepted and dropped.
    assert_eq!(select_of("SELECT * FROM t NOT INDEXED"), select(vec![SelectItem::Wildcard], vec![table("t")]));
}

#[test]
fn natural_joins() {
    let natural = |kind| FromItem::Join {
        left: Box::new(table("a")),
        right: Box::new(table("b")),
        kind,
        on: None,
        using: Vec::new(),
        natural: true,
    };
    assert_eq!(select_of("SELECT * FROM a NATURAL JOIN b"), select(vec![SelectItem::Wildcard], vec![natural(JoinKind::Inner)]));
    assert_eq!(
        select_of("SELECT * FROM a NATURAL LEFT JOIN b"),
        select(vec![SelectItem::Wildcard], vec![natural(JoinKind::Left)])
    );
}

#[test]
fn unsupported_from_items() {
    assert_not_supported("SELECT * FROM a RIGHT JOIN b ON 1", "RIGHT JOIN");
    assert_not_supported("SELECT * FROM a FULL OUTER JOIN b ON 1", "FULL JOIN");
    assert_not_supported("SELECT * FROM t INDEXED BY i", "index hints");
    assert_not_supported("SELECT * FROM (a JOIN b ON 1) AS j", "alias on a parenthesised join");
    assert_not_supported("SELECT * FROM (SELECT 1) AS q(x)", "column lists in table aliases");
    assert_not_supported("SELECT * FROM other.t", "schema `other`");
    assert_not_supported("SELECT * FROM generate_series(1, 3)", "table-valued functions");
}

mod expr;
