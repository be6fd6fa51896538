//! Finding a process (by pidfile, `matching` regex or pid) and proving it is
//! the one the check means: a pid alone can be reused, so a process counts
//! as running only if it exists, is not a zombie, and its identity holds.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::match_index::Watch;
use crate::outcome::{Outcome, ProcessFacts, Status};
use crate::pattern::Pattern;
use crate::procfs::{self, Stat};
use crate::table::ProcessTable;

/// How a check names its process.
#[derive(Debug, Clone)]
pub enum Locator {
    Pidfile(PathBuf),
    /// Matched against the full command line; the oldest match wins.
    /// Shared with the table's index of watched patterns.
    Matching(Arc<Pattern>),
    Pid(u32),
}

impl Locator {
    /// Whether finding the process needs the whole process table.
    pub fn needs_table(&self) -> bool {
        matches!(self, Locator::Matching(_))
    }
}

/// A process identity proven at some point, with what proved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proven {
    pub facts: ProcessFacts,
    /// The pidfile's mtime when the identity was proven: once the file is
    /// written again, the service may legitimately have a new process.
    pub pidfile_mtime: Option<SystemTime>,
}

/// A located process, ready to be measured.
#[derive(Debug, Clone)]
pub struct Found {
    pub stat: Stat,
    pub pidfile_mtime: Option<SystemTime>,
    /// The pidfile as it was when read: while it stays the same, it names
    /// the same pid.
    pub pidfile_key: Option<FileKey>,
}

/// What tells a file rewritten from the same file: device, inode, size
/// and mtime, all from one `stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKey {
    dev: u64,
    ino: u64,
    len: u64,
    pub mtime: SystemTime,
}

impl FileKey {
    pub fn of(meta: &fs::Metadata) -> io::Result<FileKey> {
        use std::os::unix::fs::MetadataExt as _;
        Ok(FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: meta.modified()?,
        })
    }

    /// The key of the file at `path` now.
    pub fn at(path: &Path) -> io::Result<FileKey> {
        FileKey::of(&fs::metadata(path)?)
    }
}

impl Found {
    pub fn facts(&self) -> ProcessFacts {
        ProcessFacts {
            pid: self.stat.pid,
            ppid: self.stat.ppid,
            start_ticks: self.stat.starttime,
        }
    }
}

/// Clock granularity allowed between a pidfile's mtime and its process's
/// start (file systems and `starttime` tick at different rates).
pub const STALE_TOLERANCE: Duration = Duration::from_secs(1);

/// Finds the process and proves its identity, or says in words why not.
/// `last` is the identity proven on an earlier run; `seen` the last one
/// Warden saw alive, even across a `forget` (its zombie is the service
/// exited, not a zombie problem); `table` is needed for `matching`, and
/// answers at once for a pattern it `watch`es.
/// Blocking (reads `/proc` and the pidfile).
pub fn locate(
    locator: &Locator,
    last: Option<&Proven>,
    seen: Option<&Proven>,
    table: Option<&ProcessTable>,
    watch: Option<&Watch>,
) -> Result<Found, Outcome> {
    match locator {
        Locator::Pidfile(path) => by_pidfile(path, last, seen),
        Locator::Pid(pid) => {
            let gone = format!("process with pid {pid} is not running");
            let stat = live_stat(*pid, &gone, seen)?;
            check_reuse(&stat, last, None)?;
            Ok(Found {
                stat,
                pidfile_mtime: None,
                pidfile_key: None,
            })
        }
        Locator::Matching(re) => by_matching(re, table, watch, seen),
    }
}

fn by_pidfile(path: &Path, last: Option<&Proven>, seen: Option<&Proven>) -> Result<Found, Outcome> {
    let shown = path.display();
    let (pid, key) = read_pidfile_keyed(path)?;
    let mtime = key.mtime;
    let stat = match procfs::read_stat(pid) {
        Ok(Some(stat)) => stat,
        Ok(None) => {
            let gone = format!("process with pid {pid} (from pidfile {shown}) is not running");
            return Err(Outcome::failed(Status::Missing, gone));
        }
        Err(e) => {
            return Err(Outcome::failed(
                Status::Error,
                format!("cannot read process {pid}: {e}"),
            ));
        }
    };
    check_reuse(&stat, last, Some(mtime))?;
    if procfs::start_wall_time(stat.starttime) > mtime + STALE_TOLERANCE {
        return Err(Outcome::failed(
            Status::Missing,
            format!("pidfile is stale: pid {pid} belongs to another process"),
        ));
    }
    if stat.is_zombie() {
        return Err(zombie(&stat, seen));
    }
    Ok(Found {
        stat,
        pidfile_mtime: Some(mtime),
        pidfile_key: Some(key),
    })
}

/// The pid in a pidfile and the file's mtime.
pub fn read_pidfile(path: &Path) -> Result<(u32, SystemTime), Outcome> {
    read_pidfile_keyed(path).map(|(pid, key)| (pid, key.mtime))
}

/// The pid in a pidfile and the file's key, from the same open file.
pub fn read_pidfile_keyed(path: &Path) -> Result<(u32, FileKey), Outcome> {
    let shown = path.display();
    let missing = |why: String| Outcome::failed(Status::Missing, why);
    let unreadable = |e: io::Error| missing(format!("cannot read pidfile {shown}: {e}"));
    // Open once, take the mtime from the open file, read it in one go:
    // every process check does this every cycle.
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(missing(format!("pidfile {shown} does not exist")));
        }
        Err(e) => return Err(unreadable(e)),
    };
    let key = file
        .metadata()
        .and_then(|m| FileKey::of(&m))
        .map_err(unreadable)?;
    let mut buf = [0u8; 256];
    let text = match procfs::read_small_from(&mut file, &mut buf).map_err(unreadable)? {
        Some(n) => String::from_utf8_lossy(&buf[..n]),
        None => {
            let mut rest = Vec::new();
            io::Read::read_to_end(&mut file, &mut rest).map_err(unreadable)?;
            let mut all = buf.to_vec();
            all.extend(rest);
            String::from_utf8_lossy(&all).into_owned().into()
        }
    };
    let word = text.trim();
    if word.is_empty() {
        return Err(missing(format!("pidfile {shown} is empty")));
    }
    match word.parse::<u32>() {
        Ok(pid) if pid > 0 => Ok((pid, key)),
        _ => {
            let shown_word: String = word.chars().take(40).collect();
            Err(missing(format!(
                "pidfile {shown} holds no valid pid: {shown_word:?}"
            )))
        }
    }
}

fn by_matching(
    re: &Pattern,
    table: Option<&ProcessTable>,
    watch: Option<&Watch>,
    seen: Option<&Proven>,
) -> Result<Found, Outcome> {
    let Some(table) = table else {
        return Err(Outcome::failed(
            Status::Error,
            "no process table to match against",
        ));
    };
    let nothing = format!("no process matches {:?}", re.as_str());
    // The table's answer for a watched pattern; else (a table answered
    // before the watch began, or none made) one pass for this pattern.
    let oldest = match watch.and_then(|w| table.oldest_watched(w)) {
        Some(answer) => answer,
        None => table.oldest_matching(re, std::process::id()),
    };
    let Some(oldest) = oldest else {
        return Err(Outcome::failed(Status::Missing, nothing));
    };
    // The snapshot may be a moment old: confirm the process is still there.
    let stat = live_stat(oldest.pid, &nothing, seen)?;
    if stat.starttime != oldest.starttime {
        return Err(Outcome::failed(Status::Missing, nothing));
    }
    Ok(Found {
        stat,
        pidfile_mtime: None,
        pidfile_key: None,
    })
}

/// Rule: a pid seen before with another start time is not the service,
/// unless the pidfile was written again since (a real restart).
fn check_reuse(
    stat: &Stat,
    last: Option<&Proven>,
    mtime: Option<SystemTime>,
) -> Result<(), Outcome> {
    let Some(last) = last else { return Ok(()) };
    let rewritten = mtime.is_some() && mtime != last.pidfile_mtime;
    if last.facts.pid == stat.pid && last.facts.start_ticks != stat.starttime && !rewritten {
        return Err(Outcome::failed(
            Status::Missing,
            format!(
                "pid {} was reused by another process (started at tick {}, not {})",
                stat.pid, stat.starttime, last.facts.start_ticks
            ),
        ));
    }
    Ok(())
}

fn stat_or_missing(pid: u32, gone: &str) -> Result<Stat, Outcome> {
    match procfs::read_stat(pid) {
        Ok(Some(stat)) => Ok(stat),
        Ok(None) => Err(Outcome::failed(Status::Missing, gone)),
        Err(e) => Err(Outcome::failed(
            Status::Error,
            format!("cannot read process {pid}: {e}"),
        )),
    }
}

/// A stat that exists and is not a zombie.
fn live_stat(pid: u32, gone: &str, seen: Option<&Proven>) -> Result<Stat, Outcome> {
    let stat = stat_or_missing(pid, gone)?;
    if stat.is_zombie() {
        return Err(zombie(&stat, seen));
    }
    Ok(stat)
}

/// What a zombie found where the service should be means. The process
/// Warden saw alive (`seen`) that has exited is the service gone (Monit's
/// "does not exist"), not a zombie problem, even while its parent has yet
/// to reap it (pid 1 may take a second or two); any other zombie is one.
/// Decided on the stat already read: reading it again could find the
/// zombie reaped in between and leave it called a zombie (a "Zombie" alert
/// between two "Does not exist" for one kill, seen in CI).
pub(crate) fn zombie(stat: &Stat, seen: Option<&Proven>) -> Outcome {
    if seen.is_some_and(|s| s.facts.pid == stat.pid && s.facts.start_ticks == stat.starttime) {
        return Outcome::failed(
            Status::Missing,
            format!(
                "process with pid {} is not running (it exited; its parent has not reaped it yet)",
                stat.pid
            ),
        );
    }
    Outcome::failed(
        Status::Zombie,
        format!("process with pid {} is a zombie", stat.pid),
    )
}

/// Whether `facts` still names a live process with the same identity: the
/// check to make right before signalling a pid.
pub fn still_same(facts: &ProcessFacts) -> bool {
    matches!(procfs::read_stat(facts.pid), Ok(Some(s)) if s.starttime == facts.start_ticks && !s.is_zombie())
}
