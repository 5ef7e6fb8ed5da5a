//! `PRAGMA`: the introspection and settings SQLite tools use, with SQLite's
//! result columns.
//!
//! | pragma | result |
//! |---|---|
//! | `table_info(t)`, `table_xinfo(t)` | one row per column: `cid, name, type, notnull, dflt_value, pk` (`xinfo` adds `hidden`) |
//! | `index_list(t)` | one row per index: `seq, name, unique, origin` (`c`, `u`, `pk`), `partial` |
//! | `index_info(i)`, `index_xinfo(i)` | one row per key column: `seqno, cid, name` (`xinfo` adds `desc, coll, key` and the rowid) |
//! | `user_version`, `application_id` | a 32-bit integer in the file header, settable (`= n`), transactional |
//! | `page_size`, `page_count`, `freelist_count`, `schema_version` | from the file header (read-only here) |
//! | `journal_mode` | always `wal`: waldb has no other journal; setting it reports `wal` and changes nothing |
//! | `foreign_keys` | `0`: waldb has no foreign keys yet; setting it is accepted and changes nothing |
//! | `integrity_check`, `quick_check` | `ok`, or the problem found (run by the API layer, `Database::check_integrity`'s check) |
//!
//! Unknown pragmas are [`Error::NotSupported`] (SQLite ignores them; waldb
//! says so instead of pretending). A table or index that does not exist
//! gives no rows, as in SQLite.

use crate::error::{Error, Result};
use crate::ids::PageId;
use crate::storage::{PageStore, header};
use crate::value::Value;

use super::catalog::{Catalog, Table};
use super::print;

/// A planned PRAGMA.
#[derive(Clone, Debug, PartialEq)]
pub struct Pragma {
    /// Its name, lower-case.
    pub name: String,
    /// Its argument.
    pub value: Option<Value>,
    /// Given with `=`.
    pub assign: bool,
}

impl Pragma {
    /// A PRAGMA statement, checked (the name is known).
    pub fn new(name: &str, value: Option<Value>, assign: bool) -> Result<Pragma> {
        let p = Pragma { name: name.to_ascii_lowercase(), value, assign };
        if columns(&p.name).is_none() {
            return Err(Error::NotSupported(format!("PRAGMA {}", p.name)));
        }
        Ok(p)
    }

    /// The names of its result columns.
    pub fn columns(&self) -> Vec<String> {
        if self.sets_header() || (self.value.is_some() && self.name == "foreign_keys") {
            return Vec::new();
        }
        columns(&self.name).unwrap_or_default().iter().map(|c| c.to_string()).collect()
    }

    /// Whether it is `integrity_check` or `quick_check` (run above this layer).
    pub fn is_integrity_check(&self) -> bool {
        matches!(self.name.as_str(), "integrity_check" | "quick_check")
    }

    /// Whether running it changes the database.
    pub fn writes(&self) -> bool {
        self.sets_header()
    }

    fn sets_header(&self) -> bool {
        self.value.is_some() && matches!(self.name.as_str(), "user_version" | "application_id")
    }
}

fn columns(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "table_info" => &["cid", "name", "type", "notnull", "dflt_value", "pk"],
        "table_xinfo" => &["cid", "name", "type", "notnull", "dflt_value", "pk", "hidden"],
        "index_list" => &["seq", "name", "unique", "origin", "partial"],
        "index_info" => &["seqno", "cid", "name"],
        "index_xinfo" => &["seqno", "cid", "name", "desc", "coll", "key"],
        "user_version" => &["user_version"],
        "application_id" => &["application_id"],
        "page_size" => &["page_size"],
        "page_count" => &["page_count"],
        "freelist_count" => &["freelist_count"],
        "schema_version" => &["schema_version"],
        "journal_mode" => &["journal_mode"],
        "foreign_keys" => &["foreign_keys"],
        "integrity_check" => &["integrity_check"],
        "quick_check" => &["quick_check"],
        _ => return None,
    })
}

fn int(i: impl Into<i64>) -> Value {
    Value::Integer(i.into())
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The argument as a name (table or index).
fn arg_name(p: &Pragma) -> Option<String> {
    match &p.value {
        Some(Value::Text(t)) => Some(t.clone()),
        Some(Value::Integer(i)) => Some(i.to_string()),
        _ => None,
    }
}

/// The argument as a 32-bit integer to store (SQLite keeps the low 32 bits).
fn arg_u32(p: &Pragma) -> Result<u32> {
    match &p.value {
        Some(Value::Integer(i)) => Ok(*i as u32),
        Some(Value::Text(t)) => Ok(t.trim().parse::<i64>().map_or(0, |i| i as u32)),
        Some(Value::Real(r)) => Ok(*r as i64 as u32),
        _ => Err(Error::Sql(format!("PRAGMA {} needs an integer", p.name))),
    }
}

/// Run a PRAGMA (other than the integrity checks) against `s` and
/// `catalog`; returns its rows.
pub fn run<S: PageStore>(s: &S, p: &Pragma, catalog: &Catalog) -> Result<Vec<Vec<Value>>> {
    let head = |f: fn(&[u8]) -> u32| -> Result<Vec<Vec<Value>>> { Ok(vec![vec![int(f(&s.read(PageId::HEADER)?))]]) };
    match p.name.as_str() {
        "table_info" | "table_xinfo" => Ok(table_info(catalog, arg_name(p), p.name == "table_xinfo")),
        "index_list" => Ok(index_list(catalog, arg_name(p))),
        "index_info" | "index_xinfo" => Ok(index_info(catalog, arg_name(p), p.name == "index_xinfo")),
        "user_version" | "application_id" if p.value.is_some() => {
            let v = arg_u32(p)?;
            let mut h = s.write(PageId::HEADER)?;
            if p.name == "user_version" {
                header::set_user_version(&mut h, v);
            } else {
                header::set_application_id(&mut h, v);
            }
            Ok(Vec::new())
        }
        // Both are signed 32-bit integers in SQLite.
        "user_version" => Ok(vec![vec![int(header::user_version(&s.read(PageId::HEADER)?) as i32)]]),
        "application_id" => Ok(vec![vec![int(header::application_id(&s.read(PageId::HEADER)?) as i32)]]),
        "page_size" => Ok(vec![vec![int(s.page_size() as i64)]]),
        "page_count" => head(header::page_count),
        "freelist_count" => head(|h| header::free_list(h).1),
        "schema_version" => head(header::schema_cookie),
        "journal_mode" => Ok(vec![vec![text("wal")]]),
        "foreign_keys" if p.value.is_some() => Ok(Vec::new()),
        "foreign_keys" => Ok(vec![vec![int(0)]]),
        other => Err(Error::NotSupported(format!("PRAGMA {other}"))),
    }
}

/// The rank of each column in the primary key (1-based; 0: not in it).
fn pk_ranks(catalog: &Catalog, t: &Table) -> Vec<i64> {
    let mut ranks = vec![0; t.columns.len()];
    if let Some(a) = t.rowid_alias {
        ranks[a] = 1;
    } else if let Some(pk) = catalog.indexes_of(t).into_iter().find(|i| i.primary) {
        for (n, &c) in pk.columns.iter().enumerate() {
            if let Some(r) = ranks.get_mut(c) {
                *r = n as i64 + 1;
            }
        }
    }
    ranks
}

fn table_info(catalog: &Catalog, name: Option<String>, extended: bool) -> Vec<Vec<Value>> {
    let Some(name) = name else { return Vec::new() };
    if let Some(t) = catalog.table(&name) {
        let ranks = pk_ranks(catalog, t);
        return t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut row = vec![
                    int(i as i64),
                    text(&c.name),
                    text(c.type_name.as_deref().unwrap_or("")),
                    int(i64::from(c.not_null)),
                    c.default.as_ref().map_or(Value::Null, |d| Value::Text(default_text(d))),
                    int(ranks[i]),
                ];
                if extended {
                    row.push(int(0));
                }
                row
            })
            .collect();
    }
    if let Some(v) = catalog.view(&name) {
        // A view's columns: their names, no type, no constraints.
        let Ok(plan) = super::plan::Planner::new(catalog).plan_query(&v.query, None) else { return Vec::new() };
        let names = if v.columns.is_empty() { plan.columns } else { v.columns.clone() };
        return names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut row = vec![int(i as i64), text(n), text(""), int(0), Value::Null, int(0)];
                if extended {
                    row.push(int(0));
                }
                row
            })
            .collect();
    }
    Vec::new()
}

/// A DEFAULT as `table_info` shows it: the expression's SQL (a literal as
/// written: `5`, `'abc'`, `NULL`).
fn default_text(d: &super::ast::Expr) -> String {
    match d {
        super::ast::Expr::Literal(v) => print::literal(v),
        other => {
            let s = other.to_string();
            // The printer parenthesises binary expressions; SQLite shows the
            // expression inside the DEFAULT's own parentheses.
            s.strip_prefix('(').and_then(|x| x.strip_suffix(')')).map_or(s.clone(), str::to_string)
        }
    }
}

fn index_list(catalog: &Catalog, name: Option<String>) -> Vec<Vec<Value>> {
    let Some(t) = name.and_then(|n| catalog.table(&n).cloned()) else { return Vec::new() };
    // SQLite lists the most recently created index first.
    let mut idx = catalog.indexes_of(&t);
    idx.reverse();
    idx.iter()
        .enumerate()
        .map(|(seq, i)| {
            let origin = if i.primary {
                "pk"
            } else if i.auto {
                "u"
            } else {
                "c"
            };
            vec![int(seq as i64), text(&i.name), int(i64::from(i.unique)), text(origin), int(0)]
        })
        .collect()
}

fn index_info(catalog: &Catalog, name: Option<String>, extended: bool) -> Vec<Vec<Value>> {
    let Some(idx) = name.and_then(|n| catalog.index(&n).cloned()) else { return Vec::new() };
    let Some(t) = catalog.table(&idx.table) else { return Vec::new() };
    let mut rows: Vec<Vec<Value>> = idx
        .columns
        .iter()
        .enumerate()
        .map(|(n, &c)| {
            let mut row = vec![int(n as i64), int(c as i64), t.columns.get(c).map_or(Value::Null, |c| text(&c.name))];
            if extended {
                row.extend([int(i64::from(idx.desc.get(n).copied().unwrap_or(false))), text("BINARY"), int(1)]);
            }
            row
        })
        .collect();
    if extended {
        rows.push(vec![int(idx.columns.len() as i64), int(-1), Value::Null, int(0), text("BINARY"), int(0)]);
    }
    rows
}
