//! A rule Warden cannot test yet, in words for a warning. A leaf, shared
//! by the registry, the rule specs and the modules they ask (`local`,
//! `dns`).

/// A test Warden cannot run yet, in words for a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSupported(pub String);

impl std::fmt::Display for NotSupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not supported yet", self.0)
    }
}
