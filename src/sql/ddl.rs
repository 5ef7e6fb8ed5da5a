//! CREATE and DROP of tables, indexes and views: the B+trees they own and
//! their rows in the schema table, changed inside the caller's write
//! transaction, so a schema change commits, rolls back and recovers exactly
//! like data. Every change bumps the schema cookie in the file header, which
//! tells cached catalogs and prepared statements that they are stale.

use crate::error::{Error, Result};
use crate::ids::PageId;
use crate::btree::BTree;
use crate::storage::{PageStore, header};

use super::ast::Statement;
use super::catalog::{self, Catalog, Table, is_schema_table, table_from_ast};
use super::plan::Planner;
use super::print;
use super::sequence::{self, SEQUENCE_SQL, SEQUENCE_TABLE};
use super::table::{RowStore, index_insert};

/// The schema cookie of the database `s` reads.
pub fn schema_cookie<S: PageStore>(s: &S) -> Result<u32> {
    Ok(header::schema_cookie(&s.read(PageId::HEADER)?))
}

pub(super) fn bump_cookie<S: PageStore>(s: &S) -> Result<()> {
    let mut h = s.write(PageId::HEADER)?;
    let c = header::schema_cookie(&h);
    header::set_schema_cookie(&mut h, c.wrapping_add(1));
    Ok(())
}

pub(super) fn schema_table<S: PageStore>(s: &S) -> Result<Table> {
    match catalog::schema(s)? {
        Some(t) => Ok(t),
        None => catalog::create_schema(s),
    }
}

/// Whether `name` starts with `prefix`, ignoring ASCII case.
pub(super) fn has_prefix(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len() && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Names starting `waldb_` or `sqlite_` belong to the database itself.
pub(super) fn reserved(name: &str) -> Result<()> {
    if has_prefix(name, "waldb_") || has_prefix(name, "sqlite_") {
        return Err(Error::Sql(format!("object name reserved for internal use: {name}")));
    }
    Ok(())
}

fn taken(catalog: &Catalog, name: &str) -> Error {
    let what = if catalog.table(name).is_some() {
        "table"
    } else if catalog.index(name).is_some() {
        "index"
    } else if catalog.view(name).is_some() {
        "view"
    } else {
        "object"
    };
    Error::Sql(format!("{what} {name} already exists"))
}

/// Run a schema statement against `catalog` (the schema `s` holds).
/// Returns whether the schema changed.
pub fn run<S: PageStore>(s: &S, stmt: &Statement, catalog: &Catalog) -> Result<bool> {
    match stmt {
        Statement::CreateTable { name, if_not_exists, columns, constraints } => {
            if has_prefix(name, "sqlite_") {
                reserved(name)?;
            }
            if catalog.exists(name) {
                return if *if_not_exists && catalog.table(name).is_some() {
                    Ok(false)
                } else {
                    Err(taken(catalog, name))
                };
            }
            reserved(name)?;
            let sql = print::create_table(name, columns, constraints);
            // Validate before anything is allocated.
            let (t, autos) = table_from_ast(name, columns, constraints, PageId::NONE, sql.clone())?;
            let mut p = Planner::new(catalog);
            super::prepare::compile_checks(&mut p, &t)?;
            if !p.subs.is_empty() {
                return Err(Error::Sql("subqueries prohibited in CHECK constraints".into()));
            }
            if p.params > 0 {
                return Err(Error::Sql("parameters prohibited in CHECK constraints".into()));
            }
            let schema = schema_table(s)?;
            if t.autoincrement && catalog.table(SEQUENCE_TABLE).is_none() {
                let root = BTree::create(s, true)?.root();
                catalog::insert_schema_row(
                    s,
                    &schema,
                    "table",
                    SEQUENCE_TABLE,
                    SEQUENCE_TABLE,
                    root,
                    Some(SEQUENCE_SQL),
                )?;
            }
            let root = BTree::create(s, true)?.root();
            catalog::insert_schema_row(s, &schema, "table", name, name, root, Some(&sql))?;
            for a in &autos {
                let r = BTree::create(s, true)?.root();
                catalog::insert_schema_row(s, &schema, "index", &a.name, name, r, None)?;
            }
        }
        Statement::DropTable { name, if_exists } => {
            if is_schema_table(name) || (has_prefix(name, "sqlite_") && catalog.table(name).is_some()) {
                return Err(Error::Sql(format!("table {name} may not be dropped")));
            }
            let Some(t) = catalog.table(name) else {
                if catalog.view(name).is_some() {
                    return Err(Error::Sql(format!("use DROP VIEW to delete view {name}")));
                }
                return if *if_exists { Ok(false) } else { Err(Error::Sql(format!("no such table: {name}"))) };
            };
            let schema = schema_table(s)?;
            let mut names = vec![t.name.clone()];
            for idx in catalog.indexes_of(t) {
                BTree::open(idx.root).destroy(s)?;
                names.push(idx.name.clone());
            }
            catalog::drop_table_storage(s, t)?;
            catalog::delete_schema_rows(s, &schema, &names)?;
            if t.autoincrement
                && let Some(seq) = catalog.table(SEQUENCE_TABLE)
            {
                sequence::forget(s, seq, &t.name)?;
            }
        }
        Statement::CreateIndex { name, table, columns, unique, if_not_exists } => {
            if catalog.exists(name) {
                return if *if_not_exists && catalog.index(name).is_some() {
                    Ok(false)
                } else {
                    Err(taken(catalog, name))
                };
            }
            reserved(name)?;
            if is_schema_table(table) || has_prefix(table, "sqlite_") {
                return Err(Error::Sql(format!("table {table} may not be indexed")));
            }
            let sql = print::create_index(name, table, columns, *unique);
            let def = catalog.index_from_ast(name, table, columns, *unique, PageId::NONE, Some(sql.clone()))?;
            let t = catalog.table(table).ok_or_else(|| Error::Sql(format!("no such table: {table}")))?;
            let schema = schema_table(s)?;
            let root = BTree::create(s, true)?.root();
            let idx = catalog::Index { root, ..def };
            let rows = RowStore::new(t);
            let mut c = rows.cursor(
                s,
                std::ops::Bound::Unbounded,
                std::ops::Bound::Unbounded,
                crate::btree::Direction::Forward,
            )?;
            while let Some((rowid, row)) = c.next(s)? {
                index_insert(s, t, &idx, &row, rowid)?;
            }
            catalog::insert_schema_row(s, &schema, "index", name, &t.name, root, Some(&sql))?;
        }
        Statement::DropIndex { name, if_exists } => {
            let Some(idx) = catalog.index(name) else {
                return if *if_exists { Ok(false) } else { Err(Error::Sql(format!("no such index: {name}"))) };
            };
            if idx.auto {
                return Err(Error::Sql(format!(
                    "index associated with UNIQUE or PRIMARY KEY constraint cannot be dropped: {name}"
                )));
            }
            let schema = schema_table(s)?;
            BTree::open(idx.root).destroy(s)?;
            catalog::delete_schema_rows(s, &schema, std::slice::from_ref(&idx.name))?;
        }
        Statement::CreateView { name, if_not_exists, columns, query, query_sql } => {
            if catalog.exists(name) {
                return if *if_not_exists && catalog.view(name).is_some() {
                    Ok(false)
                } else {
                    Err(taken(catalog, name))
                };
            }
            reserved(name)?;
            // The query must plan now (its tables exist, its names resolve).
            let plan = Planner::new(catalog).plan_query(query, None)?;
            if !columns.is_empty() && columns.len() != plan.columns.len() {
                return Err(Error::Sql(format!(
                    "expected {} columns for '{name}' but got {}",
                    columns.len(),
                    plan.columns.len()
                )));
            }
            let schema = schema_table(s)?;
            let sql = print::create_view(name, columns, query_sql);
            catalog::insert_schema_row(s, &schema, "view", name, name, PageId::NONE, Some(&sql))?;
        }
        Statement::DropView { name, if_exists } => {
            let Some(v) = catalog.view(name) else {
                if catalog.table(name).is_some() {
                    return Err(Error::Sql(format!("use DROP TABLE to delete table {name}")));
                }
                return if *if_exists { Ok(false) } else { Err(Error::Sql(format!("no such view: {name}"))) };
            };
            let schema = schema_table(s)?;
            catalog::delete_schema_rows(s, &schema, std::slice::from_ref(&v.name))?;
        }
        Statement::AlterTable { table, op } => super::alter::run(s, table, op, catalog)?,
        other => return Err(Error::Sql(format!("not a schema statement: {}", super::prepare::kind(other)))),
    }
    bump_cookie(s)?;
    Ok(true)
}
