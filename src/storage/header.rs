//! The database file header: page 0.
//!
//! Page 0 is an ordinary page (common header, checksum, page LSN) whose body
//! identifies the file and holds the allocation state. It changes through the
//! buffer pool like any other page, so it is logged and recovered the same way.
//!
//! # Layout (after the 24-byte common header of `page.rs`)
//!
//! | offset | size | field | meaning |
//! |---:|---:|---|---|
//! | 24 | 8 | `magic` | `"WALDB\r\n\x1a"`: the CR LF and ^Z catch text-mode mangling, as PNG's do |
//! | 32 | 4 | `format_version` | [`FORMAT_VERSION`] |
//! | 36 | 4 | `page_size` | bytes per page, fixed at creation |
//! | 40 | 8 | `db_id` | random identity shared with the WAL and control file |
//! | 48 | 4 | `page_count` | pages in use, including this one; the file may be longer (preallocated) |
//! | 52 | 4 | `free_head` | first page of the free list, 0 if empty |
//! | 56 | 4 | `free_count` | pages on the free list |
//! | 60 | 4 | `schema_cookie` | bumped by every schema change, so a cached catalog knows when it is stale (0 in a new file) |
//! | 64 | 32 | `roots[8]` | `u32` root pages registered by upper layers (slot 0: catalog) |
//! | 96 | 4 | `user_version` | SQLite's `PRAGMA user_version`, for the application (0 in a new file) |
//! | 100 | 4 | `application_id` | SQLite's `PRAGMA application_id` (0 in a new file) |
//!
//! The magic, version and page size are readable from the first 512 bytes
//! (the smallest page), before the page size is known.

use std::path::Path;

use crate::error::{Error, Result};
use crate::ids::{DbId, PageId, get_u32, get_u64, put_u32, put_u64};

use super::page::{self, PAGE_HEADER_LEN, PageType};

/// The file signature.
pub const MAGIC: [u8; 8] = *b"WALDB\r\n\x1a";
/// Current on-disk format version.
pub const FORMAT_VERSION: u32 = 1;
/// Number of root slots in the header.
pub const ROOT_SLOTS: usize = 8;

/// Offset of the magic.
pub const MAGIC_OFFSET: usize = PAGE_HEADER_LEN;
/// Offset of the format version.
pub const VERSION_OFFSET: usize = MAGIC_OFFSET + 8;
/// Offset of the page size.
pub const PAGE_SIZE_OFFSET: usize = VERSION_OFFSET + 4;
/// Offset of the database id.
pub const DB_ID_OFFSET: usize = PAGE_SIZE_OFFSET + 4;
/// Offset of the page count.
pub const PAGE_COUNT_OFFSET: usize = DB_ID_OFFSET + 8;
/// Offset of the free-list head.
pub const FREE_HEAD_OFFSET: usize = PAGE_COUNT_OFFSET + 4;
/// Offset of the free-page count.
pub const FREE_COUNT_OFFSET: usize = FREE_HEAD_OFFSET + 4;
/// Offset of the schema cookie.
pub const SCHEMA_COOKIE_OFFSET: usize = FREE_COUNT_OFFSET + 4;
/// Offset of the root slots.
pub const ROOTS_OFFSET: usize = SCHEMA_COOKIE_OFFSET + 4;
/// Offset of the user version (`PRAGMA user_version`).
pub const USER_VERSION_OFFSET: usize = ROOTS_OFFSET + 4 * ROOT_SLOTS;
/// Offset of the application id (`PRAGMA application_id`).
pub const APPLICATION_ID_OFFSET: usize = USER_VERSION_OFFSET + 4;
/// End of the header's fields.
pub const HEADER_END: usize = APPLICATION_ID_OFFSET + 4;

// The header must be readable from the smallest page.
const _: () = assert!(HEADER_END <= page::MIN_PAGE_SIZE);

/// The decoded file header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// On-disk format version.
    pub format_version: u32,
    /// Bytes per page.
    pub page_size: usize,
    /// Identity of the database.
    pub db_id: DbId,
    /// Pages in use, including page 0.
    pub page_count: u32,
    /// First free page, or [`PageId::NONE`].
    pub free_head: PageId,
    /// Pages on the free list.
    pub free_count: u32,
    /// Root pages of upper-layer structures.
    pub roots: [PageId; ROOT_SLOTS],
}

impl FileHeader {
    /// The header of a new, empty database.
    pub fn new(page_size: usize, db_id: DbId) -> FileHeader {
        FileHeader {
            format_version: FORMAT_VERSION,
            page_size,
            db_id,
            page_count: 1,
            free_head: PageId::NONE,
            free_count: 0,
            roots: [PageId::NONE; ROOT_SLOTS],
        }
    }

    /// Write the header fields into a page-0 image (the common header is
    /// initialised if `fresh`).
    pub fn encode(&self, buf: &mut [u8], fresh: bool) {
        if fresh {
            page::init(buf, PageId::HEADER, PageType::FileHeader, crate::ids::Lsn::ZERO);
        }
        buf[MAGIC_OFFSET..MAGIC_OFFSET + 8].copy_from_slice(&MAGIC);
        put_u32(buf, VERSION_OFFSET, self.format_version);
        put_u32(buf, PAGE_SIZE_OFFSET, self.page_size as u32);
        put_u64(buf, DB_ID_OFFSET, self.db_id.0);
        put_u32(buf, PAGE_COUNT_OFFSET, self.page_count);
        put_u32(buf, FREE_HEAD_OFFSET, self.free_head.0);
        put_u32(buf, FREE_COUNT_OFFSET, self.free_count);
        for (i, r) in self.roots.iter().enumerate() {
            put_u32(buf, ROOTS_OFFSET + 4 * i, r.0);
        }
    }

    /// Decode the fields of a page-0 image whose checksum was verified.
    pub fn decode(buf: &[u8], file: &Path) -> Result<FileHeader> {
        let (format_version, page_size) = peek(buf, file)?;
        let mut roots = [PageId::NONE; ROOT_SLOTS];
        for (i, r) in roots.iter_mut().enumerate() {
            *r = PageId(get_u32(buf, ROOTS_OFFSET + 4 * i));
        }
        let h = FileHeader {
            format_version,
            page_size,
            db_id: DbId(get_u64(buf, DB_ID_OFFSET)),
            page_count: get_u32(buf, PAGE_COUNT_OFFSET),
            free_head: PageId(get_u32(buf, FREE_HEAD_OFFSET)),
            free_count: get_u32(buf, FREE_COUNT_OFFSET),
            roots,
        };
        if h.page_count == 0 || h.free_head.0 >= h.page_count || h.free_count >= h.page_count {
            return Err(bad(file, format!("allocation state out of range: {h:?}")));
        }
        Ok(h)
    }
}

/// Read the magic, version and page size from the first
/// [`page::MIN_PAGE_SIZE`] bytes of a file, before the page size is known.
pub fn peek(buf: &[u8], file: &Path) -> Result<(u32, usize)> {
    if buf.len() < page::MIN_PAGE_SIZE || buf[MAGIC_OFFSET..MAGIC_OFFSET + 8] != MAGIC {
        return Err(bad(file, "not a waldb database (bad magic)".into()));
    }
    let version = get_u32(buf, VERSION_OFFSET);
    if version != FORMAT_VERSION {
        return Err(bad(
            file,
            format!("format version {version} is not supported (this build reads {FORMAT_VERSION})"),
        ));
    }
    let page_size = get_u32(buf, PAGE_SIZE_OFFSET) as usize;
    page::validate_page_size(page_size).map_err(|_| bad(file, format!("invalid page size {page_size}")))?;
    Ok((version, page_size))
}

fn bad(file: &Path, reason: String) -> Error {
    Error::CorruptFile { file: file.to_path_buf(), reason }
}

/// Update only the allocation fields of a page-0 image in place.
pub fn set_page_count(buf: &mut [u8], n: u32) {
    put_u32(buf, PAGE_COUNT_OFFSET, n);
}

/// The page count of a page-0 image.
pub fn page_count(buf: &[u8]) -> u32 {
    get_u32(buf, PAGE_COUNT_OFFSET)
}

/// The free-list head and count of a page-0 image.
pub fn free_list(buf: &[u8]) -> (PageId, u32) {
    (PageId(get_u32(buf, FREE_HEAD_OFFSET)), get_u32(buf, FREE_COUNT_OFFSET))
}

/// Set the free-list head and count of a page-0 image.
pub fn set_free_list(buf: &mut [u8], head: PageId, count: u32) {
    put_u32(buf, FREE_HEAD_OFFSET, head.0);
    put_u32(buf, FREE_COUNT_OFFSET, count);
}

/// The schema cookie of a page-0 image.
pub fn schema_cookie(buf: &[u8]) -> u32 {
    get_u32(buf, SCHEMA_COOKIE_OFFSET)
}

/// Set the schema cookie of a page-0 image.
pub fn set_schema_cookie(buf: &mut [u8], cookie: u32) {
    put_u32(buf, SCHEMA_COOKIE_OFFSET, cookie);
}

/// The user version of a page-0 image (bytes that older files hold as
/// zero, so they read as 0).
pub fn user_version(buf: &[u8]) -> u32 {
    get_u32(buf, USER_VERSION_OFFSET)
}

/// Set the user version of a page-0 image.
pub fn set_user_version(buf: &mut [u8], v: u32) {
    put_u32(buf, USER_VERSION_OFFSET, v);
}

/// The application id of a page-0 image.
pub fn application_id(buf: &[u8]) -> u32 {
    get_u32(buf, APPLICATION_ID_OFFSET)
}

/// Set the application id of a page-0 image.
pub fn set_application_id(buf: &mut [u8], v: u32) {
    put_u32(buf, APPLICATION_ID_OFFSET, v);
}

/// Root slot `i` of a page-0 image.
pub fn root(buf: &[u8], i: usize) -> PageId {
    PageId(get_u32(buf, ROOTS_OFFSET + 4 * i))
}

/// Set root slot `i` of a page-0 image.
pub fn set_root(buf: &mut [u8], i: usize, id: PageId) {
    put_u32(buf, ROOTS_OFFSET + 4 * i, id.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_constants_match_the_table() {
        assert_eq!((MAGIC_OFFSET, VERSION_OFFSET, PAGE_SIZE_OFFSET, DB_ID_OFFSET), (24, 32, 36, 40));
        assert_eq!((PAGE_COUNT_OFFSET, FREE_HEAD_OFFSET, FREE_COUNT_OFFSET, ROOTS_OFFSET), (48, 52, 56, 64));
        assert_eq!((SCHEMA_COOKIE_OFFSET, USER_VERSION_OFFSET, APPLICATION_ID_OFFSET, HEADER_END), (60, 96, 100, 104));
    }

    #[test]
    fn golden_encoding_and_round_trip() {
        let mut h = FileHeader::new(4096, DbId(0x1122_3344_5566_7788));
        h.roots[0] = PageId(2);
        let mut buf = vec![0u8; 4096];
        h.encode(&mut buf, true);
        assert_eq!(&buf[24..32], b"WALDB\r\n\x1a");
        assert_eq!(buf[32..40], [1, 0, 0, 0, 0, 0x10, 0, 0]);
        assert_eq!(buf[40..48], [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
        assert_eq!(buf[48..52], [1, 0, 0, 0]);
        assert_eq!(buf[64..68], [2, 0, 0, 0]);
        assert_eq!(FileHeader::decode(&buf, Path::new("x")).expect("decode"), h);
    }

    #[test]
    fn foreign_files_and_versions_are_refused() {
        let mut buf = vec![0u8; 4096];
        buf[..15].copy_from_slice(b"SQLite format 3");
        let e = FileHeader::decode(&buf, Path::new("x.db")).expect_err("foreign");
        assert!(e.to_string().contains("not a waldb database"), "{e}");
        let mut good = vec![0u8; 4096];
        FileHeader::new(4096, DbId(1)).encode(&mut good, true);
        put_u32(&mut good, VERSION_OFFSET, 99);
        assert!(FileHeader::decode(&good, Path::new("x")).expect_err("version").to_string().contains("version 99"));
        let mut good = vec![0u8; 4096];
        FileHeader::new(4096, DbId(1)).encode(&mut good, true);
        put_u32(&mut good, PAGE_SIZE_OFFSET, 1000);
        assert!(FileHeader::decode(&good, Path::new("x")).is_err());
        assert!(peek(&[0u8; 100], Path::new("x")).is_err(), "short file");
    }
}
