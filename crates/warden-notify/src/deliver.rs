//! The one dispatcher that empties the queue: entries for the same sink and
//! the same root cause that were queued within moments of each other go out
//! as one alert (a restart is one mail, not three; a dependant failing with
//! its dependency is folded into the dependency's mail); failures are
//! retried oldest first with a per-sink backoff capped at 30 s; a rejection
//! that will never succeed, or an alert a day old, is given up and logged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Notify, watch};
use warden_config::model::Settings;

use crate::alert::{AlertEvent, Destination, millis};
use crate::queue::{Entry, Queue};
use crate::sink::{Outgoing, SendError};

/// An alert waits this long after its last event for more to fold in
/// (unless its sink says otherwise, see [`crate::sink::Sink::quiet`]).
pub use crate::sink::QUIET;
/// ... but never longer than this after its first.
pub const MAX_HOLD: Duration = Duration::from_secs(10);
/// Retry delays double from 1 s up to this cap.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A queued alert older than this is given up after its next failure.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The entries that go out together as one alert.
#[derive(Debug)]
pub struct Group {
    pub sink: Destination,
    pub root: String,
    pub entries: Vec<Entry>,
}

impl Group {
    /// The events, the root's own first.
    pub fn events(&self) -> Vec<&AlertEvent> {
        self.ordered().map(|e| &e.event).collect()
    }

    /// Each event's labels, in the order of [`Group::events`].
    pub fn labels(&self) -> Vec<&[(String, String)]> {
        self.ordered().map(|e| e.labels.as_slice()).collect()
    }

    fn ordered(&self) -> impl Iterator<Item = &Entry> {
        let (own, others): (Vec<&Entry>, Vec<&Entry>) = self
            .entries
            .iter()
            .partition(|e| e.event.service == self.root);
        own.into_iter().chain(others)
    }

    /// How long until it may go, when it waits `quiet` after its last
    /// event: zero when ready.
    pub fn wait(&self, now_ms: u64, quiet: Duration) -> Duration {
        let oldest = self.entries.first().map_or(0, |e| e.queued_ms);
        let newest = self.entries.iter().map(|e| e.queued_ms).max().unwrap_or(0);
        let quiet = (newest + quiet.as_millis() as u64).saturating_sub(now_ms);
        let hold = (oldest + MAX_HOLD.as_millis() as u64).saturating_sub(now_ms);
        Duration::from_millis(quiet.min(hold))
    }

    fn describe(&self) -> String {
        let first = self
            .events()
            .first()
            .map(|e| format!("'{}' {}", e.service, e.event));
        let more = self.entries.len().saturating_sub(1);
        match (first, more) {
            (Some(f), 0) => f,
            (Some(f), n) => format!("{f} (+{n} more)"),
            (None, _) => String::new(),
        }
    }
}

/// Groups entries (oldest first) by sink and root, in order of their oldest.
pub fn groups(entries: Vec<Entry>) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for e in entries {
        match out
            .iter_mut()
            .find(|g| g.sink == e.sink && g.root == e.root)
        {
            Some(g) => g.entries.push(e),
            None => out.push(Group {
                sink: e.sink.clone(),
                root: e.root.clone(),
                entries: vec![e],
            }),
        }
    }
    out
}

/// The destinations whose last delivery failed and is being retried,
/// shared with the decider: a re-post to one of them is not queued (the
/// backlog holds the failure already, and the sink posts it afresh), so a
/// receiver down for a day does not fill the queue with re-posts.
#[derive(Debug, Default, Clone)]
pub struct Unreachable(Arc<std::sync::Mutex<std::collections::HashSet<Destination>>>);

impl Unreachable {
    pub fn contains(&self, sink: &Destination) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(sink)
    }

    pub fn set(&self, sink: &Destination, down: bool) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if down {
            set.insert(sink.clone());
        } else {
            set.remove(sink);
        }
    }
}

#[derive(Debug, Default)]
struct Retry {
    attempts: u32,
    next: Option<Instant>,
}

/// The delivery task's state.
#[derive(Debug)]
pub struct Dispatcher {
    pub queue: Arc<Queue>,
    pub settings: watch::Receiver<Arc<Settings>>,
    pub wake: Arc<Notify>,
    /// Shared with the decider (see [`Unreachable`]).
    pub unreachable: Unreachable,
    retries: HashMap<Destination, Retry>,
}

impl Dispatcher {
    pub fn new(
        queue: Arc<Queue>,
        settings: watch::Receiver<Arc<Settings>>,
        wake: Arc<Notify>,
    ) -> Self {
        Dispatcher {
            queue,
            settings,
            wake,
            unreachable: Unreachable::default(),
            retries: HashMap::new(),
        }
    }

    /// Delivers until `shutdown`; sleeps until the next group is due.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let next = self.pass(&shutdown).await;
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(next) => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }

    /// One pass over the queue; returns how long to sleep.
    async fn pass(&mut self, shutdown: &watch::Receiver<bool>) -> Duration {
        let mut next = Duration::from_secs(5);
        let now = Instant::now();
        for group in groups(self.queue.load()) {
            if *shutdown.borrow() {
                break;
            }
            let quiet = crate::registry::find(&group.sink.to).map_or(QUIET, |s| s.quiet());
            let wait = group.wait(millis(SystemTime::now()), quiet);
            let backoff = self
                .retries
                .get(&group.sink)
                .and_then(|r| r.next)
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
            let wait = wait.max(backoff);
            if !wait.is_zero() {
                next = next.min(wait);
                continue;
            }
            self.deliver(group).await;
            // New entries may have come in meanwhile: look again soon.
            next = next.min(Duration::from_millis(50));
        }
        next
    }

    async fn deliver(&mut self, group: Group) {
        let what = group.describe();
        let result = self.send(&group).await;
        match result {
            Ok(answer) => {
                tracing::info!("alert {what} delivered to {}: {answer}", group.sink);
                self.retries.remove(&group.sink);
                self.unreachable.set(&group.sink, false);
                self.remove(&group);
            }
            Err(SendError::Permanent(why)) => {
                tracing::error!("alert {what} to {} given up: {why}", group.sink);
                self.unreachable.set(&group.sink, false);
                self.remove(&group);
            }
            Err(SendError::Temporary(why)) => {
                let age = group
                    .entries
                    .first()
                    .map_or(0, |e| millis(SystemTime::now()).saturating_sub(e.queued_ms));
                if Duration::from_millis(age) > GIVE_UP_AFTER {
                    tracing::error!(
                        "alert {what} to {} given up after a day of failures: {why}",
                        group.sink
                    );
                    self.remove(&group);
                    return;
                }
                self.unreachable.set(&group.sink, true);
                let r = self.retries.entry(group.sink.clone()).or_default();
                r.attempts += 1;
                let delay = backoff(r.attempts);
                r.next = Some(Instant::now() + delay);
                tracing::warn!(
                    "alert {what} to {} not delivered (attempt {}): {why}; retrying in {} s",
                    group.sink,
                    r.attempts,
                    delay.as_secs()
                );
            }
        }
    }

    /// Hands the group to its sink; a sink this Warden does not have (a
    /// queue written by another version) never will be: given up.
    async fn send(&self, group: &Group) -> Result<String, SendError> {
        let Some(sink) = crate::registry::find(&group.sink.to) else {
            return Err(SendError::Permanent(format!(
                "Warden has no alert sink called '{}'",
                group.sink.to
            )));
        };
        let settings = self.settings.borrow().clone();
        let alert = Outgoing {
            address: &group.sink.address,
            events: group.events(),
            template: group.entries.iter().find_map(|e| e.template.as_ref()),
            reminder: group.entries.iter().all(|e| e.reminder),
            settings: &settings,
            labels: group.labels(),
        };
        sink.deliver(alert).await
    }

    fn remove(&self, group: &Group) {
        for e in &group.entries {
            self.queue.remove(&e.id);
        }
    }
}

/// 1 s, 2 s, 4 s, ... up to [`MAX_BACKOFF`].
pub fn backoff(attempts: u32) -> Duration {
    let secs = 1u64 << attempts.saturating_sub(1).min(10);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::tests::entry;

    #[test]
    fn backoff_doubles_and_stops_at_thirty_seconds() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn entries_group_by_sink_and_root_with_the_root_first() {
        let mut consequence = entry("web", 1_000);
        consequence.root = "db".into();
        let mut other_sink = entry("db", 1_100);
        other_sink.sink = Destination::new("webhook", "http://127.0.0.1:1/");
        let g = groups(vec![consequence, entry("db", 1_200), other_sink]);
        assert_eq!(g.len(), 2);
        let services: Vec<&str> = g[0].events().iter().map(|e| e.service.as_str()).collect();
        assert_eq!(services, ["db", "web"]);
    }

    #[test]
    fn a_group_waits_for_quiet_but_not_past_the_hold() {
        let g = groups(vec![entry("a", 10_000), entry("a", 10_500)]).remove(0);
        assert_eq!(g.wait(10_600, QUIET), Duration::from_millis(1_400));
        assert_eq!(g.wait(12_000, QUIET), Duration::ZERO);
        assert_eq!(g.wait(10_600, Duration::ZERO), Duration::ZERO);
        let busy = groups((0..30).map(|i| entry("a", 10_000 + i * 500)).collect()).remove(0);
        assert_eq!(busy.wait(20_000, QUIET), Duration::ZERO);
    }
}
