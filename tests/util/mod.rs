//! Helpers for end-to-end tests: a temp dir with a 0600 control file, the
//! real `warden` binary in the foreground, a self-daemonizing TCP service in
//! Python, and guards that kill everything a test started.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub mod webhook;
pub mod xml;

use std::io::Read as _;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// A service that forks twice, listens on a port, writes its pidfile and
/// appends a line to PIDFILE.starts; `crash` dies after 0.3 s, `hang`
/// answers nothing (its backlog is full), SIGUSR1 closes the port.
const SERVICE: &str = r#"
import os, signal, socket, sys, time
pidfile, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if os.fork() > 0: os._exit(0)
os.setsid()
if os.fork() > 0: os._exit(0)
devnull = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1): os.dup2(devnull, fd)
err = os.open(pidfile + ".err", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.dup2(err, 2)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(0 if mode == "hang" else 16)
held = []
if mode == "hang":
    for _ in range(4):
        c = socket.socket(); c.setblocking(False)
        try: c.connect(("127.0.0.1", port))
        except OSError: pass
        held.append(c)
def close_port(*_):
    s.close()
signal.signal(signal.SIGUSR1, close_port)
with open(pidfile + ".tmp", "w") as f: f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
with open(pidfile + ".starts", "a") as f: f.write("x\n")
if mode == "crash":
    time.sleep(0.3); os._exit(1)
while True:
    if mode == "hang" or s.fileno() < 0:
        time.sleep(1); continue
    try:
        c, _ = s.accept(); c.close()
    except OSError:
        time.sleep(0.1)
"#;

/// An HTTP service that daemonizes like SERVICE and answers 200 on every
/// path until it gets SIGUSR1; from then on `/health` answers 500.
const HTTP_SERVICE: &str = r#"
import http.server, os, signal, sys
pidfile, port = sys.argv[1], int(sys.argv[2])
if os.fork() > 0: os._exit(0)
os.setsid()
if os.fork() > 0: os._exit(0)
devnull = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2): os.dup2(devnull, fd)
sick = []
signal.signal(signal.SIGUSR1, lambda *_: sick.append(1))
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500 if sick and self.path == "/health" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *_):
        pass
http.server.HTTPServer.allow_reuse_address = True
server = http.server.HTTPServer(("127.0.0.1", port), Health)
with open(pidfile + ".tmp", "w") as f: f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
with open(pidfile + ".starts", "a") as f: f.write("x\n")
server.serve_forever()
"#;

/// Makes this test process the reaper of orphans (as systemd would be) and
/// reaps them at once, so a killed daemonized service does not linger as a
/// zombie of the machine's pid 1.
///
/// Only zombies outside this process's group are reaped: those are the
/// orphans (daemonized services, Warden's own process groups). A child a test
/// spawned itself stays in this group and is left for its `Child::wait`,
/// which would otherwise fail with ECHILD when the reaper won the race.
pub fn subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
        let own_group = rustix::process::getpgrp();
        std::thread::spawn(move || {
            loop {
                for pid in orphan_zombies(own_group) {
                    let _ =
                        rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
    });
}

/// Children of this process (of any of its threads) that are zombies and
/// lead or belong to another process group than `own_group`.
fn orphan_zombies(own_group: rustix::process::Pid) -> Vec<rustix::process::Pid> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let own_group = own_group.as_raw_nonzero().get();
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .filter(|&pid| proc_stat(pid).is_some_and(|s| s.state == 'Z' && s.pgrp != own_group))
        .filter_map(rustix::process::Pid::from_raw)
        .collect()
}

/// A test's folder; kills every service whose pidfile is in it on drop.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub rc: PathBuf,
}

/// What one run of the CLI printed, and its exit code.
#[derive(Debug)]
pub struct CliOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// The last line of stderr, where [`Sandbox::cli`] puts the exit code.
const EXIT_MARK: &str = "[warden exit ";

impl Sandbox {
    /// Runs `warden -c RC ARGS...` as the CLI, with the sandbox as HOME.
    /// The test's subreaper may reap the child before `wait` does, so a
    /// shell reports the exit code on stderr instead.
    pub fn cli(&self, args: &[&str]) -> CliOutput {
        self.cli_as(&[], &self.rc, args)
    }

    /// Runs `PREFIX... warden -c RC ARGS...`: `prefix` is a command that
    /// runs another as someone else (`setpriv --reuid=nobody ...`), empty
    /// for this test's own user.
    pub fn cli_as(&self, prefix: &[&str], rc: &Path, args: &[&str]) -> CliOutput {
        let (program, rest) = match prefix.split_first() {
            Some((first, rest)) => (*first, rest),
            None => (env!("CARGO_BIN_EXE_warden"), &[][..]),
        };
        let warden: &[&str] = if prefix.is_empty() {
            &[]
        } else {
            &[env!("CARGO_BIN_EXE_warden")]
        };
        let mut argv: Vec<&std::ffi::OsStr> = rest.iter().map(|a| a.as_ref()).collect();
        argv.extend(warden.iter().map(std::ffi::OsStr::new));
        argv.extend(["-c".as_ref(), rc.as_os_str()]);
        argv.extend(args.iter().map(std::ffi::OsStr::new));
        self.run(Path::new(program), &argv, None)
    }

    /// Runs `PROGRAM ARGS...` with the sandbox as HOME and `stdin` (else
    /// nothing) as its input. The test's subreaper may reap the child
    /// before `wait` does, so a shell reports the exit code on stderr.
    pub fn run<S: AsRef<std::ffi::OsStr>>(
        &self,
        program: &Path,
        args: &[S],
        stdin: Option<&str>,
    ) -> CliOutput {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("\"$0\" \"$@\"; echo \"{EXIT_MARK}$?]\" >&2"))
            .arg(program)
            .args(args)
            .env("HOME", self.dir.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run a command");
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            use std::io::Write as _;
            let _ = input.write_all(text.as_bytes());
        }
        let mut err = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut stdout = String::new();
        let _ = child.stdout.take().unwrap().read_to_string(&mut stdout);
        let mut stderr = reader.join().unwrap();
        let _ = child.wait();
        let at = stderr.rfind(EXIT_MARK).expect("exit code line");
        let code = stderr[at + EXIT_MARK.len()..]
            .trim()
            .trim_end_matches(']')
            .parse()
            .unwrap();
        stderr.truncate(at);
        CliOutput {
            stdout,
            stderr,
            code,
        }
    }

    /// `status --json`, parsed; empty while the daemon does not answer.
    pub fn statuses(&self) -> Vec<warden_engine::ServiceStatus> {
        serde_json::from_str(&self.cli(&["status", "--json"]).stdout).unwrap_or_default()
    }

    pub fn status_of(&self, name: &str) -> Option<warden_engine::ServiceStatus> {
        self.statuses().into_iter().find(|s| s.name == name)
    }

    pub fn new() -> Self {
        subreaper();
        let dir = tempfile::tempdir().expect("temp dir");
        let rc = dir.path().join("wardenrc");
        std::fs::write(dir.path().join("service.py"), SERVICE).expect("write service");
        std::fs::write(dir.path().join("http_service.py"), HTTP_SERVICE).expect("write service");
        Sandbox { dir, rc }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the control file, mode 0600; `{dir}` becomes the folder.
    pub fn write_rc(&self, text: &str) {
        let text = text.replace("{dir}", &self.dir.path().display().to_string());
        std::fs::write(&self.rc, text).expect("write rc");
        std::fs::set_permissions(&self.rc, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    /// `start program` text for the Python service.
    pub fn service_cmd(&self, name: &str, port: u16, mode: &str) -> String {
        format!(
            "/usr/bin/env python3 {} {} {port} {mode}",
            self.path("service.py").display(),
            self.pidfile(name).display()
        )
    }

    /// `start program` text for the Python HTTP service.
    pub fn http_service_cmd(&self, name: &str, port: u16) -> String {
        format!(
            "/usr/bin/env python3 {} {} {port}",
            self.path("http_service.py").display(),
            self.pidfile(name).display()
        )
    }

    pub fn pidfile(&self, name: &str) -> PathBuf {
        self.path(&format!("{name}.pid"))
    }

    /// How many times the service `name` has started.
    pub fn starts(&self, name: &str) -> usize {
        std::fs::read_to_string(self.path(&format!("{name}.pid.starts")))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    pub fn pid(&self, name: &str) -> Option<i32> {
        std::fs::read_to_string(self.pidfile(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Starts `warden -c RC -I`, logging to `warden.log` in the folder.
    pub fn warden(&self) -> Warden {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("warden.log"))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("-c")
            .arg(&self.rc)
            .arg("-I")
            .env("HOME", self.dir.path())
            .env("WARDEN_LOG", "debug")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn warden");
        Warden { child }
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        let _ = std::fs::File::open(self.path("warden.log")).map(|mut f| f.read_to_string(&mut s));
        s
    }

    /// Waits until Warden has seen `name` running after a start, so a test
    /// never kills a process Warden has not pinned yet.
    pub fn started(&self, name: &str, port: u16) -> bool {
        wait_until(Duration::from_secs(15), || {
            answers(port) && self.log_count(&format!("'{name}' started")) > 0
        })
    }

    /// Lines of the log that contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.dir.path()) else {
            return;
        };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "pid")
                && let Ok(pid) = std::fs::read_to_string(e.path())
                    .unwrap_or_default()
                    .trim()
                    .parse::<i32>()
            {
                kill(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// The running daemon; killed and reaped on drop.
pub struct Warden {
    pub child: Child,
}

impl Warden {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: rustix::process::Signal) {
        kill(self.pid(), sig);
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit.
    pub fn terminate(mut self) -> bool {
        self.signal(rustix::process::Signal::TERM);
        wait_until(Duration::from_secs(10), || {
            matches!(self.child.try_wait(), Ok(Some(_)) | Err(_))
        })
    }
}

impl Drop for Warden {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn kill(pid: i32, sig: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Polls `cond` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// A free loopback port, chosen by the OS.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).is_ok()
}

/// The fields of `/proc/PID/stat` the tests look at.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
}

/// Reads `/proc/PID/stat`; None when the process is gone.
pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (which may hold spaces): state, ppid, pgrp.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
    Some(ProcStat {
        state: rest.next()?.chars().next()?,
        ppid: rest.next()?.parse().ok()?,
        pgrp: rest.next()?.parse().ok()?,
    })
}

/// Every process's pid, for scans.
pub fn all_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// A process's state letter from /proc (R, S, Z, ...); None when gone.
pub fn proc_state(pid: i32) -> Option<char> {
    proc_stat(pid).map(|s| s.state)
}

pub fn alive(pid: i32) -> bool {
    proc_state(pid).is_some_and(|s| s != 'Z')
}

/// Zombies whose parent is `parent`.
pub fn zombies_of(parent: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&pid| proc_stat(pid).is_some_and(|s| s.state == 'Z' && s.ppid == parent))
        .collect()
}

pub fn file(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Every sample of an OpenMetrics exposition, as `name{k="v",...}` (labels
/// sorted) -> value, through Python's prometheus_client parser (strict: it
/// rejects text that is not OpenMetrics, such as a missing `# EOF`).
pub fn parse_openmetrics(text: &str) -> std::collections::HashMap<String, f64> {
    const PARSE: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value}")
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with prometheus_client (scripts/setup installs it)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not OpenMetrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect()
}
