//! The data file: pages by number, read and verified, sealed and written,
//! extended in chunks, synced — and the fail-stop latch over all of it.
//!
//! No caching here; the buffer pool above decides what is read and written.
//!
//! # Rules kept here
//!
//! - **Exclusive use.** Opening takes [`Vfs::lock_exclusive`] on the file and
//!   holds it for the life of the `DataFile`; a second opener gets
//!   [`Error::Locked`] at once. A read-only open takes
//!   [`Vfs::lock_shared`] instead: read-only opens coexist, a writer and a
//!   reader do not.
//! - **Verified reads.** Every page read is checked ([`page::verify`]); a page
//!   that fails is [`Error::Corrupt`], never returned.
//! - **Space before writes.** Before a page past the end of the file is
//!   written, the file grows by a whole chunk with [`VfsFile::allocate`], so
//!   running out of space surfaces as [`Error::DiskFull`] while nothing has
//!   been written, and the database stays usable (`docs/TESTING.md` fault-catalogue row 10).
//! - **Fail stop (`docs/DESIGN.md` invariant 7).** A failed write or sync latches the file:
//!   every later write or sync returns [`Error::Poisoned`]. After a failed
//!   fsync the kernel may have dropped the dirty pages, so a retry that
//!   succeeded would prove nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, Poison, Result, is_disk_full};
use crate::ids::{DbId, PageId};
use crate::io::{OpenMode, Vfs, VfsFile, VfsLock, parent_dir};

use super::header::{self, FileHeader};
use super::page;

/// Smallest growth step of the file, in pages.
const MIN_GROWTH_PAGES: u64 = 16;
/// Largest growth step of the file, in bytes.
const MAX_GROWTH_BYTES: u64 = 8 << 20;

/// Counters of a data file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Pages read from disk.
    pub page_reads: u64,
    /// Pages written to disk.
    pub page_writes: u64,
    /// Successful syncs.
    pub syncs: u64,
}

/// An open, locked database file.
#[derive(Debug)]
pub struct DataFile {
    path: PathBuf,
    file: Arc<dyn VfsFile>,
    page_size: usize,
    /// Bytes the file is known to span (what `allocate` reached).
    len: Mutex<u64>,
    /// Set by the first failed write or sync; never cleared.
    failed: Mutex<Option<Poison>>,
    page_reads: AtomicU64,
    page_writes: AtomicU64,
    syncs: AtomicU64,
    _lock: VfsLock,
}

/// What [`DataFile::open_or_create`] found.
#[derive(Debug)]
pub struct Opened {
    /// The open file.
    pub file: DataFile,
    /// Its header as read (or as written, when created).
    pub header: FileHeader,
    /// True when the file was empty or missing and has just been initialised.
    pub created: bool,
}

impl DataFile {
    /// Take the database's exclusive lock; [`Error::Locked`] at once if
    /// another handle or process holds it.
    pub fn lock(vfs: &dyn Vfs, path: &Path) -> Result<VfsLock> {
        vfs.lock_exclusive(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::Locked { path: path.to_path_buf() }
            } else {
                Error::io("lock", path, e)
            }
        })
    }

    /// Take the database's shared lock for a read-only open (no write
    /// permission needed, nothing created): [`Error::Locked`] at once while
    /// a read-write handle or process has it; an I/O error (`NotFound`) when
    /// there is no database file.
    pub fn lock_shared(vfs: &dyn Vfs, path: &Path) -> Result<VfsLock> {
        vfs.lock_shared(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::Locked { path: path.to_path_buf() }
            } else {
                Error::io("open read-only", path, e)
            }
        })
    }

    /// What the file at `path` holds now: `None` when it is missing or
    /// empty, else the page size its header names. A file that is not a
    /// waldb database is refused, never to be overwritten.
    pub fn probe(vfs: &dyn Vfs, path: &Path) -> Result<Option<usize>> {
        let file = match vfs.open(path, OpenMode::ReadOnly) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open", path, e)),
        };
        let len = file.len().map_err(|e| Error::io("stat", path, e))?;
        if len == 0 {
            return Ok(None);
        }
        let mut first = vec![0u8; page::MIN_PAGE_SIZE];
        let n = file.read_at(&mut first, 0).map_err(|e| Error::io("read", path, e))?;
        if n < first.len() {
            return Err(Error::CorruptFile {
                file: path.to_path_buf(),
                reason: format!("file is {len} bytes, too short to be a waldb database"),
            });
        }
        header::peek(&first, path).map(|(_, page_size)| Some(page_size))
    }

    /// Initialise the file at `path` as an empty database (page 0 only),
    /// durably: the header and the file's directory entry are synced.
    pub fn create(vfs: &dyn Vfs, path: &Path, page_size: usize, db_id: DbId, lock: VfsLock) -> Result<Opened> {
        page::validate_page_size(page_size)?;
        let file = vfs.open(path, OpenMode::Create).map_err(|e| Error::io("open", path, e))?;
        file.set_len(0).map_err(|e| Error::io("truncate", path, e))?;
        let header = FileHeader::new(page_size, db_id);
        let mut buf = vec![0u8; page_size];
        header.encode(&mut buf, true);
        page::seal(&mut buf, PageId::HEADER);
        file.write_all_at(&buf, 0).map_err(|e| Error::io("write", path, e))?;
        // The header must be on disk, and the file's name in its directory,
        // before anything can depend on this database.
        file.sync_all().map_err(|e| Error::io("fsync", path, e))?;
        vfs.sync_dir(&parent_dir(path)).map_err(|e| Error::io("fsync directory", path, e))?;
        let file = DataFile::new(path, file, page_size, page_size as u64, lock);
        Ok(Opened { file, header, created: true })
    }

    /// Open an existing database file whose page size is known (from the
    /// control file) without trusting page 0: recovery may have to rebuild
    /// it from the log first.
    pub fn open_raw(vfs: &dyn Vfs, path: &Path, page_size: usize, lock: VfsLock) -> Result<DataFile> {
        page::validate_page_size(page_size)?;
        let file = vfs.open(path, OpenMode::Existing).map_err(|e| Error::io("open", path, e))?;
        let len = file.len().map_err(|e| Error::io("stat", path, e))?;
        Ok(DataFile::new(path, file, page_size, len, lock))
    }

    /// Lock and open the database file at `path`, creating and initialising
    /// it (with `page_size` and a fresh random id) when it is missing or
    /// empty. A non-empty file that is not a waldb database is refused, never
    /// overwritten. (Storage-level use only: the transaction layer opens
    /// through the control file and recovery.)
    pub fn open_or_create(vfs: &dyn Vfs, path: &Path, page_size: usize) -> Result<Opened> {
        page::validate_page_size(page_size)?;
        let lock = DataFile::lock(vfs, path)?;
        let Some(existing) = DataFile::probe(vfs, path)? else {
            return DataFile::create(vfs, path, page_size, DbId(vfs.random_u64()), lock);
        };
        let file = DataFile::open_raw(vfs, path, existing, lock)?;
        let mut buf = vec![0u8; existing];
        file.read_page(PageId::HEADER, &mut buf)?;
        let header = FileHeader::decode(&buf, path)?;
        Ok(Opened { file, header, created: false })
    }

    fn new(path: &Path, file: Arc<dyn VfsFile>, page_size: usize, len: u64, lock: VfsLock) -> DataFile {
        DataFile {
            path: path.to_path_buf(),
            file,
            page_size,
            len: Mutex::new(len),
            failed: Mutex::new(None),
            page_reads: AtomicU64::new(0),
            page_writes: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            _lock: lock,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes per page.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Counters.
    pub fn stats(&self) -> FileStats {
        FileStats {
            page_reads: self.page_reads.load(Ordering::Relaxed),
            page_writes: self.page_writes.load(Ordering::Relaxed),
            syncs: self.syncs.load(Ordering::Relaxed),
        }
    }

    /// The reason the file is latched failed, if it is.
    pub fn failure(&self) -> Option<String> {
        self.failed.lock().as_ref().map(|p| p.reason().to_string())
    }

    /// The file's poison latch (reason and OS error), if it failed.
    pub fn poison(&self) -> Option<Poison> {
        self.failed.lock().clone()
    }

    fn check_failed(&self) -> Result<()> {
        match &*self.failed.lock() {
            Some(p) => Err(p.error()),
            None => Ok(()),
        }
    }

    fn latch(&self, op: &'static str, e: std::io::Error) -> Error {
        let err = Error::io(op, &self.path, e);
        self.failed.lock().get_or_insert_with(|| Poison::new(err.to_string(), &err));
        err
    }

    fn offset(&self, id: PageId) -> u64 {
        u64::from(id.0) * self.page_size as u64
    }

    /// Read page `id` into `buf` and verify it. Refused once the file is
    /// latched failed: after a failed write or fsync the bytes on disk may be
    /// an old version of a page the pool already let go (fail stop).
    pub fn read_page(&self, id: PageId, buf: &mut [u8]) -> Result<()> {
        debug_assert_eq!(buf.len(), self.page_size);
        self.check_failed()?;
        let off = self.offset(id);
        match self.file.read_at(buf, off) {
            Ok(n) if n == buf.len() => {}
            Ok(n) => {
                return Err(Error::Corrupt {
                    file: self.path.clone(),
                    page: id,
                    reason: format!("page lies past the end of the file (read {n} bytes)"),
                });
            }
            Err(e) => return Err(Error::io("read", &self.path, e)),
        }
        self.page_reads.fetch_add(1, Ordering::Relaxed);
        page::verify(buf, id, &self.path)
    }

    /// Seal page `id` (page id and checksum) and write it.
    pub fn write_page(&self, id: PageId, buf: &mut [u8]) -> Result<()> {
        debug_assert_eq!(buf.len(), self.page_size);
        self.check_failed()?;
        let off = self.offset(id);
        self.ensure_len(off + self.page_size as u64)?;
        page::seal(buf, id);
        match self.file.write_all_at(buf, off) {
            Ok(()) => {
                self.page_writes.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            // Out of space inside an allocated extent (thin provisioning):
            // the page stays dirty in memory and the WAL still holds it.
            Err(e) if is_disk_full(&e) => Err(Error::io("write", &self.path, e)),
            Err(e) => Err(self.latch("write", e)),
        }
    }

    /// Grow the file to cover at least `bytes`, a chunk at a time.
    fn ensure_len(&self, bytes: u64) -> Result<()> {
        let mut len = self.len.lock();
        if *len >= bytes {
            return Ok(());
        }
        let step = (*len / 8).clamp(MIN_GROWTH_PAGES * self.page_size as u64, MAX_GROWTH_BYTES);
        let target = bytes.max(*len + step).next_multiple_of(self.page_size as u64);
        let grown = match self.file.allocate(target) {
            Ok(()) => Ok(target),
            // The full chunk did not fit; try for exactly what is needed.
            Err(e) if is_disk_full(&e) && target > bytes => self.file.allocate(bytes).map(|()| bytes),
            Err(e) => Err(e),
        };
        match grown {
            Ok(n) => {
                *len = n;
                Ok(())
            }
            Err(e) if is_disk_full(&e) => Err(Error::io("grow", &self.path, e)),
            Err(e) => Err(self.latch("grow", e)),
        }
    }

    /// Make every written page durable (`fdatasync`). A failure latches the
    /// file: nothing written before it can be trusted to be on disk.
    pub fn sync(&self) -> Result<()> {
        self.check_failed()?;
        self.file.sync_data().map_err(|e| self.latch("fsync", e))?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{Errno, Fault, LossMode, OpFilter, OpKind, SimVfs, When};
    use crate::storage::page::PageType;

    fn db() -> PathBuf {
        PathBuf::from("/d/t.db")
    }

    fn page(ps: usize, id: u32, fill: u8) -> Vec<u8> {
        let mut b = vec![0u8; ps];
        page::init(&mut b, PageId(id), PageType::Overflow, crate::ids::Lsn(1));
        b[100..200].fill(fill);
        b
    }

    #[test]
    fn create_then_reopen_reads_the_same_header() {
        let vfs = SimVfs::new(1);
        let o = DataFile::open_or_create(&vfs, &db(), 1024).expect("create");
        assert!(o.created);
        let h = o.header.clone();
        drop(o);
        // Creation synced file and directory: it survives power loss.
        let vfs = vfs.reboot(LossMode::DropAll);
        let o = DataFile::open_or_create(&vfs, &db(), 4096).expect("reopen");
        assert!(!o.created);
        assert_eq!(o.header, h, "page size comes from the file, not the argument");
        assert_eq!(o.file.page_size(), 1024);
    }

    #[test]
    fn second_open_is_locked() {
        let vfs = SimVfs::new(1);
        let _first = DataFile::open_or_create(&vfs, &db(), 4096).expect("create");
        let e = DataFile::open_or_create(&vfs, &db(), 4096).expect_err("locked");
        assert!(matches!(e, Error::Locked { .. }), "{e}");
    }

    #[test]
    fn written_pages_read_back_and_flips_are_corrupt() {
        let vfs = SimVfs::new(1);
        let o = DataFile::open_or_create(&vfs, &db(), 1024).expect("create");
        let f = o.file;
        let mut p = page(1024, 5, 7);
        f.write_page(PageId(5), &mut p).expect("write");
        let mut r = vec![0u8; 1024];
        f.read_page(PageId(5), &mut r).expect("read");
        assert_eq!(r, p);
        assert!(vfs.live_bytes(&db()).expect("file").len() >= 16 * 1024, "grew by a chunk");
        vfs.flip_bit(&db(), 5 * 1024 + 150, 2).expect("flip");
        let e = f.read_page(PageId(5), &mut r).expect_err("corrupt");
        assert!(matches!(e, Error::Corrupt { page: PageId(5), .. }), "{e}");
        let e = f.read_page(PageId(9_999), &mut r).expect_err("past end");
        assert!(e.to_string().contains("past the end"), "{e}");
    }

    #[test]
    fn failed_sync_poisons_every_later_write_sync_and_read() {
        let vfs = SimVfs::new(1);
        let f = DataFile::open_or_create(&vfs, &db(), 1024).expect("create").file;
        vfs.add_fault(Fault::FailSyncLosingData(When::Nth(OpFilter::ops(&[OpKind::SyncData]), 0)));
        let mut p = page(1024, 1, 1);
        f.write_page(PageId(1), &mut p).expect("write");
        assert!(matches!(f.sync(), Err(Error::Io { .. })));
        assert!(matches!(f.sync(), Err(Error::Poisoned { .. })), "no retry that pretends success");
        assert!(matches!(f.write_page(PageId(1), &mut p), Err(Error::Poisoned { .. })));
        // A page read back now could be an old version of one the pool let
        // go: refused too (fail stop, `docs/DESIGN.md` invariant 7).
        let mut r = vec![0u8; 1024];
        assert!(matches!(f.read_page(PageId(1), &mut r), Err(Error::Poisoned { .. })));
    }

    #[test]
    fn enospc_while_growing_is_disk_full_and_not_poison() {
        let vfs = SimVfs::new(1);
        let f = DataFile::open_or_create(&vfs, &db(), 1024).expect("create").file;
        vfs.set_capacity(Some(4 * 1024));
        let mut p = page(1024, 20, 1);
        let e = f.write_page(PageId(20), &mut p).expect_err("full");
        assert!(matches!(e, Error::DiskFull { .. }), "{e}");
        let mut q = page(1024, 2, 1);
        f.write_page(PageId(2), &mut q).expect("a page that fits still writes");
        f.sync().expect("not poisoned");
        vfs.set_capacity(None);
        f.write_page(PageId(20), &mut p).expect("space freed");
    }

    #[test]
    fn eio_on_write_poisons() {
        let vfs = SimVfs::new(1);
        let f = DataFile::open_or_create(&vfs, &db(), 1024).expect("create").file;
        vfs.add_fault(Fault::Fail {
            when: When::Nth(OpFilter::ops(&[OpKind::Write]), 0),
            errno: Errno::Eio,
            persistent: false,
        });
        let mut p = page(1024, 1, 1);
        assert!(matches!(f.write_page(PageId(1), &mut p), Err(Error::Io { .. })));
        assert!(matches!(f.write_page(PageId(1), &mut p), Err(Error::Poisoned { .. })));
        assert!(f.failure().is_some());
    }

    #[test]
    fn foreign_and_short_files_are_refused_not_overwritten() {
        let vfs = SimVfs::new(1);
        let f = vfs.open(&db(), OpenMode::Create).expect("create");
        f.write_all_at(b"hello, I am a text file", 0).expect("write");
        let e = DataFile::open_or_create(&vfs, &db(), 4096).expect_err("short");
        assert!(matches!(e, Error::CorruptFile { .. }), "{e}");
        f.write_all_at(&[b'x'; 4096], 0).expect("write");
        let e = DataFile::open_or_create(&vfs, &db(), 4096).expect_err("foreign");
        assert!(e.to_string().contains("not a waldb database"), "{e}");
        assert_eq!(vfs.live_bytes(&db()).expect("file")[0], b'x', "untouched");
    }
}
