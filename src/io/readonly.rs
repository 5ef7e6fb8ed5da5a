//! [`ReadOnlyVfs`]: a [`Vfs`] wrapper that can only read.
//!
//! Tools that inspect a database without touching it (`waldb wal dump`, the
//! first phase of `waldb check`) go through it: every file opens read-only
//! (an `Existing` open becomes `ReadOnly`, so the layers' read paths work
//! unchanged), and every operation that could change the disk — creating a
//! file, removing, renaming, syncing a directory, taking the database lock —
//! fails with `PermissionDenied`. Nothing done through it can modify a file.
//! A shared lock ([`Vfs::lock_shared`]) passes through: it needs no write
//! permission and changes nothing on disk, and it keeps a writer out while
//! a read-only open holds the database.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{OpenMode, Vfs, VfsFile, VfsLock};

/// A read-only view of another [`Vfs`].
#[derive(Debug, Clone)]
pub struct ReadOnlyVfs {
    inner: Arc<dyn Vfs>,
}

impl ReadOnlyVfs {
    /// Wrap `inner`.
    pub fn new(inner: Arc<dyn Vfs>) -> ReadOnlyVfs {
        ReadOnlyVfs { inner }
    }
}

fn denied(what: &str, path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, format!("read-only access: cannot {what} {}", path.display()))
}

impl Vfs for ReadOnlyVfs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VfsFile>> {
        match mode {
            OpenMode::Existing | OpenMode::ReadOnly => self.inner.open(path, OpenMode::ReadOnly),
            OpenMode::Create | OpenMode::CreateNew => Err(denied("create", path)),
        }
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        Err(denied("remove", path))
    }

    fn rename(&self, from: &Path, _to: &Path) -> io::Result<()> {
        Err(denied("rename", from))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.list(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        Err(denied("sync directory", dir))
    }

    fn lock_exclusive(&self, path: &Path) -> io::Result<VfsLock> {
        Err(denied("lock", path))
    }

    fn lock_shared(&self, path: &Path) -> io::Result<VfsLock> {
        self.inner.lock_shared(path)
    }

    fn random_u64(&self) -> u64 {
        self.inner.random_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::SimVfs;

    #[test]
    fn reads_pass_and_every_change_is_refused() {
        let sim = SimVfs::new(3);
        let p = Path::new("/d/f");
        sim.open(p, OpenMode::Create).expect("create").write_all_at(b"abc", 0).expect("write");
        let ro = ReadOnlyVfs::new(Arc::new(sim.clone()));
        let f = ro.open(p, OpenMode::Existing).expect("existing opens read-only");
        let mut b = [0u8; 3];
        f.read_exact_at(&mut b, 0).expect("read");
        assert_eq!(&b, b"abc");
        assert!(f.write_all_at(b"x", 0).is_err(), "writes fail");
        assert!(ro.exists(p).expect("exists"));
        assert_eq!(ro.list(Path::new("/d")).expect("list"), vec![p.to_path_buf()]);
        for e in [
            ro.open(Path::new("/d/g"), OpenMode::Create).map(|_| ()),
            ro.open(p, OpenMode::CreateNew).map(|_| ()),
            ro.remove(p),
            ro.rename(p, Path::new("/d/h")),
            ro.sync_dir(Path::new("/d")),
            ro.lock_exclusive(p).map(|_| ()),
        ] {
            assert_eq!(e.expect_err("refused").kind(), io::ErrorKind::PermissionDenied);
        }
        assert_eq!(sim.live_bytes(p).expect("still there"), b"abc");
    }
}
