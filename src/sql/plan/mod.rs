//! Planning: the syntax tree, resolved against the catalog, into a tree of
//! operators with compiled expressions.
//!
//! # Rows and layouts
//!
//! Every operator produces rows (`Vec<Value>`). A base table scan produces
//! the table's columns followed by its rowid (a hidden column). A join
//! produces its left row followed by its right row, so a left-deep join of
//! sources `s0, s1, …` lays their columns side by side and an expression over
//! the first `k` sources reads the same positions at every level. An
//! aggregate produces the last input row of each group, then the group-by
//! values, then the aggregate results — so plain column references (SQLite's
//! "bare columns") keep their positions.
//!
//! # Choices the planner makes
//!
//! - WHERE and inner-join ON conditions are split into conjuncts; each is
//!   applied at the lowest join level where every table it reads is present.
//! - A base table is read through the rowid (`rowid = e`, `IN`, ranges) or an
//!   index (equality on a prefix of its columns, then a range or `IN` on the
//!   next) when a conjunct allows it, the other side's value coming from a
//!   constant, a parameter or an earlier table of the join (an index lookup
//!   per outer row). Conjuncts used this way are still checked on each row.
//! - An ORDER BY that the rowid or an index already gives, on a single-table
//!   query without aggregates, skips the sort.
//!
//! # Files
//!
//! - `types`: the plan itself — compiled expressions ([`CExpr`]), operators
//!   ([`Node`]), access paths ([`Access`]), the plan of a query and of a subquery.
//! - this file: name resolution — the [`Scope`] an expression's names resolve
//!   in, and the [`Planner`]'s state.
//! - `planner`: statements and queries into plans (FROM, joins, WHERE,
//!   aggregates, compounds, ORDER BY, DML).
//! - `cte`: common table expressions (`WITH`, `WITH RECURSIVE`): their
//!   names in scope and their plans.
//! - `returning`: the `RETURNING` items of INSERT, UPDATE and DELETE.
//! - `access`: the choice of a rowid or index access path from the
//!   conditions on a table, pruning of unread columns, sorts an index makes
//!   unnecessary.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::Value;

use crate::sql::ast::{self, BinaryOp, JoinKind, SetOp, UnaryOp};
use crate::sql::catalog::{Catalog, Index, Table};
use crate::sql::func::{self, AggState, Aggregate, Scalar};
use crate::sql::types::{Affinity, affinity};

mod access;
mod cte;
mod planner;
mod returning;
mod types;

pub use access::prune_scan_columns;
use access::*;
use cte::CteEntry;
pub use cte::MAX_RECURSIVE_ROWS;
pub use types::*;

/// The most references to views and common table expressions one statement
/// may expand (each is planned anew at every reference).
pub const MAX_EXPANSIONS: usize = 10_000;

/// A column in a name scope.
#[derive(Clone, Debug)]
struct ScopeCol {
    /// The table's alias or name (lower-case).
    table: Option<String>,
    /// The column's name (lower-case).
    name: String,
    /// Affinity.
    aff: Option<Affinity>,
    /// Not part of `*` (the rowid).
    hidden: bool,
    /// Not found by an unqualified name (the right column of `USING`).
    qualified_only: bool,
    /// Display name as declared.
    display: String,
}

impl ScopeCol {
    /// An output column of a query read as a source (a subquery, a view,
    /// the result a compound's ORDER BY sees).
    fn output(table: Option<String>, name: &str, aff: Option<Affinity>) -> ScopeCol {
        ScopeCol { table, name: lower(name), aff, hidden: false, qualified_only: false, display: name.to_string() }
    }
}

/// The names visible to an expression: the current row's columns, and the
/// enclosing queries'.
pub struct Scope<'p> {
    cols: Vec<ScopeCol>,
    parent: Option<&'p Scope<'p>>,
    correlated: Cell<bool>,
    /// The highest of this scope's columns that a subquery compiled in it
    /// has read (so a WHERE conjunct whose subquery reads a later join
    /// source is not evaluated before that source's row exists).
    read_by_subquery: Cell<Option<usize>>,
    /// SELECT aliases (SQLite lets WHERE, GROUP BY and HAVING use them).
    aliases: Vec<(String, ast::Expr)>,
    /// The aliases whose expressions are being compiled now.
    expanding: RefCell<Vec<String>>,
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scope({} columns)", self.cols.len())
    }
}

impl<'p> Scope<'p> {
    fn new(cols: Vec<ScopeCol>, parent: Option<&'p Scope<'p>>) -> Scope<'p> {
        Scope {
            cols,
            parent,
            correlated: Cell::new(false),
            read_by_subquery: Cell::new(None),
            aliases: Vec::new(),
            expanding: RefCell::new(Vec::new()),
        }
    }

    /// The column a name refers to: `(depth, position, affinity)`.
    fn resolve(&self, table: Option<&str>, name: &str) -> Result<Option<(usize, usize, Option<Affinity>)>> {
        let t = table.map(str::to_ascii_lowercase);
        let n = name.to_ascii_lowercase();
        let rowid_name = matches!(n.as_str(), "rowid" | "oid" | "_rowid_");
        let mut scope = Some(self);
        let mut depth = 0;
        while let Some(s) = scope {
            let mut found: Vec<usize> = s
                .cols
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.name == n
                        && (rowid_name || !c.hidden)
                        && match &t {
                            Some(t) => c.table.as_deref() == Some(t.as_str()),
                            None => !c.qualified_only,
                        }
                })
                .map(|(i, _)| i)
                .collect();
            if found.is_empty() && rowid_name {
                found = s
                    .cols
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.hidden && t.as_ref().is_none_or(|t| c.table.as_deref() == Some(t.as_str())))
                    .map(|(i, _)| i)
                    .collect();
            }
            match found.as_slice() {
                [] => {}
                [i] => {
                    if depth > 0 {
                        // Every scope from here up to the owner reads an
                        // enclosing row.
                        let mut x = Some(self);
                        for _ in 0..depth {
                            if let Some(sc) = x {
                                sc.correlated.set(true);
                                x = sc.parent;
                            }
                        }
                        s.read_by_subquery.set(s.read_by_subquery.get().max(Some(*i)));
                    }
                    return Ok(Some((depth, *i, s.cols[*i].aff)));
                }
                _ => return Err(Error::Sql(format!("ambiguous column name: {name}"))),
            }
            scope = s.parent;
            depth += 1;
        }
        Ok(None)
    }
}

/// How aggregates are handled while compiling an expression.
struct AggMode<'a> {
    aggs: &'a mut Vec<AggSpec>,
    /// Position of the first aggregate result in the aggregate's output.
    base: usize,
}

/// Turns statements into plans; collects the statement's subqueries and
/// counts its parameters.
pub struct Planner<'c> {
    catalog: &'c Catalog,
    /// Subqueries, referred to by index from expressions.
    pub subs: Vec<SubPlan>,
    next_param: usize,
    /// Highest parameter number seen.
    pub params: usize,
    derived: usize,
    /// The common table expressions in scope, innermost last.
    ctes: Vec<CteEntry>,
    /// References to views and CTEs planned so far ([`MAX_EXPANSIONS`]).
    expansions: usize,
    /// How many `plan_query` calls are under way (a recursive CTE's table
    /// may be read only at the depth of its recursive SELECT).
    query_depth: usize,
}

impl std::fmt::Debug for Planner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Planner({} subqueries)", self.subs.len())
    }
}

/// A source of FROM, before joining.
struct Source {
    node: Node,
    cols: Vec<ScopeCol>,
    /// Base table (for access-path choice).
    table: Option<Arc<Table>>,
    /// How it joins the sources before it.
    left_outer: bool,
    /// Its LEFT JOIN condition.
    on: Option<ast::Expr>,
    /// Inner join conditions attached to it (pooled with WHERE).
    inner_on: Vec<ast::Expr>,
}

/// The scope columns of a base table: its columns, then the hidden rowid.
fn table_cols(t: &Table, qual: String) -> Vec<ScopeCol> {
    let mut cols: Vec<ScopeCol> = t
        .columns
        .iter()
        .map(|c| ScopeCol {
            table: Some(qual.clone()),
            name: lower(&c.name),
            aff: Some(c.affinity),
            hidden: false,
            qualified_only: false,
            display: c.name.clone(),
        })
        .collect();
    cols.push(ScopeCol {
        table: Some(qual),
        name: "rowid".into(),
        aff: Some(Affinity::Integer),
        hidden: true,
        qualified_only: false,
        display: "rowid".into(),
    });
    cols
}

impl Scope<'static> {
    /// A scope with no columns (VALUES rows, defaults).
    pub fn empty() -> Scope<'static> {
        Scope::new(Vec::new(), None)
    }

    /// The scope of one table's rows (UPDATE and DELETE): its columns, then
    /// its rowid.
    pub fn of_table(t: &Table) -> Scope<'static> {
        Scope::new(table_cols(t, lower(&t.name)), None)
    }

    /// The scope of an upsert's `DO UPDATE`: the existing row of `t` (its
    /// columns, then its rowid), then the row that would have been
    /// inserted, named only as `excluded.col` (its columns, then its rowid).
    pub fn of_upsert(t: &Table) -> Scope<'static> {
        let mut cols = table_cols(t, lower(&t.name));
        cols.extend(table_cols(t, "excluded".into()).into_iter().map(|c| ScopeCol { qualified_only: true, ..c }));
        Scope::new(cols, None)
    }
}

fn conjuncts(e: &ast::Expr, out: &mut Vec<ast::Expr>) {
    if let ast::Expr::Binary { op: BinaryOp::And, left, right } = e {
        conjuncts(left, out);
        conjuncts(right, out);
    } else {
        out.push(e.clone());
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The output name of a result column.
fn column_name(e: &ast::Expr, alias: &Option<String>) -> String {
    if let Some(a) = alias {
        return a.clone();
    }
    match e {
        ast::Expr::Column { name, .. } => name.clone(),
        other => {
            let s = other.to_string();
            // Top-level parentheses added by the printer.
            if s.starts_with('(') && s.ends_with(')') && !matches!(other, ast::Expr::Subquery(_)) {
                s[1..s.len() - 1].to_string()
            } else {
                s
            }
        }
    }
}
