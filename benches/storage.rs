//! Storage-layer benchmarks: buffer-pool hits, a scan larger than the pool
//! (hit rate printed), and B+tree inserts. Run with
//! `cargo bench --bench storage`.

// Tree keys are big-endian integers, so byte order is numeric order.
#![allow(clippy::big_endian_bytes)]

use std::ops::Bound;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use waldb::PageId;
use waldb::btree::{BTree, Direction};
use waldb::buffer::{BufferPool, NoLog, PoolOptions};
use waldb::io::OsVfs;
use waldb::storage::DataFile;

fn pool(dir: &std::path::Path, frames: usize) -> BufferPool {
    let file = DataFile::open_or_create(&OsVfs::new(), &dir.join("bench.db"), 4096).expect("open").file;
    BufferPool::new(file, Arc::new(NoLog), PoolOptions { frames, max_frames: frames })
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = pool(dir.path(), 256);
    // 100-byte entries: an 8-byte key and a 92-byte value.
    let value = [7u8; 92];
    let scratch = BTree::create(&pool, true).expect("tree");
    let mut next = 0u64;
    c.bench_function("btree_append_100B", |b| {
        b.iter(|| {
            next += 1;
            scratch.insert(&pool, &next.to_be_bytes(), &value).expect("insert")
        })
    });
    c.bench_function("pool_fetch_hit", |b| b.iter(|| drop(pool.fetch(PageId::HEADER).expect("fetch"))));
    scratch.destroy(&pool).expect("destroy");
    let tree = BTree::create(&pool, true).expect("tree");

    // A tree of ~1,000 pages scanned through a 256-frame pool.
    let mut rows = 0u64;
    while tree.pages(&pool).expect("pages").len() < 1_000 {
        for _ in 0..1_000 {
            rows += 1;
            tree.insert(&pool, &rows.to_be_bytes(), &value).expect("insert");
        }
    }
    pool.flush_all().expect("flush");
    let before = pool.stats();
    c.bench_function("btree_scan_1000_pages_pool_256", |b| {
        b.iter(|| {
            let mut cur = tree.range(&pool, Bound::Unbounded, Bound::Unbounded, Direction::Forward).expect("cursor");
            let mut n = 0u64;
            while cur.next(&pool).expect("next").is_some() {
                n += 1;
            }
            n
        })
    });
    let after = pool.stats();
    let hits = after.hits - before.hits;
    let misses = after.misses - before.misses;
    println!(
        "scan larger than the pool: {hits} hits, {misses} misses, hit rate {:.1}% (page fetches, not entries)",
        100.0 * hits as f64 / (hits + misses).max(1) as f64
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
