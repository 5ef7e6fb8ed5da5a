//! Payloads of the transaction layer's log records, and how a page change is
//! computed, encoded and replayed.
//!
//! A transaction remembers the before-image of every page it writes (no
//! steal keeps its changes in memory until commit). At commit it logs each
//! page either as the byte ranges that differ from the before-image
//! (`PAGE_CHANGE`, physiological: page id + the changed bytes) or, when the
//! page has not been logged since the last checkpoint's redo point, as its
//! whole image (`FULL_PAGE_IMAGE`, `docs/DESIGN.md` invariant 5). Redo applies a record to a
//! page only when the page's LSN is below the record's (`docs/DESIGN.md` invariant 4).
//!
//! The checksum (bytes 0..4) and page LSN (bytes 8..16) are never part of a
//! diff: the first is computed at write-back, the second is set to the
//! record's LSN when the record is logged or replayed.
//!
//! # PAGE_CHANGE payload
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 4 | page id |
//! | 4 | 2 | number of ranges `n` |
//! | 6 | … | `n` × (`offset: u16`, `len: u16`, `len` bytes) |
//!
//! # FULL_PAGE_IMAGE payload
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 4 | page id |
//! | 4 | page size | the page image |
//!
//! # CHECKPOINT payload
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | the checkpoint's redo LSN |
//!
//! `BEGIN`, `COMMIT` and `ABORT` carry no payload.

use crate::ids::{Lsn, PageId, get_u16, get_u32, get_u64, put_u16, put_u32};
use crate::storage::page::{CRC_OFFSET, PAGE_ID_OFFSET, PAGE_LSN_OFFSET, set_page_lsn};
use crate::wal::RecordType;

/// Ranges closer than this are merged into one (a range costs 4 bytes).
const MERGE_GAP: usize = 8;

/// Whether byte `i` of a page takes part in diffs.
fn logged(i: usize) -> bool {
    !(CRC_OFFSET..PAGE_ID_OFFSET).contains(&i) && !(PAGE_LSN_OFFSET..PAGE_LSN_OFFSET + 8).contains(&i)
}

/// The byte ranges `[start, end)` where `after` differs from `before`.
///
/// Compares 8-byte words: equal words are skipped, and in a word that
/// differs only its first and last differing bytes matter, since the bytes
/// between are closer than [`MERGE_GAP`] and would be merged anyway. The
/// unlogged header bytes (checksum, page LSN) lie in the first two words,
/// which are compared byte by byte. The result is exactly that of a
/// byte-by-byte comparison (a property test checks it).
pub fn diff(before: &[u8], after: &[u8]) -> Vec<(usize, usize)> {
    debug_assert_eq!(before.len(), after.len());
    const _: () = assert!(MERGE_GAP >= 7 && PAGE_LSN_OFFSET + 8 <= 16);
    let n = before.len().min(after.len());
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut add = |first: usize, last: usize| match ranges.last_mut() {
        Some((_, end)) if first - *end <= MERGE_GAP => *end = last + 1,
        _ => ranges.push((first, last + 1)),
    };
    let words = before[..n].chunks_exact(8).zip(after[..n].chunks_exact(8));
    for (w, (b, a)) in words.enumerate() {
        let at = w * 8;
        let x = u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) ^ u64::from_le_bytes(a.try_into().unwrap_or([0; 8]));
        if x == 0 {
            continue;
        }
        if at < 16 {
            for i in (at..at + 8).filter(|&i| b[i - at] != a[i - at] && logged(i)) {
                add(i, i);
            }
        } else {
            add(at + x.trailing_zeros() as usize / 8, at + 7 - x.leading_zeros() as usize / 8);
        }
    }
    for i in (n / 8 * 8..n).filter(|&i| before[i] != after[i] && logged(i)) {
        add(i, i);
    }
    ranges
}

/// Encode a PAGE_CHANGE payload for `ranges` of `after`.
pub fn encode_page_change(id: PageId, after: &[u8], ranges: &[(usize, usize)]) -> Vec<u8> {
    let body: usize = ranges.iter().map(|(s, e)| 4 + e - s).sum();
    let mut out = vec![0u8; 6];
    out.reserve(body);
    put_u32(&mut out, 0, id.0);
    put_u16(&mut out, 4, ranges.len() as u16);
    for &(s, e) in ranges {
        out.extend_from_slice(&(s as u16).to_le_bytes());
        out.extend_from_slice(&((e - s) as u16).to_le_bytes());
        out.extend_from_slice(&after[s..e]);
    }
    out
}

/// Encode a FULL_PAGE_IMAGE payload.
pub fn encode_full_page(id: PageId, page: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + page.len());
    out.extend_from_slice(&id.0.to_le_bytes());
    out.extend_from_slice(page);
    out
}

/// Encode a CHECKPOINT payload.
pub fn encode_checkpoint(redo: Lsn) -> Vec<u8> {
    redo.0.to_le_bytes().to_vec()
}

/// Decode a CHECKPOINT payload.
pub fn decode_checkpoint(payload: &[u8]) -> Option<Lsn> {
    (payload.len() == 8).then(|| Lsn(get_u64(payload, 0)))
}

/// A decoded page record.
#[derive(Debug, PartialEq, Eq)]
pub enum PageOp<'a> {
    /// Replace the page with this image.
    Image(&'a [u8]),
    /// Overwrite these ranges: (offset, bytes).
    Ranges(Vec<(usize, &'a [u8])>),
}

/// Decode a PAGE_CHANGE or FULL_PAGE_IMAGE payload for pages of
/// `page_size` bytes, checking every length against the page.
pub fn decode_page_record(kind: RecordType, payload: &[u8], page_size: usize) -> Result<(PageId, PageOp<'_>), String> {
    if payload.len() < 4 {
        return Err("page record shorter than its page id".into());
    }
    let id = PageId(get_u32(payload, 0));
    match kind {
        RecordType::FullPageImage => {
            if payload.len() != 4 + page_size {
                return Err(format!("full page image of {} bytes for {page_size}-byte pages", payload.len() - 4));
            }
            Ok((id, PageOp::Image(&payload[4..])))
        }
        RecordType::PageChange => {
            if payload.len() < 6 {
                return Err("page change without a range count".into());
            }
            let n = usize::from(get_u16(payload, 4));
            let mut at = 6;
            let mut ranges = Vec::with_capacity(n.min(page_size));
            for _ in 0..n {
                if at + 4 > payload.len() {
                    return Err("page change truncated in a range header".into());
                }
                let off = usize::from(get_u16(payload, at));
                let len = usize::from(get_u16(payload, at + 2));
                at += 4;
                if off + len > page_size || at + len > payload.len() {
                    return Err(format!("range {off}+{len} outside the page or the record"));
                }
                ranges.push((off, &payload[at..at + len]));
                at += len;
            }
            if at != payload.len() {
                return Err("page change has trailing bytes".into());
            }
            Ok((id, PageOp::Ranges(ranges)))
        }
        other => Err(format!("{} is not a page record", other.name())),
    }
}

/// Apply a page operation and stamp the record's LSN.
pub fn apply(page: &mut [u8], op: &PageOp<'_>, lsn: Lsn) {
    match op {
        PageOp::Image(img) => page.copy_from_slice(img),
        PageOp::Ranges(ranges) => {
            for (off, bytes) in ranges {
                page[*off..*off + bytes.len()].copy_from_slice(bytes);
            }
        }
    }
    set_page_lsn(page, lsn);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn diff_skips_checksum_and_lsn_and_merges_close_ranges() {
        let before = vec![0u8; 64];
        let mut after = before.clone();
        after[0] = 1; // crc: not logged
        after[9] = 1; // lsn: not logged
        after[20] = 1;
        after[25] = 1; // within the merge gap of 20
        after[50] = 1;
        assert_eq!(diff(&before, &after), vec![(20, 26), (50, 51)]);
    }

    #[test]
    fn golden_page_change_payload() {
        let before = vec![0u8; 32];
        let mut after = before.clone();
        after[24..26].copy_from_slice(b"hi");
        let ranges = diff(&before, &after);
        let p = encode_page_change(PageId(7), &after, &ranges);
        assert_eq!(p, [7, 0, 0, 0, 1, 0, 24, 0, 2, 0, b'h', b'i']);
        let (id, op) = decode_page_record(RecordType::PageChange, &p, 32).expect("decode");
        assert_eq!((id, op), (PageId(7), PageOp::Ranges(vec![(24, &b"hi"[..])])));
    }

    #[test]
    fn malformed_payloads_are_errors() {
        assert!(decode_page_record(RecordType::PageChange, &[1, 0, 0], 512).is_err());
        // A range past the page.
        let p = [1, 0, 0, 0, 1, 0, 0xFF, 0x01, 2, 0, 0, 0];
        assert!(decode_page_record(RecordType::PageChange, &p, 512).is_err());
        // A range past the record.
        let p = [1, 0, 0, 0, 1, 0, 10, 0, 9, 0, 0];
        assert!(decode_page_record(RecordType::PageChange, &p, 512).is_err());
        assert!(decode_page_record(RecordType::FullPageImage, &[1, 0, 0, 0, 9], 512).is_err());
        assert!(decode_page_record(RecordType::Commit, &[1, 0, 0, 0], 512).is_err());
        assert_eq!(decode_checkpoint(&[1, 2, 3]), None);
    }

    /// The definition `diff` must match: every differing logged byte,
    /// merged with the range before it when at most `MERGE_GAP` apart.
    fn diff_bytewise(before: &[u8], after: &[u8]) -> Vec<(usize, usize)> {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for i in (0..before.len()).filter(|&i| before[i] != after[i] && logged(i)) {
            match ranges.last_mut() {
                Some((_, end)) if i - *end <= MERGE_GAP => *end = i + 1,
                _ => ranges.push((i, i + 1)),
            }
        }
        ranges
    }

    proptest! {
        /// The word-at-a-time diff gives exactly the byte-by-byte ranges:
        /// scattered edits, and a shifted run as a B-tree insert makes.
        #[test]
        fn diff_matches_the_bytewise_definition(
            before in proptest::collection::vec(any::<u8>(), 0..600),
            edits in proptest::collection::vec((0usize..600, any::<u8>()), 0..40),
            shift in (0usize..600, 0usize..600, 1usize..16),
        ) {
            let mut after = before.clone();
            let n = after.len();
            for (i, v) in edits.into_iter().filter(|(i, _)| *i < n) { after[i] = v; }
            let (from, len, by) = shift;
            if from + len + by <= n {
                after.copy_within(from..from + len, from + by);
            }
            prop_assert_eq!(diff(&before, &after), diff_bytewise(&before, &after));
        }

        /// Applying the encoded diff to the before-image gives the
        /// after-image (except the two fields that are never logged).
        #[test]
        fn diff_then_apply_reproduces_the_page(
            before in proptest::collection::vec(any::<u8>(), 512),
            edits in proptest::collection::vec((0usize..512, any::<u8>()), 0..40),
        ) {
            let mut after = before.clone();
            for (i, v) in edits { after[i] = v; }
            let p = encode_page_change(PageId(1), &after, &diff(&before, &after));
            let (_, op) = decode_page_record(RecordType::PageChange, &p, 512).expect("decode");
            let mut page = before.clone();
            apply(&mut page, &op, Lsn(99));
            for i in 0..512 {
                if logged(i) { prop_assert_eq!(page[i], after[i], "byte {}", i); }
            }
            prop_assert_eq!(crate::storage::page::page_lsn(&page), Lsn(99));
        }
    }
}
