//! The durable queue of M/Monit event messages: one file per message (the
//! whole XML document as it is posted) in `QUEUE/mmonit/`, written before
//! the first attempt and removed once a collector accepted it, so neither
//! M/Monit being down nor Warden being killed loses an event. Names sort
//! by time: messages go oldest first. `set eventqueue slots N` caps it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use warden_notify::atomic;

/// A message still unsent after this long is given up (as alerts are).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the M/Monit queue {dir} is full ({slots} slots)")]
    Full { dir: String, slots: u32 },
    #[error("cannot write to the M/Monit queue {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

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
    dir: PathBuf,
    slots: Option<u32>,
    seq: AtomicU64,
}

impl Spool {
    /// Opens (creating, mode 0700: messages hold the httpd credentials).
    pub fn open(dir: &Path, slots: Option<u32>) -> std::io::Result<Spool> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        // A message half written when Warden was killed was never queued.
        for e in std::fs::read_dir(dir)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
            slots,
            seq: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `body` as a new file; returns its id.
    pub fn push(&self, body: &str) -> Result<String, SpoolError> {
        let dir = self.dir.display().to_string();
        if let Some(slots) = self.slots
            && self.ids().len() >= slots as usize
        {
            return Err(SpoolError::Full { dir, slots });
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:013}-{}-{seq:06}", now_ms(), std::process::id());
        atomic::write(&self.path(&id), body.as_bytes())
            .map_err(|source| SpoolError::Io { dir, source })?;
        Ok(id)
    }

    /// Every message, oldest first; a file that cannot be read is logged
    /// and renamed `*.bad`.
    pub fn load(&self) -> Vec<Queued> {
        let mut out = Vec::new();
        for id in self.ids() {
            let path = self.path(&id);
            match std::fs::read_to_string(&path) {
                Ok(body) => out.push(Queued {
                    queued_ms: id
                        .split('-')
                        .next()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0),
                    id,
                    body,
                }),
                Err(_) if !path.exists() => {}
                Err(e) => {
                    tracing::error!(
                        "M/Monit queue: cannot read {} ({e}); renamed to .bad",
                        path.display()
                    );
                    let _ = std::fs::rename(&path, path.with_extension("bad"));
                }
            }
        }
        out
    }

    /// Removes a delivered (or given up) message.
    pub fn remove(&self, id: &str) {
        if let Err(e) = std::fs::remove_file(self.path(id))
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!("M/Monit queue: cannot remove {id}: {e}");
        }
        atomic::sync_dir(&self.dir);
    }

    fn ids(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = dir
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".xml")?;
                (!id.starts_with('.')).then(|| id.to_string())
            })
            .collect();
        ids.sort();
        ids
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.xml"))
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
