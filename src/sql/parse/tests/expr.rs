//! Unit tests of the parser: expressions, errors, depth limits. That it never
//! panics on arbitrary input is fuzzed in `tests/fuzz.rs`.

use super::*;

// --- expressions ---------------------------------------------------------

#[test]
fn literals() {
    assert_eq!(expr("42"), int(42));
    assert_eq!(expr("9223372036854775807"), int(i64::MAX));
    assert_eq!(expr("9223372036854775808"), real(9_223_372_036_854_775_808.0));
    assert_eq!(expr("1.5"), real(1.5));
    assert_eq!(expr(".5"), real(0.5));
    assert_eq!(expr("5."), real(5.0));
    assert_eq!(expr("1e3"), real(1000.0));
    assert_eq!(expr("2.5E-1"), real(0.25));
    assert_eq!(expr("1_000"), int(1000));
    assert_eq!(expr("'it''s'"), text("it's"));
    assert_eq!(expr("''"), text(""));
    assert_eq!(expr("X'0aFF'"), Expr::Literal(Value::Blob(vec![0x0a, 0xff])));
    assert_eq!(expr("x''"), Expr::Literal(Value::Blob(Vec::new())));
    assert_eq!(expr("NULL"), null());
    assert_eq!(expr("TRUE"), int(1));
    assert_eq!(expr("false"), int(0));
    assert_eq!(expr("0x10"), int(16));
    assert_eq!(expr("0xffffffffffffffff"), int(-1));
    assert_eq!(expr("0X1f"), int(31));
    assert_eq!(expr("0x7FFF_FFFF_FFFF_FFFF"), int(i64::MAX));
    // `0 X1` (with a space) stays a number with an alias.
    assert_eq!(select_of("SELECT 0 X1").items, vec![aliased(int(0), "X1")]);
    assert_sql_error("SELECT 0x10000000000000000", "hex literal too big");
    assert_sql_error("SELECT X'123'", "odd number of hex digits");
}

#[test]
fn negative_literals_fold() {
    assert_eq!(expr("-5"), int(-5));
    assert_eq!(expr("-9223372036854775808"), int(i64::MIN));
    assert_eq!(expr("-9223372036854775809"), real(-9_223_372_036_854_775_809.0));
    assert_eq!(expr("-1.5"), real(-1.5));
    assert_eq!(expr("- - 5"), un(UnaryOp::Neg, int(-5)));
    assert_eq!(expr("-(5)"), un(UnaryOp::Neg, int(5)));
    assert_eq!(expr("-0x10"), int(-16));
    assert_eq!(expr("1 - -2"), bin(BinaryOp::Sub, int(1), int(-2)));
}

#[test]
fn parameters() {
    assert_eq!(expr("?"), Expr::Param(None));
    assert_eq!(expr("?7"), Expr::Param(Some(7)));
    assert_sql_error("SELECT ?0", "between ?1 and ?32766");
    assert_sql_error("SELECT ?32767", "between ?1 and ?32766");
    assert_not_supported("SELECT :name", "named parameters");
    assert_not_supported("SELECT @name", "named parameters");
    assert_not_supported("SELECT $name", "named parameters");
}

#[test]
fn column_references() {
    assert_eq!(expr("a"), col("a"));
    assert_eq!(expr("t.a"), qcol("t", "a"));
    assert_eq!(expr("\"Quoted Name\""), col("Quoted Name"));
    assert_eq!(expr("[b]"), col("b"));
    assert_eq!(expr("`c`"), col("c"));
    // A quoted "isnull" is a name, not the ISNULL operator.
    assert_eq!(expr("\"isnull\""), col("isnull"));
    assert_not_supported("SELECT main.t.a FROM t", "column reference `main.t.a`");
}

#[test]
fn unary_and_binary_operators() {
    assert_eq!(expr("-a"), un(UnaryOp::Neg, col("a")));
    assert_eq!(expr("+a"), un(UnaryOp::Plus, col("a")));
    assert_eq!(expr("NOT a"), un(UnaryOp::Not, col("a")));
    assert_eq!(expr("~a"), un(UnaryOp::BitNot, col("a")));
    let cases = [
        ("a + b", BinaryOp::Add),
        ("a - b", BinaryOp::Sub),
        ("a * b", BinaryOp::Mul),
        ("a / b", BinaryOp::Div),
        ("a % b", BinaryOp::Mod),
        ("a || b", BinaryOp::Concat),
        ("a = b", BinaryOp::Eq),
        ("a == b", BinaryOp::Eq),
        ("a <> b", BinaryOp::NotEq),
        ("a != b", BinaryOp::NotEq),
        ("a < b", BinaryOp::Lt),
        ("a <= b", BinaryOp::LtEq),
        ("a > b", BinaryOp::Gt),
        ("a >= b", BinaryOp::GtEq),
        ("a AND b", BinaryOp::And),
        ("a OR b", BinaryOp::Or),
        ("a & b", BinaryOp::BitAnd),
        ("a | b", BinaryOp::BitOr),
        ("a << b", BinaryOp::ShiftLeft),
        ("a >> b", BinaryOp::ShiftRight),
        ("a IS b", BinaryOp::Is),
        ("a IS NOT b", BinaryOp::IsNot),
        ("a IS NOT DISTINCT FROM b", BinaryOp::Is),
        ("a IS DISTINCT FROM b", BinaryOp::IsNot),
    ];
    for (sql, op) in cases {
        assert_eq!(expr(sql), bin(op, col("a"), col("b")), "{sql}");
    }
    // Precedence and left associativity.
    assert_eq!(expr("1 + 2 * 3"), bin(BinaryOp::Add, int(1), bin(BinaryOp::Mul, int(2), int(3))));
    assert_eq!(expr("1 - 2 - 3"), bin(BinaryOp::Sub, bin(BinaryOp::Sub, int(1), int(2)), int(3)));
    assert_eq!(expr("(1 + 2) * 3"), bin(BinaryOp::Mul, bin(BinaryOp::Add, int(1), int(2)), int(3)));
    assert_eq!(
        expr("a OR b AND NOT c"),
        bin(BinaryOp::Or, col("a"), bin(BinaryOp::And, col("b"), un(UnaryOp::Not, col("c"))))
    );
    assert_eq!(expr("((((a))))"), col("a"));
}

#[test]
fn null_tests() {
    let is_null = |negated| Expr::IsNull { expr: Box::new(col("a")), negated };
    assert_eq!(expr("a IS NULL"), is_null(false));
    assert_eq!(expr("a ISNULL"), is_null(false));
    assert_eq!(expr("a isnull"), is_null(false));
    assert_eq!(expr("a IS (NULL)"), is_null(false));
    assert_eq!(expr("a IS NOT NULL"), is_null(true));
    assert_eq!(expr("a NOTNULL"), is_null(true));
    assert_eq!(expr("a NOT NULL"), is_null(true));
    assert_eq!(expr("a IS NOT DISTINCT FROM NULL"), is_null(false));
    let s = select_of("SELECT * FROM t WHERE a ISNULL AND b NOTNULL");
    assert_eq!(
        s.filter,
        Some(bin(BinaryOp::And, is_null(false), Expr::IsNull { expr: Box::new(col("b")), negated: true }))
    );
}

#[test]
fn truth_tests_become_case() {
    let case = |condition: Expr, hit: i64| Expr::Case {
        operand: None,
        whens: vec![(condition, int(hit))],
        else_result: Some(Box::new(int(1 - hit))),
    };
    assert_eq!(expr("a IS TRUE"), case(col("a"), 1));
    assert_eq!(expr("a IS NOT TRUE"), case(col("a"), 0));
    assert_eq!(expr("a IS FALSE"), case(un(UnaryOp::Not, col("a")), 1));
    assert_eq!(expr("a IS NOT FALSE"), case(un(UnaryOp::Not, col("a")), 0));
}

#[test]
fn between() {
    let between = |negated| Expr::Between {
        expr: Box::new(col("a")),
        low: Box::new(int(1)),
        high: Box::new(bin(BinaryOp::Add, int(2), int(3))),
        negated,
    };
    assert_eq!(expr("a BETWEEN 1 AND 2 + 3"), between(false));
    assert_eq!(expr("a NOT BETWEEN 1 AND 2 + 3"), between(true));
}

#[test]
fn in_lists_subqueries_and_tables() {
    let a = || Box::new(col("a"));
    assert_eq!(expr("a IN (1, 2)"), Expr::InList { expr: a(), list: vec![int(1), int(2)], negated: false });
    assert_eq!(expr("a NOT IN (1)"), Expr::InList { expr: a(), list: vec![int(1)], negated: true });
    assert_eq!(expr("a IN ()"), Expr::InList { expr: a(), list: Vec::new(), negated: false });
    assert_eq!(expr("a NOT IN ()"), Expr::InList { expr: a(), list: Vec::new(), negated: true });
    let sub = select_query(select(vec![item(col("b"))], vec![table("u")]));
    assert_eq!(
        expr("a IN (SELECT b FROM u)"),
        Expr::InSubquery { expr: a(), query: Box::new(sub.clone()), negated: false }
    );
    assert_eq!(expr("a NOT IN (SELECT b FROM u)"), Expr::InSubquery { expr: a(), query: Box::new(sub), negated: true });
    let star = select_query(select(vec![SelectItem::Wildcard], vec![table("t1")]));
    assert_eq!(expr("a IN t1"), Expr::InSubquery { expr: a(), query: Box::new(star.clone()), negated: false });
    assert_eq!(expr("a NOT IN main.t1"), Expr::InSubquery { expr: a(), query: Box::new(star), negated: true });
}

#[test]
fn like_and_glob() {
    let like = |escape: Option<Expr>, negated, glob| Expr::Like {
        expr: Box::new(col("a")),
        pattern: Box::new(text("x%")),
        escape: escape.map(Box::new),
        negated,
        glob,
    };
    assert_eq!(expr("a LIKE 'x%'"), like(None, false, false));
    assert_eq!(expr("a NOT LIKE 'x%'"), like(None, true, false));
    assert_eq!(expr("a LIKE 'x%' ESCAPE '\\'"), like(Some(text("\\")), false, false));
    assert_eq!(expr("a GLOB 'x%'"), like(None, false, true));
    // sqlparser's SQLite dialect does not parse `NOT GLOB`.
    assert!(matches!(err("SELECT a NOT GLOB 'x'"), Error::Parse { .. }));
}

#[test]
fn case_expressions() {
    assert_eq!(
        expr("CASE WHEN a THEN 1 WHEN b THEN 2 END"),
        Expr::Case { operand: None, whens: vec![(col("a"), int(1)), (col("b"), int(2))], else_result: None }
    );
    assert_eq!(
        expr("CASE a WHEN 1 THEN 'x' ELSE 'y' END"),
        Expr::Case {
            operand: Some(Box::new(col("a"))),
            whens: vec![(int(1), text("x"))],
            else_result: Some(Box::new(text("y"))),
        }
    );
}

#[test]
fn casts() {
    for (sql_type, name) in [
        ("INTEGER", "INTEGER"),
        ("integer", "INTEGER"),
        ("real", "REAL"),
        ("TEXT", "TEXT"),
        ("varchar(10)", "VARCHAR(10)"),
        ("SIGNED", "SIGNED"),
        ("DECIMAL", "DECIMAL"),
        ("blob", "BLOB"),
    ] {
        assert_eq!(
            expr(&format!("CAST(a AS {sql_type})")),
            Expr::Cast { expr: Box::new(col("a")), type_name: name.into() },
            "{sql_type}"
        );
    }
    assert_eq!(expr("CAST(NULL AS SIGNED)"), Expr::Cast { expr: Box::new(null()), type_name: "SIGNED".into() });
    assert_not_supported("SELECT a::INTEGER", "use CAST");
}

#[test]
fn subqueries() {
    let one_query = || Box::new(select_query(select(vec![item(int(1))], Vec::new())));
    assert_eq!(expr("EXISTS (SELECT 1)"), Expr::Exists { query: one_query(), negated: false });
    assert_eq!(expr("NOT EXISTS (SELECT 1)"), Expr::Exists { query: one_query(), negated: true });
    assert_eq!(expr("(SELECT 1)"), Expr::Subquery(one_query()));
    assert_eq!(expr("1 + (SELECT 1)"), bin(BinaryOp::Add, int(1), Expr::Subquery(one_query())));
}

#[test]
fn function_calls() {
    assert_eq!(expr("ABS(-1)"), func("abs", vec![int(-1)]));
    assert_eq!(expr("coalesce(a, b, 1)"), func("coalesce", vec![col("a"), col("b"), int(1)]));
    assert_eq!(expr("random()"), func("random", Vec::new()));
    assert_eq!(
        expr("COUNT(*)"),
        Expr::Function { name: "count".into(), args: Vec::new(), distinct: false, star: true }
    );
    assert_eq!(
        expr("count(DISTINCT a)"),
        Expr::Function { name: "count".into(), args: vec![col("a")], distinct: true, star: false }
    );
    assert_eq!(expr("count(ALL a)"), func("count", vec![col("a")]));
    assert_eq!(expr("group_concat(a, ',')"), func("group_concat", vec![col("a"), text(",")]));
    assert_eq!(expr("trim(a)"), func("trim", vec![col("a")]));
    assert_eq!(expr("trim(a, 'x')"), func("trim", vec![col("a"), text("x")]));
    assert_eq!(expr("substr(a, 1, 2)"), func("substr", vec![col("a"), int(1), int(2)]));
    assert_eq!(expr("substring(a, 2)"), func("substring", vec![col("a"), int(2)]));
    assert_eq!(expr("CURRENT_TIMESTAMP"), func("current_timestamp", Vec::new()));
    assert_eq!(expr("nullif(a, 1)"), func("nullif", vec![col("a"), int(1)]));
}

#[test]
fn unsupported_expressions_are_named() {
    assert_not_supported("SELECT a COLLATE nocase", "COLLATE");
    assert_not_supported("SELECT a -> '$.x'", "the -> operator");
    assert_not_supported("SELECT sum(a) OVER () FROM t", "window functions");
    assert_not_supported("SELECT count(*) FILTER (WHERE a) FROM t", "FILTER");
    assert_not_supported("SELECT a ILIKE 'x'", "ILIKE");
    assert_not_supported("SELECT a SIMILAR TO 'x'", "SIMILAR TO");
    assert_not_supported("SELECT a REGEXP 'x'", "REGEXP");
    assert_not_supported("SELECT a MATCH 'x'", "MATCH");
    assert_not_supported("SELECT INTERVAL '1' DAY", "intervals");
    assert_not_supported("SELECT (1, 2) = (1, 2)", "row values");
    assert_not_supported("SELECT group_concat(a, ',' ORDER BY a) FROM t", "ORDER BY/LIMIT/…");
    assert_not_supported("SELECT a IN (SELECT 1) FROM t WINDOW w AS ()", "WINDOW clause");
    assert_not_supported("SELECT DISTINCT ON (a) a FROM t", "DISTINCT ON");
    assert_not_supported("SELECT count(t.*) FROM t", "qualified wildcards");
    assert_not_supported("SELECT EXTRACT(YEAR FROM a)", "EXTRACT");
}

// --- errors --------------------------------------------------------------

#[test]
fn syntax_errors_carry_line_and_column() {
    match err("SELEC 1") {
        Error::Parse { message, line: 1, column: 1 } => assert!(message.contains("SELEC"), "{message}"),
        other => panic!("{other:?}"),
    }
    match err("SELECT 1;\nSELECT *\n  FROM WHERE") {
        Error::Parse { message, line: 3, column: 8 } => assert!(!message.contains("Line:"), "{message}"),
        other => panic!("{other:?}"),
    }
    // A tokenizer error (unterminated string).
    match err("SELECT\n 'abc") {
        Error::Parse { line: 2, column, .. } => assert!(column >= 2, "{column}"),
        other => panic!("{other:?}"),
    }
    // Errors at the end of the input point just past it.
    match err("SELECT 1;\nSELECT 1 +") {
        Error::Parse { message, line: 2, column: 11 } => assert!(message.contains("EOF"), "{message}"),
        other => panic!("{other:?}"),
    }
    let e = err("SELECT (1");
    assert!(e.to_string().starts_with("syntax error at line 1, column 10: "), "{e}");
}

#[test]
fn parse_error_without_location() {
    match parse_error("SELECT 1", "something odd".into()) {
        Error::Parse { message, line: 0, column: 0 } => assert_eq!(message, "something odd"),
        other => panic!("{other:?}"),
    }
}

// --- depth and size limits -------------------------------------------------

#[test]
fn deeply_nested_parentheses_are_rejected_without_overflow() {
    let result = on_big_stack(|| parse(&format!("SELECT {}1{}", "(".repeat(1000), ")".repeat(1000))));
    match result {
        Err(Error::NotSupported(message)) => assert!(message.contains("nested too deeply"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Moderate nesting is fine.
    let result = on_big_stack(|| parse(&format!("SELECT {}1{}", "(".repeat(100), ")".repeat(100))));
    assert_eq!(result.ok().map(|mut v| v.remove(0)), Some(Statement::Query(Box::new(query(select_value(int(1)))))));
    // So are deep right-nested operators and subqueries.
    // (sqlparser reports this one as a syntax error at the 500th NOT.)
    let result = on_big_stack(|| parse(&format!("SELECT {}1", "NOT ".repeat(5000))));
    assert!(result.is_err(), "{result:?}");
    let result = on_big_stack(|| parse(&format!("SELECT {}1{}", "(SELECT ".repeat(600), ")".repeat(600))));
    assert!(matches!(result, Err(Error::NotSupported(_))), "{result:?}");
}

#[test]
fn long_operator_chains_are_bounded() {
    // sqlparser builds left-deep chains without recursing; the mapping
    // enforces SQLite's depth limit of 1000.
    let result = on_big_stack(|| parse(&format!("SELECT 1{}", "+1".repeat(4999))));
    match result {
        Err(Error::NotSupported(message)) => assert!(message.contains("limit 1000"), "{message}"),
        other => panic!("{other:?}"),
    }
    let result = on_big_stack(|| parse(&format!("SELECT 1{}", "+1".repeat(900))));
    let Ok(statements) = result else { panic!("{result:?}") };
    let Some(Statement::Query(q)) = statements.first() else { panic!("{statements:?}") };
    let SetExpr::Select(s) = &q.body else { panic!("{q:?}") };
    let Some(SelectItem::Expr { expr: e, .. }) = s.items.first() else { panic!("{s:?}") };
    let mut depth = 0;
    let mut node = e;
    while let Expr::Binary { op: BinaryOp::Add, left, right } = node {
        assert_eq!(**right, int(1));
        depth += 1;
        node = left;
    }
    assert_eq!((depth, node), (900, &int(1)));
    // Very long chains are refused before sqlparser builds them.
    let result = on_big_stack(|| parse(&format!("SELECT 1{}", "+1".repeat(60_000))));
    match result {
        Err(Error::NotSupported(message)) => assert!(message.contains("expression too long"), "{message}"),
        other => panic!("{other:?}"),
    }
    // …but long flat lists are fine.
    let values = vec!["(1, 'x')"; 20_000].join(", ");
    let result = on_big_stack(move || parse(&format!("INSERT INTO t VALUES {values}")));
    match result.as_deref() {
        Ok([Statement::Insert { source: InsertSource::Values(rows), .. }]) => assert_eq!(rows.len(), 20_000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn compound_select_terms_are_limited() {
    let ok = vec!["SELECT 1"; MAX_COMPOUND_TERMS].join(" UNION ");
    assert!(on_big_stack(move || parse(&ok)).is_ok());
    let too_many = vec!["SELECT 1"; MAX_COMPOUND_TERMS + 1].join(" UNION ALL ");
    match on_big_stack(move || parse(&too_many)) {
        Err(Error::NotSupported(message)) => assert!(message.contains("compound SELECT"), "{message}"),
        other => panic!("{other:?}"),
    }
}
