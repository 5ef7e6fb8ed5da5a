//! Page allocation: the free list in page 0, and growth past the page count.
//!
//! Freed pages form a singly linked list whose head and length live in the
//! file header (`header.rs`); each free page links to the next:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 24 | common header, type `Free` |
//! | 24 | 4 | `next_free`: next page on the free list, 0 at the end |
//!
//! [`allocate`] pops the head, or — when the list is empty — takes page
//! number `page_count` and bumps the count. Both change page 0 through the
//! same [`PageStore`] as the page itself, so a transaction logs and rolls back
//! allocation like any other change.

use crate::error::{Error, Result};
use crate::ids::{Lsn, PageId, get_u32, put_u32};

use super::header;
use super::page::{self, PAGE_HEADER_LEN, PageType};
use super::store::PageStore;

/// Offset of the next-free link in a free page.
pub const NEXT_FREE_OFFSET: usize = PAGE_HEADER_LEN;

/// Allocate a page and initialise it (common header only) as `ty`. Returns
/// its id and a write guard on it.
pub fn allocate<S: PageStore>(s: &S, ty: PageType) -> Result<(PageId, S::Write<'_>)> {
    let mut h = s.write(PageId::HEADER)?;
    let (head, count) = header::free_list(&h);
    if !head.is_none() {
        let mut p = s.write(head)?;
        if page::page_type(&p) != Some(PageType::Free) || count == 0 {
            return Err(s.corrupt(head, format!("free list head is not a free page (free count {count})")));
        }
        let next = PageId(get_u32(&p, NEXT_FREE_OFFSET));
        header::set_free_list(&mut h, next, count - 1);
        let lsn = page::page_lsn(&p);
        page::init(&mut p, head, ty, lsn);
        return Ok((head, p));
    }
    let n = header::page_count(&h);
    if n == u32::MAX {
        return Err(Error::TooBig { what: "database", size: n as usize, limit: u32::MAX as usize });
    }
    let id = PageId(n);
    let mut p = s.write_new(id)?;
    header::set_page_count(&mut h, n + 1);
    page::init(&mut p, id, ty, Lsn::ZERO);
    Ok((id, p))
}

/// Put page `id` on the free list. The caller has unlinked it from whatever
/// structure owned it.
pub fn free<S: PageStore>(s: &S, id: PageId) -> Result<()> {
    let mut h = s.write(PageId::HEADER)?;
    let (head, count) = header::free_list(&h);
    if id.is_none() || id.0 >= header::page_count(&h) {
        return Err(crate::errinput!("cannot free page {id}: not an allocated page"));
    }
    let mut p = s.write(id)?;
    if page::page_type(&p) == Some(PageType::Free) {
        return Err(s.corrupt(id, "page freed twice".into()));
    }
    let lsn = page::page_lsn(&p);
    page::init(&mut p, id, PageType::Free, lsn);
    put_u32(&mut p, NEXT_FREE_OFFSET, head.0);
    header::set_free_list(&mut h, id, count + 1);
    Ok(())
}
