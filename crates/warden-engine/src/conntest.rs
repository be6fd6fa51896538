//! A check's connection tests as status shows them: Monit's fields for
//! each ping, port (and url) and unix-socket test, with the last run of
//! each, in the order `monit status` lists them (pings, ports, sockets;
//! Monit keeps each list newest first, so the last written comes first).

use serde::{Deserialize, Serialize};
use warden_config::model::{
    Check, CheckKind, Connection, Endpoint, IpVersion, Protocol, SocketType, Test, UrlTest,
};

/// What a connection test reaches; status lists them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    /// An ICMP echo to a host.
    Ping,
    /// A TCP or UDP port (a url test too).
    Port,
    /// A unix socket.
    Unix,
}

/// One connection test of a check and its last result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestStatus {
    /// Serialised `ping`, `port` or `unix`.
    pub kind: Reach,
    /// The host a ping or port test reaches.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// A unix socket's path.
    pub path: Option<String>,
    /// What the test asks for (an HTTP request's path), empty when nothing.
    pub request: String,
    /// The protocol in Monit's words (`DEFAULT`, `HTTP`, `REDIS`, ...).
    pub protocol: String,
    /// `TCP` or `UDP`.
    pub socket: String,
    /// `IP`, `IPv4` or `IPv6`.
    pub ip: String,
    pub tls: bool,
    /// The last run: its response time, or None when it failed or has
    /// not run yet (`failed` tells them apart).
    pub response_time_ms: Option<f64>,
    pub failed: bool,
    /// Days the server's certificate is still valid (TLS tests).
    pub certificate_days: Option<f64>,
}

/// The last run of one connection test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RuleRun {
    pub rule: u16,
    pub response_s: Option<f64>,
    pub certificate_days: Option<f64>,
}

/// Whether a test is one status lists with its response time.
pub fn connection_test(test: &Test) -> bool {
    matches!(test, Test::Connection(_) | Test::Url(_) | Test::Ping { .. })
}

/// The tests of `check`, each with its run from `runs` (by rule position).
pub(crate) fn tests(check: &Check, runs: &[RuleRun]) -> Vec<TestStatus> {
    let (mut pings, mut ports, mut sockets) = (Vec::new(), Vec::new(), Vec::new());
    for (i, rule) in check.rules.iter().enumerate() {
        let run = runs.iter().find(|r| usize::from(r.rule) == i);
        let test = match &rule.test.value {
            Test::Ping { .. } => ping(check),
            Test::Connection(c) => connection(check, c),
            Test::Url(u) => url(u),
            _ => continue,
        };
        let test = with_run(test, run);
        match test.kind {
            Reach::Ping => pings.push(test),
            Reach::Port => ports.push(test),
            Reach::Unix => sockets.push(test),
        }
    }
    pings
        .into_iter()
        .rev()
        .chain(ports.into_iter().rev())
        .chain(sockets.into_iter().rev())
        .collect()
}

fn with_run(mut test: TestStatus, run: Option<&RuleRun>) -> TestStatus {
    if let Some(run) = run {
        test.response_time_ms = run.response_s.map(|s| s * 1000.0);
        test.failed = run.response_s.is_none();
        test.certificate_days = run.certificate_days;
    }
    test
}

fn blank(kind: Reach) -> TestStatus {
    TestStatus {
        kind,
        host: None,
        port: None,
        path: None,
        request: String::new(),
        protocol: String::new(),
        socket: "TCP".to_string(),
        ip: "IP".to_string(),
        tls: false,
        response_time_ms: None,
        failed: false,
        certificate_days: None,
    }
}

/// The host a test without `host` reaches: a host check's address, else
/// this machine.
fn own_host(check: &Check) -> String {
    match &check.kind {
        CheckKind::Host { address } => address.clone(),
        _ => "localhost".to_string(),
    }
}

fn ping(check: &Check) -> TestStatus {
    TestStatus {
        host: Some(own_host(check)),
        protocol: "Ping".to_string(),
        ..blank(Reach::Ping)
    }
}

fn connection(check: &Check, c: &Connection) -> TestStatus {
    let (protocol, https) = match c.protocol {
        Protocol::Https => ("HTTP".to_string(), true),
        p => (p.name().to_ascii_uppercase(), false),
    };
    // Monit shows the request of the protocols that send one.
    let request = match c.protocol {
        Protocol::Http | Protocol::Https | Protocol::Websocket => {
            c.options.request.clone().unwrap_or_default()
        }
        _ => String::new(),
    };
    match &c.endpoint {
        Endpoint::Port {
            host,
            port,
            ip,
            socket,
        } => TestStatus {
            host: Some(host.clone().unwrap_or_else(|| own_host(check))),
            port: Some(*port),
            request,
            protocol,
            socket: socket_word(*socket).to_string(),
            ip: match ip {
                IpVersion::Any => "IP",
                IpVersion::V4 => "IPv4",
                IpVersion::V6 => "IPv6",
            }
            .to_string(),
            tls: https || *socket == SocketType::TcpSsl,
            ..blank(Reach::Port)
        },
        Endpoint::UnixSocket { path, socket } => TestStatus {
            path: Some(path.display().to_string()),
            request,
            protocol,
            socket: socket_word(*socket).to_string(),
            ..blank(Reach::Unix)
        },
    }
}

fn socket_word(socket: SocketType) -> &'static str {
    match socket {
        SocketType::Udp => "UDP",
        SocketType::Tcp | SocketType::TcpSsl => "TCP",
    }
}

/// A url test is a port test of the url's host, port and path (parsed
/// when the config was read).
fn url(u: &UrlTest) -> TestStatus {
    TestStatus {
        host: Some(u.url.host().to_string()),
        port: Some(u.url.port()),
        request: u.url.request().unwrap_or("/").to_string(),
        protocol: "HTTP".to_string(),
        tls: u.url.tls(),
        ..blank(Reach::Port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Check {
        let loaded = warden_config::load_text(std::path::Path::new("rc"), text.to_string());
        let config = loaded.config.unwrap();
        config.checks.into_iter().next().unwrap()
    }

    #[test]
    fn tests_are_listed_pings_first_then_ports_and_sockets_newest_first() {
        let c = check(
            "check host h with address 192.0.2.1\n\
             if failed port 80 then alert\n\
             if failed ping then alert\n\
             if failed port 443 type tcpssl protocol https request \"/x?y=1\" then alert\n\
             if failed url https://user:pw@example.com:8443/health?full then alert\n",
        );
        let runs = [
            RuleRun {
                rule: 0,
                response_s: Some(0.000219),
                certificate_days: None,
            },
            RuleRun {
                rule: 2,
                response_s: None,
                certificate_days: None,
            },
        ];
        let all = tests(&c, &runs);
        let shown: Vec<_> = all
            .iter()
            .map(|t| (t.kind, t.host.as_deref(), t.port, t.request.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (Reach::Ping, Some("192.0.2.1"), None, ""),
                (Reach::Port, Some("example.com"), Some(8443), "/health?full"),
                (Reach::Port, Some("192.0.2.1"), Some(443), "/x?y=1"),
                (Reach::Port, Some("192.0.2.1"), Some(80), ""),
            ]
        );
        assert_eq!(all[2].protocol, "HTTP");
        assert!(all[2].tls && all[2].failed && all[2].response_time_ms.is_none());
        assert_eq!(all[3].protocol, "DEFAULT");
        assert_eq!(all[3].response_time_ms, Some(0.219));
        assert!(!all[3].failed);
        assert!(
            !all[0].failed && all[0].response_time_ms.is_none(),
            "not run yet"
        );
    }

    #[test]
    fn a_process_port_without_host_is_localhost_and_sockets_come_last() {
        let c = check(
            "check process p with pidfile /tmp/p.pid\n\
             if failed unixsocket /run/p.sock then alert\n\
             if failed port 53 type udp ipv6 protocol dns then alert\n",
        );
        let all = tests(&c, &[]);
        assert_eq!(all[0].host.as_deref(), Some("localhost"));
        assert_eq!(
            (
                all[0].socket.as_str(),
                all[0].ip.as_str(),
                all[0].protocol.as_str()
            ),
            ("UDP", "IPv6", "DNS")
        );
        assert_eq!(all[1].kind, Reach::Unix);
        assert_eq!(all[1].path.as_deref(), Some("/run/p.sock"));
    }
}
