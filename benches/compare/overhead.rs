//! Overhead: the monitor's CPU time per minute and peak memory while it
//! runs N process checks (half by pidfile, half by `matching`) or N port
//! checks at a 1 s cycle against healthy targets.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::net::Answering;
use crate::procs;
use crate::sandbox::{Monitor, Sandbox, wait_until};

/// What the checks look at.
#[derive(Debug, Clone, Copy)]
pub enum Checks {
    Process(usize),
    Port(usize),
}

/// What stays alive while the monitor runs: the watched processes or the
/// listeners (listener threads live until the harness exits). Held, never
/// read: dropping it kills the processes.
#[derive(Debug)]
#[allow(dead_code)]
enum Targets {
    Processes(procs::Group),
    Listeners(Answering),
}

pub fn run(
    monitor: Monitor,
    bin: &Path,
    checks: Checks,
    warmup: u64,
    seconds: u64,
) -> Result<Value, String> {
    let sb = Sandbox::new()?;
    let mut rc = monitor.header(sb.dir.path());
    let _targets = match checks {
        Checks::Process(n) => Targets::Processes(process_checks(&sb, n, &mut rc)?),
        Checks::Port(n) => Targets::Listeners(port_checks(n, &mut rc)?),
    };
    let rc = sb.write_rc(&rc)?;
    let sup = sb.start(monitor, bin, &rc)?;
    // Warm up: parse, first cycle, pidfds opened.
    std::thread::sleep(Duration::from_secs(warmup));
    let gone = || sb.fail(monitor, "the monitor exited");
    let (self0, kids0) = procs::cpu_ticks(sup.pid).ok_or_else(gone)?;
    let t0 = Instant::now();
    let died = wait_until(
        Duration::from_secs(seconds),
        Duration::from_millis(250),
        || !sup.alive(),
    );
    let (self1, kids1) = procs::cpu_ticks(sup.pid)
        .filter(|_| !died)
        .ok_or_else(gone)?;
    let secs = t0.elapsed().as_secs_f64();
    let status = procs::status(sup.pid);
    let per_min = |ticks: u64| ticks as f64 / procs::ticks_per_second() / secs * 60.0;
    Ok(json!({
        "cpu_s_per_min": per_min(self1 - self0 + kids1 - kids0),
        "cpu_children_s_per_min": per_min(kids1 - kids0),
        "measured_s": secs,
        "vm_hwm_kb": status.get("VmHWM"),
        "vm_rss_kb": status.get("VmRSS"),
        "threads": status.get("Threads"),
        "fds": procs::fd_count(sup.pid),
        "machine_processes": procs::machine_processes(),
    }))
}

/// `n` sleeping processes: even ones watched by pidfile, odd ones by a
/// `matching` pattern unique to each (`sleep 3000123`).
fn process_checks(sb: &Sandbox, n: usize, rc: &mut String) -> Result<procs::Group, String> {
    let mut group = procs::Group::default();
    for i in 0..n {
        let secs = 3_000_000 + i;
        let child = procs::Child::spawn(
            Command::new("sleep")
                .arg(secs.to_string())
                .stdin(Stdio::null()),
        )?;
        if i % 2 == 0 {
            let pf = sb.path(&format!("p{i}.pidfile"));
            std::fs::write(&pf, format!("{}\n", child.pid)).map_err(|e| e.to_string())?;
            let _ = writeln!(rc, "check process p{i} with pidfile {}", pf.display());
        } else {
            let _ = writeln!(rc, "check process p{i} matching \"sleep {secs}\"");
        }
        group.0.push(child);
    }
    Ok(group)
}

/// `n` host checks with a port test each, spread over ten listeners.
pub fn port_checks(n: usize, rc: &mut String) -> Result<Answering, String> {
    let listeners = Answering::start(10)?;
    for i in 0..n {
        let port = listeners.ports[i % listeners.ports.len()];
        let _ = writeln!(
            rc,
            "check host h{i} with address 127.0.0.1\n  if failed port {port} type tcp with timeout 5 seconds then alert"
        );
    }
    Ok(listeners)
}

/// The kernel's share of `n` port checks: the same `n` connects a second
/// to the same kind of listeners, by a child of this harness that does
/// nothing else (blocking `connect` then `close`: the fewest syscalls a
/// TCP port test can make). What a monitor spends above this is its own.
pub fn connect_floor(n: usize, warmup: u64, seconds: u64) -> Result<Value, String> {
    let listeners = Answering::start(10)?;
    let ports: Vec<String> = listeners.ports.iter().map(u16::to_string).collect();
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = procs::stdout_of(
        Command::new(exe)
            .args(["--connect", &n.to_string(), &warmup.to_string()])
            .args([seconds.to_string(), ports.join(",")]),
        "connect floor",
    )?;
    let per_min: f64 = out
        .trim()
        .parse()
        .map_err(|e| format!("connect floor said {out:?}: {e}"))?;
    Ok(json!({ "cpu_s_per_min": per_min }))
}

/// The child's side (`--connect N WARMUP SECONDS PORTS`): `n` connects at
/// the start of every second, spread over `ports`; prints its own CPU
/// seconds per minute over `seconds` after `warmup`, and exits.
pub fn connect_loop(n: usize, warmup: u64, seconds: u64, ports: &[u16]) -> ! {
    floor_loop(warmup, seconds, || {
        for i in 0..n {
            let port = ports[i % ports.len()];
            drop(std::net::TcpStream::connect(("127.0.0.1", port)));
        }
    })
}

/// A floor child's clock: `burst` at the start of every second (counted
/// from now); prints the child's own CPU seconds per minute over `seconds`
/// after `warmup`, and exits.
pub fn floor_loop(warmup: u64, seconds: u64, mut burst: impl FnMut()) -> ! {
    let me = std::process::id() as i32;
    let start = Instant::now();
    let mut run = |seconds: std::ops::Range<u64>| {
        for s in seconds {
            burst();
            let next = start + Duration::from_secs(s + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    };
    run(0..warmup);
    let Some((before, _)) = procs::cpu_ticks(me) else {
        std::process::exit(1)
    };
    let measured = Instant::now();
    run(warmup..warmup + seconds);
    let Some((after, _)) = procs::cpu_ticks(me) else {
        std::process::exit(1)
    };
    let secs = measured.elapsed().as_secs_f64();
    println!(
        "{}",
        (after - before) as f64 / procs::ticks_per_second() / secs * 60.0
    );
    std::process::exit(0)
}
