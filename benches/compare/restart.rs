//! Restart latency: SIGKILL the monitored TCP service and time, from the
//! kill, the moment its start program ran and the moment its port answered
//! again. Shared by the `restart` and `hol` scenarios.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::net;
use crate::procs::{self, Child};
use crate::sandbox::{Monitor, SERVICE_MARKER, Sandbox, wait_until};
use crate::stats;

/// One kill, in milliseconds after it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub start_ms: f64,
    pub port_ms: f64,
}

/// The `restart` scenario: the service alone, killed `kills` times.
pub fn run(monitor: Monitor, bin: &Path, kills: usize) -> Result<Value, String> {
    let sb = Sandbox::new()?;
    let port = net::free_port()?;
    let rc = sb.write_rc(&format!(
        "{}{}",
        monitor.header(sb.dir.path()),
        sb.service_check(port)?
    ))?;
    let sup = sb.start(monitor, bin, &rc)?;
    let mut pid = first_start(&sb, monitor, Duration::from_secs(30))?;
    let mut samples = Vec::new();
    for i in 0..kills {
        // Spread the kills over the phase of a 1 s cycle, so a polling
        // monitor is not always caught at the same point of its cycle.
        std::thread::sleep(Duration::from_millis(
            100 + (i * 1000 / kills.max(1)) as u64,
        ));
        let (sample, back) = kill_once(&sb, monitor, &sup, port, pid, Duration::from_secs(15))?;
        samples.push(sample);
        pid = back;
    }
    if !sup.alive() {
        return Err(sb.fail(monitor, "the monitor exited"));
    }
    Ok(summary(&samples))
}

/// Waits for the service's first start; returns its pid.
pub fn first_start(sb: &Sandbox, monitor: Monitor, limit: Duration) -> Result<i32, String> {
    let pidfile = sb.path("svc.pid");
    let mut pid = None;
    wait_until(limit, Duration::from_millis(5), || {
        pid = procs::read_pid(&pidfile).filter(|&p| procs::is_service(p, SERVICE_MARKER));
        pid.is_some()
    });
    pid.ok_or_else(|| sb.fail(monitor, "the service never started"))
}

/// Kills the service (once the monitor has taken in its pid) and waits
/// for it to be back; returns the figures and the new pid.
pub fn kill_once(
    sb: &Sandbox,
    monitor: Monitor,
    sup: &Child,
    port: u16,
    pid: i32,
    limit: Duration,
) -> Result<(Sample, i32), String> {
    let pidfile = sb.path("svc.pid");
    ready(sb, monitor, sup.pid, pid);
    let starts = stamps(&pidfile).len();
    let (kill_ns, fd) = procs::kill_service(pid, SERVICE_MARKER)
        .ok_or_else(|| sb.fail(monitor, format!("could not kill {pid}")))?;
    // The old listener is closed once the process has exited.
    procs::wait_exit(&fd, Duration::from_secs(5));
    let (mut port_ns, mut back) = (None, None);
    wait_until(limit, Duration::from_micros(250), || {
        if port_ns.is_none() && net::answers(port) {
            port_ns = Some(procs::now_ns());
        }
        back =
            procs::read_pid(&pidfile).filter(|&p| p != pid && procs::is_service(p, SERVICE_MARKER));
        port_ns.is_some() && back.is_some() && stamps(&pidfile).len() > starts
    });
    let (Some(port_ns), Some(back)) = (port_ns, back) else {
        return Err(sb.fail(monitor, format!("service not back within {limit:?}")));
    };
    let start_ns = *stamps(&pidfile).get(starts).ok_or("no start stamp")?;
    let sample = Sample {
        start_ms: (start_ns - kill_ns as f64) / 1e6,
        port_ms: (port_ns - kill_ns) as f64 / 1e6,
    };
    Ok((sample, back))
}

/// Waits (5 s at most) until the monitor has taken in the service's pid:
/// Warden holds a pidfd on it; Monit has logged it as running. Without
/// this a kill could land before the monitor knew the new process.
fn ready(sb: &Sandbox, monitor: Monitor, sup: i32, pid: i32) -> bool {
    let running = format!("process is running with pid {pid}");
    wait_until(
        Duration::from_secs(5),
        Duration::from_millis(2),
        || match monitor {
            Monitor::Warden => procs::holds_pidfd(sup, pid),
            Monitor::Monit => sb.log(monitor).contains(&running),
        },
    )
}

/// The start stamps (ns since the epoch) the start program wrote.
fn stamps(pidfile: &Path) -> Vec<f64> {
    let path = format!("{}.starts", pidfile.display());
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().replace(',', ".").parse::<f64>().ok())
        .map(|s| s * 1e9)
        .collect()
}

/// Min / median / max of the kill -> start and kill -> port latencies.
pub fn summary(samples: &[Sample]) -> Value {
    let start: Vec<f64> = samples.iter().map(|s| s.start_ms).collect();
    let port: Vec<f64> = samples.iter().map(|s| s.port_ms).collect();
    json!({
        "kills": samples.len(),
        "start_ms": stats::summary(&start),
        "port_ms": stats::summary(&port),
    })
}

/// The part of every figure that is the start program's own: the harness
/// spawning the same `bash` up to its stamp (fork, exec, bash start-up).
pub fn floor(runs: usize) -> Result<Value, String> {
    let mut samples = Vec::new();
    for _ in 0..runs.max(5) {
        let at = procs::now_ns();
        let out = procs::stdout_of(
            Command::new("/bin/bash").args(["-c", "echo $EPOCHREALTIME"]),
            "bash",
        )?;
        let stamp: f64 = out
            .trim()
            .replace(',', ".")
            .parse()
            .map_err(|e| format!("stamp {out:?}: {e}"))?;
        samples.push((stamp * 1e9 - at as f64) / 1e6);
    }
    Ok(json!({ "start_ms": stats::summary(&samples) }))
}
