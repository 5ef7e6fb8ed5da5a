//! The SQL layer: parse (`sqlparser`, SQLite dialect) into waldb's own small
//! syntax tree, prepare (resolve names, choose access paths) against the
//! catalog, execute over a transaction's pages.
//!
//! - [`parse`]: SQL text to [`ast`], rejecting what waldb does not support.
//! - [`catalog`]: tables, indexes and views, stored in the schema table.
//! - [`prepare`] and [`plan`]: statements to plans.
//! - [`exec`] (queries), [`dml`] (INSERT/UPDATE/DELETE), [`ddl`]
//!   (CREATE/DROP), [`alter`] (ALTER TABLE): running plans.
//! - [`pragma`]: PRAGMA introspection and settings; [`sequence`]:
//!   AUTOINCREMENT's `sqlite_sequence`.
//! - [`table`]: rows and index entries in B+trees.
//! - [`types`] and [`func`]: SQLite's value semantics and functions;
//!   [`build`]: the text and blob values they make, bounded in size;
//!   [`builtins`] ([`datetime`], [`math`], `printf`) the rest of SQLite's
//!   scalar functions.
//! - [`print`](mod@print) and [`explain`]: SQL and plans as text.
//! - [`printf`] and [`fp`]: SQLite's `printf` and its rendering of reals.

pub mod alter;
pub mod ast;
pub mod build;
pub mod builtins;
pub mod catalog;
pub mod datetime;
pub mod ddl;
pub mod dml;
pub mod exec;
pub mod explain;
pub mod fp;
pub mod func;
pub mod math;
pub mod parse;
pub mod plan;
pub mod pragma;
pub mod prepare;
pub mod print;
pub mod printf;
pub mod sequence;
pub mod table;
pub mod types;
