//! The SQL layer: parse (`sqlparser`, SQLite dialect) into waldb's own small
//! syntax tree, prepare (resolve names, choose access paths) against the
//! catalog, execute over a transaction's pages.
//!
//! # The life of a statement
//!
//! `db.execute("UPDATE t SET v = ? WHERE id = ?", (v, 7))`:
//!
//! 1. **Parse** ([`parse`]): sqlparser tokenizes and parses the text (SQLite
//!    dialect); the result is mapped onto [`ast`], a small tree of what
//!    waldb supports. Anything else is rejected here, by name
//!    (`NotSupported("window functions (OVER)")`), never silently dropped.
//! 2. **Prepare** ([`prepare`], [`plan`]): names are resolved against the
//!    [`catalog`] as the statement's transaction sees it, expressions are
//!    compiled ([`plan::CExpr`]: column positions, affinities, functions
//!    looked up once), and the planner picks an access path for each table
//!    (here the rowid lookup `id = ?`) and builds a tree of operators
//!    ([`plan::Node`]). A prepared statement keeps its plan and re-plans
//!    when the schema changes.
//! 3. **Execute** ([`exec`], [`dml`], [`ddl`], [`alter`], [`pragma`]):
//!    queries pull rows through the operators ([`exec::open`]) from B+tree
//!    cursors over the transaction's pages; DML finds its rows the same
//!    way and changes them through [`table`] (the row's record, then every
//!    index entry), checking constraints as SQLite does. Every page it
//!    touches goes through the write transaction, which keeps the
//!    before-image for rollback and marks the page uncommitted.
//! 4. **Finish**, in `src/api`: outside an explicit transaction, the
//!    statement's write transaction commits (see the crate doc's life of a
//!    commit) and `execute` returns the number of changed rows once the
//!    commit is durable; a failed statement rolls back only its own changes
//!    (statement undo) and leaves an explicit transaction open — unless it
//!    is an `INSERT OR FAIL` (its changes before the violation stay) or an
//!    `INSERT OR ROLLBACK` (the transaction is rolled back).
//!
//! # Files
//!
//! - [`parse`]: SQL text to [`ast`], rejecting what waldb does not support.
//! - [`catalog`]: tables, indexes and views, stored in the schema table.
//! - [`prepare`] and [`plan`]: statements to plans.
//! - [`exec`] (queries), [`dml`] (INSERT/UPDATE/DELETE), [`upsert`]
//!   (`INSERT … ON CONFLICT … DO …`), [`ddl`]
//!   (CREATE/DROP), [`alter`] (ALTER TABLE): running plans.
//! - [`pragma`]: PRAGMA introspection and settings; [`sequence`]:
//!   AUTOINCREMENT's `sqlite_sequence`.
//! - [`table`]: rows and index entries in B+trees; [`record`] (a row's
//!   bytes) and [`keycode`] (values as memcomparable index keys) are their
//!   encodings.
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
pub mod keycode;
pub mod math;
pub mod parse;
pub mod plan;
pub mod pragma;
pub mod prepare;
pub mod print;
pub mod printf;
pub mod record;
pub mod sequence;
pub mod table;
pub mod types;
pub mod upsert;
