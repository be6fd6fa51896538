//! Scale: one kind of check (process by pidfile, process by `matching`, or
//! a TCP port) at 10 to 10,000 checks and a 1 s cycle: the monitor's CPU and
//! peak memory, the time from its start to its first complete cycle, and
//! the period it kept, both read from its status document (Monit's XML,
//! which both monitors serve); and the floor of each kind, the system calls
//! its checks need and nothing else, made by a child of the harness.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::net::{self, Answering};
use crate::procs;
use crate::sandbox::{Monitor, Sandbox, wait_until};
use crate::stats;

/// What the checks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pidfile,
    Matching,
    Port,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Pidfile, Kind::Matching, Kind::Port];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Pidfile => "pidfile",
            Kind::Matching => "matching",
            Kind::Port => "port",
        }
    }

    /// The first letter of the checks' names (`p12`, `m12`, `h12`).
    fn prefix(self) -> &'static str {
        match self {
            Kind::Pidfile => "p",
            Kind::Matching => "m",
            Kind::Port => "h",
        }
    }
}

/// How long a scenario runs.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: u64,
    pub seconds: u64,
    /// The longest wait for the first complete cycle.
    pub first_limit: u64,
    /// Status documents read after the measurement, one a second, for the
    /// period kept.
    pub samples: usize,
}

/// What stays alive while the monitor runs (dropping it kills the
/// processes); held, never read.
#[derive(Debug)]
#[allow(dead_code)]
enum Targets {
    Processes(procs::Group),
    Listeners(Answering),
}

/// Basic auth of the harness's `allow user:pw` ("user:pw" in base64).
const AUTH: &str = "dXNlcjpwdw==";

pub fn run(monitor: Monitor, bin: &Path, kind: Kind, n: usize, t: Timing) -> Result<Value, String> {
    let sb = Sandbox::new()?;
    let port = net::free_port()?;
    let mut rc = monitor.header(sb.dir.path());
    let _ = writeln!(
        rc,
        "set httpd port {port} use address 127.0.0.1 allow user:pw"
    );
    let _targets = match kind {
        Kind::Port => Targets::Listeners(crate::overhead::port_checks(n, &mut rc)?),
        _ => Targets::Processes(process_checks(&sb, kind, n, &mut rc)?.0),
    };
    let rc = sb.write_rc(&rc)?;
    let started_unix = procs::now_ns() as f64 / 1e9;
    let t0 = Instant::now();
    let sup = sb.start(monitor, bin, &rc)?;
    let gone = || sb.fail(monitor, "the monitor exited");
    // The first complete cycle: every check collected since the start.
    let mut checked = 0;
    let complete = wait_until(
        Duration::from_secs(t.first_limit),
        Duration::from_millis(100),
        || {
            checked = status_ages(port, kind, started_unix).map_or(0, |a| a.collected);
            checked >= n || !sup.alive()
        },
    ) && sup.alive();
    let first_cycle_s = complete.then(|| t0.elapsed().as_secs_f64());
    // The start-up peak (parse, first cycle, the harness's own status
    // reads) is kept apart: writing 5 to clear_refs resets VmHWM to the
    // current RSS. Reset after the warm-up, not at once: what a monitor
    // frees after the last status read (Warden trims its heap a second
    // after an answer) is then not counted as the steady peak.
    let startup_hwm = procs::status(sup.pid).get("VmHWM").copied();
    std::thread::sleep(Duration::from_secs(t.warmup));
    let reset = std::fs::write(format!("/proc/{}/clear_refs", sup.pid), "5").is_ok();
    let (self0, kids0) = procs::cpu_ticks(sup.pid).ok_or_else(gone)?;
    let m0 = Instant::now();
    let died = wait_until(
        Duration::from_secs(t.seconds),
        Duration::from_millis(250),
        || !sup.alive(),
    );
    let (self1, kids1) = procs::cpu_ticks(sup.pid)
        .filter(|_| !died)
        .ok_or_else(gone)?;
    let secs = m0.elapsed().as_secs_f64();
    let status = procs::status(sup.pid);
    // The period kept: the oldest check's age in each status document read
    // after the measurement (a monitor on its 1 s cycle stays near 1 s).
    let mut oldest = Vec::new();
    for _ in 0..t.samples {
        if let Some(a) = status_ages(port, kind, started_unix) {
            oldest.push(a.oldest_s);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let cpu_per_min =
        (self1 - self0 + kids1 - kids0) as f64 / procs::ticks_per_second() / secs * 60.0;
    let hwm = status.get("VmHWM").copied();
    Ok(json!({
        "checks": n,
        "cpu_s_per_min": cpu_per_min,
        // At a 1 s cycle a check runs once a second.
        "cpu_us_per_check_cycle": cpu_per_min / 60.0 * 1e6 / n as f64,
        "measured_s": secs,
        "vm_hwm_kb": if reset { hwm } else { hwm.max(startup_hwm) },
        "vm_hwm_startup_kb": startup_hwm,
        "peak_reset_after_first_cycle": reset,
        "rss_bytes_per_check": hwm.map(|k| k as f64 * 1024.0 / n as f64),
        "first_cycle_s": first_cycle_s,
        "checked_at_limit": (!complete).then_some(checked),
        "oldest_check_s": (!oldest.is_empty()).then(|| stats::summary(&oldest)),
        "threads": status.get("Threads"),
        // What the resident set is at the end (not at the peak): the
        // heap and stacks apart from the binary's and libraries' pages.
        "rss_anon_kb": status.get("RssAnon"),
        "rss_file_kb": status.get("RssFile"),
        "machine_processes": procs::machine_processes(),
    }))
}

/// `n` sleeping processes, each watched by its pidfile or by a `matching`
/// pattern unique to it (`sleep 4000123`); also the pidfiles' list.
fn process_checks(
    sb: &Sandbox,
    kind: Kind,
    n: usize,
    rc: &mut String,
) -> Result<(procs::Group, String), String> {
    let mut group = procs::Group::default();
    let mut list = String::new();
    for i in 0..n {
        let secs = 4_000_000 + i;
        let child = procs::Child::spawn(
            Command::new("sleep")
                .arg(secs.to_string())
                .stdin(Stdio::null()),
        )?;
        let pf = sb.path(&format!("p{i}.pidfile"));
        std::fs::write(&pf, format!("{}\n", child.pid)).map_err(|e| e.to_string())?;
        let _ = writeln!(list, "{}", pf.display());
        let _ = match kind {
            Kind::Pidfile => writeln!(rc, "check process p{i} with pidfile {}", pf.display()),
            _ => writeln!(rc, "check process m{i} matching \"sleep {secs}\""),
        };
        group.0.push(child);
    }
    Ok((group, list))
}

/// What one status document says of the checks.
struct Ages {
    /// Checks collected since the monitor started.
    collected: usize,
    /// Seconds since the least recently collected check was.
    oldest_s: f64,
}

/// Reads `/_status?format=xml` and the collected times of the checks of
/// `kind` in it; None when the monitor does not answer yet.
fn status_ages(port: u16, kind: Kind, since_unix: f64) -> Option<Ages> {
    let doc = get(port, "/_status?format=xml")?;
    let now = procs::now_ns() as f64 / 1e9;
    let mut ages = Ages {
        collected: 0,
        oldest_s: 0.0,
    };
    for service in doc.split("<service ").skip(1) {
        let name = between(service, "<name>", "</name>").unwrap_or_default();
        let ours = name
            .strip_prefix(kind.prefix())
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        if !ours {
            continue;
        }
        let num = |tag: &str| {
            between(service, &format!("<{tag}>"), &format!("</{tag}>"))
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        let at = num("collected_sec").unwrap_or(0.0) + num("collected_usec").unwrap_or(0.0) / 1e6;
        // Monit gives every service a collected time from its start on and
        // says `<monitor>2</monitor>` (initializing) until it has checked
        // it; Warden the same. Whole seconds in the document: a check
        // collected in the start's own second counts.
        let initializing = num("monitor") == Some(2.0);
        if at >= since_unix.floor() && !initializing {
            ages.collected += 1;
            ages.oldest_s = ages.oldest_s.max(now - at);
        } else {
            ages.oldest_s = f64::INFINITY;
        }
    }
    Some(ages)
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let from = text.find(open)? + open.len();
    let to = text[from..].find(close)?;
    Some(&text[from..from + to])
}

/// One HTTP/1.0 GET with the harness's basic auth: the body of a 200.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Basic {AUTH}\r\n\r\n"
    )
    .ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.contains(" 200 ").then(|| body.to_string())
}

/// The floor of `n` pidfile or `matching` checks: a child of the harness
/// that makes only the system calls such a check needs, `n` times a
/// second: `stat` of the pidfile (has it changed?) and `pread` of the
/// process's open `/proc/PID/stat` (alive, not a zombie, same start
/// time); a steady `matching` check, whose process is known, only the
/// `pread`. Its CPU is measured like a monitor's.
pub fn process_floor(kind: Kind, n: usize, warmup: u64, seconds: u64) -> Result<Value, String> {
    let sb = Sandbox::new()?;
    let mut rc = String::new();
    let (_group, list) = process_checks(&sb, kind, n, &mut rc)?;
    let listing = sb.path("pidfiles");
    std::fs::write(&listing, list).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = procs::stdout_of(
        Command::new(exe)
            .args(["--proc-floor", kind.name(), &warmup.to_string()])
            .args([seconds.to_string()])
            .arg(&listing),
        "process floor",
    )?;
    let per_min: f64 = out
        .trim()
        .parse()
        .map_err(|e| format!("process floor said {out:?}: {e}"))?;
    Ok(json!({
        "cpu_s_per_min": per_min,
        "cpu_us_per_check_cycle": per_min / 60.0 * 1e6 / n as f64,
    }))
}

/// The child's side (`--proc-floor pidfile|matching WARMUP SECONDS LIST`):
/// opens each listed pidfile's process's `/proc/PID/stat` once, then at
/// the start of every second does each check's system calls; prints its
/// own CPU seconds per minute over `seconds` after `warmup`, and exits.
pub fn process_floor_loop(kind: &str, warmup: u64, seconds: u64, list: &Path) -> ! {
    let text = std::fs::read_to_string(list).unwrap_or_default();
    let watched: Vec<(String, std::fs::File)> = text
        .lines()
        .filter_map(|pf| {
            let pid = procs::read_pid(Path::new(pf))?;
            let stat = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
            Some((pf.to_string(), stat))
        })
        .collect();
    if watched.is_empty() {
        std::process::exit(2);
    }
    let by_pidfile = kind == "pidfile";
    let mut buf = [0u8; 512];
    crate::overhead::floor_loop(warmup, seconds, || {
        for (pidfile, stat) in &watched {
            if by_pidfile {
                let _ = rustix::fs::stat(pidfile.as_str());
            }
            let _ = rustix::io::pread(stat, &mut buf, 0);
        }
    })
}
