//! The alert receivers: a real SMTP server (Debian's python3-aiosmtpd)
//! and a webhook receiver, both on loopback, each stopped and started
//! again by the faults; what they received is read from their files.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::procs::Child;

/// Debian's Python: aiosmtpd is a Debian package, not in other Pythons.
const PYTHON: &str = "/usr/bin/python3";

const RECEIVER: &str = r#"
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f: f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *_): pass
http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
"#;

/// One receiver, up or down.
#[derive(Debug)]
pub struct Peer {
    what: &'static str,
    port: u16,
    out: PathBuf,
    script: Option<PathBuf>,
    child: Option<Child>,
    /// While down, the port is held bound but not listening: connections
    /// are refused, and no other program (another soak) can take it.
    held: Option<rustix::fd::OwnedFd>,
}

/// Binds `port` on loopback without listening.
fn hold(port: u16) -> Option<rustix::fd::OwnedFd> {
    use rustix::net::{AddressFamily, SocketType, sockopt};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).ok()?;
    sockopt::set_socket_reuseaddr(&fd, true).ok()?;
    let at = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port);
    rustix::net::bind(&fd, &at).ok()?;
    Some(fd)
}

impl Peer {
    pub fn smtp(dir: &Path, port: u16) -> Peer {
        Peer {
            what: "smtp",
            port,
            out: dir.join("smtp.out"),
            script: None,
            child: None,
            held: None,
        }
    }

    pub fn webhook(dir: &Path, port: u16) -> Result<Peer, String> {
        let script = dir.join("receiver.py");
        std::fs::write(&script, RECEIVER).map_err(|e| format!("receiver: {e}"))?;
        Ok(Peer {
            what: "webhook",
            port,
            out: dir.join("hooks.jsonl"),
            script: Some(script),
            child: None,
            held: None,
        })
    }

    /// Starts it and waits (bounded) until it accepts connections.
    pub fn up(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        self.held = None;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.out)
            .map_err(|e| format!("{} out: {e}", self.what))?;
        let mut cmd = Command::new(PYTHON);
        match &self.script {
            None => {
                cmd.args(["-u", "-m", "aiosmtpd", "-n", "-l"])
                    .arg(format!("127.0.0.1:{}", self.port))
                    .stdout(log.try_clone().map_err(|e| e.to_string())?)
                    .stderr(log);
            }
            Some(s) => {
                cmd.arg(s)
                    .arg(self.port.to_string())
                    .arg(&self.out)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
            }
        }
        cmd.stdin(Stdio::null());
        let child = Child::spawn(&mut cmd)
            .map_err(|e| format!("{e} (scripts/setup installs python3-aiosmtpd)"))?;
        let port = self.port;
        let answers = crate::wait_until(Duration::from_secs(15), Duration::from_millis(50), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        self.child = Some(child);
        if answers {
            Ok(())
        } else {
            Err(format!("{} did not listen on {port}", self.what))
        }
    }

    /// Kills it (dropping the child kills and waits).
    pub fn down(&mut self) {
        self.child = None;
        self.held = hold(self.port);
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

/// Every mail received, headers and body.
pub fn mails(text: &str) -> Vec<String> {
    text.split("---------- MESSAGE FOLLOWS ----------")
        .skip(1)
        .map(|m| {
            m.split("------------ END MESSAGE ------------")
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// Every webhook body received.
pub fn hooks(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
