//! What tools need to look inside a database, as decoded values: the WAL's
//! segments, the integrity check's report.

pub use crate::api::inspect::{IntegrityReport, SegmentInfo, WalInfo, wal_segments};
pub use crate::storage::check::PageAccount;
