//! [`LogFlusher`]: the buffer pool's narrow view of the WAL.
//!
//! The pool needs exactly two things from the log to keep `docs/DESIGN.md` invariant 1 (log
//! before page): how far it is durable, and a way to make it durable further.
//! The WAL implements this trait; [`NoLog`] stands in when pages are never
//! logged, and [`RecordingFlusher`] is the test double that records every
//! request so tests can check the rule on each page write.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::ids::Lsn;

/// Makes the log durable up to an LSN.
///
/// LSNs are byte positions, so "durable" is a boundary: every record that
/// *starts* below [`LogFlusher::durable_lsn`] is durable. A page whose LSN is
/// `l` may be written once `l < durable_lsn()` (or `l` is 0: never logged).
pub trait LogFlusher: Send + Sync + fmt::Debug {
    /// The end of the durable prefix of the log (exclusive).
    fn durable_lsn(&self) -> Lsn;
    /// Block until the record starting at `lsn` is durable, i.e. until
    /// `durable_lsn() > lsn`.
    fn flush_to(&self, lsn: Lsn) -> Result<()>;

    /// `Err(Poisoned)` once the log refuses all further work (fail stop):
    /// then no page may be written or read in.
    fn check(&self) -> Result<()> {
        Ok(())
    }

    /// True when a page carrying `lsn` may be written.
    fn is_durable(&self, lsn: Lsn) -> bool {
        lsn == Lsn::ZERO || lsn < self.durable_lsn()
    }
}

/// For pages that are never logged (page LSN 0). Refuses to write a page that
/// carries an LSN, since no log could have made it durable.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLog;

impl LogFlusher for NoLog {
    fn durable_lsn(&self) -> Lsn {
        Lsn::ZERO
    }

    fn flush_to(&self, lsn: Lsn) -> Result<()> {
        if lsn == Lsn::ZERO {
            Ok(())
        } else {
            Err(crate::errinput!("page carries {lsn:?} but there is no log to make it durable"))
        }
    }
}

/// The buffer pool keeps the WAL rule against the real log: the only two
/// calls `buffer` makes into `wal`.
impl LogFlusher for crate::wal::Wal {
    fn durable_lsn(&self) -> Lsn {
        crate::wal::Wal::durable_lsn(self)
    }

    fn flush_to(&self, lsn: Lsn) -> Result<()> {
        crate::wal::Wal::flush_to(self, lsn)
    }

    fn check(&self) -> Result<()> {
        match crate::wal::Wal::poison(self) {
            Some(p) => Err(p.error()),
            None => Ok(()),
        }
    }
}

/// Test double: pretends every requested LSN becomes durable at once, and
/// records the requests. It can be told to fail, like a WAL whose fsync did.
#[derive(Debug, Default)]
pub struct RecordingFlusher {
    durable: AtomicU64,
    requests: Mutex<Vec<Lsn>>,
    fail: Mutex<bool>,
}

impl RecordingFlusher {
    /// A flusher with nothing durable yet.
    pub fn new() -> RecordingFlusher {
        RecordingFlusher::default()
    }

    /// Every `flush_to` argument so far, in order.
    pub fn requests(&self) -> Vec<Lsn> {
        self.requests.lock().clone()
    }

    /// Make every later `flush_to` fail with `Poisoned`.
    pub fn fail_from_now(&self) {
        *self.fail.lock() = true;
    }
}

impl LogFlusher for RecordingFlusher {
    fn durable_lsn(&self) -> Lsn {
        Lsn(self.durable.load(Ordering::SeqCst))
    }

    fn flush_to(&self, lsn: Lsn) -> Result<()> {
        if *self.fail.lock() {
            let reason = "test flusher told to fail";
            return Err(Error::Poisoned {
                reason: reason.into(),
                source: std::sync::Arc::new(std::io::Error::other(reason)),
            });
        }
        self.requests.lock().push(lsn);
        self.durable.fetch_max(lsn.0 + 1, Ordering::SeqCst);
        Ok(())
    }

    fn check(&self) -> Result<()> {
        if *self.fail.lock() { self.flush_to(Lsn::ZERO) } else { Ok(()) }
    }
}
