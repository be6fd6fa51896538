//! A small direct `/proc` reader for the hot per-pid path: one
//! `/proc/PID/stat` read costs a few microseconds, where a sysinfo refresh
//! costs far more and only knows start times to the whole second.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use rustix::time::{ClockId, clock_gettime};

/// The fields of `/proc/PID/stat` that Warden uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    /// The executable's name as the kernel keeps it (at most 15 bytes).
    pub comm: String,
    /// `R`, `S`, `D`, `Z`, `T`, ...
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    /// Clock ticks spent in user and kernel mode.
    pub utime: u64,
    pub stime: u64,
    /// Clock ticks of reaped children.
    pub cutime: u64,
    pub cstime: u64,
    pub num_threads: u64,
    /// Clock ticks after boot at which the process started.
    pub starttime: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

impl Stat {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }

    /// User plus system ticks of the process itself.
    pub fn cpu_ticks(&self) -> u64 {
        self.utime + self.stime
    }

    pub fn rss_bytes(&self) -> u64 {
        self.rss_pages * system().page_size
    }
}

/// Parses the text of `/proc/PID/stat`. The comm field sits in parentheses
/// and may itself hold spaces and parentheses, so the fields after it are
/// found from the *last* `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    parse_stat_bytes(text.as_bytes())
}

/// [`parse_stat`] of the raw bytes: every steady process check reads one
/// each cycle, so the fields are picked in one pass, with no vector of
/// them and no text copy (only comm, which may be any bytes, is lossy).
pub fn parse_stat_bytes(raw: &[u8]) -> Option<Stat> {
    parse_stat_line(raw, true)
}

/// [`parse_stat_bytes`] with `comm` left empty: a held process's stat,
/// read each cycle, is proven by pid and start time and never shows its
/// name (the copy was an allocation and a free a cycle of every check).
pub fn parse_stat_nameless(raw: &[u8]) -> Option<Stat> {
    parse_stat_line(raw, false)
}

fn parse_stat_line(raw: &[u8], named: bool) -> Option<Stat> {
    let open = raw.iter().position(|b| *b == b'(')?;
    let close = raw.iter().rposition(|b| *b == b')')?;
    if close < open {
        return None;
    }
    let pid = std::str::from_utf8(&raw[..open])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let comm = if named {
        String::from_utf8_lossy(&raw[open + 1..close]).into_owned()
    } else {
        String::new()
    };
    // Fields after comm, numbered from 3 (state) as in proc(5); the last
    // one read is 24 (rss).
    let mut fields: [&[u8]; 22] = [&[]; 22];
    let mut seen = 0;
    for word in raw[close + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
        .take(fields.len())
    {
        fields[seen] = word;
        seen += 1;
    }
    if seen < fields.len() {
        return None;
    }
    let text = |n: usize| std::str::from_utf8(fields[n - 3]).ok();
    let field = |n: usize| -> Option<u64> { text(n)?.parse().ok() };
    let as_i64 = |n: usize| -> Option<i64> { text(n)?.parse().ok() };
    let state = char::from(*fields[0].first()?);
    Some(Stat {
        pid,
        comm,
        state,
        ppid: u32::try_from(field(4)?).ok()?,
        pgrp: u32::try_from(field(5)?).ok()?,
        utime: field(14)?,
        stime: field(15)?,
        cutime: u64::try_from(as_i64(16)?).unwrap_or(0),
        cstime: u64::try_from(as_i64(17)?).unwrap_or(0),
        num_threads: u64::try_from(as_i64(20)?).unwrap_or(0),
        starttime: field(22)?,
        rss_pages: u64::try_from(as_i64(24)?).unwrap_or(0),
    })
}

/// Reads `/proc/PID/stat`; `Ok(None)` when no such process exists.
pub fn read_stat(pid: u32) -> io::Result<Option<Stat>> {
    // One open, one read, one close: the hot path of every process check.
    // `fs::read_to_string` adds an fstat and grows its buffer over five
    // reads, each making the kernel format the whole line again.
    let mut buf = [0u8; 1024];
    let path = format!("/proc/{pid}/stat");
    let parsed = match read_proc(Path::new(&path), &mut buf) {
        Ok(Some(n)) => parse_stat_bytes(&buf[..n]),
        Ok(None) => match fs::read(&path) {
            Ok(t) => parse_stat_bytes(&t),
            Err(e) if is_gone(&e) => return Ok(None),
            Err(e) => return Err(e),
        },
        Err(e) if is_gone(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    parsed.map(Some).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unreadable /proc/{pid}/stat"),
        )
    })
}

/// Reads a small `/proc` file whole into `buf` by one read; `None` when
/// it does not fit (the caller reads it the slow way). A per-process file
/// there is formatted whole at the read and handed out as far as the
/// buffer goes, so a read short of the buffer is all of it: the read that
/// would say "end of file" is not needed (one system call less for each
/// process of a table scan, each 30 s figure of each check).
pub fn read_proc(path: &Path, buf: &mut [u8]) -> io::Result<Option<usize>> {
    let mut file = fs::File::open(path)?;
    loop {
        match file.read(buf) {
            Ok(n) if n < buf.len() => return Ok(Some(n)),
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads a small file whole into `buf` from an open file, with as few
/// system calls as it takes; `None` when it does not fit.
pub fn read_small_from(file: &mut impl Read, buf: &mut [u8]) -> io::Result<Option<usize>> {
    let mut len = 0;
    loop {
        if len == buf.len() {
            return Ok(None);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => return Ok(Some(len)),
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The command line of a process, arguments joined by spaces (empty for
/// kernel threads and zombies); `None` when the process is gone.
pub fn read_cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(cmdline_words(&raw))
}

/// [`read_cmdline`] into `line` (cleared first), reading through `buf`:
/// both reused across the processes of a table scan. False when the
/// process is gone.
pub fn read_cmdline_into(pid: u32, buf: &mut Vec<u8>, line: &mut String) -> bool {
    line.clear();
    buf.clear();
    let Ok(mut file) = fs::File::open(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    if file.read_to_end(buf).is_err() {
        return false;
    }
    words_into(buf, line);
    true
}

/// A raw `/proc/PID/cmdline` (NUL-separated) as one line of words.
pub fn cmdline_words(raw: &[u8]) -> String {
    let mut line = String::new();
    words_into(raw, &mut line);
    line
}

/// [`cmdline_words`] appended to `line`: the arguments, empty ones left
/// out, joined by one space, each made valid UTF-8.
fn words_into(raw: &[u8], line: &mut String) {
    for arg in raw.split(|b| *b == 0).filter(|a| !a.is_empty()) {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&String::from_utf8_lossy(arg));
    }
}

/// Every pid in `/proc` at this moment.
pub fn all_pids() -> io::Result<Vec<u32>> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let entry = entry?;
        if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// ENOENT or ESRCH: the process went away while we looked.
fn is_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error())
}

/// Facts about the machine that do not change while Warden runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemFacts {
    pub ticks_per_second: u64,
    pub page_size: u64,
    /// Online CPUs (the `cpuN` lines of `/proc/stat`), at least 1.
    pub cpus: u64,
    /// `MemTotal` in bytes (0 if unreadable).
    pub mem_total: u64,
}

/// The machine's facts, read once.
pub fn system() -> &'static SystemFacts {
    static FACTS: OnceLock<SystemFacts> = OnceLock::new();
    FACTS.get_or_init(|| SystemFacts {
        ticks_per_second: rustix::param::clock_ticks_per_second().max(1),
        page_size: rustix::param::page_size() as u64,
        cpus: fs::read_to_string("/proc/stat")
            .map(|t| count_cpus(&t))
            .unwrap_or(1),
        mem_total: fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| parse_meminfo(&t, "MemTotal"))
            .unwrap_or(0),
    })
}

fn count_cpus(proc_stat: &str) -> u64 {
    let n = proc_stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    (n as u64).max(1)
}

/// A `/proc/meminfo` field in bytes (the file says kB).
pub fn parse_meminfo(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.split(':').next() == Some(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Seconds since boot, counting suspend (the clock `starttime` is kept in).
pub fn since_boot() -> Duration {
    let t = clock_gettime(ClockId::Boottime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Ticks since boot as a duration.
pub fn ticks_to_duration(ticks: u64) -> Duration {
    let hz = system().ticks_per_second;
    Duration::from_secs(ticks / hz) + Duration::from_nanos((ticks % hz) * 1_000_000_000 / hz)
}

/// The wall-clock time at which a process that started `starttime` ticks
/// after boot began, to a tick (unlike `/proc/stat`'s whole-second btime).
pub fn start_wall_time(starttime: u64) -> SystemTime {
    let boot = SystemTime::now()
        .checked_sub(since_boot())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    boot + ticks_to_duration(starttime)
}

/// How long a process has been running.
pub fn uptime(starttime: u64) -> Duration {
    since_boot().saturating_sub(ticks_to_duration(starttime))
}

/// Whether a path exists under `/proc` for this pid (cheaper than a stat read).
pub fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLEEP: &str = "4242 (sleep) S 100 4242 100 0 -1 4194304 90 0 0 0 7 3 1 2 20 0 1 0 123456 8192000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    /// One read gives a whole `/proc` file, and a buffer it fills is
    /// refused rather than taken as all of it.
    #[test]
    fn a_proc_file_is_read_whole_in_one_read() {
        let path = Path::new("/proc/self/limits");
        let whole = fs::read(path).unwrap();
        let mut buf = [0u8; 4096];
        let n = read_proc(path, &mut buf).unwrap().unwrap();
        assert_eq!(&buf[..n], &whole[..]);
        let mut small = [0u8; 64];
        assert_eq!(read_proc(path, &mut small).unwrap(), None);
        assert!(read_proc(Path::new("/proc/0/limits"), &mut buf).is_err());
    }

    #[test]
    fn stat_fields_are_read_by_their_proc5_numbers() {
        let s = parse_stat(SLEEP).unwrap();
        assert_eq!(
            (s.pid, s.comm.as_str(), s.state, s.ppid, s.pgrp),
            (4242, "sleep", 'S', 100, 4242)
        );
        assert_eq!((s.utime, s.stime, s.cutime, s.cstime), (7, 3, 1, 2));
        assert_eq!((s.num_threads, s.starttime, s.rss_pages), (1, 123456, 300));
    }

    #[test]
    fn comm_with_spaces_and_parentheses_is_split_at_the_last_parenthesis() {
        let tricky = SLEEP.replace("(sleep)", "(a) Z 1 (b c))");
        let s = parse_stat(&tricky).unwrap();
        assert_eq!(s.comm, "a) Z 1 (b c)");
        assert_eq!((s.state, s.ppid, s.starttime), ('S', 100, 123456));
    }

    #[test]
    fn truncated_or_garbage_stat_is_rejected() {
        for text in ["", "12", "12 (x", "x (sleep) S 1", "12 (sleep) S 1 2 3"] {
            assert_eq!(parse_stat(text), None, "{text:?}");
        }
    }

    #[test]
    fn own_process_is_read_from_proc() {
        let me = std::process::id();
        let s = read_stat(me).unwrap().unwrap();
        assert_eq!(s.pid, me);
        assert!(s.num_threads >= 1);
        assert!(read_cmdline(me).unwrap().contains("warden_probes"));
        assert!(all_pids().unwrap().contains(&me));
    }

    #[test]
    fn a_pid_that_does_not_exist_reads_as_none() {
        // pid_max is at most 2^22, so this pid cannot exist.
        assert_eq!(read_stat(99_999_999).unwrap(), None);
        assert_eq!(read_cmdline(99_999_999), None);
    }

    #[test]
    fn machine_facts_are_sane() {
        let f = system();
        assert!(f.ticks_per_second >= 1 && f.page_size >= 4096 && f.cpus >= 1);
        assert!(f.mem_total > 0);
        assert_eq!(
            parse_meminfo("MemTotal:  100 kB\nMemFree: 5 kB\n", "MemFree"),
            Some(5120)
        );
    }

    #[test]
    fn own_start_time_is_in_the_recent_past() {
        let s = read_stat(std::process::id()).unwrap().unwrap();
        let started = start_wall_time(s.starttime);
        let age = SystemTime::now().duration_since(started).unwrap();
        assert!(age < Duration::from_secs(3600), "{age:?}");
        assert!(uptime(s.starttime) < Duration::from_secs(3600));
    }
}
