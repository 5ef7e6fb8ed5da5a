//! Write transactions: page access that remembers before-images, commit
//! that logs the changes, rollback that restores them.
//!
//! # Life of a commit
//!
//! 1. Every page the transaction writes is marked *uncommitted* in the pool
//!    (never evicted, never written: no steal, `docs/DESIGN.md` invariant 3) and its
//!    before-image kept — or noted as new, if it was allocated past the end.
//! 2. `commit` appends `BEGIN`; then per page, in page order, either a
//!    `FULL_PAGE_IMAGE` (the page's LSN is below the current checkpoint's
//!    redo point, or it is new: `docs/DESIGN.md` invariant 5) or a `PAGE_CHANGE` with the
//!    ranges that differ from the before-image; each page's LSN becomes its
//!    record's LSN. Then `COMMIT`.
//! 3. The pages are marked committed — from here the WAL rule guards their
//!    write-back — and the locks are released.
//! 4. The caller waits for the group flush that makes `COMMIT` durable
//!    ([`PendingCommit::wait`]); only then is the commit acknowledged
//!    (`docs/DESIGN.md` invariant 2).
//!
//! If an append fails half-way (a full disk at a segment switch, a poisoned
//! log), the pages are restored from their before-images and `ABORT` is
//! logged if possible: the records already in the log have no `COMMIT`, so
//! recovery ignores them.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use parking_lot::{ArcMutexGuard, ArcRwLockWriteGuard, RawMutex, RawRwLock};

use crate::buffer::PageMut;
use crate::buffer::PageRef;
use crate::error::{Error, Result};
use crate::ids::{Lsn, PageId, TxnId};
use crate::storage::PageStore;
use crate::storage::page::{page_lsn, set_page_lsn};
use crate::wal::{CommitIntent, RecordType};

use super::engine::Engine;
use super::log::{diff, encode_full_page, encode_page_change};

/// What a transaction must restore a page to on rollback.
#[derive(Debug)]
enum Undo {
    /// The page's image before the transaction first wrote it, and whether
    /// it was dirty then (a page the transaction leaves unchanged must not
    /// become dirty: written back without a logged change, a torn write of
    /// it could not be repaired).
    Page(Box<[u8]>, bool),
    /// The page did not exist (allocated past the end of the file).
    New,
}

/// A write transaction. Dropping it without committing rolls it back.
pub struct WriteTxn {
    engine: Engine,
    txid: TxnId,
    /// The last commit appended when this transaction began: it may read
    /// that commit's changes before they are durable.
    reads_from: Lsn,
    undo: RefCell<BTreeMap<PageId, Undo>>,
    failed: Cell<bool>,
    failure: RefCell<Option<String>>,
    finished: bool,
    /// Pages first touched since the current statement began (statement
    /// rollback), when a statement is open.
    stmt: RefCell<Option<BTreeMap<PageId, StmtUndo>>>,
    /// Page buffers of finished statements' images, reused by the next
    /// statement (a bulk load runs one statement per row; allocating and
    /// freeing a page-sized buffer for each cost more than the copy).
    spare: RefCell<Vec<Box<[u8]>>>,
    _rw: Option<ArcRwLockWriteGuard<RawRwLock, ()>>,
    _writer: Option<ArcMutexGuard<RawMutex, ()>>,
    /// Announces this commit to flush leaders until its `COMMIT` is
    /// appended or it ends without one.
    intent: Option<CommitIntent>,
}

/// Page buffers kept for reuse by the next statement's images.
const MAX_SPARE_BUFFERS: usize = 16;

/// How a statement rollback restores a page.
#[derive(Debug)]
enum StmtUndo {
    /// Its image (and dirty flag) when the statement first wrote it.
    Copy(Box<[u8]>, bool),
    /// The transaction first wrote it during this statement: the
    /// transaction's own undo entry restores it.
    TxnFirst,
}

impl std::fmt::Debug for WriteTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WriteTxn({}, {} pages)", self.txid, self.undo.borrow().len())
    }
}

/// A commit whose record is in the log but may not be durable yet.
#[derive(Debug)]
#[must_use = "a commit is acknowledged only by wait()"]
pub struct PendingCommit {
    engine: Engine,
    lsn: Option<Lsn>,
    /// What the transaction read from (see [`WriteTxn::reads_from`]).
    reads_from: Lsn,
}

impl WriteTxn {
    pub(super) fn new(
        engine: &Engine,
        writer: ArcMutexGuard<RawMutex, ()>,
        rw: ArcRwLockWriteGuard<RawRwLock, ()>,
        txid: TxnId,
        intent: CommitIntent,
    ) -> WriteTxn {
        WriteTxn {
            reads_from: Lsn(engine.inner.last_commit.load(Ordering::Acquire)),
            engine: engine.clone(),
            stmt: RefCell::new(None),
            spare: RefCell::new(Vec::new()),
            txid,
            undo: RefCell::new(BTreeMap::new()),
            failed: Cell::new(false),
            failure: RefCell::new(None),
            finished: false,
            _rw: Some(rw),
            _writer: Some(writer),
            intent: Some(intent),
        }
    }

    /// The transaction's id.
    pub fn id(&self) -> TxnId {
        self.txid
    }

    /// The LSN of the last commit appended when this transaction began (zero:
    /// none since open). The transaction may see that commit's changes
    /// before they are durable; its own commit comes later in the log, so
    /// once that is durable so is everything it read.
    pub fn reads_from(&self) -> Lsn {
        self.reads_from
    }

    /// Wait until every commit this transaction could have read is durable.
    /// Call it before anything the transaction read leaves the engine
    /// without a commit of its own behind it: rows or counts returned inside
    /// an open transaction, an error, a commit that changed nothing. Waits in
    /// every durability mode: a reader is never shown what a crash can take
    /// back, as [`Engine::begin_read`] ensures for readers.
    pub fn make_reads_durable(&self) -> Result<()> {
        self.engine.make_durable(self.reads_from)
    }

    /// Pages written so far.
    pub fn pages_written(&self) -> usize {
        self.undo.borrow().len()
    }

    fn check(&self) -> Result<()> {
        if self.failed.get() {
            let reason = self.failure.borrow().clone().unwrap_or_default();
            return Err(crate::errinput!("transaction can only be rolled back: {reason}"));
        }
        Ok(())
    }

    /// Remember a failure that leaves the transaction unusable (but its
    /// rollback exact).
    fn fail(&self, e: Error) -> Error {
        if matches!(e, Error::BufferPoolFull { .. } | Error::Poisoned { .. } | Error::DiskFull { .. }) {
            self.failed.set(true);
            *self.failure.borrow_mut() = Some(e.to_string());
        }
        e
    }

    fn touch(&self, id: PageId, page: &mut PageMut, new: bool) {
        if let Some(stmt) = self.stmt.borrow_mut().as_mut()
            && !stmt.contains_key(&id)
        {
            let entry = if self.undo.borrow().contains_key(&id) {
                let img = match self.spare.borrow_mut().pop() {
                    Some(mut buf) if buf.len() == page.len() => {
                        buf.copy_from_slice(page);
                        buf
                    }
                    _ => page.to_vec().into_boxed_slice(),
                };
                StmtUndo::Copy(img, page.is_dirty())
            } else {
                StmtUndo::TxnFirst
            };
            stmt.insert(id, entry);
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = self.undo.borrow_mut().entry(id) {
            slot.insert(if new { Undo::New } else { Undo::Page(page.to_vec().into_boxed_slice(), page.is_dirty()) });
            page.set_uncommitted(true);
        }
        page.set_dirty(true);
    }

    /// Log the changes and append `COMMIT`, then release the locks. The
    /// commit is acknowledged only by [`PendingCommit::wait`].
    pub fn commit_pending(mut self) -> Result<PendingCommit> {
        self.stmt.borrow_mut().take();
        self.check()?;
        let undo = std::mem::take(&mut *self.undo.borrow_mut());
        let reads_from = self.reads_from;
        if undo.is_empty() {
            self.finish();
            return Ok(PendingCommit { engine: self.engine.clone(), lsn: None, reads_from });
        }
        let logged = self.log_changes(&undo);
        // The COMMIT is in the log (or never will be): a leader need not
        // wait for this transaction any longer.
        self.intent.take();
        match logged {
            Ok(commit_lsn) => {
                let pool = self.engine.pool();
                for id in undo.keys() {
                    // The frames are uncommitted, so never evicted: a hit.
                    let mut page = pool.fetch_exclusive(*id)?;
                    // From here the page may be evicted, but not written
                    // before this COMMIT is durable: a group flush may have
                    // taken the page records without it (no steal).
                    page.set_commit_lsn(commit_lsn);
                    page.set_uncommitted(false);
                }
                let inner = &self.engine.inner;
                inner.last_commit.fetch_max(commit_lsn.0, Ordering::AcqRel);
                inner.commits.fetch_add(1, Ordering::Relaxed);
                self.finish();
                Ok(PendingCommit { engine: self.engine.clone(), lsn: Some(commit_lsn), reads_from })
            }
            Err(e) => {
                // Records without a COMMIT are ignored by recovery; restore
                // the pages and say so in the log if it still takes records.
                let _ = self.engine.wal().append(RecordType::Abort, self.txid, &[]);
                *self.undo.borrow_mut() = undo;
                self.rollback_in_place()?;
                Err(e)
            }
        }
    }

    /// Commit and wait until the commit is durable; returns its LSN (the
    /// durability receipt). A transaction that changed nothing waits until
    /// what it read is durable and returns the durable LSN.
    pub fn commit(self) -> Result<Lsn> {
        self.commit_pending()?.wait()
    }

    /// Append `BEGIN`, the page records and `COMMIT`; returns the commit LSN.
    fn log_changes(&self, undo: &BTreeMap<PageId, Undo>) -> Result<Lsn> {
        let wal = self.engine.wal();
        let pool = self.engine.pool();
        let redo = Lsn(self.engine.inner.redo_lsn.load(Ordering::Acquire));
        let page_size = self.engine.page_size();
        wal.append(RecordType::Begin, self.txid, &[])?;
        for (id, before) in undo {
            let mut page = pool.fetch_exclusive(*id)?;
            let ranges = match before {
                Undo::New => None,
                Undo::Page(before, was_dirty) => {
                    let ranges = diff(before, &page);
                    if ranges.is_empty() {
                        // Touched but unchanged: nothing to log, nothing to
                        // write back.
                        page.set_dirty(*was_dirty);
                        continue;
                    }
                    Some(ranges)
                }
            };
            let (kind, payload) = match ranges {
                // New, or first change since the checkpoint's redo point:
                // the whole image (`docs/DESIGN.md` invariant 5).
                None => (RecordType::FullPageImage, encode_full_page(*id, &page)),
                Some(_) if page_lsn(&page) < redo => (RecordType::FullPageImage, encode_full_page(*id, &page)),
                Some(ranges) => {
                    let p = encode_page_change(*id, &page, &ranges);
                    if p.len() > page_size / 2 {
                        (RecordType::FullPageImage, encode_full_page(*id, &page))
                    } else {
                        (RecordType::PageChange, p)
                    }
                }
            };
            let lsn = wal.append(kind, self.txid, &payload)?;
            set_page_lsn(&mut page, lsn);
        }
        wal.append(RecordType::Commit, self.txid, &[])
    }

    /// The engine it writes.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Start a statement: from here, [`WriteTxn::rollback_statement`]
    /// undoes exactly the changes made since (SQL's statement atomicity
    /// inside a transaction).
    pub fn begin_statement(&self) {
        *self.stmt.borrow_mut() = Some(BTreeMap::new());
    }

    /// Whether a statement savepoint is open.
    pub fn in_statement(&self) -> bool {
        self.stmt.borrow().is_some()
    }

    /// End the statement, keeping its changes.
    pub fn end_statement(&self) {
        if let Some(stmt) = self.stmt.borrow_mut().take() {
            let mut spare = self.spare.borrow_mut();
            for u in stmt.into_values() {
                if let StmtUndo::Copy(buf, _) = u
                    && spare.len() < MAX_SPARE_BUFFERS
                {
                    spare.push(buf);
                }
            }
        }
    }

    /// Undo the changes of the current statement (in memory), keeping the
    /// transaction's earlier ones.
    pub fn rollback_statement(&self) -> Result<()> {
        let Some(stmt) = self.stmt.borrow_mut().take() else { return Ok(()) };
        let pool = self.engine.pool();
        for (id, u) in stmt {
            match u {
                StmtUndo::Copy(img, dirty) => {
                    let mut p = pool.fetch_exclusive(id)?;
                    p.copy_from_slice(&img);
                    p.set_dirty(dirty);
                }
                StmtUndo::TxnFirst => match self.undo.borrow_mut().remove(&id) {
                    Some(Undo::Page(img, was_dirty)) => {
                        let mut p = pool.fetch_exclusive(id)?;
                        p.copy_from_slice(&img);
                        p.set_uncommitted(false);
                        p.set_dirty(was_dirty);
                    }
                    Some(Undo::New) => pool.discard(id)?,
                    None => {}
                },
            }
        }
        Ok(())
    }

    /// Undo every change in memory: no I/O.
    pub fn rollback(mut self) -> Result<()> {
        self.rollback_in_place()
    }

    fn rollback_in_place(&mut self) -> Result<()> {
        let undo = std::mem::take(&mut *self.undo.borrow_mut());
        let pool = self.engine.pool();
        let mut result = Ok(());
        for (id, before) in undo {
            let r = match before {
                Undo::Page(img, was_dirty) => pool.fetch_exclusive(id).map(|mut p| {
                    p.copy_from_slice(&img);
                    p.set_uncommitted(false);
                    p.set_dirty(was_dirty);
                }),
                Undo::New => pool.discard(id),
            };
            if let Err(e) = r {
                result = Err(e);
            }
        }
        if !self.finished {
            self.engine.inner.aborts.fetch_add(1, Ordering::Relaxed);
        }
        self.finish();
        result
    }

    fn finish(&mut self) {
        self.finished = true;
        self._rw.take();
        self._writer.take();
        self.intent.take();
    }
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        if !self.finished
            && let Err(e) = self.rollback_in_place()
        {
            log::error!("rollback of transaction {} failed: {e}", self.txid);
        }
    }
}

impl PendingCommit {
    /// The commit's LSN (`None` for a transaction that changed nothing).
    pub fn lsn(&self) -> Option<Lsn> {
        self.lsn
    }

    /// Wait until the commit is durable (in the configured durability mode)
    /// and return its LSN.
    pub fn wait(self) -> Result<Lsn> {
        let Some(lsn) = self.lsn else {
            self.engine.make_durable(self.reads_from)?;
            return Ok(self.engine.durable_lsn());
        };
        self.engine.wal().commit(lsn)?;
        self.engine.maybe_checkpoint();
        Ok(lsn)
    }
}

impl PageStore for WriteTxn {
    type Read<'a>
        = PageRef<'a>
    where
        Self: 'a;
    type Write<'a>
        = PageMut<'a>
    where
        Self: 'a;

    fn page_size(&self) -> usize {
        self.engine.page_size()
    }

    fn read(&self, id: PageId) -> Result<PageRef<'_>> {
        self.check()?;
        self.engine.pool().fetch(id).map_err(|e| self.fail(e))
    }

    fn write(&self, id: PageId) -> Result<PageMut<'_>> {
        self.check()?;
        let mut p = self.engine.pool().fetch_exclusive(id).map_err(|e| self.fail(e))?;
        self.touch(id, &mut p, false);
        Ok(p)
    }

    fn write_new(&self, id: PageId) -> Result<PageMut<'_>> {
        self.check()?;
        let mut p = self.engine.pool().fetch_new(id).map_err(|e| self.fail(e))?;
        self.touch(id, &mut p, true);
        Ok(p)
    }

    fn corrupt(&self, page: PageId, reason: String) -> Error {
        self.engine.pool().corrupt(page, reason)
    }
}
