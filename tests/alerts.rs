//! End to end: alerts from the real `warden` binary to a real SMTP server
//! (Debian's python3-aiosmtpd) and a real HTTP receiver on loopback: one
//! mail per restart, custom formats, STARTTLS trusted or not, a server down
//! then up, a Warden killed with mail queued, webhooks, and no duplicate
//! after a reload.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod util;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustix::process::Signal;
use util::webhook::Receiver;
use util::{Sandbox, answers, free_port, wait_until};

/// Debian's Python: aiosmtpd is a Debian package, not in other Pythons.
const PYTHON: &str = "/usr/bin/python3";

/// A loopback SMTP server printing every message to a file; killed on drop.
struct Smtp {
    child: Child,
    out: PathBuf,
}

impl Smtp {
    fn start(sb: &Sandbox, port: u16, tls: Option<(&Path, &Path)>) -> Smtp {
        let out = sb.path(&format!("smtp-{port}.out"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
            .unwrap();
        let mut cmd = Command::new(PYTHON);
        cmd.args(["-u", "-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        if let Some((cert, key)) = tls {
            cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        let child = cmd
            .stdin(Stdio::null())
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

    /// Every message received so far, headers and body.
    fn messages(&self) -> Vec<String> {
        messages(&self.out)
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn messages(out: &Path) -> Vec<String> {
    util::file(out)
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

fn host() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// A check whose process never exists and that has no start program: one
/// "Does not exist" alert, then nothing until it changes.
fn missing_check() -> &'static str {
    "check process ghost with pidfile {dir}/ghost.pid\n"
}

/// Waits until exactly `n` mails arrived, then a little longer to see
/// that no more follow (a duplicate would come within the delivery pass).
fn exactly(n: usize, get: impl Fn() -> usize) -> usize {
    wait_until(Duration::from_secs(20), || get() >= n);
    std::thread::sleep(Duration::from_secs(3));
    get()
}

#[test]
fn a_restart_sends_one_mail_naming_the_service_and_the_event() {
    let sb = Sandbox::new();
    let (port, smtp_port) = (free_port(), free_port());
    let smtp = Smtp::start(&sb, smtp_port, None);
    sb.write_rc(&format!(
        "set daemon 60\nset statefile {{dir}}/state\n\
         set mailserver 127.0.0.1 port {smtp_port}\nset alert ops@example.com\n\
         check process svc with pidfile {pidfile}\n  start program = \"{start}\" with timeout 10 seconds\n",
        pidfile = sb.pidfile("svc").display(),
        start = sb.service_cmd("svc", port, "serve"),
    ));
    let _w = sb.warden();
    assert!(sb.started("svc", port), "never started:\n{}", sb.log());
    // The first start (the service was not running) is one alert too.
    assert_eq!(exactly(1, || smtp.messages().len()), 1, "{}", sb.log());
    util::kill(sb.pid("svc").unwrap(), Signal::KILL);
    assert_eq!(exactly(2, || smtp.messages().len()), 2, "{}", sb.log());
    let mail = &smtp.messages()[1];
    // The exit is seen through the pidfd, sometimes before the process is
    // reaped: the event is then "Zombie" rather than "Does not exist".
    let event = ["Does not exist", "Zombie"]
        .into_iter()
        .find(|e| mail.contains(&format!("Subject: warden alert --  {e} svc")))
        .unwrap_or_else(|| panic!("wrong subject:\n{mail}"));
    for needle in [
        format!("From: warden@{}", host()),
        "To: ops@example.com".to_string(),
        format!("{event} Service svc"),
        "Action:      restart".to_string(),
        "Description: ".to_string(),
    ] {
        assert!(mail.contains(&needle), "{needle:?} missing from:\n{mail}");
    }
}

#[test]
fn a_custom_mail_format_is_honoured() {
    let sb = Sandbox::new();
    let smtp_port = free_port();
    let smtp = Smtp::start(&sb, smtp_port, None);
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/state\nset mailserver 127.0.0.1 port {smtp_port}\n\
         set mail-format {{\n  from: Alerts <alerts@example.com>\n  subject: [W] $SERVICE $EVENT\n  \
         message: custom $SERVICE on $HOST did $ACTION: $DESCRIPTION\n}}\n\
         set alert ops@example.com\n{}",
        missing_check()
    ));
    let _w = sb.warden();
    assert_eq!(exactly(1, || smtp.messages().len()), 1, "{}", sb.log());
    let mail = &smtp.messages()[0];
    assert!(mail.contains("From: Alerts <alerts@example.com>"), "{mail}");
    assert!(mail.contains("Subject: [W] ghost Does not exist"), "{mail}");
    assert!(
        mail.contains(&format!("custom ghost on {} did alert: ", host())),
        "{mail}"
    );
}

/// A self-signed certificate for 127.0.0.1 (not a CA: rustls refuses a CA
/// certificate as the server's own).
fn self_signed(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let cnf = sb.path("cert.cnf");
    std::fs::write(
        &cnf,
        "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\nCN = 127.0.0.1\n\
         [ext]\nbasicConstraints = critical,CA:FALSE\nsubjectAltName = IP:127.0.0.1\n\
         keyUsage = digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    let (cert, key) = (sb.path("cert.pem"), sb.path("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-config",
        ])
        .arg(&cnf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success());
    (cert, key)
}

fn starttls_rc(sb: &Sandbox, smtp_port: u16, options: &str) {
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/state\n\
         set mailserver 127.0.0.1 port {smtp_port} using tls {options} with timeout 5 seconds\n\
         set alert ops@example.com\n{}",
        missing_check()
    ));
}

#[test]
fn starttls_with_a_trusted_self_signed_certificate_delivers() {
    let sb = Sandbox::new();
    let (cert, key) = self_signed(&sb);
    let smtp_port = free_port();
    let smtp = Smtp::start(&sb, smtp_port, Some((&cert, &key)));
    starttls_rc(
        &sb,
        smtp_port,
        &format!("{{ cacertificatefile: {} }}", cert.display()),
    );
    let _w = sb.warden();
    assert_eq!(exactly(1, || smtp.messages().len()), 1, "{}", sb.log());
    assert!(smtp.messages()[0].contains("Subject: warden alert --  Does not exist ghost"));
}

#[test]
fn starttls_with_an_untrusted_certificate_fails_with_a_clear_error() {
    let sb = Sandbox::new();
    let (cert, key) = self_signed(&sb);
    let smtp_port = free_port();
    let smtp = Smtp::start(&sb, smtp_port, Some((&cert, &key)));
    starttls_rc(&sb, smtp_port, "");
    let _w = sb.warden();
    let logged = wait_until(Duration::from_secs(15), || {
        sb.log()
            .lines()
            .any(|l| l.contains("not delivered") && l.contains("certificate"))
    });
    assert!(logged, "no certificate error logged:\n{}", sb.log());
    assert!(smtp.messages().is_empty());
}

/// A loopback port bound but not listening: connections to it are refused
/// (a server that is down), and no other test can take it meanwhile.
/// Dropping the socket frees it for the server the test starts later.
fn reserved_port() -> (rustix::fd::OwnedFd, u16) {
    use rustix::net::{AddressFamily, SocketType, sockopt};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    sockopt::set_socket_reuseaddr(&fd, true).unwrap();
    let any = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0);
    rustix::net::bind(&fd, &any).unwrap();
    let port = match rustix::net::getsockname(&fd).unwrap().try_into() {
        Ok(std::net::SocketAddr::V4(a)) => a.port(),
        other => panic!("not an IPv4 address: {other:?}"),
    };
    (fd, port)
}

#[test]
fn a_mail_server_down_when_the_event_happens_gets_the_mail_once_it_is_up() {
    let sb = Sandbox::new();
    let (reserved, smtp_port) = reserved_port();
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/state\nset mailserver 127.0.0.1 port {smtp_port}\n\
         set alert ops@example.com\n{}",
        missing_check()
    ));
    let _w = sb.warden();
    let retried = wait_until(Duration::from_secs(15), || {
        sb.log_count("not delivered (attempt 2)") > 0
    });
    assert!(retried, "no retry logged:\n{}", sb.log());
    drop(reserved);
    let smtp = Smtp::start(&sb, smtp_port, None);
    assert_eq!(exactly(1, || smtp.messages().len()), 1, "{}", sb.log());
    assert_eq!(queued(&sb), 0, "the delivered alert is still queued");
}

/// Files in the default queue folder (next to the state file).
fn queued(sb: &Sandbox) -> usize {
    std::fs::read_dir(sb.path("state.queue"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_mail_queued_when_warden_is_killed_is_sent_after_it_restarts_once() {
    let sb = Sandbox::new();
    let (reserved, smtp_port) = reserved_port();
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/state\nset mailserver 127.0.0.1 port {smtp_port}\n\
         set alert ops@example.com\n{}",
        missing_check()
    ));
    let w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(15), || queued(&sb) == 1),
        "nothing queued:\n{}",
        sb.log()
    );
    w.signal(Signal::KILL);
    drop(w);
    let entry = std::fs::read_dir(sb.path("state.queue"))
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "json"))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&util::file(&entry.path())).unwrap();
    assert_eq!(json["event"]["service"], "ghost");
    drop(reserved);
    let smtp = Smtp::start(&sb, smtp_port, None);
    let _w = sb.warden();
    assert_eq!(exactly(1, || smtp.messages().len()), 1, "{}", sb.log());
    assert_eq!(queued(&sb), 0);
}

fn webhook_rc(sb: &Sandbox, port: u16) {
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/state\n\
         set alert webhook \"http://127.0.0.1:{port}/hook\"\n{}",
        missing_check()
    ));
}

#[test]
fn a_webhook_receiver_gets_the_json_payload() {
    let sb = Sandbox::new();
    let port = free_port();
    let hook = Receiver::start(&sb, port);
    webhook_rc(&sb, port);
    let _w = sb.warden();
    assert_eq!(exactly(1, || hook.bodies().len()), 1, "{}", sb.log());
    let body = &hook.bodies()[0];
    assert_eq!(body["service"], "ghost");
    assert_eq!(body["event"], "Does not exist");
    assert_eq!(body["failure"], true);
    assert_eq!(body["host"], host().as_str());
    assert_eq!(body["events"][0]["service"], "ghost");
}

#[test]
fn a_webhook_receiver_down_then_up_gets_the_alert_once() {
    let sb = Sandbox::new();
    let (reserved, port) = reserved_port();
    webhook_rc(&sb, port);
    let _w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(15), || sb.log_count("not delivered")
            > 0),
        "{}",
        sb.log()
    );
    drop(reserved);
    let hook = Receiver::start(&sb, port);
    assert_eq!(exactly(1, || hook.bodies().len()), 1, "{}", sb.log());
}

#[test]
fn a_reload_with_an_unchanged_failing_service_sends_no_duplicate() {
    let sb = Sandbox::new();
    let smtp_port = free_port();
    let smtp = Smtp::start(&sb, smtp_port, None);
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/state\nset mailserver 127.0.0.1 port {smtp_port}\n\
         set alert ops@example.com\n{}",
        missing_check()
    ));
    let w = sb.warden();
    assert_eq!(exactly(1, || smtp.messages().len()), 1, "{}", sb.log());
    w.signal(Signal::HUP);
    assert!(wait_until(Duration::from_secs(10), || sb
        .log_count("reinitializing")
        > 0));
    // The reloaded check fails again at once; it is remembered as alerted.
    assert!(
        wait_until(Duration::from_secs(10), || sb
            .log_count("alerted to ops@example.com already")
            > 0),
        "{}",
        sb.log()
    );
    assert_eq!(exactly(1, || smtp.messages().len()), 1, "{}", sb.log());
}
