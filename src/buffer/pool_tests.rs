//! Unit tests of the buffer pool.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::buffer::flusher::{NoLog, RecordingFlusher};
use crate::io::{Fault, OpFilter, OpKind, SimVfs, When};
use crate::storage::page::{PageType, set_page_lsn};
use crate::storage::{DataFile, alloc, header};

const PS: usize = 512;

fn db() -> PathBuf {
    PathBuf::from("/d/t.db")
}

fn pool_on(vfs: &SimVfs, frames: usize, max: usize, flusher: Arc<dyn LogFlusher>) -> BufferPool {
    let file = DataFile::open_or_create(vfs, &db(), PS).expect("open").file;
    BufferPool::new(file, flusher, PoolOptions { frames, max_frames: max })
}

/// Allocate `n` pages, each stamped with its index in byte 100 and, when
/// `lsn` is set, page LSN `i + 1`.
fn fill(pool: &BufferPool, n: u32, lsn: bool) -> Vec<PageId> {
    (0..n)
        .map(|i| {
            let (id, mut p) = alloc::allocate(pool, PageType::Overflow).expect("allocate");
            p[100] = i as u8;
            if lsn {
                set_page_lsn(&mut p, Lsn(u64::from(i) + 1));
            }
            id
        })
        .collect()
}

#[test]
fn hits_and_misses_are_counted() {
    let vfs = SimVfs::new(1);
    let pool = pool_on(&vfs, 8, 8, Arc::new(NoLog));
    drop(pool.fetch(PageId::HEADER).expect("miss"));
    drop(pool.fetch(PageId::HEADER).expect("hit"));
    let s = pool.stats();
    assert_eq!((s.hits, s.misses), (1, 1));
    assert_eq!(s.hit_rate(), 0.5);
}

#[test]
fn evicted_dirty_pages_are_written_and_read_back() {
    let vfs = SimVfs::new(1);
    let pool = pool_on(&vfs, 8, 8, Arc::new(NoLog));
    let ids = fill(&pool, 40, false);
    let s = pool.stats();
    assert_eq!(s.frames, 8, "the pool never grows past its target without need");
    assert!(s.evictions >= 32 && s.page_writes >= 32, "{s:?}");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(pool.fetch(*id).expect("fetch")[100], i as u8, "page {id}");
    }
}

#[test]
fn wal_rule_holds_on_every_page_write() {
    let vfs = SimVfs::new(1);
    let flusher = Arc::new(RecordingFlusher::new());
    let pool = pool_on(&vfs, 8, 8, flusher.clone());
    let violations = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let (f2, v2) = (flusher.clone(), violations.clone());
    vfs.set_write_observer(Some(Arc::new(move |path: &Path, off, bytes: &[u8]| {
        if path.ends_with("t.db") && bytes.len() == PS {
            let lsn = page::page_lsn(bytes);
            if !f2.is_durable(lsn) {
                v2.lock().push((off / PS as u64, lsn));
            }
        }
    })));
    fill(&pool, 60, true);
    pool.flush_all().expect("flush");
    assert!(violations.lock().is_empty(), "pages written before their log: {:?}", violations.lock());
    let asked = flusher.requests();
    assert!(!asked.is_empty(), "eviction of logged pages must ask the log to flush");
    assert!(asked.windows(2).all(|w| w[0] < w[1]), "each request goes further: {asked:?}");
    assert_eq!(flusher.durable_lsn(), Lsn(61), "records starting below 61 are durable");
}

#[test]
fn a_failed_log_flush_keeps_the_page_off_disk() {
    let vfs = SimVfs::new(1);
    let flusher = Arc::new(RecordingFlusher::new());
    let pool = pool_on(&vfs, 8, 8, flusher.clone());
    fill(&pool, 8, true);
    let writes_before = pool.stats().page_writes;
    flusher.fail_from_now();
    let e = pool.flush_all().expect_err("log cannot flush");
    assert!(e.is_poisoned(), "{e}");
    assert_eq!(pool.stats().page_writes, writes_before, "no page reached the disk");
    assert!(pool.dirty_count() > 0);
}

#[test]
fn uncommitted_pages_are_never_written_and_the_pool_grows_to_its_cap() {
    let vfs = SimVfs::new(1);
    let pool = pool_on(&vfs, 8, 12, Arc::new(NoLog));
    let mut ids = Vec::new();
    for _ in 0..11 {
        let (id, mut p) = alloc::allocate(&pool, PageType::Overflow).expect("allocate");
        p.set_uncommitted(true);
        ids.push(id);
    }
    // Page 0 plus 11 uncommitted pages fill all 12 frames.
    let e = alloc::allocate(&pool, PageType::Overflow).expect_err("full");
    assert!(matches!(e, Error::BufferPoolFull { frames: 12 }), "{e}");
    let len = vfs.live_bytes(&db()).expect("file").len();
    pool.flush_all().expect("flush");
    for id in &ids {
        let on_disk = vfs.live_bytes(&db()).expect("file");
        let off = id.0 as usize * PS;
        assert!(off >= len || on_disk[off..off + PS].iter().all(|&b| b == 0), "page {id} was stolen");
    }
    for id in &ids {
        pool.fetch_mut(*id).expect("fetch").set_uncommitted(false);
    }
    alloc::allocate(&pool, PageType::Overflow).expect("committed pages can be evicted again");
}

#[test]
fn pinned_pages_are_not_evicted() {
    let vfs = SimVfs::new(1);
    let pool = pool_on(&vfs, 8, 8, Arc::new(NoLog));
    let ids = fill(&pool, 7, false);
    let held: Vec<PageRef> = ids.iter().chain([PageId::HEADER].iter()).map(|&i| pool.fetch(i).expect("pin")).collect();
    let e = pool.fetch_new(PageId(50)).expect_err("every frame pinned");
    assert!(matches!(e, Error::BufferPoolFull { .. }), "{e}");
    drop(held);
    pool.fetch_new(PageId(50)).expect("unpinned frames are evictable");
}

#[test]
fn a_corrupt_page_is_an_error_and_never_cached() {
    let vfs = SimVfs::new(1);
    let pool = pool_on(&vfs, 8, 8, Arc::new(NoLog));
    let ids = fill(&pool, 3, false);
    pool.flush_all().expect("flush");
    drop(pool);
    vfs.flip_bit(&db(), ids[1].0 as u64 * PS as u64 + 200, 0).expect("flip");
    let pool = pool_on(&vfs, 8, 8, Arc::new(NoLog));
    for _ in 0..2 {
        let e = pool.fetch(ids[1]).expect_err("corrupt");
        assert!(matches!(e, Error::Corrupt { page, .. } if page == ids[1]), "{e}");
    }
    assert_eq!(pool.fetch(ids[2]).expect("neighbour is fine")[100], 2);
}

#[test]
fn read_errors_surface_and_leave_the_pool_usable() {
    let vfs = SimVfs::new(1);
    let pool = pool_on(&vfs, 8, 8, Arc::new(NoLog));
    let ids = fill(&pool, 20, false);
    vfs.add_fault(Fault::Fail {
        when: When::Nth(OpFilter::ops(&[OpKind::Read]), 0),
        errno: crate::io::Errno::Eio,
        persistent: false,
    });
    let e = pool.fetch(ids[0]).expect_err("eio");
    assert!(matches!(e, Error::Io { op: "read", .. }), "{e}");
    assert_eq!(pool.fetch(ids[0]).expect("retry works")[100], 0);
}

#[test]
fn discard_forgets_a_page_without_writing_it() {
    let vfs = SimVfs::new(1);
    let pool = pool_on(&vfs, 8, 8, Arc::new(NoLog));
    let ids = fill(&pool, 1, false);
    let p = pool.fetch(ids[0]).expect("pin");
    assert!(pool.discard(ids[0]).is_err(), "pinned");
    drop(p);
    pool.discard(ids[0]).expect("discard");
    assert_eq!(pool.flush_all().expect("flush"), 1, "only page 0 is left dirty");
}

#[test]
fn flush_all_asks_the_log_once() {
    let vfs = SimVfs::new(1);
    let flusher = Arc::new(RecordingFlusher::new());
    let pool = pool_on(&vfs, 64, 64, flusher.clone());
    fill(&pool, 30, true);
    assert!(flusher.requests().is_empty(), "nothing evicted yet");
    assert_eq!(pool.flush_all().expect("flush"), 31);
    assert_eq!(flusher.requests(), vec![Lsn(30)]);
    assert_eq!(pool.dirty_count(), 0);
    assert_eq!(pool.flush_all().expect("flush"), 0, "nothing left to write");
}

#[test]
fn concurrent_readers_and_a_writer_through_a_small_pool() {
    let vfs = SimVfs::new(1);
    let pool = Arc::new(pool_on(&vfs, 8, 8, Arc::new(NoLog)));
    let ids = fill(&pool, 32, false);
    pool.flush_all().expect("flush");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (pool, ids) = (pool.clone(), ids.clone());
            std::thread::spawn(move || {
                for round in 0..200 {
                    let i = (round * 7 + t * 3) % ids.len();
                    if t == 0 && round % 5 == 0 {
                        let mut p = pool.fetch_mut(ids[i]).expect("write");
                        let v = p[101];
                        p[101] = v.wrapping_add(1);
                    } else {
                        let p = pool.fetch(ids[i]).expect("read");
                        assert_eq!(p[100], i as u8, "page {} holds its own content", ids[i]);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread panicked");
    }
    let bumps: u32 = ids.iter().map(|&id| u32::from(pool.fetch(id).expect("read")[101])).sum();
    assert_eq!(bumps, 40, "every write landed exactly once");
}

#[test]
fn header_page_changes_survive_flush_and_reopen() {
    let vfs = SimVfs::new(1);
    let pool = pool_on(&vfs, 8, 8, Arc::new(NoLog));
    fill(&pool, 5, false);
    pool.flush_all().expect("flush");
    pool.sync_file().expect("sync");
    drop(pool);
    let vfs = vfs.reboot(crate::io::LossMode::DropAll);
    let o = DataFile::open_or_create(&vfs, &db(), PS).expect("reopen");
    assert_eq!(o.header.page_count, 6);
    let pool = BufferPool::new(o.file, Arc::new(NoLog), PoolOptions { frames: 8, max_frames: 8 });
    assert_eq!(header::page_count(&pool.fetch(PageId::HEADER).expect("hdr")), 6);
}

/// A page changed by a transaction whose page records are durable but whose
/// COMMIT is not: eviction flushes the log to the COMMIT before writing it
/// (no steal with early lock release).
#[test]
fn eviction_waits_for_the_commit_of_the_last_change() {
    let vfs = SimVfs::new(1);
    let flusher = Arc::new(RecordingFlusher::new());
    let pool = pool_on(&vfs, 8, 8, flusher.clone());
    let ids = fill(&pool, 8, true);
    flusher.flush_to(Lsn(8)).expect("the page records are durable");
    for id in &ids {
        pool.fetch_exclusive(*id).expect("hit").set_commit_lsn(Lsn(500));
    }
    fill(&pool, 8, false);
    assert!(pool.stats().page_writes >= 8);
    assert!(flusher.requests().contains(&Lsn(500)), "asked for the COMMIT: {:?}", flusher.requests());
    assert!(flusher.is_durable(Lsn(500)));
}

/// Once the log is poisoned no page is written back, not even one whose
/// log records are durable, and no page is read in (fail stop).
#[test]
fn a_poisoned_log_stops_eviction_writes_and_reads() {
    let vfs = SimVfs::new(1);
    let flusher = Arc::new(RecordingFlusher::new());
    let pool = pool_on(&vfs, 8, 8, flusher.clone());
    fill(&pool, 8, true);
    flusher.flush_to(Lsn(100)).expect("durable past every page");
    flusher.fail_from_now();
    let writes = pool.stats().page_writes;
    let e = alloc::allocate(&pool, PageType::Overflow).expect_err("no frame can be freed");
    assert!(e.is_poisoned(), "{e}");
    assert_eq!(pool.stats().page_writes, writes, "nothing written after the poison");
}
