//! Heap files through the buffer pool: behaviour tests, and a property test
//! against an in-memory model across flush and reopen, on `SimVfs` and on
//! real files.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use waldb::Error;
use waldb::buffer::BufferPool;
use waldb::io::{LossMode, OsVfs, SimVfs, Vfs};
use waldb::storage::heap_page::max_tuple_len;
use waldb::storage::{FileHeader, HeapFile, PageStore, TupleId};

const PS: usize = 512;

fn db() -> PathBuf {
    PathBuf::from("/d/t.db")
}

fn scan(heap: &HeapFile, pool: &BufferPool) -> BTreeMap<TupleId, Vec<u8>> {
    let mut cur = heap.cursor(pool).expect("cursor");
    let mut out = BTreeMap::new();
    while let Some((tid, t)) = cur.next(pool).expect("scan") {
        assert!(out.insert(tid, t).is_none(), "scan returned {tid:?} twice");
    }
    out
}

fn row(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j) as u8).collect()
}

fn header_of(pool: &BufferPool) -> FileHeader {
    let p = pool.read(waldb::PageId::HEADER).expect("header");
    FileHeader::decode(&p, Path::new("t")).expect("decode")
}

#[test]
fn inserted_tuples_come_back_by_id_and_by_scan() {
    let vfs = SimVfs::new(1);
    let pool = common::open_pool(&vfs, &db(), PS, 8);
    let heap = HeapFile::create(&pool).expect("create");
    let tids: Vec<TupleId> = (0..500).map(|i| heap.insert(&pool, &row(i, i % 90)).expect("insert")).collect();
    for (i, tid) in tids.iter().enumerate() {
        assert_eq!(heap.get(&pool, *tid).expect("get"), Some(row(i, i % 90)));
    }
    let all = scan(&heap, &pool);
    assert_eq!(all.len(), 500);
    assert_eq!(heap.tuple_count(&pool).expect("count"), 500);
    assert!(heap.page_count(&pool).expect("pages") > 40, "spread over many pages");
    assert_eq!(heap.pages(&pool).expect("chain").len() as u32, heap.page_count(&pool).expect("pages"));
}

#[test]
fn deleted_space_is_reused_without_growing_the_heap() {
    let vfs = SimVfs::new(1);
    let pool = common::open_pool(&vfs, &db(), PS, 8);
    let heap = HeapFile::create(&pool).expect("create");
    let tids: Vec<TupleId> = (0..400).map(|i| heap.insert(&pool, &row(i, 50)).expect("insert")).collect();
    let pages = heap.page_count(&pool).expect("pages");
    for tid in tids.iter().take(300) {
        assert!(heap.delete(&pool, *tid).expect("delete"));
    }
    assert!(!heap.delete(&pool, tids[0]).expect("second delete"), "already gone");
    for i in 0..300 {
        heap.insert(&pool, &row(i, 50)).expect("insert");
    }
    assert_eq!(heap.page_count(&pool).expect("pages"), pages, "freed room was found through the room list");
    assert_eq!(heap.tuple_count(&pool).expect("count"), 400);
}

#[test]
fn update_in_place_or_moved_keeps_the_value() {
    let vfs = SimVfs::new(1);
    let pool = common::open_pool(&vfs, &db(), PS, 8);
    let heap = HeapFile::create(&pool).expect("create");
    let tids: Vec<TupleId> = (0..8).map(|i| heap.insert(&pool, &row(i, 50)).expect("insert")).collect();
    assert_eq!(heap.update(&pool, tids[0], b"short").expect("update"), tids[0], "shrinks in place");
    let big = row(99, max_tuple_len(PS) - 10);
    let moved = heap.update(&pool, tids[1], &big).expect("update");
    assert_ne!(moved, tids[1], "too big for its page: moved");
    assert_eq!(heap.get(&pool, moved).expect("get"), Some(big));
    assert_eq!(heap.get(&pool, tids[1]).expect("get"), None);
    assert_eq!(heap.get(&pool, tids[0]).expect("get"), Some(b"short".to_vec()));
    assert_eq!(heap.tuple_count(&pool).expect("count"), 8);
    assert!(heap.update(&pool, tids[1], b"x").is_err(), "updating a deleted tuple is an error");
}

#[test]
fn tuples_over_the_limit_are_too_big() {
    let vfs = SimVfs::new(1);
    let pool = common::open_pool(&vfs, &db(), PS, 8);
    let heap = HeapFile::create(&pool).expect("create");
    let max = max_tuple_len(PS);
    for len in [0, 1, PS / 2, max] {
        let tid = heap.insert(&pool, &row(len, len)).expect("fits");
        assert_eq!(heap.get(&pool, tid).expect("get").map(|v| v.len()), Some(len));
    }
    let e = heap.insert(&pool, &row(0, max + 1)).expect_err("too big");
    assert!(matches!(e, Error::TooBig { what: "tuple", size, limit } if size == max + 1 && limit == max), "{e}");
}

#[test]
fn destroyed_heaps_return_their_pages_for_reuse() {
    let vfs = SimVfs::new(1);
    let pool = common::open_pool(&vfs, &db(), PS, 8);
    let a = HeapFile::create(&pool).expect("create");
    for i in 0..200 {
        a.insert(&pool, &row(i, 60)).expect("insert");
    }
    let used = header_of(&pool).page_count;
    let a_pages = a.page_count(&pool).expect("pages") + 1;
    a.destroy(&pool).expect("destroy");
    assert_eq!(header_of(&pool).free_count, a_pages);
    let b = HeapFile::create(&pool).expect("create");
    for i in 0..200 {
        b.insert(&pool, &row(i, 60)).expect("insert");
    }
    assert_eq!(header_of(&pool).page_count, used, "the file did not grow");
    assert_eq!(header_of(&pool).free_count, 0);
}

#[test]
fn a_tuple_id_of_another_heap_is_refused() {
    let vfs = SimVfs::new(1);
    let pool = common::open_pool(&vfs, &db(), PS, 8);
    let a = HeapFile::create(&pool).expect("a");
    let b = HeapFile::create(&pool).expect("b");
    let tid = a.insert(&pool, b"mine").expect("insert");
    assert!(matches!(b.get(&pool, tid), Err(Error::InvalidInput(_))));
    assert!(b.delete(&pool, tid).is_err());
    assert_eq!(a.get(&pool, tid).expect("get"), Some(b"mine".to_vec()));
}

#[derive(Clone, Debug)]
enum Op {
    Insert(usize),
    Update(usize, usize),
    Delete(usize),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..300).prop_map(Op::Insert),
        3 => (any::<usize>(), 0usize..400).prop_map(|(i, n)| Op::Update(i, n)),
        3 => any::<usize>().prop_map(Op::Delete),
        1 => Just(Op::Flush),
    ]
}

/// Run `ops` on a fresh heap and compare with a model; then flush, sync,
/// reopen with `reopen` and compare again.
fn run_model(
    vfs: &dyn Vfs,
    path: &Path,
    ops: &[Op],
    reopen: impl FnOnce() -> Box<dyn Vfs>,
) -> Result<(), TestCaseError> {
    let pool = common::open_pool(vfs, path, PS, 8);
    let heap = HeapFile::create(&pool).expect("create");
    let mut model: BTreeMap<TupleId, Vec<u8>> = BTreeMap::new();
    for (n, op) in ops.iter().enumerate() {
        match *op {
            Op::Insert(len) => {
                let v = row(n, len);
                let tid = heap.insert(&pool, &v).expect("insert");
                prop_assert!(model.insert(tid, v).is_none(), "tuple id {:?} handed out twice", tid);
            }
            Op::Update(i, len) if !model.is_empty() => {
                let tid = *model.keys().nth(i % model.len()).expect("nonempty");
                let v = row(n, len);
                let new = heap.update(&pool, tid, &v).expect("update");
                model.remove(&tid);
                model.insert(new, v);
            }
            Op::Delete(i) if !model.is_empty() => {
                let tid = *model.keys().nth(i % model.len()).expect("nonempty");
                prop_assert!(heap.delete(&pool, tid).expect("delete"));
                model.remove(&tid);
            }
            Op::Flush => {
                pool.flush_all().expect("flush");
            }
            _ => {}
        }
    }
    prop_assert_eq!(&scan(&heap, &pool), &model);
    prop_assert_eq!(heap.tuple_count(&pool).expect("count"), model.len() as u64);
    pool.flush_all().expect("flush");
    pool.sync_file().expect("sync");
    drop(pool);

    let vfs2 = reopen();
    let pool = common::open_pool(vfs2.as_ref(), path, PS, 8);
    prop_assert_eq!(&scan(&heap, &pool), &model, "after reopen");
    for (tid, v) in &model {
        let got = heap.get(&pool, *tid).expect("get");
        prop_assert_eq!(got.as_ref(), Some(v));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases(64), ..ProptestConfig::default() })]

    /// Random inserts, updates and deletes through an 8-frame pool (forcing
    /// eviction) match the model, and after flush + sync survive power loss.
    #[test]
    fn heap_matches_model_across_power_loss_on_simvfs(ops in proptest::collection::vec(op(), 1..400)) {
        let vfs = SimVfs::new(7);
        let v2 = vfs.clone();
        run_model(&vfs, &db(), &ops, move || Box::new(v2.reboot(LossMode::DropAll)))?;
    }

    /// The same on real files.
    #[test]
    fn heap_matches_model_across_reopen_on_real_files(ops in proptest::collection::vec(op(), 1..400)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        run_model(&OsVfs::new(), &path, &ops, || Box::new(OsVfs::new()))?;
    }
}
