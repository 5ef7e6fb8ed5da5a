//! Reading the log: records in LSN order across segments, each verified, and
//! the decision at the first bad spot between a torn tail and corruption.
//!
//! # Rules (checked for every record)
//!
//! 1. magic, then length against [`MAX_PAYLOAD`](super::format::MAX_PAYLOAD)
//!    and the room left in the segment — before the payload is touched;
//! 2. CRC32C over header and payload;
//! 3. the LSN inside equals the position read (stale bytes of a recycled
//!    segment, and misplaced writes, fail here);
//! 4. `prev_crc` equals the CRC of the record before (a lost record in the
//!    middle of a flush breaks the chain even if later records survived).
//!
//! Zeros after a record are the padding that ends a flush; the next flush
//! starts at the next 4 KiB boundary. After a recovery discarded a torn tail,
//! the log resumes at the next boundary too, leaving dead bytes before it. So
//! wherever the log has no valid record before the next boundary, reading
//! continues at that boundary — if the record there chains to the last valid
//! one (rule 4 makes this safe: a lost record never chains). A
//! `SEGMENT_SWITCH` record, or the end of a segment's data, continues at the
//! next segment, whose header must be valid, of this database, and start
//! where the previous segment ended.
//!
//! # Torn tail or corruption (`docs/DESIGN.md` invariant 8)
//!
//! At the first position `x` that holds no valid record, the reader scans the
//! rest of the log for any record that is valid on its own and carries
//! `durable_lsn > x`. Such a record proves that the bytes at `x` were synced
//! before it was written: they are damaged durable data, and the reader
//! returns [`Error::CorruptLog`] rather than silently dropping acknowledged
//! commits. Otherwise `x` lies inside the last flush, whose sync never
//! finished: a torn tail, reported by [`WalReader::torn`] and discarded.
//!
//! A bad header on the last segment, when it holds no valid record, is a torn
//! creation and ends the log; anywhere else it is corruption.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ids::{DbId, Lsn, get_u32};
use crate::io::Vfs;

use super::format::{
    FIRST_LSN, FLUSH_ALIGN, Invalid, REC_MAGIC, RECORD_ALIGN, Record, RecordType, SEGMENT_HEADER_BLOCK, SegmentHeader,
    align_up, decode_record,
};
use super::segment;

/// Where a read of the log ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEnd {
    /// Where the last valid record ends (after a `SEGMENT_SWITCH`: where its
    /// segment ends), or the start point if none was read. The log continues
    /// at the next 4 KiB boundary at or after it.
    pub end: Lsn,
    /// CRC of the last valid record (0 if none), for the next record's chain.
    pub last_crc: u32,
    /// LSN of the last valid record.
    pub last_lsn: Option<Lsn>,
}

/// A discarded torn tail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Where the valid log ends.
    pub at: Lsn,
    /// Non-zero bytes discarded after it in its segment.
    pub bytes: u64,
    /// What was wrong at `at`.
    pub reason: String,
}

struct Loaded {
    header: SegmentHeader,
    path: PathBuf,
    data: Vec<u8>,
}

impl Loaded {
    fn offset(&self, lsn: Lsn) -> usize {
        (lsn.0 - self.header.start_lsn.0 + SEGMENT_HEADER_BLOCK) as usize
    }

    /// The segment's bytes from `lsn` on; past the end of a short file
    /// there are none, which reads as zeros would (the log ends there).
    fn at(&self, lsn: Lsn) -> &[u8] {
        self.data.get(self.offset(lsn)..).unwrap_or(&[])
    }
}

/// Reads records from an LSN to the end of the log.
pub struct WalReader<'v> {
    vfs: &'v dyn Vfs,
    db_path: PathBuf,
    db_id: DbId,
    names: Vec<(Lsn, PathBuf)>,
    idx: usize,
    seg: Option<Loaded>,
    pos: Lsn,
    last_crc: Option<u32>,
    last_lsn: Option<Lsn>,
    /// Where the last valid record ended (the start point before any).
    valid_end: Lsn,
    finished: Option<LogEnd>,
    torn: Option<TornTail>,
}

impl std::fmt::Debug for WalReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WalReader({}, at {:?})", self.db_path.display(), self.pos)
    }
}

/// Everything a full read returned.
#[derive(Debug)]
pub struct Scan {
    /// The records, in order.
    pub records: Vec<Record>,
    /// Where the log ends.
    pub end: LogEnd,
    /// The torn tail discarded, if any.
    pub torn: Option<TornTail>,
}

/// Read every record from `from` to the end.
pub fn scan(vfs: &dyn Vfs, db_path: &Path, db_id: DbId, from: Lsn) -> Result<Scan> {
    let mut r = WalReader::open(vfs, db_path, db_id, from)?;
    let mut records = Vec::new();
    while let Some(rec) = r.next()? {
        records.push(rec);
    }
    let end = r.end().ok_or_else(|| crate::errinput!("reader stopped without an end"))?;
    Ok(Scan { records, end, torn: r.torn().cloned() })
}

impl<'v> WalReader<'v> {
    /// Start reading at `from` (the first LSN of the log, or a checkpoint's
    /// redo LSN).
    pub fn open(vfs: &'v dyn Vfs, db_path: &Path, db_id: DbId, from: Lsn) -> Result<WalReader<'v>> {
        let names = segment::list(vfs, db_path)?;
        let mut r = WalReader {
            vfs,
            db_path: db_path.to_path_buf(),
            db_id,
            names,
            idx: 0,
            seg: None,
            pos: from,
            last_crc: None,
            last_lsn: None,
            valid_end: from,
            finished: None,
            torn: None,
        };
        let Some(idx) = r.names.iter().rposition(|(start, _)| *start <= from) else {
            if from == FIRST_LSN && r.names.is_empty() {
                // A log that was never written.
                r.finish();
                return Ok(r);
            }
            return Err(Error::CorruptFile {
                file: segment::segment_path(db_path, from),
                reason: format!("the WAL segment holding LSN {from} is missing"),
            });
        };
        r.idx = idx;
        let (start, path) = r.names[idx].clone();
        let seg = r.load(start, &path)?.map_err(|reason| Error::CorruptLog {
            segment: path.clone(),
            offset: 0,
            lsn: start,
            reason,
        })?;
        if from > seg.header.end_lsn() {
            return Err(Error::CorruptFile {
                file: segment::segment_path(db_path, from),
                reason: format!("the WAL segment holding LSN {from} is missing"),
            });
        }
        r.seg = Some(seg);
        Ok(r)
    }

    /// Where the log ends, once [`WalReader::next`] has returned `None`.
    pub fn end(&self) -> Option<LogEnd> {
        self.finished
    }

    /// The torn tail that was discarded, if any.
    pub fn torn(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    fn finish(&mut self) {
        self.finished =
            Some(LogEnd { end: self.valid_end, last_crc: self.last_crc.unwrap_or(0), last_lsn: self.last_lsn });
    }

    /// Load a segment: `Ok(Err(reason))` when its header is bad.
    fn load(&self, start: Lsn, path: &Path) -> Result<std::result::Result<Loaded, String>> {
        let (file, header) = segment::open(self.vfs, path)?;
        let header = match header {
            Ok(h) => h,
            Err(reason) => return Ok(Err(reason)),
        };
        if header.db_id != self.db_id {
            return Err(Error::CorruptFile {
                file: path.to_path_buf(),
                reason: format!("WAL segment belongs to database {}, not {}", header.db_id, self.db_id),
            });
        }
        if header.start_lsn != start {
            return Ok(Err(format!("header says start LSN {}, name says {start}", header.start_lsn)));
        }
        // Read what the file holds, up to the size its header claims: a
        // damaged header (CRC and all) cannot make this allocate more than
        // the file is. A short file has no bytes past its end: the log ends
        // there.
        let len = file.len().map_err(|e| Error::io("stat", path, e))?.min(header.segment_size);
        let mut data = vec![0u8; len as usize];
        let n = file.read_at(&mut data, 0).map_err(|e| Error::io("read", path, e))?;
        let mut filled = n;
        while filled < data.len() {
            let m = file.read_at(&mut data[filled..], filled as u64).map_err(|e| Error::io("read", path, e))?;
            if m == 0 {
                break;
            }
            filled += m;
        }
        Ok(Ok(Loaded { header, path: path.to_path_buf(), data }))
    }

    /// The next valid record, or `None` at the end of the log.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Record>> {
        loop {
            if self.finished.is_some() {
                return Ok(None);
            }
            let Some(seg) = self.seg.as_ref() else {
                self.finish();
                return Ok(None);
            };
            let seg_end = seg.header.end_lsn();
            if self.pos >= seg_end {
                self.advance_segment()?;
                continue;
            }
            let p = self.pos;
            let reason = match decode_record(seg.at(p), p) {
                Ok(r) if self.chains(&r) => {
                    self.last_crc = Some(r.crc);
                    self.last_lsn = Some(r.lsn);
                    self.pos = if r.kind == RecordType::SegmentSwitch { seg_end } else { r.end() };
                    self.valid_end = self.pos;
                    return Ok(Some(r));
                }
                Ok(r) => format!("record chain broken (prev_crc {:08x}, expected {:08x?})", r.prev_crc, self.last_crc),
                Err(Invalid::Zero) => "end of log".to_string(),
                Err(Invalid::Bad(reason)) => reason,
            };
            // Each flush starts on a fresh 4 KiB block: past zeros that pad a
            // flush, or the dead bytes a torn tail left in the block where
            // recovery resumed, the log goes on at the next block boundary —
            // if, and only if, the record there chains to the last valid one.
            let next_block = Lsn(align_up(self.valid_end.0, FLUSH_ALIGN));
            if p < next_block {
                if next_block >= seg_end && self.next_header_is_bad(seg_end)? {
                    // Let the segment change report the damaged header.
                    self.pos = seg_end;
                    continue;
                }
                if self.chained_record_at(next_block)? {
                    self.pos = next_block;
                    continue;
                }
            }
            self.stop(p, reason)?;
            return Ok(None);
        }
    }

    fn chains(&self, r: &Record) -> bool {
        self.last_crc.is_none_or(|c| c == r.prev_crc)
    }

    /// Whether the segment that should start at `start` exists with a bad
    /// header.
    fn next_header_is_bad(&self, start: Lsn) -> Result<bool> {
        match self.names.iter().find(|(s, _)| *s == start) {
            Some((_, path)) => Ok(segment::open(self.vfs, path)?.1.is_err()),
            None => Ok(false),
        }
    }

    /// Whether a valid record that chains to the last one starts at `at` (in
    /// this segment, or at the start of the next).
    fn chained_record_at(&self, at: Lsn) -> Result<bool> {
        let Some(seg) = self.seg.as_ref() else { return Ok(false) };
        if at < seg.header.end_lsn() {
            return Ok(decode_record(seg.at(at), at).is_ok_and(|r| self.chains(&r)));
        }
        let Some((start, path)) = self.names.iter().find(|(s, _)| *s == at).cloned() else { return Ok(false) };
        match self.load(start, &path)? {
            Ok(next) => Ok(decode_record(next.at(at), at).is_ok_and(|r| self.chains(&r))),
            Err(_) => Ok(false),
        }
    }

    /// Move to the segment after the current one.
    fn advance_segment(&mut self) -> Result<()> {
        let Some(cur) = self.seg.as_ref() else { return Ok(()) };
        let expected = cur.header.end_lsn();
        self.pos = expected;
        let next = self.names.iter().position(|(s, _)| *s >= expected);
        let Some(i) = next else {
            self.finish();
            return Ok(());
        };
        let (start, path) = self.names[i].clone();
        if start != expected {
            self.stop(expected, format!("WAL segment starting at {expected} is missing"))?;
            return Ok(());
        }
        match self.load(start, &path)? {
            Ok(seg) => {
                self.idx = i;
                self.seg = Some(seg);
                Ok(())
            }
            Err(reason) => {
                let last = i + 1 == self.names.len();
                if last && !self.holds_valid_records(start, &path)? {
                    // Torn creation of the last, empty segment.
                    self.torn = Some(TornTail { at: expected, bytes: 0, reason });
                    self.finish();
                    Ok(())
                } else {
                    Err(Error::CorruptLog { segment: path, offset: 0, lsn: start, reason })
                }
            }
        }
    }

    /// Whether a segment whose header is bad holds any record valid for the
    /// position its name gives.
    fn holds_valid_records(&self, start: Lsn, path: &Path) -> Result<bool> {
        let file = self.vfs.open(path, crate::io::OpenMode::ReadOnly).map_err(|e| Error::io("open", path, e))?;
        let len = file.len().map_err(|e| Error::io("stat", path, e))? as usize;
        let mut data = vec![0u8; len];
        file.read_exact_at(&mut data, 0).map_err(|e| Error::io("read", path, e))?;
        let mut off = SEGMENT_HEADER_BLOCK as usize;
        while off + 4 <= data.len() {
            let lsn = Lsn(start.0 + off as u64 - SEGMENT_HEADER_BLOCK);
            if get_u32(&data, off) == REC_MAGIC && decode_record(&data[off..], lsn).is_ok() {
                return Ok(true);
            }
            off += RECORD_ALIGN as usize;
        }
        Ok(false)
    }

    /// The log has no valid record at `x`: decide torn tail or corruption.
    fn stop(&mut self, x: Lsn, reason: String) -> Result<()> {
        if let Some(proof) = self.durable_record_beyond(x)? {
            let (path, offset) = match self.seg.as_ref() {
                Some(seg) if x < seg.header.end_lsn() => (seg.path.clone(), seg.offset(x) as u64),
                _ => (segment::segment_path(&self.db_path, x), 0),
            };
            return Err(Error::CorruptLog {
                segment: path,
                offset,
                lsn: x,
                reason: format!("{reason}; the record at LSN {proof} was written after this point was durable"),
            });
        }
        let bytes = match self.seg.as_ref() {
            Some(seg) if x < seg.header.end_lsn() => {
                seg.at(x).iter().rposition(|&b| b != 0).map_or(0, |p| p as u64 + 1)
            }
            _ => 0,
        };
        if bytes > 0 || reason != "end of log" {
            self.torn = Some(TornTail { at: x, bytes, reason });
        }
        self.finish();
        Ok(())
    }

    /// The LSN of a record past `x`, valid on its own, whose `durable_lsn`
    /// says `x` was already durable when it was written.
    fn durable_record_beyond(&self, x: Lsn) -> Result<Option<Lsn>> {
        if let Some(seg) = self.seg.as_ref()
            && let Some(l) = scan_for_durable(seg, x)
        {
            return Ok(Some(l));
        }
        let later: Vec<(Lsn, PathBuf)> = self.names.iter().filter(|(s, _)| *s > x).cloned().collect();
        for (start, path) in later {
            if self.seg.as_ref().is_some_and(|s| s.header.start_lsn == start) {
                continue;
            }
            if let Ok(seg) = self.load(start, &path)?
                && let Some(l) = scan_for_durable(&seg, x)
            {
                return Ok(Some(l));
            }
        }
        Ok(None)
    }
}

fn scan_for_durable(seg: &Loaded, x: Lsn) -> Option<Lsn> {
    let from = x.max(seg.header.start_lsn);
    let mut lsn = Lsn(align_up(from.0, RECORD_ALIGN));
    while lsn < seg.header.end_lsn() {
        let off = seg.offset(lsn);
        if lsn > x
            && off + 4 <= seg.data.len()
            && get_u32(&seg.data, off) == REC_MAGIC
            && let Ok(r) = decode_record(&seg.data[off..], lsn)
            && r.durable_lsn > x
        {
            return Some(lsn);
        }
        lsn = Lsn(lsn.0 + RECORD_ALIGN);
    }
    None
}
