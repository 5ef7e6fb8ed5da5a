//! `ALTER TABLE`: `RENAME TO`, `RENAME COLUMN`, `ADD COLUMN` and `DROP
//! COLUMN`, with SQLite's rules and error messages.
//!
//! An alteration rewrites the table's `CREATE TABLE` statement (and those
//! of its indexes) in the schema table and, for `ADD`/`DROP COLUMN`, every
//! row of the table — all inside the caller's write transaction, through
//! the same pages and WAL as any change, so it commits, rolls back and
//! recovers like data. Index entries never change: an index's key holds the
//! values of its columns, which neither a rename nor adding or dropping
//! another column touches.
//!
//! After the change the new schema is loaded and checked — every index and
//! view must still resolve, every `CHECK` still compile — and a failure is
//! the statement's error (SQLite's "error in view v after drop column: …"),
//! which the statement's rollback undoes. Views are not rewritten: a view
//! naming a renamed table or column fails that check, where SQLite would
//! rewrite the view.

use crate::error::{ConstraintKind, Error, Result};
use crate::storage::PageStore;
use crate::value::Value;

use super::ast::{AlterOp, ColumnDef, Expr, TableConstraint};
use super::catalog::{self, Catalog, Index, Table, is_schema_table, table_from_ast};
use super::ddl::{has_prefix, reserved, schema_table};
use super::dml::conform;
use super::exec::{Ctx, eval};
use super::plan::{Planner, Scope};
use super::print;
use super::sequence::{self, SEQUENCE_TABLE};
use super::table::RowStore;
use super::types::apply_affinity;

/// Run `ALTER TABLE table op` against `catalog` (the schema `s` holds).
pub fn run<S: PageStore>(s: &S, table: &str, op: &AlterOp, catalog: &Catalog) -> Result<()> {
    let t = match catalog.table(table) {
        Some(t) if is_schema_table(table) || has_prefix(&t.name, "sqlite_") => {
            return Err(Error::Sql(format!("table {table} may not be altered")));
        }
        Some(t) => t.clone(),
        None if catalog.view(table).is_some() => {
            return Err(Error::Sql(format!("cannot alter {table} because it is a view")));
        }
        None => return Err(Error::Sql(format!("no such table: {table}"))),
    };
    let (_, mut columns, mut constraints) = catalog::table_ast(&t)?;
    let schema = schema_table(s)?;
    let indexes = catalog.indexes_of(&t);
    match op {
        AlterOp::RenameTable(new) => {
            if catalog.exists(new) {
                return Err(Error::Sql(format!("there is already another table or index with this name: {new}")));
            }
            reserved(new)?;
            let sql = print::create_table(new, &columns, &constraints);
            let (_, old_autos) = table_from_ast(&t.name, &columns, &constraints, t.root, t.sql.clone())?;
            let (_, new_autos) = table_from_ast(new, &columns, &constraints, t.root, sql.clone())?;
            let renamed: Vec<(String, String)> =
                old_autos.iter().zip(&new_autos).map(|(o, n)| (o.name.to_ascii_lowercase(), n.name.clone())).collect();
            let index_sql = index_statements(&indexes, new, |c| c)?;
            catalog::rewrite_schema_rows(s, &schema, |row| {
                let (kind, name, tbl) = (text(row, 0), text(row, 1), text(row, 2));
                if kind == "table" && name.eq_ignore_ascii_case(&t.name) {
                    return Ok(Some(with(row, new, new, Some(&sql))));
                }
                if kind != "index" || !tbl.eq_ignore_ascii_case(&t.name) {
                    return Ok(None);
                }
                let l = name.to_ascii_lowercase();
                if let Some((_, n)) = renamed.iter().find(|(o, _)| *o == l) {
                    return Ok(Some(with(row, n, new, None)));
                }
                let sql = index_sql.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)).map(|(_, q)| q.as_str());
                Ok(Some(with(row, &name, new, sql)))
            })?;
            if t.autoincrement
                && let Some(seq) = catalog.table(SEQUENCE_TABLE)
            {
                sequence::rename(s, seq, &t.name, new)?;
            }
        }
        AlterOp::RenameColumn { old, new } => {
            let i = t.column(old).ok_or_else(|| Error::Sql(format!("no such column: \"{old}\"")))?;
            if t.column(new).is_some_and(|j| j != i) {
                return Err(Error::Sql(format!("duplicate column name: {new}")));
            }
            let old_name = t.columns[i].name.clone();
            let fix = |n: &mut String| {
                if n.eq_ignore_ascii_case(&old_name) {
                    *n = new.clone();
                }
            };
            for c in &mut columns {
                fix(&mut c.name);
                for ch in &mut c.checks {
                    rename_column(&mut ch.expr, &old_name, new);
                }
            }
            for c in &mut constraints {
                match c {
                    TableConstraint::PrimaryKey(names) | TableConstraint::Unique(names) => {
                        names.iter_mut().for_each(fix)
                    }
                    TableConstraint::Check(ch) => rename_column(&mut ch.expr, &old_name, new),
                }
            }
            let sql = print::create_table(&t.name, &columns, &constraints);
            let index_sql =
                index_statements(
                    &indexes,
                    &t.name,
                    |c| {
                        if c.eq_ignore_ascii_case(&old_name) { new.clone() } else { c }
                    },
                )?;
            rewrite_table_rows(s, &schema, &t, &sql, &index_sql)?;
        }
        AlterOp::AddColumn(def) => {
            let empty = RowStore::new(&t).max_rowid(s)?.is_none();
            add_column_allowed(&t, def, empty)?;
            columns.push(def.clone());
            let sql = print::create_table(&t.name, &columns, &constraints);
            let (new_t, _) = table_from_ast(&t.name, &columns, &constraints, t.root, sql.clone())?;
            let Some(col) = new_t.columns.last() else {
                return Err(Error::Sql("internal: ADD COLUMN lost its column".into()));
            };
            let value = match &def.default {
                Some(_) if empty => Value::Null,
                Some(d) => {
                    let d = Planner::new(catalog).compile_expr(d, &Scope::empty())?;
                    eval(&d, &[], &mut Ctx::new(s, &[], &[]))?
                }
                None => Value::Null,
            };
            let value = conform(&new_t, col, apply_affinity(value, col.affinity))?;
            rewrite_table_rows(s, &schema, &t, &sql, &[])?;
            map_rows(s, &t, |row| row.push(value.clone()))?;
            // SQLite tests the new column's CHECK constraints against the
            // rows already there.
            check_rows(s, catalog, &new_t, &def.checks)?;
        }
        AlterOp::DropColumn(name) => {
            let i = t.column(name).ok_or_else(|| Error::Sql(format!("no such column: \"{name}\"")))?;
            let col = &t.columns[i];
            if col.primary_key {
                return Err(Error::Sql(format!("cannot drop PRIMARY KEY column: \"{}\"", col.name)));
            }
            if indexes.iter().any(|x| x.auto && x.columns.contains(&i)) {
                return Err(Error::Sql(format!("cannot drop UNIQUE column: \"{}\"", col.name)));
            }
            if t.columns.len() == 1 {
                return Err(Error::Sql(format!("cannot drop column \"{}\": no other columns exist", col.name)));
            }
            if let Some(x) = indexes.iter().find(|x| x.columns.contains(&i)) {
                return Err(Error::Sql(format!(
                    "error in index {} after drop column: no such column: {}",
                    x.name, col.name
                )));
            }
            columns.remove(i);
            let sql = print::create_table(&t.name, &columns, &constraints);
            rewrite_table_rows(s, &schema, &t, &sql, &[])?;
            map_rows(s, &t, |row| {
                if i < row.len() {
                    row.remove(i);
                }
            })?;
        }
    }
    validate(s, op)
}

/// A schema row's text column `i` (empty when not text).
fn text(row: &[Value], i: usize) -> String {
    match row.get(i) {
        Some(Value::Text(t)) => t.clone(),
        _ => String::new(),
    }
}

/// A schema row with a new name, table name and (if given) statement.
fn with(row: &[Value], name: &str, tbl_name: &str, sql: Option<&str>) -> Vec<Value> {
    let mut r = row.to_vec();
    r.resize(5, Value::Null);
    r[1] = Value::Text(name.to_string());
    r[2] = Value::Text(tbl_name.to_string());
    if let Some(sql) = sql {
        r[4] = Value::Text(sql.to_string());
    }
    r
}

/// The `CREATE INDEX` statements of a table's explicit indexes, for the
/// table called `table` and with each column name passed through `col`.
fn index_statements(
    indexes: &[std::sync::Arc<Index>],
    table: &str,
    col: impl Fn(String) -> String,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for idx in indexes {
        if let Some((_, mut columns, unique)) = catalog::index_ast(idx)? {
            for c in &mut columns {
                c.name = col(std::mem::take(&mut c.name));
            }
            out.push((idx.name.clone(), print::create_index(&idx.name, table, &columns, unique)));
        }
    }
    Ok(out)
}

/// Give table `t`'s schema row the statement `sql`, and its explicit
/// indexes the statements in `index_sql`.
fn rewrite_table_rows<S: PageStore>(
    s: &S,
    schema: &Table,
    t: &Table,
    sql: &str,
    index_sql: &[(String, String)],
) -> Result<()> {
    catalog::rewrite_schema_rows(s, schema, |row| {
        let (kind, name) = (text(row, 0), text(row, 1));
        if kind == "table" && name.eq_ignore_ascii_case(&t.name) {
            return Ok(Some(with(row, &name, &t.name, Some(sql))));
        }
        if kind == "index"
            && let Some((_, q)) = index_sql.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            return Ok(Some(with(row, &name, &t.name, Some(q))));
        }
        Ok(None)
    })
}

/// Rewrite every row of `t` through `f`.
fn map_rows<S: PageStore>(s: &S, t: &Table, mut f: impl FnMut(&mut Vec<Value>)) -> Result<()> {
    let store = RowStore::new(t);
    for (rowid, mut row) in store.scan_all(s)? {
        f(&mut row);
        store.replace_raw(s, rowid, &row)?;
    }
    Ok(())
}

/// SQLite's restrictions on the column `ALTER TABLE … ADD COLUMN` adds
/// (the ones about its value only when the table has rows to give it to).
fn add_column_allowed(t: &Table, def: &ColumnDef, empty: bool) -> Result<()> {
    if t.column(&def.name).is_some() {
        return Err(Error::Sql(format!("duplicate column name: {}", def.name)));
    }
    if def.primary_key {
        return Err(Error::Sql("Cannot add a PRIMARY KEY column".into()));
    }
    if def.unique {
        return Err(Error::Sql("Cannot add a UNIQUE column".into()));
    }
    // Without parentheses a DEFAULT is a literal or a signed number; any
    // other expression was written in parentheses, which SQLite refuses.
    let constant = match &def.default {
        None | Some(Expr::Literal(_)) => true,
        Some(Expr::Unary { op: super::ast::UnaryOp::Neg | super::ast::UnaryOp::Plus, expr }) => {
            matches!(**expr, Expr::Literal(Value::Integer(_) | Value::Real(_)))
        }
        Some(_) => false,
    };
    if !constant && !empty {
        return Err(Error::Sql("Cannot add a column with non-constant default".into()));
    }
    if def.not_null && !empty && matches!(def.default, None | Some(Expr::Literal(Value::Null))) {
        return Err(Error::Sql("Cannot add a NOT NULL column with default value NULL".into()));
    }
    Ok(())
}

/// Evaluate `checks` on every row of `t` (as altered).
fn check_rows<S: PageStore>(s: &S, catalog: &Catalog, t: &Table, checks: &[super::ast::Check]) -> Result<()> {
    if checks.is_empty() {
        return Ok(());
    }
    let scope = Scope::of_table(t);
    let mut p = Planner::new(catalog);
    let compiled = checks.iter().map(|c| p.compile_expr(&c.expr, &scope)).collect::<Result<Vec<_>>>()?;
    let store = RowStore::new(t);
    let mut cx = Ctx::new(s, &[], &p.subs);
    for (rowid, mut row) in store.scan_all(s)? {
        row.push(Value::Integer(rowid));
        for (c, e) in checks.iter().zip(&compiled) {
            if super::types::truth(&eval(e, &row, &mut cx)?) == Some(false) {
                return Err(Error::Constraint { kind: ConstraintKind::Check, detail: check_name(c) });
            }
        }
    }
    Ok(())
}

/// How a failed CHECK is named in its error: its name, or its expression.
pub fn check_name(c: &super::ast::Check) -> String {
    match &c.name {
        Some(n) => n.clone(),
        None => {
            let s = c.expr.to_string();
            s.strip_prefix('(').and_then(|x| x.strip_suffix(')')).map_or(s.clone(), str::to_string)
        }
    }
}

/// Rename column references `old` to `new` in a CHECK expression.
fn rename_column(e: &mut Expr, old: &str, new: &str) {
    match e {
        Expr::Column { name, .. } if name.eq_ignore_ascii_case(old) => *name = new.to_string(),
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => rename_column(expr, old, new),
        Expr::Binary { left, right, .. } => {
            rename_column(left, old, new);
            rename_column(right, old, new);
        }
        Expr::Between { expr, low, high, .. } => {
            for x in [expr, low, high] {
                rename_column(x, old, new);
            }
        }
        Expr::InList { expr, list, .. } => {
            rename_column(expr, old, new);
            list.iter_mut().for_each(|x| rename_column(x, old, new));
        }
        Expr::Like { expr, pattern, escape, .. } => {
            rename_column(expr, old, new);
            rename_column(pattern, old, new);
            if let Some(x) = escape {
                rename_column(x, old, new);
            }
        }
        Expr::Case { operand, whens, else_result } => {
            if let Some(x) = operand {
                rename_column(x, old, new);
            }
            for (w, t) in whens {
                rename_column(w, old, new);
                rename_column(t, old, new);
            }
            if let Some(x) = else_result {
                rename_column(x, old, new);
            }
        }
        Expr::Function { args, .. } => args.iter_mut().for_each(|x| rename_column(x, old, new)),
        // Literals and parameters name no column; subqueries are not
        // allowed in a CHECK. Anything missed here fails the check of the
        // new schema in `validate` instead of passing silently.
        _ => {}
    }
}

/// Load the altered schema and check that it still holds together.
fn validate<S: PageStore>(s: &S, op: &AlterOp) -> Result<()> {
    let what = match op {
        AlterOp::RenameTable(_) => "rename",
        AlterOp::RenameColumn { .. } => "rename",
        AlterOp::AddColumn(_) => "add column",
        AlterOp::DropColumn(_) => "drop column",
    };
    let cat = Catalog::load(s)?;
    for t in cat.user_tables() {
        let scope = Scope::of_table(t);
        let mut p = Planner::new(&cat);
        for c in &t.checks {
            p.compile_expr(&c.expr, &scope)
                .map_err(|e| Error::Sql(format!("error in table {} after {what}: {}", t.name, bare(e))))?;
        }
    }
    for v in cat.views.values() {
        Planner::new(&cat)
            .plan_query(&v.query, None)
            .map_err(|e| Error::Sql(format!("error in view {} after {what}: {}", v.name, bare(e))))?;
    }
    Ok(())
}

/// An error's message without its kind's prefix.
fn bare(e: Error) -> String {
    match e {
        Error::Sql(m) | Error::NotSupported(m) => m,
        e => e.to_string(),
    }
}
