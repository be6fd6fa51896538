//! The control file and the settings a command line puts over it (Monit's
//! `-d`, `-l`, `-p`, `-s`): applied each time the file is read, at start and
//! on every reload, so the daemon and the CLI that looks for its socket
//! agree on what the file means.

use std::path::{Path, PathBuf};
use std::time::Duration;

use warden_config::Loaded;
use warden_config::model::{LogTarget, Settings};

/// Settings given on the command line; they win over the control file's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `-d N`: the cycle, as `set daemon N`.
    pub cycle: Option<Duration>,
    /// `-l FILE` (or `-l syslog`), as `set log`.
    pub log: Option<LogTarget>,
    /// `-p FILE`, as `set pidfile`.
    pub pidfile: Option<PathBuf>,
    /// `-s FILE`, as `set statefile` (and so the default control socket).
    pub statefile: Option<PathBuf>,
}

impl Overrides {
    fn apply(&self, s: &mut Settings) {
        if let Some(cycle) = self.cycle {
            s.cycle = cycle;
            s.daemon_set = true;
        }
        if let Some(log) = &self.log {
            s.log = Some(log.clone());
        }
        if let Some(p) = &self.pidfile {
            s.pidfile = Some(p.clone());
        }
        if let Some(p) = &self.statefile {
            s.statefile = Some(p.clone());
        }
    }
}

/// Where the configuration comes from: a file, and the overrides over it.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlFile {
    pub path: PathBuf,
    pub overrides: Overrides,
}

impl ControlFile {
    /// The file alone, as `warden -c FILE` gives it.
    pub fn plain(path: &Path) -> ControlFile {
        ControlFile {
            path: path.to_path_buf(),
            overrides: Overrides::default(),
        }
    }

    /// Reads and validates the file, then puts the overrides over it.
    pub fn load(&self) -> Loaded {
        let mut loaded = warden_config::load_file(&self.path);
        if let Some(config) = &mut loaded.config {
            self.overrides.apply(&mut config.settings);
        }
        loaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_over_the_file_and_leave_the_rest_alone() {
        let mut s = Settings {
            pidfile: Some("/run/file.pid".into()),
            statefile: Some("/var/file.state".into()),
            ..Settings::default()
        };
        let o = Overrides {
            cycle: Some(Duration::from_secs(7)),
            log: Some(LogTarget::Syslog(None)),
            pidfile: Some("/tmp/cli.pid".into()),
            statefile: None,
        };
        o.apply(&mut s);
        assert_eq!(s.cycle, Duration::from_secs(7));
        assert!(s.daemon_set);
        assert_eq!(s.log, Some(LogTarget::Syslog(None)));
        assert_eq!(s.pidfile, Some(PathBuf::from("/tmp/cli.pid")));
        assert_eq!(s.statefile, Some(PathBuf::from("/var/file.state")));
    }

    #[test]
    fn no_overrides_change_nothing() {
        let mut s = Settings::default();
        Overrides::default().apply(&mut s);
        assert_eq!(s, Settings::default());
    }
}
