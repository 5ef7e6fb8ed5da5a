//! B+tree benchmarks: 1,000,000 sequential and random inserts in one
//! transaction (committed durably on real files), random point gets and range
//! scans on a warm pool, and the same operations on `std::collections::BTreeMap`
//! for reference. `cargo bench --bench btree` prints a summary table after
//! criterion's runs; `WALDB_BENCH_ROWS` changes the row count.

// Integer keys are big-endian so their byte order is their numeric order.
#![allow(clippy::big_endian_bytes)]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use waldb::PageId;
use waldb::btree::{BTree, Direction};
use waldb::io::OsVfs;
use waldb::storage::{PageStore, header};
use waldb::txn::{Engine, EngineOptions};

fn rows() -> u64 {
    std::env::var("WALDB_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// A permutation of 0..n (multiplicative hashing, deterministic).
fn shuffled(n: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n).collect();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

fn engine(dir: &std::path::Path) -> Engine {
    let opts = EngineOptions { pool_bytes: 256 << 20, ..EngineOptions::default() };
    Engine::open(Arc::new(OsVfs::new()), &dir.join("bench.db"), opts).expect("open")
}

/// Insert `keys` (8-byte big-endian) with 8-byte values into a new tree in
/// one transaction; returns (time to insert, time to commit, the tree).
fn load(e: &Engine, keys: &[u64]) -> (Duration, Duration, BTree) {
    let tx = e.begin_write().expect("begin");
    let t = BTree::create(&tx, true).expect("tree");
    header::set_root(&mut tx.write(PageId::HEADER).expect("header"), 1, t.root());
    let t0 = Instant::now();
    for &k in keys {
        t.insert(&tx, &k.to_be_bytes(), &k.to_le_bytes()).expect("insert");
    }
    let insert = t0.elapsed();
    let t1 = Instant::now();
    tx.commit().expect("commit");
    (insert, t1.elapsed(), t)
}

fn bench(c: &mut Criterion) {
    let n = rows();
    let dir = tempfile::tempdir().expect("temp dir");
    let order = shuffled(n);
    let mut lines = Vec::new();

    // Loads: sequential, then random, into two databases.
    let seq_dir = dir.path().join("seq");
    std::fs::create_dir_all(&seq_dir).expect("mkdir");
    let e = engine(&seq_dir);
    let (ins, com, _) = load(&e, &(0..n).collect::<Vec<_>>());
    lines.push(format!(
        "| sequential inserts, one transaction | {:.0}/s (commit {:?}) |",
        n as f64 / ins.as_secs_f64(),
        com
    ));
    drop(e);
    let rnd_dir = dir.path().join("rnd");
    std::fs::create_dir_all(&rnd_dir).expect("mkdir");
    let e = engine(&rnd_dir);
    let (ins, com, t) = load(&e, &order);
    lines.push(format!(
        "| random inserts, one transaction | {:.0}/s (commit {:?}) |",
        n as f64 / ins.as_secs_f64(),
        com
    ));
    let mut m = BTreeMap::new();
    let t0 = Instant::now();
    for &k in &order {
        m.insert(k.to_be_bytes(), k.to_le_bytes());
    }
    lines.push(format!("| BTreeMap random inserts | {:.0}/s |", n as f64 / t0.elapsed().as_secs_f64()));

    // Warm reads.
    let r = e.begin_read().expect("read");
    let mut i = 0usize;
    c.bench_function("btree_point_get_warm", |b| {
        b.iter(|| {
            i = (i + 7919) % order.len();
            t.get(&r, &order[i].to_be_bytes()).expect("get")
        })
    });
    c.bench_function("btreemap_point_get", |b| {
        b.iter(|| {
            i = (i + 7919) % order.len();
            m.get(&order[i].to_be_bytes()).copied()
        })
    });
    c.bench_function("btree_range_scan_100", |b| {
        b.iter(|| {
            i = (i + 7919) % order.len();
            let lo = order[i].to_be_bytes();
            let mut cur = t.range(&r, Bound::Included(&lo[..]), Bound::Unbounded, Direction::Forward).expect("range");
            let mut k = 0;
            while k < 100 && cur.next(&r).expect("next").is_some() {
                k += 1;
            }
            k
        })
    });

    // Summary: rates measured here, side by side.
    let probes = 1_000_000usize.min(order.len() * 4);
    let t0 = Instant::now();
    let mut found = 0;
    for j in 0..probes {
        let k = order[(j * 7919) % order.len()];
        found += usize::from(t.get(&r, &k.to_be_bytes()).expect("get").is_some());
    }
    assert_eq!(found, probes);
    lines.push(format!("| point gets, warm pool | {:.0}/s |", probes as f64 / t0.elapsed().as_secs_f64()));
    let t0 = Instant::now();
    for j in 0..probes {
        let k = order[(j * 7919) % order.len()];
        assert!(m.contains_key(&k.to_be_bytes()));
    }
    lines.push(format!("| BTreeMap point gets | {:.0}/s |", probes as f64 / t0.elapsed().as_secs_f64()));
    let t0 = Instant::now();
    let mut cur = t.range(&r, Bound::Unbounded, Bound::Unbounded, Direction::Forward).expect("range");
    let mut scanned = 0u64;
    while cur.next(&r).expect("next").is_some() {
        scanned += 1;
    }
    assert_eq!(scanned, n);
    lines.push(format!("| full range scan | {:.0} keys/s |", n as f64 / t0.elapsed().as_secs_f64()));
    let height = t.check(&r).expect("check").height;
    println!("\n## B+tree summary ({n} keys of 8 bytes, 8-byte values, 4 KiB pages, height {height})\n");
    println!("| operation | rate |");
    println!("|---|---:|");
    for l in lines {
        println!("{l}");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
