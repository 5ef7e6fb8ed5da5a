//! A file system whose `fdatasync` takes a fixed time: any [`Vfs`] (usually
//! `SimVfs`) with a sleep before each file sync, so that tests of group
//! commit see a disk whose flushes cost what a real one's do — long enough,
//! next to in-memory composing, that who joins a batch does not depend on
//! the machine's speed.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use waldb::io::{OpenMode, Vfs, VfsFile, VfsLock};

/// `inner`, with every file's `sync_data`/`sync_all` taking `delay` longer.
#[derive(Debug)]
pub struct SlowSync {
    pub inner: Arc<dyn Vfs>,
    pub delay: Duration,
}

#[derive(Debug)]
struct SlowFile {
    inner: Arc<dyn VfsFile>,
    delay: Duration,
}

impl Vfs for SlowSync {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VfsFile>> {
        Ok(Arc::new(SlowFile { inner: self.inner.open(path, mode)?, delay: self.delay }))
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.list(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
    fn lock_exclusive(&self, path: &Path) -> io::Result<VfsLock> {
        self.inner.lock_exclusive(path)
    }
    fn lock_shared(&self, path: &Path) -> io::Result<VfsLock> {
        self.inner.lock_shared(path)
    }
    fn random_u64(&self) -> u64 {
        self.inner.random_u64()
    }
}

impl VfsFile for SlowFile {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        self.inner.read_at(buf, off)
    }
    fn write_all_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        self.inner.write_all_at(buf, off)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn allocate(&self, len: u64) -> io::Result<()> {
        self.inner.allocate(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        std::thread::sleep(self.delay);
        self.inner.sync_data()
    }
    fn sync_all(&self) -> io::Result<()> {
        std::thread::sleep(self.delay);
        self.inner.sync_all()
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
}
