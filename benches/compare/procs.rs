//! Processes the harness starts, and the little it reads from /proc.
//! The harness is a child subreaper (as systemd is on a real host), so a
//! killed self-daemonizing service is reaped at once instead of lingering
//! as a zombie of pid 1; one thread reaps, and a child is signalled only
//! while it is known not to be reaped, so never a reused pid.

use std::collections::HashMap;
use std::io::Read as _;
use std::os::fd::AsFd as _;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::OwnedFd;
use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitOptions};

/// When a pid was reaped, and its exit code (None: killed by a signal).
type Reaped = HashMap<i32, (Instant, Option<i32>)>;

/// Every pid reaped so far.
static REAPED: Mutex<Option<Reaped>> = Mutex::new(None);

/// Clock ticks per second, read before the reaper starts (a `Command`'s
/// own wait would race the reaper thread).
static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();

/// Reads what needs a short-lived command, then becomes the reaper.
pub fn become_reaper() {
    TICKS.get_or_init(read_ticks_per_second);
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    std::thread::spawn(|| {
        loop {
            // Blocks until some child has exited, without reaping it.
            match rustix::process::waitid(
                WaitId::All,
                WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
            ) {
                Ok(_) => reap_all(),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
}

fn reap_all() {
    let mut reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
    let map = reaped.get_or_insert_with(HashMap::new);
    while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
        let code = status.exit_status();
        map.insert(pid.as_raw_nonzero().get(), (Instant::now(), code));
    }
}

fn reaped_since(pid: i32, since: Instant) -> bool {
    let reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
    reaped
        .as_ref()
        .and_then(|m| m.get(&pid))
        .is_some_and(|&(t, _)| t >= since)
}

/// A process this harness started; killed on drop.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    spawned: Instant,
}

impl Child {
    pub fn spawn(cmd: &mut Command) -> Result<Child, String> {
        let spawned = Instant::now();
        let child = cmd.spawn().map_err(|e| format!("spawn {cmd:?}: {e}"))?;
        Ok(Child {
            pid: child.id() as i32,
            spawned,
        })
    }

    pub fn alive(&self) -> bool {
        !reaped_since(self.pid, self.spawned)
    }

    /// Waits (bounded) for the child to exit; its exit code, None when it
    /// was killed or is still running at the limit.
    pub fn wait(&self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        while self.alive() && Instant::now() < end {
            std::thread::sleep(Duration::from_micros(500));
        }
        let reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
        reaped
            .as_ref()
            .and_then(|m| m.get(&self.pid))
            .filter(|(t, _)| *t >= self.spawned)
            .and_then(|(_, code)| *code)
    }

    /// SIGKILL, holding the reaper's lock so the pid cannot be freed
    /// between the check and the signal.
    fn signal_kill(&self) {
        let reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
        let gone = reaped
            .as_ref()
            .and_then(|m| m.get(&self.pid))
            .is_some_and(|&(t, _)| t >= self.spawned);
        if !gone && let Some(pid) = Pid::from_raw(self.pid) {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.signal_kill();
        let end = Instant::now() + Duration::from_secs(5);
        while self.alive() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Many children, all signalled first and then waited for.
#[derive(Debug, Default)]
pub struct Group(pub Vec<Child>);

impl Drop for Group {
    fn drop(&mut self) {
        for c in &self.0 {
            c.signal_kill();
        }
    }
}

pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

pub fn read_pid(path: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live (not zombie) service of this harness: its
/// command line holds `marker` (`--serve\0PORT` or a sleep's argument).
pub fn is_service(pid: i32, marker: &[u8]) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    !stat.contains(") Z") && !stat.is_empty() && cmdline.windows(marker.len()).any(|w| w == marker)
}

/// SIGKILLs a service through a pidfd (so the identity checked is the
/// process signalled); returns when the signal was sent and the pidfd,
/// which turns readable once the process has exited.
pub fn kill_service(pid: i32, marker: &[u8]) -> Option<(u128, OwnedFd)> {
    let fd = rustix::process::pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()?;
    if !is_service(pid, marker) {
        return None;
    }
    let at = now_ns();
    rustix::process::pidfd_send_signal(fd.as_fd(), Signal::KILL).ok()?;
    Some((at, fd))
}

/// Waits (bounded) until the process behind `pidfd` has exited.
pub fn wait_exit(pidfd: &OwnedFd, limit: Duration) -> bool {
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let timeout = Timespec::try_from(limit).ok();
    rustix::event::poll(&mut fds, timeout.as_ref()).is_ok_and(|n| n > 0)
}

/// Whether process `holder` has a pidfd open on `pid` (fdinfo "Pid:").
pub fn holds_pidfd(holder: i32, pid: i32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{holder}/fd")) else {
        return false;
    };
    let want = format!("Pid:\t{pid}\n");
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy().contains("pidfd"))
            && std::fs::read_to_string(format!(
                "/proc/{holder}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            ))
            .is_ok_and(|t| t.contains(&want))
    })
}

pub fn fd_count(pid: i32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// How many processes the machine runs: both monitors read every one of
/// them in a cycle (Monit its process tree, Warden its process table), so
/// their memory grows with it; one run of two monitors compares only when
/// this was alike for both.
pub fn machine_processes() -> Option<usize> {
    let entries = std::fs::read_dir("/proc").ok()?;
    Some(
        entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            })
            .count(),
    )
}

/// CPU time of `pid` in clock ticks: (utime + stime of all its threads,
/// cutime + cstime of the children it has reaped).
pub fn cpu_ticks(pid: i32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command: state is field 3, utime 14 .. cstime 17.
    let n = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some((n(11)? + n(12)?, n(13)? + n(14)?))
}

pub fn ticks_per_second() -> f64 {
    *TICKS.get_or_init(read_ticks_per_second)
}

fn read_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The numeric fields of /proc/PID/status (kB for memory).
pub fn status(pid: i32) -> HashMap<String, u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.to_string(), v.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// The 1-minute load average, to print beside figures from a shared host.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What `cmd` writes on stdout, read to its end. The exit is left to the
/// reaper thread (std's wait would race it).
pub fn stdout_of(cmd: &mut Command, what: &str) -> Result<String, String> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let mut out = String::new();
    child
        .stdout
        .ok_or("no pipe")?
        .read_to_string(&mut out)
        .map_err(|e| format!("{what}: {e}"))?;
    Ok(out)
}
