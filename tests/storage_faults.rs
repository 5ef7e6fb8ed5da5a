//! Faults against the storage layers: the WAL rule on every page write, bit
//! flips and torn writes detected as corruption, and exclusive locking.

// Tree keys are big-endian integers, so byte order is numeric order.
#![allow(clippy::big_endian_bytes)]

mod common;

use std::ops::Bound;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use waldb::btree::{BTree, Direction};
use waldb::buffer::{BufferPool, LogFlusher, PageMut, PageRef, RecordingFlusher};
use waldb::io::{LossMode, OsVfs, SimVfs};
use waldb::storage::page::{page_lsn, set_page_lsn};
use waldb::storage::{DataFile, PageStore};
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
fn wal_rule_holds_on_every_page_write_of_a_tree_workload() {
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
    let tree = BTree::create(&store, true).expect("create");
    let mut keys: Vec<[u8; 8]> = Vec::new();
    for i in 0..600usize {
        let k = (i as u64).to_be_bytes();
        assert!(tree.insert(&store, &k, &vec![i as u8; 20 + i % 60]).expect("insert"));
        keys.push(k);
        if i % 3 == 0 {
            let k = keys.swap_remove(i * 7 % keys.len());
            assert!(tree.delete(&store, &k).expect("delete").is_some());
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
    let tree = BTree::create(&pool, true).expect("create");
    for i in 0..60u64 {
        tree.insert(&pool, &i.to_be_bytes(), format!("row {i} ").repeat(3).as_bytes()).expect("insert");
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
            let mut cur = tree.range(&pool, Bound::Unbounded, Bound::Unbounded, Direction::Forward)?;
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
    // Three entries of about 1,000 bytes fill most of one leaf (the root);
    // rewriting them all changes most of its sectors.
    let tree = BTree::create(&pool, true).expect("create");
    let keys = [0u64, 1, 2].map(u64::to_be_bytes);
    for k in &keys {
        tree.insert(&pool, k, &[1u8; 990]).expect("insert");
    }
    pool.flush_all().expect("flush");
    pool.sync_file().expect("sync");
    for k in &keys {
        tree.put(&pool, k, &[2u8; 990]).expect("update");
    }
    pool.flush_all().expect("flush; no sync");
    drop(pool);
    let image = vfs.crash_image();
    let mut torn = 0;
    for seed in 0..16 {
        let disk = image.boot_seeded(LossMode::TearLast { sector: 512, garbage: false }, seed);
        let pool = common::open_pool(&disk, &db(), 4096, 8);
        let got: waldb::Result<Vec<_>> = keys.iter().map(|k| tree.get(&pool, k)).collect();
        match got {
            Ok(values) => {
                let old = values.iter().all(|v| v.as_deref() == Some(&[1u8; 990][..]));
                let new = values.iter().all(|v| v.as_deref() == Some(&[2u8; 990][..]));
                assert!(old || new, "a mixed or missing value was returned");
            }
            Err(e) => {
                assert!(matches!(e, Error::Corrupt { page, .. } if page == tree.root()), "{e}");
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
    let tree = BTree::create(&pool, true).expect("create");
    for i in 0..200u32 {
        tree.insert(&pool, &u64::from(i).to_be_bytes(), &i.to_le_bytes().repeat(10)).expect("insert");
    }
    pool.flush_all().expect("flush");
    assert!(flusher.requests().is_empty(), "pages with LSN 0 need no log flush");
    assert_eq!(flusher.durable_lsn(), Lsn::ZERO);
}
