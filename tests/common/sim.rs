//! The simulation harness: a deterministic multi-table workload over the
//! engine on `SimVfs`, a model of what each commit leaves behind, and the
//! check that a recovered database equals the model after a prefix of the
//! commit order that includes every acknowledged commit.
//!
//! Tables are heap files registered in root slots 1..=TABLES of the file
//! header. A row is `rowid (u64 LE) ++ value`; the model is a map from
//! (table, rowid) to value.

#![allow(dead_code)]
// B+tree keys are big-endian rowids, so byte order is numeric order.
#![allow(clippy::big_endian_bytes)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use std::ops::Bound;
use waldb::io::{CrashImage, LossMode, SimVfs, Vfs};

use waldb::storage::btree::{BTree, Direction};
use waldb::storage::{HeapFile, PageStore, TupleId, header};
use waldb::txn::{Engine, EngineOptions, PendingCommit};
use waldb::wal::WalOptions;
use waldb::{Error, PageId};

use super::rng::Rng;

/// Heap tables in the workload (root slots 1..=TABLES).
pub const TABLES: u8 = 3;
/// The B+tree table: a unique tree in this root slot, keyed by the rowid
/// (big-endian), its value the row.
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
    }
}

/// One change inside a transaction.
#[derive(Clone, Debug)]
pub enum Change {
    /// Insert a new row of `len` bytes.
    Insert { table: u8, len: usize },
    /// Replace the `pick`th row (modulo the table's size).
    Update { table: u8, pick: usize, len: usize },
    /// Delete the `pick`th row.
    Delete { table: u8, pick: usize },
    /// Insert a new row of `len` bytes into the B+tree table.
    TreeInsert { len: usize },
    /// Replace the `pick`th row of the B+tree table.
    TreeUpdate { pick: usize, len: usize },
    /// Delete the `pick`th row of the B+tree table.
    TreeDelete { pick: usize },
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

fn row(rowid: u64, len: usize) -> Vec<u8> {
    let mut v = rowid.to_le_bytes().to_vec();
    v.extend((0..len).map(|i| (rowid.wrapping_mul(7).wrapping_add(i as u64 * 13)) as u8));
    v
}

fn split(t: &[u8]) -> (u64, Vec<u8>) {
    let mut b = [0u8; 8];
    b.copy_from_slice(&t[..8]);
    (u64::from_le_bytes(b), t[8..].to_vec())
}

/// The heap of `table`, if its creation has committed.
fn heap<S: PageStore>(s: &S, table: u8) -> waldb::Result<Option<HeapFile>> {
    let h = s.read(PageId::HEADER)?;
    let root = header::root(&h, usize::from(table));
    Ok((!root.is_none()).then(|| HeapFile::open(root)))
}

/// The B+tree table, if its creation has committed.
fn tree<S: PageStore>(s: &S) -> waldb::Result<Option<BTree>> {
    let h = s.read(PageId::HEADER)?;
    let root = header::root(&h, usize::from(TREE));
    Ok((!root.is_none()).then(|| BTree::open(root)))
}

/// Every row of every table, read in a read transaction; the B+tree table
/// must pass its structural check.
pub fn dump(e: &Engine) -> waldb::Result<State> {
    let r = e.begin_read()?;
    let mut out = State::new();
    let mut owners: Vec<(&str, Vec<PageId>)> = Vec::new();
    for t in 1..=TABLES {
        if let Some(h) = heap(&r, t)? {
            let mut pages = h.pages(&r)?;
            pages.push(h.meta_page());
            owners.push(("a heap", pages));
        }
    }
    if let Some(t) = tree(&r)? {
        owners.push(("the B+tree", t.check(&r)?.pages));
    }
    // Every page is owned once: nothing leaked by a crash, nothing shared.
    waldb::storage::check::check_pages(&r, &owners)?;
    if let Some(t) = tree(&r)? {
        let mut cur = t.range(&r, Bound::Unbounded, Bound::Unbounded, Direction::Forward)?;
        while let Some((k, v)) = cur.next(&r)? {
            let mut b = [0u8; 8];
            b.copy_from_slice(&k);
            out.insert((TREE, u64::from_be_bytes(b)), v.into());
        }
    }
    for t in 1..=TABLES {
        let Some(h) = heap(&r, t)? else { continue };
        let mut cur = h.cursor(&r)?;
        while let Some((_, tuple)) = cur.next(&r)? {
            let (rowid, value) = split(&tuple);
            if out.insert((t, rowid), value.into()).is_some() {
                return Err(Error::InvalidInput(format!("row {rowid} of table {t} appears twice")));
            }
        }
    }
    Ok(out)
}

type Index = Vec<BTreeMap<u64, TupleId>>;

fn rebuild_index(e: &Engine) -> waldb::Result<Index> {
    let r = e.begin_read()?;
    let mut idx: Index = vec![BTreeMap::new(); usize::from(TABLES) + 1];
    for t in 1..=TABLES {
        let Some(h) = heap(&r, t)? else { continue };
        let mut cur = h.cursor(&r)?;
        while let Some((tid, tuple)) = cur.next(&r)? {
            idx[usize::from(t)].insert(split(&tuple).0, tid);
        }
    }
    Ok(idx)
}

struct Runner<'a> {
    vfs: &'a SimVfs,
    opts: &'a EngineOptions,
    group: usize,
    /// Shared with a crash hook, which reads it in the middle of I/O calls:
    /// never held across a call into the engine.
    out: Arc<Mutex<Outcome>>,
    model: State,
    index: Index,
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
    fn commit(&mut self, tx: waldb::txn::WriteTxn, model: State, index: Index) -> waldb::Result<()> {
        {
            let mut out = self.out.lock();
            out.attempted += 1;
            out.states.push(model.clone());
        }
        match tx.commit_pending() {
            Ok(p) => {
                self.model = model;
                self.index = index;
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
        let mut index = self.index.clone();
        for c in changes {
            match *c {
                Change::Insert { table, len } => {
                    let Some(h) = heap(&tx, table)? else { continue };
                    let rowid = self.next_rowid;
                    self.next_rowid += 1;
                    let v = row(rowid, len);
                    let tid = h.insert(&tx, &v)?;
                    index[usize::from(table)].insert(rowid, tid);
                    model.insert((table, rowid), v[8..].into());
                }
                Change::Update { table, pick, len } => {
                    let Some(h) = heap(&tx, table)? else { continue };
                    let rows = &mut index[usize::from(table)];
                    let Some((&rowid, &tid)) = rows.iter().nth(pick % rows.len().max(1)) else { continue };
                    let v = row(rowid ^ (pick as u64) << 32, len);
                    let mut stored = rowid.to_le_bytes().to_vec();
                    stored.extend_from_slice(&v[8..]);
                    let new = h.update(&tx, tid, &stored)?;
                    rows.insert(rowid, new);
                    model.insert((table, rowid), stored[8..].into());
                }
                Change::TreeInsert { len } => {
                    let Some(t) = tree(&tx)? else { continue };
                    let rowid = self.next_rowid;
                    self.next_rowid += 1;
                    let v = row(rowid, len)[8..].to_vec();
                    if !t.insert(&tx, &rowid.to_be_bytes(), &v)? {
                        return Err(Error::InvalidInput(format!("tree row {rowid} already there")));
                    }
                    model.insert((TREE, rowid), v.into());
                }
                Change::TreeUpdate { pick, len } => {
                    let Some(t) = tree(&tx)? else { continue };
                    let rows: Vec<u64> = model.range((TREE, 0)..=(TREE, u64::MAX)).map(|((_, r), _)| *r).collect();
                    let Some(&rowid) = rows.get(pick % rows.len().max(1)) else { continue };
                    let v = row(rowid ^ (pick as u64) << 20, len)[8..].to_vec();
                    if t.put(&tx, &rowid.to_be_bytes(), &v)?.is_none() {
                        return Err(Error::InvalidInput(format!("tree row {rowid} was missing")));
                    }
                    model.insert((TREE, rowid), v.into());
                }
                Change::TreeDelete { pick } => {
                    let Some(t) = tree(&tx)? else { continue };
                    let rows: Vec<u64> = model.range((TREE, 0)..=(TREE, u64::MAX)).map(|((_, r), _)| *r).collect();
                    let Some(&rowid) = rows.get(pick % rows.len().max(1)) else { continue };
                    if t.delete(&tx, &rowid.to_be_bytes())?.is_none() {
                        return Err(Error::InvalidInput(format!("tree row {rowid} was missing")));
                    }
                    model.remove(&(TREE, rowid));
                }
                Change::Delete { table, pick } => {
                    let Some(h) = heap(&tx, table)? else { continue };
                    let rows = &mut index[usize::from(table)];
                    let Some((&rowid, &tid)) = rows.iter().nth(pick % rows.len().max(1)) else { continue };
                    if !h.delete(&tx, tid)? {
                        return Err(Error::InvalidInput(format!("row {rowid} was already gone")));
                    }
                    rows.remove(&rowid);
                    model.remove(&(table, rowid));
                }
            }
        }
        if commit { self.commit(tx, model, index) } else { tx.rollback() }
    }

    fn run(&mut self, steps: &[Step]) -> waldb::Result<()> {
        let mut e = Engine::open(Arc::new(self.vfs.clone()), &db_path(), self.opts.clone())?;
        self.setup(&e)?;
        self.index = rebuild_index(&e)?;
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
                    self.index = rebuild_index(&e)?;
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
        for t in 1..=TABLES {
            if heap(&tx, t)?.is_none() {
                let h = HeapFile::create(&tx)?;
                let mut hdr = tx.write(PageId::HEADER)?;
                header::set_root(&mut hdr, usize::from(t), h.meta_page());
                created = true;
            }
        }
        if tree(&tx)?.is_none() {
            let t = BTree::create(&tx, true)?;
            let mut hdr = tx.write(PageId::HEADER)?;
            header::set_root(&mut hdr, usize::from(TREE), t.root());
            created = true;
        }
        if !created {
            return tx.rollback();
        }
        let (m, i) = (self.model.clone(), self.index.clone());
        self.commit(tx, m, i)
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
        index: vec![BTreeMap::new(); usize::from(TABLES) + 1],
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

/// B+tree workload: `txns` transactions of 1–12 changes to the B+tree
/// table — inserts first, then a mix that deletes as much as it inserts, so
/// nodes split and merge — with a checkpoint every `checkpoint_every`.
pub fn btree_oltp(seed: u64, txns: usize, checkpoint_every: Option<usize>) -> Vec<Step> {
    let mut g = Rng(seed);
    let mut steps = Vec::new();
    for i in 0..txns {
        let n = 1 + g.below(12) as usize;
        let growing = i < txns / 2;
        let changes = (0..n)
            .map(|_| match (growing, g.below(10)) {
                (true, 0..=7) | (false, 0..=3) => Change::TreeInsert { len: 20 + g.below(180) as usize },
                (_, 8) | (false, 4..=5) => Change::TreeUpdate { pick: g.next() as usize, len: g.below(200) as usize },
                _ => Change::TreeDelete { pick: g.next() as usize },
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
