//! Testing one rule against this cycle's facts: the subject outcome, the
//! rule's own probe (connection tests), or the check's restart history.

use std::time::Duration;

use warden_config::model::{Resource, Test, Unit};
use warden_probes::{Metric, Outcome};

use crate::events::EventKind;
use crate::task::CheckTask;

impl CheckTask {
    /// Whether rule `i` failed this cycle, with the words why; None when it
    /// cannot be tested now (no probe yet, or the process is not running).
    pub(crate) async fn rule_failed(
        &mut self,
        i: usize,
        subject: Option<&Outcome>,
    ) -> Option<(bool, String)> {
        let test = &self.node.check.rules[i].test.value;
        let running = subject.is_none_or(Outcome::is_ok);
        match test {
            Test::NotExist => subject.map(|s| (crate::task::missing(s), s.reason.clone())),
            Test::Exist => subject.map(|s| (s.is_ok(), s.reason.clone())),
            Test::Restarts { count, cycles } => {
                let n = self
                    .shared
                    .state
                    .get(self.name())
                    .restarts
                    .within(self.cycle, *cycles);
                Some((
                    n >= *count,
                    format!("service restarted {n} times within {cycles} cycles"),
                ))
            }
            Test::Resource {
                resource,
                op,
                limit,
            } => {
                let value = subject?.value(metric_for(*resource, limit.unit)?)?;
                let failed = op.holds(value, limit.value);
                Some((
                    failed,
                    format!("{resource:?} is {value} ({} {})", op.symbol(), limit.value)
                        .to_lowercase(),
                ))
            }
            Test::Uptime { op, limit } => {
                let value = subject?.value(Metric::Uptime)?;
                Some((op.holds(value, limit.value), format!("uptime is {value} s")))
            }
            Test::PidChanged | Test::PpidChanged => {
                let (before, now) = (self.seen?, subject?.process?);
                let (word, a, b) = match test {
                    Test::PidChanged => ("PID", before.pid, now.pid),
                    _ => ("PPID", before.ppid, now.ppid),
                };
                let why = if a == b {
                    format!("process {word} has not changed since the last cycle")
                } else {
                    format!("process {word} changed from {a} to {b}")
                };
                Some((a != b, why))
            }
            _ if !running => None,
            _ => {
                let probe = self.node.rule_probes.get(i)?.clone()?;
                let timeout = rule_timeout(test).unwrap_or(self.shared.probe_timeout);
                let outcome = self.shared.probe(probe.as_ref(), timeout).await;
                self.shared.status.rule_probed(self.name(), &outcome);
                Some((!outcome.is_ok(), outcome.reason))
            }
        }
    }
}

/// A connection test's own timeout (times its retries), with a margin, so the
/// probe reports its failure before the scheduler's timeout cuts it off.
fn rule_timeout(test: &Test) -> Option<Duration> {
    match test {
        Test::Connection(c) => {
            let one = c.timeout?;
            Some(one.saturating_mul(c.retry.unwrap_or(0) + 1) + Duration::from_secs(1))
        }
        Test::Url(u) => Some(u.timeout? + Duration::from_secs(1)),
        _ => None,
    }
}

/// Whether the engine can judge `test` from the subject probe's outcome
/// (the tests the registry marks [`warden_probes::RuleProbe::Subject`]).
pub fn judged_from_subject(test: &Test) -> bool {
    match test {
        Test::NotExist | Test::Exist | Test::Uptime { .. } => true,
        Test::PidChanged | Test::PpidChanged => true,
        Test::Resource {
            resource, limit, ..
        } => metric_for(*resource, limit.unit).is_some(),
        _ => false,
    }
}

/// A test's name in words for messages (`url`, `permission`, ...).
pub fn test_words(test: &Test) -> String {
    match test {
        Test::Resource { resource, .. } => resource.to_string(),
        _ => test.name().to_string(),
    }
}

/// The event a rule's failure raises.
pub fn event_kind(test: &Test) -> EventKind {
    match test {
        Test::NotExist | Test::Exist => EventKind::DoesNotExist,
        Test::Connection(_) | Test::Url(_) | Test::Ping { .. } => EventKind::ConnectionFailed,
        Test::Resource { .. } | Test::Uptime { .. } => EventKind::ResourceLimit,
        _ => EventKind::Failed,
    }
}

/// Which measured value a resource test reads; the unit picks between a
/// percentage and an absolute amount (`mem > 50%` or `mem > 100 MB`).
fn metric_for(resource: Resource, unit: Unit) -> Option<Metric> {
    let pct = unit == Unit::Percent;
    Some(match resource {
        Resource::Cpu => Metric::Cpu,
        Resource::TotalCpu => Metric::TotalCpu,
        Resource::CpuUser => Metric::CpuUser,
        Resource::CpuSystem => Metric::CpuSystem,
        Resource::CpuWait => Metric::CpuWait,
        Resource::Memory if pct => Metric::MemoryPercent,
        Resource::Memory => Metric::Memory,
        Resource::TotalMemory if pct => Metric::TotalMemoryPercent,
        Resource::TotalMemory => Metric::TotalMemory,
        Resource::Swap if pct => Metric::SwapPercent,
        Resource::Swap => Metric::Swap,
        Resource::Children => Metric::Children,
        Resource::Threads => Metric::Threads,
        Resource::LoadAvg1 => Metric::LoadAvg1,
        Resource::LoadAvg5 => Metric::LoadAvg5,
        Resource::LoadAvg15 => Metric::LoadAvg15,
        Resource::FileDescriptors => Metric::FileDescriptors,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_tests_read_percent_or_bytes_by_their_unit() {
        assert_eq!(
            metric_for(Resource::Memory, Unit::Percent),
            Some(Metric::MemoryPercent)
        );
        assert_eq!(
            metric_for(Resource::Memory, Unit::Bytes),
            Some(Metric::Memory)
        );
        assert_eq!(metric_for(Resource::ReadOps, Unit::OpsPerSecond), None);
    }
}
