//! End to end: the disk under Warden's state file, alert memory and alert
//! queue fills up (a small tmpfs, filled until ENOSPC) while a service
//! fails, then frees again. Warden must keep supervising, log each refused
//! write once (no flood, no spin, no panic), deliver every alert raised
//! meanwhile exactly once, write the state file again when it can, leave
//! no half-written temporary, and start again from that state file.
//!
//! The tmpfs lives in a mount namespace of the test's own (the test runs
//! itself again under `unshare --mount`), so a killed test leaves no mount
//! behind. Where that is not allowed (not root, a container) the tests
//! say so and pass: they need a disk that can be filled.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod util;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rustix::process::Signal;
use util::webhook::Receiver;
use util::{Sandbox, free_port, wait_until};

/// Set when this test binary runs inside its own mount namespace.
const NS_ENV: &str = "WARDEN_TEST_DISK_NS";

/// Runs the test `name` again inside `unshare --mount --propagation
/// private`; true when the caller is already inside (and should go on),
/// false when it ran there (its result asserted) or cannot (said why).
fn in_namespace(name: &str) -> bool {
    if std::env::var_os(NS_ENV).is_some() {
        return true;
    }
    let probe = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        println!("skipped: no mount namespace here (not root, or a container refusing unshare)");
        return false;
    }
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(NS_ENV, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "in the mount namespace:\n{text}");
    assert!(text.contains("1 passed"), "the test did not run:\n{text}");
    false
}

/// A tmpfs of `mb` MB on `dir`, unmounted on drop; the filler fills it.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, mb: u64) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mb}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .unwrap();
        assert!(ok.success(), "mount -t tmpfs on {}", dir.display());
        Tmpfs {
            dir: dir.to_path_buf(),
        }
    }

    /// Writes a filler file until the disk refuses (ENOSPC).
    fn fill(&self) {
        let mut f = std::fs::File::create(self.dir.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        let err = loop {
            if let Err(e) = f.write_all(&chunk) {
                break e;
            }
        };
        assert_eq!(err.raw_os_error(), Some(28), "{err}");
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.join("filler")).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Every event the webhook received, bundled ones included: (service,
/// event, ms).
fn events(hook: &Receiver) -> Vec<(String, String, u64)> {
    hook.bodies()
        .iter()
        .flat_map(|h| h["events"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["service"].as_str().unwrap_or("").to_string(),
                e["event"].as_str().unwrap_or("").to_string(),
                e["timestamp_ms"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// A sandbox whose state file, alert memory and queue are on a 2 MB tmpfs,
/// with one service and alerts to a webhook on `port`.
fn setup(sb: &Sandbox, port: u16) -> Tmpfs {
    let disk = Tmpfs::mount(&sb.path("disk"), 2);
    let svc_port = free_port();
    sb.write_rc(&format!(
        "set daemon 1\nset statefile {{dir}}/disk/state\n\
         set eventqueue basedir {{dir}}/disk/queue\n\
         set alert webhook \"http://127.0.0.1:{port}/hook\"\n\
         check process web with pidfile {pidfile}\n  start program = \"{start}\" with timeout 10 seconds\n",
        pidfile = sb.pidfile("web").display(),
        start = sb.service_cmd("web", svc_port, "serve"),
    ));
    disk
}

fn queued(sb: &Sandbox) -> usize {
    std::fs::read_dir(sb.path("disk/queue"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

/// Kills `web` and waits until Warden has started it again (a new pid).
fn kill_and_wait_restart(sb: &Sandbox) {
    let old = sb.pid("web").unwrap();
    util::kill(old, Signal::KILL);
    let back = wait_until(Duration::from_secs(20), || {
        sb.pid("web").is_some_and(|p| p != old && util::alive(p))
    });
    assert!(back, "not restarted while the disk was full:\n{}", sb.log());
}

/// User plus system CPU ticks of a process (`/proc/PID/stat`).
fn cpu_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

#[test]
fn alerts_raised_while_the_disk_is_full_are_delivered_once_after() {
    if !in_namespace("alerts_raised_while_the_disk_is_full_are_delivered_once_after") {
        return;
    }
    let sb = Sandbox::new();
    // The receiver is down at first: the alerts must wait somewhere.
    let port = free_port();
    let disk = setup(&sb, port);
    let _w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(20), || sb.pid("web").is_some()
            && sb.log_count("'web' started") > 0),
        "{}",
        sb.log()
    );
    // The first start's alerts are on disk; delivered once the receiver is up.
    disk.fill();
    let full_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    kill_and_wait_restart(&sb);
    assert!(
        wait_until(Duration::from_secs(10), || sb
            .log_count("cannot write to the alert queue")
            > 0),
        "no refused alert logged:\n{}",
        sb.log()
    );
    // Several delivery passes go by: a held alert is not logged again.
    std::thread::sleep(Duration::from_secs(4));
    let log = sb.log();
    let mut ids: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("held in memory ("))
        .filter_map(|l| l.split("message ").nth(1)?.split(' ').next())
        .collect();
    let lines = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), lines, "a held message logged twice:\n{log}");
    assert!(!sb.log().contains("panicked"), "{}", sb.log());
    disk.free();
    let hook = Receiver::start(&sb, port);
    assert!(
        wait_until(Duration::from_secs(30), || {
            events(&hook)
                .iter()
                .any(|e| e.0 == "web" && e.1 == "Does not exist" && e.2 >= full_ms)
                && queued(&sb) == 0
        }),
        "the failure raised while the disk was full never arrived: {:?}\n{}",
        events(&hook),
        sb.log()
    );
    assert!(
        sb.log_count("held in memory written to disk") > 0,
        "{}",
        sb.log()
    );
    // Then nothing more: each alert once (the failure, the recovery and
    // the restart's action raised while the disk was full).
    std::thread::sleep(Duration::from_secs(4));
    let events = events(&hook);
    let since: Vec<&str> = events
        .iter()
        .filter(|e| e.0 == "web" && e.2 >= full_ms)
        .map(|e| e.1.as_str())
        .collect();
    for kind in ["Does not exist", "Exists", "Action done"] {
        let n = since.iter().filter(|k| **k == kind).count();
        assert_eq!(n, 1, "{kind} {n} times: {events:?}\n{}", sb.log());
    }
    assert_eq!(queued(&sb), 0);
}

#[test]
fn the_state_file_is_written_again_after_the_disk_frees_and_read_at_the_next_start() {
    if !in_namespace(
        "the_state_file_is_written_again_after_the_disk_frees_and_read_at_the_next_start",
    ) {
        return;
    }
    let sb = Sandbox::new();
    let port = free_port();
    let _hook = Receiver::start(&sb, port);
    let disk = setup(&sb, port);
    let w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(20), || sb.log_count("'web' started")
            > 0
            && sb.path("disk/state").exists()),
        "{}",
        sb.log()
    );
    let state = || std::fs::read_to_string(sb.path("disk/state")).unwrap();
    disk.fill();
    kill_and_wait_restart(&sb);
    let restarted_pid = sb.pid("web").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || sb
            .log_count("cannot write the state file")
            > 0),
        "{}",
        sb.log()
    );
    // The file on disk is the last whole one, and no temporary holds space.
    serde_json::from_str::<serde_json::Value>(&state()).expect("the old state file reads whole");
    assert!(!sb.path("disk/state.tmp").exists());
    // Retried every 5 s, logged once: no spin, no flood.
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(
        sb.log_count("cannot write the state file"),
        1,
        "{}",
        sb.log()
    );
    let threads_cpu = cpu_ticks(w.pid());
    std::thread::sleep(Duration::from_secs(3));
    let later = cpu_ticks(w.pid());
    if let (Some(a), Some(b)) = (threads_cpu, later) {
        // A spinning writer would burn ~300 ticks in 3 s; a daemon idles.
        assert!(b - a < 100, "Warden used {} ticks in 3 s", b - a);
    }
    disk.free();
    // Written again within its retry, with no other change to prompt it.
    let current = || {
        serde_json::from_str::<serde_json::Value>(&state())
            .is_ok_and(|v| v["checks"]["web"]["pid"].as_u64() == Some(restarted_pid as u64))
    };
    assert!(
        wait_until(Duration::from_secs(10), current),
        "the state file was not written again after the free: {}\n{}",
        state(),
        sb.log()
    );
    assert_eq!(sb.log_count("is written again, after"), 1, "{}", sb.log());
    // The next Warden reads it: it knows the running process, starts none.
    assert!(w.terminate());
    let starts = sb.starts("web");
    let _w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(15), || sb
            .status_of("web")
            .is_some_and(|s| s.pid == Some(restarted_pid as u32))),
        "{}",
        sb.log()
    );
    assert!(!sb.log().contains("unreadable state file"), "{}", sb.log());
    assert_eq!(sb.starts("web"), starts, "a second process was started");
}
