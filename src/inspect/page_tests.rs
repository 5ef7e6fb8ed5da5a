//! Tests of the page summary: every kind of page on a real database, a
//! damaged page, and bytes that contradict their layout.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::api::Options;
use crate::io::SimVfs;
use crate::value::Value;

const PATH: &str = "/d/pages.db";

fn open(vfs: &SimVfs) -> Database {
    Database::open_on(Arc::new(vfs.clone()), Path::new(PATH), Options::default()).expect("open")
}

fn root_of(db: &Database, name: &str) -> PageId {
    PageId(db.query_row("SELECT rootpage FROM waldb_schema WHERE name = ?", [name], |r| r.get(0)).expect("rootpage"))
}

fn header_of(db: &Database) -> HeaderSummary {
    match db.page_summary(PageId::HEADER).expect("page 0").kind {
        PageKind::Header(h) => h,
        other => panic!("page 0 is not the header: {other:?}"),
    }
}

fn leaf_of(db: &Database, id: PageId) -> LeafSummary {
    match db.page_summary(id).expect("summary").kind {
        PageKind::Leaf(l) => l,
        other => panic!("page {id} is not a leaf: {other:?}"),
    }
}

#[test]
fn the_header_page_shows_the_file_header_fields() {
    let vfs = SimVfs::new(1);
    let db = open(&vfs);
    db.execute_batch("CREATE TABLE t(x); PRAGMA user_version = 7;").expect("sql");
    let s = db.page_summary(PageId::HEADER).expect("page 0");
    assert_eq!((s.id, s.size, s.type_byte, s.damage.as_deref()), (PageId(0), 4096, 1, None));
    assert!(s.lsn > Lsn::ZERO && s.lsn <= db.durable_lsn(), "{s:?}");
    let PageKind::Header(h) = s.kind else { panic!("not the header: {s:?}") };
    assert_eq!((h.format_version, h.page_size, h.user_version, h.application_id), (1, 4096, 7, 0));
    assert_eq!(h.roots.len(), 8);
    assert_ne!(h.roots[0], PageId::NONE, "slot 0 holds the schema table");
    assert!(h.page_count >= 3 && h.schema_cookie > 0, "{h:?}");
    assert_eq!((h.free_head, h.free_count), (PageId::NONE, 0));
}

#[test]
fn a_leaf_lists_its_entries() {
    let vfs = SimVfs::new(2);
    let db = open(&vfs);
    db.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('bb'), ('ccc');")
        .expect("sql");
    let root = root_of(&db, "t");
    let s = db.page_summary(root).expect("summary");
    assert_eq!((s.type_byte, s.damage.as_deref()), (5, None));
    let PageKind::Leaf(l) = s.kind else { panic!("not a leaf: {s:?}") };
    assert_eq!(
        (l.tree, l.key_count, l.prev, l.next, l.malformed.as_deref()),
        (root, 3, PageId::NONE, PageId::NONE, None)
    );
    assert_eq!(l.entries.len(), 3);
    assert!(l.entries.windows(2).all(|w| w[0].key < w[1].key), "keys in order: {:?}", l.entries);
    assert!(l.entries[0].value_len < l.entries[2].value_len);
    assert_eq!(l.used_bytes + l.free_bytes, 4096 - node::SLOTS_OFFSET);
}

#[test]
fn an_interior_node_names_its_children_and_the_leaves_are_linked() {
    let vfs = SimVfs::new(3);
    let db = open(&vfs);
    db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).expect("create");
    let tx = db.transaction().expect("begin");
    let mut insert = tx.prepare("INSERT INTO t(v) VALUES (?)").expect("prepare");
    for i in 0..2000 {
        insert.execute([format!("{i:0100}")]).expect("insert");
    }
    drop(insert);
    tx.commit().expect("commit");
    let root = root_of(&db, "t");
    let s = db.page_summary(root).expect("summary");
    let PageKind::Interior(n) = s.kind else { panic!("2000 rows of 100 bytes fit no leaf: {s:?}") };
    assert_eq!((n.tree, n.level, n.malformed.as_deref()), (root, 1, None));
    assert_eq!(n.keys.len(), n.key_count);
    assert_eq!(n.children.len(), n.key_count + 1);
    assert!(n.key_count >= 40, "{n:?}");
    let leaves: Vec<LeafSummary> = n.children.iter().map(|&c| leaf_of(&db, c)).collect();
    let entries: usize = leaves.iter().map(|l| l.entries.len()).sum();
    assert_eq!(entries, 2000);
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(l.tree, root);
        assert_eq!(l.next, n.children.get(i + 1).copied().unwrap_or(PageId::NONE), "leaf {i}");
        assert_eq!(l.prev, if i == 0 { PageId::NONE } else { n.children[i - 1] }, "leaf {i}");
        if let Some(k) = n.keys.get(i) {
            assert!(l.entries.iter().all(|e| &e.key < k), "leaf {i} holds keys below separator {i}");
        }
    }
}

#[test]
fn a_big_value_fills_overflow_pages_that_are_freed_by_delete() {
    let vfs = SimVfs::new(4);
    let db = open(&vfs);
    db.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB)", ()).expect("create");
    db.execute("INSERT INTO big(b) VALUES (?)", [Value::Blob(vec![7; 20_000])]).expect("insert");
    let count = header_of(&db).page_count;
    let mut chain = Vec::new();
    for id in 1..count {
        if let PageKind::Overflow { next, len } = db.page_summary(PageId(id)).expect("summary").kind {
            chain.push((PageId(id), next, len));
        }
    }
    let bytes: usize = chain.iter().map(|c| c.2).sum();
    assert!(chain.len() >= 5 && bytes >= 20_000, "{chain:?}");
    assert!(chain.iter().all(|c| c.2 <= overflow::capacity(4096)));
    assert_eq!(chain.iter().filter(|c| c.1 == PageId::NONE).count(), 1, "one chain, one end: {chain:?}");
    assert!(chain.iter().all(|c| c.1 == PageId::NONE || chain.iter().any(|d| d.0 == c.1)));

    db.execute("DELETE FROM big", ()).expect("delete");
    db.checkpoint().expect("checkpoint");
    let h = header_of(&db);
    assert!(h.free_count as usize >= chain.len(), "{h:?}");
    let (mut at, mut walked) = (h.free_head, 0);
    while at != PageId::NONE {
        let s = db.page_summary(at).expect("free page");
        let PageKind::Free { next } = s.kind else { panic!("page {at} on the free list: {s:?}") };
        (at, walked) = (next, walked + 1);
        assert!(walked <= h.free_count, "the free list runs past its count");
    }
    assert_eq!(walked, h.free_count);
}

#[test]
fn a_damaged_page_is_summarised_from_its_bytes_with_the_damage_named() {
    let vfs = SimVfs::new(5);
    let db = open(&vfs);
    db.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b');")
        .expect("sql");
    let root = root_of(&db, "t");
    db.close().expect("close");
    vfs.flip_bit(Path::new(PATH), u64::from(root.0) * 4096 + 2000, 3).expect("flip");
    let db = open(&vfs);
    let s = db.page_summary(root).expect("a damaged page still has a summary");
    let damage = s.damage.as_deref().expect("damage named");
    assert!(damage.contains("checksum mismatch"), "{damage}");
    let PageKind::Leaf(l) = s.kind else { panic!("the raw bytes are still a leaf: {s:?}") };
    assert_eq!(l.entries.len(), 2);
    let report = crate::inspect::check_structure(&db).expect("the check runs");
    assert!(report.problems().any(|f| f.page == Some(root)), "{report:?}");
}

#[test]
fn pages_that_do_not_exist_or_would_wait_are_errors() {
    let vfs = SimVfs::new(6);
    let db = open(&vfs);
    db.execute("CREATE TABLE t(x)", ()).expect("create");
    let count = header_of(&db).page_count;
    let e = db.page_summary(PageId(count)).expect_err("past the end");
    assert!(e.to_string().contains("does not exist"), "{e}");
    db.execute("BEGIN", ()).expect("begin");
    assert!(db.page_summary(PageId::HEADER).is_err());
    db.execute("ROLLBACK", ()).expect("rollback");
}

/// A page image of `ty` whose every other byte comes from `seed`.
fn noise(seed: u64, ty: u8) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut buf: Vec<u8> = (0..512)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    buf[page::PAGE_TYPE_OFFSET] = ty;
    buf
}

#[test]
fn bytes_that_contradict_their_layout_give_reasons_not_panics() {
    let file = Path::new("noise.db");
    for seed in 0..3000u64 {
        for ty in 0..=9u8 {
            let s = summarize(&noise(seed, ty), PageId(3), None, file);
            assert_eq!((s.size, s.type_byte), (512, ty));
            match s.kind {
                PageKind::Header(_) => panic!("noise decoded as a file header (seed {seed})"),
                PageKind::Leaf(l) => assert!(l.malformed.is_some() || l.entries.len() == l.key_count),
                PageKind::Interior(n) => assert!(n.malformed.is_some() || n.children.len() == n.key_count + 1),
                PageKind::Overflow { len, .. } => assert!(len <= overflow::capacity(512)),
                PageKind::Free { .. } | PageKind::Unknown { .. } => {}
            }
        }
    }
    let mut leaf = vec![0u8; 512];
    node::init(&mut leaf, PageId(3), PageId(3), 0);
    leaf[node::COUNT_OFFSET..node::COUNT_OFFSET + 2].copy_from_slice(&u16::MAX.to_le_bytes());
    let PageKind::Leaf(l) = summarize(&leaf, PageId(3), None, file).kind else { panic!("a leaf") };
    assert!(l.malformed.is_some() && l.entries.is_empty(), "{l:?}");
    let header = summarize(&noise(1, PageType::FileHeader as u8), PageId(0), None, file);
    assert!(matches!(&header.kind, PageKind::Unknown { reason } if reason.contains("does not decode")), "{header:?}");
    let short = summarize(&[0u8; 100], PageId(0), None, file);
    assert!(matches!(short.kind, PageKind::Unknown { .. }));
}
