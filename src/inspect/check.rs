//! The integrity check — one checker for `Database::check_integrity`, the
//! crash suites' oracle and `waldb check`. It collects every problem
//! instead of stopping at the first.
//!
//! - [`check_structure`] (through [`Database::check_integrity`]): the
//!   committed database of an open handle — the catalog loads; every
//!   table's and index's B+tree is well-formed and every row decodes
//!   (overflow chains included); each index holds exactly one entry per row
//!   of its table and nothing else, and a unique index no two rows with
//!   equal non-NULL keys; every page after the header is owned by exactly
//!   one structure or is on the free list.
//! - [`check_files`]: a database's files, offline and read-only. The
//!   control file; the WAL from the redo point (a torn tail is a note, not
//!   a problem); every page's checksum in the data file (a page that fails
//!   but has a full image in the log is a torn write recovery repairs — a
//!   note). Then the files are copied into a [`SimVfs`] and opened there,
//!   which runs recovery exactly as a real open would, on the copy, and
//!   [`check_structure`] runs on the result. The copy costs memory the size
//!   of the database.
//!
//! Damaged input never panics; an error is returned only when the check
//! could not run at all.

use std::collections::{BTreeSet, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use crate::api::{Database, Options};
use crate::btree::{BTree, Direction};
use crate::error::{Error, Result};
use crate::ids::PageId;
use crate::io::{OpenMode, ReadOnlyVfs, SimVfs, Vfs, parent_dir};
use crate::sql::catalog::Catalog;
use crate::sql::table::{RowStore, index_key, rowid_of};
use crate::storage::PageStore;
use crate::storage::check::{PageAccount, check_pages};
use crate::storage::{Control, header, page};
use crate::txn::log::decode_page_record;
use crate::value::Value;
use crate::wal::{RecordType, scan};

/// How much a [`Finding`] matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// A part that was checked and is sound.
    Ok,
    /// A detail of the line before.
    Detail,
    /// Something worth knowing that is not damage (e.g. a torn WAL tail or
    /// a torn page write that recovery repairs).
    Note,
    /// Damage.
    Problem,
}

/// One line of an integrity check's findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How much it matters.
    pub level: Level,
    /// The page it is about, when one is named.
    pub page: Option<PageId>,
    /// What was found.
    pub message: String,
}

/// What an integrity check counted, and everything it found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Tables checked (the schema table included).
    pub tables: usize,
    /// Indexes checked (constraint indexes included).
    pub indexes: usize,
    /// Rows in every table.
    pub rows: u64,
    /// Entries in every index.
    pub index_entries: u64,
    /// The page accounting (all zero when it was skipped).
    pub pages: PageAccount,
    /// Every finding, in the order checked.
    pub findings: Vec<Finding>,
}

impl IntegrityReport {
    /// The findings that are damage.
    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.level == Level::Problem)
    }

    /// No problem found.
    pub fn is_healthy(&self) -> bool {
        self.problems().next().is_none()
    }
}

/// Collects findings, keeping the first error behind a problem.
#[derive(Default)]
struct Collector {
    report: IntegrityReport,
    first_error: Option<Error>,
}

impl Collector {
    fn push(&mut self, level: Level, page: Option<PageId>, message: String) {
        self.report.findings.push(Finding { level, page, message });
    }
    fn ok(&mut self, m: String) {
        self.push(Level::Ok, None, m);
    }
    fn problem(&mut self, page: PageId, m: String) {
        self.push(Level::Problem, Some(page), m);
    }
    fn error(&mut self, page: Option<PageId>, what: String, e: Error) {
        let m = format!("{what}: {e}");
        self.push(Level::Problem, page, m);
        self.first_error.get_or_insert(e);
    }
}

/// Check the structure of the committed database behind `db` (module
/// doc), collecting every problem. `Err` only when the check could not run
/// (e.g. the handle has a transaction open).
pub fn check_structure(db: &Database) -> Result<IntegrityReport> {
    structure(db).map(|c| c.report)
}

fn structure(db: &Database) -> Result<Collector> {
    if db.in_transaction() {
        return Err(crate::errinput!("a transaction is open on this handle; COMMIT or ROLLBACK first"));
    }
    let r = db.engine().begin_read()?;
    Ok(structure_of(&r))
}

/// The check of [`check_structure`] over the pages `r` sees (a read
/// transaction, or a write transaction's own view for `PRAGMA
/// integrity_check` inside it): every finding, never an early stop.
pub(crate) fn check_store<S: PageStore>(r: &S) -> IntegrityReport {
    structure_of(r).report
}

fn structure_of<S: PageStore>(r: &S) -> Collector {
    let mut c = Collector::default();
    let cat = match Catalog::load(r) {
        Ok(cat) => cat,
        Err(e) => {
            c.error(None, "catalog".into(), e);
            return c;
        }
    };
    c.ok(format!(
        "catalog: {} tables, {} indexes, {} views",
        cat.user_tables().count(),
        cat.indexes.len(),
        cat.views.len()
    ));
    let mut owners: Vec<(String, Vec<PageId>)> = Vec::new();
    let mut broken = false;
    for (tname, t) in &cat.tables {
        let store = RowStore::new(t);
        let (pages, rows) = match store.pages(r).and_then(|p| store.scan_all(r).map(|rows| (p, rows))) {
            Ok(x) => x,
            Err(e) => {
                c.error(Some(t.root), format!("table {tname} (root page {})", t.root), e);
                broken = true;
                continue;
            }
        };
        let height = BTree::open(t.root).check(r).map(|c| c.height).unwrap_or(0);
        c.ok(format!("table {tname}: {} rows, B+tree of height {height}, {} pages", rows.len(), pages.len()));
        c.report.tables += 1;
        c.report.rows += rows.len() as u64;
        owners.push((format!("table {tname}"), pages));
        for idx in cat.indexes_of(t) {
            let tree = BTree::open(idx.root);
            let checked = match tree.check(r) {
                Ok(x) => x,
                Err(e) => {
                    c.error(Some(idx.root), format!("index {} on {tname} (root page {})", idx.name, idx.root), e);
                    broken = true;
                    continue;
                }
            };
            c.report.indexes += 1;
            owners.push((format!("index {}", idx.name), checked.pages));
            let mut expected: BTreeSet<Vec<u8>> = BTreeSet::new();
            let mut keys: HashSet<Vec<u8>> = HashSet::new();
            let mut twice: Vec<i64> = Vec::new();
            for (rowid, row) in &rows {
                let key = index_key(&idx, row, *rowid);
                let null = idx.columns.iter().any(|&i| matches!(row.get(i), None | Some(Value::Null)));
                if idx.unique && !null && !keys.insert(key[..key.len().saturating_sub(8)].to_vec()) {
                    twice.push(*rowid);
                }
                expected.insert(key);
            }
            if !twice.is_empty() {
                let ids: Vec<String> = twice.iter().take(5).map(|x| x.to_string()).collect();
                c.problem(
                    idx.root,
                    format!(
                        "unique index {} on {tname} (root page {}): {} rows repeat another row's key (rowids {}…)",
                        idx.name,
                        idx.root,
                        twice.len(),
                        ids.join(", ")
                    ),
                );
            }
            let mut actual: BTreeSet<Vec<u8>> = BTreeSet::new();
            let scanned = tree.range(r, Bound::Unbounded, Bound::Unbounded, Direction::Forward).and_then(|mut cur| {
                while let Some((k, _)) = cur.next(r)? {
                    actual.insert(k);
                }
                Ok(())
            });
            if let Err(e) = scanned {
                c.error(Some(idx.root), format!("index {} on {tname} (root page {})", idx.name, idx.root), e);
                broken = true;
                continue;
            }
            c.report.index_entries += actual.len() as u64;
            let missing: Vec<&Vec<u8>> = expected.difference(&actual).collect();
            let dangling: Vec<&Vec<u8>> = actual.difference(&expected).collect();
            if missing.is_empty() && dangling.is_empty() {
                c.ok(format!("index {} on {tname}: {} entries, consistent with the table", idx.name, actual.len()));
            }
            let rowids = |keys: &[&Vec<u8>]| -> String {
                let ids: Vec<String> = keys.iter().take(5).filter_map(|k| rowid_of(k)).map(|x| x.to_string()).collect();
                ids.join(", ")
            };
            if !missing.is_empty() {
                c.problem(
                    idx.root,
                    format!(
                        "index {} on {tname} (root page {}): {} rows have no index entry (rowids {}…)",
                        idx.name,
                        idx.root,
                        missing.len(),
                        rowids(&missing)
                    ),
                );
            }
            if !dangling.is_empty() {
                c.problem(
                    idx.root,
                    format!(
                        "index {} on {tname} (root page {}): {} entries point at no matching row (rowids {}…)",
                        idx.name,
                        idx.root,
                        dangling.len(),
                        rowids(&dangling)
                    ),
                );
            }
        }
    }
    if broken {
        c.push(Level::Note, None, "page accounting skipped: a structure above could not be read".into());
        return c;
    }
    let named: Vec<(&str, Vec<PageId>)> = owners.iter().map(|(n, p)| (n.as_str(), p.clone())).collect();
    match check_pages(r, &named) {
        Ok(a) => {
            c.ok(format!(
                "page accounting: {} pages: header, {} owned, {} free; none leaked or owned twice",
                a.page_count, a.owned, a.free
            ));
            c.report.pages = a;
        }
        Err(e) => c.error(None, "page accounting".into(), e),
    }
    c
}

impl Database {
    /// Check the structure of the committed database (see
    /// [`check_structure`], which this runs): every problem is collected;
    /// when there is any, the result is an error — the error behind the
    /// first problem (e.g. [`Error::Corrupt`] naming a page), or an
    /// [`Error::Corrupt`] listing them all. Checksums are verified on the
    /// way, as every read does. Fails while this handle has a transaction
    /// open.
    ///
    /// ```
    /// let db = waldb::Database::open_in_memory()?;
    /// db.execute_batch("CREATE TABLE t(a INTEGER, b TEXT UNIQUE); CREATE INDEX ta ON t(a); \
    ///                   INSERT INTO t VALUES (1, 'x'), (2, 'y');")?;
    /// let report = db.check_integrity()?;
    /// assert_eq!((report.rows, report.index_entries), (2 + 3, 4)); // 3 schema rows
    /// assert!(report.is_healthy());
    /// # Ok::<(), waldb::Error>(())
    /// ```
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        let c = structure(self)?;
        if let Some(e) = c.first_error {
            return Err(e);
        }
        let problems: Vec<&Finding> = c.report.problems().collect();
        if let Some(first) = problems.first() {
            let all: Vec<&str> = problems.iter().map(|f| f.message.as_str()).collect();
            return Err(Error::Corrupt {
                file: self.path().to_path_buf(),
                page: first.page.unwrap_or(PageId::HEADER),
                reason: all.join("; "),
            });
        }
        Ok(c.report)
    }
}

/// Check the database at `path` and its files offline (module doc),
/// through a [`ReadOnlyVfs`] over `vfs`: nothing is created, written or
/// removed. Every finding is returned; `Err` only when the check could not
/// run (a file that cannot be listed or read).
pub fn check_files(vfs: Arc<dyn Vfs>, path: &Path) -> Result<Vec<Finding>> {
    let ro = ReadOnlyVfs::new(vfs);
    let mut c = Collector::default();
    let ctl = match Control::read(&ro, path) {
        Ok(Some(ctl)) => ctl,
        Ok(None) => {
            c.push(
                Level::Problem,
                None,
                format!(
                    "{}: no control file beside it: not a waldb database, or its creation never finished",
                    path.display()
                ),
            );
            return Ok(c.report.findings);
        }
        Err(e) => {
            c.push(Level::Problem, None, format!("control file: {e}"));
            return Ok(c.report.findings);
        }
    };
    c.ok(format!(
        "control file: {}-byte pages, WAL segments of {} bytes, redo LSN {}",
        ctl.page_size, ctl.segment_size, ctl.redo_lsn
    ));
    if page::validate_page_size(ctl.page_size).is_err() {
        c.push(Level::Problem, None, format!("control file names an invalid page size {}", ctl.page_size));
        return Ok(c.report.findings);
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
            c.ok(format!(
                "WAL: {} records ({commits} commits) readable from redo LSN {} to the end of the log at LSN {}",
                s.records.len(),
                ctl.redo_lsn,
                s.end.end
            ));
            if let Some(t) = s.torn {
                c.push(
                    Level::Note,
                    None,
                    format!(
                        "WAL: torn tail at LSN {} ({} bytes, {}): an unfinished last flush, discarded by recovery; no \
                         acknowledged commit is in it",
                        t.at, t.bytes, t.reason
                    ),
                );
            }
        }
        Err(e) => c.push(Level::Problem, None, format!("WAL: {e}")),
    }
    file_pages(&ro, path, ctl.page_size, &images, &mut c)?;
    recovered_copy(&ro, path, &mut c)?;
    Ok(c.report.findings)
}

/// Every page's checksum, read straight from the file.
fn file_pages(
    ro: &ReadOnlyVfs,
    path: &Path,
    page_size: usize,
    images: &HashSet<PageId>,
    c: &mut Collector,
) -> Result<()> {
    let f = match ro.open(path, OpenMode::ReadOnly) {
        Ok(f) => f,
        Err(e) => {
            c.push(Level::Problem, None, format!("{}: cannot open: {e}", path.display()));
            return Ok(());
        }
    };
    let len = f.len().map_err(|e| Error::io("stat", path, e))?;
    let in_file = len / page_size as u64;
    if len % page_size as u64 != 0 {
        c.push(
            Level::Problem,
            None,
            format!(
                "{}: {len} bytes is not a whole number of {page_size}-byte pages: the file was truncated or extended",
                path.display()
            ),
        );
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
                c.push(Level::Note, None, format!("{msg}; recovery rebuilds them from full page images in the WAL"));
            } else {
                c.push(Level::Problem, None, msg);
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
            c.push(Level::Problem, Some(id), format!("{}: page {p}: cannot read: {e}", path.display()));
            continue;
        }
        match page::verify(&buf, id, path) {
            Ok(()) => good += 1,
            Err(e) if images.contains(&id) => {
                repairable += 1;
                c.push(
                    Level::Note,
                    Some(id),
                    format!("{e} — a torn write; recovery restores it from its full page image in the WAL"),
                );
            }
            Err(e) => c.push(Level::Problem, Some(id), e.to_string()),
        }
    }
    if count == 0 {
        c.push(Level::Problem, None, format!("{}: empty data file (no header page)", path.display()));
    } else if good == count {
        c.ok(format!("data file: {count} pages checked, every checksum valid"));
    } else {
        c.push(
            Level::Detail,
            None,
            format!("data file: {good} of {count} pages valid, {repairable} repairable by recovery"),
        );
    }
    Ok(())
}

/// Copy the database's files into memory, recover there, check the
/// structures.
fn recovered_copy(ro: &ReadOnlyVfs, path: &Path, c: &mut Collector) -> Result<()> {
    let sim = SimVfs::new(1);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy_dir = Path::new("/check");
    let copy = copy_dir.join(&name);
    let dir = parent_dir(path);
    let in_memory = |e: std::io::Error| Error::io("copy into memory", copy_dir, e);
    for p in ro.list(&dir).map_err(|e| Error::io("list", &dir, e))? {
        let Some(n) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
        if n != name && !n.starts_with(&format!("{name}-")) {
            continue;
        }
        let f = ro.open(&p, OpenMode::ReadOnly).map_err(|e| Error::io("open", &p, e))?;
        let len = f.len().map_err(|e| Error::io("stat", &p, e))?;
        let mut bytes = vec![0u8; usize::try_from(len).map_err(|_| crate::errinput!("{}: too large", p.display()))?];
        f.read_exact_at(&mut bytes, 0).map_err(|e| Error::io("read", &p, e))?;
        let to = sim.open(&copy_dir.join(&n), OpenMode::Create).map_err(in_memory)?;
        to.write_all_at(&bytes, 0).and_then(|()| to.sync_all()).map_err(in_memory)?;
    }
    sim.sync_dir(copy_dir).map_err(in_memory)?;
    // Name the original file, not the in-memory copy.
    let rename = |s: String| s.replace(&copy.display().to_string(), &path.display().to_string());
    let opts = Options { checkpoint_bytes: None, ..Options::default() };
    let db = match Database::open_on(Arc::new(sim), &copy, opts) {
        Ok(db) => db,
        Err(e) => {
            c.push(Level::Problem, None, format!("recovery failed (on the copy): {}", rename(e.to_string())));
            return Ok(());
        }
    };
    let r = db.recovery_report();
    c.ok(format!(
        "recovery (on the copy): {} records read, {} transactions redone, {} discarded",
        r.records_scanned, r.txns_redone, r.txns_discarded
    ));
    match structure(&db) {
        Ok(s) => {
            c.report.findings.extend(s.report.findings.into_iter().map(|f| Finding { message: rename(f.message), ..f }))
        }
        Err(e) => c.push(Level::Problem, None, rename(e.to_string())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Damage an index twice (an entry deleted, a stray one added): the
    /// check reports both, not only the first, and `check_integrity` fails
    /// naming both.
    #[test]
    fn every_problem_is_collected() {
        let db = Database::open_in_memory().expect("open");
        db.execute_batch(
            "CREATE TABLE t(a INTEGER, b TEXT UNIQUE); CREATE INDEX ta ON t(a); \
             INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z');",
        )
        .expect("sql");
        assert!(db.check_integrity().expect("healthy").is_healthy());
        let w = db.engine().begin_write().expect("write");
        let cat = Catalog::load(&w).expect("catalog");
        let t = cat.table("t").expect("t").clone();
        let idx = cat.indexes_of(&t);
        let ta = idx.iter().find(|i| i.name == "ta").expect("ta");
        let row1 = [Value::Integer(1), Value::Text("x".into())];
        let tree = BTree::open(ta.root);
        assert!(tree.delete(&w, &index_key(ta, &row1, 1)).expect("delete").is_some());
        tree.insert(&w, &index_key(ta, &row1, 99), &[]).expect("insert");
        w.commit().expect("commit");
        let report = check_structure(&db).expect("ran");
        let problems: Vec<&str> = report.problems().map(|f| f.message.as_str()).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("have no index entry") && problems[0].contains("rowids 1"), "{problems:?}");
        assert!(problems[1].contains("point at no matching row") && problems[1].contains("99"), "{problems:?}");
        match db.check_integrity() {
            Err(Error::Corrupt { reason, page, .. }) => {
                assert_eq!(page, ta.root);
                assert!(reason.contains("no index entry") && reason.contains("no matching row"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}
