//! Which events become alerts, for whom: state changes only. A failure is
//! alerted once per sink until it recovers (remembered on disk, so neither
//! a reload nor a restart repeats it), a recovery goes to those told of the
//! failure, actions done or failed always go, reminders repeat a standing
//! failure every N cycles. An event of a service whose dependency is down
//! (or was acted on moments ago) is queued under that dependency, so both
//! go out as one alert about the root cause.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;
use warden_engine::{Event, EventKind};

use crate::alert::{AlertEvent, filter_event, millis};
use crate::memory::Memory;
use crate::queue::{Entry, Queue};
use crate::route::{Recipient, Routes};

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
    pub routes: Routes,
    pub memory: Memory,
    pub queue: Option<Arc<Queue>>,
    pub wake: Arc<Notify>,
    pub host: String,
    views: HashMap<String, View>,
}

impl Decider {
    pub fn new(
        routes: Routes,
        memory: Memory,
        queue: Option<Arc<Queue>>,
        wake: Arc<Notify>,
        host: String,
    ) -> Self {
        Decider {
            routes,
            memory,
            queue,
            wake,
            host,
            views: HashMap::new(),
        }
    }

    /// A new configuration: new routes; the state of removed services goes.
    pub fn reload(&mut self, routes: Routes) {
        self.routes = routes;
        let routes = &self.routes;
        self.memory.retain(|s| routes.knows(s));
    }

    pub fn on_event(&mut self, e: &Event) {
        // `Alert` repeats a failure already published; `Exec` is the
        // program run about one.
        if matches!(e.kind, EventKind::Alert | EventKind::Exec) {
            return;
        }
        let now = Instant::now();
        let root = self.root_of(&e.service, now);
        let down = match e.kind {
            k if is_condition(k) => true,
            EventKind::Exists | EventKind::Recovered | EventKind::ActionDone => false,
            _ => self.views.get(&e.service).is_some_and(|v| v.down),
        };
        self.views.insert(
            e.service.clone(),
            View {
                down,
                last_event: now,
            },
        );
        let ev = AlertEvent::from_event(e, &self.host);
        let now_ms = millis(SystemTime::now());
        match e.kind {
            k if k.is_failure() => {
                for t in self.routes.recipients(&e.service, Some(filter_event(k))) {
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
                    self.memory.set_failing(&t.sink, &ev, now_ms);
                    self.enqueue(&t, &ev, &root, false);
                }
            }
            EventKind::Exists | EventKind::Recovered => {
                for t in self.routes.recipients(&e.service, None) {
                    if self.memory.clear(&e.service, &t.sink).is_some() {
                        self.enqueue(&t, &ev, &root, false);
                    }
                }
            }
            _ => {
                let forget = matches!(e.kind, EventKind::ActionDone | EventKind::Unmonitored);
                for t in self
                    .routes
                    .recipients(&e.service, Some(filter_event(e.kind)))
                {
                    self.enqueue(&t, &ev, &root, false);
                }
                if forget {
                    for t in self.routes.recipients(&e.service, None) {
                        self.memory.clear(&e.service, &t.sink);
                    }
                }
            }
        }
    }

    /// Queues a reminder for every standing failure whose sink asked for
    /// one and whose last alert is N of the service's cycles old.
    pub fn remind(&mut self) {
        let now_ms = millis(SystemTime::now());
        let mut due = Vec::new();
        for r in self.memory.all() {
            let service = &r.event.service;
            let Some(t) = self
                .routes
                .recipients(service, None)
                .into_iter()
                .find(|t| t.sink == r.sink)
            else {
                continue;
            };
            let Some(n) = t.reminder_cycles else { continue };
            let every = self.routes.period(service).saturating_mul(n);
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
    /// the furthest one up; the service itself when none.
    fn root_of(&self, service: &str, now: Instant) -> String {
        let mut root = service.to_string();
        let mut seen = HashSet::from([root.clone()]);
        loop {
            let cause = self.routes.depends_on(&root).find(|d| {
                !seen.contains(*d)
                    && self.views.get(*d).is_some_and(|v| {
                        v.down || now.duration_since(v.last_event) < CONSEQUENCE_WINDOW
                    })
            });
            match cause {
                Some(d) => {
                    root = d.to_string();
                    seen.insert(root.clone());
                }
                None => return root,
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
        let loaded = warden_config::load_text(std::path::Path::new("rc"), RC.to_string());
        let routes = Routes::new(&std::sync::Arc::new(loaded.config.unwrap()));
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

    fn ev(service: &str, kind: EventKind) -> Event {
        Event::new(service, kind, "why")
    }

    #[test]
    fn a_failure_is_queued_once_until_it_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decider(dir.path());
        d.on_event(&ev("db", EventKind::DoesNotExist));
        d.on_event(&ev("db", EventKind::DoesNotExist));
        assert_eq!(queued(&d).len(), 1);
        d.on_event(&ev("db", EventKind::Exists));
        d.on_event(&ev("db", EventKind::Exists));
        d.on_event(&ev("db", EventKind::DoesNotExist));
        let events: Vec<String> = queued(&d).into_iter().map(|q| q.2).collect();
        assert_eq!(events, ["Does not exist", "Exists", "Does not exist"]);
    }

    #[test]
    fn a_failure_alerted_before_a_restart_of_warden_is_not_queued_again() {
        let dir = tempfile::tempdir().unwrap();
        decider(dir.path()).on_event(&ev("db", EventKind::ConnectionFailed));
        let mut again = decider(dir.path());
        again.on_event(&ev("db", EventKind::ConnectionFailed));
        assert_eq!(queued(&again).len(), 1);
    }

    #[test]
    fn a_recovery_nobody_heard_the_failure_of_is_not_queued() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decider(dir.path());
        d.on_event(&ev("db", EventKind::Recovered));
        assert!(queued(&d).is_empty());
    }

    #[test]
    fn a_dependant_failing_while_its_dependency_is_down_is_filed_under_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decider(dir.path());
        d.on_event(&ev("db", EventKind::DoesNotExist));
        d.on_event(&ev("web", EventKind::ConnectionFailed));
        let q = queued(&d);
        assert_eq!(q[1].0, "db", "{q:?}");
        assert_eq!(q[1].1, "web");
    }

    #[test]
    fn a_reminder_repeats_a_standing_failure_after_n_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let text = "set daemon 1\nset alert ops@example.com with reminder on 1 cycle\n\
            check process db with pidfile /run/db.pid\n  every 500 ms\n";
        let loaded = warden_config::load_text(std::path::Path::new("rc"), text.to_string());
        let mut d = decider(dir.path());
        d.reload(Routes::new(&std::sync::Arc::new(loaded.config.unwrap())));
        d.on_event(&ev("db", EventKind::DoesNotExist));
        d.remind();
        assert_eq!(queued(&d).len(), 1, "reminded at once");
        std::thread::sleep(Duration::from_millis(600));
        d.remind();
        assert_eq!(queued(&d).len(), 2);
    }
}
