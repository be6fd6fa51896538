//! The state store: each check's monitor mode, counters and last status,
//! kept in memory and written to the state file atomically (temp file,
//! fsync, rename) on every change, so `kill -9` of Warden loses nothing.
//! Restored at start; on reload, state is carried over by check name.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    /// Evaluations so far (Monit's cycles for this check).
    pub cycle: u64,
    pub restarts: RestartWindow,
    /// Every automatic restart or start Warden made, ever.
    pub starts_total: u64,
    /// The last probe status (`ok`, `missing`, `zombie`, `failed`, ...).
    pub last_status: Option<String>,
    pub last_reason: Option<String>,
    /// The process as last seen: pid and start time identity.
    pub pid: Option<u32>,
    pub start_ticks: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    checks: BTreeMap<String, CheckState>,
}

/// Shared by every check task; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StateStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    path: Option<PathBuf>,
    checks: BTreeMap<String, CheckState>,
}

impl StateStore {
    /// Opens the store at `path` (None keeps it in memory), restoring what
    /// the file holds; an unreadable file is logged and started afresh.
    pub fn open(path: Option<PathBuf>) -> Self {
        let checks = path.as_deref().map(read).unwrap_or_default();
        StateStore {
            inner: Arc::new(Mutex::new(Inner { path, checks })),
        }
    }

    pub fn get(&self, name: &str) -> CheckState {
        self.lock().checks.get(name).cloned().unwrap_or_default()
    }

    pub fn all(&self) -> BTreeMap<String, CheckState> {
        self.lock().checks.clone()
    }

    /// Changes one check's state and writes the file if anything changed.
    pub fn update<R>(&self, name: &str, f: impl FnOnce(&mut CheckState) -> R) -> R {
        let mut inner = self.lock();
        let entry = inner.checks.entry(name.to_string()).or_default();
        let before = entry.clone();
        let out = f(entry);
        if *entry != before {
            inner.save();
        }
        out
    }

    /// Drops the state of checks no longer in the config (after a reload).
    pub fn retain(&self, names: &[&str]) {
        let mut inner = self.lock();
        let before = inner.checks.len();
        inner.checks.retain(|k, _| names.contains(&k.as_str()));
        if inner.checks.len() != before {
            inner.save();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data; keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn save(&self) {
        let Some(path) = &self.path else { return };
        let file = FileFormat {
            version: 1,
            checks: self.checks.clone(),
        };
        if let Err(e) = write_atomically(path, &file) {
            tracing::error!("cannot write the state file {}: {e}", path.display());
        }
    }
}

fn read(path: &Path) -> BTreeMap<String, CheckState> {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice::<FileFormat>(&bytes) {
            Ok(f) => f.checks,
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

/// Temp file in the same folder, fsync, rename: a reader sees the old file
/// or the new one, never half of one.
fn write_atomically(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A state file under a folder that does not exist yet (a fresh
        // /var/lib/warden, /tmp after a reboot) is created with its folder.
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
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
        write_atomically(&path, &vec![1, 2, 3]).unwrap();
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
        let again = StateStore::open(Some(path));
        let web = again.get("web");
        assert_eq!(web, store.get("web"));
        assert_eq!(
            (web.monitoring, web.cycle, web.restarts.within(7, 5)),
            (Monitoring::Unmonitored, 7, 1)
        );
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
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["s"]);
    }
}
