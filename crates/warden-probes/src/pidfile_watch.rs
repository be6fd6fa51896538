//! Pidfiles watched with inotify: a steady process check stats its pidfile
//! only after its directory's watch named it (or lost track of it), not
//! every cycle (the `statx` was ~15% of the daemon at 10,000 checks).
//!
//! One inotify descriptor for the daemon, one watch per directory shared by
//! every pidfile in it. Its events are drained by the checks themselves, at
//! most once a millisecond, not by a task: a change made before a check
//! starts (more than that millisecond, or a drain under way, before) is
//! seen by it, as a `stat` would see it; `validate` right after a rewrite
//! too. Directories on file systems where inotify may miss
//! changes (NFS, FUSE, overlay, ...), or whose watch is refused (ENOSPC,
//! EACCES), are stat'ed every cycle as before.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rustix::fd::OwnedFd;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

/// Events drained at most this often: a change this close before a check
/// is as good as simultaneous with it, and is seen the next cycle.
const DRAIN_EVERY: Duration = Duration::from_millis(1);

/// A watched pidfile is stat'ed anyway after this many cycles without an
/// event: what reaches it without an event in its directory (an ancestor
/// directory renamed or mounted over, a symlink of the path retargeted, a
/// write through a hard link elsewhere) is seen within this, not a cycle.
pub const RESTAT_EVERY: u8 = 30;

/// File systems whose every change goes through this kernel's VFS, so a
/// directory watch sees it: ext2/3/4, xfs, btrfs, tmpfs, ramfs, f2fs, jfs,
/// reiserfs, zfs, bcachefs.
const LOCAL_FS: [i64; 10] = [
    0xEF53,
    0x5846_5342,
    0x9123_683E,
    0x0102_1994,
    0x8584_58f6,
    0xF2F5_2010,
    0x3153_464a,
    0x5265_4973,
    0x2fc1_2fc1,
    0xca45_1a4e,
];

/// One pidfile name in one watched directory, shared by every check of it.
#[derive(Debug)]
struct Token {
    /// Bumped by every event that may mean the file changed.
    generation: AtomicU32,
    /// The directory's watch is gone (deleted, moved, unmounted): the
    /// check registers again.
    lost: AtomicBool,
}

impl Token {
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }
}

#[derive(Debug, Default)]
struct Dir {
    /// A name's hash -> (its token, the checks holding it). By hash, not
    /// name: 60-odd bytes less a check, and two names of one hash only
    /// share their events (a `stat` more, never one less).
    names: HashMap<u64, (Arc<Token>, u32)>,
}

fn name_hash(name: &[u8]) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    // Fixed keys: the same name gives the same hash in every call.
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

#[derive(Debug, Default)]
struct State {
    dirs: HashMap<i32, Dir>,
    /// A directory's path (as the checks name it) -> its watch.
    by_path: HashMap<PathBuf, i32>,
}

#[derive(Debug)]
struct Watcher {
    fd: OwnedFd,
    state: Mutex<State>,
    base: Instant,
    /// When events were last drained, in ns after `base`.
    drained: AtomicU64,
}

static WATCHER: OnceLock<Option<Watcher>> = OnceLock::new();

fn watcher() -> Option<&'static Watcher> {
    WATCHER
        .get_or_init(|| {
            let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).ok()?;
            Some(Watcher {
                fd,
                state: Mutex::new(State::default()),
                base: Instant::now(),
                drained: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Directories refused as if their file system were not local (tests of
/// the stat-every-cycle fallback).
#[cfg(test)]
pub(crate) static REFUSED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl Watcher {
    fn state(&self) -> MutexGuard<'_, State> {
        // The maps stay consistent between statements: keep using them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Reads the pending events, if not done within [`DRAIN_EVERY`].
    fn sync(&self) {
        let due = |last: u64, now: u64| now.saturating_sub(last) >= DRAIN_EVERY.as_nanos() as u64;
        if !due(self.drained.load(Ordering::Acquire), self.now()) {
            return;
        }
        // A check finding another one draining goes on without waiting:
        // waiting put both worker threads to sleep and back some 800 times
        // a second at 10,000 checks (futex calls 20 times main's); a change
        // that close to this check is seen the next cycle.
        let mut state = match self.state.try_lock() {
            Ok(state) => state,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        let now = self.now();
        if !due(self.drained.load(Ordering::Acquire), now) {
            return;
        }
        self.drain(&mut state);
        self.drained.store(now, Ordering::Release);
    }

    fn drain(&self, state: &mut State) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut reader = inotify::Reader::new(&self.fd, &mut buf);
        // Watches to drop once the reader lets go of the descriptor.
        let mut moved = Vec::new();
        // Until EAGAIN: nothing more; any other error: nothing to read now
        // either, and the next drain tries again.
        while let Ok(event) = reader.next() {
            let flags = event.events();
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                // Events were lost: everything may have changed.
                for dir in state.dirs.values() {
                    dir.names.values().for_each(|(t, _)| t.bump());
                }
                continue;
            }
            let wd = event.wd();
            let gone = ReadFlags::IGNORED
                | ReadFlags::DELETE_SELF
                | ReadFlags::MOVE_SELF
                | ReadFlags::UNMOUNT;
            if flags.intersects(gone) {
                if let Some(dir) = state.dirs.remove(&wd) {
                    for (token, _) in dir.names.values() {
                        token.lost.store(true, Ordering::Release);
                        token.bump();
                    }
                }
                state.by_path.retain(|_, w| *w != wd);
                if !flags.contains(ReadFlags::IGNORED) {
                    moved.push(wd);
                }
                continue;
            }
            let (Some(dir), Some(name)) = (state.dirs.get(&wd), event.file_name()) else {
                continue;
            };
            if let Some((token, _)) = dir.names.get(&name_hash(name.to_bytes())) {
                token.bump();
            }
        }
        for wd in moved {
            // A directory moved away still has its watch: its new place is
            // no pidfile's. Already gone (deleted, unmounted): an error.
            let _ = inotify::remove_watch(&self.fd, wd);
        }
    }
}

/// A check's watch on its pidfile; gives its place back when dropped.
#[derive(Debug)]
pub struct PidfileWatch {
    token: Arc<Token>,
    wd: i32,
    name: u64,
    /// The generation the check last stat'ed at.
    seen: Option<u32>,
    /// Cycles since the last stat.
    skipped: u8,
}

impl PidfileWatch {
    /// Watches `pidfile`'s directory (or joins its watch); None when it
    /// cannot be watched reliably: the caller stats every cycle.
    pub fn new(pidfile: &Path) -> Option<PidfileWatch> {
        let watcher = watcher()?;
        let name = name_hash(pidfile.file_name()?.as_bytes());
        let dir = pidfile.parent().filter(|d| !d.as_os_str().is_empty())?;
        // A symlinked pidfile changes with its target, elsewhere.
        if std::fs::symlink_metadata(pidfile)
            .ok()?
            .file_type()
            .is_symlink()
        {
            return None;
        }
        let mut state = watcher.state();
        let wd = match state.by_path.get(dir) {
            Some(wd) => *wd,
            None => {
                #[cfg(test)]
                if REFUSED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .any(|r| r == dir)
                {
                    return None;
                }
                let fs = rustix::fs::statfs(dir).ok()?;
                #[allow(clippy::unnecessary_cast)] // its width is the arch's
                let magic = fs.f_type as i64;
                if !LOCAL_FS.contains(&magic) {
                    return None;
                }
                let events = WatchFlags::CREATE
                    | WatchFlags::DELETE
                    | WatchFlags::MOVED_TO
                    | WatchFlags::MOVED_FROM
                    | WatchFlags::CLOSE_WRITE
                    | WatchFlags::MODIFY
                    | WatchFlags::ATTRIB
                    | WatchFlags::DELETE_SELF
                    | WatchFlags::MOVE_SELF
                    | WatchFlags::ONLYDIR;
                let wd = inotify::add_watch(&watcher.fd, dir, events).ok()?;
                // Another path to a directory already watched (a symlink
                // such as /var/run) shares its watch.
                state.dirs.entry(wd).or_default();
                state.by_path.insert(dir.to_path_buf(), wd);
                wd
            }
        };
        let dir = state.dirs.entry(wd).or_default();
        let (token, holders) = dir.names.entry(name).or_insert_with(|| {
            let token = Token {
                generation: AtomicU32::new(0),
                lost: AtomicBool::new(false),
            };
            (Arc::new(token), 0)
        });
        *holders += 1;
        Some(PidfileWatch {
            token: Arc::clone(token),
            wd,
            name,
            seen: None,
            skipped: 0,
        })
    }

    /// Whether the watch went away: the caller drops this one and
    /// registers again (the directory may be back).
    pub fn lost(&self) -> bool {
        self.token.lost.load(Ordering::Acquire)
    }

    /// Whether the pidfile is unchanged since the last time this said
    /// no; when it says no, the caller stats the file now.
    pub fn unchanged(&mut self) -> bool {
        if let Some(watcher) = watcher() {
            watcher.sync();
        }
        // Read before the caller's stat: an event after it shows next time.
        let generation = self.token.generation.load(Ordering::Acquire);
        let same = self.seen == Some(generation) && !self.lost() && self.skipped < RESTAT_EVERY;
        self.seen = Some(generation);
        self.skipped = if same { self.skipped + 1 } else { 0 };
        same
    }
}

impl Drop for PidfileWatch {
    fn drop(&mut self) {
        let Some(watcher) = watcher() else { return };
        let mut state = watcher.state();
        let Some(dir) = state.dirs.get_mut(&self.wd) else {
            return;
        };
        if let Some((token, holders)) = dir.names.get_mut(&self.name)
            && Arc::ptr_eq(token, &self.token)
        {
            *holders -= 1;
            if *holders == 0 {
                dir.names.remove(&self.name);
            }
        }
        if dir.names.is_empty() {
            state.dirs.remove(&self.wd);
            state.by_path.retain(|_, w| *w != self.wd);
            // Its IN_IGNORED finds no directory and does nothing.
            let _ = inotify::remove_watch(&watcher.fd, self.wd);
        }
    }
}
