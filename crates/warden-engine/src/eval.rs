//! Testing one rule against this cycle's facts: the subject outcome, the
//! rule's own probe (connection tests), or the check's restart history.

use std::time::Duration;

use warden_config::model::{Direction, Operator, Resource, Test, Unit};
use warden_probes::{Metric, Outcome, ProcessFacts};

use crate::events::EventKind;
use crate::subject::missing;

/// What this cycle knows for judging a rule.
pub(crate) struct Facts<'a> {
    /// The subject probe's outcome; None for a check without one.
    pub subject: Option<&'a Outcome>,
    /// The process the rules saw last cycle, for `if changed pid/ppid`.
    pub before: Option<ProcessFacts>,
    /// The id a `uid`/`gid` test names, as looked up at load.
    pub owner: Option<u32>,
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

/// Judges `test` from this cycle's facts.
pub(crate) fn judge(test: &Test, facts: &Facts) -> Verdict {
    let subject = facts.subject;
    let verdict = |v: Option<(bool, String)>| match v {
        Some((failed, why)) => Verdict::Judged(failed, why),
        None => Verdict::Untestable,
    };
    match test {
        Test::NotExist => verdict(subject.map(|s| (missing(s), s.reason.clone()))),
        Test::Exist => verdict(subject.map(|s| (s.is_ok(), s.reason.clone()))),
        Test::Restarts { count, cycles } => {
            let n = facts.restarts;
            Verdict::Judged(
                n >= *count,
                format!("service restarted {n} times within {cycles} cycles"),
            )
        }
        Test::Resource {
            resource,
            op,
            limit,
        } => verdict((|| {
            let value = subject?.value(metric_for(*resource, limit.unit)?)?;
            let failed = op.holds(value, limit.value);
            Some((
                failed,
                format!("{resource:?} is {value} ({} {})", op.symbol(), limit.value).to_lowercase(),
            ))
        })()),
        Test::Uptime { op, limit } => verdict((|| {
            let value = subject?.value(Metric::Uptime)?;
            Some((op.holds(value, limit.value), format!("uptime is {value} s")))
        })()),
        Test::PidChanged | Test::PpidChanged => verdict((|| {
            let (before, now) = (facts.before?, subject?.process?);
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
        })()),
        _ if local_test(test) => verdict(subject.and_then(|s| local_failed(test, facts.owner, s))),
        _ if !subject.is_none_or(Outcome::is_ok) => Verdict::Untestable,
        _ => Verdict::ByProbe,
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

/// Whether the engine can judge `test` from the subject probe's outcome
/// (the tests the registry marks [`warden_probes::RuleProbe::Subject`]).
pub fn judged_from_subject(test: &Test) -> bool {
    match test {
        Test::NotExist | Test::Exist | Test::Uptime { .. } => true,
        Test::PidChanged | Test::PpidChanged => true,
        _ if local_test(test) => true,
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
        Test::Space { .. } | Test::Saturation { .. } | Test::Transfer { .. } => {
            EventKind::ResourceLimit
        }
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
        Resource::LoadAvg1PerCore => Metric::LoadAvg1PerCore,
        Resource::LoadAvg5PerCore => Metric::LoadAvg5PerCore,
        Resource::LoadAvg15PerCore => Metric::LoadAvg15PerCore,
        Resource::FileDescriptors if pct => Metric::FileDescriptorsPercent,
        Resource::FileDescriptors => Metric::FileDescriptors,
        _ => return None,
    })
}

/// The tests of local checks (file, filesystem, program, network) that
/// are judged from the subject's metrics; `changed` ones have rule probes.
fn local_test(test: &Test) -> bool {
    match test {
        Test::Permission(_) | Test::Uid(_) | Test::Gid(_) => true,
        Test::Space { .. } | Test::Saturation { .. } => true,
        Test::Size { changed, .. } | Test::Timestamp { changed, .. } => !changed,
        Test::Status { changed, .. } | Test::Link { changed, .. } => !changed,
        Test::Transfer { window, .. } => window.is_none(),
        _ => false,
    }
}

/// Judges a local test from the subject's metrics; None when the value was
/// not measured (the file is missing, the first cpu sample, ...). `owner`
/// is the id a `uid`/`gid` test names, as looked up at load.
fn local_failed(test: &Test, owner: Option<u32>, subject: &Outcome) -> Option<(bool, String)> {
    let value = |m: Metric| subject.value(m);
    let compare = |what: &str, v: f64, op: Operator, limit: f64| {
        Some((
            op.holds(v, limit),
            format!("{what} is {} ({} {})", show(v), op.symbol(), show(limit)),
        ))
    };
    match test {
        Test::Permission(mode) => {
            let v = value(Metric::Permission)? as u32;
            let why = format!("permission is {v:04o}, expected {mode:04o}");
            Some((v != mode & 0o7777, why))
        }
        Test::Uid(who) | Test::Gid(who) => {
            let (metric, word, lookup): (_, _, fn(&str) -> Option<u32>) = match test {
                Test::Uid(_) => (Metric::Uid, "uid", warden_config::users::uid),
                _ => (Metric::Gid, "gid", warden_config::users::gid),
            };
            let v = value(metric)? as u32;
            // A name unknown at load is asked again: it may exist by now.
            match owner.or_else(|| lookup(who)) {
                Some(want) => Some((v != want, format!("{word} is {v}, expected {want} ({who})"))),
                None => Some((true, format!("{word} {who} is not known on this system"))),
            }
        }
        Test::Size {
            compare: Some((op, limit)),
            ..
        } => compare("size", value(Metric::Size)?, *op, limit.value),
        Test::Timestamp {
            compare: Some((op, limit)),
            which,
            ..
        } => {
            let at = value(warden_probes::local::timestamp_metric(*which))?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let age = (now - at).max(0.0).round();
            Some((
                op.holds(age, limit.value),
                format!(
                    "timestamp is {age} s old ({} {} s)",
                    op.symbol(),
                    limit.value
                ),
            ))
        }
        Test::Space {
            inode,
            free,
            op,
            limit,
        } => {
            let (metric, what) = space_metric(*inode, *free, limit.unit);
            compare(what, value(metric)?, *op, limit.value)
        }
        Test::Status {
            compare: Some((op, n)),
            ..
        } => compare("exit status", value(Metric::ExitStatus)?, *op, *n as f64),
        Test::Link { .. } => {
            let up = value(Metric::LinkUp)? > 0.0;
            Some((!up, format!("link is {}", if up { "up" } else { "down" })))
        }
        Test::Saturation { op, limit } => {
            compare("saturation %", value(Metric::Saturation)?, *op, limit.value)
        }
        Test::Transfer {
            direction,
            op,
            limit,
            ..
        } => {
            let (metric, what) = transfer_metric(*direction, limit.unit);
            compare(what, value(metric)?, *op, limit.value)
        }
        _ => None,
    }
}

fn space_metric(inode: bool, free: bool, unit: Unit) -> (Metric, &'static str) {
    let pct = unit == Unit::Percent;
    match (inode, free, pct) {
        (false, false, true) => (Metric::SpaceUsedPercent, "space usage %"),
        (false, false, false) => (Metric::SpaceUsed, "space used"),
        (false, true, true) => (Metric::SpaceFreePercent, "space free %"),
        (false, true, false) => (Metric::SpaceFree, "space free"),
        (true, false, true) => (Metric::InodeUsedPercent, "inode usage %"),
        (true, false, false) => (Metric::InodeUsed, "inodes used"),
        (true, true, true) => (Metric::InodeFreePercent, "inodes free %"),
        (true, true, false) => (Metric::InodeFree, "inodes free"),
    }
}

fn transfer_metric(direction: Direction, unit: Unit) -> (Metric, &'static str) {
    let packets = unit == Unit::PacketsPerSecond;
    match (direction, packets) {
        (Direction::Upload, false) => (Metric::UploadBytes, "upload bytes/s"),
        (Direction::Upload, true) => (Metric::UploadPackets, "upload packets/s"),
        (Direction::Download, false) => (Metric::DownloadBytes, "download bytes/s"),
        (Direction::Download, true) => (Metric::DownloadPackets, "download packets/s"),
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

    /// The test of `rule`, in the first type of check that takes it (a
    /// test applies to some types only, as in Monit).
    fn test_of(rule: &str) -> Test {
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
        loaded
            .config
            .unwrap()
            .checks
            .remove(0)
            .rules
            .remove(0)
            .test
            .value
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
            let got = local_failed(&test_of(rule), None, &file).map(|(f, _)| f);
            assert_eq!(got, Some(fired), "{rule}");
        }
        assert_eq!(
            local_failed(&test_of("size > 1 KB"), None, &Outcome::ok("")),
            None,
            "not measured"
        );
    }
}
