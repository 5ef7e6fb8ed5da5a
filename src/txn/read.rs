//! Read-only transactions: shared access to committed, durable pages.
//!
//! A reader holds the engine's read lock, so no writer changes a page under
//! it; before it starts it waits until the last commit is durable
//! ([`Engine::begin_read`]), so everything it sees survives any crash.

use parking_lot::{ArcRwLockReadGuard, RawRwLock};

use crate::buffer::PageRef;
use crate::error::{Error, Result};
use crate::ids::PageId;
use crate::storage::PageStore;

use super::engine::Engine;

/// A read-only transaction.
pub struct ReadTxn {
    engine: Engine,
    _rw: ArcRwLockReadGuard<RawRwLock, ()>,
}

impl std::fmt::Debug for ReadTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadTxn")
    }
}

impl ReadTxn {
    pub(super) fn new(engine: &Engine, rw: ArcRwLockReadGuard<RawRwLock, ()>) -> ReadTxn {
        ReadTxn { engine: engine.clone(), _rw: rw }
    }

    /// The engine it reads.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl PageStore for ReadTxn {
    type Read<'a>
        = PageRef<'a>
    where
        Self: 'a;
    type Write<'a>
        = crate::buffer::PageMut<'a>
    where
        Self: 'a;

    fn page_size(&self) -> usize {
        self.engine.page_size()
    }

    fn read(&self, id: PageId) -> Result<PageRef<'_>> {
        self.engine.pool().fetch(id)
    }

    fn write(&self, id: PageId) -> Result<crate::buffer::PageMut<'_>> {
        Err(crate::errinput!("cannot write page {id} in a read-only transaction"))
    }

    fn write_new(&self, id: PageId) -> Result<crate::buffer::PageMut<'_>> {
        Err(crate::errinput!("cannot create page {id} in a read-only transaction"))
    }

    fn corrupt(&self, page: PageId, reason: String) -> Error {
        self.engine.pool().corrupt(page, reason)
    }
}
