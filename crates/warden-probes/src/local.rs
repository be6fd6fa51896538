//! The probes of local checks (system, filesystem, file, directory, fifo,
//! program, network) and of their rules: which rules the engine judges from
//! the subject's metrics (`RuleSpec::Subject`) and which get a rule probe
//! of their own (`changed` tests, checksums, content, ping, transfer
//! totals). The registry asks here first; `None` means "not a local matter".

use std::path::Path;
use std::sync::Arc;

use warden_config::model::{Check, CheckKind, Direction, Resource, Test, Unit};

use crate::Probe;
use crate::checksum::ChecksumProbe;
use crate::content::{FileContentProbe, LinePattern, OutputContentProbe};
use crate::file::{FileProbe, FileType};
use crate::filesystem::FilesystemProbe;
use crate::latest::Latest;
use crate::netif::NetworkProbe;
use crate::outcome::Metric;
use crate::ping::PingProbe;
use crate::program::ProgramProbe;
use crate::spec::{Fact, RuleSpec, subject_spec, timestamp_metric};
use crate::system::SystemProbe;
use crate::transfer::TotalProbe;
use crate::unsupported::NotSupported;

/// The subject probe of a local check; None for other kinds.
pub fn subject(
    check: &Check,
    latest: &Arc<Latest>,
) -> Option<Result<Arc<dyn Probe>, NotSupported>> {
    let latest = Arc::clone(latest);
    let file = |path: &Path, t| Arc::new(FileProbe::new(path.to_path_buf(), t)) as Arc<dyn Probe>;
    Some(Ok(match &check.kind {
        CheckKind::System => Arc::new(SystemProbe::default()),
        CheckKind::File { path } => file(path, FileType::File),
        CheckKind::Directory { path } => file(path, FileType::Directory),
        CheckKind::Fifo { path } => file(path, FileType::Fifo),
        CheckKind::Filesystem { path } => Arc::new(FilesystemProbe::new(path.clone())),
        CheckKind::Program { program } => {
            Arc::new(ProgramProbe::new((**program).clone(), latest).for_service(&check.name.value))
        }
        CheckKind::Network { target } => Arc::new(NetworkProbe::new(target.clone(), latest)),
        // A process's probe is typed (registry::process_subject); a host
        // is probed only through its tests.
        CheckKind::Process { .. } | CheckKind::Host { .. } => return None,
    }))
}

/// How a test of a local check is tested; None when it is not a local
/// matter (connection tests, restarts, process checks).
pub fn rule_probe(check: &Check, test: &Test, latest: &Arc<Latest>) -> Option<RuleSpec> {
    use CheckKind as K;
    let kind = &check.kind;
    let changed = |metric, what| Some(RuleSpec::Changed(Fact::metric(metric, what)));
    let subject = || Some(subject_spec(test));
    let file_like = matches!(kind, K::File { .. } | K::Directory { .. } | K::Fifo { .. });
    match (kind, test) {
        (
            K::Host { address },
            Test::Ping {
                count,
                size,
                timeout,
            },
        ) => Some(RuleSpec::Probe(Arc::new(PingProbe::new(
            address.clone(),
            *count,
            *size,
            *timeout,
        )))),
        (K::Process { .. } | K::Host { .. }, _) => None,
        (_, Test::Connection(_) | Test::Restarts { .. } | Test::Url(_) | Test::Resolve(_)) => None,
        (K::System, Test::Resource { resource, .. }) if system_resource(*resource) => subject(),
        (K::System, Test::Uptime { .. }) => subject(),
        (_, Test::NotExist | Test::Exist) if !matches!(kind, K::System) => subject(),
        (_, Test::Permission(_) | Test::Uid(_) | Test::Gid(_)) if file_like => subject(),
        (_, Test::Size { changed: false, .. } | Test::Timestamp { changed: false, .. })
            if file_like =>
        {
            subject()
        }
        (_, Test::Size { changed: true, .. }) if file_like => changed(Metric::Size, "size"),
        (_, Test::PermissionChanged) if file_like => Some(RuleSpec::Changed(Fact::Metric {
            metric: Metric::Permission,
            what: "permission",
            octal: true,
        })),
        (
            _,
            Test::Timestamp {
                changed: true,
                which,
                ..
            },
        ) if file_like => changed(timestamp_metric(*which), "timestamp"),
        (
            K::File { path },
            Test::Checksum {
                algorithm,
                expected,
                ..
            },
        ) => Some(RuleSpec::Probe(Arc::new(ChecksumProbe::new(
            path.clone(),
            *algorithm,
            expected.clone(),
        )))),
        (K::File { path }, Test::Content { matches, pattern }) => Some(RuleSpec::Probe(Arc::new(
            FileContentProbe::new(path.clone(), pattern_of(pattern, *matches))
                .ignoring(ignored(check)),
        ))),
        (K::Filesystem { .. }, Test::Space { .. }) => subject(),
        (K::Filesystem { .. }, Test::FsFlagsChanged) => {
            changed(Metric::FsFlags, "filesystem flags")
        }
        (K::Program { .. }, Test::Status { changed: false, .. }) => subject(),
        (K::Program { .. }, Test::Status { changed: true, .. }) => {
            changed(Metric::ExitStatus, "exit status")
        }
        (K::Program { .. }, Test::Content { matches, pattern }) => Some(RuleSpec::Probe(Arc::new(
            OutputContentProbe::new(Arc::clone(latest), pattern_of(pattern, *matches))
                .ignoring(ignored(check)),
        ))),
        (K::Network { .. }, Test::Link { changed: false, .. } | Test::Saturation { .. }) => {
            subject()
        }
        (K::Network { .. }, Test::Link { capacity: true, .. }) => {
            changed(Metric::LinkSpeed, "link capacity")
        }
        (K::Network { .. }, Test::Link { .. }) => changed(Metric::LinkUp, "link state"),
        (K::Network { .. }, Test::Transfer { window: None, .. }) => subject(),
        (
            K::Network { .. },
            Test::Transfer {
                direction,
                op,
                limit,
                window: Some(window),
            },
        ) => Some(RuleSpec::Probe(Arc::new(TotalProbe::new(
            Arc::clone(latest),
            counter_metric(*direction, limit.unit),
            *op,
            limit.value,
            *window,
        )))),
        _ => Some(RuleSpec::NotSupported(NotSupported(format!(
            "the {} test on a {} check",
            test.name(),
            kind.type_name().to_lowercase()
        )))),
    }
}

/// The interface counter a `total` rule reads: bytes, or packets (a count).
fn counter_metric(direction: Direction, unit: Unit) -> Metric {
    match (direction, unit == Unit::Count) {
        (Direction::Upload, false) => Metric::UploadedBytes,
        (Direction::Upload, true) => Metric::UploadedPackets,
        (Direction::Download, false) => Metric::DownloadedBytes,
        (Direction::Download, true) => Metric::DownloadedPackets,
    }
}

/// The resources a system probe measures.
fn system_resource(r: Resource) -> bool {
    use Resource::*;
    matches!(
        r,
        Cpu | CpuUser
            | CpuSystem
            | CpuWait
            | Memory
            | Swap
            | LoadAvg1
            | LoadAvg5
            | LoadAvg15
            | LoadAvg1PerCore
            | LoadAvg5PerCore
            | LoadAvg15PerCore
            | FileDescriptors
    )
}

/// The check's `ignore content` patterns.
fn ignored(check: &Check) -> Vec<LinePattern> {
    check
        .ignore_content
        .iter()
        .map(|i| pattern_of(&i.pattern, i.matches))
        .collect()
}

/// A content rule's pattern: compiled at lowering, cloned here (the clone
/// shares the compiled program).
fn pattern_of(pattern: &warden_config::model::Regex, matches: bool) -> LinePattern {
    LinePattern {
        regex: pattern.regex().clone(),
        matches,
    }
}
