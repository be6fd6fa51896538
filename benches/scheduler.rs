//! Scheduler overhead per check run: an `Engine` over N checks whose probes
//! answer at once (a fake `ProbeFactory`), each check `every 100 ms` with
//! one rule; the CPU time of the whole process divided by the check runs
//! it made. What is left is the engine's own cost: timers, task wake-ups,
//! rule evaluation, status board, events. `cargo bench --bench scheduler`
//! runs 3 s per size; without `--bench` (as under `cargo test --benches`)
//! a short smoke run. Prints figures; asserts nothing about timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use warden_config::model::Check;
use warden_engine::factory::ProbeFactory;
use warden_engine::{Engine, EventBus, StateStore};
use warden_probes::{BoxFuture, CheckProbes, Outcome, Probe, RuleSpec};

/// A probe that passes at once and counts its runs.
#[derive(Debug)]
struct InstantProbe {
    runs: Arc<AtomicU64>,
}

impl Probe for InstantProbe {
    fn kind(&self) -> &'static str {
        "instant"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Outcome::ok("instant") })
    }
}

/// Hands every check an instant subject probe (counted: one run per check
/// run) and an instant probe per rule (not counted).
#[derive(Debug)]
struct InstantFactory {
    runs: Arc<AtomicU64>,
}

impl ProbeFactory for InstantFactory {
    fn probes(&self, check: &Check) -> CheckProbes {
        let rule: Arc<dyn Probe> = Arc::new(InstantProbe {
            runs: Arc::new(AtomicU64::new(0)),
        });
        CheckProbes {
            subject: Ok(Arc::new(InstantProbe {
                runs: Arc::clone(&self.runs),
            })),
            process: None,
            rules: check
                .rules
                .iter()
                .map(|_| RuleSpec::Probe(Arc::clone(&rule)))
                .collect(),
        }
    }
}

fn config(checks: usize) -> warden_config::Config {
    let mut text = String::from("set daemon 1\n");
    for i in 0..checks {
        let _ = writeln!(
            text,
            "check host h{i} with address 127.0.0.1\n  every 100 ms\n  if failed port 9 then alert"
        );
    }
    let loaded = warden_config::load_text(Path::new("/bench/wardenrc"), text);
    assert!(!loaded.has_errors(), "{}", loaded.render());
    loaded.config.expect("config")
}

/// CPU time of this whole process (all threads).
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `checks` checks for `secs` after a 1 s warm-up; returns (check
/// runs per second, CPU microseconds per check run).
fn measure(checks: usize, secs: f64) -> (f64, f64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let runs = Arc::new(AtomicU64::new(0));
    let factory = InstantFactory {
        runs: Arc::clone(&runs),
    };
    let cfg = Arc::new(config(checks));
    rt.block_on(async {
        let engine =
            Engine::start_with(&cfg, StateStore::open(None), EventBus::default(), &factory);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (r0, c0, t0) = (runs.load(Ordering::Relaxed), process_cpu(), Instant::now());
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        let (r1, c1, t1) = (runs.load(Ordering::Relaxed), process_cpu(), Instant::now());
        engine.stop().await;
        let n = (r1 - r0).max(1) as f64;
        (
            n / (t1 - t0).as_secs_f64(),
            (c1 - c0).as_secs_f64() * 1e6 / n,
        )
    })
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (sizes, secs): (&[usize], f64) = if full {
        (&[10, 100, 1000, 5000], 3.0)
    } else {
        (&[10], 0.3)
    };
    println!("scheduler: checks every 100 ms with one rule, instant probes");
    println!("{:>8} {:>14} {:>18}", "checks", "runs/s", "CPU us per run");
    for &n in sizes {
        let (rate, cost) = measure(n, secs);
        println!("{n:>8} {rate:>14.0} {cost:>18.2}");
    }
}
