//! `check system`: load averages (total and per core), cpu user / system /
//! wait percent between two runs (`/proc/stat`), memory and swap (one
//! sysinfo `System`, refreshed for memory only), uptime, and the open files
//! of the whole system (`/proc/sys/fs/file-nr`).

use std::sync::Mutex;

use sysinfo::{MemoryRefreshKind, System};

use crate::outcome::{Metric, Outcome};
use crate::{BoxFuture, Probe};

/// Jiffies spent per state since boot, from the `cpu` line of `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub user: u64,
    pub system: u64,
    pub wait: u64,
    pub idle: u64,
    pub total: u64,
}

/// The aggregate `cpu` line: user+nice, system+irq+softirq, iowait, idle.
pub fn parse_cpu_times(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    // guest and guest_nice (8, 9) are already counted in user and nice.
    Some(CpuTimes {
        user: at(0) + at(1),
        system: at(2) + at(5) + at(6),
        idle: at(3),
        wait: at(4),
        total: (0..8).map(at).sum(),
    })
}

/// Percent of time per state between two readings; None without progress.
pub fn cpu_percent(before: &CpuTimes, now: &CpuTimes) -> Option<[(Metric, f64); 4]> {
    let total = now.total.checked_sub(before.total).filter(|t| *t > 0)? as f64;
    let pct = |a: u64, b: u64| a.saturating_sub(b) as f64 * 100.0 / total;
    let idle = pct(now.idle, before.idle);
    Some([
        (Metric::CpuUser, pct(now.user, before.user)),
        (Metric::CpuSystem, pct(now.system, before.system)),
        (Metric::CpuWait, pct(now.wait, before.wait)),
        (Metric::Cpu, (100.0 - idle).max(0.0)),
    ])
}

/// Open files of the system and their limit, from `/proc/sys/fs/file-nr`
/// (`allocated unused max`).
pub fn parse_file_nr(text: &str) -> Option<(u64, u64)> {
    let f: Vec<u64> = text
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    Some((f.first()?.saturating_sub(*f.get(1)?), *f.get(2)?))
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
        let now = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|t| parse_cpu_times(&t));
        if let Some(pcts) = state
            .cpu
            .as_ref()
            .zip(now.as_ref())
            .and_then(|(b, n)| cpu_percent(b, n))
        {
            o.values
                .extend(pcts.map(|(metric, value)| crate::Measurement { metric, value }));
        }
        state.cpu = now;
        o = memory(&mut state, o);
        if let Some((used, max)) = std::fs::read_to_string("/proc/sys/fs/file-nr")
            .ok()
            .and_then(|t| parse_file_nr(&t))
        {
            o = o
                .with(Metric::FileDescriptors, used as f64)
                .with(Metric::FileDescriptorsPercent, percent(used, max));
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
        let a = parse_cpu_times("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n").unwrap();
        let b = parse_cpu_times("cpu  130 10 60 840 60 0 0 0 0 0\n").unwrap();
        let p = cpu_percent(&a, &b).unwrap();
        assert_eq!(p[0], (Metric::CpuUser, 40.0));
        assert_eq!(p[1], (Metric::CpuSystem, 10.0));
        assert_eq!(p[2], (Metric::CpuWait, 10.0));
        assert_eq!(p[3], (Metric::Cpu, 60.0));
        assert_eq!(cpu_percent(&b, &b), None, "no time passed");
    }

    #[test]
    fn open_files_are_allocated_minus_unused() {
        assert_eq!(parse_file_nr("813\t0\t2466193\n"), Some((813, 2466193)));
        assert_eq!(parse_file_nr("900 100 1000"), Some((800, 1000)));
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
            Metric::FileDescriptors,
        ] {
            assert!(first.value(m).is_some(), "{m:?} in {first:?}");
        }
        assert_eq!(first.value(Metric::CpuUser), None, "cpu needs two readings");
        std::thread::sleep(std::time::Duration::from_millis(60));
        let second = probe.measure();
        assert!(second.value(Metric::CpuUser).is_some(), "{second:?}");
    }
}
