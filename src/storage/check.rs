//! The whole-file page accounting check: every page after the header is
//! owned by exactly one structure (a tree, an overflow chain, …) or is on
//! the free list. Structures report the pages they own (`BTree::check`,
//! `overflow::chain_pages`); this module walks the free list and finds the pages no
//! one owns (leaked) and the pages two owners claim.

use std::collections::HashMap;

use crate::error::Result;
use crate::ids::{PageId, get_u32};
use crate::storage::alloc::NEXT_FREE_OFFSET;
use crate::storage::header;
use crate::storage::page::{self, PageType};
use crate::storage::store::PageStore;

/// What the page accounting of an integrity check counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageAccount {
    /// Pages in use according to the header (page 0 included).
    pub page_count: u32,
    /// Pages on the free list.
    pub free: u32,
    /// Pages owned by the structures given.
    pub owned: u32,
}

/// Check that pages `1..page_count` are each owned exactly once: by one of
/// `owners` (named, with their pages) or by the free list.
pub fn check_pages<S: PageStore>(s: &S, owners: &[(&str, Vec<PageId>)]) -> Result<PageAccount> {
    let (page_count, mut next, free_count) = {
        let h = s.read(PageId::HEADER)?;
        let (head, count) = header::free_list(&h);
        (header::page_count(&h), head, count)
    };
    let mut owner: HashMap<PageId, &str> = HashMap::new();
    let claim = |id: PageId, name: &str| -> Result<()> {
        if id.is_none() || id.0 >= page_count {
            return Err(s.corrupt(id, format!("{name} claims a page outside the file (page count {page_count})")));
        }
        Ok(())
    };
    let mut account = PageAccount { page_count, ..PageAccount::default() };
    for (name, pages) in owners {
        for &id in pages {
            claim(id, name)?;
            if let Some(other) = owner.insert(id, name) {
                return Err(s.corrupt(id, format!("page owned by both {other} and {name}")));
            }
            account.owned += 1;
        }
    }
    let mut seen_free = 0u32;
    while !next.is_none() {
        if seen_free > free_count {
            return Err(s.corrupt(next, format!("free list longer than its count {free_count}: a cycle")));
        }
        claim(next, "the free list")?;
        if let Some(other) = owner.insert(next, "the free list") {
            return Err(s.corrupt(next, format!("page on the free list is owned by {other}")));
        }
        let p = s.read(next)?;
        if page::page_type(&p) != Some(PageType::Free) {
            return Err(s.corrupt(next, "page on the free list is not a free page".into()));
        }
        next = PageId(get_u32(&p, NEXT_FREE_OFFSET));
        seen_free += 1;
    }
    if seen_free != free_count {
        return Err(s.corrupt(PageId::HEADER, format!("free list holds {seen_free} pages, header says {free_count}")));
    }
    account.free = seen_free;
    if let Some(orphan) = (1..page_count).map(PageId).find(|id| !owner.contains_key(id)) {
        return Err(s.corrupt(orphan, "page owned by nothing and not on the free list (leaked)".into()));
    }
    Ok(account)
}
