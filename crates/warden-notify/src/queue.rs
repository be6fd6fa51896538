//! The durable alert queue: one readable JSON file per alert in a folder
//! (`set eventqueue basedir PATH`, else next to the state file), written
//! before any delivery is tried and removed only once a sink accepted it.
//! File names sort by time, so delivery goes oldest first; `slots` caps the
//! number of files, and a refused alert is an error naming it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::alert::{AlertEvent, Destination};
use crate::format::Template;

/// One queued alert: one event for one sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The file name without `.json`; not stored inside the file.
    #[serde(skip)]
    pub id: String,
    /// When it was queued, milliseconds since the epoch.
    pub queued_ms: u64,
    pub sink: Destination,
    /// The service whose mail this event belongs in: itself, or the
    /// dependency whose failure caused it.
    pub root: String,
    /// A reminder of a failure alerted before.
    #[serde(default)]
    pub reminder: bool,
    pub event: AlertEvent,
    /// The mail format (mail sinks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// The labels (Alertmanager only), as the recipient had them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the alert queue {dir} is full ({slots} slots)")]
    Full { dir: String, slots: u32 },
    #[error("cannot write to the alert queue {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

#[derive(Debug)]
pub struct Queue {
    dir: PathBuf,
    slots: Option<u32>,
    seq: AtomicU64,
}

impl Queue {
    /// Opens (creating, mode 0700: alerts name hosts and services) the folder.
    pub fn open(dir: &Path, slots: Option<u32>) -> std::io::Result<Queue> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        Ok(Queue {
            dir: dir.to_path_buf(),
            slots,
            seq: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `entry` as a new file; returns its id.
    pub fn push(&self, entry: &Entry) -> Result<String, QueueError> {
        let io = |source| QueueError::Io {
            dir: self.dir.display().to_string(),
            source,
        };
        if let Some(slots) = self.slots
            && self.ids().len() >= slots as usize
        {
            return Err(QueueError::Full {
                dir: self.dir.display().to_string(),
                slots,
            });
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:013}-{}-{seq:06}", entry.queued_ms, std::process::id());
        let text = serde_json::to_vec_pretty(entry).map_err(|e| io(std::io::Error::other(e)))?;
        crate::atomic::write(&self.path(&id), &text).map_err(io)?;
        Ok(id)
    }

    /// Every entry, oldest first. A file that cannot be read as an entry is
    /// renamed `*.bad` (kept for a person to read) and logged, once.
    pub fn load(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        for id in self.ids() {
            let path = self.path(&id);
            let parsed = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Entry>(&b).map_err(|e| e.to_string()));
            match parsed {
                Ok(mut e) => {
                    e.id = id;
                    out.push(e);
                }
                // Removed meanwhile (delivered by another pass): nothing to say.
                Err(_) if !path.exists() => {}
                Err(why) => {
                    tracing::error!(
                        "alert queue: cannot read {} ({why}); renamed to .bad",
                        path.display()
                    );
                    let _ = std::fs::rename(&path, path.with_extension("bad"));
                }
            }
        }
        out
    }

    /// Removes a delivered (or given up) entry.
    pub fn remove(&self, id: &str) {
        if let Err(e) = std::fs::remove_file(self.path(id))
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!("alert queue: cannot remove {id}: {e}");
        }
        crate::atomic::sync_dir(&self.dir);
    }

    /// Ids of the queued entries, sorted (oldest first).
    fn ids(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = dir
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".json")?;
                (!id.starts_with('.')).then(|| id.to_string())
            })
            .collect();
        ids.sort();
        ids
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(service: &str, queued_ms: u64) -> Entry {
        Entry {
            id: String::new(),
            queued_ms,
            sink: Destination::new("mail", "ops@example.com"),
            root: service.into(),
            reminder: false,
            event: AlertEvent {
                service: service.into(),
                event: "Does not exist".into(),
                kind: "does_not_exist".into(),
                failure: true,
                action: "restart".into(),
                description: "process is not running".into(),
                date: "2026-11-21T04:51:16+0000".into(),
                timestamp_ms: queued_ms,
                host: "box".into(),
            },
            template: Some(Template::default()),
            labels: Vec::new(),
        }
    }

    #[test]
    fn entries_come_back_oldest_first_and_go_when_removed() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(&dir.path().join("q"), None).unwrap();
        q.push(&entry("b", 2_000)).unwrap();
        q.push(&entry("a", 1_000)).unwrap();
        let got = q.load();
        let services: Vec<_> = got.iter().map(|e| e.event.service.as_str()).collect();
        assert_eq!(services, ["a", "b"]);
        q.remove(&got[0].id);
        assert_eq!(
            Queue::open(&dir.path().join("q"), None)
                .unwrap()
                .load()
                .len(),
            1
        );
    }

    #[test]
    fn an_entry_is_a_readable_json_file() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path(), None).unwrap();
        let id = q.push(&entry("web", 1)).unwrap();
        let text = std::fs::read_to_string(dir.path().join(format!("{id}.json"))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["sink"]["to"], "mail");
        assert_eq!(v["event"]["service"], "web");
        assert_eq!(v["event"]["description"], "process is not running");
    }

    #[test]
    fn a_full_queue_refuses_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path(), Some(1)).unwrap();
        q.push(&entry("a", 1)).unwrap();
        let err = q.push(&entry("b", 2)).unwrap_err();
        assert!(err.to_string().contains("is full (1 slots)"), "{err}");
    }

    #[test]
    fn a_corrupt_file_is_set_aside_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path(), None).unwrap();
        std::fs::write(dir.path().join("0000000000001-1-000000.json"), "{not json").unwrap();
        q.push(&entry("a", 2)).unwrap();
        assert_eq!(q.load().len(), 1);
        assert!(dir.path().join("0000000000001-1-000000.bad").exists());
    }
}
