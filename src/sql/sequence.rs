//! `AUTOINCREMENT` and the `sqlite_sequence` table, as in SQLite.
//!
//! A table whose `INTEGER PRIMARY KEY` is declared `AUTOINCREMENT` never
//! gives a rowid twice: a new row gets one more than the larger of the
//! table's largest rowid and the largest rowid it ever held, which is kept
//! in the ordinary table `sqlite_sequence(name, seq)`, one row per table.
//! The table is created with the first `AUTOINCREMENT` table and lives in
//! the schema like any other (so it commits, rolls back and recovers with
//! the rows it counts); users may read and change it, as in SQLite. When
//! the largest rowid is `i64::MAX` an insert that needs a new rowid fails
//! with "database or disk is full", SQLite's `SQLITE_FULL`.

use crate::error::{Error, Result};
use crate::storage::PageStore;
use crate::value::Value;

use super::catalog::Table;
use super::table::RowStore;

/// The name of the sequence table.
pub const SEQUENCE_TABLE: &str = "sqlite_sequence";

/// Its `CREATE TABLE` statement (SQLite's, untyped columns).
pub const SEQUENCE_SQL: &str = "CREATE TABLE sqlite_sequence(name,seq)";

/// The row of `sqlite_sequence` for table `name`: (rowid, seq).
fn find<S: PageStore>(s: &S, seq: &Table, name: &str) -> Result<Option<(i64, Vec<Value>)>> {
    Ok(RowStore::new(seq)
        .scan_all(s)?
        .into_iter()
        .find(|(_, row)| matches!(row.first(), Some(Value::Text(n)) if n.eq_ignore_ascii_case(name))))
}

fn seq_of(row: &[Value]) -> i64 {
    match row.get(1) {
        Some(Value::Integer(i)) => *i,
        Some(Value::Real(r)) => *r as i64,
        Some(Value::Text(t)) => t.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// The rowid a new row of AUTOINCREMENT table `t` gets.
pub fn next_rowid<S: PageStore>(s: &S, seq: Option<&Table>, t: &Table) -> Result<i64> {
    let max = RowStore::new(t).max_rowid(s)?.unwrap_or(0);
    let used = match seq {
        Some(seq) => find(s, seq, &t.name)?.map_or(0, |(_, row)| seq_of(&row)),
        None => 0,
    };
    max.max(used).checked_add(1).ok_or_else(|| Error::Sql("database or disk is full".into()))
}

/// Record that AUTOINCREMENT table `t` gave out `rowid`.
pub fn record<S: PageStore>(s: &S, seq: Option<&Table>, t: &Table, rowid: i64) -> Result<()> {
    let Some(seq) = seq else {
        return Err(Error::Sql(format!("no {SEQUENCE_TABLE} table for AUTOINCREMENT table {}", t.name)));
    };
    let store = RowStore::new(seq);
    match find(s, seq, &t.name)? {
        Some((r, row)) if seq_of(&row) < rowid => {
            let mut new = row;
            new.resize(2, Value::Null);
            new[1] = Value::Integer(rowid);
            store.replace_raw(s, r, &new)
        }
        Some(_) => Ok(()),
        None => store.insert_raw(s, None, &[Value::Text(t.name.clone()), Value::Integer(rowid)]).map(|_| ()),
    }
}

/// Rename the entry of table `old` to `new` (ALTER TABLE … RENAME TO).
pub fn rename<S: PageStore>(s: &S, seq: &Table, old: &str, new: &str) -> Result<()> {
    if let Some((r, mut row)) = find(s, seq, old)? {
        if let Some(n) = row.first_mut() {
            *n = Value::Text(new.to_string());
        }
        RowStore::new(seq).replace_raw(s, r, &row)?;
    }
    Ok(())
}

/// Remove the entry of table `name` (DROP TABLE).
pub fn forget<S: PageStore>(s: &S, seq: &Table, name: &str) -> Result<()> {
    if let Some((r, row)) = find(s, seq, name)? {
        RowStore::new(seq).delete_raw(s, r, &row)?;
    }
    Ok(())
}
