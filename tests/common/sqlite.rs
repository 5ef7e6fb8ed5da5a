//! SQLite beside waldb, for the differential suites: values across the two
//! APIs, and a query's rows from either engine as waldb values (or the
//! error's text).

use waldb::{Database, Value};

/// A result set as values.
pub type Rows = Vec<Vec<Value>>;

/// A SQLite value as a waldb value.
pub fn sqlite_value(v: rusqlite::types::Value) -> Value {
    use rusqlite::types::Value as Sv;
    match v {
        Sv::Null => Value::Null,
        Sv::Integer(i) => Value::Integer(i),
        Sv::Real(r) => Value::Real(r),
        Sv::Text(s) => Value::Text(s),
        Sv::Blob(b) => Value::Blob(b),
    }
}

/// A waldb value as a SQLite value.
pub fn to_sqlite(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sv;
    match v {
        Value::Null => Sv::Null,
        Value::Integer(i) => Sv::Integer(*i),
        Value::Real(r) => Sv::Real(*r),
        Value::Text(s) => Sv::Text(s.clone()),
        Value::Blob(b) => Sv::Blob(b.clone()),
    }
}

/// The rows SQLite returns for `sql`, or its error's text.
pub fn sqlite_rows(c: &rusqlite::Connection, sql: &str) -> Result<Rows, String> {
    let mut st = c.prepare(sql).map_err(|e| e.to_string())?;
    let n = st.column_count();
    let mut rows = st.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| e.to_string())? {
        out.push(
            (0..n)
                .map(|i| r.get::<_, rusqlite::types::Value>(i).map(sqlite_value))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(out)
}

/// The rows waldb returns for `sql`, or its error's text.
pub fn waldb_rows(db: &Database, sql: &str) -> Result<Rows, String> {
    db.query(sql, ()).map(|r| r.values()).map_err(|e| e.to_string())
}
