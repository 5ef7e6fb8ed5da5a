//! What tools need to look inside a database, as decoded values: the WAL's
//! segments, the decoded log, a page summary ([`crate::Database::page_summary`]),
//! the integrity check and its findings. Everything here only reads;
//! offline callers go through a read-only VFS.

pub(crate) mod check;

pub use crate::api::inspect::{SegmentInfo, WalInfo, wal_segments};
pub use crate::storage::check::PageAccount;
pub use check::{Finding, IntegrityReport, Level, check_files, check_structure};

mod log;
mod page;

pub use crate::wal::RecordType;
pub use log::{ControlInfo, LogReader, LogRecord, RecordBody, read_control};
pub use page::{HeaderSummary, InteriorSummary, LeafEntry, LeafSummary, PageKind, PageSummary};
