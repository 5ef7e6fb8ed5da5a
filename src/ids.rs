//! Identifier newtypes shared by every layer: [`PageId`], [`Lsn`], [`TxnId`]
//! and [`DbId`].
//!
//! This module depends on nothing, so the WAL can carry page ids and LSNs
//! without depending on `storage`. Every on-disk integer is little-endian; the
//! `*_le` helpers are the only way the layers above read or write them.

use std::fmt;

/// Number of a page in the database file; page 0 is the file header.
///
/// Stored on disk as `u32` little-endian, so a file holds at most 2^32 pages
/// (16 TiB with 4 KiB pages).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PageId(pub u32);

impl PageId {
    /// The file header page.
    pub const HEADER: PageId = PageId(0);
    /// "No page": used in links (next, prev, free list) that point nowhere.
    /// Page 0 is the header, so it can never be the target of such a link.
    pub const NONE: PageId = PageId(0);

    /// True when this id is the "no page" link value.
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "page {}", self.0)
    }
}

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Log sequence number: the byte position of a record in the logical log
/// stream. "Durable up to LSN x" is a single comparison.
///
/// `Lsn(0)` is "never logged"; the log stream starts after it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// No record: the LSN of a page that was never changed through the log.
    pub const ZERO: Lsn = Lsn(0);
}

impl fmt::Debug for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lsn {}", self.0)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Transaction id, unique for the life of a database (never reused after a
/// crash: recovery restarts numbering above the highest id in the log).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct TxnId(pub u64);

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Random identity of a database, written at creation into the file header,
/// the control file and every WAL segment header, so files of two databases
/// are never mixed up.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DbId(pub u64);

impl fmt::Debug for DbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Display for DbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Read a little-endian `u16` at `off`. The caller guarantees the bounds (the
/// offsets come from the byte-layout constants of the format modules).
pub fn get_u16(buf: &[u8], off: usize) -> u16 {
    let mut b = [0u8; 2];
    b.copy_from_slice(&buf[off..off + 2]);
    u16::from_le_bytes(b)
}

/// Read a little-endian `u32` at `off`.
pub fn get_u32(buf: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[off..off + 4]);
    u32::from_le_bytes(b)
}

/// Read a little-endian `u64` at `off`.
pub fn get_u64(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[off..off + 8]);
    u64::from_le_bytes(b)
}

/// Write a little-endian `u16` at `off`.
pub fn put_u16(buf: &mut [u8], off: usize, v: u16) {
    buf[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// Write a little-endian `u32` at `off`.
pub fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Write a little-endian `u64` at `off`.
pub fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_little_endian() {
        let mut buf = [0u8; 16];
        put_u16(&mut buf, 1, 0xBEEF);
        put_u32(&mut buf, 3, 0xDEAD_BEEF);
        put_u64(&mut buf, 7, 0x0102_0304_0506_0708);
        assert_eq!(buf[1..3], [0xEF, 0xBE]);
        assert_eq!(buf[3..7], [0xEF, 0xBE, 0xAD, 0xDE]);
        assert_eq!(buf[7], 0x08);
        assert_eq!(get_u16(&buf, 1), 0xBEEF);
        assert_eq!(get_u32(&buf, 3), 0xDEAD_BEEF);
        assert_eq!(get_u64(&buf, 7), 0x0102_0304_0506_0708);
    }

    #[test]
    fn page_zero_is_the_none_link() {
        assert!(PageId::NONE.is_none());
        assert!(!PageId(1).is_none());
        assert_eq!(format!("{:?}", PageId(7)), "page 7");
    }
}
