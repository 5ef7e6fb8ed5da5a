//! waldb's own dot-commands — `.wal`, `.wal dump`, `.checkpoint`,
//! `.durability`, `.page N`, `.recovery` — and the offline `waldb wal dump`.
//!
//! The dot-commands read an open [`Database`] through its public inspection
//! API (`Database::wal_info`, `page_image`, `stats`, `recovery_report`,
//! `checkpoint`). `.page` and `.checkpoint` refuse while the shell's handle
//! has a transaction open: both would wait for that transaction forever.
//!
//! `waldb wal dump FILE` is offline and read-only: it goes through
//! [`ReadOnlyVfs`] over [`OsVfs`], so no file can be created, written,
//! renamed or removed; it runs no recovery and takes **no lock** (a lock
//! would need write access, and would make the dump fail while a process has
//! the database open). If a process is writing the database meanwhile, the
//! last flush may be in flight and then shows as a torn tail.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use waldb::inspect::{LogReader, RecordBody, RecordType, read_control, wal_segments};
use waldb::storage::btree::node;
use waldb::storage::header;
use waldb::storage::page::{self, PageType};
use waldb::vfs::{OsVfs, ReadOnlyVfs, Vfs};
use waldb::{Database, Durability, Lsn, PageId, TxnId};

/// `(usage, description)` of each dot-command this module handles, for `.help`.
pub const DOT_HELP: &[(&str, &str)] = &[
    (".wal", "WAL segments, first/redo/durable/next LSN, size on disk, last checkpoint"),
    (".wal dump [--from LSN] [--txn ID] [--limit N]", "Decoded WAL records (LSN, txid, type, page, length, CRC)"),
    (".checkpoint", "Run a checkpoint; show pages flushed and segments released"),
    (".durability", "Durability mode, commits, flushes, commits per flush, fsync latency"),
    (".page N", "Page N's header, LSN beside the durable LSN, slots/cells and free space"),
    (".recovery", "What recovery did when this database was opened"),
];

/// Run one of waldb's own dot-commands. `name` is without the dot (`"wal"`);
/// `args` are the words after it. `None` when `name` is not one of them.
pub fn dot_command(db: &Database, name: &str, args: &[&str], out: &mut dyn Write) -> Option<Result<(), String>> {
    let r = match name {
        "wal" => match args.first() {
            None => wal(db, out),
            Some(&"dump") => DumpFilter::parse(&args[1..]).and_then(|f| wal_dump_online(db, &f, out)),
            Some(other) => Err(format!(
                "unknown .wal subcommand {other:?}; usage: .wal | .wal dump [--from LSN] [--txn ID] [--limit N]"
            )),
        },
        "checkpoint" => no_args(name, args).and_then(|()| checkpoint(db, out)),
        "durability" => no_args(name, args).and_then(|()| durability(db, out)),
        "recovery" => no_args(name, args).and_then(|()| recovery(db, out)),
        "page" => match args {
            [n] => n
                .parse::<u32>()
                .map_err(|_| format!("usage: .page N (a page number, not {n:?})"))
                .and_then(|n| page_cmd(db, n, out)),
            _ => Err("usage: .page N".into()),
        },
        _ => return None,
    };
    Some(r)
}

fn no_args(name: &str, args: &[&str]) -> Result<(), String> {
    if args.is_empty() { Ok(()) } else { Err(format!(".{name} takes no arguments")) }
}

fn w(e: std::io::Error) -> String {
    format!("write error: {e}")
}

fn idle(db: &Database, what: &str) -> Result<(), String> {
    if db.in_transaction() {
        Err(format!(".{what}: a transaction is open; COMMIT or ROLLBACK first (it would wait for itself)"))
    } else {
        Ok(())
    }
}

fn wal(db: &Database, out: &mut dyn Write) -> Result<(), String> {
    let info = db.wal_info().map_err(|e| e.to_string())?;
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(s, "WAL of {}", db.path().display());
    let _ = writeln!(
        s,
        "segments:       {} on disk, {} bytes each, {} bytes in all",
        info.segments.len(),
        info.segment_size,
        info.bytes_on_disk
    );
    for seg in &info.segments {
        let name = seg.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let state = if seg.in_use { "in use" } else { "kept for recycling" };
        let _ = writeln!(s, "  {name}  start LSN {:>12}  {:>10} bytes  {state}", seg.start_lsn.0, seg.bytes);
    }
    let first = info.segments.first().map_or_else(|| "-".to_string(), |s| s.start_lsn.to_string());
    let _ = writeln!(s, "first LSN:      {first} (oldest segment on disk)");
    let _ = writeln!(s, "redo LSN:       {} (recovery would start here)", info.control_redo_lsn);
    let _ = writeln!(s, "durable LSN:    {}", info.durable_lsn);
    let _ = writeln!(s, "next LSN:       {} (end of the log)", info.next_lsn);
    if info.checkpoint_lsn == Lsn::ZERO {
        let _ = writeln!(s, "last checkpoint: none yet");
    } else {
        let _ =
            writeln!(s, "last checkpoint: record at LSN {}, redo LSN {}", info.checkpoint_lsn, info.control_redo_lsn);
    }
    let threshold = info.checkpoint_threshold.map_or_else(|| "off".to_string(), |t| format!("every {t} bytes"));
    let _ = writeln!(s, "since redo:     {} bytes of log (automatic checkpoint: {threshold})", info.bytes_since_redo);
    if let Some(warning) = info.growth_warning() {
        let _ = writeln!(s, "WARNING: {warning}");
    }
    out.write_all(s.as_bytes()).map_err(w)
}

/// Filters of a dump.
#[derive(Debug, Default, Clone, Copy)]
struct DumpFilter {
    from: Option<u64>,
    txn: Option<u64>,
    limit: Option<usize>,
}

impl DumpFilter {
    fn parse(args: &[&str]) -> Result<DumpFilter, String> {
        let mut f = DumpFilter::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = |flag: &str| -> Result<u64, String> {
                let v = it.next().ok_or_else(|| format!("{flag} needs a number"))?;
                v.parse::<u64>().map_err(|_| format!("{flag}: {v:?} is not a number"))
            };
            match *a {
                "--from" => f.from = Some(val("--from")?),
                "--txn" => f.txn = Some(val("--txn")?),
                "--limit" => f.limit = Some(val("--limit")? as usize),
                other => {
                    return Err(format!(
                        "unknown option {other:?}; usage: .wal dump [--from LSN] [--txn ID] [--limit N]"
                    ));
                }
            }
        }
        Ok(f)
    }
}

fn wal_dump_online(db: &Database, f: &DumpFilter, out: &mut dyn Write) -> Result<(), String> {
    let ro = db.read_only_vfs();
    let reader = LogReader::open(&ro, db.path(), f.from.map(Lsn)).map_err(|e| e.to_string())?;
    dump(reader, f, out)
}

/// Print the records of `reader` (module doc), then a summary line.
fn dump(mut reader: LogReader<'_>, f: &DumpFilter, out: &mut dyn Write) -> Result<(), String> {
    let (from, redo) = (reader.start(), reader.control().redo_lsn);
    let page_size = reader.control().page_size;
    writeln!(out, "reading from LSN {from}; recovery starts at the redo LSN {redo}").map_err(w)?;
    writeln!(out, "{:>12}  {:>6}  {:<16} {:>6}  {:>6}  {:<12} detail", "LSN", "txid", "type", "page", "len", "crc")
        .map_err(w)?;
    let (mut shown, mut read, mut commits) = (0usize, 0u64, 0u64);
    let mut redo_marked = from >= redo;
    let mut last_end = from;
    let result = loop {
        if f.limit.is_some_and(|l| shown >= l) {
            break Ok(true);
        }
        let rec = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break Ok(false),
            Err(e) => break Err(e),
        };
        read += 1;
        last_end = rec.end;
        if f.txn.is_some_and(|t| rec.txid != TxnId(t)) {
            continue;
        }
        if !redo_marked && rec.lsn >= redo {
            redo_marked = true;
            writeln!(out, "------------ redo point {redo}: recovery reads from here ------------").map_err(w)?;
        }
        let (page, detail) = describe(&rec.body, page_size);
        let txid = if rec.txid == TxnId(0) { "-".to_string() } else { rec.txid.to_string() };
        writeln!(
            out,
            "{:>12}  {:>6}  {:<16} {:>6}  {:>6}  ok {:08x}  {detail}",
            rec.lsn.0,
            txid,
            rec.kind.name(),
            page,
            rec.payload_len,
            rec.crc
        )
        .map_err(w)?;
        shown += 1;
        match rec.kind {
            RecordType::Commit => {
                commits += 1;
                writeln!(
                    out,
                    "============ COMMIT of txn {} (durable once the log reaches {}) ============",
                    rec.txid, rec.end
                )
                .map_err(w)?;
            }
            RecordType::Abort => writeln!(out, "------------ ABORT of txn {} ------------", rec.txid).map_err(w)?,
            _ => {}
        }
    };
    match result {
        Ok(true) => writeln!(
            out,
            "-- {shown} records shown (limit reached; {read} read, {commits} commits); more follow after LSN {last_end}"
        )
        .map_err(w),
        Ok(false) => {
            let end = reader.end().unwrap_or(last_end);
            let torn = match reader.torn() {
                None => "no torn tail".to_string(),
                Some(t) => format!("TORN TAIL at LSN {} ({} bytes discarded: {})", t.at, t.bytes, t.reason),
            };
            writeln!(out, "-- {shown} records shown of {read} read, {commits} commits; end of log at LSN {end}; {torn}")
                .map_err(w)
        }
        Err(e) => {
            writeln!(out, "-- {shown} records shown of {read} read; CORRUPTION: {e}").map_err(w)?;
            Err(format!("the WAL is corrupt: {e}"))
        }
    }
}

/// The page column and a detail text for a record.
fn describe(body: &RecordBody, page_size: usize) -> (String, String) {
    match body {
        RecordBody::FullPage { page } => (page.to_string(), format!("full image of {page_size} bytes")),
        RecordBody::PageChange { page, ranges, bytes } => {
            (page.to_string(), format!("{ranges} range(s), {bytes} bytes changed"))
        }
        RecordBody::Undecodable(e) => ("?".into(), format!("undecodable page record: {e}")),
        RecordBody::Checkpoint { redo: Some(redo) } => ("-".into(), format!("redo LSN {redo}")),
        RecordBody::Checkpoint { redo: None } => ("-".into(), "undecodable checkpoint payload".into()),
        RecordBody::Empty => ("-".into(), String::new()),
    }
}

fn checkpoint(db: &Database, out: &mut dyn Write) -> Result<(), String> {
    idle(db, "checkpoint")?;
    let before = db.wal_info().map_err(|e| e.to_string())?;
    let dirty = db.engine().pool().dirty_count();
    let rep = db.checkpoint().map_err(|e| e.to_string())?;
    let after = db.wal_info().map_err(|e| e.to_string())?;
    let in_use = |i: &waldb::inspect::WalInfo| i.segments.iter().filter(|s| s.in_use).count();
    writeln!(out, "checkpoint done in {:.1} ms", rep.duration.as_secs_f64() * 1e3).map_err(w)?;
    writeln!(out, "pages written:   {} ({dirty} dirty before)", rep.pages_written).map_err(w)?;
    writeln!(out, "redo LSN:        {} (was {})", rep.redo_lsn, before.control_redo_lsn).map_err(w)?;
    writeln!(out, "record at LSN:   {}", rep.checkpoint_lsn).map_err(w)?;
    writeln!(
        out,
        "segments:        {} in use -> {} in use; released {} (kept for recycling or removed); files {} -> {}",
        in_use(&before),
        in_use(&after),
        in_use(&before).saturating_sub(in_use(&after)),
        before.segments.len(),
        after.segments.len()
    )
    .map_err(w)?;
    writeln!(out, "WAL on disk:     {} -> {} bytes", before.bytes_on_disk, after.bytes_on_disk).map_err(w)
}

/// `p`-th percentile of a power-of-two histogram, as a range text.
fn bucket_percentile(h: &[u64; 16], p: f64) -> String {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return "-".into();
    }
    let want = ((total as f64) * p).ceil().max(1.0) as u64;
    let mut acc = 0;
    for (i, &n) in h.iter().enumerate() {
        acc += n;
        if acc >= want {
            return bucket_text(i);
        }
    }
    bucket_text(h.len() - 1)
}

fn bucket_text(i: usize) -> String {
    match i {
        0 => "0-1".into(),
        _ => format!("{}-{}", 1u64 << i, (1u64 << (i + 1)) - 1),
    }
}

fn durability(db: &Database, out: &mut dyn Write) -> Result<(), String> {
    let st = db.stats();
    let wal = &st.wal;
    let mode = match db.engine().options().wal.durability {
        Durability::Full => "FULL: every commit waits for the fsync that covers it".to_string(),
        Durability::Normal { interval } => {
            format!(
                "NORMAL: commits return at once, the log is flushed every {interval:?} (power loss may lose that much)"
            )
        }
        Durability::Off => "OFF: only checkpoints and close flush the log (tests only)".to_string(),
    };
    let max_bucket = wal.commits_per_flush.iter().rposition(|&n| n > 0);
    let avg = if wal.flushes > 0 { wal.commits as f64 / wal.flushes as f64 } else { 0.0 };
    let fsync_avg = wal.fsync_micros.checked_div(wal.syncs).unwrap_or(0);
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(s, "mode:             {mode}");
    let _ = writeln!(s, "commits:          {} ({} rolled back)", st.commits, st.aborts);
    let _ = writeln!(s, "flushes:          {} group flushes, {} fsyncs", wal.flushes, wal.syncs);
    let _ = writeln!(
        s,
        "commits/flush:    avg {avg:.2}; p50 {}, p99 {}, max {} (power-of-two buckets)",
        bucket_percentile(&wal.commits_per_flush, 0.5),
        bucket_percentile(&wal.commits_per_flush, 0.99),
        max_bucket.map_or_else(|| "-".into(), bucket_text)
    );
    let _ = writeln!(s, "fsync latency:    avg {fsync_avg} us, max {} us", wal.fsync_max_micros);
    let _ = writeln!(
        s,
        "WAL written:      {} bytes ({} of them padding to 4 KiB flush boundaries)",
        wal.bytes_written, wal.padding_bytes
    );
    let _ = writeln!(
        s,
        "durable LSN:      {} (next LSN {}, last commit at {})",
        wal.durable_lsn, wal.next_lsn, st.last_commit_lsn
    );
    let _ = writeln!(s, "checkpoints:      {}", st.checkpoints);
    out.write_all(s.as_bytes()).map_err(w)
}

fn recovery(db: &Database, out: &mut dyn Write) -> Result<(), String> {
    let r = db.recovery_report();
    let mut s = String::new();
    use std::fmt::Write as _;
    if r.created {
        let _ = writeln!(s, "the database was created by this open: nothing to recover");
        return out.write_all(s.as_bytes()).map_err(w);
    }
    let _ = writeln!(s, "recovery of {} took {:.1} ms", db.path().display(), r.duration.as_secs_f64() * 1e3);
    let _ = writeln!(
        s,
        "log read:         from redo LSN {} to LSN {} ({} records)",
        r.redo_from, r.log_end, r.records_scanned
    );
    let _ = writeln!(
        s,
        "transactions:     {} committed and redone, {} without a commit discarded",
        r.txns_redone, r.txns_discarded
    );
    let _ = writeln!(s, "page records:     {} applied (records already on their page are skipped)", r.records_applied);
    match &r.torn_tail {
        None => {
            let _ = writeln!(s, "torn tail:        none");
        }
        Some(t) => {
            let _ = writeln!(s, "torn tail:        at LSN {}, {} bytes discarded ({})", t.at, t.bytes, t.reason);
        }
    }
    let _ = writeln!(s, "checkpointed:     {}", if r.checkpointed { "yes" } else { "no" });
    out.write_all(s.as_bytes()).map_err(w)
}

fn page_cmd(db: &Database, n: u32, out: &mut dyn Write) -> Result<(), String> {
    idle(db, "page")?;
    let id = PageId(n);
    let (buf, verified) = match db.page_image(id) {
        Ok(b) => (b, Ok(())),
        Err(e) if e.is_corruption() => match db.raw_page(id).map_err(|e| e.to_string())? {
            Some(raw) => (raw, Err(e.to_string())),
            None => return Err(e.to_string()),
        },
        Err(e) => return Err(e.to_string()),
    };
    let durable = db.durable_lsn();
    let mut s = String::new();
    use std::fmt::Write as _;
    let ty = page::page_type(&buf);
    let _ = writeln!(s, "page {n} ({} bytes)", buf.len());
    let _ = writeln!(
        s,
        "type:        {}",
        ty.map_or_else(|| format!("unknown ({})", buf[page::PAGE_TYPE_OFFSET]), |t| format!("{t:?}"))
    );
    let lsn = page::page_lsn(&buf);
    let rel = if lsn <= durable { "at or below it: durable" } else { "ABOVE it: not yet durable" };
    let _ = writeln!(s, "page LSN:    {lsn}   (durable LSN {durable}: {rel})");
    match &verified {
        Ok(()) => {
            let _ = writeln!(s, "checksum:    ok (verified when read; computed at write-back)");
        }
        Err(e) => {
            let _ = writeln!(s, "checksum:    BAD: {e}");
            let _ = writeln!(s, "(showing the bytes in the data file, which cannot be trusted)");
        }
    }
    match ty {
        Some(PageType::FileHeader) => match waldb::storage::FileHeader::decode(&buf, db.path()) {
            Ok(h) => {
                let _ = writeln!(
                    s,
                    "format:      version {}, {}-byte pages, database id {}",
                    h.format_version, h.page_size, h.db_id
                );
                let _ = writeln!(
                    s,
                    "pages:       {} in use, {} free (free list head {})",
                    h.page_count, h.free_count, h.free_head
                );
                let roots: Vec<String> = h.roots.iter().map(|r| r.to_string()).collect();
                let _ = writeln!(s, "roots:       [{}]  (slot 0: the schema table)", roots.join(", "));
                let _ = writeln!(s, "schema cookie: {}", header::schema_cookie(&buf));
            }
            Err(e) => {
                let _ = writeln!(s, "header:      undecodable: {e}");
            }
        },
        Some(PageType::BTreeLeaf | PageType::BTreeInternal) => {
            let count = node::count(&buf);
            let leaf = node::is_leaf(&buf);
            let _ = writeln!(
                s,
                "B+tree:      tree rooted at page {}, level {}, {} cells",
                node::tree(&buf),
                node::level(&buf),
                count
            );
            if leaf {
                let _ = writeln!(s, "siblings:    left {}, right {}", node::left(&buf), node::right(&buf));
            } else {
                let _ = writeln!(s, "rightmost:   child {}", node::right(&buf));
            }
            let _ = writeln!(s, "space:       {} bytes used, {} free", node::used(&buf), node::free(&buf));
            for i in 0..count.min(20) {
                let key = node::key(&buf, i).map(hex).unwrap_or_else(|e| format!("malformed: {}", e.0));
                if leaf {
                    let vlen = node::value(&buf, i).map(|v| v.len().to_string()).unwrap_or_else(|_| "?".into());
                    let _ = writeln!(s, "  cell {i:>3}: key {key}  value {vlen} bytes");
                } else {
                    let child = node::child(&buf, i).map(|c| c.to_string()).unwrap_or_else(|_| "?".into());
                    let _ = writeln!(s, "  cell {i:>3}: child {child}  key {key}");
                }
            }
            if count > 20 {
                let _ = writeln!(s, "  … {} more cells", count - 20);
            }
        }
        Some(PageType::Free) => {
            let next = waldb::ids::get_u32(&buf, waldb::storage::alloc::NEXT_FREE_OFFSET);
            let _ = writeln!(s, "free page:   next on the free list {next}");
        }
        Some(PageType::Overflow) => {
            let next = waldb::ids::get_u32(&buf, waldb::storage::overflow::NEXT_OFFSET);
            let len = waldb::ids::get_u32(&buf, waldb::storage::overflow::LEN_OFFSET);
            let _ = writeln!(s, "overflow:    {len} bytes of data here, next page {next}");
        }
        _ => {}
    }
    out.write_all(s.as_bytes()).map_err(w)
}

fn hex(b: &[u8]) -> String {
    let mut s: String = b.iter().take(16).map(|x| format!("{x:02x}")).collect();
    if b.len() > 16 {
        s.push_str(&format!("… ({} bytes)", b.len()));
    }
    s
}

/// `waldb wal dump FILE [--from LSN] [--txn ID] [--limit N]`.
#[derive(Debug, clap::Args)]
pub struct WalDumpArgs {
    /// Database file whose WAL to read (read-only; recovery is not run).
    pub file: PathBuf,
    /// Start at this LSN.
    #[arg(long)]
    pub from: Option<u64>,
    /// Only records of this transaction.
    #[arg(long)]
    pub txn: Option<u64>,
    /// At most this many records.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Print the decoded WAL records of a database, offline.
pub fn wal_dump_offline(args: &WalDumpArgs, out: &mut dyn Write) -> Result<(), String> {
    let path = &args.file;
    let ro = ReadOnlyVfs::new(Arc::new(OsVfs::new()));
    if !ro.exists(path).map_err(|e| format!("{}: {e}", path.display()))? {
        return Err(format!("{}: no such file", path.display()));
    }
    let ctl = read_control(&ro, path).map_err(|e| e.to_string())?.ok_or_else(|| {
        format!("{}: no control file beside it: not a waldb database (or its creation never finished)", path.display())
    })?;
    let segs = wal_segments(&ro, path, &[]).map_err(|e| e.to_string())?;
    writeln!(
        out,
        "database {} (id {}, {}-byte pages), read-only, recovery not run",
        path.display(),
        format_args!("{:016x}", ctl.db_id),
        ctl.page_size
    )
    .map_err(w)?;
    let ck = if ctl.checkpoint_lsn == Lsn::ZERO {
        "none yet".to_string()
    } else {
        format!("record at LSN {}", ctl.checkpoint_lsn)
    };
    writeln!(out, "control file: redo LSN {}, last checkpoint {ck}", ctl.redo_lsn).map_err(w)?;
    writeln!(
        out,
        "segments: {} of {} bytes, {} bytes on disk",
        segs.len(),
        ctl.segment_size,
        segs.iter().map(|s| s.bytes).sum::<u64>()
    )
    .map_err(w)?;
    let reader = LogReader::open(&ro, path, args.from.map(Lsn)).map_err(|e| e.to_string())?;
    let from = reader.start();
    if args.from.is_none() && segs.first().is_some_and(|s| s.start_lsn < from) {
        writeln!(
            out,
            "note: the log kept before the redo point does not read cleanly from its oldest segment; recovery does \
             not need it; showing from the redo LSN"
        )
        .map_err(w)?;
    }
    let f = DumpFilter { from: args.from, txn: args.txn, limit: args.limit };
    dump(reader, &f, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(db: &Database, line: &str) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut out = Vec::new();
        dot_command(db, words[0], &words[1..], &mut out).expect("ours").expect("ok");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn every_command_runs_on_an_in_memory_database() {
        let db = Database::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);").unwrap();
        assert!(run(&db, "wal").contains("durable LSN"));
        let d = run(&db, "wal dump --limit 5");
        assert!(d.contains("BEGIN") && d.contains("limit reached"), "{d}");
        assert!(run(&db, "wal dump").contains("COMMIT of txn"));
        assert!(run(&db, "durability").contains("commits/flush"));
        assert!(run(&db, "page 0").contains("FileHeader"));
        assert!(run(&db, "page 1").contains("checksum:    ok"));
        assert!(run(&db, "checkpoint").contains("pages written"));
        assert!(run(&db, "recovery").contains("created"));
        let mut out = Vec::new();
        assert!(dot_command(&db, "tables", &[], &mut out).is_none());
        assert!(dot_command(&db, "page", &["x"], &mut out).is_some_and(|r| r.is_err()));
        assert!(dot_command(&db, "wal", &["dump", "--bogus"], &mut out).is_some_and(|r| r.is_err()));
    }

    #[test]
    fn histogram_percentiles() {
        let mut h = [0u64; 16];
        assert_eq!(bucket_percentile(&h, 0.5), "-");
        h[0] = 90;
        h[3] = 10;
        assert_eq!(bucket_percentile(&h, 0.5), "0-1");
        assert_eq!(bucket_percentile(&h, 0.99), "8-15");
    }
}
