//! The B+tree against `std::collections::BTreeMap`: random inserts,
//! replacements, deletes, point gets and range scans in both directions,
//! with pages small enough to force deep trees, the structural checker
//! after every batch; plus limits and destroy; and a tree through an
//! 8-frame pool against a model across flush, sync and power loss (on
//! `SimVfs`) or reopen (on real files).

// Integer keys are big-endian so their byte order is their numeric order.
#![allow(clippy::big_endian_bytes)]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use waldb::Error;
use waldb::btree::{BTree, Direction, max_entry, max_key};
use waldb::buffer::BufferPool;
use waldb::io::{LossMode, OsVfs, SimVfs, Vfs};
use waldb::storage::{FileHeader, PageStore};

fn db() -> PathBuf {
    PathBuf::from("/d/t.db")
}

fn pool(page_size: usize, frames: usize) -> (SimVfs, BufferPool) {
    let vfs = SimVfs::new(1);
    let p = common::open_pool(&vfs, &db(), page_size, frames);
    (vfs, p)
}

fn key(i: u64) -> Vec<u8> {
    // Variable-length keys that sort like their numbers.
    let mut k = format!("{i:010}").into_bytes();
    k.extend(std::iter::repeat_n(b'k', (i % 23) as usize));
    k
}

fn scan(t: &BTree, s: &BufferPool, lo: Bound<&[u8]>, hi: Bound<&[u8]>, dir: Direction) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut c = t.range(s, lo, hi, dir).expect("range");
    let mut out = Vec::new();
    while let Some(kv) = c.next(s).expect("next") {
        out.push(kv);
    }
    out
}

fn model_range(
    m: &BTreeMap<Vec<u8>, Vec<u8>>,
    lo: Bound<&[u8]>,
    hi: Bound<&[u8]>,
    dir: Direction,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let bad = matches!((lo, hi), (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) if a > b)
        || matches!((lo, hi), (Bound::Excluded(a), Bound::Excluded(b)) if a == b);
    if bad {
        return Vec::new();
    }
    let lo = lo.map(<[u8]>::to_vec);
    let hi = hi.map(<[u8]>::to_vec);
    let it = m.range::<Vec<u8>, _>((lo, hi)).map(|(k, v)| (k.clone(), v.clone()));
    match dir {
        Direction::Forward => it.collect(),
        Direction::Backward => it.rev().collect(),
    }
}

#[test]
fn sequential_inserts_build_a_deep_tree_that_reads_back() {
    let (_vfs, s) = pool(512, 64);
    let t = BTree::create(&s, true).expect("create");
    for i in 0..3_000u64 {
        assert!(t.insert(&s, &key(i), &i.to_le_bytes()).expect("insert"));
    }
    assert!(!t.insert(&s, &key(7), b"dup").expect("insert"), "duplicate refused");
    let c = t.check(&s).expect("check");
    assert_eq!(c.entries, 3_000);
    assert!(c.height >= 4, "512-byte pages make a deep tree: height {}", c.height);
    for i in (0..3_000u64).step_by(7) {
        assert_eq!(t.get(&s, &key(i)).expect("get"), Some(i.to_le_bytes().to_vec()));
    }
    assert_eq!(t.get(&s, b"nope").expect("get"), None);
    let all = scan(&t, &s, Bound::Unbounded, Bound::Unbounded, Direction::Forward);
    assert_eq!(all.len(), 3_000);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn deleting_everything_shrinks_the_tree_back_to_a_root_leaf() {
    let (vfs, s) = pool(512, 64);
    let t = BTree::create(&s, true).expect("create");
    for i in 0..2_000u64 {
        t.insert(&s, &key(i), b"v").expect("insert");
    }
    let grown = t.check(&s).expect("check").pages.len();
    for i in (0..2_000u64).rev() {
        assert_eq!(t.delete(&s, &key(i)).expect("delete"), Some(b"v".to_vec()), "{i}");
        if i % 250 == 0 {
            t.check(&s).expect("check while shrinking");
        }
    }
    let c = t.check(&s).expect("check");
    assert_eq!((c.entries, c.height, c.pages.len()), (0, 1, 1), "grown to {grown} pages, back to one");
    let h = FileHeader::decode(&s.read(waldb::PageId::HEADER).expect("h"), &db()).expect("header");
    assert_eq!(h.free_count as usize, grown - 1, "every other page went to the free list");
    drop(vfs);
}

#[test]
fn keys_and_entries_over_the_limit_are_too_big() {
    let (_vfs, s) = pool(4096, 64);
    let t = BTree::create(&s, true).expect("create");
    let (mk, me) = (max_key(4096), max_entry(4096));
    assert!(mk >= 900 && me >= 900, "{mk} {me}");
    t.insert(&s, &vec![1u8; mk], b"").expect("max key fits");
    t.insert(&s, &[2u8; 10], &vec![0u8; me - 10]).expect("max entry fits");
    assert!(matches!(t.insert(&s, &vec![3u8; mk + 1], b""), Err(Error::TooBig { .. })));
    assert!(matches!(t.insert(&s, &[4u8; 10], &vec![0u8; me - 9]), Err(Error::TooBig { .. })));
    // Many maximal keys still split cleanly.
    for i in 0..200u16 {
        let mut k = vec![5u8; mk];
        k[..2].copy_from_slice(&i.to_be_bytes());
        t.insert(&s, &k, b"").expect("insert");
    }
    assert_eq!(t.check(&s).expect("check").entries, 202);
}

#[test]
fn non_unique_trees_keep_one_entry_per_locator() {
    let (_vfs, s) = pool(512, 64);
    let t = BTree::create(&s, false).expect("create");
    assert!(!t.is_unique(&s).expect("flag"));
    for row in 0..50u64 {
        t.insert_entry(&s, b"same", &row.to_be_bytes()).expect("insert");
        t.insert_entry(&s, b"other", &row.to_be_bytes()).expect("insert");
    }
    let lo = [&b"same"[..], &[0u8; 8]].concat();
    let hi = [&b"same"[..], &[0xFFu8; 8]].concat();
    let rows = scan(&t, &s, Bound::Included(&lo), Bound::Included(&hi), Direction::Forward);
    assert_eq!(rows.len(), 50);
    assert!(t.delete_entry(&s, b"same", &7u64.to_be_bytes()).expect("delete"));
    assert_eq!(scan(&t, &s, Bound::Included(&lo), Bound::Included(&hi), Direction::Forward).len(), 49);
    // The flag survives root splits.
    assert!(t.check(&s).expect("check").height > 1);
    assert!(!t.is_unique(&s).expect("flag"));
}

#[test]
fn a_destroyed_tree_frees_every_page() {
    let (_vfs, s) = pool(512, 64);
    let t = BTree::create(&s, true).expect("create");
    for i in 0..1_000u64 {
        t.insert(&s, &key(i), &[9u8; 30]).expect("insert");
    }
    let pages = t.check(&s).expect("check").pages.len();
    t.destroy(&s).expect("destroy");
    let h = FileHeader::decode(&s.read(waldb::PageId::HEADER).expect("h"), &db()).expect("header");
    assert_eq!(h.free_count as usize, pages);
    // A new tree of the same rows reuses them: the file does not grow.
    let t = BTree::create(&s, true).expect("create");
    for i in 0..1_000u64 {
        t.insert(&s, &key(i), &[9u8; 30]).expect("insert");
    }
    let h2 = FileHeader::decode(&s.read(waldb::PageId::HEADER).expect("h"), &db()).expect("header");
    assert_eq!(h2.page_count, h.page_count, "the file did not grow");
    assert!(h2.free_count < h.free_count);
}

#[test]
fn the_checker_catches_a_misordered_page() {
    let (_vfs, s) = pool(512, 64);
    let t = BTree::create(&s, true).expect("create");
    for i in 0..500u64 {
        t.insert(&s, &key(i), b"v").expect("insert");
    }
    let c = t.check(&s).expect("check");
    let leaf = *c.pages.last().expect("pages");
    {
        // Swap the first two slots of a leaf: keys out of order.
        let mut p = s.write(leaf).expect("write");
        let a = [p[48], p[49]];
        p.copy_within(50..52, 48);
        p[50] = a[0];
        p[51] = a[1];
    }
    let e = t.check(&s).expect_err("misordered");
    assert!(e.to_string().contains("out of order") || e.to_string().contains("outside"), "{e}");
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u64, usize),
    Put(u64, usize),
    Delete(u64),
    Get(u64),
    Range(Option<(u64, bool)>, Option<(u64, bool)>, bool),
}

fn op(keys: u64) -> impl Strategy<Value = Op> {
    let b = || prop::option::of((0..keys, any::<bool>()));
    prop_oneof![
        6 => (0..keys, 0usize..60).prop_map(|(k, n)| Op::Insert(k, n)),
        2 => (0..keys, 0usize..60).prop_map(|(k, n)| Op::Put(k, n)),
        4 => (0..keys).prop_map(Op::Delete),
        2 => (0..keys).prop_map(Op::Get),
        1 => (b(), b(), any::<bool>()).prop_map(|(lo, hi, fwd)| Op::Range(lo, hi, fwd)),
    ]
}

fn bound(b: &Option<(u64, bool)>, keys: &[Vec<u8>]) -> Bound<Vec<u8>> {
    match b {
        None => Bound::Unbounded,
        Some((k, true)) => Bound::Included(keys[*k as usize].clone()),
        Some((k, false)) => Bound::Excluded(keys[*k as usize].clone()),
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases(64), ..ProptestConfig::default() })]

    /// Random operations on 512-byte pages through a small pool match a
    /// BTreeMap, and the tree passes the checker throughout.
    #[test]
    fn tree_matches_btreemap(ops in prop::collection::vec(op(400), 1..1_500)) {
        let (_vfs, s) = pool(512, 16);
        let t = BTree::create(&s, true).expect("create");
        let keys: Vec<Vec<u8>> = (0..400).map(key).collect();
        let mut m: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for (n, o) in ops.iter().enumerate() {
            match o {
                Op::Insert(k, len) => {
                    let v = vec![n as u8; *len];
                    let fresh = !m.contains_key(&keys[*k as usize]);
                    prop_assert_eq!(t.insert(&s, &keys[*k as usize], &v).expect("insert"), fresh);
                    m.entry(keys[*k as usize].clone()).or_insert(v);
                }
                Op::Put(k, len) => {
                    let v = vec![n as u8; *len];
                    let old = t.put(&s, &keys[*k as usize], &v).expect("put");
                    prop_assert_eq!(old, m.insert(keys[*k as usize].clone(), v));
                }
                Op::Delete(k) => {
                    prop_assert_eq!(t.delete(&s, &keys[*k as usize]).expect("delete"), m.remove(&keys[*k as usize]));
                }
                Op::Get(k) => {
                    prop_assert_eq!(t.get(&s, &keys[*k as usize]).expect("get"), m.get(&keys[*k as usize]).cloned());
                }
                Op::Range(lo, hi, fwd) => {
                    let (lo, hi) = (bound(lo, &keys), bound(hi, &keys));
                    let dir = if *fwd { Direction::Forward } else { Direction::Backward };
                    prop_assert_eq!(scan(&t, &s, as_ref(&lo), as_ref(&hi), dir), model_range(&m, as_ref(&lo), as_ref(&hi), dir));
                }
            }
            if n % 200 == 0 {
                let c = t.check(&s).expect("check");
                prop_assert_eq!(c.entries, m.len() as u64);
            }
        }
        let c = t.check(&s).expect("check");
        prop_assert_eq!(c.entries, m.len() as u64);
        let all = scan(&t, &s, Bound::Unbounded, Bound::Unbounded, Direction::Forward);
        prop_assert_eq!(all, m.into_iter().collect::<Vec<_>>());
    }
}

#[test]
fn the_page_accounting_finds_leaked_and_doubly_owned_pages() {
    use waldb::storage::check::check_pages;
    use waldb::storage::{PageType, alloc};
    let (_vfs, s) = pool(512, 64);
    let t = BTree::create(&s, true).expect("create");
    for i in 0..300u64 {
        t.insert(&s, &key(i), b"v").expect("insert");
    }
    for i in 0..100u64 {
        t.delete(&s, &key(i)).expect("delete");
    }
    let pages = t.check(&s).expect("check").pages;
    let a = check_pages(&s, &[("tree", pages.clone())]).expect("every page accounted for");
    assert!(a.free > 0 && a.owned as usize == pages.len());
    let (leaked, _) = alloc::allocate(&s, PageType::Overflow).expect("allocate");
    let e = check_pages(&s, &[("tree", pages.clone())]).expect_err("leak");
    assert!(e.to_string().contains("leaked"), "{e}");
    let e = check_pages(&s, &[("tree", pages.clone()), ("other", vec![leaked, pages[1]])]).expect_err("shared");
    assert!(e.to_string().contains("owned by both"), "{e}");
}

#[derive(Clone, Debug)]
enum DurableOp {
    Put(u64, usize),
    Delete(u64),
    Flush,
}

fn durable_op() -> impl Strategy<Value = DurableOp> {
    prop_oneof![
        8 => (0u64..600, 0usize..60).prop_map(|(k, n)| DurableOp::Put(k, n)),
        4 => (0u64..600).prop_map(DurableOp::Delete),
        1 => Just(DurableOp::Flush),
    ]
}

/// Every entry of `t`, in key order.
fn entries(t: &BTree, s: &BufferPool) -> Vec<(Vec<u8>, Vec<u8>)> {
    scan(t, s, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
}

/// Run `ops` on a fresh tree of 512-byte pages through an 8-frame pool
/// (eviction writes pages back mid-run) and compare with a model; then
/// flush, sync, reopen with `reopen` and compare again.
fn run_durable_model(
    vfs: &dyn Vfs,
    path: &Path,
    ops: &[DurableOp],
    reopen: impl FnOnce() -> Box<dyn Vfs>,
) -> Result<(), TestCaseError> {
    let pool = common::open_pool(vfs, path, 512, 8);
    let t = BTree::create(&pool, true).expect("create");
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for (n, op) in ops.iter().enumerate() {
        match *op {
            DurableOp::Put(k, len) => {
                let v = vec![n as u8; len];
                prop_assert_eq!(t.put(&pool, &key(k), &v).expect("put"), model.insert(key(k), v));
            }
            DurableOp::Delete(k) => {
                prop_assert_eq!(t.delete(&pool, &key(k)).expect("delete"), model.remove(&key(k)));
            }
            DurableOp::Flush => {
                pool.flush_all().expect("flush");
            }
        }
    }
    prop_assert_eq!(t.check(&pool).expect("check").entries, model.len() as u64);
    prop_assert_eq!(entries(&t, &pool), model.clone().into_iter().collect::<Vec<_>>());
    pool.flush_all().expect("flush");
    pool.sync_file().expect("sync");
    drop(pool);

    let vfs2 = reopen();
    let pool = common::open_pool(vfs2.as_ref(), path, 512, 8);
    prop_assert_eq!(t.check(&pool).expect("check after reopen").entries, model.len() as u64);
    prop_assert_eq!(entries(&t, &pool), model.clone().into_iter().collect::<Vec<_>>(), "after reopen");
    for (k, v) in &model {
        let got = t.get(&pool, k).expect("get");
        prop_assert_eq!(got.as_ref(), Some(v));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases(64), ..ProptestConfig::default() })]

    /// Random puts and deletes through an 8-frame pool match the model, and
    /// after flush + sync survive power loss.
    #[test]
    fn tree_matches_model_across_power_loss_on_simvfs(ops in prop::collection::vec(durable_op(), 1..400)) {
        let vfs = SimVfs::new(7);
        let v2 = vfs.clone();
        run_durable_model(&vfs, &db(), &ops, move || Box::new(v2.reboot(LossMode::DropAll)))?;
    }

    /// The same on real files.
    #[test]
    fn tree_matches_model_across_reopen_on_real_files(ops in prop::collection::vec(durable_op(), 1..400)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        run_durable_model(&OsVfs::new(), &path, &ops, || Box::new(OsVfs::new()))?;
    }
}
