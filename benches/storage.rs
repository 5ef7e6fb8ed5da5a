//! Storage-layer benchmarks: buffer-pool hits, a scan larger than the pool
//! (hit rate printed), and heap inserts. Run with
//! `cargo bench --bench storage`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use waldb::PageId;
use waldb::buffer::{BufferPool, NoLog, PoolOptions};
use waldb::io::OsVfs;
use waldb::storage::{DataFile, HeapFile};

fn pool(dir: &std::path::Path, frames: usize) -> BufferPool {
    let file = DataFile::open_or_create(&OsVfs::new(), &dir.join("bench.db"), 4096).expect("open").file;
    BufferPool::new(file, Arc::new(NoLog), PoolOptions { frames, max_frames: frames })
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = pool(dir.path(), 256);
    let row = [7u8; 100];
    let scratch = HeapFile::create(&pool).expect("heap");
    c.bench_function("heap_insert_100B", |b| b.iter(|| scratch.insert(&pool, &row).expect("insert")));
    c.bench_function("pool_fetch_hit", |b| b.iter(|| drop(pool.fetch(PageId::HEADER).expect("fetch"))));
    scratch.destroy(&pool).expect("destroy");
    let heap = HeapFile::create(&pool).expect("heap");

    // A heap of ~1,000 pages scanned through a 256-frame pool.
    while heap.page_count(&pool).expect("pages") < 1_000 {
        heap.insert(&pool, &row).expect("insert");
    }
    pool.flush_all().expect("flush");
    let before = pool.stats();
    c.bench_function("heap_scan_1000_pages_pool_256", |b| {
        b.iter(|| {
            let mut cur = heap.cursor(&pool).expect("cursor");
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
        "scan larger than the pool: {hits} hits, {misses} misses, hit rate {:.1}% (page fetches, not tuples)",
        100.0 * hits as f64 / (hits + misses).max(1) as f64
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
