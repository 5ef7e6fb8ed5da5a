//! The slotted heap page: variable-length tuples addressed by slot number.
//!
//! Pure functions over a page image; no I/O. The slot array grows up from the
//! header, tuple bytes grow down from the end of the page, and the gap between
//! them is the free space:
//!
//! ```text
//!  0        24          52                          tuple_start      page_size
//!  | common | heap hdr  | slot 0 | slot 1 | ... ->  free  <- | t1 | t0 |
//! ```
//!
//! # Layout (after the 24-byte common header, integers little-endian)
//!
//! | offset | size | field | meaning |
//! |---:|---:|---|---|
//! | 24 | 2 | `slot_count` | slots in the array, used or not |
//! | 26 | 2 | `tuple_start` | offset of the lowest tuple byte (the page size when empty) |
//! | 28 | 2 | `frag_bytes` | bytes inside the tuple area freed by deletes and shrinks |
//! | 30 | 2 | `live_count` | used slots |
//! | 32 | 4 | `next_page` | next page of the heap's chain, 0 at the end |
//! | 36 | 4 | `prev_page` | previous page of the chain, 0 at the start |
//! | 40 | 4 | `next_room` | next page on the heap's list of pages with room, 0 at the end |
//! | 44 | 1 | `flags` | bit 0: on the room list |
//! | 45 | 3 | reserved | zero |
//! | 48 | 4 | `owner` | the heap's meta page: checks that a tuple id belongs to its heap |
//! | 52 | 4 × n | slots | per slot: `offset: u16` (0 = unused), `len: u16` |
//!
//! A slot keeps its number for the tuple's life, so a [`TupleId`] (page,
//! slot) stays valid across compaction; a freed slot is reused by a later
//! insert. Trailing unused slots are trimmed.
//!
//! Functions that read slot data check every offset against the page, so a
//! malformed page gives [`Malformed`] — never a panic or an out-of-bounds read.

use crate::ids::{PageId, get_u16, get_u32, put_u16, put_u32};

use super::page::{self, PAGE_HEADER_LEN, PageType};

/// Offset of the slot count.
pub const SLOT_COUNT_OFFSET: usize = PAGE_HEADER_LEN;
/// Offset of the lowest tuple byte.
pub const TUPLE_START_OFFSET: usize = SLOT_COUNT_OFFSET + 2;
/// Offset of the fragmented-bytes count.
pub const FRAG_OFFSET: usize = TUPLE_START_OFFSET + 2;
/// Offset of the used-slot count.
pub const LIVE_COUNT_OFFSET: usize = FRAG_OFFSET + 2;
/// Offset of the next page in the chain.
pub const NEXT_PAGE_OFFSET: usize = LIVE_COUNT_OFFSET + 2;
/// Offset of the previous page in the chain.
pub const PREV_PAGE_OFFSET: usize = NEXT_PAGE_OFFSET + 4;
/// Offset of the next page on the room list.
pub const NEXT_ROOM_OFFSET: usize = PREV_PAGE_OFFSET + 4;
/// Offset of the flags byte.
pub const FLAGS_OFFSET: usize = NEXT_ROOM_OFFSET + 4;
/// Offset of the owning heap's meta page id.
pub const OWNER_OFFSET: usize = FLAGS_OFFSET + 4;
/// Start of the slot array.
pub const SLOTS_OFFSET: usize = OWNER_OFFSET + 4;
/// Bytes per slot entry.
pub const SLOT_LEN: usize = 4;

/// Flag: the page is on its heap's room list.
pub const FLAG_ON_ROOM_LIST: u8 = 1;

/// Address of a tuple: its page and slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TupleId {
    /// The heap page.
    pub page: PageId,
    /// The slot in the page.
    pub slot: u16,
}

impl TupleId {
    /// Pack into a `u64` (page in the high bits), e.g. as an index locator.
    pub fn to_u64(self) -> u64 {
        (u64::from(self.page.0) << 16) | u64::from(self.slot)
    }

    /// Unpack a value made by [`TupleId::to_u64`].
    pub fn from_u64(v: u64) -> TupleId {
        TupleId { page: PageId((v >> 16) as u32), slot: v as u16 }
    }
}

/// A page whose contents contradict its own layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

/// Largest tuple a page of `page_size` bytes can hold.
pub fn max_tuple_len(page_size: usize) -> usize {
    page_size - SLOTS_OFFSET - SLOT_LEN
}

/// Format `buf` as an empty heap page of the heap whose meta page is
/// `owner`. The LSN is kept.
pub fn init(buf: &mut [u8], id: PageId, owner: PageId) {
    let lsn = page::page_lsn(buf);
    page::init(buf, id, PageType::Heap, lsn);
    set_tuple_start(buf, buf.len());
    put_u32(buf, OWNER_OFFSET, owner.0);
}

/// The meta page of the heap this page belongs to.
pub fn owner(buf: &[u8]) -> PageId {
    PageId(get_u32(buf, OWNER_OFFSET))
}

fn tuple_start(buf: &[u8]) -> usize {
    usize::from(get_u16(buf, TUPLE_START_OFFSET))
}

fn set_tuple_start(buf: &mut [u8], v: usize) {
    put_u16(buf, TUPLE_START_OFFSET, v as u16);
}

/// Slots in the array, used or not.
pub fn slot_count(buf: &[u8]) -> u16 {
    get_u16(buf, SLOT_COUNT_OFFSET)
}

/// Used slots.
pub fn live_count(buf: &[u8]) -> u16 {
    get_u16(buf, LIVE_COUNT_OFFSET)
}

fn frag(buf: &[u8]) -> usize {
    usize::from(get_u16(buf, FRAG_OFFSET))
}

fn set_frag(buf: &mut [u8], v: usize) {
    put_u16(buf, FRAG_OFFSET, v as u16);
}

fn slots_end(buf: &[u8]) -> usize {
    SLOTS_OFFSET + SLOT_LEN * usize::from(slot_count(buf))
}

fn slot(buf: &[u8], i: u16) -> (usize, usize) {
    let at = SLOTS_OFFSET + SLOT_LEN * usize::from(i);
    (usize::from(get_u16(buf, at)), usize::from(get_u16(buf, at + 2)))
}

fn set_slot(buf: &mut [u8], i: u16, off: usize, len: usize) {
    let at = SLOTS_OFFSET + SLOT_LEN * usize::from(i);
    put_u16(buf, at, off as u16);
    put_u16(buf, at + 2, len as u16);
}

/// Next page of the chain.
pub fn next_page(buf: &[u8]) -> PageId {
    PageId(get_u32(buf, NEXT_PAGE_OFFSET))
}

/// Set the next page of the chain.
pub fn set_next_page(buf: &mut [u8], id: PageId) {
    put_u32(buf, NEXT_PAGE_OFFSET, id.0);
}

/// Previous page of the chain.
pub fn prev_page(buf: &[u8]) -> PageId {
    PageId(get_u32(buf, PREV_PAGE_OFFSET))
}

/// Set the previous page of the chain.
pub fn set_prev_page(buf: &mut [u8], id: PageId) {
    put_u32(buf, PREV_PAGE_OFFSET, id.0);
}

/// Next page on the room list.
pub fn next_room(buf: &[u8]) -> PageId {
    PageId(get_u32(buf, NEXT_ROOM_OFFSET))
}

/// Whether the page is on the room list.
pub fn on_room_list(buf: &[u8]) -> bool {
    buf[FLAGS_OFFSET] & FLAG_ON_ROOM_LIST != 0
}

/// Put the page on (or take it off) the room list, linking to `next`.
pub fn set_room_link(buf: &mut [u8], on: bool, next: PageId) {
    put_u32(buf, NEXT_ROOM_OFFSET, next.0);
    if on {
        buf[FLAGS_OFFSET] |= FLAG_ON_ROOM_LIST;
    } else {
        buf[FLAGS_OFFSET] &= !FLAG_ON_ROOM_LIST;
    }
}

/// Bytes available to new tuples after compaction, not counting a new slot.
pub fn free_space(buf: &[u8]) -> usize {
    tuple_start(buf).saturating_sub(slots_end(buf)) + frag(buf)
}

/// Check the page's layout fields against each other, so later slot
/// arithmetic cannot go out of bounds.
pub fn check(buf: &[u8]) -> Result<(), Malformed> {
    let end = slots_end(buf);
    let start = tuple_start(buf);
    if page::page_type(buf) != Some(PageType::Heap) {
        return Err(Malformed(format!("not a heap page (type byte {})", buf[page::PAGE_TYPE_OFFSET])));
    }
    if end > start || start > buf.len() {
        return Err(Malformed(format!("slot array end {end} overlaps tuple area start {start}")));
    }
    Ok(())
}

/// The tuple in `slot`, or `None` when the slot is unused or past the array.
pub fn get(buf: &[u8], slot_no: u16) -> Result<Option<&[u8]>, Malformed> {
    check(buf)?;
    if slot_no >= slot_count(buf) {
        return Ok(None);
    }
    let (off, len) = slot(buf, slot_no);
    if off == 0 {
        return Ok(None);
    }
    if off < tuple_start(buf) || off + len > buf.len() {
        return Err(Malformed(format!("slot {slot_no} points at {off}+{len}, outside the tuple area")));
    }
    Ok(Some(&buf[off..off + len]))
}

/// Every used slot with its tuple, in slot order.
pub fn tuples(buf: &[u8]) -> Result<Vec<(u16, &[u8])>, Malformed> {
    let mut out = Vec::with_capacity(usize::from(live_count(buf)));
    for s in 0..slot_count(buf) {
        if let Some(t) = get(buf, s)? {
            out.push((s, t));
        }
    }
    Ok(out)
}

/// Insert a tuple; `None` when it does not fit even after compaction.
pub fn insert(buf: &mut [u8], data: &[u8]) -> Result<Option<u16>, Malformed> {
    check(buf)?;
    let count = slot_count(buf);
    let reuse = (0..count).find(|&s| slot(buf, s).0 == 0);
    let need = data.len() + if reuse.is_some() { 0 } else { SLOT_LEN };
    if free_space(buf) < need {
        return Ok(None);
    }
    if tuple_start(buf) - slots_end(buf) < need {
        // Compact before the slot array grows into the tuple area.
        compact(buf)?;
        if tuple_start(buf) - slots_end(buf) < need {
            return Err(no_room(buf, need));
        }
    }
    let slot_no = match reuse {
        Some(s) => s,
        None => {
            put_u16(buf, SLOT_COUNT_OFFSET, count + 1);
            set_slot(buf, count, 0, 0);
            count
        }
    };
    place(buf, slot_no, data)?;
    // Saturating: the count is bookkeeping, and a damaged page must not panic.
    put_u16(buf, LIVE_COUNT_OFFSET, live_count(buf).saturating_add(1));
    Ok(Some(slot_no))
}

/// Write `data` into the tuple area for an unused `slot_no`, compacting first
/// when the contiguous gap is too small. The caller checked the total space.
fn place(buf: &mut [u8], slot_no: u16, data: &[u8]) -> Result<(), Malformed> {
    if tuple_start(buf).saturating_sub(slots_end(buf)) < data.len() {
        compact(buf)?;
        if tuple_start(buf).saturating_sub(slots_end(buf)) < data.len() {
            return Err(no_room(buf, data.len()));
        }
    }
    let start = tuple_start(buf) - data.len();
    buf[start..start + data.len()].copy_from_slice(data);
    set_tuple_start(buf, start);
    // An empty tuple still needs a non-zero offset to mark the slot used.
    set_slot(buf, slot_no, start.max(1), data.len());
    Ok(())
}

/// A page whose `frag_bytes` promised room that compaction did not find.
fn no_room(buf: &[u8], need: usize) -> Malformed {
    Malformed(format!(
        "{need} bytes do not fit after compaction although the page counts {} free (fragment count {})",
        free_space(buf),
        frag(buf)
    ))
}

/// Remove the tuple in `slot_no`; false when the slot was not in use.
pub fn delete(buf: &mut [u8], slot_no: u16) -> Result<bool, Malformed> {
    if get(buf, slot_no)?.is_none() {
        return Ok(false);
    }
    let (_, len) = slot(buf, slot_no);
    set_slot(buf, slot_no, 0, 0);
    set_frag(buf, frag(buf) + len);
    put_u16(buf, LIVE_COUNT_OFFSET, live_count(buf).saturating_sub(1));
    let mut count = slot_count(buf);
    while count > 0 && slot(buf, count - 1).0 == 0 {
        count -= 1;
    }
    put_u16(buf, SLOT_COUNT_OFFSET, count);
    if count == 0 {
        // Nothing left: the whole tuple area is free again.
        set_tuple_start(buf, buf.len());
        set_frag(buf, 0);
    }
    Ok(true)
}

/// Replace the tuple in `slot_no`, keeping its slot. `Ok(false)` when the new
/// value does not fit in this page (the page is unchanged); the caller moves
/// the tuple elsewhere.
pub fn update(buf: &mut [u8], slot_no: u16, data: &[u8]) -> Result<bool, Malformed> {
    let Some(old) = get(buf, slot_no)? else {
        return Err(Malformed(format!("update of unused slot {slot_no}")));
    };
    let old_len = old.len();
    let (off, _) = slot(buf, slot_no);
    if data.len() <= old_len {
        buf[off..off + data.len()].copy_from_slice(data);
        set_slot(buf, slot_no, off, data.len());
        set_frag(buf, frag(buf) + old_len - data.len());
        return Ok(true);
    }
    if free_space(buf) + old_len < data.len() {
        return Ok(false);
    }
    set_slot(buf, slot_no, 0, 0);
    set_frag(buf, frag(buf) + old_len);
    place(buf, slot_no, data)?;
    Ok(true)
}

/// Move every tuple to the end of the page, leaving one contiguous gap.
pub fn compact(buf: &mut [u8]) -> Result<(), Malformed> {
    let snapshot = buf.to_vec();
    let mut start = buf.len();
    for s in 0..slot_count(&snapshot) {
        if let Some(t) = get(&snapshot, s)? {
            // Overlapping tuples of a damaged page can add up to more than
            // the page: an error, not an underflow.
            start = start.checked_sub(t.len()).filter(|&st| st >= slots_end(&snapshot)).ok_or_else(|| {
                Malformed(format!("the tuples of {} slots do not fit the page", slot_count(&snapshot)))
            })?;
            buf[start..start + t.len()].copy_from_slice(t);
            set_slot(buf, s, start.max(1), t.len());
        }
    }
    set_tuple_start(buf, start);
    set_frag(buf, 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn fresh(size: usize) -> Vec<u8> {
        let mut b = vec![0u8; size];
        init(&mut b, PageId(1), PageId(9));
        b
    }

    #[test]
    fn layout_constants_match_the_table() {
        assert_eq!((SLOT_COUNT_OFFSET, TUPLE_START_OFFSET, FRAG_OFFSET, LIVE_COUNT_OFFSET), (24, 26, 28, 30));
        assert_eq!((NEXT_PAGE_OFFSET, PREV_PAGE_OFFSET, NEXT_ROOM_OFFSET, FLAGS_OFFSET), (32, 36, 40, 44));
        assert_eq!((OWNER_OFFSET, SLOTS_OFFSET), (48, 52));
    }

    #[test]
    fn golden_layout_after_two_inserts() {
        let mut b = fresh(512);
        assert_eq!(insert(&mut b, b"abc").expect("ok"), Some(0));
        assert_eq!(insert(&mut b, b"hello").expect("ok"), Some(1));
        assert_eq!(b[24..32], [2, 0, 0xF8, 0x01, 0, 0, 2, 0], "count 2, start 504, frag 0, live 2");
        assert_eq!(b[48..52], [9, 0, 0, 0], "owner");
        assert_eq!(b[52..60], [0xFD, 0x01, 3, 0, 0xF8, 0x01, 5, 0], "slot 0 at 509 len 3, slot 1 at 504 len 5");
        assert_eq!(&b[504..512], b"helloabc");
    }

    #[test]
    fn insert_get_delete_update_round_trip() {
        let mut b = fresh(512);
        let a = insert(&mut b, b"aaaa").expect("ok").expect("fits");
        let c = insert(&mut b, b"cccccc").expect("ok").expect("fits");
        assert_eq!(get(&b, a).expect("ok"), Some(&b"aaaa"[..]));
        assert!(update(&mut b, a, b"AA").expect("ok"), "shrink in place");
        assert_eq!(get(&b, a).expect("ok"), Some(&b"AA"[..]));
        assert!(update(&mut b, a, b"AAAAAAAAAAAA").expect("ok"), "grow within page");
        assert_eq!(get(&b, a).expect("ok"), Some(&b"AAAAAAAAAAAA"[..]));
        assert!(delete(&mut b, a).expect("ok"));
        assert!(!delete(&mut b, a).expect("ok"), "already gone");
        assert_eq!(get(&b, a).expect("ok"), None);
        assert_eq!(get(&b, c).expect("ok"), Some(&b"cccccc"[..]), "other slots keep their number");
        assert_eq!(insert(&mut b, b"x").expect("ok"), Some(a), "freed slot is reused");
    }

    #[test]
    fn full_page_refuses_then_compaction_makes_room() {
        let mut b = fresh(512);
        let mut ids = Vec::new();
        while let Some(s) = insert(&mut b, &[7u8; 40]).expect("ok") {
            ids.push(s);
        }
        assert!(ids.len() >= 9, "{}", ids.len());
        assert!(free_space(&b) < 44);
        delete(&mut b, ids[1]).expect("ok");
        delete(&mut b, ids[3]).expect("ok");
        // 80 fragmented bytes: a 70-byte tuple needs compaction to fit.
        let s = insert(&mut b, &[9u8; 70]).expect("ok").expect("fits after compaction");
        assert_eq!(get(&b, s).expect("ok"), Some(&[9u8; 70][..]));
        for &i in ids.iter().filter(|&&i| i != ids[1] && i != ids[3]) {
            assert_eq!(get(&b, i).expect("ok"), Some(&[7u8; 40][..]), "slot {i} survived compaction");
        }
        assert!(!update(&mut b, s, &[1u8; 400]).expect("ok"), "too big for the page");
        assert_eq!(get(&b, s).expect("ok"), Some(&[9u8; 70][..]), "failed update changes nothing");
    }

    #[test]
    fn a_max_size_tuple_fits_an_empty_page_and_one_more_byte_does_not() {
        for size in [512usize, 4096] {
            let mut b = fresh(size);
            assert!(insert(&mut b, &vec![1u8; max_tuple_len(size) + 1]).expect("ok").is_none());
            assert!(insert(&mut b, &vec![1u8; max_tuple_len(size)]).expect("ok").is_some());
        }
    }

    #[test]
    fn malformed_pages_are_errors_not_panics() {
        let mut b = fresh(512);
        insert(&mut b, b"abc").expect("ok");
        put_u16(&mut b, SLOTS_OFFSET, 510); // slot 0 now runs past the end
        assert!(get(&b, 0).is_err());
        let mut b = fresh(512);
        put_u16(&mut b, SLOT_COUNT_OFFSET, 500); // slot array past tuple area
        assert!(insert(&mut b, b"x").is_err());
        assert!(tuples(&b).is_err());
        let mut b = fresh(512);
        b[page::PAGE_TYPE_OFFSET] = PageType::Free as u8;
        assert!(get(&b, 0).is_err());
    }

    #[test]
    fn tuple_id_packs_into_u64() {
        let t = TupleId { page: PageId(0xABCDEF), slot: 0x1234 };
        assert_eq!(TupleId::from_u64(t.to_u64()), t);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Vec<u8>),
        Update(usize, Vec<u8>),
        Delete(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), 0..120).prop_map(Op::Insert),
            2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 0..160)).prop_map(|(i, v)| Op::Update(i, v)),
            2 => any::<usize>().prop_map(Op::Delete),
        ]
    }

    proptest! {
        /// Random operations on one page match a map from slot to bytes, and
        /// the free-space accounting never drifts.
        #[test]
        fn page_matches_model(ops in proptest::collection::vec(op(), 1..200)) {
            let mut b = fresh(1024);
            let mut model: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(v) => {
                        let before = free_space(&b);
                        match insert(&mut b, &v).expect("well-formed") {
                            Some(s) => { prop_assert!(model.insert(s, v).is_none()); }
                            None => prop_assert!(before < v.len() + SLOT_LEN),
                        }
                    }
                    Op::Update(i, v) => {
                        if model.is_empty() { continue; }
                        let s = *model.keys().nth(i % model.len()).expect("nonempty");
                        if update(&mut b, s, &v).expect("well-formed") { model.insert(s, v); }
                    }
                    Op::Delete(i) => {
                        if model.is_empty() { continue; }
                        let s = *model.keys().nth(i % model.len()).expect("nonempty");
                        prop_assert!(delete(&mut b, s).expect("well-formed"));
                        model.remove(&s);
                    }
                }
                let got: BTreeMap<u16, Vec<u8>> =
                    tuples(&b).expect("well-formed").into_iter().map(|(s, t)| (s, t.to_vec())).collect();
                prop_assert_eq!(&got, &model);
                prop_assert_eq!(usize::from(live_count(&b)), model.len());
                let used: usize = model.values().map(Vec::len).sum();
                prop_assert_eq!(free_space(&b) + used + slots_end(&b), 1024);
            }
        }
    }
}
