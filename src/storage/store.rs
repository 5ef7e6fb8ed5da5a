//! [`PageStore`]: how page-level structures (B+trees, overflow chains, the free
//! list) reach
//! pages without naming the layer that caches them.
//!
//! The buffer pool implements it for unlogged access (tests, tools); the
//! transaction layer implements it so that every page a transaction writes is
//! remembered for logging and rollback. The structures in this layer are
//! generic over it, so storage never calls up into `buffer` or `txn`.
//!
//! Guards are latches: holding a write guard on a page while asking for the
//! same page again deadlocks. Callers fetch in a fixed order (e.g. a tree's
//! parent before its child) and drop a guard before fetching its page again.

use std::ops::{Deref, DerefMut};

use crate::error::{Error, Result};
use crate::ids::PageId;

/// Access to pages by id.
pub trait PageStore {
    /// A shared view of a page image.
    type Read<'a>: Deref<Target = [u8]>
    where
        Self: 'a;
    /// An exclusive, writable view of a page image.
    type Write<'a>: DerefMut<Target = [u8]>
    where
        Self: 'a;

    /// Bytes per page.
    fn page_size(&self) -> usize;
    /// Read a page.
    fn read(&self, id: PageId) -> Result<Self::Read<'_>>;
    /// Open a page for writing.
    fn write(&self, id: PageId) -> Result<Self::Write<'_>>;
    /// Open a page that has never been written (past the file's page count)
    /// for writing: its image starts as zeros and is not read from disk.
    fn write_new(&self, id: PageId) -> Result<Self::Write<'_>>;
    /// Build the error for a page whose contents contradict its format.
    fn corrupt(&self, page: PageId, reason: String) -> Error;
}
