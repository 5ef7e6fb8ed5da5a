//! The log as decoded records, for `.wal dump` and `waldb wal dump`: what
//! the control file says, and a reader of the WAL that yields each record
//! with its page record or checkpoint payload decoded.

use std::path::Path;

use crate::error::Result;
use crate::ids::{Lsn, PageId, TxnId};
use crate::io::Vfs;
use crate::storage::Control;
use crate::txn::log::{PageOp, decode_checkpoint, decode_page_record};
use crate::wal::{RecordType, TornTail, WalReader};

/// What the control file beside a database says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlInfo {
    /// Page size in bytes.
    pub page_size: usize,
    /// The database's id (its WAL segments carry it).
    pub db_id: u64,
    /// Size of each WAL segment file.
    pub segment_size: u64,
    /// Where recovery reads the log from.
    pub redo_lsn: Lsn,
    /// The last checkpoint's record (0: none yet).
    pub checkpoint_lsn: Lsn,
}

/// The control file of the database at `db_path`; `None` when there is
/// none (not a waldb database, or its creation never finished).
pub fn read_control(vfs: &dyn Vfs, db_path: &Path) -> Result<Option<ControlInfo>> {
    Ok(Control::read(vfs, db_path)?.map(|c| ControlInfo {
        page_size: c.page_size,
        db_id: c.db_id.0,
        segment_size: c.segment_size,
        redo_lsn: c.redo_lsn,
        checkpoint_lsn: c.checkpoint_lsn,
    }))
}

/// What a log record's payload says, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordBody {
    /// No payload (BEGIN, COMMIT, ABORT), or the rest of a segment unused.
    Empty,
    /// The whole image of a page.
    FullPage {
        /// The page.
        page: PageId,
    },
    /// Byte ranges of a page overwritten.
    PageChange {
        /// The page.
        page: PageId,
        /// How many ranges.
        ranges: usize,
        /// Bytes changed in all.
        bytes: usize,
    },
    /// A checkpoint and its redo LSN.
    Checkpoint {
        /// The redo LSN (`None`: undecodable).
        redo: Option<Lsn>,
    },
    /// A page record that does not decode.
    Undecodable(String),
}

/// One record of the log, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Where it starts.
    pub lsn: Lsn,
    /// Where the next record starts.
    pub end: Lsn,
    /// Its transaction (0: none).
    pub txid: TxnId,
    /// Its type.
    pub kind: RecordType,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Its checksum (verified when read).
    pub crc: u32,
    /// The payload, decoded.
    pub body: RecordBody,
}

/// A reader of a database's log yielding [`LogRecord`]s.
#[derive(Debug)]
pub struct LogReader<'v> {
    inner: WalReader<'v>,
    control: ControlInfo,
    start: Lsn,
}

impl<'v> LogReader<'v> {
    /// Read the log of the database at `db_path` (pass a read-only VFS):
    /// from `from` if given; else from the oldest segment on disk when the
    /// log reads cleanly from there (segments before the redo point are
    /// kept until they are recycled); else from the redo point. Fails when
    /// there is no control file.
    pub fn open(vfs: &'v dyn Vfs, db_path: &Path, from: Option<Lsn>) -> Result<LogReader<'v>> {
        let control = read_control(vfs, db_path)?.ok_or_else(|| {
            crate::errinput!(
                "{}: no control file beside it: not a waldb database (or its creation never finished)",
                db_path.display()
            )
        })?;
        let id = crate::ids::DbId(control.db_id);
        let (inner, start) = crate::api::inspect::open_log_reader(vfs, db_path, id, from, control.redo_lsn)?;
        Ok(LogReader { inner, control, start })
    }

    /// The control file read when opening.
    pub fn control(&self) -> ControlInfo {
        self.control
    }

    /// The LSN it started at.
    pub fn start(&self) -> Lsn {
        self.start
    }

    /// The next record; `None` at the end of the log (see [`Self::torn`]).
    pub fn next_record(&mut self) -> Result<Option<LogRecord>> {
        let Some(rec) = self.inner.next()? else { return Ok(None) };
        let page_size = self.control.page_size;
        let body = match rec.kind {
            RecordType::PageChange | RecordType::FullPageImage => {
                match decode_page_record(rec.kind, &rec.payload, page_size) {
                    Ok((page, PageOp::Image(_))) => RecordBody::FullPage { page },
                    Ok((page, PageOp::Ranges(r))) => {
                        RecordBody::PageChange { page, ranges: r.len(), bytes: r.iter().map(|(_, b)| b.len()).sum() }
                    }
                    Err(e) => RecordBody::Undecodable(e),
                }
            }
            RecordType::Checkpoint => RecordBody::Checkpoint { redo: decode_checkpoint(&rec.payload) },
            _ => RecordBody::Empty,
        };
        Ok(Some(LogRecord {
            lsn: rec.lsn,
            end: rec.end(),
            txid: rec.txid,
            kind: rec.kind,
            payload_len: rec.payload.len(),
            crc: rec.crc,
            body,
        }))
    }

    /// The end of the log, once [`Self::next_record`] returned `None`.
    pub fn end(&self) -> Option<Lsn> {
        self.inner.end().map(|e| e.end)
    }

    /// The torn tail found at the end, if any.
    pub fn torn(&self) -> Option<&TornTail> {
        self.inner.torn()
    }
}
