//! A process's figures beyond `/proc/PID/stat`, as Monit's status shows
//! them: real and effective ids, the security label, open files and their
//! limit, and I/O counters. I/O and open files are read through files kept
//! open with the process when a rule tests them every cycle, else by path
//! now and then; the ones that rarely change (ids, label, limit) are read
//! now and then too, by the caller's choice.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::OnceLock;

/// `/proc/PID/io`: bytes moved by read and write calls, the calls, and
/// the bytes that reached storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoCounters {
    pub rchar: u64,
    pub wchar: u64,
    pub syscr: u64,
    pub syscw: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
}

/// What changes rarely: read when the process is found and now and then.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slow {
    /// Real uid, effective uid, real gid.
    pub ids: Option<(u32, u32, u32)>,
    /// The open-files limit, soft and hard (None: unlimited).
    pub nofile: Option<(Option<u64>, Option<u64>)>,
    /// The LSM label; empty when the system has none.
    pub label: String,
}

impl Slow {
    pub fn read(pid: u32) -> Slow {
        // The label only where some security module gives one: at 10,000
        // checks its open, failed read and close (and the limit's file,
        // formatted line by line by the kernel) were a fifth of what the
        // 30 s figures cost.
        let label = match labels_offered() {
            true => read_to_string(&format!("/proc/{pid}/attr/current"))
                .map(|t| t.trim_end_matches(['\n', '\0']).to_string())
                .unwrap_or_default(),
            false => String::new(),
        };
        Slow {
            ids: read_to_string(&format!("/proc/{pid}/status")).and_then(|t| parse_ids(&t)),
            nofile: nofile_limit(pid).or_else(|| {
                read_to_string(&format!("/proc/{pid}/limits")).and_then(|t| parse_nofile(&t))
            }),
            label,
        }
    }
}

/// Whether a security module answers `/proc/PID/attr/current` on this
/// system. None does when Warden's own reads as EINVAL (the kernel asks
/// the same modules whichever process it is about), and then every
/// process's label is empty: no need to read each one.
fn labels_offered() -> bool {
    static OFFERED: OnceLock<bool> = OnceLock::new();
    *OFFERED.get_or_init(|| {
        let mut buf = [0u8; 256];
        match crate::procfs::read_proc(Path::new("/proc/self/attr/current"), &mut buf) {
            Err(e) => e.raw_os_error() != Some(libc::EINVAL),
            Ok(_) => true,
        }
    })
}

/// The open-files limit of `pid`, soft and hard (None: unlimited), by one
/// `prlimit` call that changes nothing; None when Warden may not ask (a
/// process of another user without CAP_SYS_RESOURCE): the caller then
/// reads `/proc/PID/limits`, which anyone may.
#[allow(unsafe_code)] // rustix's prlimit always sets a new limit; libc's may only read
pub fn nofile_limit(pid: u32) -> Option<(Option<u64>, Option<u64>)> {
    let pid = libc::pid_t::try_from(pid).ok().filter(|p| *p > 0)?;
    let mut old = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a null new limit only reads; `old` is a valid rlimit64 that
    // the call fills.
    let rc = unsafe { libc::prlimit64(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
    let side = |v: u64| (v != libc::RLIM64_INFINITY).then_some(v);
    (rc == 0).then(|| (side(old.rlim_cur), side(old.rlim_max)))
}

/// The per-cycle sources of one process, opened once and bound to it (a
/// file under `/proc/PID` reads as an error once that process is gone,
/// never as a newcomer with the same pid). A file that could not be
/// opened (no permission, no spare descriptor) is read by path instead.
#[derive(Debug, Default)]
pub struct Sources {
    io: Option<File>,
    fd_dir: Option<File>,
}

impl Sources {
    pub fn open(pid: u32) -> Sources {
        Sources {
            io: File::open(format!("/proc/{pid}/io")).ok(),
            fd_dir: File::open(format!("/proc/{pid}/fd")).ok(),
        }
    }

    pub fn io(&self, pid: u32) -> Option<IoCounters> {
        let mut buf = [0u8; 512];
        let n = match &self.io {
            Some(f) => f.read_at(&mut buf, 0).ok()?,
            None => return read_to_string(&format!("/proc/{pid}/io")).and_then(|t| parse_io(&t)),
        };
        parse_io(std::str::from_utf8(buf.get(..n)?).ok()?)
    }

    /// How many files the process has open.
    pub fn open_files(&self, pid: u32) -> Option<u64> {
        match &self.fd_dir {
            Some(dir) if size_counts_fds() => Some(dir.metadata().ok()?.len()),
            _ => count_fds(pid),
        }
    }
}

/// Open files of `pid` without a held source (a descendant in a tree).
pub fn count_fds(pid: u32) -> Option<u64> {
    let path = format!("/proc/{pid}/fd");
    if size_counts_fds() {
        return std::fs::metadata(&path).ok().map(|m| m.len());
    }
    Some(std::fs::read_dir(&path).ok()?.count() as u64)
}

/// Since Linux 6.2 the size of `/proc/PID/fd` is the number of open files
/// (one `stat` instead of listing the directory).
fn size_counts_fds() -> bool {
    static NEW: OnceLock<bool> = OnceLock::new();
    *NEW.get_or_init(|| {
        let uname = rustix::system::uname();
        release_at_least(&uname.release().to_string_lossy(), (6, 2))
    })
}

/// Whether a kernel release (`6.18.44-fc`) is at least `major.minor`.
pub fn release_at_least(release: &str, want: (u32, u32)) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= want
}

/// A small `/proc` file as text: open, one read, close (`read_to_string`
/// adds an fstat and a second read; every check reads two or three of
/// these at its first run and every 30 s, 10,000 of them at once at
/// 10,000 checks).
fn read_to_string(path: &str) -> Option<String> {
    let mut buf = [0u8; 4096];
    match crate::procfs::read_proc(Path::new(path), &mut buf).ok()? {
        Some(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        None => std::fs::read_to_string(Path::new(path)).ok(),
    }
}

/// `Uid:` and `Gid:` of `/proc/PID/status` (real, effective, saved, fs).
pub fn parse_ids(status: &str) -> Option<(u32, u32, u32)> {
    let ids = |key: &str| -> Option<Vec<u32>> {
        let line = status.lines().find_map(|l| l.strip_prefix(key))?;
        Some(
            line.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect(),
        )
    };
    let (uid, gid) = (ids("Uid:")?, ids("Gid:")?);
    Some((*uid.first()?, *uid.get(1)?, *gid.first()?))
}

/// The `Max open files` line of `/proc/PID/limits`.
pub fn parse_nofile(limits: &str) -> Option<(Option<u64>, Option<u64>)> {
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    let mut values = line.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((values.next()?, values.next()?))
}

pub fn parse_io(text: &str) -> Option<IoCounters> {
    let mut io = IoCounters::default();
    let mut seen = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let Ok(v) = value.trim().parse() else {
            continue;
        };
        let slot = match key {
            "rchar" => &mut io.rchar,
            "wchar" => &mut io.wchar,
            "syscr" => &mut io.syscr,
            "syscw" => &mut io.syscw,
            "read_bytes" => &mut io.read_bytes,
            "write_bytes" => &mut io.write_bytes,
            _ => continue,
        };
        *slot = v;
        seen += 1;
    }
    (seen == 6).then_some(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_limits_and_io_are_read_from_their_proc_texts() {
        let status = "Name:\tsleep\nUid:\t1000\t1001\t1000\t1000\nGid:\t27\t28\t27\t27\n";
        assert_eq!(parse_ids(status), Some((1000, 1001, 27)));
        assert_eq!(parse_ids("Name: x\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max cpu time              unlimited            unlimited            seconds\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_nofile(limits), Some((Some(1024), Some(524288))));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_nofile(unlimited), Some((None, None)));
        let io = "rchar: 6976\nwchar: 5\nsyscr: 10\nsyscw: 1\nread_bytes: 8192\n\
                  write_bytes: 4096\ncancelled_write_bytes: 0\n";
        let want = IoCounters {
            rchar: 6976,
            wchar: 5,
            syscr: 10,
            syscw: 1,
            read_bytes: 8192,
            write_bytes: 4096,
        };
        assert_eq!(parse_io(io), Some(want));
        assert_eq!(parse_io("rchar: 1\n"), None, "a cut text is not zeros");
    }

    /// prlimit's answer is what `/proc/PID/limits` says, a soft limit set
    /// by the process itself included.
    #[test]
    fn the_open_files_limit_asked_of_the_kernel_is_the_limits_file_s() {
        use std::process::{Command, Stdio};
        let mut child = Command::new("sh")
            .args(["-c", "ulimit -Sn 777 && exec sleep 30"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let started = std::time::Instant::now();
        let by_file = loop {
            let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
            let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
            if cmd.starts_with("sleep") {
                break parse_nofile(&text);
            }
            assert!(
                started.elapsed().as_secs() < 10,
                "the child never ran sleep"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let asked = nofile_limit(pid);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(by_file.map(|l| l.0), Some(Some(777)));
        assert_eq!(asked, by_file);
        assert_eq!(Slow::read(pid).nofile, None, "gone: neither way answers");
        assert_eq!(nofile_limit(0), None, "no such process");
    }

    /// Where no security module gives labels, a process's label file reads
    /// as EINVAL, as Warden's own does; where one does, it is read.
    #[test]
    fn labels_are_read_only_where_the_system_has_them() {
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let file = std::fs::read_to_string(format!("/proc/{pid}/attr/current"));
        let label = Slow::read(pid).label;
        end(child);
        match file {
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
                assert!(!labels_offered());
                assert_eq!(label, "");
            }
            Ok(text) => {
                assert!(labels_offered());
                assert_eq!(label, text.trim_end_matches(['\n', '\0']));
            }
        }
    }

    fn end(mut child: std::process::Child) {
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn kernel_releases_compare_by_major_and_minor() {
        assert!(release_at_least("6.18.44-fc-v1300", (6, 2)));
        assert!(release_at_least("6.2.0", (6, 2)));
        assert!(!release_at_least("5.15.0-91-generic", (6, 2)));
        assert!(!release_at_least("garbage", (6, 2)));
    }

    #[test]
    fn a_child_shows_its_ids_limit_open_files_and_io() {
        use std::process::{Command, Stdio};
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        // The dynamic loader opens and reads libraries after the exec, so
        // the descriptor count and the I/O counters move for a while: let it
        // read something, then stop the child so that every read below sees
        // one state (CI saw 4 descriptors, then 3).
        let started = std::time::Instant::now();
        while Sources::default().io(pid).is_none_or(|io| io.rchar == 0) {
            assert!(started.elapsed().as_secs() < 10, "the child never read");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let raw = rustix::process::Pid::from_raw(pid as i32).unwrap();
        rustix::process::kill_process(raw, rustix::process::Signal::STOP).unwrap();
        while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap()
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('T'))
        {
            assert!(started.elapsed().as_secs() < 10, "the child never stopped");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let slow = Slow::read(pid);
        let uid = rustix::process::getuid().as_raw();
        assert_eq!(slow.ids.map(|i| i.0), Some(uid));
        assert!(
            slow.nofile.is_some_and(|(soft, _)| soft.is_some()),
            "{slow:?}"
        );
        let held = Sources::open(pid);
        // 0, 1, 2 and whatever the test runner let it inherit; it opens none.
        let listed = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count() as u64;
        assert!(listed >= 3);
        assert_eq!(held.open_files(pid), Some(listed));
        assert_eq!(Sources::default().open_files(pid), Some(listed), "by path");
        // Starting a program reads its libraries with read calls.
        let io = held.io(pid).unwrap();
        assert!(io.rchar > 0 && io.syscr > 0, "{io:?}");
        assert_eq!(Sources::default().io(pid), Some(io), "by path");
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(held.open_files(pid), None, "gone");
    }
}
