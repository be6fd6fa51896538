//! Head-of-line blocking: port checks of which some target a listener
//! that never answers (full backlog: connects hang until their timeout),
//! beside healthy port checks and the killed TCP service. Measured: the
//! period of the healthy checks (gaps between connections their listeners
//! saw) and the restart latency of the service.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::net::{self, Answering, Blackhole};
use crate::restart;
use crate::sandbox::{Monitor, Sandbox};
use crate::stats;

/// The scenario's size.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Port checks in all; every tenth (and the first) hangs.
    pub checks: usize,
    pub timeout_s: u64,
    pub seconds: u64,
    pub kills: usize,
}

pub fn run(monitor: Monitor, bin: &Path, size: Size) -> Result<Value, String> {
    let sb = Sandbox::new()?;
    let hanging: Vec<bool> = (0..size.checks).map(|i| i % 10 == 0).collect();
    let healthy = Answering::start(hanging.iter().filter(|h| !**h).count())?;
    let hole = Blackhole::start()?;
    let port = net::free_port()?;
    let mut rc = monitor.header(sb.dir.path());
    let mut ports = healthy.ports.iter();
    for (i, hangs) in hanging.iter().enumerate() {
        let p = if *hangs {
            Some(&hole.port)
        } else {
            ports.next()
        };
        let _ = writeln!(
            rc,
            "check host h{i} with address 127.0.0.1\n  if failed port {} type tcp with timeout {} seconds then alert",
            p.ok_or("port count")?,
            size.timeout_s
        );
    }
    rc += &sb.service_check(port)?;
    let rc = sb.write_rc(&rc)?;
    let sup = sb.start(monitor, bin, &rc)?;
    // Monit's first cycle alone takes as long as all hanging checks.
    let hangs = hanging.iter().filter(|h| **h).count() as u64;
    let limit = Duration::from_secs(30 + 3 * size.timeout_s * hangs);
    let mut pid = restart::first_start(&sb, monitor, limit)?;
    let from = healthy.now();
    let mut samples = Vec::new();
    for k in 0..size.kills {
        std::thread::sleep(Duration::from_millis(1300 + 370 * k as u64));
        let (sample, back) = restart::kill_once(&sb, monitor, &sup, port, pid, limit)?;
        samples.push(sample);
        pid = back;
    }
    let left = size.seconds as f64 - (healthy.now() - from);
    if left > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(left));
    }
    if !sup.alive() {
        return Err(sb.fail(monitor, "the monitor exited"));
    }
    let gaps: Vec<f64> = healthy.gaps(from, healthy.now()).concat();
    let mut out = restart::summary(&samples);
    out["healthy_period_s"] = stats::summary(&gaps);
    out["healthy_checks"] = json!(healthy.ports.len());
    out["hanging_checks"] = json!(hanging.iter().filter(|h| **h).count());
    out["measured_s"] = json!(healthy.now() - from);
    Ok(out)
}
