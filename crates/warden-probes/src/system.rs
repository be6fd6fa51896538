//! `check system`: load averages (total and per core), cpu per state
//! between two runs and the boot time (`/proc/stat`), memory and swap (one
//! sysinfo `System`, refreshed for memory only), uptime, and the open files
//! of the whole system (`/proc/sys/fs/file-nr`).

use std::sync::Mutex;

use sysinfo::{MemoryRefreshKind, System};

use crate::outcome::{Metric, Outcome};
use crate::{BoxFuture, Probe};

/// Jiffies spent per state since boot, from the `cpu` line of
/// `/proc/stat` (guest time is counted in user and nice there too).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub wait: u64,
    pub hardirq: u64,
    pub softirq: u64,
    pub steal: u64,
    pub guest: u64,
    pub guest_nice: u64,
}

impl CpuTimes {
    fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.wait
            + self.hardirq
            + self.softirq
            + self.steal
    }
}

/// The aggregate `cpu` line.
pub fn parse_cpu_times(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    Some(CpuTimes {
        user: at(0),
        nice: at(1),
        system: at(2),
        idle: at(3),
        wait: at(4),
        hardirq: at(5),
        softirq: at(6),
        steal: at(7),
        guest: at(8),
        guest_nice: at(9),
    })
}

/// When the machine booted (`btime` of `/proc/stat`), seconds since the epoch.
pub fn parse_boot_time(stat: &str) -> Option<u64> {
    let line = stat.lines().find_map(|l| l.strip_prefix("btime "))?;
    line.trim().parse().ok()
}

/// Percent of time per state between two readings, split as Monit splits
/// it (user and nice without their guest share); None without progress.
pub fn cpu_percent(before: &CpuTimes, now: &CpuTimes) -> Option<Vec<(Metric, f64)>> {
    let total = now.total().checked_sub(before.total()).filter(|t| *t > 0)? as f64;
    let pct = |a: u64, b: u64| a.saturating_sub(b) as f64 * 100.0 / total;
    let user = |t: &CpuTimes| t.user.saturating_sub(t.guest);
    let nice = |t: &CpuTimes| t.nice.saturating_sub(t.guest_nice);
    Some(vec![
        (Metric::CpuUser, pct(user(now), user(before))),
        (Metric::CpuNice, pct(nice(now), nice(before))),
        (Metric::CpuSystem, pct(now.system, before.system)),
        (Metric::CpuWait, pct(now.wait, before.wait)),
        (Metric::CpuHardIrq, pct(now.hardirq, before.hardirq)),
        (Metric::CpuSoftIrq, pct(now.softirq, before.softirq)),
        (Metric::CpuSteal, pct(now.steal, before.steal)),
        (Metric::CpuGuest, pct(now.guest, before.guest)),
        (Metric::CpuGuestNice, pct(now.guest_nice, before.guest_nice)),
        (Metric::Cpu, (100.0 - pct(now.idle, before.idle)).max(0.0)),
    ])
}

/// The system's open-files table from `/proc/sys/fs/file-nr`: allocated,
/// allocated but unused, and its size.
pub fn parse_file_nr(text: &str) -> Option<(u64, u64, u64)> {
    let f: Vec<u64> = text
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    Some((*f.first()?, *f.get(1)?, *f.get(2)?))
}

#[derive(Debug, Default)]
struct State {
    sys: Option<System>,
    cpu: Option<CpuTimes>,
}

#[derive(Debug, Default)]
pub struct SystemProbe {
    state: Mutex<State>,
}

impl SystemProbe {
    pub fn measure(&self) -> Outcome {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut o = Outcome::ok("system is running");
        if let Ok(load) = System::load_average() {
            let cores = crate::procfs::system().cpus.max(1) as f64;
            o = o
                .with(Metric::LoadAvg1, load.one)
                .with(Metric::LoadAvg5, load.five)
                .with(Metric::LoadAvg15, load.fifteen)
                .with(Metric::LoadAvg1PerCore, load.one / cores)
                .with(Metric::LoadAvg5PerCore, load.five / cores)
                .with(Metric::LoadAvg15PerCore, load.fifteen / cores);
        }
        if let Ok(up) = System::uptime() {
            o = o.with(Metric::Uptime, up as f64);
        }
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let now = parse_cpu_times(&stat);
        if let Some(pcts) = state
            .cpu
            .as_ref()
            .zip(now.as_ref())
            .and_then(|(b, n)| cpu_percent(b, n))
        {
            o.values.extend(
                pcts.into_iter()
                    .map(|(metric, value)| crate::Measurement { metric, value }),
            );
        }
        state.cpu = now;
        if let Some(booted) = parse_boot_time(&stat) {
            o = o.with(Metric::BootTime, booted as f64);
        }
        o = memory(&mut state, o);
        if let Some((allocated, unused, max)) = std::fs::read_to_string("/proc/sys/fs/file-nr")
            .ok()
            .and_then(|t| parse_file_nr(&t))
        {
            let used = allocated.saturating_sub(unused);
            o = o
                .with(Metric::FileDescriptors, used as f64)
                .with(Metric::FileDescriptorsPercent, percent(used, max))
                .with(Metric::FileDescriptorsUnused, unused as f64)
                .with(Metric::FileDescriptorsMax, max as f64);
        }
        o
    }
}

/// Memory and swap in use (total minus available, like Monit).
fn memory(state: &mut State, o: Outcome) -> Outcome {
    if state.sys.is_none() {
        state.sys = System::new().ok();
    }
    let Some(sys) = state.sys.as_mut() else {
        return o;
    };
    sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
    let used = sys.used_memory();
    o.with(Metric::Memory, used as f64)
        .with(Metric::MemoryPercent, percent(used, sys.total_memory()))
        .with(Metric::Swap, sys.used_swap() as f64)
        .with(
            Metric::SwapPercent,
            percent(sys.used_swap(), sys.total_swap()),
        )
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl Probe for SystemProbe {
    fn kind(&self) -> &'static str {
        "system"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        // A few small /proc reads: inline, no blocking-pool hand-off.
        Box::pin(async move { self.measure() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_states_are_percent_of_the_time_between_two_readings() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let a = parse_cpu_times("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n").unwrap();
        let b = parse_cpu_times("cpu  135 10 60 830 60 2 1 2 5 1\nbtime 1796589365\n").unwrap();
        let p: std::collections::HashMap<Metric, f64> =
            cpu_percent(&a, &b).unwrap().into_iter().collect();
        // 100 jiffies passed; guest time is in user and nice already.
        let want = [
            (Metric::CpuUser, 30.0),
            (Metric::CpuNice, 9.0),
            (Metric::CpuSystem, 10.0),
            (Metric::CpuWait, 10.0),
            (Metric::CpuHardIrq, 2.0),
            (Metric::CpuSoftIrq, 1.0),
            (Metric::CpuSteal, 2.0),
            (Metric::CpuGuest, 5.0),
            (Metric::CpuGuestNice, 1.0),
            (Metric::Cpu, 70.0),
        ];
        for (m, v) in want {
            assert_eq!(p.get(&m), Some(&v), "{m:?}");
        }
        assert_eq!(cpu_percent(&b, &b), None, "no time passed");
        assert_eq!(
            parse_boot_time("cpu 1\nbtime 1796589365\n"),
            Some(1796589365)
        );
    }

    #[test]
    fn the_open_files_table_is_allocated_unused_and_size() {
        assert_eq!(parse_file_nr("813\t0\t2466193\n"), Some((813, 0, 2466193)));
        assert_eq!(parse_file_nr("900 100 1000"), Some((900, 100, 1000)));
        assert_eq!(parse_file_nr("garbage"), None);
    }

    #[test]
    fn the_system_probe_measures_load_memory_uptime_and_files() {
        let probe = SystemProbe::default();
        let first = probe.measure();
        assert!(first.is_ok());
        for m in [
            Metric::LoadAvg1,
            Metric::LoadAvg5PerCore,
            Metric::Memory,
            Metric::MemoryPercent,
            Metric::Uptime,
            Metric::BootTime,
            Metric::FileDescriptors,
            Metric::FileDescriptorsMax,
        ] {
            assert!(first.value(m).is_some(), "{m:?} in {first:?}");
        }
        assert_eq!(first.value(Metric::CpuUser), None, "cpu needs two readings");
        std::thread::sleep(std::time::Duration::from_millis(60));
        let second = probe.measure();
        assert!(second.value(Metric::CpuUser).is_some(), "{second:?}");
    }
}
