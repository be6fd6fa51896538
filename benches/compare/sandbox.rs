//! One scenario's temporary folder, the two monitors under test and how
//! each is started on a control file written there (mode 0600).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::procs;

/// The start program of the TCP service (see the script's header).
const SERVICE_SCRIPT: &str = include_str!("service.sh");

/// Command-line marker of the harness's own service processes.
pub const SERVICE_MARKER: &[u8] = b"--serve\0";

/// The monitor under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitor {
    Monit,
    Warden,
}

impl Monitor {
    pub fn name(self) -> &'static str {
        match self {
            Monitor::Monit => "monit",
            Monitor::Warden => "warden",
        }
    }

    /// Control file header: the same 1 s cycle for both; Monit's own files
    /// (log, pid, id, state) kept in the sandbox.
    pub fn header(self, dir: &Path) -> String {
        let d = dir.display();
        match self {
            Monitor::Warden => format!("set daemon 1\nset statefile {d}/warden.state\n"),
            Monitor::Monit => format!(
                "set daemon 1\nset logfile {d}/monit.log\nset pidfile {d}/monit.pid\n\
                 set idfile {d}/monit.id\nset statefile {d}/monit.state\n"
            ),
        }
    }
}

/// A temporary folder holding one scenario's files; on drop it kills every
/// service whose pidfile (`*.pid`) is in it, after checking it is one of
/// the harness's own service processes.
#[derive(Debug)]
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Result<Sandbox, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let script = dir.path().join("service.sh");
        std::fs::write(&script, SERVICE_SCRIPT).map_err(|e| format!("write script: {e}"))?;
        Ok(Sandbox { dir })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The check of the TCP service on `port` with its pidfile `svc.pid`.
    pub fn service_check(&self, port: u16) -> Result<String, String> {
        let exe = std::env::current_exe().map_err(|e| format!("harness path: {e}"))?;
        Ok(format!(
            "check process svc with pidfile {pf}\n  start program = \"/bin/bash {script} {pf} {port} {exe}\" with timeout 10 seconds\n",
            pf = self.path("svc.pid").display(),
            script = self.path("service.sh").display(),
            exe = exe.display(),
        ))
    }

    /// Writes the control file with mode 0600 (both monitors refuse more).
    pub fn write_rc(&self, text: &str) -> Result<PathBuf, String> {
        let rc = self.path("rc");
        std::fs::write(&rc, text).map_err(|e| format!("write rc: {e}"))?;
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("chmod rc: {e}"))?;
        Ok(rc)
    }

    /// Starts `monitor` in the foreground on the control file; its output
    /// goes to MONITOR.out in the sandbox.
    pub fn start(&self, monitor: Monitor, bin: &Path, rc: &Path) -> Result<procs::Child, String> {
        let out = std::fs::File::create(self.out(monitor)).map_err(|e| format!("log file: {e}"))?;
        let mut cmd = Command::new(bin);
        match monitor {
            Monitor::Warden => cmd.arg("-c").arg(rc).arg("-I"),
            Monitor::Monit => cmd.arg("-I").arg("-c").arg(rc),
        };
        cmd.env("HOME", self.dir.path())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WARDEN_LOG")
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out);
        procs::Child::spawn(&mut cmd)
    }

    fn out(&self, monitor: Monitor) -> PathBuf {
        self.path(&format!("{}.out", monitor.name()))
    }

    /// Everything the monitor logged so far (its log file, then stdout).
    pub fn log(&self, monitor: Monitor) -> String {
        let mut text = std::fs::read_to_string(self.path("monit.log")).unwrap_or_default();
        text += &std::fs::read_to_string(self.out(monitor)).unwrap_or_default();
        text
    }

    /// An error message with the last lines of the monitor's log.
    pub fn fail(&self, monitor: Monitor, what: impl std::fmt::Display) -> String {
        let text = self.log(monitor);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(12)..].join("\n");
        format!("{what}; {} log:\n{tail}", monitor.name())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.dir.path()) else {
            return;
        };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "pid")
                && let Some(pid) = procs::read_pid(&e.path())
                && let Some((_, fd)) = procs::kill_service(pid, SERVICE_MARKER)
            {
                procs::wait_exit(&fd, Duration::from_secs(2));
            }
        }
    }
}

/// Polls `cond` every `step` until it holds or `limit` passes.
pub fn wait_until(limit: Duration, step: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(step);
    }
}
