//! [`Database`]: the handle an application holds, and how it runs a
//! statement — in the handle's open transaction, or in a transaction of its
//! own (autocommit) that is durable before the call returns.
//!
//! # Sessions
//!
//! Clones of a `Database` share the open database (pages, log, group
//! commit), but each clone has its own session: a `BEGIN` on one clone
//! opens a transaction for that clone only. One write transaction runs at a
//! time; a second writer — or a reader, while a write transaction is open —
//! waits for it to finish. Two handles on the same thread must therefore not
//! hold a transaction open while the other waits on it.
//!
//! A session's open transaction belongs to the thread that began it. A
//! statement run through the same handle from another thread fails with
//! [`Error::Sql`] instead of silently joining that transaction (and
//! returning before anything is durable); give each thread its own clone.
//! `ROLLBACK` (and so dropping a [`Transaction`]) works from any thread.
//!
//! # What a statement may show
//!
//! Nothing a statement returns or decides depends on a commit that a crash
//! can still take back — in every durability mode. Readers wait until the
//! last commit is durable; a statement inside a write transaction waits
//! until every commit the transaction could see is durable before it
//! returns its rows, its count or its error. (With
//! [`Durability::Normal`] or [`Durability::Off`] a commit itself may be lost
//! to power loss — but never after another statement was shown its data.)
//!
//! # Dropping the last handle
//!
//! rolls back the handle's open transaction, if any, then checkpoints and
//! closes the database — also when a panic unwinds through it.
//!
//! # Catalog caching
//!
//! The catalog is rebuilt from the schema table only when the schema cookie
//! in the file header changes. A cached catalog is always a committed one;
//! a transaction that changes the schema uses its own copy until it
//! commits. Prepared statements keep the catalog they were planned against
//! and replan when it is not the current one.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::ids::Lsn;
use crate::io::{OsVfs, SimVfs, Vfs};
use crate::sql::ast::{OnConflict, Statement as Ast};
use crate::sql::catalog::{self, Catalog};
use crate::sql::exec::{Ctx, collect};
use crate::sql::pragma::{self, Pragma};
use crate::sql::prepare::{Action, Prepared, prepare};
use crate::sql::{ddl, dml, explain, parse};
use crate::storage::PageStore;
use crate::txn::{CheckpointReport, Engine, EngineOptions, EngineStats, RecoveryReport, WriteTxn};
use crate::value::Value;
use crate::wal::{Durability, WalOptions};

use super::params::Params;
use super::row::{Row, Rows};
use super::statement::Statement;
use super::transaction::Transaction;

/// Settings for [`Database::open_with`]. `Options::default()` is what
/// [`Database::open`] uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Buffer pool size in bytes (default 64 MiB).
    pub pool_bytes: usize,
    /// How far the pool may grow to hold one large transaction's
    /// uncommitted pages (default 512 MiB); past it the transaction fails
    /// with [`Error::BufferPoolFull`] and is rolled back.
    pub pool_cap_bytes: usize,
    /// Size of each WAL segment file (default 16 MiB).
    pub wal_segment_size: u64,
    /// Checkpoint once this much log has been written since the last one
    /// (default 64 MiB; `None`: only [`Database::checkpoint`] and close).
    pub checkpoint_bytes: Option<u64>,
    /// When commits are durable (default [`Durability::Full`]: before
    /// `commit` returns).
    pub durability: Durability,
    /// How long a group-commit leader waits for more committers before its
    /// fsync (default 0, like PostgreSQL's `commit_delay`).
    pub commit_delay: Duration,
    /// Page size of a new database in bytes (default 4096; a power of two
    /// from 512 to 32768, at least the storage's sector size).
    pub page_size: usize,
    /// Open without writing anything (default `false`); see
    /// [`Options::read_only`].
    pub read_only: bool,
}

impl Default for Options {
    fn default() -> Options {
        let e = EngineOptions::default();
        Options {
            pool_bytes: e.pool_bytes,
            pool_cap_bytes: e.pool_cap_bytes,
            wal_segment_size: e.wal.segment_size,
            checkpoint_bytes: e.checkpoint_bytes,
            durability: e.wal.durability,
            commit_delay: e.wal.commit_delay,
            page_size: e.page_size,
            read_only: e.read_only,
        }
    }
}

impl Options {
    /// These options, opening read-only (`true`) or read-write.
    ///
    /// A read-only open writes nothing to any file: no checkpoint, no new
    /// control file, no WAL segment prepared or recycled, no lock file
    /// created (it takes a shared lock on the data file, which needs no
    /// write permission). It works on files in a directory or mount the
    /// process may not write. The database must exist. Statements that would
    /// change it, `BEGIN` and [`Database::checkpoint`] fail with
    /// [`Error::ReadOnly`]. If the database was not closed cleanly, its log
    /// is replayed in memory only (the files keep needing recovery, which
    /// the next read-write open does). Read-only opens of one database
    /// coexist; a read-write open alongside one gets [`Error::Locked`].
    ///
    /// ```
    /// use waldb::{Database, Error, Options};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.db");
    /// Database::open(&path)?.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")?;
    /// let db = Database::open_with(&path, Options::default().read_only(true))?;
    /// assert_eq!(db.query_row("SELECT count(*) FROM t", (), |r| r.get::<i64>(0))?, 1);
    /// assert!(matches!(db.execute("INSERT INTO t VALUES (2)", ()), Err(Error::ReadOnly(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_only(mut self, read_only: bool) -> Options {
        self.read_only = read_only;
        self
    }

    /// The engine settings these options stand for (public only with the
    /// `unstable` feature).
    #[cfg(feature = "unstable")]
    pub fn engine_options(&self) -> EngineOptions {
        self.to_engine()
    }

    pub(crate) fn to_engine(&self) -> EngineOptions {
        let d = EngineOptions::default();
        EngineOptions {
            page_size: self.page_size,
            pool_bytes: self.pool_bytes,
            pool_cap_bytes: self.pool_cap_bytes.max(self.pool_bytes),
            wal: WalOptions {
                segment_size: self.wal_segment_size,
                durability: self.durability,
                commit_delay: self.commit_delay,
                ..d.wal
            },
            checkpoint_bytes: self.checkpoint_bytes,
            read_only: self.read_only,
            ..d
        }
    }
}

/// What running one statement produced.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Column names, when it returns rows.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
    /// Rows inserted, updated or deleted.
    pub changes: usize,
    /// The LSN of the commit it made durable, if it committed.
    pub commit_lsn: Option<Lsn>,
    /// Whether it changed the schema.
    schema_changed: bool,
}

/// A statement's syntax tree with its plan, kept across executions.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub stmt: Ast,
    plan: Option<(Arc<Catalog>, Arc<Prepared>)>,
}

impl Compiled {
    pub(crate) fn new(stmt: Ast) -> Compiled {
        Compiled { stmt, plan: None }
    }

    /// The plan for `catalog`, reusing the last one if it was made for it.
    fn plan_for(&mut self, catalog: &Arc<Catalog>) -> Result<Arc<Prepared>> {
        if let Some((c, p)) = &self.plan
            && Arc::ptr_eq(c, catalog)
        {
            return Ok(p.clone());
        }
        let p = Arc::new(prepare(&self.stmt, catalog)?);
        self.plan = Some((catalog.clone(), p.clone()));
        Ok(p)
    }

    /// The plan made last, if any.
    pub(crate) fn last_plan(&self) -> Option<&Arc<Prepared>> {
        self.plan.as_ref().map(|(_, p)| p)
    }
}

struct Shared {
    engine: Engine,
    /// The committed catalog and the schema cookie it was read at.
    catalog: Mutex<Option<(u32, Arc<Catalog>)>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle is gone: checkpoint and close. Committed data is
        // in the log either way; an error here loses nothing.
        if let Err(e) = self.engine.close() {
            log::warn!("closing {}: {e}", self.engine.path().display());
        }
    }
}

/// The transaction a session holds open between `BEGIN` and `COMMIT`.
struct OpenTxn {
    w: WriteTxn,
    /// The thread that began it: the only one whose statements join it.
    thread: std::thread::ThreadId,
    /// The catalog as this transaction sees it, with its schema cookie,
    /// once it changed the schema.
    catalog: Option<(u32, Arc<Catalog>)>,
}

#[derive(Default)]
struct Session {
    txn: Option<OpenTxn>,
    last_commit: Option<Lsn>,
}

impl Session {
    /// Fail if the open transaction was begun on another thread (module doc:
    /// sessions).
    fn check_owner(&self) -> Result<()> {
        match &self.txn {
            Some(t) if t.thread != std::thread::current().id() => Err(Error::Sql(
                "this handle's transaction was begun on another thread; give each thread its own clone of the \
                 Database (a session) instead of sharing one"
                    .into(),
            )),
            _ => Ok(()),
        }
    }
}

/// An open database.
///
/// ```
/// use waldb::Database;
/// let db = Database::open_in_memory()?;
/// db.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL)", ())?;
/// db.execute("INSERT INTO users(name) VALUES (?)", ("ada",))?;
/// let name: String = db.query_row("SELECT name FROM users WHERE id = 1", (), |r| r.get(0))?;
/// assert_eq!(name, "ada");
/// # Ok::<(), waldb::Error>(())
/// ```
///
/// A `Database` is a cheap `Clone + Send + Sync` handle: threads share
/// the database through clones, and their commits share group flushes. Each
/// clone has its own transaction state (see the module docs).
pub struct Database {
    // Fields drop in order: the session (and its open transaction, which
    // rolls back) before the shared state, whose last drop closes the
    // engine — closing waits for the writer, so an open transaction dropped
    // after it would wait forever.
    session: Mutex<Session>,
    shared: Arc<Shared>,
}

impl Clone for Database {
    /// Another handle on the same database, with its own session.
    fn clone(&self) -> Database {
        Database { shared: self.shared.clone(), session: Mutex::new(Session::default()) }
    }
}

impl Drop for Database {
    /// Rolls back this handle's open transaction before the shared state
    /// (and, for the last handle, the engine) is released: the engine's
    /// close waits for the writer lock that transaction holds.
    fn drop(&mut self) {
        self.end_session();
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("path", &self.shared.engine.path()).finish()
    }
}

fn single(sql: &str) -> Result<Ast> {
    let mut v = parse::parse(sql)?;
    match v.len() {
        1 => Ok(v.remove(0)),
        0 => Err(Error::InvalidInput("no statement in the SQL text".into())),
        n => Err(Error::InvalidInput(format!(
            "{n} statements in the SQL text; prepare and execute take one (execute_batch runs several)"
        ))),
    }
}

impl Database {
    /// Open the database file at `path` with default [`Options`], creating
    /// it if it does not exist and recovering it if it was not closed.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = waldb::Database::open(dir.path().join("app.db"))?;
    /// db.execute("CREATE TABLE t(x)", ())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, Options::default())
    }

    /// Open with explicit settings.
    ///
    /// ```
    /// use waldb::{Database, Options};
    /// let dir = tempfile::tempdir()?;
    /// let opts = Options { pool_bytes: 8 << 20, checkpoint_bytes: Some(16 << 20), ..Options::default() };
    /// let db = Database::open_with(dir.path().join("app.db"), opts)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, opts: Options) -> Result<Database> {
        Database::open_on(Arc::new(OsVfs::new()), path.as_ref(), opts)
    }

    /// A new database in memory, on the simulated file system (tests,
    /// demos). It disappears when the last handle is dropped.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// assert_eq!(db.query_row("SELECT 1 + 1", (), |r| r.get::<i64>(0))?, 2);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn open_in_memory() -> Result<Database> {
        Database::open_on(Arc::new(SimVfs::new(0)), Path::new("memory.db"), Options::default())
    }

    /// Open on any [`Vfs`] (the crash simulator uses a `SimVfs`).
    pub fn open_on(vfs: Arc<dyn Vfs>, path: &Path, opts: Options) -> Result<Database> {
        Database::on_engine(vfs, path, opts.to_engine())
    }

    /// Open on any [`Vfs`] with engine-level settings, which [`Options`]
    /// does not all expose — e.g. `wal.background = false`, so that every
    /// I/O call happens on the caller's thread in a fixed order, as the
    /// fault-injection suites need to name the Nth call. Only with the
    /// `unstable` feature.
    #[cfg(feature = "unstable")]
    pub fn open_on_engine(vfs: Arc<dyn Vfs>, path: &Path, opts: EngineOptions) -> Result<Database> {
        Database::on_engine(vfs, path, opts)
    }

    fn on_engine(vfs: Arc<dyn Vfs>, path: &Path, opts: EngineOptions) -> Result<Database> {
        let engine = Engine::open(vfs, path, opts)?;
        let db = Database {
            shared: Arc::new(Shared { engine, catalog: Mutex::new(None) }),
            session: Mutex::new(Session::default()),
        };
        db.ensure_schema_table()?;
        Ok(db)
    }

    /// Create the schema table in a database that has none (a new file).
    fn ensure_schema_table(&self) -> Result<()> {
        let has = {
            let r = self.shared.engine.begin_read()?;
            catalog::schema(&r)?.is_some()
        };
        if !has {
            if self.shared.engine.is_read_only() {
                return Err(Error::ReadOnly(format!(
                    "{} has no schema table yet (its first session never committed); open it read-write once",
                    self.path().display()
                )));
            }
            let w = self.shared.engine.begin_write()?;
            if catalog::schema(&w)?.is_none() {
                catalog::create_schema(&w)?;
            }
            w.commit()?;
        }
        Ok(())
    }

    /// The engine underneath, for the workspace's tests and tools. Only
    /// with the `unstable` feature: its buffer pool, data file and log can
    /// write pages without logging them.
    #[cfg(feature = "unstable")]
    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// The engine underneath.
    #[cfg(not(feature = "unstable"))]
    pub(crate) fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        self.shared.engine.path()
    }

    /// Run one statement; returns the number of rows it inserted, updated
    /// or deleted (0 for other statements). Outside a transaction the
    /// change is durable when this returns.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// db.execute("CREATE TABLE t(a INTEGER, b TEXT)", ())?;
    /// assert_eq!(db.execute("INSERT INTO t VALUES (?1, ?2), (?1 + 1, ?2)", (1, "x"))?, 2);
    /// assert_eq!(db.execute("UPDATE t SET b = 'y' WHERE a > ?", [1])?, 1);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        let mut c = Compiled::new(single(sql)?);
        Ok(self.run(&mut c, params.into_values())?.changes)
    }

    /// Run every statement in `sql`, in order, without parameters; stops at
    /// the first error (statements before it keep their effect).
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// db.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")?;
    /// assert_eq!(db.query_row("SELECT sum(x) FROM t", (), |r| r.get::<i64>(0))?, 3);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        for stmt in parse::parse(sql)? {
            self.run(&mut Compiled::new(stmt), Vec::new())?;
        }
        Ok(())
    }

    /// Run a query and return its rows and column names.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// let rows = db.query("SELECT 1 AS one, 'two' AS two", ())?;
    /// assert_eq!(rows.columns(), ["one", "two"]);
    /// assert_eq!(rows.get(0).map(|r| r.get::<String>("two")).transpose()?, Some("two".into()));
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn query(&self, sql: &str, params: impl Params) -> Result<Rows> {
        let mut c = Compiled::new(single(sql)?);
        let out = self.run(&mut c, params.into_values())?;
        Ok(Rows::new(out.columns, out.rows))
    }

    /// Run a query and convert its first row with `f`; no row is
    /// [`Error::NoRows`].
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// let n: i64 = db.query_row("SELECT ? * 2", [21], |r| r.get(0))?;
    /// assert_eq!(n, 42);
    /// assert!(matches!(db.query_row("SELECT 1 WHERE 0", (), |r| r.get::<i64>(0)), Err(waldb::Error::NoRows)));
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn query_row<T>(&self, sql: &str, params: impl Params, f: impl FnOnce(&Row) -> Result<T>) -> Result<T> {
        let rows = self.query(sql, params)?;
        match rows.get(0) {
            Some(r) => f(r),
            None => Err(Error::NoRows),
        }
    }

    /// Parse and plan a statement once, to run it many times.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ())?;
    /// let tx = db.transaction()?;
    /// let mut insert = tx.prepare("INSERT INTO t(v) VALUES (?)")?;
    /// for v in ["a", "b", "c"] {
    ///     insert.execute([v])?;
    /// }
    /// drop(insert);
    /// tx.commit()?;
    /// assert_eq!(db.query_row("SELECT count(*) FROM t", (), |r| r.get::<i64>(0))?, 3);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        let mut c = Compiled::new(single(sql)?);
        let (columns, params) = self.plan_now(&mut c)?;
        Ok(Statement::new(self, sql, c, columns, params))
    }

    /// Begin a transaction on this handle: statements through it (or this
    /// handle) run inside it until [`Transaction::commit`]; dropping it
    /// rolls back.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// db.execute("CREATE TABLE t(x)", ())?;
    /// let tx = db.transaction()?;
    /// tx.execute("INSERT INTO t VALUES (1)", ())?;
    /// let lsn = tx.commit()?; // durable from here on
    /// assert!(db.durable_lsn() >= lsn);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn transaction(&self) -> Result<Transaction<'_>> {
        self.run(&mut Compiled::new(Ast::Begin), Vec::new())?;
        Ok(Transaction::new(self))
    }

    /// Whether this handle has a transaction open.
    pub fn in_transaction(&self) -> bool {
        self.session.lock().txn.is_some()
    }

    /// Write every committed page to the data file and recycle the log
    /// before it.
    pub fn checkpoint(&self) -> Result<CheckpointReport> {
        self.shared.engine.checkpoint()
    }

    /// Counters: commits, group flushes, pool hits.
    pub fn stats(&self) -> EngineStats {
        self.shared.engine.stats()
    }

    /// When commits are durable: the [`Options::durability`] the database
    /// was opened with.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// assert_eq!(db.durability(), waldb::Durability::Full);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn durability(&self) -> Durability {
        self.shared.engine.options().wal.durability
    }

    /// Pages of the buffer pool changed since they were last written to the
    /// data file: what a [`checkpoint`](Database::checkpoint) now would
    /// write, plus the pages of a transaction still open. It looks at every
    /// frame of the pool, so it costs more than [`stats`](Database::stats).
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// db.execute("CREATE TABLE t(x)", ())?;
    /// assert!(db.dirty_pages() > 0);
    /// db.checkpoint()?;
    /// assert_eq!(db.dirty_pages(), 0);
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn dirty_pages(&self) -> usize {
        self.shared.engine.pool().dirty_count()
    }

    /// What recovery did when the database was opened.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.shared.engine.recovery_report()
    }

    /// Everything in the log up to this LSN is on stable storage.
    pub fn durable_lsn(&self) -> Lsn {
        self.shared.engine.durable_lsn()
    }

    /// The commit LSN of this handle's last commit.
    pub fn last_commit_lsn(&self) -> Option<Lsn> {
        self.session.lock().last_commit
    }

    /// Roll back this handle's open transaction, if any, and close the
    /// database for every handle: checkpoint, flush, release the lock.
    pub fn close(self) -> Result<()> {
        if let Some(t) = self.session.lock().txn.take() {
            t.w.rollback()?;
        }
        self.shared.engine.close()
    }

    /// Roll back this handle's open transaction, if any (dropping a handle).
    fn end_session(&self) {
        let open = self.session.lock().txn.take();
        if let Some(t) = open
            && let Err(e) = t.w.rollback()
        {
            log::warn!("rolling back the open transaction of {}: {e}", self.path().display());
        }
    }

    /// The current catalog as `s` sees it (committed state).
    fn catalog_for<S: PageStore>(&self, s: &S) -> Result<Arc<Catalog>> {
        let cookie = ddl::schema_cookie(s)?;
        let mut cache = self.shared.catalog.lock();
        if let Some((c, cat)) = &*cache
            && *c == cookie
        {
            return Ok(cat.clone());
        }
        let cat = Arc::new(Catalog::load(s)?);
        *cache = Some((cookie, cat.clone()));
        Ok(cat)
    }

    /// Plan `c` now (to report errors at prepare time); returns its column
    /// names and parameter count.
    pub(crate) fn plan_now(&self, c: &mut Compiled) -> Result<(Vec<String>, usize)> {
        if matches!(c.stmt, Ast::Begin | Ast::Commit | Ast::Rollback) {
            return Ok((Vec::new(), 0));
        }
        let session = self.session.lock();
        session.check_owner()?;
        let p = match &session.txn {
            Some(t) => {
                let cat = match &t.catalog {
                    Some((_, cat)) => cat.clone(),
                    None => self.catalog_for(&t.w)?,
                };
                c.plan_for(&cat)?
            }
            None => {
                let r = self.shared.engine.begin_read()?;
                let cat = self.catalog_for(&r)?;
                c.plan_for(&cat)?
            }
        };
        Ok((p.columns.clone(), p.params))
    }

    /// Run a statement in this handle's session.
    pub(crate) fn run(&self, c: &mut Compiled, params: Vec<Value>) -> Result<Outcome> {
        let mut session = self.session.lock();
        match c.stmt {
            Ast::Begin => {
                if session.txn.is_some() {
                    return Err(Error::Sql("cannot start a transaction within a transaction".into()));
                }
                let w = self.shared.engine.begin_write()?;
                session.txn = Some(OpenTxn { w, thread: std::thread::current().id(), catalog: None });
                return Ok(Outcome::default());
            }
            Ast::Commit => {
                session.check_owner()?;
                let t =
                    session.txn.take().ok_or_else(|| Error::Sql("cannot commit - no transaction is active".into()))?;
                let lsn = t.w.commit()?;
                if let Some(cat) = t.catalog {
                    *self.shared.catalog.lock() = Some(cat);
                }
                session.last_commit = Some(lsn);
                return Ok(Outcome { commit_lsn: Some(lsn), ..Outcome::default() });
            }
            Ast::Rollback => {
                let t = session
                    .txn
                    .take()
                    .ok_or_else(|| Error::Sql("cannot rollback - no transaction is active".into()))?;
                t.w.rollback()?;
                return Ok(Outcome::default());
            }
            _ => {}
        }
        session.check_owner()?;
        if let Some(t) = session.txn.as_mut() {
            let mut violation = OnConflict::Abort;
            let result = self.run_in_txn(t, c, &params, &mut violation);
            // Rows, counts and errors may depend on commits the transaction
            // read before they were durable (module doc).
            let result = match t.w.make_reads_durable() {
                Ok(()) => result,
                Err(e) => Err(e),
            };
            return match result {
                Ok(out) => Ok(out),
                Err(e) if violation == OnConflict::Rollback && matches!(e, Error::Constraint { .. }) => {
                    // `INSERT OR ROLLBACK`: the whole transaction goes.
                    if let Some(t) = session.txn.take()
                        && let Err(re) = t.w.rollback()
                    {
                        log::warn!("rolling back after {e} (OR ROLLBACK): {re}");
                    }
                    Err(e)
                }
                Err(e) => {
                    // A statement that cannot be undone on its own ends the
                    // transaction (rolled back when dropped): one whose
                    // savepoint cannot be restored, or one run without a
                    // savepoint that failed for a reason other than a check
                    // made before its first write (a storage error).
                    let undone =
                        if t.w.in_statement() { t.w.rollback_statement().is_ok() } else { raised_before_writing(&e) };
                    if !undone || e.is_poisoned() {
                        session.txn = None;
                    }
                    Err(e)
                }
            };
        }
        drop(session);
        let read_only = match &c.stmt {
            Ast::Query(_) | Ast::Explain(_) => true,
            Ast::Pragma { name, value, assign } => {
                !Pragma { name: name.clone(), value: value.clone(), assign: *assign }.writes()
            }
            _ => false,
        };
        if read_only {
            let r = self.shared.engine.begin_read()?;
            let cat = self.catalog_for(&r)?;
            let p = c.plan_for(&cat)?;
            return execute(&r, self.shared.engine.vfs().as_ref(), &p, &cat, &params, &mut OnConflict::Abort);
        }
        let w = self.shared.engine.begin_write()?;
        let mut violation = OnConflict::Abort;
        let mut run = || -> Result<_> {
            let cat = self.catalog_for(&w)?;
            let p = c.plan_for(&cat)?;
            let out = execute(&w, self.shared.engine.vfs().as_ref(), &p, &cat, &params, &mut violation)?;
            let new_catalog =
                if out.schema_changed { Some((ddl::schema_cookie(&w)?, Arc::new(Catalog::load(&w)?))) } else { None };
            Ok((out, new_catalog))
        };
        let (mut out, new_catalog) = match run() {
            Ok(done) => done,
            Err(e) => {
                // The error may have been decided on a commit that is not
                // durable yet (a UNIQUE violation, say): not before it is.
                w.make_reads_durable()?;
                if violation == OnConflict::Fail && matches!(e, Error::Constraint { .. }) {
                    // `INSERT OR FAIL` keeps the rows before the failing
                    // one: the statement is its own transaction, so they
                    // are committed.
                    let lsn = w.commit()?;
                    self.session.lock().last_commit = Some(lsn);
                }
                return Err(e);
            }
        };
        let lsn = w.commit()?;
        if let Some(cat) = new_catalog {
            *self.shared.catalog.lock() = Some(cat);
        }
        self.session.lock().last_commit = Some(lsn);
        out.commit_lsn = Some(lsn);
        Ok(out)
    }

    /// Run a statement inside the session's open transaction, as one
    /// atomic step (statement savepoint).
    /// `violation` is set to how the statement resolves a constraint
    /// violation ([`Prepared::on_violation`]); under `OR FAIL` the changes
    /// made before one are kept here.
    fn run_in_txn(
        &self,
        t: &mut OpenTxn,
        c: &mut Compiled,
        params: &[Value],
        violation: &mut OnConflict,
    ) -> Result<Outcome> {
        let cat = match &t.catalog {
            Some((_, cat)) => cat.clone(),
            None => self.catalog_for(&t.w)?,
        };
        let p = c.plan_for(&cat)?;
        let savepoint = p.needs_savepoint();
        if savepoint {
            t.w.begin_statement();
        }
        let out = match execute(&t.w, self.shared.engine.vfs().as_ref(), &p, &cat, params, violation) {
            Ok(out) => out,
            Err(e) => {
                if *violation == OnConflict::Fail && matches!(e, Error::Constraint { .. }) {
                    t.w.end_statement();
                }
                return Err(e);
            }
        };
        if savepoint {
            t.w.end_statement();
        }
        if out.schema_changed {
            t.catalog = Some((ddl::schema_cookie(&t.w)?, Arc::new(Catalog::load(&t.w)?)));
        }
        Ok(out)
    }
}

/// Whether `e` is one of the errors a statement without a savepoint
/// ([`Prepared::needs_savepoint`]) reports before it writes anything: a
/// violated constraint, a type, a malformed value or statement.
fn raised_before_writing(e: &Error) -> bool {
    matches!(
        e,
        Error::Constraint { .. }
            | Error::TypeMismatch(_)
            | Error::TooBig { .. }
            | Error::Sql(_)
            | Error::NotSupported(_)
            | Error::InvalidInput(_)
            | Error::Parse { .. }
            | Error::NoRows
    )
}

/// Run a planned statement against the pages of `s`.
/// `violation` is set to how a constraint violation it fails on resolves
/// ([`Prepared::on_violation`], or `Abort` for an upsert's failed update).
fn execute<S: PageStore>(
    s: &S,
    vfs: &dyn Vfs,
    p: &Prepared,
    cat: &Catalog,
    params: &[Value],
    violation: &mut OnConflict,
) -> Result<Outcome> {
    *violation = p.on_violation();
    if params.len() != p.params {
        return Err(Error::InvalidInput(format!(
            "the statement takes {} parameter{}, {} given",
            p.params,
            if p.params == 1 { "" } else { "s" },
            params.len()
        )));
    }
    let mut cx = Ctx::new(s, params, &p.subs).with_vfs(vfs);
    let mut out = Outcome::default();
    match &p.action {
        Action::Query(q) => {
            out.columns = p.columns.clone();
            out.rows = collect(&q.root, &mut cx)?;
        }
        Action::Insert(plan) => {
            out.columns = p.columns.clone();
            out.changes = dml::insert(plan, &mut cx, &mut out.rows, violation)?;
        }
        Action::Update(plan) => {
            out.columns = p.columns.clone();
            out.changes = dml::update(plan, &mut cx, &mut out.rows)?;
        }
        Action::Delete(plan) => {
            out.columns = p.columns.clone();
            out.changes = dml::delete(plan, &mut cx, &mut out.rows)?;
        }
        Action::Schema(stmt) => out.schema_changed = ddl::run(s, stmt, cat)?,
        Action::Pragma(pragma) => {
            out.columns = p.columns.clone();
            out.rows = if pragma.is_integrity_check() {
                // As SQLite does: one row per problem, or one "ok".
                let report = crate::inspect::check::check_store(s);
                let rows: Vec<Vec<Value>> = report.problems().map(|f| vec![Value::Text(f.message.clone())]).collect();
                if rows.is_empty() { vec![vec![Value::Text("ok".into())]] } else { rows }
            } else {
                pragma::run(s, pragma, cat)?
            };
        }
        Action::Explain(inner) => {
            out.columns = p.columns.clone();
            out.rows = explain::explain(inner, &p.subs).into_iter().map(|l| vec![Value::Text(l)]).collect();
        }
        Action::Begin | Action::Commit | Action::Rollback => {
            return Err(Error::Sql("transaction control inside a statement".into()));
        }
    }
    Ok(out)
}
