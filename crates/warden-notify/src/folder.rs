//! A durable folder of queued messages, one file each, shared by the alert
//! queue and the M/Monit spool: files written whole (see `atomic`) before
//! any delivery is tried, named by time so they load oldest first, capped
//! by `slots`, removed once delivered; an unreadable one is set aside.
//! A message the disk refuses (full, read-only) is held in memory, loaded
//! with the files (so it is still delivered) and written out as soon as the
//! disk takes it: a full disk delays durability, it does not lose alerts.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// At most this many messages are held in memory while the disk refuses
/// them (unless `slots` says fewer): a day-long full disk must not grow
/// Warden without bound.
pub const MAX_HELD: usize = 10_000;

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
    /// Messages the disk refused, by id, oldest first.
    held: Mutex<Vec<(String, Vec<u8>)>>,
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
            held: Mutex::new(Vec::new()),
        })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Vec<(String, Vec<u8>)>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes held messages to disk, oldest first, until the disk refuses
    /// one again.
    fn write_held(&self) {
        let mut held = self.held();
        if held.is_empty() {
            return;
        }
        let before = held.len();
        while let Some((id, bytes)) = held.first() {
            if crate::atomic::write(&self.path(id), bytes).is_err() {
                break;
            }
            held.remove(0);
        }
        let written = before - held.len();
        if written > 0 {
            tracing::warn!(
                "{} {}: {written} message(s) held in memory written to disk ({} still held)",
                self.what,
                self.dir.display(),
                held.len()
            );
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` as a new file queued at `queued_ms`; returns its id.
    /// When the disk refuses the file, the message is held in memory (and
    /// logged) rather than lost; an error only when `slots` or
    /// [`MAX_HELD`] is reached.
    pub fn push(&self, queued_ms: u64, bytes: &[u8]) -> Result<String, FolderError> {
        let dir = self.dir.display().to_string();
        self.write_held();
        let held = self.held().len();
        if let Some(slots) = self.slots
            && self.ids().len() + held >= slots as usize
        {
            return Err(FolderError::Full {
                what: self.what,
                dir,
                slots,
            });
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let id = format!("{queued_ms:013}-{}-{seq:06}", std::process::id());
        let Err(source) = crate::atomic::write(&self.path(&id), bytes) else {
            return Ok(id);
        };
        if held >= MAX_HELD {
            return Err(FolderError::Io {
                what: self.what,
                dir,
                source,
            });
        }
        let mut list = self.held();
        list.push((id.clone(), bytes.to_vec()));
        tracing::error!(
            "cannot write to the {} {dir}: {source}; message {id} held in memory ({} held) \
             until the disk takes it",
            self.what,
            list.len()
        );
        Ok(id)
    }

    /// How many messages are held in memory, waiting for the disk.
    pub fn held_count(&self) -> usize {
        self.held().len()
    }

    /// Every message read by `parse` (its id and bytes), oldest first. A
    /// file that cannot be read or parsed is renamed `*.bad` (kept for a
    /// person to read) and logged, once.
    pub fn load<T>(&self, parse: impl Fn(String, Vec<u8>) -> Result<T, String>) -> Vec<T> {
        self.write_held();
        // Files and held messages, merged by id (ids sort by time).
        let held: Vec<(String, Vec<u8>)> = self.held().clone();
        let mut all: Vec<(String, Option<Vec<u8>>)> = self
            .ids()
            .into_iter()
            .map(|id| (id, None))
            .chain(held.into_iter().map(|(id, b)| (id, Some(b))))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        for (id, bytes) in all {
            let path = self.path(&id);
            let read = match bytes {
                Some(b) => Ok(b),
                None => std::fs::read(&path).map_err(|e| e.to_string()),
            };
            match read.and_then(|bytes| parse(id, bytes)) {
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
        {
            let mut held = self.held();
            if let Some(at) = held.iter().position(|(h, _)| h == id) {
                held.remove(at);
                return;
            }
        }
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

impl Drop for Folder {
    fn drop(&mut self) {
        let held = self.held().len();
        if held > 0 {
            tracing::error!(
                "{} {}: {held} message(s) the disk refused are lost at exit",
                self.what,
                self.dir.display()
            );
        }
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

    #[test]
    fn a_message_the_disk_refuses_is_held_loaded_and_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        let f = Folder::open(&q, None, "txt", "test queue").unwrap();
        f.push(1_000, b"one").unwrap();
        // A file where the folder was: every write fails (as on a full disk).
        let moved = dir.path().join("moved");
        std::fs::rename(&q, &moved).unwrap();
        std::fs::write(&q, "not a folder").unwrap();
        let id = f.push(2_000, b"two").unwrap();
        assert_eq!(f.held_count(), 1);
        let got = f.load(|_, b| Ok(String::from_utf8(b).unwrap()));
        assert_eq!(got, ["two"], "held messages load with the files");
        // The disk takes files again: the next load writes it out.
        std::fs::remove_file(&q).unwrap();
        std::fs::rename(&moved, &q).unwrap();
        let got = f.load(|_, b| Ok(String::from_utf8(b).unwrap()));
        assert_eq!(got, ["one", "two"]);
        assert_eq!(f.held_count(), 0);
        assert!(q.join(format!("{id}.txt")).exists());
        f.remove(&id);
        assert!(!q.join(format!("{id}.txt")).exists());
    }

    #[test]
    fn a_held_message_removed_is_not_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        let f = Folder::open(&q, None, "txt", "test queue").unwrap();
        std::fs::remove_dir(&q).unwrap();
        std::fs::write(&q, "not a folder").unwrap();
        let id = f.push(1_000, b"one").unwrap();
        f.remove(&id);
        std::fs::remove_file(&q).unwrap();
        std::fs::create_dir(&q).unwrap();
        assert!(f.load(|_, b| Ok(b)).is_empty());
        assert_eq!(std::fs::read_dir(&q).unwrap().count(), 0);
    }
}
