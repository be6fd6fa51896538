//! The running engine's context, which every check task holds: the event
//! bus, the state store, the probe concurrency cap, the other checks'
//! mailboxes, who is up and the status board.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;
use warden_config::Config;
use warden_config::model::NameIndex;
use warden_probes::{Outcome, Probe, Status};

use crate::events::EventBus;
use crate::id::CheckId;
use crate::request::CheckRequest;
use crate::state::StateStore;

/// What the check tasks of one engine share.
#[derive(Debug)]
pub struct EngineContext {
    pub bus: EventBus,
    pub state: StateStore,
    probes: ProbeCap,
    /// The engine's config and its checks by name, for requests that name
    /// a check; the per-check vectors below are in config order.
    config: Arc<Config>,
    index: NameIndex,
    /// Each check's mailbox; None for a check the engine does not run.
    pub peers: Vec<Option<crate::mailbox::Sender<CheckRequest>>>,
    /// Whether each check's last probe succeeded (for `depends on`).
    up: Box<[AtomicBool]>,
    pub probe_timeout: Duration,
    /// The latest status of every check, for the control API.
    pub status: crate::status::StatusBoard,
}

impl EngineContext {
    /// `peers` is in config order.
    pub fn new(
        bus: EventBus,
        state: StateStore,
        config: Arc<Config>,
        peers: Vec<Option<crate::mailbox::Sender<CheckRequest>>>,
        cap: usize,
    ) -> Self {
        let index = NameIndex::new(&config.checks);
        let up = config
            .checks
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect();
        EngineContext {
            bus,
            state,
            probes: ProbeCap::new(cap),
            config,
            index,
            peers,
            up,
            probe_timeout: probe_timeout(),
            status: Default::default(),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.index.find(&self.config.checks, name)
    }

    /// Records whether a check is up.
    pub fn set_up(&self, id: CheckId, up: bool) {
        // Written only on a change: a store each cycle dirtied a line
        // shared by 64 checks, some of them on the other worker thread.
        if let Some(flag) = self.up.get(id.index())
            && flag.load(Ordering::Relaxed) != up
        {
            flag.store(up, Ordering::Relaxed);
        }
    }

    pub fn is_up(&self, id: CheckId) -> bool {
        self.up
            .get(id.index())
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// Sends a request to a check; false when it is gone.
    pub fn send(&self, id: CheckId, cmd: CheckRequest) -> bool {
        self.peers
            .get(id.index())
            .and_then(Option::as_ref)
            .is_some_and(|tx| tx.try_send(cmd))
    }

    /// Sends a request to a check named by a person (the control API).
    pub fn send_named(&self, name: &str, cmd: CheckRequest) -> bool {
        self.position(name)
            .and_then(CheckId::new)
            .is_some_and(|id| self.send(id, cmd))
    }

    /// Runs a probe under the global cap and within `timeout`: a hanging
    /// probe costs its own check a timeout and nobody else anything.
    pub async fn probe(&self, probe: &dyn Probe, timeout: Duration) -> Outcome {
        // A probe with a longer limit of its own (a program's `with
        // timeout`) keeps it; it kills what it runs at that limit.
        let timeout = probe.timeout().map_or(timeout, |own| own.max(timeout));
        let gave_no_answer = || {
            Outcome::failed(
                Status::Timeout,
                format!(
                    "probe timeout: the {} probe gave no answer within {} s",
                    probe.kind(),
                    timeout.as_secs_f64()
                ),
            )
        };
        // What checks share (the process table) is waited for outside the
        // cap, by all of them at once; the run then takes it at once. The
        // wait is the probe's: past its limit, the probe gave no answer.
        if let Some(ready) = probe.prepare()
            && tokio::time::timeout(timeout, ready).await.is_err()
        {
            return gave_no_answer();
        }
        let _permit = self.probes.acquire().await;
        let mut run = probe.run();
        // A probe done at its first poll (a steady process check's few
        // reads) needs no timer: making one read the clock and took the
        // runtime's handle, a shared atomic, every cycle of every check.
        let first = std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await;
        if let Poll::Ready(outcome) = first {
            return outcome;
        }
        tokio::time::timeout(timeout, run)
            .await
            .unwrap_or_else(|_| gave_no_answer())
    }
}

/// At most `cap` probes in flight. A counter and a wake-up for those who
/// wait: tokio's semaphore took its waiters' mutex on every release, a
/// lock shared by every check of both worker threads, each cycle.
#[derive(Debug)]
struct ProbeCap {
    cap: usize,
    used: AtomicUsize,
    /// Callers waiting for a place (a release wakes one only then).
    waiting: AtomicUsize,
    freed: Notify,
}

/// A place under the cap, given back on drop.
struct CapPermit<'a>(&'a ProbeCap);

impl ProbeCap {
    fn new(cap: usize) -> Self {
        ProbeCap {
            cap: cap.max(1),
            used: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
        }
    }

    fn try_take(&self) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.cap).then_some(n + 1)
            })
            .is_ok()
    }

    async fn acquire(&self) -> CapPermit<'_> {
        if self.try_take() {
            return CapPermit(self);
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before the second look: a release between the
            // look and the wait still wakes this caller.
            freed.as_mut().enable();
            if self.try_take() {
                return CapPermit(self);
            }
            freed.await;
        }
    }
}

/// Counts a caller among the waiting until it stops (a dropped future too).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for CapPermit<'_> {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::SeqCst);
        // SeqCst on both sides: either the waiter's second look sees this
        // place free, or this sees the waiter.
        if self.0.waiting.load(Ordering::SeqCst) > 0 {
            self.0.freed.notify_one();
        }
    }
}

/// The scheduler's limit for one probe run: 10 s, or `WARDEN_PROBE_TIMEOUT`
/// (`500ms`, `2s`, or bare seconds) where a test or a slow host needs another.
fn probe_timeout() -> Duration {
    const DEFAULT: Duration = Duration::from_secs(10);
    let Ok(text) = std::env::var("WARDEN_PROBE_TIMEOUT") else {
        return DEFAULT;
    };
    match parse_duration(&text) {
        Some(d) if !d.is_zero() => d,
        _ => {
            tracing::warn!(
                "WARDEN_PROBE_TIMEOUT={text:?} is not a duration like 2s or 500ms; using 10 s"
            );
            DEFAULT
        }
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    let secs = text.strip_suffix('s').unwrap_or(text).trim();
    secs.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_probes::BoxFuture;

    /// A context with nothing configured and `cap` probes in flight.
    fn bare(cap: usize) -> EngineContext {
        EngineContext::new(
            Default::default(),
            Default::default(),
            Default::default(),
            Vec::new(),
            cap,
        )
    }

    #[derive(Debug)]
    struct Hangs;

    impl Probe for Hangs {
        fn kind(&self) -> &'static str {
            "port"
        }

        fn run(&self) -> BoxFuture<'_, Outcome> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn a_probe_past_its_limit_is_a_probe_timeout_not_a_failure() {
        let shared = bare(1);
        let out = shared.probe(&Hangs, Duration::from_millis(20)).await;
        assert_eq!(out.status, Status::Timeout);
        assert!(
            out.reason.starts_with("probe timeout: the port probe"),
            "{}",
            out.reason
        );
    }

    /// A probe that waits until told, counting how many run at once.
    #[derive(Debug)]
    struct Gate {
        open: Arc<Notify>,
        now: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    impl Probe for Gate {
        fn kind(&self) -> &'static str {
            "gate"
        }

        fn run(&self) -> BoxFuture<'_, Outcome> {
            Box::pin(async move {
                let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
                self.most.fetch_max(n, Ordering::SeqCst);
                self.open.notified().await;
                self.now.fetch_sub(1, Ordering::SeqCst);
                Outcome::ok("through")
            })
        }
    }

    /// No more than the cap run at once, and every waiting probe runs
    /// once places are given back.
    #[tokio::test]
    async fn the_cap_holds_and_a_freed_place_wakes_a_waiting_probe() {
        let shared = Arc::new(bare(2));
        let gate = Arc::new(Gate {
            open: Arc::new(Notify::new()),
            now: Arc::new(AtomicUsize::new(0)),
            most: Arc::new(AtomicUsize::new(0)),
        });
        let mut runs = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let (shared, gate) = (shared.clone(), gate.clone());
            runs.spawn(async move { shared.probe(&*gate, Duration::from_secs(30)).await });
        }
        let all = tokio::time::timeout(Duration::from_secs(10), async {
            let mut done = 0;
            while done < 5 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                assert!(gate.now.load(Ordering::SeqCst) <= 2);
                gate.open.notify_waiters();
                while let Some(r) = runs.try_join_next() {
                    assert_eq!(r.unwrap().reason, "through");
                    done += 1;
                }
            }
        })
        .await;
        assert!(all.is_ok(), "a probe never got a place");
        assert_eq!(gate.most.load(Ordering::SeqCst), 2);
        assert_eq!(shared.probes.used.load(Ordering::SeqCst), 0);
        assert_eq!(shared.probes.waiting.load(Ordering::SeqCst), 0);
    }

    /// A probe whose run is ready at once once what it shares is (its
    /// `prepare` waits until told).
    #[derive(Debug)]
    struct Shares {
        ready: Arc<Notify>,
    }

    impl Probe for Shares {
        fn kind(&self) -> &'static str {
            "process"
        }

        fn run(&self) -> BoxFuture<'_, Outcome> {
            Box::pin(async { Outcome::ok("shared") })
        }

        fn prepare(&self) -> Option<BoxFuture<'_, ()>> {
            Some(Box::pin(self.ready.notified()))
        }
    }

    /// Probes waiting for what they share hold no place under the cap: a
    /// probe with nothing to wait for runs meanwhile, and all of them run
    /// once it is ready.
    #[tokio::test]
    async fn probes_waiting_for_what_they_share_leave_the_cap_free() {
        let shared = Arc::new(bare(1));
        let probe = Arc::new(Shares {
            ready: Arc::new(Notify::new()),
        });
        let mut runs = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let (shared, probe) = (shared.clone(), probe.clone());
            runs.spawn(async move { shared.probe(&*probe, Duration::from_secs(30)).await });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let other = tokio::time::timeout(
            Duration::from_secs(5),
            shared.probe(&Hangs, Duration::from_millis(20)),
        )
        .await;
        assert!(other.is_ok(), "the waiting probes held the only place");
        assert_eq!(shared.probes.used.load(Ordering::SeqCst), 0);
        assert!(
            runs.try_join_next().is_none(),
            "ran before what it shares was ready"
        );
        probe.ready.notify_waiters();
        let all = tokio::time::timeout(Duration::from_secs(5), runs.join_all()).await;
        for out in all.expect("a probe never ran") {
            assert_eq!(out.reason, "shared");
        }
    }

    /// A probe whose shared part never gets ready gave no answer within
    /// its limit, and never ran.
    #[tokio::test]
    async fn a_wait_for_what_probes_share_counts_against_the_limit() {
        let shared = bare(1);
        let probe = Shares {
            ready: Arc::new(Notify::new()),
        };
        let out = tokio::time::timeout(
            Duration::from_secs(5),
            shared.probe(&probe, Duration::from_millis(50)),
        )
        .await
        .expect("the wait outlived the probe's limit");
        assert_eq!(out.status, Status::Timeout, "{}", out.reason);
        assert!(out.reason.contains("gave no answer"), "{}", out.reason);
    }

    #[test]
    fn probe_time_limits_are_read_with_units() {
        let table = [
            ("2s", Some(2_000)),
            ("500ms", Some(500)),
            ("1.5", Some(1_500)),
            ("soon", None),
        ];
        for (text, ms) in table {
            assert_eq!(
                parse_duration(text).map(|d| d.as_millis() as u64),
                ms,
                "{text}"
            );
        }
    }
}
