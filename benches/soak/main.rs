//! Soak: a few hundred services of every kind under a real Warden, random
//! faults from a seeded generator for a chosen time, each in a ledger, then
//! a verdict from the ledger against what Warden did. `benches/soak/run`
//! runs it (10 minutes by default); without `--full` or `--bench` (as under
//! `cargo test --benches`) it runs at a smoke size. See README "Soak".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod chaos;
mod disk;
mod full;
mod peers;
#[allow(dead_code)]
#[path = "../compare/procs.rs"]
mod procs;
mod serve;
mod verdict;
mod watch;
mod world;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chaos::Chaos;
use peers::Peer;
use watch::{Warden, Watcher, now};
use world::World;

/// The run's size and where its results go.
#[derive(Debug)]
struct Options {
    minutes: f64,
    services: usize,
    seed: u64,
    out: Option<PathBuf>,
    full: bool,
}

const USAGE: &str =
    "usage: soak [--full] [--smoke] [--minutes N] [--services N] [--seed S] [--out FILE]";

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut full, mut smoke) = (false, false);
    let (mut minutes, mut services, mut seed, mut out) = (None, None, None, None);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--bench" | "--full" => full = true,
            "--smoke" => smoke = true,
            "--minutes" => minutes = Some(value()?.parse::<f64>().map_err(|e| e.to_string())?),
            "--services" => services = Some(value()?.parse::<usize>().map_err(|e| e.to_string())?),
            "--seed" => seed = Some(value()?.parse::<u64>().map_err(|e| e.to_string())?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(USAGE.into()),
            _ => return Err(format!("unknown argument '{a}'\n{USAGE}")),
        }
    }
    let full = full && !smoke;
    Ok(Options {
        minutes: minutes.unwrap_or(if full { 10.0 } else { 0.4 }),
        services: services.unwrap_or(if full { 300 } else { 20 }),
        seed: seed.unwrap_or_else(|| procs::now_ns() as u64),
        out,
        full,
    })
}

/// Polls `cond` every `step` until it holds or `limit` passes.
pub fn wait_until(limit: Duration, step: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(step);
    }
}

/// A free loopback port below the ephemeral range (32768 up), so that no
/// outgoing connection (Warden's own port tests make hundreds a second)
/// takes it while its service is down.
/// Smoke runs take theirs from 20000 up, longer ones from 26000 up, so
/// that a smoke run beside a long one never takes a port of a service
/// that is down for a moment.
fn free_port(full: bool) -> u16 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base = if full { 26_000 } else { 20_000 } + (std::process::id() % 500) * 10;
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let port = (base + n % 12_000) as u16;
        if port < 32_000 && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
        if n > 12_000 {
            return 0;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if serve::dispatch(&args) {
        return;
    }
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Before any thread: the tmpfs of the disk-full fault lives in a mount
    // namespace of the harness's own.
    disk::enter_namespace();
    procs::become_reaper();
    match run(&o) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(1);
        }
    }
}

fn warden_bin() -> PathBuf {
    std::env::var_os("WARDEN_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_warden")),
        PathBuf::from,
    )
}

fn run(o: &Options) -> Result<bool, String> {
    let world = World::new(o.services, &mut || free_port(o.full))?;
    println!(
        "soak: {} services, {:.1} min, seed {}, folder {}",
        world.services.len(),
        o.minutes,
        o.seed,
        world.dir.path().display()
    );
    // Dropped before `world` (declared after it): unmounted before the
    // temporary folder goes.
    let disk = disk::Disk::new(&world.disk_dir())?;
    match &disk.skipped {
        None => println!(
            "soak: state file and alert queue on a {} MB tmpfs",
            disk::SIZE_MB
        ),
        Some(why) => println!("soak: no disk-full fault: {why}"),
    }
    world.write_rc(&world.control_file(""))?;
    let mut smtp = Peer::smtp(world.dir.path(), world.smtp_port);
    let mut hook = Peer::webhook(world.dir.path(), world.hook_port)?;
    smtp.up()?;
    hook.up()?;
    world.start_passive()?;
    let mut warden = Warden::new(warden_bin(), world.dir.path());
    warden.start()?;
    let t0 = now();
    let up = wait_until(
        Duration::from_secs(if o.full { 180 } else { 60 }),
        Duration::from_millis(500),
        || {
            warden.status().is_some_and(|l| {
                l.iter()
                    .filter(|s| s["name"] != "crash-000")
                    .all(|s| s["status"] == "OK")
            })
        },
    );
    if !up {
        let log = std::fs::read_to_string(warden.log_path()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let bad: Vec<String> = warden
            .status()
            .unwrap_or_default()
            .iter()
            .filter(|s| s["status"] != "OK")
            .map(|s| format!("{} {} {}", s["name"], s["status"], s["reason"]))
            .collect();
        return Err(format!(
            "services not all OK 180 s after start: {bad:?}\nwarden log:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    println!("soak: all services up after {:.1} s", now() - t0);
    // Dense enough for a slope over the last instance's tail.
    let watcher = Watcher::start(&warden, 10.0);
    let mut chaos = Chaos::new(&world, &mut warden, [smtp, hook], o.seed)?;
    if o.full {
        chaos.outage_s = (30.0, 90.0);
        chaos.disk_s = (30.0, 120.0);
    }
    let length = o.minutes * 60.0;
    let (start, mean_gap) = (now(), if o.full { 2.0 } else { 0.8 });
    if disk.mounted() {
        chaos.disk = Some(&disk);
        chaos.disk_plan = disk_plan(&mut chaos.rng, start, length, o.full);
    }
    let mut next = start + 1.0;
    while now() < start + length {
        chaos.due(false);
        if now() >= next {
            // Warden kills, CLI stops and outages end early enough to settle.
            // Half the run with no Warden SIGKILL: a long last instance
            // for the resource slope.
            let late = now() > start + length * 0.5;
            for _ in 0..5 {
                if chaos.strike(late) {
                    break;
                }
            }
            next = now() + chaos.rng.range(0.2, 2.0 * mean_gap);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("soak: {} faults; finishing follow-ups", chaos.ledger.len());
    wait_until(Duration::from_secs(120), Duration::from_millis(100), || {
        chaos.due(false);
        chaos.pending() == 0
    });
    chaos.due(true);
    let settle = if o.full { 60 } else { 25 };
    println!("soak: settling {settle} s");
    std::thread::sleep(Duration::from_secs(settle));
    let mut end = finish(&world, &chaos, &watcher)?;
    end.disk_skipped = disk.skipped.clone();
    watcher.stop();
    let rec = watcher.seen.lock().unwrap_or_else(|e| e.into_inner());
    let (checks, mut results) = verdict::judge(&world, &chaos.ledger, &rec, &chaos.want, &end);
    results["run"] = serde_json::json!({
        "date_unix_s": start, "minutes": o.minutes, "services": world.services.len(), "seed": o.seed,
        "faults": chaos.ledger.len(), "warden": warden_bin(),
    });
    report::print(&results);
    let out = o.out.clone().unwrap_or_else(|| {
        // The run's files beside its results: a smoke run keeps its own.
        target_dir()
            .join("soak")
            .join(if o.full { "latest" } else { "smoke" })
            .join("results.json")
    });
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
        for f in [
            "ledger.jsonl",
            "warden.out",
            "smtp.out",
            "hooks.jsonl",
            "rc",
        ] {
            let _ = std::fs::copy(world.path(f), dir.join(f));
        }
    }
    let _ = std::fs::write(
        &out,
        serde_json::to_string_pretty(&results).unwrap_or_default(),
    );
    println!("soak: results in {}", out.display());
    let failed: Vec<&verdict::Check> = checks.iter().filter(|c| !c.ok).collect();
    for c in &failed {
        println!("FAILED {}: {}", c.name, c.detail);
    }
    cleanup(&world, &mut chaos);
    Ok(failed.is_empty())
}

/// When the disk fills: one period in a smoke run (at 30%), about one
/// per quarter hour otherwise, each in its own slice of the first 80% of
/// the run (so the end can settle), seeded.
fn disk_plan(rng: &mut chaos::Rng, start: f64, length: f64, full: bool) -> Vec<f64> {
    if !full {
        return vec![start + length * 0.3];
    }
    let n = ((length / 900.0).round() as usize).max(1);
    let slice = length * 0.7 / n as f64;
    (0..n)
        .map(|i| start + length * 0.1 + slice * i as f64 + rng.range(0.0, slice * 0.5))
        .collect()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")),
        PathBuf::from,
    )
}

fn finish(world: &World, chaos: &Chaos, _w: &Watcher) -> Result<verdict::End, String> {
    let status = chaos
        .warden
        .status()
        .ok_or("Warden does not answer at the end")?;
    let wpid = chaos.warden.pid.load(std::sync::atomic::Ordering::SeqCst);
    let all = world::processes();
    let mut running: HashMap<String, Vec<i32>> = HashMap::new();
    for s in &world.services {
        let m = world.marker(&s.name);
        let pids: Vec<i32> = all
            .iter()
            .filter(|p| p.2 != 'Z' && p.3.windows(m.len()).any(|w| w == m))
            .map(|p| p.0)
            .collect();
        running.insert(s.name.clone(), pids);
    }
    let warden_zombies = all
        .iter()
        .filter(|p| p.1 == wpid && p.2 == 'Z')
        .map(|p| p.0)
        .collect();
    let unrelated_dead = chaos
        .unrelated
        .iter()
        .filter(|c| !c.alive())
        .map(|c| c.pid)
        .collect();
    let queue = world.disk_dir().join("queue");
    let queued = std::fs::read_dir(queue).map_or(0, |d| d.count());
    let state = world.disk_dir().join("warden.state");
    let state_file = std::fs::read(&state)
        .map_err(|e| format!("{}: {e}", state.display()))
        .and_then(|b| {
            serde_json::from_slice::<serde_json::Value>(&b)
                .map_err(|e| format!("{}: {e}", state.display()))
        })
        .map(|v| v["checks"].as_object().map_or(0, |c| c.len()));
    Ok(verdict::End {
        status,
        running,
        warden_zombies,
        unrelated_dead,
        mail: peers::mails(&chaos.peers[0].text()),
        hooks: peers::hooks(&chaos.peers[1].text()),
        queued,
        log: std::fs::read_to_string(world.path("warden.out")).unwrap_or_default(),
        state_file,
        disk_skipped: None,
    })
}

/// Stops Warden first (so nothing is started again), then every process
/// of the soak.
fn cleanup(world: &World, chaos: &mut Chaos) {
    chaos.warden.kill();
    for p in &mut chaos.peers {
        p.down();
    }
    world::kill_services(world.dir.path());
    chaos.unrelated.clear();
}

mod report;
