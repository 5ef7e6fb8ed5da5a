//! The common page header every page of the database file starts with, and
//! the checksum that guards the whole page.
//!
//! # Layout (all integers little-endian)
//!
//! | offset | size | field | meaning |
//! |---:|---:|---|---|
//! | 0 | 4 | `crc` | CRC32C of bytes `4..page_size` (everything after this field) |
//! | 4 | 4 | `page_id` | the page's own number: a write that landed at the wrong offset fails the check |
//! | 8 | 8 | `page_lsn` | LSN of the last log record applied to the page (`docs/DESIGN.md` invariants 1 and 4) |
//! | 16 | 1 | `page_type` | a [`PageType`] |
//! | 17 | 7 | reserved | zero |
//! | 24 | … | body | owned by the page type's module |
//!
//! The checksum is computed when a page is written ([`seal`]) and verified
//! when it is read ([`verify`]). A page that fails is reported as
//! [`Error::Corrupt`] and its contents are never used (`docs/DESIGN.md` invariant 5).

use std::path::Path;

use crate::error::{Error, Result};
use crate::ids::{Lsn, PageId, get_u32, get_u64, put_u32, put_u64};

/// Offset of the CRC32C.
pub const CRC_OFFSET: usize = 0;
/// Offset of the page id.
pub const PAGE_ID_OFFSET: usize = CRC_OFFSET + 4;
/// Offset of the page LSN.
pub const PAGE_LSN_OFFSET: usize = PAGE_ID_OFFSET + 4;
/// Offset of the page type byte.
pub const PAGE_TYPE_OFFSET: usize = PAGE_LSN_OFFSET + 8;
/// Length of the common header; page bodies start here.
pub const PAGE_HEADER_LEN: usize = 24;

/// Smallest page size a database may be created with.
pub const MIN_PAGE_SIZE: usize = 512;
/// Largest page size (slot offsets inside a page are `u16`).
pub const MAX_PAGE_SIZE: usize = 32 * 1024;
/// Page size used when none is given.
pub const DEFAULT_PAGE_SIZE: usize = 4096;

/// What a page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PageType {
    /// Page 0: the file header.
    FileHeader = 1,
    /// On the free list, waiting to be reused.
    Free = 2,
    // 3 and 4 are retired (page kinds of an earlier format): never reused,
    // so a file that holds one is refused as unknown.
    /// A B+tree leaf: keys and values.
    BTreeLeaf = 5,
    /// A B+tree internal node: separator keys and child pointers.
    BTreeInternal = 6,
    /// Part of a value too large for a B+tree entry.
    Overflow = 7,
}

impl PageType {
    /// Decode a type byte.
    pub fn from_u8(b: u8) -> Option<PageType> {
        Some(match b {
            1 => PageType::FileHeader,
            2 => PageType::Free,
            5 => PageType::BTreeLeaf,
            6 => PageType::BTreeInternal,
            7 => PageType::Overflow,
            _ => return None,
        })
    }
}

/// A page whose contents contradict its own layout: what the decoders of a
/// page type's body (e.g. the B+tree node) return instead of panicking; the
/// structure that read the page turns it into [`Error::Corrupt`] naming the
/// page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

/// Check that `size` is a power of two within the supported range.
pub fn validate_page_size(size: usize) -> Result<()> {
    if size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(crate::errinput!("page size {size} must be a power of two between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}"))
    }
}

/// The page id stored in the header.
pub fn page_id(buf: &[u8]) -> PageId {
    PageId(get_u32(buf, PAGE_ID_OFFSET))
}

/// The page LSN stored in the header.
pub fn page_lsn(buf: &[u8]) -> Lsn {
    Lsn(get_u64(buf, PAGE_LSN_OFFSET))
}

/// Set the page LSN (the transaction layer does this when it logs a change).
pub fn set_page_lsn(buf: &mut [u8], lsn: Lsn) {
    put_u64(buf, PAGE_LSN_OFFSET, lsn.0);
}

/// The page type, if the byte is a known one.
pub fn page_type(buf: &[u8]) -> Option<PageType> {
    PageType::from_u8(buf[PAGE_TYPE_OFFSET])
}

/// Zero the page and write a fresh header. The LSN is kept as given, so a
/// reused page's LSN never goes backwards.
pub fn init(buf: &mut [u8], id: PageId, ty: PageType, lsn: Lsn) {
    buf.fill(0);
    put_u32(buf, PAGE_ID_OFFSET, id.0);
    set_page_lsn(buf, lsn);
    buf[PAGE_TYPE_OFFSET] = ty as u8;
}

/// The checksum of a page image: CRC32C of everything after the CRC field.
pub fn checksum(buf: &[u8]) -> u32 {
    crc32c::crc32c(&buf[PAGE_ID_OFFSET..])
}

/// Stamp the page id and checksum, just before the page is written.
pub fn seal(buf: &mut [u8], id: PageId) {
    put_u32(buf, PAGE_ID_OFFSET, id.0);
    let crc = checksum(buf);
    put_u32(buf, CRC_OFFSET, crc);
}

/// Verify a page image read from `file` at page `id`: checksum, then the
/// page id inside (a misdirected write), then a known type.
pub fn verify(buf: &[u8], id: PageId, file: &Path) -> Result<()> {
    let corrupt = |reason: String| Error::Corrupt { file: file.to_path_buf(), page: id, reason };
    let stored = get_u32(buf, CRC_OFFSET);
    let actual = checksum(buf);
    if stored != actual {
        if buf.iter().all(|&b| b == 0) {
            return Err(corrupt("page is all zeros: it was never written".into()));
        }
        return Err(corrupt(format!("checksum mismatch: stored {stored:08x}, computed {actual:08x}")));
    }
    let inside = page_id(buf);
    if inside != id {
        return Err(corrupt(format!("misdirected page: it holds page {inside}")));
    }
    if page_type(buf).is_none() {
        return Err(corrupt(format!("unknown page type {}", buf[PAGE_TYPE_OFFSET])));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_constants_match_the_table() {
        assert_eq!((CRC_OFFSET, PAGE_ID_OFFSET, PAGE_LSN_OFFSET, PAGE_TYPE_OFFSET), (0, 4, 8, 16));
        assert_eq!(PAGE_HEADER_LEN, 24);
    }

    #[test]
    fn golden_encoding_of_a_sealed_page() {
        let mut buf = vec![0u8; 512];
        init(&mut buf, PageId(3), PageType::Overflow, Lsn(0x0102_0304_0506_0708));
        buf[PAGE_HEADER_LEN] = 0xAB;
        seal(&mut buf, PageId(3));
        let expected_header: [u8; 24] = [
            0, 0, 0, 0, // crc, checked below
            3, 0, 0, 0, // page id
            8, 7, 6, 5, 4, 3, 2, 1, // page lsn
            7, // type = Overflow
            0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(buf[4..24], expected_header[4..24]);
        assert_eq!(get_u32(&buf, 0), crc32c::crc32c(&buf[4..]));
        // Pinned value: changing the layout or checksum breaks this test.
        assert_eq!(get_u32(&buf, 0), 0xc15e_bbea, "crc of the golden page");
        verify(&buf, PageId(3), Path::new("t")).expect("valid");
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let mut buf = vec![0u8; 512];
        init(&mut buf, PageId(1), PageType::Overflow, Lsn(9));
        buf[100..110].copy_from_slice(b"0123456789");
        seal(&mut buf, PageId(1));
        for bit in 0..buf.len() * 8 {
            let mut b = buf.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            let e = verify(&b, PageId(1), Path::new("t")).expect_err("flip must be detected");
            assert!(matches!(e, Error::Corrupt { page: PageId(1), .. }), "{e}");
        }
    }

    #[test]
    fn misdirected_and_zero_pages_are_corrupt() {
        let mut buf = vec![0u8; 512];
        init(&mut buf, PageId(5), PageType::Overflow, Lsn(1));
        seal(&mut buf, PageId(5));
        let e = verify(&buf, PageId(6), Path::new("t")).expect_err("wrong id");
        assert!(e.to_string().contains("misdirected"), "{e}");
        let e = verify(&[0u8; 512], PageId(6), Path::new("t")).expect_err("zeros");
        assert!(e.to_string().contains("never written"), "{e}");
    }

    #[test]
    fn page_sizes_are_validated() {
        for ok in [512, 1024, 4096, 32768] {
            validate_page_size(ok).expect("valid");
        }
        for bad in [0, 256, 1000, 65536] {
            assert!(validate_page_size(bad).is_err(), "{bad}");
        }
    }
}
