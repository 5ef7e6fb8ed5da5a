//! How waldb writes values and names as text, for tools that build SQL or
//! show results: [`quote_identifier`] (a name that reads back as itself),
//! and on [`Value`]: [`to_sql_literal`](Value::to_sql_literal) (SQLite's
//! `quote()`), [`to_sql_text`](Value::to_sql_text) (`CAST(x AS TEXT)`) and
//! [`to_display_text`](Value::to_display_text) (what the sqlite3 shell and
//! `waldb` show).
//!
//! The renderings themselves live in the SQL layer (`sql::print`,
//! `sql::printf`, `sql::types`), which uses them for its own SQL text; this
//! file only gives them their public names.

use crate::sql::print::{ident, literal};
use crate::sql::printf::format_real;
use crate::sql::types::to_text;
use crate::value::Value;

/// Significant digits of a real in [`Value::to_display_text`]: the sqlite3
/// shell's `%!.15g`.
const DISPLAY_DIGITS: i64 = 15;

/// `name` as an SQL identifier that reads back as `name`: unchanged when it
/// is a plain word (ASCII letters, digits and `_`, not starting with a
/// digit), else in double quotes with inner double quotes doubled — the
/// quoting of SQLite's `%w` and of the schema waldb prints.
///
/// ```
/// use waldb::quote_identifier;
///
/// assert_eq!(quote_identifier("person"), "person");
/// assert_eq!(quote_identifier("first name"), "\"first name\"");
/// assert_eq!(quote_identifier("say \"hi\""), "\"say \"\"hi\"\"\"");
/// assert_eq!(quote_identifier("2x"), "\"2x\"");
///
/// let db = waldb::Database::open_in_memory()?;
/// db.execute(&format!("CREATE TABLE {}(x)", quote_identifier("odd \"table\"")), ())?;
/// db.execute(&format!("INSERT INTO {} VALUES (1)", quote_identifier("odd \"table\"")), ())?;
/// # Ok::<(), waldb::Error>(())
/// ```
pub fn quote_identifier(name: &str) -> String {
    ident(name)
}

impl Value {
    /// The value as an SQL literal that reads back as the same value, as
    /// SQLite's `quote()` writes it: `NULL`, `42`, reals with up to 17
    /// significant digits and always a decimal point or exponent
    /// (`2.0`, `0.1`, `9.0e+999` for infinity), text in single quotes with
    /// inner quotes doubled, blobs as `X'0A1B'`.
    ///
    /// ```
    /// use waldb::Value;
    ///
    /// assert_eq!(Value::Null.to_sql_literal(), "NULL");
    /// assert_eq!(Value::Integer(-7).to_sql_literal(), "-7");
    /// assert_eq!(Value::Real(2.0).to_sql_literal(), "2.0");
    /// assert_eq!(Value::Text("it's".into()).to_sql_literal(), "'it''s'");
    /// assert_eq!(Value::Blob(vec![0x0a, 0x1b]).to_sql_literal(), "X'0A1B'");
    ///
    /// let db = waldb::Database::open_in_memory()?;
    /// let v = Value::Real(0.1 + 0.2);
    /// let back: Value = db.query_row(&format!("SELECT {}", v.to_sql_literal()), (), |r| r.get(0))?;
    /// assert_eq!(back, v);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn to_sql_literal(&self) -> String {
        literal(self)
    }

    /// The value as text, as `CAST(x AS TEXT)` and `||` make it; `None` for
    /// NULL. Reals get the fewest digits (at most 17) that read back as the
    /// same real, and `.0` when integral; blobs are taken as UTF-8.
    ///
    /// ```
    /// use waldb::Value;
    ///
    /// assert_eq!(Value::Null.to_sql_text(), None);
    /// assert_eq!(Value::Integer(3).to_sql_text().as_deref(), Some("3"));
    /// assert_eq!(Value::Real(0.1 + 0.2).to_sql_text().as_deref(), Some("0.30000000000000004"));
    /// assert_eq!(Value::Real(1e17).to_sql_text().as_deref(), Some("1.0e+17"));
    /// assert_eq!(Value::Blob(b"hi".to_vec()).to_sql_text().as_deref(), Some("hi"));
    ///
    /// let db = waldb::Database::open_in_memory()?;
    /// let cast: String = db.query_row("SELECT CAST(0.1 + 0.2 AS TEXT)", (), |r| r.get(0))?;
    /// assert_eq!(Some(cast), Value::Real(0.1 + 0.2).to_sql_text());
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn to_sql_text(&self) -> Option<String> {
        to_text(self)
    }

    /// The value as the sqlite3 shell (and `waldb`) shows it in a result;
    /// `None` for NULL (the shell prints its `.nullvalue`). Like
    /// [`to_sql_text`](Value::to_sql_text), except that reals are rounded
    /// to 15 significant digits (`%!.15g`), which hides the last bits of
    /// binary rounding.
    ///
    /// ```
    /// use waldb::Value;
    ///
    /// assert_eq!(Value::Real(0.1 + 0.2).to_display_text().as_deref(), Some("0.3"));
    /// assert_eq!(Value::Real(1.0 / 3.0).to_display_text().as_deref(), Some("0.333333333333333"));
    /// assert_eq!(Value::Real(2.0).to_display_text().as_deref(), Some("2.0"));
    /// assert_eq!(Value::Real(1e100).to_display_text().as_deref(), Some("1.0e+100"));
    /// assert_eq!(Value::Text("a".into()).to_display_text().as_deref(), Some("a"));
    /// assert_eq!(Value::Null.to_display_text(), None);
    /// ```
    pub fn to_display_text(&self) -> Option<String> {
        match self {
            Value::Real(r) => Some(format_real(*r, DISPLAY_DIGITS)),
            v => to_text(v),
        }
    }
}
