//! The durable alert queue: one readable JSON file per alert in a folder
//! (`set eventqueue basedir PATH`, else next to the state file), written
//! before any delivery is tried and removed only once a sink accepted it.
//! File names sort by time, so delivery goes oldest first; `slots` caps the
//! number of files, and a refused alert is an error naming it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::alert::{AlertEvent, Destination};
use crate::folder::{Folder, FolderError};
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

/// The alert queue refuses an alert (full, or the disk does).
pub type QueueError = FolderError;

#[derive(Debug)]
pub struct Queue {
    folder: Folder,
}

impl Queue {
    /// Opens (creating, mode 0700: alerts name hosts and services) the folder.
    pub fn open(dir: &Path, slots: Option<u32>) -> std::io::Result<Queue> {
        Ok(Queue {
            folder: Folder::open(dir, slots, "json", "alert queue")?,
        })
    }

    pub fn dir(&self) -> &Path {
        self.folder.dir()
    }

    /// Writes `entry` as a new file; returns its id.
    pub fn push(&self, entry: &Entry) -> Result<String, QueueError> {
        let text = serde_json::to_vec_pretty(entry).map_err(|e| FolderError::Io {
            what: "alert queue",
            dir: self.dir().display().to_string(),
            source: std::io::Error::other(e),
        })?;
        self.folder.push(entry.queued_ms, &text)
    }

    /// Every entry, oldest first. A file that cannot be read as an entry is
    /// renamed `*.bad` (kept for a person to read) and logged, once.
    pub fn load(&self) -> Vec<Entry> {
        self.folder.load(|id, bytes| {
            let mut entry = serde_json::from_slice::<Entry>(&bytes).map_err(|e| e.to_string())?;
            entry.id = id;
            Ok(entry)
        })
    }

    /// Removes a delivered (or given up) entry.
    pub fn remove(&self, id: &str) {
        self.folder.remove(id);
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
