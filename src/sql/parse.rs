//! Parsing: SQL text to waldb's own syntax tree ([`ast::Statement`](super::ast::Statement)).
//!
//! This module owns the whole trip from text to [`ast`](super::ast): it
//! tokenizes and parses with the `sqlparser` crate (SQLite dialect) and maps
//! sqlparser's very large tree into waldb's small one.
//!
//! # The whitelist principle
//!
//! sqlparser understands the SQL of a dozen databases; waldb supports a small
//! part of SQLite's. The mapping is therefore a whitelist: every sqlparser node
//! is matched exhaustively, every field that waldb cannot represent must be at
//! its "absent" value, and anything else is rejected with
//! [`Error::NotSupported`] naming the construct (`"window functions (OVER)"`,
//! `"CREATE TRIGGER statements"`, …). Nothing is silently dropped, except
//! where dropping cannot change a result (`NOT INDEXED`, `ASC`/`DESC` in a
//! table-level `PRIMARY KEY`/`UNIQUE` list, constraint names, the `main.`
//! schema, `BEGIN DEFERRED`) and two cases the brief asks for although the
//! AST has no place for them: `TEMP` on a view, and the table qualifier of an
//! `UPDATE` assignment target (`SET t.c = …`).
//!
//! A few SQLite-isms are normalised on the way:
//!
//! * `x ISNULL` becomes `x IS NULL` (sqlparser does not know `ISNULL`: it would
//!   read `SELECT a ISNULL` as `a AS ISNULL`), and hexadecimal integers such as
//!   `0x1F` become integers (sqlparser reads `0x1F` as a blob and `0X1F` as
//!   `0 AS X1F`); both are rewritten at the token level, before sqlparser's
//!   parser runs.
//! * A negative numeric literal `-5` becomes `Literal(-5)`, so that
//!   `-9223372036854775808` is `Integer(i64::MIN)`.
//! * `x IN table` becomes `x IN (SELECT * FROM table)`, which is SQLite's
//!   definition of it.
//! * `x IS [NOT] TRUE|FALSE` become `CASE` expressions with the same result.
//! * Compound selects (`UNION`, `EXCEPT`, `INTERSECT`) associate left to right
//!   with equal precedence, as in SQLite (sqlparser binds `INTERSECT` tighter).
//!
//! # Depth limits and the stack
//!
//! Parsing and mapping are recursive. Four limits keep that bounded:
//!
//! * sqlparser's recursion limit, [`RECURSION_LIMIT`] (500); exceeding it is
//!   `NotSupported("expression nested too deeply …")`;
//! * the depth of an expression tree, [`MAX_EXPR_DEPTH`] (1000, SQLite's
//!   `SQLITE_MAX_EXPR_DEPTH`); sqlparser builds left-deep chains such as
//!   `1+1+1+…` without recursing, so this limit is checked while mapping;
//! * [`MAX_TERM_TOKENS`] tokens at one parenthesis level without a comma,
//!   checked before parsing, so that no sqlparser tree is deep enough to
//!   overflow the stack when it is dropped (a million-term `1+1+…` would);
//! * [`MAX_COMPOUND_TERMS`] terms in a compound select (SQLite's limit);
//! * past its recursion limit inside a `CASE` or a chain of `NOT`s,
//!   sqlparser retries the keyword it failed on as a column name, and the
//!   statement then fails with a misleading syntax error; so a syntax error
//!   in a statement nested deeper than half the limit (counting open
//!   parentheses, open `CASE`s and `NOT`s in a row) is reported as nested
//!   too deeply.
//!
//! Within these limits the mapping still recurses once per level. The
//! recursive mapping functions (here, and the planner's and executor's) are
//! marked `#[recursive::recursive]`, which grows the stack on the heap when
//! it runs low, as sqlparser's own `recursive-protection` feature does — so
//! the deepest statements these limits accept parse, plan and run on a
//! default 2 MiB thread (tested in `tests/sql_api.rs`).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use sqlparser::ast as sp;
use sqlparser::ast::helpers::stmt_create_table::CreateTableBuilder;
use sqlparser::dialect::SQLiteDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, TokenizerError};

use crate::error::{Error, Result};
use crate::value::Value;

use super::ast::{
    AlterOp, BinaryOp, Check, ColumnDef, Expr, FromItem, IndexColumn, InsertSource, JoinKind, OnConflict, OrderItem,
    Query, Select, SelectItem, SetExpr, SetOp, Statement, TableConstraint, UnaryOp,
};

/// sqlparser's recursion limit (its default is 50). Each level of
/// parenthesis, subquery or right-nested operator uses one or two levels.
pub const RECURSION_LIMIT: usize = 500;

/// The deepest expression tree accepted (SQLite's `SQLITE_MAX_EXPR_DEPTH`).
/// A subquery counts towards the depth of the expression holding it.
pub const MAX_EXPR_DEPTH: usize = 1000;

/// The most tokens accepted at one parenthesis level between two commas.
/// This bounds the depth of the left-deep chains sqlparser builds without
/// recursing (`1+1+1+…`, long `UNION` chains).
pub const MAX_TERM_TOKENS: usize = 100_000;

/// The most terms in a compound select (SQLite's
/// `SQLITE_MAX_COMPOUND_SELECT`).
pub const MAX_COMPOUND_TERMS: usize = 500;

/// The largest `?N` parameter number (SQLite's `SQLITE_MAX_VARIABLE_NUMBER`).
pub const MAX_PARAM_NUMBER: usize = 32766;

/// Parse `sql` (one or more `;`-separated statements; empty statements and a
/// trailing `;` are allowed).
///
/// Errors: [`Error::Parse`] for text that is not SQL (with the line and
/// column sqlparser stopped at), [`Error::NotSupported`] for SQL waldb does
/// not support, [`Error::Sql`] for SQL that is malformed in a way the grammar
/// does not catch (a bad blob literal, `?0`, VALUES rows of different
/// lengths).
///
/// Any thread's stack will do; see the module documentation.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let statements = parse_sqlparser(sql)?;
    let mut conv = Converter { depth: 0 };
    statements.into_iter().map(|s| conv.statement(s)).collect()
}

/// Tokenize, rewrite the tokens, and run sqlparser.
fn parse_sqlparser(sql: &str) -> Result<Vec<sp::Statement>> {
    // sqlparser is not ours: should it ever panic on some input, report an
    // error instead of taking the embedding application down with it.
    std::panic::catch_unwind(|| {
        let dialect = SQLiteDialect {};
        let tokens =
            Tokenizer::new(&dialect, sql).with_unescape(true).tokenize_with_location().map_err(tokenizer_error)?;
        let (tokens, nesting) = prepare_tokens(sql, tokens)?;
        let tokens = pragma_tokens(tokens);
        Parser::new(&dialect)
            .with_recursion_limit(RECURSION_LIMIT)
            .with_tokens_with_locations(tokens)
            .parse_statements()
            .map_err(|e| match e {
                // The recursion limit, hidden behind a retry (module doc).
                ParserError::ParserError(_) if nesting > RECURSION_LIMIT / 2 => too_deep(RECURSION_LIMIT),
                e => parser_error(sql, e),
            })
    })
    .unwrap_or_else(|_| Err(Error::Sql("internal error: the SQL parser panicked on this statement".into())))
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

fn not_supported(what: impl Into<String>) -> Error {
    Error::NotSupported(what.into())
}

fn too_deep(limit: usize) -> Error {
    Error::NotSupported(format!("expression nested too deeply (limit {limit})"))
}

fn tokenizer_error(e: TokenizerError) -> Error {
    Error::Parse { message: e.message, line: e.location.line, column: e.location.column }
}

fn parser_error(sql: &str, e: ParserError) -> Error {
    match e {
        ParserError::RecursionLimitExceeded => too_deep(RECURSION_LIMIT),
        ParserError::ParserError(message) | ParserError::TokenizerError(message) => parse_error(sql, message),
    }
}

/// sqlparser's messages end with `" at Line: X, Column: Y"`; split that off
/// into the line and column. Errors at the end of the input carry no
/// location: they get the position just past the last character. Otherwise
/// the line and column are 0.
fn parse_error(sql: &str, message: String) -> Error {
    const MARKER: &str = " at Line: ";
    if let Some(pos) = message.rfind(MARKER)
        && let (Some(text), Some(tail)) = (message.get(..pos), message.get(pos + MARKER.len()..))
        && let Some((line, column)) = tail.split_once(", Column: ")
        && let (Ok(line), Ok(column)) = (line.trim().parse::<u64>(), column.trim().parse::<u64>())
    {
        return Error::Parse { message: text.to_string(), line, column };
    }
    if message.ends_with("found: EOF") {
        let line = sql.split('\n').count();
        let column = sql.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
        return Error::Parse { message, line: line as u64, column: column as u64 };
    }
    Error::Parse { message, line: 0, column: 0 }
}

// ---------------------------------------------------------------------------
// Token rewriting
// ---------------------------------------------------------------------------

/// Check the token-run limit and rewrite the SQLite-isms sqlparser does not
/// know: `ISNULL` → `IS NULL`, `0x1F` / `0X1F` → `31`. Also returns the
/// deepest nesting of open parentheses, open `CASE`s and `NOT`s in a row.
fn prepare_tokens(sql: &str, tokens: Vec<TokenWithSpan>) -> Result<(Vec<TokenWithSpan>, usize)> {
    let mut out = Vec::with_capacity(tokens.len());
    // Tokens seen at each open parenthesis level since its last comma.
    let mut runs: Vec<usize> = vec![0];
    // Open `CASE`s, `NOT`s in a row, and the deepest nesting seen.
    let (mut cases, mut nots, mut nesting) = (0usize, 0usize, 0usize);
    let mut tokens = tokens.into_iter().peekable();
    while let Some(t) = tokens.next() {
        match &t.token {
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::NOT => nots += 1,
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::CASE => (cases, nots) = (cases + 1, 0),
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::END => {
                (cases, nots) = (cases.saturating_sub(1), 0);
            }
            Token::Whitespace(_) => {}
            _ => nots = 0,
        }
        nesting = nesting.max(runs.len() - 1 + cases + nots);
        match &t.token {
            Token::Whitespace(_) => {
                out.push(t);
                continue;
            }
            Token::LParen => runs.push(0),
            Token::RParen if runs.len() > 1 => {
                runs.pop();
            }
            Token::Comma | Token::SemiColon => {
                if let Some(run) = runs.last_mut() {
                    *run = 0;
                }
            }
            _ => {}
        }
        if let Some(run) = runs.last_mut() {
            *run += 1;
            if *run > MAX_TERM_TOKENS {
                return Err(not_supported(format!(
                    "expression too long (more than {MAX_TERM_TOKENS} tokens without a comma at one level of parentheses)"
                )));
            }
        }
        let TokenWithSpan { token, span } = t;
        match token {
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("isnull") => {
                out.push(TokenWithSpan { token: Token::make_keyword("IS"), span });
                out.push(TokenWithSpan { token: Token::make_keyword("NULL"), span });
            }
            // sqlparser reads `0x1F` as the blob X'1F'…
            Token::HexStringLiteral(digits) if source_at(sql, span.start).is_some_and(|s| s.starts_with('0')) => {
                out.push(TokenWithSpan { token: Token::Number(hex_integer(&digits)?.to_string(), false), span });
            }
            // …and `0X1F` as `0 AS X1F`.
            Token::Number(zero, false) if zero == "0" && tokens.peek().is_some_and(|next| is_hex_word(next, span)) => {
                if let Some(TokenWithSpan { token: Token::Word(w), span: next }) = tokens.next() {
                    let digits = w.value.get(1..).unwrap_or_default();
                    let token = Token::Number(hex_integer(digits)?.to_string(), false);
                    out.push(TokenWithSpan { token, span: Span::new(span.start, next.end) });
                }
            }
            token => out.push(TokenWithSpan { token, span }),
        }
    }
    Ok((out, nesting))
}

/// SQLite's PRAGMA takes a bare word (`PRAGMA table_info(t)`,
/// `PRAGMA journal_mode = WAL`) or a signed number as its value; sqlparser
/// takes only strings and unsigned numbers. Rewrite the word into a string
/// and fold the sign into the number.
fn pragma_tokens(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    // Significant tokens seen since the start of the statement, when it is a PRAGMA.
    let mut seen: Option<usize> = Some(0);
    let mut pragma = false;
    let mut at_value = false;
    let mut tokens = tokens.into_iter().peekable();
    while let Some(t) = tokens.next() {
        if matches!(t.token, Token::Whitespace(_)) {
            out.push(t);
            continue;
        }
        if matches!(t.token, Token::SemiColon) {
            (seen, pragma, at_value) = (Some(0), false, false);
            out.push(t);
            continue;
        }
        let first = seen == Some(0);
        seen = seen.map(|n| n + 1);
        if first {
            pragma = matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::PRAGMA);
            out.push(t);
            continue;
        }
        if !pragma {
            out.push(t);
            continue;
        }
        if std::mem::take(&mut at_value) {
            match t.token {
                Token::Word(w) => {
                    out.push(TokenWithSpan { token: Token::SingleQuotedString(w.value), span: t.span });
                    continue;
                }
                Token::Minus | Token::Plus
                    if tokens.peek().is_some_and(|n| matches!(n.token, Token::Number(_, false))) =>
                {
                    let minus = matches!(t.token, Token::Minus);
                    if let Some(TokenWithSpan { token: Token::Number(n, false), span }) = tokens.next() {
                        let n = if minus { format!("-{n}") } else { n };
                        out.push(TokenWithSpan {
                            token: Token::Number(n, false),
                            span: Span::new(t.span.start, span.end),
                        });
                    }
                    continue;
                }
                token => {
                    out.push(TokenWithSpan { token, span: t.span });
                    continue;
                }
            }
        }
        at_value = matches!(t.token, Token::Eq | Token::LParen);
        out.push(t);
    }
    out
}

/// `X1F` directly after a `0` token ending at `number`.
fn is_hex_word(next: &TokenWithSpan, number: Span) -> bool {
    let Token::Word(w) = &next.token else { return false };
    let mut chars = w.value.chars();
    w.quote_style.is_none()
        && next.span.start == number.end
        && matches!(chars.next(), Some('x' | 'X'))
        && w.value.len() > 1
        && chars.all(|c| c.is_ascii_hexdigit() || c == '_')
}

/// The source text from a token's start location (lines split at `\n`,
/// columns counted in characters, both 1-based, as sqlparser counts them).
fn source_at(sql: &str, loc: Location) -> Option<&str> {
    let line = sql.split('\n').nth(usize::try_from(loc.line).ok()?.checked_sub(1)?)?;
    let column = usize::try_from(loc.column).ok()?.checked_sub(1)?;
    let (offset, _) = line.char_indices().nth(column)?;
    line.get(offset..)
}

/// The value of a hexadecimal integer literal's digits: up to 16 digits, read
/// as a 64-bit two's complement number, as SQLite does.
fn hex_integer(digits: &str) -> Result<i64> {
    let digits: Cow<str> = if digits.contains('_') { digits.replace('_', "").into() } else { digits.into() };
    if digits.is_empty() {
        return Err(Error::Sql("malformed hex literal: no digits after 0x".into()));
    }
    if digits.len() > 16 {
        return Err(Error::Sql(format!("hex literal too big: 0x{digits}")));
    }
    let value =
        u64::from_str_radix(&digits, 16).map_err(|_| Error::Sql(format!("malformed hex literal 0x{digits}")))?;
    Ok(value as i64)
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// A possibly schema-qualified name: `(schema, name)`.
fn qualified_name(name: sp::ObjectName) -> Result<(Option<String>, String)> {
    let shown = name.to_string();
    let mut parts = Vec::with_capacity(name.0.len());
    for part in name.0 {
        match part {
            sp::ObjectNamePart::Identifier(ident) => parts.push(ident.value),
            sp::ObjectNamePart::Function(_) => return Err(not_supported(format!("the name `{shown}`"))),
        }
    }
    let mut parts = parts.into_iter();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None) => Ok((None, name)),
        (Some(schema), Some(name), None) => {
            if schema.eq_ignore_ascii_case("main") || schema.eq_ignore_ascii_case("temp") {
                Ok((Some(schema), name))
            } else {
                Err(not_supported(format!("the schema `{schema}` in `{shown}` (only main and temp)")))
            }
        }
        _ => Err(not_supported(format!("the name `{shown}`"))),
    }
}

/// A table, index or view name, with an optional `main.`/`temp.` dropped.
fn object_name(name: sp::ObjectName) -> Result<String> {
    Ok(qualified_name(name)?.1)
}

/// An unqualified name (a column in a list).
fn simple_name(name: sp::ObjectName) -> Result<String> {
    let shown = name.to_string();
    let mut parts = name.0.into_iter();
    match (parts.next(), parts.next()) {
        (Some(sp::ObjectNamePart::Identifier(ident)), None) => Ok(ident.value),
        _ => Err(not_supported(format!("the qualified column name `{shown}` here"))),
    }
}

/// A declared type name, upper-cased (`None` when no type was written).
fn type_name(data_type: &sp::DataType) -> Option<String> {
    match data_type {
        sp::DataType::Unspecified => None,
        sp::DataType::Custom(name, modifiers) => {
            let mut text = name
                .0
                .iter()
                .map(|part| match part {
                    sp::ObjectNamePart::Identifier(ident) => ident.value.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".");
            if !modifiers.is_empty() {
                let modifiers: Vec<String> = modifiers.iter().map(|m| m.to_string()).collect();
                let _ = write!(text, "({})", modifiers.join(","));
            }
            Some(text.to_uppercase())
        }
        other => Some(other.to_string().to_uppercase()),
    }
}

/// The kind of an unsupported statement, for the error message.
fn statement_kind(statement: &sp::Statement) -> String {
    if let sp::Statement::Drop { object_type, .. } = statement {
        return format!("DROP {object_type}");
    }
    variant_kind(statement)
}

/// The name of an enum variant of sqlparser's tree spelled as SQL
/// (`CreateTrigger` → `CREATE TRIGGER`), from its `Debug` rendering.
fn variant_kind(value: &impl fmt::Debug) -> String {
    /// Collects the leading identifier of a `Debug` rendering and stops
    /// formatting there, so the rest of the statement is never formatted.
    struct VariantName(String);
    impl fmt::Write for VariantName {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    self.0.push(c);
                } else {
                    return Err(fmt::Error);
                }
            }
            Ok(())
        }
    }
    let mut name = VariantName(String::new());
    let _ = write!(name, "{value:?}");
    let mut kind = String::new();
    let mut previous_lower = false;
    for c in name.0.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            kind.push(' ');
        }
        previous_lower = c.is_ascii_lowercase();
        kind.push(c.to_ascii_uppercase());
    }
    if kind.is_empty() { "this kind of".into() } else { kind }
}

// ---------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------

/// A numeric literal: an integer when it fits `i64`, else a real.
fn number(text: &str, long: bool) -> Result<Value> {
    if long {
        return Err(not_supported(format!("the numeric literal `{text}L`")));
    }
    let clean: Cow<str> = if text.contains('_') { text.replace('_', "").into() } else { text.into() };
    if let Ok(i) = clean.parse::<i64>() {
        return Ok(Value::Integer(i));
    }
    clean.parse::<f64>().map(Value::real).map_err(|_| Error::Sql(format!("malformed numeric literal `{text}`")))
}

/// `-<numeric literal>`, folded: `-9223372036854775808` is `i64::MIN`.
fn negative_number(text: &str, long: bool) -> Result<Value> {
    let clean: Cow<str> = if text.contains('_') { text.replace('_', "").into() } else { text.into() };
    if !long
        && !clean.is_empty()
        && clean.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = clean.parse::<u128>()
        && n <= 1u128 << 63
    {
        return Ok(Value::Integer((n as i128).wrapping_neg() as i64));
    }
    Ok(match number(text, long)? {
        Value::Integer(i) => i.checked_neg().map_or(Value::Real(-(i as f64)), Value::Integer),
        Value::Real(r) => Value::real(-r),
        other => other,
    })
}

/// `X'…'`: an even number of hex digits.
fn blob(hex: &str) -> Result<Value> {
    fn digit(b: u8) -> Option<u8> {
        char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    if !hex.len().is_multiple_of(2) {
        return Err(Error::Sql(format!("malformed blob literal X'{hex}': odd number of hex digits")));
    }
    let mut bytes = Vec::with_capacity(hex.len() / 2);
    for pair in hex.as_bytes().chunks_exact(2) {
        match (pair.first().copied().and_then(digit), pair.get(1).copied().and_then(digit)) {
            (Some(hi), Some(lo)) => bytes.push(hi << 4 | lo),
            _ => return Err(Error::Sql(format!("malformed blob literal X'{hex}'"))),
        }
    }
    Ok(Value::Blob(bytes))
}

/// `?` or `?N`.
fn placeholder(p: &str) -> Result<Expr> {
    if p == "?" {
        return Ok(Expr::Param(None));
    }
    match p.strip_prefix('?') {
        Some(digits) => match digits.parse::<usize>() {
            Ok(n) if (1..=MAX_PARAM_NUMBER).contains(&n) => Ok(Expr::Param(Some(n))),
            _ => Err(Error::Sql(format!("variable number must be between ?1 and ?{MAX_PARAM_NUMBER} (got {p})"))),
        },
        None => Err(not_supported(format!("named parameters ({p}); use ? or ?N"))),
    }
}

fn literal(value: sp::Value) -> Result<Expr> {
    Ok(Expr::Literal(match value {
        sp::Value::Number(text, long) => number(&text, long)?,
        sp::Value::SingleQuotedString(s) => Value::Text(s),
        sp::Value::HexStringLiteral(hex) => blob(&hex)?,
        sp::Value::Boolean(b) => Value::Integer(i64::from(b)),
        sp::Value::Null => Value::Null,
        sp::Value::Placeholder(p) => return placeholder(&p),
        other => return Err(not_supported(format!("the literal {other}"))),
    }))
}

// ---------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------

/// Maps sqlparser's tree into waldb's, tracking expression depth.
struct Converter {
    /// Current depth of nested expressions (a subquery inside an expression
    /// counts as one level).
    depth: usize,
}

/// `expr IS [NOT] NULL`, folded as SQLite's parser folds it
/// (`sqlite3PExprIsNull`): when `expr`, under any signs, is a literal other
/// than NULL, the result is the integer literal 0 or 1 — which matters
/// where an integer literal means a column number (`ORDER BY 1 IS NULL`).
fn is_null(expr: Box<Expr>, negated: bool) -> Expr {
    let mut inner = &*expr;
    while let Expr::Unary { op: UnaryOp::Neg | UnaryOp::Plus, expr } = inner {
        inner = expr;
    }
    match inner {
        Expr::Literal(v) if *v != Value::Null => Expr::Literal(Value::Integer(i64::from(negated))),
        _ => Expr::IsNull { expr, negated },
    }
}

impl Converter {
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH { Err(too_deep(MAX_EXPR_DEPTH)) } else { Ok(()) }
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // --- statements --------------------------------------------------------

    fn statement(&mut self, statement: sp::Statement) -> Result<Statement> {
        match statement {
            sp::Statement::Query(query) => Ok(Statement::Query(Box::new(self.query(query)?))),
            sp::Statement::Insert(insert) => self.insert(insert),
            sp::Statement::Update(update) => self.update(update),
            sp::Statement::Delete(delete) => self.delete(delete),
            sp::Statement::CreateTable(create) => self.create_table(create),
            sp::Statement::CreateIndex(create) => self.create_index(create),
            sp::Statement::CreateView(create) => self.create_view(create),
            sp::Statement::AlterTable(alter) => self.alter_table(alter),
            sp::Statement::Pragma { name, value, is_eq } => self.pragma(name, value, is_eq),
            sp::Statement::Drop { object_type, if_exists, names, cascade, restrict, purge, temporary, table } => {
                if cascade || restrict || purge || temporary || table.is_some() {
                    return Err(not_supported(format!("options of DROP {object_type}")));
                }
                let mut names = names.into_iter();
                let (Some(name), None) = (names.next(), names.next()) else {
                    return Err(not_supported(format!("DROP {object_type} of several objects in one statement")));
                };
                let name = object_name(name)?;
                match object_type {
                    sp::ObjectType::Table => Ok(Statement::DropTable { name, if_exists }),
                    sp::ObjectType::Index => Ok(Statement::DropIndex { name, if_exists }),
                    sp::ObjectType::View => Ok(Statement::DropView { name, if_exists }),
                    other => Err(not_supported(format!("DROP {other} statements"))),
                }
            }
            sp::Statement::StartTransaction {
                modes,
                begin: _,
                transaction,
                modifier,
                statements,
                exception,
                has_end_keyword,
            } => {
                if !modes.is_empty() || !statements.is_empty() || exception.is_some() || has_end_keyword {
                    return Err(not_supported("transaction modes and BEGIN … END blocks"));
                }
                if !matches!(transaction, None | Some(sp::BeginTransactionKind::Transaction)) {
                    return Err(not_supported("BEGIN WORK/TRAN (use BEGIN [TRANSACTION])"));
                }
                match modifier {
                    None | Some(sp::TransactionModifier::Deferred) => Ok(Statement::Begin),
                    Some(other) => Err(not_supported(format!("BEGIN {other}"))),
                }
            }
            sp::Statement::Commit { chain, end: _, modifier } => {
                if chain || modifier.is_some() {
                    return Err(not_supported("COMMIT AND CHAIN / END TRY|CATCH"));
                }
                Ok(Statement::Commit)
            }
            sp::Statement::Rollback { chain, savepoint } => {
                if chain {
                    return Err(not_supported("ROLLBACK AND CHAIN"));
                }
                if savepoint.is_some() {
                    return Err(not_supported("savepoints (ROLLBACK TO)"));
                }
                Ok(Statement::Rollback)
            }
            sp::Statement::Explain {
                describe_alias,
                analyze,
                verbose,
                query_plan: _,
                estimate,
                statement,
                format,
                options,
            } => {
                if describe_alias != sp::DescribeAlias::Explain {
                    return Err(not_supported(format!("{describe_alias} statements")));
                }
                if analyze || verbose || estimate || format.is_some() || options.is_some() {
                    return Err(not_supported("EXPLAIN options (ANALYZE, VERBOSE, FORMAT, …)"));
                }
                Ok(Statement::Explain(Box::new(self.statement(*statement)?)))
            }
            other => Err(not_supported(format!("{} statements", statement_kind(&other)))),
        }
    }

    fn create_table(&mut self, create: sp::CreateTable) -> Result<Statement> {
        let mut create = create;
        if create.temporary {
            return Err(not_supported("TEMP tables"));
        }
        if create.query.is_some() {
            return Err(not_supported("CREATE TABLE … AS SELECT"));
        }
        if !create.sqlite_table_options.options.is_empty() {
            return Err(not_supported("table options (WITHOUT ROWID, STRICT)"));
        }
        if create.or_replace {
            return Err(not_supported("CREATE OR REPLACE TABLE"));
        }
        // Take out what waldb supports; everything left must be at its default.
        let empty = || sp::ObjectName(Vec::new());
        let name = std::mem::replace(&mut create.name, empty());
        let if_not_exists = std::mem::take(&mut create.if_not_exists);
        let columns = std::mem::take(&mut create.columns);
        let constraints = std::mem::take(&mut create.constraints);
        if create != CreateTableBuilder::new(empty()).build() {
            return Err(not_supported(
                "CREATE TABLE clauses other than column definitions, PRIMARY KEY and UNIQUE (COMMENT, PARTITION BY, …)",
            ));
        }
        let (schema, name) = qualified_name(name)?;
        if schema.is_some_and(|s| s.eq_ignore_ascii_case("temp")) {
            return Err(not_supported("TEMP tables"));
        }
        if columns.is_empty() {
            return Err(Error::Sql(format!("table {name} must have at least one column")));
        }
        let columns = columns.into_iter().map(|c| self.column_def(c)).collect::<Result<Vec<_>>>()?;
        let constraints = constraints
            .into_iter()
            .map(|c| match c {
                sp::TableConstraint::Check(check) => {
                    let name = check.name.map(|n| n.value);
                    Ok(TableConstraint::Check(self.check(name, *check.expr, check.no_inherit, check.enforced)?))
                }
                other => table_constraint(other),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Statement::CreateTable { name, if_not_exists, columns, constraints })
    }

    fn column_def(&mut self, column: sp::ColumnDef) -> Result<ColumnDef> {
        let sp::ColumnDef { name, data_type, options } = column;
        let mut def = ColumnDef {
            name: name.value,
            type_name: type_name(&data_type),
            primary_key: false,
            primary_key_desc: false,
            not_null: false,
            unique: false,
            default: None,
            autoincrement: false,
            checks: Vec::new(),
        };
        // sqlparser keeps `ASC`/`DESC` after `PRIMARY KEY` as a separate option.
        let mut after_primary_key = false;
        for option in options {
            let sp::ColumnOptionDef { name: constraint_name, option } = option;
            let follows_primary_key = std::mem::take(&mut after_primary_key);
            match option {
                sp::ColumnOption::Null => {}
                sp::ColumnOption::NotNull => def.not_null = true,
                sp::ColumnOption::Default(e) => def.default = Some(self.expr(e)?),
                sp::ColumnOption::PrimaryKey(pk) => {
                    check_primary_key(&pk, true)?;
                    def.primary_key = true;
                    after_primary_key = true;
                }
                sp::ColumnOption::Unique(unique) => {
                    check_unique(&unique, true)?;
                    def.unique = true;
                }
                sp::ColumnOption::DialectSpecific(tokens) => match tokens.as_slice() {
                    [Token::Word(w)] if follows_primary_key && w.keyword == Keyword::ASC => {}
                    [Token::Word(w)] if follows_primary_key && w.keyword == Keyword::DESC => {
                        def.primary_key_desc = true;
                    }
                    [Token::Word(w)] if w.keyword == Keyword::AUTOINCREMENT && def.primary_key => {
                        def.autoincrement = true;
                        // `PRIMARY KEY ASC AUTOINCREMENT`: the order came first.
                        after_primary_key = follows_primary_key;
                    }
                    _ => {
                        let shown: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
                        return Err(not_supported(format!("the column option `{}`", shown.join(" "))));
                    }
                },
                sp::ColumnOption::Check(check) => {
                    let name = check.name.map(|n| n.value).or(constraint_name.map(|n| n.value));
                    def.checks.push(self.check(name, *check.expr, check.no_inherit, check.enforced)?);
                }
                sp::ColumnOption::ForeignKey(_) => return Err(not_supported("foreign keys (REFERENCES)")),
                sp::ColumnOption::Collation(_) => return Err(not_supported("COLLATE")),
                sp::ColumnOption::Generated { .. } => return Err(not_supported("generated columns")),
                sp::ColumnOption::OnConflict(_) => return Err(not_supported("ON CONFLICT clauses")),
                other => return Err(not_supported(format!("the column option `{other}`"))),
            }
        }
        Ok(def)
    }

    /// A `CHECK` constraint's condition.
    fn check(
        &mut self,
        name: Option<String>,
        expr: sp::Expr,
        no_inherit: bool,
        enforced: Option<bool>,
    ) -> Result<Check> {
        if no_inherit || enforced.is_some() {
            return Err(not_supported("CHECK options (NO INHERIT, ENFORCED)"));
        }
        Ok(Check { name, expr: self.expr(expr)? })
    }

    /// `ALTER TABLE`: one operation, as SQLite allows.
    fn alter_table(&mut self, alter: sp::AlterTable) -> Result<Statement> {
        let sp::AlterTable { name, if_exists, only, operations, location, on_cluster, table_type, end_token: _ } =
            alter;
        if if_exists || only || location.is_some() || on_cluster.is_some() || table_type.is_some() {
            return Err(not_supported("ALTER TABLE options"));
        }
        let table = object_name(name)?;
        let mut operations = operations.into_iter();
        let (Some(op), None) = (operations.next(), operations.next()) else {
            return Err(not_supported("ALTER TABLE with several operations"));
        };
        let op = match op {
            sp::AlterTableOperation::RenameTable { table_name } => {
                let (sp::RenameTableNameKind::To(n) | sp::RenameTableNameKind::As(n)) = table_name;
                AlterOp::RenameTable(object_name(n)?)
            }
            sp::AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                AlterOp::RenameColumn { old: old_column_name.value, new: new_column_name.value }
            }
            sp::AlterTableOperation::AddColumn { column_keyword: _, if_not_exists, column_def, column_position } => {
                if if_not_exists || column_position.is_some() {
                    return Err(not_supported("ADD COLUMN options (IF NOT EXISTS, FIRST, AFTER)"));
                }
                AlterOp::AddColumn(self.column_def(column_def)?)
            }
            sp::AlterTableOperation::DropColumn { has_column_keyword: _, column_names, if_exists, drop_behavior } => {
                if if_exists || drop_behavior.is_some() {
                    return Err(not_supported("DROP COLUMN options (IF EXISTS, CASCADE, RESTRICT)"));
                }
                let mut names = column_names.into_iter();
                let (Some(c), None) = (names.next(), names.next()) else {
                    return Err(not_supported("DROP COLUMN of several columns"));
                };
                AlterOp::DropColumn(c.value)
            }
            other => return Err(not_supported(format!("ALTER TABLE … {}", variant_kind(&other)))),
        };
        Ok(Statement::AlterTable { table, op })
    }

    /// `PRAGMA [schema.]name [= value | (value)]`.
    fn pragma(&mut self, name: sp::ObjectName, value: Option<sp::ValueWithSpan>, assign: bool) -> Result<Statement> {
        let (schema, name) = qualified_name(name)?;
        if schema.is_some_and(|s| !s.eq_ignore_ascii_case("main")) {
            return Err(not_supported("PRAGMA on the temp schema"));
        }
        let value = match value.map(|v| v.value) {
            None => None,
            Some(sp::Value::SingleQuotedString(t) | sp::Value::DoubleQuotedString(t)) => Some(Value::Text(t)),
            Some(sp::Value::Number(n, long)) => Some(number(&n, long)?),
            Some(other) => return Err(not_supported(format!("the PRAGMA value {other}"))),
        };
        Ok(Statement::Pragma { name: name.to_ascii_lowercase(), value, assign })
    }

    fn create_index(&mut self, create: sp::CreateIndex) -> Result<Statement> {
        let sp::CreateIndex {
            name,
            table_name,
            using,
            columns,
            unique,
            concurrently,
            r#async,
            if_not_exists,
            include,
            nulls_distinct,
            with,
            predicate,
            index_options,
            alter_options,
        } = create;
        if predicate.is_some() {
            return Err(not_supported("partial indexes (CREATE INDEX … WHERE)"));
        }
        if using.is_some()
            || concurrently
            || r#async
            || !include.is_empty()
            || nulls_distinct.is_some()
            || !with.is_empty()
            || !index_options.is_empty()
            || !alter_options.is_empty()
        {
            return Err(not_supported("CREATE INDEX options"));
        }
        let Some(name) = name else {
            return Err(Error::Sql("CREATE INDEX needs an index name".into()));
        };
        let columns = columns
            .into_iter()
            .map(|c| {
                let (name, desc) = index_column(c)?;
                Ok(IndexColumn { name, desc })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Statement::CreateIndex {
            name: object_name(name)?,
            table: object_name(table_name)?,
            columns,
            unique,
            if_not_exists,
        })
    }

    fn create_view(&mut self, create: sp::CreateView) -> Result<Statement> {
        let sp::CreateView {
            or_alter,
            or_replace,
            materialized,
            secure,
            name,
            name_before_not_exists: _,
            columns,
            query,
            options,
            cluster_by,
            comment,
            with_no_schema_binding,
            if_not_exists,
            temporary: _,
            copy_grants,
            to,
            params,
        } = create;
        if or_alter || or_replace {
            return Err(not_supported("CREATE OR REPLACE VIEW"));
        }
        if materialized {
            return Err(not_supported("materialized views"));
        }
        if secure
            || options != sp::CreateTableOptions::None
            || !cluster_by.is_empty()
            || comment.is_some()
            || with_no_schema_binding
            || copy_grants
            || to.is_some()
            || params.is_some()
        {
            return Err(not_supported("CREATE VIEW options"));
        }
        let columns = columns
            .into_iter()
            .map(|c| {
                let sp::ViewColumnDef { name, data_type, options } = c;
                if data_type.is_some() || options.is_some() {
                    return Err(not_supported("types or options in a view's column list"));
                }
                Ok(name.value)
            })
            .collect::<Result<Vec<_>>>()?;
        // sqlparser's Display of deep trees is protected by its
        // recursive-protection feature.
        let query_sql = query.to_string();
        let query = self.query(query)?;
        Ok(Statement::CreateView {
            name: object_name(name)?,
            if_not_exists,
            columns,
            query: Box::new(query),
            query_sql,
        })
    }

    fn insert(&mut self, insert: sp::Insert) -> Result<Statement> {
        let sp::Insert {
            insert_token: _,
            optimizer_hints,
            or,
            ignore,
            into,
            table,
            table_alias,
            columns,
            by_name,
            overwrite,
            source,
            assignments,
            partitioned,
            after_columns,
            overriding,
            has_table_keyword,
            on,
            returning,
            output,
            replace_into,
            priority,
            insert_alias,
            settings,
            format_clause,
            multi_table_insert_type,
            multi_table_into_clauses,
            multi_table_when_clauses,
            multi_table_else_clause,
        } = insert;
        if on.is_some() {
            return Err(not_supported("upserts (INSERT … ON CONFLICT)"));
        }
        if returning.is_some() || output.is_some() {
            return Err(not_supported("RETURNING"));
        }
        if !assignments.is_empty() {
            return Err(not_supported("INSERT … SET"));
        }
        if !optimizer_hints.is_empty()
            || ignore
            || table_alias.is_some()
            || by_name
            || overwrite
            || partitioned.is_some()
            || !after_columns.is_empty()
            || overriding.is_some()
            || has_table_keyword
            || priority.is_some()
            || insert_alias.is_some()
            || settings.is_some()
            || format_clause.is_some()
            || multi_table_insert_type.is_some()
            || !multi_table_into_clauses.is_empty()
            || !multi_table_when_clauses.is_empty()
            || multi_table_else_clause.is_some()
        {
            return Err(not_supported("INSERT options other than OR REPLACE / OR IGNORE"));
        }
        if !into {
            return Err(not_supported("INSERT without INTO"));
        }
        let on_conflict = match or {
            _ if replace_into => OnConflict::Replace,
            None | Some(sp::SqliteOnConflict::Abort) => OnConflict::Abort,
            Some(sp::SqliteOnConflict::Replace) => OnConflict::Replace,
            Some(sp::SqliteOnConflict::Ignore) => OnConflict::Ignore,
            Some(other) => return Err(not_supported(format!("INSERT {other}"))),
        };
        let table = match table {
            sp::TableObject::TableName(name) => object_name(name)?,
            other => return Err(not_supported(format!("INSERT INTO {other}"))),
        };
        let columns = if columns.is_empty() {
            None
        } else {
            Some(columns.into_iter().map(simple_name).collect::<Result<Vec<_>>>()?)
        };
        let source = match source {
            None => {
                if columns.is_some() {
                    return Err(Error::Sql("DEFAULT VALUES takes no column list".into()));
                }
                InsertSource::DefaultValues
            }
            Some(query) => match self.query(query)? {
                Query { body: SetExpr::Values(rows), order_by, limit: None, offset: None } if order_by.is_empty() => {
                    InsertSource::Values(rows)
                }
                query => InsertSource::Query(Box::new(query)),
            },
        };
        Ok(Statement::Insert { table, columns, source, on_conflict })
    }

    fn update(&mut self, update: sp::Update) -> Result<Statement> {
        let sp::Update {
            update_token: _,
            optimizer_hints,
            table,
            on_cluster,
            assignments,
            from,
            selection,
            returning,
            output,
            or,
            order_by,
            limit,
            settings,
        } = update;
        if from.is_some() {
            return Err(not_supported("UPDATE … FROM"));
        }
        if returning.is_some() || output.is_some() {
            return Err(not_supported("RETURNING"));
        }
        if let Some(or) = or {
            return Err(not_supported(format!("UPDATE {or}")));
        }
        if !order_by.is_empty() || limit.is_some() {
            return Err(not_supported("UPDATE … ORDER BY/LIMIT"));
        }
        if !optimizer_hints.is_empty() || on_cluster.is_some() || settings.is_some() {
            return Err(not_supported("UPDATE options"));
        }
        let table = dml_table(table, "UPDATE")?;
        let assignments = assignments
            .into_iter()
            .map(|a| {
                let sp::Assignment { target, value } = a;
                let column = match target {
                    sp::AssignmentTarget::ColumnName(name) => {
                        let shown = name.to_string();
                        match name.0.into_iter().next_back() {
                            Some(sp::ObjectNamePart::Identifier(ident)) => ident.value,
                            _ => return Err(not_supported(format!("the assignment target `{shown}`"))),
                        }
                    }
                    sp::AssignmentTarget::Tuple(_) => {
                        return Err(not_supported("row-value assignments (SET (a, b) = …)"));
                    }
                };
                Ok((column, self.expr(value)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let filter = selection.map(|e| self.expr(e)).transpose()?;
        Ok(Statement::Update { table, assignments, filter })
    }

    fn delete(&mut self, delete: sp::Delete) -> Result<Statement> {
        let sp::Delete {
            delete_token: _,
            optimizer_hints,
            tables,
            from,
            on_cluster,
            using,
            selection,
            returning,
            output,
            order_by,
            limit,
            settings,
        } = delete;
        if returning.is_some() || output.is_some() {
            return Err(not_supported("RETURNING"));
        }
        if !order_by.is_empty() || limit.is_some() {
            return Err(not_supported("DELETE … ORDER BY/LIMIT"));
        }
        if !tables.is_empty() || using.is_some() {
            return Err(not_supported("multi-table DELETE"));
        }
        if !optimizer_hints.is_empty() || on_cluster.is_some() || settings.is_some() {
            return Err(not_supported("DELETE options"));
        }
        let sp::FromTable::WithFromKeyword(tables) = from else {
            return Err(not_supported("DELETE without FROM"));
        };
        let mut tables = tables.into_iter();
        let (Some(table), None) = (tables.next(), tables.next()) else {
            return Err(not_supported("multi-table DELETE"));
        };
        let table = dml_table(table, "DELETE")?;
        let filter = selection.map(|e| self.expr(e)).transpose()?;
        Ok(Statement::Delete { table, filter })
    }

    // --- queries -----------------------------------------------------------

    /// A query. Queries do not count towards [`MAX_EXPR_DEPTH`] themselves
    /// (a subquery inside an expression counts as one level, as in SQLite);
    /// their nesting is bounded by sqlparser's recursion limit.
    #[recursive::recursive]
    fn query(&mut self, mut query: Box<sp::Query>) -> Result<Query> {
        // Fields are checked through the box and moved out one by one: the
        // query is large and this frame is on the stack of every subquery.
        let sp::Query {
            with,
            body: _,
            order_by: _,
            limit_clause: _,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = &*query;
        if with.is_some() {
            return Err(not_supported("WITH (common table expressions)"));
        }
        if fetch.is_some() {
            return Err(not_supported("FETCH"));
        }
        if !locks.is_empty() || for_clause.is_some() || settings.is_some() || format_clause.is_some() {
            return Err(not_supported("query options (FOR UPDATE, SETTINGS, FORMAT, …)"));
        }
        if !pipe_operators.is_empty() {
            return Err(not_supported("pipe operators"));
        }
        let (limit, offset) = self.limit_offset(&mut query.limit_clause)?;
        let order_by = self.order_by(query.order_by.take())?;
        let body = self.set_expr(query.body)?;
        Ok(Query { body, order_by, limit, offset })
    }

    #[inline(never)]
    fn order_by(&mut self, order_by: Option<sp::OrderBy>) -> Result<Vec<OrderItem>> {
        let Some(sp::OrderBy { kind, interpolate }) = order_by else {
            return Ok(Vec::new());
        };
        if interpolate.is_some() {
            return Err(not_supported("ORDER BY … INTERPOLATE"));
        }
        match kind {
            sp::OrderByKind::Expressions(items) => items.into_iter().map(|item| self.order_item(item)).collect(),
            sp::OrderByKind::All(_) => Err(not_supported("ORDER BY ALL")),
        }
    }

    /// `(LIMIT, OFFSET)`; `LIMIT a, b` is offset `a`, limit `b`.
    #[inline(never)]
    fn limit_offset(&mut self, clause: &mut Option<sp::LimitClause>) -> Result<(Option<Expr>, Option<Expr>)> {
        let (limit, offset) = match clause.take() {
            None => (None, None),
            Some(sp::LimitClause::LimitOffset { limit, offset, limit_by }) => {
                if !limit_by.is_empty() {
                    return Err(not_supported("LIMIT … BY"));
                }
                let offset = match offset {
                    None => None,
                    Some(sp::Offset { value, rows: sp::OffsetRows::None }) => Some(value),
                    Some(_) => return Err(not_supported("OFFSET … ROWS")),
                };
                (limit, offset)
            }
            Some(sp::LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        };
        let limit = limit.map(|e| self.expr(e)).transpose()?;
        let offset = offset.map(|e| self.expr(e)).transpose()?;
        Ok((limit, offset))
    }

    fn order_item(&mut self, item: sp::OrderByExpr) -> Result<OrderItem> {
        let sp::OrderByExpr { expr, options, with_fill } = item;
        if with_fill.is_some() {
            return Err(not_supported("ORDER BY … WITH FILL"));
        }
        let sp::OrderByOptions { sort, nulls_first } = options;
        let desc = match sort {
            None | Some(sp::OrderBySort::Asc) => false,
            Some(sp::OrderBySort::Desc) => true,
            Some(sp::OrderBySort::Using(_)) => return Err(not_supported("ORDER BY … USING")),
        };
        Ok(OrderItem { expr: self.expr(expr)?, desc, nulls_first })
    }

    /// A query body. Compound operators are re-associated left to right with
    /// equal precedence, as SQLite does (sqlparser binds INTERSECT tighter).
    fn set_expr(&mut self, body: Box<sp::SetExpr>) -> Result<SetExpr> {
        if !matches!(*body, sp::SetExpr::SetOperation { .. }) {
            return self.set_operand(body);
        }
        enum Item {
            Operand(Box<sp::SetExpr>),
            Op(SetOp),
        }
        // In-order walk without recursion: sqlparser builds long UNION chains
        // as deep left-nested trees.
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        let mut stack = vec![Item::Operand(body)];
        while let Some(item) = stack.pop() {
            match item {
                Item::Op(op) => ops.push(op),
                Item::Operand(operand) => match *operand {
                    sp::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                        let op = set_op(op, set_quantifier)?;
                        stack.push(Item::Operand(right));
                        stack.push(Item::Op(op));
                        stack.push(Item::Operand(left));
                    }
                    _ => {
                        operands.push(operand);
                        if operands.len() > MAX_COMPOUND_TERMS {
                            return Err(not_supported(format!(
                                "too many terms in a compound SELECT (limit {MAX_COMPOUND_TERMS})"
                            )));
                        }
                    }
                },
            }
        }
        let mut operands = operands.into_iter();
        let Some(first) = operands.next() else {
            return Err(Error::Sql("empty compound SELECT".into()));
        };
        let mut result = self.set_operand(first)?;
        for (op, operand) in ops.into_iter().zip(operands) {
            let right = self.set_operand(operand)?;
            result = SetExpr::Compound { op, left: Box::new(result), right: Box::new(right) };
        }
        Ok(result)
    }

    #[recursive::recursive]
    fn set_operand(&mut self, body: Box<sp::SetExpr>) -> Result<SetExpr> {
        match *body {
            sp::SetExpr::Select(select) => Ok(SetExpr::Select(Box::new(self.select(select)?))),
            sp::SetExpr::Query(query) => match self.query(query)? {
                // Parentheses without their own ORDER BY/LIMIT change nothing.
                Query { body, order_by, limit: None, offset: None } if order_by.is_empty() => Ok(body),
                query => Ok(SetExpr::Query(Box::new(query))),
            },
            sp::SetExpr::Values(values) => Ok(SetExpr::Values(self.values(values)?)),
            sp::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                self.set_expr(Box::new(sp::SetExpr::SetOperation { left, op, set_quantifier, right }))
            }
            sp::SetExpr::Insert(_) | sp::SetExpr::Update(_) | sp::SetExpr::Delete(_) | sp::SetExpr::Merge(_) => {
                Err(not_supported("data-modifying statements inside a query"))
            }
            sp::SetExpr::Table(_) => Err(not_supported("TABLE t as a query")),
        }
    }

    fn values(&mut self, values: sp::Values) -> Result<Vec<Vec<Expr>>> {
        let sp::Values { explicit_row, value_keyword, rows } = values;
        if explicit_row || value_keyword {
            return Err(not_supported("VALUE / VALUES ROW(…)"));
        }
        let mut width = None;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let row = row.content;
            if *width.get_or_insert(row.len()) != row.len() {
                return Err(Error::Sql("all VALUES must have the same number of terms".into()));
            }
            out.push(row.into_iter().map(|e| self.expr(e)).collect::<Result<Vec<_>>>()?);
        }
        Ok(out)
    }

    fn select(&mut self, mut select: Box<sp::Select>) -> Result<Select> {
        // As in `query`: check through the box, move out only what is used.
        let sp::Select {
            select_token: _,
            optimizer_hints,
            distinct: _,
            select_modifiers,
            top,
            top_before_distinct: _,
            projection: _,
            exclude,
            into,
            from: _,
            lateral_views,
            prewhere,
            selection: _,
            connect_by,
            group_by: _,
            cluster_by,
            distribute_by,
            sort_by,
            having: _,
            named_window,
            qualify,
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = &*select;
        if into.is_some() {
            return Err(not_supported("SELECT … INTO"));
        }
        if !named_window.is_empty() {
            return Err(not_supported("window functions (WINDOW clause)"));
        }
        if !optimizer_hints.is_empty()
            || select_modifiers.is_some()
            || top.is_some()
            || exclude.is_some()
            || !lateral_views.is_empty()
            || prewhere.is_some()
            || !connect_by.is_empty()
            || !cluster_by.is_empty()
            || !distribute_by.is_empty()
            || !sort_by.is_empty()
            || qualify.is_some()
            || value_table_mode.is_some()
            || *flavor != sp::SelectFlavor::Standard
        {
            return Err(not_supported("SELECT clauses outside SQLite's (TOP, QUALIFY, CONNECT BY, …)"));
        }
        let distinct = match select.distinct.take() {
            None | Some(sp::Distinct::All) => false,
            Some(sp::Distinct::Distinct) => true,
            Some(sp::Distinct::On(_)) => return Err(not_supported("DISTINCT ON")),
        };
        let group_by =
            match std::mem::replace(&mut select.group_by, sp::GroupByExpr::Expressions(Vec::new(), Vec::new())) {
                sp::GroupByExpr::Expressions(exprs, modifiers) => {
                    if !modifiers.is_empty() {
                        return Err(not_supported("GROUP BY modifiers (WITH ROLLUP, …)"));
                    }
                    exprs.into_iter().map(|e| self.expr(e)).collect::<Result<Vec<_>>>()?
                }
                sp::GroupByExpr::All(_) => return Err(not_supported("GROUP BY ALL")),
            };
        let mut items = Vec::with_capacity(select.projection.len());
        for item in &mut select.projection {
            items.push(self.select_item(item)?);
        }
        let mut from = Vec::with_capacity(select.from.len());
        for table in &mut select.from {
            from.push(self.table_with_joins(table)?);
        }
        let filter = select.selection.take().map(|e| self.expr_box(Box::new(e))).transpose()?;
        let having = select.having.take().map(|e| self.expr_box(Box::new(e))).transpose()?;
        Ok(Select { distinct, items, from, filter, group_by, having })
    }

    /// A result column, moved out of `item` (which is left a placeholder).
    fn select_item(&mut self, item: &mut sp::SelectItem) -> Result<SelectItem> {
        match item {
            sp::SelectItem::UnnamedExpr(expr) => {
                Ok(SelectItem::Expr { expr: self.expr_box(take_expr(expr))?, alias: None })
            }
            sp::SelectItem::ExprWithAlias { expr, alias } => {
                let alias = std::mem::take(&mut alias.value);
                Ok(SelectItem::Expr { expr: self.expr_box(take_expr(expr))?, alias: Some(alias) })
            }
            sp::SelectItem::Wildcard(options) => {
                check_wildcard_options(options)?;
                Ok(SelectItem::Wildcard)
            }
            sp::SelectItem::QualifiedWildcard(kind, options) => {
                check_wildcard_options(options)?;
                match kind {
                    sp::SelectItemQualifiedWildcardKind::ObjectName(name) => {
                        Ok(SelectItem::QualifiedWildcard(object_name(name.clone())?))
                    }
                    sp::SelectItemQualifiedWildcardKind::Expr(_) => {
                        Err(not_supported("a wildcard on an expression (expr.*)"))
                    }
                }
            }
            sp::SelectItem::ExprWithAliases { .. } => Err(not_supported("several aliases for one result column")),
        }
    }

    /// `a JOIN b ON … JOIN c …` as a left-deep [`FromItem::Join`] tree. The
    /// parts are moved out of `table` (as in `select_item`).
    fn table_with_joins(&mut self, table: &mut sp::TableWithJoins) -> Result<FromItem> {
        let sp::TableWithJoins { relation, joins } = table;
        let mut left = self.table_factor(relation)?;
        for join in joins {
            let sp::Join { relation, global, join_operator } = join;
            if *global {
                return Err(not_supported("GLOBAL joins"));
            }
            let (kind, constraint) = match join_operator {
                sp::JoinOperator::Join(c) | sp::JoinOperator::Inner(c) => (JoinKind::Inner, c),
                sp::JoinOperator::Left(c) | sp::JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                sp::JoinOperator::CrossJoin(c) => (JoinKind::Cross, c),
                sp::JoinOperator::Right(_) | sp::JoinOperator::RightOuter(_) => {
                    return Err(not_supported("RIGHT JOIN"));
                }
                sp::JoinOperator::FullOuter(_) => return Err(not_supported("FULL JOIN")),
                other => return Err(not_supported(format!("{} joins", variant_kind(other)))),
            };
            let (on, using) = match constraint {
                sp::JoinConstraint::None => (None, Vec::new()),
                sp::JoinConstraint::On(e) => (Some(self.expr_box(take_expr(e))?), Vec::new()),
                sp::JoinConstraint::Using(names) => {
                    (None, names.iter().cloned().map(simple_name).collect::<Result<Vec<_>>>()?)
                }
                sp::JoinConstraint::Natural => return Err(not_supported("NATURAL joins")),
                sp::JoinConstraint::UsingAlias(..) => return Err(not_supported("USING (…) AS alias")),
            };
            let right = self.table_factor(relation)?;
            left = FromItem::Join { left: Box::new(left), right: Box::new(right), kind, on, using };
        }
        Ok(left)
    }

    #[recursive::recursive]
    fn table_factor(&mut self, factor: &mut sp::TableFactor) -> Result<FromItem> {
        match factor {
            sp::TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_directives,
                inheritance,
            } => {
                if args.is_some() {
                    return Err(not_supported(format!("table-valued functions ({name}(…))")));
                }
                if !with_hints.is_empty()
                    || version.is_some()
                    || *with_ordinality
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || inheritance.is_some()
                {
                    return Err(not_supported(format!("table options on {name}")));
                }
                for directive in index_directives.iter() {
                    match directive {
                        // Only forbids using indexes: results are the same.
                        sp::TableIndexDirective::NotIndexed => {}
                        other => return Err(not_supported(format!("index hints ({other})"))),
                    }
                }
                Ok(FromItem::Table { name: object_name(name.clone())?, alias: table_alias(alias.take())? })
            }
            sp::TableFactor::Derived { lateral, subquery, alias, sample } => {
                if *lateral {
                    return Err(not_supported("LATERAL subqueries"));
                }
                if sample.is_some() {
                    return Err(not_supported("TABLESAMPLE"));
                }
                let alias = table_alias(alias.take())?;
                Ok(FromItem::Subquery { query: Box::new(self.query(take_query(subquery))?), alias })
            }
            sp::TableFactor::NestedJoin { table_with_joins, alias } => {
                if alias.is_some() {
                    return Err(not_supported("an alias on a parenthesised join"));
                }
                self.table_with_joins(table_with_joins)
            }
            other => Err(not_supported(format!("the FROM item `{other}`"))),
        }
    }

    // --- expressions -------------------------------------------------------

    // The mapping of expressions recurses once per tree level, up to
    // MAX_EXPR_DEPTH levels, so the hot path (`expr_box` → `expr_node` →
    // `binary`/`unary` → `expr_box`) passes boxes, never sqlparser's 328-byte
    // `Expr` by value, and keeps the rarer cases in `expr_other`'s frame.

    fn expr(&mut self, expr: sp::Expr) -> Result<Expr> {
        self.expr_box(Box::new(expr))
    }

    fn expr_box(&mut self, expr: Box<sp::Expr>) -> Result<Expr> {
        // Parentheses are not nodes (SQLite does not count them either).
        let mut expr = expr;
        while let sp::Expr::Nested(inner) = *expr {
            expr = inner;
        }
        self.enter()?;
        let result = self.expr_node(expr);
        self.leave();
        result
    }

    fn boxed(&mut self, expr: Box<sp::Expr>) -> Result<Box<Expr>> {
        Ok(Box::new(self.expr_box(expr)?))
    }

    #[recursive::recursive]
    fn expr_node(&mut self, expr: Box<sp::Expr>) -> Result<Expr> {
        use sp::Expr as E;
        match *expr {
            E::Identifier(ident) => Ok(Expr::Column { table: None, name: ident.value }),
            E::Value(value) => literal(value.value),
            E::BinaryOp { left, op, right } => self.binary(left, op, right),
            E::UnaryOp { op, expr } => self.unary(op, expr),
            E::IsNull(e) => Ok(is_null(self.boxed(e)?, false)),
            E::IsNotNull(e) => Ok(is_null(self.boxed(e)?, true)),
            _ => self.expr_other(expr),
        }
    }

    fn unary(&mut self, op: sp::UnaryOperator, operand: Box<sp::Expr>) -> Result<Expr> {
        if op == sp::UnaryOperator::Minus
            && let sp::Expr::Value(sp::ValueWithSpan { value: sp::Value::Number(text, long), .. }) = &*operand
        {
            return Ok(Expr::Literal(negative_number(text, *long)?));
        }
        let op = match op {
            sp::UnaryOperator::Minus => UnaryOp::Neg,
            sp::UnaryOperator::Plus => UnaryOp::Plus,
            sp::UnaryOperator::Not => UnaryOp::Not,
            sp::UnaryOperator::BitwiseNot => UnaryOp::BitNot,
            other => return Err(not_supported(format!("the unary operator {other}"))),
        };
        Ok(Expr::Unary { op, expr: self.boxed(operand)? })
    }

    #[inline(never)]
    fn expr_other(&mut self, expr: Box<sp::Expr>) -> Result<Expr> {
        use sp::Expr as E;
        Ok(match *expr {
            E::CompoundIdentifier(idents) => {
                let shown = sp::ObjectName::from(idents.clone()).to_string();
                let mut idents = idents.into_iter();
                match (idents.next(), idents.next(), idents.next()) {
                    (Some(table), Some(name), None) => Expr::Column { table: Some(table.value), name: name.value },
                    _ => return Err(not_supported(format!("the column reference `{shown}` (use table.column)"))),
                }
            }
            E::IsDistinctFrom(a, b) => self.is(a, b, true)?,
            E::IsNotDistinctFrom(a, b) => self.is(a, b, false)?,
            // `x IS TRUE` is true exactly when `x` is a true condition; the
            // CASE has the same value and needs no new node.
            E::IsTrue(e) => self.truth_test(e, false, 1)?,
            E::IsNotTrue(e) => self.truth_test(e, false, 0)?,
            E::IsFalse(e) => self.truth_test(e, true, 1)?,
            E::IsNotFalse(e) => self.truth_test(e, true, 0)?,
            E::IsUnknown(_) | E::IsNotUnknown(_) => return Err(not_supported("IS [NOT] UNKNOWN")),
            E::Between { expr, negated, low, high } => {
                Expr::Between { expr: self.boxed(expr)?, low: self.boxed(low)?, high: self.boxed(high)?, negated }
            }
            E::In { expr, target, negated, global } => {
                if global {
                    return Err(not_supported("GLOBAL IN"));
                }
                let expr = self.boxed(expr)?;
                match target {
                    sp::InTarget::List(list) => {
                        let list = list.into_iter().map(|e| self.expr(e)).collect::<Result<Vec<_>>>()?;
                        Expr::InList { expr, list, negated }
                    }
                    sp::InTarget::Subquery(query) => {
                        Expr::InSubquery { expr, query: Box::new(self.query(query)?), negated }
                    }
                    sp::InTarget::Table { name, args: None } => {
                        // SQLite: `x IN t` means `x IN (SELECT * FROM t)`.
                        let select = Select {
                            distinct: false,
                            items: vec![SelectItem::Wildcard],
                            from: vec![FromItem::Table { name: object_name(name)?, alias: None }],
                            filter: None,
                            group_by: Vec::new(),
                            having: None,
                        };
                        let query = Query {
                            body: SetExpr::Select(Box::new(select)),
                            order_by: Vec::new(),
                            limit: None,
                            offset: None,
                        };
                        Expr::InSubquery { expr, query: Box::new(query), negated }
                    }
                    sp::InTarget::Table { name, args: Some(_) } => {
                        return Err(not_supported(format!("IN a table-valued function ({name}(…))")));
                    }
                    sp::InTarget::Unnest(_) => return Err(not_supported("IN UNNEST(…)")),
                }
            }
            E::Like { negated, any, expr, pattern, escape_char } => {
                if any {
                    return Err(not_supported("LIKE ANY"));
                }
                Expr::Like {
                    expr: self.boxed(expr)?,
                    pattern: self.boxed(pattern)?,
                    escape: escape_char.map(|e| self.boxed(e)).transpose()?,
                    negated,
                    glob: false,
                }
            }
            E::ILike { .. } => return Err(not_supported("ILIKE (LIKE is already case-insensitive for ASCII)")),
            E::SimilarTo { .. } => return Err(not_supported("SIMILAR TO")),
            E::RLike { .. } => return Err(not_supported("REGEXP / RLIKE")),
            E::AnyOp { .. } | E::AllOp { .. } => return Err(not_supported("ANY/ALL/SOME comparisons")),
            E::Cast { kind, expr, data_type, format } => {
                let other_cast = match kind {
                    sp::CastKind::Cast => None,
                    sp::CastKind::TryCast => Some("TRY_CAST"),
                    sp::CastKind::SafeCast => Some("SAFE_CAST"),
                    sp::CastKind::DoubleColon => Some("`::` casts"),
                };
                if let Some(other) = other_cast {
                    return Err(not_supported(format!("{other} (use CAST(x AS type))")));
                }
                if format.is_some() {
                    return Err(not_supported("CAST … FORMAT"));
                }
                Expr::Cast { expr: self.boxed(expr)?, type_name: type_name(&data_type).unwrap_or_default() }
            }
            E::Function(function) => self.function(function)?,
            E::Trim { trim_where, trim_what, expr, trim_characters } => {
                if trim_where.is_some() || trim_what.is_some() {
                    return Err(not_supported("TRIM(BOTH|LEADING|TRAILING … FROM …); use trim/ltrim/rtrim(x, y)"));
                }
                let mut args = vec![self.expr_box(expr)?];
                for e in trim_characters.unwrap_or_default() {
                    args.push(self.expr(e)?);
                }
                plain_function("trim", args)
            }
            E::Substring { expr, substring_from, substring_for, special, shorthand } => {
                if !special {
                    return Err(not_supported("SUBSTRING(x FROM … FOR …); use substr(x, start, length)"));
                }
                let mut args = vec![self.expr_box(expr)?];
                for e in [substring_from, substring_for].into_iter().flatten() {
                    args.push(self.expr_box(e)?);
                }
                plain_function(if shorthand { "substr" } else { "substring" }, args)
            }
            E::Ceil { expr, field: sp::CeilFloorKind::DateTimeField(sp::DateTimeField::NoDateTime) } => {
                plain_function("ceil", vec![self.expr_box(expr)?])
            }
            E::Floor { expr, field: sp::CeilFloorKind::DateTimeField(sp::DateTimeField::NoDateTime) } => {
                plain_function("floor", vec![self.expr_box(expr)?])
            }
            E::Ceil { .. } | E::Floor { .. } => return Err(not_supported("CEIL/FLOOR with a scale or field")),
            E::Case { case_token: _, end_token: _, operand, conditions, else_result } => {
                let operand = operand.map(|e| self.boxed(e)).transpose()?;
                let whens = conditions
                    .into_iter()
                    .map(|w| {
                        let sp::CaseWhen { condition, result } = w;
                        Ok((self.expr(condition)?, self.expr(result)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let else_result = else_result.map(|e| self.boxed(e)).transpose()?;
                Expr::Case { operand, whens, else_result }
            }
            E::Exists { subquery, negated } => Expr::Exists { query: Box::new(self.query(subquery)?), negated },
            E::Subquery(query) => Expr::Subquery(Box::new(self.query(query)?)),
            E::Collate { .. } => return Err(not_supported("COLLATE")),
            E::JsonAccess { .. } => return Err(not_supported("JSON operators")),
            E::CompoundFieldAccess { .. } => return Err(not_supported("field and array access (a.b[1])")),
            E::Tuple(_) => return Err(not_supported("row values ((a, b))")),
            E::Array(_) => return Err(not_supported("arrays")),
            E::Interval(_) => return Err(not_supported("intervals")),
            E::TypedString(_) => return Err(not_supported("typed literals (DATE '…')")),
            E::Position { .. } => return Err(not_supported("POSITION(… IN …); use instr()")),
            E::Extract { .. } => return Err(not_supported("EXTRACT; use strftime()")),
            E::Convert { .. } => return Err(not_supported("CONVERT; use CAST")),
            E::Overlay { .. } => return Err(not_supported("OVERLAY")),
            E::AtTimeZone { .. } => return Err(not_supported("AT TIME ZONE")),
            E::Wildcard(_) | E::QualifiedWildcard(..) => return Err(not_supported("`*` inside an expression")),
            other => return Err(not_supported(format!("the expression `{other}`"))),
        })
    }

    fn binary(&mut self, left: Box<sp::Expr>, op: sp::BinaryOperator, right: Box<sp::Expr>) -> Result<Expr> {
        use sp::BinaryOperator as B;
        let op = match op {
            B::Plus => BinaryOp::Add,
            B::Minus => BinaryOp::Sub,
            B::Multiply => BinaryOp::Mul,
            B::Divide => BinaryOp::Div,
            B::Modulo => BinaryOp::Mod,
            B::StringConcat => BinaryOp::Concat,
            B::Eq => BinaryOp::Eq,
            B::NotEq => BinaryOp::NotEq,
            B::Lt => BinaryOp::Lt,
            B::LtEq => BinaryOp::LtEq,
            B::Gt => BinaryOp::Gt,
            B::GtEq => BinaryOp::GtEq,
            B::And => BinaryOp::And,
            B::Or => BinaryOp::Or,
            B::BitwiseAnd => BinaryOp::BitAnd,
            B::BitwiseOr => BinaryOp::BitOr,
            B::PGBitwiseShiftLeft => BinaryOp::ShiftLeft,
            B::PGBitwiseShiftRight => BinaryOp::ShiftRight,
            B::Is => return self.is(left, right, false),
            B::IsNot => return self.is(left, right, true),
            B::Glob => {
                return Ok(Expr::Like {
                    expr: self.boxed(left)?,
                    pattern: self.boxed(right)?,
                    escape: None,
                    negated: false,
                    glob: true,
                });
            }
            B::Match | B::Regexp => return Err(not_supported(format!("the {op} operator"))),
            other => return Err(not_supported(format!("the {other} operator"))),
        };
        Ok(Expr::Binary { op, left: self.boxed(left)?, right: self.boxed(right)? })
    }

    /// `a IS [NOT] b`; with a NULL right side it is `a IS [NOT] NULL`.
    fn is(&mut self, left: Box<sp::Expr>, right: Box<sp::Expr>, negated: bool) -> Result<Expr> {
        let left = self.boxed(left)?;
        let right = self.boxed(right)?;
        if *right == Expr::Literal(Value::Null) {
            return Ok(is_null(left, negated));
        }
        Ok(Expr::Binary { op: if negated { BinaryOp::IsNot } else { BinaryOp::Is }, left, right })
    }

    /// `x IS [NOT] TRUE|FALSE` as `CASE WHEN [NOT] x THEN hit ELSE 1 - hit END`.
    fn truth_test(&mut self, e: Box<sp::Expr>, test_false: bool, hit: i64) -> Result<Expr> {
        let mut condition = self.expr_box(e)?;
        if test_false {
            condition = Expr::Unary { op: UnaryOp::Not, expr: Box::new(condition) };
        }
        Ok(Expr::Case {
            operand: None,
            whens: vec![(condition, Expr::Literal(Value::Integer(hit)))],
            else_result: Some(Box::new(Expr::Literal(Value::Integer(1 - hit)))),
        })
    }

    fn function(&mut self, function: sp::Function) -> Result<Expr> {
        let sp::Function { name, uses_odbc_syntax, parameters, args, within_group, filter, null_treatment, over } =
            function;
        let shown = name.to_string();
        if over.is_some() {
            return Err(not_supported(format!("window functions ({shown}(…) OVER)")));
        }
        if filter.is_some() {
            return Err(not_supported(format!("FILTER clauses ({shown}(…) FILTER)")));
        }
        if !within_group.is_empty() {
            return Err(not_supported("WITHIN GROUP"));
        }
        if uses_odbc_syntax || null_treatment.is_some() || parameters != sp::FunctionArguments::None {
            return Err(not_supported(format!("the call syntax of {shown}")));
        }
        let name = match simple_name(name) {
            Ok(name) => name.to_lowercase(),
            Err(_) => return Err(not_supported(format!("the qualified function name {shown}"))),
        };
        let list = match args {
            // CURRENT_TIMESTAMP and friends are written without parentheses.
            sp::FunctionArguments::None => return Ok(plain_function(&name, Vec::new())),
            sp::FunctionArguments::Subquery(_) => {
                return Err(not_supported(format!("a subquery as the argument list of {name}")));
            }
            sp::FunctionArguments::List(list) => list,
        };
        let sp::FunctionArgumentList { duplicate_treatment, args, clauses } = list;
        if !clauses.is_empty() {
            return Err(not_supported(format!("ORDER BY/LIMIT/… inside the call of {name}")));
        }
        let distinct = matches!(duplicate_treatment, Some(sp::DuplicateTreatment::Distinct));
        let mut star = false;
        let mut exprs = Vec::with_capacity(args.len());
        let arg_count = args.len();
        for arg in args {
            match arg {
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Expr(e)) => exprs.push(self.expr(e)?),
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Wildcard) if arg_count == 1 && !distinct => star = true,
                sp::FunctionArg::Unnamed(sp::FunctionArgExpr::Wildcard) => {
                    return Err(Error::Sql(format!("`*` must be the only argument of {name}(*)")));
                }
                sp::FunctionArg::Unnamed(_) => {
                    return Err(not_supported(format!("qualified wildcards as arguments of {name}")));
                }
                sp::FunctionArg::Named { .. } | sp::FunctionArg::ExprNamed { .. } => {
                    return Err(not_supported(format!("named arguments in the call of {name}")));
                }
            }
        }
        Ok(Expr::Function { name, args: exprs, distinct, star })
    }
}

/// Move an expression out of sqlparser's tree onto the heap, leaving a
/// placeholder (the frame holding `expr` stays small).
#[inline(never)]
fn take_expr(expr: &mut sp::Expr) -> Box<sp::Expr> {
    Box::new(std::mem::replace(expr, sp::Expr::Identifier(sp::Ident::new(""))))
}

/// Move a query out of sqlparser's tree, leaving an empty placeholder.
#[inline(never)]
fn take_query(query: &mut Box<sp::Query>) -> Box<sp::Query> {
    let placeholder = sp::Query {
        with: None,
        body: Box::new(sp::SetExpr::Values(sp::Values { explicit_row: false, value_keyword: false, rows: Vec::new() })),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    };
    std::mem::replace(query, Box::new(placeholder))
}

fn plain_function(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function { name: name.to_lowercase(), args, distinct: false, star: false }
}

fn set_op(op: sp::SetOperator, quantifier: sp::SetQuantifier) -> Result<SetOp> {
    use sp::SetQuantifier as Q;
    match (op, quantifier) {
        (sp::SetOperator::Union, Q::None | Q::Distinct) => Ok(SetOp::Union),
        (sp::SetOperator::Union, Q::All) => Ok(SetOp::UnionAll),
        (sp::SetOperator::Except, Q::None | Q::Distinct) => Ok(SetOp::Except),
        (sp::SetOperator::Intersect, Q::None | Q::Distinct) => Ok(SetOp::Intersect),
        (op, quantifier) => Err(not_supported(format!("{op} {quantifier}").trim().to_string())),
    }
}

fn table_alias(alias: Option<sp::TableAlias>) -> Result<Option<String>> {
    match alias {
        None => Ok(None),
        Some(sp::TableAlias { explicit: _, name, columns, at }) => {
            if !columns.is_empty() {
                return Err(not_supported(format!("column lists in table aliases ({name}(…))")));
            }
            if at.is_some() {
                return Err(not_supported("AT in table aliases"));
            }
            Ok(Some(name.value))
        }
    }
}

/// The target of UPDATE/DELETE: one plain table, no alias, no joins.
fn dml_table(table: sp::TableWithJoins, statement: &str) -> Result<String> {
    let sp::TableWithJoins { relation, joins } = table;
    if !joins.is_empty() {
        return Err(not_supported(format!("joins in {statement}")));
    }
    let sp::TableFactor::Table {
        name,
        alias,
        args,
        with_hints,
        version,
        with_ordinality,
        partitions,
        json_path,
        sample,
        index_directives,
        inheritance,
    } = relation
    else {
        return Err(not_supported(format!("{statement} of something other than a table")));
    };
    if alias.is_some() {
        return Err(not_supported(format!("an alias on the table of {statement}")));
    }
    if args.is_some()
        || !with_hints.is_empty()
        || version.is_some()
        || with_ordinality
        || !partitions.is_empty()
        || json_path.is_some()
        || sample.is_some()
        || inheritance.is_some()
        || index_directives.iter().any(|d| *d != sp::TableIndexDirective::NotIndexed)
    {
        return Err(not_supported(format!("table options in {statement}")));
    }
    object_name(name)
}

fn check_wildcard_options(options: &sp::WildcardAdditionalOptions) -> Result<()> {
    let sp::WildcardAdditionalOptions {
        wildcard_token: _,
        opt_ilike,
        opt_exclude,
        opt_except,
        opt_replace,
        opt_rename,
        opt_alias,
    } = options;
    if opt_ilike.is_some()
        || opt_exclude.is_some()
        || opt_except.is_some()
        || opt_replace.is_some()
        || opt_rename.is_some()
        || opt_alias.is_some()
    {
        return Err(not_supported("wildcard options (* EXCEPT, * REPLACE, …)"));
    }
    Ok(())
}

fn check_primary_key(pk: &sp::PrimaryKeyConstraint, column_level: bool) -> Result<()> {
    let sp::PrimaryKeyConstraint { name: _, index_name, index_type, columns, include, index_options, characteristics } =
        pk;
    if index_name.is_some()
        || index_type.is_some()
        || !include.is_empty()
        || !index_options.is_empty()
        || characteristics.is_some()
        || (column_level && !columns.is_empty())
    {
        return Err(not_supported("PRIMARY KEY options"));
    }
    Ok(())
}

fn check_unique(unique: &sp::UniqueConstraint, column_level: bool) -> Result<()> {
    let sp::UniqueConstraint {
        name: _,
        index_name,
        index_type_display,
        index_type,
        columns,
        include,
        index_options,
        characteristics,
        nulls_distinct,
    } = unique;
    if index_name.is_some()
        || *index_type_display != sp::KeyOrIndexDisplay::None
        || index_type.is_some()
        || !include.is_empty()
        || !index_options.is_empty()
        || characteristics.is_some()
        || *nulls_distinct != sp::NullsDistinctOption::None
        || (column_level && !columns.is_empty())
    {
        return Err(not_supported("UNIQUE options"));
    }
    Ok(())
}

/// A plain column of an index or key list: `(name, desc)`.
fn index_column(column: sp::IndexColumn) -> Result<(String, bool)> {
    let sp::IndexColumn { column, operator_class } = column;
    let sp::OrderByExpr { expr, options, with_fill } = column;
    let sp::OrderByOptions { sort, nulls_first } = options;
    if operator_class.is_some() || with_fill.is_some() || nulls_first.is_some() {
        return Err(not_supported("options on indexed columns (NULLS FIRST, operator classes)"));
    }
    let desc = match sort {
        None | Some(sp::OrderBySort::Asc) => false,
        Some(sp::OrderBySort::Desc) => true,
        Some(sp::OrderBySort::Using(_)) => return Err(not_supported("USING on indexed columns")),
    };
    match expr {
        sp::Expr::Identifier(ident) => Ok((ident.value, desc)),
        sp::Expr::Collate { .. } => Err(not_supported("COLLATE")),
        other => Err(not_supported(format!("indexes on expressions ({other})"))),
    }
}

/// A table-level `PRIMARY KEY (…)` or `UNIQUE (…)`. The ASC/DESC of the
/// columns is dropped: it orders the underlying index only.
fn table_constraint(constraint: sp::TableConstraint) -> Result<TableConstraint> {
    let columns = |columns: Vec<sp::IndexColumn>| {
        columns.into_iter().map(|c| index_column(c).map(|(name, _)| name)).collect::<Result<Vec<_>>>()
    };
    match constraint {
        sp::TableConstraint::PrimaryKey(pk) => {
            check_primary_key(&pk, false)?;
            Ok(TableConstraint::PrimaryKey(columns(pk.columns)?))
        }
        sp::TableConstraint::Unique(unique) => {
            check_unique(&unique, false)?;
            Ok(TableConstraint::Unique(columns(unique.columns)?))
        }
        sp::TableConstraint::Check(_) => Err(not_supported("CHECK constraints here")),
        sp::TableConstraint::ForeignKey(_) => Err(not_supported("foreign keys (FOREIGN KEY … REFERENCES)")),
        other => Err(not_supported(format!("the table constraint `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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
        FromItem::Join { left: Box::new(left), right: Box::new(right), kind, on, using: Vec::new() }
    }
    fn select(items: Vec<SelectItem>, from: Vec<FromItem>) -> Select {
        Select { distinct: false, items, from, filter: None, group_by: Vec::new(), having: None }
    }
    fn query(body: SetExpr) -> Query {
        Query { body, order_by: Vec::new(), limit: None, offset: None }
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
        ColumnDef {
            name: name.into(),
            type_name: type_name.map(String::from),
            primary_key: false,
            primary_key_desc: false,
            not_null: false,
            unique: false,
            default: None,
            autoincrement: false,
            checks: Vec::new(),
        }
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
                ColumnDef {
                    not_null: true,
                    unique: true,
                    default: Some(text("x")),
                    ..column("b", Some("VARCHAR(10)"))
                },
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
            }
        );
        assert_eq!(
            one("INSERT OR REPLACE INTO main.t VALUES (1)"),
            Statement::Insert {
                table: "t".into(),
                columns: None,
                source: InsertSource::Values(vec![vec![int(1)]]),
                on_conflict: OnConflict::Replace,
            }
        );
        assert_eq!(
            one("REPLACE INTO t VALUES (1)"),
            Statement::Insert {
                table: "t".into(),
                columns: None,
                source: InsertSource::Values(vec![vec![int(1)]]),
                on_conflict: OnConflict::Replace,
            }
        );
        assert_eq!(
            one("INSERT OR IGNORE INTO t VALUES (1)"),
            Statement::Insert {
                table: "t".into(),
                columns: None,
                source: InsertSource::Values(vec![vec![int(1)]]),
                on_conflict: OnConflict::Ignore,
            }
        );
        assert_eq!(
            one("INSERT INTO t DEFAULT VALUES"),
            Statement::Insert {
                table: "t".into(),
                columns: None,
                source: InsertSource::DefaultValues,
                on_conflict: OnConflict::Abort,
            }
        );
        assert_eq!(
            one("INSERT INTO t(a) SELECT x FROM u"),
            Statement::Insert {
                table: "t".into(),
                columns: Some(vec!["a".into()]),
                source: InsertSource::Query(Box::new(select_query(select(vec![item(col("x"))], vec![table("u")])))),
                on_conflict: OnConflict::Abort,
            }
        );
        assert_sql_error("INSERT INTO t VALUES (1, 2), (3)", "same number of terms");
        assert_not_supported("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "upserts");
        assert_not_supported("INSERT INTO t VALUES (1) RETURNING a", "RETURNING");
        assert_not_supported("INSERT OR FAIL INTO t VALUES (1)", "INSERT OR FAIL");
    }

    #[test]
    fn update_and_delete() {
        assert_eq!(
            one("UPDATE t SET t.a = 1, b = b + 1 WHERE c > 2"),
            Statement::Update {
                table: "t".into(),
                assignments: vec![("a".into(), int(1)), ("b".into(), bin(BinaryOp::Add, col("b"), int(1)))],
                filter: Some(bin(BinaryOp::Gt, col("c"), int(2))),
            }
        );
        assert_eq!(
            one("UPDATE main.t SET a = NULL"),
            Statement::Update { table: "t".into(), assignments: vec![("a".into(), null())], filter: None }
        );
        assert_eq!(
            one("DELETE FROM t WHERE a = 1"),
            Statement::Delete { table: "t".into(), filter: Some(bin(BinaryOp::Eq, col("a"), int(1))) }
        );
        assert_eq!(one("DELETE FROM main.t"), Statement::Delete { table: "t".into(), filter: None });
        assert_not_supported("UPDATE OR REPLACE t SET a = 1", "UPDATE OR REPLACE");
        assert_not_supported("UPDATE t SET a = u.b FROM u", "UPDATE … FROM");
        assert_not_supported("UPDATE t SET (a, b) = (1, 2)", "row-value assignments");
        assert_not_supported("DELETE FROM t RETURNING a", "RETURNING");
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
            Statement::Explain(Box::new(Statement::Delete { table: "t".into(), filter: None }))
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
        assert_eq!(
            columns[1].checks,
            vec![Check { name: Some("pos".into()), expr: bin(BinaryOp::Gt, col("b"), int(0)) }]
        );
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
        assert_not_supported("WITH c AS (SELECT 1) SELECT * FROM c", "WITH");
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
        let q = query_of(one(
            "SELECT DISTINCT a AS x, t.b y, *, t.* FROM t WHERE a > 1 GROUP BY a, b HAVING count(*) > 1 \
             ORDER BY 1 DESC, a NULLS FIRST, b ASC NULLS LAST LIMIT 10 OFFSET 5",
        ));
        let expected = Query {
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
        assert_eq!(
            s,
            select(vec![SelectItem::Wildcard], vec![table("t1"), nested, sub(1, "q"), sub(2, "r"), table("t4")])
        );
        // NOT INDEXED only forbids index use: accepted and dropped.
        assert_eq!(select_of("SELECT * FROM t NOT INDEXED"), select(vec![SelectItem::Wildcard], vec![table("t")]));
    }

    #[test]
    fn unsupported_from_items() {
        assert_not_supported("SELECT * FROM a NATURAL JOIN b", "NATURAL joins");
        assert_not_supported("SELECT * FROM a RIGHT JOIN b ON 1", "RIGHT JOIN");
        assert_not_supported("SELECT * FROM a FULL OUTER JOIN b ON 1", "FULL JOIN");
        assert_not_supported("SELECT * FROM t INDEXED BY i", "index hints");
        assert_not_supported("SELECT * FROM (a JOIN b ON 1) AS j", "alias on a parenthesised join");
        assert_not_supported("SELECT * FROM (SELECT 1) AS q(x)", "column lists in table aliases");
        assert_not_supported("SELECT * FROM other.t", "schema `other`");
        assert_not_supported("SELECT * FROM generate_series(1, 3)", "table-valued functions");
    }

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
        assert_eq!(
            expr("a NOT IN (SELECT b FROM u)"),
            Expr::InSubquery { expr: a(), query: Box::new(sub), negated: true }
        );
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

    // --- never panics ----------------------------------------------------------

    const SQL_WORDS: &[&str] = &[
        "SELECT",
        "FROM",
        "WHERE",
        "GROUP",
        "BY",
        "HAVING",
        "ORDER",
        "LIMIT",
        "OFFSET",
        "UNION",
        "ALL",
        "EXCEPT",
        "INTERSECT",
        "VALUES",
        "INSERT",
        "INTO",
        "OR",
        "REPLACE",
        "IGNORE",
        "UPDATE",
        "SET",
        "DELETE",
        "CREATE",
        "TABLE",
        "INDEX",
        "VIEW",
        "UNIQUE",
        "PRIMARY",
        "KEY",
        "DROP",
        "IF",
        "EXISTS",
        "NOT",
        "NULL",
        "ISNULL",
        "NOTNULL",
        "IS",
        "IN",
        "BETWEEN",
        "AND",
        "LIKE",
        "GLOB",
        "ESCAPE",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "CAST",
        "AS",
        "JOIN",
        "LEFT",
        "CROSS",
        "INNER",
        "ON",
        "USING",
        "NATURAL",
        "DISTINCT",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "EXPLAIN",
        "QUERY",
        "PLAN",
        "DEFAULT",
        "TEMP",
        "INDEXED",
        "COLLATE",
        "OVER",
        "FILTER",
        "WITH",
        "count",
        "sum",
        "t",
        "t1",
        "a",
        "b",
        "main",
        "(",
        ")",
        ",",
        ";",
        ".",
        "*",
        "+",
        "-",
        "/",
        "%",
        "||",
        "=",
        "==",
        "<>",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "&",
        "|",
        "<<",
        ">>",
        "~",
        "?",
        "?1",
        "?0",
        ":a",
        "1",
        "-1",
        "0x1F",
        "1.5e3",
        "'s'",
        "X'0A'",
        "x'1'",
        "\"q\"",
        "[b]",
        "9223372036854775808",
    ];

    /// `parse` returns, and not because it caught a panic inside sqlparser.
    fn check_no_panic(sql: &str) -> std::result::Result<(), TestCaseError> {
        if let Err(Error::Sql(message)) = parse(sql) {
            prop_assert!(!message.contains("panicked"), "sqlparser panicked on {sql:?}");
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(sql in "\\PC{0,200}") {
            check_no_panic(&sql)?;
        }

        #[test]
        fn never_panics_on_sql_soup(words in prop::collection::vec(prop::sample::select(SQL_WORDS), 0..40)) {
            check_no_panic(&words.join(" "))?;
        }

        #[test]
        fn never_panics_on_mutated_statements(
            base in prop::sample::select(&[
                "SELECT a, count(*) FROM t1 AS x JOIN t2 ON x.a = t2.b WHERE a IN (1, 2) GROUP BY a HAVING sum(b) > 0 ORDER BY 1 DESC LIMIT 3, 4",
                "INSERT OR REPLACE INTO t(a, b) VALUES (1, 'x'), (-9223372036854775808, X'00')",
                "CREATE TABLE t(a INTEGER PRIMARY KEY DESC, b VARCHAR(10) NOT NULL DEFAULT 0, UNIQUE(a, b))",
                "UPDATE t SET a = CASE WHEN b ISNULL THEN CAST(c AS REAL) ELSE ?2 END WHERE NOT EXISTS (SELECT 1)",
                "SELECT 1 UNION SELECT 2 EXCEPT VALUES (3) INTERSECT SELECT * FROM (SELECT 4) q",
            ][..]),
            cut in 0usize..200,
            insert in prop::sample::select(SQL_WORDS),
        ) {
            let cut = (0..=cut.min(base.len())).rev().find(|&i| base.is_char_boundary(i)).unwrap_or(0);
            let (head, tail) = base.split_at(cut);
            check_no_panic(&format!("{head} {insert} {tail}"))?;
            check_no_panic(head)?;
        }
    }
}
