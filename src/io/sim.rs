//! `SimVfs`: an in-memory file system that models what survives a crash, and
//! injects the faults of `docs/TESTING.md`'s catalogue.
//!
//! Always compiled and public: unit tests, `tests/`, benches and the shell's
//! power-loss demo all use this one copy.
//!
//! # Model
//!
//! ```text
//!   inode:      durable bytes ──(pending ops: Write{off,data} | SetLen(n))──▶ live bytes
//!   directory:  durable entries (name → inode)      live entries (name → inode)
//! ```
//!
//! - Reads see the *live* bytes. `sync_data`/`sync_all` apply the file's
//!   pending ops to its durable bytes, in order.
//! - `create`/`rename`/`remove` change live entries; `sync_dir(d)` copies the
//!   live entries of `d` to the durable ones.
//! - Every call (open, read, write, sync, len, list, lock, …) takes the next
//!   value of one global I/O counter; that index is what a fault plan names
//!   and what the optional trace records.
//!
//! # Crashes
//!
//! [`SimVfs::crash_image`] captures durable state plus pending ops;
//! [`CrashImage::boot`] resolves it with a [`LossMode`] into a fresh
//! `SimVfs`, as the disk would look after power returns:
//!
//! | mode | unsynced file writes | unsynced directory entries |
//! |---|---|---|
//! | `DropAll` | all lost | all lost |
//! | `KeepAll` (a process crash: the page cache survives) | all kept | all kept |
//! | `RandomWrites` | each write kept or lost | each name kept or lost |
//! | `RandomSectors` | each sector of each write kept or lost | each name kept or lost |
//! | `TearLast` | all kept but each file's last write, whose sectors are each new, old or (optionally) garbage | all lost |
//!
//! A garbage sector covers the whole aligned sector, so it can destroy bytes
//! that were durable before and merely shared a sector with the torn write —
//! the reason each WAL flush starts on a fresh 4 KiB boundary (`docs/DESIGN.md` invariant 9).
//!
//! After a crash every handle of the old `SimVfs` fails every call, as a dead
//! process's would.
//!
//! # Faults
//!
//! A [`Fault`] fires at a [`When`] (the Nth call overall, the Nth call
//! matching an [`OpFilter`], or every matching call):
//! - `Crash`: power is lost at that call (the call does not happen).
//! - `Fail { errno, persistent }`: the call returns EIO or ENOSPC. Persistent
//!   EIO fails every later call (a dead device); persistent ENOSPC fails every
//!   later call that could consume space (writes, growth, file creation).
//! - `FailSyncLosingData`: the sync returns EIO *and* the file's unsynced
//!   writes leave the durable future while reads still return them — the
//!   fsyncgate trap, where a later successful sync proves nothing.
//!
//! Also: [`SimVfs::flip_bit`] (rot at rest), [`SimVfs::set_capacity`] (ENOSPC
//! past a size), and a [`WriteObserver`] that sees every write before it lands
//! (tests check the WAL rule with it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{OpenMode, Vfs, VfsFile, VfsLock};

/// An OS error number the simulator can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// `EIO`: the device failed.
    Eio,
    /// `ENOSPC`: no space left on the device.
    Enospc,
}

impl Errno {
    fn to_error(self) -> io::Error {
        match self {
            Errno::Eio => io::Error::from_raw_os_error(5),
            Errno::Enospc => io::Error::from_raw_os_error(28),
        }
    }
}

/// The kinds of call the simulator counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `Vfs::open`.
    Open,
    /// `Vfs::exists`.
    Exists,
    /// `VfsFile::read_at`.
    Read,
    /// `VfsFile::write_all_at`.
    Write,
    /// `VfsFile::set_len`.
    SetLen,
    /// `VfsFile::allocate`.
    Allocate,
    /// `VfsFile::sync_data`.
    SyncData,
    /// `VfsFile::sync_all`.
    SyncAll,
    /// `VfsFile::len`.
    Len,
    /// `Vfs::remove`.
    Remove,
    /// `Vfs::rename`.
    Rename,
    /// `Vfs::list`.
    List,
    /// `Vfs::sync_dir`.
    SyncDir,
    /// `Vfs::lock_exclusive` or `Vfs::lock_shared`.
    Lock,
}

impl OpKind {
    /// `sync_data`, `sync_all` or `sync_dir`.
    pub fn is_sync(self) -> bool {
        matches!(self, OpKind::SyncData | OpKind::SyncAll | OpKind::SyncDir)
    }

    /// Calls that may consume space, and so fail under persistent ENOSPC.
    fn may_grow(self) -> bool {
        matches!(self, OpKind::Write | OpKind::SetLen | OpKind::Allocate | OpKind::Open | OpKind::Lock)
    }
}

/// Which calls a fault applies to. Empty `ops` means every kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpFilter {
    /// Kinds of call that match (any when empty).
    pub ops: Vec<OpKind>,
    /// Only calls on paths containing this string.
    pub path_contains: Option<String>,
}

impl OpFilter {
    /// Calls of these kinds, on any path.
    pub fn ops(ops: &[OpKind]) -> OpFilter {
        OpFilter { ops: ops.to_vec(), path_contains: None }
    }

    /// Narrow to paths containing `s`.
    pub fn on_path(mut self, s: &str) -> OpFilter {
        self.path_contains = Some(s.to_string());
        self
    }

    fn matches(&self, op: OpKind, path: &Path) -> bool {
        (self.ops.is_empty() || self.ops.contains(&op))
            && self.path_contains.as_deref().is_none_or(|s| path.to_string_lossy().contains(s))
    }
}

/// When a fault fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    /// At the call with this global I/O index (0-based).
    Call(u64),
    /// At the `n`th (0-based) call matching the filter.
    Nth(OpFilter, u64),
    /// At every call matching the filter.
    Every(OpFilter),
}

/// One entry of a fault plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Power is lost at this call; it does not happen, and every later call of
    /// this `SimVfs` fails.
    Crash(When),
    /// The call fails with `errno`. Persistent failures continue: EIO for
    /// every later call, ENOSPC for every later call that could grow a file.
    Fail {
        /// When it fires.
        when: When,
        /// Which error.
        errno: Errno,
        /// Whether later calls keep failing.
        persistent: bool,
    },
    /// A sync fails with EIO and the file's unsynced writes are lost from the
    /// durable future while reads still return them (fsyncgate).
    FailSyncLosingData(When),
}

impl Fault {
    fn when(&self) -> &When {
        match self {
            Fault::Crash(w) | Fault::FailSyncLosingData(w) => w,
            Fault::Fail { when, .. } => when,
        }
    }
}

/// What survives of unsynced data when a crash image boots. See the module doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossMode {
    /// Every unsynced write and directory change is lost.
    DropAll,
    /// Every unsynced write and directory change survives (process crash).
    KeepAll,
    /// Each unsynced write, and each unsynced name, survives or not at random.
    RandomWrites,
    /// Each `sector`-sized piece of each unsynced write survives or not.
    RandomSectors {
        /// Sector size in bytes (512 or 4096).
        sector: usize,
    },
    /// Unsynced writes survive except each file's last, which tears per
    /// sector: new, old, or (with `garbage`) random bytes over the whole
    /// aligned sector. Unsynced directory changes are lost.
    TearLast {
        /// Sector size in bytes (512 or 4096).
        sector: usize,
        /// Whether torn sectors may hold garbage instead of old bytes.
        garbage: bool,
    },
}

impl LossMode {
    /// The four modes the crash suites sweep (`docs/TESTING.md`, G1).
    pub const SWEEP: [LossMode; 4] = [
        LossMode::DropAll,
        LossMode::KeepAll,
        LossMode::RandomSectors { sector: 512 },
        LossMode::TearLast { sector: 4096, garbage: true },
    ];
}

/// One traced call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// Global I/O index of the call.
    pub index: u64,
    /// Kind of call.
    pub op: OpKind,
    /// Path it applied to.
    pub path: PathBuf,
    /// Offset (reads, writes) or length (set_len, allocate).
    pub offset: u64,
    /// Bytes read or written.
    pub len: u64,
}

/// Called with (path, offset, bytes) for every write, before it lands. It runs
/// under the simulator's lock and must not call back into the simulator.
pub type WriteObserver = Arc<dyn Fn(&Path, u64, &[u8]) + Send + Sync>;

/// Called at the start of every call with its I/O index and the crash image
/// of the disk as it is before the call — what a crash at that call would
/// leave. It runs under the simulator's lock and must not call back into
/// this simulator (booting the image gives an independent one).
pub type CrashHook = Arc<dyn Fn(u64, &CrashImage) + Send + Sync>;

/// Counters over a simulator's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Calls of any kind.
    pub io_calls: u64,
    /// Successful `sync_data` + `sync_all` calls.
    pub file_syncs: u64,
    /// Successful `sync_dir` calls.
    pub dir_syncs: u64,
    /// Bytes written by successful writes.
    pub bytes_written: u64,
}

/// SplitMix64: a tiny generator whose sequence never changes with a crate
/// upgrade, so a failing seed replays forever.
#[derive(Clone, Debug)]
struct SimRng(u64);

impl SimRng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Debug)]
enum PendingOp {
    Write { off: u64, data: Arc<[u8]> },
    SetLen(u64),
}

/// A file. The durable bytes and pending data are shared with crash images
/// (copied on write), so an image costs little more than its file list.
#[derive(Clone, Debug, Default)]
struct Inode {
    live: Vec<u8>,
    durable: Arc<Vec<u8>>,
    pending: Vec<PendingOp>,
    syncs: u64,
    /// Its current live name, if it has one.
    name: Option<PathBuf>,
}

/// What a crash image keeps of a file.
#[derive(Clone, Debug)]
struct ImageInode {
    durable: Arc<Vec<u8>>,
    pending: Vec<PendingOp>,
}

#[derive(Debug)]
struct ArmedFault {
    fault: Fault,
    matched: u64,
    spent: bool,
}

struct SimState {
    rng: SimRng,
    crashed: bool,
    io_count: u64,
    faults: Vec<ArmedFault>,
    persistent: Option<Errno>,
    inodes: Vec<Inode>,
    live: BTreeMap<String, usize>,
    durable: BTreeMap<String, usize>,
    /// Held locks: the number of shared holders, or [`EXCLUSIVE`].
    locks: HashMap<PathBuf, u32>,
    trace: Option<Vec<TraceEntry>>,
    observer: Option<WriteObserver>,
    hook: Option<CrashHook>,
    capacity: Option<u64>,
    stats: SimStats,
}

impl fmt::Debug for SimState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimState")
            .field("crashed", &self.crashed)
            .field("io_count", &self.io_count)
            .field("files", &self.live.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What a fault decided for one call.
enum Verdict {
    Proceed,
    Fail(io::Error),
    FailLosingPending(io::Error),
}

impl SimState {
    fn new(seed: u64) -> SimState {
        SimState {
            rng: SimRng(seed),
            crashed: false,
            io_count: 0,
            faults: Vec::new(),
            persistent: None,
            inodes: Vec::new(),
            live: BTreeMap::new(),
            durable: BTreeMap::new(),
            locks: HashMap::new(),
            trace: None,
            observer: None,
            hook: None,
            capacity: None,
            stats: SimStats::default(),
        }
    }

    /// Count the call, trace it, and apply the fault plan. Every public
    /// operation starts here.
    fn begin(&mut self, op: OpKind, path: &Path, offset: u64, len: u64) -> Verdict {
        if self.crashed {
            return Verdict::Fail(crashed_error());
        }
        let index = self.io_count;
        if let Some(hook) = self.hook.clone() {
            hook(index, &self.image(index ^ 0x5EED));
        }
        self.io_count += 1;
        self.stats.io_calls += 1;
        if let Some(t) = self.trace.as_mut() {
            t.push(TraceEntry { index, op, path: path.to_path_buf(), offset, len });
        }
        match self.persistent {
            Some(Errno::Eio) => return Verdict::Fail(Errno::Eio.to_error()),
            Some(Errno::Enospc) if op.may_grow() => return Verdict::Fail(Errno::Enospc.to_error()),
            _ => {}
        }
        let mut verdict = Verdict::Proceed;
        for armed in &mut self.faults {
            if armed.spent {
                continue;
            }
            let fires = match armed.fault.when() {
                When::Call(n) => *n == index,
                When::Every(filter) => filter.matches(op, path),
                When::Nth(filter, n) => {
                    if filter.matches(op, path) {
                        armed.matched += 1;
                        armed.matched - 1 == *n
                    } else {
                        false
                    }
                }
            };
            if !fires {
                continue;
            }
            if !matches!(armed.fault.when(), When::Every(_)) {
                armed.spent = true;
            }
            match &armed.fault {
                Fault::Crash(_) => {
                    self.crashed = true;
                    return Verdict::Fail(crashed_error());
                }
                Fault::Fail { errno, persistent, .. } => {
                    if *persistent {
                        self.persistent = Some(*errno);
                    }
                    verdict = Verdict::Fail(errno.to_error());
                }
                Fault::FailSyncLosingData(_) => {
                    verdict = if op.is_sync() && op != OpKind::SyncDir {
                        Verdict::FailLosingPending(Errno::Eio.to_error())
                    } else {
                        Verdict::Fail(Errno::Eio.to_error())
                    };
                }
            }
        }
        verdict
    }

    fn total_live_bytes(&self) -> u64 {
        let ids: BTreeSet<usize> = self.live.values().copied().collect();
        ids.iter().map(|&i| self.inodes[i].live.len() as u64).sum()
    }

    /// ENOSPC if growing `inode` to `new_len` would pass the capacity.
    fn check_capacity(&self, inode: usize, new_len: u64) -> io::Result<()> {
        if let Some(cap) = self.capacity {
            let cur = self.inodes[inode].live.len() as u64;
            if new_len > cur && self.total_live_bytes() + (new_len - cur) > cap {
                return Err(Errno::Enospc.to_error());
            }
        }
        Ok(())
    }

    fn create_inode(&mut self, name: &Path) -> usize {
        self.inodes.push(Inode { name: Some(name.to_path_buf()), ..Inode::default() });
        self.inodes.len() - 1
    }

    /// Durable state plus pending changes of every file that has a name.
    fn image(&self, seed: u64) -> CrashImage {
        let mut inodes = BTreeMap::new();
        for &i in self.live.values().chain(self.durable.values()) {
            let n = &self.inodes[i];
            inodes.entry(i).or_insert_with(|| ImageInode { durable: n.durable.clone(), pending: n.pending.clone() });
        }
        CrashImage { inodes, live: self.live.clone(), durable: self.durable.clone(), seed }
    }
}

/// Directory entries are keyed by the path as a string: comparing strings
/// is far cheaper than comparing `Path`s component by component.
fn key(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The directory part of a key, as [`parent_dir`] would give it.
fn parent_key(k: &str) -> &str {
    match k.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((dir, _)) => dir,
        None => ".",
    }
}

fn crashed_error() -> io::Error {
    io::Error::other("simulated power loss: this handle died with the machine")
}

fn verdict(v: Verdict) -> io::Result<()> {
    match v {
        Verdict::Proceed => Ok(()),
        Verdict::Fail(e) | Verdict::FailLosingPending(e) => Err(e),
    }
}

fn apply_write(data: &mut Vec<u8>, off: u64, bytes: &[u8]) {
    let off = off as usize;
    let end = off + bytes.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[off..end].copy_from_slice(bytes);
}

fn apply_op(data: &mut Vec<u8>, op: &PendingOp) {
    match op {
        PendingOp::Write { off, data: bytes } => apply_write(data, *off, bytes),
        PendingOp::SetLen(n) => data.resize(*n as usize, 0),
    }
}

/// A simulated file system; cheap to clone (clones share state).
#[derive(Clone)]
pub struct SimVfs {
    state: Arc<Mutex<SimState>>,
}

impl fmt::Debug for SimVfs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.lock();
        write!(f, "SimVfs {{ io_count: {}, crashed: {} }}", s.io_count, s.crashed)
    }
}

impl SimVfs {
    /// An empty simulated disk whose randomness comes from `seed`.
    pub fn new(seed: u64) -> SimVfs {
        SimVfs { state: Arc::new(Mutex::new(SimState::new(seed))) }
    }

    /// Add a fault to the plan.
    pub fn add_fault(&self, fault: Fault) {
        self.state.lock().faults.push(ArmedFault { fault, matched: 0, spent: false });
    }

    /// Remove every planned fault and any persistent failure.
    pub fn clear_faults(&self) {
        let mut s = self.state.lock();
        s.faults.clear();
        s.persistent = None;
    }

    /// Fail writes that would make the files larger than `bytes` in total
    /// with ENOSPC (`None`: unlimited).
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.state.lock().capacity = bytes;
    }

    /// Call `hook` at the start of every call with the crash image of that
    /// moment (see [`CrashHook`]): a whole crash sweep in one run.
    pub fn set_crash_hook(&self, hook: Option<CrashHook>) {
        self.state.lock().hook = hook;
    }

    /// Observe every write before it lands.
    pub fn set_write_observer(&self, observer: Option<WriteObserver>) {
        self.state.lock().observer = observer;
    }

    /// Start recording every call.
    pub fn enable_trace(&self) {
        self.state.lock().trace.get_or_insert_with(Vec::new);
    }

    /// The calls recorded since [`SimVfs::enable_trace`].
    pub fn trace(&self) -> Vec<TraceEntry> {
        self.state.lock().trace.clone().unwrap_or_default()
    }

    /// Number of calls so far (the next call's index).
    pub fn io_count(&self) -> u64 {
        self.state.lock().io_count
    }

    /// Counters.
    pub fn stats(&self) -> SimStats {
        self.state.lock().stats
    }

    /// Successful syncs of the file now at `path` (0 if missing).
    pub fn sync_count(&self, path: &Path) -> u64 {
        let s = self.state.lock();
        s.live.get(&key(path)).map_or(0, |&i| s.inodes[i].syncs)
    }

    /// True once a crash fault fired or [`SimVfs::crash`] ran.
    pub fn crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// Lose power now: every handle fails from here on.
    pub fn crash(&self) {
        self.state.lock().crashed = true;
    }

    /// The file's bytes as reads see them (no I/O is counted).
    pub fn live_bytes(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.state.lock();
        s.live.get(&key(path)).map(|&i| s.inodes[i].live.clone())
    }

    /// The file's bytes that would survive power loss (no I/O is counted).
    pub fn durable_bytes(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.state.lock();
        s.live.get(&key(path)).map(|&i| s.inodes[i].durable.as_ref().clone())
    }

    /// Flip one bit of a file at rest, in both its durable and live bytes.
    pub fn flip_bit(&self, path: &Path, offset: u64, bit: u8) -> io::Result<()> {
        let mut s = self.state.lock();
        let i = *s.live.get(&key(path)).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let inode = &mut s.inodes[i];
        let off = offset as usize;
        if off >= inode.live.len() && off >= inode.durable.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "offset past end of file"));
        }
        let mask = 1u8 << (bit % 8);
        if let Some(b) = Arc::make_mut(&mut inode.durable).get_mut(off) {
            *b ^= mask;
        }
        if let Some(b) = inode.live.get_mut(off) {
            *b ^= mask;
        }
        Ok(())
    }

    /// Durable state plus unsynced changes, to be resolved by
    /// [`CrashImage::boot`] under any loss mode, any number of times.
    pub fn crash_image(&self) -> CrashImage {
        let mut s = self.state.lock();
        let seed = s.rng.next();
        s.image(seed)
    }

    /// Lose power now and return the disk as it boots again under `mode`.
    pub fn reboot(&self, mode: LossMode) -> SimVfs {
        self.crash_now().boot(mode)
    }

    /// Lose power now, atomically with taking the crash image: no call of
    /// another thread can land between the two.
    pub fn crash_now(&self) -> CrashImage {
        let mut s = self.state.lock();
        let seed = s.rng.next();
        s.crashed = true;
        s.image(seed)
    }

    fn file_op<T>(
        &self,
        inode: usize,
        path: &Path,
        op: OpKind,
        offset: u64,
        len: u64,
        f: impl FnOnce(&mut SimState) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut s = self.state.lock();
        // Name the file as it is called now (it may have been renamed since
        // it was opened), so traces and path filters see the current name.
        let current = s.inodes[inode].name.clone();
        let path = current.as_deref().unwrap_or(path);
        match s.begin(op, path, offset, len) {
            Verdict::Proceed => f(&mut s),
            Verdict::Fail(e) => Err(e),
            Verdict::FailLosingPending(e) => {
                // fsyncgate: the kernel reports the error once and marks the
                // pages clean; the unsynced bytes will never reach the disk,
                // yet reads still return them from the cache.
                s.inodes[inode].pending.clear();
                Err(e)
            }
        }
    }
}

/// A disk as power failed on it: durable bytes and unsynced changes.
#[derive(Clone, Debug)]
pub struct CrashImage {
    inodes: BTreeMap<usize, ImageInode>,
    live: BTreeMap<String, usize>,
    durable: BTreeMap<String, usize>,
    seed: u64,
}

impl CrashImage {
    /// The disk as it boots after the crash, unsynced data resolved by `mode`.
    pub fn boot(&self, mode: LossMode) -> SimVfs {
        self.boot_seeded(mode, self.seed)
    }

    /// As [`CrashImage::boot`], drawing the random choices from `seed`.
    pub fn boot_seeded(&self, mode: LossMode, seed: u64) -> SimVfs {
        let mut rng = SimRng(seed);
        let names: BTreeSet<&String> = self.live.keys().chain(self.durable.keys()).collect();
        let mut state = SimState::new(rng.next());
        let mut remap: BTreeMap<usize, usize> = BTreeMap::new();
        for name in names {
            let keep_live = match mode {
                LossMode::DropAll | LossMode::TearLast { .. } => false,
                LossMode::KeepAll => true,
                LossMode::RandomWrites | LossMode::RandomSectors { .. } => rng.coin(),
            };
            let entry = if keep_live { self.live.get(name) } else { self.durable.get(name) };
            let Some(&old) = entry else { continue };
            let new = match remap.get(&old) {
                Some(&n) => n,
                None => {
                    let Some(inode) = self.inodes.get(&old) else { continue };
                    let bytes = resolve(inode, mode, &mut rng);
                    state.inodes.push(Inode {
                        live: bytes.clone(),
                        durable: Arc::new(bytes),
                        name: Some(PathBuf::from(name)),
                        ..Inode::default()
                    });
                    let n = state.inodes.len() - 1;
                    remap.insert(old, n);
                    n
                }
            };
            state.live.insert(name.clone(), new);
            state.durable.insert(name.clone(), new);
        }
        SimVfs { state: Arc::new(Mutex::new(state)) }
    }
}

/// The bytes of one file after a crash under `mode`.
fn resolve(inode: &ImageInode, mode: LossMode, rng: &mut SimRng) -> Vec<u8> {
    let mut data = inode.durable.as_ref().clone();
    match mode {
        LossMode::DropAll => {}
        LossMode::KeepAll => inode.pending.iter().for_each(|op| apply_op(&mut data, op)),
        LossMode::RandomWrites => {
            for op in &inode.pending {
                if rng.coin() {
                    apply_op(&mut data, op);
                }
            }
        }
        LossMode::RandomSectors { sector } => {
            for op in &inode.pending {
                match op {
                    PendingOp::SetLen(_) => {
                        if rng.coin() {
                            apply_op(&mut data, op);
                        }
                    }
                    PendingOp::Write { off, data: bytes } => {
                        for (at, piece) in sector_pieces(*off, bytes, sector) {
                            if rng.coin() {
                                apply_write(&mut data, at, piece);
                            }
                        }
                    }
                }
            }
        }
        LossMode::TearLast { sector, garbage } => {
            let last = inode.pending.iter().rposition(|op| matches!(op, PendingOp::Write { .. }));
            for (i, op) in inode.pending.iter().enumerate() {
                match op {
                    PendingOp::Write { off, data: bytes } if Some(i) == last => {
                        tear(&mut data, *off, bytes, sector, garbage, rng)
                    }
                    _ => apply_op(&mut data, op),
                }
            }
        }
    }
    data
}

/// Split a write at absolute `sector` boundaries.
fn sector_pieces(off: u64, bytes: &[u8], sector: usize) -> Vec<(u64, &[u8])> {
    let sector = sector.max(1) as u64;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let abs = off + at as u64;
        let room = (sector - abs % sector) as usize;
        let n = room.min(bytes.len() - at);
        out.push((abs, &bytes[at..at + n]));
        at += n;
    }
    out
}

/// Apply a write torn per sector: each piece lands new, stays old, or (with
/// `garbage`) the whole aligned sector it touches fills with random bytes.
fn tear(data: &mut Vec<u8>, off: u64, bytes: &[u8], sector: usize, garbage: bool, rng: &mut SimRng) {
    let end = off as usize + bytes.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    for (at, piece) in sector_pieces(off, bytes, sector) {
        match rng.below(if garbage { 3 } else { 2 }) {
            0 => {}
            1 => apply_write(data, at, piece),
            _ => {
                let start = (at - at % sector as u64) as usize;
                let stop = (start + sector).min(data.len());
                for b in &mut data[start..stop] {
                    *b = rng.next() as u8;
                }
            }
        }
    }
}

struct SimFile {
    vfs: SimVfs,
    inode: usize,
    path: PathBuf,
    writable: bool,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimFile({})", self.path.display())
    }
}

impl SimFile {
    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::PermissionDenied, "file opened read-only"))
        }
    }

    fn sync(&self, op: OpKind) -> io::Result<()> {
        let i = self.inode;
        self.vfs.file_op(i, &self.path, op, 0, 0, |s| {
            let inode = &mut s.inodes[i];
            let pending = std::mem::take(&mut inode.pending);
            if !pending.is_empty() {
                let durable = Arc::make_mut(&mut inode.durable);
                for op in pending {
                    apply_op(durable, &op);
                }
            }
            inode.syncs += 1;
            s.stats.file_syncs += 1;
            Ok(())
        })
    }

    fn grow_to(&self, op: OpKind, len: u64) -> io::Result<()> {
        self.check_writable()?;
        let i = self.inode;
        self.vfs.file_op(i, &self.path, op, len, 0, |s| {
            if op == OpKind::Allocate && (s.inodes[i].live.len() as u64) >= len {
                return Ok(());
            }
            s.check_capacity(i, len)?;
            let inode = &mut s.inodes[i];
            inode.live.resize(len as usize, 0);
            inode.pending.push(PendingOp::SetLen(len));
            Ok(())
        })
    }
}

impl VfsFile for SimFile {
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<usize> {
        let i = self.inode;
        self.vfs.file_op(i, &self.path, OpKind::Read, off, buf.len() as u64, |s| {
            let live = &s.inodes[i].live;
            let start = (off as usize).min(live.len());
            let n = buf.len().min(live.len() - start);
            buf[..n].copy_from_slice(&live[start..start + n]);
            Ok(n)
        })
    }

    fn write_all_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        self.check_writable()?;
        let i = self.inode;
        self.vfs.file_op(i, &self.path, OpKind::Write, off, buf.len() as u64, |s| {
            s.check_capacity(i, off + buf.len() as u64)?;
            if let Some(obs) = s.observer.clone() {
                obs(&self.path, off, buf);
            }
            let inode = &mut s.inodes[i];
            apply_write(&mut inode.live, off, buf);
            inode.pending.push(PendingOp::Write { off, data: buf.into() });
            s.stats.bytes_written += buf.len() as u64;
            Ok(())
        })
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.grow_to(OpKind::SetLen, len)
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        self.grow_to(OpKind::Allocate, len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync(OpKind::SyncData)
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync(OpKind::SyncAll)
    }

    fn len(&self) -> io::Result<u64> {
        let i = self.inode;
        self.vfs.file_op(i, &self.path, OpKind::Len, 0, 0, |s| Ok(s.inodes[i].live.len() as u64))
    }
}

/// The lock count of a file held exclusively.
const EXCLUSIVE: u32 = u32::MAX;

/// Holds a simulated lock; releases it on drop.
struct SimLockToken {
    state: Arc<Mutex<SimState>>,
    path: PathBuf,
}

impl Drop for SimLockToken {
    fn drop(&mut self) {
        let mut s = self.state.lock();
        match s.locks.get_mut(&self.path) {
            Some(n) if *n != EXCLUSIVE && *n > 1 => *n -= 1,
            _ => {
                s.locks.remove(&self.path);
            }
        }
    }
}

impl Vfs for SimVfs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VfsFile>> {
        let mut s = self.state.lock();
        verdict(s.begin(OpKind::Open, path, 0, 0))?;
        let existing = s.live.get(&key(path)).copied();
        let inode = match (mode, existing) {
            (OpenMode::CreateNew, Some(_)) => return Err(io::ErrorKind::AlreadyExists.into()),
            (OpenMode::Existing | OpenMode::ReadOnly, None) => return Err(io::ErrorKind::NotFound.into()),
            (_, Some(i)) => i,
            (OpenMode::Create | OpenMode::CreateNew, None) => {
                let i = s.create_inode(path);
                s.live.insert(key(path), i);
                i
            }
        };
        drop(s);
        Ok(Arc::new(SimFile {
            vfs: self.clone(),
            inode,
            path: path.to_path_buf(),
            writable: mode != OpenMode::ReadOnly,
        }))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let mut s = self.state.lock();
        verdict(s.begin(OpKind::Exists, path, 0, 0))?;
        Ok(s.live.contains_key(&key(path)))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        verdict(s.begin(OpKind::Remove, path, 0, 0))?;
        let i = s.live.remove(&key(path)).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        s.inodes[i].name = None;
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        verdict(s.begin(OpKind::Rename, from, 0, 0))?;
        let i = s.live.remove(&key(from)).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        if let Some(replaced) = s.live.insert(key(to), i) {
            s.inodes[replaced].name = None;
        }
        s.inodes[i].name = Some(to.to_path_buf());
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut s = self.state.lock();
        verdict(s.begin(OpKind::List, dir, 0, 0))?;
        let dir = key(dir);
        Ok(s.live.keys().filter(|p| parent_key(p) == dir).map(PathBuf::from).collect())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        verdict(s.begin(OpKind::SyncDir, dir, 0, 0))?;
        let s = &mut *s;
        let dir = key(dir);
        s.durable.retain(|p, _| parent_key(p) != dir);
        for (p, &i) in &s.live {
            if parent_key(p) == dir {
                s.durable.insert(p.clone(), i);
            }
        }
        s.stats.dir_syncs += 1;
        Ok(())
    }

    fn lock_exclusive(&self, path: &Path) -> io::Result<VfsLock> {
        let mut s = self.state.lock();
        verdict(s.begin(OpKind::Lock, path, 0, 0))?;
        if s.locks.contains_key(path) {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "file is locked by another handle"));
        }
        s.locks.insert(path.to_path_buf(), EXCLUSIVE);
        if !s.live.contains_key(&key(path)) {
            let i = s.create_inode(path);
            s.live.insert(key(path), i);
        }
        Ok(VfsLock::new(Box::new(SimLockToken { state: self.state.clone(), path: path.to_path_buf() })))
    }

    fn lock_shared(&self, path: &Path) -> io::Result<VfsLock> {
        let mut s = self.state.lock();
        verdict(s.begin(OpKind::Lock, path, 0, 0))?;
        if !s.live.contains_key(&key(path)) {
            return Err(io::ErrorKind::NotFound.into());
        }
        let n = s.locks.entry(path.to_path_buf()).or_insert(0);
        if *n == EXCLUSIVE {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "file is locked by another handle"));
        }
        *n += 1;
        Ok(VfsLock::new(Box::new(SimLockToken { state: self.state.clone(), path: path.to_path_buf() })))
    }

    fn random_u64(&self) -> u64 {
        self.state.lock().rng.next()
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod tests;
