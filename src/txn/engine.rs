//! The engine: one open database — data file, buffer pool, WAL, control
//! file — with transactions, checkpoints and recovery on open.
//!
//! # Concurrency (`docs/DESIGN.md`)
//!
//! ```text
//!   writer: Mutex<()>   one write transaction or checkpoint at a time
//!   rw:     RwLock<()>  a write transaction holds it exclusively while it
//!                       changes pages; readers share it
//! ```
//!
//! A committing writer appends its records, releases both locks, and only
//! then waits for the group flush — the next writer runs meanwhile, and many
//! committers share one fdatasync. Nothing is shown that a crash could take
//! back, in any durability mode:
//!
//! - a reader that starts after a commit waits until that commit is durable
//!   before it reads;
//! - a writer may start before the last commit is durable (that is the
//!   point of early lock release), so it remembers the last commit it could
//!   see ([`WriteTxn::reads_from`]); its own commit is later in the log and
//!   covers it, and everything else it returns — rows, a count, an error, a
//!   commit that changed nothing — waits until that commit is durable
//!   ([`WriteTxn::make_reads_durable`]).
//!
//! Once the log or the data file has failed, neither readers nor writers
//! start (`Poisoned` until reopened).
//!
//! # Checkpoint (`docs/DESIGN.md` invariant 6, in this order)
//!
//! 1. the redo point is the log's next LSN; the full-page-image rule keys on
//!    it from now on (`docs/TESTING.md` §5.3: on the checkpoint's *start*);
//! 2. the log is made durable past every dirty page's LSN;
//! 3. every dirty page is written;
//! 4. the data file is fsynced;
//! 5. a CHECKPOINT record is appended and made durable;
//! 6. the control file is replaced (temp, fsync, rename, directory fsync);
//! 7. only then are segments wholly before the redo point released.
//!
//! Checkpoints hold the writer lock, so no transaction is half-done while
//! one runs and every dirty page it writes is committed.
//!
//! # Close
//!
//! A clean close checkpoints (if `checkpoint_on_close`) and flushes the
//! log — unless nothing changed since open or the last checkpoint (the
//! log's next LSN is where it was then and no page is dirty): then it does
//! no I/O at all, no sync, no CHECKPOINT record, no new control file.
//!
//! # Read-only opens ([`EngineOptions::read_only`])
//!
//! Everything goes through a [`ReadOnlyVfs`](crate::io::ReadOnlyVfs), so no
//! path can create, write, rename, remove or sync a directory, and files
//! open read-only (which works where the process may not write). The data
//! file is locked shared ([`Vfs::lock_shared`]): read-only opens coexist,
//! and a read-write open on either side gets [`Error::Locked`]. Recovery
//! runs in memory only (`super::recovery`); the log stands where it was read
//! ([`Wal::read_only`]); writes and checkpoints fail with
//! [`Error::ReadOnly`]; close does nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::buffer::{BufferPool, PoolOptions, PoolStats};
use crate::error::{Error, Result};
use crate::ids::{DbId, Lsn, PageId, TxnId};
use crate::io::Vfs;
use crate::storage::page::{DEFAULT_PAGE_SIZE, validate_page_size};
use crate::storage::{Control, DataFile};
use crate::wal::format::{REC_HEADER_LEN, SEGMENT_HEADER_BLOCK};
use crate::wal::{FIRST_LSN, RecordType, TornTail, Wal, WalOptions, WalStats};

use super::log::encode_checkpoint;
use super::read::ReadTxn;
use super::recovery;
use super::write::WriteTxn;

/// Settings of an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    /// Page size of a new database (an existing one keeps its own).
    pub page_size: usize,
    /// Buffer pool size in bytes: the pool fills this before evicting.
    pub pool_bytes: usize,
    /// Cap in bytes to which the pool may grow to hold the uncommitted pages
    /// of a large transaction (no steal); past it the transaction fails.
    pub pool_cap_bytes: usize,
    /// Log settings.
    pub wal: WalOptions,
    /// Checkpoint automatically once this many bytes of log follow the last
    /// redo point (`None`: only explicit checkpoints and close).
    pub checkpoint_bytes: Option<u64>,
    /// Checkpoint on a clean close.
    pub checkpoint_on_close: bool,
    /// Page-record bytes recovery may hold in memory to read the log only
    /// once; with more to redo it reads the log twice instead.
    pub recovery_buffer_bytes: usize,
    /// Open without writing anything (module doc: read-only opens).
    pub read_only: bool,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            page_size: DEFAULT_PAGE_SIZE,
            pool_bytes: crate::buffer::DEFAULT_POOL_BYTES,
            pool_cap_bytes: 8 * crate::buffer::DEFAULT_POOL_BYTES,
            wal: WalOptions::default(),
            checkpoint_bytes: Some(64 << 20),
            checkpoint_on_close: true,
            recovery_buffer_bytes: 256 << 20,
            read_only: false,
        }
    }
}

/// What recovery did when the database was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The database was created by this open (nothing to recover).
    pub created: bool,
    /// Where the log was read from (the last checkpoint's redo LSN).
    pub redo_from: Lsn,
    /// Where the valid log ended.
    pub log_end: Lsn,
    /// Records read.
    pub records_scanned: u64,
    /// Committed transactions whose changes were replayed.
    pub txns_redone: u64,
    /// Transactions in the log without a commit (rolled back or cut off).
    pub txns_discarded: u64,
    /// Page records applied (a record already on a page is skipped).
    pub records_applied: u64,
    /// The torn tail discarded, if any.
    pub torn_tail: Option<TornTail>,
    /// Whether recovery ended with a checkpoint.
    pub checkpointed: bool,
    /// Time taken.
    pub duration: Duration,
}

/// What a checkpoint did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointReport {
    /// Its redo point.
    pub redo_lsn: Lsn,
    /// Its CHECKPOINT record.
    pub checkpoint_lsn: Lsn,
    /// Dirty pages written.
    pub pages_written: usize,
    /// Time taken.
    pub duration: Duration,
}

/// Counters of an engine.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineStats {
    /// Transactions committed (with changes).
    pub commits: u64,
    /// Transactions rolled back.
    pub aborts: u64,
    /// Checkpoints completed.
    pub checkpoints: u64,
    /// LSN of the last COMMIT record appended.
    pub last_commit_lsn: Lsn,
    /// The log's counters.
    pub wal: WalStats,
    /// The buffer pool's counters.
    pub pool: PoolStats,
}

pub(super) struct Inner {
    pub(super) vfs: Arc<dyn Vfs>,
    pub(super) path: PathBuf,
    pub(super) opts: EngineOptions,
    pub(super) db_id: DbId,
    pub(super) page_size: usize,
    pub(super) segment_size: u64,
    pub(super) wal: Arc<Wal>,
    pub(super) pool: BufferPool,
    pub(super) rw: Arc<RwLock<()>>,
    pub(super) writer: Arc<Mutex<()>>,
    pub(super) next_txid: AtomicU64,
    /// LSN of the last COMMIT record appended (0: none since open).
    pub(super) last_commit: AtomicU64,
    /// Redo point of the current checkpoint: a page whose LSN is below it
    /// is logged whole at its next change.
    pub(super) redo_lsn: AtomicU64,
    pub(super) closed: AtomicBool,
    /// The log's next LSN when the files last held everything (after open
    /// or the last checkpoint): a close that finds it unchanged and no
    /// dirty page has nothing to do.
    pub(super) clean_at: AtomicU64,
    pub(super) commits: AtomicU64,
    pub(super) aborts: AtomicU64,
    pub(super) checkpoints: AtomicU64,
    pub(super) recovery: Mutex<RecoveryReport>,
}

/// An open database at the transaction level. Cheap to clone; clones share
/// everything, and their commits share group flushes.
#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("path", &self.inner.path).field("db_id", &self.inner.db_id).finish()
    }
}

impl Engine {
    /// Open the database at `path` on `vfs`, creating it if it does not
    /// exist and recovering it if it does.
    pub fn open(vfs: Arc<dyn Vfs>, path: &Path, opts: EngineOptions) -> Result<Engine> {
        validate_page_size(opts.page_size)?;
        if opts.read_only {
            return recovery::open_read_only(vfs, path, opts);
        }
        let lock = DataFile::lock(vfs.as_ref(), path)?;
        match Control::read(vfs.as_ref(), path)? {
            None => Engine::create(vfs, path, opts, lock),
            Some(ctl) => recovery::recover(vfs, path, opts, ctl, lock),
        }
    }

    /// Create a new database.
    ///
    /// A marker file (`<db>-creating`) is made durable before the data file
    /// is touched and removed after the control file is written, so an open
    /// that finds no control file can tell its own interrupted creation
    /// (marker present: start over) from a foreign file (no marker, not
    /// empty: refused, never overwritten).
    fn create(vfs: Arc<dyn Vfs>, path: &Path, opts: EngineOptions, lock: crate::io::VfsLock) -> Result<Engine> {
        check_fits(opts.page_size, opts.wal.segment_size)?;
        let marker = creating_marker(path);
        let dir = crate::io::parent_dir(path);
        let resuming = vfs.exists(&marker).map_err(|e| Error::io("stat", &marker, e))?;
        if !resuming {
            // Refuses anything but an empty file or none: a waldb data file
            // without a control file or marker was never ours to overwrite.
            if let Some(page_size) = DataFile::probe(vfs.as_ref(), path)? {
                return Err(Error::CorruptFile {
                    file: path.to_path_buf(),
                    reason: format!(
                        "a waldb data file ({page_size}-byte pages) without its control file {}; refusing to \
                         overwrite it",
                        crate::storage::control::control_path(path).display()
                    ),
                });
            }
            vfs.open(&marker, crate::io::OpenMode::Create).map_err(|e| Error::io("create", &marker, e))?;
            vfs.sync_dir(&dir).map_err(|e| Error::io("fsync directory", &dir, e))?;
        }
        let db_id = DbId(vfs.random_u64());
        let file = DataFile::create(vfs.as_ref(), path, opts.page_size, db_id, lock)?.file;
        let wal = Arc::new(Wal::create(vfs.clone(), path, db_id, opts.wal.clone())?);
        let ctl = Control {
            page_size: opts.page_size,
            db_id,
            segment_size: wal.segment_size(),
            redo_lsn: FIRST_LSN,
            checkpoint_lsn: Lsn::ZERO,
            next_txid: TxnId(1),
        };
        // Written last: from here on the database exists.
        ctl.write(vfs.as_ref(), path)?;
        remove_marker(vfs.as_ref(), path)?;
        let report = RecoveryReport { created: true, redo_from: FIRST_LSN, log_end: FIRST_LSN, ..Default::default() };
        Ok(Engine::assemble(vfs, path, opts, ctl, file, wal, report))
    }

    /// Put the parts together (after creation or recovery).
    pub(super) fn assemble(
        vfs: Arc<dyn Vfs>,
        path: &Path,
        opts: EngineOptions,
        ctl: Control,
        file: DataFile,
        wal: Arc<Wal>,
        recovery: RecoveryReport,
    ) -> Engine {
        let pool = BufferPool::new(file, wal.clone(), pool_options(&opts, ctl.page_size));
        let clean_at = wal.next_lsn().0;
        Engine {
            inner: Arc::new(Inner {
                vfs,
                path: path.to_path_buf(),
                db_id: ctl.db_id,
                page_size: ctl.page_size,
                segment_size: wal.segment_size(),
                opts,
                wal,
                pool,
                rw: Arc::new(RwLock::new(())),
                writer: Arc::new(Mutex::new(())),
                next_txid: AtomicU64::new(ctl.next_txid.0.max(1)),
                last_commit: AtomicU64::new(0),
                redo_lsn: AtomicU64::new(ctl.redo_lsn.0),
                closed: AtomicBool::new(false),
                clean_at: AtomicU64::new(clean_at),
                commits: AtomicU64::new(0),
                aborts: AtomicU64::new(0),
                checkpoints: AtomicU64::new(0),
                recovery: Mutex::new(recovery),
            }),
        }
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The database's identity.
    pub fn db_id(&self) -> DbId {
        self.inner.db_id
    }

    /// Bytes per page.
    pub fn page_size(&self) -> usize {
        self.inner.page_size
    }

    /// The buffer pool (for tools that read pages directly).
    pub fn pool(&self) -> &BufferPool {
        &self.inner.pool
    }

    /// The log.
    pub fn wal(&self) -> &Wal {
        &self.inner.wal
    }

    /// The file system the database lives on (tools read the WAL and the
    /// control file through it).
    pub fn vfs(&self) -> &Arc<dyn Vfs> {
        &self.inner.vfs
    }

    /// The settings the engine was opened with.
    pub fn options(&self) -> &EngineOptions {
        &self.inner.opts
    }

    /// Redo point of the current checkpoint (recovery would start here).
    pub fn redo_lsn(&self) -> Lsn {
        Lsn(self.inner.redo_lsn.load(Ordering::Acquire))
    }

    /// End of the durable log: every commit whose LSN is below it survives
    /// any crash.
    pub fn durable_lsn(&self) -> Lsn {
        self.inner.wal.durable_lsn()
    }

    /// What recovery did when this database was opened.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.inner.recovery.lock().clone()
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        let i = &self.inner;
        EngineStats {
            commits: i.commits.load(Ordering::Relaxed),
            aborts: i.aborts.load(Ordering::Relaxed),
            checkpoints: i.checkpoints.load(Ordering::Relaxed),
            last_commit_lsn: Lsn(i.last_commit.load(Ordering::Acquire)),
            wal: i.wal.stats(),
            pool: i.pool.stats(),
        }
    }

    /// Fail unless the engine can serve reads and writes: not closed, not
    /// poisoned (fail stop covers readers too: after a failed write or sync
    /// the data file's state is unknown).
    pub(super) fn check_writable(&self) -> Result<()> {
        let i = &self.inner;
        if i.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if let Some(p) = i.wal.poison().or_else(|| i.pool.file().poison()) {
            return Err(p.error());
        }
        Ok(())
    }

    /// Whether the engine was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.opts.read_only
    }

    /// [`Error::ReadOnly`] saying `what` when the engine is read-only.
    fn check_not_read_only(&self, what: &str) -> Result<()> {
        if self.inner.opts.read_only {
            return Err(Error::ReadOnly(format!("{what} on {}", self.inner.path.display())));
        }
        Ok(())
    }

    /// Begin a write transaction: waits for the current writer (and
    /// checkpoint) to finish, then for active readers to leave.
    pub fn begin_write(&self) -> Result<WriteTxn> {
        self.check_writable()?;
        self.check_not_read_only("cannot begin a write transaction")?;
        // Announced before queueing: a flush leader may wait for this
        // commit to join its batch (`src/wal/gather.rs`).
        let intent = self.inner.wal.announce_commit();
        let writer = self.inner.writer.lock_arc();
        let rw = self.inner.rw.write_arc();
        // Checked again under the locks: a failure may have happened while
        // this writer waited.
        self.check_writable()?;
        let txid = TxnId(self.inner.next_txid.fetch_add(1, Ordering::AcqRel));
        Ok(WriteTxn::new(self, writer, rw, txid, intent))
    }

    /// Begin a read-only transaction. It first waits until the last commit
    /// is durable, so it never shows data a crash could take back. Fails
    /// with [`Error::Poisoned`] once the log or the data file has failed.
    pub fn begin_read(&self) -> Result<ReadTxn> {
        self.check_writable()?;
        let rw = self.inner.rw.read_arc();
        // Checked again under the lock: a writer may have failed meanwhile.
        self.check_writable()?;
        self.make_durable(Lsn(self.inner.last_commit.load(Ordering::Acquire)))?;
        Ok(ReadTxn::new(self, rw))
    }

    /// Make the log durable past the record at `lsn` (zero: nothing to do),
    /// in every durability mode.
    pub(super) fn make_durable(&self, lsn: Lsn) -> Result<()> {
        if lsn == Lsn::ZERO {
            return Ok(());
        }
        self.inner.wal.flush_to(lsn)
    }

    /// Run a checkpoint now (waits for the current writer).
    pub fn checkpoint(&self) -> Result<CheckpointReport> {
        self.check_writable()?;
        self.check_not_read_only("cannot checkpoint")?;
        let _writer = self.inner.writer.lock();
        self.checkpoint_locked()
    }

    /// The checkpoint procedure (module doc). The caller holds the writer
    /// lock.
    pub(super) fn checkpoint_locked(&self) -> Result<CheckpointReport> {
        let i = &self.inner;
        let t0 = Instant::now();
        // 1. The redo point; pages changed from now on are logged whole.
        let redo = i.wal.next_lsn();
        i.redo_lsn.fetch_max(redo.0, Ordering::AcqRel);
        // 2. Log durable past every dirty page's LSN (all committed: the
        //    writer lock is held).
        i.wal.flush_all()?;
        // 3. Write the pages.
        let pages_written = i.pool.flush_all()?;
        // 4. The data file durable.
        i.pool.sync_file()?;
        // 5. A durable CHECKPOINT record.
        let ck = i.wal.append(RecordType::Checkpoint, TxnId(0), &encode_checkpoint(redo))?;
        i.wal.flush_to(ck)?;
        // 6. The control file names the new redo point.
        let ctl = Control {
            page_size: i.page_size,
            db_id: i.db_id,
            segment_size: i.segment_size,
            redo_lsn: redo,
            checkpoint_lsn: ck,
            next_txid: TxnId(i.next_txid.load(Ordering::Acquire)),
        };
        ctl.write(i.vfs.as_ref(), &i.path)?;
        // 7. Only now may the log before the redo point go.
        i.wal.truncate_before(redo)?;
        i.clean_at.store(i.wal.next_lsn().0, Ordering::Release);
        i.checkpoints.fetch_add(1, Ordering::Relaxed);
        let report = CheckpointReport { redo_lsn: redo, checkpoint_lsn: ck, pages_written, duration: t0.elapsed() };
        log::debug!("checkpoint of {}: {report:?}", i.path.display());
        Ok(report)
    }

    /// After a commit: checkpoint if the log has grown past the threshold
    /// since the last redo point, unless another writer is busy.
    pub(super) fn maybe_checkpoint(&self) {
        let i = &self.inner;
        let Some(limit) = i.opts.checkpoint_bytes else { return };
        let grown = i.wal.next_lsn().0.saturating_sub(i.redo_lsn.load(Ordering::Acquire));
        if grown < limit || self.check_writable().is_err() {
            return;
        }
        if let Some(_writer) = i.writer.try_lock()
            && let Err(e) = self.checkpoint_locked()
        {
            // The commit that triggered it is durable already; a failure
            // that matters poisons the engine and surfaces on the next call.
            log::warn!("automatic checkpoint of {} failed: {e}", i.path.display());
        }
    }

    /// Close cleanly: wait for the current writer, checkpoint (if
    /// configured), make the log durable. Later calls on any clone fail with
    /// [`Error::Closed`]. Files are released when the last clone is dropped.
    ///
    /// A close with nothing to do does no I/O at all: a read-only engine,
    /// or one whose log has not grown since it was opened or last
    /// checkpointed and whose pool holds no dirty page (the files already
    /// hold everything, and every record in the log is durable).
    pub fn close(&self) -> Result<()> {
        let i = &self.inner;
        let _writer = i.writer.lock();
        if i.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if i.opts.read_only || i.wal.poisoned().is_some() || i.pool.file().failure().is_some() {
            return Ok(());
        }
        if self.unchanged() {
            return Ok(());
        }
        if i.opts.checkpoint_on_close {
            self.checkpoint_locked()?;
        }
        i.wal.flush_all()
    }

    /// Whether nothing was logged since open or the last checkpoint and no
    /// page is dirty. The caller holds the writer lock, so no record is
    /// being appended.
    fn unchanged(&self) -> bool {
        let i = &self.inner;
        i.wal.next_lsn().0 == i.clean_at.load(Ordering::Acquire) && i.pool.dirty_count() == 0
    }

    /// The page id in root slot `slot` of the file header (upper layers
    /// register their structures there).
    pub fn root(&self, store: &impl crate::storage::PageStore, slot: usize) -> Result<PageId> {
        let h = store.read(PageId::HEADER)?;
        Ok(crate::storage::header::root(&h, slot))
    }
}

/// The file that marks a creation in progress.
pub(super) fn creating_marker(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    crate::io::parent_dir(path).join(format!("{name}-creating"))
}

/// Remove the creation marker if it is there (durably).
pub(super) fn remove_marker(vfs: &dyn Vfs, path: &Path) -> Result<()> {
    let marker = creating_marker(path);
    match vfs.remove(&marker) {
        Ok(()) => {
            let dir = crate::io::parent_dir(path);
            vfs.sync_dir(&dir).map_err(|e| Error::io("fsync directory", &dir, e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", &marker, e)),
    }
}

/// The pool settings for `opts` and pages of `page_size`.
fn pool_options(opts: &EngineOptions, page_size: usize) -> PoolOptions {
    let frames = (opts.pool_bytes / page_size).max(crate::buffer::pool::MIN_FRAMES);
    PoolOptions { frames, max_frames: (opts.pool_cap_bytes / page_size).max(frames) }
}

/// A segment must hold a full page image.
pub(super) fn check_fits(page_size: usize, segment_size: u64) -> Result<()> {
    crate::wal::format::validate_segment_size(segment_size).map_err(Error::InvalidInput)?;
    let room = segment_size - SEGMENT_HEADER_BLOCK;
    if (page_size + 4 + REC_HEADER_LEN) as u64 > room {
        return Err(crate::errinput!("WAL segments of {segment_size} bytes cannot hold a {page_size}-byte page image"));
    }
    Ok(())
}
