//! The on-disk format of the write-ahead log: segment headers and records.
//!
//! # The log stream
//!
//! An LSN is a byte position in one logical stream. The stream is cut into
//! **segments**, files of a fixed size named by the LSN they start at. The
//! first 4 KiB of each segment file hold its header; the rest holds records:
//!
//! ```text
//!  segment file:  | header block (4 KiB) | data: LSN start .. start + size - 4096 |
//!  file offset  = lsn - start_lsn + 4096
//! ```
//!
//! Records are 8-byte aligned and never cross a segment. A **flush** (one
//! group commit) writes whole 4 KiB blocks: its records, then zeros up to the
//! next 4 KiB boundary, where the next flush begins (`docs/DESIGN.md` invariant 9: a torn
//! write can only hit bytes nobody was told are durable).
//!
//! # Segment header (offset 0 of every segment file)
//!
//! | offset | size | field | meaning |
//! |---:|---:|---|---|
//! | 0 | 8 | `magic` | `"WALDBSEG"` |
//! | 8 | 4 | `version` | [`WAL_VERSION`] |
//! | 12 | 4 | reserved | zero |
//! | 16 | 8 | `db_id` | the database the segment belongs to |
//! | 24 | 8 | `segment_no` | sequence number, +1 per new segment |
//! | 32 | 8 | `start_lsn` | LSN of the first data byte (also the file's name): `FIRST_LSN` + k × (`segment_size` − 4096) |
//! | 40 | 8 | `segment_size` | bytes in the file, header block included |
//! | 48 | 12 | reserved | zero |
//! | 60 | 4 | `crc` | CRC32C of bytes 0..60 |
//!
//! # Record
//!
//! | offset | size | field | meaning |
//! |---:|---:|---|---|
//! | 0 | 4 | `magic` | `"WREC"` |
//! | 4 | 4 | `crc` | CRC32C of bytes 8 .. 48 + `len` (header rest and payload) |
//! | 8 | 8 | `lsn` | the record's own position: stale bytes of a recycled segment never match |
//! | 16 | 8 | `durable_lsn` | end of the durable log known when the record was appended — for the last record of each flush, when the flush was written (`docs/DESIGN.md` invariant 8) |
//! | 24 | 4 | `prev_crc` | `crc` of the previous record: a chain, so a lost record breaks it |
//! | 28 | 1 | `type` | a [`RecordType`] |
//! | 29 | 3 | reserved | zero |
//! | 32 | 8 | `txid` | transaction id (0 for records of no transaction) |
//! | 40 | 4 | `len` | payload length, at most [`MAX_PAYLOAD`] |
//! | 44 | 4 | reserved | zero |
//! | 48 | len | `payload` | type-specific |
//!
//! The next record starts at the next multiple of 8, or — after zeros that pad
//! a flush — at the next multiple of 4096.

use crate::ids::{DbId, Lsn, TxnId, get_u32, get_u64, put_u32, put_u64};

/// Bytes at the start of each segment file reserved for its header.
pub const SEGMENT_HEADER_BLOCK: u64 = 4096;
/// Each flush starts on a multiple of this.
pub const FLUSH_ALIGN: u64 = 4096;
/// Records start on a multiple of this.
pub const RECORD_ALIGN: u64 = 8;
/// Hard limit on a record's payload, checked before anything is allocated.
pub const MAX_PAYLOAD: usize = 1 << 20;
/// LSN of the first byte of a new log (0 means "never logged").
pub const FIRST_LSN: Lsn = Lsn(SEGMENT_HEADER_BLOCK);

/// Segment header magic.
pub const SEGMENT_MAGIC: [u8; 8] = *b"WALDBSEG";
/// WAL format version.
pub const WAL_VERSION: u32 = 1;
/// Offset of the segment header's database id.
pub const SEG_DB_ID_OFFSET: usize = 16;
/// Offset of the segment number.
pub const SEG_NO_OFFSET: usize = SEG_DB_ID_OFFSET + 8;
/// Offset of the start LSN.
pub const SEG_START_OFFSET: usize = SEG_NO_OFFSET + 8;
/// Offset of the segment size.
pub const SEG_SIZE_OFFSET: usize = SEG_START_OFFSET + 8;
/// Offset of the header CRC.
pub const SEG_CRC_OFFSET: usize = 60;
/// Bytes of the segment header covered by the CRC, plus the CRC.
pub const SEG_HEADER_LEN: usize = SEG_CRC_OFFSET + 4;

/// Record magic, `"WREC"` as little-endian `u32`.
pub const REC_MAGIC: u32 = u32::from_le_bytes(*b"WREC");
/// Offset of the record CRC.
pub const REC_CRC_OFFSET: usize = 4;
/// Offset of the record's LSN.
pub const REC_LSN_OFFSET: usize = REC_CRC_OFFSET + 4;
/// Offset of the durable LSN carried by the record.
pub const REC_DURABLE_OFFSET: usize = REC_LSN_OFFSET + 8;
/// Offset of the previous record's CRC.
pub const REC_PREV_CRC_OFFSET: usize = REC_DURABLE_OFFSET + 8;
/// Offset of the record type.
pub const REC_TYPE_OFFSET: usize = REC_PREV_CRC_OFFSET + 4;
/// Offset of the transaction id.
pub const REC_TXID_OFFSET: usize = REC_TYPE_OFFSET + 4;
/// Offset of the payload length.
pub const REC_LEN_OFFSET: usize = REC_TXID_OFFSET + 8;
/// Length of the record header; the payload starts here.
pub const REC_HEADER_LEN: usize = REC_LEN_OFFSET + 8;

/// What a record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordType {
    /// A transaction starts.
    Begin = 1,
    /// A physiological change to one page.
    PageChange = 2,
    /// The whole image of a page (first change after a checkpoint's start).
    FullPageImage = 3,
    /// A transaction commits.
    Commit = 4,
    /// A transaction is rolled back.
    Abort = 5,
    /// A checkpoint completed; the payload holds its redo LSN.
    Checkpoint = 6,
    /// The rest of this segment is unused; the log continues in the next.
    SegmentSwitch = 7,
}

impl RecordType {
    /// Decode a type byte.
    pub fn from_u8(b: u8) -> Option<RecordType> {
        Some(match b {
            1 => RecordType::Begin,
            2 => RecordType::PageChange,
            3 => RecordType::FullPageImage,
            4 => RecordType::Commit,
            5 => RecordType::Abort,
            6 => RecordType::Checkpoint,
            7 => RecordType::SegmentSwitch,
            _ => return None,
        })
    }

    /// Upper-case name, as `.wal dump` prints it.
    pub fn name(self) -> &'static str {
        match self {
            RecordType::Begin => "BEGIN",
            RecordType::PageChange => "PAGE_CHANGE",
            RecordType::FullPageImage => "FULL_PAGE_IMAGE",
            RecordType::Commit => "COMMIT",
            RecordType::Abort => "ABORT",
            RecordType::Checkpoint => "CHECKPOINT",
            RecordType::SegmentSwitch => "SEGMENT_SWITCH",
        }
    }
}

/// A decoded, verified record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its position.
    pub lsn: Lsn,
    /// The durable end of the log when it was written.
    pub durable_lsn: Lsn,
    /// CRC of the record before it.
    pub prev_crc: u32,
    /// Its own CRC.
    pub crc: u32,
    /// Its type.
    pub kind: RecordType,
    /// Its transaction.
    pub txid: TxnId,
    /// Its payload.
    pub payload: Vec<u8>,
}

impl Record {
    /// Bytes the record occupies, header and payload, before alignment.
    pub fn len(&self) -> u64 {
        record_len(self.payload.len())
    }

    /// Never true: a record has at least a header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Where the next record may start.
    pub fn end(&self) -> Lsn {
        Lsn(align_up(self.lsn.0 + self.len(), RECORD_ALIGN))
    }
}

/// Bytes a record with `payload_len` bytes of payload occupies.
pub fn record_len(payload_len: usize) -> u64 {
    (REC_HEADER_LEN + payload_len) as u64
}

/// Round `v` up to a multiple of `align` (a power of two).
pub fn align_up(v: u64, align: u64) -> u64 {
    (v + align - 1) & !(align - 1)
}

/// The fields of a record to encode.
#[derive(Clone, Copy, Debug)]
pub struct RecordFields<'a> {
    /// Position the record is written at.
    pub lsn: Lsn,
    /// Durable end of the log now.
    pub durable_lsn: Lsn,
    /// CRC of the previous record.
    pub prev_crc: u32,
    /// Type.
    pub kind: RecordType,
    /// Transaction.
    pub txid: TxnId,
    /// Payload (at most [`MAX_PAYLOAD`] bytes; the caller checks).
    pub payload: &'a [u8],
}

/// Append the encoding of a record to `out` (unaligned; the caller pads).
/// Returns the record's CRC.
pub fn encode_record(out: &mut Vec<u8>, f: &RecordFields<'_>) -> u32 {
    let start = out.len();
    out.resize(start + REC_HEADER_LEN, 0);
    out.extend_from_slice(f.payload);
    let b = &mut out[start..];
    put_u32(b, 0, REC_MAGIC);
    put_u64(b, REC_LSN_OFFSET, f.lsn.0);
    put_u64(b, REC_DURABLE_OFFSET, f.durable_lsn.0);
    put_u32(b, REC_PREV_CRC_OFFSET, f.prev_crc);
    b[REC_TYPE_OFFSET] = f.kind as u8;
    put_u64(b, REC_TXID_OFFSET, f.txid.0);
    put_u32(b, REC_LEN_OFFSET, f.payload.len() as u32);
    let crc = crc32c::crc32c(&b[REC_LSN_OFFSET..]);
    put_u32(b, REC_CRC_OFFSET, crc);
    crc
}

/// Rewrite the `durable_lsn` of the whole record at the start of `rec` and
/// its CRC; returns the new CRC. The flush leader stamps the last record of
/// its flush this way, so every flush names the durable end of the log as
/// it was when the flush was written (`docs/DESIGN.md` invariant 8).
pub fn restamp_durable(rec: &mut [u8], durable: Lsn) -> u32 {
    let len = get_u32(rec, REC_LEN_OFFSET) as usize;
    put_u64(rec, REC_DURABLE_OFFSET, durable.0);
    let crc = crc32c::crc32c(&rec[REC_LSN_OFFSET..REC_HEADER_LEN + len]);
    put_u32(rec, REC_CRC_OFFSET, crc);
    crc
}

/// Why bytes at a position are not a valid record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// All-zero magic: padding or never-written space.
    Zero,
    /// Anything else, with the reason.
    Bad(String),
}

/// Check the record that should start at `buf[0]`, at position `lsn`, with
/// `room` bytes left in its segment. Verifies magic, length (against the
/// limit and the room, before touching the payload), type, CRC and the
/// LSN-equals-position rule. The chain (`prev_crc`) is the caller's check.
pub fn decode_record(buf: &[u8], lsn: Lsn) -> Result<Record, Invalid> {
    if buf.len() < REC_HEADER_LEN {
        return Err(if buf.iter().all(|&b| b == 0) { Invalid::Zero } else { Invalid::Bad("truncated header".into()) });
    }
    let magic = get_u32(buf, 0);
    if magic != REC_MAGIC {
        return Err(if magic == 0 { Invalid::Zero } else { Invalid::Bad(format!("bad magic {magic:08x}")) });
    }
    let len = get_u32(buf, REC_LEN_OFFSET) as usize;
    if len > MAX_PAYLOAD || REC_HEADER_LEN + len > buf.len() {
        return Err(Invalid::Bad(format!("payload length {len} exceeds the limit or the segment")));
    }
    let body = &buf[..REC_HEADER_LEN + len];
    let crc = get_u32(body, REC_CRC_OFFSET);
    if crc32c::crc32c(&body[REC_LSN_OFFSET..]) != crc {
        return Err(Invalid::Bad("checksum mismatch".into()));
    }
    let at = Lsn(get_u64(body, REC_LSN_OFFSET));
    if at != lsn {
        return Err(Invalid::Bad(format!("record claims LSN {at} at position {lsn} (stale or misplaced)")));
    }
    let kind = RecordType::from_u8(body[REC_TYPE_OFFSET])
        .ok_or_else(|| Invalid::Bad(format!("unknown record type {}", body[REC_TYPE_OFFSET])))?;
    Ok(Record {
        lsn,
        durable_lsn: Lsn(get_u64(body, REC_DURABLE_OFFSET)),
        prev_crc: get_u32(body, REC_PREV_CRC_OFFSET),
        crc,
        kind,
        txid: TxnId(get_u64(body, REC_TXID_OFFSET)),
        payload: body[REC_HEADER_LEN..].to_vec(),
    })
}

/// A decoded segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Database it belongs to.
    pub db_id: DbId,
    /// Sequence number.
    pub segment_no: u64,
    /// LSN of its first data byte.
    pub start_lsn: Lsn,
    /// Size of the whole file.
    pub segment_size: u64,
}

impl SegmentHeader {
    /// LSN just past its last data byte (where the next segment starts).
    pub fn end_lsn(&self) -> Lsn {
        Lsn(self.start_lsn.0 + self.segment_size - SEGMENT_HEADER_BLOCK)
    }

    /// The header block image.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; SEGMENT_HEADER_BLOCK as usize];
        b[..8].copy_from_slice(&SEGMENT_MAGIC);
        put_u32(&mut b, 8, WAL_VERSION);
        put_u64(&mut b, SEG_DB_ID_OFFSET, self.db_id.0);
        put_u64(&mut b, SEG_NO_OFFSET, self.segment_no);
        put_u64(&mut b, SEG_START_OFFSET, self.start_lsn.0);
        put_u64(&mut b, SEG_SIZE_OFFSET, self.segment_size);
        let crc = crc32c::crc32c(&b[..SEG_CRC_OFFSET]);
        put_u32(&mut b, SEG_CRC_OFFSET, crc);
        b
    }

    /// Decode and check a header block (magic, version, CRC, sizes).
    pub fn decode(b: &[u8]) -> Result<SegmentHeader, String> {
        if b.len() < SEG_HEADER_LEN {
            return Err("segment shorter than its header".into());
        }
        if b[..8] != SEGMENT_MAGIC {
            return Err("bad segment magic".into());
        }
        if crc32c::crc32c(&b[..SEG_CRC_OFFSET]) != get_u32(b, SEG_CRC_OFFSET) {
            return Err("segment header checksum mismatch".into());
        }
        let version = get_u32(b, 8);
        if version != WAL_VERSION {
            return Err(format!("WAL format version {version} is not supported"));
        }
        let h = SegmentHeader {
            db_id: DbId(get_u64(b, SEG_DB_ID_OFFSET)),
            segment_no: get_u64(b, SEG_NO_OFFSET),
            start_lsn: Lsn(get_u64(b, SEG_START_OFFSET)),
            segment_size: get_u64(b, SEG_SIZE_OFFSET),
        };
        validate_segment_size(h.segment_size)?;
        if !h.start_lsn.0.is_multiple_of(FLUSH_ALIGN) || h.start_lsn < FIRST_LSN {
            return Err(format!("segment start LSN {} is not aligned", h.start_lsn));
        }
        // LSN arithmetic inside the segment (its end, a record's end) must
        // not overflow: no log reaches 2^63 bytes.
        if h.start_lsn.0 > MAX_LSN - h.segment_size {
            return Err(format!("segment start LSN {} is out of range", h.start_lsn));
        }
        // Segments tile the log from FIRST_LSN; the writer looks a segment
        // up by that grid, so one off it could never be written to.
        if !(h.start_lsn.0 - FIRST_LSN.0).is_multiple_of(h.segment_size - SEGMENT_HEADER_BLOCK) {
            return Err(format!(
                "segment start LSN {} is not on the grid of {}-byte segments",
                h.start_lsn, h.segment_size
            ));
        }
        Ok(h)
    }
}

/// Largest LSN a segment may end at (a damaged header claiming more is
/// refused, so LSN arithmetic never overflows).
pub const MAX_LSN: u64 = i64::MAX as u64;

/// Smallest segment size (a header block and three data blocks).
pub const MIN_SEGMENT_SIZE: u64 = 4 * SEGMENT_HEADER_BLOCK;
/// Largest segment size.
pub const MAX_SEGMENT_SIZE: u64 = 1 << 30;

/// Check a segment size: a multiple of 4 KiB within the limits.
pub fn validate_segment_size(size: u64) -> Result<(), String> {
    if size.is_multiple_of(FLUSH_ALIGN) && (MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(format!("segment size {size} must be a multiple of 4096 between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE}"))
    }
}

/// Largest payload a record may carry in segments of `segment_size` bytes.
pub fn max_payload(segment_size: u64) -> usize {
    let data = (segment_size - SEGMENT_HEADER_BLOCK) as usize;
    MAX_PAYLOAD.min(data - REC_HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(payload: &[u8]) -> RecordFields<'_> {
        RecordFields {
            lsn: Lsn(0x1000),
            durable_lsn: Lsn(0x0800),
            prev_crc: 0xAABB_CCDD,
            kind: RecordType::Commit,
            txid: TxnId(7),
            payload,
        }
    }

    #[test]
    fn layout_constants_match_the_table() {
        assert_eq!(
            (REC_CRC_OFFSET, REC_LSN_OFFSET, REC_DURABLE_OFFSET, REC_PREV_CRC_OFFSET, REC_TYPE_OFFSET),
            (4, 8, 16, 24, 28)
        );
        assert_eq!((REC_TXID_OFFSET, REC_LEN_OFFSET, REC_HEADER_LEN), (32, 40, 48));
        assert_eq!((SEG_DB_ID_OFFSET, SEG_NO_OFFSET, SEG_START_OFFSET, SEG_SIZE_OFFSET), (16, 24, 32, 40));
        assert_eq!(&REC_MAGIC.to_le_bytes(), b"WREC");
    }

    #[test]
    fn golden_record_encoding() {
        let mut out = Vec::new();
        let crc = encode_record(&mut out, &fields(b"hi"));
        let expected: Vec<u8> = [
            &b"WREC"[..],
            &crc.to_le_bytes(),
            &[0, 0x10, 0, 0, 0, 0, 0, 0],
            &[0, 0x08, 0, 0, 0, 0, 0, 0],
            &[0xDD, 0xCC, 0xBB, 0xAA],
            &[4, 0, 0, 0],
            &[7, 0, 0, 0, 0, 0, 0, 0],
            &[2, 0, 0, 0, 0, 0, 0, 0],
            b"hi",
        ]
        .concat();
        assert_eq!(out, expected);
        assert_eq!(crc, 0x51bb_543f, "pinned CRC of the golden record");
        let r = decode_record(&out, Lsn(0x1000)).expect("valid");
        assert_eq!((r.kind, r.txid, r.payload.as_slice(), r.crc), (RecordType::Commit, TxnId(7), &b"hi"[..], crc));
        assert_eq!(r.end(), Lsn(0x1000 + 56), "48 + 2 rounded up to 8");
    }

    #[test]
    fn golden_segment_header() {
        let h = SegmentHeader { db_id: DbId(0x11), segment_no: 2, start_lsn: Lsn(0x4000), segment_size: 16384 };
        let b = h.encode();
        assert_eq!(&b[..8], b"WALDBSEG");
        assert_eq!(b[16], 0x11);
        assert_eq!(b[24], 2);
        assert_eq!(b[32..34], [0, 0x40]);
        assert_eq!(b[40..42], [0, 0x40]);
        assert!(b[64..].iter().all(|&x| x == 0));
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        assert_eq!(h.end_lsn(), Lsn(0x4000 + 12288));
    }

    #[test]
    fn every_bit_flip_of_a_record_is_rejected() {
        let mut out = Vec::new();
        encode_record(&mut out, &fields(b"payload bytes"));
        for bit in 0..out.len() * 8 {
            let mut b = out.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_record(&b, Lsn(0x1000)).is_err(), "flip of bit {bit} accepted");
        }
    }

    #[test]
    fn every_bit_flip_of_a_segment_header_is_rejected() {
        let h = SegmentHeader { db_id: DbId(5), segment_no: 1, start_lsn: Lsn(4096), segment_size: 1 << 24 };
        let b = h.encode();
        for bit in 0..SEG_HEADER_LEN * 8 {
            let mut x = b.clone();
            x[bit / 8] ^= 1 << (bit % 8);
            assert!(SegmentHeader::decode(&x).is_err(), "flip of bit {bit} accepted");
        }
    }

    #[test]
    fn stale_and_oversized_records_are_rejected_before_allocation() {
        let mut out = Vec::new();
        encode_record(&mut out, &fields(b"x"));
        assert!(matches!(decode_record(&out, Lsn(0x2000)), Err(Invalid::Bad(r)) if r.contains("stale")));
        let mut huge = out.clone();
        put_u32(&mut huge, REC_LEN_OFFSET, u32::MAX);
        assert!(matches!(decode_record(&huge, Lsn(0x1000)), Err(Invalid::Bad(r)) if r.contains("length")));
        assert_eq!(decode_record(&[0u8; 64], Lsn(0x1000)), Err(Invalid::Zero));
        assert_eq!(decode_record(&[0u8; 10], Lsn(0x1000)), Err(Invalid::Zero));
    }

    #[test]
    fn sizes_are_validated() {
        assert!(validate_segment_size(16 << 20).is_ok());
        assert!(validate_segment_size(16384).is_ok());
        assert!(validate_segment_size(12288).is_err());
        assert!(validate_segment_size(16385).is_err());
        assert_eq!(max_payload(16384), 12288 - 48);
        assert_eq!(max_payload(16 << 20), MAX_PAYLOAD);
    }
}
