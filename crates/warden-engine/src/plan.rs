//! The probe graph: one node per check with its subject probe, how each rule
//! is tested (the registry's rule specs, a probe for those that need their
//! own), its period and its edges
//! (`depends on` and the reverse, dependants); and the cron gate that
//! decides which of a check's ticks run under `every "spec"`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use warden_config::Config;
use warden_config::cron::CronSpec;
use warden_config::model::{CheckKind, NameIndex, Schedule, Test};
use warden_probes::{Probe, ProcessProbe, RuleSpec};

use crate::factory::ProbeFactory;
use crate::id::{CheckId, CheckRef};

/// One check, ready to run.
#[derive(Debug)]
pub struct Node {
    pub check: CheckRef,
    pub subject: Option<Arc<dyn Probe>>,
    /// The subject typed, when it is the registry's process probe: its
    /// memory of the proven identity survives reloads through the state.
    pub process: Option<ProcessProbe>,
    /// How each rule is tested, as the probe registry decided; same order
    /// as `check.rules`. Boxed slices here, not vectors: every check's task
    /// holds its node, and a vector's capacity is 8 bytes more each.
    pub rules: Box<[RuleSpec]>,
    pub period: Duration,
    pub dependants: Box<[CheckId]>,
    /// The checks of `depends on`, same order; None for a name the config
    /// does not have (never up).
    pub depends_on: Box<[Option<CheckId>]>,
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
pub fn plan(config: &Arc<Config>, factory: &dyn ProbeFactory) -> Vec<Node> {
    let index = NameIndex::new(&config.checks);
    let find = |name: &str| index.find(&config.checks, name).and_then(CheckId::new);
    let mut dependants: HashMap<&str, Vec<CheckId>> = HashMap::new();
    for (i, check) in config.checks.iter().enumerate() {
        for dep in &check.depends_on {
            dependants
                .entry(dep.value.as_str())
                .or_default()
                .extend(CheckId::new(i));
        }
    }
    config
        .checks
        .iter()
        .enumerate()
        .filter_map(|(index, check)| {
            let probes = factory.probes(check);
            Some(Node {
                subject: probes.subject.ok(),
                process: probes.process,
                rules: probes.rules.into_boxed_slice(),
                period: period(&check.schedule, config.settings.cycle),
                dependants: dependants
                    .remove(check.name.value.as_str())
                    .unwrap_or_default()
                    .into_boxed_slice(),
                depends_on: check.depends_on.iter().map(|d| find(&d.value)).collect(),
                implicit_restart: matches!(check.kind, CheckKind::Process { .. })
                    && check.start.is_some()
                    && !check.rules.iter().any(|r| r.test.value == Test::NotExist),
                check: CheckRef::new(config, index)?,
            })
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

/// `every "spec"` / `not every "spec"`: which cycle ticks run, with
/// Monit's meaning. `every` runs at a tick whose local time matches the spec,
/// at most once a minute (Monit's resolution: a spec names minutes, not
/// cycles); `not every` runs at every tick outside the spec.
#[derive(Debug, Clone)]
pub struct CronGate {
    spec: CronSpec,
    negated: bool,
    /// When an `every` check last ran on a tick.
    last_run: Option<SystemTime>,
}

impl CronGate {
    /// The gate for a schedule; None for schedules without a cron spec.
    pub fn new(schedule: &Schedule) -> Option<CronGate> {
        let (cron, negated) = match schedule {
            Schedule::Cron(c) => (c, false),
            Schedule::NotCron(c) => (c, true),
            _ => return None,
        };
        Some(CronGate {
            spec: cron.spec(),
            negated,
            last_run: None,
        })
    }

    /// True when `now` lies in the times the check may run at all: for an
    /// exit noticed at once or a dependency that came up.
    pub fn open(&self, now: SystemTime) -> bool {
        self.spec.matches(crate::clock::cron_time(now)) != self.negated
    }

    /// True when the cycle tick at `now` runs the check; remembers the run.
    pub fn tick(&mut self, now: SystemTime) -> bool {
        if !self.open(now) {
            return false;
        }
        if self.negated {
            return true;
        }
        let recent = self.last_run.is_some_and(|last| {
            now.duration_since(last)
                .is_ok_and(|d| d < Duration::from_secs(60))
        });
        if recent {
            return false;
        }
        self.last_run = Some(now);
        true
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
    use warden_config::cron::Cron;

    #[test]
    fn periods_follow_the_schedule() {
        let cycle = Duration::from_secs(10);
        let table = [
            (Schedule::Cycles(1), 10_000),
            (Schedule::Cycles(3), 30_000),
            (Schedule::Cycles(0), 10_000),
            (Schedule::Interval(Duration::from_millis(500)), 500),
            (cron("* * * * *"), 10_000),
        ];
        for (schedule, ms) in table {
            assert_eq!(period(&schedule, cycle).as_millis(), ms, "{schedule:?}");
        }
    }

    fn cron(spec: &str) -> Schedule {
        Schedule::Cron(Box::new(Cron::parse(spec).unwrap()))
    }

    fn not_cron(spec: &str) -> Schedule {
        Schedule::NotCron(Box::new(Cron::parse(spec).unwrap()))
    }

    fn gate(spec: &str) -> CronGate {
        CronGate::new(&cron(spec)).unwrap()
    }

    #[test]
    fn schedules_without_a_cron_spec_have_no_gate() {
        assert!(CronGate::new(&Schedule::Cycles(2)).is_none());
        assert!(CronGate::new(&Schedule::Interval(Duration::from_secs(1))).is_none());
    }

    #[test]
    fn every_cron_runs_once_per_matching_minute_at_the_cycle_ticks() {
        // Ticks every 20 s over three minutes; "* * * * *" matches them all.
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_236_660);
        let mut g = gate("* * * * *");
        let ran: Vec<bool> = (0..9)
            .map(|i| g.tick(start + Duration::from_secs(20 * i)))
            .collect();
        let want = [true, false, false, true, false, false, true, false, false];
        assert_eq!(ran, want);
    }

    #[test]
    fn every_cron_never_runs_outside_its_spec_and_not_every_only_there() {
        let now = SystemTime::now();
        let minute = crate::clock::cron_time(now).minute;
        let other = (minute + 30) % 60;
        let (inside, outside) = (format!("{minute} * * * *"), format!("{other} * * * *"));
        let table = [
            (cron(&inside), true),
            (cron(&outside), false),
            (not_cron(&inside), false),
            (not_cron(&outside), true),
        ];
        for (schedule, runs) in table {
            let mut g = CronGate::new(&schedule).unwrap();
            assert_eq!(g.open(now), runs, "{schedule:?}");
            assert_eq!(g.tick(now), runs, "{schedule:?}");
        }
    }

    #[test]
    fn not_every_runs_at_every_tick_outside_its_spec() {
        let mut g = CronGate::new(&not_cron("0 0 1 1 0")).unwrap();
        // 2026-11-21 (a Saturday) is never 1 January and a Sunday.
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_236_676);
        assert!((0..5).all(|i| g.tick(start + Duration::from_secs(i))));
    }
}
