//! The alert state: which failure was last alerted to which sink for which
//! service, kept in `<statefile>.alerts` (JSON, written atomically on every
//! change), so a reload or a restart of Warden never alerts the same
//! failure twice and a recovery is sent to exactly those told of the failure.
//! Services are named, not [`CheckId`]s: the file outlives configs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_engine::CheckId;

use crate::alert::{AlertEvent, Destination};

/// One failure alerted to one sink and not yet recovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remembered {
    pub sink: Destination,
    /// The failure as alerted (reminders repeat it).
    pub event: AlertEvent,
    /// When it was last sent (first alert or reminder), ms since the epoch.
    pub last_sent_ms: u64,
    /// The service's check in the installed routes, for reminders: the
    /// file keeps names (it outlives configs), resolved once per install
    /// (see [`Memory::resolve`]). None: a service the config does not know.
    #[serde(skip)]
    pub check: Option<CheckId>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    /// service -> failures alerted for it.
    services: HashMap<String, Vec<Remembered>>,
}

#[derive(Debug)]
pub struct Memory {
    path: Option<PathBuf>,
    services: HashMap<String, Vec<Remembered>>,
    /// The last write failed (a full disk): logged once, tried again at
    /// every reminder tick until it succeeds.
    unsaved: bool,
}

impl Memory {
    /// Reads the file; a missing file is an empty state, an unreadable one
    /// is logged and replaced.
    pub fn open(path: Option<&Path>) -> Memory {
        let services = path
            .and_then(|p| match std::fs::read(p) {
                Ok(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                    Ok(d) => Some(d.services),
                    Err(e) => {
                        tracing::warn!(
                            "alert state {} is unreadable ({e}); starting afresh",
                            p.display()
                        );
                        None
                    }
                },
                Err(_) => None,
            })
            .unwrap_or_default();
        Memory {
            path: path.map(Path::to_path_buf),
            services,
            unsaved: false,
        }
    }

    /// The failure last alerted to `sink` about `service`, if it still stands.
    pub fn failing(&self, service: &str, sink: &Destination) -> Option<&Remembered> {
        self.services.get(service)?.iter().find(|r| &r.sink == sink)
    }

    /// Remembers `event` as alerted to `sink`; `check` is its service's id
    /// in the installed routes.
    pub fn set_failing(
        &mut self,
        sink: &Destination,
        event: &AlertEvent,
        check: Option<CheckId>,
        now_ms: u64,
    ) {
        let list = self.services.entry(event.service.clone()).or_default();
        list.retain(|r| &r.sink != sink);
        list.push(Remembered {
            sink: sink.clone(),
            event: event.clone(),
            last_sent_ms: now_ms,
            check,
        });
        self.save();
    }

    /// Forgets the failure told to `sink`; returns it.
    pub fn clear(&mut self, service: &str, sink: &Destination) -> Option<Remembered> {
        let list = self.services.get_mut(service)?;
        let at = list.iter().position(|r| &r.sink == sink)?;
        let gone = list.remove(at);
        if list.is_empty() {
            self.services.remove(service);
        }
        self.save();
        Some(gone)
    }

    /// Records that a reminder went out.
    pub fn reminded(&mut self, service: &str, sink: &Destination, now_ms: u64) {
        if let Some(r) = self
            .services
            .get_mut(service)
            .and_then(|l| l.iter_mut().find(|r| &r.sink == sink))
        {
            r.last_sent_ms = now_ms;
            self.save();
        }
    }

    /// Every standing failure, for reminders.
    pub fn all(&self) -> impl Iterator<Item = &Remembered> {
        self.services.values().flatten()
    }

    /// Gives every standing failure its service's check in newly installed
    /// routes (`find` resolves a name in them).
    pub fn resolve(&mut self, find: impl Fn(&str) -> Option<CheckId>) {
        for (service, list) in &mut self.services {
            let check = find(service);
            for r in list {
                r.check = check;
            }
        }
    }

    /// Forgets services no longer in the configuration.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        let before = self.services.len();
        self.services.retain(|s, _| keep(s));
        if self.services.len() != before {
            self.save();
        }
    }

    /// Writes the file again if the last write failed.
    pub fn retry_save(&mut self) {
        if self.unsaved {
            self.save();
        }
    }

    fn save(&mut self) {
        let Some(path) = &self.path else {
            return;
        };
        let disk = OnDisk {
            version: 1,
            services: self.services.clone(),
        };
        let written = serde_json::to_vec_pretty(&disk)
            .map_err(std::io::Error::other)
            .and_then(|b| crate::atomic::write(path, &b));
        match written {
            Err(e) if !self.unsaved => {
                tracing::error!(
                    "cannot write the alert state {}: {e}; kept in memory, written again when the disk takes it",
                    path.display()
                );
                self.unsaved = true;
            }
            Err(_) => {}
            Ok(()) if self.unsaved => {
                tracing::warn!("the alert state {} is written again", path.display());
                self.unsaved = false;
            }
            Ok(()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::tests::entry;

    #[test]
    fn a_failure_alerted_is_remembered_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.alerts");
        let sink = Destination::new("mail", "ops@example.com");
        let mut m = Memory::open(Some(&path));
        m.set_failing(&sink, &entry("web", 5).event, None, 5);
        let again = Memory::open(Some(&path));
        let r = again.failing("web", &sink).unwrap();
        assert_eq!(
            (r.event.kind.as_str(), r.last_sent_ms),
            ("does_not_exist", 5)
        );
        assert!(
            again
                .failing("web", &Destination::new("mail", "other@example.com"))
                .is_none()
        );
    }

    #[test]
    fn a_cleared_failure_is_gone_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.alerts");
        let sink = Destination::new("webhook", "http://127.0.0.1:1/");
        let mut m = Memory::open(Some(&path));
        m.set_failing(&sink, &entry("web", 5).event, None, 5);
        assert!(m.clear("web", &sink).is_some());
        assert!(Memory::open(Some(&path)).failing("web", &sink).is_none());
    }

    #[test]
    fn a_corrupt_file_starts_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.alerts");
        std::fs::write(&path, "{oops").unwrap();
        assert_eq!(Memory::open(Some(&path)).all().count(), 0);
    }
}
