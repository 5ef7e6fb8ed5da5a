//! The catalog: tables, indexes and views, stored in the database itself.
//!
//! Like SQLite's `sqlite_schema`, the schema is a table — `waldb_schema`, a
//! clustered B+tree rooted at file-header root slot 0 — with one row per
//! object:
//!
//! | column | meaning |
//! |---|---|
//! | `type` | `'table'`, `'index'` or `'view'` |
//! | `name` | the object's name |
//! | `tbl_name` | the table an index belongs to (the object itself otherwise) |
//! | `rootpage` | the root page of its B+tree (0 for views) |
//! | `sql` | the `CREATE` statement (NULL for indexes made by constraints) |
//!
//! Schema changes go through the same transactions, WAL and recovery as
//! data, so the schema survives crashes exactly like rows do. The in-memory
//! [`Catalog`] is rebuilt from these rows (by parsing their `sql`) when the
//! database opens and after any transaction that changed the schema.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ids::PageId;
use crate::btree::BTree;
use crate::storage::{PageStore, header};
use crate::value::Value;

use super::ast::{self, Statement};
use super::parse::parse;
use super::table::{self, RowStore};
use super::types::{Affinity, affinity};

/// Root slot of the file header holding the schema table.
pub const SCHEMA_SLOT: usize = 0;
/// The schema table's name.
pub const SCHEMA_TABLE: &str = "waldb_schema";
/// SQLite's names for its schema table, accepted as names of waldb's (so
/// tools that read `sqlite_schema` or `sqlite_master` work unchanged).
pub const SCHEMA_ALIASES: [&str; 2] = ["sqlite_schema", "sqlite_master"];

/// Whether `name` names the schema table (by waldb's name or SQLite's).
pub fn is_schema_table(name: &str) -> bool {
    name.eq_ignore_ascii_case(SCHEMA_TABLE) || SCHEMA_ALIASES.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// The catalog key of a table name: lower-case, with SQLite's names of the
/// schema table mapped to waldb's.
fn table_key(name: &str) -> String {
    if is_schema_table(name) { SCHEMA_TABLE.to_string() } else { lower(name) }
}

/// A column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Declared type, upper-cased.
    pub type_name: Option<String>,
    /// Affinity from the declared type.
    pub affinity: Affinity,
    /// `NOT NULL` (also implied by a non-rowid `PRIMARY KEY`).
    pub not_null: bool,
    /// `DEFAULT` expression.
    pub default: Option<ast::Expr>,
    /// Part of the primary key.
    pub primary_key: bool,
}

/// A table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<Column>,
    /// Root page of the clustered B+tree (rowid → row).
    pub root: PageId,
    /// The `INTEGER PRIMARY KEY` column, an alias of the rowid.
    pub rowid_alias: Option<usize>,
    /// Names (lower-case) of its indexes, constraint indexes first.
    pub indexes: Vec<String>,
    /// Its `CREATE TABLE` statement.
    pub sql: String,
    /// Its `CHECK` constraints, the columns' first, in order.
    pub checks: Vec<ast::Check>,
    /// Its `INTEGER PRIMARY KEY` is `AUTOINCREMENT`: rowids are never
    /// reused, the largest ever given is kept in `sqlite_sequence`.
    pub autoincrement: bool,
}

impl Table {
    /// Position of the column named `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// An index.
#[derive(Clone, Debug, PartialEq)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// The table's name (lower-case).
    pub table: String,
    /// Indexed column positions, in key order.
    pub columns: Vec<usize>,
    /// `DESC` per column (recorded; keys are stored ascending).
    pub desc: Vec<bool>,
    /// A unique index (NULLs excepted).
    pub unique: bool,
    /// Made by a PRIMARY KEY or UNIQUE constraint (dropped with its table).
    pub auto: bool,
    /// It enforces the primary key.
    pub primary: bool,
    /// Root page of its B+tree.
    pub root: PageId,
    /// Its `CREATE INDEX` statement (`None` for constraint indexes).
    pub sql: Option<String>,
}

/// A view.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// Its name.
    pub name: String,
    /// Explicit column names.
    pub columns: Vec<String>,
    /// Its query.
    pub query: ast::Query,
    /// Its `CREATE VIEW` statement.
    pub sql: String,
}

/// The schema in memory.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Tables by lower-case name.
    pub tables: BTreeMap<String, Arc<Table>>,
    /// Indexes by lower-case name.
    pub indexes: BTreeMap<String, Arc<Index>>,
    /// Views by lower-case name.
    pub views: BTreeMap<String, Arc<View>>,
}

/// The schema table's columns.
fn schema_table(root: PageId) -> Table {
    let col = |name: &str, t: &str| Column {
        name: name.into(),
        type_name: Some(t.into()),
        affinity: affinity(Some(t)),
        not_null: false,
        default: None,
        primary_key: false,
    };
    Table {
        name: SCHEMA_TABLE.into(),
        columns: vec![
            col("type", "TEXT"),
            col("name", "TEXT"),
            col("tbl_name", "TEXT"),
            col("rootpage", "INTEGER"),
            col("sql", "TEXT"),
        ],
        root,
        rowid_alias: None,
        indexes: Vec::new(),
        sql: format!("CREATE TABLE {SCHEMA_TABLE} (type TEXT, name TEXT, tbl_name TEXT, rootpage INTEGER, sql TEXT)"),
        checks: Vec::new(),
        autoincrement: false,
    }
}

/// The schema table of the database, creating it (in `s`, a write
/// transaction) if `create` and it does not exist.
pub fn schema<S: PageStore>(s: &S) -> Result<Option<Table>> {
    let root = header::root(&s.read(PageId::HEADER)?, SCHEMA_SLOT);
    Ok((!root.is_none()).then(|| schema_table(root)))
}

/// Create the schema table in a new database.
pub fn create_schema<S: PageStore>(s: &S) -> Result<Table> {
    let tree = BTree::create(s, true)?;
    header::set_root(&mut s.write(PageId::HEADER)?, SCHEMA_SLOT, tree.root());
    Ok(schema_table(tree.root()))
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    }
}

/// The definition of a table from its `CREATE TABLE` statement. The
/// constraint indexes it implies are returned too (roots not yet known:
/// page 0), in the order their names are numbered.
pub fn table_from_ast(
    name: &str,
    columns: &[ast::ColumnDef],
    constraints: &[ast::TableConstraint],
    root: PageId,
    sql: String,
) -> Result<(Table, Vec<Index>)> {
    let mut cols: Vec<Column> = Vec::with_capacity(columns.len());
    for c in columns {
        if cols.iter().any(|x| x.name.eq_ignore_ascii_case(&c.name)) {
            return Err(Error::Sql(format!("duplicate column name: {}", c.name)));
        }
        cols.push(Column {
            name: c.name.clone(),
            type_name: c.type_name.clone(),
            affinity: affinity(c.type_name.as_deref()),
            not_null: c.not_null,
            default: c.default.clone(),
            primary_key: c.primary_key,
        });
    }
    if cols.is_empty() {
        return Err(Error::Sql(format!("table {name} has no columns")));
    }
    let position = |n: &str| {
        cols.iter()
            .position(|c| c.name.eq_ignore_ascii_case(n))
            .ok_or_else(|| Error::Sql(format!("no such column in table {name}: {n}")))
    };
    let mut pk: Vec<usize> = columns.iter().enumerate().filter(|(_, c)| c.primary_key).map(|(i, _)| i).collect();
    let mut uniques: Vec<Vec<usize>> =
        columns.iter().enumerate().filter(|(_, c)| c.unique).map(|(i, _)| vec![i]).collect();
    let mut checks: Vec<ast::Check> = columns.iter().flat_map(|c| c.checks.iter().cloned()).collect();
    for c in constraints {
        match c {
            ast::TableConstraint::PrimaryKey(names) => {
                if !pk.is_empty() {
                    return Err(Error::Sql(format!("table {name} has more than one primary key")));
                }
                pk = names.iter().map(|n| position(n)).collect::<Result<_>>()?;
            }
            ast::TableConstraint::Unique(names) => {
                uniques.push(names.iter().map(|n| position(n)).collect::<Result<_>>()?)
            }
            ast::TableConstraint::Check(c) => checks.push(c.clone()),
        }
    }
    if pk.len() > 1 && columns.iter().any(|c| c.primary_key) {
        return Err(Error::Sql(format!("table {name} has more than one primary key")));
    }
    for &i in &pk {
        cols[i].primary_key = true;
    }
    // INTEGER PRIMARY KEY (exactly that type, ascending) is the rowid.
    let rowid_alias = match pk.as_slice() {
        [i] if cols[*i].type_name.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("INTEGER"))
            && !columns.get(*i).is_some_and(|c| c.primary_key_desc) =>
        {
            Some(*i)
        }
        _ => None,
    };
    let autoincrement = columns.iter().any(|c| c.autoincrement);
    if autoincrement && !rowid_alias.is_some_and(|a| columns.get(a).is_some_and(|c| c.autoincrement)) {
        return Err(Error::Sql("AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY".into()));
    }
    let mut autos = Vec::new();
    let table_l = lower(name);
    let mut n = 0;
    let mut auto = |cols_: Vec<usize>, primary: bool| {
        n += 1;
        Index {
            name: format!("waldb_autoindex_{name}_{n}"),
            table: table_l.clone(),
            desc: vec![false; cols_.len()],
            columns: cols_,
            unique: true,
            auto: true,
            primary,
            root: PageId::NONE,
            sql: None,
        }
    };
    if rowid_alias.is_none() && !pk.is_empty() {
        for &i in &pk {
            cols[i].not_null = true;
        }
        autos.push(auto(pk.clone(), true));
    }
    for u in uniques {
        if rowid_alias.is_some_and(|r| u == [r]) {
            continue;
        }
        autos.push(auto(u, false));
    }
    let table = Table {
        name: name.to_string(),
        columns: cols,
        root,
        rowid_alias,
        indexes: autos.iter().map(|i| lower(&i.name)).collect(),
        sql,
        checks,
        autoincrement,
    };
    Ok((table, autos))
}

impl Catalog {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Arc<Table>> {
        self.tables.get(&table_key(name))
    }

    /// The index named `name`.
    pub fn index(&self, name: &str) -> Option<&Arc<Index>> {
        self.indexes.get(&lower(name))
    }

    /// The view named `name`.
    pub fn view(&self, name: &str) -> Option<&Arc<View>> {
        self.views.get(&lower(name))
    }

    /// The indexes of a table.
    pub fn indexes_of(&self, t: &Table) -> Vec<Arc<Index>> {
        t.indexes.iter().filter_map(|n| self.indexes.get(n).cloned()).collect()
    }

    /// The user's tables (not the schema table), by lower-case name.
    pub fn user_tables(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.tables.iter().filter(|(n, _)| n.as_str() != SCHEMA_TABLE).map(|(_, t)| t)
    }

    /// Whether any object is called `name`.
    pub fn exists(&self, name: &str) -> bool {
        let l = lower(name);
        self.tables.contains_key(&l)
            || self.indexes.contains_key(&l)
            || self.views.contains_key(&l)
            || is_schema_table(&l)
    }

    /// Read the schema table of `s` into a catalog.
    pub fn load<S: PageStore>(s: &S) -> Result<Catalog> {
        let Some(schema) = schema(s)? else { return Ok(Catalog::default()) };
        let rows = RowStore::new(&schema).scan_all(s)?;
        let mut cat = Catalog::default();
        // The schema table itself is readable (never writable) by queries.
        cat.tables.insert(SCHEMA_TABLE.into(), Arc::new(schema.clone()));
        let mut auto_roots: BTreeMap<String, PageId> = BTreeMap::new();
        let mut later: Vec<(String, String)> = Vec::new();
        for (_, row) in &rows {
            let kind = row.first().and_then(text).unwrap_or_default();
            let name = row.get(1).and_then(text).unwrap_or_default();
            let root = match row.get(3) {
                Some(Value::Integer(r)) => PageId(*r as u32),
                _ => PageId::NONE,
            };
            let sql = row.get(4).and_then(text);
            match (kind.as_str(), sql) {
                ("table", Some(sql)) => {
                    let stmt = parse_one(&sql)?;
                    let Statement::CreateTable { name: tname, columns, constraints, .. } = stmt else {
                        return Err(Error::Sql(format!("schema row for {name} is not a CREATE TABLE")));
                    };
                    let (t, autos) = table_from_ast(&tname, &columns, &constraints, root, sql)?;
                    for a in autos {
                        cat.indexes.insert(lower(&a.name), Arc::new(a));
                    }
                    cat.tables.insert(lower(&tname), Arc::new(t));
                }
                ("index", None) => {
                    auto_roots.insert(lower(&name), root);
                }
                ("index", Some(sql)) | ("view", Some(sql)) => later.push((kind.clone(), sql)),
                _ => return Err(Error::Sql(format!("unreadable schema row for {name}"))),
            }
            if kind == "index" {
                // Remember roots of explicit indexes too, by name.
                auto_roots.insert(lower(&name), root);
            }
        }
        for idx in cat.indexes.values_mut() {
            let root = auto_roots.get(&lower(&idx.name)).copied().unwrap_or(PageId::NONE);
            Arc::make_mut(idx).root = root;
        }
        for (kind, sql) in later {
            match (kind.as_str(), parse_one(&sql)?) {
                ("index", Statement::CreateIndex { name, table, columns, unique, .. }) => {
                    let root = auto_roots.get(&lower(&name)).copied().unwrap_or(PageId::NONE);
                    let idx = cat.index_from_ast(&name, &table, &columns, unique, root, Some(sql))?;
                    cat.add_index(idx);
                }
                ("view", Statement::CreateView { name, columns, query, .. }) => {
                    cat.views.insert(lower(&name), Arc::new(View { name, columns, query: *query, sql }));
                }
                _ => return Err(Error::Sql("unreadable schema row".into())),
            }
        }
        Ok(cat)
    }

    /// An index definition from `CREATE INDEX`.
    pub fn index_from_ast(
        &self,
        name: &str,
        table: &str,
        columns: &[ast::IndexColumn],
        unique: bool,
        root: PageId,
        sql: Option<String>,
    ) -> Result<Index> {
        let t = self.table(table).ok_or_else(|| Error::Sql(format!("no such table: {table}")))?;
        let cols = columns
            .iter()
            .map(|c| t.column(&c.name).ok_or_else(|| Error::Sql(format!("no such column: {}", c.name))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Index {
            name: name.to_string(),
            table: lower(&t.name),
            desc: columns.iter().map(|c| c.desc).collect(),
            columns: cols,
            unique,
            auto: false,
            primary: false,
            root,
            sql,
        })
    }

    /// Register an index (and list it on its table).
    pub fn add_index(&mut self, idx: Index) {
        let l = lower(&idx.name);
        if let Some(t) = self.tables.get_mut(&idx.table) {
            let t = Arc::make_mut(t);
            if !t.indexes.contains(&l) {
                t.indexes.push(l.clone());
            }
        }
        self.indexes.insert(l, Arc::new(idx));
    }
}

fn parse_one(sql: &str) -> Result<Statement> {
    let mut v = parse(sql)?;
    match (v.pop(), v.is_empty()) {
        (Some(s), true) => Ok(s),
        _ => Err(Error::Sql(format!("schema entry is not one statement: {sql}"))),
    }
}

/// Add a row to the schema table.
pub fn insert_schema_row<S: PageStore>(
    s: &S,
    schema: &Table,
    kind: &str,
    name: &str,
    tbl_name: &str,
    root: PageId,
    sql: Option<&str>,
) -> Result<()> {
    let row = vec![
        Value::Text(kind.into()),
        Value::Text(name.into()),
        Value::Text(tbl_name.into()),
        Value::Integer(i64::from(root.0)),
        sql.map_or(Value::Null, |s| Value::Text(s.into())),
    ];
    RowStore::new(schema).insert_raw(s, None, &row).map(|_| ())
}

/// Replace every schema row for which `f` returns a new row.
pub fn rewrite_schema_rows<S: PageStore>(
    s: &S,
    schema: &Table,
    mut f: impl FnMut(&[Value]) -> Result<Option<Vec<Value>>>,
) -> Result<()> {
    let store = RowStore::new(schema);
    for (rowid, row) in store.scan_all(s)? {
        if let Some(new) = f(&row)? {
            store.replace_raw(s, rowid, &new)?;
        }
    }
    Ok(())
}

/// The `CREATE TABLE` statement of a table, parsed: (name, columns,
/// constraints).
pub fn table_ast(t: &Table) -> Result<(String, Vec<ast::ColumnDef>, Vec<ast::TableConstraint>)> {
    match parse_one(&t.sql)? {
        Statement::CreateTable { name, columns, constraints, .. } => Ok((name, columns, constraints)),
        _ => Err(Error::Sql(format!("schema entry of {} is not a CREATE TABLE", t.name))),
    }
}

/// The `CREATE INDEX` statement of an explicit index, parsed: (table,
/// columns, unique).
pub fn index_ast(idx: &Index) -> Result<Option<(String, Vec<ast::IndexColumn>, bool)>> {
    let Some(sql) = &idx.sql else { return Ok(None) };
    match parse_one(sql)? {
        Statement::CreateIndex { table, columns, unique, .. } => Ok(Some((table, columns, unique))),
        _ => Err(Error::Sql(format!("schema entry of {} is not a CREATE INDEX", idx.name))),
    }
}

/// Remove the schema rows whose `name` is in `names` (case-insensitive).
pub fn delete_schema_rows<S: PageStore>(s: &S, schema: &Table, names: &[String]) -> Result<()> {
    let store = RowStore::new(schema);
    for (rowid, row) in store.scan_all(s)? {
        let n = row.get(1).and_then(text).map(|t| lower(&t)).unwrap_or_default();
        if names.iter().any(|x| lower(x) == n) {
            store.delete_raw(s, rowid, &row)?;
        }
    }
    Ok(())
}

/// Free every page of a table's tree and row overflow chains.
pub fn drop_table_storage<S: PageStore>(s: &S, t: &Table) -> Result<()> {
    table::free_table(s, t)
}
