//! The buffer pool: a fixed set of frames caching pages of the data file.
//!
//! # Structure
//!
//! ```text
//!   frames: [Frame; max_frames]   fixed for the pool's life; guards borrow them
//!   Mutex<PoolInner> { map: PageId → frame index, frames in use, clock hand }
//!   Frame { pins: AtomicU32, referenced: AtomicBool, data: RwLock<FrameData> }
//!   FrameData { id, valid, dirty, uncommitted, commit_lsn, buf: [u8; page_size] }
//! ```
//!
//! A caller gets a [`PageRef`] (shared latch) or [`PageMut`] (exclusive
//! latch); both pin the frame for their life. Pinning happens under the pool
//! mutex; latching happens after it is released, so a thread never blocks on
//! a latch while holding the mutex (the evictor only ever `try`-latches).
//!
//! # Rules kept here
//!
//! 1. **The WAL rule (`docs/DESIGN.md` invariant 1).** `BufferPool::write_back` is the only
//!    path to the disk, and it first asks the [`LogFlusher`] to make the log
//!    durable up to the page's LSN.
//! 2. **No steal (`docs/DESIGN.md` invariant 3).** A frame marked *uncommitted* (see
//!    [`PageMut::set_uncommitted`]) is never evicted and never written back.
//!    When every frame is pinned or uncommitted, the pool grows up to
//!    `max_frames`, then fails with [`Error::BufferPoolFull`].
//!    The mark is cleared once the transaction's `COMMIT` is *appended*, so
//!    the next writer can run while the group flush is in flight (early lock
//!    release). A flush may carry a transaction's page records but not its
//!    `COMMIT` (it took the buffer in between), so the page's LSN alone does
//!    not say the commit is durable: each frame also remembers the LSN of
//!    the `COMMIT` of the transaction that last changed it
//!    ([`PageMut::set_commit_lsn`]), and write-back makes the log durable
//!    past the larger of the two. In debug builds every write checks this as
//!    an oracle.
//! 3. **Fail stop (`docs/DESIGN.md` invariant 7).** After the log is poisoned or the data file
//!    latched failed, no page is written back and no page is read in: the
//!    file's state is unknown, and an evicted page read back could be an old
//!    version.
//! 4. **Verified loads.** Pages come in through [`DataFile::read_page`], which
//!    checks the checksum; a page that fails never enters the pool.
//!
//! # Eviction
//!
//! Clock (second chance): the hand skips pinned frames and clears reference
//! bits. The first two sweeps take only clean frames, so a miss rarely waits
//! for a write; the third takes a dirty one and writes it back first.

use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::{Error, Result};
use crate::ids::{Lsn, PageId};
use crate::storage::{DataFile, PageStore, page};

use super::flusher::LogFlusher;

/// Default pool size in bytes.
pub const DEFAULT_POOL_BYTES: usize = 64 << 20;

/// Sizing of a buffer pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// Frames the pool fills before it starts evicting.
    pub frames: usize,
    /// Hard cap: the pool grows past `frames` only when nothing can be
    /// evicted (pinned or uncommitted pages), up to this many.
    pub max_frames: usize,
}

impl PoolOptions {
    /// A pool of about `bytes` bytes of `page_size` pages, that never grows.
    pub fn with_bytes(bytes: usize, page_size: usize) -> PoolOptions {
        let frames = (bytes / page_size).max(MIN_FRAMES);
        PoolOptions { frames, max_frames: frames }
    }
}

/// Fewest frames a pool may have: enough for the deepest set of pages one
/// operation holds at once.
pub const MIN_FRAMES: usize = 8;

/// Counters of a buffer pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Fetches served from a frame.
    pub hits: u64,
    /// Fetches that loaded (or created) a page.
    pub misses: u64,
    /// Pages evicted to make room.
    pub evictions: u64,
    /// Pages written back to the data file.
    pub page_writes: u64,
    /// Times the pool asked the log to flush before a write.
    pub log_flushes: u64,
    /// Frames currently allocated.
    pub frames: u64,
}

impl PoolStats {
    /// hits / (hits + misses), or 0 with no fetches.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 { 0.0 } else { self.hits as f64 / total as f64 }
    }
}

/// The contents of a frame, behind its latch.
#[derive(Debug)]
pub struct FrameData {
    id: PageId,
    valid: bool,
    dirty: bool,
    uncommitted: bool,
    /// LSN of the `COMMIT` record of the transaction that last changed the
    /// page (zero: none since it was loaded, so its changes are durable).
    commit_lsn: Lsn,
    buf: Box<[u8]>,
}

#[derive(Debug)]
struct Frame {
    pins: AtomicU32,
    referenced: AtomicBool,
    data: RwLock<FrameData>,
}

impl Frame {
    fn empty() -> Frame {
        Frame {
            pins: AtomicU32::new(0),
            referenced: AtomicBool::new(false),
            data: RwLock::new(FrameData {
                id: PageId::NONE,
                valid: false,
                dirty: false,
                uncommitted: false,
                commit_lsn: Lsn::ZERO,
                buf: Box::default(),
            }),
        }
    }
}

type WriteGuard<'a> = RwLockWriteGuard<'a, FrameData>;
type ReadGuard<'a> = RwLockReadGuard<'a, FrameData>;

/// A hasher for page ids: one multiply. The page table is looked up on
/// every fetch, and the default SipHash costs more than the rest of a hit.
#[derive(Default)]
struct PageIdHasher(u64);

impl std::hash::Hasher for PageIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type PageTable = HashMap<PageId, usize, std::hash::BuildHasherDefault<PageIdHasher>>;

#[derive(Debug)]
struct PoolInner {
    map: PageTable,
    /// Frames in use: `frames[..used]` have buffers.
    used: usize,
    hand: usize,
}

/// A page cache over one data file.
pub struct BufferPool {
    file: DataFile,
    flusher: Arc<dyn LogFlusher>,
    opts: PoolOptions,
    /// `max_frames` frames, fixed for the pool's life so guards can borrow
    /// them; a frame's page buffer is allocated when it is first used.
    frames: Box<[Frame]>,
    inner: Mutex<PoolInner>,
    uncommitted: AtomicUsize,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    page_writes: AtomicU64,
    log_flushes: AtomicU64,
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool").field("file", &self.file.path()).field("opts", &self.opts).finish()
    }
}

/// A pinned page under a shared latch.
pub struct PageRef<'a> {
    frame: &'a Frame,
    guard: Option<ReadGuard<'a>>,
}

/// A pinned page under an exclusive latch.
pub struct PageMut<'a> {
    frame: &'a Frame,
    uncommitted: &'a AtomicUsize,
    guard: Option<WriteGuard<'a>>,
}

impl BufferPool {
    /// A pool over `file` that keeps the WAL rule with `flusher`.
    pub fn new(file: DataFile, flusher: Arc<dyn LogFlusher>, opts: PoolOptions) -> BufferPool {
        let frames = opts.frames.max(MIN_FRAMES);
        let opts = PoolOptions { frames, max_frames: opts.max_frames.max(frames) };
        BufferPool {
            file,
            flusher,
            opts,
            frames: (0..opts.max_frames).map(|_| Frame::empty()).collect(),
            inner: Mutex::new(PoolInner { map: PageTable::default(), used: 0, hand: 0 }),
            uncommitted: AtomicUsize::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            page_writes: AtomicU64::new(0),
            log_flushes: AtomicU64::new(0),
        }
    }

    /// The data file under the pool.
    pub fn file(&self) -> &DataFile {
        &self.file
    }

    /// The pool's sizing.
    pub fn options(&self) -> PoolOptions {
        self.opts
    }

    /// Counters.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            page_writes: self.page_writes.load(Ordering::Relaxed),
            log_flushes: self.log_flushes.load(Ordering::Relaxed),
            frames: self.inner.lock().used as u64,
        }
    }

    fn used(&self) -> &[Frame] {
        &self.frames[..self.inner.lock().used]
    }

    /// Fetch a page for reading.
    pub fn fetch(&self, id: PageId) -> Result<PageRef<'_>> {
        let (frame, loaded) = self.pin(id, false)?;
        let guard = match loaded {
            Some(w) => RwLockWriteGuard::downgrade(w),
            None => frame.data.read(),
        };
        Ok(PageRef { frame, guard: Some(guard) })
    }

    /// Fetch a page for writing; it becomes dirty.
    pub fn fetch_mut(&self, id: PageId) -> Result<PageMut<'_>> {
        let mut p = self.fetch_exclusive(id)?;
        p.set_dirty(true);
        Ok(p)
    }

    /// Fetch a page under its exclusive latch without marking it dirty: the
    /// caller marks it ([`PageMut::set_dirty`]) if it changes the page. A
    /// page written back without a change logged since the last checkpoint
    /// could tear where the log holds no image to repair it.
    pub fn fetch_exclusive(&self, id: PageId) -> Result<PageMut<'_>> {
        let (frame, loaded) = self.pin(id, false)?;
        let guard = match loaded {
            Some(w) => w,
            None => frame.data.write(),
        };
        Ok(PageMut { frame, uncommitted: &self.uncommitted, guard: Some(guard) })
    }

    /// A page that has never been written: zero-filled in a frame, not read
    /// from disk; it becomes dirty.
    pub fn fetch_new(&self, id: PageId) -> Result<PageMut<'_>> {
        let (frame, loaded) = self.pin(id, true)?;
        let mut guard = match loaded {
            Some(w) => w,
            None => {
                let mut w = frame.data.write();
                w.buf.fill(0);
                w
            }
        };
        guard.dirty = true;
        Ok(PageMut { frame, uncommitted: &self.uncommitted, guard: Some(guard) })
    }

    /// Pin the frame holding `id`, loading it on a miss. On a miss the frame
    /// comes back still under the write latch used to load it.
    fn pin(&self, id: PageId, new: bool) -> Result<(&Frame, Option<WriteGuard<'_>>)> {
        let mut inner = self.inner.lock();
        if let Some(&i) = inner.map.get(&id) {
            let frame = &self.frames[i];
            frame.pins.fetch_add(1, Ordering::AcqRel);
            frame.referenced.store(true, Ordering::Relaxed);
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((frame, None));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let (i, mut g) = self.victim(&mut inner)?;
        if g.valid {
            if g.dirty {
                self.write_back(&mut g)?;
            }
            inner.map.remove(&g.id);
            g.valid = false;
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        if new {
            g.buf.fill(0);
        } else {
            self.check_log()?;
            self.file.read_page(id, &mut g.buf)?;
        }
        g.id = id;
        g.valid = true;
        g.dirty = false;
        g.uncommitted = false;
        g.commit_lsn = Lsn::ZERO;
        inner.map.insert(id, i);
        let frame = &self.frames[i];
        frame.pins.store(1, Ordering::Release);
        frame.referenced.store(true, Ordering::Relaxed);
        Ok((frame, Some(g)))
    }

    /// Choose a frame to (re)use: a new one while under the target, else the
    /// clock's pick, else a new one up to the hard cap.
    fn victim(&self, inner: &mut PoolInner) -> Result<(usize, WriteGuard<'_>)> {
        if inner.used < self.opts.frames {
            return Ok(self.add_frame(inner));
        }
        let n = inner.used;
        // A large transaction fills the pool with pages it may not lose (no
        // steal): once they are half of it, grow instead of sweeping frames
        // that cannot be evicted.
        if self.uncommitted.load(Ordering::Relaxed) * 2 >= n && n < self.opts.max_frames {
            return Ok(self.add_frame(inner));
        }
        for sweep in 0..3 {
            for _ in 0..n {
                let i = inner.hand;
                inner.hand = (inner.hand + 1) % n;
                let f = &self.frames[i];
                if f.pins.load(Ordering::Acquire) > 0 || f.referenced.swap(false, Ordering::Relaxed) {
                    continue;
                }
                let Some(g) = f.data.try_write() else { continue };
                if g.uncommitted || (g.dirty && sweep < 2) {
                    continue;
                }
                return Ok((i, g));
            }
        }
        if inner.used < self.opts.max_frames {
            return Ok(self.add_frame(inner));
        }
        Err(Error::BufferPoolFull { frames: inner.used })
    }

    /// Bring the next unused frame into use (allocating its buffer).
    fn add_frame(&self, inner: &mut PoolInner) -> (usize, WriteGuard<'_>) {
        let i = inner.used;
        inner.used += 1;
        let mut g = self.frames[i].data.write();
        g.buf = vec![0u8; self.file.page_size()].into_boxed_slice();
        (i, g)
    }

    /// Fail with [`Error::Poisoned`] once the log is poisoned (fail stop).
    fn check_log(&self) -> Result<()> {
        self.flusher.check()
    }

    /// Write one dirty frame to the data file, keeping the WAL rule and no
    /// steal: the log must be durable past the page's LSN and past the
    /// `COMMIT` of the transaction that last changed it before the page may
    /// reach disk (module doc, rules 1 and 2).
    fn write_back(&self, g: &mut FrameData) -> Result<()> {
        debug_assert!(!g.uncommitted, "no steal: an uncommitted page is never written");
        self.check_log()?;
        let lsn = page::page_lsn(&g.buf).max(g.commit_lsn);
        if !self.flusher.is_durable(lsn) {
            self.log_flushes.fetch_add(1, Ordering::Relaxed);
            self.flusher.flush_to(lsn)?;
        }
        // The oracle: whatever path led here, the transaction that last
        // changed this page has a durable COMMIT.
        debug_assert!(
            self.flusher.is_durable(g.commit_lsn),
            "page {} written before the COMMIT at {:?} is durable",
            g.id,
            g.commit_lsn
        );
        self.file.write_page(g.id, &mut g.buf)?;
        g.dirty = false;
        self.page_writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Write every dirty, committed page back (the log first flushed past
    /// all of their LSNs in one request). Returns the number written. The
    /// caller must hold no page guards. Does not sync the file.
    pub fn flush_all(&self) -> Result<usize> {
        let frames = self.used();
        let mut max_lsn = Lsn::ZERO;
        for f in frames {
            let g = f.data.read();
            if g.valid && g.dirty && !g.uncommitted {
                max_lsn = max_lsn.max(page::page_lsn(&g.buf)).max(g.commit_lsn);
            }
        }
        if !self.flusher.is_durable(max_lsn) {
            self.log_flushes.fetch_add(1, Ordering::Relaxed);
            self.flusher.flush_to(max_lsn)?;
        }
        let mut written = 0;
        for f in frames {
            let mut g = f.data.write();
            if g.valid && g.dirty && !g.uncommitted {
                self.write_back(&mut g)?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// `fdatasync` the data file.
    pub fn sync_file(&self) -> Result<()> {
        self.file.sync()
    }

    /// Drop page `id` from the pool without writing it (a page whose
    /// creation was rolled back). Fails if the page is pinned.
    pub fn discard(&self, id: PageId) -> Result<()> {
        let mut inner = self.inner.lock();
        let Some(&i) = inner.map.get(&id) else { return Ok(()) };
        let f = &self.frames[i];
        let mut g = match f.data.try_write() {
            Some(g) if f.pins.load(Ordering::Acquire) == 0 => g,
            _ => return Err(crate::errinput!("cannot discard page {id}: it is in use")),
        };
        if g.uncommitted {
            self.uncommitted.fetch_sub(1, Ordering::Relaxed);
        }
        g.valid = false;
        g.dirty = false;
        g.uncommitted = false;
        inner.map.remove(&id);
        Ok(())
    }

    /// Number of dirty frames (committed or not).
    pub fn dirty_count(&self) -> usize {
        self.used().iter().filter(|f| f.data.read().dirty).count()
    }
}

impl PageRef<'_> {
    /// The page's id.
    pub fn id(&self) -> PageId {
        self.data().id
    }

    fn data(&self) -> &FrameData {
        self.guard.as_ref().expect("guard is present until drop")
    }
}

impl Deref for PageRef<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data().buf
    }
}

impl Drop for PageRef<'_> {
    fn drop(&mut self) {
        self.guard.take();
        self.frame.pins.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PageMut<'_> {
    /// The page's id.
    pub fn id(&self) -> PageId {
        self.data().id
    }

    fn data(&self) -> &FrameData {
        self.guard.as_ref().expect("guard is present until drop")
    }

    fn data_mut(&mut self) -> &mut FrameData {
        self.guard.as_mut().expect("guard is present until drop")
    }

    /// Mark the page as holding changes of a transaction that has not
    /// committed (never evicted or written), or clear the mark at commit or
    /// rollback.
    pub fn set_uncommitted(&mut self, on: bool) {
        let was = std::mem::replace(&mut self.data_mut().uncommitted, on);
        match (was, on) {
            (false, true) => self.uncommitted.fetch_add(1, Ordering::Relaxed),
            (true, false) => self.uncommitted.fetch_sub(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    /// Record the LSN of the `COMMIT` record of the transaction that just
    /// committed its changes to this page: the page is not written back
    /// until that record is durable (module doc, rule 2).
    pub fn set_commit_lsn(&mut self, lsn: Lsn) {
        self.data_mut().commit_lsn = lsn;
    }

    /// Whether the page holds uncommitted changes.
    pub fn is_uncommitted(&self) -> bool {
        self.data().uncommitted
    }

    /// Mark the page as changed since it was last written (or, after a
    /// rollback that restored its image, as unchanged again).
    pub fn set_dirty(&mut self, dirty: bool) {
        self.data_mut().dirty = dirty;
    }

    /// Whether the page differs from its image on disk.
    pub fn is_dirty(&self) -> bool {
        self.data().dirty
    }
}

impl Deref for PageMut<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data().buf
    }
}

impl DerefMut for PageMut<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.data_mut().buf
    }
}

impl Drop for PageMut<'_> {
    fn drop(&mut self) {
        self.guard.take();
        self.frame.pins.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for PageRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PageRef({:?})", self.id())
    }
}

impl fmt::Debug for PageMut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PageMut({:?})", self.id())
    }
}

/// Unlogged page access straight through the pool: for tests, tools, and
/// the creation of a database before any transaction runs.
impl PageStore for BufferPool {
    type Read<'a> = PageRef<'a>;
    type Write<'a> = PageMut<'a>;

    fn page_size(&self) -> usize {
        self.file.page_size()
    }

    fn read(&self, id: PageId) -> Result<PageRef<'_>> {
        self.fetch(id)
    }

    fn write(&self, id: PageId) -> Result<PageMut<'_>> {
        self.fetch_mut(id)
    }

    fn write_new(&self, id: PageId) -> Result<PageMut<'_>> {
        self.fetch_new(id)
    }

    fn corrupt(&self, page: PageId, reason: String) -> Error {
        Error::Corrupt { file: self.file.path().to_path_buf(), page, reason }
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
