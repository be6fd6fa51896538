//! A loopback webhook receiver in Python for the alert tests: appends each
//! POST body as a line to a file in the sandbox, answers 200, killed on drop.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{Sandbox, answers, wait_until};

const RECEIVER: &str = r#"
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f: f.write(body + b"\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *_): pass
http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
"#;

pub struct Receiver {
    child: Child,
    out: PathBuf,
}

impl Receiver {
    /// Listens on `port` once it answers; the bodies go to the sandbox's
    /// own folder (not a disk a test fills).
    pub fn start(sb: &Sandbox, port: u16) -> Receiver {
        let script = sb.path("receiver.py");
        std::fs::write(&script, RECEIVER).unwrap();
        let out = sb.path("hooks.jsonl");
        let child = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert!(wait_until(Duration::from_secs(10), || answers(port)));
        Receiver { child, out }
    }

    /// Every body received so far, parsed.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        super::file(&self.out)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
