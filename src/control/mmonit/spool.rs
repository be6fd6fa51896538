//! The durable queue of M/Monit event messages: one file per message (the
//! whole XML document as it is posted) in `QUEUE/mmonit/`, written before
//! the first attempt and removed once a collector accepted it, so neither
//! M/Monit being down nor Warden being killed loses an event. Names sort
//! by time: messages go oldest first. `set eventqueue slots N` caps it.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use warden_notify::folder::{Folder, FolderError};

/// A message still unsent after this long is given up (as alerts are).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The spool refuses a message (full, or the disk does).
pub type SpoolError = FolderError;

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: String,
    /// When it was queued, milliseconds since the epoch.
    pub queued_ms: u64,
    pub body: String,
}

#[derive(Debug)]
pub struct Spool {
    folder: Folder,
}

impl Spool {
    /// Opens (creating, mode 0700: messages hold the httpd credentials).
    pub fn open(dir: &Path, slots: Option<u32>) -> std::io::Result<Spool> {
        Ok(Spool {
            folder: Folder::open(dir, slots, "xml", "M/Monit queue")?,
        })
    }

    pub fn dir(&self) -> &Path {
        self.folder.dir()
    }

    /// Writes `body` as a new file; returns its id.
    pub fn push(&self, body: &str) -> Result<String, SpoolError> {
        self.folder.push(now_ms(), body.as_bytes())
    }

    /// Every message, oldest first; a file that cannot be read is logged
    /// and renamed `*.bad`.
    pub fn load(&self) -> Vec<Queued> {
        self.folder.load(|id, bytes| {
            Ok(Queued {
                queued_ms: Folder::queued_ms(&id),
                body: String::from_utf8(bytes).map_err(|e| e.to_string())?,
                id,
            })
        })
    }

    /// Removes a delivered (or given up) message.
    pub fn remove(&self, id: &str) {
        self.folder.remove(id);
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_back_oldest_first_and_go_when_removed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(&dir.path().join("mmonit"), None).unwrap();
        s.push("<a/>").unwrap();
        s.push("<b/>").unwrap();
        let got = s.load();
        let bodies: Vec<_> = got.iter().map(|q| q.body.as_str()).collect();
        assert_eq!(bodies, ["<a/>", "<b/>"]);
        assert!(got[0].queued_ms > 0);
        s.remove(&got[0].id);
        let again = Spool::open(&dir.path().join("mmonit"), None).unwrap();
        assert_eq!(again.load().len(), 1);
    }

    #[test]
    fn a_full_queue_refuses_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(dir.path(), Some(1)).unwrap();
        s.push("<a/>").unwrap();
        let err = s.push("<b/>").unwrap_err();
        assert!(err.to_string().contains("is full (1 slots)"), "{err}");
    }
}
