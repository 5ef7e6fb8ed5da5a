//! The SQL-level harness: a deterministic workload run through the public
//! API ([`Database`]) on a [`SimVfs`], the model of what every acknowledged
//! `execute` (autocommit) and `Transaction::commit` left behind, the runner
//! that follows a workload through injected faults, and the restart oracle
//! ([`verify`]). `tests/api_faults.rs` drives it with every I/O call failing
//! in turn (G3) and with bit flips at rest (G5); `tests/common/sim.rs` is the
//! engine-level counterpart that `tests/crash_sim.rs` drives.
//!
//! The handle is opened with [`Database::open_on_engine`]: the public
//! [`Options`] made small, plus segments prepared inline rather than on a
//! background thread, so that "the Nth I/O call" names the same call in
//! every run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use waldb::io::{CrashImage, SimVfs};
use waldb::txn::EngineOptions;
use waldb::{Database, Error, Options, Value};

use super::rng::Rng;

// ---------------------------------------------------------------------------
// Setup

pub fn db_path() -> PathBuf {
    PathBuf::from("/db/app.db")
}

/// Public [`Options`] made small (small pages, a 32-page pool, 16 KiB WAL
/// segments), then one engine setting `Options` does not expose: segments
/// prepared inline instead of on a background thread, so every I/O call
/// happens on the test's thread in a fixed order and "call N" names the
/// same call in every run.
pub fn options(checkpoint_bytes: Option<u64>, page_size: usize) -> EngineOptions {
    let o = Options {
        pool_bytes: 32 * page_size,
        pool_cap_bytes: 16 << 20,
        wal_segment_size: 16 * 1024,
        checkpoint_bytes,
        page_size,
        ..Options::default()
    };
    let mut e = o.engine_options();
    e.wal.background = false;
    e.wal.recycle_limit = 2;
    e
}

pub fn open(vfs: &SimVfs, opts: &EngineOptions) -> waldb::Result<Database> {
    Database::open_on_engine(Arc::new(vfs.clone()), &db_path(), opts.clone())
}

// ---------------------------------------------------------------------------
// The schema and the model

/// The schema objects of the workload: (type, name, table, `CREATE`
/// statement). The first [`BASE`] are created first, in autocommit; the
/// others come and go inside the workload, in transactions too.
pub const OBJECTS: [(&str, &str, &str, &str); 7] = [
    (
        "table",
        "acct",
        "acct",
        "CREATE TABLE acct(id INTEGER PRIMARY KEY, owner TEXT NOT NULL, email TEXT, balance INTEGER NOT NULL, \
         note BLOB)",
    ),
    ("index", "acct_owner", "acct", "CREATE INDEX acct_owner ON acct(owner)"),
    ("index", "acct_email", "acct", "CREATE UNIQUE INDEX acct_email ON acct(email)"),
    (
        "table",
        "entry",
        "entry",
        "CREATE TABLE entry(id INTEGER PRIMARY KEY, acct INTEGER NOT NULL, amount INTEGER NOT NULL, memo TEXT)",
    ),
    ("index", "entry_acct", "entry", "CREATE INDEX entry_acct ON entry(acct)"),
    ("index", "entry_amount", "entry", "CREATE INDEX entry_amount ON entry(amount, acct)"),
    ("index", "acct_bal", "acct", "CREATE INDEX acct_bal ON acct(balance)"),
];

/// The objects every statement of the workload needs.
pub const BASE: usize = 5;

pub const OWNERS: [&str; 6] = ["ada", "bob", "cy", "dee", "eve", "fay"];

pub type Row = Vec<Value>;

/// What the database holds: the schema objects (indexes into
/// [`OBJECTS`]) and the rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    pub schema: BTreeSet<usize>,
    /// id → [id, owner, email, balance, note]
    pub acct: BTreeMap<i64, Row>,
    /// id → [id, acct, amount, memo]
    pub entry: BTreeMap<i64, Row>,
}

impl State {
    pub fn summary(&self) -> String {
        let notes: usize = self.acct.values().filter(|r| matches!(r[4], Value::Blob(_))).count();
        let names: Vec<&str> = self.schema.iter().map(|&k| OBJECTS[k].1).collect();
        format!("schema {names:?}, {} accounts ({notes} with notes), {} entries", self.acct.len(), self.entry.len())
    }

    /// Whether the objects every statement needs exist.
    pub fn base(&self) -> bool {
        (0..BASE).all(|k| self.schema.contains(&k))
    }
}

pub fn int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

pub fn note_bytes(id: i64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (id as usize * 31 + i * 7 + len) as u8).collect()
}

/// One SQL statement of the workload, with its effect on the model.
#[derive(Clone, Debug)]
pub enum Op {
    /// One multi-row `INSERT INTO acct`: every row or none.
    AddAccts(Vec<Row>),
    /// `INSERT INTO entry` through a prepared statement.
    AddEntry(Row),
    /// `UPDATE acct SET balance = balance + ? WHERE id = ?`.
    Pay { id: i64, delta: i64 },
    /// Change the indexed columns: `UPDATE acct SET owner = ?, email = ? WHERE id = ?`.
    Move { id: i64, owner: String, email: Option<String> },
    /// `UPDATE acct SET balance = balance + ? WHERE owner = ?` (an index range).
    Bump { owner: String, delta: i64 },
    /// `UPDATE acct SET note = ? WHERE id = ?`: large values spill to
    /// overflow pages; NULL frees them.
    Note { id: i64, len: usize },
    /// `DELETE FROM acct WHERE id = ?`.
    DropAcct(i64),
    /// `DELETE FROM entry WHERE acct = ?` (an index lookup).
    DropEntries(i64),
    /// `CREATE INDEX` of `OBJECTS[k]` (built over the rows already there).
    CreateIndex(usize),
    /// `DROP INDEX` of `OBJECTS[k]`.
    DropIndex(usize),
}

/// The errors the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// [`Error::Constraint`]: a UNIQUE or PRIMARY KEY violation.
    Constraint,
    /// [`Error::Sql`]: a missing or existing schema object.
    Sql,
}

/// What the model predicts: the state after the statement and the rows it
/// changed, or an error that leaves no change.
pub type Predicted = Result<(State, usize), Expect>;

impl Op {
    pub fn sql(&self) -> String {
        match self {
            Op::AddAccts(rows) => format!("INSERT INTO acct VALUES {}", vec!["(?, ?, ?, ?, ?)"; rows.len()].join(", ")),
            Op::AddEntry(_) => ENTRY_INSERT.into(),
            Op::Pay { .. } => "UPDATE acct SET balance = balance + ? WHERE id = ?".into(),
            Op::Move { .. } => "UPDATE acct SET owner = ?, email = ? WHERE id = ?".into(),
            Op::Bump { .. } => "UPDATE acct SET balance = balance + ? WHERE owner = ?".into(),
            Op::Note { .. } => "UPDATE acct SET note = ? WHERE id = ?".into(),
            Op::DropAcct(_) => "DELETE FROM acct WHERE id = ?".into(),
            Op::DropEntries(_) => "DELETE FROM entry WHERE acct = ?".into(),
            Op::CreateIndex(k) => OBJECTS[*k].3.into(),
            Op::DropIndex(k) => format!("DROP INDEX {}", OBJECTS[*k].1),
        }
    }

    pub fn params(&self) -> Vec<Value> {
        match self {
            Op::AddAccts(rows) => rows.iter().flatten().cloned().collect(),
            Op::AddEntry(row) => row.clone(),
            Op::Pay { id, delta } => vec![Value::Integer(*delta), Value::Integer(*id)],
            Op::Move { id, owner, email } => {
                vec![Value::Text(owner.clone()), email.clone().map_or(Value::Null, Value::Text), Value::Integer(*id)]
            }
            Op::Bump { owner, delta } => vec![Value::Integer(*delta), Value::Text(owner.clone())],
            Op::Note { id, len } => {
                vec![if *len == 0 { Value::Null } else { Value::Blob(note_bytes(*id, *len)) }, Value::Integer(*id)]
            }
            Op::DropAcct(id) | Op::DropEntries(id) => vec![Value::Integer(*id)],
            Op::CreateIndex(_) | Op::DropIndex(_) => vec![],
        }
    }

    pub fn apply(&self, s: &State) -> Predicted {
        let mut s = s.clone();
        let email_taken = |s: &State, email: &Value, except: i64| {
            !matches!(email, Value::Null) && s.acct.iter().any(|(id, r)| *id != except && r[2] == *email)
        };
        let n = match self {
            Op::AddAccts(rows) => {
                for r in rows {
                    let id = int(&r[0]);
                    if s.acct.contains_key(&id) || email_taken(&s, &r[2], id) {
                        return Err(Expect::Constraint);
                    }
                    s.acct.insert(id, r.clone());
                }
                rows.len()
            }
            Op::AddEntry(r) => {
                if s.entry.insert(int(&r[0]), r.clone()).is_some() {
                    return Err(Expect::Constraint);
                }
                1
            }
            Op::Pay { id, delta } => match s.acct.get_mut(id) {
                Some(r) => {
                    r[3] = Value::Integer(int(&r[3]) + delta);
                    1
                }
                None => 0,
            },
            Op::Move { id, owner, email } => {
                let email = email.clone().map_or(Value::Null, Value::Text);
                if !s.acct.contains_key(id) {
                    0
                } else if email_taken(&s, &email, *id) {
                    return Err(Expect::Constraint);
                } else {
                    let r = s.acct.get_mut(id).expect("present");
                    r[1] = Value::Text(owner.clone());
                    r[2] = email;
                    1
                }
            }
            Op::Bump { owner, delta } => {
                let mut n = 0;
                for r in s.acct.values_mut().filter(|r| r[1] == Value::Text(owner.clone())) {
                    r[3] = Value::Integer(int(&r[3]) + delta);
                    n += 1;
                }
                n
            }
            Op::Note { id, len } => match s.acct.get_mut(id) {
                Some(r) => {
                    r[4] = if *len == 0 { Value::Null } else { Value::Blob(note_bytes(*id, *len)) };
                    1
                }
                None => 0,
            },
            Op::DropAcct(id) => usize::from(s.acct.remove(id).is_some()),
            Op::DropEntries(a) => {
                let before = s.entry.len();
                s.entry.retain(|_, r| int(&r[1]) != *a);
                before - s.entry.len()
            }
            Op::CreateIndex(k) => {
                if !s.schema.insert(*k) {
                    return Err(Expect::Sql);
                }
                0
            }
            Op::DropIndex(k) => {
                if !s.schema.remove(k) {
                    return Err(Expect::Sql);
                }
                0
            }
        };
        Ok((s, n))
    }
}

pub const ENTRY_INSERT: &str = "INSERT INTO entry VALUES (?, ?, ?, ?)";

/// One step of a workload.
#[derive(Clone, Debug)]
pub enum Step {
    /// The `CREATE` of `OBJECTS[k]` in autocommit.
    Ddl(usize),
    /// One statement in autocommit.
    Auto(Op),
    /// `BEGIN`, the statements, then `COMMIT` (or `ROLLBACK`).
    Txn { ops: Vec<Op>, commit: bool },
    /// `Database::checkpoint`.
    Checkpoint,
    /// `Database::close`.
    Close,
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Ddl(_) => "DDL",
            Step::Auto(_) => "autocommit",
            Step::Txn { commit: true, .. } => "transaction",
            Step::Txn { commit: false, .. } => "rolled-back transaction",
            Step::Checkpoint => "checkpoint",
            Step::Close => "close",
        }
    }
}

pub fn acct_row(id: i64, g: &mut Rng) -> Row {
    let owner = OWNERS[g.below(OWNERS.len() as u64) as usize];
    let email = if g.below(5) == 0 { Value::Null } else { Value::Text(format!("u{id}@x")) };
    vec![Value::Integer(id), Value::Text(owner.into()), email, Value::Integer(100), Value::Null]
}

pub fn entry_row(id: i64, acct: i64, amount: i64) -> Row {
    vec![Value::Integer(id), Value::Integer(acct), Value::Integer(amount), Value::Text(format!("transfer {id}"))]
}

/// The deterministic SQL workload: the schema, then `rounds` rounds of
/// inserts, transfers in transactions (one in three with a statement that
/// violates the UNIQUE index mid-way), moves that change indexed columns,
/// large notes (overflow pages) set and cleared, deletes, a rolled-back
/// transaction, a primary-key violation, and checkpoints.
pub fn workload(seed: u64, rounds: usize, checkpoints: &[usize], close: bool) -> Vec<Step> {
    let mut g = Rng(seed);
    let mut steps: Vec<Step> = (0..BASE).map(Step::Ddl).collect();
    let (mut next_acct, mut next_entry) = (1i64, 1i64);
    for r in 0..rounds {
        let rows: Vec<Row> = (0..3)
            .map(|_| {
                next_acct += 1;
                acct_row(next_acct - 1, &mut g)
            })
            .collect();
        let fresh = int(&rows[0][0]);
        steps.push(Step::Auto(Op::AddAccts(rows)));
        let (a, b, amount) = (g.id(next_acct), g.id(next_acct), 1 + g.below(50) as i64);
        let mut ops = vec![
            Op::AddEntry(entry_row(next_entry, a, -amount)),
            Op::AddEntry(entry_row(next_entry + 1, b, amount)),
            Op::Pay { id: a, delta: -amount },
        ];
        next_entry += 2;
        if r % 3 == 1 {
            // Mid-transaction: the second row takes the email of an account
            // made this round — a UNIQUE violation; the first row must not
            // stay, and the transaction goes on.
            let mut dup = acct_row(next_acct + 1, &mut g);
            dup[2] = Value::Text(format!("u{fresh}@x"));
            ops.push(Op::AddAccts(vec![acct_row(next_acct, &mut g), dup]));
        }
        ops.push(Op::Pay { id: b, delta: amount });
        ops.push(Op::Bump { owner: OWNERS[r % OWNERS.len()].into(), delta: 1 });
        steps.push(Step::Txn { ops, commit: true });
        let email = match g.below(4) {
            0 => None,
            1 => Some(format!("u{}@x", g.id(next_acct))), // often taken: a UNIQUE violation
            _ => Some(format!("m{r}@x")),
        };
        let owner = OWNERS[g.below(OWNERS.len() as u64) as usize].to_string();
        steps.push(Step::Auto(Op::Move { id: g.id(next_acct), owner, email }));
        match r % 4 {
            1 => steps.push(Step::Auto(Op::Note { id: g.id(next_acct), len: 1500 + g.below(3000) as usize })),
            3 => steps.push(Step::Auto(Op::Note { id: g.id(next_acct), len: g.below(2) as usize * 40 })),
            _ => {}
        }
        if r == rounds / 2 {
            // An index built over the rows already there.
            steps.push(Step::Auto(Op::CreateIndex(5)));
        }
        if r % 7 == 3 {
            // A schema change rolled back with the writes that used it.
            let ops = vec![
                Op::CreateIndex(6),
                Op::Pay { id: g.id(next_acct), delta: 3 },
                Op::Bump { owner: OWNERS[(r + 1) % OWNERS.len()].into(), delta: 2 },
            ];
            steps.push(Step::Txn { ops, commit: false });
        }
        if r == rounds * 3 / 4 {
            // An index dropped between two runs of one prepared insert,
            // which must plan again.
            let ops = vec![
                Op::AddEntry(entry_row(next_entry, g.id(next_acct), 9)),
                Op::DropIndex(5),
                Op::AddEntry(entry_row(next_entry + 1, g.id(next_acct), -9)),
            ];
            next_entry += 2;
            steps.push(Step::Txn { ops, commit: true });
        }
        if r + 2 == rounds {
            let ops = vec![
                Op::CreateIndex(6),
                Op::AddAccts(vec![acct_row(next_acct, &mut g)]),
                Op::Pay { id: g.id(next_acct), delta: 5 },
            ];
            next_acct += 1;
            steps.push(Step::Txn { ops, commit: true });
        }
        if r % 5 == 2 {
            let ops = vec![
                Op::AddAccts(vec![acct_row(next_acct + 1000, &mut g)]),
                Op::DropAcct(g.id(next_acct)),
                Op::Note { id: g.id(next_acct), len: 2000 },
                Op::Pay { id: g.id(next_acct), delta: 7 },
            ];
            steps.push(Step::Txn { ops, commit: false });
        }
        if r % 3 == 2 {
            steps.push(Step::Auto(Op::DropAcct(g.id(next_acct))));
            steps.push(Step::Auto(Op::DropEntries(g.id(next_acct))));
        }
        if r % 6 == 5 {
            // A primary-key violation in autocommit.
            steps.push(Step::Auto(Op::AddEntry(entry_row(g.id(next_entry), 1, 0))));
        }
        if checkpoints.contains(&r) {
            steps.push(Step::Checkpoint);
        }
    }
    if close {
        steps.push(Step::Close);
    }
    steps
}

/// The database as a [`State`], read through SQL.
pub fn dump(db: &Database) -> waldb::Result<State> {
    let schema =
        db.query("SELECT type, name, tbl_name FROM waldb_schema WHERE sql IS NOT NULL ORDER BY name", ())?.values();
    let mut s = State::default();
    for r in schema {
        let k = OBJECTS
            .iter()
            .position(|(t, n, tb, _)| {
                r == [Value::Text((*t).into()), Value::Text((*n).into()), Value::Text((*tb).into())]
            })
            .ok_or_else(|| Error::InvalidInput(format!("a schema object the workload never made: {r:?}")))?;
        s.schema.insert(k);
    }
    if s.schema.contains(&0) {
        for r in db.query("SELECT id, owner, email, balance, note FROM acct ORDER BY id", ())?.values() {
            s.acct.insert(int(&r[0]), r);
        }
    }
    if s.schema.contains(&3) {
        for r in db.query("SELECT id, acct, amount, memo FROM entry ORDER BY id", ())?.values() {
            s.entry.insert(int(&r[0]), r);
        }
    }
    Ok(s)
}

// ---------------------------------------------------------------------------
// Running a workload

/// How a step ended.
#[derive(Clone, Debug, PartialEq)]
pub enum StepEnd {
    /// As the model predicted (success, or the predicted constraint error).
    Ok,
    /// Failed with this error (I/O, `DiskFull`, `Poisoned`, ...).
    Failed(String),
    /// Not run: an earlier failure made it pointless (a missing table).
    Skipped,
}

/// What one run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// States a recovery may show, in commit order: `timeline[acked..]`.
    pub timeline: Vec<State>,
    /// Index in `timeline` of the last acknowledged state.
    pub acked: usize,
    /// The I/O calls each step made: `spans[0]` is the open, `spans[k+1]`
    /// step `k`.
    pub spans: Vec<(u64, u64)>,
    /// How each (open, then each step) ended.
    pub ends: Vec<StepEnd>,
    /// The handle reported `Poisoned` (at or after this span).
    pub poisoned_at: Option<usize>,
    /// Errors seen, by kind.
    pub error_kinds: Vec<&'static str>,
    /// Broken promises.
    pub violations: Vec<String>,
    /// Predicted constraint violations that happened.
    pub constraint_errors: usize,
}

pub fn kind(e: &Error) -> &'static str {
    match e {
        Error::Io { .. } => "Io",
        Error::DiskFull { .. } => "DiskFull",
        Error::Poisoned { .. } => "Poisoned",
        Error::Corrupt { .. } | Error::CorruptFile { .. } | Error::CorruptLog { .. } => "Corrupt",
        Error::Closed => "Closed",
        Error::InvalidInput(_) => "InvalidInput",
        _ => "other",
    }
}

struct Runner<'a> {
    vfs: &'a SimVfs,
    fault_at: Option<u64>,
    model: State,
    out: Outcome,
    poisoned: bool,
    /// The model can no longer follow the database (a failed DDL, or a
    /// failure whose effect could not be read back): run no more steps.
    stop: bool,
    span: usize,
}

impl Runner<'_> {
    fn fired(&self) -> bool {
        self.fault_at.is_some_and(|f| self.vfs.io_count() > f)
    }

    fn violation(&mut self, msg: String) {
        self.out.violations.push(format!("step {}: {msg}", self.span.saturating_sub(1)));
    }

    /// A commit acknowledged with state `new`.
    fn ack(&mut self, new: State) {
        if self.poisoned {
            self.violation("a commit returned Ok after the handle reported Poisoned".into());
        }
        if new != self.model {
            self.out.timeline.push(new.clone());
            self.out.acked = self.out.timeline.len() - 1;
            self.model = new;
        }
    }

    /// Whether the handle refuses writes with `Poisoned` (no I/O: a
    /// transaction is begun and dropped).
    fn probe_poison(&mut self, db: &Database) -> bool {
        if db.in_transaction() {
            return false;
        }
        match db.transaction() {
            Ok(tx) => {
                drop(tx);
                false
            }
            Err(e) if e.is_poisoned() => true,
            Err(e) => {
                self.violation(format!("beginning a transaction to probe for poison failed with {e}"));
                false
            }
        }
    }

    /// The handle just reported `Poisoned`: from now on it refuses writes,
    /// and a read shows nothing that is not durable — the read is refused,
    /// or it shows the last acknowledged state (or a later one a flush made
    /// durable), never the commit that just failed (`docs/TESTING.md`, "poison").
    /// Called before that commit joins the timeline.
    fn mark_poisoned(&mut self, db: &Database) {
        if self.poisoned {
            return;
        }
        self.poisoned = true;
        self.out.poisoned_at = Some(self.span);
        if db.in_transaction() {
            return;
        }
        if let Ok(s) = dump(db)
            && !self.out.timeline[self.out.acked..].contains(&s)
        {
            self.violation(format!(
                "a poisoned handle shows {}, not the last acknowledged state {}",
                s.summary(),
                self.out.timeline[self.out.acked].summary()
            ));
        }
    }

    /// A write (statement, commit, checkpoint) failed with `e`, not a
    /// predicted constraint violation. `candidate` is the state it would
    /// have committed. Returns the end of the step.
    fn failed(&mut self, db: &Database, e: &Error, candidate: Option<State>) -> StepEnd {
        self.out.error_kinds.push(kind(e));
        if !self.fired() {
            self.violation(format!("failed before any fault fired: {e}"));
        }
        if self.poisoned {
            if !e.is_poisoned() {
                self.violation(format!("after Poisoned, a write failed with another error: {e}"));
            }
            return StepEnd::Failed(e.to_string());
        }
        if e.is_poisoned() || self.probe_poison(db) {
            self.mark_poisoned(db);
            // The commit may have reached the log before the failure: it
            // may or may not survive, as a whole.
            if let Some(c) = candidate
                && c != self.model
            {
                self.out.timeline.push(c);
            }
            return StepEnd::Failed(e.to_string());
        }
        // Still usable: the handle shows the state before or after it.
        match dump(db) {
            Ok(s) if s == self.model => {}
            Ok(s) if candidate.as_ref() == Some(&s) => {
                self.out.timeline.push(s.clone());
                self.model = s;
            }
            Ok(s) => self.violation(format!(
                "after a failed write ({e}) the handle shows {}, neither before ({}) nor after it",
                s.summary(),
                self.model.summary()
            )),
            Err(e2) => {
                if let Some(c) = candidate
                    && c != self.model
                {
                    self.out.timeline.push(c);
                }
                if self.probe_poison(db) {
                    self.mark_poisoned(db);
                }
                self.out.error_kinds.push(kind(&e2));
                self.stop = true;
            }
        }
        StepEnd::Failed(e.to_string())
    }

    /// Compare a statement's result with the model's prediction.
    fn settle(&mut self, res: &waldb::Result<usize>, predicted: &Predicted) -> Option<()> {
        match (res, predicted) {
            (Ok(n), Ok((_, m))) => {
                if n != m {
                    self.violation(format!("{n} rows changed, the model says {m}"));
                }
                Some(())
            }
            (Ok(_), Err(x)) => {
                self.violation(format!("a statement succeeded that the model says fails ({x:?})"));
                Some(())
            }
            (Err(Error::Constraint { .. }), Err(Expect::Constraint)) => {
                self.out.constraint_errors += 1;
                Some(())
            }
            (Err(Error::Sql(_)), Err(Expect::Sql)) => Some(()),
            (Err(e @ (Error::Constraint { .. } | Error::Sql(_))), _) if !self.fired() => {
                self.violation(format!("unexpected error {e} (the model says {predicted:?})"));
                Some(())
            }
            (Err(_), _) => None,
        }
    }

    fn run_op<'d>(db: &'d Database, op: &Op, insert: &mut Option<waldb::Statement<'d>>) -> waldb::Result<usize> {
        match op {
            Op::AddEntry(row) => {
                if insert.is_none() {
                    *insert = Some(db.prepare(ENTRY_INSERT)?);
                }
                insert.as_mut().expect("prepared").execute(row.clone())
            }
            _ => db.execute(&op.sql(), op.params()),
        }
    }

    fn step(&mut self, db: &Database, step: &Step) -> StepEnd {
        if self.poisoned && !matches!(step, Step::Close) {
            // Every write must now be refused with Poisoned.
            let res = match step {
                Step::Ddl(k) => db.execute(OBJECTS[*k].3, ()).map(|_| ()),
                Step::Auto(op) => db.execute(&op.sql(), op.params()).map(|_| ()),
                Step::Txn { .. } => db.transaction().map(drop),
                Step::Checkpoint => db.checkpoint().map(drop),
                Step::Close => Ok(()),
            };
            return match res {
                Ok(()) => {
                    self.violation(format!("a {} succeeded on a poisoned handle", step.name()));
                    StepEnd::Ok
                }
                Err(e) => {
                    self.out.error_kinds.push(kind(&e));
                    if !e.is_poisoned() {
                        self.violation(format!("a {} on a poisoned handle failed with {e}", step.name()));
                    }
                    StepEnd::Failed(e.to_string())
                }
            };
        }
        match step {
            Step::Ddl(k) => {
                if self.model.schema.contains(k) || !(0..*k).all(|i| self.model.schema.contains(&i)) {
                    return StepEnd::Skipped;
                }
                let mut new = self.model.clone();
                new.schema.insert(*k);
                let mut end = StepEnd::Ok;
                // A failed CREATE that left the handle usable and the schema
                // unchanged is tried once more: the statements after it then
                // run on a catalog that once failed to change.
                for attempt in 0..2 {
                    match db.execute(OBJECTS[*k].3, ()) {
                        Ok(_) => {
                            self.ack(new);
                            return if attempt == 0 { StepEnd::Ok } else { end };
                        }
                        Err(e) => end = self.failed(db, &e, Some(new.clone())),
                    }
                    if self.poisoned || self.stop || self.model.schema.contains(k) {
                        break;
                    }
                }
                // Later steps need the schema: the model stops here.
                self.stop |= !self.model.schema.contains(k);
                end
            }
            Step::Auto(op) => {
                if !self.model.base() {
                    return StepEnd::Skipped;
                }
                let predicted = op.apply(&self.model);
                let res = Runner::run_op(db, op, &mut None);
                match self.settle(&res, &predicted) {
                    Some(()) => {
                        if let (Ok(_), Ok((new, _))) = (&res, predicted) {
                            self.ack(new);
                        }
                        StepEnd::Ok
                    }
                    None => {
                        let e = res.expect_err("settled otherwise");
                        self.failed(db, &e, predicted.ok().map(|p| p.0))
                    }
                }
            }
            Step::Txn { ops, commit } => {
                if !self.model.base() {
                    return StepEnd::Skipped;
                }
                self.txn(db, ops, *commit)
            }
            Step::Checkpoint => match db.checkpoint() {
                Ok(_) => StepEnd::Ok,
                Err(e) => self.failed(db, &e, None),
            },
            Step::Close => unreachable!("close is run by the caller"),
        }
    }

    fn txn(&mut self, db: &Database, ops: &[Op], commit: bool) -> StepEnd {
        let tx = match db.transaction() {
            Ok(tx) => tx,
            Err(e) => return self.failed(db, &e, None),
        };
        let mut local = self.model.clone();
        let mut insert = None;
        let mut dead: Option<Error> = None;
        // A statement that failed and was undone alone: the step reported
        // the fault even if the transaction then commits.
        let mut undone: Option<String> = None;
        for op in ops {
            let predicted = op.apply(&local);
            let res = Runner::run_op(&tx, op, &mut insert);
            match self.settle(&res, &predicted) {
                Some(()) => {
                    if let Ok((new, _)) = predicted
                        && res.is_ok()
                    {
                        local = new;
                    }
                    if !tx.in_transaction() {
                        self.violation("a statement that failed a check ended its transaction".into());
                    }
                }
                None => {
                    let e = res.expect_err("settled otherwise");
                    self.out.error_kinds.push(kind(&e));
                    if !self.fired() {
                        self.violation(format!("failed before any fault fired: {e}"));
                    }
                    if !tx.in_transaction() {
                        // The failure ended (rolled back) the transaction.
                        dead = Some(e);
                        break;
                    }
                    // The statement was undone on its own; the transaction
                    // must look as before it.
                    match dump(&tx) {
                        Ok(s) if s == local => undone = Some(format!("a statement failed and was undone: {e}")),
                        Ok(s) => self.violation(format!(
                            "a statement that failed ({e}) left a trace in its transaction: {} instead of {}",
                            s.summary(),
                            local.summary()
                        )),
                        Err(_) => {
                            dead = Some(e);
                            break;
                        }
                    }
                }
            }
        }
        drop(insert);
        if let Some(e) = dead {
            drop(tx);
            // Nothing of it was committed.
            return self.failed(db, &e, None);
        }
        let ok = || undone.clone().map_or(StepEnd::Ok, StepEnd::Failed);
        if !commit {
            return match tx.rollback() {
                Ok(()) => ok(),
                Err(e) => self.failed(db, &e, None),
            };
        }
        match tx.commit() {
            Ok(_) => {
                self.ack(local);
                ok()
            }
            Err(e) => self.failed(db, &e, Some(local)),
        }
    }
}

/// Run `steps` on `vfs` (with whatever fault it holds); return the disk as
/// a power failure at the end would leave it, then drop the handle.
pub fn run(vfs: &SimVfs, opts: &EngineOptions, steps: &[Step], fault_at: Option<u64>) -> (Outcome, CrashImage) {
    let mut r = Runner {
        vfs,
        fault_at,
        model: State::default(),
        out: Outcome { timeline: vec![State::default()], ..Outcome::default() },
        poisoned: false,
        stop: false,
        span: 0,
    };
    let opened = open(vfs, opts);
    r.out.spans.push((0, vfs.io_count()));
    r.span = 1;
    let db = match opened {
        Ok(db) => {
            r.out.ends.push(StepEnd::Ok);
            db
        }
        Err(e) => {
            if !r.fired() {
                r.violation(format!("open failed before any fault fired: {e}"));
            }
            r.out.error_kinds.push(kind(&e));
            r.out.ends.push(StepEnd::Failed(e.to_string()));
            return (r.out, vfs.crash_image());
        }
    };
    let mut db = Some(db);
    for step in steps {
        let before = vfs.io_count();
        let end = if r.stop {
            StepEnd::Skipped
        } else if let Step::Close = step {
            let d = db.take().expect("open until close");
            match d.close() {
                Ok(()) => StepEnd::Ok,
                Err(e) => {
                    r.out.error_kinds.push(kind(&e));
                    if !r.fired() {
                        r.violation(format!("close failed before any fault fired: {e}"));
                    }
                    StepEnd::Failed(e.to_string())
                }
            }
        } else {
            r.step(db.as_ref().expect("open until close"), step)
        };
        let after = vfs.io_count();
        r.out.spans.push((before, after));
        // A fault this step absorbed (it returned Ok) may still have
        // poisoned the handle: find out now, before any later write.
        if let (Some(f), Some(d)) = (fault_at, db.as_ref())
            && (before..after).contains(&f)
            && end == StepEnd::Ok
            && !r.poisoned
            && r.probe_poison(d)
        {
            r.mark_poisoned(d);
        }
        r.out.ends.push(end);
        r.span += 1;
    }
    // Power fails now (the image), or the process exits: the handle is
    // dropped, which closes it if it is still open.
    let image = vfs.crash_image();
    drop(db);
    (r.out, image)
}

/// Open the database on `disk` (a crash image booted, or the run's own disk
/// with its faults cleared) and check it against the run's model: it
/// recovers, equals the model after a prefix of the commit order that holds
/// every acknowledged commit, passes the integrity check, and takes a
/// write. Returns the state found.
pub fn verify(disk: SimVfs, out: &Outcome, opts: &EngineOptions) -> Result<State, String> {
    let db = open(&disk, opts).map_err(|e| format!("reopen failed: {e}"))?;
    let got = dump(&db).map_err(|e| format!("reading the recovered database failed: {e}"))?;
    let allowed = &out.timeline[out.acked..];
    if !allowed.contains(&got) {
        let near = out.timeline.iter().position(|s| *s == got);
        return Err(format!(
            "recovered state {} is not allowed: acked state #{} is {}, {} states in the timeline, found at {near:?}",
            got.summary(),
            out.acked,
            out.timeline[out.acked].summary(),
            out.timeline.len()
        ));
    }
    db.check_integrity().map_err(|e| format!("integrity check failed after recovery: {e}"))?;
    if got.base() {
        // Usable again: a write commits.
        db.execute(ENTRY_INSERT, (-1, 0, 0, "after recovery")).map_err(|e| format!("write after recovery: {e}"))?;
    }
    disk.crash(); // skip the close's checkpoint: nothing more to learn
    drop(db);
    Ok(got)
}
