//! The page summary behind the shell's `.page N`: one page of the data file
//! as decoded values ([`PageSummary`]), so a tool shows a page without
//! knowing a byte offset of the format.
//!
//! [`Database::page_summary`] reads the page as the database sees it
//! (through a read transaction, checksum verified). When that read finds
//! the page damaged, it decodes the page's bytes in the data file instead
//! and says why they cannot be trusted ([`PageSummary::damage`]).
//!
//! The decoding here trusts nothing it reads: a type byte it does not know,
//! a header that does not decode, a node whose cells contradict its layout
//! all become a reason in the summary ([`PageKind::Unknown`],
//! `malformed`), never a panic. It describes the file header, B+tree
//! leaves and interior nodes, overflow pages and free pages; any other page
//! is [`PageKind::Unknown`].

use std::path::Path;

use crate::api::Database;
use crate::btree::node;
use crate::error::Result;
use crate::ids::{Lsn, PageId, get_u16, get_u32};
use crate::storage::page::{self, PageType};
use crate::storage::{FileHeader, alloc, header, overflow};

/// One page of the data file, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageSummary {
    /// The page's number.
    pub id: PageId,
    /// Its size in bytes.
    pub size: usize,
    /// The LSN of the last log record applied to it: durable when at or
    /// below [`Database::durable_lsn`].
    pub lsn: Lsn,
    /// The page-type byte of its header, as stored.
    pub type_byte: u8,
    /// `None` when the page was read through the database and its checksum
    /// verified. Otherwise why that read failed (a checksum mismatch, a
    /// misdirected write, a page never written): the rest of the summary
    /// then decodes the bytes in the data file, which cannot be trusted.
    pub damage: Option<String>,
    /// What the page holds.
    pub kind: PageKind,
}

/// What a page holds, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageKind {
    /// Page 0: the file header.
    Header(HeaderSummary),
    /// A B+tree leaf: keys and their values.
    Leaf(LeafSummary),
    /// A B+tree interior node: separator keys and child pages.
    Interior(InteriorSummary),
    /// A page of a value too large for a B+tree entry.
    Overflow {
        /// The next page of the chain (page 0: the chain ends here).
        next: PageId,
        /// Bytes of the value held on this page.
        len: usize,
    },
    /// A page on the free list, waiting to be reused.
    Free {
        /// The next page on the free list (page 0: the end of the list).
        next: PageId,
    },
    /// A page this summary does not decode: why (an unknown type byte, a
    /// kind of page it does not describe, contents that contradict the
    /// page's own layout).
    Unknown {
        /// Why the page is not decoded.
        reason: String,
    },
}

/// The fields of the file header (page 0).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeaderSummary {
    /// On-disk format version.
    pub format_version: u32,
    /// Bytes per page.
    pub page_size: usize,
    /// The database's identity, shared with its WAL and control file.
    pub db_id: u64,
    /// Pages in use, page 0 included.
    pub page_count: u32,
    /// First page of the free list (page 0: the list is empty).
    pub free_head: PageId,
    /// Pages on the free list.
    pub free_count: u32,
    /// Root pages registered in the header (slot 0: the schema table; page
    /// 0 marks an unused slot).
    pub roots: Vec<PageId>,
    /// Bumped by every schema change.
    pub schema_cookie: u32,
    /// `PRAGMA user_version`.
    pub user_version: u32,
    /// `PRAGMA application_id`.
    pub application_id: u32,
}

/// A B+tree leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeafSummary {
    /// The root page of the tree the leaf belongs to.
    pub tree: PageId,
    /// Keys the node's header counts.
    pub key_count: usize,
    /// The leaf before it in key order (page 0: none).
    pub prev: PageId,
    /// The next leaf in key order (page 0: none).
    pub next: PageId,
    /// Bytes the cells and their slots use.
    pub used_bytes: usize,
    /// Bytes free for more cells.
    pub free_bytes: usize,
    /// The entries, in key order: all of them, or those before the first
    /// malformed cell.
    pub entries: Vec<LeafEntry>,
    /// Why the node or one of its cells does not decode, if it does not.
    pub malformed: Option<String>,
}

/// One entry of a B+tree leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeafEntry {
    /// The key, as encoded in the tree (a rowid, or an index key).
    pub key: Vec<u8>,
    /// Bytes of the value stored in the leaf (a large value stores a
    /// reference to its overflow chain here).
    pub value_len: usize,
}

/// A B+tree interior node.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InteriorSummary {
    /// The root page of the tree the node belongs to.
    pub tree: PageId,
    /// Its level above the leaves (1: its children are leaves).
    pub level: u8,
    /// Separator keys the node's header counts.
    pub key_count: usize,
    /// Bytes the cells and their slots use.
    pub used_bytes: usize,
    /// Bytes free for more cells.
    pub free_bytes: usize,
    /// The separator keys, in order: all of them, or those before the first
    /// malformed cell.
    pub keys: Vec<Vec<u8>>,
    /// The child pages: child `i` holds the keys below `keys[i]`, the last
    /// one the keys at or above the last key (one more child than keys
    /// when the node decodes).
    pub children: Vec<PageId>,
    /// Why the node or one of its cells does not decode, if it does not.
    pub malformed: Option<String>,
}

impl Database {
    /// Page `id` decoded, for tools such as the shell's `.page N`: its
    /// header, and what it holds ([`PageKind`]). A damaged page is
    /// summarised from its bytes in the data file, with
    /// [`PageSummary::damage`] saying what is wrong. Fails when the page does not exist, or while this handle has a
    /// transaction open (reading would wait for it forever).
    ///
    /// ```
    /// use waldb::inspect::PageKind;
    /// use waldb::{Database, PageId};
    ///
    /// let db = Database::open_in_memory()?;
    /// db.execute("CREATE TABLE t(x)", ())?;
    /// let page = db.page_summary(PageId(0))?;
    /// let PageKind::Header(h) = page.kind else { panic!("page 0 is the header") };
    /// assert_eq!(h.page_size, page.size);
    /// let root: u32 = db.query_row("SELECT rootpage FROM waldb_schema WHERE name = 't'", (), |r| r.get(0))?;
    /// assert!(matches!(db.page_summary(PageId(root))?.kind, PageKind::Leaf(_)));
    /// assert!(db.page_summary(PageId(h.page_count)).is_err());
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn page_summary(&self, id: PageId) -> Result<PageSummary> {
        let (buf, damage) = match self.page_image(id) {
            Ok(buf) => (buf, None),
            Err(e) if e.is_corruption() => match self.raw_page(id)? {
                Some(raw) => (raw, Some(e.to_string())),
                None => return Err(e),
            },
            Err(e) => return Err(e),
        };
        Ok(summarize(&buf, id, damage, self.path()))
    }
}

/// Decode the page image `buf` of page `id` of the data file `file`.
pub(crate) fn summarize(buf: &[u8], id: PageId, damage: Option<String>, file: &Path) -> PageSummary {
    let size = buf.len();
    if size < page::MIN_PAGE_SIZE {
        let kind = PageKind::Unknown { reason: format!("{size} bytes is shorter than any page") };
        return PageSummary { id, size, lsn: Lsn::ZERO, type_byte: 0, damage, kind };
    }
    let type_byte = buf[page::PAGE_TYPE_OFFSET];
    let kind = match page::page_type(buf) {
        Some(PageType::FileHeader) => file_header(buf, file),
        Some(PageType::BTreeLeaf) => PageKind::Leaf(leaf(buf)),
        Some(PageType::BTreeInternal) => PageKind::Interior(interior(buf)),
        Some(PageType::Overflow) => overflow_page(buf),
        Some(PageType::Free) => PageKind::Free { next: PageId(get_u32(buf, alloc::NEXT_FREE_OFFSET)) },
        None => PageKind::Unknown { reason: format!("unknown page type {type_byte}") },
    };
    PageSummary { id, size, lsn: page::page_lsn(buf), type_byte, damage, kind }
}

fn file_header(buf: &[u8], file: &Path) -> PageKind {
    match FileHeader::decode(buf, file) {
        Ok(h) => PageKind::Header(HeaderSummary {
            format_version: h.format_version,
            page_size: h.page_size,
            db_id: h.db_id.0,
            page_count: h.page_count,
            free_head: h.free_head,
            free_count: h.free_count,
            roots: h.roots.to_vec(),
            schema_cookie: header::schema_cookie(buf),
            user_version: header::user_version(buf),
            application_id: header::application_id(buf),
        }),
        Err(e) => PageKind::Unknown { reason: format!("the file header does not decode: {e}") },
    }
}

fn overflow_page(buf: &[u8]) -> PageKind {
    let len = usize::from(get_u16(buf, overflow::LEN_OFFSET));
    let cap = overflow::capacity(buf.len());
    if len > cap {
        return PageKind::Unknown {
            reason: format!("an overflow page that claims {len} bytes of data, more than its {cap}"),
        };
    }
    PageKind::Overflow { next: PageId(get_u32(buf, overflow::NEXT_OFFSET)), len }
}

fn leaf(buf: &[u8]) -> LeafSummary {
    let mut s = LeafSummary {
        tree: node::tree(buf),
        key_count: node::count(buf),
        prev: node::left(buf),
        next: node::right(buf),
        used_bytes: node::used(buf),
        free_bytes: node::free(buf),
        entries: Vec::new(),
        malformed: node::check(buf).err().map(|m| m.0),
    };
    if s.malformed.is_none() {
        for i in 0..s.key_count {
            match node::key(buf, i).and_then(|k| Ok((k, node::value(buf, i)?))) {
                Ok((key, value)) => s.entries.push(LeafEntry { key: key.to_vec(), value_len: value.len() }),
                Err(m) => {
                    s.malformed = Some(m.0);
                    break;
                }
            }
        }
    }
    s
}

fn interior(buf: &[u8]) -> InteriorSummary {
    let mut s = InteriorSummary {
        tree: node::tree(buf),
        level: node::level(buf),
        key_count: node::count(buf),
        used_bytes: node::used(buf),
        free_bytes: node::free(buf),
        keys: Vec::new(),
        children: Vec::new(),
        malformed: node::check(buf).err().map(|m| m.0),
    };
    if s.malformed.is_none() {
        for i in 0..s.key_count {
            match node::key(buf, i).and_then(|k| Ok((k, node::child(buf, i)?))) {
                Ok((key, child)) => {
                    s.keys.push(key.to_vec());
                    s.children.push(child);
                }
                Err(m) => {
                    s.malformed = Some(m.0);
                    break;
                }
            }
        }
        if s.malformed.is_none() {
            s.children.push(node::right(buf));
        }
    }
    s
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
