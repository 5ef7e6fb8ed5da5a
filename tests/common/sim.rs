//! The simulation harness: a deterministic multi-table workload over the
//! engine on `SimVfs`, a model of what each commit leaves behind, and the
//! check that a recovered database equals the model after a prefix of the
//! commit order that includes every acknowledged commit.
//!
//! Tables are the SQL layer's row stores ([`RowStore`]: a clustered B+tree
//! keyed by the rowid, a row too large for a tree entry in an overflow
//! chain) whose roots are registered in root slots 1..=TABLES and [`TREE`]
//! of the file header. A row is one blob; the model is a map from (table,
//! rowid) to that blob.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use waldb::io::{CrashImage, LossMode, SimVfs, Vfs};

use waldb::btree::BTree;
use waldb::sql::catalog::Table;
use waldb::sql::table::RowStore;
use waldb::storage::{PageStore, header};
use waldb::txn::{Engine, EngineOptions, PendingCommit};
use waldb::wal::WalOptions;
use waldb::{Error, PageId, Value};

use super::rng::Rng;

/// Tables of the OLTP workloads (root slots 1..=TABLES).
pub const TABLES: u8 = 3;
/// The table of the B+tree workload ([`btree_oltp`]), in this root slot.
pub const TREE: u8 = 4;

/// (table, rowid) → value. Values are shared, so the model can keep a
/// state per commit cheaply.
pub type State = BTreeMap<(u8, u64), Arc<[u8]>>;

/// Where the simulated database lives.
pub fn db_path() -> PathBuf {
    PathBuf::from("/db/t.db")
}

/// Engine settings for a simulation: small pages and pool (eviction under
/// the WAL rule), inline segment preparation (deterministic I/O order).
pub fn sim_options(segment_size: u64, checkpoint_bytes: Option<u64>) -> EngineOptions {
    EngineOptions {
        page_size: 1024,
        pool_bytes: 24 * 1024,
        pool_cap_bytes: 16 << 20,
        wal: WalOptions { segment_size, background: false, recycle_limit: 2, ..WalOptions::default() },
        checkpoint_bytes,
        checkpoint_on_close: true,
        recovery_buffer_bytes: 1 << 20,
        read_only: false,
    }
}

/// One change inside a transaction.
#[derive(Clone, Debug)]
pub enum Change {
    /// Insert a new row of `len` bytes.
    Insert { table: u8, len: usize },
    /// Replace the `pick`th row (in rowid order, modulo the table's size).
    Update { table: u8, pick: usize, len: usize },
    /// Delete the `pick`th row.
    Delete { table: u8, pick: usize },
}

/// One step of a workload.
#[derive(Clone, Debug)]
pub enum Step {
    /// A transaction; rolled back instead of committed when `commit` is false.
    Txn { changes: Vec<Change>, commit: bool },
    /// An explicit checkpoint.
    Checkpoint,
    /// A clean close and reopen.
    Reopen,
    /// From here on (across reopens), every `COMMIT` is preceded by a group
    /// flush of everything appended before it: the flush takes the
    /// transaction's page records but not its `COMMIT`, the window in which
    /// the next writer may evict those pages (no steal with early lock
    /// release, issue 13).
    FlushBeforeCommits,
}

/// Install the hook that flushes the log before every `COMMIT` append.
pub fn flush_before_commits(e: &Engine) {
    e.wal().set_append_hook(Some(Arc::new(|wal: &waldb::wal::Wal, kind: waldb::wal::RecordType| {
        if kind == waldb::wal::RecordType::Commit {
            // A failure poisons the log; the append that follows reports it.
            let _ = wal.flush_all();
        }
    })));
}

/// What a run did before its first error.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// `states[k]`: the model after the first `k` commits.
    pub states: Vec<State>,
    /// Commits acknowledged (their `wait` returned `Ok`).
    pub acked: usize,
    /// Commits whose COMMIT record reached the log (`commit_pending` Ok).
    pub attempted: usize,
    /// The first error, if any.
    pub error: Option<String>,
    /// Whether that error was `Poisoned`, or later calls found the engine
    /// poisoned.
    pub poisoned: bool,
}

/// The bytes of a row: `len` bytes derived from `seed`.
fn row(seed: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed.wrapping_mul(7).wrapping_add(i as u64 * 13)) as u8).collect()
}

/// The row store in root slot `slot` (a table of [`TABLES`] or [`TREE`]).
pub fn row_table(root: PageId, slot: u8) -> Table {
    Table {
        name: format!("t{slot}"),
        columns: Vec::new(),
        root,
        rowid_alias: None,
        indexes: Vec::new(),
        sql: String::new(),
        checks: Vec::new(),
        autoincrement: false,
    }
}

/// The table in root slot `slot`, if its creation has committed.
pub fn table<S: PageStore>(s: &S, slot: u8) -> waldb::Result<Option<Table>> {
    let h = s.read(PageId::HEADER)?;
    let root = header::root(&h, usize::from(slot));
    Ok((!root.is_none()).then(|| row_table(root, slot)))
}

/// Create an empty table (its clustered tree) and register it in `slot`.
pub fn create_table<S: PageStore>(s: &S, slot: u8) -> waldb::Result<Table> {
    let t = BTree::create(s, true)?;
    header::set_root(&mut s.write(PageId::HEADER)?, usize::from(slot), t.root());
    Ok(row_table(t.root(), slot))
}

/// Store a row holding `bytes` in `t` under `rowid` (`None`: the next
/// rowid); returns the rowid.
pub fn insert_row<S: PageStore>(s: &S, t: &Table, rowid: Option<i64>, bytes: &[u8]) -> waldb::Result<i64> {
    RowStore::new(t).insert_raw(s, rowid, &[Value::Blob(bytes.to_vec())])
}

/// Every row of `t` (rowid, bytes), in rowid order.
pub fn rows<S: PageStore>(s: &S, t: &Table) -> waldb::Result<Vec<(i64, Vec<u8>)>> {
    RowStore::new(t).scan_all(s)?.into_iter().map(|(rowid, row)| Ok((rowid, blob(t, rowid, row)?))).collect()
}

/// The slots of every table of the workloads.
fn slots() -> impl Iterator<Item = u8> {
    (1..=TABLES).chain([TREE])
}

/// The blob a stored row holds.
fn blob(t: &Table, rowid: i64, mut row: Vec<Value>) -> waldb::Result<Vec<u8>> {
    match (row.pop(), row.is_empty()) {
        (Some(Value::Blob(b)), true) => Ok(b),
        _ => Err(Error::InvalidInput(format!("row {rowid} of {} is not one blob", t.name))),
    }
}

/// Every row of every table, read in a read transaction; every table must
/// pass the B+tree's structural check, and every page of the file be owned
/// once (by a table's tree or overflow chains, or the free list).
pub fn dump(e: &Engine) -> waldb::Result<State> {
    let r = e.begin_read()?;
    let mut out = State::new();
    let mut owners: Vec<(String, Vec<PageId>)> = Vec::new();
    for slot in slots() {
        let Some(t) = table(&r, slot)? else { continue };
        owners.push((t.name.clone(), RowStore::new(&t).pages(&r)?));
        for (rowid, bytes) in rows(&r, &t)? {
            out.insert((slot, rowid as u64), bytes.into());
        }
    }
    // Every page is owned once: nothing leaked by a crash, nothing shared.
    let owners: Vec<(&str, Vec<PageId>)> = owners.iter_mut().map(|(n, p)| (n.as_str(), std::mem::take(p))).collect();
    waldb::storage::check::check_pages(&r, &owners)?;
    Ok(out)
}

/// The rowid of the `pick`th row of `table` in the model (modulo its size).
fn nth_row(model: &State, table: u8, pick: usize) -> Option<u64> {
    let range = (table, 0)..=(table, u64::MAX);
    let n = model.range(range.clone()).count();
    model.range(range).nth(pick % n.max(1)).map(|((_, r), _)| *r)
}

struct Runner<'a> {
    vfs: &'a SimVfs,
    opts: &'a EngineOptions,
    group: usize,
    /// Shared with a crash hook, which reads it in the middle of I/O calls:
    /// never held across a call into the engine.
    out: Arc<Mutex<Outcome>>,
    model: State,
    next_rowid: u64,
    pending: Vec<PendingCommit>,
    /// Whether [`Step::FlushBeforeCommits`] was reached.
    gap_flush: bool,
}

impl Runner<'_> {
    fn fail(&mut self, e: Error) {
        let mut out = self.out.lock();
        out.poisoned |= e.is_poisoned();
        if out.error.is_none() {
            out.error = Some(e.to_string());
        }
    }

    /// Acknowledge every pending commit, in order; the first wait leads one
    /// group flush that covers them all.
    fn wait_all(&mut self) -> waldb::Result<()> {
        for p in std::mem::take(&mut self.pending) {
            p.wait()?;
            self.out.lock().acked += 1;
        }
        Ok(())
    }

    /// Commit `tx` leaving `model`: the state is counted as attempted before
    /// the COMMIT record is appended (a crash image taken during the append
    /// may already hold it) and taken back if the commit fails.
    fn commit(&mut self, tx: waldb::txn::WriteTxn, model: State) -> waldb::Result<()> {
        {
            let mut out = self.out.lock();
            out.attempted += 1;
            out.states.push(model.clone());
        }
        match tx.commit_pending() {
            Ok(p) => {
                self.model = model;
                self.pending.push(p);
                if self.pending.len() >= self.group { self.wait_all() } else { Ok(()) }
            }
            Err(e) => {
                let mut out = self.out.lock();
                out.attempted -= 1;
                out.states.pop();
                Err(e)
            }
        }
    }

    fn txn(&mut self, e: &Engine, changes: &[Change], commit: bool) -> waldb::Result<()> {
        let tx = e.begin_write()?;
        let mut model = self.model.clone();
        for c in changes {
            match *c {
                Change::Insert { table: slot, len } => {
                    let Some(t) = table(&tx, slot)? else { continue };
                    let rowid = self.next_rowid;
                    self.next_rowid += 1;
                    let v = row(rowid, len);
                    insert_row(&tx, &t, Some(rowid as i64), &v)?;
                    model.insert((slot, rowid), v.into());
                }
                Change::Update { table: slot, pick, len } => {
                    let Some(t) = table(&tx, slot)? else { continue };
                    let Some(rowid) = nth_row(&model, slot, pick) else { continue };
                    let v = row(rowid ^ (pick as u64) << 32, len);
                    RowStore::new(&t).replace_raw(&tx, rowid as i64, &[Value::Blob(v.clone())])?;
                    model.insert((slot, rowid), v.into());
                }
                Change::Delete { table: slot, pick } => {
                    let Some(t) = table(&tx, slot)? else { continue };
                    let Some(rowid) = nth_row(&model, slot, pick) else { continue };
                    if !RowStore::new(&t).delete_raw(&tx, rowid as i64, &[])? {
                        return Err(Error::InvalidInput(format!("row {rowid} of {} was already gone", t.name)));
                    }
                    model.remove(&(slot, rowid));
                }
            }
        }
        if commit { self.commit(tx, model) } else { tx.rollback() }
    }

    fn run(&mut self, steps: &[Step]) -> waldb::Result<()> {
        let mut e = Engine::open(Arc::new(self.vfs.clone()), &db_path(), self.opts.clone())?;
        self.setup(&e)?;
        // Rowids continue after any row already there (a second run on a
        // database keeps its rows).
        let r = e.begin_read()?;
        for slot in slots() {
            if let Some(t) = table(&r, slot)? {
                let max = RowStore::new(&t).max_rowid(&r)?.unwrap_or(0) as u64;
                self.next_rowid = self.next_rowid.max(max + 1);
            }
        }
        drop(r);
        for step in steps {
            match step {
                Step::Txn { changes, commit } => self.txn(&e, changes, *commit)?,
                Step::Checkpoint => {
                    self.wait_all()?;
                    e.checkpoint()?;
                }
                Step::FlushBeforeCommits => {
                    self.gap_flush = true;
                    flush_before_commits(&e);
                }
                Step::Reopen => {
                    self.wait_all()?;
                    e.close()?;
                    drop(e);
                    e = Engine::open(Arc::new(self.vfs.clone()), &db_path(), self.opts.clone())?;
                    if self.gap_flush {
                        flush_before_commits(&e);
                    }
                    let got = dump(&e)?;
                    if got != self.model {
                        return Err(Error::InvalidInput("state after a clean reopen differs from the model".into()));
                    }
                }
            }
        }
        self.wait_all()
    }

    /// Create the tables that do not exist yet, in one transaction (its
    /// commit leaves the tables empty: the same model state as before).
    fn setup(&mut self, e: &Engine) -> waldb::Result<()> {
        let tx = e.begin_write()?;
        let mut created = false;
        for slot in slots() {
            if table(&tx, slot)?.is_none() {
                create_table(&tx, slot)?;
                created = true;
            }
        }
        if !created {
            return tx.rollback();
        }
        let m = self.model.clone();
        self.commit(tx, m)
    }
}

/// Run `steps` on `vfs` until the end or the first error. Commits are
/// acknowledged in groups of `group` (one flush covers a group: group
/// commit, deterministically).
pub fn run(vfs: &SimVfs, opts: &EngineOptions, steps: &[Step], group: usize) -> Outcome {
    let out = Arc::new(Mutex::new(Outcome { states: vec![State::new()], ..Outcome::default() }));
    run_shared(vfs, opts, steps, group, out)
}

fn run_shared(vfs: &SimVfs, opts: &EngineOptions, steps: &[Step], group: usize, out: Arc<Mutex<Outcome>>) -> Outcome {
    let mut r = Runner {
        vfs,
        opts,
        group: group.max(1),
        out: out.clone(),
        model: State::new(),
        next_rowid: 1,
        pending: Vec::new(),
        gap_flush: false,
    };
    if let Err(e) = r.run(steps) {
        r.fail(e);
    }
    drop(r);
    std::mem::take(&mut *out.lock())
}

/// Run `steps` once, and at every I/O call hand `check` the crash image of
/// that moment with the model as it stands then: a crash at every call,
/// without replaying the workload for each.
pub fn run_with_crash_hook(
    vfs: &SimVfs,
    opts: &EngineOptions,
    steps: &[Step],
    group: usize,
    check: impl Fn(u64, &CrashImage, &Outcome) + Send + Sync + 'static,
) -> Outcome {
    let out = Arc::new(Mutex::new(Outcome { states: vec![State::new()], ..Outcome::default() }));
    let seen = out.clone();
    vfs.set_crash_hook(Some(Arc::new(move |index: u64, image: &CrashImage| {
        let now = seen.lock();
        check(index, image, &now);
    })));
    let result = run_shared(vfs, opts, steps, group, out);
    vfs.set_crash_hook(None);
    result
}

impl Outcome {
    /// A copy of the model part (states and counts).
    pub fn clone_model(&self) -> Outcome {
        self.clone()
    }
}

/// Which prefix of the commit order `got` equals, among those allowed:
/// at least every acknowledged commit, at most every attempted one.
pub fn matching_prefix(out: &Outcome, got: &State) -> Result<usize, String> {
    let hi = out.attempted.min(out.states.len().saturating_sub(1));
    // The setup commit leaves tables empty, like the state before it.
    (out.acked.min(hi)..=hi).rev().find(|&k| out.states[k] == *got).ok_or_else(|| {
        let closest = (0..out.states.len()).find(|&k| out.states[k] == *got);
        format!(
            "recovered state ({} rows) matches no allowed prefix: acked {}, attempted {}, equal to prefix {closest:?}",
            got.len(),
            out.acked,
            out.attempted
        )
    })
}

/// Recover the crash image under `mode`/`seed` and check it against the
/// model; then crash the recovered disk and recover again: same state.
pub fn check_image(
    image: &CrashImage,
    mode: LossMode,
    seed: u64,
    out: &Outcome,
    opts: &EngineOptions,
) -> Result<State, String> {
    check_image_with(image, mode, seed, out, opts, true)
}

/// As [`check_image`]; the second recovery only when `twice`.
pub fn check_image_with(
    image: &CrashImage,
    mode: LossMode,
    seed: u64,
    out: &Outcome,
    opts: &EngineOptions,
    twice: bool,
) -> Result<State, String> {
    let disk = image.boot_seeded(mode, seed);
    let state = {
        let e = Engine::open(Arc::new(disk.clone()) as Arc<dyn Vfs>, &db_path(), opts.clone())
            .map_err(|e| format!("recovery failed: {e}"))?;
        let state = dump(&e).map_err(|e| format!("reading after recovery failed: {e}"))?;
        matching_prefix(out, &state)?;
        state
    };
    if !twice {
        return Ok(state);
    }
    // Recovery is idempotent: lose power right after it, recover again.
    let again = disk.reboot(LossMode::DropAll);
    let e = Engine::open(Arc::new(again) as Arc<dyn Vfs>, &db_path(), opts.clone())
        .map_err(|e| format!("second recovery failed: {e}"))?;
    let second = dump(&e).map_err(|e| format!("reading after the second recovery failed: {e}"))?;
    if second != state {
        return Err("the second recovery gave a different state".into());
    }
    Ok(state)
}

/// B+tree workload: `txns` transactions of 1–12 changes to the table in
/// slot [`TREE`] — inserts first, then a mix that deletes as much as it inserts, so
/// nodes split and merge — with a checkpoint every `checkpoint_every`.
pub fn btree_oltp(seed: u64, txns: usize, checkpoint_every: Option<usize>) -> Vec<Step> {
    let mut g = Rng(seed);
    let mut steps = Vec::new();
    for i in 0..txns {
        let n = 1 + g.below(12) as usize;
        let growing = i < txns / 2;
        let changes = (0..n)
            .map(|_| match (growing, g.below(10)) {
                (true, 0..=7) | (false, 0..=3) => Change::Insert { table: TREE, len: 20 + g.below(180) as usize },
                (_, 8) | (false, 4..=5) => {
                    Change::Update { table: TREE, pick: g.next() as usize, len: g.below(200) as usize }
                }
                _ => Change::Delete { table: TREE, pick: g.next() as usize },
            })
            .collect();
        steps.push(Step::Txn { changes, commit: g.below(15) != 0 });
        if checkpoint_every.is_some_and(|k| i % k == k - 1) {
            steps.push(Step::Checkpoint);
        }
    }
    steps
}

/// The four loss modes of `docs/TESTING.md` G1 for a database of `page_size`-byte
/// pages. A torn sector is never larger than a page: the storage contract
/// (README) asks for pages of at least the device's atomic sector, because a
/// torn read-modify-write of a larger sector could damage neighbouring pages
/// the log holds no image of.
pub fn loss_modes(page_size: usize) -> [LossMode; 4] {
    [
        LossMode::DropAll,
        LossMode::KeepAll,
        LossMode::RandomSectors { sector: 512 },
        LossMode::TearLast { sector: page_size.min(4096), garbage: true },
    ]
}

/// `docs/TESTING.md`'s W1: `txns` transactions of 1–8 row changes over the tables,
/// a few rolled back. With `checkpoint_every`, W2.
pub fn oltp(seed: u64, txns: usize, checkpoint_every: Option<usize>) -> Vec<Step> {
    let mut g = Rng(seed);
    let mut steps = Vec::new();
    for i in 0..txns {
        let n = 1 + g.below(8) as usize;
        let changes = (0..n)
            .map(|_| {
                let table = 1 + g.below(u64::from(TABLES)) as u8;
                match g.below(10) {
                    0..=4 => Change::Insert { table, len: 10 + g.below(200) as usize },
                    5..=7 => Change::Update { table, pick: g.next() as usize, len: g.below(300) as usize },
                    _ => Change::Delete { table, pick: g.next() as usize },
                }
            })
            .collect();
        steps.push(Step::Txn { changes, commit: g.below(12) != 0 });
        if checkpoint_every.is_some_and(|k| i % k == k - 1) {
            steps.push(Step::Checkpoint);
        }
    }
    steps
}
