//! Instant exit detection: a pidfd (Linux 5.3+) becomes readable the moment
//! its process exits, for any process, not only Warden's children. Where
//! pidfds are unavailable or file descriptors run short, `open` fails and
//! the caller falls back to polling.

use std::io;
use std::os::fd::{AsFd as _, OwnedFd};

use crate::exits::{self, Watched};
use crate::outcome::ProcessFacts;
use crate::procfs;
use rustix::process::{
    Pid, PidfdFlags, Resource, Rlimit, Signal, getrlimit, pidfd_open, pidfd_send_signal, setrlimit,
};

/// A handle on one process that resolves when it exits. Holding it also
/// pins the process: its pid cannot be reused while the handle is open, so
/// signals sent through it reach the right process.
#[derive(Debug)]
pub struct ExitWatch {
    pid: u32,
    fd: OwnedFd,
    /// Its place in the one set of watched exits (`exits`).
    watched: Watched,
    /// Its place in the budget of held descriptors.
    _slot: crate::held::Slots,
}

impl ExitWatch {
    /// Opens a pidfd on `pid` and watches it for the exit.
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
        let watched = exits::watch(fd.as_fd())?;
        Ok(ExitWatch {
            pid,
            fd,
            watched,
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
        std::future::poll_fn(|cx| self.poll_exited(cx)).await;
    }

    /// Polls for the exit without a future of its own (a check's loop
    /// waits on it every cycle: no allocation, no new registration).
    pub fn poll_exited(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        exits::poll_exited(&self.watched, cx)
    }

    /// Whether the process has exited, without waiting.
    pub fn has_exited(&self) -> bool {
        let mut poll = [rustix::event::PollFd::new(
            &self.fd,
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
        Ok(pidfd_send_signal(&self.fd, signal)?)
    }
}

impl Drop for ExitWatch {
    fn drop(&mut self) {
        // Out of the set before the descriptor closes (its number may be
        // reused at once).
        exits::unwatch(&self.watched, self.fd.as_fd());
    }
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
    async fn a_dropped_watch_gives_its_slot_to_the_next_which_waits_for_its_own_process() {
        let mut first = Command::new("sleep").arg("30").spawn().unwrap();
        let mut second = Command::new("sleep").arg("30").spawn().unwrap();
        drop(ExitWatch::open(first.id()).unwrap());
        let watch = ExitWatch::open(second.id()).unwrap();
        first.kill().unwrap();
        first.wait().unwrap();
        // The first process's exit must not end the second's wait.
        let early = tokio::time::timeout(Duration::from_millis(200), watch.exited()).await;
        assert!(early.is_err(), "the watch ended before its process did");
        second.kill().unwrap();
        tokio::time::timeout(GUARD, watch.exited()).await.unwrap();
        second.wait().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_watches_each_end_with_their_own_process() {
        let mut children: Vec<_> = (0..20)
            .map(|_| Command::new("sleep").arg("30").spawn().unwrap())
            .collect();
        let watches: Vec<_> = children
            .iter()
            .map(|c| ExitWatch::open(c.id()).unwrap())
            .collect();
        for (i, child) in children.iter_mut().enumerate().filter(|(i, _)| i % 2 == 0) {
            child.kill().unwrap();
            child.wait().unwrap();
            tokio::time::timeout(GUARD, watches[i].exited())
                .await
                .unwrap();
        }
        for (i, w) in watches.iter().enumerate() {
            assert_eq!(w.has_exited(), i % 2 == 0, "watch {i}");
        }
        for child in children.iter_mut().skip(1).step_by(2) {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        for w in &watches {
            tokio::time::timeout(GUARD, w.exited()).await.unwrap();
        }
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
