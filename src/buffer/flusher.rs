//! [`LogFlusher`]: the buffer pool's narrow view of the WAL.
//!
//! The pool needs exactly two things from the log to keep invariant 1 (log
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
pub trait LogFlusher: Send + Sync + fmt::Debug {
    /// Everything at or below this LSN is durable.
    fn durable_lsn(&self) -> Lsn;
    /// Block until the log is durable at least up to `lsn`.
    fn flush_to(&self, lsn: Lsn) -> Result<()>;
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
            return Err(Error::Poisoned { reason: "test flusher told to fail".into() });
        }
        self.requests.lock().push(lsn);
        self.durable.fetch_max(lsn.0, Ordering::SeqCst);
        Ok(())
    }
}
