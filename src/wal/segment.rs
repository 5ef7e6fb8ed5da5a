//! WAL segment files: names, listing, creation and recycling.
//!
//! A segment of database `d.db` that starts at LSN `L` is the file
//! `d.db-wal-<L as 16 hex digits>` beside the database. Its size is fixed.
//!
//! # Creating a segment (crash-safe)
//!
//! 1. create `d.db-wal-tmp`, allocate its full size (so ENOSPC surfaces here
//!    as [`Error::DiskFull`]) and fill it with zeros
//!    ([`VfsFile::allocate_written`]: a commit's `fdatasync` then overwrites
//!    written blocks and has no extent conversion to journal);
//! 2. write the header block; `fdatasync` (zeros and header durable);
//! 3. rename to the final name; fsync the directory.
//!
//! A crash before 3 leaves only the temporary file, which the next open
//! removes; a named segment therefore always had a durable header.
//!
//! # Recycling a segment
//!
//! A segment wholly before the last checkpoint's redo point holds nothing
//! recovery needs. Instead of deleting it and creating another (an fdatasync
//! that overwrites allocated blocks is much cheaper than one that appends),
//! it is reused: 1. write the new header block; `fdatasync`; 2. rename to the
//! new name; fsync the directory. A crash between leaves a file under its old
//! name, before the redo point, which is recyclable again. Its old records
//! carry LSNs that do not match their new position, so a reader rejects them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ids::Lsn;
use crate::io::{OpenMode, Vfs, VfsFile, parent_dir};

use super::format::{SEGMENT_HEADER_BLOCK, SegmentHeader};

/// An open segment file and its header.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Its header.
    pub header: SegmentHeader,
    /// Its path.
    pub path: PathBuf,
    /// The open file.
    pub file: Arc<dyn VfsFile>,
}

fn file_name(db_path: &Path) -> String {
    db_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The name prefix of every segment of the database at `db_path`.
pub fn prefix(db_path: &Path) -> String {
    format!("{}-wal-", file_name(db_path))
}

/// Path of the segment starting at `start`.
pub fn segment_path(db_path: &Path, start: Lsn) -> PathBuf {
    parent_dir(db_path).join(format!("{}{:016x}", prefix(db_path), start.0))
}

/// Path of the temporary file a new segment is built in.
pub fn tmp_path(db_path: &Path) -> PathBuf {
    parent_dir(db_path).join(format!("{}tmp", prefix(db_path)))
}

/// The segment files of the database, by the start LSN in their names,
/// sorted. Files with the prefix but no hex LSN (the temporary file) are
/// skipped.
pub fn list(vfs: &dyn Vfs, db_path: &Path) -> Result<Vec<(Lsn, PathBuf)>> {
    let dir = parent_dir(db_path);
    let pre = prefix(db_path);
    let mut out = Vec::new();
    for p in vfs.list(&dir).map_err(|e| Error::io("list directory", &dir, e))? {
        let Some(name) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
        let Some(hex) = name.strip_prefix(&pre) else { continue };
        if hex.len() == 16
            && let Ok(v) = u64::from_str_radix(hex, 16)
        {
            out.push((Lsn(v), p));
        }
    }
    out.sort();
    Ok(out)
}

/// Open a segment file and decode its header; a bad header comes back as
/// `Err(reason)` in the second slot, not as a failure to open.
pub fn open(vfs: &dyn Vfs, path: &Path) -> Result<(Arc<dyn VfsFile>, std::result::Result<SegmentHeader, String>)> {
    let file = vfs.open(path, OpenMode::Existing).map_err(|e| Error::io("open", path, e))?;
    let mut block = vec![0u8; SEGMENT_HEADER_BLOCK as usize];
    let n = file.read_at(&mut block, 0).map_err(|e| Error::io("read", path, e))?;
    block.truncate(n);
    Ok((file, SegmentHeader::decode(&block)))
}

/// Create a new segment (steps in the module doc).
pub fn create(vfs: &dyn Vfs, db_path: &Path, header: SegmentHeader) -> Result<Segment> {
    let tmp = tmp_path(db_path);
    match vfs.remove(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", &tmp, e)),
    }
    let file = vfs.open(&tmp, OpenMode::CreateNew).map_err(|e| Error::io("create", &tmp, e))?;
    let built = file
        .allocate_written(header.segment_size)
        .map_err(|e| Error::io("allocate", &tmp, e))
        .and_then(|()| file.write_all_at(&header.encode(), 0).map_err(|e| Error::io("write", &tmp, e)))
        // Zeros and header are durable before the segment has a name.
        .and_then(|()| file.sync_data().map_err(|e| Error::io("fsync", &tmp, e)));
    if let Err(e) = built {
        // Best effort: a leftover temporary file is removed at the next open.
        let _ = vfs.remove(&tmp);
        return Err(e);
    }
    let path = segment_path(db_path, header.start_lsn);
    vfs.rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))?;
    // The name is durable before any record is written under it.
    vfs.sync_dir(&parent_dir(db_path)).map_err(|e| Error::io("fsync directory", &path, e))?;
    Ok(Segment { header, path, file })
}

/// Reuse `old` (wholly before the redo point) as the segment `header`
/// describes (steps in the module doc).
pub fn recycle(vfs: &dyn Vfs, db_path: &Path, old: Segment, header: SegmentHeader) -> Result<Segment> {
    debug_assert_eq!(old.header.segment_size, header.segment_size);
    old.file.write_all_at(&header.encode(), 0).map_err(|e| Error::io("write", &old.path, e))?;
    old.file.sync_data().map_err(|e| Error::io("fsync", &old.path, e))?;
    let path = segment_path(db_path, header.start_lsn);
    vfs.rename(&old.path, &path).map_err(|e| Error::io("rename", &path, e))?;
    vfs.sync_dir(&parent_dir(db_path)).map_err(|e| Error::io("fsync directory", &path, e))?;
    Ok(Segment { header, path, file: old.file })
}

/// Remove a segment file and make the removal durable.
pub fn remove(vfs: &dyn Vfs, db_path: &Path, seg: &Segment) -> Result<()> {
    vfs.remove(&seg.path).map_err(|e| Error::io("remove", &seg.path, e))?;
    vfs.sync_dir(&parent_dir(db_path)).map_err(|e| Error::io("fsync directory", &seg.path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DbId;
    use crate::io::{LossMode, SimVfs};

    fn hdr(start: u64) -> SegmentHeader {
        SegmentHeader { db_id: DbId(1), segment_no: start / 4096, start_lsn: Lsn(start), segment_size: 16384 }
    }

    #[test]
    fn names_sort_by_lsn_and_skip_the_temporary_file() {
        let vfs = SimVfs::new(1);
        let db = Path::new("/d/x.db");
        create(&vfs, db, hdr(0x3000 + 4096)).expect("create");
        create(&vfs, db, hdr(4096)).expect("create");
        vfs.open(&tmp_path(db), OpenMode::Create).expect("tmp");
        vfs.open(Path::new("/d/x.db-wal-zzz"), OpenMode::Create).expect("junk");
        vfs.open(Path::new("/d/y.db-wal-0000000000001000"), OpenMode::Create).expect("other db");
        let names: Vec<Lsn> = list(&vfs, db).expect("list").into_iter().map(|(l, _)| l).collect();
        assert_eq!(names, vec![Lsn(4096), Lsn(0x4000)]);
        assert_eq!(segment_path(db, Lsn(4096)), Path::new("/d/x.db-wal-0000000000001000"));
    }

    #[test]
    fn a_created_segment_survives_power_loss_whole() {
        let vfs = SimVfs::new(1);
        let db = Path::new("/d/x.db");
        create(&vfs, db, hdr(4096)).expect("create");
        let after = vfs.reboot(LossMode::DropAll);
        let (f, h) = open(&after, &segment_path(db, Lsn(4096))).expect("open");
        assert_eq!(h, Ok(hdr(4096)));
        assert_eq!(f.len().expect("len"), 16384);
    }

    #[test]
    fn a_crash_during_creation_leaves_no_named_segment() {
        let db = Path::new("/d/x.db");
        let probe = SimVfs::new(1);
        let start = probe.io_count();
        create(&probe, db, hdr(4096)).expect("create");
        let calls = probe.io_count() - start;
        for n in 0..calls {
            let vfs = SimVfs::new(1);
            vfs.add_fault(crate::io::Fault::Crash(crate::io::When::Call(n)));
            assert!(create(&vfs, db, hdr(4096)).is_err());
            for mode in LossMode::SWEEP {
                let after = vfs.crash_image().boot(mode);
                for (_, p) in list(&after, db).expect("list") {
                    let (_, h) = open(&after, &p).expect("open");
                    assert_eq!(
                        h,
                        Ok(hdr(4096)),
                        "crash at call {n} ({mode:?}) left a named segment without its header"
                    );
                }
            }
        }
    }

    #[test]
    fn recycling_renames_and_rewrites_the_header() {
        let vfs = SimVfs::new(1);
        let db = Path::new("/d/x.db");
        let old = create(&vfs, db, hdr(4096)).expect("create");
        old.file.write_all_at(b"old records", 5000).expect("write");
        let new = recycle(&vfs, db, old, hdr(4096 + 12288 * 3)).expect("recycle");
        let names: Vec<Lsn> = list(&vfs, db).expect("list").into_iter().map(|(l, _)| l).collect();
        assert_eq!(names, vec![Lsn(4096 + 12288 * 3)]);
        assert_eq!(open(&vfs, &new.path).expect("open").1, Ok(hdr(4096 + 12288 * 3)));
    }

    #[test]
    fn enospc_while_creating_is_disk_full_and_leaves_nothing() {
        let vfs = SimVfs::new(1);
        vfs.set_capacity(Some(8192));
        let db = Path::new("/d/x.db");
        let e = create(&vfs, db, hdr(4096)).expect_err("full");
        assert!(matches!(e, Error::DiskFull { .. }), "{e}");
        assert!(list(&vfs, db).expect("list").is_empty());
        assert!(!vfs.exists(&tmp_path(db)).expect("exists"));
    }
}
