//! The write-ahead log: the single source of truth for durability.
//!
//! - [`format`](mod@format): segment header and record layouts (byte tables), CRC32C.
//! - [`segment`]: segment files: names, crash-safe creation, recycling.
//! - [`writer`]: append, group commit, fail stop, durability modes.
//! - [`gather`]: who a flush leader waits for (the committers in flight).
//! - [`reader`]: verified reading, torn tail versus corruption.
//!
//! The log knows nothing of SQL or of what pages contain: it stores records
//! and returns them. It keeps `docs/DESIGN.md` invariants 2 (a commit is acknowledged only
//! after its record is durable), 7 (fail stop), 8 (torn tail versus
//! corruption) and 9 (each flush starts on a fresh 4 KiB boundary).

pub mod format;
pub mod gather;
pub mod reader;
pub mod segment;
pub mod writer;

pub use format::{FIRST_LSN, MAX_PAYLOAD, Record, RecordType};
pub use reader::{LogEnd, Scan, TornTail, WalReader, scan};
pub use gather::CommitIntent;
pub use writer::{AppendHook, Durability, Wal, WalOptions, WalStats};
