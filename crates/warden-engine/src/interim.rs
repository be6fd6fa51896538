//! Stand-in probes for process (pidfile, pid) and TCP port checks, used
//! until `warden_probes` has its registry; they follow the same rules
//! (zombie is not running, a pidfile older than its process is stale).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use warden_config::model::{Check, CheckKind, Endpoint, ProcessTarget, SocketType, Test};
use warden_probes::{BoxFuture, Outcome, Probe, ProcessFacts, Status, procfs};

/// Builds the probes a check needs; the engine asks through this trait so
/// the probe crate's registry can replace the stand-ins without changes here.
pub trait ProbeFactory: Send + Sync + std::fmt::Debug {
    fn subject(&self, check: &Check) -> Option<Arc<dyn Probe>>;
    fn rule(&self, check: &Check, test: &Test) -> Option<Arc<dyn Probe>>;
}

#[derive(Debug, Default)]
pub struct InterimFactory;

impl ProbeFactory for InterimFactory {
    fn subject(&self, check: &Check) -> Option<Arc<dyn Probe>> {
        match &check.kind {
            CheckKind::Process { target } => Some(Arc::new(ProcessProbe {
                target: target.clone(),
            })),
            _ => None,
        }
    }

    fn rule(&self, _check: &Check, test: &Test) -> Option<Arc<dyn Probe>> {
        let Test::Connection(c) = test else {
            return None;
        };
        match &c.endpoint {
            Endpoint::Port {
                host,
                port,
                socket: SocketType::Tcp,
                ..
            } => Some(Arc::new(TcpProbe {
                addr: format!("{}:{port}", host.as_deref().unwrap_or("127.0.0.1")),
                timeout: c.timeout.unwrap_or(Duration::from_secs(5)),
            })),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct ProcessProbe {
    target: ProcessTarget,
}

impl Probe for ProcessProbe {
    fn kind(&self) -> &'static str {
        "process"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match &self.target {
                ProcessTarget::Pidfile(p) => by_pidfile(p.clone()),
                ProcessTarget::Pid(pid) => by_pid(*pid, None),
                other => Outcome::failed(Status::Error, format!("{other:?} is not supported yet")),
            }
        })
    }
}

fn by_pidfile(path: PathBuf) -> Outcome {
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Outcome::failed(Status::Missing, "process is not running (no pidfile)");
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return Outcome::failed(
            Status::Missing,
            "process is not running (no pid in the pidfile)",
        );
    };
    let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    by_pid(pid, mtime)
}

fn by_pid(pid: u32, written: Option<std::time::SystemTime>) -> Outcome {
    let stat = match procfs::read_stat(pid) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Outcome::failed(
                Status::Missing,
                format!("process is not running (no process {pid})"),
            );
        }
        Err(e) => return Outcome::failed(Status::Error, format!("cannot read process {pid}: {e}")),
    };
    if stat.is_zombie() {
        return Outcome::failed(
            Status::Zombie,
            format!("process with pid {pid} is a zombie"),
        );
    }
    let started = procfs::start_wall_time(stat.starttime);
    // One second of slack: the clock tick and the file time round differently.
    if written.is_some_and(|w| started > w + Duration::from_secs(1)) {
        return Outcome::failed(
            Status::Missing,
            format!("process is not running (stale pidfile, pid {pid} is another process)"),
        );
    }
    let mut out = Outcome::ok(format!("process is running with pid {pid}"));
    out.process = Some(ProcessFacts {
        pid,
        ppid: stat.ppid,
        start_ticks: stat.starttime,
    });
    out
}

#[derive(Debug)]
struct TcpProbe {
    addr: String,
    timeout: Duration,
}

impl Probe for TcpProbe {
    fn kind(&self) -> &'static str {
        "port"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(&self.addr))
                .await
            {
                Ok(Ok(_)) => Outcome::ok(format!("connection to {} succeeded", self.addr)),
                Ok(Err(e)) => Outcome::failed(
                    Status::Failed,
                    format!("failed to connect to {}: {e}", self.addr),
                ),
                Err(_) => Outcome::failed(
                    Status::Failed,
                    format!("connection to {} timed out", self.addr),
                ),
            }
        })
    }
}
