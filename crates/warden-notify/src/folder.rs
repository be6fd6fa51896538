//! A durable folder of queued messages, one file each, shared by the alert
//! queue and the M/Monit spool: files written whole (see `atomic`) before
//! any delivery is tried, named by time so they load oldest first, capped
//! by `slots`, removed once delivered; an unreadable one is set aside.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("the {what} {dir} is full ({slots} slots)")]
    Full {
        what: &'static str,
        dir: String,
        slots: u32,
    },
    #[error("cannot write to the {what} {dir}: {source}")]
    Io {
        what: &'static str,
        dir: String,
        source: std::io::Error,
    },
}

#[derive(Debug)]
pub struct Folder {
    dir: PathBuf,
    slots: Option<u32>,
    seq: AtomicU64,
    /// The files' extension (`json`, `xml`).
    ext: &'static str,
    /// What the folder is, in messages (`alert queue`).
    what: &'static str,
}

impl Folder {
    /// Opens (creating, mode 0700: messages name hosts and services, some
    /// hold credentials) the folder, and drops any file half written when
    /// Warden was killed (it was never queued).
    pub fn open(
        dir: &Path,
        slots: Option<u32>,
        ext: &'static str,
        what: &'static str,
    ) -> std::io::Result<Folder> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        for e in std::fs::read_dir(dir)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(Folder {
            dir: dir.to_path_buf(),
            slots,
            seq: AtomicU64::new(0),
            ext,
            what,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` as a new file queued at `queued_ms`; returns its id.
    pub fn push(&self, queued_ms: u64, bytes: &[u8]) -> Result<String, FolderError> {
        let dir = self.dir.display().to_string();
        if let Some(slots) = self.slots
            && self.ids().len() >= slots as usize
        {
            return Err(FolderError::Full {
                what: self.what,
                dir,
                slots,
            });
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let id = format!("{queued_ms:013}-{}-{seq:06}", std::process::id());
        crate::atomic::write(&self.path(&id), bytes).map_err(|source| FolderError::Io {
            what: self.what,
            dir,
            source,
        })?;
        Ok(id)
    }

    /// Every message read by `parse` (its id and bytes), oldest first. A
    /// file that cannot be read or parsed is renamed `*.bad` (kept for a
    /// person to read) and logged, once.
    pub fn load<T>(&self, parse: impl Fn(String, Vec<u8>) -> Result<T, String>) -> Vec<T> {
        let mut out = Vec::new();
        for id in self.ids() {
            let path = self.path(&id);
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| parse(id, bytes))
            {
                Ok(message) => out.push(message),
                // Removed meanwhile (delivered by another pass): nothing to say.
                Err(_) if !path.exists() => {}
                Err(why) => {
                    tracing::error!(
                        "{}: cannot read {} ({why}); renamed to .bad",
                        self.what,
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
            tracing::error!("{}: cannot remove {id}: {e}", self.what);
        }
        crate::atomic::sync_dir(&self.dir);
    }

    /// When a message was queued, from its id (milliseconds since the epoch).
    pub fn queued_ms(id: &str) -> u64 {
        id.split('-')
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    }

    /// Ids of the queued messages, sorted (oldest first).
    fn ids(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = dir
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(self.ext)?.strip_suffix('.')?;
                (!id.starts_with('.')).then(|| id.to_string())
            })
            .collect();
        ids.sort();
        ids
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.{}", self.ext))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_written_file_is_dropped_at_open_and_others_load_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let f = Folder::open(dir.path(), None, "txt", "test queue").unwrap();
        f.push(2_000, b"two").unwrap();
        f.push(1_000, b"one").unwrap();
        std::fs::write(dir.path().join(".0000000000003-1-000000.txt.tmp"), "half").unwrap();
        let f = Folder::open(dir.path(), None, "txt", "test queue").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        let got = f.load(|id, b| Ok((Folder::queued_ms(&id), String::from_utf8(b).unwrap())));
        assert_eq!(
            got,
            [(1_000, "one".to_string()), (2_000, "two".to_string())]
        );
    }
}
