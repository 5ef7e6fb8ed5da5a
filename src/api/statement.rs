//! [`Statement`]: a statement parsed and planned once, run many times with
//! new parameters. It replans itself if the schema changed since.

use crate::error::{Error, Result};
use crate::ids::Lsn;

use super::database::{Compiled, Database};
use super::params::Params;
use super::row::{Row, Rows};

/// A prepared statement, made by [`Database::prepare`].
///
/// ```
/// let db = waldb::Database::open_in_memory()?;
/// db.execute("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)", ())?;
/// let mut put = db.prepare("INSERT INTO t VALUES (?1, ?2)")?;
/// put.execute((1, "one"))?;
/// put.execute((2, "two"))?;
/// let mut get = db.prepare("SELECT v FROM t WHERE k = ?")?;
/// assert_eq!(get.column_names(), ["v"]);
/// assert_eq!(get.query_row([2], |r| r.get::<String>(0))?, "two");
/// # Ok::<(), waldb::Error>(())
/// ```
#[derive(Debug)]
pub struct Statement<'db> {
    db: &'db Database,
    sql: String,
    compiled: Compiled,
    columns: Vec<String>,
    params: usize,
}

impl<'db> Statement<'db> {
    pub(crate) fn new(
        db: &'db Database,
        sql: &str,
        compiled: Compiled,
        columns: Vec<String>,
        params: usize,
    ) -> Statement<'db> {
        Statement { db, sql: sql.to_string(), compiled, columns, params }
    }

    /// The SQL text it was prepared from.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The names of the columns it returns (empty if it returns no rows).
    pub fn column_names(&self) -> &[String] {
        &self.columns
    }

    /// How many parameters it takes.
    pub fn parameter_count(&self) -> usize {
        self.params
    }

    /// Run it; returns the rows inserted, updated or deleted.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// db.execute("CREATE TABLE t(x INTEGER)", ())?;
    /// let mut insert = db.prepare("INSERT INTO t VALUES (?)")?;
    /// for x in 0..3 {
    ///     assert_eq!(insert.execute([x])?, 1);
    /// }
    /// assert_eq!(db.prepare("DELETE FROM t WHERE x > ?")?.execute([0])?, 2);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn execute(&mut self, params: impl Params) -> Result<usize> {
        Ok(self.db.run(&mut self.compiled, params.into_values())?.changes)
    }

    /// Run it; returns the LSN of the commit it made, if it ran outside a
    /// transaction (autocommit) and changed something.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// db.execute("CREATE TABLE t(x INTEGER)", ())?;
    /// let (n, lsn) = db.prepare("INSERT INTO t VALUES (?)")?.execute_durable([1])?;
    /// let lsn = lsn.expect("an autocommit that changed a row commits");
    /// assert!(n == 1 && db.durable_lsn() >= lsn);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn execute_durable(&mut self, params: impl Params) -> Result<(usize, Option<Lsn>)> {
        let out = self.db.run(&mut self.compiled, params.into_values())?;
        Ok((out.changes, out.commit_lsn))
    }

    /// Run it and return its rows.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// let mut q = db.prepare("SELECT ? * 2 AS twice")?;
    /// assert_eq!(q.query([21])?.get(0).map(|r| r.get::<i64>("twice")).transpose()?, Some(42));
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn query(&mut self, params: impl Params) -> Result<Rows> {
        let out = self.db.run(&mut self.compiled, params.into_values())?;
        if let Some(p) = self.compiled.last_plan() {
            // A replan after a schema change may have changed the columns.
            self.columns.clone_from(&p.columns);
        }
        Ok(Rows::new(out.columns, out.rows))
    }

    /// Run it and convert the first row with `f`; no row is
    /// [`Error::NoRows`].
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// let mut q = db.prepare("SELECT 'x' WHERE ? > 0")?;
    /// assert_eq!(q.query_row([1], |r| r.get::<String>(0))?, "x");
    /// assert!(matches!(q.query_row([0], |r| r.get::<String>(0)), Err(waldb::Error::NoRows)));
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn query_row<T>(&mut self, params: impl Params, f: impl FnOnce(&Row) -> Result<T>) -> Result<T> {
        let rows = self.query(params)?;
        match rows.get(0) {
            Some(r) => f(r),
            None => Err(Error::NoRows),
        }
    }
}
