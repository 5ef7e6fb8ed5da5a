//! Heap files: the tuples of one table, unordered, across a chain of slotted
//! pages, found by [`TupleId`].
//!
//! A heap is named by its **meta page**, which holds the ends of the page
//! chain and the head of the **room list**, a linked list of the heap's pages
//! that had at least a quarter of a page free after a delete. An insert tries
//! the last page, then the room list's head (a page that cannot take the
//! tuple leaves the list; a few are tried), then allocates a page — so it
//! never scans the heap for room.
//!
//! ```text
//!  meta ──first──▶ p1 ⇄ p2 ⇄ p3 ◀──last── meta
//!  meta ──room───▶ p1 ──next_room──▶ p3
//! ```
//!
//! # Meta page layout (after the 24-byte common header)
//!
//! | offset | size | field | meaning |
//! |---:|---:|---|---|
//! | 24 | 4 | `first_page` | first page of the chain, 0 when empty |
//! | 28 | 4 | `last_page` | last page of the chain |
//! | 32 | 4 | `room_head` | first page of the room list, 0 when empty |
//! | 36 | 4 | `page_count` | pages in the chain |
//! | 40 | 8 | `tuple_count` | tuples in the heap |
//!
//! Pages that empty out stay in the chain, on the room list, and are reused by
//! later inserts; [`HeapFile::destroy`] returns every page to the free list.

use crate::error::{Error, Result};
use crate::ids::{PageId, get_u32, get_u64, put_u32, put_u64};

use super::alloc;
use super::heap_page::{self, Malformed, TupleId};
use super::page::{self, PAGE_HEADER_LEN, PageType};
use super::store::PageStore;

/// Offset of the first page of the chain.
pub const FIRST_PAGE_OFFSET: usize = PAGE_HEADER_LEN;
/// Offset of the last page of the chain.
pub const LAST_PAGE_OFFSET: usize = FIRST_PAGE_OFFSET + 4;
/// Offset of the room list's head.
pub const ROOM_HEAD_OFFSET: usize = LAST_PAGE_OFFSET + 4;
/// Offset of the chain's page count.
pub const PAGE_COUNT_OFFSET: usize = ROOM_HEAD_OFFSET + 4;
/// Offset of the tuple count.
pub const TUPLE_COUNT_OFFSET: usize = PAGE_COUNT_OFFSET + 4;

/// A heap file, named by its meta page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapFile {
    meta: PageId,
}

fn malformed<S: PageStore>(s: &S, page: PageId) -> impl Fn(Malformed) -> Error + '_ {
    move |m| s.corrupt(page, m.0)
}

/// Pages on the room list an insert tries before it allocates a page.
const ROOM_PROBES: usize = 4;

/// Pages with at least this share of free space go on the room list.
fn room_threshold(page_size: usize) -> usize {
    page_size / 4
}

impl HeapFile {
    /// Create an empty heap.
    pub fn create<S: PageStore>(s: &S) -> Result<HeapFile> {
        let (meta, _page) = alloc::allocate(s, PageType::HeapMeta)?;
        Ok(HeapFile { meta })
    }

    /// The heap whose meta page is `meta` (checked on first use).
    pub fn open(meta: PageId) -> HeapFile {
        HeapFile { meta }
    }

    /// The meta page naming this heap.
    pub fn meta_page(&self) -> PageId {
        self.meta
    }

    fn check_meta<S: PageStore>(&self, s: &S, buf: &[u8]) -> Result<()> {
        if page::page_type(buf) == Some(PageType::HeapMeta) {
            Ok(())
        } else {
            Err(s.corrupt(self.meta, "expected a heap meta page".into()))
        }
    }

    /// Open `id` for writing and check it is a page of this heap.
    fn data_page<'s, S: PageStore>(&self, s: &'s S, id: PageId) -> Result<S::Write<'s>> {
        let p = s.write(id)?;
        self.check_owner(s, id, &p)?;
        Ok(p)
    }

    fn check_owner<S: PageStore>(&self, s: &S, id: PageId, buf: &[u8]) -> Result<()> {
        heap_page::check(buf).map_err(malformed(s, id))?;
        if heap_page::owner(buf) != self.meta {
            return Err(crate::errinput!(
                "page {id} belongs to the heap at page {}, not {}",
                heap_page::owner(buf),
                self.meta
            ));
        }
        Ok(())
    }

    /// Number of tuples.
    pub fn tuple_count<S: PageStore>(&self, s: &S) -> Result<u64> {
        let m = s.read(self.meta)?;
        self.check_meta(s, &m)?;
        Ok(get_u64(&m, TUPLE_COUNT_OFFSET))
    }

    /// Number of pages in the chain.
    pub fn page_count<S: PageStore>(&self, s: &S) -> Result<u32> {
        let m = s.read(self.meta)?;
        self.check_meta(s, &m)?;
        Ok(get_u32(&m, PAGE_COUNT_OFFSET))
    }

    /// Insert a tuple and return its address.
    pub fn insert<S: PageStore>(&self, s: &S, data: &[u8]) -> Result<TupleId> {
        let limit = heap_page::max_tuple_len(s.page_size());
        if data.len() > limit {
            return Err(Error::TooBig { what: "tuple", size: data.len(), limit });
        }
        let mut m = s.write(self.meta)?;
        self.check_meta(s, &m)?;
        let last = PageId(get_u32(&m, LAST_PAGE_OFFSET));
        let tid = match self.insert_into(s, last, data)? {
            Some(tid) => tid,
            None => match self.insert_from_room_list(s, &mut m, data)? {
                Some(tid) => tid,
                None => self.insert_into_new_page(s, &mut m, last, data)?,
            },
        };
        let count = get_u64(&m, TUPLE_COUNT_OFFSET);
        put_u64(&mut m, TUPLE_COUNT_OFFSET, count + 1);
        Ok(tid)
    }

    fn insert_into<S: PageStore>(&self, s: &S, id: PageId, data: &[u8]) -> Result<Option<TupleId>> {
        if id.is_none() {
            return Ok(None);
        }
        let mut p = self.data_page(s, id)?;
        let slot = heap_page::insert(&mut p, data).map_err(malformed(s, id))?;
        Ok(slot.map(|slot| TupleId { page: id, slot }))
    }

    /// Try the room list's head; a page that cannot take the tuple leaves the
    /// list, and the next head is tried, a few times at most.
    fn insert_from_room_list<S: PageStore>(&self, s: &S, m: &mut [u8], data: &[u8]) -> Result<Option<TupleId>> {
        for _ in 0..ROOM_PROBES {
            let head = PageId(get_u32(m, ROOM_HEAD_OFFSET));
            if head.is_none() {
                break;
            }
            let mut p = self.data_page(s, head)?;
            if let Some(slot) = heap_page::insert(&mut p, data).map_err(malformed(s, head))? {
                return Ok(Some(TupleId { page: head, slot }));
            }
            put_u32(m, ROOM_HEAD_OFFSET, heap_page::next_room(&p).0);
            heap_page::set_room_link(&mut p, false, PageId::NONE);
        }
        Ok(None)
    }

    fn insert_into_new_page<S: PageStore>(&self, s: &S, m: &mut [u8], last: PageId, data: &[u8]) -> Result<TupleId> {
        let (id, mut p) = alloc::allocate(s, PageType::Heap)?;
        heap_page::init(&mut p, id, self.meta);
        heap_page::set_prev_page(&mut p, last);
        let slot = heap_page::insert(&mut p, data)
            .map_err(malformed(s, id))?
            .ok_or_else(|| s.corrupt(id, "a fresh page refused a tuple under the size limit".into()))?;
        drop(p);
        if last.is_none() {
            put_u32(m, FIRST_PAGE_OFFSET, id.0);
        } else {
            let mut l = self.data_page(s, last)?;
            heap_page::set_next_page(&mut l, id);
        }
        put_u32(m, LAST_PAGE_OFFSET, id.0);
        put_u32(m, PAGE_COUNT_OFFSET, get_u32(m, PAGE_COUNT_OFFSET) + 1);
        Ok(TupleId { page: id, slot })
    }

    /// The tuple at `tid`, or `None` if its slot is empty.
    pub fn get<S: PageStore>(&self, s: &S, tid: TupleId) -> Result<Option<Vec<u8>>> {
        let p = s.read(tid.page)?;
        self.check_owner(s, tid.page, &p)?;
        Ok(heap_page::get(&p, tid.slot).map_err(malformed(s, tid.page))?.map(<[u8]>::to_vec))
    }

    /// Delete the tuple at `tid`; false if its slot was already empty.
    pub fn delete<S: PageStore>(&self, s: &S, tid: TupleId) -> Result<bool> {
        let mut m = s.write(self.meta)?;
        self.check_meta(s, &m)?;
        let mut p = self.data_page(s, tid.page)?;
        if !heap_page::delete(&mut p, tid.slot).map_err(malformed(s, tid.page))? {
            return Ok(false);
        }
        let count = get_u64(&m, TUPLE_COUNT_OFFSET);
        put_u64(&mut m, TUPLE_COUNT_OFFSET, count.saturating_sub(1));
        let last = PageId(get_u32(&m, LAST_PAGE_OFFSET));
        if tid.page != last
            && !heap_page::on_room_list(&p)
            && heap_page::free_space(&p) >= room_threshold(s.page_size())
        {
            heap_page::set_room_link(&mut p, true, PageId(get_u32(&m, ROOM_HEAD_OFFSET)));
            put_u32(&mut m, ROOM_HEAD_OFFSET, tid.page.0);
        }
        Ok(true)
    }

    /// Replace the tuple at `tid`. Returns its address, which changes when
    /// the new value no longer fits in its page (the caller updates any index
    /// that points at it).
    pub fn update<S: PageStore>(&self, s: &S, tid: TupleId, data: &[u8]) -> Result<TupleId> {
        let limit = heap_page::max_tuple_len(s.page_size());
        if data.len() > limit {
            return Err(Error::TooBig { what: "tuple", size: data.len(), limit });
        }
        {
            let mut p = self.data_page(s, tid.page)?;
            if heap_page::get(&p, tid.slot).map_err(malformed(s, tid.page))?.is_none() {
                return Err(crate::errinput!("no tuple at page {} slot {}", tid.page, tid.slot));
            }
            if heap_page::update(&mut p, tid.slot, data).map_err(malformed(s, tid.page))? {
                return Ok(tid);
            }
        }
        // Insert the new version before deleting the old, so a failed insert
        // (pool or disk full) loses nothing.
        let moved = self.insert(s, data)?;
        self.delete(s, tid)?;
        Ok(moved)
    }

    /// A cursor over every tuple, in chain and slot order.
    pub fn cursor<S: PageStore>(&self, s: &S) -> Result<HeapCursor> {
        let m = s.read(self.meta)?;
        self.check_meta(s, &m)?;
        Ok(HeapCursor {
            heap: *self,
            next_page: PageId(get_u32(&m, FIRST_PAGE_OFFSET)),
            buffered: std::collections::VecDeque::new(),
        })
    }

    /// Every page of the chain, in order.
    pub fn pages<S: PageStore>(&self, s: &S) -> Result<Vec<PageId>> {
        let m = s.read(self.meta)?;
        self.check_meta(s, &m)?;
        let expected = get_u32(&m, PAGE_COUNT_OFFSET) as usize;
        let mut next = PageId(get_u32(&m, FIRST_PAGE_OFFSET));
        drop(m);
        let mut out = Vec::with_capacity(expected);
        while !next.is_none() {
            if out.len() >= expected {
                return Err(s.corrupt(self.meta, format!("page chain is longer than its count {expected}")));
            }
            let p = s.read(next)?;
            self.check_owner(s, next, &p)?;
            out.push(next);
            next = heap_page::next_page(&p);
        }
        Ok(out)
    }

    /// Free every page of the heap, meta page included.
    pub fn destroy<S: PageStore>(self, s: &S) -> Result<()> {
        for id in self.pages(s)? {
            alloc::free(s, id)?;
        }
        alloc::free(s, self.meta)
    }
}

/// A position in a heap scan. It reads one page at a time and hands out that
/// page's tuples from a buffer, so a scan fetches each page once.
#[derive(Clone, Debug)]
pub struct HeapCursor {
    heap: HeapFile,
    next_page: PageId,
    buffered: std::collections::VecDeque<(TupleId, Vec<u8>)>,
}

impl HeapCursor {
    /// The next tuple, or `None` at the end.
    pub fn next<S: PageStore>(&mut self, s: &S) -> Result<Option<(TupleId, Vec<u8>)>> {
        while self.buffered.is_empty() && !self.next_page.is_none() {
            let id = self.next_page;
            let p = s.read(id)?;
            self.heap.check_owner(s, id, &p)?;
            for (slot, t) in heap_page::tuples(&p).map_err(malformed(s, id))? {
                self.buffered.push_back((TupleId { page: id, slot }, t.to_vec()));
            }
            self.next_page = heap_page::next_page(&p);
        }
        Ok(self.buffered.pop_front())
    }
}
