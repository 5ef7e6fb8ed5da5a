//! Parsing: SQL text to [`ast::Statement`](super::ast::Statement)s.

use crate::error::Result;

use super::ast::Statement;

/// Parse `sql` (one or more `;`-separated statements).
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let _ = sql;
    Err(crate::Error::NotSupported("the SQL parser is being written".into()))
}
