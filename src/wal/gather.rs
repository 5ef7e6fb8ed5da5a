//! Who a flush leader waits for: the committers in flight.
//!
//! A [`CommitIntent`] announces a commit in the making: the engine takes one
//! before it queues for the writer lock and drops it once the transaction's
//! `COMMIT` is appended (or the transaction ends without one). A flush also
//! leaves behind the number of committers it released, who are likely to be
//! back at once with their next commit ("returning"); each new intent takes
//! the place of one of them.
//!
//! The flush leader ([`Gather::wait`]) waits while anyone is composing or
//! returning, for at most a bound derived from the recent flush time
//! ([`FlushTimes::gather_bound`]); the last intent to end wakes it. With
//! nobody in flight it does not wait at all, so a lone committer keeps the
//! latency of one flush. The rule and its measurements are in the module
//! doc of `writer.rs`. Nothing here decides durability: a gather only
//! chooses when the leader takes the buffer (`docs/DESIGN.md` invariant 2 is
//! kept by the flush itself).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The committers in flight, shared by the log and its intents.
#[derive(Debug, Default)]
pub(super) struct Gather {
    /// Intents alive: transactions composing or queued for the writer lock.
    composing: AtomicU64,
    /// Committers released by the last flush that have not announced a new
    /// commit yet.
    returning: AtomicU64,
    /// A leader is waiting in [`Gather::wait`].
    leader_waiting: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Gather {
    /// How many committers the leader still expects.
    fn in_flight(&self) -> u64 {
        self.composing.load(Ordering::SeqCst) + self.returning.load(Ordering::SeqCst)
    }

    /// A flush released `n` committers.
    pub(super) fn released(&self, n: u64) {
        self.returning.store(n, Ordering::SeqCst);
    }

    /// Wait until nobody is in flight or `bound` has passed; returns how long
    /// it waited (zero: nobody was in flight).
    pub(super) fn wait(&self, bound: Duration) -> Duration {
        if bound.is_zero() || self.in_flight() == 0 {
            return Duration::ZERO;
        }
        let t0 = Instant::now();
        let deadline = t0 + bound;
        let mut guard = self.lock.lock();
        // Set before the check, under the lock: an intent that ends after
        // the check sees the flag and wakes us (`end` takes the lock, so its
        // notify cannot fall between our check and our wait).
        self.leader_waiting.store(true, Ordering::SeqCst);
        while self.in_flight() > 0 {
            if self.cv.wait_until(&mut guard, deadline).timed_out() {
                break;
            }
        }
        self.leader_waiting.store(false, Ordering::SeqCst);
        t0.elapsed()
    }

    fn begin(&self) {
        self.composing.fetch_add(1, Ordering::SeqCst);
        // Take the place of a returning committer, if one is expected.
        let _ = self.returning.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| r.checked_sub(1));
    }

    fn end(&self) {
        let left = self.composing.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 && self.returning.load(Ordering::SeqCst) == 0 && self.leader_waiting.load(Ordering::SeqCst) {
            let _guard = self.lock.lock();
            self.cv.notify_all();
        }
    }
}

/// A commit in the making (see the module doc); ends when dropped.
#[derive(Debug)]
#[must_use = "an intent counts only while it is held"]
pub struct CommitIntent {
    gather: Arc<Gather>,
}

impl CommitIntent {
    pub(super) fn new(gather: &Arc<Gather>) -> CommitIntent {
        gather.begin();
        CommitIntent { gather: gather.clone() }
    }
}

impl Drop for CommitIntent {
    fn drop(&mut self) {
        self.gather.end();
    }
}

/// Flush times kept to derive the gather bound from.
const FLUSH_TIMES: usize = 16;

/// The leader waits at most the recent median flush time divided by this.
/// A quarter cut 16 committers' batches short on 2 cores (12.2 commits per
/// fsync); a half let them all in (15.2), at no cost to 8 (writer.rs).
pub(super) const GATHER_FRACTION: u32 = 2;

/// The I/O times of the recent flushes (write and sync), a ring.
#[derive(Debug, Default)]
pub(super) struct FlushTimes {
    micros: [u32; FLUSH_TIMES],
    len: usize,
    next: usize,
}

impl FlushTimes {
    pub(super) fn record(&mut self, took: Duration) {
        self.micros[self.next] = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        self.next = (self.next + 1) % FLUSH_TIMES;
        self.len = (self.len + 1).min(FLUSH_TIMES);
    }

    /// The longest a leader waits for committers in flight: the median of
    /// the recent flush times divided by [`GATHER_FRACTION`] (zero before
    /// the first flush).
    pub(super) fn gather_bound(&self) -> Duration {
        if self.len == 0 {
            return Duration::ZERO;
        }
        let mut recent = self.micros;
        let recent = &mut recent[..self.len];
        recent.sort_unstable();
        Duration::from_micros(u64::from(recent[self.len / 2])) / GATHER_FRACTION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_a_fraction_of_the_median_flush() {
        let mut t = FlushTimes::default();
        assert_eq!(t.gather_bound(), Duration::ZERO);
        for us in [400, 4_000, 800, 1_200, 100_000] {
            t.record(Duration::from_micros(us));
        }
        assert_eq!(t.gather_bound(), Duration::from_micros(1_200) / GATHER_FRACTION);
        // Only the last 16 count.
        for _ in 0..FLUSH_TIMES {
            t.record(Duration::from_micros(200));
        }
        assert_eq!(t.gather_bound(), Duration::from_micros(200) / GATHER_FRACTION);
    }

    #[test]
    fn nobody_in_flight_means_no_wait() {
        let g = Arc::new(Gather::default());
        assert_eq!(g.wait(Duration::from_secs(5)), Duration::ZERO);
        let intent = CommitIntent::new(&g);
        drop(intent);
        assert_eq!(g.wait(Duration::from_secs(5)), Duration::ZERO);
    }

    #[test]
    fn the_last_intent_wakes_the_leader_and_returning_ones_are_awaited() {
        let g = Arc::new(Gather::default());
        g.released(1);
        let intent = CommitIntent::new(&g);
        // The new intent took the returning committer's place.
        assert_eq!((g.composing.load(Ordering::SeqCst), g.returning.load(Ordering::SeqCst)), (1, 0));
        let g2 = g.clone();
        let ender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(intent);
            let _keep = g2;
        });
        let waited = g.wait(Duration::from_secs(30));
        ender.join().expect("ender");
        assert!(waited >= Duration::from_millis(40) && waited < Duration::from_secs(20), "waited {waited:?}");
        // A committer released but never back: the bound ends the wait.
        g.released(1);
        let waited = g.wait(Duration::from_millis(30));
        assert!(waited >= Duration::from_millis(30), "waited {waited:?}");
    }
}
