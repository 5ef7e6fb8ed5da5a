//! The two engines behind one [`Conn`] trait: waldb (one handle, cloned
//! per thread) and SQLite (rusqlite, a connection per thread, WAL mode,
//! `synchronous=FULL`).

use super::*;

/// One connection to one engine. Each method runs a whole step with its own
/// prepared statement and checks what it gets back.
pub(super) trait Conn: Send {
    fn create_table(&mut self);
    /// One autocommit insert per id; the latency of each.
    fn autocommit_inserts(&mut self, d: &Data, ids: Range<i64>) -> Vec<Duration>;
    /// `BEGIN`, `per_txn` inserts, `COMMIT` until `ids` is done; the latency
    /// of each transaction.
    fn txn_inserts(&mut self, d: &Data, ids: Range<i64>, per_txn: u64) -> Vec<Duration>;
    /// Look up `v` by id for each probe.
    fn lookup_ids(&mut self, d: &Data, probes: &[i64]);
    fn execute(&mut self, sql: &str);
    /// Rows found by `k = ?` for each probe (each checked against `d`).
    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64;
    /// count(*), sum(k), avg(length(v)).
    fn aggregate(&mut self) -> (i64, i64, f64);
    /// count(*), sum(k) of `k BETWEEN lo AND hi`.
    fn range(&mut self, lo: i64, hi: i64) -> (i64, i64);
    fn checkpoint(&mut self);
    /// Another connection to the same database, for another thread.
    fn another(&self) -> Box<dyn Conn>;
    /// (commits, fsyncs) so far, where the engine counts them.
    fn commit_syncs(&self) -> Option<(u64, u64)>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Engine {
    Waldb,
    Sqlite,
}

pub(super) const ENGINES: [Engine; 2] = [Engine::Waldb, Engine::Sqlite];

impl Engine {
    pub(super) fn name(self) -> &'static str {
        match self {
            Engine::Waldb => "waldb",
            Engine::Sqlite => "sqlite",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Engine> {
        ENGINES.into_iter().find(|e| e.name() == s)
    }

    pub(super) fn db_path(self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.db", self.name()))
    }

    /// Open the engine's database in `dir`; `autocheckpoint: false` turns
    /// automatic checkpoints off (W6, W7).
    pub(super) fn open(self, dir: &Path, autocheckpoint: bool) -> Box<dyn Conn> {
        let path = self.db_path(dir);
        match self {
            Engine::Waldb => {
                let mut o = Options::default();
                if !autocheckpoint {
                    o.checkpoint_bytes = None;
                }
                Box::new(Waldb(Database::open_with(path, o).expect("open waldb")))
            }
            Engine::Sqlite => {
                let s = Sqlite::open(&path);
                if !autocheckpoint {
                    s.0.pragma_update(None, "wal_autocheckpoint", 0).expect("wal_autocheckpoint");
                }
                Box::new(s)
            }
        }
    }
}

pub(super) struct Waldb(pub(super) Database);

impl Conn for Waldb {
    fn create_table(&mut self) {
        self.0.execute(CREATE, ()).expect("waldb: create table");
    }

    fn autocommit_inserts(&mut self, d: &Data, ids: Range<i64>) -> Vec<Duration> {
        let mut st = self.0.prepare(INSERT).expect("waldb: prepare insert");
        let mut lat = Vec::with_capacity(ids.end.saturating_sub(ids.start) as usize);
        for id in ids {
            let t0 = Instant::now();
            let n = st.execute((id, d.k_of(id), d.v_of(id))).expect("waldb: insert");
            lat.push(t0.elapsed());
            assert_eq!(n, 1, "waldb: insert of {id}");
        }
        lat
    }

    fn txn_inserts(&mut self, d: &Data, ids: Range<i64>, per_txn: u64) -> Vec<Duration> {
        let mut st = self.0.prepare(INSERT).expect("waldb: prepare insert");
        let mut begin = self.0.prepare("BEGIN").expect("waldb: prepare begin");
        let mut commit = self.0.prepare("COMMIT").expect("waldb: prepare commit");
        let mut lat = Vec::new();
        let mut id = ids.start;
        while id < ids.end {
            let t0 = Instant::now();
            begin.execute(()).expect("waldb: begin");
            for _ in 0..per_txn.min((ids.end - id) as u64) {
                assert_eq!(st.execute((id, d.k_of(id), d.v_of(id))).expect("waldb: insert"), 1);
                id += 1;
            }
            commit.execute(()).expect("waldb: commit");
            lat.push(t0.elapsed());
        }
        lat
    }

    fn lookup_ids(&mut self, d: &Data, probes: &[i64]) {
        let mut st = self.0.prepare("SELECT v FROM t WHERE id = ?").expect("waldb: prepare lookup");
        for &id in probes {
            let v: String = st.query_row([id], |r| r.get(0)).expect("waldb: lookup by id");
            assert_eq!(v, d.v_of(id), "waldb: wrong v for id {id}");
        }
    }

    fn execute(&mut self, sql: &str) {
        self.0.execute(sql, ()).unwrap_or_else(|e| panic!("waldb: {sql}: {e}"));
    }

    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64 {
        let mut st = self.0.prepare("SELECT id, v FROM t WHERE k = ?").expect("waldb: prepare lookup by k");
        let mut found = 0;
        for &k in probes {
            for r in &st.query([k]).expect("waldb: lookup by k") {
                let id: i64 = r.get(0).expect("id");
                let v: String = r.get(1).expect("v");
                assert!(d.k_of(id) == k && v == d.v_of(id), "waldb: wrong row {id} for k = {k}");
                found += 1;
            }
        }
        found
    }

    fn aggregate(&mut self) -> (i64, i64, f64) {
        self.0.query_row(AGGREGATE, (), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("waldb: aggregate")
    }

    fn range(&mut self, lo: i64, hi: i64) -> (i64, i64) {
        let mut st = self.0.prepare(RANGE).expect("waldb: prepare range");
        st.query_row((lo, hi), |r| Ok((r.get(0)?, r.get::<Option<i64>>(1)?.unwrap_or(0)))).expect("waldb: range")
    }

    fn checkpoint(&mut self) {
        self.0.checkpoint().expect("waldb: checkpoint");
    }

    fn another(&self) -> Box<dyn Conn> {
        Box::new(Waldb(self.0.clone()))
    }

    fn commit_syncs(&self) -> Option<(u64, u64)> {
        let s = self.0.stats();
        Some((s.wal.commits, s.wal.syncs))
    }
}

pub(super) struct Sqlite(pub(super) rusqlite::Connection, pub(super) PathBuf);

/// Autocommit inserts SQLite gave up on after its busy timeout (retried).
pub(super) static SQLITE_BUSY_RETRIES: AtomicU64 = AtomicU64::new(0);

impl Sqlite {
    pub(super) fn open(path: &Path) -> Sqlite {
        let c = rusqlite::Connection::open(path).expect("open sqlite");
        c.busy_timeout(Duration::from_millis(5000)).expect("busy_timeout");
        let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).expect("journal_mode");
        assert_eq!(mode, "wal");
        c.pragma_update(None, "synchronous", "FULL").expect("synchronous");
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("synchronous");
        assert_eq!(sync, 2, "synchronous=FULL");
        Sqlite(c, path.to_path_buf())
    }
}

impl Conn for Sqlite {
    fn create_table(&mut self) {
        self.0.execute(CREATE, []).expect("sqlite: create table");
    }

    fn autocommit_inserts(&mut self, d: &Data, ids: Range<i64>) -> Vec<Duration> {
        let mut st = self.0.prepare(INSERT).expect("sqlite: prepare insert");
        let mut lat = Vec::with_capacity(ids.end.saturating_sub(ids.start) as usize);
        for id in ids {
            let t0 = Instant::now();
            // Past its busy timeout SQLite gives up with SQLITE_BUSY; an
            // application would try again, so the bench does, and the
            // latency includes the wait.
            let n = loop {
                match st.execute((id, d.k_of(id), d.v_of(id))) {
                    Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
                        SQLITE_BUSY_RETRIES.fetch_add(1, Ordering::Relaxed);
                    }
                    r => break r.expect("sqlite: insert"),
                }
            };
            lat.push(t0.elapsed());
            assert_eq!(n, 1, "sqlite: insert of {id}");
        }
        lat
    }

    fn txn_inserts(&mut self, d: &Data, ids: Range<i64>, per_txn: u64) -> Vec<Duration> {
        let mut st = self.0.prepare(INSERT).expect("sqlite: prepare insert");
        let mut begin = self.0.prepare("BEGIN").expect("sqlite: prepare begin");
        let mut commit = self.0.prepare("COMMIT").expect("sqlite: prepare commit");
        let mut lat = Vec::new();
        let mut id = ids.start;
        while id < ids.end {
            let t0 = Instant::now();
            begin.execute([]).expect("sqlite: begin");
            for _ in 0..per_txn.min((ids.end - id) as u64) {
                assert_eq!(st.execute((id, d.k_of(id), d.v_of(id))).expect("sqlite: insert"), 1);
                id += 1;
            }
            commit.execute([]).expect("sqlite: commit");
            lat.push(t0.elapsed());
        }
        lat
    }

    fn lookup_ids(&mut self, d: &Data, probes: &[i64]) {
        let mut st = self.0.prepare("SELECT v FROM t WHERE id = ?").expect("sqlite: prepare lookup");
        for &id in probes {
            let v: String = st.query_row([id], |r| r.get(0)).expect("sqlite: lookup by id");
            assert_eq!(v, d.v_of(id), "sqlite: wrong v for id {id}");
        }
    }

    fn execute(&mut self, sql: &str) {
        self.0.execute(sql, []).unwrap_or_else(|e| panic!("sqlite: {sql}: {e}"));
    }

    fn lookup_ks(&mut self, d: &Data, probes: &[i64]) -> u64 {
        let mut st = self.0.prepare("SELECT id, v FROM t WHERE k = ?").expect("sqlite: prepare lookup by k");
        let mut found = 0;
        for &k in probes {
            let mut rows = st.query([k]).expect("sqlite: lookup by k");
            while let Some(r) = rows.next().expect("next row") {
                let id: i64 = r.get(0).expect("id");
                let v: String = r.get(1).expect("v");
                assert!(d.k_of(id) == k && v == d.v_of(id), "sqlite: wrong row {id} for k = {k}");
                found += 1;
            }
        }
        found
    }

    fn aggregate(&mut self) -> (i64, i64, f64) {
        self.0.query_row(AGGREGATE, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("sqlite: aggregate")
    }

    fn range(&mut self, lo: i64, hi: i64) -> (i64, i64) {
        let mut st = self.0.prepare(RANGE).expect("sqlite: prepare range");
        st.query_row((lo, hi), |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0)))).expect("sqlite: range")
    }

    fn checkpoint(&mut self) {
        let (busy, _, _): (i64, i64, i64) = self
            .0
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("sqlite: checkpoint");
        assert_eq!(busy, 0, "sqlite: checkpoint was blocked");
    }

    fn another(&self) -> Box<dyn Conn> {
        Box::new(Sqlite::open(&self.1))
    }

    fn commit_syncs(&self) -> Option<(u64, u64)> {
        None
    }
}
