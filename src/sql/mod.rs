//! The SQL layer: parse (`sqlparser`, SQLite dialect) into waldb's own small
//! syntax tree, plan against the catalog, execute over transactions.

pub mod ast;
pub mod parse;
