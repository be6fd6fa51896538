//! The figures Warden shows agree with the system's own tools: a
//! filesystem's space and inodes with `df`, `stat -f` and `findmnt`; a
//! process's ids, threads, children, memory, open files and I/O with
//! `/proc/PID`; the machine's load, memory, uptime and boot time with
//! `/proc`; a file's, directory's and fifo's size, mode, owner and times
//! with `stat` (and its digest with `md5sum`); a link's counters with
//! `/sys/class/net`; a program's exit value and output with running it.
//! The real daemon (`-I`) on real processes and files.
//!
//! Timing: a tool is read before (A) and after (B) a probe that began
//! after A, so a figure that only grows (a counter) must lie in [A, B] and
//! one that moves both ways (free space on a shared disk, memory) within
//! [min, max] of A and B widened by the tolerance stated at its check.
//! Figures that do not move by themselves (sizes, ids, modes) must be
//! equal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use util::{Sandbox, free_port, wait_until};
use warden_engine::ServiceStatus;

/// Now, in unix seconds.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// When a status was collected, in unix seconds.
fn collected(s: &ServiceStatus) -> f64 {
    s.last_check_unix_s.unwrap_or(0) as f64 + f64::from(s.last_check_usec.unwrap_or(0)) / 1e6
}

/// The status of `name` from a probe that began after `after`: the
/// second collection past it (the first may have begun before).
fn fresh(sb: &Sandbox, name: &str, after: f64) -> ServiceStatus {
    let mut first = None;
    let mut got = None;
    let done = wait_until(Duration::from_secs(20), || {
        let Some(s) = sb.status_of(name) else {
            return false;
        };
        let at = collected(&s);
        match first {
            None if at > after => first = Some(at),
            Some(f) if at > f && !s.metrics.is_empty() => {
                got = Some(s);
                return true;
            }
            _ => {}
        }
        false
    });
    assert!(done, "no fresh status of {name}: {:?}", sb.status_of(name));
    got.unwrap()
}

/// A program's standard output; the test fails when it cannot run.
fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn metric(s: &ServiceStatus, name: &str) -> f64 {
    *s.metrics
        .get(name)
        .unwrap_or_else(|| panic!("{}: no metric {name} in {:?}", s.name, s.metrics))
}

/// `value` lies within [min(a, b) - tolerance, max(a, b) + tolerance].
fn between(what: &str, value: f64, a: f64, b: f64, tolerance: f64) {
    let (low, high) = (a.min(b) - tolerance, a.max(b) + tolerance);
    assert!(
        (low..=high).contains(&value),
        "{what}: Warden {value}, the system {a} then {b} (tolerance {tolerance})"
    );
}

/// `key: value` lines (`/proc/PID/status`, `/proc/meminfo`): the first
/// number after `key:`.
fn field(text: &str, key: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

/// The Nth whitespace-separated number of a line.
fn nth(line: &str, n: usize) -> f64 {
    line.split_whitespace().nth(n).unwrap().parse().unwrap()
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// One HTTP/1.0 GET with the test's basic auth (`user:pw`); the body.
fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Basic dXNlcjpwdw==\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(" 200 "), "{head}");
    body.to_string()
}

/// `df`'s figures of the filesystem at `path`, in bytes and inodes.
struct Df {
    size: f64,
    used: f64,
    avail: f64,
    itotal: f64,
    iused: f64,
    ifree: f64,
}

fn df(path: &str) -> Df {
    let text = output(
        "df",
        &["-B1", "--output=size,used,avail,itotal,iused,iavail", path],
    );
    let line = text.lines().nth(1).unwrap();
    Df {
        size: nth(line, 0),
        used: nth(line, 1),
        avail: nth(line, 2),
        itotal: nth(line, 3),
        iused: nth(line, 4),
        ifree: nth(line, 5),
    }
}

/// The block device counters (`/sys/dev/block/MAJ:MIN/stat`) of the
/// filesystem mounted at `path`: reads, read sectors, writes, written
/// sectors; none for a filesystem without a device (tmpfs).
fn disk_counters(path: &str) -> Option<[f64; 4]> {
    let line = output("findmnt", &["-n", "-o", "MAJ:MIN", "--mountpoint", path]);
    let dev = line.lines().next()?.trim().to_string();
    let stat = std::fs::read_to_string(format!("/sys/dev/block/{dev}/stat")).ok()?;
    Some([nth(&stat, 0), nth(&stat, 2), nth(&stat, 4), nth(&stat, 6)])
}

/// One filesystem's figures against `df`, `stat -f`, `stat` and
/// `findmnt`, read around a fresh probe.
fn filesystem_agrees(sb: &Sandbox, name: &str, path: &str) {
    // Free blocks (root's reserve included) and the fundamental block size.
    let free_total = || {
        let f = output("stat", &["-f", "-c", "%f %S", path]);
        nth(&f, 0) * nth(&f, 1)
    };
    let (before, disk_before, free_before, t) =
        (df(path), disk_counters(path), free_total(), now());
    let s = fresh(sb, name, t);
    let (after, disk_after, free_after) = (df(path), disk_counters(path), free_total());
    // Size and inode count do not move; free space and inodes do, with
    // every other program on the machine: Warden's reading lies between
    // df's before and after, give or take 64 MiB or 0.1% of the size
    // (whichever is more) and 0.1% of the inodes.
    assert_eq!(metric(&s, "space_total"), before.size, "{name} space total");
    let tolerance = (64.0 * 1024.0 * 1024.0f64).max(before.size / 1000.0);
    between(
        "space used",
        metric(&s, "space_used"),
        before.used,
        after.used,
        tolerance,
    );
    between(
        "space free for non superuser",
        metric(&s, "space_free"),
        before.avail,
        after.avail,
        tolerance,
    );
    between(
        "space free total",
        metric(&s, "space_free_total"),
        free_before,
        free_after,
        tolerance,
    );
    let used_percent = metric(&s, "space_used") * 100.0 / metric(&s, "space_total");
    assert!((metric(&s, "space_used_percent") - used_percent).abs() < 0.01);
    assert_eq!(metric(&s, "inode_total"), before.itotal, "{name} inodes");
    let itolerance = before.itotal / 1000.0;
    between(
        "inodes used",
        metric(&s, "inode_used"),
        before.iused,
        after.iused,
        itolerance,
    );
    between(
        "inodes free",
        metric(&s, "inode_free"),
        before.ifree,
        after.ifree,
        itolerance,
    );
    let fs = output("stat", &["-f", "-c", "%S", path]);
    assert_eq!(metric(&s, "block_size"), nth(&fs, 0), "{name} block size");
    let mount = output(
        "findmnt",
        &["-n", "-o", "FSTYPE,OPTIONS", "--mountpoint", path],
    );
    let mut words = mount.lines().next().unwrap().split_whitespace();
    assert_eq!(s.fs_type.as_deref(), words.next(), "{name} type");
    assert_eq!(s.fs_flags.as_deref(), words.next(), "{name} flags");
    let owner = output("stat", &["-c", "%a %u %g", path]);
    let mode = u32::from_str_radix(owner.split_whitespace().next().unwrap(), 8).unwrap();
    assert_eq!(metric(&s, "permission"), f64::from(mode), "{name} mode");
    assert_eq!(metric(&s, "uid"), nth(&owner, 1), "{name} uid");
    assert_eq!(metric(&s, "gid"), nth(&owner, 2), "{name} gid");
    // The device's counters only grow: Warden's lie between the two reads.
    if let (Some(a), Some(b)) = (disk_before, disk_after) {
        for (key, i, unit) in [
            ("read_operations_total", 0, 1.0),
            ("read_bytes_total", 1, 512.0),
            ("write_operations_total", 2, 1.0),
            ("write_bytes_total", 3, 512.0),
        ] {
            between(key, metric(&s, key), a[i] * unit, b[i] * unit, 0.0);
        }
    }
}

#[test]
fn a_filesystems_space_inodes_type_and_io_agree_with_df_stat_and_findmnt() {
    let sb = Sandbox::new();
    let port = free_port();
    // /dev/shm is a second kind (tmpfs, no device) where it is mounted.
    let shm = !output("findmnt", &["-n", "--mountpoint", "/dev/shm"])
        .trim()
        .is_empty();
    let mut rc = format!(
        "set daemon 1\n\
         set httpd port {port} use address 127.0.0.1 allow user:pw\n\
         check filesystem rootfs with path /\n"
    );
    if shm {
        rc.push_str("check filesystem shm with path /dev/shm\n");
    }
    sb.write_rc(&rc);
    let _warden = sb.warden();
    filesystem_agrees(&sb, "rootfs", "/");
    if shm {
        filesystem_agrees(&sb, "shm", "/dev/shm");
    }

    // `warden status` prints the space and inode lines, as `monit status`.
    let text = sb.cli(&["status", "rootfs"]).stdout;
    let value = |label: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("  ")?.strip_prefix(label))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {label} line in {text}"))
            .to_string()
    };
    let d = df("/");
    assert_eq!(value("inodes total"), format!("{}", d.itotal), "{text}");
    let fstype = output("findmnt", &["-n", "-o", "FSTYPE", "--mountpoint", "/"]);
    assert_eq!(value("filesystem type"), fstype.trim());
    for label in [
        "block size",
        "space free for non superuser",
        "space free total",
        "inodes free",
    ] {
        assert!(!value(label).is_empty(), "{label} in {text}");
    }
    assert!(
        value("space total").contains("reserved for root user"),
        "{text}"
    );
    // The service page shows the same lines.
    let page = get(port, "/rootfs");
    assert!(
        page.contains(&format!("<td>inodes total</td><td>{}</td>", d.itotal)),
        "{page}"
    );
    for label in ["space total", "space free total", "inodes free", "restarts"] {
        assert!(
            page.contains(&format!("<td>{label}</td>")),
            "{label}: {page}"
        );
    }
}

/// A process tree this test started; its whole group killed on drop.
struct Tree(Child);

impl Drop for Tree {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.0.wait();
    }
}

/// Three more threads, two `sleep` children, 32 MiB touched, 1 MiB
/// written: figures that differ from a bare process's.
const WORKER: &str = r#"
import os, subprocess, threading, time
for _ in range(3):
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
kids = [subprocess.Popen(["sleep", "600"]) for _ in range(2)]
block = bytearray(32 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
fd = os.open("/dev/null", os.O_WRONLY)
os.write(fd, b"x" * (1024 * 1024))
print("ready", flush=True)
time.sleep(600)
"#;

/// The direct and further children of `pid`, from `/proc`.
fn descendants(pid: i32) -> Vec<i32> {
    let all = util::all_pids();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for p in &all {
            if util::proc_stat(*p).is_some_and(|s| s.ppid == parent) && !found.contains(p) {
                found.push(*p);
            }
        }
        i += 1;
    }
    found.remove(0);
    found
}

/// Bytes of resident memory, from `/proc/PID/status`.
fn rss(pid: i32) -> f64 {
    field(&read(format!("/proc/{pid}/status")), "VmRSS") * 1024.0
}

#[test]
fn a_processs_ids_threads_children_memory_files_and_io_agree_with_proc() {
    let sb = Sandbox::new();
    // As nobody, so that uid and gid are not simply the test's own.
    let mut child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            // Debian's own: a user's shim may be out of nobody's reach.
            "/usr/bin/python3",
            "-c",
            WORKER,
        ])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 6];
    child.stdout.take().unwrap().read_exact(&mut ready).unwrap();
    let tree = Tree(child);
    let pid = tree.0.id() as i32;
    std::fs::write(sb.path("worker.pid"), format!("{pid}\n")).unwrap();
    sb.write_rc("set daemon 1\ncheck process worker with pidfile {dir}/worker.pid\n");
    let _warden = sb.warden();

    let status = |p: i32| read(format!("/proc/{p}/status"));
    let io = |key: &str| field(&read(format!("/proc/{pid}/io")), key);
    let t = now();
    let (io_before, tree_before) = (
        [
            io("rchar"),
            io("wchar"),
            io("read_bytes"),
            io("write_bytes"),
        ],
        rss(pid) + descendants(pid).iter().map(|p| rss(*p)).sum::<f64>(),
    );
    let (rss_before, s) = (rss(pid), fresh(&sb, "worker", t));
    let tree_after = rss(pid) + descendants(pid).iter().map(|p| rss(*p)).sum::<f64>();
    let (proc_status, io_after) = (
        status(pid),
        [
            io("rchar"),
            io("wchar"),
            io("read_bytes"),
            io("write_bytes"),
        ],
    );

    assert_eq!(s.pid, Some(pid as u32));
    assert_eq!(
        s.ppid.map(f64::from),
        Some(field(&proc_status, "PPid")),
        "ppid"
    );
    // Uid: real, effective, saved, fs; Gid likewise.
    let ids = |key: &str| -> Vec<f64> {
        let line = proc_status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap();
        line.split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let (uids, gids) = (ids("Uid:"), ids("Gid:"));
    assert_eq!(metric(&s, "uid"), uids[0], "uid");
    assert_eq!(metric(&s, "euid"), uids[1], "euid");
    assert_eq!(metric(&s, "gid"), gids[0], "gid");
    assert_eq!(uids[0], 65534.0);
    assert_eq!(
        s.threads.map(|n| n as f64),
        Some(field(&proc_status, "Threads")),
        "threads"
    );
    assert_eq!(s.threads, Some(4));
    assert_eq!(s.children, Some(descendants(pid).len() as u64), "children");
    assert_eq!(s.children, Some(2));
    // Resident memory of an idle process moves little: within 256 KiB of
    // VmRSS (the same pages: file, anonymous and shared), and the tree's
    // within 1 MiB of the sum over the process and its descendants.
    let memory = s.memory_bytes.unwrap() as f64;
    between("memory", memory, rss_before, rss(pid), 256.0 * 1024.0);
    assert!(memory > 32.0 * 1024.0 * 1024.0, "the 32 MiB it touched");
    between(
        "memory total",
        s.total_memory_bytes.unwrap() as f64,
        tree_before,
        tree_after,
        1024.0 * 1024.0,
    );
    let total = field(&read("/proc/meminfo"), "MemTotal") * 1024.0;
    let percent = s.memory_percent.unwrap();
    assert!((percent - memory * 100.0 / total).abs() < 0.01, "{percent}");
    // Uptime: from the start time in /proc/PID/stat, within 2 s.
    let stat = read(format!("/proc/{pid}/stat"));
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let start_ticks = nth(after_comm, 19);
    let btime = field(&read("/proc/stat").replace("btime ", "btime: "), "btime");
    let tick: f64 = output("getconf", &["CLK_TCK"]).trim().parse().unwrap();
    // Its age when Warden collected the status, not when the test got
    // here: under load the two are seconds apart.
    let age = collected(&s) - (btime + start_ticks / tick);
    between("uptime", s.uptime_s.unwrap() as f64, age, age, 2.0);
    // Open files: the entries of /proc/PID/fd; the limit from limits.
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    assert_eq!(metric(&s, "file_descriptors"), fds as f64, "open files");
    let limits = read(format!("/proc/{pid}/limits"));
    let open = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .unwrap();
    assert_eq!(metric(&s, "file_descriptors_soft_limit"), nth(open, 0));
    assert_eq!(metric(&s, "file_descriptors_hard_limit"), nth(open, 1));
    // I/O counters only grow: between the reads of /proc/PID/io.
    for (i, key) in [
        "read_bytes_total",
        "write_bytes_total",
        "disk_read_bytes_total",
        "disk_write_bytes_total",
    ]
    .iter()
    .enumerate()
    {
        between(key, metric(&s, key), io_before[i], io_after[i], 0.0);
    }
    assert!(metric(&s, "write_bytes_total") >= 1024.0 * 1024.0);
}

#[test]
fn the_machines_load_memory_uptime_and_boot_time_agree_with_proc() {
    let sb = Sandbox::new();
    sb.write_rc("set daemon 1\ncheck system figurehost\n");
    let _warden = sb.warden();
    let loadavg = || -> Vec<f64> {
        let text = read("/proc/loadavg");
        (0..3).map(|i| nth(&text, i)).collect()
    };
    let memory = || {
        let m = read("/proc/meminfo");
        let kib = |k| field(&m, k) * 1024.0;
        (
            kib("MemTotal") - kib("MemAvailable"),
            kib("SwapTotal") - kib("SwapFree"),
            kib("MemTotal"),
        )
    };
    let uptime = || nth(&read("/proc/uptime"), 0);
    let t = now();
    let (load_a, mem_a, up_a) = (loadavg(), memory(), uptime());
    let s = fresh(&sb, "figurehost", t);
    let (load_b, mem_b, up_b) = (loadavg(), memory(), uptime());
    // The kernel updates the load every 5 s: Warden's is one of the two
    // readings, each printed to two decimals.
    for (i, key) in ["load_avg1", "load_avg5", "load_avg15"].iter().enumerate() {
        let w = metric(&s, key);
        assert!(
            (w - load_a[i]).abs() <= 0.005 || (w - load_b[i]).abs() <= 0.005,
            "{key}: Warden {w}, /proc/loadavg {} then {}",
            load_a[i],
            load_b[i]
        );
    }
    // Memory in use (total less available, as Monit and `free` count it)
    // moves with every other program: within 2% of the total.
    let tolerance = mem_a.2 * 0.02;
    between("memory", metric(&s, "memory"), mem_a.0, mem_b.0, tolerance);
    between("swap", metric(&s, "swap"), mem_a.1, mem_b.1, tolerance);
    let percent = metric(&s, "memory") * 100.0 / mem_a.2;
    assert!((metric(&s, "memory_percent") - percent).abs() < 0.01);
    between("uptime", metric(&s, "uptime"), up_a, up_b, 1.0);
    let btime = field(&read("/proc/stat").replace("btime ", "btime: "), "btime");
    assert_eq!(metric(&s, "boot_time"), btime, "boot time");
    // The cpu split adds up to at most all of it.
    let split: f64 = [
        "cpu_user",
        "cpu_system",
        "cpu_nice",
        "cpu_wait",
        "cpu_hard_irq",
        "cpu_soft_irq",
        "cpu_steal",
        "cpu_guest",
        "cpu_guest_nice",
    ]
    .iter()
    .map(|k| metric(&s, k))
    .sum();
    assert!(split <= 100.5, "cpu split adds to {split}");
    // The text shows the three loads, as /proc/loadavg had them at some
    // reading since the first.
    let c1 = loadavg();
    let text = sb.cli(&["status", "figurehost"]).stdout;
    let c2 = loadavg();
    let line = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("load average"))
        .unwrap_or_else(|| panic!("no load average in {text}"));
    let shown: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(shown.len(), 3, "{line}");
    let seen = [&load_a, &load_b, &c1, &c2];
    for (i, v) in shown.iter().enumerate() {
        assert!(
            seen.iter().any(|l| format!("[{:.2}]", l[i]) == *v),
            "load average {line}, /proc/loadavg {seen:?}"
        );
    }
    assert!(text.contains("  boot time"), "{text}");
}

#[test]
fn a_files_directorys_and_fifos_size_mode_owner_times_and_digest_agree_with_stat() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new();
    let file = sb.path("afile");
    std::fs::write(&file, vec![b'w'; 12345]).unwrap();
    std::fs::create_dir(sb.path("adir")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(sb.path("afifo"))
            .status()
            .unwrap()
            .success()
    );
    for (name, mode) in [("afile", 0o640), ("adir", 0o751), ("afifo", 0o620)] {
        let path = sb.path(name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        // Times Warden cannot have made itself.
        let touched = Command::new("touch")
            .args(["-h", "-d", "@1700000000"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(touched.success());
    }
    sb.write_rc(
        "set daemon 1\n\
         check file afile with path {dir}/afile\n  if failed checksum then alert\n\
         check directory adir with path {dir}/adir\n\
         check fifo afifo with path {dir}/afifo\n",
    );
    let _warden = sb.warden();
    let t = now();
    for name in ["afile", "adir", "afifo"] {
        let s = fresh(&sb, name, t);
        let path = sb.path(name);
        let path = path.to_str().unwrap();
        let st = output("stat", &["-c", "%a %u %g %s %X %Y %Z", path]);
        let mode = u32::from_str_radix(st.split_whitespace().next().unwrap(), 8).unwrap();
        assert_eq!(metric(&s, "permission"), f64::from(mode), "{name} mode");
        assert_eq!(metric(&s, "uid"), nth(&st, 1), "{name} uid");
        assert_eq!(metric(&s, "gid"), nth(&st, 2), "{name} gid");
        // stat prints whole seconds; Warden keeps the fraction.
        for (key, i) in [("access_time", 4), ("modify_time", 5), ("change_time", 6)] {
            assert_eq!(metric(&s, key).floor(), nth(&st, i), "{name} {key}");
        }
        assert_eq!(metric(&s, "modify_time"), 1_700_000_000.0, "{name}");
        if name == "afile" {
            assert_eq!(metric(&s, "size"), nth(&st, 3), "size");
            let sum = output("md5sum", &[path]);
            let digest = s.checksum.as_ref().map(|c| c.digest.as_str());
            assert_eq!(digest, sum.split_whitespace().next(), "digest");
        }
    }
}

#[test]
fn a_links_counters_agree_with_sys_class_net_and_a_programs_run_with_its_own() {
    let sb = Sandbox::new();
    let script = sb.path("prog.sh");
    std::fs::write(&script, "#!/bin/sh\necho figure\necho two\nexit 3\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    sb.write_rc(
        "set daemon 1\n\
         check network lo with interface lo\n\
         check program prog with path {dir}/prog.sh\n  if status > 10 then alert\n",
    );
    let _warden = sb.warden();
    let counters = || -> Vec<f64> {
        [
            "rx_bytes",
            "tx_bytes",
            "rx_packets",
            "tx_packets",
            "rx_errors",
            "tx_errors",
        ]
        .iter()
        .map(|c| nth(&read(format!("/sys/class/net/lo/statistics/{c}")), 0))
        .collect()
    };
    let t = now();
    let a = counters();
    let s = fresh(&sb, "lo", t);
    let b = counters();
    for (i, key) in [
        "downloaded_bytes",
        "uploaded_bytes",
        "downloaded_packets",
        "uploaded_packets",
        "downloaded_errors",
        "uploaded_errors",
    ]
    .iter()
    .enumerate()
    {
        between(key, metric(&s, key), a[i], b[i], 0.0);
    }
    let flags = read("/sys/class/net/lo/flags");
    let flags = i64::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(metric(&s, "link_up"), (flags & 1) as f64, "IFF_UP");

    // The program's exit value and output, as running it gives them.
    let run = Command::new(&script).output().unwrap();
    let p = fresh(&sb, "prog", t);
    assert_eq!(
        metric(&p, "exit_status"),
        f64::from(run.status.code().unwrap())
    );
    assert_eq!(
        p.program_output.as_deref().map(str::trim_end),
        Some(String::from_utf8_lossy(&run.stdout).trim_end())
    );
    let started = metric(&p, "program_started");
    assert!(
        started >= t.floor() && started <= now(),
        "started {started}"
    );
}

#[test]
fn a_content_rule_shows_content_match_no_then_yes_while_a_new_line_fires_it() {
    let sb = Sandbox::new();
    let log = sb.path("app.log");
    std::fs::write(&log, "started\n").unwrap();
    sb.write_rc(
        "set daemon 1\n\
         check file applog with path {dir}/app.log\n  if content = \"ERROR\" then alert\n",
    );
    let _warden = sb.warden();
    let s = fresh(&sb, "applog", now());
    assert_eq!(s.content_match, Some(false));
    let text = sb.cli(&["status", "applog"]).stdout;
    assert!(
        text.lines()
            .any(|l| l.starts_with("  content match") && l.ends_with(" no")),
        "{text}"
    );
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(f, "an ERROR here").unwrap();
    // It fires for the cycle that reads the line, then no new line does.
    let yes = wait_until(Duration::from_secs(10), || {
        sb.status_of("applog").and_then(|s| s.content_match) == Some(true)
    });
    assert!(yes, "{:?}", sb.status_of("applog"));
    let no = wait_until(Duration::from_secs(10), || {
        sb.status_of("applog").and_then(|s| s.content_match) == Some(false)
    });
    assert!(no, "{:?}", sb.status_of("applog"));
}

/// A process's cpu ticks (user and system) from `/proc/PID/stat`.
fn ticks(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(nth(rest, 11) + nth(rest, 12))
}

/// The ticks at `t`, between the two samples around it (linear).
fn ticks_at(samples: &[(f64, f64)], t: f64) -> Option<f64> {
    let after = samples.iter().position(|(at, _)| *at >= t)?;
    let (t1, k1) = samples[after.checked_sub(1)?];
    let (t2, k2) = samples[after];
    Some(k1 + (k2 - k1) * (t - t1) / (t2 - t1).max(1e-9))
}

#[test]
fn a_busy_processs_cpu_agrees_with_its_ticks_in_proc_over_the_same_second() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let sb = Sandbox::new();
    let spinner = Command::new("/usr/bin/python3")
        .args(["-c", "while True: pass"])
        .process_group(0)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let tree = Tree(spinner);
    let pid = tree.0.id() as i32;
    std::fs::write(sb.path("spinner.pid"), format!("{pid}\n")).unwrap();
    sb.write_rc("set daemon 1\ncheck process spinner with pidfile {dir}/spinner.pid\n");
    let _warden = sb.warden();
    // The kernel's count, every 5 ms, with the time it was read.
    let (stop, samples) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let sampler = {
        let (stop, samples) = (Arc::clone(&stop), Arc::clone(&samples));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(k) = ticks(pid) {
                    samples.lock().unwrap().push((now(), k));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // Every collection Warden makes, with the cpu it showed then.
    let mut seen: Vec<(f64, Option<f64>)> = Vec::new();
    let pairs = |seen: &[(f64, Option<f64>)]| -> Vec<(f64, f64, f64)> {
        seen.windows(2)
            .filter_map(|w| Some((w[0].0, w[1].0, w[1].1?)))
            .filter(|(a, b, _)| b - a < 1.5)
            .collect()
    };
    let enough = wait_until(Duration::from_secs(30), || {
        if let Some(s) = sb.status_of("spinner") {
            let at = collected(&s);
            if seen.last().is_none_or(|(t, _)| at > *t) && at > 0.0 {
                seen.push((at, s.cpu_percent));
            }
        }
        pairs(&seen).len() >= 3
    });
    // The last collection may be read within the sampler's 5 ms: let it
    // take a sample past it.
    std::thread::sleep(Duration::from_millis(30));
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    assert!(enough, "three checks a cycle apart: {seen:?}");
    let samples = samples.lock().unwrap();
    let tick: f64 = output("getconf", &["CLK_TCK"]).trim().parse().unwrap();
    // Warden reads /proc a moment before it stamps the collection, the
    // same moment at both ends; ticks are 10 ms. Within 5 points of one
    // core (100% is one core for a one-thread process, as in Monit).
    for (t1, t2, cpu) in pairs(&seen) {
        let (Some(k1), Some(k2)) = (ticks_at(&samples, t1), ticks_at(&samples, t2)) else {
            panic!("no samples around {t1} and {t2}");
        };
        let kernel = (k2 - k1) / tick / (t2 - t1) * 100.0;
        println!("cpu from {t1:.3} to {t2:.3}: Warden {cpu:.1}%, the kernel's ticks {kernel:.1}%");
        assert!(
            (cpu - kernel).abs() <= 5.0,
            "cpu {cpu:.1}% from {t1:.3} to {t2:.3}, the kernel's ticks say {kernel:.1}%"
        );
    }
}
