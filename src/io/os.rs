//! `OsVfs`: the real file system through `std::fs`.
//!
//! Each call maps one-to-one to a system call, so what the layers above ask
//! for is exactly what reaches the kernel:
//!
//! | `VfsFile` | Linux |
//! |---|---|
//! | `read_at` / `write_all_at` | `pread` / `pwrite` |
//! | `sync_data` | `fdatasync` |
//! | `sync_all` | `fsync` |
//! | `allocate` | `fallocate(2)` past the end (reserves real blocks, so ENOSPC surfaces here); zero-filled `pwrite`s where the file system cannot |
//! | `Vfs::sync_dir` | `open(dir)` + `fsync` |
//! | `Vfs::lock_exclusive` | `flock(LOCK_EX | LOCK_NB)` via `File::try_lock` |
//! | `Vfs::lock_shared` | `open(O_RDONLY)` + `flock(LOCK_SH | LOCK_NB)` via `File::try_lock_shared` |
//!
//! The `flock` is per open file description: a second handle in the same
//! process conflicts exactly like a second process, and the kernel drops the
//! lock when the last descriptor of it closes — when the process dies, so a
//! crash leaves no stale lock. A child forked while the database is open
//! shares the description until it execs (descriptors are close-on-exec) or
//! exits, and holds the lock that long.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{OpenMode, Vfs, VfsFile, VfsLock};

/// Bytes written per call when [`VfsFile::allocate`] zero-fills a new extent.
const ZERO_CHUNK: usize = 256 * 1024;

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsVfs;

impl OsVfs {
    /// A handle on the real file system.
    pub fn new() -> OsVfs {
        OsVfs
    }
}

#[derive(Debug)]
struct OsFile {
    file: File,
}

impl OsFile {
    /// Write zeros over `[from, to)`.
    fn write_zeros(&self, mut at: u64, to: u64) -> io::Result<()> {
        let zeros = vec![0u8; ZERO_CHUNK];
        while at < to {
            let n = (to - at).min(ZERO_CHUNK as u64) as usize;
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }
}

impl Vfs for OsVfs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VfsFile>> {
        let mut o = OpenOptions::new();
        match mode {
            OpenMode::Existing => o.read(true).write(true),
            OpenMode::ReadOnly => o.read(true),
            OpenMode::Create => o.read(true).write(true).create(true),
            OpenMode::CreateNew => o.read(true).write(true).create_new(true),
        };
        Ok(Arc::new(OsFile { file: o.open(path)? }))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // An fsync on the directory makes created, renamed and removed
        // entries durable (contract item 2).
        File::open(dir)?.sync_all()
    }

    fn lock_exclusive(&self, path: &Path) -> io::Result<VfsLock> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(VfsLock::new(Box::new(file))),
            Err(fs::TryLockError::WouldBlock) => {
                Err(io::Error::new(io::ErrorKind::WouldBlock, "file is locked by another handle"))
            }
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn lock_shared(&self, path: &Path) -> io::Result<VfsLock> {
        // Read-only: works on files and directories the process may not write.
        let file = File::open(path)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(VfsLock::new(Box::new(file))),
            Err(fs::TryLockError::WouldBlock) => {
                Err(io::Error::new(io::ErrorKind::WouldBlock, "file is locked by another handle"))
            }
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn random_u64(&self) -> u64 {
        // RandomState is seeded from the OS's randomness once per process
        // and perturbed per instance; mixing in the time keeps two databases
        // created in one process apart.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        h.write_u128(now);
        h.write_u32(std::process::id());
        h.finish()
    }
}

impl VfsFile for OsFile {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        loop {
            match self.file.read_at(buf, off) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    fn write_all_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        self.file.write_all_at(buf, off)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        let at = self.file.metadata()?.len();
        if len <= at {
            return Ok(());
        }
        match rustix::fs::fallocate(&self.file, rustix::fs::FallocateFlags::empty(), at, len - at) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
        // No fallocate here: write the zeros, which allocates just the same.
        self.write_zeros(at, len)
    }

    fn allocate_written(&self, len: u64) -> io::Result<()> {
        let at = self.file.metadata()?.len();
        // Reserve first, so that ENOSPC surfaces before any zero is written.
        self.allocate(len)?;
        self.write_zeros(at, len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_conflicts_across_handles_in_one_process() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("db");
        let vfs = OsVfs::new();
        let _g = vfs.lock_exclusive(&p).expect("lock");
        let other = OsVfs::new();
        let e = other.lock_exclusive(&p).expect_err("second handle must not lock");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn allocate_written_keeps_the_prefix_and_zero_fills_allocated_blocks() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("seg");
        let f = OsVfs::new().open(&p, OpenMode::CreateNew).expect("create");
        f.write_all_at(&[7u8; 100], 0).expect("write");
        f.allocate_written(1 << 20).expect("allocate");
        assert_eq!(f.len().expect("len"), 1 << 20);
        let mut buf = vec![1u8; 1 << 20];
        assert_eq!(f.read_at(&mut buf, 0).expect("read"), 1 << 20);
        assert!(buf[..100].iter().all(|&b| b == 7), "the bytes before the old end are kept");
        assert!(buf[100..].iter().all(|&b| b == 0), "the rest reads as zeros");
        let blocks = std::fs::metadata(&p).expect("stat").blocks() * 512;
        assert!(blocks >= 1 << 20, "every block is allocated ({blocks} bytes)");
    }

    #[test]
    fn random_ids_differ() {
        let v = OsVfs::new();
        assert_ne!(v.random_u64(), v.random_u64());
    }
}
