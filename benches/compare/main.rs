//! Side-by-side harness, Warden against Monit on the same scenarios, one
//! monitor after the other: restart latency, overhead, head-of-line
//! blocking, config validation. `benches/compare/run` runs it in full
//! (`cargo bench --bench compare`); without `--bench` (as under `cargo test
//! --benches`) every scenario runs at a tiny smoke size. It prints one
//! table and writes the raw figures as JSON; nothing is asserted about
//! timing. See README "Benchmarks".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config;
mod config_gen;
mod hol;
mod net;
mod overhead;
mod procs;
mod report;
mod restart;
mod sandbox;
mod scale;
mod stats;

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use sandbox::Monitor;

/// Options from the command line (cargo adds `--bench` to `cargo bench`).
#[derive(Debug)]
struct Options {
    full: bool,
    only: Vec<String>,
    monitors: Vec<Monitor>,
    out: Option<PathBuf>,
}

const USAGE: &str = "usage: compare [--smoke] [--only SCENARIO[,SCENARIO...]] \
[--monitor warden|monit] [--out FILE] | --table FILE\nscenarios: restart, overhead-10, overhead-100, \
overhead-1000, overhead-port-100, overhead-port-1000, hol, config, \
scale-{pidfile,matching,port}-{10,100,1000,10000} (a prefix such as `overhead` \
or `scale-port` selects all of its kind)";

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut o = Options {
        full: false,
        only: Vec::new(),
        monitors: vec![Monitor::Monit, Monitor::Warden],
        out: None,
    };
    let mut smoke = false;
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--bench" => o.full = true,
            "--smoke" => smoke = true,
            "--only" => o.only = value()?.split(',').map(str::to_string).collect(),
            "--out" => o.out = Some(PathBuf::from(value()?)),
            "--monitor" => {
                o.monitors = match value()?.as_str() {
                    "warden" => vec![Monitor::Warden],
                    "monit" => vec![Monitor::Monit],
                    "both" => vec![Monitor::Monit, Monitor::Warden],
                    m => return Err(format!("unknown monitor '{m}'\n{USAGE}")),
                }
            }
            "-h" | "--help" => return Err(USAGE.into()),
            _ => return Err(format!("unknown argument '{a}'\n{USAGE}")),
        }
    }
    o.full &= !smoke;
    Ok(o)
}

/// Runs a scenario on one monitor (its binary given): raw figures or why not.
type Runner = Box<dyn Fn(Monitor, &std::path::Path) -> Result<Value, String>>;

/// A reference figure measured without any monitor.
type Floor = Box<dyn Fn() -> Result<Value, String>>;

/// One scenario: its name, how to run it on one monitor, and what the
/// same work costs with no monitor at all, where that can be measured.
struct Scenario {
    name: &'static str,
    run: Runner,
    floor: Option<Floor>,
}

/// Every scenario at its full or its smoke size.
fn scenarios(full: bool) -> Vec<Scenario> {
    let pick = move |f: u64, s: u64| if full { f } else { s };
    let (warmup, seconds) = (pick(5, 1), pick(60, 1));
    let mut list = vec![Scenario {
        name: "restart",
        run: Box::new(move |m, bin| restart::run(m, bin, pick(20, 2) as usize)),
        floor: Some(Box::new(|| restart::floor(5))),
    }];
    let sizes: [(&'static str, overhead::Checks); 5] = [
        ("overhead-10", overhead::Checks::Process(10)),
        (
            "overhead-100",
            overhead::Checks::Process(pick(100, 4) as usize),
        ),
        (
            "overhead-1000",
            overhead::Checks::Process(pick(1000, 6) as usize),
        ),
        (
            "overhead-port-100",
            overhead::Checks::Port(pick(100, 4) as usize),
        ),
        (
            "overhead-port-1000",
            overhead::Checks::Port(pick(1000, 6) as usize),
        ),
    ];
    for (name, checks) in sizes {
        let floor: Option<Floor> = match checks {
            overhead::Checks::Port(n) => Some(Box::new(move || {
                overhead::connect_floor(n, warmup, seconds)
            })),
            overhead::Checks::Process(_) => None,
        };
        list.push(Scenario {
            name,
            run: Box::new(move |m, bin| overhead::run(m, bin, checks, warmup, seconds)),
            floor,
        });
    }
    let size = hol::Size {
        checks: pick(50, 5) as usize,
        timeout_s: pick(5, 1),
        seconds: pick(60, 3),
        kills: pick(3, 1) as usize,
    };
    list.push(Scenario {
        name: "hol",
        run: Box::new(move |m, bin| hol::run(m, bin, size)),
        floor: None,
    });
    scale_scenarios(full, &mut list);
    list.push(Scenario {
        name: "config",
        run: Box::new(move |m, bin| {
            config::run(m, bin, pick(10_000, 100) as usize, pick(10, 1) as usize)
        }),
        floor: None,
    });
    list
}

/// Each kind of check at 10 to 10,000 checks, each with its floor; a smoke
/// run has the smallest size of each kind only, at 3 checks.
fn scale_scenarios(full: bool, list: &mut Vec<Scenario>) {
    let pick = move |f: u64, s: u64| if full { f } else { s };
    let timing = scale::Timing {
        warmup: pick(5, 1),
        seconds: pick(30, 1),
        first_limit: pick(180, 20),
        samples: pick(3, 1) as usize,
    };
    let sizes: &[usize] = if full {
        &[10, 100, 1000, 10_000]
    } else {
        &[10]
    };
    for kind in scale::Kind::ALL {
        for &size in sizes {
            let n = if full { size } else { 3 };
            let name: &'static str =
                Box::leak(format!("scale-{}-{size}", kind.name()).into_boxed_str());
            let floor: Floor = match kind {
                scale::Kind::Port => Box::new(move || {
                    let mut f = overhead::connect_floor(n, timing.warmup, timing.seconds)?;
                    if let Some(cpu) = f["cpu_s_per_min"].as_f64() {
                        f["cpu_us_per_check_cycle"] = json!(cpu / 60.0 * 1e6 / n as f64);
                    }
                    Ok(f)
                }),
                _ => Box::new(move || scale::process_floor(kind, n, timing.warmup, timing.seconds)),
            };
            list.push(Scenario {
                name,
                run: Box::new(move |m, bin| scale::run(m, bin, kind, n, timing)),
                floor: Some(floor),
            });
        }
    }
}

/// Whether `--only` selects `name`: the name itself or a `-`-prefix of it.
fn selected(only: &[String], name: &str) -> bool {
    only.is_empty()
        || only.iter().any(|o| {
            name == o
                || name
                    .strip_prefix(o.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
        })
}

/// Each monitor's binary, or why it is left out.
fn binary(monitor: Monitor, full: bool) -> Result<PathBuf, String> {
    match monitor {
        Monitor::Warden => Ok(std::env::var_os("WARDEN_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_warden")),
            PathBuf::from,
        )),
        Monitor::Monit => {
            let bin = std::env::var_os("MONIT_BIN")
                .map_or_else(|| PathBuf::from("/usr/bin/monit"), PathBuf::from);
            if bin.exists() {
                Ok(bin)
            } else if full {
                Err(format!(
                    "{} not found: `apt-get install -y monit` (benches/compare/run does it)",
                    bin.display()
                ))
            } else {
                Err(format!(
                    "{} not found: smoke run without Monit",
                    bin.display()
                ))
            }
        }
    }
}

/// Each monitor's CPU less the floor's: what the monitor itself adds.
fn above_floor(per: &mut Map<String, Value>, floor: &Value) {
    let Some(f) = floor["cpu_s_per_min"].as_f64() else {
        return;
    };
    for r in per.values_mut() {
        if let Some(cpu) = r["cpu_s_per_min"].as_f64()
            && let Some(r) = r.as_object_mut()
        {
            r.insert("cpu_above_floor_s_per_min".into(), json!(cpu - f));
            if let Some(n) = r.get("checks").and_then(Value::as_f64) {
                r.insert(
                    "cpu_above_floor_us_per_check_cycle".into(),
                    json!((cpu - f) / 60.0 * 1e6 / n),
                );
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, port] = args.as_slice()
        && flag == "--serve"
    {
        net::serve(port.parse().unwrap_or(0));
    }
    if let [_, flag, n, warmup, seconds, ports] = args.as_slice()
        && flag == "--connect"
    {
        let ports: Vec<u16> = ports.split(',').filter_map(|p| p.parse().ok()).collect();
        let num = |s: &str| s.parse().unwrap_or(0);
        if ports.is_empty() {
            std::process::exit(2);
        }
        overhead::connect_loop(num(n) as usize, num(warmup), num(seconds), &ports);
    }
    if let [_, flag, kind, warmup, seconds, list] = args.as_slice()
        && flag == "--proc-floor"
    {
        let num = |s: &str| s.parse().unwrap_or(0);
        scale::process_floor_loop(kind, num(warmup), num(seconds), std::path::Path::new(list));
    }
    // `--table FILE`: print the table of a saved run.
    if let [_, flag, file] = std::env::args().collect::<Vec<_>>().as_slice()
        && flag == "--table"
    {
        let saved = std::fs::read_to_string(file).map_err(|e| e.to_string());
        match saved.and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string())) {
            Ok(report) => print!("{}", report::table(&report)),
            Err(e) => eprintln!("{file}: {e}"),
        }
        return;
    }
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Short-lived commands first: once this process reaps every child, a
    // `Command`'s own wait would race the reaper thread.
    let machine = report::machine();
    procs::become_reaper();
    let mut bins = Vec::new();
    for m in &opts.monitors {
        match binary(*m, opts.full) {
            Ok(bin) => bins.push((*m, bin)),
            Err(e) => eprintln!("{e}"),
        }
    }
    let load_before = procs::load_average();
    let mut results = Map::new();
    let mut order = Vec::new();
    for s in scenarios(opts.full)
        .into_iter()
        .filter(|s| selected(&opts.only, s.name))
    {
        let mut per = Map::new();
        for (m, bin) in &bins {
            eprintln!("compare: {} on {} ...", s.name, m.name());
            let r = (s.run)(*m, bin).unwrap_or_else(|e| json!({ "error": e }));
            per.insert(m.name().into(), r);
        }
        if let Some(floor) = &s.floor {
            eprintln!("compare: {} with no monitor (floor) ...", s.name);
            let f = floor().unwrap_or_else(|e| json!({ "error": e }));
            above_floor(&mut per, &f);
            per.insert("floor".into(), f);
        }
        results.insert(s.name.into(), Value::Object(per));
        order.push(s.name);
    }
    let report = json!({
        "mode": if opts.full { "full" } else { "smoke" },
        "machine": machine,
        "load_1min_before": load_before,
        "load_1min_after": procs::load_average(),
        "monitors": bins.iter().map(|(m, b)| (m.name().to_string(), json!(b))).collect::<Map<_, _>>(),
        "order": order,
        "scenarios": results,
    });
    print!("{}", report::table(&report));
    report::write(&report, opts.out, opts.full && opts.only.is_empty());
    if report::errors(&report) > 0 {
        std::process::exit(1);
    }
}
