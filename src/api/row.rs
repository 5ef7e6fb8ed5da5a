//! Query results: [`Rows`] (column names and rows) and typed reads of a
//! [`Row`]'s values with [`FromSql`].

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::Value;

/// A Rust type a SQL value can be read as.
///
/// Integers read as any integer type they fit; reals as `f64`/`f32`;
/// text as `String`; blobs as `Vec<u8>`; integers as `bool` (non-zero is
/// true); `Option<T>` reads NULL as `None`. Anything else is
/// [`Error::TypeMismatch`] — there are no silent conversions.
///
/// ```
/// use waldb::{Database, Error};
/// let db = Database::open_in_memory()?;
/// let row = db.query_row("SELECT 7, NULL, X'0102', 'seven'", (), |r| Ok(r.clone()))?;
/// assert_eq!(row.get::<u8>(0)?, 7);
/// assert_eq!(row.get::<Option<i64>>(1)?, None);
/// assert_eq!(row.get::<Vec<u8>>(2)?, vec![1, 2]);
/// assert!(matches!(row.get::<i64>(3), Err(Error::TypeMismatch(_))));
/// # Ok::<(), waldb::Error>(())
/// ```
pub trait FromSql: Sized {
    /// Convert, or say why not.
    fn from_sql(v: &Value) -> std::result::Result<Self, String>;
}

fn wrong<T>(v: &Value, want: &str) -> std::result::Result<T, String> {
    Err(format!("{} value cannot be read as {want}", v.type_name()))
}

impl FromSql for Value {
    fn from_sql(v: &Value) -> std::result::Result<Self, String> {
        Ok(v.clone())
    }
}

macro_rules! from_sql_int {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_sql(v: &Value) -> std::result::Result<Self, String> {
                match v {
                    Value::Integer(i) => <$t>::try_from(*i).map_err(|_| format!("integer {i} is out of range for {}", stringify!($t))),
                    other => wrong(other, stringify!($t)),
                }
            }
        }
    )*};
}
from_sql_int!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);

impl FromSql for bool {
    fn from_sql(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Integer(i) => Ok(*i != 0),
            other => wrong(other, "bool"),
        }
    }
}

impl FromSql for f64 {
    /// Reals, and integers (as SQLite's `sqlite3_column_double` does).
    fn from_sql(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Real(r) => Ok(*r),
            Value::Integer(i) => Ok(*i as f64),
            other => wrong(other, "f64"),
        }
    }
}

impl FromSql for f32 {
    fn from_sql(v: &Value) -> std::result::Result<Self, String> {
        f64::from_sql(v).map(|r| r as f32)
    }
}

impl FromSql for String {
    fn from_sql(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => wrong(other, "String"),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            other => wrong(other, "Vec<u8>"),
        }
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            other => T::from_sql(other).map(Some),
        }
    }
}

/// Something that picks a column: its position (from 0) or its name
/// (case-insensitive).
///
/// ```
/// let db = waldb::Database::open_in_memory()?;
/// let (a, b) = db.query_row("SELECT 1 AS one, 2 AS two", (), |r| Ok((r.get::<i64>(0)?, r.get::<i64>("TWO")?)))?;
/// assert_eq!((a, b), (1, 2));
/// # Ok::<(), waldb::Error>(())
/// ```
pub trait RowIndex {
    /// The column's position in `columns`.
    fn position(&self, columns: &[String]) -> Result<usize>;
}

impl RowIndex for usize {
    fn position(&self, columns: &[String]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(Error::InvalidInput(format!(
                "column index {self} is out of range: the row has {} columns",
                columns.len()
            )))
        }
    }
}

impl RowIndex for &str {
    fn position(&self, columns: &[String]) -> Result<usize> {
        columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(self))
            .ok_or_else(|| Error::InvalidInput(format!("no column named {self} in the result")))
    }
}

/// One row of a result.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of a column, read as `T`.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// let row = db.query_row("SELECT 7 AS n, NULL AS missing", (), |r| Ok(r.clone()))?;
    /// assert_eq!(row.get::<i64>(0)?, 7);
    /// assert_eq!(row.get::<Option<String>>("missing")?, None);
    /// assert!(row.get::<String>("n").is_err());
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn get<T: FromSql>(&self, idx: impl RowIndex) -> Result<T> {
        let i = idx.position(&self.columns)?;
        let v = &self.values[i];
        T::from_sql(v).map_err(|why| Error::TypeMismatch(format!("column {i} ({}): {why}", self.columns[i])))
    }

    /// The raw value of a column.
    pub fn value(&self, idx: impl RowIndex) -> Result<&Value> {
        let i = idx.position(&self.columns)?;
        Ok(&self.values[i])
    }

    /// Every value, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Take the values.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

/// The rows a query returned, with its column names.
///
/// ```
/// let db = waldb::Database::open_in_memory()?;
/// let rows = db.query("SELECT 1 AS n UNION ALL SELECT 2", ())?;
/// assert_eq!(rows.columns(), ["n"]);
/// let mut sum = 0;
/// for row in &rows {
///     sum += row.get::<i64>("n")?;
/// }
/// assert_eq!((rows.len(), sum), (2, 3));
/// # Ok::<(), waldb::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    columns: Vec<String>,
    rows: Vec<Row>,
}

impl Rows {
    pub(crate) fn new(columns: Vec<String>, values: Vec<Vec<Value>>) -> Rows {
        let shared: Arc<[String]> = columns.clone().into();
        let rows = values.into_iter().map(|values| Row { columns: shared.clone(), values }).collect();
        Rows { columns, rows }
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Row> {
        self.rows.iter()
    }

    /// Row `i`.
    pub fn get(&self, i: usize) -> Option<&Row> {
        self.rows.get(i)
    }

    /// Convert every row with `f`.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// let names: Vec<String> = db.query("VALUES ('a'), ('b')", ())?.map(|r| r.get(0))?;
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn map<T>(&self, mut f: impl FnMut(&Row) -> Result<T>) -> Result<Vec<T>> {
        self.rows.iter().map(&mut f).collect()
    }

    /// Every row's values.
    pub fn values(&self) -> Vec<Vec<Value>> {
        self.rows.iter().map(|r| r.values.clone()).collect()
    }
}

impl IntoIterator for Rows {
    type Item = Row;
    type IntoIter = std::vec::IntoIter<Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a Row;
    type IntoIter = std::slice::Iter<'a, Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: Vec<Value>) -> Row {
        let cols: Vec<String> = (0..v.len()).map(|i| format!("c{i}")).collect();
        Rows::new(cols, vec![v]).rows.remove(0)
    }

    #[test]
    fn typed_reads_convert_only_what_is_lossless() {
        let r = row(vec![Value::Integer(300), Value::Null, Value::Real(1.5), Value::Text("t".into())]);
        assert_eq!(r.get::<i64>(0).ok(), Some(300));
        assert!(matches!(r.get::<u8>(0), Err(Error::TypeMismatch(_))));
        assert_eq!(r.get::<f64>(0).ok(), Some(300.0));
        assert_eq!(r.get::<Option<i64>>(1).ok(), Some(None));
        assert!(matches!(r.get::<i64>(1), Err(Error::TypeMismatch(_))));
        assert!(matches!(r.get::<i64>(2), Err(Error::TypeMismatch(_))));
        assert_eq!(r.get::<String>("C3").ok(), Some("t".to_string()));
        assert!(matches!(r.get::<String>("nope"), Err(Error::InvalidInput(_))));
        assert!(matches!(r.get::<String>(9), Err(Error::InvalidInput(_))));
    }
}
