//! Supervision benchmark (issue 3): SIGKILL -> start program latency of a
//! watched self-daemonizing service, and the CPU and peak memory of 1,000
//! process checks at a 1 s cycle; Warden and, when installed, Monit side by
//! side. `cargo bench --bench supervise` runs it in full; without `--bench`
//! (as under `cargo test --benches`) it does a small smoke run of Warden only.
//! Figures are printed and written to TARGET/bench-supervise.json; nothing is
//! asserted about timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The start program of the watched service (see the script's header).
const SERVICE_SCRIPT: &str = include_str!("supervise_service.sh");

/// What to run: counts come from the environment, smaller in smoke mode.
#[derive(Debug, Clone)]
struct Plan {
    full: bool,
    kills: usize,
    checks: usize,
    seconds: u64,
    warden: PathBuf,
    monit: Option<PathBuf>,
}

impl Plan {
    fn from_env() -> Plan {
        let full = std::env::args().any(|a| a == "--bench");
        let num = |name: &str, full_default: u64, smoke: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(if full { full_default } else { smoke })
        };
        let monit = std::env::var_os("WARDEN_BENCH_MONIT")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("/usr/bin/monit")))
            .filter(|p| p.exists() && (full || std::env::var_os("WARDEN_BENCH_MONIT").is_some()));
        Plan {
            full,
            kills: num("WARDEN_BENCH_KILLS", 20, 2) as usize,
            checks: num("WARDEN_BENCH_CHECKS", 1000, 10) as usize,
            seconds: num("WARDEN_BENCH_SECONDS", 60, 3),
            warden: std::env::var_os("WARDEN_BIN").map_or_else(
                || PathBuf::from(env!("CARGO_BIN_EXE_warden")),
                PathBuf::from,
            ),
            monit,
        }
    }
}

/// The supervisor under test and how its control file and command look.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Warden,
    Monit,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Warden => "warden",
            Kind::Monit => "monit",
        }
    }

    /// Control file header. Warden gets a 60 s cycle in the restart scenario
    /// so that only its pidfd exit watch can explain a fast restart.
    fn header(self, dir: &Path, cycle: u32) -> String {
        let d = dir.display();
        match self {
            Kind::Warden => format!("set daemon {cycle}\nset statefile {d}/warden.state\n"),
            Kind::Monit => format!(
                "set daemon {cycle}\nset logfile {d}/monit.log\nset pidfile {d}/monit.pid\n\
                 set idfile {d}/monit.id\nset statefile {d}/monit.state\n\
                 set httpd unixsocket {d}/monit.sock\n  allow bench:bench\n"
            ),
        }
    }

    fn log(self, dir: &Path) -> PathBuf {
        dir.join(match self {
            Kind::Warden => "warden.log",
            Kind::Monit => "monit.log",
        })
    }
}

fn main() {
    let plan = Plan::from_env();
    procs::become_reaper();
    println!(
        "supervise bench ({}): {} kills, {} checks over {} s; warden {}; monit {}",
        if plan.full { "full" } else { "smoke" },
        plan.kills,
        plan.checks,
        plan.seconds,
        plan.warden.display(),
        plan.monit
            .as_ref()
            .map_or("not run".into(), |p| p.display().to_string()),
    );
    let mut kinds = vec![(Kind::Warden, plan.warden.clone())];
    if let Some(m) = &plan.monit {
        kinds.push((Kind::Monit, m.clone()));
    } else if plan.full {
        println!("monit not found: `apt-get install -y monit` for the comparison");
    }
    let mut restart = serde_json::Map::new();
    restart.insert("floor".into(), as_json(restart::floor(plan.kills)));
    let mut overhead = serde_json::Map::new();
    for (kind, bin) in &kinds {
        restart.insert(
            kind.name().into(),
            as_json(restart::run(*kind, bin, plan.kills)),
        );
    }
    for (kind, bin) in &kinds {
        let r = overhead::run(*kind, bin, plan.checks, plan.seconds);
        overhead.insert(kind.name().into(), as_json(r));
    }
    let report = json!({
        "mode": if plan.full { "full" } else { "smoke" },
        "kills": plan.kills, "checks": plan.checks, "seconds": plan.seconds,
        "restart": restart, "overhead": overhead,
    });
    print!("{}", table(&report));
    // A smoke run must not overwrite the figures of a full one.
    let name = if plan.full {
        "bench-supervise.json"
    } else {
        "bench-supervise-smoke.json"
    };
    let out = target_dir().join(name);
    let text = serde_json::to_string_pretty(&report).expect("json");
    match std::fs::write(&out, text + "\n") {
        Ok(()) => println!("written to {}", out.display()),
        Err(e) => println!("could not write {}: {e}", out.display()),
    }
    let failed = [&report["restart"], &report["overhead"]]
        .iter()
        .flat_map(|v| v.as_object().into_iter().flat_map(|m| m.values()))
        .any(|v| v.get("error").is_some());
    if failed {
        std::process::exit(1);
    }
}

fn as_json(r: Result<Value, String>) -> Value {
    r.unwrap_or_else(|e| json!({ "error": e }))
}

/// Where cargo puts build output: CARGO_TARGET_DIR when set, else ./target.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    )
}

/// Renders the figures as a small table, the ratios below it.
fn table(r: &Value) -> String {
    let f = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{x:.2}"));
    let mut s = String::new();
    let _ = writeln!(s, "\nrestart: SIGKILL -> start program ran (ms)");
    let _ = writeln!(
        s,
        "{:<8} {:>6} {:>8} {:>8} {:>8} {:>12}",
        "", "kills", "min", "median", "max", "pidfile med"
    );
    for (name, v) in r["restart"].as_object().into_iter().flatten() {
        if let Some(e) = v.get("error") {
            let _ = writeln!(s, "{name:<8} error: {}", e.as_str().unwrap_or_default());
            continue;
        }
        let _ = writeln!(
            s,
            "{name:<8} {:>6} {:>8} {:>8} {:>8} {:>12}",
            v["kills"].to_string(),
            f(&v["min_ms"]),
            f(&v["median_ms"]),
            f(&v["max_ms"]),
            f(&v["pidfile_median_ms"])
        );
    }
    let (w, m) = (
        &r["restart"]["warden"]["median_ms"],
        &r["restart"]["monit"]["median_ms"],
    );
    if let Some(floor) = r["restart"]["floor"]["median_ms"].as_f64() {
        let _ = writeln!(
            s,
            "(floor: spawning the start program's bash up to its stamp, {floor:.2} ms median)"
        );
    }
    if let (Some(w), Some(m)) = (w.as_f64(), m.as_f64()) {
        let _ = writeln!(s, "monit / warden median: {:.0}x", m / w.max(1e-3));
    }
    let _ = writeln!(
        s,
        "\noverhead: {} process checks, 1 s cycle, {} s",
        r["checks"], r["seconds"]
    );
    let _ = writeln!(
        s,
        "{:<8} {:>12} {:>12} {:>10} {:>8} {:>6}",
        "", "CPU s/min", "VmHWM MB", "VmRSS MB", "threads", "fds"
    );
    for (name, v) in r["overhead"].as_object().into_iter().flatten() {
        if let Some(e) = v.get("error") {
            let _ = writeln!(s, "{name:<8} error: {}", e.as_str().unwrap_or_default());
            continue;
        }
        let mb = |k: &str| {
            v[k].as_f64()
                .map_or("-".into(), |kb| format!("{:.1}", kb / 1024.0))
        };
        let _ = writeln!(
            s,
            "{name:<8} {:>12} {:>12} {:>10} {:>8} {:>6}",
            f(&v["cpu_s_per_min"]),
            mb("vm_hwm_kb"),
            mb("vm_rss_kb"),
            v["threads"].to_string(),
            v["fds"].to_string()
        );
    }
    s
}

/// A temporary folder holding one scenario's files; on drop it kills every
/// service whose pidfile is in it (only `sleep`s this bench's script started).
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Result<Sandbox, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let script = dir.path().join("service.sh");
        std::fs::write(&script, SERVICE_SCRIPT).map_err(|e| format!("write script: {e}"))?;
        Ok(Sandbox { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the control file with mode 0600 (Monit refuses anything else).
    fn write_rc(&self, text: &str) -> Result<PathBuf, String> {
        let rc = self.path("rc");
        std::fs::write(&rc, text).map_err(|e| format!("write rc: {e}"))?;
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("chmod rc: {e}"))?;
        Ok(rc)
    }

    /// Starts `kind` in the foreground on the control file; output to a log.
    fn supervisor(&self, kind: Kind, bin: &Path, rc: &Path) -> Result<procs::Child, String> {
        let out = std::fs::File::create(self.path(&format!("{}.out", kind.name())))
            .map_err(|e| format!("log file: {e}"))?;
        let mut cmd = Command::new(bin);
        match kind {
            Kind::Warden => cmd.arg("-c").arg(rc).arg("-I"),
            Kind::Monit => cmd.arg("-I").arg("-c").arg(rc),
        };
        cmd.env("HOME", self.dir.path())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WARDEN_LOG")
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out);
        procs::Child::spawn(&mut cmd)
    }

    /// The supervisor's log so far (for error messages), its last lines.
    fn log_tail(&self, kind: Kind) -> String {
        let mut text = std::fs::read_to_string(kind.log(self.dir.path())).unwrap_or_default();
        text += &std::fs::read_to_string(self.path(&format!("{}.out", kind.name())))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.dir.path()) else {
            return;
        };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "pid")
                && let Some(pid) = procs::read_pid(&e.path())
            {
                procs::kill_service(pid);
            }
        }
    }
}

/// Polls `cond` every `step` until it holds or `limit` passes.
fn wait_until(limit: Duration, step: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(step);
    }
}

mod restart {
    //! Restart latency: SIGKILL the watched service N times and time each
    //! kill against the moment its start program ran.

    use super::*;

    /// One kill: when it was sent and when the start program / pidfile
    /// showed the service back (nanoseconds since the epoch).
    struct Sample {
        start_ms: f64,
        pidfile_ms: f64,
    }

    pub fn run(kind: Kind, bin: &Path, kills: usize) -> Result<Value, String> {
        let sb = Sandbox::new()?;
        let pidfile = sb.path("svc.pid");
        let cycle = if kind == Kind::Warden { 60 } else { 1 };
        let rc = sb.write_rc(&format!(
            "{}check process svc with pidfile {pf}\n  start program = \"/bin/bash {script} {pf}\" with timeout 10 seconds\n",
            kind.header(sb.dir.path(), cycle),
            pf = pidfile.display(),
            script = sb.path("service.sh").display(),
        ))?;
        let sup = sb.supervisor(kind, bin, &rc)?;
        let fail = |what: String| format!("{what}; log:\n{}", sb.log_tail(kind));
        let mut pid =
            wait_back(&pidfile, None, 0).ok_or_else(|| fail("service never started".into()))?;
        let mut samples = Vec::new();
        let mut unready = 0;
        for i in 0..kills {
            if !ready(kind, &sb, sup.pid, pid) {
                unready += 1;
            }
            // Spread the kills over the phase of a 1 s cycle, so a polling
            // supervisor is not always caught at the same point of its cycle.
            std::thread::sleep(Duration::from_millis(
                100 + (i * 1000 / kills.max(1)) as u64,
            ));
            let starts = stamps(&pidfile).len();
            let kill_ns =
                procs::kill_service(pid).ok_or_else(|| fail(format!("could not kill {pid}")))?;
            let back = wait_back(&pidfile, Some(pid), starts + 1)
                .ok_or_else(|| fail(format!("not back within 15 s after kill {}", i + 1)))?;
            let back_ns = procs::now_ns();
            let start_ns = *stamps(&pidfile).get(starts).ok_or("no start stamp")?;
            samples.push(Sample {
                start_ms: (start_ns - kill_ns as f64) / 1e6,
                pidfile_ms: (back_ns - kill_ns) as f64 / 1e6,
            });
            pid = back;
        }
        if !sup.alive() {
            return Err(fail(format!("{} exited", kind.name())));
        }
        Ok(summary(&samples, unready))
    }

    /// The part of every figure that is the start program's own: this bench
    /// spawning the same `bash` and its stamp (fork, exec, bash start-up).
    pub fn floor(runs: usize) -> Result<Value, String> {
        let mut samples = Vec::new();
        for _ in 0..runs.max(5) {
            let at = procs::now_ns();
            // Read the stamp from the pipe and leave the exit to the reaper
            // thread (std's wait would race it).
            let child = Command::new("/bin/bash")
                .args(["-c", "echo $EPOCHREALTIME"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("bash: {e}"))?;
            let mut out = String::new();
            child
                .stdout
                .ok_or("no pipe")?
                .read_to_string(&mut out)
                .map_err(|e| format!("stamp: {e}"))?;
            let stamp: f64 = out
                .trim()
                .replace(',', ".")
                .parse()
                .map_err(|e| format!("stamp {out:?}: {e}"))?;
            let ms = (stamp * 1e9 - at as f64) / 1e6;
            samples.push(Sample {
                start_ms: ms,
                pidfile_ms: ms,
            });
        }
        Ok(summary(&samples, 0))
    }

    /// Min / median / max of the kill -> start program latencies.
    fn summary(samples: &[Sample], unready: usize) -> Value {
        let mut start: Vec<f64> = samples.iter().map(|s| s.start_ms).collect();
        let mut pidfile: Vec<f64> = samples.iter().map(|s| s.pidfile_ms).collect();
        start.sort_by(f64::total_cmp);
        pidfile.sort_by(f64::total_cmp);
        json!({
            "kills": samples.len(),
            "min_ms": start.first(), "median_ms": median(&start), "max_ms": start.last(),
            "pidfile_median_ms": median(&pidfile),
            "samples_ms": start,
            "kills_before_ready": unready,
        })
    }

    fn median(sorted: &[f64]) -> Option<f64> {
        let n = sorted.len();
        (n > 0).then(|| (sorted[(n - 1) / 2] + sorted[n / 2]) / 2.0)
    }

    /// Waits (15 s at most) for a live service whose pid is not `old` and
    /// for at least `starts` start stamps; returns the new pid.
    fn wait_back(pidfile: &Path, old: Option<i32>, starts: usize) -> Option<i32> {
        let mut found = None;
        wait_until(Duration::from_secs(15), Duration::from_micros(500), || {
            found = procs::read_pid(pidfile).filter(|&p| Some(p) != old && procs::is_service(p));
            found.is_some() && stamps(pidfile).len() >= starts
        });
        found
    }

    /// Whether the supervisor has taken in the new pid before the next kill:
    /// Warden holds a pidfd on it; Monit has logged it as running.
    fn ready(kind: Kind, sb: &Sandbox, sup: i32, pid: i32) -> bool {
        let log = kind.log(sb.dir.path());
        wait_until(
            Duration::from_secs(5),
            Duration::from_millis(2),
            || match kind {
                Kind::Warden => procs::holds_pidfd(sup, pid),
                Kind::Monit => std::fs::read_to_string(&log)
                    .is_ok_and(|t| t.contains(&format!("process is running with pid {pid}"))),
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
}

mod overhead {
    //! Overhead: `checks` pidfile checks over as many sleeping processes at a
    //! 1 s cycle; CPU seconds per minute and peak RSS of the supervisor.

    use super::*;

    pub fn run(kind: Kind, bin: &Path, checks: usize, seconds: u64) -> Result<Value, String> {
        let sb = Sandbox::new()?;
        let mut sleepers = procs::Group::default();
        let mut rc = kind.header(sb.dir.path(), 1);
        for i in 0..checks {
            let child =
                procs::Child::spawn(Command::new("sleep").arg("1000000").stdin(Stdio::null()))?;
            let pf = sb.path(&format!("p{i}.pidfile"));
            std::fs::write(&pf, format!("{}\n", child.pid)).map_err(|e| e.to_string())?;
            let _ = writeln!(rc, "check process p{i} with pidfile {}", pf.display());
            sleepers.0.push(child);
        }
        let rc = sb.write_rc(&rc)?;
        let sup = sb.supervisor(kind, bin, &rc)?;
        let fail = |what: String| format!("{what}; log:\n{}", sb.log_tail(kind));
        // Warm up: parse, first cycle, pidfds opened.
        std::thread::sleep(Duration::from_secs(seconds.clamp(1, 3)));
        let before = procs::cpu_ticks(sup.pid).ok_or_else(|| fail("supervisor gone".into()))?;
        let t0 = Instant::now();
        let lived = wait_until(
            Duration::from_secs(seconds),
            Duration::from_millis(500),
            || !sup.alive(),
        );
        if lived {
            return Err(fail(format!("{} exited", kind.name())));
        }
        let after = procs::cpu_ticks(sup.pid).ok_or_else(|| fail("supervisor gone".into()))?;
        let secs = t0.elapsed().as_secs_f64();
        let status = procs::status(sup.pid);
        Ok(json!({
            "cpu_s_per_min": (after - before) as f64 / procs::ticks_per_second() / secs * 60.0,
            "measured_s": secs,
            "vm_hwm_kb": status.get("VmHWM"),
            "vm_rss_kb": status.get("VmRSS"),
            "threads": status.get("Threads"),
            "fds": procs::fd_count(sup.pid),
        }))
    }
}

mod procs {
    //! Processes this bench starts, and the little it reads from /proc.
    //! This process is a child subreaper (as systemd is on a real host), so
    //! a killed daemonized service is reaped at once instead of lingering as
    //! a zombie of pid 1; one thread reaps, and a child is signalled only
    //! while it is known not to be reaped, so never a reused pid.

    use std::collections::HashMap;
    use std::os::fd::AsFd as _;
    use std::process::Command;
    use std::sync::Mutex;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use rustix::process::{Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitOptions};

    /// When each pid was last reaped.
    static REAPED: Mutex<Option<HashMap<i32, Instant>>> = Mutex::new(None);

    pub fn become_reaper() {
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
        std::thread::spawn(|| {
            loop {
                // Blocks until some child has exited, without reaping it.
                match rustix::process::waitid(
                    WaitId::All,
                    WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
                ) {
                    Ok(_) => reap_all(),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }

    fn reap_all() {
        let mut reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
        let map = reaped.get_or_insert_with(HashMap::new);
        while let Ok(Some((pid, _))) = rustix::process::wait(WaitOptions::NOHANG) {
            map.insert(pid.as_raw_nonzero().get(), Instant::now());
        }
    }

    fn reaped_since(pid: i32, since: Instant) -> bool {
        let reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
        reaped
            .as_ref()
            .and_then(|m| m.get(&pid))
            .is_some_and(|&t| t >= since)
    }

    /// A process this bench started; killed on drop.
    #[derive(Debug)]
    pub struct Child {
        pub pid: i32,
        spawned: Instant,
    }

    impl Child {
        pub fn spawn(cmd: &mut Command) -> Result<Child, String> {
            let spawned = Instant::now();
            let child = cmd.spawn().map_err(|e| format!("spawn {cmd:?}: {e}"))?;
            Ok(Child {
                pid: child.id() as i32,
                spawned,
            })
        }

        pub fn alive(&self) -> bool {
            !reaped_since(self.pid, self.spawned)
        }

        /// SIGKILL, holding the reaper's lock so the pid cannot be freed
        /// between the check and the signal.
        fn signal_kill(&self) {
            let reaped = REAPED.lock().unwrap_or_else(|e| e.into_inner());
            let gone = reaped
                .as_ref()
                .and_then(|m| m.get(&self.pid))
                .is_some_and(|&t| t >= self.spawned);
            if !gone && let Some(pid) = Pid::from_raw(self.pid) {
                let _ = rustix::process::kill_process(pid, Signal::KILL);
            }
        }
    }

    impl Drop for Child {
        fn drop(&mut self) {
            self.signal_kill();
            let end = Instant::now() + Duration::from_secs(5);
            while self.alive() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// Many children, all signalled first and then waited for.
    #[derive(Debug, Default)]
    pub struct Group(pub Vec<Child>);

    impl Drop for Group {
        fn drop(&mut self) {
            for c in &self.0 {
                c.signal_kill();
            }
        }
    }

    pub fn now_ns() -> u128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    }

    pub fn read_pid(path: &std::path::Path) -> Option<i32> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }

    /// Whether `pid` is a live (not zombie) `sleep` of the service script.
    pub fn is_service(pid: i32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        stat.contains("(sleep) ") && !stat.contains(") Z") && cmdline == b"sleep\x001000000\x00"
    }

    /// SIGKILLs a service `sleep` through a pidfd (so the identity checked
    /// is the process signalled); returns when the signal was sent.
    pub fn kill_service(pid: i32) -> Option<u128> {
        let fd = rustix::process::pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()?;
        if !is_service(pid) {
            return None;
        }
        let at = now_ns();
        rustix::process::pidfd_send_signal(fd.as_fd(), Signal::KILL).ok()?;
        Some(at)
    }

    /// Whether process `holder` has a pidfd open on `pid` (fdinfo "Pid:").
    pub fn holds_pidfd(holder: i32, pid: i32) -> bool {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{holder}/fd")) else {
            return false;
        };
        let want = format!("Pid:\t{pid}\n");
        fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy().contains("pidfd"))
                && std::fs::read_to_string(format!(
                    "/proc/{holder}/fdinfo/{}",
                    fd.file_name().to_string_lossy()
                ))
                .is_ok_and(|t| t.contains(&want))
        })
    }

    pub fn fd_count(pid: i32) -> Option<usize> {
        Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
    }

    /// utime + stime of `pid`, in clock ticks.
    pub fn cpu_ticks(pid: i32) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        // After the command: state is field 3, utime 14 and stime 15.
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    pub fn ticks_per_second() -> f64 {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    }

    /// The numeric fields of /proc/PID/status (kB for memory).
    pub fn status(pid: i32) -> HashMap<String, u64> {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.to_string(), v.split_whitespace().next()?.parse().ok()?))
            })
            .collect()
    }
}
