//! Hostile input on every door of the real daemon (issue 17 part 3): the TCP
//! interface (Monit's protocol, the API, the pages, /metrics) and the Unix
//! socket get a few hundred seeded malformed, unauthenticated, forged and
//! injecting requests each, huge requests and slow clients; hostile names
//! and program output must come out escaped in HTML, JSON, XML and mail.
//! Each door counts what it tried, what was refused as it should be and the
//! panics in the daemon's log; every refusal leaves the service untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the test's panic

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use util::{Sandbox, answers, free_port, wait_until};

const LIMIT: Duration = Duration::from_secs(20);
const ADMIN: &str = "admin:secret";
const VIEWER: &str = "viewer:look";

/// splitmix64: a seeded generator, so a failing input can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// What one door did with a batch of inputs.
#[derive(Debug, Default)]
struct Tally {
    tried: usize,
    refused: usize,
    wrong: Vec<String>,
    /// Answers by status ("closed" when none), for the report.
    answers: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    fn judge(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.tried += 1;
        if ok {
            self.refused += 1;
        } else if self.wrong.len() < 10 {
            self.wrong.push(what());
        }
    }
    fn saw(&mut self, r: &Reply) {
        let key = r.status.map_or("closed".to_string(), |s| s.to_string());
        *self.answers.entry(key).or_default() += 1;
    }
    fn report(&self, door: &str, panics: usize) {
        // The README's table is made from these lines.
        eprintln!(
            "HOSTILE door={door} tried={} refused={} panics={panics} answers={:?}",
            self.tried, self.refused, self.answers
        );
        assert!(
            self.wrong.is_empty(),
            "{door}: not refused:\n{:#?}",
            self.wrong
        );
        assert_eq!(panics, 0, "{door}: the daemon panicked");
    }
}

/// An answer read off a raw connection: its status (None when the server
/// closed without one) and its head.
#[derive(Debug)]
struct Reply {
    status: Option<u16>,
    head: String,
}

/// Sends `req` as it is and reads one answer (bounded by `wait`).
fn exchange<S: Read + Write>(mut s: S, req: &[u8], wait: Duration) -> Reply {
    // A server that refuses early may close while we still write.
    let _ = s.write_all(req);
    let _ = s.flush();
    let end = Instant::now() + wait;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    while Instant::now() < end {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if complete(&buf) {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok());
    Reply { status, head }
}

/// Whether `buf` holds a whole answer (its head and its announced body).
fn complete(buf: &[u8]) -> bool {
    let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
    let body = buf.len() - at - 4;
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body >= len;
    }
    if head.contains("transfer-encoding: chunked") {
        return buf.ends_with(b"0\r\n\r\n");
    }
    true
}

fn tcp(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    s
}

fn unix(path: &Path) -> UnixStream {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    s
}

fn basic(user_pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_pass)
    )
}

/// A well-formed request with `Connection: close`.
fn request(method: &str, target: &str, headers: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        r.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

/// A request broken in at least one place: its request line or a header.
fn malformed(rng: &mut Rng) -> Vec<u8> {
    let methods: &[&str] = &[
        "GET",
        "POST",
        "G E T",
        "",
        "\0GET",
        "GET\t",
        "P\u{7f}ST",
        "BREW",
        "get",
    ];
    let targets: &[&str] = &[
        "/",
        "*",
        "",
        "/\0",
        "/%",
        "/%zz",
        "/a b",
        "//..//..",
        "http://[::1",
        "/_status?%",
        "/api/v1/status/%ff%fe",
        "/_doaction?service=%00",
        "/\u{1}",
        "?",
        "/metrics#x",
    ];
    let versions: &[&str] = &[
        "HTTP/1.1",
        "HTTP/9.9",
        "HTTP/1.1x",
        "",
        "HTTP/1",
        "HTTP/",
        "http/1.1",
    ];
    let bad_headers: &[&str] = &[
        "NoColon",
        ": empty-name",
        "Bad Name: v",
        "X: \u{1}\u{7f}",
        "Content-Length: -1",
        "Content-Length: abc",
        "Content-Length: 1\r\nContent-Length: 2",
        "Transfer-Encoding: chunked\r\nContent-Length: 3",
        "Transfer-Encoding: gzip, chunked, identity",
        " folded: continuation",
        "Host: a\r\nHost: b",
        "X\0: y",
    ];
    let (m, t, v) = (rng.pick(methods), rng.pick(targets), rng.pick(versions));
    let broken_line = rng.below(2) == 0;
    let line = if broken_line {
        // At least one part surely wrong: an unknown version or a NUL.
        let v = if v == "HTTP/1.1" { "HTTP/1.1x" } else { v };
        format!("{m} {t} {v}")
    } else {
        format!("GET {t} HTTP/1.1")
    };
    let mut r = format!("{line}\r\nHost: 127.0.0.1\r\n");
    if !broken_line || rng.below(2) == 0 {
        r.push_str(rng.pick(bad_headers));
        r.push_str("\r\n");
    }
    if rng.below(3) == 0 {
        // Wrong credentials at most: never a door left open by chance.
        r.push_str(&format!("Authorization: {}\r\n", basic("admin:wrong")));
    }
    r.push_str("Connection: close\r\n\r\n");
    if rng.below(3) == 0 {
        r.push_str("zz\r\nnot chunked\r\n");
    }
    let mut bytes = r.into_bytes();
    if rng.below(5) == 0 {
        // A few raw non-UTF-8 bytes in the head.
        let at = rng.below(bytes.len().clamp(1, 20));
        bytes.insert(at, 0xff);
    }
    bytes
}

/// Paths that act or show a service, to knock on without the right key.
fn act_paths(rng: &mut Rng) -> (&'static str, &'static str, String) {
    let doors: &[(&str, &str, &str)] = &[
        ("POST", "/api/v1/services/web/stop", ""),
        ("POST", "/api/v1/services/all/unmonitor", ""),
        ("POST", "/api/v1/groups/g/stop", ""),
        ("POST", "/api/v1/quit", ""),
        (
            "POST",
            "/_doaction",
            "action=stop&service=web&securitytoken=t",
        ),
        ("POST", "/web", "action=unmonitor&securitytoken=t"),
        ("POST", "/action", "service=web&action=stop&csrf=x"),
        ("GET", "/", ""),
        ("GET", "/_status?format=xml", ""),
        ("GET", "/_summary", ""),
        ("GET", "/web", ""),
        ("GET", "/api/v1/status", ""),
        ("GET", "/metrics", ""),
    ];
    let (m, p, b) = doors[rng.below(doors.len())];
    (m, p, b.to_string())
}

/// Credentials that must not get in.
fn bad_credentials(rng: &mut Rng) -> Option<String> {
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    match rng.below(9) {
        0 => None,
        1 => Some(basic("admin:wrong")),
        2 => Some(basic("nobody:secret")),
        3 => Some("Basic !!!notbase64".into()),
        4 => Some(basic("admin")),
        5 => Some("Bearer secret".into()),
        6 => Some(format!("Basic {}", b64(b"admin:secret\0"))),
        7 => Some(format!("Basic {}", b64(b"admin:secre\xff"))),
        _ => Some(format!("Basic {}", b64(&[b'a'; 5000]))),
    }
}

/// Names that no check has: each decodes to something other than a
/// service's name or `all`, so no request built from them may act.
fn hostile_name(rng: &mut Rng) -> String {
    let names: &[&str] = &[
        "..",
        "..%2fweb",
        "%2e%2e",
        "%2e%2e%2fetc%2fpasswd",
        "web%0d%0aX-Injected:%201",
        "web%0aSet-Cookie:%20a=b",
        "web%00",
        "%00",
        "we%20b",
        "web%2f..",
        "%ff%fe",
        "<script>",
        "%3cscript%3ealert(1)%3c%2fscript%3e",
        "'%22%3e",
        "web;rm%20-rf",
        "$(id)",
        "%25",
        "web%5c..",
        "%c0%ae%c0%ae",
    ];
    match rng.below(8) {
        0 => "w".repeat(1 + rng.below(100_000)),
        1 => format!("{}{}", rng.pick(names), "%41".repeat(rng.below(3000))),
        _ => rng.pick(names).to_string(),
    }
}

/// The injecting request for `name`, and whether it asks to act.
fn injection(rng: &mut Rng, name: &str, auth: &[(&str, String)]) -> (Vec<u8>, bool) {
    let (method, target, body) = match rng.below(7) {
        0 => ("GET", format!("/api/v1/status/{name}"), String::new()),
        1 => ("GET", format!("/{name}"), String::new()),
        2 => (
            "GET",
            format!("/_status?format=xml&service={name}"),
            String::new(),
        ),
        3 => (
            "POST",
            format!("/api/v1/services/{name}/stop"),
            String::new(),
        ),
        4 => (
            "POST",
            format!("/api/v1/services/web/{name}"),
            String::new(),
        ),
        5 => ("POST", format!("/api/v1/groups/{name}/stop"), String::new()),
        _ => (
            "POST",
            "/_doaction".to_string(),
            format!("action=stop&service={name}&securitytoken=t"),
        ),
    };
    let mut headers = auth.to_vec();
    if body.contains("securitytoken") {
        headers.push(("Cookie", "securitytoken=t".into()));
    }
    (request(method, &target, &headers, &body), method == "POST")
}

/// A refusal: a 4xx, an unsupported version, or a close without an answer.
fn refused(r: &Reply) -> bool {
    match r.status {
        None => true,
        Some(s) => (400..500).contains(&s) || s == 505,
    }
}

/// What must not change while the doors are knocked on.
fn fingerprint(sb: &Sandbox, name: &str) -> String {
    let s = sb.status_of(name).expect("the service is listed");
    format!(
        "pid={:?} monitoring={:?} mode={:?}",
        s.pid, s.monitoring, s.mode
    )
}

fn panics(sb: &Sandbox) -> usize {
    sb.log_count("panicked")
}

/// A web service and the daemon with a TCP interface behind basic auth, a
/// read-only user, and its socket at `{dir}/state.sock`.
fn daemon(sb: &Sandbox, port: u16, web_port: u16) -> util::Warden {
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/state\nset httpd port {port}\n  allow {ADMIN}\n  allow {VIEWER} read-only\n\
         check process web with pidfile {pid}\n  start program = \"{start}\" with timeout 10 seconds\n  group g\n",
        pid = sb.pidfile("web").display(),
        start = sb.service_cmd("web", web_port, "serve"),
    ));
    let w = sb.warden();
    assert!(
        wait_until(LIMIT, || answers(port)),
        "no web interface:\n{}",
        sb.log()
    );
    assert!(sb.started("web", web_port), "never started:\n{}", sb.log());
    w
}

/// The daemon is alive and an honest client is answered.
fn still_answers(port: u16) -> bool {
    let req = request(
        "GET",
        "/api/v1/status",
        &[("Authorization", basic(ADMIN))],
        "",
    );
    exchange(tcp(port), &req, Duration::from_secs(5)).status == Some(200)
}

#[test]
fn the_tcp_interface_refuses_malformed_unauthenticated_forged_and_injecting_requests() {
    let sb = Sandbox::new();
    let (port, web_port) = (free_port(), free_port());
    let mut w = daemon(&sb, port, web_port);
    let before = fingerprint(&sb, "web");
    let mut rng = Rng(17);
    let wait = Duration::from_secs(3);
    let admin = [("Authorization", basic(ADMIN))];
    let mut doors: Vec<(&str, Tally)> = Vec::new();

    let mut t = Tally::default();
    for _ in 0..300 {
        let req = malformed(&mut rng);
        let r = exchange(tcp(port), &req, wait);
        t.saw(&r);
        t.judge(refused(&r), || {
            format!("{:?} -> {r:?}", String::from_utf8_lossy(&req))
        });
    }
    doors.push(("tcp malformed", t));

    let mut t = Tally::default();
    for _ in 0..200 {
        let (m, p, body) = act_paths(&mut rng);
        let mut h = Vec::new();
        if let Some(a) = bad_credentials(&mut rng) {
            h.push(("Authorization", a));
        }
        let r = exchange(tcp(port), &request(m, p, &h, &body), wait);
        let ok = r.status == Some(401)
            && r.head
                .to_ascii_lowercase()
                .contains("www-authenticate: basic realm=\"warden\"");
        t.saw(&r);
        t.judge(ok, || format!("{m} {p} {h:?} -> {r:?}"));
    }
    doors.push(("tcp bad credentials", t));

    let mut t = Tally::default();
    for i in 0..200 {
        let (m, p, body) = loop {
            let d = act_paths(&mut rng);
            if d.0 == "POST" {
                break d;
            }
        };
        let (headers, why) = match i % 3 {
            // A read-only user with everything else right.
            0 => (
                vec![
                    ("Authorization", basic(VIEWER)),
                    ("Cookie", "securitytoken=t".to_string()),
                ],
                "read-only",
            ),
            // The admin from another site's page.
            1 => (
                vec![
                    admin[0].clone(),
                    (
                        if rng.below(2) == 0 {
                            "Origin"
                        } else {
                            "Referer"
                        },
                        "http://evil.example/".to_string(),
                    ),
                    ("Cookie", "securitytoken=t".to_string()),
                ],
                "foreign origin",
            ),
            // The admin without the page's token (Monit's and Warden's).
            _ => (vec![admin[0].clone()], "no token"),
        };
        if why == "no token" && p.starts_with("/api/") {
            // The API has no form token (the CLI and curl use it): its
            // guard against other sites is the Origin check above.
            continue;
        }
        let r = exchange(tcp(port), &request(m, p, &headers, &body), wait);
        t.saw(&r);
        t.judge(r.status == Some(403), || format!("{why}: {m} {p} -> {r:?}"));
    }
    doors.push(("tcp csrf and read-only", t));
    assert!(still_answers(port), "{}", sb.log());

    let mut t = Tally::default();
    for _ in 0..300 {
        let name = hostile_name(&mut rng);
        let (req, acts) = injection(&mut rng, &name, &admin);
        let r = exchange(tcp(port), &req, wait);
        let injected = r.head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("x-injected") || l.starts_with("set-cookie: a=b")
        });
        let ok = !injected
            && if acts {
                refused(&r)
            } else {
                r.status.is_some_and(|s| s < 500)
            };
        t.saw(&r);
        t.judge(ok, || {
            format!(
                "{:?} -> {r:?}",
                String::from_utf8_lossy(&req[..req.len().min(300)])
            )
        });
    }
    doors.push(("tcp names", t));

    assert!(still_answers(port), "{}", sb.log());
    assert!(matches!(w.child.try_wait(), Ok(None)), "the daemon died");
    assert_eq!(
        fingerprint(&sb, "web"),
        before,
        "a refusal touched the service"
    );
    let p = panics(&sb);
    for (door, t) in &doors {
        t.report(door, p);
    }
}

#[test]
fn the_unix_socket_refuses_malformed_and_injecting_requests() {
    let sb = Sandbox::new();
    let (port, web_port) = (free_port(), free_port());
    let mut w = daemon(&sb, port, web_port);
    let socket = sb.path("state.sock");
    assert!(socket.exists(), "no socket:\n{}", sb.log());
    let before = fingerprint(&sb, "web");
    let mut rng = Rng(1717);
    let wait = Duration::from_secs(3);

    let mut t = Tally::default();
    for _ in 0..300 {
        let req = malformed(&mut rng);
        let r = exchange(unix(&socket), &req, wait);
        t.saw(&r);
        t.judge(refused(&r), || {
            format!("{:?} -> {r:?}", String::from_utf8_lossy(&req))
        });
    }
    let mut names = Tally::default();
    for _ in 0..300 {
        let name = hostile_name(&mut rng);
        let (req, acts) = injection(&mut rng, &name, &[]);
        let r = exchange(unix(&socket), &req, wait);
        let injected = r
            .head
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("x-injected"));
        let ok = !injected
            && if acts {
                refused(&r)
            } else {
                r.status.is_some_and(|s| s < 500)
            };
        names.saw(&r);
        names.judge(ok, || {
            format!(
                "{:?} -> {r:?}",
                String::from_utf8_lossy(&req[..req.len().min(300)])
            )
        });
    }
    assert!(still_answers(port), "{}", sb.log());
    assert!(matches!(w.child.try_wait(), Ok(None)), "the daemon died");
    assert_eq!(
        fingerprint(&sb, "web"),
        before,
        "a refusal touched the service"
    );
    let p = panics(&sb);
    t.report("unix socket malformed", p);
    names.report("unix socket names", p);
}

/// Resident and peak memory of `pid` in kB.
fn memory_kb(pid: i32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Streams a head and then `body_mb` MB of body (or headers) until the
/// server stops reading; returns the answer.
fn flood<S: Read + Write>(mut s: S, head: &str, filler: &[u8], mb: usize) -> Reply {
    let _ = s.write_all(head.as_bytes());
    let block = filler.repeat((65536 / filler.len()).max(1));
    for _ in 0..mb * 1024 * 1024 / block.len() {
        if s.write_all(&block).is_err() {
            break;
        }
    }
    exchange(s, b"", Duration::from_secs(5))
}

#[test]
fn huge_requests_are_refused_and_memory_stays_bounded() {
    let sb = Sandbox::new();
    let (port, web_port) = (free_port(), free_port());
    let mut w = daemon(&sb, port, web_port);
    let socket = sb.path("state.sock");
    let before = fingerprint(&sb, "web");
    let (rss0, _) = memory_kb(w.pid());
    let auth = basic(ADMIN);
    let big_body = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
             Cookie: securitytoken=t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 68719476736\r\n\r\nsecuritytoken=t&action=stop&service="
        )
    };
    let chunked = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
    };
    let huge_header = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_string();
    let many_headers = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_string();
    let mut t = Tally::default();
    // Four at a time: a daemon that buffered them would hold 4 x 64 MB.
    for round in 0..3 {
        let cases: Vec<(String, Vec<u8>, bool)> = vec![
            (big_body("/_doaction"), b"w".to_vec(), false),
            (big_body("/action"), b"w".to_vec(), false),
            (big_body("/_status"), b"w".to_vec(), false),
            (
                chunked("/_summary"),
                b"10000\r\n"
                    .iter()
                    .chain(&[b'a'; 65536])
                    .chain(b"\r\n")
                    .copied()
                    .collect(),
                false,
            ),
            (huge_header.clone(), b"a".to_vec(), false),
            (many_headers.clone(), b"X-A: b\r\n".to_vec(), false),
            (big_body("/api/v1/status"), b"w".to_vec(), true),
            (huge_header.clone(), b"a".to_vec(), true),
        ];
        let threads: Vec<_> = cases
            .into_iter()
            .enumerate()
            .map(|(i, (head, filler, on_socket))| {
                let socket = socket.clone();
                std::thread::spawn(move || {
                    let r = if on_socket {
                        flood(unix(&socket), &head, &filler, 64)
                    } else {
                        flood(tcp(port), &head, &filler, 64)
                    };
                    (
                        format!("round {round} case {i} {}", &head[..head.len().min(40)]),
                        r,
                    )
                })
            })
            .collect();
        for th in threads {
            let (what, r) = th.join().unwrap();
            t.saw(&r);
            t.judge(refused(&r), || format!("{what} -> {r:?}"));
        }
        assert!(still_answers(port), "{}", sb.log());
    }
    let (rss1, peak) = memory_kb(w.pid());
    eprintln!("HOSTILE huge: rss {rss0} kB -> {rss1} kB, peak {peak} kB");
    // 8 clients x 64 MB each round: holding even one would pass 64 MB.
    assert!(peak < rss0 + 48 * 1024, "peak RSS {peak} kB from {rss0} kB");
    assert!(matches!(w.child.try_wait(), Ok(None)), "the daemon died");
    assert_eq!(fingerprint(&sb, "web"), before);
    t.report("huge requests", panics(&sb));
}

#[test]
fn slow_clients_are_timed_out_and_an_honest_client_is_still_served() {
    let sb = Sandbox::new();
    let (port, web_port) = (free_port(), free_port());
    let _w = daemon(&sb, port, web_port);
    let socket = sb.path("state.sock");
    // Half trickle a header byte now and then, half send nothing at all;
    // a tenth of them on the Unix socket.
    let mut slow: Vec<Box<dyn Write + Send>> = Vec::new();
    let mut readers: Vec<Box<dyn Read + Send>> = Vec::new();
    for i in 0..200 {
        let (mut w, r): (Box<dyn Write + Send>, Box<dyn Read + Send>) = if i % 10 == 0 {
            let s = unix(&socket);
            (Box::new(s.try_clone().unwrap()), Box::new(s))
        } else {
            let s = tcp(port);
            (Box::new(s.try_clone().unwrap()), Box::new(s))
        };
        if i % 2 == 0 {
            let _ = w.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        }
        slow.push(w);
        readers.push(r);
    }
    let started = Instant::now();
    let honest = Instant::now();
    assert!(still_answers(port), "{}", sb.log());
    let took = honest.elapsed();
    eprintln!("HOSTILE slowloris: an honest client answered in {took:?} beside 200 slow ones");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Keep trickling for 14 s: the header timeout (10 s) must close them.
    while started.elapsed() < Duration::from_secs(14) {
        for (i, w) in slow.iter_mut().enumerate() {
            if i % 2 == 0 {
                let _ = w.write_all(b"X");
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut t = Tally::default();
    for (i, r) in readers.iter_mut().enumerate() {
        let mut b = [0u8; 512];
        // Closed: EOF or a reset, maybe after a 408; open: a read timeout.
        let closed = loop {
            match r.read(&mut b) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) => {
                    break e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut;
                }
            }
        };
        let door = if i % 10 == 0 { "socket" } else { "tcp" };
        t.judge(closed, || {
            format!("slow client {i} on the {door} still open")
        });
    }
    assert!(still_answers(port), "{}", sb.log());
    t.report("slow clients", panics(&sb));
}

/// A loopback SMTP server (Debian's aiosmtpd) printing every message to a
/// file; killed on drop.
struct Smtp {
    child: std::process::Child,
    out: std::path::PathBuf,
}

impl Smtp {
    fn start(sb: &Sandbox, port: u16) -> Smtp {
        let out = sb.path("smtp.out");
        let log = std::fs::File::create(&out).unwrap();
        let child = std::process::Command::new("/usr/bin/python3")
            .args(["-u", "-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("aiosmtpd (scripts/setup installs python3-aiosmtpd)");
        assert!(
            wait_until(Duration::from_secs(10), || answers(port)),
            "aiosmtpd did not listen"
        );
        Smtp { child, out }
    }

    fn messages(&self) -> Vec<String> {
        util::file(&self.out)
            .split("---------- MESSAGE FOLLOWS ----------")
            .skip(1)
            .map(|m| {
                m.split("------------ END MESSAGE ------------")
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver: each POST becomes one line of `out`, a JSON object
/// with its header names and its body parsed strictly (Python's json), or
/// the parser's complaint.
const RECEIVER: &str = r#"
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload, error = json.loads(body.decode("utf-8")), None
        except Exception as e:
            payload, error = None, repr(e)
        line = {"headers": [k.lower() for k in self.headers.keys()], "payload": payload, "error": error}
        with open(out, "a") as f: f.write(json.dumps(line) + "\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *_): pass
http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
"#;

/// A check name and program output made to break out of HTML, JSON, XML
/// and mail headers.
const NAME: &str = r#"<script>alert('n')</script>&"q"#;
const NOISY: &str = "#!/bin/sh\nprintf '<script>alert(1)</script> \"q\" &amp; ]]> \\r\\nX-Injected: 1\\r\\n\\377\\376\\001 end\\n'\nexit 3\n";

fn get_as_admin(port: u16, target: &str) -> (Reply, Vec<u8>) {
    let req = request("GET", target, &[("Authorization", basic(ADMIN))], "");
    let mut s = tcp(port);
    s.write_all(&req).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let at = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(all.len());
    let head = String::from_utf8_lossy(&all[..at]).to_string();
    let status = head.get(9..12).and_then(|c| c.parse().ok());
    let body = all.get(at + 4..).unwrap_or_default().to_vec();
    (Reply { status, head }, body)
}

/// The first service's name, read by Python's expat (a strict XML 1.0
/// parser), or its complaint.
fn strict_xml(doc: &[u8]) -> Result<String, String> {
    const READ: &str = "import sys, xml.etree.ElementTree as E\n\
        sys.stdout.write(E.fromstring(sys.stdin.buffer.read()).find('service/name').text)";
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", READ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(doc).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn hostile_names_and_outputs_come_out_escaped_in_pages_json_xml_and_mail() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new();
    let (port, smtp_port, hook_port) = (free_port(), free_port(), free_port());
    let smtp = Smtp::start(&sb, smtp_port);
    std::fs::write(sb.path("receiver.py"), RECEIVER).unwrap();
    let hooks = sb.path("hooks.jsonl");
    let mut receiver = std::process::Command::new("/usr/bin/python3")
        .arg(sb.path("receiver.py"))
        .arg(hook_port.to_string())
        .arg(&hooks)
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || answers(hook_port)));
    let script = sb.path("noisy.sh");
    std::fs::write(&script, NOISY).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let quoted = NAME.replace('"', "\\\"");
    // A matched line becomes the event's description, and so the subject.
    let log = sb.path("watched.log");
    std::fs::write(&log, "").unwrap();
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/state\nset mailserver 127.0.0.1 port {smtp_port}\n\
         set mail-format {{ subject: $SERVICE $EVENT $DESCRIPTION }}\nset alert ops@example.com\n\
         set alert webhook \"http://127.0.0.1:{hook_port}/hook\"\n\
         set httpd port {port} allow {ADMIN}\n\
         check program \"{quoted}\" with path \"{}\"\n  if status != 0 then alert\n\
         check file log with path \"{}\"\n  if content = \"Inject\" then alert\n",
        script.display(),
        log.display(),
    ));
    let mut w = sb.warden();
    assert!(
        wait_until(LIMIT, || answers(port)),
        "no web interface:\n{}",
        sb.log()
    );
    assert!(
        wait_until(LIMIT, || !smtp.messages().is_empty()),
        "no mail:\n{}",
        sb.log()
    );
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"Inject\rX-Injected: 1\r\nSubject: forged\rBcc: x@evil.example\r\n")
        .unwrap();
    drop(f);
    assert!(
        wait_until(LIMIT, || smtp
            .messages()
            .iter()
            .any(|m| m.contains("Inject"))),
        "no content mail:\n{}",
        sb.log()
    );
    let mut t = Tally::default();

    // HTML: the status page and the service's own page.
    let encoded: String = NAME.bytes().map(|b| format!("%{b:02X}")).collect();
    for target in ["/".to_string(), format!("/{encoded}")] {
        let (r, body) = get_as_admin(port, &target);
        let html = String::from_utf8_lossy(&body);
        let ok = r.status == Some(200)
            && !html.contains("<script>")
            && !html.contains("'n')</script>&\"")
            && html.contains("&lt;script&gt;");
        t.saw(&r);
        t.judge(ok, || format!("HTML {target}: {r:?}\n{html}"));
    }
    // JSON: valid, with the name as it is.
    let (r, body) = get_as_admin(port, "/api/v1/status");
    let json: Result<serde_json::Value, _> = serde_json::from_slice(&body);
    let named = json
        .as_ref()
        .ok()
        .and_then(|j| j.as_array())
        .is_some_and(|a| a.iter().any(|s| s["name"] == NAME));
    t.saw(&r);
    t.judge(r.status == Some(200) && named, || format!("JSON: {json:?}"));
    // XML: well formed for a strict parser (expat), the name intact.
    let (r, body) = get_as_admin(port, "/_status?format=xml");
    let strict = strict_xml(&body);
    let ok = r.status == Some(200) && strict.as_deref() == Ok(NAME);
    t.saw(&r);
    t.judge(ok, || {
        format!("XML {strict:?}: {}", String::from_utf8_lossy(&body))
    });
    // Mail: every header line is a header or its folded continuation.
    for mail in smtp.messages() {
        let head = mail
            .trim_start()
            .split("\n\n")
            .next()
            .unwrap_or("")
            .to_string();
        let bad = head.lines().find(|l| {
            let l = l.trim_end_matches('\r');
            !(l.starts_with([' ', '\t'])
                || l.split_once(": ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }))
                || ["x-injected", "bcc:", "subject: forged"]
                    .iter()
                    .any(|h| l.to_ascii_lowercase().trim_start().starts_with(h))
        });
        t.judge(bad.is_none(), || {
            format!("mail header line {bad:?} in:\n{head}")
        });
    }
    // Webhooks: strict JSON with the name intact, no header from the output.
    let lines = |want: usize| {
        wait_until(LIMIT, || util::file(&hooks).lines().count() >= want);
        util::file(&hooks)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect::<Vec<_>>()
    };
    let posts = lines(2);
    let _ = receiver.kill();
    let _ = receiver.wait();
    t.judge(
        posts.iter().any(|p| p["payload"]["service"] == NAME),
        || format!("no webhook names the check: {posts:?}"),
    );
    for post in &posts {
        let headers = post["headers"].as_array().cloned().unwrap_or_default();
        let ok =
            post["error"].is_null() && !headers.iter().any(|h| h == "x-injected" || h == "bcc");
        t.judge(ok, || format!("webhook: {post}"));
    }
    assert!(matches!(w.child.try_wait(), Ok(None)), "the daemon died");
    t.report("escaping (html, json, xml, mail, webhook)", panics(&sb));
}

/// `monit -t` and `warden -t` on the same control file (Debian's Monit,
/// which scripts/setup installs for the differential tests).
fn both_check(sb: &Sandbox, rc: &Path) -> (i32, util::CliOutput) {
    let monit = std::process::Command::new("/usr/bin/monit")
        .arg("-t")
        .arg("-c")
        .arg(rc)
        .output()
        .expect("Debian's monit");
    (
        monit.status.code().unwrap_or(-1),
        sb.cli_as(&[], rc, &["-t"]),
    )
}

#[test]
fn a_control_file_owned_by_another_user_or_open_to_others_is_refused_as_monit_does() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new();
    sb.write_rc("set daemon 30\n");
    let me = rustix::process::geteuid().as_raw();
    // The other user: nobody when we are root, else we cannot chown.
    let cases: &[(&str, u32, Option<u32>, bool, &str)] = &[
        ("0600 mine", 0o600, None, true, ""),
        ("0700 mine", 0o700, None, true, ""),
        (
            "0644 mine",
            0o644,
            None,
            false,
            "readable or writable by group or others",
        ),
        (
            "0666 mine",
            0o666,
            None,
            false,
            "readable or writable by group or others",
        ),
        (
            "0640 mine",
            0o640,
            None,
            false,
            "readable or writable by group or others",
        ),
        (
            "0600 nobody's",
            0o600,
            Some(65534),
            false,
            "must be owned by you",
        ),
    ];
    let mut t = Tally::default();
    for (what, mode, owner, accepted, words) in cases {
        if owner.is_some() && me != 0 {
            continue;
        }
        std::os::unix::fs::chown(&sb.rc, Some(owner.unwrap_or(me)), None).unwrap();
        std::fs::set_permissions(&sb.rc, std::fs::Permissions::from_mode(*mode)).unwrap();
        let (monit, warden) = both_check(&sb, &sb.rc);
        let ok = (monit == 0) == *accepted
            && (warden.code == 0) == *accepted
            && warden.stderr.contains(words);
        t.judge(ok, || format!("{what}: monit {monit}, warden {warden:?}"));
    }
    std::os::unix::fs::chown(&sb.rc, Some(me), None).unwrap();
    std::fs::set_permissions(&sb.rc, std::fs::Permissions::from_mode(0o600)).unwrap();

    // An include file open to others: Monit reads it silently; Warden reads
    // it too (a drop-in) and warns.
    let inc = sb.path("inc.rc");
    std::fs::write(&inc, "set daemon 20\n").unwrap();
    sb.write_rc(&format!("set daemon 30\ninclude {}\n", inc.display()));
    for (what, mode, owner, words) in [
        ("include 0666", 0o666, None, "writable by group or others"),
        ("include 0620", 0o620, None, "writable by group or others"),
        (
            "include 0644 nobody's",
            0o644,
            Some(65534),
            "owned by uid 65534",
        ),
    ] {
        if owner.is_some() && me != 0 {
            continue;
        }
        std::os::unix::fs::chown(&inc, Some(owner.unwrap_or(me)), None).unwrap();
        std::fs::set_permissions(&inc, std::fs::Permissions::from_mode(mode)).unwrap();
        let (monit, warden) = both_check(&sb, &sb.rc);
        let all = format!("{}{}", warden.stdout, warden.stderr);
        let ok = monit == 0 && warden.code == 0 && all.contains(words);
        t.judge(ok, || format!("{what}: monit {monit}, warden {warden:?}"));
    }
    t.report("control file owner and mode", 0);
}
