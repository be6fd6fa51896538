//! The control file: where it is found, the settings a command line puts
//! over it (Monit's `-d`, `-l`, `-p`, `-s`: applied each time the file is
//! read, at start and on every reload), and where it puts the daemon's
//! state file and control socket, so the daemon and the CLI that looks for
//! its socket agree on what the file means.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use warden_config::model::{LogTarget, Settings};
use warden_config::{Config, Loaded};

/// `-c FILE`, or the first default location that exists.
pub fn find(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_path_buf());
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    warden_config::default_locations(home.as_deref())
        .into_iter()
        .find(|p| p.exists())
}

/// The file's diagnostics on stderr, if it has any.
pub fn print_diagnostics(loaded: &Loaded) {
    let rendered = loaded.render();
    if !rendered.is_empty() {
        let _ = std::io::stderr().write_all(rendered.as_bytes());
    }
}

/// Where the state lives: `set statefile`, else `~/.warden.state` like
/// Monit's `~/.monit.state`, else next to the control file.
pub fn statefile(config: &Config, control: &Path) -> PathBuf {
    if let Some(p) = &config.settings.statefile {
        return p.clone();
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".warden.state"),
        None => control.with_extension("state"),
    }
}

/// The daemon's control socket, found from its control file as the daemon
/// finds it.
pub fn socket(config: &Config, control: &Path) -> PathBuf {
    let statefile = statefile(config, control);
    warden::control::server::socket_path(config.settings.httpd.as_ref(), &statefile)
}

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
