//! The probe graph: one node per check with its subject probe, one probe per
//! rule that needs its own (a connection test), its period and its edges
//! (`depends on` and the reverse, dependants).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use warden_config::Config;
use warden_config::model::{Check, CheckKind, Schedule, Test};
use warden_probes::{Probe, ProcessProbe, RuleProbe};

use crate::factory::ProbeFactory;

/// One check, ready to run.
#[derive(Debug)]
pub struct Node {
    pub check: Check,
    pub subject: Option<Arc<dyn Probe>>,
    /// The subject typed, when it is the registry's process probe: its
    /// memory of the proven identity survives reloads through the state.
    pub process: Option<ProcessProbe>,
    /// Same order as `check.rules`; None where the rule reads the subject.
    pub rule_probes: Vec<Option<Arc<dyn Probe>>>,
    pub period: Duration,
    pub dependants: Vec<String>,
    /// A process check with a start program restarts a missing process even
    /// without `if does not exist then restart` (Monit's default).
    pub implicit_restart: bool,
}

impl Node {
    pub fn name(&self) -> &str {
        &self.check.name.value
    }

    pub fn is_process(&self) -> bool {
        matches!(self.check.kind, CheckKind::Process { .. })
    }
}

/// Builds every node; dependants are the reverse of `depends on`.
pub fn plan(config: &Config, factory: &dyn ProbeFactory) -> Vec<Node> {
    let mut dependants: HashMap<&str, Vec<String>> = HashMap::new();
    for check in &config.checks {
        for dep in &check.depends_on {
            dependants
                .entry(dep.value.as_str())
                .or_default()
                .push(check.name.value.clone());
        }
    }
    config
        .checks
        .iter()
        .map(|check| {
            let probes = factory.probes(check);
            Node {
                subject: probes.subject.ok(),
                process: probes.process,
                rule_probes: probes
                    .rules
                    .into_iter()
                    .map(|r| match r {
                        RuleProbe::Probe(p) => Some(p),
                        _ => None,
                    })
                    .collect(),
                period: period(&check.schedule, config.settings.cycle),
                dependants: dependants
                    .remove(check.name.value.as_str())
                    .unwrap_or_default(),
                implicit_restart: matches!(check.kind, CheckKind::Process { .. })
                    && check.start.is_some()
                    && !check.rules.iter().any(|r| r.test.value == Test::NotExist),
                check: check.clone(),
            }
        })
        .collect()
}

/// How often a check runs. Cron schedules are tested once per cycle.
pub fn period(schedule: &Schedule, cycle: Duration) -> Duration {
    match schedule {
        Schedule::Cycles(n) => cycle.saturating_mul((*n).max(1)),
        Schedule::Interval(d) => (*d).max(Duration::from_millis(10)),
        Schedule::Cron(_) | Schedule::NotCron(_) => cycle,
    }
}

/// Dependencies first: the order in which to start checks.
pub fn start_order(config: &Config) -> Vec<String> {
    fn visit(name: &str, config: &Config, seen: &mut Vec<String>, stack: &mut Vec<String>) {
        if seen.iter().any(|s| s == name) || stack.iter().any(|s| s == name) {
            return;
        }
        stack.push(name.to_string());
        if let Some(check) = config.check(name) {
            for dep in &check.depends_on {
                visit(&dep.value, config, seen, stack);
            }
        }
        stack.pop();
        seen.push(name.to_string());
    }
    let mut seen = Vec::new();
    for check in &config.checks {
        visit(&check.name.value, config, &mut seen, &mut Vec::new());
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_the_schedule() {
        let cycle = Duration::from_secs(10);
        let table = [
            (Schedule::Cycles(1), 10_000),
            (Schedule::Cycles(3), 30_000),
            (Schedule::Cycles(0), 10_000),
            (Schedule::Interval(Duration::from_millis(500)), 500),
            (Schedule::Cron("* * * * *".into()), 10_000),
        ];
        for (schedule, ms) in table {
            assert_eq!(period(&schedule, cycle).as_millis(), ms, "{schedule:?}");
        }
    }
}
