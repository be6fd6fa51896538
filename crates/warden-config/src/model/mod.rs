//! The checked config model: what the engine runs. Built by `lower` from the
//! syntax tree; every node that a diagnostic may point at keeps its span.

pub mod check;
pub mod describe;
pub mod settings;
pub mod test;

use serde::Serialize;

pub use check::*;
pub use settings::*;
pub use test::*;

/// A whole control file with its includes, lowered and validated.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Config {
    pub settings: Settings,
    pub checks: Vec<Check>,
}

impl Config {
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name.value == name)
    }
}
