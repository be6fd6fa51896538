//! How one rule is tested, decided once by the registry and carried into the
//! engine's plan: a value the subject measures against a limit, a fact
//! compared with the last cycle's, a probe of its own, the restart window,
//! or not supported yet. The engine judges the first two from the subject's
//! outcome without asking again which metric a test reads.

use std::sync::Arc;

use warden_config::model::{Direction, Operator, Resource, Test, TimestampKind, Unit};

use crate::Probe;
use crate::outcome::Metric;
use crate::unsupported::NotSupported;

/// One rule's test, typed.
#[derive(Debug, Clone)]
pub enum RuleSpec {
    /// Judged from the subject probe's outcome.
    Subject(SubjectTest),
    /// A fact the subject measured, compared with the last cycle's (`if
    /// changed ...`): the first value is the reference, a change becomes
    /// the new reference, so a change fires once (as Monit).
    Changed(Fact),
    /// Its own probe (a connection test, a checksum, content, ping, totals).
    Probe(Arc<dyn Probe>),
    /// Counted by the engine: `N restarts within M cycles`.
    Restarts {
        count: u32,
        cycles: u32,
    },
    NotSupported(NotSupported),
}

/// A test judged from one subject outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum SubjectTest {
    /// `if does not exist` (fails when missing) or `if exist`.
    Exists { fails_when_missing: bool },
    /// `metric op limit`, told in `words`.
    Limit {
        metric: Metric,
        op: Operator,
        limit: f64,
        words: Words,
    },
    /// A timestamp's age in seconds against a limit.
    Age {
        metric: Metric,
        op: Operator,
        limit: f64,
    },
    /// `failed permission`: the mode the file must have.
    Mode(u32),
    /// `failed uid|gid`: `id` as looked up at load; None when the name was
    /// unknown then (asked again at each test: it may exist by now).
    Owner {
        group: bool,
        name: Box<str>,
        id: Option<u32>,
    },
    /// `failed link`: the interface's link must be up.
    LinkUp,
}

/// How a limit test names its value in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    /// `cpu is 12.5 (> 90)`, as the resource's name.
    Resource(Resource),
    /// `uptime is 300 s`.
    Uptime,
    /// `size is 2048 (> 1024)`.
    Named(&'static str),
}

/// What a `changed` rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    Pid,
    Ppid,
    /// A measured value, named `what` in messages; `octal`: shown as a
    /// file mode (`0644`).
    Metric {
        metric: Metric,
        what: &'static str,
        octal: bool,
    },
}

impl Fact {
    pub fn metric(metric: Metric, what: &'static str) -> Fact {
        Fact::Metric {
            metric,
            what,
            octal: false,
        }
    }
}

/// The spec of a test judged from the subject; NotSupported when the
/// subject does not measure what it reads.
pub fn subject_spec(test: &Test) -> RuleSpec {
    match subject_test(test) {
        Some(t) => RuleSpec::Subject(t),
        None => RuleSpec::NotSupported(NotSupported(format!("the {} test", test_words(test)))),
    }
}

fn subject_test(test: &Test) -> Option<SubjectTest> {
    let limit = |metric, op, limit, words| SubjectTest::Limit {
        metric,
        op,
        limit,
        words: Words::Named(words),
    };
    Some(match test {
        Test::NotExist => SubjectTest::Exists {
            fails_when_missing: true,
        },
        Test::Exist => SubjectTest::Exists {
            fails_when_missing: false,
        },
        Test::Resource {
            resource,
            op,
            limit,
        } => SubjectTest::Limit {
            metric: metric_for(*resource, limit.unit)?,
            op: *op,
            limit: limit.value,
            words: Words::Resource(*resource),
        },
        Test::Uptime { op, limit } => SubjectTest::Limit {
            metric: Metric::Uptime,
            op: *op,
            limit: limit.value,
            words: Words::Uptime,
        },
        Test::Permission(mode) => SubjectTest::Mode(*mode),
        Test::Uid(who) | Test::Gid(who) => {
            let group = matches!(test, Test::Gid(_));
            let lookup = if group {
                warden_config::users::gid
            } else {
                warden_config::users::uid
            };
            SubjectTest::Owner {
                group,
                name: who.as_str().into(),
                id: lookup(who),
            }
        }
        Test::Size {
            compare: Some((op, l)),
            changed: false,
        } => limit(Metric::Size, *op, l.value, "size"),
        Test::Timestamp {
            compare: Some((op, l)),
            which,
            changed: false,
        } => SubjectTest::Age {
            metric: timestamp_metric(*which),
            op: *op,
            limit: l.value,
        },
        Test::Space {
            inode,
            free,
            op,
            limit: l,
        } => {
            let (metric, what) = space_metric(*inode, *free, l.unit);
            limit(metric, *op, l.value, what)
        }
        Test::Status {
            compare: Some((op, n)),
            changed: false,
        } => limit(Metric::ExitStatus, *op, *n as f64, "exit status"),
        Test::Link { changed: false, .. } => SubjectTest::LinkUp,
        Test::Saturation { op, limit: l } => {
            limit(Metric::Saturation, *op, l.value, "saturation %")
        }
        Test::Transfer {
            direction,
            op,
            limit: l,
            window: None,
        } => {
            let (metric, what) = transfer_metric(*direction, l.unit);
            limit(metric, *op, l.value, what)
        }
        _ => return None,
    })
}

/// A test's name in words for messages (`url`, `permission`, `cpu`, ...).
pub fn test_words(test: &Test) -> String {
    match test {
        Test::Resource { resource, .. } => resource.to_string(),
        _ => test.name().to_string(),
    }
}

/// Which measured value a resource test reads; the unit picks between a
/// percentage and an absolute amount (`mem > 50%` or `mem > 100 MB`).
pub fn metric_for(resource: Resource, unit: Unit) -> Option<Metric> {
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

/// Which time a timestamp test reads (Monit's default: modify or change).
pub fn timestamp_metric(which: Option<TimestampKind>) -> Metric {
    match which {
        None => Metric::Timestamp,
        Some(TimestampKind::Access) => Metric::AccessTime,
        Some(TimestampKind::Modify) => Metric::ModifyTime,
        Some(TimestampKind::Change) => Metric::ChangeTime,
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
