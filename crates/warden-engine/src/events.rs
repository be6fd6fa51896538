//! Typed events on an in-process broadcast bus: every state change a person
//! may care about (a process gone, a restart, a recovery, an action timing
//! out) becomes one [`Event`], which the log, alerts and the control API read.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use warden_config::model::Action;

use crate::id::CheckRef;

/// What happened, in Monit's vocabulary (its alert names in [`EventKind::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    DoesNotExist,
    Zombie,
    ConnectionFailed,
    ResourceLimit,
    /// Any other failed test (content, checksum, status, ...).
    Failed,
    /// A probe did not answer within its timeout.
    ProbeTimeout,
    /// A test that failed passes again.
    Recovered,
    /// A process appeared or is running again after being missing.
    Exists,
    ActionDone,
    ActionFailed,
    /// An action program ran past its timeout and its group was killed.
    Timeout,
    Unmonitored,
    Monitored,
    /// A program run by `exec` or an alert rule.
    Exec,
    /// An `alert` action with no alert sink configured.
    Alert,
}

impl EventKind {
    /// The words Monit uses in alerts (`Does not exist`, `Connection failed`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::DoesNotExist => "Does not exist",
            EventKind::Zombie => "Zombie",
            EventKind::ConnectionFailed => "Connection failed",
            EventKind::ResourceLimit => "Resource limit matched",
            EventKind::Failed => "Status failed",
            EventKind::ProbeTimeout => "Probe timeout",
            EventKind::Recovered => "Recovered",
            EventKind::Exists => "Exists",
            EventKind::ActionDone => "Action done",
            EventKind::ActionFailed => "Execution failed",
            EventKind::Timeout => "Timeout",
            EventKind::Unmonitored => "Not monitored",
            EventKind::Monitored => "Monitored",
            EventKind::Exec => "Exec",
            EventKind::Alert => "Alert",
        }
    }

    /// The kind's serde name (`does_not_exist`), as JSON, alerts and
    /// metric labels spell it.
    pub fn word(self) -> &'static str {
        // Every kind is a unit variant: it always has a name.
        warden_config::names::variant_name(&self).unwrap_or_default()
    }

    /// The kinds that report a problem (logged as errors): what a check
    /// can be failing with (the states of `/metrics`' status state set).
    pub const FAILURES: [EventKind; 8] = [
        EventKind::DoesNotExist,
        EventKind::Zombie,
        EventKind::ConnectionFailed,
        EventKind::ResourceLimit,
        EventKind::Failed,
        EventKind::ProbeTimeout,
        EventKind::ActionFailed,
        EventKind::Timeout,
    ];

    /// True for kinds that report a problem (logged as errors).
    pub fn is_failure(self) -> bool {
        Self::FAILURES.contains(&self)
    }
}

/// One event: which check, what, when, and the words for a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The check, with the config it belongs to: a reader routes the event
    /// with that config's table even when a reload has replaced it since.
    /// None for an event about no check of a config (tests).
    #[serde(skip)]
    pub check: Option<CheckRef>,
    /// The check's name, for what outlives a config (queued alerts, the
    /// alert memory) and for people (logs, mail text).
    pub service: String,
    pub kind: EventKind,
    pub time: SystemTime,
    pub description: String,
    /// The action the check takes about this event (`restart`, `alert`,
    /// ...), for alerts' `$ACTION`; None when nothing was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl Event {
    /// An event about `check`.
    pub fn of(check: &CheckRef, kind: EventKind, description: impl Into<String>) -> Self {
        Event {
            check: Some(check.clone()),
            ..Event::new(&check.name.value, kind, description)
        }
    }

    /// An event named only, about no check of a config.
    pub fn new(service: &str, kind: EventKind, description: impl Into<String>) -> Self {
        Event {
            check: None,
            service: service.to_string(),
            kind,
            time: SystemTime::now(),
            description: description.into(),
            action: None,
        }
    }

    /// The same event, naming the action taken about it.
    pub fn with_action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }
}

/// The bus: cheap to clone; sending with no subscriber is fine.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(1024)
    }
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        EventBus {
            tx: broadcast::channel(capacity).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Logs the event in Monit's style and hands it to every subscriber.
    pub fn publish(&self, event: Event) {
        if event.kind.is_failure() {
            tracing::error!("'{}' {}", event.service, event.description);
        } else {
            tracing::info!("'{}' {}", event.service, event.description);
        }
        let _ = self.tx.send(event);
    }
}

/// The word for an action in alerts (Monit's `$ACTION`).
pub fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Alert => "alert",
        Action::Restart => "restart",
        Action::Start => "start",
        Action::Stop => "stop",
        Action::Monitor => "monitor",
        Action::Unmonitor => "unmonitor",
        Action::Exec { .. } => "exec",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_s_word_is_its_json_name() {
        use EventKind::*;
        let all = [
            DoesNotExist,
            Zombie,
            ConnectionFailed,
            ResourceLimit,
            Failed,
            ProbeTimeout,
            Recovered,
            Exists,
            ActionDone,
            ActionFailed,
            Timeout,
            Unmonitored,
            Monitored,
            Exec,
            Alert,
        ];
        for kind in all {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(Some(kind.word()), json.as_str());
        }
    }

    #[tokio::test]
    async fn a_published_event_reaches_every_subscriber() {
        let bus = EventBus::default();
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        bus.publish(Event::new(
            "web",
            EventKind::DoesNotExist,
            "process is not running",
        ));
        for rx in [&mut a, &mut b] {
            let got = rx.recv().await.unwrap();
            assert_eq!(
                (got.service.as_str(), got.kind),
                ("web", EventKind::DoesNotExist)
            );
        }
    }

    #[test]
    fn publishing_without_subscribers_is_not_an_error() {
        EventBus::default().publish(Event::new("web", EventKind::Recovered, "ok"));
    }
}
