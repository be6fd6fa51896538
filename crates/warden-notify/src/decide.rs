//! Which events become alerts, for whom: state changes only. A failure is
//! alerted once per sink until it recovers (remembered on disk, so neither
//! a reload nor a restart repeats it), a recovery goes to those told of the
//! failure, actions done or failed always go, reminders repeat a standing
//! failure every N cycles. An event of a service whose dependency is down
//! (or was acted on moments ago) is queued under that dependency, so both
//! go out as one alert about the root cause.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;
use warden_engine::{CheckId, Event, EventKind};

use crate::alert::{AlertEvent, filter_event, millis};
use crate::deliver::Unreachable;
use crate::memory::Memory;
use crate::queue::{Entry, Queue};
use crate::route::Routes;
use crate::sink::Recipient;

/// How recent a dependency's event must be for a dependant's event to
/// count as its consequence.
pub const CONSEQUENCE_WINDOW: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy)]
struct View {
    down: bool,
    last_event: Instant,
}

#[derive(Debug)]
pub struct Decider {
    /// The installed routes: those of the config the last event or reload
    /// came from. `views` and the memory's ids are in their ids.
    routes: Routes,
    pub memory: Memory,
    pub queue: Option<Arc<Queue>>,
    pub wake: Arc<Notify>,
    pub host: String,
    /// What each check last did, by id (for `depends on`); empty until the
    /// first event, as most daemons have none for long.
    views: Vec<Option<View>>,
    /// Destinations being retried: no re-posts are queued for them.
    pub unreachable: Unreachable,
}

impl Decider {
    pub fn new(
        routes: Routes,
        mut memory: Memory,
        queue: Option<Arc<Queue>>,
        wake: Arc<Notify>,
        host: String,
    ) -> Self {
        memory.resolve(|name| routes.find(name));
        Decider {
            views: Vec::new(),
            unreachable: Unreachable::default(),
            routes,
            memory,
            queue,
            wake,
            host,
        }
    }

    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// A new configuration: new routes; the state of removed services goes.
    pub fn reload(&mut self, routes: Routes) {
        self.install(routes);
        let routes = &self.routes;
        self.memory.retain(|s| routes.knows(s));
    }

    /// Routes with what is kept per check moved over to their ids, by name
    /// (once per install); nothing to move for the config installed already.
    fn install(&mut self, routes: Routes) {
        if Arc::ptr_eq(routes.config(), self.routes.config()) {
            return;
        }
        let mut views = Vec::new();
        if !self.views.is_empty() {
            views.resize(routes.len(), None);
        }
        for (i, view) in self.views.iter().enumerate() {
            let moved = CheckId::new(i)
                .and_then(|old| self.routes.name(old))
                .and_then(|name| routes.find(name))
                .and_then(|new| views.get_mut(new.index()));
            if let (Some(slot), Some(view)) = (moved, view) {
                *slot = Some(*view);
            }
        }
        self.views = views;
        self.memory.resolve(|name| routes.find(name));
        self.routes = routes;
    }

    /// The event's check in the installed routes. An event of another
    /// config installs that config's routes first: its id means nothing in
    /// any other. The bus carries every event of an engine before any of
    /// the next (the daemon stops one before it starts the next), and the
    /// reader takes those published before a reload first, so the routes
    /// only move forward: to a config whose reload is on its way.
    fn check_of(&mut self, e: &Event) -> Option<CheckId> {
        let check = e.check.as_ref()?;
        if !self.routes.is_of(check) {
            tracing::debug!("alerts: routing with the config of '{}'", e.service);
            self.install(Routes::new(check.config()));
        }
        Some(check.id())
    }

    fn view(&self, check: CheckId) -> Option<&View> {
        self.views.get(check.index())?.as_ref()
    }

    pub fn on_event(&mut self, e: &Event) {
        // `Alert` repeats a failure already published; `Exec` is the
        // program run about one.
        if matches!(e.kind, EventKind::Alert | EventKind::Exec) {
            return;
        }
        let now = Instant::now();
        // None: a service no config knows, routed to the global recipients.
        let check = self.check_of(e);
        let root = self
            .root_of(check, now)
            .and_then(|r| self.routes.name(r))
            .unwrap_or(&e.service)
            .to_string();
        let down = match e.kind {
            k if is_condition(k) => true,
            EventKind::Exists | EventKind::Recovered | EventKind::ActionDone => false,
            _ => check.and_then(|c| self.view(c)).is_some_and(|v| v.down),
        };
        if self.views.is_empty() {
            self.views.resize(self.routes.len(), None);
        }
        if let Some(slot) = check.and_then(|c| self.views.get_mut(c.index())) {
            *slot = Some(View {
                down,
                last_event: now,
            });
        }
        let ev = AlertEvent::from_event(e, &self.host);
        let now_ms = millis(SystemTime::now());
        match e.kind {
            k if k.is_failure() => {
                for t in self.routes.recipients(check, Some(filter_event(k))) {
                    if self
                        .memory
                        .failing(&e.service, &t.sink)
                        .is_some_and(|r| r.event.kind == ev.kind)
                    {
                        tracing::debug!(
                            "'{}' {}: alerted to {} already",
                            e.service,
                            ev.event,
                            t.sink
                        );
                        continue;
                    }
                    self.memory.set_failing(&t.sink, &ev, check, now_ms);
                    self.enqueue(&t, &ev, &root, false);
                }
            }
            EventKind::Exists | EventKind::Recovered => {
                for t in self.routes.recipients(check, None) {
                    if self.memory.clear(&e.service, &t.sink).is_some() {
                        self.enqueue(&t, &ev, &root, false);
                    }
                }
            }
            _ => {
                let forget = matches!(e.kind, EventKind::ActionDone | EventKind::Unmonitored);
                for t in self.routes.recipients(check, Some(filter_event(e.kind))) {
                    let takes = crate::registry::find(&t.sink.to).is_none_or(|s| s.takes(e.kind));
                    if takes {
                        self.enqueue(&t, &ev, &root, false);
                    }
                }
                if forget {
                    for t in self.routes.recipients(check, None) {
                        self.memory.clear(&e.service, &t.sink);
                    }
                }
            }
        }
    }

    /// Queues a reminder for every standing failure whose sink asked for
    /// one and whose last alert is N of the service's cycles old.
    pub fn remind(&mut self) {
        self.remind_at(millis(SystemTime::now()));
    }

    /// [`Decider::remind`] as if it were `now_ms`.
    pub fn remind_at(&mut self, now_ms: u64) {
        self.memory.retry_save();
        let mut due = Vec::new();
        for r in self.memory.all() {
            let Some(t) = self
                .routes
                .recipients(r.check, None)
                .into_iter()
                .find(|t| t.sink == r.sink)
            else {
                continue;
            };
            let every = match (t.repost, t.reminder_cycles) {
                // Its backlog holds the failure already.
                (Some(_), _) if self.unreachable.contains(&t.sink) => continue,
                (Some(every), _) => every,
                (None, Some(n)) => self.routes.period(r.check).saturating_mul(n),
                (None, None) => continue,
            };
            if now_ms.saturating_sub(r.last_sent_ms) >= every.as_millis() as u64 {
                due.push((t, r.event.clone()));
            }
        }
        for (t, ev) in due {
            self.memory.reminded(&ev.service, &t.sink, now_ms);
            let root = ev.service.clone();
            self.enqueue(&t, &ev, &root, true);
        }
    }

    /// The dependency (transitively) that is down or just had an event,
    /// the furthest one up; the check itself when none.
    fn root_of(&self, check: Option<CheckId>, now: Instant) -> Option<CheckId> {
        let mut root = check?;
        let mut seen = HashSet::from([root]);
        loop {
            let cause = self.routes.depends_on(root).iter().copied().find(|d| {
                !seen.contains(d)
                    && self.view(*d).is_some_and(|v| {
                        v.down || now.duration_since(v.last_event) < CONSEQUENCE_WINDOW
                    })
            });
            match cause {
                Some(d) => {
                    root = d;
                    seen.insert(d);
                }
                None => return Some(root),
            }
        }
    }

    fn enqueue(&self, t: &Recipient, ev: &AlertEvent, root: &str, reminder: bool) {
        let what = format!("'{}' {}: {}", ev.service, ev.event, ev.description);
        let Some(queue) = &self.queue else {
            tracing::error!("alert for {} refused (no alert queue): {what}", t.sink);
            return;
        };
        let entry = Entry {
            id: String::new(),
            queued_ms: millis(SystemTime::now()),
            sink: t.sink.clone(),
            root: root.to_string(),
            reminder,
            event: ev.clone(),
            template: t.template.clone(),
            labels: t.labels.clone(),
        };
        match queue.push(&entry) {
            Ok(id) => {
                let also = if root != ev.service {
                    format!(" (consequence of '{root}')")
                } else {
                    String::new()
                };
                let kind = if reminder { "reminder" } else { "alert" };
                tracing::info!("{kind} queued for {}: {what}{also} [{id}]", t.sink);
                self.wake.notify_one();
            }
            Err(e) => tracing::error!("alert for {} refused: {e}: {what}", t.sink),
        }
    }
}

/// Kinds that describe the service being down (not an action's outcome).
fn is_condition(kind: EventKind) -> bool {
    kind.is_failure() && !matches!(kind, EventKind::ActionFailed | EventKind::Timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RC: &str = "set daemon 10\nset alert ops@example.com\n\
        check process db with pidfile /run/db.pid\n\
        check process web with pidfile /run/web.pid\n  depends on db\n";

    fn decider(dir: &std::path::Path) -> Decider {
        let routes = Routes::new(&config(RC));
        let queue = Arc::new(Queue::open(&dir.join("q"), None).unwrap());
        let memory = Memory::open(Some(&dir.join("alerts")));
        Decider::new(
            routes,
            memory,
            Some(queue),
            Arc::new(Notify::new()),
            "box".into(),
        )
    }

    fn queued(d: &Decider) -> Vec<(String, String, String)> {
        let q = d.queue.as_ref().unwrap().load();
        q.into_iter()
            .map(|e| (e.root, e.event.service, e.event.event))
            .collect()
    }

    fn config(text: &str) -> Arc<warden_config::Config> {
        let loaded = warden_config::load_text(std::path::Path::new("rc"), text.to_string());
        Arc::new(loaded.config.unwrap())
    }

    /// An event as the engine running `config` publishes it.
    fn event_of(config: &Arc<warden_config::Config>, service: &str, kind: EventKind) -> Event {
        let at = config.checks.iter().position(|c| c.name.value == service);
        let check = warden_engine::CheckRef::new(config, at.unwrap()).unwrap();
        Event::of(&check, kind, "why")
    }

    fn ev(d: &Decider, service: &str, kind: EventKind) -> Event {
        event_of(d.routes().config(), service, kind)
    }

    #[test]
    fn a_failure_is_queued_once_until_it_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decider(dir.path());
        d.on_event(&ev(&d, "db", EventKind::DoesNotExist));
        d.on_event(&ev(&d, "db", EventKind::DoesNotExist));
        assert_eq!(queued(&d).len(), 1);
        d.on_event(&ev(&d, "db", EventKind::Exists));
        d.on_event(&ev(&d, "db", EventKind::Exists));
        d.on_event(&ev(&d, "db", EventKind::DoesNotExist));
        let events: Vec<String> = queued(&d).into_iter().map(|q| q.2).collect();
        assert_eq!(events, ["Does not exist", "Exists", "Does not exist"]);
    }

    #[test]
    fn a_failure_alerted_before_a_restart_of_warden_is_not_queued_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = decider(dir.path());
        first.on_event(&ev(&first, "db", EventKind::ConnectionFailed));
        let mut again = decider(dir.path());
        again.on_event(&ev(&again, "db", EventKind::ConnectionFailed));
        assert_eq!(queued(&again).len(), 1);
    }

    #[test]
    fn a_recovery_nobody_heard_the_failure_of_is_not_queued() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decider(dir.path());
        d.on_event(&ev(&d, "db", EventKind::Recovered));
        assert!(queued(&d).is_empty());
    }

    #[test]
    fn a_dependant_failing_while_its_dependency_is_down_is_filed_under_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decider(dir.path());
        d.on_event(&ev(&d, "db", EventKind::DoesNotExist));
        d.on_event(&ev(&d, "web", EventKind::ConnectionFailed));
        let q = queued(&d);
        assert_eq!(q[1].0, "db", "{q:?}");
        assert_eq!(q[1].1, "web");
    }

    #[test]
    fn a_reminder_repeats_a_standing_failure_after_n_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let text = "set daemon 1\nset alert ops@example.com with reminder on 1 cycle\n\
            check process db with pidfile /run/db.pid\n  every 500 ms\n";
        let mut d = decider(dir.path());
        d.reload(Routes::new(&config(text)));
        d.on_event(&ev(&d, "db", EventKind::DoesNotExist));
        d.remind();
        assert_eq!(queued(&d).len(), 1, "reminded at once");
        std::thread::sleep(Duration::from_millis(600));
        d.remind();
        assert_eq!(queued(&d).len(), 2);
    }

    #[test]
    fn a_standing_failure_is_posted_to_alertmanager_again_every_cycle_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let text = "set daemon 20\nset alertmanager http://127.0.0.1:9 labels { env: x }\n\
            check process db with pidfile /run/db.pid\n  group data\n";
        let mut d = decider(dir.path());
        d.reload(Routes::new(&config(text)));
        d.on_event(&ev(&d, "db", EventKind::DoesNotExist));
        let now = millis(SystemTime::now());
        d.remind_at(now + 19_000);
        assert_eq!(queued(&d).len(), 1, "reposted before a cycle passed");
        d.remind_at(now + 21_000);
        let q = d.queue.as_ref().unwrap().load();
        assert_eq!(q.len(), 2);
        assert!(q[1].reminder && q[1].sink.to == "alertmanager");
        let labels: Vec<(&str, &str)> = q[1]
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            [("type", "process"), ("group", "data"), ("env", "x")]
        );
        // While the Alertmanager is being retried, no re-post is queued.
        d.unreachable.set(&q[1].sink, true);
        d.remind_at(now + 60_000);
        assert_eq!(queued(&d).len(), 2);
        d.unreachable.set(&q[1].sink, false);
        // Recovered: the resolution goes, and no more reposts.
        d.on_event(&ev(&d, "db", EventKind::Exists));
        d.on_event(&ev(&d, "db", EventKind::ActionDone));
        d.remind_at(now + 100_000);
        let kinds: Vec<String> = queued(&d).into_iter().map(|e| e.2).collect();
        assert_eq!(kinds, ["Does not exist", "Does not exist", "Exists"]);
    }

    /// Who each queued alert went to, in order.
    fn sinks(d: &Decider) -> Vec<(String, String)> {
        let q = d.queue.as_ref().unwrap().load();
        q.into_iter()
            .map(|e| (e.event.service, e.sink.address))
            .collect()
    }

    const BEFORE: &str = "set daemon 10\nset alert ops@example.com\n\
        check process db with pidfile /run/db.pid\n  alert dba@example.com\n\
        check process web with pidfile /run/web.pid\n  alert dev@example.com\n  depends on db\n";
    /// `BEFORE` reordered, with web renamed www: web's id is db's now.
    const AFTER: &str = "set daemon 10\nset alert ops@example.com\n\
        check process www with pidfile /run/web.pid\n  alert dev@example.com\n  depends on db\n\
        check process db with pidfile /run/db.pid\n  alert dba@example.com\n";

    #[test]
    fn an_event_read_after_a_reload_is_routed_with_the_config_that_emitted_it() {
        let dir = tempfile::tempdir().unwrap();
        let (before, after) = (config(BEFORE), config(AFTER));
        let mut d = decider(dir.path());
        d.reload(Routes::new(&before));
        // The worst order: the reload reaches the reader before an event
        // the old engine published.
        d.reload(Routes::new(&after));
        d.on_event(&event_of(&before, "web", EventKind::DoesNotExist));
        d.on_event(&event_of(&after, "db", EventKind::DoesNotExist));
        assert_eq!(
            sinks(&d),
            [
                ("web".into(), "ops@example.com".into()),
                ("web".into(), "dev@example.com".into()),
                ("db".into(), "ops@example.com".into()),
                ("db".into(), "dba@example.com".into()),
            ]
        );
    }

    #[test]
    fn a_dependency_down_before_a_reload_still_roots_its_dependants_after() {
        let dir = tempfile::tempdir().unwrap();
        let (before, after) = (config(BEFORE), config(AFTER));
        let mut d = decider(dir.path());
        d.reload(Routes::new(&before));
        d.on_event(&event_of(&before, "db", EventKind::DoesNotExist));
        d.reload(Routes::new(&after));
        d.on_event(&event_of(&after, "www", EventKind::ConnectionFailed));
        let q = queued(&d);
        assert_eq!(
            q.last().map(|e| (e.0.as_str(), e.1.as_str())),
            Some(("db", "www"))
        );
    }
}
