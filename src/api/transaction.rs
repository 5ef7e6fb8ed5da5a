//! [`Transaction`]: an explicit transaction on a [`Database`] handle, rolled
//! back unless committed.

use std::ops::Deref;

use crate::error::{Error, Result};
use crate::ids::Lsn;
use crate::sql::ast::Statement as Ast;

use super::database::{Compiled, Database};

/// An open transaction, made by [`Database::transaction`]. It derefs to the
/// [`Database`], so `execute`, `query` and `prepare` work on it and run
/// inside it. Dropping it without [`commit`](Transaction::commit) rolls it
/// back.
///
/// A statement that fails a check (a constraint, a type, bad SQL) leaves no
/// trace and the transaction goes on. A statement that fails on storage
/// after it began writing — the buffer pool full of this transaction's
/// changes, an I/O error — ends the transaction, rolled back, as in SQLite;
/// [`Database::in_transaction`] then says `false` and `commit` fails.
///
/// ```
/// let db = waldb::Database::open_in_memory()?;
/// db.execute("CREATE TABLE t(x INTEGER UNIQUE)", ())?;
/// {
///     let tx = db.transaction()?;
///     tx.execute("INSERT INTO t VALUES (1)", ())?;
///     // A failing statement leaves no trace; the transaction goes on.
///     assert!(tx.execute("INSERT INTO t VALUES (2), (1)", ()).is_err());
///     tx.execute("INSERT INTO t VALUES (3)", ())?;
/// } // dropped: rolled back
/// assert_eq!(db.query_row("SELECT count(*) FROM t", (), |r| r.get::<i64>(0))?, 0);
/// # Ok::<(), waldb::Error>(())
/// ```
#[derive(Debug)]
pub struct Transaction<'db> {
    db: &'db Database,
    done: bool,
}

impl<'db> Transaction<'db> {
    pub(crate) fn new(db: &'db Database) -> Transaction<'db> {
        Transaction { db, done: false }
    }

    /// Commit, and wait until the commit is durable; returns its LSN.
    pub fn commit(mut self) -> Result<Lsn> {
        self.done = true;
        let out = self.db.run(&mut Compiled::new(Ast::Commit), Vec::new())?;
        out.commit_lsn.ok_or_else(|| Error::Sql("commit produced no LSN".into()))
    }

    /// Undo everything the transaction did.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.db.run(&mut Compiled::new(Ast::Rollback), Vec::new()).map(|_| ())
    }
}

impl Deref for Transaction<'_> {
    type Target = Database;
    fn deref(&self) -> &Database {
        self.db
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done
            && self.db.in_transaction()
            && let Err(e) = self.db.run(&mut Compiled::new(Ast::Rollback), Vec::new())
        {
            log::warn!("rolling back a dropped transaction: {e}");
        }
    }
}
