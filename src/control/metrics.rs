//! `GET /metrics`: Prometheus metrics in OpenMetrics text, served on the
//! Unix socket and on the TCP interface. Per-check families are read from
//! the status board at scrape time (`families`); event counts come from the
//! event bus, and the scheduler lag from a timer task that measures how
//! late it wakes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use warden_engine::Event;

use super::ControlState;

/// How often the lag probe wakes; its lateness is the scheduler lag.
const LAG_TICK: Duration = Duration::from_millis(500);

/// The OpenMetrics media type Prometheus asks for.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

mod board;
mod families;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    check: String,
    event: String,
}

/// What `warden -V` says was built, as `warden_build_info`'s labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
    profile: &'static str,
}

/// Events so far by check and kind (its label). A plain sorted map, made
/// into a metric family at each scrape: the family kept between scrapes
/// took about 300 bytes a check (a hash map of two-string labels and a
/// shared counter each), this about 100.
type EventCounts = Arc<Mutex<BTreeMap<(String, &'static str), u64>>>;

/// Metrics that live across scrapes; cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    state: ControlState,
    events: EventCounts,
    lag: Histogram,
    started: Instant,
    _tasks: Arc<Tasks>,
}

/// Aborts the metric tasks when the last clone goes.
#[derive(Debug)]
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        self.0.iter().for_each(|t| t.abort());
    }
}

impl Metrics {
    /// Starts counting the events `rx` receives (subscribe before the engine
    /// starts, so its first events count) and measuring the scheduler lag.
    pub fn start(state: ControlState, rx: Receiver<Event>) -> Metrics {
        let events = EventCounts::default();
        let lag = Histogram::new([0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]);
        let tasks = vec![
            tokio::spawn(count_events(rx, events.clone())),
            tokio::spawn(measure_lag(lag.clone())),
        ];
        Metrics {
            state,
            events,
            lag,
            started: Instant::now(),
            _tasks: Arc::new(Tasks(tasks)),
        }
    }

    /// `/metrics`, to merge into any router.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/metrics", get(serve))
            .with_state(self.clone())
    }

    /// The whole exposition, ending in `# EOF`.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::default();
        registry.register(
            "warden_build",
            "The Warden build that serves these metrics (as `warden -V`)",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: env!("WARDEN_GIT_COMMIT"),
                profile: env!("WARDEN_BUILD_PROFILE"),
            }),
        );
        let checks = self.state.status();
        families::register(&mut registry, &checks);
        board::register(&mut registry, &checks);
        let events = Family::<EventLabels, Counter>::default();
        for ((check, event), n) in self.events.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let labels = EventLabels {
                check: check.clone(),
                event: (*event).to_string(),
            };
            events.get_or_create(&labels).inc_by(*n);
        }
        registry.register(
            "warden_events",
            "Events by check and event (Monit's event names, snake_case)",
            events,
        );
        let uptime = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        uptime.set(self.started.elapsed().as_secs_f64());
        registry.register(
            "warden_uptime_seconds",
            "How long this Warden has run",
            uptime,
        );
        registry.register(
            "warden_scheduler_lag_seconds",
            "How late a timer on the checks' runtime wakes (busy or starved scheduler)",
            self.lag.clone(),
        );
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

async fn serve(State(metrics): State<Metrics>) -> Response {
    match metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!("cannot encode the metrics: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The event's kind as a label: `does_not_exist`, `action_done`, ...
fn kind_label(kind: warden_engine::EventKind) -> &'static str {
    kind.word()
}

async fn count_events(mut rx: Receiver<Event>, events: EventCounts) {
    loop {
        match rx.recv().await {
            Ok(e) => {
                let mut counts = events.lock().unwrap_or_else(|p| p.into_inner());
                *counts.entry((e.service, kind_label(e.kind))).or_default() += 1;
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("metrics: {n} events went by uncounted (the bus was full)");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Sleeps `LAG_TICK` over and over and records how much later than asked
/// it woke: the time a ready check task would also have waited.
async fn measure_lag(lag: Histogram) {
    loop {
        let asked = Instant::now() + LAG_TICK;
        tokio::time::sleep_until(asked).await;
        lag.observe(
            Instant::now()
                .saturating_duration_since(asked)
                .as_secs_f64(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_are_counted_by_check_and_event() {
        let (_board, board_rx) = tokio::sync::watch::channel(warden_engine::StatusBoard::default());
        let (requests, _inbox) = tokio::sync::mpsc::channel(1);
        let (tx, rx) = tokio::sync::broadcast::channel(8);
        let metrics = Metrics::start(ControlState::new(board_rx, requests), rx);
        let gone = warden_engine::EventKind::DoesNotExist;
        for _ in 0..2 {
            tx.send(Event::new("web", gone, "process is not running"))
                .unwrap();
        }
        let want = r#"warden_events_total{check="web",event="does_not_exist"} 2"#;
        let mut text = String::new();
        for _ in 0..200 {
            text = metrics.render().unwrap();
            if text.contains(want) {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(text.contains(want), "{text}");
        assert!(
            text.contains("# TYPE warden_uptime_seconds gauge"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn event_kinds_become_snake_case_labels() {
        let table = [
            (warden_engine::EventKind::DoesNotExist, "does_not_exist"),
            (warden_engine::EventKind::ActionDone, "action_done"),
            (warden_engine::EventKind::Recovered, "recovered"),
        ];
        for (kind, want) in table {
            assert_eq!(kind_label(kind), want);
        }
    }
}
