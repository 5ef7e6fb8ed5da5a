//! Storage: page formats and the data file.
//!
//! - [`page`]: the common page header and checksum every page carries.
//! - [`header`]: page 0, the file header.
//! - [`control`]: the control file: where recovery starts.
//! - [`file`](mod@file): the locked data file: verified reads, sealed writes, growth,
//!   sync, and the fail-stop latch.
//! - [`store`]: the [`PageStore`] trait through which the page-level
//!   structures below reach pages, so they can run over the buffer pool (and
//!   later over a transaction) without this layer calling up.
//! - [`alloc`]: page allocation and the free list kept in page 0.
//! - [`check`]: whole-file page accounting (no page leaked or owned twice).
//! - [`overflow`]: chains of pages for values too large for a tree entry.
//!
//! The B+tree (`src/btree`) is the layer above: it reaches pages through
//! [`PageStore`] and allocates them through [`alloc`].

pub mod alloc;
pub mod check;
pub mod control;
pub mod file;
pub mod header;
pub mod overflow;
pub mod page;
pub mod store;

pub use control::Control;
pub use file::{DataFile, FileStats, Opened};
pub use header::FileHeader;
pub use page::PageType;
pub use store::PageStore;
