//! The log writer: append, group commit, fail stop, and segments prepared
//! ahead of need.
//!
//! # Life of a commit
//!
//! 1. [`Wal::append`] encodes the record into the in-memory buffer at the
//!    next LSN (chained to the previous record's CRC, carrying the durable LSN
//!    known now) and returns its LSN. No I/O — unless the record needs a
//!    segment that is not ready yet (then it is prepared first, and ENOSPC
//!    fails the append with [`Error::DiskFull`] before anything is logged).
//! 2. [`Wal::flush_to`]: the first waiter whose record is not durable becomes
//!    the **leader**. It waits for the committers in flight (below), then
//!    takes everything appended so far, pads it with zeros to the next 4 KiB
//!    boundary (`docs/DESIGN.md` invariant 9), writes it, calls `fdatasync`
//!    once per segment touched, advances the durable LSN and wakes the
//!    waiters that flush covered — and one waiter whose record arrived
//!    during the flush, to lead the next one. The others sleep on.
//! 3. Nobody returns from `flush_to` before the sync covering their record
//!    returned `Ok` (`docs/DESIGN.md` invariant 2).
//!
//! # Who a flush waits for (`gather.rs`)
//!
//! A leader that flushes at once, with whatever is appended, splits N
//! concurrent committers into two halves that take turns: the committers a
//! flush releases compose their next commits while the next flush is
//! already under way without them, so each flush carries about N/2
//! commits. A leader that waits a fixed time for more (tried until 2026-11)
//! waits blindly and did not pay. So the leader waits only for committers
//! it knows are coming: those in flight, meaning in a write transaction or
//! queued on the writer lock (the engine holds a [`CommitIntent`] from
//! before it queues until its `COMMIT` is appended), or released by the
//! last flush and not back yet (most return at once with their next
//! commit). It stops waiting when the last of them has appended, or at a
//! bound of half the median time of the last 16 flushes, whichever comes
//! first; with nobody in flight it does not wait at all, so a lone
//! committer keeps the latency of one flush. A committer that arrives
//! during a gather joins that flush or, if it appends after the leader took
//! the buffer, the next one — never later. `commit_delay`, when set,
//! replaces the gather by a fixed wait, as PostgreSQL's does.
//!
//! Measured on a 2-core VM (ext4 on virtio, fdatasync of a 4 KiB overwrite
//! about 120–250 µs), autocommit single-row inserts from clones of one
//! handle (`examples/commit_load.rs`), before → after: 8 committers
//! 4.0 → 7.6–7.9 commits per fsync, 16 committers 7.5 → 12.2 (a quarter of
//! the median flush as bound) and 15.2 (half). Full side-by-side figures are
//! in the README (`benches/compare`, W2).
//!
//! # The durable LSN a flush carries (`docs/DESIGN.md` invariant 8)
//!
//! Every record carries the durable LSN known when it was appended. Under
//! pipelined group commit most records of flush N+1 are appended while
//! flush N is in flight, so they would only name the end of flush N-1, and
//! bit rot in an acknowledged flush N would read as a torn tail until a
//! flush N+2 existed. So the leader, when it takes the buffer, rewrites the
//! `durable_lsn` of the buffer's last record (and its CRC, and the chain
//! from it) to the durable LSN of that moment — the end of flush N. Flush
//! N+1 thus proves flush N durable, and the window in which damage reads as
//! a torn tail is the last flush alone (`docs/TESTING.md` §5.4). Write-behind never
//! writes out the block holding the last record, so it is still in memory
//! to be stamped.
//!
//! # Fail stop (`docs/DESIGN.md` invariant 7)
//!
//! A failed write or `fdatasync` poisons the log: that batch's waiters and
//! every later call get [`Error::Poisoned`]; nothing is acknowledged, and no
//! later sync is trusted to repair it. Preparing a segment is different: its
//! failure (ENOSPC above all) fails the append that needed it and leaves the
//! log usable, because nothing was written under the segment's name yet.
//!
//! # Large transactions
//!
//! When the buffer grows past `write_behind` bytes, the appender writes its
//! whole 4 KiB blocks without syncing, so a huge transaction does not hold
//! its whole log in memory; the next flush syncs them.
//!
//! # Durability modes
//!
//! [`Durability::Full`] (default): a commit waits for its flush.
//! [`Durability::Normal`]: commits do not wait; a background thread flushes
//! every `interval`, so power loss can lose the last moments of commits —
//! never the default. [`Durability::Off`]: nothing flushes but checkpoints
//! and close (tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::{Error, Poison, Result};
use crate::ids::{DbId, Lsn, TxnId};
use crate::io::{Vfs, parent_dir};

use super::format::{
    FIRST_LSN, FLUSH_ALIGN, REC_HEADER_LEN, RECORD_ALIGN, RecordFields, RecordType, SEGMENT_HEADER_BLOCK,
    SegmentHeader, align_up, encode_record, max_payload, record_len, restamp_durable, validate_segment_size,
};
use super::gather::{CommitIntent, FlushTimes, Gather};
use super::reader::LogEnd;
use super::segment::{self, Segment};

/// When a commit may return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Every commit waits for the fsync that covers it (the default).
    Full,
    /// Commits return at once; the log is flushed every `interval`. Power
    /// loss can lose the commits of the last interval.
    Normal {
        /// Time between background flushes.
        interval: Duration,
    },
    /// Only checkpoints and close flush the log (tests).
    Off,
}

/// Settings of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// Size of each segment file in bytes (a multiple of 4 KiB). Fixed when
    /// the log is created; an existing log keeps its own.
    pub segment_size: u64,
    /// Segments kept prepared beyond the one being written.
    pub spare_segments: usize,
    /// How long a flush leader waits for more committers before writing.
    pub commit_delay: Duration,
    /// When commits return.
    pub durability: Durability,
    /// Prepare segments on a background thread (`false`: inline, which keeps
    /// I/O deterministic for the crash simulations).
    pub background: bool,
    /// Buffered bytes past which whole blocks are written without a sync.
    pub write_behind: usize,
    /// Released segments kept for recycling; more are removed.
    pub recycle_limit: usize,
}

impl Default for WalOptions {
    fn default() -> WalOptions {
        WalOptions {
            segment_size: 16 << 20,
            spare_segments: 1,
            commit_delay: Duration::ZERO,
            durability: Durability::Full,
            background: true,
            write_behind: 4 << 20,
            recycle_limit: 16,
        }
    }
}

/// Counters of the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records appended.
    pub appends: u64,
    /// COMMIT records appended.
    pub commits: u64,
    /// Group flushes completed.
    pub flushes: u64,
    /// `fdatasync` calls on segments.
    pub syncs: u64,
    /// Bytes written to segments, padding included.
    pub bytes_written: u64,
    /// Zero bytes written to pad flushes to 4 KiB.
    pub padding_bytes: u64,
    /// Total time in `fdatasync`, microseconds.
    pub fsync_micros: u64,
    /// Longest single `fdatasync`, microseconds.
    pub fsync_max_micros: u64,
    /// Flushes whose leader waited for committers in flight (module doc:
    /// who a flush waits for).
    pub gathers: u64,
    /// Total time leaders spent waiting for committers in flight,
    /// microseconds.
    pub gather_micros: u64,
    /// `commits_per_flush[i]`: flushes that carried between 2^i and
    /// 2^(i+1)-1 commits (index 0 also counts flushes with none).
    pub commits_per_flush: [u64; 16],
    /// Segments created from scratch.
    pub segments_created: u64,
    /// Segments recycled.
    pub segments_recycled: u64,
    /// End of the durable log.
    pub durable_lsn: Lsn,
    /// Where the next record goes.
    pub next_lsn: Lsn,
}

#[derive(Debug)]
struct State {
    next_lsn: Lsn,
    last_lsn: Option<Lsn>,
    buf: Vec<u8>,
    buf_start: Lsn,
    unsynced_from: Option<Lsn>,
    last_crc: u32,
    durable: Lsn,
    io_busy: bool,
    /// Flushes started; while `io_busy`, the number of the one under way.
    flush_gen: u64,
    /// While `io_busy`: records starting below this are covered by the I/O
    /// under way (`Lsn(u64::MAX)` while its leader gathers: everything
    /// appended before it takes the buffer; zero for a write-behind, which
    /// makes nothing durable).
    covers: Lsn,
    flush_times: FlushTimes,
    poisoned: Option<Poison>,
    commits_in_buf: u64,
}

impl State {
    fn check(&self) -> Result<()> {
        match &self.poisoned {
            Some(p) => Err(p.error()),
            None => Ok(()),
        }
    }

    /// Stamp the buffer's last record with the durable LSN of now (module
    /// doc: the durable LSN a flush carries). The chain continues from its
    /// new CRC.
    fn stamp_last_record(&mut self) {
        let Some(last) = self.last_lsn else { return };
        let Some(at) = last.0.checked_sub(self.buf_start.0) else { return };
        let durable = self.durable;
        if let Some(rec) = self.buf.get_mut(at as usize..)
            && rec.len() >= REC_HEADER_LEN
        {
            self.last_crc = restamp_durable(rec, durable);
        }
    }

    /// Encode a record at `lsn` (at or after the buffer's end; the gap is
    /// zeros) and chain it.
    fn encode(&mut self, lsn: Lsn, kind: RecordType, txid: TxnId, payload: &[u8]) {
        let at = (lsn.0 - self.buf_start.0) as usize;
        debug_assert!(self.buf.len() <= at, "records are appended in order");
        self.buf.resize(at, 0);
        let fields = RecordFields { lsn, durable_lsn: self.durable, prev_crc: self.last_crc, kind, txid, payload };
        self.last_crc = encode_record(&mut self.buf, &fields);
        self.last_lsn = Some(lsn);
        self.next_lsn = Lsn(align_up(lsn.0 + record_len(payload.len()), RECORD_ALIGN));
    }
}

#[derive(Debug, Default)]
struct Segs {
    /// Where preparation starts when no segment is active yet.
    base: Lsn,
    active: BTreeMap<Lsn, Segment>,
    recyclable: Vec<Segment>,
    next_no: u64,
    want_through: Lsn,
    failed_at: Option<Lsn>,
}

#[derive(Debug, Default)]
struct Counters {
    appends: AtomicU64,
    commits: AtomicU64,
    flushes: AtomicU64,
    syncs: AtomicU64,
    bytes_written: AtomicU64,
    padding_bytes: AtomicU64,
    fsync_micros: AtomicU64,
    fsync_max_micros: AtomicU64,
    gathers: AtomicU64,
    gather_micros: AtomicU64,
    commits_per_flush: [AtomicU64; 16],
    segments_created: AtomicU64,
    segments_recycled: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    vfs: Arc<dyn Vfs>,
    db_path: PathBuf,
    db_id: DbId,
    opts: WalOptions,
    seg_size: u64,
    /// A read-only open's log: no file is ever written, synced or prepared.
    read_only: bool,
    state: Mutex<State>,
    /// Waiters for flush number `g` wait on `flushed[g % 2]`: a flush wakes
    /// every waiter it covered and one waiter of the next flush, to lead it.
    flushed: [Condvar; 2],
    gather: Arc<Gather>,
    segs: Mutex<Segs>,
    segs_cv: Condvar,
    prep: Mutex<()>,
    stop: Mutex<bool>,
    stop_cv: Condvar,
    counters: Counters,
}

/// Test instrumentation: called on the appending thread before each record
/// is appended, with no lock of the log held, so it may flush the log — the
/// way the crash suites force a group flush into the gap between a
/// transaction's page records and its `COMMIT`.
pub type AppendHook = Arc<dyn Fn(&Wal, RecordType) + Send + Sync>;

/// The write-ahead log of one database.
pub struct Wal {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    hook: parking_lot::RwLock<Option<AppendHook>>,
    has_hook: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal").field("path", &self.shared.db_path).finish_non_exhaustive()
    }
}

impl Wal {
    /// Start a new, empty log for a new database: any segment files left at
    /// its path by an earlier database are removed, and the first segment and
    /// its spares are prepared.
    pub fn create(vfs: Arc<dyn Vfs>, db_path: &Path, db_id: DbId, opts: WalOptions) -> Result<Wal> {
        validate_segment_size(opts.segment_size).map_err(Error::InvalidInput)?;
        let mut stale = segment::list(vfs.as_ref(), db_path)?.into_iter().map(|(_, p)| p).collect::<Vec<_>>();
        stale.push(segment::tmp_path(db_path));
        let mut removed = false;
        for p in stale {
            match vfs.remove(&p) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &p, e)),
            }
        }
        if removed {
            let dir = parent_dir(db_path);
            vfs.sync_dir(&dir).map_err(|e| Error::io("fsync directory", &dir, e))?;
        }
        let end = LogEnd { end: FIRST_LSN, last_crc: 0, last_lsn: None };
        let seg_size = opts.segment_size;
        Wal::start(vfs, db_path, db_id, opts, seg_size, end, Segs::default(), false)
    }

    /// Continue an existing log after it was read to `end` by recovery.
    /// Segments wholly before `keep_from` (the redo point) become recyclable;
    /// the recovered bytes are synced, so everything before `end` is durable
    /// before anything new is written after it.
    pub fn open(
        vfs: Arc<dyn Vfs>,
        db_path: &Path,
        db_id: DbId,
        opts: WalOptions,
        end: LogEnd,
        keep_from: Lsn,
    ) -> Result<Wal> {
        validate_segment_size(opts.segment_size).map_err(Error::InvalidInput)?;
        let tmp = segment::tmp_path(db_path);
        if vfs.exists(&tmp).map_err(|e| Error::io("stat", &tmp, e))? {
            vfs.remove(&tmp).map_err(|e| Error::io("remove", &tmp, e))?;
        }
        let mut found = Vec::new();
        for (start, path) in segment::list(vfs.as_ref(), db_path)? {
            let (file, header) = segment::open(vfs.as_ref(), &path)?;
            found.push((start, path, file, header));
        }
        // The log keeps the segment size it was created with.
        let seg_size = found
            .iter()
            .rev()
            .find_map(|(s, _, _, h)| h.as_ref().ok().filter(|h| h.start_lsn == *s && h.start_lsn <= end.end))
            .map_or(opts.segment_size, |h| h.segment_size);
        let mut segs = Segs::default();
        let mut expected: Option<Lsn> = None;
        // The first segment in use holds the log's next LSN or comes before
        // it: one beyond a gap (a damaged or foreign file) is no part of the
        // log, and the writer, which finds segments by position, would
        // never reach it.
        let next_seg = seg_start_for(seg_size, Lsn(align_up(end.end.0, FLUSH_ALIGN)));
        for (start, path, file, header) in found {
            let good = header.ok().filter(|h| h.start_lsn == start && h.db_id == db_id && h.segment_size == seg_size);
            let Some(h) = good else {
                let data = seg_size - SEGMENT_HEADER_BLOCK;
                if start.0 + data > keep_from.0 && start < end.end {
                    return Err(Error::CorruptLog {
                        segment: path,
                        offset: 0,
                        lsn: start,
                        reason: "segment header is damaged or foreign".into(),
                    });
                }
                // Not needed: wholly before the redo point (a recycle cut
                // short between its header write and its rename), or a torn
                // creation beyond the end of the log.
                vfs.remove(&path).map_err(|e| Error::io("remove", &path, e))?;
                continue;
            };
            segs.next_no = segs.next_no.max(h.segment_no + 1);
            let seg = Segment { header: h, path, file };
            if h.end_lsn() <= keep_from && h.end_lsn() <= end.end {
                segs.recyclable.push(seg);
            } else if expected.map_or(start <= next_seg, |e| e == start) {
                expected = Some(h.end_lsn());
                segs.active.insert(start, seg);
            } else {
                // Not contiguous with the segments in use: a leftover spare.
                segs.recyclable.push(seg);
            }
        }
        // Recovery read these bytes, perhaps from the page cache after a
        // process crash: make them durable before claiming they are.
        for seg in segs.active.values().filter(|s| s.header.start_lsn < end.end) {
            seg.file.sync_data().map_err(|e| Error::io("fsync", &seg.path, e))?;
        }
        let dir = parent_dir(db_path);
        vfs.sync_dir(&dir).map_err(|e| Error::io("fsync directory", &dir, e))?;
        Wal::start(vfs, db_path, db_id, opts, seg_size, end, segs, false)
    }

    /// The log of a read-only open, standing where recovery's read of it
    /// ended. It touches no file: no segment is prepared, no thread started,
    /// nothing synced or removed; [`Wal::append`] fails with
    /// [`Error::ReadOnly`], and [`Wal::flush_to`] of anything recovery read
    /// returns at once.
    pub fn read_only(vfs: Arc<dyn Vfs>, db_path: &Path, db_id: DbId, seg_size: u64, end: LogEnd) -> Result<Wal> {
        validate_segment_size(seg_size).map_err(Error::InvalidInput)?;
        let opts = WalOptions { segment_size: seg_size, background: false, ..WalOptions::default() };
        Wal::start(vfs, db_path, db_id, opts, seg_size, end, Segs::default(), true)
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        vfs: Arc<dyn Vfs>,
        db_path: &Path,
        db_id: DbId,
        opts: WalOptions,
        seg_size: u64,
        end: LogEnd,
        mut segs: Segs,
        read_only: bool,
    ) -> Result<Wal> {
        let next = Lsn(align_up(end.end.0, FLUSH_ALIGN));
        segs.base = seg_start_for(seg_size, next);
        let shared = Arc::new(Shared {
            vfs,
            db_path: db_path.to_path_buf(),
            db_id,
            opts,
            seg_size,
            read_only,
            state: Mutex::new(State {
                next_lsn: next,
                last_lsn: end.last_lsn,
                buf: Vec::new(),
                buf_start: next,
                unsynced_from: None,
                last_crc: end.last_crc,
                durable: end.end,
                io_busy: false,
                flush_gen: 0,
                covers: Lsn::ZERO,
                flush_times: FlushTimes::default(),
                poisoned: None,
                commits_in_buf: 0,
            }),
            flushed: [Condvar::new(), Condvar::new()],
            gather: Arc::new(Gather::default()),
            segs: Mutex::new(segs),
            segs_cv: Condvar::new(),
            prep: Mutex::new(()),
            stop: Mutex::new(false),
            stop_cv: Condvar::new(),
            counters: Counters::default(),
        });
        // The segment the next record goes to, and its spares, exist before
        // the first commit.
        if !read_only {
            let first = shared.seg_start(next);
            shared.prepare_through(Lsn(first.0 + shared.data_size() * (1 + shared.opts.spare_segments as u64)))?;
        }
        let wal = Wal {
            shared,
            threads: Mutex::new(Vec::new()),
            hook: parking_lot::RwLock::new(None),
            has_hook: std::sync::atomic::AtomicBool::new(false),
        };
        if read_only {
            return Ok(wal);
        }
        if wal.shared.opts.background {
            let sh = wal.shared.clone();
            wal.threads.lock().push(spawn("waldb-wal-prepare", move || sh.preparer_loop())?);
        }
        if let Durability::Normal { interval } = wal.shared.opts.durability {
            let sh = wal.shared.clone();
            wal.threads.lock().push(spawn("waldb-wal-flush", move || sh.flusher_loop(interval))?);
        }
        Ok(wal)
    }

    /// Append a record and return its LSN. The record is durable only after
    /// [`Wal::flush_to`] with this LSN returns `Ok`.
    pub fn append(&self, kind: RecordType, txid: TxnId, payload: &[u8]) -> Result<Lsn> {
        if self.has_hook.load(Ordering::Acquire) {
            let hook = self.hook.read().clone();
            if let Some(h) = hook {
                h(self, kind);
            }
        }
        let sh = &self.shared;
        if sh.read_only {
            return Err(Error::ReadOnly(format!("cannot append to the log of {}", sh.db_path.display())));
        }
        let limit = max_payload(sh.seg_size);
        if payload.len() > limit {
            return Err(Error::TooBig { what: "log record payload", size: payload.len(), limit });
        }
        let len = record_len(payload.len());
        loop {
            let mut st = sh.state.lock();
            st.check()?;
            let lsn = st.next_lsn;
            let seg_end = Lsn(sh.seg_start(lsn).0 + sh.data_size());
            let switch = lsn.0 + len > seg_end.0;
            let at = if switch { seg_end } else { lsn };
            let target_seg = sh.seg_start(at);
            if !sh.segs.lock().active.contains_key(&target_seg) {
                drop(st);
                // Prepare the missing segment before logging anything into
                // it: a full disk fails this append, not a later flush.
                sh.prepare_through(Lsn(target_seg.0 + sh.data_size()))?;
                if !sh.segs.lock().active.contains_key(&target_seg) {
                    // Never loop: segments in use that leave a gap before
                    // this LSN cannot be extended to reach it.
                    return Err(Error::CorruptLog {
                        segment: segment::segment_path(&sh.db_path, target_seg),
                        offset: 0,
                        lsn: target_seg,
                        reason: "no segment can be prepared here: the segments in use leave a gap".into(),
                    });
                }
                continue;
            }
            if switch {
                if seg_end.0 - lsn.0 >= REC_HEADER_LEN as u64 {
                    st.encode(lsn, RecordType::SegmentSwitch, TxnId(0), &[]);
                }
                let pad = (seg_end.0 - st.buf_start.0) as usize;
                st.buf.resize(pad, 0);
                st.next_lsn = seg_end;
            }
            st.encode(at, kind, txid, payload);
            sh.counters.appends.fetch_add(1, Ordering::Relaxed);
            if kind == RecordType::Commit {
                st.commits_in_buf += 1;
                sh.counters.commits.fetch_add(1, Ordering::Relaxed);
            }
            if st.buf.len() >= sh.opts.write_behind && !st.io_busy {
                sh.write_behind(&mut st)?;
            }
            drop(st);
            if at == target_seg || switch {
                sh.request_spares(target_seg);
            }
            return Ok(at);
        }
    }

    /// Announce a commit in the making: from now until the intent is
    /// dropped (once its `COMMIT` is appended, or the transaction gives up),
    /// a flush leader may wait for it to join its batch (module doc: who a
    /// flush waits for). Take it before queueing for the writer lock.
    pub fn announce_commit(&self) -> CommitIntent {
        CommitIntent::new(&self.shared.gather)
    }

    /// Install (or remove) the test hook called before every append.
    #[doc(hidden)]
    pub fn set_append_hook(&self, hook: Option<AppendHook>) {
        self.has_hook.store(hook.is_some(), Ordering::Release);
        *self.hook.write() = hook;
    }

    /// Block until the record at `lsn` is durable (group commit; see the
    /// module doc).
    pub fn flush_to(&self, lsn: Lsn) -> Result<()> {
        self.shared.flush_to(lsn)
    }

    /// Make every appended record durable.
    pub fn flush_all(&self) -> Result<()> {
        let last = self.shared.state.lock().last_lsn;
        match last {
            Some(l) => self.flush_to(l),
            None => Ok(()),
        }
    }

    /// What a commit whose record is at `lsn` waits for, by durability mode.
    pub fn commit(&self, lsn: Lsn) -> Result<()> {
        match self.shared.opts.durability {
            Durability::Full => self.shared.flush_to(lsn),
            Durability::Normal { .. } | Durability::Off => self.shared.state.lock().check(),
        }
    }

    /// End of the durable log: records starting below it are durable.
    pub fn durable_lsn(&self) -> Lsn {
        self.shared.state.lock().durable
    }

    /// Where the next record will go (at or after this LSN).
    pub fn next_lsn(&self) -> Lsn {
        self.shared.state.lock().next_lsn
    }

    /// Why the log is poisoned, if it is.
    pub fn poisoned(&self) -> Option<String> {
        self.shared.state.lock().poisoned.as_ref().map(|p| p.reason().to_string())
    }

    /// The log's poison latch (reason and OS error), if it is poisoned.
    pub fn poison(&self) -> Option<Poison> {
        self.shared.state.lock().poisoned.clone()
    }

    /// The size of each segment file.
    pub fn segment_size(&self) -> u64 {
        self.shared.seg_size
    }

    /// Segments holding log data or prepared for it, by start LSN.
    pub fn segments(&self) -> Vec<(Lsn, PathBuf)> {
        self.shared.segs.lock().active.values().map(|s| (s.header.start_lsn, s.path.clone())).collect()
    }

    /// Release segments wholly before `lsn` (a completed checkpoint's redo
    /// point): up to `recycle_limit` are kept for recycling, the rest
    /// removed (with a directory fsync).
    pub fn truncate_before(&self, lsn: Lsn) -> Result<()> {
        let sh = &self.shared;
        let current = sh.seg_start(sh.state.lock().next_lsn);
        let removed: Vec<Segment> = {
            let mut segs = sh.segs.lock();
            let old: Vec<Lsn> = segs
                .active
                .iter()
                .filter(|(start, s)| s.header.end_lsn() <= lsn && **start < current)
                .map(|(start, _)| *start)
                .collect();
            for start in old {
                if let Some(seg) = segs.active.remove(&start) {
                    segs.recyclable.push(seg);
                }
            }
            let keep = sh.opts.recycle_limit.max(sh.opts.spare_segments + 1);
            let excess = segs.recyclable.len().saturating_sub(keep);
            segs.recyclable.drain(..excess).collect()
        };
        for seg in &removed {
            segment::remove(sh.vfs.as_ref(), &sh.db_path, seg)?;
        }
        sh.request_spares(current);
        Ok(())
    }

    /// Counters.
    pub fn stats(&self) -> WalStats {
        let c = &self.shared.counters;
        let (durable_lsn, next_lsn) = {
            let st = self.shared.state.lock();
            (st.durable, st.next_lsn)
        };
        let mut commits_per_flush = [0u64; 16];
        for (dst, src) in commits_per_flush.iter_mut().zip(&c.commits_per_flush) {
            *dst = src.load(Ordering::Relaxed);
        }
        WalStats {
            appends: c.appends.load(Ordering::Relaxed),
            commits: c.commits.load(Ordering::Relaxed),
            flushes: c.flushes.load(Ordering::Relaxed),
            syncs: c.syncs.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
            padding_bytes: c.padding_bytes.load(Ordering::Relaxed),
            fsync_micros: c.fsync_micros.load(Ordering::Relaxed),
            fsync_max_micros: c.fsync_max_micros.load(Ordering::Relaxed),
            gathers: c.gathers.load(Ordering::Relaxed),
            gather_micros: c.gather_micros.load(Ordering::Relaxed),
            commits_per_flush,
            segments_created: c.segments_created.load(Ordering::Relaxed),
            segments_recycled: c.segments_recycled.load(Ordering::Relaxed),
            durable_lsn,
            next_lsn,
        }
    }

    /// Flush everything and stop the background threads.
    pub fn close(self) -> Result<()> {
        let r = self.flush_all();
        self.stop_threads();
        r
    }

    fn stop_threads(&self) {
        *self.shared.stop.lock() = true;
        self.shared.stop_cv.notify_all();
        {
            // Under the lock the preparer checks `stop` with, so the wakeup
            // cannot slip between its check and its wait.
            let _segs = self.shared.segs.lock();
            self.shared.segs_cv.notify_all();
        }
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// Start LSN of the segment holding `lsn`, for segments of `seg_size` bytes.
fn seg_start_for(seg_size: u64, lsn: Lsn) -> Lsn {
    let data = seg_size - SEGMENT_HEADER_BLOCK;
    Lsn(FIRST_LSN.0 + (lsn.0.saturating_sub(FIRST_LSN.0) / data) * data)
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| Error::io("spawn thread", PathBuf::from(name), e))
}

impl Shared {
    fn data_size(&self) -> u64 {
        self.seg_size - SEGMENT_HEADER_BLOCK
    }

    /// Start LSN of the segment holding `lsn`.
    fn seg_start(&self, lsn: Lsn) -> Lsn {
        seg_start_for(self.seg_size, lsn)
    }

    fn flush_to(&self, target: Lsn) -> Result<()> {
        let mut st = self.state.lock();
        loop {
            if st.durable > target {
                return Ok(());
            }
            st.check()?;
            if target >= st.next_lsn {
                return Err(crate::errinput!("cannot flush to {target:?}: the log ends at {:?}", st.next_lsn));
            }
            if st.io_busy {
                // Wait for the I/O under way if it covers the record, else
                // for the next flush (whose leader is woken when this ends).
                let flush = if target < st.covers { st.flush_gen } else { st.flush_gen + 1 };
                self.flushed[(flush % 2) as usize].wait(&mut st);
                continue;
            }
            self.lead_flush(&mut st);
        }
    }

    /// One group flush, as leader. The outcome is left in the state
    /// (durable LSN advanced, or poisoned) for every waiter to see.
    fn lead_flush(&self, st: &mut MutexGuard<'_, State>) {
        st.io_busy = true;
        st.flush_gen += 1;
        let flush = st.flush_gen;
        st.covers = Lsn(u64::MAX);
        let full = self.opts.durability == Durability::Full;
        if !self.opts.commit_delay.is_zero() {
            let delay = self.opts.commit_delay;
            MutexGuard::unlocked(st, || std::thread::sleep(delay));
        } else if full {
            let bound = st.flush_times.gather_bound();
            let waited = MutexGuard::unlocked(st, || self.gather.wait(bound));
            if !waited.is_zero() {
                self.counters.gathers.fetch_add(1, Ordering::Relaxed);
                self.counters.gather_micros.fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
            }
        }
        st.stamp_last_record();
        let end = st.next_lsn;
        let start = st.buf_start;
        let padded_end = Lsn(align_up(end.0, FLUSH_ALIGN));
        let mut data = std::mem::take(&mut st.buf);
        let padding = (padded_end.0 - start.0) as usize - data.len();
        data.resize((padded_end.0 - start.0) as usize, 0);
        st.buf_start = padded_end;
        st.next_lsn = padded_end;
        let sync_from = st.unsynced_from.take().map_or(start, |u| u.min(start));
        let commits = std::mem::take(&mut st.commits_in_buf);
        st.covers = end;
        let t0 = Instant::now();
        let res = MutexGuard::unlocked(st, || {
            self.write_out(start, &data)?;
            self.sync_range(sync_from, padded_end)
        });
        st.io_busy = false;
        match res {
            Ok(()) => {
                st.durable = end;
                st.flush_times.record(t0.elapsed());
                if full {
                    // Its committers return now, most with a next commit.
                    self.gather.released(commits);
                }
                let c = &self.counters;
                c.flushes.fetch_add(1, Ordering::Relaxed);
                c.padding_bytes.fetch_add(padding as u64, Ordering::Relaxed);
                let bucket = (64 - commits.leading_zeros()).saturating_sub(1).min(15) as usize;
                c.commits_per_flush[bucket].fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                st.poisoned.get_or_insert_with(|| Poison::from_error(format!("WAL flush failed: {e}"), e));
                self.flushed[((flush + 1) % 2) as usize].notify_all();
            }
        }
        self.flushed[(flush % 2) as usize].notify_all();
        self.flushed[((flush + 1) % 2) as usize].notify_one();
    }

    /// Write the buffer's whole 4 KiB blocks without a sync (large
    /// transactions); the next flush syncs them.
    fn write_behind(&self, st: &mut MutexGuard<'_, State>) -> Result<()> {
        // Keep the block holding the last record: the flush stamps it.
        let last_at = st.last_lsn.map_or(0, |l| l.0.saturating_sub(st.buf_start.0) as usize);
        let n = st.buf.len().min(last_at) / FLUSH_ALIGN as usize * FLUSH_ALIGN as usize;
        if n == 0 {
            return Ok(());
        }
        let start = st.buf_start;
        let data: Vec<u8> = st.buf.drain(..n).collect();
        st.buf_start = Lsn(start.0 + n as u64);
        st.unsynced_from.get_or_insert(start);
        st.io_busy = true;
        st.covers = Lsn::ZERO;
        let res = MutexGuard::unlocked(st, || self.write_out(start, &data));
        st.io_busy = false;
        let res = res.map_err(|e| {
            st.poisoned.get_or_insert_with(|| Poison::from_error(format!("WAL write failed: {e}"), e)).error()
        });
        // It covered nobody: every waiter (of the next flush) looks again.
        for cv in &self.flushed {
            cv.notify_all();
        }
        res
    }

    fn segment_file(&self, start: Lsn) -> Result<Segment> {
        self.segs.lock().active.get(&start).cloned().ok_or_else(|| Error::CorruptLog {
            segment: segment::segment_path(&self.db_path, start),
            offset: 0,
            lsn: start,
            reason: "segment to write is not prepared".into(),
        })
    }

    /// Write `data` at LSN `start`, split at segment boundaries.
    fn write_out(&self, start: Lsn, data: &[u8]) -> Result<()> {
        let mut at = 0usize;
        while at < data.len() {
            let lsn = Lsn(start.0 + at as u64);
            let seg_start = self.seg_start(lsn);
            let room = (seg_start.0 + self.data_size() - lsn.0) as usize;
            let n = room.min(data.len() - at);
            let seg = self.segment_file(seg_start)?;
            let off = lsn.0 - seg_start.0 + SEGMENT_HEADER_BLOCK;
            seg.file.write_all_at(&data[at..at + n], off).map_err(|e| Error::io("write", &seg.path, e))?;
            self.counters.bytes_written.fetch_add(n as u64, Ordering::Relaxed);
            at += n;
        }
        Ok(())
    }

    /// `fdatasync` every segment holding bytes in `[from, to)`.
    fn sync_range(&self, from: Lsn, to: Lsn) -> Result<()> {
        let mut s = self.seg_start(from);
        while s < to {
            let seg = self.segment_file(s)?;
            let t0 = Instant::now();
            seg.file.sync_data().map_err(|e| Error::io("fsync", &seg.path, e))?;
            let us = t0.elapsed().as_micros() as u64;
            self.counters.syncs.fetch_add(1, Ordering::Relaxed);
            self.counters.fsync_micros.fetch_add(us, Ordering::Relaxed);
            self.counters.fsync_max_micros.fetch_max(us, Ordering::Relaxed);
            s = Lsn(s.0 + self.data_size());
        }
        Ok(())
    }

    /// Make sure segments exist for every start LSN below `want`, recycling
    /// released segments before creating new ones.
    fn prepare_through(&self, want: Lsn) -> Result<()> {
        let _one_at_a_time = self.prep.lock();
        loop {
            let (start, no, old) = {
                let mut segs = self.segs.lock();
                let start = segs.active.last_key_value().map_or(segs.base, |(_, s)| s.header.end_lsn());
                if start >= want {
                    return Ok(());
                }
                let old = segs.recyclable.pop();
                (start, segs.next_no, old)
            };
            let header =
                SegmentHeader { db_id: self.db_id, segment_no: no, start_lsn: start, segment_size: self.seg_size };
            let recycled = old.is_some();
            let seg = match old {
                Some(old) => segment::recycle(self.vfs.as_ref(), &self.db_path, old, header)?,
                None => segment::create(self.vfs.as_ref(), &self.db_path, header)?,
            };
            let counter = if recycled { &self.counters.segments_recycled } else { &self.counters.segments_created };
            counter.fetch_add(1, Ordering::Relaxed);
            let mut segs = self.segs.lock();
            segs.next_no = no + 1;
            segs.active.insert(start, seg);
            self.segs_cv.notify_all();
        }
    }

    /// Ask for spares beyond the segment starting at `current`.
    fn request_spares(&self, current: Lsn) {
        let want = Lsn(current.0 + self.data_size() * (1 + self.opts.spare_segments as u64));
        if self.opts.background {
            let mut segs = self.segs.lock();
            if want > segs.want_through {
                segs.want_through = want;
                self.segs_cv.notify_all();
            }
        } else {
            // Inline preparation; a failure here is retried, and reported,
            // by the append that actually needs the segment.
            let _ = self.prepare_through(want);
        }
    }

    fn stopped(&self) -> bool {
        *self.stop.lock()
    }

    fn preparer_loop(&self) {
        loop {
            let want = {
                let mut segs = self.segs.lock();
                loop {
                    if self.stopped() {
                        return;
                    }
                    let prepared = segs.active.last_key_value().map(|(_, s)| s.header.end_lsn());
                    let needed = prepared.is_some_and(|p| p < segs.want_through);
                    if needed && segs.failed_at != Some(segs.want_through) {
                        break segs.want_through;
                    }
                    self.segs_cv.wait(&mut segs);
                }
            };
            if self.prepare_through(want).is_err() {
                // Do not spin on a full disk: wait for a new request. The
                // append that needs the segment reports the error.
                self.segs.lock().failed_at = Some(want);
            }
        }
    }

    fn flusher_loop(&self, interval: Duration) {
        loop {
            {
                let mut stop = self.stop.lock();
                if *stop {
                    return;
                }
                self.stop_cv.wait_for(&mut stop, interval);
                if *stop {
                    return;
                }
            }
            let last = {
                let st = self.state.lock();
                st.last_lsn.filter(|l| *l >= st.durable && st.poisoned.is_none())
            };
            if let Some(l) = last {
                let _ = self.flush_to(l);
            }
        }
    }
}
