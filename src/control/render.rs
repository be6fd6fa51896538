//! `warden status`, `summary` and `report` as text: Monit 5.33's layouts
//! (same labels, column widths and value formats; a service's lines come
//! from `figures`) plus Warden's additions (groups, restarts in the
//! window, last probe, next check, last event). Pure functions from
//! statuses to a string, so they can be snapshotted and benchmarked;
//! colour (ANSI, on the status words only) when asked.

use std::fmt::Write as _;

use warden_engine::ServiceStatus;
use warden_engine::status::MonitoringStatus;

/// `warden summary`: Monit's table of name, status and type.
pub fn render_summary(statuses: &[ServiceStatus], colour: bool) -> String {
    let mut out = String::with_capacity(80 * (statuses.len() + 1));
    let _ = writeln!(out, " {:<33}{:<28}{:<14}", "Service Name", "Status", "Type");
    for s in statuses {
        let words = cut(&s.status, 26);
        let padded = format!("{words:<28}");
        let _ = writeln!(
            out,
            " {:<33}{}{:<14}",
            cut(&s.name, 31),
            paint(&padded, s, colour),
            s.kind
        );
    }
    out
}

/// `warden status`: one block per check, as `monit status` prints it.
pub fn render_status(statuses: &[ServiceStatus], colour: bool) -> String {
    let mut out = String::with_capacity(700 * statuses.len());
    for s in statuses {
        block(&mut out, s, colour);
        out.push('\n');
    }
    out
}

/// `warden report`: how many checks are up, down, initialising,
/// unmonitored, and the total, as Monit counts them.
pub fn render_report(statuses: &[ServiceStatus]) -> String {
    let total = statuses.len();
    let pct = |n: usize| {
        if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        }
    };
    let mut out = String::new();
    for what in ["up", "down", "initialising", "unmonitored"] {
        let n = report_count(statuses, what).unwrap_or(0);
        let label = format!("{what}:");
        let _ = writeln!(out, "{label:<16}{n} ({:.1}%)", pct(n));
    }
    let _ = writeln!(out, "{:<16}{total} services", "total:");
    out
}

/// How many checks are in one report category; None for an unknown word.
/// `failed` is Monit's other word for `down`.
pub fn report_count(statuses: &[ServiceStatus], what: &str) -> Option<usize> {
    let test: fn(&ServiceStatus) -> bool = match what {
        "up" => |s| s.ok && s.monitoring == MonitoringStatus::Monitored,
        "down" | "failed" => |s| !s.ok && s.monitoring == MonitoringStatus::Monitored,
        "initialising" | "initializing" => |s| s.monitoring == MonitoringStatus::Initializing,
        "unmonitored" => |s| s.monitoring == MonitoringStatus::NotMonitored,
        "total" => |_| true,
        _ => return None,
    };
    Some(statuses.iter().filter(|s| test(s)).count())
}

/// The first line of Monit's `status` and `summary` answers.
pub fn monit_headline(uptime_s: u64) -> String {
    format!(
        "Monit {} uptime: {}",
        super::monit::MONIT_VERSION,
        uptime(uptime_s)
    )
}

/// `monit status` as Monit prints it (its protocol's text answer and the
/// `monit` command): the headline, a blank line, Monit's lines only.
pub fn render_monit_status(uptime_s: u64, statuses: &[ServiceStatus], colour: bool) -> String {
    let mut out = String::with_capacity(64 + 700 * statuses.len());
    let _ = writeln!(out, "{}\n", monit_headline(uptime_s));
    for s in statuses {
        let _ = writeln!(out, "{} '{}'", s.kind, s.name);
        for (label, value) in monit_rows(s) {
            if label == "status" {
                line(&mut out, label, &paint(&value, s, colour));
            } else {
                line(&mut out, label, &value);
            }
        }
        out.push('\n');
    }
    out
}

/// `monit summary` as Monit prints it: the headline, then the table by
/// type (systems first, then processes, files, fifos, directories,
/// filesystems, hosts, networks and programs, each in config order).
pub fn render_monit_summary(uptime_s: u64, statuses: &[ServiceStatus], colour: bool) -> String {
    const ORDER: [&str; 9] = [
        "System",
        "Process",
        "File",
        "Fifo",
        "Directory",
        "Filesystem",
        "Remote Host",
        "Network",
        "Program",
    ];
    let mut sorted: Vec<&ServiceStatus> = statuses.iter().collect();
    sorted.sort_by_key(|s| {
        ORDER
            .iter()
            .position(|k| *k == s.kind)
            .unwrap_or(ORDER.len())
    });
    let owned: Vec<ServiceStatus> = sorted.into_iter().cloned().collect();
    format!(
        "{}\n{}",
        monit_headline(uptime_s),
        render_summary(&owned, colour)
    )
}

fn block(out: &mut String, s: &ServiceStatus, colour: bool) {
    let _ = writeln!(out, "{} '{}'", s.kind, s.name);
    let rows = monit_rows(s);
    let (collected, rows) = rows
        .split_last()
        .map_or((None, &rows[..]), |(c, r)| (Some(c), r));
    for (label, value) in rows {
        if *label == "status" {
            line(out, label, &paint(value, s, colour));
        } else {
            line(out, label, value);
        }
    }
    additions(out, s);
    if let Some((label, value)) = collected {
        line(out, label, value);
    }
}

pub use super::figures::monit_rows;

/// Warden's lines that Monit does not have.
fn additions(out: &mut String, s: &ServiceStatus) {
    if !s.groups.is_empty() {
        line(out, "groups", &s.groups.join(", "));
    }
    let window = match s.restart_window_cycles {
        Some(c) => format!(" within {c} cycles"),
        None => String::new(),
    };
    line(
        out,
        "restarts",
        &format!(
            "{}{window} [{} total]",
            s.restarts_in_window, s.restarts_total
        ),
    );
    if let Some(ms) = s.probe_duration_ms {
        line(out, "last probe took", &format!("{ms:.3} ms"));
    }
    if let Some(t) = s.next_check_unix_s {
        line(out, "next check", &date(t));
    }
    if let Some(e) = &s.last_event {
        let text = format!("{}: {} at {}", e.kind, e.description, date(e.time_unix_s));
        line(out, "last event", &text);
    }
}

/// One `label value` line; as Monit, a value of several lines goes on
/// under the first, indented to the value column, carriage returns left
/// out.
fn line(out: &mut String, label: &str, value: &str) {
    let _ = write!(out, "  {label:<29}");
    let value = value.trim_end_matches('\n');
    for (i, part) in value.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(31));
        }
        out.extend(part.chars().filter(|c| *c != '\r'));
    }
    out.push('\n');
}

/// Text cut to `width` characters, ending in `...` when it was longer.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let head: String = text.chars().take(width.saturating_sub(3)).collect();
    format!("{head}...")
}

/// The status words in green (OK), yellow (initializing, not monitored) or
/// red (failed) on a terminal.
fn paint(text: &str, s: &ServiceStatus, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match (s.ok, s.monitoring) {
        (_, MonitoringStatus::NotMonitored | MonitoringStatus::Initializing) => "33",
        (true, _) => "32",
        (false, _) => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Bytes as Monit prints them: `0 B`, `8 kB`, `1.6 MB`, `0.5 B` (powers
/// of 1024; a whole number without decimals, else one).
pub fn bytes(amount: f64) -> String {
    const UNITS: [&str; 8] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB"];
    let sign = if amount < 0.0 { "-" } else { "" };
    let mut v = amount.abs();
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    scaled(sign, v, 1, UNITS[unit])
}

/// `v unit` with no decimals when `v` is whole, else `decimals`.
fn scaled(sign: &str, v: f64, decimals: usize, unit: &str) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{sign}{v:.0} {unit}")
    } else {
        format!("{sign}{v:.decimals$} {unit}")
    }
}

/// Milliseconds as Monit prints a time: `0.219 ms`, `1.500 s`, `2 m`.
pub fn millis(ms: f64) -> String {
    const STEPS: [(f64, &str); 6] = [
        (1000.0, "ms"),
        (60.0, "s"),
        (60.0, "m"),
        (24.0, "h"),
        (365.0, "d"),
        (999.0, "y"),
    ];
    let sign = if ms < 0.0 { "-" } else { "" };
    let mut v = ms.abs();
    for (base, unit) in STEPS {
        if v < base {
            return scaled(sign, v, 3, unit);
        }
        v /= base;
    }
    scaled(sign, v, 3, "y")
}

/// Monit's uptime: `5m`, `2h 5m`, `3d 2h 5m`.
pub fn uptime(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

/// Monit's date in status: `Sat, 21 Nov 2026 07:07:09` (UTC here).
pub fn date(unix_s: u64) -> String {
    warden_probes::date::status_date(unix_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_formatted_as_monit_formats_them() {
        let table = [
            (bytes(0.0), "0 B"),
            (bytes(8.0 * 1024.0), "8 kB"),
            (bytes(1_677_722.0), "1.6 MB"),
            (bytes(0.5), "0.5 B"),
            (bytes(2_055_209.0), "2.0 MB"),
            (millis(0.219), "0.219 ms"),
            (millis(1.0), "1 ms"),
            (millis(1500.0), "1.500 s"),
            (millis(120_000.0), "2 m"),
            (uptime(59), "0m"),
            (uptime(3 * 3600 + 120), "3h 2m"),
            (uptime(86_400 + 60), "1d 0h 1m"),
            (date(1_795_245_229), "Sat, 21 Nov 2026 07:13:49"),
            (
                cut("Initializing - unmonitor pending", 26),
                "Initializing - unmonito...",
            ),
        ];
        for (got, want) in table {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_value_of_several_lines_goes_on_under_the_first() {
        let mut out = String::new();
        line(&mut out, "last output", "line1\r\nline2\n");
        assert_eq!(
            out,
            "  last output                  line1\n                               line2\n"
        );
    }
}
