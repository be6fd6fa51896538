//! Network probes against real servers on loopback high ports: Python's
//! http.server (plain and TLS with a self-signed certificate), dnsmasq,
//! redis-server, sshd, memcached and aiosmtpd, each started by its test and
//! killed at its end. Rules go through the real parser and the probe
//! registry; one test runs the real `warden` binary. A test whose server
//! is not installed says so and passes (`scripts/setup` installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use warden_probes::{Metric, Outcome, Probe, RuleSpec, Status};

use util::{Sandbox, alive, answers, free_port, wait_until};

/// Bounds each probe run; never a timing assertion.
const GUARD: Duration = Duration::from_secs(30);

/// A server a test started; killed and reaped on drop.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a server program is installed, or None with the reason printed.
fn installed(program: &str) -> Option<PathBuf> {
    let dirs = std::env::var("PATH").unwrap_or_default();
    let found = dirs
        .split(':')
        .chain(["/usr/sbin", "/usr/bin", "/sbin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file());
    if found.is_none() {
        println!("skipped: {program} is not installed (scripts/setup installs it)");
    }
    found
}

/// Starts `program args`, waits until it accepts TCP on `port`.
fn serve(program: &Path, args: &[&str], port: u16, log: &Path) -> Server {
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let server = Server { child };
    let up = wait_until(Duration::from_secs(15), || answers(port));
    assert!(
        up,
        "{} never listened on {port}: {}",
        program.display(),
        std::fs::read_to_string(log).unwrap_or_default()
    );
    server
}

/// The probe of the first rule of a host check on 127.0.0.1.
fn probe(rule: &str) -> Arc<dyn Probe> {
    let text = format!("check host t with address 127.0.0.1\n  if failed {rule} then alert\n");
    let loaded = warden_config::load_text_without_includes(Path::new("t.rc"), text);
    assert!(!loaded.has_errors(), "{}", loaded.render());
    let checks = loaded.config.unwrap().checks;
    match &warden_probes::probes_for(&checks[0]).rules[0] {
        RuleSpec::Probe(p) => Arc::clone(p),
        other => panic!("no probe for {rule}: {other:?}"),
    }
}

async fn run(rule: &str) -> Outcome {
    tokio::time::timeout(GUARD, probe(rule).run())
        .await
        .unwrap()
}

async fn passes(rule: &str) -> Outcome {
    let out = run(rule).await;
    assert_eq!(out.status, Status::Ok, "{rule}: {}", out.reason);
    out
}

async fn fails(rule: &str) -> Outcome {
    let out = run(rule).await;
    assert_eq!(out.status, Status::Failed, "{rule}: {}", out.reason);
    out
}

/// A folder served by http.server, with one page.
fn site(sb: &Sandbox) -> PathBuf {
    let root = sb.path("site");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.html"), "hello warden 1.0\n").unwrap();
    root
}

#[tokio::test]
async fn http_status_content_and_url_against_python_http_server() {
    let sb = Sandbox::new();
    let (port, root) = (free_port(), site(&sb));
    let python = installed("python3").unwrap();
    let args = [
        "-m",
        "http.server",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
    ];
    let root_arg = ["--directory", root.to_str().unwrap()];
    let _server = serve(
        &python,
        &[&args[..], &root_arg].concat(),
        port,
        &sb.path("http.log"),
    );

    let out = passes(&format!(
        "port {port} protocol http request \"/index.html\" status = 200 and content = \"warden [0-9.]+\""
    ))
    .await;
    assert_eq!(out.value(Metric::HttpStatus), Some(200.0));
    assert!(out.value(Metric::ResponseTime).is_some());
    fails(&format!(
        "port {port} protocol http request \"/index.html\" content = \"apache\""
    ))
    .await;
    fails(&format!(
        "port {port} protocol http request \"/index.html\" content != \"hello\""
    ))
    .await;
    let out = fails(&format!("port {port} protocol http request \"/missing\"")).await;
    assert_eq!(out.value(Metric::HttpStatus), Some(404.0), "{}", out.reason);
    passes(&format!(
        "port {port} protocol http request \"/missing\" status = 404"
    ))
    .await;
    fails(&format!(
        "port {port} protocol http request \"/missing\" status != 404"
    ))
    .await;
    passes(&format!(
        "url http://127.0.0.1:{port}/index.html and content = \"hello\""
    ))
    .await;
    fails(&format!("url http://127.0.0.1:{port}/nothing/here")).await;
}

/// http.server wrapped in TLS with the given certificate.
const HTTPS_SERVER: &str = r#"
import http.server, os, ssl, sys
port, cert, key, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
os.chdir(root)
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), Quiet)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

/// A self-signed certificate for localhost that expires on 1 January two
/// years from now; its PEM files in the sandbox.
fn certificate(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let year = 1970 + (now / 31_556_952) as i32;
    params.not_after = rcgen::date_time_ymd(year + 2, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (sb.path("cert.pem"), sb.path("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

#[tokio::test]
async fn https_reports_certificate_days_and_fails_below_the_limit() {
    let sb = Sandbox::new();
    let (port, root) = (free_port(), site(&sb));
    let (cert, key) = certificate(&sb);
    std::fs::write(sb.path("https.py"), HTTPS_SERVER).unwrap();
    let python = installed("python3").unwrap();
    let script = sb.path("https.py");
    let args = [&script, Path::new(&port.to_string()), &cert, &key, &root]
        .map(|p| p.to_str().unwrap().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _server = serve(&python, &args, port, &sb.path("https.log"));

    let out = passes(&format!(
        "port {port} protocol https request \"/index.html\" content = \"warden\" certificate valid > 1 days"
    ))
    .await;
    let days = out.value(Metric::CertificateDays).unwrap();
    assert!(days > 365.0 && days < 800.0, "{days} days");
    assert_eq!(out.value(Metric::HttpStatus), Some(200.0));
    let out = fails(&format!(
        "port {port} protocol https certificate valid > 10000 days"
    ))
    .await;
    assert!(out.reason.contains("less than 10000"), "{}", out.reason);
    assert!(out.value(Metric::CertificateDays).is_some());
    passes(&format!(
        "url https://localhost:{port}/index.html and content = \"hello\""
    ))
    .await;
    fails(&format!(
        "url https://127.0.0.1:{port}/index.html certificate valid > 10000 days"
    ))
    .await;
    // TLS spoken to a plain port is a failure, not a hang.
    let plain = free_port();
    fails(&format!("port {plain} protocol https")).await;
}

#[tokio::test]
async fn dns_resolve_and_protocol_dns_against_dnsmasq() {
    let Some(dnsmasq) = installed("dnsmasq") else {
        return;
    };
    let sb = Sandbox::new();
    let port = free_port();
    let args = [
        "--keep-in-foreground",
        &format!("--port={port}"),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--user=root",
        "--pid-file",
        "--local=/test/",
        "--host-record=web.test,192.0.2.10",
    ];
    let _server = serve(&dnsmasq, &args, port, &sb.path("dnsmasq.log"));
    let server = format!("server 127.0.0.1 port {port} timeout 2 s");

    let out = passes(&format!("resolve \"web.test\" to 192.0.2.10 {server}")).await;
    assert!(out.reason.contains("192.0.2.10"), "{}", out.reason);
    assert!(out.value(Metric::ResponseTime).is_some());
    passes(&format!("resolve \"web.test\" {server}")).await;
    let out = fails(&format!("resolve \"web.test\" to 192.0.2.99 {server}")).await;
    assert!(out.reason.contains("not 192.0.2.99"), "{}", out.reason);
    fails(&format!("resolve \"nothing.test\" {server}")).await;
    passes(&format!("port {port} type udp protocol dns")).await;
    passes(&format!("port {port} protocol dns")).await;

    let closed = free_port();
    fails(&format!(
        "resolve \"web.test\" server 127.0.0.1 port {closed} timeout 1 s"
    ))
    .await;
}

#[tokio::test]
async fn redis_answers_ping_and_a_password_is_sent_with_auth() {
    let Some(redis) = installed("redis-server") else {
        return;
    };
    let sb = Sandbox::new();
    let port = free_port();
    let p = port.to_string();
    let args = [
        "--port",
        &p,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ];
    let server = serve(&redis, &args, port, &sb.path("redis.log"));
    passes(&format!("port {port} protocol redis")).await;

    let locked = free_port();
    let lp = locked.to_string();
    let args = [
        "--port",
        &lp,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--requirepass",
        "s3cret",
    ];
    let _locked = serve(&redis, &args, locked, &sb.path("redis2.log"));
    let out = fails(&format!("port {locked} protocol redis")).await;
    assert!(out.reason.contains("NOAUTH"), "{}", out.reason);
    passes(&format!("port {locked} protocol redis password \"s3cret\"")).await;
    fails(&format!("port {locked} protocol redis password \"wrong\"")).await;

    drop(server);
    fails(&format!("port {port} protocol redis")).await;
}

#[tokio::test]
async fn sshd_sends_its_identification() {
    let (Some(sshd), Some(keygen)) = (installed("sshd"), installed("ssh-keygen")) else {
        return;
    };
    let sb = Sandbox::new();
    let key = sb.path("hostkey");
    let made = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir_all("/run/sshd").unwrap();
    std::fs::write(sb.path("sshd_config"), "").unwrap();
    let port = free_port();
    let config = sb.path("sshd_config");
    let (p, k, c) = (
        port.to_string(),
        key.to_str().unwrap(),
        config.to_str().unwrap(),
    );
    let args = ["-D", "-e", "-f", c, "-p", &p, "-h", k];
    let args = [
        &args[..],
        &["-o", "ListenAddress=127.0.0.1", "-o", "PidFile=none"],
    ]
    .concat();
    let _server = serve(&sshd, &args, port, &sb.path("sshd.log"));
    passes(&format!("port {port} protocol ssh")).await;
    // An ssh test of a port that speaks something else fails.
    let (other, root) = (free_port(), site(&sb));
    let python = installed("python3").unwrap();
    let http = [
        "-m",
        "http.server",
        &other.to_string(),
        "--bind",
        "127.0.0.1",
    ];
    let dir = ["--directory", root.to_str().unwrap()];
    let _http = serve(
        &python,
        &[&http[..], &dir].concat(),
        other,
        &sb.path("http.log"),
    );
    fails(&format!("port {other} protocol ssh timeout 1 s")).await;
}

#[tokio::test]
async fn memcached_answers_a_binary_noop() {
    let Some(memcached) = installed("memcached") else {
        return;
    };
    let sb = Sandbox::new();
    let port = free_port();
    let p = port.to_string();
    let args = ["-p", &p, "-l", "127.0.0.1", "-U", "0", "-u", "root"];
    let server = serve(&memcached, &args, port, &sb.path("memcached.log"));
    passes(&format!("port {port} protocol memcache")).await;
    drop(server);
    fails(&format!("port {port} protocol memcache")).await;
}

#[tokio::test]
async fn aiosmtpd_passes_ehlo_and_quit_and_imap_on_it_fails() {
    let sb = Sandbox::new();
    let port = free_port();
    // Debian's Python: aiosmtpd is a Debian package, not in other Pythons.
    let python = Path::new("/usr/bin/python3");
    let listen = format!("127.0.0.1:{port}");
    let args = ["-m", "aiosmtpd", "-n", "-l", &listen];
    let _server = serve(python, &args, port, &sb.path("smtp.log"));
    // Listening is not yet serving: wait for a greeting, so that a slow
    // start under load is not taken for the probe's failure.
    let greets = || {
        let mut line = String::new();
        TcpStream::connect(("127.0.0.1", port))
            .and_then(|s| {
                s.set_read_timeout(Some(Duration::from_secs(2)))?;
                BufReader::new(s).read_line(&mut line)
            })
            .is_ok_and(|_| line.starts_with("220"))
    };
    assert!(
        wait_until(Duration::from_secs(15), greets),
        "aiosmtpd never greeted"
    );
    passes(&format!("port {port} protocol smtp")).await;
    let out = fails(&format!("port {port} protocol imap")).await;
    assert!(out.reason.contains("220"), "{}", out.reason);
}

/// Sends one RESP command and returns the first line of the answer.
fn redis_command(port: u16, words: &[&str]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut command = format!("*{}\r\n", words.len());
    for w in words {
        command.push_str(&format!("${}\r\n{w}\r\n", w.len()));
    }
    stream.write_all(command.as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn warden_restarts_a_redis_whose_protocol_test_fails_while_its_port_is_open() {
    let Some(redis) = installed("redis-server") else {
        return;
    };
    let sb = Sandbox::new();
    let port = free_port();
    let pidfile = sb.pidfile("cache");
    sb.write_rc(&format!(
        "set daemon 1\n\
         check process cache with pidfile {pid}\n  \
         start program = \"{redis} --port {port} --bind 127.0.0.1 --save '' --appendonly no \
         --daemonize yes --pidfile {pid}\" with timeout 10 seconds\n  \
         stop program = \"/bin/sh -c 'kill -9 $(cat {pid})'\"\n  \
         if failed port {port} protocol redis then restart\n",
        pid = pidfile.display(),
        redis = redis.display(),
    ));
    let _w = sb.warden();
    assert!(sb.started("cache", port), "never started:\n{}", sb.log());
    let first = sb.pid("cache").expect("pidfile");
    // Still running, port open, but PING now answers -NOAUTH.
    assert_eq!(
        redis_command(port, &["CONFIG", "SET", "requirepass", "x"]),
        "+OK"
    );
    let back = wait_until(Duration::from_secs(20), || {
        sb.pid("cache").is_some_and(|p| p != first && alive(p))
            && answers(port)
            && redis_command(port, &["PING"]) == "+PONG"
    });
    assert!(back, "not restarted:\n{}", sb.log());
    assert!(!alive(first), "the locked instance still runs");
    assert!(sb.log().contains("NOAUTH"), "{}", sb.log());
}

/// A loopback server in this test process that greets each connection
/// with `220 ready` after `delay`; its port and a count of connections.
fn slow_greeter(delay: Duration) -> (u16, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let _ = s.write_all(b"220 ready\r\n");
            });
        }
    });
    (port, count)
}

#[test]
fn warden_fails_a_response_slower_than_its_limit_and_passes_one_within_it() {
    let sb = Sandbox::new();
    let (port, connections) = slow_greeter(Duration::from_millis(200));
    let touch = |flag: &str| format!("exec \"/usr/bin/touch {}\"", sb.path(flag).display());
    sb.write_rc(&format!(
        "set daemon 1\n\
         check host slow with address 127.0.0.1 every 200 ms\n  \
         if failed port {port} expect \"^220\" with responsetime < 1 ms then {}\n  \
         if failed port {port} expect \"^220\" with responsetime < 5 s then {}\n",
        touch("tight.flag"),
        touch("loose.flag"),
    ));
    let _w = sb.warden();
    let fired = wait_until(Duration::from_secs(15), || sb.path("tight.flag").exists());
    assert!(fired, "the 1 ms limit never failed:\n{}", sb.log());
    // Five more cycles of both rules.
    let seen = connections.load(Ordering::SeqCst);
    let checked = wait_until(Duration::from_secs(15), || {
        connections.load(Ordering::SeqCst) >= seen + 10
    });
    assert!(checked, "{}", sb.log());
    assert!(
        !sb.path("loose.flag").exists(),
        "the 5 s limit failed:\n{}",
        sb.log()
    );
    assert!(
        sb.log().contains("does not meet the limit < 0.001 s"),
        "{}",
        sb.log()
    );
}

/// The newest `/usr/lib/postgresql/N/bin` with initdb and postgres.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").is_file() && b.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

#[tokio::test]
async fn pgsql_answers_a_startup_and_a_trusted_login_against_postgresql() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let Some(bin) = postgres_bin() else {
        println!("skipped: PostgreSQL is not installed (scripts/setup installs it)");
        return;
    };
    let ids = warden_config::users::uid("postgres").zip(warden_config::users::gid("postgres"));
    let (Some((uid, gid)), true) = (ids, rustix::process::geteuid().is_root()) else {
        println!("skipped: PostgreSQL refuses root and only root can switch to its user");
        return;
    };
    let sb = Sandbox::new();
    // The postgres user must reach its folder inside the sandbox.
    std::fs::set_permissions(sb.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let home = sb.path("pg");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
    let data = home.join("data");
    let init = Command::new(bin.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--locale=C",
            "-E",
            "UTF8",
            "-D",
        ])
        .arg(&data)
        .current_dir(&home)
        .uid(uid)
        .gid(gid)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = free_port();
    let log = std::fs::File::create(sb.path("postgres.log")).unwrap();
    let child = Command::new(bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(&home)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .current_dir(&home)
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let _server = Server { child };
    let up = wait_until(Duration::from_secs(20), || answers(port));
    assert!(
        up,
        "postgres never listened:\n{}",
        util::file(&sb.path("postgres.log"))
    );
    passes(&format!("port {port} protocol pgsql")).await;
    // A server still starting up refuses logins ("the database system is
    // starting up"): a failure with its words, tried again within a bound.
    let login = format!("port {port} protocol pgsql username \"postgres\" database \"postgres\"");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut out = run(&login).await;
    while out.status != Status::Ok && std::time::Instant::now() < deadline {
        assert!(out.reason.contains("starting up"), "{}", out.reason);
        tokio::time::sleep(Duration::from_millis(200)).await;
        out = run(&login).await;
    }
    assert_eq!(out.status, Status::Ok, "{}", out.reason);
    let out = fails(&format!("port {port} protocol pgsql username \"nobody\"")).await;
    assert!(out.reason.contains("nobody"), "{}", out.reason);
    drop(_server);
    fails(&format!("port {port} protocol pgsql")).await;
}
