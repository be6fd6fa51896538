//! The disk-full verdict: for each period the disk under the state file
//! and queue was full, what Warden logged (write errors a person sees, not
//! a flood), whether it kept supervising (the faults that fell in the
//! period detected and repaired), whether the alerts raised then were
//! delivered once the disk was free, and whether the state file reads
//! whole at the end and Warden never panicked.

use serde_json::{Value, json};

use crate::chaos::Entry;
use crate::verdict::{Check, End, pct};

/// A log line's time (its `[2026-12-07T04:34:00+0000]` prefix).
fn line_time(l: &str) -> Option<f64> {
    crate::alerts::iso(l.strip_prefix('[')?.get(..24)?)
}

/// What Warden writes to that disk: (name, its error line, its line once
/// written again). The state file and the alert memory log one error per
/// run of failures; the queue one per message held in memory.
const WRITERS: &[(&str, &str, &str)] = &[
    (
        "state file",
        "cannot write the state file",
        "is written again, after",
    ),
    ("alert state", "cannot write the alert state", "alert state"),
    ("alert queue", "held in memory (", "(0 still held)"),
];

/// Which writer a log line is an error of.
fn write_error(l: &str) -> Option<usize> {
    WRITERS.iter().position(|w| l.contains(w.1))
}

/// Whether the line says writer `i` wrote again (all it held).
fn written_again(l: &str, i: usize) -> bool {
    let w = WRITERS[i];
    let again = l.contains("is written again") || l.contains("written to disk");
    again && l.contains(w.2)
}

pub fn judge(
    ledger: &[Entry],
    outcomes: &[(f64, bool, bool)],
    alerts: &Value,
    end: &End,
    checks: &mut Vec<Check>,
) -> Value {
    let panics = end.log.lines().filter(|l| l.contains("panicked")).count();
    checks.push(Check {
        name: "Warden never panicked",
        ok: panics == 0,
        detail: format!("{panics} 'panicked' lines in its log"),
    });
    checks.push(Check {
        name: "the state file reads whole at the end",
        ok: end.state_file.is_ok(),
        detail: match &end.state_file {
            Ok(n) => format!("{n} checks"),
            Err(e) => e.clone(),
        },
    });
    if let Some(why) = &end.disk_skipped {
        return json!({"skipped": why});
    }
    let log: Vec<(f64, &str)> = end
        .log
        .lines()
        .filter_map(|l| Some((line_time(l)?, l)))
        .collect();
    let lost_at = |channel: &str| -> Vec<f64> {
        alerts[channel]["lost_at"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect()
    };
    let (mail_lost, hook_lost) = (lost_at("mail"), lost_at("webhook"));
    let mut periods = Vec::new();
    let (mut detect_s, mut repair_s) = (Vec::new(), Vec::new());
    let (mut detected, mut repaired) = (0, 0);
    let fulls: Vec<&Entry> = ledger.iter().filter(|e| e.fault == "disk-full").collect();
    for e in &fulls {
        let freed = ledger
            .iter()
            .find(|x| x.fault == "disk-free" && x.at >= e.at)
            .map(|x| x.at);
        let until = freed.unwrap_or(f64::INFINITY);
        // Log times are whole seconds: a line in the fault's second counts.
        let inside = |t: f64| t >= e.at.floor() && t <= until + 1.0;
        let errors: Vec<(f64, usize, &str)> = log
            .iter()
            .filter(|(t, _)| inside(*t))
            .filter_map(|(t, l)| Some((*t, write_error(l)?, *l)))
            .collect();
        // Each writer that failed: when it wrote again after the free.
        let failed: Vec<usize> = (0..WRITERS.len())
            .filter(|i| errors.iter().any(|e| e.1 == *i))
            .collect();
        let again_at = |i: usize| {
            let f = freed?;
            log.iter()
                .find(|(t, l)| *t >= f.floor() && written_again(l, i))
                .map(|x| (x.0 - f).max(0.0))
        };
        // The queue's held messages may all go out from memory before the
        // free (nothing left to write, nothing logged): its outcome is the
        // alerts delivered, judged below and in `alerts`.
        let agains: Vec<Option<f64>> = failed
            .iter()
            .filter(|&&i| i != 2)
            .map(|&i| again_at(i))
            .collect();
        let again = if agains.is_empty() {
            freed.map(|_| 0.0)
        } else if agains.iter().all(Option::is_some) {
            agains.iter().flatten().copied().reduce(f64::max)
        } else {
            None
        };
        // A spin would log the same failure over and over: the state file
        // and the alert state once per run of failures (a run ends with a
        // write that succeeds, logged), the queue once per message.
        let mut ids: Vec<&str> = errors
            .iter()
            .filter(|e| e.1 == 2)
            .filter_map(|e| e.2.split("message ").nth(1)?.split(' ').next())
            .collect();
        let queue_lines = ids.len();
        ids.sort_unstable();
        ids.dedup();
        let runs_ok = (0..2).all(|i| {
            let errs = errors.iter().filter(|e| e.1 == i).count();
            let oks = log
                .iter()
                .filter(|(t, l)| inside(*t) && written_again(l, i))
                .count();
            errs <= oks + 1
        });
        let flood = ids.len() != queue_lines || !runs_ok;
        let in_window: Vec<&(f64, bool, bool)> = outcomes
            .iter()
            .filter(|o| o.0 >= e.at && o.0 <= until)
            .collect();
        let ok_faults = in_window.iter().filter(|o| o.1 && o.2).count();
        let alerting = in_window.len();
        let lost_in = |v: &[f64]| v.iter().filter(|&&t| t >= e.at && t <= until).count();
        // Detected: Warden said so in its log. Repaired: the disk free,
        // the failed writes done again (or none failed).
        // No fault in the period, nothing to write: nothing to log either.
        let det = errors
            .first()
            .map(|t| (t.0 - e.at).max(0.0))
            .or(in_window.is_empty().then_some(0.0));
        if let Some(t) = det {
            detected += 1;
            detect_s.push(t);
        }
        let rep = match (freed, det) {
            (Some(_), Some(_)) => again,
            (Some(_), None) => Some(0.0),
            _ => None,
        };
        if let Some(t) = rep {
            repaired += 1;
            repair_s.push(t);
        }
        if flood {
            checks.push(Check {
                name: "disk full: write errors logged, not a flood",
                ok: false,
                detail: format!("{} errors in {:.0} s", errors.len(), until - e.at),
            });
        }
        if ok_faults != alerting {
            checks.push(Check {
                name: "disk full: faults meanwhile detected and repaired",
                ok: false,
                detail: format!("{ok_faults} of {alerting} at {:.0}", e.at),
            });
        }
        periods.push(json!({
            "at": e.at, "for_s": freed.map(|f| f - e.at), "write_errors": errors.len(),
            "failed": failed.iter().map(|&i| WRITERS[i].0).collect::<Vec<_>>(),
            "written_again_after_s": again, "faults": alerting, "faults_ok": ok_faults,
            "mail_lost": lost_in(&mail_lost), "webhook_lost": lost_in(&hook_lost),
            "filler_bytes": e.detail["filler_bytes"], "stopped_by": e.detail["stopped_by"],
        }));
    }
    let n = fulls.len();
    if n > 0 {
        checks.push(Check {
            name: "disk full: write errors logged, then written again",
            ok: detected == n && repaired == n,
            detail: format!("{detected}/{n} periods logged, {repaired} written again"),
        });
    }
    json!({
        "periods": periods,
        "row": {
            "fault": "disk-full", "count": n, "detected": detected, "repaired": repaired,
            "detect_p50_s": pct(&detect_s, 0.5), "detect_p99_s": pct(&detect_s, 0.99),
            "repair_p50_s": pct(&repair_s, 0.5), "repair_p99_s": pct(&repair_s, 0.99),
            "notes": [],
        },
    })
}
