//! Debian's `prometheus-alertmanager` and `prometheus` as real peers for the
//! Alertmanager and fleet tests: each started on a loopback port with its
//! own folder (no clustering), asked over plain HTTP, killed on drop.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
pub const PROMETHEUS: &str = "/usr/bin/prometheus";

/// Alertmanager's configuration: one receiver that sends nothing, alerts
/// grouped at once; the tests read `/api/v2/alerts` and `/metrics`.
const CONFIG: &str = "route:\n  receiver: none\n  group_wait: 0s\n  group_interval: 1s\n  \
                      repeat_interval: 1h\nreceivers:\n  - name: none\n";

/// A running Alertmanager; killed on drop.
pub struct Alertmanager {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl Alertmanager {
    /// Starts it in `dir` (config, storage, log) on `port` and waits until
    /// it answers (at most 20 s).
    pub fn start(dir: &Path, port: u16) -> Alertmanager {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("alertmanager.yml"), CONFIG).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("alertmanager.log"))
            .unwrap();
        let child = Command::new(ALERTMANAGER)
            .arg(format!(
                "--config.file={}",
                dir.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus-alertmanager (scripts/setup installs it)");
        let am = Alertmanager {
            child: Some(child),
            port,
            dir: dir.to_path_buf(),
        };
        assert!(
            crate::util::wait_until(Duration::from_secs(20), || get(port, "/-/ready")
                .is_some_and(|(code, _)| code == 200)),
            "Alertmanager did not start:\n{}",
            am.log()
        );
        am
    }

    pub fn log(&self) -> String {
        crate::util::file(&self.dir.join("alertmanager.log"))
    }

    /// The active alerts (`GET /api/v2/alerts`); resolved ones are not listed.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        get(self.port, "/api/v2/alerts")
            .and_then(|(_, body)| serde_json::from_str(&body).ok())
            .unwrap_or_default()
    }

    /// The active alert whose labels include every pair of `labels`.
    pub fn alert(&self, labels: &[(&str, &str)]) -> Option<serde_json::Value> {
        self.alerts()
            .into_iter()
            .find(|a| labels.iter().all(|(k, v)| a["labels"][*k] == *v))
    }

    /// How many alerts it received through the v2 API with `status`
    /// (`firing` or `resolved`), from its own counter.
    pub fn received(&self, status: &str) -> u64 {
        let needle =
            format!("alertmanager_alerts_received_total{{status=\"{status}\",version=\"v2\"}} ");
        get(self.port, "/metrics")
            .and_then(|(_, body)| {
                body.lines()
                    .find_map(|l| l.strip_prefix(&needle).and_then(|n| n.trim().parse().ok()))
            })
            .unwrap_or(0)
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running Prometheus; killed on drop.
pub struct Prometheus {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts it with `config` (YAML) in `dir` on `port`; waits until ready.
    pub fn start(dir: &Path, port: u16, config: &str) -> Prometheus {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(PROMETHEUS)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus (scripts/setup installs it)");
        let p = Prometheus {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        assert!(
            crate::util::wait_until(Duration::from_secs(30), || get(port, "/-/ready")
                .is_some_and(|(code, _)| code == 200)),
            "Prometheus did not start:\n{}",
            p.log()
        );
        p
    }

    pub fn log(&self) -> String {
        crate::util::file(&self.dir.join("prometheus.log"))
    }

    /// `GET path`, parsed as JSON (Null when it does not answer).
    pub fn api(&self, path: &str) -> serde_json::Value {
        get(self.port, path)
            .and_then(|(_, body)| serde_json::from_str(&body).ok())
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` on 127.0.0.1:port over HTTP/1.0: the status and the body;
/// None when nothing answers within 2 s.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((code, body.to_string()))
}
