//! Faults against the storage layers: the WAL rule on every page write, bit
//! flips and torn writes detected as corruption, and exclusive locking.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use waldb::buffer::{BufferPool, LogFlusher, PageMut, PageRef, RecordingFlusher};
use waldb::io::{LossMode, OsVfs, SimVfs};
use waldb::storage::page::{page_lsn, set_page_lsn};
use waldb::storage::{DataFile, HeapFile, PageStore, TupleId};
use waldb::{Error, Lsn, PageId};

const PS: usize = 512;

fn db() -> PathBuf {
    PathBuf::from("/d/t.db")
}

/// A page store that stamps every page it hands out for writing with the
/// next LSN, as the transaction layer will when it logs a change.
struct Stamping<'a> {
    pool: &'a BufferPool,
    next: AtomicU64,
}

impl PageStore for Stamping<'_> {
    type Read<'b>
        = PageRef<'b>
    where
        Self: 'b;
    type Write<'b>
        = PageMut<'b>
    where
        Self: 'b;

    fn page_size(&self) -> usize {
        self.pool.page_size()
    }
    fn read(&self, id: PageId) -> waldb::Result<PageRef<'_>> {
        self.pool.fetch(id)
    }
    fn write(&self, id: PageId) -> waldb::Result<PageMut<'_>> {
        let mut p = self.pool.fetch_mut(id)?;
        set_page_lsn(&mut p, Lsn(self.next.fetch_add(1, Ordering::SeqCst)));
        Ok(p)
    }
    fn write_new(&self, id: PageId) -> waldb::Result<PageMut<'_>> {
        let mut p = self.pool.fetch_new(id)?;
        set_page_lsn(&mut p, Lsn(self.next.fetch_add(1, Ordering::SeqCst)));
        Ok(p)
    }
    fn corrupt(&self, page: PageId, reason: String) -> Error {
        self.pool.corrupt(page, reason)
    }
}

#[test]
fn wal_rule_holds_on_every_page_write_of_a_heap_workload() {
    let vfs = SimVfs::new(3);
    let flusher = Arc::new(RecordingFlusher::new());
    let pool = common::open_pool_with(&vfs, &db(), PS, 8, flusher.clone());
    let store = Stamping { pool: &pool, next: AtomicU64::new(1) };
    let writes = Arc::new(Mutex::new((0u64, Vec::new())));
    let (f2, w2) = (flusher.clone(), writes.clone());
    vfs.set_write_observer(Some(Arc::new(move |path: &Path, off, bytes: &[u8]| {
        if path == db() && bytes.len() == PS {
            let lsn = page_lsn(bytes);
            let mut w = w2.lock();
            w.0 += 1;
            if !f2.is_durable(lsn) {
                w.1.push((off / PS as u64, lsn, f2.durable_lsn()));
            }
        }
    })));
    let heap = HeapFile::create(&store).expect("create");
    let mut tids: Vec<TupleId> = Vec::new();
    for i in 0..600usize {
        tids.push(heap.insert(&store, &vec![i as u8; 20 + i % 60]).expect("insert"));
        if i % 3 == 0 {
            let t = tids.swap_remove(i * 7 % tids.len());
            heap.delete(&store, t).expect("delete");
        }
    }
    pool.flush_all().expect("flush");
    let (count, violations) = writes.lock().clone();
    assert!(count > 50, "the workload must write many pages through eviction ({count})");
    assert!(violations.is_empty(), "page written before the log was durable: {violations:?}");
    assert!(flusher.requests().len() > 10, "evictions asked the log to flush");
}

/// Flip bits across every used page of a small database; each flip must be
/// reported as corruption at open or during a full scan — never returned.
#[test]
fn every_bit_flip_in_a_used_page_is_detected() {
    let vfs = SimVfs::new(5);
    let pool = common::open_pool(&vfs, &db(), PS, 8);
    let heap = HeapFile::create(&pool).expect("create");
    for i in 0..60u32 {
        heap.insert(&pool, format!("row {i} ").repeat(3).as_bytes()).expect("insert");
    }
    pool.flush_all().expect("flush");
    pool.sync_file().expect("sync");
    let used = pool.stats().frames; // every page is cached: the pool never evicted
    let pages = u64::from(waldb::storage::header::page_count(&pool.read(PageId::HEADER).expect("h")));
    assert!(used >= pages, "test assumes no eviction");
    drop(pool);
    let image = vfs.crash_image();
    let mut checked = 0;
    for byte in (0..pages * PS as u64).step_by(7) {
        let disk = image.boot(LossMode::KeepAll);
        disk.flip_bit(&db(), byte, (byte % 8) as u8).expect("flip");
        let outcome = DataFile::open_or_create(&disk, &db(), PS).map(|o| o.file).and_then(|file| {
            let pool = BufferPool::new(
                file,
                Arc::new(waldb::buffer::NoLog),
                waldb::buffer::PoolOptions { frames: 64, max_frames: 64 },
            );
            let mut cur = heap.cursor(&pool)?;
            while cur.next(&pool)?.is_some() {}
            Ok(())
        });
        let e = outcome.expect_err(&format!("flip at byte {byte} went unnoticed"));
        assert!(e.is_corruption(), "flip at byte {byte}: {e}");
        checked += 1;
    }
    assert!(checked > 300, "{checked}");
}

#[test]
fn a_torn_page_write_is_detected_as_corruption() {
    let vfs = SimVfs::new(9);
    let pool = common::open_pool(&vfs, &db(), 4096, 8);
    let heap = HeapFile::create(&pool).expect("create");
    let tid = heap.insert(&pool, &[1u8; 3000]).expect("insert");
    pool.flush_all().expect("flush");
    pool.sync_file().expect("sync");
    heap.update(&pool, tid, &[2u8; 3000]).expect("update");
    pool.flush_all().expect("flush; no sync");
    drop(pool);
    let image = vfs.crash_image();
    let mut torn = 0;
    for seed in 0..16 {
        let disk = image.boot_seeded(LossMode::TearLast { sector: 512, garbage: false }, seed);
        let pool = common::open_pool(&disk, &db(), 4096, 8);
        match heap.get(&pool, tid) {
            Ok(Some(v)) => assert!(v == vec![1u8; 3000] || v == vec![2u8; 3000], "a mixed value was returned"),
            Ok(None) => panic!("tuple vanished"),
            Err(e) => {
                assert!(matches!(e, Error::Corrupt { page, .. } if page == tid.page), "{e}");
                torn += 1;
            }
        }
    }
    assert!(torn > 8, "most seeds tear the page ({torn} of 16)");
}

#[test]
fn a_second_open_is_locked_on_both_vfs() {
    let vfs = SimVfs::new(1);
    let _first = DataFile::open_or_create(&vfs, &db(), PS).expect("first");
    assert!(matches!(DataFile::open_or_create(&vfs, &db(), PS), Err(Error::Locked { .. })));

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    let first = DataFile::open_or_create(&OsVfs::new(), &path, PS).expect("first");
    for _ in 0..100 {
        let e = DataFile::open_or_create(&OsVfs::new(), &path, PS).expect_err("second open");
        assert!(matches!(e, Error::Locked { .. }), "{e}");
    }
    drop(first);
    DataFile::open_or_create(&OsVfs::new(), &path, PS).expect("open after the first closed");
}

#[test]
fn the_flusher_sees_no_request_for_unlogged_pages() {
    let vfs = SimVfs::new(1);
    let flusher = Arc::new(RecordingFlusher::new());
    let pool = common::open_pool_with(&vfs, &db(), PS, 8, flusher.clone());
    let heap = HeapFile::create(&pool).expect("create");
    for i in 0..200u32 {
        heap.insert(&pool, &i.to_le_bytes().repeat(10)).expect("insert");
    }
    pool.flush_all().expect("flush");
    assert!(flusher.requests().is_empty(), "pages with LSN 0 need no log flush");
    assert_eq!(flusher.durable_lsn(), Lsn::ZERO);
}
