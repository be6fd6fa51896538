//! End to end: a Warden starved of CPU (a cgroup CPU quota of 1 ms a
//! second) with a hundred `matching` checks, whose process probes time out
//! while the shared `/proc` scan is still running. The soak found that each
//! timed-out probe let the next start a scan beside the first (254 blocking
//! threads, half a gigabyte kept); now one scan runs at a time, so the
//! thread count stays that of an idle daemon. Where no CPU cgroup can be
//! made (not root, a container) the test says so and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod util;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::Sandbox;

/// A CPU cgroup (v1 `cpu` or v2 with the `cpu` controller) limited to
/// 1 ms of CPU a second; removed on drop.
struct Starved {
    dir: PathBuf,
    /// Where a pid is written to move it in.
    procs: PathBuf,
}

impl Starved {
    fn new() -> Option<Starved> {
        let name = format!("warden-starved-{}", std::process::id());
        let v1 = PathBuf::from("/sys/fs/cgroup/cpu");
        if v1.join("cpu.cfs_quota_us").exists() {
            let dir = v1.join(&name);
            std::fs::create_dir(&dir).ok()?;
            let set = std::fs::write(dir.join("cpu.cfs_period_us"), "1000000")
                .and_then(|()| std::fs::write(dir.join("cpu.cfs_quota_us"), "1000"));
            let cg = Starved {
                procs: dir.join("tasks"),
                dir,
            };
            return set.is_ok().then_some(cg);
        }
        let v2 = PathBuf::from("/sys/fs/cgroup");
        let controllers = std::fs::read_to_string(v2.join("cgroup.subtree_control")).ok()?;
        if !controllers.split_whitespace().any(|c| c == "cpu") {
            return None;
        }
        let dir = v2.join(&name);
        std::fs::create_dir(&dir).ok()?;
        let set = std::fs::write(dir.join("cpu.max"), "1000 1000000");
        let cg = Starved {
            procs: dir.join("cgroup.procs"),
            dir,
        };
        set.is_ok().then_some(cg)
    }
}

impl Drop for Starved {
    fn drop(&mut self) {
        // Empty once the daemon is gone.
        let _ = util::wait_until(Duration::from_secs(5), || {
            std::fs::remove_dir(&self.dir).is_ok()
        });
    }
}

fn threads(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))?
        .trim()
        .parse()
        .ok()
}

#[test]
fn a_starved_daemon_runs_one_process_table_scan_at_a_time() {
    let Some(cg) = Starved::new() else {
        println!("skipped: no CPU cgroup can be made here (not root, or a container)");
        return;
    };
    let sb = Sandbox::new();
    let mut rc = String::from("set daemon 1\nset statefile {dir}/state\n");
    for i in 0..100 {
        rc += &format!("check process m{i:03} matching \"no-such-process-{i:03}-here\"\n");
    }
    sb.write_rc(&rc);
    let log = std::fs::File::create(sb.path("warden.log")).unwrap();
    // The shell moves itself into the cgroup, then becomes the daemon.
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg("echo $$ > \"$0\" && exec \"$1\" -c \"$2\" -I")
        .arg(&cg.procs)
        .arg(env!("CARGO_BIN_EXE_warden"))
        .arg(&sb.rc)
        .env("HOME", sb.dir.path())
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WARDEN_LOG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let end = Instant::now() + Duration::from_secs(40);
    let mut most = 0;
    while Instant::now() < end {
        most = most.max(threads(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = child.kill();
    let _ = child.wait();
    let timeouts = sb.log_count("gave no answer");
    assert!(
        timeouts > 0,
        "the quota did not starve the probes (no probe timeout in 40 s):\n{}",
        sb.log()
    );
    // A worker a core, the state writer, the main thread and one scan,
    // with room to spare; one scan per timed-out probe made 55 on 2 cores.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u64);
    assert!(
        most <= cores + 8,
        "{most} threads: scans piled up ({timeouts} probe timeouts)"
    );
}
