//! The B+tree: ordered byte-string keys in pages, for primary keys, unique
//! constraints and secondary indexes.
//!
//! - [`node`]: the node layout (byte table) and cell operations on a page.
//! - [`tree`]: [`BTree`] operations over a page store, cursors, the checker.
//!
//! The tree knows pages and keys, not SQL: keys are compared as bytes (the
//! SQL layer's `sql::keycode` makes values into such keys). It sits above
//! `storage` (pages, allocation, overflow chains) and below `sql`.

pub mod node;
pub mod tree;

pub use tree::{BTree, Cursor, Direction, TreeCheck, max_entry, max_key};
