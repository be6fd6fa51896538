//! The checked config model: what the engine runs. Built by `lower` from the
//! syntax tree; every node that a diagnostic may point at keeps its span.

pub mod check;
pub mod describe;
pub mod event;
pub mod hash;
pub mod http;
pub mod measure;
pub mod millis;
pub mod pattern;
pub mod protocol;
pub mod settings;
pub mod ssl;
pub mod test;

use std::cmp::Ordering;

use serde::Serialize;

pub use check::*;
pub use event::{EventFilter, FilterEvent};
pub use hash::HashAlgorithm;
pub use http::{HttpMethod, HttpUrl};
pub use measure::{Operator, Quantity, Unit};
pub use pattern::{BytesRegex, Pattern, Regex};
pub use protocol::Protocol;
pub use settings::*;
pub use ssl::{CertificateChecksum, SelfSigned, SslOption, SslOptions, SslVersion, VersionWord};
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

/// Finds a check of one config by name: the checks' positions sorted by
/// name, 4 bytes a check. The daemon's per-check tables are vectors in
/// config order looked up through this, instead of maps each holding its
/// own copy of every name (a map of 1,000 checks is 2,048 slots).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameIndex(Box<[u32]>);

impl NameIndex {
    pub fn new(checks: &[Check]) -> NameIndex {
        let mut order: Vec<u32> = (0..checks.len())
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        order.sort_by(|a, b| name_at(checks, *a).cmp(name_at(checks, *b)));
        NameIndex(order.into_boxed_slice())
    }

    /// The position in `checks` (the ones this index was built from) of
    /// the check named `name`.
    pub fn find(&self, checks: &[Check], name: &str) -> Option<usize> {
        let at = self
            .0
            .binary_search_by(|i| match checks.get(*i as usize) {
                Some(c) => c.name.value.as_str().cmp(name),
                None => Ordering::Greater,
            })
            .ok()?;
        Some(self.0[at] as usize)
    }
}

fn name_at(checks: &[Check], i: u32) -> &str {
    checks.get(i as usize).map_or("", |c| c.name.value.as_str())
}

#[cfg(test)]
mod tests {
    use super::NameIndex;

    #[test]
    fn the_name_index_finds_every_check_and_only_those() {
        let text = "check host web with address 127.0.0.1\n\
                    check host app with address 127.0.0.1\n\
                    check host zeta with address 127.0.0.1\n\
                    check host db with address 127.0.0.1\n";
        let loaded = crate::load_text(std::path::Path::new("rc"), text.to_string());
        let checks = loaded.config.expect("the text is valid").checks;
        let index = NameIndex::new(&checks);
        for (i, check) in checks.iter().enumerate() {
            assert_eq!(index.find(&checks, &check.name.value), Some(i));
        }
        for absent in ["", "a", "apps", "dc", "x", "zz"] {
            assert_eq!(index.find(&checks, absent), None, "{absent}");
        }
        assert_eq!(NameIndex::default().find(&checks, "web"), None);
    }
}
