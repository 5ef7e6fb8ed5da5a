//! G11: limits, through the SQL API on a real database in a temp dir.
//!
//! What it proves (`docs/TESTING.md` fault-catalogue row 18, "huge values /
//! records / limits"):
//!
//! - TEXT and BLOB values of 0, 1, page − 1, page, page + 1 bytes (the
//!   default 4096-byte page), 1 MiB and the largest value a row holds
//!   ([`MAX_ROW`] minus the record's own bytes) are stored and read back
//!   byte for byte, before and after the database is reopened;
//! - one byte more is [`Error::TooBig`] (the documented error), as an
//!   insert and as an update, in autocommit and inside a transaction, which
//!   stays usable; nothing committed is lost;
//! - a 100,000-term `IN` list gives the right answer, with and without an
//!   index;
//! - expressions nested 10,000 deep (parentheses, unary minus, `NOT`,
//!   function calls, `CASE`, subqueries, left- and right-deep operator
//!   chains) are a clear error, not a stack overflow, on a thread with the
//!   default 2 MiB stack;
//! - a 10 MiB statement (one string literal, one blob literal) works;
//! - a million-row `DELETE`: rows inserted in one transaction, all deleted
//!   by one statement, none left, and none after a reopen.
//!
//! Scale: none. Every run, a plain `cargo test` included, does all of the
//! above at full size (a million rows); the file takes about 15 s on two
//! cores in the dev profile, so `WALDB_SIM_SCALE` does not change it and
//! there is no long mode.

use std::path::Path;
use std::time::Instant;

use waldb::sql::record;
use waldb::sql::table::MAX_ROW;
use waldb::{Database, Error, Value};

/// The largest TEXT or BLOB value a one-column row holds: the row record
/// is a column count, a type tag, the value's length (a varint: 4 bytes
/// for lengths from 2^21 to 2^28) and the bytes, at most [`MAX_ROW`].
fn max_value() -> usize {
    let probe = 1 << 21;
    let overhead = record::encode(&[Value::Blob(vec![0; probe])]).len() - probe;
    assert!((probe..1 << 28).contains(&MAX_ROW), "the varint length above holds for MAX_ROW");
    MAX_ROW - overhead
}

/// `n` bytes of a pattern that no shifted copy matches (so a value read
/// back from the wrong offset or page is caught).
fn blob(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Exactly `n` bytes of UTF-8 text, with two- and three-byte characters
/// mixed into ASCII, so a cut in the middle of a character would show.
fn text(n: usize, seed: u64) -> String {
    let mut s = String::with_capacity(n);
    let pattern = ['a', 'é', 'b', '€', 'c', 'ß', 'd', 'e', 'f'];
    let mut i = seed as usize;
    while s.len() < n {
        let c = pattern[i % pattern.len()];
        i += 1;
        if s.len() + c.len_utf8() <= n {
            s.push(c);
        } else {
            s.push('z');
        }
    }
    s
}

fn count(db: &Database, sql: &str) -> i64 {
    db.query_row(sql, (), |r| r.get(0)).expect(sql)
}

#[test]
fn values_at_every_size_boundary_round_trip_and_one_byte_past_the_limit_is_too_big() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("limits.db");
    let page = 4096;
    let max = max_value();
    let sizes = [0, 1, page - 1, page, page + 1, 1 << 20, max];
    {
        let db = Database::open(&path).unwrap();
        db.execute_batch("CREATE TABLE tv(v TEXT); CREATE TABLE bv(v BLOB);").unwrap();
        for (i, &n) in sizes.iter().enumerate() {
            let id = i as i64 + 1;
            // Rowids follow the insertion order: 1, 2, ...
            db.execute("INSERT INTO tv(v) VALUES (?)", [text(n, id as u64)]).unwrap();
            db.execute("INSERT INTO bv(v) VALUES (?)", [blob(n, id as u64)]).unwrap();
        }
        // Read back before the reopen, through the pool.
        for (i, &n) in sizes.iter().enumerate() {
            let id = i as i64 + 1;
            let t: String = db.query_row("SELECT v FROM tv WHERE rowid = ?", [id], |r| r.get(0)).unwrap();
            assert!(t == text(n, id as u64), "TEXT of {n} bytes read back differently");
            let b: Vec<u8> = db.query_row("SELECT v FROM bv WHERE rowid = ?", [id], |r| r.get(0)).unwrap();
            assert!(b == blob(n, id as u64), "BLOB of {n} bytes read back differently");
        }

        // One byte past the limit: TooBig, as an insert and as an update,
        // and nothing changes.
        let too_big_text = text(max + 1, 99);
        let too_big_blob = blob(max + 1, 99);
        for e in [
            db.execute("INSERT INTO tv(v) VALUES (?)", [&too_big_text]).unwrap_err(),
            db.execute("INSERT INTO bv(v) VALUES (?)", [&too_big_blob]).unwrap_err(),
            db.execute("UPDATE bv SET v = ? WHERE rowid = 2", [&too_big_blob]).unwrap_err(),
        ] {
            assert!(
                matches!(e, Error::TooBig { what: "row", size, limit } if size == MAX_ROW + 1 && limit == MAX_ROW),
                "{e}"
            );
        }
        // Inside a transaction: the failed statement leaves no trace, the
        // transaction goes on, and its other statements commit.
        let tx = db.transaction().unwrap();
        tx.execute("INSERT INTO bv(v) VALUES (X'01')", ()).unwrap();
        let e = tx.execute("INSERT INTO bv(v) VALUES (?)", [&too_big_blob]).unwrap_err();
        assert!(matches!(e, Error::TooBig { .. }), "{e}");
        let e = tx.execute("UPDATE tv SET v = ? WHERE rowid = 1", [&too_big_text]).unwrap_err();
        assert!(matches!(e, Error::TooBig { .. }), "{e}");
        assert!(db.in_transaction(), "the transaction survives a value that is too big");
        tx.execute("INSERT INTO bv(v) VALUES (X'02')", ()).unwrap();
        tx.commit().unwrap();
        assert_eq!(count(&db, "SELECT count(*) FROM bv"), sizes.len() as i64 + 2);
    }

    // Reopened: every value is there, byte for byte, and nothing else.
    let db = Database::open(&path).unwrap();
    for (i, &n) in sizes.iter().enumerate() {
        let id = i as i64 + 1;
        let (t, tlen): (String, i64) = db
            .query_row("SELECT v, length(CAST(v AS BLOB)) FROM tv WHERE rowid = ?", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(tlen, n as i64);
        assert!(t == text(n, id as u64), "TEXT of {n} bytes changed across the reopen");
        let b: Vec<u8> = db.query_row("SELECT v FROM bv WHERE rowid = ?", [id], |r| r.get(0)).unwrap();
        assert!(b == blob(n, id as u64), "BLOB of {n} bytes changed across the reopen");
        let ty: String = db.query_row("SELECT typeof(v) FROM bv WHERE rowid = ?", [id], |r| r.get(0)).unwrap();
        assert_eq!(ty, "blob");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM tv"), sizes.len() as i64);
    assert_eq!(count(&db, "SELECT count(*) FROM bv"), sizes.len() as i64 + 2, "the two small rows, not the big one");
    assert_eq!(count(&db, "SELECT count(*) FROM bv WHERE v IN (X'01', X'02')"), 2);
    db.check_integrity().unwrap();
    println!("G11 values: sizes {sizes:?} (max {max} = MAX_ROW {MAX_ROW} − record bytes) in {:.1?}", t0.elapsed());
}

#[test]
fn an_in_list_of_100_000_terms_gives_the_right_answer() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("in.db")).unwrap();
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, s TEXT)", ()).unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut ins = tx.prepare("INSERT INTO t(a, s) VALUES (?, ?)").unwrap();
        // Few rows: waldb tests `IN (list)` term by term, so a scan costs
        // rows × terms comparisons.
        for i in 0..500i64 {
            ins.execute((i * 250, format!("s{}", i * 250))).unwrap();
        }
    }
    tx.commit().unwrap();
    let ints: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let list = ints.join(", ");
    let strings: Vec<String> = (0..100_000).map(|i| format!("'s{i}'")).collect();
    let slist = strings.join(", ");
    // a = 0, 250, ..., 124750: those below 100,000 are 400 rows.
    let check = |db: &Database, what: &str| {
        assert_eq!(count(db, &format!("SELECT count(*) FROM t WHERE a IN ({list})")), 400, "{what}");
        assert_eq!(count(db, &format!("SELECT count(*) FROM t WHERE a NOT IN ({list})")), 100, "{what}");
        assert_eq!(count(db, &format!("SELECT count(*) FROM t WHERE s IN ({slist})")), 400, "{what}");
        assert_eq!(count(db, &format!("SELECT count(*) FROM t WHERE id IN ({list})")), 500, "{what}");
        assert_eq!(count(db, &format!("SELECT 99999 IN ({list})")), 1, "{what}");
        assert_eq!(count(db, &format!("SELECT 100000 IN ({list})")), 0, "{what}");
    };
    check(&db, "table scan");
    db.execute_batch("CREATE INDEX t_a ON t(a); CREATE INDEX t_s ON t(s);").unwrap();
    check(&db, "index lookups");
    let n = db.execute(&format!("DELETE FROM t WHERE a IN ({list})"), ()).unwrap();
    assert_eq!(n, 400);
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 100);
    println!("G11 IN list: 100,000 terms, 6 queries twice and a DELETE in {:.1?}", t0.elapsed());
}

/// The statement shapes that nest 10,000 deep.
fn deep_statements(depth: usize) -> Vec<(&'static str, String)> {
    let nest = |open: &str, inner: &str, close: &str| format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
    vec![
        ("parentheses", format!("SELECT {}", nest("(", "1", ")"))),
        ("unary minus", format!("SELECT {}", nest("-(", "1", ")"))),
        ("NOT", format!("SELECT {}", nest("NOT ", "1", ""))),
        ("function calls", format!("SELECT {}", nest("abs(", "1", ")"))),
        ("CASE", format!("SELECT {}", nest("CASE WHEN 1 THEN ", "1", " END"))),
        ("subqueries", format!("SELECT {}", nest("(SELECT ", "1", ")"))),
        ("right-deep +", format!("SELECT {}", nest("1 + (", "1", ")"))),
        ("left-deep +", format!("SELECT 1{}", " + 1".repeat(depth))),
        ("left-deep AND", format!("SELECT 1 WHERE {}", vec!["1 = 1"; depth].join(" AND "))),
        ("left-deep ||", format!("SELECT ''{}", " || 'x'".repeat(depth))),
        ("IN subqueries", format!("SELECT 1 WHERE 1 IN {}", nest("(SELECT 1 WHERE 1 IN ", "(1)", ")"))),
        ("compound SELECT", format!("SELECT 1{}", " UNION SELECT 1".repeat(depth))),
    ]
}

#[test]
fn expressions_nested_10_000_deep_are_a_clear_error_on_a_2_mib_stack() {
    let t0 = Instant::now();
    // std's default for spawned threads, stated so the test does not
    // depend on RUST_MIN_STACK.
    let results = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let dir = tempfile::tempdir().unwrap();
            let db = Database::open(dir.path().join("deep.db")).unwrap();
            db.execute("CREATE TABLE t(a)", ()).unwrap();
            deep_statements(10_000)
                .into_iter()
                .map(|(what, sql)| {
                    let r = db.query(&sql, ()).map(|rows| rows.len());
                    // And as a statement that writes.
                    let w = db.execute(&format!("INSERT INTO t {sql}"), ());
                    (what, r.map_err(|e| e.to_string()), w.map_err(|e| e.to_string()))
                })
                .collect::<Vec<_>>()
        })
        .unwrap()
        .join()
        .expect("no stack overflow, no panic");
    for (what, r, w) in &results {
        for (how, outcome) in [("query", r.as_ref().map(|_| ())), ("insert", w.as_ref().map(|_| ()))] {
            let e = outcome.expect_err(&format!("{what} nested 10,000 deep ({how}) must be refused"));
            assert!(
                e.contains("too deep") || e.contains("too deeply") || e.contains("too many"),
                "{what} ({how}): not a clear depth error: {e}"
            );
        }
    }
    for (what, r, _) in &results {
        println!("G11 depth: {what} nested 10,000 deep: {}", r.as_ref().err().map_or("ok", String::as_str));
    }
    println!("G11 depth: {} statement shapes nested 10,000 deep refused in {:.1?}", results.len(), t0.elapsed());
}

#[test]
fn a_10_mib_statement_runs() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big-sql.db");
    let long_text = text(10 << 20, 7);
    let long_blob = blob(5 << 20, 8);
    let hex: String = long_blob.iter().map(|b| format!("{b:02x}")).collect();
    {
        let db = Database::open(&path).unwrap();
        db.execute("CREATE TABLE s(id INTEGER PRIMARY KEY, v)", ()).unwrap();
        // The literal is quoted SQL: no quote inside the pattern text.
        assert!(!long_text.contains('\''));
        let sql = format!("INSERT INTO s VALUES (1, '{long_text}')");
        assert!(sql.len() > 10 << 20);
        assert_eq!(db.execute(&sql, ()).unwrap(), 1);
        let sql = format!("INSERT INTO s VALUES (2, X'{hex}')");
        assert!(sql.len() > 10 << 20);
        assert_eq!(db.execute(&sql, ()).unwrap(), 1);
        let sql = format!("SELECT length('{long_text}')");
        assert_eq!(count(&db, &sql), long_text.chars().count() as i64);
    }
    let db = Database::open(&path).unwrap();
    let t: String = db.query_row("SELECT v FROM s WHERE id = 1", (), |r| r.get(0)).unwrap();
    assert!(t == long_text, "the 10 MiB literal round-trips");
    let b: Vec<u8> = db.query_row("SELECT v FROM s WHERE id = 2", (), |r| r.get(0)).unwrap();
    assert!(b == long_blob, "the 5 MiB blob literal round-trips");
    println!("G11 10 MiB statements: a string literal and a blob literal in {:.1?}", t0.elapsed());
}

#[test]
fn a_million_row_delete_leaves_nothing_after_a_reopen() {
    let rows = 1_000_000;
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("delete.db");
    {
        let db = Database::open(&path).unwrap();
        db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT)", ()).unwrap();
        db.execute("CREATE TABLE keep(x)", ()).unwrap();
        db.execute("INSERT INTO keep VALUES ('committed before')", ()).unwrap();
        let tx = db.transaction().unwrap();
        {
            let mut ins = tx.prepare("INSERT INTO t(a, b) VALUES (?, ?)").unwrap();
            for i in 0..rows as i64 {
                ins.execute((i % 1000, "row")).unwrap();
            }
        }
        tx.commit().unwrap();
        assert_eq!(count(&db, "SELECT count(*) FROM t"), rows as i64);
        let t1 = Instant::now();
        assert_eq!(db.execute("DELETE FROM t", ()).unwrap(), rows);
        println!("G11 delete: {rows} rows inserted in {:.1?}, deleted in {:.1?}", t1 - t0, t1.elapsed());
        assert_eq!(count(&db, "SELECT count(*) FROM t"), 0);
    }
    let db = Database::open(&path).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM keep"), 1, "nothing else went with them");
    let report = db.check_integrity().unwrap();
    assert_eq!(report.rows, 1 + 2, "one kept row and the two schema rows");
    db.execute("INSERT INTO t(a, b) VALUES (1, 'again')", ()).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 1);
    println!("G11 delete: {rows} rows, reopened empty; {:.1?} in all", t0.elapsed());
    drop(db);
    assert!(Path::new(&path).exists());
}

/// sqlparser, past its recursion limit inside a `CASE` or a `NOT` chain,
/// retries the keyword as a column name and fails with a misleading
/// "Expected: end of statement" — these used to reach the user as syntax
/// errors; now they are "nested too deeply". Depths that parse still run.
#[test]
fn case_and_not_chains_past_the_parser_limit_are_reported_as_nested_too_deeply() {
    let results = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let db = Database::open_in_memory().unwrap();
            let run = |sql: String| db.query_row(&sql, (), |r| r.get::<i64>(0)).map_err(|e| e.to_string());
            let not = |d: usize| format!("SELECT {}1", "NOT ".repeat(d));
            let case = |d: usize| format!("SELECT {}1{}", "CASE WHEN 1 THEN ".repeat(d), " END".repeat(d));
            let mixed = |d: usize| format!("SELECT {}1{}", "CASE WHEN NOT 0 THEN (".repeat(d), ") END".repeat(d));
            vec![run(not(200)), run(case(200)), run(not(499)), run(case(499)), run(mixed(300)), run(mixed(60))]
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!(results[0], Ok(1), "200 NOTs: an even count of NOT 1");
    assert_eq!(results[1], Ok(1));
    for r in &results[2..5] {
        assert!(r.as_ref().is_err_and(|e| e.contains("nested too deeply")), "{r:?}");
    }
    assert_eq!(results[5], Ok(1));
}

/// `zeroblob(n)` used to clamp `n` to 16 MiB silently, so
/// `length(zeroblob(16777217))` was 16777216; now it is exactly `n` bytes up
/// to the largest value a row holds, and past that `TooBig` (checked before
/// allocating), as SQLite refuses blobs past its own limit.
#[test]
fn zeroblob_gives_exactly_the_bytes_asked_for_and_refuses_more_than_a_row_holds() {
    let db = Database::open_in_memory().unwrap();
    let len = |n: i64| db.query_row("SELECT length(zeroblob(?))", [n], |r| r.get::<i64>(0));
    assert_eq!(len(-5).unwrap(), 0);
    assert_eq!(len((16 << 20) + 1).unwrap(), (16 << 20) + 1);
    assert_eq!(len(max_value() as i64).unwrap(), max_value() as i64);
    assert_eq!(len(MAX_ROW as i64).unwrap(), MAX_ROW as i64, "a value alone may be a row's size");
    let e = len(MAX_ROW as i64 + 1).unwrap_err();
    assert!(matches!(e, Error::TooBig { what: "zeroblob", .. }), "{e}");
    let e = len(i64::MAX).unwrap_err();
    assert!(matches!(e, Error::TooBig { .. }), "{e}");
    db.execute("CREATE TABLE z(v BLOB)", ()).unwrap();
    let e = db.execute("INSERT INTO z VALUES (zeroblob(?))", [max_value() as i64 + 1]).unwrap_err();
    assert!(matches!(e, Error::TooBig { what: "row", .. }), "{e}");
    db.execute("INSERT INTO z VALUES (zeroblob(?))", [(16 << 20) + 1]).unwrap();
    assert_eq!(count(&db, "SELECT length(v) FROM z"), (16 << 20) + 1);
}

// ---------------------------------------------------------------------------
// Values built by SQL functions and operators (issue 13 item 7)
//
// Every function or operator that builds a TEXT or BLOB value computes the
// result's size first and refuses one past the limit (`MAX_ROW`, the bound
// `zeroblob` already keeps) with `TooBig`, before allocating it. At the
// limit they work.

/// The limit on a value an expression builds.
const LIMIT: usize = MAX_ROW;

/// `sql`'s one value, or its error.
fn one(db: &Database, sql: &str, params: impl waldb::Params) -> Result<Value, Error> {
    db.query_row(sql, params, |r| r.get::<Value>(0))
}

/// Assert `r` is `TooBig` naming `what`, past the limit.
#[track_caller]
fn assert_too_big(r: Result<Value, Error>, what: &str) {
    match r {
        Err(Error::TooBig { what: w, size, limit }) => {
            assert_eq!(w, what, "TooBig names the function");
            assert_eq!(limit, LIMIT);
            assert!(size > LIMIT, "{size} is past the limit");
        }
        Err(e) => panic!("{what}: expected TooBig, got {e:?}"),
        Ok(Value::Text(t)) => panic!("{what}: expected TooBig, got {} bytes of text", t.len()),
        Ok(Value::Blob(b)) => panic!("{what}: expected TooBig, got {} bytes of blob", b.len()),
        Ok(v) => panic!("{what}: expected TooBig, got {v:?}"),
    }
}

/// The length in bytes of `sql`'s value.
fn bytes_of(db: &Database, sql: &str, params: impl waldb::Params) -> usize {
    match one(db, sql, params).expect(sql) {
        Value::Text(t) => t.len(),
        Value::Blob(b) => b.len(),
        other => panic!("{sql}: not text or blob: {other:?}"),
    }
}

#[test]
fn replace_past_the_value_limit_is_too_big_and_does_not_abort() {
    let db = Database::open_in_memory().unwrap();
    // The statement that used to ask for 4 PiB and abort the process.
    let e = one(&db, "SELECT replace(zeroblob(67108864), x'00', zeroblob(67108864))", ());
    assert_too_big(e, "replace");
    let half = "a".repeat(LIMIT / 2);
    assert_eq!(bytes_of(&db, "SELECT replace(?, 'a', 'bb')", [&half]), LIMIT, "exactly the limit works");
    let e = one(&db, "SELECT replace(? || 'c', 'a', 'bb')", [&half]);
    assert_too_big(e, "replace");
    // Shrinking and same-size replacements of a value at the limit work.
    let full = "ab".repeat(LIMIT / 2);
    assert_eq!(bytes_of(&db, "SELECT replace(?, 'ab', 'c')", [&full]), LIMIT / 2);
    assert_eq!(bytes_of(&db, "SELECT replace(?, 'a', 'x')", [&full]), LIMIT);
    assert_eq!(one(&db, "SELECT replace('abcab', 'ab', 'xyz')", ()).unwrap(), Value::Text("xyzcxyz".into()));
}

#[test]
fn concat_past_the_value_limit_is_too_big() {
    let db = Database::open_in_memory().unwrap();
    let n = LIMIT as i64 / 2;
    assert_eq!(bytes_of(&db, "SELECT zeroblob(?) || zeroblob(?)", [n, n]), LIMIT);
    assert_too_big(one(&db, "SELECT zeroblob(?) || zeroblob(?)", [n, n + 1]), "||");
    assert_too_big(one(&db, "SELECT zeroblob(67108864) || zeroblob(67108864)", ()), "||");
    assert_eq!(one(&db, "SELECT NULL || zeroblob(67108864)", ()).unwrap(), Value::Null);
}

#[test]
fn group_concat_past_the_value_limit_is_too_big_as_it_accumulates() {
    let db = Database::open_in_memory().unwrap();
    db.execute("CREATE TABLE g(v BLOB)", ()).unwrap();
    let quarter = LIMIT as i64 / 4;
    for _ in 0..4 {
        db.execute("INSERT INTO g VALUES (zeroblob(?))", [quarter]).unwrap();
    }
    assert_eq!(bytes_of(&db, "SELECT group_concat(v, '') FROM g", ()), LIMIT, "exactly the limit works");
    assert_too_big(one(&db, "SELECT group_concat(v) FROM g", ()), "group_concat");
    assert_too_big(one(&db, "SELECT string_agg(v, '--') FROM g", ()), "group_concat");
    db.execute("INSERT INTO g VALUES (x'01')", ()).unwrap();
    assert_too_big(one(&db, "SELECT group_concat(v, '') FROM g", ()), "group_concat");
    // Per group: each group is within the limit.
    assert_eq!(count(&db, "SELECT count(*) FROM (SELECT group_concat(v, '') FROM g GROUP BY length(v))"), 2);
}

#[test]
fn hex_and_quote_past_the_value_limit_are_too_big() {
    let db = Database::open_in_memory().unwrap();
    let half = LIMIT as i64 / 2;
    assert_eq!(bytes_of(&db, "SELECT hex(zeroblob(?))", [half]), LIMIT);
    assert_too_big(one(&db, "SELECT hex(zeroblob(?))", [half + 1]), "hex");
    assert_too_big(one(&db, "SELECT hex(zeroblob(67108864))", ()), "hex");
    // quote(blob) is X'…': 3 + 2n bytes.
    let n = (LIMIT as i64 - 3) / 2;
    assert_eq!(bytes_of(&db, "SELECT quote(zeroblob(?))", [n]), LIMIT - 1);
    assert_too_big(one(&db, "SELECT quote(zeroblob(?))", [n + 1]), "quote");
    // quote(text) doubles each quote: 2 + 2k bytes for k quotes.
    let quotes = "'".repeat(LIMIT / 2 - 1);
    assert_eq!(bytes_of(&db, "SELECT quote(?)", [&quotes]), LIMIT);
    assert_too_big(one(&db, "SELECT quote(? || '''')", [&quotes]), "quote");
    assert_eq!(
        one(&db, "SELECT quote('it''s') || hex('a') || quote(x'0aff')", ()).unwrap(),
        Value::Text("'it''s'61X'0AFF'".into())
    );
}

#[test]
fn upper_and_lower_that_grow_past_the_value_limit_are_too_big() {
    let db = Database::open_in_memory().unwrap();
    let ascii = "a".repeat(LIMIT);
    assert_eq!(bytes_of(&db, "SELECT upper(?)", [&ascii]), LIMIT, "at the limit");
    assert_eq!(bytes_of(&db, "SELECT lower(upper(?))", [&ascii]), LIMIT, "at the limit");
    // 'ΐ' (2 bytes) upper-cases to three characters (6 bytes); 'İ' (2
    // bytes) lower-cases to 'i' and a combining dot (3 bytes).
    let grows_upper = "ΐ".repeat(LIMIT / 4);
    assert_too_big(one(&db, "SELECT upper(?)", [&grows_upper]), "upper");
    let grows_lower = "İ".repeat(LIMIT / 3 + 1);
    assert!(grows_lower.len() <= LIMIT && grows_lower.len() / 2 * 3 > LIMIT);
    assert_too_big(one(&db, "SELECT lower(?)", [&grows_lower]), "lower");
    let fits_lower = "İ".repeat(LIMIT / 3 / 2);
    assert_eq!(bytes_of(&db, "SELECT lower(?)", [&fits_lower]), LIMIT / 3 / 2 * 3);
}

#[test]
fn a_blob_read_as_text_past_the_value_limit_is_too_big() {
    let db = Database::open_in_memory().unwrap();
    // Each invalid byte becomes U+FFFD, three bytes: 1/3 of the limit fits.
    let fits = vec![0xFFu8; LIMIT / 3];
    assert_eq!(bytes_of(&db, "SELECT CAST(? AS TEXT)", [&fits]), LIMIT / 3 * 3);
    let grows = vec![0xFFu8; LIMIT / 3 + 1];
    assert_too_big(one(&db, "SELECT CAST(? AS TEXT)", [&grows]), "text");
    assert_too_big(one(&db, "SELECT '' || ?", [&grows]), "text");
    assert_too_big(one(&db, "SELECT upper(?)", [&grows]), "text");
    // Valid UTF-8 in a blob is read in place, at any size up to the limit.
    assert_eq!(bytes_of(&db, "SELECT CAST(zeroblob(?) AS TEXT)", [LIMIT as i64]), LIMIT);
}

#[test]
fn substr_and_trim_of_a_value_at_the_limit_work() {
    let db = Database::open_in_memory().unwrap();
    let s = format!("  {}  ", "é".repeat(LIMIT / 2 - 2));
    assert_eq!(s.len(), LIMIT);
    assert_eq!(bytes_of(&db, "SELECT substr(?, 2)", [&s]), LIMIT - 1);
    assert_eq!(bytes_of(&db, "SELECT substr(?, -3, 2)", [&s]), 3, "'é' and a space");
    assert_eq!(one(&db, "SELECT substr(?, 3, 1)", [&s]).unwrap(), Value::Text("é".into()));
    assert_eq!(bytes_of(&db, "SELECT trim(?)", [&s]), LIMIT - 4);
    assert_eq!(bytes_of(&db, "SELECT rtrim(ltrim(?, ' '), ' ')", [&s]), LIMIT - 4);
    assert_eq!(bytes_of(&db, "SELECT substr(zeroblob(?), 10)", [LIMIT as i64]), LIMIT - 9);
}
