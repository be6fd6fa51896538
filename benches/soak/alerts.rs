//! Alerts against the ledger: each noticed fault's mail and webhook must
//! have arrived once the receivers came back (delivered or lost, and
//! why); a message received twice is a duplicate, explained when a Warden
//! SIGKILL fell between its delivery and its removal from the queue.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::chaos::Entry;
use crate::verdict::Check;

/// Faults that make a failure event, hence an alert, on their target:
/// those Warden must notice.
const ALERTING: &[&str] = crate::verdict::NOTICED;

/// Unix seconds of `2026-12-07T03:05:00+0000` (the mail body's Date).
pub fn iso(s: &str) -> Option<f64> {
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, m, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let (hh, mm, ss) = (n(11, 13)?, n(14, 16)?, n(17, 19)?);
    let sign = if s.get(19..20)? == "-" { -1 } else { 1 };
    let off = sign * (n(20, 22)? * 3600 + n(22, 24)? * 60);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86400 + hh * 3600 + mm * 60 + ss - off) as f64)
}

/// The event dates in a mail's body.
fn mail_dates(m: &str) -> Vec<f64> {
    m.lines()
        .filter_map(|l| l.trim_start().strip_prefix("Date:"))
        .filter_map(|v| iso(v.trim()))
        .collect()
}

/// Every (service, event date) a mail carries: its cause (the subject's
/// last word, the body's Date) and each line under "Also in this alert:"
/// (`DATE  SERVICE EVENT: ...`), where a dependant's events are filed.
fn mail_events(m: &str) -> Vec<(String, f64)> {
    let subject = m
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .and_then(|s| s.split_whitespace().last())
        .unwrap_or("");
    let mut out: Vec<(String, f64)> = mail_dates(m)
        .into_iter()
        .take(1)
        .map(|d| (subject.to_string(), d))
        .collect();
    let also = m.split("Also in this alert:").nth(1).unwrap_or("");
    for l in also.lines() {
        let mut w = l.split_whitespace();
        if let (Some(d), Some(svc)) = (w.next().and_then(iso), w.next()) {
            out.push((svc.to_string(), d));
        }
    }
    out
}

/// A mail without its transport headers, to find the same alert twice.
fn mail_key(m: &str) -> String {
    m.lines()
        .filter(|l| {
            !(l.starts_with("Date: ") || l.starts_with("Message-ID") || l.starts_with("X-"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Delivered / lost / duplicated for one channel.
struct Tally {
    delivered: usize,
    lost: Vec<String>,
    /// When each lost alert's fault happened.
    lost_at: Vec<f64>,
    duplicated: usize,
    explained: usize,
}

pub fn judge(
    ledger: &[Entry],
    mail: &[String],
    hooks: &[Value],
    queued: &usize,
    checks: &mut Vec<Check>,
) -> Value {
    let kills: Vec<f64> = ledger
        .iter()
        .filter(|e| e.fault == "warden-sigkill")
        .map(|e| e.at)
        .collect();
    let alerting: Vec<&Entry> = ledger
        .iter()
        .filter(|e| ALERTING.contains(&e.fault))
        .collect();
    // A fault's window runs to the next alerting fault on the same target.
    let window = |i: usize| {
        let e = alerting[i];
        let next = alerting[i + 1..]
            .iter()
            .find(|x| x.target == e.target)
            .map_or(f64::INFINITY, |x| x.at);
        (e.at.floor() - 1.0, next)
    };
    let mut tallies = Vec::new();
    for channel in ["mail", "webhook"] {
        let mut t = Tally {
            delivered: 0,
            lost: Vec::new(),
            lost_at: Vec::new(),
            duplicated: 0,
            explained: 0,
        };
        for (i, e) in alerting.iter().enumerate() {
            let (lo, hi) = window(i);
            let hit = if channel == "mail" {
                mail.iter().any(|m| {
                    mail_events(m)
                        .iter()
                        .any(|(svc, d)| *svc == e.target && *d >= lo && *d < hi)
                })
            } else {
                // A bundled alert lists every event under `events`.
                hooks.iter().any(|h| {
                    let events = h["events"].as_array().into_iter().flatten();
                    std::iter::once(h).chain(events).any(|ev| {
                        let d = ev["timestamp_ms"].as_f64().unwrap_or(0.0) / 1000.0;
                        ev["service"] == e.target.as_str() && d >= lo && d < hi
                    })
                })
            };
            if hit {
                t.delivered += 1;
            } else {
                t.lost
                    .push(format!("{} {} at {:.0}", e.fault, e.target, e.at));
                t.lost_at.push(e.at);
            }
        }
        let (keys, dates): (Vec<String>, Vec<f64>) = if channel == "mail" {
            mail.iter()
                .map(|m| (mail_key(m), mail_dates(m).first().copied().unwrap_or(0.0)))
                .unzip()
        } else {
            hooks
                .iter()
                .map(|h| {
                    (
                        h.to_string(),
                        h["timestamp_ms"].as_f64().unwrap_or(0.0) / 1000.0,
                    )
                })
                .unzip()
        };
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (k, d) in keys.iter().zip(&dates) {
            let c = seen.entry(k.as_str()).or_default();
            *c += 1;
            if *c > 1 {
                t.duplicated += 1;
                // Delivered, then Warden killed before the queue file went.
                if kills.iter().any(|&w| w >= d - 1.0 && w <= d + 120.0) {
                    t.explained += 1;
                }
            }
        }
        tallies.push((channel, t, keys.len()));
    }
    let mut out = serde_json::Map::new();
    for (channel, t, received) in tallies {
        checks.push(Check {
            name: "every alert delivered once the receiver was back",
            ok: t.lost.is_empty(),
            detail: format!(
                "{channel}: {} delivered, lost: {} (queue holds {queued} files)",
                t.delivered,
                t.lost.join(", ")
            ),
        });
        checks.push(Check {
            name: "duplicates explained",
            ok: t.duplicated == t.explained,
            detail: format!(
                "{channel}: {} duplicated, {} after a Warden SIGKILL mid-delivery",
                t.duplicated, t.explained
            ),
        });
        out.insert(
            channel.into(),
            json!({
                "expected": t.delivered + t.lost.len(), "delivered": t.delivered, "lost": t.lost, "lost_at": t.lost_at,
                "duplicated": t.duplicated, "duplicated_after_warden_kill": t.explained, "received": received,
            }),
        );
    }
    out.insert("queued_at_end".into(), json!(queued));
    Value::Object(out)
}
