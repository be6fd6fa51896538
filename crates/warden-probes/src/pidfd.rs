//! Instant exit detection: a pidfd (Linux 5.3+) becomes readable the moment
//! its process exits, for any process, not only Warden's children. Where
//! pidfds are unavailable or file descriptors run short, `open` fails and
//! the caller falls back to polling.

use std::io;
use std::os::fd::OwnedFd;

use rustix::process::{
    Pid, PidfdFlags, Resource, Rlimit, Signal, getrlimit, pidfd_open, pidfd_send_signal, setrlimit,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::outcome::ProcessFacts;
use crate::procfs;

/// A handle on one process that resolves when it exits. Holding it also
/// pins the process: its pid cannot be reused while the handle is open, so
/// signals sent through it reach the right process.
#[derive(Debug)]
pub struct ExitWatch {
    pid: u32,
    fd: AsyncFd<OwnedFd>,
    /// Its place in the budget of held descriptors.
    _slot: crate::held::Slots,
}

impl ExitWatch {
    /// Opens a pidfd on `pid`. Must be called inside a tokio runtime.
    /// Errors: ESRCH (no such process), ENOSYS (old kernel), EMFILE (out of
    /// file descriptors, or of the budget of held ones): the caller polls
    /// instead.
    pub fn open(pid: u32) -> io::Result<ExitWatch> {
        let slot = crate::held::take(1).ok_or_else(|| {
            io::Error::other("the open-files budget for held descriptors is spent")
        })?;
        let raw = i32::try_from(pid)
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("invalid pid {pid}"))
            })?;
        let fd = pidfd_open(raw, PidfdFlags::NONBLOCK)?;
        Ok(ExitWatch {
            pid,
            fd: register(fd)?,
            _slot: slot,
        })
    }

    /// Opens a pidfd and then proves it names the process `facts` describe:
    /// the pid could have been reused between proving and opening.
    pub fn open_proven(facts: &ProcessFacts) -> io::Result<ExitWatch> {
        let watch = ExitWatch::open(facts.pid)?;
        match procfs::read_stat(facts.pid)? {
            Some(s) if s.starttime == facts.start_ticks => Ok(watch),
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("pid {} is no longer the process that was proven", facts.pid),
            )),
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Resolves once the process has exited (at once if it already has).
    /// Cancel-safe: drop the future to stop waiting.
    pub async fn exited(&self) {
        // Readable means exited, and stays so: no need to clear readiness.
        // An error from the reactor also ends the wait, so that the caller
        // re-checks by polling rather than waiting forever.
        let _ = self.fd.readable().await;
    }

    /// Polls for the exit without a future of its own (a check's loop
    /// waits on it every cycle: no allocation, no new registration).
    pub fn poll_exited(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        // As `exited`: readable, or an error, ends the wait.
        self.fd.poll_read_ready(cx).map(|_| ())
    }

    /// Whether the process has exited, without waiting.
    pub fn has_exited(&self) -> bool {
        let mut poll = [rustix::event::PollFd::new(
            self.fd.get_ref(),
            rustix::event::PollFlags::IN,
        )];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(rustix::event::poll(&mut poll, Some(&zero)), Ok(n) if n > 0)
    }

    /// Sends a signal to exactly this process, never to a later process
    /// that reused its pid.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        Ok(pidfd_send_signal(self.fd.get_ref(), signal)?)
    }
}

/// Registers the pidfd with tokio's reactor. `AsyncFd::register_with_interest`
/// is `unsafe` and the workspace denies unsafe code; `with_interest` is its
/// safe (deprecated) wrapper. It is sound here: an `OwnedFd` keeps its one
/// descriptor open and unchanged for as long as the `AsyncFd` owns it,
/// which is exactly the I/O-safety condition the deprecation is about.
#[allow(deprecated)]
fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    AsyncFd::with_interest(fd, Interest::READABLE)
}

/// Raises the soft open-files limit to the hard limit (thousands of checks
/// hold thousands of pidfds and stat files), and the hard limit itself to
/// `wanted` when it is lower and the process may (root: 10,000 process
/// checks hold 20,000 descriptors, this machine's whole hard limit).
/// Returns the soft limit now in force.
pub fn raise_nofile_limit(wanted: u64) -> io::Result<u64> {
    let raised = raise(wanted);
    // Whatever happened, the budget of held descriptors reads it again.
    crate::held::limit_changed();
    raised
}

fn raise(wanted: u64) -> io::Result<u64> {
    let current = getrlimit(Resource::Nofile);
    let Some(hard) = current.maximum else {
        // Unlimited hard limit: the kernel still caps at nr_open; keep the
        // soft limit as it is rather than guess that cap.
        return Ok(current.current.unwrap_or(u64::MAX));
    };
    if hard < wanted {
        // Without CAP_SYS_RESOURCE this fails: the hard limit stays.
        let cap = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(wanted);
        let raised = wanted.min(cap).max(hard);
        let both = Rlimit {
            current: Some(raised),
            maximum: Some(raised),
        };
        if setrlimit(Resource::Nofile, both).is_ok() {
            return Ok(raised);
        }
    }
    if current.current == Some(hard) {
        return Ok(hard);
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        },
    )?;
    Ok(hard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    /// Generous guard against a hang, not a timing assertion.
    const GUARD: Duration = Duration::from_secs(10);

    /// Starts `sleep` through a shell that exits at once, so the sleeper is
    /// not our child (it is reparented), and returns its pid.
    fn orphan_sleeper() -> u32 {
        let mut sh = Command::new("sh")
            .args(["-c", "sleep 30 >/dev/null 2>&1 & echo $!"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(sh.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        sh.wait().unwrap();
        line.trim().parse().unwrap()
    }

    #[tokio::test]
    async fn the_exit_of_a_process_warden_did_not_start_is_noticed() {
        let pid = orphan_sleeper();
        let stat = procfs::read_stat(pid).unwrap().unwrap();
        assert_ne!(
            stat.ppid,
            std::process::id(),
            "the sleeper must not be our child"
        );
        let facts = ProcessFacts {
            pid,
            ppid: stat.ppid,
            start_ticks: stat.starttime,
        };
        let watch = ExitWatch::open_proven(&facts).unwrap();
        assert!(!watch.has_exited());
        let killer = rustix::process::Pid::from_raw(pid as i32).unwrap();
        rustix::process::kill_process(killer, Signal::KILL).unwrap();
        tokio::time::timeout(GUARD, watch.exited()).await.unwrap();
        assert!(watch.has_exited());
    }

    #[tokio::test]
    async fn a_signal_through_the_watch_reaches_the_process() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let watch = ExitWatch::open(child.id()).unwrap();
        watch.signal(Signal::TERM).unwrap();
        tokio::time::timeout(GUARD, watch.exited()).await.unwrap();
        assert!(!child.wait().unwrap().success());
    }

    #[tokio::test]
    async fn opening_fails_cleanly_for_a_missing_or_unproven_process() {
        assert!(ExitWatch::open(99_999_999).is_err());
        assert!(ExitWatch::open(0).is_err());
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let stat = procfs::read_stat(child.id()).unwrap().unwrap();
        let wrong = ProcessFacts {
            pid: child.id(),
            ppid: stat.ppid,
            start_ticks: stat.starttime + 1,
        };
        assert!(ExitWatch::open_proven(&wrong).is_err());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn the_open_files_limit_is_raised_to_the_hard_limit() {
        let soft = raise_nofile_limit(0).unwrap();
        let now = getrlimit(Resource::Nofile);
        assert_eq!(now.current, Some(soft));
        assert!(now.maximum.is_none_or(|hard| hard == soft));
    }
}
