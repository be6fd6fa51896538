//! Where the engine gets its probes: the probe crate's registry for every
//! check, except checks bound to a systemd unit, whose main pid the engine
//! reads itself (it also starts and stops them through `systemctl`).

use std::sync::Arc;

use warden_config::model::{Check, CheckKind, ProcessTarget};
use warden_probes::registry::{self, CheckProbes, ProbeContext};

use crate::systemd::UnitProbe;

/// Builds the probes a check needs. A trait so that tests can hand the
/// engine probes of their own.
pub trait ProbeFactory: Send + Sync + std::fmt::Debug {
    fn probes(&self, check: &Check) -> CheckProbes;
}

/// The built-in probes: `warden_probes::registry` over the process-wide
/// [`ProbeContext`] (one process table snapshot shared by every check).
#[derive(Debug, Default)]
pub struct RegistryFactory;

impl ProbeFactory for RegistryFactory {
    fn probes(&self, check: &Check) -> CheckProbes {
        let mut probes = registry::probes_for_in(check, ProbeContext::shared());
        if let CheckKind::Process {
            target: ProcessTarget::SystemdUnit(unit),
        } = &check.kind
        {
            probes.subject = Ok(Arc::new(UnitProbe::new(unit)));
        }
        probes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn check(text: &str) -> Check {
        let loaded = warden_config::load_text_without_includes(Path::new("t.rc"), text.into());
        assert!(!loaded.has_errors(), "{}", loaded.render());
        loaded.config.unwrap().checks.remove(0)
    }

    #[test]
    fn process_checks_by_pidfile_matching_and_pid_get_a_process_probe() {
        for target in ["pidfile /run/x.pid", "matching \"^sleep\"", "pid 1"] {
            let probes =
                RegistryFactory.probes(&check(&format!("check process x with {target}\n")));
            let kind = probes.subject.as_ref().map(|p| p.kind()).ok();
            assert_eq!(kind, Some("process"), "{target}");
            assert!(probes.process.is_some(), "{target}");
        }
    }
}
