//! What a run prints and keeps: the machine it ran on, one table of
//! scenario / metric / Monit / Warden / ratio / goal, and the JSON file of
//! raw results.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// Date, cores, CPU model, kernel and Monit's version.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| {
        l.strip_prefix("model name")?
            .split_once(':')
            .map(|(_, v)| v.trim().to_string())
    });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok();
    json!({
        "date": output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "nproc": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "model_name": model,
        "kernel": kernel.map(|k| k.trim().to_string()),
        "monit_version": output("monit", &["-V"]).and_then(|v| v.lines().next().map(str::to_string)),
    })
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What a row's ratio (Monit / Warden, higher = Warden better) or Warden's
/// own figure should reach.
#[derive(Debug, Clone, Copy)]
enum Goal {
    RatioAtLeast(f64),
    WardenAtMost(f64),
}

struct Row {
    scenario: String,
    metric: &'static str,
    path: &'static [&'static str],
    scale: f64,
    goal: Option<Goal>,
    /// The figure is the floor's (no monitor), shown in both columns.
    floor: bool,
}

/// The rows of one scenario: JSON paths into each monitor's results.
fn rows(name: &str) -> Vec<Row> {
    let row = |metric, path, scale, goal| Row {
        scenario: name.to_string(),
        metric,
        path,
        scale,
        goal,
        floor: false,
    };
    match name {
        "restart" => vec![
            row(
                "kill -> start program, median ms",
                &["start_ms", "median"],
                1.0,
                Some(Goal::RatioAtLeast(50.0)),
            ),
            row(
                "kill -> start program, min ms",
                &["start_ms", "min"],
                1.0,
                None,
            ),
            row(
                "kill -> start program, max ms",
                &["start_ms", "max"],
                1.0,
                None,
            ),
            row(
                "kill -> port answers, median ms",
                &["port_ms", "median"],
                1.0,
                Some(Goal::RatioAtLeast(50.0)),
            ),
        ],
        "hol" => vec![
            row(
                "healthy check period, median s",
                &["healthy_period_s", "median"],
                1.0,
                Some(Goal::WardenAtMost(1.1)),
            ),
            row(
                "healthy check period, max s",
                &["healthy_period_s", "max"],
                1.0,
                None,
            ),
            row(
                "kill -> start program, median ms",
                &["start_ms", "median"],
                1.0,
                Some(Goal::WardenAtMost(50.0)),
            ),
            row(
                "kill -> port answers, median ms",
                &["port_ms", "median"],
                1.0,
                None,
            ),
        ],
        n if n.starts_with("scale-") => scale_rows(n),
        "config" => vec![row(
            "validate with -t, median ms",
            &["wall_ms", "median"],
            1.0,
            None,
        )],
        _ => {
            let cpu_goal = name.ends_with("-1000").then_some(Goal::RatioAtLeast(2.0));
            let mut rows = vec![row(
                "CPU s/min (self + reaped children)",
                &["cpu_s_per_min"],
                1.0,
                cpu_goal,
            )];
            if name.starts_with("overhead-port") {
                rows.push(Row {
                    floor: true,
                    ..row(
                        "CPU s/min, the connects alone",
                        &["cpu_s_per_min"],
                        1.0,
                        None,
                    )
                });
                rows.push(row(
                    "CPU s/min above the connects alone",
                    &["cpu_above_floor_s_per_min"],
                    1.0,
                    None,
                ));
            }
            rows.push(row(
                "peak RSS MB (VmHWM)",
                &["vm_hwm_kb"],
                1.0 / 1024.0,
                Some(Goal::RatioAtLeast(1.0)),
            ));
            rows
        }
    }
}

/// The rows of a scale scenario (`scale-KIND-SIZE`): the goals of issue 18
/// where they are ratios or Warden's own figures.
fn scale_rows(name: &str) -> Vec<Row> {
    let row = |metric, path, scale, goal| Row {
        scenario: name.to_string(),
        metric,
        path,
        scale,
        goal,
        floor: false,
    };
    let cpu_goal = (name == "scale-pidfile-10000").then_some(Goal::RatioAtLeast(4.0));
    let first_goal = name.ends_with("-10000").then_some(Goal::WardenAtMost(2.0));
    let mb = 1.0 / 1024.0;
    vec![
        row(
            "CPU s/min (self + reaped children)",
            &["cpu_s_per_min"],
            1.0,
            cpu_goal,
        ),
        row("CPU us/check/cycle", &["cpu_us_per_check_cycle"], 1.0, None),
        Row {
            floor: true,
            ..row(
                "CPU us/check/cycle, the floor",
                &["cpu_us_per_check_cycle"],
                1.0,
                None,
            )
        },
        row(
            "CPU us/check/cycle above the floor",
            &["cpu_above_floor_us_per_check_cycle"],
            1.0,
            None,
        ),
        row(
            "peak RSS MB after the first cycle",
            &["vm_hwm_kb"],
            mb,
            Some(Goal::RatioAtLeast(1.0)),
        ),
        row(
            "peak RSS MB up to the first cycle",
            &["vm_hwm_startup_kb"],
            mb,
            None,
        ),
        row(
            "peak RSS bytes per check",
            &["rss_bytes_per_check"],
            1.0,
            None,
        ),
        row(
            "start -> first complete cycle, s",
            &["first_cycle_s"],
            1.0,
            first_goal,
        ),
        row(
            "checks done at the first-cycle limit",
            &["checked_at_limit"],
            1.0,
            None,
        ),
        row(
            "oldest check's age, median s",
            &["oldest_check_s", "median"],
            1.0,
            None,
        ),
    ]
}

/// How cost grows with the number of checks: per kind and monitor, CPU per
/// check per cycle and peak RSS per check at each size measured.
fn growth(report: &Value) -> String {
    let mut s = String::new();
    let scenarios = &report["scenarios"];
    for kind in ["pidfile", "matching", "port"] {
        let sizes: Vec<(&str, &Value)> = ["10", "100", "1000", "10000"]
            .into_iter()
            .filter_map(|n| Some((n, scenarios.get(format!("scale-{kind}-{n}"))?)))
            .collect();
        if sizes.is_empty() {
            continue;
        }
        for who in ["monit", "warden", "floor"] {
            let cells = |path: &[&str]| {
                sizes
                    .iter()
                    .map(|(n, r)| format!("{n}: {}", num(figure(r, who, path, 1.0))))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = write!(
                s,
                "{kind:<8} {who:<6} CPU us/check/cycle {}",
                cells(&["cpu_us_per_check_cycle"])
            );
            if who != "floor" {
                let _ = write!(s, "; RSS bytes/check {}", cells(&["rss_bytes_per_check"]));
            }
            s.push('\n');
        }
    }
    if s.is_empty() {
        s
    } else {
        format!("\ncost per check as the number of checks grows (scale scenarios):\n{s}")
    }
}

fn figure(results: &Value, monitor: &str, path: &[&str], scale: f64) -> Option<f64> {
    path.iter()
        .fold(results.get(monitor), |v, k| v.and_then(|v| v.get(*k)))
        .and_then(Value::as_f64)
        .map(|x| x * scale)
}

/// The table: machine and load first, then one line per metric.
pub fn table(report: &Value) -> String {
    let m = &report["machine"];
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\ncompare ({}) {} | {} x {} | kernel {} | {} | load {} -> {}",
        report["mode"].as_str().unwrap_or("?"),
        m["date"].as_str().unwrap_or("?"),
        m["nproc"],
        m["model_name"].as_str().unwrap_or("?"),
        m["kernel"].as_str().unwrap_or("?"),
        m["monit_version"].as_str().unwrap_or("monit ?"),
        report["load_1min_before"],
        report["load_1min_after"],
    );
    let _ = writeln!(
        s,
        "| {:<18} | {:<36} | {:>9} | {:>9} | {:>12} | {:<10} |",
        "scenario", "metric", "Monit", "Warden", "Monit/Warden", "goal"
    );
    let _ = writeln!(
        s,
        "|{:-<20}|{:-<38}|{:->11}|{:->11}|{:->14}|{:-<12}|",
        "", "", "", "", "", ""
    );
    let names = report["order"].as_array().into_iter().flatten();
    for name in names.filter_map(Value::as_str) {
        let results = &report["scenarios"][name];
        for (who, r) in results.as_object().into_iter().flatten() {
            if let Some(e) = r.get("error") {
                let first = e
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default();
                let _ = writeln!(s, "| {name:<18} | {who} error: {first}");
            }
        }
        for row in rows(name) {
            let (monit, warden) = if row.floor {
                let f = figure(results, "floor", row.path, row.scale);
                (f, f)
            } else {
                (
                    figure(results, "monit", row.path, row.scale),
                    figure(results, "warden", row.path, row.scale),
                )
            };
            let ratio = monit
                .zip(warden.filter(|w| *w > 0.0))
                .map(|(m, w)| m / w)
                .filter(|_| !row.floor);
            let _ = writeln!(
                s,
                "| {:<18} | {:<36} | {:>9} | {:>9} | {:>12} | {:<10} |",
                row.scenario,
                row.metric,
                num(monit),
                num(warden),
                ratio.map_or("-".into(), |r| format!("{r:.2}x")),
                verdict(row.goal, ratio, warden),
            );
        }
    }
    s + &growth(report)
}

fn num(x: Option<f64>) -> String {
    match x {
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => "-".into(),
    }
}

fn verdict(goal: Option<Goal>, ratio: Option<f64>, warden: Option<f64>) -> String {
    let (text, met) = match goal {
        None => return String::new(),
        Some(Goal::RatioAtLeast(g)) => (format!(">={g}x"), ratio.map(|r| r >= g)),
        Some(Goal::WardenAtMost(g)) => (format!("W<={g}"), warden.map(|w| w <= g)),
    };
    match met {
        Some(true) => format!("{text} ok"),
        Some(false) => format!("{text} MISS"),
        None => text,
    }
}

/// How many monitor runs ended in an error.
pub fn errors(report: &Value) -> usize {
    report["scenarios"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .flat_map(|per| per.as_object().into_iter().flat_map(|m| m.values()))
        .filter(|r| r.get("error").is_some())
        .count()
}

/// Writes the JSON: `--out`, else a complete full run to
/// benches/compare/results/latest.json, else a smoke or partial run to
/// the target folder (so it never overwrites a complete run's figures).
pub fn write(report: &Value, out: Option<PathBuf>, complete: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let path = out.unwrap_or_else(|| match (complete, report["mode"].as_str()) {
        (true, _) => root.join("benches/compare/results/latest.json"),
        (false, Some("full")) => target.join("compare-partial.json"),
        _ => target.join("compare-smoke.json"),
    });
    let text = serde_json::to_string_pretty(report).unwrap_or_default();
    match std::fs::write(&path, text + "\n") {
        Ok(()) => println!("raw results: {}", path.display()),
        Err(e) => println!("could not write {}: {e}", path.display()),
    }
}
