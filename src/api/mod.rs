//! The embedded library API, shaped like `rusqlite`: [`Database`] (open,
//! execute, query, prepare, transactions), [`Statement`], [`Transaction`],
//! [`Rows`] and [`Row`] with typed reads, and parameters ([`Params`],
//! [`ToSql`], [`params!`](crate::params)), and the SQL text of values and
//! names ([`quote_identifier`], `Value::to_sql_literal` and its kin).
//!
//! It sits on top of everything else: SQL text goes down through `sql` to
//! `txn`; nothing below calls up into it.

pub mod database;
pub mod inspect;
pub mod params;
pub mod row;
pub mod statement;
pub mod text;
pub mod transaction;

pub use database::{Database, Options};
pub use params::{Params, ToSql};
pub use row::{FromSql, Row, RowIndex, Rows};
pub use statement::Statement;
pub use text::quote_identifier;
pub use transaction::Transaction;
