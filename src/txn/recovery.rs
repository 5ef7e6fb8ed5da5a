//! Recovery on open: redo-only, idempotent, from the last checkpoint.
//!
//! No steal (`docs/DESIGN.md` invariant 3) means no uncommitted change ever reached the data
//! file, so recovery only has to redo committed ones:
//!
//! 1. Read the control file (the caller did): page size, segment size,
//!    database id, redo LSN.
//! 2. **Analysis.** Read the log from the redo LSN to its end, noting which
//!    transactions committed and keeping their page records (up to a memory
//!    limit; past it, step 4 reads the log again). The reader verifies every
//!    record and decides torn tail (discarded, reported) or corruption
//!    (refuse: `docs/DESIGN.md` invariant 8).
//! 3. Open the log for appending at its end. This syncs the recovered bytes,
//!    so every page redo writes back keeps the WAL rule.
//! 4. **Redo.** Apply the page records of committed transactions in LSN
//!    order: a full page image is installed as is (it
//!    also repairs a page whose write tore); a page change is applied only if
//!    the page's LSN is below the record's (`docs/DESIGN.md` invariant 4). Because the first
//!    change to any page after the redo point is logged whole, every page
//!    the log touches gets a clean starting image before any change to it.
//! 5. Check page 0, then checkpoint: the redone pages reach the data file
//!    and the control file moves the redo point past them.
//!
//! A crash at any step leaves the control file as it was, so recovery runs
//! again from the same redo point and reaches the same state.
//!
//! # Read-only opens
//!
//! [`open_read_only`] runs the same analysis and redo through a
//! [`ReadOnlyVfs`], and writes nothing: no marker removal, no segment
//! preparation, no checkpoint. Redone pages stay in the buffer pool, marked
//! like uncommitted pages so that they are never evicted or written back (no
//! steal's own rule keeps them in memory); if they outgrow the pool's cap
//! the open fails with [`Error::ReadOnly`]. When the log holds committed
//! transactions after the redo point (a writer crashed), their segments are
//! `fdatasync`ed — on read-only descriptors, writing nothing — before any of
//! it is shown, as a read-write open does in step 3: a reader is never shown
//! a commit that power loss could still take back. A cleanly closed
//! database has none, so opening it read-only syncs nothing.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::ids::{PageId, TxnId};
use crate::io::{OpenMode, ReadOnlyVfs, Vfs, VfsLock};
use crate::storage::header::FileHeader;
use crate::storage::page::{page_lsn, validate_page_size};
use crate::storage::{Control, DataFile};
use crate::wal::reader::WalReader;
use crate::wal::segment::{self, segment_path};
use crate::wal::format::SEGMENT_HEADER_BLOCK;
use crate::wal::{LogEnd, Record, RecordType, Wal};

use super::engine::{Engine, EngineOptions, RecoveryReport, check_fits};
use super::log::{PageOp, apply, decode_page_record};

/// Open an existing database read-only (module doc).
pub(super) fn open_read_only(vfs: Arc<dyn Vfs>, path: &Path, opts: EngineOptions) -> Result<Engine> {
    // Every change is refused by construction, whatever path runs below.
    let vfs: Arc<dyn Vfs> = Arc::new(ReadOnlyVfs::new(vfs));
    let lock = DataFile::lock_shared(vfs.as_ref(), path)?;
    let Some(ctl) = Control::read(vfs.as_ref(), path)? else {
        return Err(Error::ReadOnly(format!(
            "{} has no control file: it is not a waldb database, or its creation never finished, and only a \
             read-write open creates one",
            path.display()
        )));
    };
    recover(vfs, path, opts, ctl, lock)
}

/// `fdatasync` the segments holding `[from, end)`, through read-only
/// descriptors (module doc: read-only opens).
fn sync_read_only(vfs: &dyn Vfs, path: &Path, from: crate::ids::Lsn, end: LogEnd, seg_size: u64) -> Result<()> {
    let data = seg_size.saturating_sub(SEGMENT_HEADER_BLOCK);
    for (start, p) in segment::list(vfs, path)? {
        if start < end.end && start.0.saturating_add(data) > from.0 {
            let f = vfs.open(&p, OpenMode::ReadOnly).map_err(|e| Error::io("open", &p, e))?;
            f.sync_data().map_err(|e| Error::io("fsync", &p, e))?;
        }
    }
    Ok(())
}

/// Open an existing database through recovery.
pub(super) fn recover(
    vfs: Arc<dyn Vfs>,
    path: &Path,
    opts: EngineOptions,
    ctl: Control,
    lock: VfsLock,
) -> Result<Engine> {
    let t0 = Instant::now();
    let ctl_file = crate::storage::control::control_path(path);
    validate_page_size(ctl.page_size)
        .and_then(|()| check_fits(ctl.page_size, ctl.segment_size))
        .map_err(|e| Error::CorruptFile { file: ctl_file.clone(), reason: e.to_string() })?;
    let read_only = opts.read_only;
    let file = DataFile::open_raw(vfs.as_ref(), path, ctl.page_size, lock)?;
    // A creation that wrote its control file but died before removing its
    // marker finished: the marker means nothing now.
    if !read_only {
        super::engine::remove_marker(vfs.as_ref(), path)?;
    }

    // Analysis, collecting the page records of committed transactions so
    // the log is read once. A transaction's records lie together between its
    // BEGIN and COMMIT (writers log under the writer lock), so only the open
    // one is buffered; past a memory limit the log is read a second time.
    let mut report = RecoveryReport { redo_from: ctl.redo_lsn, ..RecoveryReport::default() };
    let mut begun: HashSet<TxnId> = HashSet::new();
    let mut committed: HashSet<TxnId> = HashSet::new();
    let mut open: HashMap<TxnId, Vec<Record>> = HashMap::new();
    let mut to_apply: Vec<Record> = Vec::new();
    let mut buffered = 0usize;
    let mut reread = false;
    let mut max_txid = TxnId(0);
    let mut reader = WalReader::open(vfs.as_ref(), path, ctl.db_id, ctl.redo_lsn)?;
    while let Some(rec) = reader.next()? {
        report.records_scanned += 1;
        max_txid = max_txid.max(rec.txid);
        match rec.kind {
            RecordType::Begin => {
                begun.insert(rec.txid);
                open.insert(rec.txid, Vec::new());
            }
            RecordType::Commit => {
                committed.insert(rec.txid);
                if let Some(records) = open.remove(&rec.txid) {
                    to_apply.extend(records);
                }
            }
            RecordType::Abort => {
                open.remove(&rec.txid);
            }
            RecordType::PageChange | RecordType::FullPageImage if !reread => {
                if let Some(records) = open.get_mut(&rec.txid) {
                    buffered += rec.payload.len();
                    records.push(rec);
                    if buffered > opts.recovery_buffer_bytes {
                        reread = true;
                        open.values_mut().for_each(Vec::clear);
                        to_apply = Vec::new();
                    }
                }
            }
            _ => {}
        }
    }
    let end = reader.end().ok_or_else(|| crate::errinput!("log reader stopped without an end"))?;
    report.log_end = end.end;
    report.torn_tail = reader.torn().cloned();
    report.txns_redone = committed.len() as u64;
    report.txns_discarded = begun.difference(&committed).count() as u64;
    drop(open);

    // The log continues at its end; what was read is now durable, so the
    // pages redo writes back keep the WAL rule.
    let wal = if read_only {
        if !committed.is_empty() {
            sync_read_only(vfs.as_ref(), path, ctl.redo_lsn, end, ctl.segment_size)?;
        }
        Arc::new(Wal::read_only(vfs.clone(), path, ctl.db_id, ctl.segment_size, end)?)
    } else {
        let mut wal_opts = opts.wal.clone();
        wal_opts.segment_size = ctl.segment_size;
        Arc::new(Wal::open(vfs.clone(), path, ctl.db_id, wal_opts, end, ctl.redo_lsn)?)
    };
    let next_txid = TxnId(ctl.next_txid.0.max(max_txid.0 + 1));
    let engine = Engine::assemble(vfs.clone(), path, opts, Control { next_txid, ..ctl }, file, wal, report.clone());

    // Redo, in LSN order.
    if reread {
        let mut reader = WalReader::open(vfs.as_ref(), path, ctl.db_id, ctl.redo_lsn)?;
        while let Some(rec) = reader.next()? {
            let page_record = matches!(rec.kind, RecordType::PageChange | RecordType::FullPageImage);
            if page_record && committed.contains(&rec.txid) && redo(&engine, &rec, path, read_only)? {
                report.records_applied += 1;
            }
        }
    } else {
        to_apply.sort_by_key(|r| r.lsn);
        for rec in &to_apply {
            if redo(&engine, rec, path, read_only)? {
                report.records_applied += 1;
            }
        }
    }

    // Page 0 must be sound now, and of this database.
    let header = {
        let p = engine.pool().fetch(PageId::HEADER)?;
        FileHeader::decode(&p, path)?
    };
    if header.db_id != ctl.db_id || header.page_size != ctl.page_size {
        return Err(Error::CorruptFile {
            file: path.to_path_buf(),
            reason: format!(
                "data file belongs to database {} ({}-byte pages), the control file to {} ({}-byte pages)",
                header.db_id, header.page_size, ctl.db_id, ctl.page_size
            ),
        });
    }
    if report.records_applied > 0 && !read_only {
        engine.checkpoint()?;
        report.checkpointed = true;
    } else if report.txns_redone > 0 {
        // Commits after the redo point with nothing to apply (their first
        // page change is a full image, which always applies, so only
        // commits without page records get here): a clean close still
        // checkpoints, so that a flush after them proves them durable
        // (docs/TESTING.md §5.4's window) and the next open skips them.
        engine.inner.clean_at.store(u64::MAX, std::sync::atomic::Ordering::Release);
    }
    report.duration = t0.elapsed();
    log::info!(
        "recovered {}: {} records from {} to {}, {} transactions redone, {} discarded, {} torn bytes, {:?}",
        path.display(),
        report.records_scanned,
        report.redo_from,
        report.log_end,
        report.txns_redone,
        report.txns_discarded,
        report.torn_tail.as_ref().map_or(0, |t| t.bytes),
        report.duration
    );
    *engine.inner.recovery.lock() = report;
    Ok(engine)
}

/// Apply one committed page record; false if the page already had it. A
/// read-only open keeps the page in memory for good (module doc).
fn redo(engine: &Engine, rec: &Record, path: &Path, read_only: bool) -> Result<bool> {
    redo_page(engine, rec, path, read_only).map_err(|e| match e {
        Error::BufferPoolFull { frames } if read_only => Error::ReadOnly(format!(
            "recovering {} in memory needs more than the buffer pool's {frames} frames; open it read-write once to \
             recover it, or allow the pool more memory",
            path.display()
        )),
        e => e,
    })
}

fn redo_page(engine: &Engine, rec: &Record, path: &Path, read_only: bool) -> Result<bool> {
    let (id, op) = decode_page_record(rec.kind, &rec.payload, engine.page_size()).map_err(|reason| {
        Error::CorruptLog { segment: segment_path(path, rec.lsn), offset: 0, lsn: rec.lsn, reason }
    })?;
    let pool = engine.pool();
    match op {
        PageOp::Image(_) => {
            // Installed without reading the page: its image on disk may be
            // torn, and whatever it holds, the log replays it forward.
            let mut p = pool.fetch_new(id)?;
            apply(&mut p, &op, rec.lsn);
            p.set_uncommitted(read_only || p.is_uncommitted());
            Ok(true)
        }
        PageOp::Ranges(_) => {
            let mut p = pool.fetch_exclusive(id)?;
            if page_lsn(&p) >= rec.lsn {
                return Ok(false);
            }
            apply(&mut p, &op, rec.lsn);
            p.set_dirty(true);
            p.set_uncommitted(read_only || p.is_uncommitted());
            Ok(true)
        }
    }
}
