//! A filesystem check's mount entry (type, options, device) from
//! `/proc/self/mounts`, read again only when the kernel says the table
//! changed (a held descriptor polled for `POLLPRI`, as Monit does), and
//! the I/O of its block device (`/sys/dev/block/MAJ:MIN/stat`, kept open)
//! as totals and rates.

use std::fs::File;
use std::os::unix::fs::{FileExt as _, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::outcome::{Metric, Outcome, Text};

const MOUNTS: &str = "/proc/self/mounts";

/// One line of `/proc/self/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub source: String,
    pub dir: PathBuf,
    pub fstype: String,
    pub options: String,
}

/// A block device's counters (see the kernel's `block/stat.rst`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskCounters {
    pub reads: u64,
    pub read_sectors: u64,
    pub read_ms: u64,
    pub writes: u64,
    pub write_sectors: u64,
    pub write_ms: u64,
}

/// What the probe keeps between runs.
#[derive(Debug, Default)]
pub struct Mounts {
    /// `/proc/self/mounts`, held only to be polled for changes.
    watch: Option<File>,
    /// The path the entry below was looked up for.
    looked_up: Option<PathBuf>,
    entry: Option<Entry>,
    /// The entry's block device's stat file, when it has one.
    device: Option<File>,
    last: Option<(Instant, DiskCounters)>,
}

impl Mounts {
    /// Adds the mount entry's words and the device's I/O of the
    /// filesystem mounted at (or holding) `at`.
    pub fn figures(&mut self, mut o: Outcome, at: &Path) -> Outcome {
        if self.changed() || self.looked_up.as_deref() != Some(at) {
            self.look_up(at);
        }
        if let Some(e) = &self.entry {
            o = o
                .with_text(Text::FsType, e.fstype.clone())
                .with_text(Text::FsFlags, e.options.clone());
        }
        let now = Instant::now();
        let Some(counters) = self.device.as_ref().and_then(read_counters) else {
            return o;
        };
        o = disk_figures(o, &counters, self.last.as_ref(), now);
        self.last = Some((now, counters));
        o
    }

    /// Whether the mount table may have changed since it was read.
    fn changed(&mut self) -> bool {
        let Some(watch) = &self.watch else {
            // Opened before the table is read, so a change in between
            // shows at the next poll.
            self.watch = File::open(MOUNTS).ok();
            return true;
        };
        let mut fds = [PollFd::new(watch, PollFlags::PRI)];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match rustix::event::poll(&mut fds, Some(&now)) {
            Ok(_) => fds[0].revents().intersects(PollFlags::ERR | PollFlags::PRI),
            Err(_) => true,
        }
    }

    fn look_up(&mut self, at: &Path) {
        let table = std::fs::read_to_string(MOUNTS).unwrap_or_default();
        let real = std::fs::canonicalize(at).unwrap_or_else(|_| at.to_path_buf());
        let entry = holding(&parse_mounts(&table), &real).cloned();
        let device = entry.as_ref().and_then(|e| block_device(&e.source));
        let old_device = self.entry.as_ref().and_then(|e| block_device(&e.source));
        if device != old_device || self.device.is_none() {
            self.device = device.and_then(|(major, minor)| {
                File::open(format!("/sys/dev/block/{major}:{minor}/stat")).ok()
            });
            self.last = None;
        }
        self.entry = entry;
        self.looked_up = Some(at.to_path_buf());
    }
}

/// The lines of a `/proc/self/mounts` text.
pub fn parse_mounts(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            Some(Entry {
                source: unescape(f.next()?),
                dir: PathBuf::from(unescape(f.next()?)),
                fstype: f.next()?.to_string(),
                options: unescape(f.next()?),
            })
        })
        .collect()
}

/// The mount that holds `path`: the deepest mount point above it, and of
/// mounts stacked on the same point the last (the one visible).
pub fn holding<'a>(entries: &'a [Entry], path: &Path) -> Option<&'a Entry> {
    entries
        .iter()
        .filter(|e| path.starts_with(&e.dir))
        .fold(None, |best: Option<&Entry>, e| match best {
            Some(b) if b.dir.components().count() > e.dir.components().count() => Some(b),
            _ => Some(e),
        })
}

/// A mount source that is a block device: its major and minor numbers.
fn block_device(source: &str) -> Option<(u32, u32)> {
    if !source.starts_with('/') {
        return None;
    }
    let meta = std::fs::metadata(source).ok()?;
    meta.file_type().is_block_device().then(|| {
        let rdev = meta.rdev();
        (rustix::fs::major(rdev), rustix::fs::minor(rdev))
    })
}

fn read_counters(file: &File) -> Option<DiskCounters> {
    let mut buf = [0u8; 512];
    let n = file.read_at(&mut buf, 0).ok()?;
    parse_disk_stat(std::str::from_utf8(buf.get(..n)?).ok()?)
}

/// A `/sys/dev/block/*/stat` line.
pub fn parse_disk_stat(text: &str) -> Option<DiskCounters> {
    let f: Vec<u64> = text
        .split_whitespace()
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    Some(DiskCounters {
        reads: *f.first()?,
        read_sectors: *f.get(2)?,
        read_ms: *f.get(3)?,
        writes: *f.get(4)?,
        write_sectors: *f.get(6)?,
        write_ms: *f.get(7)?,
    })
}

/// Totals, and rates from the reading before: bytes (512-byte sectors, as
/// the kernel counts them), operations, and milliseconds busy a second.
pub fn disk_figures(
    mut o: Outcome,
    c: &DiskCounters,
    before: Option<&(Instant, DiskCounters)>,
    now: Instant,
) -> Outcome {
    let bytes = |sectors: u64| sectors.saturating_mul(512);
    let totals = [
        (Metric::ReadBytesTotal, bytes(c.read_sectors)),
        (Metric::ReadOperationsTotal, c.reads),
        (Metric::WriteBytesTotal, bytes(c.write_sectors)),
        (Metric::WriteOperationsTotal, c.writes),
    ];
    for (metric, value) in totals {
        o = o.with(metric, value as f64);
    }
    let Some((at, b)) = before else {
        return o;
    };
    let secs = now.duration_since(*at).as_secs_f64();
    if secs <= 0.0 {
        return o;
    }
    let rate = |now: u64, was: u64| now.saturating_sub(was) as f64 / secs;
    o.with(
        Metric::ReadBytes,
        rate(bytes(c.read_sectors), bytes(b.read_sectors)),
    )
    .with(Metric::ReadOperations, rate(c.reads, b.reads))
    .with(
        Metric::WriteBytes,
        rate(bytes(c.write_sectors), bytes(b.write_sectors)),
    )
    .with(Metric::WriteOperations, rate(c.writes, b.writes))
    .with(Metric::ReadTime, rate(c.read_ms, b.read_ms))
    .with(Metric::WriteTime, rate(c.write_ms, b.write_ms))
}

/// mountinfo writes space, tab, newline and backslash as octal (`\040`).
pub(crate) fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TABLE: &str = "/dev/vda / ext4 rw,relatime,discard 0 0\n\
                         tmpfs /dev/shm tmpfs rw,relatime,size=1024k 0 0\n\
                         /dev/sdb1 /mnt/my\\040disk ext4 ro 0 0\n\
                         tmpfs /dev/shm tmpfs rw,size=2048k 0 0\n";

    #[test]
    fn the_deepest_and_last_mount_holds_a_path() {
        let all = parse_mounts(TABLE);
        assert_eq!(all.len(), 4);
        assert_eq!(all[2].dir, Path::new("/mnt/my disk"));
        let at = |p: &str| holding(&all, Path::new(p)).map(|e| e.options.as_str());
        assert_eq!(at("/"), Some("rw,relatime,discard"));
        assert_eq!(at("/etc/passwd"), Some("rw,relatime,discard"));
        assert_eq!(at("/dev/shm"), Some("rw,size=2048k"), "the last stacked");
        assert_eq!(
            at("/dev/shmx"),
            Some("rw,relatime,discard"),
            "a component, not a prefix"
        );
        assert_eq!(at("/mnt/my disk/a"), Some("ro"));
        assert_eq!(holding(&[], Path::new("/")), None);
    }

    #[test]
    fn disk_counters_give_totals_then_rates() {
        let text = "  119630 14015 15948786 141978 43957 114821 96509320 504164 0 37280 654420\n";
        let c = parse_disk_stat(text).unwrap();
        assert_eq!(
            (c.reads, c.read_sectors, c.read_ms),
            (119630, 15948786, 141978)
        );
        assert_eq!(
            (c.writes, c.write_sectors, c.write_ms),
            (43957, 96509320, 504164)
        );
        assert_eq!(parse_disk_stat("1 2 x"), None);
        let t0 = Instant::now();
        let first = disk_figures(Outcome::ok("x"), &c, None, t0);
        assert_eq!(
            first.value(Metric::ReadBytesTotal),
            Some(15948786.0 * 512.0)
        );
        assert_eq!(first.value(Metric::ReadBytes), None);
        let later = DiskCounters {
            reads: c.reads + 10,
            read_sectors: c.read_sectors + 8,
            read_ms: c.read_ms + 4,
            ..c
        };
        let t1 = t0 + Duration::from_secs(2);
        let second = disk_figures(Outcome::ok("x"), &later, Some(&(t0, c)), t1);
        assert_eq!(second.value(Metric::ReadBytes), Some(2048.0));
        assert_eq!(second.value(Metric::ReadOperations), Some(5.0));
        assert_eq!(second.value(Metric::ReadTime), Some(2.0));
        assert_eq!(second.value(Metric::WriteOperations), Some(0.0));
    }

    #[test]
    fn the_root_filesystem_has_a_type_and_options() {
        let mut mounts = Mounts::default();
        let o = mounts.figures(Outcome::ok("x"), Path::new("/"));
        assert!(o.text(Text::FsType).is_some_and(|t| !t.is_empty()), "{o:?}");
        assert!(
            o.text(Text::FsFlags).is_some_and(|t| t.starts_with("r")),
            "{o:?}"
        );
        // Unchanged table: the poll says so and the entry stays.
        assert!(!mounts.changed());
        let again = mounts.figures(Outcome::ok("x"), Path::new("/"));
        assert_eq!(again.texts, o.texts);
    }
}
