//! Builds the probes a check needs from the config model: the check's own
//! subject probe (the process of a `check process`) and one probe per
//! connection rule. What Warden cannot test yet comes back as a
//! [`NotSupported`] marker for the engine to report, never a panic.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use warden_config::model::{
    Check, CheckKind, Connection, Endpoint, ProcessTarget, Resource, SocketType, Test,
};

use crate::Probe;
use crate::net::{DEFAULT_TIMEOUT, PortProbe, Target};
use crate::process::Locator;
use crate::process_probe::ProcessProbe;
use crate::protocol::{self, Conversation};
use crate::table::TableCache;

pub use crate::protocol::protocol_names;

/// What probes of several checks share: the process table snapshot.
#[derive(Debug, Clone, Default)]
pub struct ProbeContext {
    pub table: Arc<TableCache>,
}

impl ProbeContext {
    /// The context shared by every check of this Warden process.
    pub fn shared() -> &'static ProbeContext {
        static SHARED: LazyLock<ProbeContext> = LazyLock::new(ProbeContext::default);
        &SHARED
    }
}

/// A test Warden cannot run yet, in words for a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSupported(pub String);

impl std::fmt::Display for NotSupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not supported yet", self.0)
    }
}

/// How one rule of a check is tested.
#[derive(Debug, Clone)]
pub enum RuleProbe {
    /// Judged from the subject probe's outcome: existence, resources,
    /// uptime, pid and ppid changes.
    Subject,
    /// Counted by the engine itself (`N restarts within M cycles`).
    Engine,
    /// Its own probe (a connection test).
    Probe(Arc<dyn Probe>),
    NotSupported(NotSupported),
}

/// The probes of one check.
#[derive(Debug, Clone)]
pub struct CheckProbes {
    /// The check's own probe, or why there is none.
    pub subject: Result<Arc<dyn Probe>, NotSupported>,
    /// The same probe, typed, when it is a process probe: for its memory
    /// of the proven identity (`remember`, `forget`, `last_proven`).
    pub process: Option<ProcessProbe>,
    /// One entry per `check.rules`, in the same order.
    pub rules: Vec<RuleProbe>,
}

/// The probes for a check, sharing this process's [`ProbeContext`].
pub fn probes_for(check: &Check) -> CheckProbes {
    probes_for_in(check, ProbeContext::shared())
}

pub fn probes_for_in(check: &Check, ctx: &ProbeContext) -> CheckProbes {
    let rules = check
        .rules
        .iter()
        .map(|r| rule_probe(check, &r.test.value))
        .collect();
    match process_subject(check, ctx) {
        Ok(p) => CheckProbes {
            subject: Ok(Arc::new(p.clone())),
            process: Some(p),
            rules,
        },
        Err(e) => CheckProbes {
            subject: Err(e),
            process: None,
            rules,
        },
    }
}

/// The check's own probe alone (the process of a `check process`).
pub fn subject_for(check: &Check, ctx: &ProbeContext) -> Result<Arc<dyn Probe>, NotSupported> {
    process_subject(check, ctx).map(|p| Arc::new(p) as Arc<dyn Probe>)
}

/// The typed process probe of a `check process`, or why there is none.
pub fn process_subject(check: &Check, ctx: &ProbeContext) -> Result<ProcessProbe, NotSupported> {
    match &check.kind {
        CheckKind::Process { target } => process_probe(target, check, ctx),
        CheckKind::Host { .. } => Err(NotSupported("a subject probe for check host (ping)".into())),
        other => Err(NotSupported(format!(
            "check {}",
            other.type_name().to_lowercase()
        ))),
    }
}

fn process_probe(
    target: &ProcessTarget,
    check: &Check,
    ctx: &ProbeContext,
) -> Result<ProcessProbe, NotSupported> {
    let locator = match target {
        ProcessTarget::Pidfile(path) => Locator::Pidfile(path.clone()),
        ProcessTarget::Pid(pid) => Locator::Pid(*pid),
        ProcessTarget::Matching(pattern) => Locator::Matching(
            Regex::new(pattern).map_err(|e| NotSupported(format!("matching {pattern:?} ({e})")))?,
        ),
        ProcessTarget::SystemdUnit(unit) => {
            return Err(NotSupported(format!(
                "reading the main pid of systemd unit {unit} here"
            )));
        }
    };
    let tree = check.rules.iter().any(|r| needs_tree(&r.test.value));
    Ok(ProcessProbe::new(locator, Arc::clone(&ctx.table), tree))
}

/// Whether a test reads the process tree (children, totals).
fn needs_tree(test: &Test) -> bool {
    matches!(
        test,
        Test::Resource {
            resource: Resource::TotalCpu | Resource::TotalMemory | Resource::Children,
            ..
        }
    )
}

/// How one test of a check is tested.
pub fn rule_probe(check: &Check, test: &Test) -> RuleProbe {
    let kind = &check.kind;
    let process = matches!(kind, CheckKind::Process { .. });
    match test {
        Test::Connection(conn) => match port_probe(conn, kind) {
            Ok(p) => RuleProbe::Probe(Arc::new(p)),
            Err(e) => RuleProbe::NotSupported(e),
        },
        Test::Restarts { .. } => RuleProbe::Engine,
        Test::NotExist
        | Test::Exist
        | Test::Uptime { .. }
        | Test::PidChanged
        | Test::PpidChanged
            if process =>
        {
            RuleProbe::Subject
        }
        Test::Resource { resource, .. } if process && process_resource(*resource) => {
            RuleProbe::Subject
        }
        Test::Resource { resource, .. } => RuleProbe::NotSupported(NotSupported(format!(
            "the {resource:?} test on a {} check",
            kind.type_name().to_lowercase()
        ))),
        other => RuleProbe::NotSupported(NotSupported(format!("the {} test", test_name(other)))),
    }
}

/// The resources a process probe measures.
fn process_resource(r: Resource) -> bool {
    use Resource::*;
    matches!(
        r,
        Cpu | TotalCpu | Memory | TotalMemory | Children | Threads
    )
}

/// The serde tag of a test (`url`, `ping`, ...), for messages.
fn test_name(test: &Test) -> String {
    serde_json::to_value(test)
        .ok()
        .and_then(|v| v.get("test").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "this".into())
}

/// A port probe for one connection rule.
pub fn port_probe(conn: &Connection, kind: &CheckKind) -> Result<PortProbe, NotSupported> {
    let target = target(&conn.endpoint, kind)?;
    let conversation = protocol::conversation_for(conn, &target).map_err(NotSupported)?;
    let tls_needed = matches!(
        target,
        Target::Tcp {
            socket: SocketType::TcpSsl,
            ..
        }
    );
    if tls_needed && !matches!(conversation, Conversation::Http(_)) {
        return Err(NotSupported(
            "a TLS connection test other than http/https".into(),
        ));
    }
    let timeout = conn.timeout.unwrap_or(DEFAULT_TIMEOUT);
    Ok(PortProbe::new(
        target,
        conversation,
        timeout,
        conn.retry.unwrap_or(0),
    ))
}

fn target(endpoint: &Endpoint, kind: &CheckKind) -> Result<Target, NotSupported> {
    match endpoint {
        Endpoint::Port {
            host,
            port,
            ip,
            socket,
        } => {
            // No host: the check's own address, or this machine.
            let host = match (host, kind) {
                (Some(h), _) => h.clone(),
                (None, CheckKind::Host { address }) => address.clone(),
                (None, _) => "localhost".into(),
            };
            Ok(match socket {
                SocketType::Udp => Target::Udp {
                    host,
                    port: *port,
                    ip: *ip,
                },
                _ => Target::Tcp {
                    host,
                    port: *port,
                    ip: *ip,
                    socket: *socket,
                },
            })
        }
        Endpoint::UnixSocket {
            path,
            socket: SocketType::Tcp,
        } => Ok(Target::Unix { path: path.clone() }),
        Endpoint::UnixSocket { .. } => {
            Err(NotSupported("a datagram or TLS unixsocket test".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    use warden_config::model::{
        Action, IpVersion, Mode, Operator, ProtocolOptions, Quantity, Rule, Schedule, Trigger, Unit,
    };
    use warden_config::span::{Span, Spanned};

    fn check(kind: CheckKind, tests: Vec<Test>) -> Check {
        let rule = |test| Rule {
            test: Spanned::new(test, Span::default()),
            trigger: Trigger::default(),
            action: Spanned::new(Action::Alert, Span::default()),
            recovery: None,
            span: Span::default(),
        };
        Check {
            name: Spanned::new("svc".into(), Span::default()),
            kind,
            start: None,
            stop: None,
            restart: None,
            depends_on: Vec::new(),
            groups: Vec::new(),
            schedule: Schedule::default(),
            mode: Mode::Active,
            onreboot: None,
            alerts: Vec::new(),
            noalerts: Vec::new(),
            rules: tests.into_iter().map(rule).collect(),
            backoff: None,
            span: Span::default(),
        }
    }

    fn port(protocol: &str, socket: SocketType) -> Test {
        Test::Connection(Box::new(Connection {
            endpoint: Endpoint::Port {
                host: None,
                port: 80,
                ip: IpVersion::Any,
                socket,
            },
            protocol: protocol.into(),
            options: ProtocolOptions::default(),
            exchange: Vec::new(),
            timeout: Some(Duration::from_secs(1)),
            retry: None,
        }))
    }

    fn pidfile() -> CheckKind {
        CheckKind::Process {
            target: ProcessTarget::Pidfile(PathBuf::from("/run/x.pid")),
        }
    }

    fn kinds(probes: &CheckProbes) -> Vec<&'static str> {
        probes
            .rules
            .iter()
            .map(|r| match r {
                RuleProbe::Subject => "subject",
                RuleProbe::Engine => "engine",
                RuleProbe::Probe(p) => p.kind(),
                RuleProbe::NotSupported(_) => "unsupported",
            })
            .collect()
    }

    #[test]
    fn a_process_check_gets_a_process_probe_and_one_entry_per_rule() {
        let cpu = Test::Resource {
            resource: Resource::Cpu,
            op: Operator::Greater,
            limit: Quantity {
                value: 80.0,
                unit: Unit::Percent,
            },
        };
        let c = check(
            pidfile(),
            vec![
                Test::NotExist,
                cpu,
                port("default", SocketType::Tcp),
                port("http", SocketType::Tcp),
                Test::Restarts {
                    count: 3,
                    cycles: 5,
                },
                Test::Permission(0o644),
                port("gopher", SocketType::Tcp),
            ],
        );
        let probes = probes_for(&c);
        assert_eq!(
            probes.subject.as_ref().map(|p| p.kind()).ok(),
            Some("process")
        );
        assert!(probes.process.is_some());
        assert_eq!(
            kinds(&probes),
            [
                "subject",
                "subject",
                "port",
                "http",
                "engine",
                "unsupported",
                "unsupported"
            ]
        );
        let RuleProbe::NotSupported(why) = &probes.rules[6] else {
            unreachable!()
        };
        assert!(
            why.to_string().contains("gopher is not supported yet"),
            "{why}"
        );
    }

    #[test]
    fn unsupported_checks_and_targets_say_so_instead_of_panicking() {
        let file = check(
            CheckKind::File {
                path: "/etc/hosts".into(),
            },
            vec![Test::NotExist],
        );
        let probes = probes_for(&file);
        assert_eq!(
            probes.subject.as_ref().err().map(|e| e.to_string()).as_deref(),
            Some("check file is not supported yet")
        );
        assert_eq!(kinds(&probes), ["unsupported"]);
        let bad = CheckKind::Process {
            target: ProcessTarget::Matching("([".into()),
        };
        assert!(probes_for(&check(bad, vec![])).subject.is_err());
        let tls = check(pidfile(), vec![port("default", SocketType::TcpSsl)]);
        assert_eq!(kinds(&probes_for(&tls)), ["unsupported"]);
    }

    #[test]
    fn a_host_check_connects_to_its_own_address() {
        let host = CheckKind::Host {
            address: "192.0.2.7".into(),
        };
        let Test::Connection(conn) = port("default", SocketType::Udp) else {
            unreachable!()
        };
        let probe = port_probe(&conn, &host).unwrap();
        assert_eq!(
            probe.target(),
            &Target::Udp {
                host: "192.0.2.7".into(),
                port: 80,
                ip: IpVersion::Any
            }
        );
    }

    #[test]
    fn the_protocol_list_starts_with_default_and_names_http() {
        let names = protocol_names();
        assert_eq!(names.first(), Some(&"default"));
        assert!(names.contains(&"http") && names.contains(&"https") && names.contains(&"generic"));
    }
}
