//! The Alertmanager sink (`set alertmanager URL [labels {...}]`, Warden's
//! extension): a failing check is a firing alert posted to
//! `URL/api/v2/alerts`, re-posted while it stands (the decider's reminders,
//! every cycle of the check within [`REPOST_MIN`]..[`REPOST_MAX`]) with an
//! `endsAt` [`LEASE`] ahead, and resolved (`endsAt` = its end) when it
//! recovers or stops being monitored. One alert per service: its labels
//! are `alertname`, `service`, `type`, `host`, `group`, `severity` and the
//! configured ones, which win. [`ALERTMANAGER`] is its [`Sink`].

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use warden_config::model::{Alertmanager, Check, Settings};
use warden_engine::EventKind;

use crate::alert::{AlertEvent, Destination, millis};
use crate::http::{LazyClient, post};
use crate::sink::{BoxFuture, Outgoing, Recipient, SendError, Sink};

/// The `alertname` of every alert Warden posts.
pub const ALERTNAME: &str = "WardenCheckFailed";
/// A standing failure is posted again at least this often ...
pub const REPOST_MAX: Duration = Duration::from_secs(60);
/// ... and at most this often (a check every second re-posts every 10 s).
pub const REPOST_MIN: Duration = Duration::from_secs(10);
/// A firing alert's `endsAt` is this far ahead: four of the longest
/// re-post periods, so a late re-post or two never lets it lapse, and an
/// alert of a Warden that died resolves itself within minutes.
pub const LEASE: Duration = Duration::from_secs(4 * 60);
/// The Alertmanager sink.
#[derive(Debug)]
pub struct AlertmanagerSink {
    client: LazyClient,
}

pub static ALERTMANAGER: AlertmanagerSink = AlertmanagerSink {
    client: LazyClient::new(|b| b.connect_timeout(Duration::from_secs(5)).no_proxy()),
};

impl Sink for AlertmanagerSink {
    fn name(&self) -> &'static str {
        "alertmanager"
    }

    /// Every `set alertmanager` less the check's `noalert URL`s, plus its
    /// own `alertmanager` lines (whose labels win for a URL in both).
    fn recipients(&self, settings: &Settings, check: Option<&Check>) -> Vec<Recipient> {
        let own: &[Alertmanager] = check.map_or(&[], |c| &c.alertmanagers);
        let global = settings.alertmanagers.iter().filter(|a| {
            check.is_none_or(|c| !c.noalerts.iter().any(|n| n.eq_ignore_ascii_case(&a.url)))
        });
        let mut out: Vec<Recipient> = Vec::new();
        for am in global.chain(own) {
            let mut labels = check.map(check_labels).unwrap_or_default();
            if let Some(same) = out.iter_mut().find(|r| r.sink.address == am.url) {
                // A check's own line for a global URL: its labels on top.
                merge(&mut same.labels, &am.labels);
                same.filter = am.filter.clone();
                continue;
            }
            merge(&mut labels, &am.labels);
            let period = check.map_or(settings.cycle, |c| {
                warden_engine::plan::period(&c.schedule, settings.cycle)
            });
            out.push(Recipient {
                sink: Destination::new(self.name(), am.url.clone()),
                template: None,
                reminder_cycles: None,
                filter: am.filter.clone(),
                repost: Some(period.clamp(REPOST_MIN, REPOST_MAX)),
                labels,
            });
        }
        out
    }

    /// Failures, their end and unmonitoring: the states of an alert.
    fn takes(&self, kind: EventKind) -> bool {
        !matches!(kind, EventKind::ActionDone | EventKind::Monitored)
    }

    /// Alertmanager groups alerts itself: post at once.
    fn quiet(&self) -> Duration {
        Duration::ZERO
    }

    fn deliver<'a>(&'a self, alert: Outgoing<'a>) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let now = SystemTime::now();
            let client = self.client.get()?;
            let url = format!("{}/api/v2/alerts", alert.address.trim_end_matches('/'));
            let waves = waves(&alert.events, &alert.labels);
            let mut answers = Vec::new();
            for wave in &waves {
                let body: Vec<Value> = wave.iter().map(|s| body(s, alert.settings, now)).collect();
                answers.push(post(&client, &url, &Value::Array(body)).await?);
            }
            let posted: usize = waves.iter().map(Vec::len).sum();
            Ok(format!("{} ({posted} alert states)", answers.join(", ")))
        })
    }
}

/// `extra` over `labels`: a name in both takes `extra`'s value.
fn merge(labels: &mut Vec<(String, String)>, extra: &[(String, String)]) {
    for (k, v) in extra {
        match labels.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.clone(),
            None => labels.push((k.clone(), v.clone())),
        }
    }
}

/// What a check adds to its alerts' labels: its type and its groups.
fn check_labels(check: &Check) -> Vec<(String, String)> {
    let mut labels = vec![(
        "type".to_string(),
        check.kind.check_type().word().to_string(),
    )];
    if !check.groups.is_empty() {
        labels.push(("group".to_string(), check.groups.join(",")));
    }
    labels
}

/// One state of one service's alert.
#[derive(Debug, Clone, PartialEq)]
pub struct State<'a> {
    /// The event that made it (a failure, or the end of one).
    pub event: &'a AlertEvent,
    /// When the failure began, when known (a resolution's own event is its
    /// end).
    pub since_ms: Option<u64>,
    /// The labels stored with the event: its check's type and groups, and
    /// the configured ones.
    pub labels: &'a [(String, String)],
}

impl State<'_> {
    pub fn firing(&self) -> bool {
        self.event.failure
    }
}

/// The alert states the events make, in waves: each service's first state
/// in the first wave, its second in the next, and so on (an Alertmanager
/// takes an array in any order, so one service's states must go in
/// separate posts, in order). Repeats of a firing state fold into one.
/// `labels` are each event's, in the same order (none: no labels).
pub fn waves<'a>(
    events: &[&'a AlertEvent],
    labels: &[&'a [(String, String)]],
) -> Vec<Vec<State<'a>>> {
    let mut per_service: Vec<(&str, Vec<State<'a>>)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let own: &[(String, String)] = labels.get(i).copied().unwrap_or_default();
        let at = match per_service.iter().position(|(s, _)| *s == e.service) {
            Some(i) => i,
            None => {
                per_service.push((&e.service, Vec::new()));
                per_service.len() - 1
            }
        };
        let Some((_, states)) = per_service.get_mut(at) else {
            continue;
        };
        let last = states.last().cloned();
        match last {
            // A reminder, or another failure of a failing service: one
            // firing alert, now about the latest event.
            Some(prev) if prev.firing() && e.failure => {
                if let Some(slot) = states.last_mut() {
                    *slot = State {
                        event: e,
                        since_ms: prev.since_ms,
                        labels: own,
                    };
                }
            }
            Some(prev) if !prev.firing() && !e.failure => {}
            _ => {
                let since_ms = if e.failure {
                    Some(e.timestamp_ms)
                } else {
                    last.and_then(|p| p.since_ms)
                };
                states.push(State {
                    event: e,
                    since_ms,
                    labels: own,
                });
            }
        }
    }
    let depth = per_service.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    (0..depth)
        .map(|i| {
            per_service
                .iter()
                .filter_map(|(_, s)| s.get(i).cloned())
                .collect()
        })
        .collect()
}

/// Warden's labels for a state, then the state's own (the check's type
/// and groups, and the configured ones, which win).
pub fn labels_of(state: &State<'_>) -> Map<String, Value> {
    let e = state.event;
    let severity = if e.kind == EventKind::ResourceLimit.word() {
        "warning"
    } else {
        "critical"
    };
    let mut out = Map::new();
    out.insert("alertname".into(), ALERTNAME.into());
    out.insert("service".into(), e.service.clone().into());
    out.insert("host".into(), e.host.clone().into());
    out.insert("severity".into(), severity.into());
    for (k, v) in state.labels {
        out.insert(k.clone(), v.clone().into());
    }
    out
}

/// One alert of the posted array.
pub fn body(state: &State<'_>, settings: &Settings, now: SystemTime) -> Value {
    let e = state.event;
    let mut alert = Map::new();
    alert.insert("labels".into(), Value::Object(labels_of(state)));
    alert.insert(
        "annotations".into(),
        json!({
            "summary": format!("{} {} on {}", e.event, e.service, e.host),
            "description": e.description,
            "event": e.event,
            "action": e.action,
        }),
    );
    if let Some(since) = state.since_ms {
        alert.insert("startsAt".into(), rfc3339(since).into());
    }
    let ends = if state.firing() {
        millis(now).saturating_add(LEASE.as_millis() as u64)
    } else {
        e.timestamp_ms
    };
    alert.insert("endsAt".into(), rfc3339(ends).into());
    if let Some(url) = generator_url(settings, &e.service, &e.host) {
        alert.insert("generatorURL".into(), url.into());
    }
    Value::Object(alert)
}

/// RFC 3339 in UTC, as Alertmanager reads times.
pub fn rfc3339(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// The service's page on Warden's web interface (`set httpd port N`): at
/// its `use address`, else at the host's name; None without a port.
pub fn generator_url(settings: &Settings, service: &str, host: &str) -> Option<String> {
    let httpd = settings.httpd.as_ref()?;
    let port = httpd.port.filter(|p| *p != 0)?;
    let scheme = if httpd.ssl.as_ref().is_some_and(|s| s.enabled) {
        "https"
    } else {
        "http"
    };
    let at = httpd.address.as_deref().unwrap_or(host);
    let at = if at.contains(':') && !at.starts_with('[') {
        format!("[{at}]")
    } else {
        at.to_string()
    };
    let mut url = reqwest::Url::parse(&format!("{scheme}://{at}:{port}/")).ok()?;
    url.path_segments_mut().ok()?.push(service);
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::tests::entry;

    fn event(service: &str, failure: bool, at: u64) -> AlertEvent {
        let mut e = entry(service, at).event;
        if !failure {
            e.failure = false;
            e.event = "Exists".into();
            e.kind = "exists".into();
        }
        e
    }

    fn shape(waves: &[Vec<State<'_>>]) -> Vec<Vec<(String, bool, Option<u64>)>> {
        waves
            .iter()
            .map(|w| {
                w.iter()
                    .map(|s| (s.event.service.clone(), s.firing(), s.since_ms))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn each_state_of_a_service_goes_in_its_own_wave_in_order() {
        let (a1, a2, a3) = (
            event("a", true, 1),
            event("a", true, 2),
            event("a", false, 3),
        );
        let (b1, a4) = (event("b", true, 4), event("a", true, 5));
        let (a, b) = (
            [("type".to_string(), "process".to_string())],
            [("type".into(), "host".into())],
        );
        let got = waves(&[&a1, &a2, &a3, &b1, &a4], &[&a, &a, &a, &b, &a]);
        assert_eq!(
            shape(&got),
            [
                vec![("a".into(), true, Some(1)), ("b".into(), true, Some(4))],
                vec![("a".into(), false, Some(1))],
                vec![("a".into(), true, Some(5))],
            ]
        );
        // The repeat folded into the first state speaks of the latest event.
        assert_eq!(got[0][0].event.timestamp_ms, 2);
        // Each service keeps its own labels in a wave of several.
        assert_eq!(labels_of(&got[0][1])["type"], "host");
        assert_eq!(labels_of(&got[0][0])["type"], "process");
    }

    #[test]
    fn a_firing_alert_ends_a_lease_ahead_and_a_resolved_one_at_its_end() {
        let settings = Settings::default();
        let (fail, back) = (event("web", true, 1_000), event("web", false, 61_000));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let labels = [
            ("env".to_string(), "prod".to_string()),
            ("host".into(), "h2".into()),
        ];
        let w = waves(&[&fail, &back], &[&labels, &labels]);
        let firing = body(&w[0][0], &settings, now);
        assert_eq!(firing["startsAt"], "1970-01-01T00:00:01Z");
        assert_eq!(firing["endsAt"], "1970-01-01T00:05:40Z");
        assert_eq!(firing["labels"]["alertname"], ALERTNAME);
        assert_eq!(firing["labels"]["severity"], "critical");
        assert_eq!(firing["labels"]["env"], "prod");
        assert_eq!(firing["labels"]["host"], "h2", "configured labels win");
        assert_eq!(
            firing["annotations"]["description"],
            "process is not running"
        );
        assert!(firing.get("generatorURL").is_none());
        let resolved = body(&w[1][0], &settings, now);
        assert_eq!(resolved["startsAt"], "1970-01-01T00:00:01Z");
        assert_eq!(resolved["endsAt"], "1970-01-01T00:01:01Z");
    }

    #[test]
    fn the_generator_url_is_the_service_page() {
        let mut settings = Settings::default();
        assert_eq!(generator_url(&settings, "web", "box"), None);
        settings.httpd = Some(warden_config::model::Httpd {
            port: Some(2812),
            address: None,
            unixsocket: None,
            ssl: None,
            allow: Vec::new(),
            signature: true,
            read_only: false,
            socket_uid: None,
            socket_gid: None,
            socket_permission: None,
            span: Default::default(),
        });
        assert_eq!(
            generator_url(&settings, "my web", "box").as_deref(),
            Some("http://box:2812/my%20web")
        );
        if let Some(h) = settings.httpd.as_mut() {
            h.address = Some("::1".into());
        }
        assert_eq!(
            generator_url(&settings, "web", "box").as_deref(),
            Some("http://[::1]:2812/web")
        );
    }

    fn recipients(text: &str, service: &str) -> Vec<Recipient> {
        let loaded = warden_config::load_text(std::path::Path::new("rc"), text.to_string());
        let config = loaded.config.unwrap();
        let check = config.checks.iter().find(|c| c.name.value == service);
        ALERTMANAGER.recipients(&config.settings, check)
    }

    #[test]
    fn a_check_takes_the_global_alertmanagers_less_noalert_plus_its_own() {
        let rc = "set daemon 30\n\
            set alertmanager http://a:9093 labels { env: prod }\n\
            set alertmanager http://b:9093\n\
            check process web with pidfile /run/web.pid\n  group www\n  group edge\n\
            \x20 noalert http://b:9093\n\
            \x20 alertmanager http://a:9093 labels { env: staging, team: web }\n\
            \x20 alertmanager http://c:9093\n\
            check process db with pidfile /run/db.pid\n  every 2 s\n";
        let web = recipients(rc, "web");
        let urls: Vec<&str> = web.iter().map(|r| r.sink.address.as_str()).collect();
        assert_eq!(urls, ["http://a:9093", "http://c:9093"]);
        let label = |k: &str| {
            web[0]
                .labels
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(label("type"), Some("process"));
        assert_eq!(label("group"), Some("www,edge"));
        assert_eq!(label("env"), Some("staging"));
        assert_eq!(label("team"), Some("web"));
        assert_eq!(web[0].repost, Some(Duration::from_secs(30)));
        let db = recipients(rc, "db");
        assert_eq!(db.len(), 2);
        assert_eq!(db[0].repost, Some(REPOST_MIN));
    }

    #[test]
    fn actions_are_not_alert_states() {
        assert!(ALERTMANAGER.takes(EventKind::DoesNotExist));
        assert!(ALERTMANAGER.takes(EventKind::Unmonitored));
        assert!(!ALERTMANAGER.takes(EventKind::ActionDone));
        assert!(!ALERTMANAGER.takes(EventKind::Monitored));
        // Alertmanager groups: nothing waits for more to fold in.
        assert_eq!(ALERTMANAGER.quiet(), Duration::ZERO);
    }
}
