//! Builds the probes a check needs from the config model: the check's own
//! subject probe (the process of a `check process`) and one probe per
//! connection rule, and a [`RuleSpec`] for every rule. What Warden cannot
//! test yet comes back as a [`NotSupported`] marker for the engine to
//! report, never a panic.

use std::sync::{Arc, LazyLock};

use warden_config::model::{
    Check, CheckKind, Connection, Endpoint, ProcessTarget, Resource, SocketType, Test,
};

use crate::Probe;
use crate::latest::Latest;
use crate::local;
use crate::net::PortProbe;
use crate::peer::{DEFAULT_TIMEOUT, Peer};
use crate::process::Locator;
use crate::process_probe::{Needs, ProcessProbe};
use crate::protocol::{self, Conversation};
use crate::spec::{Fact, RuleSpec, subject_spec};
use crate::table::TableCache;
pub use crate::unsupported::NotSupported;

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

/// The probes of one check.
#[derive(Debug, Clone)]
pub struct CheckProbes {
    /// The check's own probe, or why there is none.
    pub subject: Result<Arc<dyn Probe>, NotSupported>,
    /// The same probe, typed, when it is a process probe: for its memory
    /// of the proven identity (`remember`, `forget`, `last_proven`).
    pub process: Option<ProcessProbe>,
    /// How each of `check.rules` is tested, in the same order.
    pub rules: Vec<RuleSpec>,
}

/// The probes for a check, sharing this process's [`ProbeContext`].
pub fn probes_for(check: &Check) -> CheckProbes {
    probes_for_in(check, ProbeContext::shared())
}

pub fn probes_for_in(check: &Check, ctx: &ProbeContext) -> CheckProbes {
    // What the subject measured, for the rule probes that judge it.
    let latest = Arc::new(Latest::default());
    let rules = check
        .rules
        .iter()
        .map(|r| {
            local::rule_probe(check, &r.test.value, &latest)
                .unwrap_or_else(|| rule_probe(check, &r.test.value))
        })
        .collect();
    if let Some(subject) = local::subject(check, &latest) {
        return CheckProbes {
            subject,
            process: None,
            rules,
        };
    }
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

/// The check's own probe alone (the process of a `check process`, the
/// path of a `check file`, ...).
pub fn subject_for(check: &Check, ctx: &ProbeContext) -> Result<Arc<dyn Probe>, NotSupported> {
    if let Some(subject) = local::subject(check, &Arc::default()) {
        return subject;
    }
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
        ProcessTarget::Matching(pattern) => Locator::Matching(Arc::new(pattern.clone())),
        ProcessTarget::SystemdUnit(unit) => {
            return Err(NotSupported(format!(
                "reading the main pid of systemd unit {unit} here"
            )));
        }
    };
    let needs = Needs {
        tree: check.rules.iter().any(|r| needs_tree(&r.test.value)),
        files: check.rules.iter().any(|r| needs_files(&r.test.value)),
    };
    Ok(ProcessProbe::new(locator, Arc::clone(&ctx.table), needs))
}

/// Whether a test reads the open files or I/O counters (read every cycle
/// then; else now and then, for status).
fn needs_files(test: &Test) -> bool {
    matches!(
        test,
        Test::Resource {
            resource: Resource::FileDescriptors
                | Resource::TotalFileDescriptors
                | Resource::ReadBytes
                | Resource::WriteBytes
                | Resource::ReadOps
                | Resource::WriteOps,
            ..
        }
    )
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
pub fn rule_probe(check: &Check, test: &Test) -> RuleSpec {
    let kind = &check.kind;
    let process = matches!(kind, CheckKind::Process { .. });
    match test {
        Test::Connection(conn) => match port_probe(conn, kind) {
            Ok(p) => RuleSpec::Probe(Arc::new(p)),
            Err(e) => RuleSpec::NotSupported(e),
        },
        Test::Url(u) => match url_probe(u, kind) {
            Ok(p) => RuleSpec::Probe(Arc::new(p)),
            Err(e) => RuleSpec::NotSupported(e),
        },
        Test::Resolve(r) => match crate::dns::ResolveProbe::from_test(r) {
            Ok(p) => RuleSpec::Probe(Arc::new(p)),
            Err(e) => RuleSpec::NotSupported(e),
        },
        Test::Restarts { count, cycles } => RuleSpec::Restarts {
            count: *count,
            cycles: *cycles,
        },
        Test::PidChanged if process => RuleSpec::Changed(Fact::Pid),
        Test::PpidChanged if process => RuleSpec::Changed(Fact::Ppid),
        Test::NotExist | Test::Exist | Test::Uptime { .. } if process => subject_spec(test),
        Test::Resource { resource, .. } if process && process_resource(*resource) => {
            subject_spec(test)
        }
        Test::Resource { resource, .. } => RuleSpec::NotSupported(NotSupported(format!(
            "the {resource} test on a {} check",
            kind.type_name().to_lowercase()
        ))),
        other => RuleSpec::NotSupported(NotSupported(format!("the {} test", other.name()))),
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

/// The http(s) port probe a `url` rule stands for.
pub fn url_probe(
    test: &warden_config::model::UrlTest,
    kind: &CheckKind,
) -> Result<PortProbe, NotSupported> {
    let conn = protocol::url::connection(test);
    port_probe(&conn, kind)
}

/// A port probe for one connection rule.
pub fn port_probe(conn: &Connection, kind: &CheckKind) -> Result<PortProbe, NotSupported> {
    let target = target(&conn.endpoint, kind)?;
    let conversation = protocol::conversation_for(conn, &target)?;
    let tls_needed = matches!(
        target,
        Peer::Tcp {
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
    Ok(
        PortProbe::new(target, conversation, timeout, conn.retry.unwrap_or(0))
            .with_response_time(conn.options.response_time)
            .from_address(conn.options.source_address),
    )
}

fn target(endpoint: &Endpoint, kind: &CheckKind) -> Result<Peer, NotSupported> {
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
                SocketType::Udp => Peer::Udp {
                    host,
                    port: *port,
                    ip: *ip,
                },
                _ => Peer::Tcp {
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
        } => Ok(Peer::Unix { path: path.clone() }),
        Endpoint::UnixSocket { .. } => {
            Err(NotSupported("a datagram or TLS unixsocket test".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use warden_config::model::{IpVersion, Protocol};

    /// The checks of a control text, through the real parser.
    fn checks(text: &str) -> Vec<Check> {
        let loaded = warden_config::load_text_without_includes(Path::new("t.rc"), text.into());
        assert!(!loaded.has_errors(), "{}", loaded.render());
        loaded.config.unwrap().checks
    }

    fn kinds(probes: &CheckProbes) -> Vec<&'static str> {
        probes
            .rules
            .iter()
            .map(|r| match r {
                RuleSpec::Subject(_) => "subject",
                RuleSpec::Changed(Fact::Metric { .. }) => "changed",
                RuleSpec::Changed(_) => "subject",
                RuleSpec::Restarts { .. } => "engine",
                RuleSpec::Probe(p) => p.kind(),
                RuleSpec::NotSupported(_) => "unsupported",
            })
            .collect()
    }

    #[test]
    fn a_process_check_gets_a_process_probe_and_one_entry_per_rule() {
        let c = &checks(
            "check process svc with pidfile /run/x.pid\n\
             if does not exist then alert\n\
             if cpu > 80% then alert\n\
             if failed port 80 then alert\n\
             if failed port 80 protocol http request \"/health\" then alert\n\
             if failed unixsocket /run/x.sock then alert\n\
             if 3 restarts within 5 cycles then unmonitor\n",
        )[0];
        let probes = probes_for(c);
        assert_eq!(
            probes.subject.as_ref().map(|p| p.kind()).ok(),
            Some("process")
        );
        assert!(probes.process.is_some());
        assert_eq!(
            kinds(&probes),
            ["subject", "subject", "port", "http", "port", "engine"]
        );
    }

    #[test]
    fn unsupported_checks_and_tests_say_so_instead_of_panicking() {
        let c = &checks(
            "check process svc with systemd unit \"svc.service\"\n\
             check filesystem root with path /\n\
             if failed permission 644 then alert\n",
        );
        let probes = probes_for(&c[0]);
        let why = probes.subject.as_ref().err().map(|e| e.to_string());
        assert!(why.is_some_and(|w| w.contains("not supported yet")));
        let probes = probes_for(&c[1]);
        assert_eq!(kinds(&probes), ["unsupported"]);
    }

    #[test]
    fn local_checks_get_their_probe_and_rules_their_judge() {
        let table = [
            (
                "check system s\n if loadavg (1min) > 4 then alert\n if memory > 90% then alert\n",
                "system",
                vec!["subject", "subject"],
            ),
            (
                "check file f with path /etc/hosts\n if failed permission 644 then alert\n if changed checksum then alert\n if changed timestamp then alert\n if content = \"x\" then alert\n if changed permission then alert\n",
                "file",
                vec!["subject", "checksum", "changed", "content", "changed"],
            ),
            (
                "check directory d with path /tmp\n if failed uid root then alert\n if timestamp > 5 minutes then alert\n",
                "file",
                vec!["subject", "subject"],
            ),
            (
                "check filesystem fs with path /\n if space usage > 90% then alert\n if changed fsflags then alert\n",
                "filesystem",
                vec!["subject", "changed"],
            ),
            (
                "check program p with path \"/bin/true\"\n if status != 0 then alert\n if changed status then alert\n if content = \"ERR\" then alert\n",
                "program",
                vec!["subject", "changed", "content"],
            ),
            (
                "check network n with interface lo\n if failed link then alert\n if changed link capacity then alert\n if saturation > 90% then alert\n if upload > 10 MB/s then alert\n if total download > 1 GB in last 2 hours then alert\n",
                "network",
                vec!["subject", "changed", "subject", "subject", "transfer"],
            ),
        ];
        for (text, subject, rules) in table {
            let probes = probes_for(&checks(text)[0]);
            assert_eq!(
                probes.subject.as_ref().map(|p| p.kind()).ok(),
                Some(subject),
                "{text}"
            );
            assert_eq!(kinds(&probes), rules, "{text}");
        }
    }

    #[test]
    fn an_unknown_protocol_is_not_supported_yet() {
        let mut conn = Connection {
            endpoint: Endpoint::Port {
                host: None,
                port: 70,
                ip: IpVersion::Any,
                socket: SocketType::Tcp,
            },
            // A protocol Monit names and Warden does not speak yet.
            protocol: Protocol::Ftp,
            options: Default::default(),
            exchange: Vec::new(),
            timeout: None,
            retry: None,
        };
        let why = port_probe(&conn, &CheckKind::System)
            .unwrap_err()
            .to_string();
        assert!(why.contains("ftp is not supported yet"), "{why}");
        conn.protocol = Protocol::Default;
        conn.endpoint = Endpoint::Port {
            host: None,
            port: 443,
            ip: IpVersion::Any,
            socket: SocketType::TcpSsl,
        };
        assert!(port_probe(&conn, &CheckKind::System).is_err());
    }

    #[test]
    fn a_host_check_connects_to_its_own_address() {
        let c = &checks(
            "check host web with address 192.0.2.7\n\
             if failed port 53 type udp then alert\n",
        )[0];
        let probes = probes_for(c);
        let RuleSpec::Probe(_) = &probes.rules[0] else {
            panic!("no probe for the port rule")
        };
        let Test::Connection(conn) = &c.rules[0].test.value else {
            panic!("not a connection test")
        };
        let probe = port_probe(conn, &c.kind).unwrap();
        let want = Peer::Udp {
            host: "192.0.2.7".into(),
            port: 53,
            ip: IpVersion::Any,
        };
        assert_eq!(probe.target(), &want);
    }

    #[test]
    fn the_protocol_list_starts_with_default_and_names_http() {
        let names = protocol_names();
        assert_eq!(names.first(), Some(&"default"));
        assert!(names.contains(&"http") && names.contains(&"https") && names.contains(&"generic"));
    }
}
