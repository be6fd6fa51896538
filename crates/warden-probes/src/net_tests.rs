//! Port probe tests against real loopback listeners: TCP, UDP, Unix
//! sockets, a hanging server and a small HTTP/1.1 server.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket, UnixListener};

use warden_config::model::{
    BytesRegex, CheckKind, Connection, Endpoint, IpVersion, Operator, Protocol, ProtocolOptions,
    Regex, SendExpect, SocketType,
};

use crate::registry::port_probe;
use crate::{Metric, Probe, Status};

/// An `expect` pattern as lowering compiles it.
fn expect(pattern: &str) -> BytesRegex {
    BytesRegex::new(pattern).unwrap()
}

/// A `content` pattern as lowering compiles it.
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap()
}

/// Generous guard against hangs; never a timing assertion.
const GUARD: Duration = Duration::from_secs(20);

fn port_rule(port: u16, socket: SocketType) -> Connection {
    Connection {
        endpoint: Endpoint::Port {
            host: Some("127.0.0.1".into()),
            port,
            ip: IpVersion::Any,
            socket,
        },
        protocol: Protocol::Default,
        options: ProtocolOptions::default().into(),
        exchange: Vec::new(),
        timeout: Some(Duration::from_secs(5)),
        retry: None,
    }
}

fn http_rule(port: u16, options: ProtocolOptions) -> Connection {
    Connection {
        protocol: Protocol::Http,
        options: options.into(),
        ..port_rule(port, SocketType::Tcp)
    }
}

async fn run(conn: &Connection) -> crate::Outcome {
    let probe = port_probe(conn, &CheckKind::System).unwrap();
    tokio::time::timeout(GUARD, probe.run()).await.unwrap()
}

async fn closed_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn an_open_tcp_port_passes_and_reports_its_response_time() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });
    let out = run(&port_rule(port, SocketType::Tcp)).await;
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
    assert!(out.value(Metric::ResponseTime).is_some());
}

#[tokio::test]
async fn a_closed_tcp_port_fails_with_connection_refused() {
    let port = closed_tcp_port().await;
    let out = run(&port_rule(port, SocketType::Tcp)).await;
    assert_eq!(out.status, Status::Failed);
    assert!(out.reason.contains("connection refused"), "{}", out.reason);
}

#[tokio::test]
async fn a_server_that_never_answers_fails_by_timeout_not_by_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut rule = port_rule(port, SocketType::Tcp);
    rule.exchange = vec![SendExpect::Expect(expect("^220"))];
    rule.timeout = Some(Duration::from_millis(300));
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Failed);
    assert!(out.reason.contains("timed out"), "{}", out.reason);
}

#[tokio::test]
async fn send_expect_talks_to_a_real_server_and_retry_gets_a_second_chance() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        // The first connection is dropped at once; later ones are served.
        drop(listener.accept().await.unwrap());
        while let Ok((mut s, _)) = listener.accept().await {
            s.write_all(b"+OK hello\r\n").await.unwrap();
            let mut buf = [0u8; 6];
            s.read_exact(&mut buf).await.unwrap();
            if &buf == b"PING\r\n" {
                s.write_all(b"+PONG\r\n").await.unwrap();
            }
        }
    });
    let mut rule = port_rule(port, SocketType::Tcp);
    rule.exchange = vec![
        SendExpect::Expect(expect(r"^\+OK")),
        SendExpect::Send(r"PING\r\n".into()),
        SendExpect::Expect(expect(r"\+PONG")),
    ];
    rule.retry = Some(1);
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
}

#[tokio::test]
async fn a_closed_udp_port_fails_and_a_silent_one_passes() {
    let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = run(&port_rule(closed_port, SocketType::Udp)).await;
    assert_eq!(out.status, Status::Failed, "{}", out.reason);
    assert!(out.reason.contains("refused"), "{}", out.reason);

    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rule = port_rule(silent.local_addr().unwrap().port(), SocketType::Udp);
    rule.timeout = Some(Duration::from_millis(400));
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
}

#[tokio::test]
async fn udp_send_expect_matches_the_answer_datagram() {
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = echo.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = echo.recv_from(&mut buf).await {
            let _ = echo.send_to(&[b"echo:", &buf[..n]].concat(), from).await;
        }
    });
    let mut rule = port_rule(port, SocketType::Udp);
    rule.exchange = vec![
        SendExpect::Send("hi".into()),
        SendExpect::Expect(expect("^echo:hi$")),
    ];
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
}

async fn unix_server(path: &Path) {
    let listener = UnixListener::bind(path).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"READY\n").await;
        }
    });
}

#[tokio::test]
async fn a_unix_socket_passes_when_listening_and_fails_when_absent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("svc.sock");
    let mut rule = port_rule(0, SocketType::Tcp);
    rule.endpoint = Endpoint::UnixSocket {
        path: path.clone(),
        socket: SocketType::Tcp,
    };
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Failed);
    unix_server(&path).await;
    rule.exchange = vec![SendExpect::Expect(expect("^READY"))];
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
}

/// A minimal HTTP/1.1 server: `/` says hello and echoes the Host header,
/// `/secret` wants basic auth `warden:pw`, anything else is 404.
async fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&req).to_lowercase();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let host = req
                    .lines()
                    .find_map(|l| l.strip_prefix("host: "))
                    .unwrap_or("-")
                    .to_string();
                let (status, body) = match path.as_str() {
                    "/" => ("200 OK", format!("hello warden 1.2 host={host}")),
                    // base64("warden:pw") = d2FyZGVuOnB3, lowercased with the rest.
                    "/secret" if req.contains("authorization: basic d2fyzgvuonb3") => {
                        ("200 OK", "secret".into())
                    }
                    "/secret" => ("401 Unauthorized", "who?".into()),
                    _ => ("404 Not Found", "nothing".into()),
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn http_checks_status_content_host_header_and_basic_auth() {
    let port = http_server().await;
    let opts = |f: fn(&mut ProtocolOptions)| {
        let mut o = ProtocolOptions::default();
        f(&mut o);
        o
    };
    let cases: Vec<(&str, ProtocolOptions, Status)> = vec![
        ("plain get", opts(|_| {}), Status::Ok),
        (
            "404 fails status < 400",
            opts(|o| o.request = Some("/gone".into())),
            Status::Failed,
        ),
        (
            "status = 404 expected",
            opts(|o| {
                o.request = Some("/gone".into());
                o.status = Some((Operator::Equal, 404));
            }),
            Status::Ok,
        ),
        (
            "content matches",
            opts(|o| o.content = Some((true, re(r"warden [0-9.]+")))),
            Status::Ok,
        ),
        (
            "content must match",
            opts(|o| o.content = Some((true, re("apache")))),
            Status::Failed,
        ),
        (
            "content must not match",
            opts(|o| o.content = Some((false, re("warden")))),
            Status::Failed,
        ),
        (
            "host header",
            opts(|o| {
                o.hostheader = Some("example.test".into());
                o.content = Some((true, re("host=example.test")));
            }),
            Status::Ok,
        ),
        (
            "no credentials",
            opts(|o| o.request = Some("/secret".into())),
            Status::Failed,
        ),
        (
            "basic auth",
            opts(|o| {
                o.request = Some("/secret".into());
                o.username = Some("warden".into());
                o.password = Some("pw".into());
            }),
            Status::Ok,
        ),
    ];
    for (name, options, want) in cases {
        let out = run(&http_rule(port, options)).await;
        assert_eq!(out.status, want, "{name}: {}", out.reason);
        if want == Status::Ok {
            assert!(out.value(Metric::HttpStatus).is_some(), "{name}");
        }
    }
}

#[tokio::test]
async fn http_to_a_closed_port_fails_with_a_reason() {
    let port = closed_tcp_port().await;
    let out = run(&http_rule(port, ProtocolOptions::default())).await;
    assert_eq!(out.status, Status::Failed);
    assert!(!out.reason.is_empty());
}

/// A server that greets each connection after `delay`.
async fn slow_greeter(delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = s.write_all(b"220 ready\r\n").await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_response_slower_than_its_limit_fails_and_one_within_it_passes() {
    use warden_config::model::ResponseTime;
    let port = slow_greeter(Duration::from_millis(100)).await;
    let mut rule = port_rule(port, SocketType::Tcp);
    rule.exchange = vec![SendExpect::Expect(expect("^220"))];
    let table = [
        (Operator::Less, Duration::from_millis(1), Status::Failed),
        (Operator::Less, Duration::from_secs(5), Status::Ok),
        (Operator::Greater, Duration::from_millis(1), Status::Ok),
    ];
    for (op, limit, want) in table {
        rule.options.response_time = Some(ResponseTime { op, limit });
        let out = run(&rule).await;
        assert_eq!(out.status, want, "{op:?} {limit:?}: {}", out.reason);
        assert!(out.value(Metric::ResponseTime).is_some());
    }
    rule.options.response_time = Some(ResponseTime {
        op: Operator::Less,
        limit: Duration::from_millis(1),
    });
    let out = run(&rule).await;
    assert!(
        out.reason.contains("does not meet the limit < 0.001 s"),
        "{}",
        out.reason
    );
}

#[tokio::test]
async fn a_connection_leaves_from_the_source_address_it_was_given() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((_, peer)) = listener.accept().await {
            let _ = tx.send(peer.ip());
        }
    });
    let mut rule = port_rule(port, SocketType::Tcp);
    // All of 127/8 is loopback: 127.0.0.2 is a source no default route picks.
    rule.options.source_address = "127.0.0.2".parse().ok();
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
    let peer = tokio::time::timeout(GUARD, rx.recv()).await.unwrap();
    assert_eq!(peer, Some("127.0.0.2".parse().unwrap()));
    // An address this host does not have cannot be bound: a clear failure.
    rule.options.source_address = "192.0.2.77".parse().ok();
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Failed);
    assert!(out.reason.contains("127.0.0.1"), "{}", out.reason);
}

/// A listener whose accept queue is full: Linux drops new SYNs, so a
/// connect stays in progress (the kernel cannot settle it within
/// `connect()`) until the queue has room again.
fn blackhole() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    rustix::net::listen(&listener, 0).unwrap();
    let to = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&to, Duration::from_millis(300)) {
            Ok(s) => fillers.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (listener, fillers),
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    panic!("the accept queue never filled");
}

/// True while a socket of ours is in SYN_SENT towards `port`.
fn syn_sent_to(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let remote = f.get(2).and_then(|a| a.rsplit(':').next());
        remote.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
            && f.get(3) == Some(&"02")
    })
}

#[tokio::test]
async fn a_connect_the_kernel_cannot_finish_at_once_times_out() {
    let (listener, _fillers) = blackhole();
    let port = listener.local_addr().unwrap().port();
    let mut rule = port_rule(port, SocketType::Tcp);
    rule.timeout = Some(Duration::from_millis(500));
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Failed, "{}", out.reason);
    assert_eq!(
        out.reason,
        format!("timed out connecting to 127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn a_connect_still_in_progress_is_awaited_until_it_succeeds() {
    let (listener, fillers) = blackhole();
    let port = listener.local_addr().unwrap().port();
    let probe = tokio::spawn(async move { run(&port_rule(port, SocketType::Tcp)).await });
    // Once our SYN has been dropped, make room in the queue: the kernel's
    // retransmitted SYN then completes the handshake through the reactor.
    for _ in 0..1000 {
        if syn_sent_to(port) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(syn_sent_to(port), "the probe's connect never waited");
    drop(fillers);
    listener.set_nonblocking(true).unwrap();
    let drain = tokio::spawn(async move {
        loop {
            match listener.accept() {
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    });
    let out = probe.await.unwrap();
    drain.abort();
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
    assert_eq!(out.reason, format!("connected to 127.0.0.1:{port}"));
    assert!(out.value(Metric::ResponseTime).is_some());
}

#[tokio::test]
async fn ipv6_loopback_connects_and_an_ipv4_only_rule_finds_no_address() {
    let listener = TcpListener::bind("[::1]:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });
    let mut rule = port_rule(port, SocketType::Tcp);
    let on_ipv6 = |ip| Endpoint::Port {
        host: Some("::1".into()),
        port,
        ip,
        socket: SocketType::Tcp,
    };
    rule.endpoint = on_ipv6(IpVersion::Any);
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
    rule.endpoint = on_ipv6(IpVersion::V4);
    let out = run(&rule).await;
    assert_eq!(out.status, Status::Failed);
    assert!(out.reason.contains("has no IPv4 address"), "{}", out.reason);
}
