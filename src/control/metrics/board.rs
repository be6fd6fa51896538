//! The status board's figures (`status --json`'s `metrics`) as metric
//! families: one per figure, named after the board's name with the unit
//! Prometheus's naming asks for, so a figure a new probe adds is served
//! with no change here.

use std::collections::BTreeMap;

use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use warden_engine::ServiceStatus;

use super::families::{CheckLabels, FIXED, FloatCounter, FloatGauge};

/// Gauge or counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    /// A gauge the board holds in milliseconds, served in seconds (the
    /// base unit).
    GaugeOfMillis,
    /// A gauge the board holds in days, served in seconds.
    GaugeOfDays,
    Counter,
}

/// The board's figures whose family is not their board name: a unit the
/// name lacks (Prometheus's naming: base units in the name), a `_total`
/// that is a size, a count that only grows without `_total`. Each line:
/// the board's name, the kind, the family's name after `warden_check_`
/// (a counter's without the `_total` the encoder adds). Any other figure
/// is served under its board name, a counter when the name ends in
/// `_total`: a new probe's figures are served with no line here.
const FAMILIES: &[(&str, Kind, &str)] = &[
    ("cpu", Kind::Gauge, "cpu_percent"),
    ("total_cpu", Kind::Gauge, "total_cpu_percent"),
    ("cpu_user", Kind::Gauge, "cpu_user_percent"),
    ("cpu_system", Kind::Gauge, "cpu_system_percent"),
    ("cpu_wait", Kind::Gauge, "cpu_wait_percent"),
    ("cpu_nice", Kind::Gauge, "cpu_nice_percent"),
    ("cpu_hard_irq", Kind::Gauge, "cpu_hard_irq_percent"),
    ("cpu_soft_irq", Kind::Gauge, "cpu_soft_irq_percent"),
    ("cpu_steal", Kind::Gauge, "cpu_steal_percent"),
    ("cpu_guest", Kind::Gauge, "cpu_guest_percent"),
    ("cpu_guest_nice", Kind::Gauge, "cpu_guest_nice_percent"),
    ("saturation", Kind::Gauge, "saturation_percent"),
    ("memory", Kind::Gauge, "memory_bytes"),
    ("total_memory", Kind::Gauge, "total_memory_bytes"),
    ("swap", Kind::Gauge, "swap_bytes"),
    ("size", Kind::Gauge, "size_bytes"),
    ("space_used", Kind::Gauge, "space_used_bytes"),
    ("space_free", Kind::Gauge, "space_free_bytes"),
    ("block_size", Kind::Gauge, "block_size_bytes"),
    ("uptime", Kind::Gauge, "uptime_seconds"),
    ("response_time", Kind::Gauge, "response_time_seconds"),
    ("timestamp", Kind::Gauge, "timestamp_seconds"),
    ("access_time", Kind::Gauge, "access_time_seconds"),
    ("modify_time", Kind::Gauge, "modify_time_seconds"),
    ("change_time", Kind::Gauge, "change_time_seconds"),
    ("boot_time", Kind::Gauge, "boot_time_seconds"),
    ("program_started", Kind::Gauge, "program_started_seconds"),
    ("link_speed", Kind::Gauge, "link_speed_bits_per_second"),
    ("read_bytes", Kind::Gauge, "read_bytes_per_second"),
    ("write_bytes", Kind::Gauge, "write_bytes_per_second"),
    ("disk_read_bytes", Kind::Gauge, "disk_read_bytes_per_second"),
    (
        "disk_write_bytes",
        Kind::Gauge,
        "disk_write_bytes_per_second",
    ),
    ("read_operations", Kind::Gauge, "read_operations_per_second"),
    (
        "write_operations",
        Kind::Gauge,
        "write_operations_per_second",
    ),
    ("upload_bytes", Kind::Gauge, "upload_bytes_per_second"),
    ("download_bytes", Kind::Gauge, "download_bytes_per_second"),
    ("upload_packets", Kind::Gauge, "upload_packets_per_second"),
    (
        "download_packets",
        Kind::Gauge,
        "download_packets_per_second",
    ),
    ("upload_errors", Kind::Gauge, "upload_errors_per_second"),
    ("download_errors", Kind::Gauge, "download_errors_per_second"),
    (
        "certificate_days",
        Kind::GaugeOfDays,
        "certificate_valid_seconds",
    ),
    // Milliseconds a second: the share of time the device was busy.
    (
        "read_time",
        Kind::GaugeOfMillis,
        "read_time_seconds_per_second",
    ),
    (
        "write_time",
        Kind::GaugeOfMillis,
        "write_time_seconds_per_second",
    ),
    // Sizes, not counts of events: gauges, named as node_exporter names
    // its filesystem sizes.
    ("space_total", Kind::Gauge, "space_size_bytes"),
    (
        "space_free_total",
        Kind::Gauge,
        "space_free_with_reserved_bytes",
    ),
    ("inode_total", Kind::Gauge, "inodes"),
    // An interface's counts since it came up: counters.
    ("uploaded_bytes", Kind::Counter, "uploaded_bytes"),
    ("downloaded_bytes", Kind::Counter, "downloaded_bytes"),
    ("uploaded_packets", Kind::Counter, "uploaded_packets"),
    ("downloaded_packets", Kind::Counter, "downloaded_packets"),
    ("uploaded_errors", Kind::Counter, "uploaded_errors"),
    ("downloaded_errors", Kind::Counter, "downloaded_errors"),
];

/// How a board figure is served.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// A gauge family of this name, and what the board's value is
    /// multiplied by (1, 0.001 from milliseconds, 86400 from days).
    Gauge(String, f64),
    /// A figure that only grows (`..._total` on the board): a counter
    /// family registered under this name (the encoder adds `_total`).
    Counter(String),
}

/// The family for the board's figure `name`, None when the name cannot be
/// a metric name (the board's names are snake_case; anything else is
/// skipped rather than served broken).
pub fn figure(name: &str) -> Option<Figure> {
    let fits = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !fits {
        return None;
    }
    let (kind, family) = match FAMILIES.iter().find(|(n, ..)| *n == name) {
        Some((_, kind, family)) => (*kind, format!("warden_check_{family}")),
        None => match name.strip_suffix("_total") {
            Some(base) => (Kind::Counter, format!("warden_check_{base}")),
            None => (Kind::Gauge, format!("warden_check_{name}")),
        },
    };
    // A gauge named as a fixed counter's sample clashes too.
    let clashes = FIXED
        .iter()
        .any(|f| *f == family || family.strip_suffix("_total") == Some(f));
    match kind {
        _ if clashes => None,
        Kind::Gauge => Some(Figure::Gauge(family, 1.0)),
        Kind::GaugeOfMillis => Some(Figure::Gauge(family, 0.001)),
        Kind::GaugeOfDays => Some(Figure::Gauge(family, 86_400.0)),
        Kind::Counter => Some(Figure::Counter(family)),
    }
}

/// One family per figure the board holds (`status --json`'s `metrics`),
/// in the figure's own unit.
pub(super) fn register(registry: &mut Registry, checks: &[ServiceStatus]) {
    let mut gauges: BTreeMap<String, (String, Family<CheckLabels, FloatGauge>)> = BTreeMap::new();
    let mut counters: BTreeMap<String, (String, Family<CheckLabels, FloatCounter>)> =
        BTreeMap::new();
    for s in checks {
        let l = CheckLabels {
            check: s.name.clone(),
            r#type: s.kind.word().to_string(),
        };
        for (name, value) in &s.metrics {
            if !value.is_finite() {
                continue;
            }
            match figure(name) {
                Some(Figure::Gauge(family, scale)) => {
                    let (_, f) = gauges
                        .entry(family)
                        .or_insert_with(|| (name.to_string(), Family::default()));
                    f.get_or_create(&l).set(value * scale);
                }
                Some(Figure::Counter(family)) => {
                    let (_, f) = counters
                        .entry(family)
                        .or_insert_with(|| (name.to_string(), Family::default()));
                    f.get_or_create(&l).inc_by(value.max(0.0));
                }
                None => {}
            }
        }
    }
    for (family, (name, metric)) in gauges {
        let help = format!("The check's `{name}` figure (status --json metrics.{name})");
        registry.register(family, help, metric);
    }
    for (family, (name, metric)) in counters {
        let help = format!(
            "The check's `{name}` figure (status --json metrics.{name}), a count since the subject started"
        );
        registry.register(family, help, metric);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn figures_without_a_unit_get_one_and_totals_become_counters() {
        let table = [
            (
                "cpu",
                Some(Figure::Gauge("warden_check_cpu_percent".into(), 1.0)),
            ),
            (
                "memory",
                Some(Figure::Gauge("warden_check_memory_bytes".into(), 1.0)),
            ),
            (
                "response_time",
                Some(Figure::Gauge(
                    "warden_check_response_time_seconds".into(),
                    1.0,
                )),
            ),
            (
                "space_used_percent",
                Some(Figure::Gauge("warden_check_space_used_percent".into(), 1.0)),
            ),
            (
                "load_avg1",
                Some(Figure::Gauge("warden_check_load_avg1".into(), 1.0)),
            ),
            (
                "read_bytes_total",
                Some(Figure::Counter("warden_check_read_bytes".into())),
            ),
            (
                "a_figure_added_later",
                Some(Figure::Gauge(
                    "warden_check_a_figure_added_later".into(),
                    1.0,
                )),
            ),
            (
                "space_total",
                Some(Figure::Gauge("warden_check_space_size_bytes".into(), 1.0)),
            ),
            (
                "uploaded_bytes",
                Some(Figure::Counter("warden_check_uploaded_bytes".into())),
            ),
            (
                "read_time",
                Some(Figure::Gauge(
                    "warden_check_read_time_seconds_per_second".into(),
                    0.001,
                )),
            ),
            ("up", None),
            ("restarts_total", None),
            ("Bad-Name", None),
            ("", None),
        ];
        for (name, want) in table {
            assert_eq!(figure(name), want, "{name}");
        }
    }

    #[test]
    fn every_unit_line_names_a_figure_once() {
        let names: BTreeSet<&str> = FAMILIES.iter().map(|(n, ..)| *n).collect();
        assert_eq!(names.len(), FAMILIES.len());
        let families: BTreeSet<&str> = FAMILIES.iter().map(|(.., f)| *f).collect();
        assert_eq!(families.len(), FAMILIES.len());
    }
}
