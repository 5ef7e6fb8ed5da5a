//! INSERT, UPDATE and DELETE: rows and their index entries changed together,
//! every constraint checked before the row is touched.
//!
//! Columns hold their declared type the way a SQLite `STRICT` table does: a
//! value is first converted by the column's affinity, and one that still is
//! not of the column's type (text in an `INTEGER` column, a fraction in an
//! `INTEGER` column, a blob in a `TEXT` column) is [`Error::TypeMismatch`].
//! Columns declared without a type, or with a numeric type such as
//! `BOOLEAN` or `DECIMAL`, take any value.
//!
//! PRIMARY KEY and UNIQUE are checked through their index (never a scan)
//! before anything is written, so a failing single-row statement changes
//! nothing; a statement failing on a later row is undone by the caller's
//! statement savepoint.

use crate::error::{ConstraintKind, Error, Result};
use crate::storage::PageStore;
use crate::value::Value;

use super::ast::OnConflict;
use super::catalog::{Column, Index, Table};
use super::exec::{Ctx, Row, collect, eval, open};
use super::plan::CExpr;
use super::prepare::{DeletePlan, InsertPlan, InsertRows, Returning, UpdatePlan};
use super::sequence;
use super::table::{RowStore, index_add, index_delete, unique_conflict, unique_error};
use super::types::{Affinity, apply_affinity, truth};
use super::upsert;

/// Convert `v` for storage in column `c` of `t`, or refuse it.
pub fn conform(t: &Table, c: &Column, v: Value) -> Result<Value> {
    let v = apply_affinity(v, c.affinity);
    let ok = match (&v, c.affinity) {
        (Value::Null, _) => true,
        (Value::Integer(_), Affinity::Integer) => true,
        (Value::Real(_), Affinity::Real) => true,
        (Value::Text(_), Affinity::Text) => true,
        (_, Affinity::Integer | Affinity::Real | Affinity::Text) => false,
        // BLOB affinity: a declared BLOB column takes blobs only; a column
        // without a type takes anything.
        (Value::Blob(_), Affinity::Blob) => true,
        (_, Affinity::Blob) => c.type_name.is_none(),
        (_, Affinity::Numeric) => true,
    };
    if ok {
        Ok(v)
    } else {
        Err(Error::TypeMismatch(format!(
            "cannot store {} value in {} column {}.{}",
            v.type_name(),
            c.type_name.as_deref().unwrap_or("untyped"),
            t.name,
            c.name
        )))
    }
}

/// NOT NULL constraints; the rowid alias is exempt (a NULL there asks for
/// a fresh rowid).
fn not_null(t: &Table, row: &[Value]) -> Result<()> {
    for (i, (c, v)) in t.columns.iter().zip(row).enumerate() {
        if c.not_null && matches!(v, Value::Null) && t.rowid_alias != Some(i) {
            return Err(Error::Constraint { kind: ConstraintKind::NotNull, detail: format!("{}.{}", t.name, c.name) });
        }
    }
    Ok(())
}

fn rowid_error(t: &Table) -> Error {
    let col = t.rowid_alias.and_then(|a| t.columns.get(a)).map_or("rowid", |c| c.name.as_str());
    Error::Constraint { kind: ConstraintKind::PrimaryKey, detail: format!("{}.{col}", t.name) }
}

/// The rowid a row's INTEGER PRIMARY KEY value asks for (`None`: choose one).
fn requested_rowid(t: &Table, row: &[Value]) -> Result<Option<i64>> {
    let Some(a) = t.rowid_alias else { return Ok(None) };
    match row.get(a) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Integer(i)) => Ok(Some(*i)),
        Some(other) => Err(Error::TypeMismatch(format!(
            "{}.{} is the rowid and must be an integer, not {}",
            t.name,
            t.columns[a].name,
            other.type_name()
        ))),
    }
}

/// Remove a row and its index entries.
fn remove_row<S: PageStore>(s: &S, t: &Table, indexes: &[std::sync::Arc<Index>], rowid: i64) -> Result<()> {
    let store = RowStore::new(t);
    if let Some(row) = store.get(s, rowid)? {
        for idx in indexes {
            index_delete(s, idx, &row, rowid)?;
        }
        store.delete_raw(s, rowid, &row)?;
    }
    Ok(())
}

/// Evaluate `returning` over a changed row (columns, then rowid) into `out`.
pub(super) fn returned<S: PageStore>(
    returning: &Returning,
    row: &[Value],
    rowid: i64,
    cx: &mut Ctx<'_, S>,
    out: &mut Vec<Row>,
) -> Result<()> {
    if returning.exprs.is_empty() {
        return Ok(());
    }
    let mut full = Vec::with_capacity(row.len() + 1);
    full.extend_from_slice(row);
    full.push(Value::Integer(rowid));
    out.push(returning.exprs.iter().map(|e| eval(e, &full, cx)).collect::<Result<Row>>()?);
    Ok(())
}

/// Run an INSERT; returns the rows inserted, and adds the rows of its
/// `RETURNING` to `out`. `violation` starts as the statement's conflict
/// resolution; an upsert's `DO UPDATE` that fails sets it to `Abort` (SQLite
/// runs that update under ABORT whatever the INSERT's `OR …`).
pub fn insert<S: PageStore>(
    plan: &InsertPlan,
    cx: &mut Ctx<'_, S>,
    out: &mut Vec<Row>,
    violation: &mut OnConflict,
) -> Result<usize> {
    let mut n = 0;
    match &plan.rows {
        InsertRows::Values(rows) => {
            for r in rows {
                let vals = r.iter().map(|e| eval(e, &[], cx)).collect::<Result<Vec<_>>>()?;
                n += usize::from(insert_one(plan, vals, cx, out, violation)?);
            }
        }
        InsertRows::Query(q) => {
            // The source is read in full first: inserting while scanning the
            // same table would see the new rows.
            let rows = collect(&q.root, cx)?;
            for r in rows {
                n += usize::from(insert_one(plan, r, cx, out, violation)?);
            }
        }
    }
    Ok(n)
}

fn insert_one<S: PageStore>(
    plan: &InsertPlan,
    vals: Row,
    cx: &mut Ctx<'_, S>,
    out: &mut Vec<Row>,
    violation: &mut OnConflict,
) -> Result<bool> {
    let t = &*plan.table;
    let s = cx.store;
    let mut row: Row = vec![Value::Null; t.columns.len()];
    let mut given = vec![false; t.columns.len()];
    for (v, &c) in vals.into_iter().zip(&plan.targets) {
        row[c] = v;
        given[c] = true;
    }
    for (c, d) in plan.defaults.iter().enumerate() {
        if let (false, Some(d)) = (given[c], d) {
            row[c] = eval(d, &[], cx)?;
        }
    }
    // The order of SQLite's checks: the rowid's type, NOT NULL (OR REPLACE
    // resolving it with the column's default), the rowid's uniqueness, the
    // other columns' types, and the unique indexes — so OR IGNORE skips a
    // row whose rowid exists before its types are looked at.
    if let Some(a) = t.rowid_alias {
        row[a] = conform(t, &t.columns[a], std::mem::take(&mut row[a]))?;
    }
    if plan.on_conflict == OnConflict::Replace {
        for (c, d) in plan.defaults.iter().enumerate() {
            if let (true, Some(d), Some(Value::Null)) = (t.columns[c].not_null, d, row.get(c)) {
                row[c] = eval(d, &[], cx)?;
            }
        }
    }
    if let Err(e) = not_null(t, &row) {
        return if plan.on_conflict == OnConflict::Ignore { Ok(false) } else { Err(e) };
    }
    for (v, c) in row.iter_mut().zip(&t.columns) {
        *v = apply_affinity(std::mem::take(v), c.affinity);
    }
    let store = RowStore::new(t);
    let explicit = requested_rowid(t, &row)?;
    let rowid = match explicit {
        Some(r) => r,
        None if t.autoincrement => sequence::next_rowid(s, plan.sequence.as_deref(), t)?,
        None => store.next_rowid(s)?,
    };
    if let Some(a) = t.rowid_alias {
        row[a] = Value::Integer(rowid);
    }
    if let Err(e) = check(&plan.checks, t, &row, rowid, cx) {
        return if plan.on_conflict == OnConflict::Ignore && matches!(e, Error::Constraint { .. }) {
            Ok(false)
        } else {
            Err(e)
        };
    }
    // Upsert clauses see the row as it would be stored, and claim their
    // conflicts before the statement's own resolution sees any.
    if !plan.upsert.is_empty() {
        for (v, c) in row.iter_mut().zip(&t.columns) {
            *v = conform(t, c, std::mem::take(v))?;
        }
        if let Some(changed) = upsert::resolve(plan, &row, rowid, explicit.is_some(), cx, out, violation)? {
            return Ok(changed);
        }
    }
    // Conflicts, all found before anything is written.
    let mut conflicts: Vec<i64> = Vec::new();
    // Under ABORT a duplicate rowid is found by the insert itself, which
    // leaves the tree unchanged (one descent instead of two); the unique
    // indexes are checked before it, so nothing is half-written.
    if explicit.is_some() && plan.on_conflict != OnConflict::Abort && store.get(s, rowid)?.is_some() {
        match plan.on_conflict {
            OnConflict::Abort | OnConflict::Fail | OnConflict::Rollback => return Err(rowid_error(t)),
            OnConflict::Ignore => return Ok(false),
            OnConflict::Replace => conflicts.push(rowid),
        }
    }
    for (v, c) in row.iter_mut().zip(&t.columns) {
        *v = conform(t, c, std::mem::take(v))?;
    }
    for idx in plan.indexes.iter().filter(|i| i.unique) {
        if let Some(other) = unique_conflict(s, idx, &row, rowid)? {
            match plan.on_conflict {
                OnConflict::Abort | OnConflict::Fail | OnConflict::Rollback => return Err(unique_error(t, idx)),
                OnConflict::Ignore => return Ok(false),
                OnConflict::Replace => conflicts.push(other),
            }
        }
    }
    conflicts.sort_unstable();
    conflicts.dedup();
    for other in conflicts {
        remove_row(s, t, &plan.indexes, other)?;
    }
    store.insert_raw(s, Some(rowid), &row).map_err(|e| match e {
        Error::Constraint { kind: ConstraintKind::PrimaryKey, .. } => rowid_error(t),
        e => e,
    })?;
    for idx in &plan.indexes {
        index_add(s, idx, &row, rowid)?;
    }
    if t.autoincrement {
        sequence::record(s, plan.sequence.as_deref(), t, rowid)?;
    }
    returned(&plan.returning, &row, rowid, cx, out)?;
    Ok(true)
}

/// CHECK constraints: each must not be false (NULL passes), evaluated on
/// the row's columns and its rowid.
fn check<S: PageStore>(
    checks: &[(String, CExpr)],
    t: &Table,
    row: &[Value],
    rowid: i64,
    cx: &mut Ctx<'_, S>,
) -> Result<()> {
    if checks.is_empty() {
        return Ok(());
    }
    let mut full = Vec::with_capacity(t.columns.len() + 1);
    full.extend_from_slice(row);
    full.push(Value::Integer(rowid));
    for (name, e) in checks {
        if truth(&eval(e, &full, cx)?) == Some(false) {
            return Err(Error::Constraint { kind: ConstraintKind::Check, detail: name.clone() });
        }
    }
    Ok(())
}

/// Split a scanned row (columns, then rowid) into its rowid and columns.
fn split_row(t: &Table, mut r: Row) -> Result<(i64, Row)> {
    let rowid = match r.pop() {
        Some(Value::Integer(i)) if r.len() == t.columns.len() => i,
        _ => return Err(Error::Sql(format!("internal: a scan of {} returned a row without its rowid", t.name))),
    };
    Ok((rowid, r))
}

/// Run an UPDATE; returns the rows changed, and adds the rows of its
/// `RETURNING` to `out`.
pub fn update<S: PageStore>(plan: &UpdatePlan, cx: &mut Ctx<'_, S>, out: &mut Vec<Row>) -> Result<usize> {
    let t = &*plan.table;
    let s = cx.store;
    let set_columns: Vec<usize> = plan.sets.iter().map(|(c, _)| *c).collect();
    // Compute every new row first: the scan must not see its own changes.
    let mut changes: Vec<(i64, Row, i64, Row)> = Vec::new();
    {
        let mut it = open(&plan.rows, cx, &[])?;
        while let Some(r) = it.next(cx)? {
            let mut new = r.clone();
            new.pop();
            for (c, e) in &plan.sets {
                new[*c] = eval(e, &r, cx)?;
            }
            let (rowid, old) = split_row(t, r)?;
            let new_rowid = new_row(t, &plan.checks, &set_columns, rowid, &mut new, cx)?;
            changes.push((rowid, old, new_rowid, new));
        }
    }
    for (rowid, old, new_rowid, new) in &changes {
        write_update(s, t, &plan.indexes, *rowid, old, *new_rowid, new)?;
        returned(&plan.returning, new, *new_rowid, cx, out)?;
    }
    Ok(changes.len())
}

/// Check a changed row (row `rowid` of `t` with the columns `set`
/// assigned): NOT NULL, the assigned columns' types, the rowid, CHECK.
/// Returns its rowid, which changes when the INTEGER PRIMARY KEY is set.
pub(super) fn new_row<S: PageStore>(
    t: &Table,
    checks: &[(String, CExpr)],
    set: &[usize],
    rowid: i64,
    new: &mut Row,
    cx: &mut Ctx<'_, S>,
) -> Result<i64> {
    not_null(t, new)?;
    for &c in set {
        new[c] = conform(t, &t.columns[c], std::mem::take(&mut new[c]))?;
    }
    let new_rowid = match t.rowid_alias {
        Some(a) if set.contains(&a) => match requested_rowid(t, new)? {
            Some(r) => r,
            None => {
                return Err(Error::TypeMismatch(format!(
                    "{}.{} is the rowid and cannot be NULL",
                    t.name, t.columns[a].name
                )));
            }
        },
        _ => rowid,
    };
    check(checks, t, new, new_rowid, cx)?;
    Ok(new_rowid)
}

/// Replace row `rowid` (`old`) of `t` by `new` at `new_rowid`, with its
/// index entries; a uniqueness conflict with another row is an error and
/// is found before anything is written.
pub(super) fn write_update<S: PageStore>(
    s: &S,
    t: &Table,
    indexes: &[std::sync::Arc<Index>],
    rowid: i64,
    old: &[Value],
    new_rowid: i64,
    new: &[Value],
) -> Result<()> {
    let store = RowStore::new(t);
    let moved = rowid != new_rowid;
    if moved && store.get(s, new_rowid)?.is_some() {
        return Err(rowid_error(t));
    }
    let touched: Vec<&std::sync::Arc<Index>> =
        indexes.iter().filter(|i| moved || i.columns.iter().any(|&c| old[c] != new[c])).collect();
    for idx in touched.iter().filter(|i| i.unique) {
        if let Some(other) = unique_conflict(s, idx, new, new_rowid)?
            && other != rowid
        {
            return Err(unique_error(t, idx));
        }
    }
    for idx in &touched {
        index_delete(s, idx, old, rowid)?;
    }
    if moved {
        store.delete_raw(s, rowid, old)?;
        store.insert_raw(s, Some(new_rowid), new)?;
    } else {
        store.replace_raw(s, rowid, new)?;
    }
    for idx in &touched {
        index_add(s, idx, new, new_rowid)?;
    }
    Ok(())
}

/// Run a DELETE; returns the rows deleted, and adds the rows of its
/// `RETURNING` (the rows as they were) to `out`.
pub fn delete<S: PageStore>(plan: &DeletePlan, cx: &mut Ctx<'_, S>, out: &mut Vec<Row>) -> Result<usize> {
    let t = &*plan.table;
    let rows = collect(&plan.rows, cx)?;
    let s = cx.store;
    let store = RowStore::new(t);
    let n = rows.len();
    for r in rows {
        let (rowid, row) = split_row(t, r)?;
        for idx in &plan.indexes {
            index_delete(s, idx, &row, rowid)?;
        }
        store.delete_raw(s, rowid, &row)?;
        returned(&plan.returning, &row, rowid, cx, out)?;
    }
    Ok(n)
}
