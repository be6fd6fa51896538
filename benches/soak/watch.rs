//! Warden under test, and what the harness sees of it: its status polled
//! each second through `warden status --json` (each service's changes
//! kept), and its fd count, thread count and RSS sampled.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::procs::{self, Child};

/// Seconds since the epoch, as a float.
pub fn now() -> f64 {
    procs::now_ns() as f64 / 1e9
}

/// The daemon, started (and SIGKILLed and started again) by the harness.
#[derive(Debug)]
pub struct Warden {
    pub bin: PathBuf,
    pub rc: PathBuf,
    home: PathBuf,
    child: Option<Child>,
    pub pid: Arc<AtomicI32>,
}

impl Warden {
    pub fn new(bin: PathBuf, dir: &Path) -> Warden {
        Warden {
            bin,
            rc: dir.join("rc"),
            home: dir.to_path_buf(),
            child: None,
            pid: Arc::new(AtomicI32::new(0)),
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.home.join("warden.out")
    }

    /// Starts `warden -c rc -I`, its output appended to warden.out.
    pub fn start(&mut self) -> Result<(), String> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("warden.out: {e}"))?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-c")
            .arg(&self.rc)
            .arg("-I")
            .env("HOME", &self.home)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WARDEN_LOG")
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out);
        let child = Child::spawn(&mut cmd)?;
        self.pid.store(child.pid, Ordering::SeqCst);
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL (the child's drop kills and waits).
    pub fn kill(&mut self) {
        self.pid.store(0, Ordering::SeqCst);
        self.child = None;
    }

    pub fn alive(&self) -> bool {
        self.child.as_ref().is_some_and(Child::alive)
    }

    pub fn signal(&self, sig: rustix::process::Signal) {
        if let Some(c) = &self.child
            && c.alive()
            && let Some(p) = rustix::process::Pid::from_raw(c.pid)
        {
            let _ = rustix::process::kill_process(p, sig);
        }
    }

    /// `warden -c rc ARGS...`: its exit code (None: no exit within 30 s).
    pub fn cli(&self, args: &[&str]) -> Option<i32> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-c")
            .arg(&self.rc)
            .args(args)
            .env("HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Child::spawn(&mut cmd).ok()?.wait(Duration::from_secs(30))
    }

    /// `warden status --json`, parsed; None when the daemon does not answer.
    pub fn status(&self) -> Option<Vec<Value>> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-c")
            .arg(&self.rc)
            .args(["status", "--json"])
            .env("HOME", &self.home)
            .stderr(Stdio::null());
        let out = procs::stdout_of(&mut cmd, "status").ok()?;
        serde_json::from_str::<Vec<Value>>(&out).ok()
    }
}

/// One service as one poll saw it, kept when it differs from the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub at: f64,
    pub status: String,
    pub monitoring: String,
    pub pid: Option<i64>,
    pub event_at: Option<f64>,
    pub restarts_total: i64,
}

/// Warden's resources at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: f64,
    pub pid: i32,
    pub fds: usize,
    pub threads: u64,
    pub rss_kb: u64,
}

/// Everything the watcher saw.
#[derive(Debug, Default)]
pub struct Record {
    pub services: HashMap<String, Vec<Seen>>,
    pub samples: Vec<Sample>,
    pub polls: usize,
    pub unanswered: usize,
    pub last: Vec<Value>,
}

/// The watcher thread's shared record and its stop flag.
#[derive(Debug, Clone)]
pub struct Watcher {
    pub seen: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
}

impl Watcher {
    /// Polls every second; samples resources every `sample_s`.
    pub fn start(warden: &Warden, sample_s: f64) -> Watcher {
        let w = Watcher {
            seen: Arc::default(),
            stop: Arc::default(),
        };
        let (bin, rc, home, pid) = (
            warden.bin.clone(),
            warden.rc.clone(),
            warden.home.clone(),
            warden.pid.clone(),
        );
        let me = w.clone();
        std::thread::spawn(move || {
            let reader = Warden {
                bin,
                rc,
                home,
                child: None,
                pid: pid.clone(),
            };
            let mut next_sample = now() + sample_s.min(5.0);
            while !me.stop.load(Ordering::SeqCst) {
                let polled = reader.status();
                me.record(polled);
                let p = pid.load(Ordering::SeqCst);
                if now() >= next_sample && p > 0 {
                    next_sample += sample_s;
                    me.sample(p);
                }
                std::thread::sleep(Duration::from_millis(1000));
            }
        });
        w
    }

    fn record(&self, polled: Option<Vec<Value>>) {
        let at = now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.polls += 1;
        let Some(list) = polled else {
            seen.unanswered += 1;
            return;
        };
        for s in &list {
            let name = s["name"].as_str().unwrap_or("").to_string();
            let now_seen = Seen {
                at,
                status: s["status"].as_str().unwrap_or("").to_string(),
                monitoring: s["monitoring"].as_str().unwrap_or("").to_string(),
                pid: s["pid"].as_i64(),
                event_at: s["last_event"]["time_unix_s"].as_f64(),
                restarts_total: s["restarts_total"].as_i64().unwrap_or(0),
            };
            let h = seen.services.entry(name).or_default();
            let same = h
                .last()
                .is_some_and(|l| Seen { at, ..l.clone() } == now_seen);
            if !same {
                h.push(now_seen);
            }
        }
        seen.last = list;
    }

    fn sample(&self, pid: i32) {
        let st = procs::status(pid);
        let Some(fds) = procs::fd_count(pid) else {
            return;
        };
        let s = Sample {
            at: now(),
            pid,
            fds,
            threads: st.get("Threads").copied().unwrap_or(0),
            rss_kb: st.get("VmRSS").copied().unwrap_or(0),
        };
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .samples
            .push(s);
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
