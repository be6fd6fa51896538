//! Judging one rule from this cycle's facts: a pure function of the rule's
//! spec (which the probe registry decided once, at load), the subject's
//! outcome and what the rule saw last cycle. Rules with a probe of their own
//! are run by the check's task.

use std::time::Duration;

use warden_config::model::Test;
use warden_probes::spec::{Fact, RuleSpec, SubjectTest, Words};
use warden_probes::{Metric, Outcome};

use crate::events::EventKind;
use crate::subject::missing;

/// What this cycle knows for judging a rule.
pub(crate) struct Facts<'a> {
    /// The subject probe's outcome; None for a check without one.
    pub subject: Option<&'a Outcome>,
    /// What a `changed` rule saw last time (see [`watched`]).
    pub reference: Option<f64>,
    /// Restarts within a `restarts within` rule's window (read for those only).
    pub restarts: u32,
}

/// A rule's result this cycle.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Tested: whether it failed, and the words why.
    Judged(bool, String),
    /// It cannot be tested now (not measured, the process is not running).
    Untestable,
    /// Its own probe decides (a connection test, a checksum, ...).
    ByProbe,
}

/// Judges a rule from this cycle's facts.
pub(crate) fn judge(spec: &RuleSpec, facts: &Facts) -> Verdict {
    let subject = facts.subject;
    match spec {
        RuleSpec::Subject(test) => match subject.and_then(|s| subject_failed(test, s)) {
            Some((failed, why)) => Verdict::Judged(failed, why),
            None => Verdict::Untestable,
        },
        RuleSpec::Changed(fact) => changed(*fact, facts),
        RuleSpec::Restarts { count, cycles } => {
            let n = facts.restarts;
            Verdict::Judged(
                n >= *count,
                format!("service restarted {n} times within {cycles} cycles"),
            )
        }
        RuleSpec::Probe(_) if subject.is_none_or(Outcome::is_ok) => Verdict::ByProbe,
        RuleSpec::Probe(_) | RuleSpec::NotSupported(_) => Verdict::Untestable,
    }
}

/// What a `changed` rule remembers of this cycle for the next one; None:
/// keep what it had (the fact was not measured).
pub(crate) fn watched(spec: &RuleSpec, subject: Option<&Outcome>) -> Option<f64> {
    let RuleSpec::Changed(fact) = spec else {
        return None;
    };
    let subject = subject?;
    match *fact {
        Fact::Pid => subject.process.map(|p| f64::from(p.pid)),
        Fact::Ppid => subject.process.map(|p| f64::from(p.ppid)),
        // A rule that cannot be tested (the subject failed) keeps its reference.
        Fact::Metric { metric, .. } => subject.value(metric).filter(|_| subject.is_ok()),
    }
}

/// `if changed ...`: the reference is the value seen last; a pid or ppid
/// is judged once both are known, a measured fact from its first value on.
fn changed(fact: Fact, facts: &Facts) -> Verdict {
    let subject = facts.subject;
    match fact {
        Fact::Pid | Fact::Ppid => {
            let (Some(before), Some(now)) = (facts.reference, subject.and_then(|s| s.process))
            else {
                return Verdict::Untestable;
            };
            let (word, now) = match fact {
                Fact::Pid => ("PID", now.pid),
                _ => ("PPID", now.ppid),
            };
            let before = before as u32;
            let why = if before == now {
                format!("process {word} has not changed since the last cycle")
            } else {
                format!("process {word} changed from {before} to {now}")
            };
            Verdict::Judged(before != now, why)
        }
        Fact::Metric {
            metric,
            what,
            octal,
        } => {
            if subject.is_some_and(|s| !s.is_ok()) {
                return Verdict::Untestable;
            }
            let Some(now) = subject.and_then(|s| s.value(metric)) else {
                return Verdict::Judged(false, format!("{what} is not known yet"));
            };
            let shown = |v: f64| {
                if octal {
                    format!("{:04o}", v as u32)
                } else {
                    show_precise(v)
                }
            };
            match facts.reference {
                Some(before) if before != now => Verdict::Judged(
                    true,
                    format!("{what} changed from {} to {}", shown(before), shown(now)),
                ),
                _ => Verdict::Judged(false, format!("{what} has not changed")),
            }
        }
    }
}

/// A connection test's own timeout (times its retries), with a margin, so the
/// probe reports its failure before the scheduler's timeout cuts it off.
pub(crate) fn rule_timeout(test: &Test) -> Option<Duration> {
    match test {
        Test::Connection(c) => {
            let one = c.timeout?;
            Some(one.saturating_mul(c.retry.unwrap_or(0) + 1) + Duration::from_secs(1))
        }
        Test::Url(u) => Some(u.timeout? + Duration::from_secs(1)),
        _ => None,
    }
}

/// The event a rule's failure raises.
pub fn event_kind(test: &Test) -> EventKind {
    match test {
        Test::NotExist | Test::Exist => EventKind::DoesNotExist,
        Test::Connection(_) | Test::Url(_) | Test::Ping { .. } => EventKind::ConnectionFailed,
        Test::Resource { .. } | Test::Uptime { .. } => EventKind::ResourceLimit,
        Test::Space { .. } | Test::Saturation { .. } | Test::Transfer { .. } => {
            EventKind::ResourceLimit
        }
        _ => EventKind::Failed,
    }
}

/// Judges a test from the subject's outcome; None when the value was not
/// measured (the file is missing, the first cpu sample, ...).
fn subject_failed(test: &SubjectTest, subject: &Outcome) -> Option<(bool, String)> {
    let value = |m: Metric| subject.value(m);
    match test {
        SubjectTest::Exists { fails_when_missing } => {
            let failed = if *fails_when_missing {
                missing(subject)
            } else {
                subject.is_ok()
            };
            Some((failed, subject.reason.clone()))
        }
        SubjectTest::Limit {
            metric,
            op,
            limit,
            words,
        } => {
            let v = value(*metric)?;
            let why = match words {
                Words::Resource(resource) => {
                    format!("{resource:?} is {v} ({} {limit})", op.symbol()).to_lowercase()
                }
                Words::Uptime => format!("uptime is {v} s"),
                Words::Named(what) => {
                    format!("{what} is {} ({} {})", show(v), op.symbol(), show(*limit))
                }
            };
            Some((op.holds(v, *limit), why))
        }
        SubjectTest::Age { metric, op, limit } => {
            let at = value(*metric)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let age = (now - at).max(0.0).round();
            Some((
                op.holds(age, *limit),
                format!("timestamp is {age} s old ({} {limit} s)", op.symbol()),
            ))
        }
        SubjectTest::Mode(mode) => {
            let v = value(Metric::Permission)? as u32;
            let why = format!("permission is {v:04o}, expected {mode:04o}");
            Some((v != mode & 0o7777, why))
        }
        SubjectTest::Owner { group, name, id } => {
            let (metric, word, lookup): (_, _, fn(&str) -> Option<u32>) = if *group {
                (Metric::Gid, "gid", warden_config::users::gid)
            } else {
                (Metric::Uid, "uid", warden_config::users::uid)
            };
            let v = value(metric)? as u32;
            // A name unknown at load is asked again: it may exist by now.
            match id.or_else(|| lookup(name)) {
                Some(want) => Some((
                    v != want,
                    format!("{word} is {v}, expected {want} ({name})"),
                )),
                None => Some((true, format!("{word} {name} is not known on this system"))),
            }
        }
        SubjectTest::LinkUp => {
            let up = value(Metric::LinkUp)? > 0.0;
            Some((!up, format!("link is {}", if up { "up" } else { "down" })))
        }
    }
}

/// A number for messages: whole numbers without a fraction.
fn show(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

/// A changed value for messages: whole numbers without a fraction, others
/// to the microsecond (timestamps).
fn show_precise(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec of `rule`, in the first type of check that takes it (a
    /// test applies to some types only, as in Monit), as the registry
    /// builds it.
    fn spec_of(rule: &str) -> RuleSpec {
        let load = |head: &str| {
            let text = format!("{head}\n if {rule} then alert\n");
            warden_config::load_text_without_includes(std::path::Path::new("t.rc"), text)
        };
        let heads = [
            "check file f with path /x",
            "check filesystem f with path /x",
            "check system s",
            "check program p with path /bin/true",
            "check network n with interface lo",
        ];
        let loaded = heads
            .iter()
            .map(|head| load(head))
            .find(|loaded| !loaded.has_errors())
            .unwrap_or_else(|| load(heads[0]));
        assert!(!loaded.has_errors(), "{}", loaded.render());
        let check = loaded.config.unwrap().checks.remove(0);
        warden_probes::probes_for(&check).rules.remove(0)
    }

    fn failed(spec: &RuleSpec, subject: &Outcome) -> Option<bool> {
        let facts = Facts {
            subject: Some(subject),
            reference: None,
            restarts: 0,
        };
        match judge(spec, &facts) {
            Verdict::Judged(failed, _) => Some(failed),
            _ => None,
        }
    }

    #[test]
    fn local_tests_are_judged_from_the_measured_values() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let file = Outcome::ok("")
            .with(Metric::Permission, f64::from(0o600))
            .with(Metric::Uid, 0.0)
            .with(Metric::Size, 2048.0)
            .with(Metric::Timestamp, now - 600.0)
            .with(Metric::SpaceUsedPercent, 40.0)
            .with(Metric::SpaceFree, 1e9)
            .with(Metric::ExitStatus, 2.0);
        let table = [
            ("failed permission 644", true),
            ("failed permission 600", false),
            ("failed uid 0", false),
            ("failed uid 1234", true),
            ("size > 1 KB", true),
            ("size > 1 MB", false),
            ("timestamp > 5 minutes", true),
            ("timestamp > 15 minutes", false),
            ("space usage > 30%", true),
            ("space free < 100 MB", false),
            ("status != 0", true),
            ("status = 0", false),
        ];
        for (rule, fired) in table {
            let got = failed(&spec_of(rule), &file);
            assert_eq!(got, Some(fired), "{rule}");
        }
        assert_eq!(
            failed(&spec_of("size > 1 KB"), &Outcome::ok("")),
            None,
            "not measured"
        );
    }

    /// Runs a `changed` rule over one subject outcome per cycle, keeping
    /// its reference as the task does; the words of each cycle.
    fn changes(spec: &RuleSpec, cycles: &[Outcome]) -> Vec<Verdict> {
        let mut reference = None;
        cycles
            .iter()
            .map(|subject| {
                let facts = Facts {
                    subject: Some(subject),
                    reference,
                    restarts: 0,
                };
                let verdict = judge(spec, &facts);
                reference = watched(spec, Some(subject)).or(reference);
                verdict
            })
            .collect()
    }

    fn size(n: f64) -> Outcome {
        Outcome::ok("").with(Metric::Size, n)
    }

    #[test]
    fn the_first_value_is_the_reference_and_a_change_fires_once() {
        let spec = RuleSpec::Changed(Fact::metric(Metric::Size, "size"));
        let cycles: Vec<_> = [10.0, 10.0, 12.0, 12.0, 7.0].map(size).into();
        let fired: Vec<_> = changes(&spec, &cycles)
            .into_iter()
            .map(|v| matches!(v, Verdict::Judged(true, _)))
            .collect();
        assert_eq!(fired, [false, false, true, false, true]);
        let last = changes(&spec, &[size(7.0), size(7.0)]).pop();
        assert_eq!(
            last,
            Some(Verdict::Judged(false, "size has not changed".into()))
        );
    }

    #[test]
    fn a_mode_change_is_told_in_octal() {
        let spec = spec_of("changed permission");
        let mode = |m: u32| Outcome::ok("").with(Metric::Permission, f64::from(m));
        let last = changes(&spec, &[mode(0o644), mode(0o600), mode(0o4755)]).pop();
        assert_eq!(
            last,
            Some(Verdict::Judged(
                true,
                "permission changed from 0600 to 4755".into()
            ))
        );
    }

    #[test]
    fn an_unknown_value_is_not_a_change() {
        let spec = RuleSpec::Changed(Fact::metric(Metric::ExitStatus, "exit status"));
        let status = |n: f64| Outcome::ok("").with(Metric::ExitStatus, n);
        let seen = changes(&spec, &[Outcome::ok(""), status(1.0), status(2.0)]);
        assert_eq!(
            seen,
            [
                Verdict::Judged(false, "exit status is not known yet".into()),
                Verdict::Judged(false, "exit status has not changed".into()),
                Verdict::Judged(true, "exit status changed from 1 to 2".into()),
            ]
        );
    }
}
