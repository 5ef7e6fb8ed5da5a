//! `.dump [TABLE]` — SQL text that recreates the database (or one table),
//! quoting every value so that it round-trips exactly — and `.backup FILE`,
//! which replays that dump, read inside one transaction of the source,
//! into a new database file.

use std::io::Write;
use std::path::Path;

use waldb::{Database, Value, quote_identifier as ident};

use crate::split::{Piece, split};

/// One row of `waldb_schema`.
#[derive(Debug, Clone)]
pub struct SchemaRow {
    /// `table`, `index` or `view`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// The table it belongs to.
    pub table: String,
    /// Its `CREATE` statement (`None` for constraint indexes).
    pub sql: Option<String>,
}

/// The schema, in creation order.
pub fn schema(db: &Database) -> Result<Vec<SchemaRow>, String> {
    let rows = db.query("SELECT type, name, tbl_name, sql FROM waldb_schema", ()).map_err(|e| e.to_string())?;
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    };
    let mut out = Vec::new();
    for r in &rows {
        let v = r.values();
        if v.len() < 4 {
            return Err("unexpected shape of waldb_schema".into());
        }
        let sql = match &v[3] {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        };
        out.push(SchemaRow { kind: text(&v[0]), name: text(&v[1]), table: text(&v[2]), sql });
    }
    Ok(out)
}

/// A value as a SQL literal that reads back as the same value.
pub fn sql_literal(v: &Value) -> String {
    match v {
        Value::Real(r) if r.is_infinite() => if *r > 0.0 { "1e999" } else { "-1e999" }.into(),
        v => v.to_sql_literal(),
    }
}

/// Write the dump of `db` (or of `only` table: it, its indexes, or the
/// view of that name) to `out`.
pub fn dump(db: &Database, only: Option<&str>, out: &mut dyn Write) -> Result<(), String> {
    let w = |e: std::io::Error| format!("writing output: {e}");
    let objects: Vec<SchemaRow> = schema(db)?
        .into_iter()
        .filter(|o| only.is_none_or(|t| o.table.eq_ignore_ascii_case(t) || o.name.eq_ignore_ascii_case(t)))
        .collect();
    writeln!(out, "BEGIN TRANSACTION;").map_err(w)?;
    for t in objects.iter().filter(|o| o.kind == "table") {
        let Some(sql) = &t.sql else { continue };
        writeln!(out, "{sql};").map_err(w)?;
        let rows = db.query(&format!("SELECT * FROM {}", ident(&t.name)), ()).map_err(|e| e.to_string())?;
        for r in &rows {
            let vals: Vec<String> = r.values().iter().map(sql_literal).collect();
            writeln!(out, "INSERT INTO {} VALUES({});", ident(&t.name), vals.join(",")).map_err(w)?;
        }
    }
    for kind in ["index", "view"] {
        for o in objects.iter().filter(|o| o.kind == kind) {
            if let Some(sql) = &o.sql {
                writeln!(out, "{sql};").map_err(w)?;
            }
        }
    }
    writeln!(out, "COMMIT;").map_err(w)?;
    Ok(())
}

/// Copy `db` into a new database at `path`: its dump, read inside one
/// transaction of the source (so no writer can change it half-way), is
/// replayed into the new file.
pub fn backup(db: &Database, path: &Path) -> Result<(), String> {
    if db.in_transaction() {
        return Err("cannot back up inside an open transaction: COMMIT or ROLLBACK first".into());
    }
    if path.exists() {
        return Err(format!("{} already exists; choose a new file name", path.display()));
    }
    db.execute("BEGIN", ()).map_err(|e| e.to_string())?;
    let mut text = Vec::new();
    let dumped = dump(db, None, &mut text);
    let ended = db.execute("ROLLBACK", ()).map_err(|e| e.to_string());
    dumped?;
    ended?;
    let text = String::from_utf8(text).map_err(|e| e.to_string())?;
    let target = Database::open(path).map_err(|e| e.to_string())?;
    let s = split(&text, 1);
    for piece in s.pieces {
        if let Piece::Sql { line, text } = piece {
            target.execute(&text, ()).map_err(|e| format!("backup failed at dump line {line}: {e}"))?;
        }
    }
    target.close().map_err(|e| e.to_string())
}
