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
//! * An INSERT may have several `ON CONFLICT` clauses (sqlparser reads one):
//!   the later ones are cut out of the tokens and parsed apart (`upsert`).
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
    AlterOp, BinaryOp, Check, ColumnDef, Cte, Expr, FromItem, IndexColumn, InsertSource, JoinKind, OnConflict, OrderItem,
    Query, Select, SelectItem, SetExpr, SetOp, Statement, TableConstraint, UnaryOp, Upsert, With,
};

mod expr;
mod names;
mod query;
mod statement;
#[cfg(test)]
mod tests;
mod tokens;
mod upsert;

use names::*;
use statement::*;
use tokens::*;

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
    let (statements, mut extra_upserts) = parse_sqlparser(sql)?;
    let mut conv = Converter { depth: 0 };
    let mut out = statements.into_iter().map(|s| conv.statement(s)).collect::<Result<Vec<_>>>()?;
    // The second and later upsert clauses of an INSERT, parsed apart
    // (`upsert::split_upserts`).
    for (i, on) in extra_upserts.drain(..) {
        let clause = conv.upsert(on)?;
        match out.get_mut(i) {
            Some(Statement::Insert { upsert, .. }) if !upsert.is_empty() => upsert.push(clause),
            _ => return Err(Error::Sql("ON CONFLICT outside an INSERT".into())),
        }
    }
    Ok(out)
}

/// Upsert clauses parsed apart from their statement: (the statement's
/// index, the clause).
type ExtraUpserts = Vec<(usize, sp::OnInsert)>;

/// Tokenize, rewrite the tokens, and run sqlparser.
fn parse_sqlparser(sql: &str) -> Result<(Vec<sp::Statement>, ExtraUpserts)> {
    // sqlparser is not ours: should it ever panic on some input, report an
    // error instead of taking the embedding application down with it.
    std::panic::catch_unwind(|| {
        let dialect = SQLiteDialect {};
        let tokens =
            Tokenizer::new(&dialect, sql).with_unescape(true).tokenize_with_location().map_err(tokenizer_error)?;
        let (tokens, nesting) = prepare_tokens(sql, tokens)?;
        let tokens = pragma_tokens(tokens);
        let (tokens, extra) = upsert::split_upserts(tokens);
        let statements = Parser::new(&dialect)
            .with_recursion_limit(RECURSION_LIMIT)
            .with_tokens_with_locations(tokens)
            .parse_statements()
            .map_err(|e| match e {
                // The recursion limit, hidden behind a retry (module doc).
                ParserError::ParserError(_) if nesting > RECURSION_LIMIT / 2 => too_deep(RECURSION_LIMIT),
                e => parser_error(sql, e),
            })?;
        let extra = extra
            .into_iter()
            .map(|(i, clause)| Ok((i, upsert::parse_extra_upsert(sql, clause)?)))
            .collect::<Result<ExtraUpserts>>()?;
        Ok((statements, extra))
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
