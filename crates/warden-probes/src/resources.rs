//! A found process's resources as [`Metric`] values: cpu from two samples,
//! memory, threads, uptime, parent, ids, open files, I/O rates, and totals
//! over its descendants when a process table snapshot is at hand.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::outcome::{Metric, Outcome, Text};
use crate::procfs::{self, Stat};
use crate::procinfo::{self, IoCounters, Slow, Sources};
use crate::table::ProcessTable;

/// How often the figures that need more than the process's own files are
/// read again when no rule asks for them every cycle: its tree (a scan of
/// every process, shared by all checks) and its ids, label and limit.
pub const SLOW_EVERY: Duration = Duration::from_secs(30);

/// A moment, as nanoseconds since an hour before the first one asked: 8
/// bytes where an `Instant` takes 16 (a process check keeps three of them
/// between runs, at 10,000 checks a quarter megabyte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp(u64);

impl Stamp {
    fn of(t: Instant) -> Stamp {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        // An hour back: a moment taken just before the first call (a
        // table scanned for it) still falls after the epoch.
        let epoch = *EPOCH.get_or_init(|| {
            let now = Instant::now();
            now.checked_sub(Duration::from_secs(3600)).unwrap_or(now)
        });
        Stamp(u64::try_from(t.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX))
    }

    fn since(self, earlier: Stamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// The process's own cpu ticks at one moment, alone and with the children
/// it reaped.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Own {
    at: Stamp,
    ticks: u64,
    with_reaped: u64,
}

/// What the last table said of the process's descendants.
#[derive(Debug, Clone, Copy)]
struct Tree {
    taken: Instant,
    /// Their cpu ticks (the next table's cpu is measured against these).
    ticks: u64,
    children: u64,
    direct: u64,
    rss: u64,
    /// Their open files, when every one could be counted.
    fds: Option<u64>,
    /// Their cpu between the last two tables, percent of the machine (0
    /// when there are none; None until a second table when there are).
    cpu: Option<f64>,
}

/// The open-files count and the I/O counters as last read, with the rates
/// those counters gave against the reading before.
#[derive(Debug, Clone, Copy)]
struct Files {
    at: Stamp,
    /// How many readings so far (a rate needs two), up to 2.
    readings: u8,
    open: Option<u64>,
    io: Option<IoCounters>,
    rates: Option<[f64; 6]>,
}

impl Files {
    /// Whether to read them now: every run when a rule tests them, else
    /// the first two runs (the rates need two readings), then every
    /// [`SLOW_EVERY`]. Two more system calls a cycle were a third of a
    /// steady check's cost, for figures only the status shows.
    fn due(files: Option<&Files>, every_run: bool, now: Stamp) -> bool {
        every_run || files.is_none_or(|f| f.readings < 2 || now.since(f.at) >= SLOW_EVERY)
    }
}

/// What the probe keeps of a process between runs: cpu and I/O need two
/// readings, and the slow figures and the tree are read now and then.
/// Compact (360 bytes, 440 before): one identity for all readings and
/// 8-byte moments.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// The process the readings are of (pid and start ticks): a reading of
    /// another one starts afresh, never compared with these.
    pid: u32,
    start_ticks: u64,
    own: Option<Own>,
    tree: Option<Tree>,
    files: Option<Files>,
    slow: Option<(Stamp, Slow)>,
}

impl Samples {
    /// Forgets the readings (the process changed).
    pub fn clear(&mut self) {
        *self = Samples::default();
    }

    /// Whether the tree figures are older than [`SLOW_EVERY`] (or missing).
    pub fn tree_due(&self) -> bool {
        self.tree.is_none_or(|t| t.taken.elapsed() >= SLOW_EVERY)
    }

    /// Whether the tree was read before (its figures can stand a while).
    pub fn has_tree(&self) -> bool {
        self.tree.is_some()
    }

    /// Makes the tree figures `by` older (tests: a table read long ago).
    #[cfg(test)]
    pub fn age_tree(&mut self, by: Duration) {
        if let Some(tree) = &mut self.tree
            && let Some(then) = tree.taken.checked_sub(by)
        {
            tree.taken = then;
        }
    }
}

/// Adds the resource metrics of `stat` to `outcome`. The first run of a
/// process has no earlier sample, so it reports no cpu or I/O rates.
/// `files_every_run`: read the open files and I/O counters on every run
/// (a rule tests them), not only now and then.
pub fn measure(
    mut outcome: Outcome,
    stat: &Stat,
    sources: &Sources,
    table: Option<&ProcessTable>,
    samples: &mut Samples,
    files_every_run: bool,
) -> Outcome {
    let facts = procfs::system();
    // Some two dozen figures: one allocation instead of four growths.
    outcome.values.reserve(28);
    if (samples.pid, samples.start_ticks) != (stat.pid, stat.starttime) {
        *samples = Samples {
            pid: stat.pid,
            start_ticks: stat.starttime,
            ..Samples::default()
        };
    }
    // One clock read for the run: the cpu sample and every "is it due"
    // below (a read each was a tenth of a steady check's user time).
    let now = Stamp::of(Instant::now());
    let own = Own {
        at: now,
        ticks: stat.cpu_ticks(),
        with_reaped: stat.cpu_ticks() + stat.cutime + stat.cstime,
    };
    let before = samples.own.replace(own);
    let ticks_then = |f: fn(&Own) -> u64| before.map(|b| (b.at, f(&b)));
    // Like Monit: 100% is one core fully used by a one-thread process, all
    // cores fully used by a process with as many threads as cores.
    let divisor = stat.num_threads.clamp(1, facts.cpus);
    // Pushed in place: `Outcome::with` moved the whole outcome in and out
    // for each of the figures.
    let o = &mut outcome;
    if let Some(pct) = cpu_percent(ticks_then(|o| o.ticks), (now, own.ticks), divisor) {
        o.push(Metric::Cpu, pct);
    }

    let rss = stat.rss_bytes();
    o.push(Metric::Memory, rss as f64);
    o.push(Metric::MemoryPercent, percent_of_ram(rss));
    o.push(Metric::Threads, stat.num_threads as f64);
    o.push(Metric::Uptime, procfs::uptime(stat.starttime).as_secs_f64());
    o.push(Metric::Ppid, f64::from(stat.ppid));
    slow_figures(o, stat.pid, samples, now);
    if Files::due(samples.files.as_ref(), files_every_run, now) {
        samples.files = Some(read_files(stat.pid, sources, samples.files.as_ref(), now));
    }
    let open = samples.files.and_then(|f| f.open);
    open_files(o, open, samples);
    if let Some(files) = &samples.files {
        io_figures(o, files);
    }
    if let Some(table) = table.filter(|t| samples.tree.is_none_or(|s| s.taken != t.taken())) {
        samples.tree = Some(read_tree(stat, table, samples));
    }
    // The tree's cpu: the process and the children it reaped, live, plus
    // the descendants alive at the last tables (a percent of the machine).
    let own_share = cpu_percent(
        ticks_then(|o| o.with_reaped),
        (now, own.with_reaped),
        facts.cpus,
    );
    if let Some(tree) = samples.tree {
        let total_cpu = own_share.zip(tree.cpu).map(|(a, b)| (a + b).min(100.0));
        tree_figures(o, &tree, rss, open, total_cpu);
    }
    outcome
}

/// Ids, label and open-files limit: read again every [`SLOW_EVERY`].
fn slow_figures(o: &mut Outcome, pid: u32, samples: &mut Samples, now: Stamp) {
    if samples
        .slow
        .as_ref()
        .is_none_or(|(at, _)| now.since(*at) >= SLOW_EVERY)
    {
        samples.slow = Some((now, Slow::read(pid)));
    }
    let Some((_, slow)) = &samples.slow else {
        return;
    };
    if let Some((uid, euid, gid)) = slow.ids {
        o.push(Metric::Uid, f64::from(uid));
        o.push(Metric::Euid, f64::from(euid));
        o.push(Metric::Gid, f64::from(gid));
    }
    if let Some((soft, hard)) = slow.nofile {
        // Monit's -1 would say "unlimited"; an unlimited side is left out.
        if let Some(v) = soft {
            o.push(Metric::FileDescriptorsSoftLimit, v as f64);
        }
        if let Some(v) = hard {
            o.push(Metric::FileDescriptorsHardLimit, v as f64);
        }
    }
    if !slow.label.is_empty() {
        o.push_text(Text::SecurityAttribute, slow.label.clone());
    }
}

/// Open files, and their share of the lower limit (Monit's percent).
fn open_files(o: &mut Outcome, open: Option<u64>, samples: &Samples) {
    let Some(n) = open else {
        return;
    };
    o.push(Metric::FileDescriptors, n as f64);
    let limit = samples
        .slow
        .as_ref()
        .and_then(|(_, s)| s.nofile)
        .and_then(|(soft, hard)| match (soft, hard) {
            (Some(s), Some(h)) => Some(s.min(h)),
            (s, h) => s.or(h),
        })
        .filter(|l| *l > 0);
    if let Some(l) = limit {
        o.push(Metric::FileDescriptorsPercent, n as f64 * 100.0 / l as f64);
    }
}

/// Reads the open files and I/O counters now; the rates against `before`.
fn read_files(pid: u32, sources: &Sources, before: Option<&Files>, now: Stamp) -> Files {
    let io = sources.io(pid);
    let rates = before.and_then(|b| {
        let secs = now.since(b.at).as_secs_f64();
        let (then, io) = (b.io?, io?);
        (secs > 0.0).then(|| {
            let (a, b) = (io_fields(&io), io_fields(&then));
            std::array::from_fn(|i| a[i].saturating_sub(b[i]) as f64 / secs)
        })
    });
    Files {
        at: now,
        readings: before.map_or(1, |b| b.readings.saturating_add(1).min(2)),
        open: sources.open_files(pid),
        io,
        rates,
    }
}

fn io_fields(c: &IoCounters) -> [u64; 6] {
    [
        c.rchar,
        c.wchar,
        c.syscr,
        c.syscw,
        c.read_bytes,
        c.write_bytes,
    ]
}

/// I/O totals, and the rates of the last two readings.
fn io_figures(o: &mut Outcome, files: &Files) {
    const NAMES: [(Metric, Metric); 6] = [
        (Metric::ReadBytes, Metric::ReadBytesTotal),
        (Metric::WriteBytes, Metric::WriteBytesTotal),
        (Metric::ReadOperations, Metric::ReadOperationsTotal),
        (Metric::WriteOperations, Metric::WriteOperationsTotal),
        (Metric::DiskReadBytes, Metric::DiskReadBytesTotal),
        (Metric::DiskWriteBytes, Metric::DiskWriteBytesTotal),
    ];
    let Some(io) = &files.io else {
        return;
    };
    for (i, value) in io_fields(io).into_iter().enumerate() {
        let (rate, total) = NAMES[i];
        o.push(total, value as f64);
        if let Some(rates) = &files.rates {
            o.push(rate, rates[i]);
        }
    }
}

/// The descendants' share as the table shows them, their cpu from the
/// table before.
fn read_tree(stat: &Stat, table: &ProcessTable, samples: &Samples) -> Tree {
    let descendants = table.descendants(stat.pid);
    let ticks = descendants.iter().map(|d| d.cpu_ticks()).sum();
    let at = Stamp::of(table.taken());
    let cpu = if descendants.is_empty() {
        Some(0.0)
    } else {
        let before = samples.tree.map(|t| (Stamp::of(t.taken), t.ticks));
        cpu_percent(before, (at, ticks), procfs::system().cpus)
    };
    let fds = descendants
        .iter()
        .map(|d| procinfo::count_fds(d.pid))
        .sum::<Option<u64>>();
    Tree {
        taken: table.taken(),
        ticks,
        children: descendants.len() as u64,
        direct: table.direct_children(stat.pid).len() as u64,
        rss: descendants.iter().map(|d| d.rss_bytes()).sum(),
        fds,
        cpu,
    }
}

/// Totals over the process (as it is now) and its descendants (as the
/// last table saw them).
fn tree_figures(o: &mut Outcome, tree: &Tree, rss: u64, open: Option<u64>, total_cpu: Option<f64>) {
    let total_rss = rss + tree.rss;
    if let Some(pct) = total_cpu {
        o.push(Metric::TotalCpu, pct);
    }
    if let (Some(own), Some(theirs)) = (open, tree.fds) {
        o.push(Metric::TotalFileDescriptors, (own + theirs) as f64);
    }
    o.push(Metric::TotalMemory, total_rss as f64);
    o.push(Metric::TotalMemoryPercent, percent_of_ram(total_rss));
    o.push(Metric::Children, tree.children as f64);
    o.push(Metric::DirectChildren, tree.direct as f64);
}

/// The cpu share between two readings (a moment and the ticks then) of one
/// process identity.
fn cpu_percent(before: Option<(Stamp, u64)>, now: (Stamp, u64), divisor: u64) -> Option<f64> {
    let (then, ticks_then) = before?;
    let elapsed = now.0.since(then).as_secs_f64();
    if elapsed <= 0.0 {
        return None;
    }
    let used = now.1.saturating_sub(ticks_then) as f64 / procfs::system().ticks_per_second as f64;
    Some((used / elapsed / divisor as f64 * 100.0).clamp(0.0, 100.0))
}

fn percent_of_ram(bytes: u64) -> f64 {
    match procfs::system().mem_total {
        0 => 0.0,
        total => bytes as f64 / total as f64 * 100.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Duration;

    /// A child killed and reaped even when the test fails.
    /// A copier: read and write calls as fast as it can.
    fn copier() -> Reaped {
        Reaped(
            Command::new("cat")
                .arg("/dev/zero")
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    struct Reaped(std::process::Child);

    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn busy_child() -> Reaped {
        let child = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Reaped(child)
    }

    /// Every process check keeps one between runs: 440 bytes before it
    /// was compacted. A field added past this bound is a cost at 10,000
    /// checks worth a look.
    #[test]
    fn the_samples_stay_compact() {
        let size = std::mem::size_of::<Samples>();
        assert!(size <= 360, "Samples is {size} bytes");
    }

    /// A reading of another process (a restart) is never compared with the
    /// last one: its first run shows no cpu, as a new process's does.
    #[test]
    fn another_process_starts_its_readings_afresh() {
        let (a, b) = (busy_child(), busy_child());
        let mut samples = Samples::default();
        let run = |pid: u32, samples: &mut Samples| {
            let stat = procfs::read_stat(pid).unwrap().unwrap();
            let sources = Sources::default();
            measure(Outcome::ok("x"), &stat, &sources, None, samples, false)
        };
        assert_eq!(run(a.0.id(), &mut samples).value(Metric::Cpu), None);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(run(b.0.id(), &mut samples).value(Metric::Cpu), None);
        std::thread::sleep(Duration::from_millis(200));
        let cpu = run(b.0.id(), &mut samples).value(Metric::Cpu).unwrap();
        assert!(cpu > 0.0 && cpu <= 100.0, "{cpu}");
    }

    #[test]
    fn a_busy_process_shows_cpu_on_the_second_sample_only() {
        let child = busy_child();
        let pid = child.0.id();
        let mut samples = Samples::default();
        let stat = procfs::read_stat(pid).unwrap().unwrap();
        let first = measure(
            Outcome::ok("x"),
            &stat,
            &Sources::default(),
            None,
            &mut samples,
            false,
        );
        assert_eq!(first.value(Metric::Cpu), None);
        // The kernel syncs rss counters lazily: a new process may show 0.
        assert!(first.value(Metric::Memory).is_some());
        assert_eq!(first.value(Metric::Threads), Some(1.0));
        assert_eq!(
            first.value(Metric::Ppid),
            Some(f64::from(std::process::id()))
        );
        std::thread::sleep(Duration::from_millis(300));
        let stat = procfs::read_stat(pid).unwrap().unwrap();
        let second = measure(
            Outcome::ok("x"),
            &stat,
            &Sources::default(),
            None,
            &mut samples,
            false,
        );
        let cpu = second.value(Metric::Cpu).unwrap();
        assert!(cpu > 0.0 && cpu <= 100.0, "{cpu}");
    }

    #[test]
    fn tree_totals_count_every_descendant() {
        // sh -> (sleep, sh -> sleep): three descendants, two direct children.
        let root = Command::new("sh")
            .args(["-c", "sleep 30 & sh -c 'sleep 30 & wait' & wait"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let root = Reaped(root);
        let root_pid = root.0.id();
        let mut found = None;
        for _ in 0..100 {
            let table = ProcessTable::scan().unwrap();
            if table.descendants(root_pid).len() == 3 {
                found = Some(table);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let table = found.expect("the tree never reached three descendants");
        let stat = procfs::read_stat(root_pid).unwrap().unwrap();
        let out = measure(
            Outcome::ok("x"),
            &stat,
            &Sources::default(),
            Some(&table),
            &mut Samples::default(),
            false,
        );
        assert_eq!(out.value(Metric::Children), Some(3.0));
        assert_eq!(out.value(Metric::DirectChildren), Some(2.0));
        assert!(out.value(Metric::TotalMemory) >= out.value(Metric::Memory));
        // Each of the four shells and sleeps holds at least its three
        // standard files (here /dev/null and the test's pipes).
        let own = out.value(Metric::FileDescriptors).unwrap();
        let total = out.value(Metric::TotalFileDescriptors).unwrap();
        assert!(own >= 3.0 && total >= own + 9.0, "{own} {total}");
        for pid in table.descendants(root_pid).iter().map(|s| s.pid) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        drop(root);
    }

    #[test]
    fn io_rates_come_from_two_readings_and_the_tree_is_kept_between_tables() {
        let child = copier();
        let pid = child.0.id();
        let sources = Sources::open(pid);
        let mut samples = Samples::default();
        let table = ProcessTable::scan().unwrap();
        let stat = procfs::read_stat(pid).unwrap().unwrap();
        let first = measure(
            Outcome::ok("x"),
            &stat,
            &sources,
            Some(&table),
            &mut samples,
            false,
        );
        assert!(first.value(Metric::ReadBytesTotal).is_some(), "{first:?}");
        assert_eq!(
            first.value(Metric::ReadBytes),
            None,
            "a rate needs two readings"
        );
        assert_eq!(
            first.value(Metric::Uid),
            Some(f64::from(rustix::process::getuid().as_raw()))
        );
        assert!(
            first.value(Metric::FileDescriptorsSoftLimit).is_some(),
            "{first:?}"
        );
        assert!(!samples.tree_due(), "the table was just read");
        std::thread::sleep(Duration::from_millis(300));
        let stat = procfs::read_stat(pid).unwrap().unwrap();
        // No table this time: the tree figures of the last one stay.
        let second = measure(Outcome::ok("x"), &stat, &sources, None, &mut samples, false);
        assert_eq!(
            second.value(Metric::Children),
            first.value(Metric::Children)
        );
        // No descendants: the tree's cpu is the busy process's own, live.
        assert_eq!(
            first.value(Metric::TotalCpu),
            None,
            "cpu needs two readings"
        );
        for rate in [Metric::ReadBytes, Metric::WriteOperations, Metric::TotalCpu] {
            let v = second.value(rate).unwrap();
            assert!(v > 0.0, "{rate:?} {second:?}");
        }
        assert!(
            second.value(Metric::ReadBytesTotal) > first.value(Metric::ReadBytesTotal),
            "{second:?}"
        );
    }

    #[test]
    fn open_files_and_io_are_read_twice_then_now_and_then_unless_a_rule_tests_them() {
        let child = copier();
        let pid = child.0.id();
        let run = |samples: &mut Samples, every_run: bool| {
            std::thread::sleep(Duration::from_millis(50));
            let stat = procfs::read_stat(pid).unwrap().unwrap();
            let out = measure(
                Outcome::ok("x"),
                &stat,
                &Sources::default(),
                None,
                samples,
                every_run,
            );
            (
                out.value(Metric::ReadBytesTotal).unwrap(),
                out.value(Metric::ReadBytes),
            )
        };
        let mut samples = Samples::default();
        let (first, no_rate) = run(&mut samples, false);
        assert_eq!(no_rate, None, "a rate needs two readings");
        let (second, rate) = run(&mut samples, false);
        assert!(second > first && rate.is_some_and(|r| r > 0.0));
        // The copier keeps reading, but the third run shows the second
        // reading again, rate included: the next is due in SLOW_EVERY.
        assert_eq!(run(&mut samples, false), (second, rate));
        // A rule testing them has them read on every run.
        let (fourth, _) = run(&mut samples, true);
        assert!(fourth > second, "{fourth} {second}");
    }
}
