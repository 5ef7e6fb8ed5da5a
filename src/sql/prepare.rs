//! Preparing a statement: resolve names against the catalog and compile
//! expressions and queries into plans, once; execution ([`super::dml`],
//! [`super::ddl`], [`super::exec`]) then runs the plan as often as it is
//! asked, with new parameters each time.
//!
//! A prepared statement remembers the schema cookie of the catalog it was
//! planned against; the API replans it from its syntax tree when the schema
//! has changed since.

use std::sync::Arc;

use crate::error::{Error, Result};

use super::alter::check_name;
use super::ast::{InsertSource, OnConflict, SelectItem, Statement};
use super::catalog::{Catalog, Index, Table, is_schema_table};
use super::plan::{CExpr, Node, Planner, QueryPlan, Scope, SubPlan, prune_scan_columns};
use super::pragma::Pragma;
use super::sequence::SEQUENCE_TABLE;
use super::upsert::{self, UpsertClause};

/// Rows to insert.
#[derive(Clone, Debug)]
pub enum InsertRows {
    /// Literal rows, one expression per target column.
    Values(Vec<Vec<CExpr>>),
    /// The rows of a query.
    Query(Box<QueryPlan>),
}

/// A DML statement's `RETURNING`: one expression per output column, over
/// the changed row (its columns, then its rowid); empty when none.
#[derive(Clone, Debug, Default)]
pub struct Returning {
    /// The expressions.
    pub exprs: Vec<CExpr>,
    /// The output columns' names.
    pub columns: Vec<String>,
}

impl Returning {
    /// Plan `items` over rows of `t`.
    fn plan(p: &mut Planner<'_>, t: &Table, items: &[SelectItem]) -> Result<Returning> {
        let (exprs, columns) = p.plan_returning(t, items)?;
        Ok(Returning { exprs, columns })
    }
}

/// A planned `INSERT`.
#[derive(Clone, Debug)]
pub struct InsertPlan {
    /// The table.
    pub table: Arc<Table>,
    /// Its indexes.
    pub indexes: Vec<Arc<Index>>,
    /// For each value of a source row, the column it fills.
    pub targets: Vec<usize>,
    /// The rows.
    pub rows: InsertRows,
    /// Per column, its compiled `DEFAULT` (NULL when none).
    pub defaults: Vec<Option<CExpr>>,
    /// What a uniqueness conflict does.
    pub on_conflict: OnConflict,
    /// The table's CHECK constraints: (name for the error, condition over
    /// the row's columns then its rowid).
    pub checks: Vec<(String, CExpr)>,
    /// `sqlite_sequence`, when the table is AUTOINCREMENT.
    pub sequence: Option<Arc<Table>>,
    /// The upsert clauses (`ON CONFLICT … DO …`), in order.
    pub upsert: Vec<UpsertClause>,
    /// `RETURNING`, over each inserted row (and each row an upsert
    /// updates).
    pub returning: Returning,
}

/// A planned `UPDATE`.
#[derive(Clone, Debug)]
pub struct UpdatePlan {
    /// The table.
    pub table: Arc<Table>,
    /// Its indexes.
    pub indexes: Vec<Arc<Index>>,
    /// The rows to change (columns, then rowid).
    pub rows: Node,
    /// `(column, new value)`, evaluated against the old row.
    pub sets: Vec<(usize, CExpr)>,
    /// The table's CHECK constraints, as in [`InsertPlan::checks`].
    pub checks: Vec<(String, CExpr)>,
    /// `RETURNING`, over each row as changed.
    pub returning: Returning,
}

/// A planned `DELETE`.
#[derive(Clone, Debug)]
pub struct DeletePlan {
    /// The table.
    pub table: Arc<Table>,
    /// Its indexes.
    pub indexes: Vec<Arc<Index>>,
    /// The rows to delete (columns, then rowid).
    pub rows: Node,
    /// `RETURNING`, over each row before it is deleted.
    pub returning: Returning,
}

/// What a prepared statement does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Return rows.
    Query(QueryPlan),
    /// Insert rows.
    Insert(InsertPlan),
    /// Change rows.
    Update(UpdatePlan),
    /// Delete rows.
    Delete(DeletePlan),
    /// Change the schema (run against the catalog current at execution).
    Schema(Statement),
    /// `BEGIN`.
    Begin,
    /// `COMMIT`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// `EXPLAIN`: the plan of the inner statement, as text rows.
    Explain(Box<Action>),
    /// `PRAGMA`.
    Pragma(Pragma),
}

/// A statement planned against one catalog.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// What it does.
    pub action: Action,
    /// Its subqueries.
    pub subs: Vec<SubPlan>,
    /// How many parameters it takes.
    pub params: usize,
    /// Names of the columns it returns (empty when it returns no rows).
    pub columns: Vec<String>,
}

impl Prepared {
    /// How a constraint violation resolves for the statement as a whole:
    /// `Fail` keeps what the statement changed before it, `Rollback` ends
    /// the enclosing transaction; anything else undoes the statement
    /// (ABORT).
    pub fn on_violation(&self) -> OnConflict {
        match &self.action {
            Action::Insert(i) => i.on_conflict,
            _ => OnConflict::Abort,
        }
    }

    /// Whether running it may change the database.
    pub fn writes(&self) -> bool {
        matches!(self.action, Action::Insert(_) | Action::Update(_) | Action::Delete(_) | Action::Schema(_))
            || matches!(&self.action, Action::Pragma(p) if p.writes())
    }

    /// Whether a failure could leave part of it applied, so that inside a
    /// transaction it needs a statement savepoint. A single-row `INSERT …
    /// VALUES` does not: it evaluates and checks everything (types, NOT
    /// NULL, the rowid, unique indexes) before its first write, so it fails
    /// half-way only on a storage error — which then ends the transaction,
    /// as in SQLite (`src/api/database.rs`). A bulk load is one such
    /// statement per row and saves a page copy each.
    /// With `RETURNING`, whose expressions are evaluated after the write,
    /// or with upsert clauses, it always does.
    pub fn needs_savepoint(&self) -> bool {
        !matches!(&self.action, Action::Insert(InsertPlan { rows: InsertRows::Values(rows), returning, upsert, .. })
            if rows.len() == 1 && returning.exprs.is_empty() && upsert.is_empty())
    }
}

/// Plan `stmt` against `catalog`.
pub fn prepare(stmt: &Statement, catalog: &Catalog) -> Result<Prepared> {
    let mut p = Planner::new(catalog);
    let action = action(stmt, catalog, &mut p)?;
    let columns = match &action {
        Action::Query(q) => q.columns.clone(),
        Action::Explain(_) => vec!["plan".to_string()],
        Action::Pragma(p) => p.columns(),
        Action::Insert(i) => i.returning.columns.clone(),
        Action::Update(u) => u.returning.columns.clone(),
        Action::Delete(d) => d.returning.columns.clone(),
        _ => Vec::new(),
    };
    Ok(Prepared { action, subs: p.subs, params: p.params, columns })
}

fn writable(catalog: &Catalog, name: &str) -> Result<Arc<Table>> {
    if is_schema_table(name) {
        return Err(Error::Sql(format!("table {name} may not be modified")));
    }
    if catalog.view(name).is_some() {
        return Err(Error::Sql(format!("cannot modify {name} because it is a view")));
    }
    catalog.table(name).cloned().ok_or_else(|| Error::Sql(format!("no such table: {name}")))
}

fn action(stmt: &Statement, catalog: &Catalog, p: &mut Planner<'_>) -> Result<Action> {
    Ok(match stmt {
        Statement::Query(q) => {
            let mut plan = p.plan_query(q, None)?;
            prune_scan_columns(&mut plan, !p.subs.is_empty());
            Action::Query(plan)
        }
        Statement::Insert { table, columns, source, on_conflict, upsert, returning } => {
            let mut plan = insert(catalog, p, table, columns.as_deref(), source, *on_conflict)?;
            plan.upsert = upsert::plan(p, &plan.table, &plan.indexes, upsert)?;
            plan.returning = Returning::plan(p, &plan.table, returning)?;
            Action::Insert(plan)
        }
        Statement::Update { with, table, assignments, filter, returning } => p.with_ctes(with.as_ref(), |p| {
            let t = writable(catalog, table)?;
            let scope = Scope::of_table(&t);
            let mut sets: Vec<(usize, CExpr)> = Vec::with_capacity(assignments.len());
            for (name, e) in assignments {
                let col = t.column(name).ok_or_else(|| Error::Sql(format!("no such column: {name}")))?;
                let value = p.compile_expr(e, &scope)?;
                // The last assignment to a column wins, as in SQLite.
                sets.retain(|(c, _)| *c != col);
                sets.push((col, value));
            }
            let rows = p.plan_table_rows(&t, &scope, filter.as_ref())?;
            let checks = compile_checks(p, &t)?;
            let returning = Returning::plan(p, &t, returning)?;
            Ok(Action::Update(UpdatePlan { indexes: catalog.indexes_of(&t), table: t, rows, sets, checks, returning }))
        })?,
        Statement::Delete { with, table, filter, returning } => p.with_ctes(with.as_ref(), |p| {
            let t = writable(catalog, table)?;
            let scope = Scope::of_table(&t);
            let rows = p.plan_table_rows(&t, &scope, filter.as_ref())?;
            let returning = Returning::plan(p, &t, returning)?;
            Ok(Action::Delete(DeletePlan { indexes: catalog.indexes_of(&t), table: t, rows, returning }))
        })?,
        Statement::CreateTable { .. }
        | Statement::DropTable { .. }
        | Statement::CreateIndex { .. }
        | Statement::DropIndex { .. }
        | Statement::CreateView { .. }
        | Statement::DropView { .. }
        | Statement::AlterTable { .. } => Action::Schema(stmt.clone()),
        Statement::Pragma { name, value, assign } => Action::Pragma(Pragma::new(name, value.clone(), *assign)?),
        Statement::Begin => Action::Begin,
        Statement::Commit => Action::Commit,
        Statement::Rollback => Action::Rollback,
        Statement::Explain(inner) => {
            if matches!(**inner, Statement::Explain(_)) {
                return Err(Error::Sql("EXPLAIN of an EXPLAIN".into()));
            }
            Action::Explain(Box::new(action(inner, catalog, p)?))
        }
    })
}

fn insert(
    catalog: &Catalog,
    p: &mut Planner<'_>,
    table: &str,
    columns: Option<&[String]>,
    source: &InsertSource,
    on_conflict: OnConflict,
) -> Result<InsertPlan> {
    let t = writable(catalog, table)?;
    let targets: Vec<usize> = match columns {
        None => (0..t.columns.len()).collect(),
        Some(names) => {
            let mut v = Vec::with_capacity(names.len());
            for n in names {
                let c = match t.column(n) {
                    Some(c) => c,
                    None if matches!(n.to_ascii_lowercase().as_str(), "rowid" | "oid" | "_rowid_") => {
                        return Err(Error::NotSupported(
                            "inserting an explicit rowid into a table without INTEGER PRIMARY KEY".into(),
                        ));
                    }
                    None => return Err(Error::Sql(format!("table {} has no column named {n}", t.name))),
                };
                if v.contains(&c) {
                    return Err(Error::Sql(format!("column {n} is named twice")));
                }
                v.push(c);
            }
            v
        }
    };
    let empty = Scope::empty();
    let mut defaults = Vec::with_capacity(t.columns.len());
    for c in &t.columns {
        defaults.push(c.default.as_ref().map(|d| p.compile_expr(d, &empty)).transpose()?);
    }
    let width_error =
        |n: usize| Error::Sql(format!("table {} has {} columns but {n} values were supplied", t.name, targets.len()));
    let rows = match source {
        InsertSource::Values(rows) => {
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                if r.len() != targets.len() {
                    return Err(if columns.is_some() {
                        Error::Sql(format!("{} values for {} columns", r.len(), targets.len()))
                    } else {
                        width_error(r.len())
                    });
                }
                out.push(r.iter().map(|e| p.compile_expr(e, &empty)).collect::<Result<Vec<_>>>()?);
            }
            InsertRows::Values(out)
        }
        InsertSource::Query(q) => {
            let plan = p.plan_query(q, None)?;
            if plan.columns.len() != targets.len() {
                return Err(width_error(plan.columns.len()));
            }
            InsertRows::Query(Box::new(plan))
        }
        InsertSource::DefaultValues => InsertRows::Values(vec![Vec::new()]),
    };
    let targets = if matches!(source, InsertSource::DefaultValues) { Vec::new() } else { targets };
    let checks = compile_checks(p, &t)?;
    let sequence = if t.autoincrement { catalog.table(SEQUENCE_TABLE).cloned() } else { None };
    Ok(InsertPlan {
        indexes: catalog.indexes_of(&t),
        table: t,
        targets,
        rows,
        defaults,
        on_conflict,
        checks,
        sequence,
        upsert: Vec::new(),
        returning: Returning::default(),
    })
}

/// A table's CHECK constraints, compiled over its rows (columns, rowid).
pub fn compile_checks(p: &mut Planner<'_>, t: &Table) -> Result<Vec<(String, CExpr)>> {
    if t.checks.is_empty() {
        return Ok(Vec::new());
    }
    let scope = Scope::of_table(t);
    t.checks.iter().map(|c| Ok((check_name(c), p.compile_expr(&c.expr, &scope)?))).collect()
}

/// Whether `stmt` is a transaction-control statement.
pub fn is_transaction_control(stmt: &Statement) -> bool {
    matches!(stmt, Statement::Begin | Statement::Commit | Statement::Rollback)
}

/// The statement's own name for error messages.
pub fn kind(stmt: &Statement) -> &'static str {
    match stmt {
        Statement::CreateTable { .. } => "CREATE TABLE",
        Statement::DropTable { .. } => "DROP TABLE",
        Statement::CreateIndex { .. } => "CREATE INDEX",
        Statement::DropIndex { .. } => "DROP INDEX",
        Statement::CreateView { .. } => "CREATE VIEW",
        Statement::DropView { .. } => "DROP VIEW",
        Statement::Insert { .. } => "INSERT",
        Statement::Update { .. } => "UPDATE",
        Statement::Delete { .. } => "DELETE",
        Statement::Query(_) => "SELECT",
        Statement::Begin => "BEGIN",
        Statement::Commit => "COMMIT",
        Statement::Rollback => "ROLLBACK",
        Statement::Explain(_) => "EXPLAIN",
        Statement::AlterTable { .. } => "ALTER TABLE",
        Statement::Pragma { .. } => "PRAGMA",
    }
}
