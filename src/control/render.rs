//! `warden status`, `summary` and `report` as text: Monit 5.33's layouts
//! (same labels, column widths and value formats; a service's lines come
//! from `figures`, each value written by `format`) plus Warden's additions (groups, restarts in the
//! window, last probe, next check, last event). Pure functions from
//! statuses to a string, so they can be snapshotted and benchmarked;
//! colour (ANSI, on the status words only) when asked.

use std::fmt::Write as _;

use warden_config::model::CheckType;
use warden_engine::ServiceStatus;
use warden_engine::status::MonitoringStatus;

use super::MONIT_VERSION;
use super::figures::{monit_rows, status_rows};
use super::format::{Uptime, percent, uptime};

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
        let _ = writeln!(out, "{label:<16}{n} ({})", percent(pct(n)));
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
        "Monit {MONIT_VERSION} uptime: {}",
        uptime(uptime_s, Uptime::Minutes)
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
    // Monit's order of types in a summary (a stable sort keeps config order).
    let rank = |t: CheckType| match t {
        CheckType::System => 0,
        CheckType::Process => 1,
        CheckType::File => 2,
        CheckType::Fifo => 3,
        CheckType::Directory => 4,
        CheckType::Filesystem => 5,
        CheckType::Host => 6,
        CheckType::Network => 7,
        CheckType::Program => 8,
    };
    let mut sorted: Vec<&ServiceStatus> = statuses.iter().collect();
    sorted.sort_by_key(|s| rank(s.kind));
    let owned: Vec<ServiceStatus> = sorted.into_iter().cloned().collect();
    format!(
        "{}\n{}",
        monit_headline(uptime_s),
        render_summary(&owned, colour)
    )
}

fn block(out: &mut String, s: &ServiceStatus, colour: bool) {
    let _ = writeln!(out, "{} '{}'", s.kind, s.name);
    for (label, value) in status_rows(s) {
        if label == "status" {
            line(out, label, &paint(&value, s, colour));
        } else {
            line(out, label, &value);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_formatted_as_monit_formats_them() {
        // Each figure's own format is `format`'s, tested there.
        let table = [(
            cut("Initializing - unmonitor pending", 26),
            "Initializing - unmonito...",
        )];
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
