//! The per-check metric families, made afresh from one status snapshot at
//! each scrape: up, status and monitoring state sets, restarts, timings,
//! and one gauge family per figure the status board holds. Every family is
//! labelled `check` (the service's name) and `type` (the control file's
//! word: `process`, `filesystem`, `host`, ...), so cardinality is bounded
//! by the config: checks x states, checks x figures.

use std::collections::{BTreeMap, BTreeSet};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use warden_engine::status::{MonitoringStatus, Reach, TestStatus};
use warden_engine::{EventKind, ServiceStatus};

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;
type FloatCounter = Counter<f64, std::sync::atomic::AtomicU64>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    check: String,
    r#type: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    check: String,
    r#type: String,
    status: String,
}

/// What the config says of a check, for joins (`group_left(group, mode)`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    check: String,
    r#type: String,
    mode: String,
    /// The check's groups joined by commas, as Warden's Alertmanager
    /// alerts label them (empty when it has none).
    group: String,
}

/// One info sample per check. (A `Family` of `Info` encodes its labels
/// with a stray leading comma in prometheus-client 0.25; an info metric
/// may hold several samples, each with its own labels.)
#[derive(Debug, Default)]
struct CheckInfo(Vec<InfoLabels>);

impl EncodeMetric for CheckInfo {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.iter().try_for_each(|l| encoder.encode_info(l))
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Info
    }
}

/// One connection test of a check: what it reaches and how it speaks.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TestLabels {
    check: String,
    r#type: String,
    test: String,
    protocol: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MonitoringLabels {
    check: String,
    r#type: String,
    state: String,
}

/// The families every scrape has, whatever the checks measure. A figure
/// whose family name would clash with one of these is left out.
const FIXED: &[&str] = &[
    "warden_check",
    "warden_check_info",
    "warden_check_up",
    "warden_check_monitored",
    "warden_check_status",
    "warden_check_monitoring",
    "warden_check_restarts",
    "warden_check_restarts_in_window",
    "warden_check_probe_duration_seconds",
    "warden_check_last_success_timestamp_seconds",
    "warden_check_last_check_timestamp_seconds",
    "warden_check_next_check_timestamp_seconds",
    "warden_check_test_up",
    "warden_check_test_response_time_seconds",
    "warden_check_test_certificate_days",
];

/// Gauge or counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
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
        "read_time",
        Kind::Gauge,
        "read_time_milliseconds_per_second",
    ),
    (
        "write_time",
        Kind::Gauge,
        "write_time_milliseconds_per_second",
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Figure {
    /// A gauge family of this name.
    Gauge(String),
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
        Kind::Gauge => Some(Figure::Gauge(family)),
        Kind::Counter => Some(Figure::Counter(family)),
    }
}

/// The status state set's states: every state a check can be in, so that
/// each check has one sample per state, exactly one of them 1.
fn status_states() -> impl Iterator<Item = &'static str> {
    ["ok", "initializing", "not_monitored"]
        .into_iter()
        .chain(EventKind::FAILURES.iter().map(|k| k.word()))
}

/// The check's state in the status state set.
fn status_state(s: &ServiceStatus) -> &'static str {
    match (s.monitoring, s.failing) {
        (MonitoringStatus::NotMonitored, _) => "not_monitored",
        (MonitoringStatus::Initializing, _) => "initializing",
        (MonitoringStatus::Monitored, Some(kind)) => kind.word(),
        (MonitoringStatus::Monitored, None) => "ok",
    }
}

/// Registers every per-check family, filled from `checks`.
pub fn register(registry: &mut Registry, checks: &[ServiceStatus]) {
    let mut info = CheckInfo::default();
    let up = Family::<CheckLabels, Gauge>::default();
    let monitored = Family::<CheckLabels, Gauge>::default();
    let status = Family::<StatusLabels, Gauge>::default();
    let monitoring = Family::<MonitoringLabels, Gauge>::default();
    let restarts = Family::<CheckLabels, Counter>::default();
    let in_window = Family::<CheckLabels, Gauge>::default();
    let duration = Family::<CheckLabels, FloatGauge>::default();
    let success = Family::<CheckLabels, FloatGauge>::default();
    let last = Family::<CheckLabels, FloatGauge>::default();
    let next = Family::<CheckLabels, FloatGauge>::default();
    for s in checks {
        let l = CheckLabels {
            check: s.name.clone(),
            r#type: s.kind.word().to_string(),
        };
        info.0.push(InfoLabels {
            check: l.check.clone(),
            r#type: l.r#type.clone(),
            mode: s.mode.as_str().to_string(),
            group: s.groups.join(","),
        });
        let watched = s.monitoring == MonitoringStatus::Monitored;
        up.get_or_create(&l).set(i64::from(s.ok && watched));
        monitored
            .get_or_create(&l)
            .set(i64::from(s.monitoring != MonitoringStatus::NotMonitored));
        let now = status_state(s);
        let mut states: BTreeSet<&str> = status_states().collect();
        states.insert(now);
        for state in states {
            let labels = StatusLabels {
                check: l.check.clone(),
                r#type: l.r#type.clone(),
                status: state.to_string(),
            };
            status.get_or_create(&labels).set(i64::from(state == now));
        }
        for state in MonitoringStatus::ALL {
            let labels = MonitoringLabels {
                check: l.check.clone(),
                r#type: l.r#type.clone(),
                state: state.word().to_string(),
            };
            let value = i64::from(*state == s.monitoring);
            monitoring.get_or_create(&labels).set(value);
        }
        restarts.get_or_create(&l).inc_by(s.restarts_total);
        in_window
            .get_or_create(&l)
            .set(i64::try_from(s.restarts_in_window).unwrap_or(i64::MAX));
        let seconds = |family: &Family<CheckLabels, FloatGauge>, v: Option<f64>| {
            if let Some(v) = v {
                family.get_or_create(&l).set(v);
            }
        };
        seconds(&duration, s.probe_duration_ms.map(|ms| ms / 1000.0));
        seconds(&success, s.last_success_unix_s.map(|t| t as f64));
        let checked = s
            .last_check_unix_s
            .map(|t| t as f64 + f64::from(s.last_check_usec.unwrap_or(0)) / 1e6);
        seconds(&last, checked);
        seconds(&next, s.next_check_unix_s.map(|t| t as f64));
    }
    registry.register(
        "warden_check",
        "What the config says of the check: its mode (active, passive, manual) and groups \
         (joined by commas)",
        info,
    );
    registry.register(
        "warden_check_up",
        "1 when the check is monitored and its last evaluation passed, else 0",
        up,
    );
    registry.register(
        "warden_check_monitored",
        "1 when Warden watches the check (initializing included), 0 after unmonitor",
        monitored,
    );
    registry.register(
        "warden_check_status",
        "The check's status as a state set: 1 for the state it is in (ok, initializing, \
         not_monitored, or what it fails with: does_not_exist, connection_failed, \
         resource_limit, ...), 0 for the others",
        status,
    );
    registry.register(
        "warden_check_monitoring",
        "The check's monitoring state as a state set: monitored, not_monitored, initializing",
        monitoring,
    );
    registry.register(
        "warden_check_restarts",
        "Starts and restarts Warden made for the check, ever",
        restarts,
    );
    registry.register(
        "warden_check_restarts_in_window",
        "Starts and restarts within the check's `N restarts within M cycles` window \
         (all remembered ones without such a rule)",
        in_window,
    );
    registry.register(
        "warden_check_probe_duration_seconds",
        "How long the check's last probe took",
        duration,
    );
    registry.register(
        "warden_check_last_success_timestamp_seconds",
        "When the check's probe last passed (unix time)",
        success,
    );
    registry.register(
        "warden_check_last_check_timestamp_seconds",
        "When the check was last evaluated (unix time)",
        last,
    );
    registry.register(
        "warden_check_next_check_timestamp_seconds",
        "When the check is due next (unix time); in the past means it runs late",
        next,
    );
    register_tests(registry, checks);
    register_figures(registry, checks);
}

/// What a connection test reaches, as its `test` label: `HOST:PORT`
/// (`[::1]:PORT`), `ping:HOST`, `unix:PATH`.
fn test_target(t: &TestStatus) -> String {
    let host = t.host.as_deref().unwrap_or_default();
    match t.kind {
        Reach::Port if host.contains(':') => format!("[{host}]:{}", t.port.unwrap_or(0)),
        Reach::Port => format!("{host}:{}", t.port.unwrap_or(0)),
        Reach::Ping => format!("ping:{host}"),
        Reach::Unix => format!("unix:{}", t.path.as_deref().unwrap_or_default()),
    }
}

/// One sample per connection test (ports, sockets, pings, urls) that has
/// run: whether it passed, its response time, its certificate's days.
fn register_tests(registry: &mut Registry, checks: &[ServiceStatus]) {
    let up = Family::<TestLabels, Gauge>::default();
    let response = Family::<TestLabels, FloatGauge>::default();
    let certificate = Family::<TestLabels, FloatGauge>::default();
    for s in checks {
        for t in &s.tests {
            let l = TestLabels {
                check: s.name.clone(),
                r#type: s.kind.word().to_string(),
                test: test_target(t),
                protocol: t.protocol.to_ascii_lowercase(),
            };
            if t.failed || t.response_time_ms.is_some() {
                up.get_or_create(&l).set(i64::from(!t.failed));
            }
            if let Some(ms) = t.response_time_ms {
                response.get_or_create(&l).set(ms / 1000.0);
            }
            if let Some(days) = t.certificate_days {
                certificate.get_or_create(&l).set(days);
            }
        }
    }
    registry.register(
        "warden_check_test_up",
        "1 when the check's connection test (port, unix socket, ping, url) last passed, 0 when it failed",
        up,
    );
    registry.register(
        "warden_check_test_response_time_seconds",
        "The connection test's last response time",
        response,
    );
    registry.register(
        "warden_check_test_certificate_days",
        "Days the TLS certificate the connection test last saw is still valid",
        certificate,
    );
}

/// One family per figure the board holds (`status --json`'s `metrics`),
/// in the figure's own unit.
fn register_figures(registry: &mut Registry, checks: &[ServiceStatus]) {
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
                Some(Figure::Gauge(family)) => {
                    let (_, f) = gauges
                        .entry(family)
                        .or_insert_with(|| (name.clone(), Family::default()));
                    f.get_or_create(&l).set(*value);
                }
                Some(Figure::Counter(family)) => {
                    let (_, f) = counters
                        .entry(family)
                        .or_insert_with(|| (name.clone(), Family::default()));
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
    use super::*;

    #[test]
    fn figures_without_a_unit_get_one_and_totals_become_counters() {
        let table = [
            (
                "cpu",
                Some(Figure::Gauge("warden_check_cpu_percent".into())),
            ),
            (
                "memory",
                Some(Figure::Gauge("warden_check_memory_bytes".into())),
            ),
            (
                "response_time",
                Some(Figure::Gauge("warden_check_response_time_seconds".into())),
            ),
            (
                "space_used_percent",
                Some(Figure::Gauge("warden_check_space_used_percent".into())),
            ),
            (
                "load_avg1",
                Some(Figure::Gauge("warden_check_load_avg1".into())),
            ),
            (
                "read_bytes_total",
                Some(Figure::Counter("warden_check_read_bytes".into())),
            ),
            (
                "a_figure_added_later",
                Some(Figure::Gauge("warden_check_a_figure_added_later".into())),
            ),
            (
                "space_total",
                Some(Figure::Gauge("warden_check_space_size_bytes".into())),
            ),
            (
                "uploaded_bytes",
                Some(Figure::Counter("warden_check_uploaded_bytes".into())),
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
    fn a_connection_test_is_labelled_by_what_it_reaches() {
        let test = |kind, host: Option<&str>, port, path: Option<&str>| TestStatus {
            kind,
            host: host.map(str::to_string),
            port,
            path: path.map(str::to_string),
            request: String::new(),
            protocol: "HTTP".into(),
            socket: "TCP".into(),
            ip: "IP".into(),
            tls: false,
            response_time_ms: None,
            failed: false,
            certificate_days: None,
        };
        let table = [
            (
                test(Reach::Port, Some("127.0.0.1"), Some(80), None),
                "127.0.0.1:80",
            ),
            (test(Reach::Port, Some("::1"), Some(80), None), "[::1]:80"),
            (
                test(Reach::Ping, Some("db.example"), None, None),
                "ping:db.example",
            ),
            (
                test(Reach::Unix, None, None, Some("/run/x.sock")),
                "unix:/run/x.sock",
            ),
        ];
        for (t, want) in table {
            assert_eq!(test_target(&t), want);
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
