//! `waldb check FILE`: the integrity check.
//!
//! # How it reads the database (never modifying it)
//!
//! 1. **On the files, read-only.** Through [`ReadOnlyVfs`] over [`OsVfs`]:
//!    the control file; every page's checksum in the data file (a page that
//!    fails but has a full image in the log after the redo point is a torn
//!    write recovery repairs — a note, not a problem); the WAL from the redo
//!    point to its end (a torn tail is reported as such, not as
//!    corruption). The database's lock is held meanwhile, so no process can
//!    open it during the check (a locked database is refused: exit 2).
//! 2. **On an in-memory copy, recovered.** The data file, control file and
//!    WAL segments are copied into a [`SimVfs`] and opened there, which runs
//!    recovery exactly as a real open would — on the copy. Then: the catalog
//!    loads; every table's and index's B+tree is well-formed
//!    (`BTree::check`); every row has its index entries and no index entry
//!    points nowhere; and every page is owned exactly once or free
//!    ([`check_pages`]). The copy costs memory the size of the database.
//!
//! `Ok(true)`: healthy; `Ok(false)`: problems, each listed with file, page
//! or LSN; `Err`: the check could not run. Damaged input never panics.

use std::collections::HashSet;
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use waldb::io::{OpenMode, OsVfs, ReadOnlyVfs, SimVfs, Vfs, parent_dir};
use waldb::sql::catalog::Catalog;
use waldb::sql::table::{RowStore, index_key, rowid_of};
use waldb::storage::btree::{BTree, Direction};
use waldb::storage::check::check_pages;
use waldb::storage::page;
use waldb::storage::{Control, header};
use waldb::txn::log::decode_page_record;
use waldb::wal::{RecordType, scan};
use waldb::{Database, Error, Options, PageId};

/// `waldb check FILE`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Database file to check.
    pub file: PathBuf,
}

struct Report<'o> {
    out: &'o mut dyn Write,
    problems: usize,
}

impl Report<'_> {
    fn ok(&mut self, msg: &str) -> Result<(), String> {
        writeln!(self.out, "ok       {msg}").map_err(|e| e.to_string())
    }
    fn note(&mut self, msg: &str) -> Result<(), String> {
        writeln!(self.out, "note     {msg}").map_err(|e| e.to_string())
    }
    fn problem(&mut self, msg: &str) -> Result<(), String> {
        self.problems += 1;
        writeln!(self.out, "PROBLEM  {msg}").map_err(|e| e.to_string())
    }
}

/// Check `args.file`, writing a report to `out`. `Ok(true)`: healthy (exit
/// 0); `Ok(false)`: damage found (exit 1); `Err`: could not check (exit 2).
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<bool, String> {
    let path = args.file.as_path();
    let os = OsVfs::new();
    if !os.exists(path).map_err(|e| format!("{}: {e}", path.display()))? {
        return Err(format!("{}: no such file", path.display()));
    }
    // Held for the whole check: nobody opens the database meanwhile. A file
    // we may not open for writing cannot be locked, but nobody can be
    // writing it through our permissions either: checked without the lock.
    let lock = match os.lock_exclusive(path) {
        Ok(l) => Some(l),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            return Err(format!(
                "{}: the database is open in another process; close it and check again",
                path.display()
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => None,
        Err(e) => return Err(format!("{}: cannot lock: {e}", path.display())),
    };
    let ro = ReadOnlyVfs::new(Arc::new(os));
    writeln!(out, "checking {}", path.display()).map_err(|e| e.to_string())?;
    if lock.is_none() {
        writeln!(out, "note: no write permission, so the database could not be locked; checking without the lock")
            .map_err(|e| e.to_string())?;
    }
    writeln!(
        out,
        "mode: files read-only (checksums, WAL); structure checked on an in-memory copy after recovery; the files are \
         not modified"
    )
    .map_err(|e| e.to_string())?;
    let mut rep = Report { out, problems: 0 };
    let ctl = match Control::read(&ro, path) {
        Ok(Some(c)) => c,
        Ok(None) => {
            rep.problem(&format!(
                "{}: no control file beside it: not a waldb database, or its creation never finished",
                path.display()
            ))?;
            return finish(rep);
        }
        Err(e) => {
            rep.problem(&format!("control file: {e}"))?;
            return finish(rep);
        }
    };
    rep.ok(&format!(
        "control file: {}-byte pages, WAL segments of {} bytes, redo LSN {}",
        ctl.page_size, ctl.segment_size, ctl.redo_lsn
    ))?;
    if page::validate_page_size(ctl.page_size).is_err() {
        rep.problem(&format!("control file names an invalid page size {}", ctl.page_size))?;
        return finish(rep);
    }
    // The WAL first: page checks use its full page images.
    let mut images: HashSet<PageId> = HashSet::new();
    match scan(&ro, path, ctl.db_id, ctl.redo_lsn) {
        Ok(s) => {
            for r in &s.records {
                if r.kind == RecordType::FullPageImage
                    && let Ok((id, _)) = decode_page_record(r.kind, &r.payload, ctl.page_size)
                {
                    images.insert(id);
                }
            }
            let commits = s.records.iter().filter(|r| r.kind == RecordType::Commit).count();
            rep.ok(&format!(
                "WAL: {} records ({commits} commits) readable from redo LSN {} to the end of the log at LSN {}",
                s.records.len(),
                ctl.redo_lsn,
                s.end.end
            ))?;
            if let Some(t) = s.torn {
                rep.note(&format!(
                    "WAL: torn tail at LSN {} ({} bytes, {}): an unfinished last flush, discarded by recovery; no \
                     acknowledged commit is in it",
                    t.at, t.bytes, t.reason
                ))?;
            }
        }
        Err(e) => rep.problem(&format!("WAL: {e}"))?,
    }
    check_file_pages(&ro, path, ctl.page_size, &images, &mut rep)?;
    check_structure(&ro, path, &mut rep)?;
    finish(rep)
}

fn finish(rep: Report<'_>) -> Result<bool, String> {
    let n = rep.problems;
    if n == 0 {
        writeln!(rep.out, "verdict: healthy").map_err(|e| e.to_string())?;
    } else {
        writeln!(rep.out, "verdict: {n} problem(s) found").map_err(|e| e.to_string())?;
    }
    Ok(n == 0)
}

/// Phase 1: every page's checksum, read straight from the file.
fn check_file_pages(
    ro: &ReadOnlyVfs,
    path: &Path,
    page_size: usize,
    images: &HashSet<PageId>,
    rep: &mut Report<'_>,
) -> Result<(), String> {
    let f = match ro.open(path, OpenMode::ReadOnly) {
        Ok(f) => f,
        Err(e) => return rep.problem(&format!("{}: cannot open: {e}", path.display())),
    };
    let len = f.len().map_err(|e| format!("{}: {e}", path.display()))?;
    let in_file = len / page_size as u64;
    if len % page_size as u64 != 0 {
        rep.problem(&format!(
            "{}: {len} bytes is not a whole number of {page_size}-byte pages: the file was truncated or extended",
            path.display()
        ))?;
    }
    let mut buf = vec![0u8; page_size];
    let mut declared = None;
    if in_file > 0 && f.read_exact_at(&mut buf, 0).is_ok() && page::verify(&buf, PageId::HEADER, path).is_ok() {
        declared = Some(u64::from(header::page_count(&buf)));
    }
    let count = match declared {
        Some(d) if d > in_file => {
            let msg = format!(
                "{}: the header says {d} pages but the file holds {in_file}: truncated (pages {in_file}..{d} missing)",
                path.display()
            );
            if (in_file..d).all(|p| images.contains(&PageId(p as u32))) {
                rep.note(&format!("{msg}; recovery rebuilds them from full page images in the WAL"))?;
            } else {
                rep.problem(&msg)?;
            }
            in_file
        }
        Some(d) => d,
        None => in_file,
    };
    let (mut good, mut repairable) = (0u64, 0u64);
    for p in 0..count {
        let id = PageId(p as u32);
        if let Err(e) = f.read_exact_at(&mut buf, p * page_size as u64) {
            rep.problem(&format!("{}: page {p}: cannot read: {e}", path.display()))?;
            continue;
        }
        match page::verify(&buf, id, path) {
            Ok(()) => good += 1,
            Err(e) if images.contains(&id) => {
                repairable += 1;
                rep.note(&format!("{e} — a torn write; recovery restores it from its full page image in the WAL"))?;
            }
            Err(e) => rep.problem(&e.to_string())?,
        }
    }
    if count == 0 {
        return rep.problem(&format!("{}: empty data file (no header page)", path.display()));
    }
    if good == count {
        rep.ok(&format!("data file: {count} pages checked, every checksum valid"))?;
    } else {
        writeln!(rep.out, "         data file: {good} of {count} pages valid, {repairable} repairable by recovery")
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Phase 2: copy into memory, recover there, check the structures.
fn check_structure(ro: &ReadOnlyVfs, path: &Path, rep: &mut Report<'_>) -> Result<(), String> {
    let sim = SimVfs::new(1);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy_dir = Path::new("/check");
    let copy = copy_dir.join(&name);
    let dir = parent_dir(path);
    let files = ro.list(&dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
    for p in files {
        let Some(n) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
        if n != name && !n.starts_with(&format!("{name}-")) {
            continue;
        }
        let bytes = read_all(ro, &p)?;
        let f = sim.open(&copy_dir.join(&n), OpenMode::Create).map_err(|e| format!("in-memory copy: {e}"))?;
        f.write_all_at(&bytes, 0).and_then(|()| f.sync_all()).map_err(|e| format!("in-memory copy: {e}"))?;
    }
    sim.sync_dir(copy_dir).map_err(|e| format!("in-memory copy: {e}"))?;
    let opts = Options { checkpoint_bytes: None, ..Options::default() };
    let db = match Database::open_on(Arc::new(sim), &copy, opts) {
        Ok(db) => db,
        Err(e) => return rep.problem(&format!("recovery failed (on the copy): {}", rename(&e, &copy, path))),
    };
    let r = db.recovery_report();
    rep.ok(&format!(
        "recovery (on the copy): {} records read, {} transactions redone, {} discarded",
        r.records_scanned, r.txns_redone, r.txns_discarded
    ))?;
    let res = structure(&db, path, &|e: &Error| rename(e, &copy, path), rep);
    drop(db);
    match res {
        Ok(()) => Ok(()),
        Err(Fail::Db(e)) => rep.problem(&rename(&e, &copy, path)),
        Err(Fail::Out(e)) => Err(e),
    }
}

enum Fail {
    Db(Error),
    Out(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Db(e)
    }
}

impl From<String> for Fail {
    fn from(e: String) -> Fail {
        Fail::Out(e)
    }
}

/// Name the original file, not the in-memory copy, in an error.
fn rename(e: &Error, copy: &Path, path: &Path) -> String {
    e.to_string().replace(&copy.display().to_string(), &path.display().to_string())
}

fn read_all(ro: &ReadOnlyVfs, p: &Path) -> Result<Vec<u8>, String> {
    let f = ro.open(p, OpenMode::ReadOnly).map_err(|e| format!("{}: {e}", p.display()))?;
    let len = f.len().map_err(|e| format!("{}: {e}", p.display()))?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, 0).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(buf)
}

fn structure(db: &Database, path: &Path, name: &dyn Fn(&Error) -> String, rep: &mut Report<'_>) -> Result<(), Fail> {
    let r = db.engine().begin_read()?;
    let cat = Catalog::load(&r)?;
    let n_tables = cat.user_tables().count();
    rep.ok(&format!("catalog: {n_tables} tables, {} indexes, {} views", cat.indexes.len(), cat.views.len()))?;
    let mut owners: Vec<(String, Vec<PageId>)> = Vec::new();
    let mut broken = false;
    for (tname, t) in &cat.tables {
        let store = RowStore::new(t);
        let (pages, rows) = match store.pages(&r).and_then(|p| store.scan_all(&r).map(|rows| (p, rows))) {
            Ok(x) => x,
            Err(e) => {
                rep.problem(&format!("table {tname} (root page {}): {}", t.root, name(&e)))?;
                broken = true;
                continue;
            }
        };
        let height = BTree::open(t.root).check(&r).map(|c| c.height).unwrap_or(0);
        rep.ok(&format!("table {tname}: {} rows, B+tree of height {height}, {} pages", rows.len(), pages.len()))?;
        owners.push((format!("table {tname}"), pages));
        for idx in cat.indexes_of(t) {
            let tree = BTree::open(idx.root);
            let checked = match tree.check(&r) {
                Ok(c) => c,
                Err(e) => {
                    rep.problem(&format!("index {} on {tname} (root page {}): {}", idx.name, idx.root, name(&e)))?;
                    broken = true;
                    continue;
                }
            };
            owners.push((format!("index {}", idx.name), checked.pages.clone()));
            let expected: HashSet<Vec<u8>> = rows.iter().map(|(rowid, row)| index_key(&idx, row, *rowid)).collect();
            let mut actual: HashSet<Vec<u8>> = HashSet::new();
            let mut c = tree.range(&r, Bound::Unbounded, Bound::Unbounded, Direction::Forward)?;
            while let Some((k, _)) = c.next(&r)? {
                actual.insert(k);
            }
            let missing: Vec<&Vec<u8>> = expected.difference(&actual).collect();
            let dangling: Vec<&Vec<u8>> = actual.difference(&expected).collect();
            if missing.is_empty() && dangling.is_empty() {
                rep.ok(&format!("index {} on {tname}: {} entries, consistent with the table", idx.name, actual.len()))?;
            }
            if !missing.is_empty() {
                let ids: Vec<String> =
                    missing.iter().take(5).filter_map(|k| rowid_of(k)).map(|x| x.to_string()).collect();
                rep.problem(&format!(
                    "index {} on {tname} (root page {}): {} rows have no index entry (rowids {}…)",
                    idx.name,
                    idx.root,
                    missing.len(),
                    ids.join(", ")
                ))?;
            }
            if !dangling.is_empty() {
                let ids: Vec<String> =
                    dangling.iter().take(5).filter_map(|k| rowid_of(k)).map(|x| x.to_string()).collect();
                rep.problem(&format!(
                    "index {} on {tname} (root page {}): {} entries point at no matching row (rowids {}…)",
                    idx.name,
                    idx.root,
                    dangling.len(),
                    ids.join(", ")
                ))?;
            }
        }
    }
    if broken {
        rep.note("page accounting skipped: a structure above could not be read")?;
        return Ok(());
    }
    let named: Vec<(&str, Vec<PageId>)> = owners.iter().map(|(n, p)| (n.as_str(), p.clone())).collect();
    match check_pages(&r, &named) {
        Ok(a) => rep.ok(&format!(
            "page accounting: {} pages: header, {} owned, {} free; none leaked or owned twice",
            a.page_count, a.owned, a.free
        ))?,
        Err(e) => rep.problem(&format!("page accounting in {}: {}", path.display(), name(&e)))?,
    }
    Ok(())
}
