//! The I/O seam: the only module that touches the operating system's files.
//!
//! Every other layer reaches storage through [`Vfs`] and [`VfsFile`], so the
//! crash simulator ([`SimVfs`]) can stand in for the disk. Two implementations
//! ship, and both pass the same conformance tests (bottom of this file):
//!
//! - [`OsVfs`]: real files. `sync_data` is `fdatasync`, `sync_all` is `fsync`,
//!   `sync_dir` opens the directory and fsyncs it, `lock_exclusive` takes an
//!   `flock` held for the life of the returned guard (`lock_shared`: a
//!   shared `flock` on the file opened read-only).
//! - [`SimVfs`]: in memory, deterministic from a seed, keeping for every file
//!   what is *durable* apart from what is only *written*; it injects crashes,
//!   EIO/ENOSPC, the fsyncgate trap, torn sectors and bit flips.
//!
//! # Contract the layers above may assume
//!
//! 1. `write_all_at` writes every byte or returns an error; the bytes are
//!    visible to later reads at once, but durable only after `sync_data` or
//!    `sync_all` on the same file returns `Ok`.
//! 2. A created, renamed or removed directory entry is durable only after
//!    `sync_dir` on its parent returns `Ok`.
//! 3. No write is atomic: a crash may leave any subset of a write's sectors
//!    new, old, or garbage.
//! 4. After a failed `sync_*`, nothing is known about the unsynced bytes, and a
//!    later successful sync proves nothing about them (fsyncgate).
//! 5. Randomness (database ids) comes from [`Vfs::random_u64`], so a seeded
//!    simulation replays exactly.

mod os;
mod readonly;
mod sim;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use os::OsVfs;
pub use readonly::ReadOnlyVfs;
pub use sim::{
    CrashHook, CrashImage, Errno, Fault, LossMode, OpFilter, OpKind, SimStats, SimVfs, TraceEntry, When, WriteObserver,
};

/// How [`Vfs::open`] treats a missing or existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Open an existing file for reading and writing; `NotFound` if missing.
    Existing,
    /// Open an existing file for reading only; writes fail.
    ReadOnly,
    /// Open for reading and writing, creating the file if it is missing.
    Create,
    /// Create a new file; `AlreadyExists` if it is there.
    CreateNew,
}

/// A file system: the operations waldb needs on paths.
pub trait Vfs: Send + Sync + fmt::Debug {
    /// Open or create a file.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VfsFile>>;
    /// True when a file exists at `path`.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Remove a file. Durable only after [`Vfs::sync_dir`] of its directory.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Atomically rename `from` to `to`, replacing `to`. Durable only after
    /// [`Vfs::sync_dir`].
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// The files directly inside `dir`, as full paths, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Make the directory's entries durable (fsync on the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Take an exclusive lock on `path` (creating the file if missing), held
    /// until the returned guard is dropped. Fails at once with
    /// `ErrorKind::WouldBlock` when another holder has it.
    fn lock_exclusive(&self, path: &Path) -> io::Result<VfsLock>;
    /// Take a shared lock on the existing file `path`, held until the
    /// returned guard is dropped. It needs no write permission and never
    /// creates the file (`NotFound` if it is missing). Any number of shared
    /// holders coexist; it fails at once with `ErrorKind::WouldBlock` while
    /// an exclusive holder has the file, and an exclusive lock fails while
    /// a shared one is held. Read-only opens take it.
    fn lock_shared(&self, path: &Path) -> io::Result<VfsLock>;
    /// A random number (database ids). The simulator draws it from its seed.
    fn random_u64(&self) -> u64;
    /// The wall-clock time in milliseconds since 1970-01-01 UTC (SQL's
    /// `'now'`).
    fn now_unix_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// An open file.
pub trait VfsFile: Send + Sync + fmt::Debug {
    /// Read up to `buf.len()` bytes at `off`; fewer only at end of file.
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize>;
    /// Write all of `buf` at `off`, growing the file if needed.
    fn write_all_at(&self, buf: &[u8], off: u64) -> io::Result<()>;
    /// Set the file's length (truncate or extend with zeros, sparse).
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Grow the file to at least `len` bytes with blocks really allocated, so
    /// that running out of space surfaces here (ENOSPC) and not at a later
    /// write. Never shrinks.
    fn allocate(&self, len: u64) -> io::Result<()>;
    /// [`VfsFile::allocate`], and then every block between the old and the
    /// new length written with zeros: a later write there overwrites a
    /// written block, so its `fdatasync` has no metadata to commit (on ext4
    /// and XFS, a write into a merely allocated — "unwritten" — extent
    /// converts it, and the sync waits for a journal commit, as an append
    /// does). WAL segments are created this way. The default is `allocate`
    /// (right for a store without that distinction, like the simulator).
    fn allocate_written(&self, len: u64) -> io::Result<()> {
        self.allocate(len)
    }
    /// `fdatasync`: make written bytes (and the size needed to read them)
    /// durable.
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`: as `sync_data`, plus all metadata.
    fn sync_all(&self) -> io::Result<()>;
    /// Current length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// True when the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Read exactly `buf.len()` bytes at `off`, or fail with `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_at(&mut buf[done..], off + done as u64)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("short read: {done} of {} bytes at offset {off}", buf.len()),
                ));
            }
            done += n;
        }
        Ok(())
    }
}

/// An exclusive lock on a database path, released on drop.
pub struct VfsLock {
    _held: Box<dyn Send + Sync>,
}

impl VfsLock {
    /// Wrap whatever keeps the lock alive (an open `File`, a simulator token).
    pub fn new(held: Box<dyn Send + Sync>) -> VfsLock {
        VfsLock { _held: held }
    }
}

impl fmt::Debug for VfsLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VfsLock")
    }
}

/// The directory holding `path`, for [`Vfs::sync_dir`] after a change to it.
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod conformance {
    //! The same behaviour tests run against every `Vfs` implementation.

    use super::*;

    fn check_all(vfs: &dyn Vfs, dir: &Path) {
        read_your_writes(vfs, dir);
        open_modes(vfs, dir);
        rename_replaces_and_list_sorts(vfs, dir);
        lock_is_exclusive_until_dropped(vfs, dir);
        set_len_and_allocate(vfs, dir);
        read_only_refuses_writes(vfs, dir);
    }

    fn read_your_writes(vfs: &dyn Vfs, dir: &Path) {
        let p = dir.join("a");
        let f = vfs.open(&p, OpenMode::Create).expect("create");
        f.write_all_at(b"hello", 3).expect("write");
        assert_eq!(f.len().expect("len"), 8);
        let mut buf = [9u8; 8];
        f.read_exact_at(&mut buf, 0).expect("read");
        assert_eq!(&buf, b"\0\0\0hello");
        let mut tail = [0u8; 4];
        assert_eq!(f.read_at(&mut tail, 6).expect("read tail"), 2);
        assert!(f.read_exact_at(&mut tail, 6).is_err(), "short read must fail");
        f.sync_data().expect("sync_data");
        f.sync_all().expect("sync_all");
        vfs.sync_dir(dir).expect("sync_dir");
    }

    fn open_modes(vfs: &dyn Vfs, dir: &Path) {
        let p = dir.join("modes");
        let e = vfs.open(&p, OpenMode::Existing).expect_err("missing");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(!vfs.exists(&p).expect("exists"));
        vfs.open(&p, OpenMode::CreateNew).expect("create_new");
        assert!(vfs.exists(&p).expect("exists"));
        let e = vfs.open(&p, OpenMode::CreateNew).expect_err("exists");
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        vfs.open(&p, OpenMode::Existing).expect("existing");
        vfs.remove(&p).expect("remove");
        assert!(!vfs.exists(&p).expect("exists"));
    }

    fn rename_replaces_and_list_sorts(vfs: &dyn Vfs, dir: &Path) {
        let a = dir.join("r-b");
        let b = dir.join("r-a");
        vfs.open(&a, OpenMode::Create).expect("a").write_all_at(b"new", 0).expect("w");
        vfs.open(&b, OpenMode::Create).expect("b").write_all_at(b"old!", 0).expect("w");
        vfs.rename(&a, &b).expect("rename");
        let f = vfs.open(&b, OpenMode::Existing).expect("open renamed");
        assert_eq!(f.len().expect("len"), 3);
        let names = vfs.list(dir).expect("list");
        assert!(names.contains(&b) && !names.contains(&a), "{names:?}");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    fn lock_is_exclusive_until_dropped(vfs: &dyn Vfs, dir: &Path) {
        let p = dir.join("locked");
        let g = vfs.lock_exclusive(&p).expect("first lock");
        let e = vfs.lock_exclusive(&p).expect_err("second lock");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(g);
        let g = vfs.lock_exclusive(&p).expect("lock after release");
        let e = vfs.lock_shared(&p).expect_err("shared while exclusive");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(g);
        let s1 = vfs.lock_shared(&p).expect("shared");
        let s2 = vfs.lock_shared(&p).expect("second shared");
        let e = vfs.lock_exclusive(&p).expect_err("exclusive while shared");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(s1);
        assert_eq!(vfs.lock_exclusive(&p).expect_err("one shared left").kind(), io::ErrorKind::WouldBlock);
        drop(s2);
        vfs.lock_exclusive(&p).expect("exclusive after the shared ones");
        let e = vfs.lock_shared(&dir.join("missing")).expect_err("never creates");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(!vfs.exists(&dir.join("missing")).expect("exists"));
    }

    fn set_len_and_allocate(vfs: &dyn Vfs, dir: &Path) {
        let f = vfs.open(&dir.join("len"), OpenMode::Create).expect("create");
        f.set_len(10_000).expect("set_len");
        assert_eq!(f.len().expect("len"), 10_000);
        f.allocate(5_000).expect("allocate never shrinks");
        assert_eq!(f.len().expect("len"), 10_000);
        f.allocate(70_000).expect("allocate");
        assert_eq!(f.len().expect("len"), 70_000);
        let mut buf = [1u8; 16];
        f.read_exact_at(&mut buf, 69_000).expect("read");
        assert_eq!(buf, [0u8; 16]);
        f.set_len(4).expect("shrink");
        assert_eq!(f.len().expect("len"), 4);
    }

    fn read_only_refuses_writes(vfs: &dyn Vfs, dir: &Path) {
        let p = dir.join("ro");
        vfs.open(&p, OpenMode::Create).expect("c").write_all_at(b"x", 0).expect("w");
        let f = vfs.open(&p, OpenMode::ReadOnly).expect("ro");
        assert!(f.write_all_at(b"y", 0).is_err());
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, 0).expect("read");
        assert_eq!(&b, b"x");
    }

    #[test]
    fn os_vfs_conforms() {
        let dir = tempfile::tempdir().expect("temp dir");
        check_all(&OsVfs::new(), dir.path());
    }

    #[test]
    fn sim_vfs_conforms() {
        check_all(&SimVfs::new(1), Path::new("/sim"));
    }
}
