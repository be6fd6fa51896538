//! An engine event in Monit's numbers, as a collector message's `<event>`
//! carries it: the event id bit, the state (failed, succeeded, changed) and
//! the action, from Monit 5.33's `event.h` and `Action_Names`. Pure: no I/O.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use warden_engine::{Event, EventKind};

use super::super::monit::xml::EventMessage;

/// Monit's event id bits (`Event_Type` in Monit's `event.h`).
mod id {
    pub const RESOURCE: u32 = 0x2;
    pub const TIMEOUT: u32 = 0x4;
    pub const CONNECTION: u32 = 0x20;
    pub const NONEXIST: u32 = 0x200;
    /// Monit reports a zombie as a data event.
    pub const DATA: u32 = 0x800;
    pub const EXEC: u32 = 0x1000;
    pub const INSTANCE: u32 = 0x10000;
    pub const ACTION: u32 = 0x20000;
    pub const STATUS: u32 = 0x20_0000;
}

/// Monit's `State_Type`.
const FAILED: u8 = 1;
const SUCCEEDED: u8 = 0;
const CHANGED: u8 = 2;

/// Monit's action number for an action word (`Action_Names`: ignore,
/// alert, restart, stop, exec, unmonitor, start, monitor); alert for none.
pub fn action_number(word: Option<&str>) -> u8 {
    match word {
        Some("restart") => 2,
        Some("stop") => 3,
        Some("exec") => 4,
        Some("unmonitor") => 5,
        Some("start") => 6,
        Some("monitor") => 7,
        _ => 1,
    }
}

/// The event id bit a failure kind is reported under.
fn failure_id(kind: EventKind) -> u32 {
    match kind {
        EventKind::DoesNotExist | EventKind::Exists => id::NONEXIST,
        EventKind::Zombie => id::DATA,
        EventKind::ConnectionFailed => id::CONNECTION,
        EventKind::ResourceLimit => id::RESOURCE,
        EventKind::ProbeTimeout | EventKind::Timeout => id::TIMEOUT,
        EventKind::ActionFailed | EventKind::Exec => id::EXEC,
        EventKind::ActionDone | EventKind::Monitored | EventKind::Unmonitored => id::ACTION,
        EventKind::Failed | EventKind::Recovered | EventKind::Alert => id::STATUS,
    }
}

/// Turns events into messages; it remembers each service's last failure,
/// because Monit reports a recovery under the id of the test that failed
/// and Warden's `Recovered` does not say which one that was.
#[derive(Debug, Default)]
pub struct Translator {
    failing: HashMap<String, EventKind>,
}

impl Translator {
    /// `service_type` is the check's Monit type number.
    pub fn message(&mut self, e: &Event, service_type: u8) -> EventMessage {
        let (id, state) = match e.kind {
            k if k.is_failure() => {
                self.failing.insert(e.service.clone(), k);
                (failure_id(k), FAILED)
            }
            EventKind::Recovered => {
                let was = self.failing.remove(&e.service);
                (was.map_or(id::STATUS, failure_id), SUCCEEDED)
            }
            EventKind::Exists => {
                self.failing.remove(&e.service);
                (id::NONEXIST, SUCCEEDED)
            }
            EventKind::ActionDone | EventKind::Monitored | EventKind::Unmonitored => {
                (id::ACTION, CHANGED)
            }
            k => (failure_id(k), CHANGED),
        };
        let (collected_sec, collected_usec) = split(e.time);
        EventMessage {
            collected_sec,
            collected_usec,
            service: e.service.clone(),
            service_type,
            id,
            state,
            action: action_number(e.action.as_deref()),
            message: e.description.clone(),
        }
    }
}

/// The daemon's own event (`Monit` as the service, Monit's instance id):
/// Monit sends one when it starts, reloads and stops.
pub fn instance(words: &str, action: &str) -> EventMessage {
    let (collected_sec, collected_usec) = split(SystemTime::now());
    EventMessage {
        collected_sec,
        collected_usec,
        service: "Monit".into(),
        service_type: 5,
        id: id::INSTANCE,
        state: CHANGED,
        action: action_number(Some(action)),
        message: words.to_string(),
    }
}

fn split(t: SystemTime) -> (u64, u32) {
    t.duration_since(UNIX_EPOCH)
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_micros()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, action: Option<&str>) -> Event {
        let e = Event::new("web", kind, "words");
        match action {
            Some(a) => e.with_action(a),
            None => e,
        }
    }

    #[test]
    fn events_carry_monit_ids_states_and_actions() {
        let mut t = Translator::default();
        let table = [
            (EventKind::DoesNotExist, Some("restart"), 0x200, 1, 2),
            (EventKind::Exists, None, 0x200, 0, 1),
            (EventKind::Zombie, Some("alert"), 0x800, 1, 1),
            (EventKind::ConnectionFailed, Some("stop"), 0x20, 1, 3),
            (EventKind::ActionDone, Some("start"), 0x20000, 2, 6),
            (EventKind::Unmonitored, Some("unmonitor"), 0x20000, 2, 5),
            (EventKind::ActionFailed, Some("exec"), 0x1000, 1, 4),
        ];
        for (kind, action, id, state, number) in table {
            let m = t.message(&ev(kind, action), 3);
            assert_eq!((m.id, m.state, m.action), (id, state, number), "{kind:?}");
            assert_eq!((m.service.as_str(), m.service_type), ("web", 3));
        }
    }

    #[test]
    fn a_recovery_is_reported_under_the_test_that_failed() {
        let mut t = Translator::default();
        t.message(&ev(EventKind::ResourceLimit, Some("alert")), 3);
        let back = t.message(&ev(EventKind::Recovered, None), 3);
        assert_eq!((back.id, back.state), (0x2, 0));
        let unknown = t.message(&ev(EventKind::Recovered, None), 3);
        assert_eq!(unknown.id, 0x20_0000);
    }

    #[test]
    fn the_daemon_s_own_events_are_instance_events_of_monit() {
        let m = instance("Warden started", "start");
        assert_eq!(
            (m.service.as_str(), m.service_type, m.id, m.state, m.action),
            ("Monit", 5, 0x10000, 2, 6)
        );
    }
}
