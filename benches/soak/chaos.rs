//! The faults: a seeded generator picks one at a time, the harness applies
//! it to a real process, file, socket or to Warden itself and writes it to
//! the ledger (JSON lines: time, fault, target, detail); follow-ups (SIGCONT,
//! a mode reset, a server back up) are ledger lines of their own.

use std::collections::HashMap;
use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use rustix::process::Signal;
use serde_json::{Value, json};

use crate::disk::Disk;
use crate::peers::Peer;
use crate::procs::{self, Child};
use crate::watch::{Warden, now};
use crate::world::{Kind, World};

/// splitmix64: small, seeded, the same faults for the same seed.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// A float in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

/// What the harness expects of a service at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Running,
    Stopped,
    Unmonitored,
}

/// One ledger line.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: f64,
    pub fault: &'static str,
    pub target: String,
    pub detail: Value,
}

/// Something to do later, when a fault's window ends.
#[derive(Debug)]
enum Later {
    Cont(i32, String),
    Mode(String),
    ProgramOk(String),
    FileBack(String),
    Cli(&'static str, String),
    PeerUp(usize),
    DiskFree,
}

/// The faults by weight: (name, weight).
const FAULTS: &[(&str, usize)] = &[
    ("sigkill", 20),
    ("sigstop", 6),
    ("zombie", 6),
    ("stale-pidfile", 4),
    ("port-mute", 6),
    ("start-fail", 3),
    ("start-hang", 3),
    ("start-slow", 3),
    ("program-fail", 6),
    ("file-gone", 6),
    ("passive-kill", 1),
    ("cli-passive-start", 1),
    ("warden-sigkill", 2),
    ("sighup-valid", 2),
    ("sighup-broken", 2),
    ("cli-stop", 3),
    ("cli-unmonitor", 3),
    ("smtp-down", 1),
    ("webhook-down", 1),
];

/// The chaos state: what each service should be, what is pending.
pub struct Chaos<'a> {
    pub world: &'a World,
    pub warden: &'a mut Warden,
    pub peers: [Peer; 2],
    pub rng: Rng,
    pub want: HashMap<String, Want>,
    busy: HashMap<String, f64>,
    later: Vec<(f64, Later)>,
    pub ledger: Vec<Entry>,
    file: std::fs::File,
    pub unrelated: Vec<Child>,
    extra: bool,
    /// Faults on services and peers end this many seconds apart at most.
    pub outage_s: (f64, f64),
    /// The disk under the state file and queue, and when it is filled
    /// (planned, not drawn: a few long periods, not many short ones).
    pub disk: Option<&'a Disk>,
    pub disk_plan: Vec<f64>,
    /// How long a disk-full period lasts (seconds, drawn in this range).
    pub disk_s: (f64, f64),
    /// The disk is full now.
    disk_full: bool,
}

impl<'a> Chaos<'a> {
    pub fn new(
        world: &'a World,
        warden: &'a mut Warden,
        peers: [Peer; 2],
        seed: u64,
    ) -> Result<Chaos<'a>, String> {
        let file = std::fs::File::create(world.path("ledger.jsonl"))
            .map_err(|e| format!("ledger: {e}"))?;
        let want = world
            .services
            .iter()
            .map(|s| (s.name.clone(), Want::Running))
            .collect();
        Ok(Chaos {
            world,
            warden,
            peers,
            rng: Rng::new(seed),
            want,
            busy: HashMap::new(),
            later: Vec::new(),
            ledger: Vec::new(),
            file,
            unrelated: Vec::new(),
            extra: false,
            outage_s: (5.0, 8.0),
            disk: None,
            disk_plan: Vec::new(),
            disk_s: (6.0, 10.0),
            disk_full: false,
        })
    }

    fn log(&mut self, fault: &'static str, target: &str, detail: Value) {
        let e = Entry {
            at: now(),
            fault,
            target: target.to_string(),
            detail,
        };
        let line = json!({"time": e.at, "fault": e.fault, "target": e.target, "detail": e.detail});
        let _ = writeln!(self.file, "{line}");
        self.ledger.push(e);
    }

    /// A service of one of `kinds`, idle and wanted running, picked at random.
    fn pick(&mut self, kinds: &[Kind]) -> Option<String> {
        let t = now();
        let free: Vec<String> = self
            .world
            .services
            .iter()
            .filter(|s| kinds.contains(&s.kind))
            .filter(|s| self.want.get(&s.name) == Some(&Want::Running))
            .filter(|s| self.busy.get(&s.name).is_none_or(|&b| b < t))
            .map(|s| s.name.clone())
            .collect();
        (!free.is_empty()).then(|| free[self.rng.below(free.len())].clone())
    }

    fn hold(&mut self, name: &str, seconds: f64) {
        self.busy.insert(name.to_string(), now() + seconds);
    }

    /// The running service's pid, when its pidfile names a live instance.
    fn live_pid(&self, name: &str) -> Option<i32> {
        let pid = procs::read_pid(&self.world.pidfile(name))?;
        procs::is_service(pid, &self.world.marker(name)).then_some(pid)
    }

    /// SIGKILLs the service through a pidfd (the identity checked is the
    /// process signalled); its pid, or None when it is not running now.
    fn kill(&self, name: &str) -> Option<i32> {
        let pid = self.live_pid(name)?;
        procs::kill_service(pid, &self.world.marker(name)).map(|_| pid)
    }

    fn signal(&self, pid: i32, name: &str, sig: Signal) -> bool {
        let Some(p) = rustix::process::Pid::from_raw(pid) else {
            return false;
        };
        let Ok(fd) = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) else {
            return false;
        };
        // A stopped process reads as state T, still this service.
        let ours = std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
            c.windows(self.world.marker(name).len())
                .any(|w| w == self.world.marker(name))
        });
        ours && rustix::process::pidfd_send_signal(fd.as_fd(), sig).is_ok()
    }

    /// Picks a fault by weight and applies it; false when it did not apply
    /// (no idle target), so the caller may simply draw again.
    pub fn strike(&mut self, late: bool) -> bool {
        let total: usize = FAULTS.iter().map(|f| f.1).sum();
        let mut r = self.rng.below(total);
        let mut name = FAULTS[0].0;
        for (f, w) in FAULTS {
            if r < *w {
                name = f;
                break;
            }
            r -= w;
        }
        self.apply(name, late)
    }

    fn apply(&mut self, fault: &'static str, late: bool) -> bool {
        let procs_k = [Kind::Pidfile, Kind::Matching, Kind::Port, Kind::Chain];
        match fault {
            "sigkill" => self.kill_fault(fault, &procs_k, None, 10.0),
            "zombie" => self.kill_fault(fault, &[Kind::Zombie], None, 10.0),
            "passive-kill" => {
                let Some(n) = self.pick(&[Kind::Passive]) else {
                    return false;
                };
                let Some(pid) = self.kill(&n) else {
                    return false;
                };
                self.want.insert(n.clone(), Want::Stopped);
                self.log(fault, &n, json!({"pid": pid}));
                true
            }
            "start-fail" | "start-hang" | "start-slow" => {
                let (mode, window) = match fault {
                    "start-fail" => ("fail", 6.0),
                    "start-hang" => ("hang", 20.0),
                    _ => ("slow", 8.0),
                };
                self.kill_fault(fault, &[Kind::Pidfile], Some(mode), window)
            }
            "stale-pidfile" => self.stale(),
            "sigstop" => {
                let Some(n) = self.pick(&[Kind::Pidfile, Kind::Matching]) else {
                    return false;
                };
                let Some(pid) = self.live_pid(&n) else {
                    return false;
                };
                if !self.signal(pid, &n, Signal::STOP) {
                    return false;
                }
                self.hold(&n, 10.0);
                let back = now() + self.rng.range(2.0, 5.0);
                self.later.push((back, Later::Cont(pid, n.clone())));
                self.log(fault, &n, json!({"pid": pid}));
                true
            }
            "port-mute" => {
                let Some(n) = self.pick(&[Kind::Port]) else {
                    return false;
                };
                let Some(pid) = self.live_pid(&n) else {
                    return false;
                };
                let _ = std::fs::write(self.world.path(&format!("{n}.mute")), "");
                self.hold(&n, 15.0);
                self.log(fault, &n, json!({"pid": pid}));
                true
            }
            "program-fail" => {
                let Some(n) = self.pick(&[Kind::Program]) else {
                    return false;
                };
                let _ = std::fs::write(self.world.path(&format!("{n}.exit")), "3");
                self.hold(&n, 12.0);
                self.later.push((now() + 6.0, Later::ProgramOk(n.clone())));
                self.log(fault, &n, json!({"exit": 3}));
                true
            }
            "file-gone" => {
                let Some(n) = self.pick(&[Kind::File]) else {
                    return false;
                };
                let _ = std::fs::remove_file(self.world.path(&format!("{n}.dat")));
                self.hold(&n, 12.0);
                self.later.push((now() + 6.0, Later::FileBack(n.clone())));
                self.log(fault, &n, json!({}));
                true
            }
            "cli-passive-start" => {
                let code = self.warden.cli(&["start", "passive-000"]);
                self.log(fault, "passive-000", json!({"exit": code, "expected": 7}));
                true
            }
            "cli-stop" | "cli-unmonitor" => {
                if late {
                    return false;
                }
                let Some(n) = self.pick(&[Kind::Pidfile]) else {
                    return false;
                };
                let verb = if fault == "cli-stop" {
                    "stop"
                } else {
                    "unmonitor"
                };
                let code = self.warden.cli(&[verb, &n]);
                let (want, undo) = if verb == "stop" {
                    (Want::Stopped, "start")
                } else {
                    (Want::Unmonitored, "monitor")
                };
                self.want.insert(n.clone(), want);
                self.log(fault, &n, json!({"exit": code, "expected": 0}));
                // Most come back; some stay as they are to the end.
                if self.rng.below(10) < 7 {
                    let at = now() + self.rng.range(5.0, 20.0);
                    self.later.push((at, Later::Cli(undo, n)));
                }
                true
            }
            "warden-sigkill" => {
                // Alerts the full disk refused are held in Warden's memory:
                // a SIGKILL then loses them, by design (see README).
                if late || self.disk_full {
                    return false;
                }
                self.warden.kill();
                let pause = self.rng.range(0.2, 2.0);
                std::thread::sleep(Duration::from_secs_f64(pause));
                let started = self.warden.start();
                let t0 = now();
                let answered =
                    crate::wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
                        self.warden.status().is_some()
                    });
                self.log(
                    fault,
                    "warden",
                    json!({"down_s": pause, "restarted": started.is_ok(), "answered_after_s": answered.then(|| now() - t0)}),
                );
                true
            }
            "sighup-valid" => self.reload_valid(),
            "sighup-broken" => self.reload_broken(),
            "smtp-down" | "webhook-down" => {
                let i = usize::from(fault == "webhook-down");
                if late || self.busy.contains_key(fault) && self.busy[fault] > now() {
                    return false;
                }
                let back = self.rng.range(self.outage_s.0, self.outage_s.1);
                self.peers[i].down();
                self.busy.insert(fault.to_string(), now() + back + 1.0);
                self.later.push((now() + back, Later::PeerUp(i)));
                self.log(
                    fault,
                    if i == 0 { "smtp" } else { "webhook" },
                    json!({"for_s": back}),
                );
                true
            }
            _ => false,
        }
    }

    /// SIGKILL, with a start-program mode set first (reset after `window`).
    fn kill_fault(
        &mut self,
        fault: &'static str,
        kinds: &[Kind],
        mode: Option<&str>,
        window: f64,
    ) -> bool {
        let Some(n) = self.pick(kinds) else {
            return false;
        };
        if self.live_pid(&n).is_none() {
            return false;
        }
        if let Some(m) = mode {
            self.world.set_mode(&n, Some(m));
        }
        let Some(pid) = self.kill(&n) else {
            self.world.set_mode(&n, None);
            return false;
        };
        self.hold(&n, window + 8.0);
        if mode.is_some() {
            self.later.push((now() + window, Later::Mode(n.clone())));
        }
        self.log(fault, &n, json!({"pid": pid, "mode": mode}));
        true
    }

    /// Kills the service and writes the pid of a live unrelated process
    /// (a `sleep` the harness owns) into its pidfile, keeping its old mtime.
    fn stale(&mut self) -> bool {
        let Some(n) = self.pick(&[Kind::Pidfile]) else {
            return false;
        };
        if self.live_pid(&n).is_none() {
            return false;
        }
        let mut cmd = Command::new("/bin/sleep");
        cmd.arg("86400").stdin(Stdio::null());
        let Ok(sleeper) = Child::spawn(&mut cmd) else {
            return false;
        };
        let Some(pid) = self.kill(&n) else {
            return false;
        };
        // As a reused pid looks: the pidfile is older than its process.
        let pidfile = self.world.pidfile(&n);
        let written = std::fs::metadata(&pidfile).and_then(|m| m.modified());
        let tmp = self.world.path(&format!("{n}.pid.stale"));
        let _ = std::fs::write(&tmp, format!("{}\n", sleeper.pid));
        if let Ok(t) = written
            && let Ok(f) = std::fs::File::options().write(true).open(&tmp)
        {
            let _ = f.set_modified(t);
        }
        let _ = std::fs::rename(&tmp, &pidfile);
        self.hold(&n, 15.0);
        self.log(
            "stale-pidfile",
            &n,
            json!({"pid": pid, "unrelated_pid": sleeper.pid}),
        );
        self.unrelated.push(sleeper);
        true
    }

    fn reload_valid(&mut self) -> bool {
        self.extra = !self.extra;
        let rc = self.world.control_file(&self.extra_text());
        if self.world.write_rc(&rc).is_err() {
            return false;
        }
        self.warden.signal(Signal::HUP);
        let want = self.extra;
        let t0 = now();
        let applied =
            crate::wait_until(Duration::from_secs(30), Duration::from_millis(200), || {
                self.warden
                    .status()
                    .is_some_and(|l| l.iter().any(|s| s["name"] == "reload-probe") == want)
            });
        self.log(
            "sighup-valid",
            "warden",
            json!({"probe_present": want, "applied_after_s": applied.then(|| now() - t0)}),
        );
        true
    }

    fn extra_text(&self) -> String {
        if self.extra {
            format!(
                "check file reload-probe with path {}\n",
                self.world.rc().display()
            )
        } else {
            String::new()
        }
    }

    /// A control file with an error: refused, the old one keeps running;
    /// then the good file is written back (a later restart reads it).
    fn reload_broken(&mut self) -> bool {
        let good = self.world.control_file(&self.extra_text());
        // The CLI reads the control file too: ask before and after.
        let before = self.warden.status().map(|l| l.len());
        if self
            .world
            .write_rc(&format!("{good}check process broken with pidfile\n"))
            .is_err()
        {
            return false;
        }
        self.warden.signal(Signal::HUP);
        std::thread::sleep(Duration::from_secs(3));
        let alive = self.warden.alive();
        let _ = self.world.write_rc(&good);
        let after = self.warden.status().map(|l| l.len());
        self.log(
            "sighup-broken",
            "warden",
            json!({"alive": alive, "services_before": before, "services_after": after}),
        );
        true
    }

    /// Fills the disk under the state file and queue (a planned period).
    fn fill_disk(&mut self) {
        let Some(disk) = self.disk else {
            return;
        };
        let before = disk.free_bytes();
        let filled = disk.fill();
        let hold = self.rng.range(self.disk_s.0, self.disk_s.1);
        self.disk_full = true;
        self.later.push((now() + hold, Later::DiskFree));
        let (bytes, why) = filled.unwrap_or_else(|e| (0, e));
        self.log(
            "disk-full",
            "disk",
            json!({"for_s": hold, "free_before": before, "filler_bytes": bytes, "stopped_by": why,
                   "free_after": disk.free_bytes()}),
        );
    }

    /// Runs the follow-ups that are due (all of them with `all`).
    pub fn due(&mut self, all: bool) {
        let t = now();
        if self.disk_full
            && let Some(d) = self.disk
        {
            d.top_up();
        }
        if !all && self.disk_plan.first().is_some_and(|&at| at <= t) {
            self.disk_plan.remove(0);
            self.fill_disk();
        }
        let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.later)
            .into_iter()
            .partition(|(at, _)| all || *at <= t);
        self.later = rest;
        for (_, l) in ready {
            self.follow(l);
        }
    }

    pub fn pending(&self) -> usize {
        self.later.len()
    }

    fn follow(&mut self, l: Later) {
        match l {
            Later::Cont(pid, n) => {
                let sent = self.signal(pid, &n, Signal::CONT);
                self.log("sigcont", &n, json!({"pid": pid, "sent": sent}));
            }
            Later::Mode(n) => {
                self.world.set_mode(&n, None);
                self.log("start-ok-again", &n, json!({}));
            }
            Later::ProgramOk(n) => {
                let _ = std::fs::remove_file(self.world.path(&format!("{n}.exit")));
                self.log("program-ok-again", &n, json!({}));
            }
            Later::FileBack(n) => {
                let _ = std::fs::write(self.world.path(&format!("{n}.dat")), "x\n");
                self.log("file-back", &n, json!({}));
            }
            Later::Cli(verb, n) => {
                let code = self.warden.cli(&[verb, &n]);
                self.want.insert(n.clone(), Want::Running);
                self.hold(&n, 5.0);
                let fault = if verb == "start" {
                    "cli-start"
                } else {
                    "cli-monitor"
                };
                self.log(fault, &n, json!({"exit": code, "expected": 0}));
            }
            Later::DiskFree => {
                let freed = self.disk.is_some_and(Disk::free);
                self.disk_full = false;
                let free = self.disk.and_then(Disk::free_bytes);
                self.log("disk-free", "disk", json!({"freed": freed, "free": free}));
            }
            Later::PeerUp(i) => {
                let up = self.peers[i].up();
                let what = if i == 0 { "smtp-up" } else { "webhook-up" };
                self.log(
                    what,
                    if i == 0 { "smtp" } else { "webhook" },
                    json!({"ok": up.is_ok()}),
                );
            }
        }
    }
}
