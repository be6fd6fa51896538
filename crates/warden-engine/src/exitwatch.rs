//! Instant exit detection: a pidfd for a watched process becomes readable
//! the moment it exits, so the check is evaluated at once instead of at the
//! next cycle. Where pidfd is unavailable, the watch never fires and the
//! cycle's polling finds the exit.

use std::os::fd::OwnedFd;

use rustix::process::{Pid, PidfdFlags, pidfd_open};
use tokio::io::unix::AsyncFd;

/// A pinned process: pid plus the pidfd, so a reused pid cannot fool it.
#[derive(Debug)]
pub struct ExitWatch {
    pub pid: u32,
    fd: AsyncFd<OwnedFd>,
}

impl ExitWatch {
    /// Pins `pid`; None when the process is gone or pidfd is unavailable.
    pub fn open(pid: u32) -> Option<Self> {
        let raw = Pid::from_raw(i32::try_from(pid).ok()?)?;
        let fd = pidfd_open(raw, PidfdFlags::empty()).ok()?;
        // The safe constructors are deprecated for I/O safety, which an
        // OwnedFd moved into the AsyncFd already gives; the unsafe
        // replacement is denied in this workspace.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(fd, tokio::io::Interest::READABLE).ok()?;
        Some(ExitWatch { pid, fd })
    }

    /// Resolves when the process has exited.
    pub async fn exited(&self) {
        // Readable means exited; the fd stays readable, so one wake is enough.
        let _ = self.fd.readable().await;
    }
}

/// Waits on an optional watch; with none, waits forever.
pub async fn exited(watch: Option<&ExitWatch>) {
    match watch {
        Some(w) => w.exited().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_watch_fires_when_the_process_is_killed() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let watch = ExitWatch::open(child.id()).unwrap();
        let early = tokio::time::timeout(Duration::from_millis(100), watch.exited()).await;
        assert!(early.is_err(), "fired while the process was alive");
        child.kill().unwrap();
        tokio::time::timeout(Duration::from_secs(5), watch.exited())
            .await
            .unwrap();
        child.wait().unwrap();
    }
}
