//! The verdict: the ledger against what Warden did (its status history,
//! the mail and webhooks received, the processes alive at the end), as a
//! table on stdout and a JSON document; each check passes or says why not.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::chaos::{Entry, Want};
use crate::watch::{Record, Sample, Seen};
use crate::world::{CRASH_LIMIT, Kind, World};

/// Faults on one service that Warden must notice (and, but for the
/// passive one, repair).
pub const NOTICED: &[&str] = &[
    "sigkill",
    "zombie",
    "stale-pidfile",
    "port-mute",
    "start-fail",
    "start-hang",
    "start-slow",
    "program-fail",
    "file-gone",
    "passive-kill",
];

/// Ledger lines that end a fault's window rather than start a fault.
const FOLLOW_UPS: &[&str] = &[
    "sigcont",
    "start-ok-again",
    "program-ok-again",
    "file-back",
    "smtp-up",
    "webhook-up",
    "disk-free",
];

/// One row of the table: a fault kind and what became of its instances.
#[derive(Debug, Default)]
struct Row {
    count: usize,
    detected: usize,
    repaired: usize,
    detect_s: Vec<f64>,
    repair_s: Vec<f64>,
    notes: Vec<String>,
}

/// A named pass or fail with its reason.
#[derive(Debug)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

pub fn pct(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() - 1) as f64 * p).round() as usize;
    Some(s[i])
}

/// When Warden first showed the fault on `h` after `at`, and when the
/// service was back (OK, monitored, a new pid for a process).
fn detect(h: &[Seen], at: f64, old_pid: Option<i64>, process: bool) -> (Option<f64>, Option<f64>) {
    let base = h.iter().rev().find(|s| s.at <= at);
    let floor = at.floor();
    let mut found = None;
    for s in h.iter().filter(|s| s.at > at) {
        if found.is_none() {
            let evented = s.event_at.is_some_and(|e| e >= floor)
                && base.is_none_or(|b| b.event_at != s.event_at);
            let moved = base.is_some_and(|b| b.pid != s.pid);
            if s.status != "OK" || moved || evented {
                let t = match s.event_at {
                    Some(e) if evented => (e - at).max(0.0).min(s.at - at),
                    _ => s.at - at,
                };
                found = Some(t);
            }
        }
        if found.is_some()
            && s.status == "OK"
            && s.monitoring == "monitored"
            && (!process || (s.pid.is_some() && s.pid != old_pid))
        {
            return (found, Some(s.at - at));
        }
    }
    (found, None)
}

/// Every check and the JSON results.
pub fn judge(
    world: &World,
    ledger: &[Entry],
    rec: &Record,
    want: &HashMap<String, Want>,
    end: &End,
) -> (Vec<Check>, Value) {
    let kinds: HashMap<&str, Kind> = world
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.kind))
        .collect();
    let mut rows: Vec<(&str, Row)> = Vec::new();
    let empty = Vec::new();
    // Each noticed fault: (time, detected, repaired), for the disk-full
    // windows.
    let mut outcomes: Vec<(f64, bool, bool)> = Vec::new();
    // The disk-full row is made by `full::judge`.
    let own_row = |e: &&Entry| !FOLLOW_UPS.contains(&e.fault) && e.fault != "disk-full";
    for e in ledger.iter().filter(own_row) {
        let i = rows.iter().position(|r| r.0 == e.fault).unwrap_or_else(|| {
            rows.push((e.fault, Row::default()));
            rows.len() - 1
        });
        let r = &mut rows[i].1;
        r.count += 1;
        let d = &e.detail;
        match e.fault {
            f if NOTICED.contains(&f) => {
                let h = rec.services.get(&e.target).unwrap_or(&empty);
                let process = kinds.get(e.target.as_str()).is_some_and(|k| k.is_process());
                let (det, rep) = detect(h, e.at, d["pid"].as_i64(), process);
                outcomes.push((e.at, det.is_some(), rep.is_some() || f == "passive-kill"));
                if let Some(t) = det {
                    r.detected += 1;
                    r.detect_s.push(t);
                } else {
                    r.notes
                        .push(format!("{} at {:.0} not seen", e.target, e.at));
                }
                if f == "passive-kill" {
                    continue;
                }
                if let Some(t) = rep {
                    r.repaired += 1;
                    r.repair_s.push(t);
                }
            }
            "sigstop" => {
                // Not a failure to Warden: the same process must run on.
                let h = rec.services.get(&e.target).unwrap_or(&empty);
                let same = h
                    .iter()
                    .filter(|s| s.at > e.at)
                    .all(|s| s.pid.is_none() || s.pid == d["pid"].as_i64() || s.at > e.at + 6.0);
                if same {
                    r.repaired += 1;
                } else {
                    r.notes
                        .push(format!("{} restarted while stopped", e.target));
                }
            }
            "warden-sigkill" => {
                if let Some(t) = d["answered_after_s"].as_f64() {
                    r.detected += 1;
                    r.repaired += 1;
                    r.detect_s.push(t);
                    r.repair_s.push(t);
                }
            }
            "sighup-valid" => {
                if let Some(t) = d["applied_after_s"].as_f64() {
                    r.detected += 1;
                    r.repaired += 1;
                    r.detect_s.push(t);
                }
            }
            "sighup-broken" => {
                if d["alive"] == true
                    && d["services_before"] == d["services_after"]
                    && !d["services_after"].is_null()
                {
                    r.detected += 1;
                    r.repaired += 1;
                } else {
                    r.notes.push(format!("{d}"));
                }
            }
            f if f.starts_with("cli-") => {
                if d["exit"] == d["expected"] {
                    r.detected += 1;
                    r.repaired += 1;
                } else {
                    r.notes.push(format!(
                        "{} exit {} (expected {})",
                        e.target, d["exit"], d["expected"]
                    ));
                }
            }
            _ => {}
        }
    }
    let mut checks = Vec::new();
    let mut table = Vec::new();
    for (k, r) in &rows {
        let expect_detect = NOTICED.contains(k)
            || k.starts_with("cli-")
            || k.starts_with("sighup")
            || *k == "warden-sigkill";
        if expect_detect {
            let repair_expected = *k != "passive-kill";
            let ok = r.detected == r.count && (!repair_expected || r.repaired == r.count);
            if !ok {
                checks.push(Check {
                    name: "fault detected and repaired",
                    ok,
                    detail: format!(
                        "{k}: {}/{} detected, {} repaired; {}",
                        r.detected,
                        r.count,
                        r.repaired,
                        r.notes.join("; ")
                    ),
                });
            }
        } else if *k == "sigstop" && r.repaired != r.count {
            checks.push(Check {
                name: "a stopped process is left alone",
                ok: false,
                detail: r.notes.join("; "),
            });
        }
        table.push(json!({
            "fault": k, "count": r.count, "detected": r.detected, "repaired": r.repaired,
            "detect_p50_s": pct(&r.detect_s, 0.5), "detect_p99_s": pct(&r.detect_s, 0.99),
            "repair_p50_s": pct(&r.repair_s, 0.5), "repair_p99_s": pct(&r.repair_s, 0.99),
            "notes": r.notes,
        }));
    }
    end_state(world, want, end, &mut checks);
    let alerts = crate::alerts::judge(ledger, &end.mail, &end.hooks, &end.queued, &mut checks);
    let disk = crate::full::judge(ledger, &outcomes, &alerts, end, &mut checks);
    if let Some(row) = disk.get("row") {
        table.push(row.clone());
    }
    let resources = slopes(&rec.samples);
    let json = json!({
        "faults": table, "alerts": alerts, "resources": resources, "disk_full": disk,
        "polls": rec.polls, "unanswered_polls": rec.unanswered,
        "checks": checks.iter().map(|c| json!({"check": c.name, "ok": c.ok, "detail": c.detail})).collect::<Vec<_>>(),
    });
    (checks, json)
}

/// What the harness found at the end, after the settle time.
#[derive(Debug)]
pub struct End {
    pub status: Vec<Value>,
    /// Live service processes by service name.
    pub running: HashMap<String, Vec<i32>>,
    pub warden_zombies: Vec<i32>,
    pub unrelated_dead: Vec<i32>,
    pub mail: Vec<String>,
    pub hooks: Vec<Value>,
    pub queued: usize,
    /// Warden's output (warden.out), every instance.
    pub log: String,
    /// The state file at the end: how many checks it holds, or why it
    /// does not read.
    pub state_file: Result<usize, String>,
    /// Why there was no disk-full fault (no tmpfs here).
    pub disk_skipped: Option<String>,
}

fn end_state(world: &World, want: &HashMap<String, Want>, end: &End, checks: &mut Vec<Check>) {
    let by_name: HashMap<&str, &Value> = end
        .status
        .iter()
        .filter_map(|s| Some((s["name"].as_str()?, s)))
        .collect();
    let mut wrong = Vec::new();
    let mut twins = Vec::new();
    for s in &world.services {
        let n = s.name.as_str();
        let st = by_name.get(n);
        let status = st.and_then(|v| v["status"].as_str()).unwrap_or("absent");
        let monitoring = st
            .and_then(|v| v["monitoring"].as_str())
            .unwrap_or("absent");
        let live = end.running.get(n).map_or(0, Vec::len);
        if live > 1 {
            twins.push(format!("{n}: {live} processes"));
        }
        let w = want.get(n).copied().unwrap_or(Want::Running);
        let bad = match (s.kind, w) {
            (Kind::Crash, _) => {
                let total = st.and_then(|v| v["restarts_total"].as_i64()).unwrap_or(-1);
                checks.push(Check {
                    name: "crash loop unmonitored after exactly its limit",
                    ok: monitoring == "not_monitored" && total == i64::from(CRASH_LIMIT),
                    detail: format!("{monitoring}, {total} restarts (limit {CRASH_LIMIT})"),
                });
                false
            }
            (_, Want::Running) => {
                status != "OK" || monitoring != "monitored" || (s.kind.is_process() && live == 0)
            }
            (_, Want::Stopped) => {
                live > 0 || (s.kind != Kind::Passive && monitoring != "not_monitored")
            }
            (_, Want::Unmonitored) => monitoring != "not_monitored",
        };
        if bad {
            wrong.push(format!(
                "{n} (want {w:?}): {status}, {monitoring}, {live} running"
            ));
        }
    }
    checks.push(Check {
        name: "every service as it should be at the end",
        ok: wrong.is_empty(),
        detail: if wrong.is_empty() {
            format!("{} services", world.services.len())
        } else {
            wrong.join("; ")
        },
    });
    checks.push(Check {
        name: "one process per service",
        ok: twins.is_empty(),
        detail: twins.join("; "),
    });
    checks.push(Check {
        name: "no zombie child of Warden",
        ok: end.warden_zombies.is_empty(),
        detail: format!("{:?}", end.warden_zombies),
    });
    checks.push(Check {
        name: "unrelated processes (stale pidfiles) alive",
        ok: end.unrelated_dead.is_empty(),
        detail: format!("dead: {:?}", end.unrelated_dead),
    });
}

/// The first seconds of an instance left out of the settled slopes.
const WARM_UP_S: f64 = 120.0;

/// Least-squares slope per hour of each resource over the samples of the
/// last Warden instance (a restarted Warden starts afresh).
fn slopes(samples: &[Sample]) -> Value {
    let last = samples.last().map_or(0, |s| s.pid);
    let s: Vec<&Sample> = samples.iter().filter(|s| s.pid == last).collect();
    // A fresh instance grows for its first minute or two (tables, buffers,
    // the history filling): the slope past that is the one that matters.
    let start = s.first().map_or(0.0, |x| x.at);
    let settled: Vec<&Sample> = s
        .iter()
        .filter(|x| x.at >= start + WARM_UP_S)
        .copied()
        .collect();
    let fit = |s: &[&Sample], f: &dyn Fn(&Sample) -> f64| -> Option<f64> {
        if s.len() < 3 {
            return None;
        }
        let n = s.len() as f64;
        let mx = s.iter().map(|x| x.at).sum::<f64>() / n;
        let my = s.iter().map(|x| f(x)).sum::<f64>() / n;
        let sxx: f64 = s.iter().map(|x| (x.at - mx).powi(2)).sum();
        let sxy: f64 = s.iter().map(|x| (x.at - mx) * (f(x) - my)).sum();
        (sxx > 0.0).then(|| sxy / sxx * 3600.0)
    };
    let first = s.first();
    let lastv = s.last();
    json!({
        "samples": s.len(),
        "span_s": match (first, lastv) { (Some(a), Some(b)) => b.at - a.at, _ => 0.0 },
        "fds": [first.map(|x| x.fds), lastv.map(|x| x.fds), s.iter().map(|x| x.fds).max()],
        "threads": [first.map(|x| x.threads), lastv.map(|x| x.threads), s.iter().map(|x| x.threads).max()],
        "rss_kb": [first.map(|x| x.rss_kb), lastv.map(|x| x.rss_kb), s.iter().map(|x| x.rss_kb).max()],
        "fds_per_hour": fit(&s, &|x| x.fds as f64),
        "threads_per_hour": fit(&s, &|x| x.threads as f64),
        "rss_kb_per_hour": fit(&s, &|x| x.rss_kb as f64),
        "settled_samples": settled.len(),
        "settled_fds_per_hour": fit(&settled, &|x| x.fds as f64),
        "settled_rss_kb_per_hour": fit(&settled, &|x| x.rss_kb as f64),
        // Every sample of the last instance: seconds from its first, fds,
        // threads, RSS (kB), to tell a steady slope from a step.
        "series": s.iter().map(|x| json!([
            (x.at - first.map_or(x.at, |f| f.at)).round(), x.fds, x.threads, x.rss_kb
        ])).collect::<Vec<_>>(),
    })
}
