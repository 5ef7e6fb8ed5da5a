//! Upserts: `INSERT … ON CONFLICT [(columns)] DO NOTHING | DO UPDATE SET …
//! [WHERE …]`, with SQLite's semantics (<https://sqlite.org/lang_upsert.html>).
//!
//! This module owns both halves:
//!
//! - planning ([`plan`]): each clause's conflict target resolved to the
//!   rowid or to a unique index of the table (or to any uniqueness
//!   constraint, for a last clause without a target), and the `DO UPDATE`
//!   expressions compiled over the existing row followed by the row that
//!   would have been inserted (`excluded.col`);
//! - running ([`resolve`]), called by [`super::dml`] for each row to insert
//!   once its NOT NULL and CHECK constraints pass: the clauses are tried in
//!   order, each looking for a conflict on its own target; the first that
//!   finds one skips the row (`DO NOTHING`, or a `DO UPDATE` whose `WHERE`
//!   is not true) or updates the conflicting row. The update is checked
//!   like an `UPDATE` (NOT NULL, types, CHECK, uniqueness), and a violation
//!   fails the statement (ABORT, even under `INSERT OR FAIL` or `OR
//!   ROLLBACK`, as in SQLite). A row no clause claims is inserted as
//!   usual, so a conflict on a constraint no clause names follows the
//!   statement's own conflict resolution.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::Value;
use crate::storage::PageStore;

use super::ast::{OnConflict, Upsert};
use super::catalog::{Index, Table};
use super::dml::{self, returned};
use super::exec::{Ctx, Row, eval};
use super::plan::{CExpr, Planner, Scope};
use super::prepare::InsertPlan;
use super::table::{RowStore, unique_conflict_except};
use super::types::truth;

/// What an upsert clause's conflict target names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The rowid (the INTEGER PRIMARY KEY).
    Rowid,
    /// The unique index at this position of the plan's indexes.
    Index(usize),
    /// No target: any uniqueness constraint (the last clause only).
    Any,
}

/// A planned upsert clause.
#[derive(Clone, Debug)]
pub struct UpsertClause {
    /// The constraint whose conflict it handles.
    pub target: Target,
    /// `DO UPDATE SET`: (column, value over the existing row then the
    /// excluded row); empty for `DO NOTHING`.
    pub sets: Vec<(usize, CExpr)>,
    /// `DO UPDATE … WHERE`, over the same row.
    pub filter: Option<CExpr>,
}

const NO_MATCH: &str = "ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint";

/// Plan the upsert clauses of an INSERT into `t`, whose indexes are
/// `indexes`.
pub fn plan(p: &mut Planner<'_>, t: &Table, indexes: &[Arc<Index>], clauses: &[Upsert]) -> Result<Vec<UpsertClause>> {
    let table_scope = Scope::of_table(t);
    let update_scope = Scope::of_upsert(t);
    let mut out = Vec::with_capacity(clauses.len());
    for (i, clause) in clauses.iter().enumerate() {
        let target = match &clause.target {
            None if i + 1 == clauses.len() => Target::Any,
            None => {
                return Err(Error::Sql(
                    "an ON CONFLICT clause without a conflict target must be the last one".into(),
                ));
            }
            Some(columns) => target(t, indexes, columns)?,
        };
        if let Some(f) = &clause.target_filter {
            // Resolved for its errors only: without partial indexes, SQLite
            // ignores it too.
            p.compile_expr(f, &table_scope)?;
        }
        let mut sets: Vec<(usize, CExpr)> = Vec::with_capacity(clause.assignments.len());
        for (name, e) in &clause.assignments {
            let col = t.column(name).ok_or_else(|| Error::Sql(format!("no such column: {name}")))?;
            let value = p.compile_expr(e, &update_scope)?;
            // The last assignment to a column wins, as in UPDATE.
            sets.retain(|(c, _)| *c != col);
            sets.push((col, value));
        }
        let filter = clause.filter.as_ref().map(|f| p.compile_expr(f, &update_scope)).transpose()?;
        out.push(UpsertClause { target, sets, filter });
    }
    Ok(out)
}

/// The constraint a conflict target's columns name: the rowid, or a
/// unique index on exactly those columns (in any order).
fn target(t: &Table, indexes: &[Arc<Index>], columns: &[String]) -> Result<Target> {
    let mut cols = Vec::with_capacity(columns.len());
    let mut rowid = false;
    for name in columns {
        match t.column(name) {
            Some(c) if t.rowid_alias == Some(c) => rowid = true,
            Some(c) => cols.push(c),
            None if matches!(name.to_ascii_lowercase().as_str(), "rowid" | "oid" | "_rowid_") => rowid = true,
            None => return Err(Error::Sql(format!("no such column: {name}"))),
        }
    }
    if rowid && columns.len() == 1 {
        return Ok(Target::Rowid);
    }
    if rowid {
        return Err(Error::Sql(NO_MATCH.into()));
    }
    indexes
        .iter()
        .position(|idx| {
            idx.unique && idx.columns.len() == cols.len() && idx.columns.iter().all(|c| cols.contains(c))
        })
        .map(Target::Index)
        .ok_or_else(|| Error::Sql(NO_MATCH.into()))
}

/// The existing row `row` (at `rowid`, `explicit` when the INSERT named
/// its rowid) conflicts with on `target`, if any.
fn conflict<S: PageStore>(
    plan: &InsertPlan,
    target: &Target,
    row: &[Value],
    rowid: i64,
    explicit: bool,
    s: &S,
) -> Result<Option<i64>> {
    let rowid_taken = || -> Result<Option<i64>> {
        Ok(if explicit && RowStore::new(&plan.table).get(s, rowid)?.is_some() { Some(rowid) } else { None })
    };
    match target {
        Target::Rowid => rowid_taken(),
        Target::Index(i) => match plan.indexes.get(*i) {
            Some(idx) => unique_conflict_except(s, idx, row, None),
            None => Err(Error::Sql("internal: an upsert target names a missing index".into())),
        },
        Target::Any => {
            if let Some(other) = rowid_taken()? {
                return Ok(Some(other));
            }
            for idx in plan.indexes.iter().filter(|i| i.unique) {
                if let Some(other) = unique_conflict_except(s, idx, row, None)? {
                    return Ok(Some(other));
                }
            }
            Ok(None)
        }
    }
}

/// Apply the upsert clauses to a row about to be inserted (its values
/// converted for storage, `rowid` the one it would get, `explicit` when
/// the INSERT named it). `None`: no clause claimed the row, insert it;
/// `Some(changed)`: a clause did, and changed a row or not. A failed
/// `DO UPDATE` sets `violation` to `Abort` (module doc).
pub fn resolve<S: PageStore>(
    plan: &InsertPlan,
    row: &[Value],
    rowid: i64,
    explicit: bool,
    cx: &mut Ctx<'_, S>,
    out: &mut Vec<Row>,
    violation: &mut OnConflict,
) -> Result<Option<bool>> {
    let s = cx.store;
    for clause in &plan.upsert {
        let Some(other) = conflict(plan, &clause.target, row, rowid, explicit, s)? else {
            continue;
        };
        if clause.sets.is_empty() {
            return Ok(Some(false));
        }
        return match update(plan, clause, row, rowid, other, cx, out) {
            Ok(changed) => Ok(Some(changed)),
            Err(e) => {
                *violation = OnConflict::Abort;
                Err(e)
            }
        };
    }
    Ok(None)
}

/// `DO UPDATE`: change the existing row at `other`; `excluded` (at
/// `rowid`) is the row that was not inserted.
fn update<S: PageStore>(
    plan: &InsertPlan,
    clause: &UpsertClause,
    excluded: &[Value],
    rowid: i64,
    other: i64,
    cx: &mut Ctx<'_, S>,
    out: &mut Vec<Row>,
) -> Result<bool> {
    let t = &*plan.table;
    let Some(old) = RowStore::new(t).get(cx.store, other)? else {
        return Err(Error::Sql(format!("internal: the conflicting row {other} of {} is missing", t.name)));
    };
    let mut full: Row = Vec::with_capacity(2 * (t.columns.len() + 1));
    full.extend_from_slice(&old);
    full.push(Value::Integer(other));
    full.extend_from_slice(excluded);
    full.push(Value::Integer(rowid));
    if let Some(f) = &clause.filter
        && truth(&eval(f, &full, cx)?) != Some(true)
    {
        return Ok(false);
    }
    let mut new = old.clone();
    for (c, e) in &clause.sets {
        new[*c] = eval(e, &full, cx)?;
    }
    let set_columns: Vec<usize> = clause.sets.iter().map(|(c, _)| *c).collect();
    let new_rowid = dml::new_row(t, &plan.checks, &set_columns, other, &mut new, cx)?;
    dml::write_update(cx.store, t, &plan.indexes, other, &old, new_rowid, &new)?;
    returned(&plan.returning, &new, new_rowid, cx, out)?;
    Ok(true)
}
