//! The per-check metric families, made afresh from one status snapshot at
//! each scrape: info, up, status and monitoring state sets, restarts,
//! timings, connection tests (the board's figures are `board`'s, which
//! reads the fixed names here). Every family is labelled `check` (the
//! service's name) and `type` (the control file's word: `process`,
//! `filesystem`, `host`, ...), so cardinality is bounded by the config:
//! checks x states, checks x figures.

use std::collections::BTreeSet;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use warden_engine::status::{MonitoringStatus, Reach, TestStatus};
use warden_engine::{EventKind, ServiceStatus};

pub(super) type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;
pub(super) type FloatCounter = Counter<f64, std::sync::atomic::AtomicU64>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CheckLabels {
    pub(super) check: String,
    pub(super) r#type: String,
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
pub(super) const FIXED: &[&str] = &[
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
    "warden_check_test_certificate_valid_seconds",
];

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
    let mut families = CheckFamilies::default();
    checks.iter().for_each(|s| families.add(s));
    families.register(registry);
    register_tests(registry, checks);
}

/// The fixed per-check families, filled one check at a time.
#[derive(Debug, Default)]
struct CheckFamilies {
    info: CheckInfo,
    up: Family<CheckLabels, Gauge>,
    monitored: Family<CheckLabels, Gauge>,
    status: Family<StatusLabels, Gauge>,
    monitoring: Family<MonitoringLabels, Gauge>,
    restarts: Family<CheckLabels, Counter>,
    in_window: Family<CheckLabels, Gauge>,
    duration: Family<CheckLabels, FloatGauge>,
    success: Family<CheckLabels, FloatGauge>,
    last: Family<CheckLabels, FloatGauge>,
    next: Family<CheckLabels, FloatGauge>,
}

impl CheckFamilies {
    fn add(&mut self, s: &ServiceStatus) {
        let l = CheckLabels {
            check: s.name.clone(),
            r#type: s.kind.word().to_string(),
        };
        self.info.0.push(InfoLabels {
            check: l.check.clone(),
            r#type: l.r#type.clone(),
            mode: s.mode.as_str().to_string(),
            group: s.groups.join(","),
        });
        let watched = s.monitoring == MonitoringStatus::Monitored;
        self.up.get_or_create(&l).set(i64::from(s.ok && watched));
        self.monitored
            .get_or_create(&l)
            .set(i64::from(s.monitoring != MonitoringStatus::NotMonitored));
        self.add_states(s, &l);
        self.restarts.get_or_create(&l).inc_by(s.restarts_total);
        self.in_window
            .get_or_create(&l)
            .set(i64::try_from(s.restarts_in_window).unwrap_or(i64::MAX));
        let seconds = |family: &Family<CheckLabels, FloatGauge>, v: Option<f64>| {
            if let Some(v) = v {
                family.get_or_create(&l).set(v);
            }
        };
        seconds(&self.duration, s.probe_duration_ms.map(|ms| ms / 1000.0));
        seconds(&self.success, s.last_success_unix_s.map(|t| t as f64));
        let checked = s
            .last_check_unix_s
            .map(|t| t as f64 + f64::from(s.last_check_usec.unwrap_or(0)) / 1e6);
        seconds(&self.last, checked);
        seconds(&self.next, s.next_check_unix_s.map(|t| t as f64));
    }

    /// The two state sets: a sample per state, 1 for the check's.
    fn add_states(&self, s: &ServiceStatus, l: &CheckLabels) {
        let now = status_state(s);
        let mut states: BTreeSet<&str> = status_states().collect();
        states.insert(now);
        for state in states {
            let labels = StatusLabels {
                check: l.check.clone(),
                r#type: l.r#type.clone(),
                status: state.to_string(),
            };
            self.status
                .get_or_create(&labels)
                .set(i64::from(state == now));
        }
        for state in MonitoringStatus::ALL {
            let labels = MonitoringLabels {
                check: l.check.clone(),
                r#type: l.r#type.clone(),
                state: state.word().to_string(),
            };
            let value = i64::from(*state == s.monitoring);
            self.monitoring.get_or_create(&labels).set(value);
        }
    }

    fn register(self, registry: &mut Registry) {
        let CheckFamilies {
            info,
            up,
            monitored,
            status,
            monitoring,
            restarts,
            in_window,
            duration,
            success,
            last,
            next,
        } = self;
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
    }
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
/// run: whether it passed, its response time, how long its certificate is still valid.
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
                certificate.get_or_create(&l).set(days * 86_400.0);
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
        "warden_check_test_certificate_valid_seconds",
        "How long the TLS certificate the connection test last saw is still valid",
        certificate,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
