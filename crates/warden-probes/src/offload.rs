//! Reads of the file system that may hang (a dead NFS server, a FUSE
//! daemon that stopped answering) run on the blocking pool, one at a time
//! per probe: the check's driver never waits on them, and a read that
//! never returns holds one pool thread, not one more each cycle.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::outcome::{Outcome, Status};

/// Whether this probe's last read is still out.
#[derive(Debug, Default, Clone)]
pub struct InFlight(Arc<AtomicBool>);

impl InFlight {
    /// Runs `read` on the blocking pool and waits for it, unless the
    /// previous one has not returned: then says so at once (`what` names
    /// the path) and leaves that one to finish in its own time.
    pub async fn run<T, F>(&self, what: &std::path::Path, read: F) -> Result<T, Outcome>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.0.swap(true, Ordering::AcqRel) {
            return Err(Outcome::failed(
                Status::Timeout,
                format!(
                    "the previous read of {} has not returned (a hung file system?)",
                    what.display()
                ),
            ));
        }
        let flag = Arc::clone(&self.0);
        let done = tokio::task::spawn_blocking(move || {
            let outcome = read();
            flag.store(false, Ordering::Release);
            outcome
        })
        .await;
        done.map_err(|e| {
            // The read panicked: nothing is out any more.
            self.0.store(false, Ordering::Release);
            Outcome::failed(Status::Error, e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    #[tokio::test]
    async fn a_read_still_out_is_not_started_again() {
        let guard = InFlight::default();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let guard = guard.clone();
            tokio::spawn(async move {
                guard
                    .run(Path::new("/hung"), move || {
                        let _ = rx.recv();
                        "read at last"
                    })
                    .await
            })
        };
        // The first read is out (blocked) until the channel speaks.
        let mut waited = 0;
        while !guard.0.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(5)).await;
            waited += 1;
            assert!(waited < 400, "the first read never started");
        }
        let second = guard.run(Path::new("/hung"), || "again").await.unwrap_err();
        assert_eq!(second.status, Status::Timeout, "{}", second.reason);
        assert!(second.reason.contains("/hung"), "{}", second.reason);
        tx.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), "read at last");
        // Once it returned, the next read runs.
        let third = guard.run(Path::new("/hung"), || "again").await;
        assert_eq!(third.unwrap(), "again");
    }
}
