//! Inspection of a database for tools: the shell's `.wal`, `.wal dump` and
//! `.page`, and the offline `waldb wal dump` and `waldb check`.
//!
//! - [`Database::wal_info`]: the WAL's segments on disk, its LSNs (first,
//!   redo point, durable, next), the last checkpoint from the control file,
//!   and whether the log keeps growing ([`WalInfo::growth_warning`]).
//! - [`wal_segments`]: the segment files of a database and their sizes.
//! - [`open_log_reader`]: a [`WalReader`] from the oldest record still on
//!   disk (or from a given LSN), falling back to the redo point.
//! - [`Database::page_image`]: a page as the database sees it (through a
//!   read transaction, so checksum-verified), and [`Database::raw_page`]: its
//!   bytes in the data file, unverified, for showing a damaged page.
//!
//! The integrity check is in [`crate::inspect`] (`src/inspect/check.rs`).
//!
//! Everything here only reads. Offline callers pass a
//! [`ReadOnlyVfs`], which makes that a guarantee.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ids::{DbId, Lsn, PageId};
use crate::io::{OpenMode, ReadOnlyVfs, Vfs};
use crate::storage::{Control, PageStore, header};
use crate::wal::{WalReader, scan, segment};

use super::database::Database;

/// One segment file of the WAL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The LSN its name says it starts at.
    pub start_lsn: Lsn,
    /// Its path.
    pub path: PathBuf,
    /// Its size on disk in bytes.
    pub bytes: u64,
    /// Whether the open log holds or prepares data in it (`false`: kept for
    /// recycling, or unknown when read offline).
    pub in_use: bool,
}

/// The state of an open database's WAL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalInfo {
    /// Segment files on disk, by start LSN.
    pub segments: Vec<SegmentInfo>,
    /// Size of each segment file.
    pub segment_size: u64,
    /// Bytes of every segment file together.
    pub bytes_on_disk: u64,
    /// Where the next record goes (the end of the log).
    pub next_lsn: Lsn,
    /// End of the durable log.
    pub durable_lsn: Lsn,
    /// Redo point of the current checkpoint (recovery reads from here).
    pub redo_lsn: Lsn,
    /// The control file's last checkpoint: its CHECKPOINT record (0: none).
    pub checkpoint_lsn: Lsn,
    /// The control file's redo LSN (what a recovery now would read from).
    pub control_redo_lsn: Lsn,
    /// Log written since the redo point.
    pub bytes_since_redo: u64,
    /// Automatic checkpoint threshold in bytes, if any.
    pub checkpoint_threshold: Option<u64>,
}

impl WalInfo {
    /// A warning when the log keeps growing: more than twice the automatic
    /// checkpoint threshold (or 4 segments without one) written since the
    /// redo point, or more segment files on disk than a healthy log keeps.
    pub fn growth_warning(&self) -> Option<String> {
        let limit = self.checkpoint_threshold.map_or(4 * self.segment_size, |t| 2 * t);
        if self.bytes_since_redo > limit {
            return Some(format!(
                "{} bytes of log since the last checkpoint's redo point (limit {limit}): the WAL keeps growing; \
                 run .checkpoint",
                self.bytes_since_redo
            ));
        }
        if self.segments.len() > 32 {
            return Some(format!("{} WAL segment files on disk: the WAL keeps growing", self.segments.len()));
        }
        None
    }
}

/// The segment files of the database at `db_path` and their sizes;
/// `in_use` marks the segments whose start LSN is in it.
pub fn wal_segments(vfs: &dyn Vfs, db_path: &Path, in_use: &[Lsn]) -> Result<Vec<SegmentInfo>> {
    let mut out = Vec::new();
    for (start, path) in segment::list(vfs, db_path)? {
        let bytes =
            vfs.open(&path, OpenMode::ReadOnly).and_then(|f| f.len()).map_err(|e| Error::io("stat", &path, e))?;
        out.push(SegmentInfo { start_lsn: start, path, bytes, in_use: in_use.contains(&start) });
    }
    Ok(out)
}

/// A reader of the log of the database at `db_path`, and the LSN it starts
/// at: `from` if given; else the oldest segment on disk when the log reads
/// cleanly from there (segments before the redo point are kept until they
/// are recycled); else `redo` (where recovery reads from).
pub fn open_log_reader<'v>(
    vfs: &'v dyn Vfs,
    db_path: &Path,
    db_id: DbId,
    from: Option<Lsn>,
    redo: Lsn,
) -> Result<(WalReader<'v>, Lsn)> {
    if let Some(f) = from {
        return Ok((WalReader::open(vfs, db_path, db_id, f)?, f));
    }
    if let Some((oldest, _)) = segment::list(vfs, db_path)?.first().cloned()
        && oldest < redo
        && scan(vfs, db_path, db_id, oldest).is_ok()
    {
        return Ok((WalReader::open(vfs, db_path, db_id, oldest)?, oldest));
    }
    Ok((WalReader::open(vfs, db_path, db_id, redo)?, redo))
}

impl Database {
    /// A read-only view of the file system the database lives on, for
    /// reading its files beside it (e.g. [`crate::inspect::LogReader`]).
    pub fn read_only_vfs(&self) -> ReadOnlyVfs {
        ReadOnlyVfs::new(self.engine().vfs().clone())
    }

    /// The state of the WAL: segments, LSNs, the last checkpoint.
    pub fn wal_info(&self) -> Result<WalInfo> {
        let e = self.engine();
        let wal = e.wal();
        let stats = wal.stats();
        let active: Vec<Lsn> = wal.segments().into_iter().map(|(l, _)| l).collect();
        let ro = ReadOnlyVfs::new(e.vfs().clone());
        let segments = wal_segments(&ro, self.path(), &active)?;
        let ctl = Control::read(&ro, self.path())?;
        let redo_lsn = e.redo_lsn();
        Ok(WalInfo {
            bytes_on_disk: segments.iter().map(|s| s.bytes).sum(),
            segments,
            segment_size: wal.segment_size(),
            next_lsn: stats.next_lsn,
            durable_lsn: stats.durable_lsn,
            redo_lsn,
            checkpoint_lsn: ctl.map_or(Lsn::ZERO, |c| c.checkpoint_lsn),
            control_redo_lsn: ctl.map_or(redo_lsn, |c| c.redo_lsn),
            bytes_since_redo: stats.next_lsn.0.saturating_sub(redo_lsn.0),
            checkpoint_threshold: e.options().checkpoint_bytes,
        })
    }

    /// Page `id` as the database sees it: committed and durable, read
    /// through the buffer pool (so its checksum was verified when it was
    /// read from disk). Fails while this handle has a transaction open
    /// (reading would wait for it forever).
    pub fn page_image(&self, id: PageId) -> Result<Vec<u8>> {
        if self.in_transaction() {
            return Err(crate::errinput!("a transaction is open on this handle; COMMIT or ROLLBACK first"));
        }
        let r = self.engine().begin_read()?;
        let count = header::page_count(&r.read(PageId::HEADER)?);
        if id.0 >= count {
            return Err(crate::errinput!("page {id} does not exist: the database has {count} pages"));
        }
        let p = r.read(id)?;
        Ok(p.to_vec())
    }

    /// The bytes of page `id` in the data file, unverified (they may be
    /// older than the database's view, or damaged); `None` past the end of
    /// the file.
    pub fn raw_page(&self, id: PageId) -> Result<Option<Vec<u8>>> {
        let e = self.engine();
        let ro = ReadOnlyVfs::new(e.vfs().clone());
        let path = self.path();
        let f = ro.open(path, OpenMode::ReadOnly).map_err(|err| Error::io("open", path, err))?;
        let mut buf = vec![0u8; e.page_size()];
        let n =
            f.read_at(&mut buf, u64::from(id.0) * e.page_size() as u64).map_err(|err| Error::io("read", path, err))?;
        Ok((n == buf.len()).then_some(buf))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::api::Options;
    use crate::io::SimVfs;
    use crate::storage::page::{self, PageType};
    use crate::wal::RecordType;

    fn sim_db(vfs: &SimVfs) -> Database {
        Database::open_on(Arc::new(vfs.clone()), Path::new("/d/app.db"), Options::default()).expect("open")
    }

    #[test]
    fn wal_info_follows_commits_and_checkpoints() {
        let vfs = SimVfs::new(5);
        let db = sim_db(&vfs);
        db.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);").expect("sql");
        let info = db.wal_info().expect("info");
        assert!(!info.segments.is_empty());
        assert!(info.segments.iter().any(|s| s.in_use));
        assert_eq!(info.bytes_on_disk, info.segments.iter().map(|s| s.bytes).sum::<u64>());
        assert!(info.durable_lsn <= info.next_lsn && info.redo_lsn <= info.next_lsn);
        assert_eq!(info.growth_warning(), None);
        let ck = db.checkpoint().expect("checkpoint");
        let after = db.wal_info().expect("info");
        assert_eq!((after.checkpoint_lsn, after.control_redo_lsn), (ck.checkpoint_lsn, ck.redo_lsn));
        let grown = WalInfo { bytes_since_redo: u64::MAX / 2, ..after };
        assert!(grown.growth_warning().is_some_and(|w| w.contains("keeps growing")));
    }

    #[test]
    fn the_log_reads_from_its_oldest_segment_and_read_only() {
        let vfs = SimVfs::new(6);
        let db = sim_db(&vfs);
        db.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);").expect("sql");
        let ck = db.checkpoint().expect("checkpoint");
        let id = db.engine().db_id();
        let ro = ReadOnlyVfs::new(Arc::new(vfs.clone()));
        let (mut r, from) = open_log_reader(&ro, Path::new("/d/app.db"), id, None, ck.redo_lsn).expect("reader");
        assert!(from <= ck.redo_lsn);
        let mut kinds = Vec::new();
        while let Some(rec) = r.next().expect("record") {
            kinds.push(rec.kind);
        }
        assert!(kinds.contains(&RecordType::Commit) && kinds.contains(&RecordType::Checkpoint), "{kinds:?}");
        let (_, at) =
            open_log_reader(&ro, Path::new("/d/app.db"), id, Some(ck.checkpoint_lsn), ck.redo_lsn).expect("r");
        assert_eq!(at, ck.checkpoint_lsn);
    }

    #[test]
    fn pages_read_verified_and_raw() {
        let vfs = SimVfs::new(7);
        let db = sim_db(&vfs);
        db.execute("CREATE TABLE t(x)", ()).expect("create");
        let h = db.page_image(PageId::HEADER).expect("header");
        assert_eq!(page::page_type(&h), Some(PageType::FileHeader));
        assert!(db.page_image(PageId(1_000_000)).is_err());
        db.checkpoint().expect("checkpoint");
        let raw = db.raw_page(PageId::HEADER).expect("raw").expect("in the file");
        assert_eq!(page::page_type(&raw), Some(PageType::FileHeader));
        assert_eq!(db.raw_page(PageId(1_000_000)).expect("raw"), None);
    }
}
