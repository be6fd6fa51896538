//! The state store: each check's monitor mode, counters and last status,
//! kept in memory and written to the state file atomically (temp file,
//! fsync, rename) on every change, so `kill -9` of Warden loses nothing.
//! The write happens on a writer thread of its own, milliseconds after the
//! change (at most about half a second at 10,000 checks, see `write_loop`):
//! two fsyncs on a check's task would delay the very restart the change
//! records. Restored at start; on reload, state is carried over by
//! check name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rules::RestartWindow;

/// Whether Warden acts on a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitoring {
    #[default]
    Monitored,
    /// Stopped by `unmonitor` (an action or a person): no probe, no action.
    Unmonitored,
}

/// What Warden remembers about one check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CheckState {
    pub monitoring: Monitoring,
    /// Evaluations so far (Monit's cycles for this check). Written only
    /// when something else changes, so it is read back with
    /// [`CheckState::cycle_now`].
    pub cycle: u64,
    /// When `cycle` was written (unix seconds).
    #[serde(default)]
    pub cycle_time: Option<u64>,
    pub restarts: RestartWindow,
    /// Every automatic restart or start Warden made, ever.
    pub starts_total: u64,
    /// The last probe status (`ok`, `missing`, `zombie`, `failed`, ...):
    /// borrowed from the status words, not a copy in every check's entry.
    pub last_status: Option<std::borrow::Cow<'static, str>>,
    pub last_reason: Option<String>,
    /// The process as last seen: pid and start time identity.
    pub pid: Option<u32>,
    pub start_ticks: Option<u64>,
}

impl CheckState {
    /// Records `cycle` as the current cycle, now.
    pub fn set_cycle(&mut self, cycle: u64) {
        self.cycle = cycle;
        self.cycle_time = Some(unix_now());
    }

    /// The cycle it is now, counting the time since `cycle` was written as
    /// cycles of `period`: restarts recorded before Warden was stopped or
    /// reloaded age out of `N restarts within M cycles` windows instead of
    /// piling up across restarts of Warden.
    pub fn cycle_now(&self, period: std::time::Duration) -> u64 {
        let (Some(at), false) = (self.cycle_time, period.is_zero()) else {
            return self.cycle;
        };
        let since = unix_now().saturating_sub(at);
        self.cycle + since / period.as_secs().max(1)
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    checks: BTreeMap<String, CheckState>,
}

/// Shared by every check task; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StateStore {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    data: Mutex<Inner>,
    /// Wakes the writer thread when `dirty` is set.
    changed: Condvar,
    /// Held while a file is written, so two writers never share the temp file.
    writing: Mutex<()>,
}

#[derive(Debug, Default)]
struct Inner {
    path: Option<PathBuf>,
    checks: BTreeMap<String, CheckState>,
    /// Changed since the file was last written.
    dirty: bool,
    /// Writes failed in a row (a full or read-only disk): the first is
    /// logged as an error, the rest are retried quietly every
    /// [`RETRY_AFTER`] until one succeeds, which is logged too.
    failed: u32,
}

/// How long the writer waits after a failed write before it tries again
/// (not at once: a full disk stays full for a while, and a tight loop of
/// failing writes would spin a core and flood the log).
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The writer's rest after a write, in multiples of the write's
/// serializing time.
const REST: u32 = 9;

impl StateStore {
    /// Opens the store at `path` (None keeps it in memory), restoring what
    /// the file holds; an unreadable file is logged and started afresh.
    pub fn open(path: Option<PathBuf>) -> Self {
        let checks = path.as_deref().map(read).unwrap_or_default();
        let writer = path.is_some();
        let store = StateStore {
            inner: Arc::new(Shared {
                data: Mutex::new(Inner {
                    path,
                    checks,
                    dirty: false,
                    failed: 0,
                }),
                ..Shared::default()
            }),
        };
        if writer {
            let weak = Arc::downgrade(&store.inner);
            let spawned = std::thread::Builder::new()
                .name("warden-state".into())
                .spawn(move || write_loop(&weak));
            if let Err(e) = spawned {
                tracing::warn!("cannot start the state writer ({e}); writing inline");
            }
        }
        store
    }

    pub fn get(&self, name: &str) -> CheckState {
        self.lock().checks.get(name).cloned().unwrap_or_default()
    }

    /// Whether Warden acts on this check: cheaper than [`get`](Self::get)
    /// on the per-cycle path.
    pub fn monitoring(&self, name: &str) -> Monitoring {
        self.lock()
            .checks
            .get(name)
            .map(|s| s.monitoring)
            .unwrap_or_default()
    }

    /// Writes the file now if anything changed since the last write (at
    /// exit, and in tests that read the file back).
    pub fn flush(&self) {
        save(&self.inner);
    }

    pub fn all(&self) -> BTreeMap<String, CheckState> {
        self.lock().checks.clone()
    }

    /// Changes one check's state and writes the file if anything changed.
    pub fn update<R>(&self, name: &str, f: impl FnOnce(&mut CheckState) -> R) -> R {
        let mut inner = self.lock();
        if !inner.checks.contains_key(name) {
            inner.checks.insert(name.to_string(), CheckState::default());
        }
        let Some(entry) = inner.checks.get_mut(name) else {
            return f(&mut CheckState::default());
        };
        let before = entry.clone();
        let out = f(entry);
        if *entry != before {
            self.changed(inner);
        }
        out
    }

    /// Drops the state of checks no longer in the config (after a reload).
    pub fn retain(&self, names: &[&str]) {
        // Sorted once, searched by halves: a scan of the names for each
        // kept check was 50 million comparisons at 10,000 checks.
        let mut sorted = names.to_vec();
        sorted.sort_unstable();
        let mut inner = self.lock();
        let before = inner.checks.len();
        inner
            .checks
            .retain(|k, _| sorted.binary_search(&k.as_str()).is_ok());
        if inner.checks.len() != before {
            self.changed(inner);
        }
    }

    /// Marks the state changed and wakes the writer (or, with no writer
    /// thread, writes at once).
    fn changed(&self, mut inner: std::sync::MutexGuard<'_, Inner>) {
        if inner.path.is_none() {
            return;
        }
        inner.dirty = true;
        drop(inner);
        if Arc::weak_count(&self.inner) == 0 {
            save(&self.inner);
        } else {
            self.inner.changed.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.inner.data)
    }
}

/// A panic while holding a lock leaves plain data; keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The writer thread: writes after each change, coalescing a burst into
/// one write; after a write it rests [`REST`] times as long as the
/// serializing took, so a stream of changes (10,000 checks in their first
/// cycle) costs it at most a tenth of a core instead of a core rewriting
/// the file back to back (milliseconds at 1,000 checks, about half a
/// second at 10,000); after a failed write it waits [`RETRY_AFTER`] and
/// tries again; ends once the store is dropped.
fn write_loop(store: &Weak<Shared>) {
    loop {
        let saved = {
            let Some(shared) = store.upgrade() else {
                return;
            };
            let inner = lock(&shared.data);
            let (inner, _) = shared
                .changed
                .wait_timeout_while(inner, Duration::from_secs(1), |i| !i.dirty)
                .unwrap_or_else(|p| p.into_inner());
            drop(inner);
            save(&shared)
        };
        match saved {
            Saved::Failed => std::thread::sleep(RETRY_AFTER),
            Saved::Wrote(busy) => std::thread::sleep(busy * REST),
            Saved::Clean => {}
        }
    }
}

/// Writes the file if it is dirty. The checks are serialized straight
/// into the temp file's buffer (a few `write`s into the page cache), a
/// slice of [`CHUNK`] checks at a time under the data lock; the slow part,
/// fsync and rename, happens outside it. Serialized into memory first, the
/// JSON of 10,000 checks was a 5 MB block at every write (0.5 MB at 1,000);
/// serialized whole under the lock, it held every check task that changed
/// its state (10,000 in a first cycle) for the tens of milliseconds of each
/// write. A change made during a write marks the state dirty again, so the
/// next write carries it: each check's entry is whole, read at one moment.
/// A failed write leaves the state dirty (the file on disk stays the last
/// whole one).
fn save(shared: &Shared) -> Saved {
    let _writing = lock(&shared.writing);
    let Some(path) = ({
        let inner = lock(&shared.data);
        inner.path.clone().filter(|_| inner.dirty)
    }) else {
        return Saved::Clean;
    };
    let mut busy = Duration::ZERO;
    let written = write_atomically(&path, |out| {
        let began = std::time::Instant::now();
        lock(&shared.data).dirty = false;
        let filled = write_checks(&shared.data, out);
        busy = began.elapsed();
        filled
    });
    let mut inner = lock(&shared.data);
    match written {
        Ok(()) => {
            if inner.failed > 0 {
                tracing::warn!(
                    "the state file {} is written again, after {} failed attempts",
                    path.display(),
                    inner.failed
                );
            }
            inner.failed = 0;
            Saved::Wrote(busy)
        }
        Err(e) => {
            inner.dirty = true;
            inner.failed = inner.failed.saturating_add(1);
            if inner.failed == 1 {
                tracing::error!(
                    "cannot write the state file {}: {e}; the state is kept in memory and \
                     the write retried every {} s",
                    path.display(),
                    RETRY_AFTER.as_secs()
                );
            }
            Saved::Failed
        }
    }
}

/// What [`save`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Saved {
    /// Nothing had changed.
    Clean,
    /// Written; serializing took this long (fsync and rename not counted).
    Wrote(Duration),
    Failed,
}

/// How many checks are serialized per hold of the data lock.
const CHUNK: usize = 256;

/// The file's JSON (`{"version": 1, "checks": {NAME: STATE, ...}}`, one
/// line a check), [`CHUNK`] checks per hold of the lock, in name order.
fn write_checks(data: &Mutex<Inner>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(b"{\n  \"version\": 1,\n  \"checks\": {")?;
    let mut after: Option<String> = None;
    let mut first = true;
    loop {
        let inner = lock(data);
        let from = match &after {
            Some(k) => std::ops::Bound::Excluded(k.as_str()),
            None => std::ops::Bound::Unbounded,
        };
        let (mut last, mut count) = (None, 0);
        for (name, state) in inner
            .checks
            .range::<str, _>((from, std::ops::Bound::Unbounded))
            .take(CHUNK)
        {
            out.write_all(if first { b"\n    " } else { b",\n    " })?;
            first = false;
            serde_json::to_writer(&mut *out, name).map_err(std::io::Error::other)?;
            out.write_all(b": ")?;
            serde_json::to_writer(&mut *out, state).map_err(std::io::Error::other)?;
            last = Some(name);
            count += 1;
        }
        match last {
            Some(last) if count == CHUNK => after = Some(last.clone()),
            _ => break,
        }
    }
    out.write_all(b"\n  }\n}\n")
}

/// The checks a state file's bytes hold; an error for anything else (the
/// fuzz target `state` feeds it any bytes).
pub fn parse(bytes: &[u8]) -> Result<BTreeMap<String, CheckState>, serde_json::Error> {
    serde_json::from_slice::<FileFormat>(bytes).map(|f| f.checks)
}

fn read(path: &Path) -> BTreeMap<String, CheckState> {
    match std::fs::read(path) {
        Ok(bytes) => match parse(&bytes) {
            Ok(checks) => checks,
            Err(e) => {
                tracing::warn!("ignoring the unreadable state file {}: {e}", path.display());
                BTreeMap::new()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => {
            tracing::warn!("cannot read the state file {}: {e}", path.display());
            BTreeMap::new()
        }
    }
}

/// Temp file in the same folder, filled by `fill` through a buffer,
/// fsync, rename: a reader sees the old file or the new one, never half of
/// one.
fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A state file under a folder that does not exist yet (a fresh
        // /var/lib/warden, /tmp after a reboot) is created with its folder.
        std::fs::create_dir_all(dir)?;
    }
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, f);
        fill(&mut out)?;
        let f = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        // A half-written temporary (a full disk) would hold the very space
        // the next try needs; the old state file stays whole.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself is durable only once the folder is synced.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_state_folder_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not/yet/there/warden.state");
        write_atomically(&path, |w| w.write_all(b"[1, 2, 3]")).unwrap();
        let back: Vec<i32> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, [1, 2, 3]);
    }

    #[test]
    fn state_written_is_state_restored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = StateStore::open(Some(path.clone()));
        store.update("web", |s| {
            s.monitoring = Monitoring::Unmonitored;
            s.cycle = 7;
            s.restarts.record(5);
            s.pid = Some(42);
        });
        store.flush();
        let again = StateStore::open(Some(path));
        let web = again.get("web");
        assert_eq!(web, store.get("web"));
        assert_eq!(
            (web.monitoring, web.cycle, web.restarts.within(7, 5)),
            (Monitoring::Unmonitored, 7, 1)
        );
    }

    #[test]
    fn more_checks_than_one_slice_are_all_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = StateStore::open(Some(path.clone()));
        // Two whole slices and a part, with names that sort apart from
        // their numbers (c10 before c2), and one slice exactly.
        for n in [2 * CHUNK + 7, 3 * CHUNK] {
            for i in 0..n {
                store.update(&format!("c{i}"), |s| s.pid = Some(i as u32));
            }
            store.flush();
            let back = parse(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(back, store.all(), "{n} checks");
        }
    }

    #[test]
    fn a_change_reaches_the_file_without_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let store = StateStore::open(Some(path.clone()));
        store.update("web", |s| s.cycle = 3);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while StateStore::open(Some(path.clone())).get("web").cycle != 3 {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_cycle_read_back_counts_the_time_since_it_was_written() {
        let mut s = CheckState::default();
        s.set_cycle(40);
        s.cycle_time = s.cycle_time.map(|t| t - 100);
        assert_eq!(s.cycle_now(Duration::from_secs(10)), 50);
        let old = CheckState {
            cycle: 40,
            ..CheckState::default()
        };
        assert_eq!(old.cycle_now(Duration::from_secs(10)), 40, "no time known");
    }

    #[test]
    fn a_corrupt_state_file_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{ not json").unwrap();
        assert_eq!(
            StateStore::open(Some(path)).get("web"),
            CheckState::default()
        );
    }

    #[test]
    fn checks_gone_from_the_config_are_forgotten() {
        let store = StateStore::open(None);
        store.update("a", |s| s.cycle = 1);
        store.update("b", |s| s.cycle = 1);
        store.retain(&["b"]);
        assert_eq!(store.all().keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn no_temp_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(Some(dir.path().join("s")));
        store.update("a", |s| s.cycle = 1);
        store.flush();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["s"]);
    }
}
