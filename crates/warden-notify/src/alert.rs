//! What an alert carries: a snapshot of one engine event in words (what the
//! queue stores and the sinks render), where it goes (a [`Destination`]), and the
//! event Monit's `on { ... }` filters see each kind of event as.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use warden_config::model::FilterEvent;
use warden_engine::{Event, EventKind};

/// Where an alert goes: a [`Sink`](crate::sink::Sink) by name and an
/// address on it (an e-mail recipient, a webhook URL). Stored as
/// `{"to": "mail", "address": "ops@example.com"}` in queue entries and the
/// alert state. Logs show it as its sink describes it (its `Display` is in
/// [`crate::registry`], which knows the sinks).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Destination {
    /// The sink's name.
    pub to: String,
    pub address: String,
}

impl Destination {
    pub fn new(to: &str, address: impl Into<String>) -> Self {
        Destination {
            to: to.to_string(),
            address: address.into(),
        }
    }

    /// A stable text key, used in the alert state file and in logs.
    pub fn key(&self) -> String {
        format!("{}:{}", self.to, self.address)
    }
}

/// One event as alerts show it; stored as is in queue entries, so a queued
/// alert reads the same after Warden restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub service: String,
    /// Monit's words: `Does not exist`, `Connection failed`, ...
    pub event: String,
    /// The engine's kind in snake case: `does_not_exist`, ...
    pub kind: String,
    /// True when the event reports a problem.
    pub failure: bool,
    /// What Warden does about it (`restart`, `alert`, ...): `$ACTION`.
    pub action: String,
    pub description: String,
    /// Monit's date format, in UTC: `$DATE`.
    pub date: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    pub host: String,
}

impl AlertEvent {
    pub fn from_event(e: &Event, host: &str) -> Self {
        AlertEvent {
            service: e.service.clone(),
            event: e.kind.name().to_string(),
            kind: kind_word(e.kind),
            failure: e.kind.is_failure(),
            action: e.action.clone().unwrap_or_else(|| "alert".into()),
            description: e.description.clone(),
            date: warden_engine::clock::monit_date(e.time),
            timestamp_ms: millis(e.time),
            host: host.to_string(),
        }
    }
}

/// The kind's serde name (`does_not_exist`).
pub fn kind_word(kind: EventKind) -> String {
    kind.word().to_string()
}

/// Milliseconds since the epoch (0 for a clock before 1970).
pub fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The event Monit's `on { ... }` / `not on { ... }` filters see a kind
/// of event as (`man monit`, "Setting an event filter").
pub fn filter_event(kind: EventKind) -> FilterEvent {
    match kind {
        EventKind::DoesNotExist | EventKind::Exists | EventKind::Zombie => FilterEvent::Nonexist,
        EventKind::ConnectionFailed => FilterEvent::Connection,
        EventKind::ResourceLimit => FilterEvent::Resource,
        EventKind::Failed => FilterEvent::Status,
        EventKind::ProbeTimeout | EventKind::Timeout => FilterEvent::Timeout,
        EventKind::ActionDone | EventKind::Monitored | EventKind::Unmonitored => {
            FilterEvent::Action
        }
        EventKind::ActionFailed | EventKind::Exec | EventKind::Alert => FilterEvent::Exec,
        // A recovery is filtered under the failure it ends (see route.rs).
        EventKind::Recovered => FilterEvent::Status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_config::model::EventFilter;

    /// Events written as the config takes them (any case).
    fn list(words: &[&str]) -> Vec<FilterEvent> {
        words
            .iter()
            .filter_map(|w| FilterEvent::from_word(&w.to_ascii_lowercase()))
            .collect()
    }

    fn passes(events: &[FilterEvent], exclude: bool, name: &str) -> bool {
        let filter = EventFilter {
            events: events.to_vec(),
            exclude,
        };
        FilterEvent::from_word(name).is_some_and(|e| filter.passes(e))
    }

    #[test]
    fn filters_pass_what_they_list_or_everything_they_do_not_exclude() {
        let table = [
            (list(&[]), false, "nonexist", true),
            (list(&["nonexist", "timeout"]), false, "timeout", true),
            (list(&["nonexist", "timeout"]), false, "action", false),
            (list(&["instance", "action"]), true, "action", false),
            (list(&["instance", "action"]), true, "nonexist", true),
            (list(&["Exist"]), false, "nonexist", true),
        ];
        for (events, exclude, name, want) in table {
            assert_eq!(
                passes(&events, exclude, name),
                want,
                "{events:?} {exclude} {name}"
            );
        }
    }

    #[test]
    fn an_event_snapshot_keeps_monit_words_and_the_action() {
        let e = Event::new("web", EventKind::DoesNotExist, "process is not running")
            .with_action("restart");
        let a = AlertEvent::from_event(&e, "box");
        assert_eq!(
            (
                a.event.as_str(),
                a.kind.as_str(),
                a.action.as_str(),
                a.failure
            ),
            ("Does not exist", "does_not_exist", "restart", true)
        );
        let plain = AlertEvent::from_event(&Event::new("web", EventKind::Exists, "ok"), "box");
        assert_eq!(plain.action, "alert");
    }
}
