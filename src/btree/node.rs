//! B+tree nodes: the byte layout of leaf and internal pages, and the cell
//! operations on one page image. Pure functions; no I/O.
//!
//! A node is a slotted page: it keeps a slot array that grows up from the
//! header and cells that grow down from the end; the slots are kept in key
//! order, so binary search runs over them.
//!
//! # Layout (after the 24-byte common header, integers little-endian)
//!
//! | offset | size | field | meaning |
//! |---:|---:|---|---|
//! | 24 | 1 | `level` | 0 for a leaf; a parent is one above its children |
//! | 25 | 1 | `flags` | on the root: bit 0 set for a non-unique tree |
//! | 26 | 2 | `count` | cells (keys) in the node |
//! | 28 | 2 | `cell_start` | offset of the lowest cell byte (the page size when empty) |
//! | 30 | 2 | `frag` | bytes of removed cells inside the cell area |
//! | 32 | 4 | `tree` | the tree's root page: checks a page belongs to its tree |
//! | 36 | 4 | `right` | leaf: right sibling; internal: rightmost child |
//! | 40 | 4 | `left` | leaf: left sibling; internal: 0 |
//! | 44 | 4 | reserved | zero |
//! | 48 | 2 × count | slots | cell offsets, in key order |
//!
//! # Cells
//!
//! | node | cell |
//! |---|---|
//! | leaf | `key_len: u16`, `val_len: u16`, key, value |
//! | internal | `child: u32`, `key_len: u16`, key |
//!
//! An internal node with `n` cells has `n + 1` children: cell `i` names
//! child `i`, whose keys are all below the cell's key; `right` is child `n`.
//! The keys of child `i + 1` are at or above cell `i`'s key.
//!
//! Every accessor checks offsets and lengths against the page, so a page
//! that contradicts its own layout is a [`Malformed`] error, not a panic.

use crate::ids::{Lsn, PageId, get_u16, get_u32, put_u16, put_u32};
use crate::storage::page::Malformed;
use crate::storage::page::{self, PAGE_HEADER_LEN, PageType};

/// Offset of the level.
pub const LEVEL_OFFSET: usize = PAGE_HEADER_LEN;
/// Offset of the flags.
pub const FLAGS_OFFSET: usize = LEVEL_OFFSET + 1;
/// Offset of the cell count.
pub const COUNT_OFFSET: usize = FLAGS_OFFSET + 1;
/// Offset of the cell area start.
pub const CELL_START_OFFSET: usize = COUNT_OFFSET + 2;
/// Offset of the fragmented-bytes count.
pub const FRAG_OFFSET: usize = CELL_START_OFFSET + 2;
/// Offset of the tree id.
pub const TREE_OFFSET: usize = FRAG_OFFSET + 2;
/// Offset of the right link.
pub const RIGHT_OFFSET: usize = TREE_OFFSET + 4;
/// Offset of the left link.
pub const LEFT_OFFSET: usize = RIGHT_OFFSET + 4;
/// Start of the slot array.
pub const SLOTS_OFFSET: usize = LEFT_OFFSET + 8;
/// Bytes per slot.
pub const SLOT_LEN: usize = 2;
/// Header bytes of a leaf cell.
pub const LEAF_CELL_HEADER: usize = 4;
/// Header bytes of an internal cell.
pub const INTERNAL_CELL_HEADER: usize = 6;

/// Flag on the root: a non-unique tree.
pub const FLAG_NON_UNIQUE: u8 = 1;

fn bad(msg: String) -> Malformed {
    Malformed(msg)
}

/// Bytes available to cells and slots in a node of `page_size` bytes.
pub fn capacity(page_size: usize) -> usize {
    page_size - SLOTS_OFFSET
}

/// The largest cell (with its slot) a node accepts: four fit in a page, so a
/// split always leaves room.
pub fn max_cell(page_size: usize) -> usize {
    capacity(page_size) / 4 - SLOT_LEN
}

/// Format `buf` as an empty node of `tree` at `level` (LSN kept).
pub fn init(buf: &mut [u8], id: PageId, tree: PageId, level: u8) {
    let lsn: Lsn = page::page_lsn(buf);
    let ty = if level == 0 { PageType::BTreeLeaf } else { PageType::BTreeInternal };
    page::init(buf, id, ty, lsn);
    buf[LEVEL_OFFSET] = level;
    put_u16(buf, CELL_START_OFFSET, buf.len() as u16);
    put_u32(buf, TREE_OFFSET, tree.0);
}

/// The node's level (0: leaf).
pub fn level(buf: &[u8]) -> u8 {
    buf[LEVEL_OFFSET]
}

/// Whether the node is a leaf.
pub fn is_leaf(buf: &[u8]) -> bool {
    level(buf) == 0
}

/// The flags byte.
pub fn flags(buf: &[u8]) -> u8 {
    buf[FLAGS_OFFSET]
}

/// Set the flags byte.
pub fn set_flags(buf: &mut [u8], f: u8) {
    buf[FLAGS_OFFSET] = f;
}

/// Cells in the node.
pub fn count(buf: &[u8]) -> usize {
    usize::from(get_u16(buf, COUNT_OFFSET))
}

fn set_count(buf: &mut [u8], n: usize) {
    put_u16(buf, COUNT_OFFSET, n as u16);
}

fn cell_start(buf: &[u8]) -> usize {
    usize::from(get_u16(buf, CELL_START_OFFSET))
}

fn frag(buf: &[u8]) -> usize {
    usize::from(get_u16(buf, FRAG_OFFSET))
}

/// The tree (root page) the node belongs to.
pub fn tree(buf: &[u8]) -> PageId {
    PageId(get_u32(buf, TREE_OFFSET))
}

/// Leaf: right sibling. Internal: rightmost child.
pub fn right(buf: &[u8]) -> PageId {
    PageId(get_u32(buf, RIGHT_OFFSET))
}

/// Set the right link.
pub fn set_right(buf: &mut [u8], id: PageId) {
    put_u32(buf, RIGHT_OFFSET, id.0);
}

/// Leaf: left sibling.
pub fn left(buf: &[u8]) -> PageId {
    PageId(get_u32(buf, LEFT_OFFSET))
}

/// Set the left link.
pub fn set_left(buf: &mut [u8], id: PageId) {
    put_u32(buf, LEFT_OFFSET, id.0);
}

/// Check the header against the page: type, level, slot array and cell area.
pub fn check(buf: &[u8]) -> Result<(), Malformed> {
    let ty = page::page_type(buf);
    let leaf = is_leaf(buf);
    if (leaf && ty != Some(PageType::BTreeLeaf)) || (!leaf && ty != Some(PageType::BTreeInternal)) {
        return Err(bad(format!(
            "not a B+tree node of level {} (type byte {})",
            level(buf),
            buf[page::PAGE_TYPE_OFFSET]
        )));
    }
    let slots_end = SLOTS_OFFSET + SLOT_LEN * count(buf);
    if slots_end > cell_start(buf) || cell_start(buf) > buf.len() {
        return Err(bad(format!("slot array end {slots_end} overlaps cell area start {}", cell_start(buf))));
    }
    if frag(buf) > buf.len() - cell_start(buf) {
        return Err(bad(format!("{} fragmented bytes in a cell area of {}", frag(buf), buf.len() - cell_start(buf))));
    }
    Ok(())
}

/// Slot `i`'s cell offset; `None` when the slot lies past the page (a
/// page whose count was not [`check`]ed).
fn slot(buf: &[u8], i: usize) -> Option<usize> {
    let at = SLOTS_OFFSET + SLOT_LEN * i;
    buf.get(at..at + SLOT_LEN).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
}

/// The whole cell `i` (header and body), bounds-checked.
pub fn cell(buf: &[u8], i: usize) -> Result<&[u8], Malformed> {
    if i >= count(buf) {
        return Err(bad(format!("cell {i} of {}", count(buf))));
    }
    let off = slot(buf, i).ok_or_else(|| bad(format!("slot {i} lies past the page")))?;
    let len = if is_leaf(buf) {
        let h = buf.get(off..off + LEAF_CELL_HEADER).ok_or_else(|| bad(format!("cell {i} at {off} past the page")))?;
        LEAF_CELL_HEADER + usize::from(get_u16(h, 0)) + usize::from(get_u16(h, 2))
    } else {
        let h =
            buf.get(off..off + INTERNAL_CELL_HEADER).ok_or_else(|| bad(format!("cell {i} at {off} past the page")))?;
        INTERNAL_CELL_HEADER + usize::from(get_u16(h, 4))
    };
    if off < cell_start(buf) {
        return Err(bad(format!("cell {i} at {off} lies before the cell area")));
    }
    buf.get(off..off + len).ok_or_else(|| bad(format!("cell {i} at {off}+{len} past the page")))
}

/// The key of cell `i`.
pub fn key(buf: &[u8], i: usize) -> Result<&[u8], Malformed> {
    let c = cell(buf, i)?;
    Ok(if is_leaf(buf) {
        &c[LEAF_CELL_HEADER..LEAF_CELL_HEADER + usize::from(get_u16(c, 0))]
    } else {
        &c[INTERNAL_CELL_HEADER..]
    })
}

/// The value of leaf cell `i`.
pub fn value(buf: &[u8], i: usize) -> Result<&[u8], Malformed> {
    let c = cell(buf, i)?;
    Ok(&c[LEAF_CELL_HEADER + usize::from(get_u16(c, 0))..])
}

/// Child `i` of an internal node, for `i` in `0..=count` (`count` is the
/// rightmost child).
pub fn child(buf: &[u8], i: usize) -> Result<PageId, Malformed> {
    if i == count(buf) {
        return Ok(right(buf));
    }
    Ok(PageId(get_u32(cell(buf, i)?, 0)))
}

/// Point child `i` (in `0..=count`) at `id`.
pub fn set_child(buf: &mut [u8], i: usize, id: PageId) -> Result<(), Malformed> {
    if i == count(buf) {
        set_right(buf, id);
        return Ok(());
    }
    cell(buf, i)?;
    let off = slot(buf, i).ok_or_else(|| bad(format!("slot {i} lies past the page")))?;
    put_u32(buf, off, id.0);
    Ok(())
}

/// The key of the cell at slot `i`: the hot path of search, so it reads
/// only the key's length and checks only what it reads.
fn key_fast(buf: &[u8], i: usize, leaf: bool) -> Result<&[u8], Malformed> {
    let off = slot(buf, i).ok_or_else(|| bad(format!("slot {i} lies past the page")))?;
    let (len_at, start) = if leaf { (off, off + LEAF_CELL_HEADER) } else { (off + 4, off + INTERNAL_CELL_HEADER) };
    let len = buf.get(len_at..len_at + 2).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
    match len.and_then(|l| buf.get(start..start + l)) {
        Some(k) if off >= SLOTS_OFFSET => Ok(k),
        _ => Err(bad(format!("cell {i} at {off} runs past the page"))),
    }
}

/// Binary search: `Ok(i)` if cell `i` has `key`, else `Err(i)`, where `key`
/// would be inserted.
pub fn search(buf: &[u8], k: &[u8]) -> Result<Result<usize, usize>, Malformed> {
    let leaf = is_leaf(buf);
    let (mut lo, mut hi) = (0, count(buf));
    while lo < hi {
        let mid = (lo + hi) / 2;
        match key_fast(buf, mid, leaf)?.cmp(k) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Ok(Ok(mid)),
        }
    }
    Ok(Err(lo))
}

/// The child of an internal node to descend into for `k`.
pub fn child_index(buf: &[u8], k: &[u8]) -> Result<usize, Malformed> {
    Ok(match search(buf, k)? {
        // Keys equal to a separator live in the child to its right.
        Ok(i) => i + 1,
        Err(i) => i,
    })
}

/// Bytes the cells and slots use. Saturating, so that a page that failed
/// (or never had) its [`check`] gives a number rather than a panic.
pub fn used(buf: &[u8]) -> usize {
    (SLOT_LEN * count(buf) + buf.len().saturating_sub(cell_start(buf))).saturating_sub(frag(buf))
}

/// Bytes free for cells and slots (after compaction).
pub fn free(buf: &[u8]) -> usize {
    capacity(buf.len()).saturating_sub(used(buf))
}

/// Encode a leaf cell.
pub fn leaf_cell(k: &[u8], v: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(LEAF_CELL_HEADER + k.len() + v.len());
    c.extend_from_slice(&(k.len() as u16).to_le_bytes());
    c.extend_from_slice(&(v.len() as u16).to_le_bytes());
    c.extend_from_slice(k);
    c.extend_from_slice(v);
    c
}

/// Encode an internal cell.
pub fn internal_cell(child: PageId, k: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(INTERNAL_CELL_HEADER + k.len());
    c.extend_from_slice(&child.0.to_le_bytes());
    c.extend_from_slice(&(k.len() as u16).to_le_bytes());
    c.extend_from_slice(k);
    c
}

/// Insert an encoded cell at position `pos`; false (page unchanged) when it
/// does not fit even after compaction.
pub fn insert(buf: &mut [u8], pos: usize, c: &[u8]) -> Result<bool, Malformed> {
    let n = count(buf);
    if pos > n {
        return Err(bad(format!("insert at {pos} of {n}")));
    }
    if free(buf) < c.len() + SLOT_LEN {
        return Ok(false);
    }
    let slots_end = SLOTS_OFFSET + SLOT_LEN * n;
    if cell_start(buf) - slots_end < c.len() + SLOT_LEN {
        compact(buf)?;
    }
    let start = cell_start(buf) - c.len();
    buf[start..start + c.len()].copy_from_slice(c);
    put_u16(buf, CELL_START_OFFSET, start as u16);
    let at = SLOTS_OFFSET + SLOT_LEN * pos;
    buf.copy_within(at..slots_end, at + SLOT_LEN);
    put_u16(buf, at, start as u16);
    set_count(buf, n + 1);
    Ok(true)
}

/// Remove cell `pos`.
pub fn remove(buf: &mut [u8], pos: usize) -> Result<(), Malformed> {
    let len = cell(buf, pos)?.len();
    let n = count(buf);
    let at = SLOTS_OFFSET + SLOT_LEN * pos;
    buf.copy_within(at + SLOT_LEN..SLOTS_OFFSET + SLOT_LEN * n, at);
    set_count(buf, n - 1);
    put_u16(buf, FRAG_OFFSET, (frag(buf) + len) as u16);
    if n == 1 {
        put_u16(buf, CELL_START_OFFSET, buf.len() as u16);
        put_u16(buf, FRAG_OFFSET, 0);
    }
    Ok(())
}

/// Every cell, encoded, in key order.
pub fn cells(buf: &[u8]) -> Result<Vec<Vec<u8>>, Malformed> {
    (0..count(buf)).map(|i| cell(buf, i).map(<[u8]>::to_vec)).collect()
}

/// Rewrite the node with exactly `cells` (which must fit), keeping its
/// identity, level, links and flags.
pub fn rebuild(buf: &mut [u8], cells: &[Vec<u8>]) -> Result<(), Malformed> {
    let need: usize = cells.iter().map(|c| c.len() + SLOT_LEN).sum();
    if need > capacity(buf.len()) {
        return Err(bad(format!("{need} bytes of cells do not fit a node")));
    }
    set_count(buf, 0);
    put_u16(buf, CELL_START_OFFSET, buf.len() as u16);
    put_u16(buf, FRAG_OFFSET, 0);
    let mut start = buf.len();
    for (i, c) in cells.iter().enumerate() {
        start -= c.len();
        buf[start..start + c.len()].copy_from_slice(c);
        put_u16(buf, SLOTS_OFFSET + SLOT_LEN * i, start as u16);
    }
    set_count(buf, cells.len());
    put_u16(buf, CELL_START_OFFSET, start as u16);
    // Zero the gap so stale bytes never reach the disk or the log.
    let slots_end = SLOTS_OFFSET + SLOT_LEN * cells.len();
    buf[slots_end..start].fill(0);
    Ok(())
}

/// Move every cell to the end of the page, leaving one contiguous gap.
pub fn compact(buf: &mut [u8]) -> Result<(), Malformed> {
    let all = cells(buf)?;
    rebuild(buf, &all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(size: usize) -> Vec<u8> {
        let mut b = vec![0u8; size];
        init(&mut b, PageId(3), PageId(3), 0);
        b
    }

    #[test]
    fn layout_constants_match_the_table() {
        assert_eq!((LEVEL_OFFSET, FLAGS_OFFSET, COUNT_OFFSET, CELL_START_OFFSET, FRAG_OFFSET), (24, 25, 26, 28, 30));
        assert_eq!((TREE_OFFSET, RIGHT_OFFSET, LEFT_OFFSET, SLOTS_OFFSET), (32, 36, 40, 48));
    }

    #[test]
    fn golden_leaf_with_two_cells() {
        let mut b = leaf(512);
        assert!(insert(&mut b, 0, &leaf_cell(b"b", b"2")).expect("ok"));
        assert!(insert(&mut b, 0, &leaf_cell(b"a", b"1")).expect("ok"));
        assert_eq!(b[24..32], [0, 0, 2, 0, 0xF4, 0x01, 0, 0], "level 0, count 2, cells from 500");
        assert_eq!(b[48..52], [0xF4, 0x01, 0xFA, 0x01], "slot 0 -> 500 (a), slot 1 -> 506 (b)");
        assert_eq!(&b[500..512], &[1, 0, 1, 0, b'a', b'1', 1, 0, 1, 0, b'b', b'2']);
        assert_eq!(search(&b, b"b").expect("ok"), Ok(1));
        assert_eq!(search(&b, b"ab").expect("ok"), Err(1));
        assert_eq!(value(&b, 0).expect("ok"), b"1");
    }

    #[test]
    fn internal_children_and_separators() {
        let mut b = vec![0u8; 512];
        init(&mut b, PageId(1), PageId(1), 1);
        set_right(&mut b, PageId(30));
        insert(&mut b, 0, &internal_cell(PageId(10), b"m")).expect("ok");
        insert(&mut b, 1, &internal_cell(PageId(20), b"t")).expect("ok");
        assert_eq!(
            [child(&b, 0), child(&b, 1), child(&b, 2)].map(|c| c.expect("ok")),
            [PageId(10), PageId(20), PageId(30)]
        );
        assert_eq!(child_index(&b, b"a").expect("ok"), 0);
        assert_eq!(child_index(&b, b"m").expect("ok"), 1, "a key equal to a separator goes right");
        assert_eq!(child_index(&b, b"z").expect("ok"), 2);
        set_child(&mut b, 2, PageId(31)).expect("ok");
        assert_eq!(right(&b), PageId(31));
    }

    #[test]
    fn removal_frees_space_and_compaction_reclaims_it() {
        let mut b = leaf(512);
        let mut n = 0;
        while insert(&mut b, n, &leaf_cell(&[n as u8; 20], &[7u8; 20])).expect("ok") {
            n += 1;
        }
        assert!(n >= 9);
        let before = free(&b);
        remove(&mut b, 2).expect("ok");
        assert_eq!(free(&b), before + 44 + SLOT_LEN);
        assert!(insert(&mut b, 2, &leaf_cell(&[2u8; 30], &[9u8; 10])).expect("ok"), "fits after compaction");
        assert_eq!(key(&b, 2).expect("ok"), &[2u8; 30][..]);
        assert_eq!(count(&b), n);
    }

    #[test]
    fn malformed_nodes_are_errors() {
        let mut b = leaf(512);
        insert(&mut b, 0, &leaf_cell(b"k", b"v")).expect("ok");
        put_u16(&mut b, SLOTS_OFFSET, 510);
        assert!(key(&b, 0).is_err());
        assert!(cell(&b, 5).is_err());
        let mut c = leaf(512);
        put_u16(&mut c, COUNT_OFFSET, 400);
        assert!(check(&c).is_err());
        c[page::PAGE_TYPE_OFFSET] = PageType::Overflow as u8;
        assert!(check(&c).is_err());
    }
}
