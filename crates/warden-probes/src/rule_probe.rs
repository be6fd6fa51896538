//! What the registry answers for one rule: how it is tested, or that
//! Warden cannot test it yet. A leaf, shared by the registry and the
//! modules it asks (`local`, `dns`).

use std::sync::Arc;

use crate::Probe;

/// A test Warden cannot run yet, in words for a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSupported(pub String);

impl std::fmt::Display for NotSupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not supported yet", self.0)
    }
}

/// How one rule of a check is tested.
#[derive(Debug, Clone)]
pub enum RuleProbe {
    /// Judged from the subject probe's outcome: existence, resources,
    /// uptime, pid and ppid changes.
    Subject,
    /// Counted by the engine itself (`N restarts within M cycles`).
    Engine,
    /// Its own probe (a connection test).
    Probe(Arc<dyn Probe>),
    NotSupported(NotSupported),
}
