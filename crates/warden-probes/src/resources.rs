//! A found process's resources as [`Metric`] values: cpu from two samples,
//! memory, threads, uptime, parent, and totals over its descendants when a
//! process table snapshot is at hand.

use std::time::Instant;

use crate::outcome::{Metric, Outcome};
use crate::procfs::{self, Stat};
use crate::table::ProcessTable;

/// A cpu-time reading of one process identity.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    pid: u32,
    start_ticks: u64,
    at: Instant,
    ticks: u64,
}

/// The previous readings, kept by the probe between runs: cpu percent is
/// the cpu time used between two runs over the time between them.
#[derive(Debug, Clone, Default)]
pub struct CpuSamples {
    own: Option<Sample>,
    tree: Option<Sample>,
}

impl CpuSamples {
    /// Forgets the readings (the process changed).
    pub fn clear(&mut self) {
        *self = CpuSamples::default();
    }
}

/// Adds the resource metrics of `stat` to `outcome`. The first run of a
/// process has no earlier sample, so it reports no cpu figures.
pub fn measure(
    mut outcome: Outcome,
    stat: &Stat,
    table: Option<&ProcessTable>,
    samples: &mut CpuSamples,
) -> Outcome {
    let facts = procfs::system();
    let now = Instant::now();
    let own = Sample {
        pid: stat.pid,
        start_ticks: stat.starttime,
        at: now,
        ticks: stat.cpu_ticks(),
    };
    // Like Monit: 100% is one core fully used by a one-thread process, all
    // cores fully used by a process with as many threads as cores.
    let divisor = stat.num_threads.clamp(1, facts.cpus);
    if let Some(pct) = cpu_percent(samples.own.as_ref(), &own, divisor) {
        outcome = outcome.with(Metric::Cpu, pct);
    }
    samples.own = Some(own);

    let rss = stat.rss_bytes();
    outcome = outcome
        .with(Metric::Memory, rss as f64)
        .with(Metric::MemoryPercent, percent_of_ram(rss))
        .with(Metric::Threads, stat.num_threads as f64)
        .with(Metric::Uptime, procfs::uptime(stat.starttime).as_secs_f64())
        .with(Metric::Ppid, f64::from(stat.ppid));
    match table {
        Some(table) => measure_tree(outcome, stat, table, samples, now),
        None => outcome,
    }
}

/// Totals over the process and all its descendants.
fn measure_tree(
    mut outcome: Outcome,
    stat: &Stat,
    table: &ProcessTable,
    samples: &mut CpuSamples,
    now: Instant,
) -> Outcome {
    let descendants = table.descendants(stat.pid);
    let total_rss = stat.rss_bytes() + descendants.iter().map(|d| d.rss_bytes()).sum::<u64>();
    // The root's reaped-children ticks keep the sum from dropping when a
    // child exits and is reaped between two samples.
    let ticks = stat.cpu_ticks()
        + stat.cutime
        + stat.cstime
        + descendants.iter().map(|d| d.cpu_ticks()).sum::<u64>();
    let tree = Sample {
        pid: stat.pid,
        start_ticks: stat.starttime,
        at: now,
        ticks,
    };
    // A tree may run on every core: percent of the whole machine.
    if let Some(pct) = cpu_percent(samples.tree.as_ref(), &tree, procfs::system().cpus) {
        outcome = outcome.with(Metric::TotalCpu, pct);
    }
    samples.tree = Some(tree);
    outcome
        .with(Metric::TotalMemory, total_rss as f64)
        .with(Metric::TotalMemoryPercent, percent_of_ram(total_rss))
        .with(Metric::Children, descendants.len() as f64)
        .with(
            Metric::DirectChildren,
            table.direct_children(stat.pid).len() as f64,
        )
}

fn cpu_percent(before: Option<&Sample>, now: &Sample, divisor: u64) -> Option<f64> {
    let before = before.filter(|b| b.pid == now.pid && b.start_ticks == now.start_ticks)?;
    let elapsed = now.at.duration_since(before.at).as_secs_f64();
    if elapsed <= 0.0 {
        return None;
    }
    let used =
        now.ticks.saturating_sub(before.ticks) as f64 / procfs::system().ticks_per_second as f64;
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

    #[test]
    fn a_busy_process_shows_cpu_on_the_second_sample_only() {
        let child = busy_child();
        let pid = child.0.id();
        let mut samples = CpuSamples::default();
        let stat = procfs::read_stat(pid).unwrap().unwrap();
        let first = measure(Outcome::ok("x"), &stat, None, &mut samples);
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
        let second = measure(Outcome::ok("x"), &stat, None, &mut samples);
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
            Some(&table),
            &mut CpuSamples::default(),
        );
        assert_eq!(out.value(Metric::Children), Some(3.0));
        assert_eq!(out.value(Metric::DirectChildren), Some(2.0));
        assert!(out.value(Metric::TotalMemory) >= out.value(Metric::Memory));
        for pid in table.descendants(root_pid).iter().map(|s| s.pid) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        drop(root);
    }
}
