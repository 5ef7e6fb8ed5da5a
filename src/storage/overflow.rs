//! Overflow chains: values larger than a B+tree entry, spread over a linked
//! list of whole pages.
//!
//! # Overflow page layout (after the 24-byte common header)
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 24 | 4 | `next`: the next page of the chain, 0 at the end |
//! | 28 | 2 | `len`: bytes of data in this page |
//! | 30 | 2 | reserved |
//! | 32 | len | data |
//!
//! The chain's total length is stored by its owner (the table's row entry),
//! so a reader knows how much to expect and checks every page's `len` and
//! type as it goes: a damaged chain is an error, never a short value.

use crate::error::{Error, Result};
use crate::ids::{PageId, get_u16, get_u32, put_u16, put_u32};
use crate::storage::alloc;
use crate::storage::page::{PAGE_HEADER_LEN, PageType};
use crate::storage::store::PageStore;

/// Offset of the next-page link.
pub const NEXT_OFFSET: usize = PAGE_HEADER_LEN;
/// Offset of the data length.
pub const LEN_OFFSET: usize = NEXT_OFFSET + 4;
/// Start of the data.
pub const DATA_OFFSET: usize = LEN_OFFSET + 4;

/// Data bytes one overflow page holds.
pub fn capacity(page_size: usize) -> usize {
    page_size - DATA_OFFSET
}

/// Write `data` into a new chain; returns its first page.
pub fn write<S: PageStore>(s: &S, data: &[u8]) -> Result<PageId> {
    let cap = capacity(s.page_size());
    let chunks: Vec<&[u8]> = data.chunks(cap).collect();
    let mut next = PageId::NONE;
    // Written back to front, so each page can name the one after it.
    for chunk in chunks.iter().rev() {
        let (id, mut p) = alloc::allocate(s, PageType::Overflow)?;
        put_u32(&mut p, NEXT_OFFSET, next.0);
        put_u16(&mut p, LEN_OFFSET, chunk.len() as u16);
        p[DATA_OFFSET..DATA_OFFSET + chunk.len()].copy_from_slice(chunk);
        next = id;
    }
    Ok(next)
}

/// The pages of the chain starting at `first`, checked.
fn pages<S: PageStore>(s: &S, first: PageId, len: usize) -> Result<Vec<PageId>> {
    let cap = capacity(s.page_size());
    let expected = len.div_ceil(cap);
    let mut out = Vec::with_capacity(expected.min(1 << 16));
    let mut id = first;
    while !id.is_none() {
        if out.len() >= expected {
            return Err(s.corrupt(id, format!("overflow chain longer than its {len} bytes")));
        }
        let p = s.read(id)?;
        if crate::storage::page::page_type(&p) != Some(PageType::Overflow) {
            return Err(s.corrupt(id, "expected an overflow page".into()));
        }
        out.push(id);
        id = PageId(get_u32(&p, NEXT_OFFSET));
    }
    if out.len() != expected {
        return Err(s.corrupt(first, format!("overflow chain of {} pages holds less than its {len} bytes", out.len())));
    }
    Ok(out)
}

/// Read `len` bytes from the chain starting at `first`.
pub fn read<S: PageStore>(s: &S, first: PageId, len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| Error::TooBig { what: "value", size: len, limit: usize::MAX })?;
    let mut id = first;
    let cap = capacity(s.page_size());
    while out.len() < len {
        if id.is_none() {
            return Err(s.corrupt(first, format!("overflow chain ends after {} of {len} bytes", out.len())));
        }
        let p = s.read(id)?;
        if crate::storage::page::page_type(&p) != Some(PageType::Overflow) {
            return Err(s.corrupt(id, "expected an overflow page".into()));
        }
        let n = usize::from(get_u16(&p, LEN_OFFSET));
        if n > cap || out.len() + n > len {
            return Err(s.corrupt(id, format!("overflow page claims {n} bytes")));
        }
        out.extend_from_slice(&p[DATA_OFFSET..DATA_OFFSET + n]);
        id = PageId(get_u32(&p, NEXT_OFFSET));
    }
    Ok(out)
}

/// Free every page of the chain (`len` bytes starting at `first`).
pub fn free<S: PageStore>(s: &S, first: PageId, len: usize) -> Result<()> {
    for id in pages(s, first, len)? {
        alloc::free(s, id)?;
    }
    Ok(())
}

/// The pages of a chain, for the whole-file page accounting.
pub fn chain_pages<S: PageStore>(s: &S, first: PageId, len: usize) -> Result<Vec<PageId>> {
    pages(s, first, len)
}
