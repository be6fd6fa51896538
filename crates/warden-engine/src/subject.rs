//! What a check's subject outcome means to the engine: whether the process
//! is missing, the event a failure raises, the state file's word for it.

use warden_probes::{Outcome, Status};

use crate::events::EventKind;

/// True when the process is not there (gone or a zombie); an outcome that
/// could not be tested is not a reason to start a second instance.
pub fn missing(outcome: &Outcome) -> bool {
    matches!(outcome.status, Status::Missing | Status::Zombie)
}

/// The event a failed subject outcome stands for.
pub fn event_of(outcome: &Outcome) -> EventKind {
    match outcome.status {
        Status::Ok => EventKind::Exists,
        Status::Missing => EventKind::DoesNotExist,
        Status::Zombie => EventKind::Zombie,
        Status::Failed | Status::Error => EventKind::Failed,
        Status::Timeout => EventKind::ProbeTimeout,
    }
}

/// The state file's word for a status.
pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Missing => "missing",
        Status::Zombie => "zombie",
        Status::Failed => "failed",
        Status::Error => "error",
        Status::Timeout => "timeout",
    }
}
