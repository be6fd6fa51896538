//! The status page of the TCP interface: `GET /` lists every check (status,
//! type, pid, cpu, memory, uptime, a sparkline of its last hour, a link to
//! its own page `/NAME`) and refreshes itself; users who may act
//! get start/stop/restart/monitor/unmonitor buttons, plain HTML forms that
//! POST to `/action`. CSRF guard: every form carries a random token made at
//! daemon start (a POST without it is refused), and [`same_origin`] refuses
//! any POST whose `Origin` (or `Referer`) names another host. Every string
//! on the page is escaped: check names come from the config.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use warden_engine::history::{HistoryView, Series};
use warden_engine::status::unix_s;
use warden_engine::{ServiceAction, ServiceStatus};

use super::auth::Viewer;
use super::chart;
use super::format::{Uptime, bytes, percent, uptime};
use super::html::{CSS, action_buttons, escape, url_encode};
use super::secret::{random_token, same_secret};
use super::{ControlState, ErrorCode, Scope};

/// Seconds between the page's own reloads.
const REFRESH_S: u32 = 5;

#[derive(Debug, Clone)]
struct Page {
    state: ControlState,
    token: Arc<str>,
    host: Arc<str>,
}

/// `GET /` and `POST /action`, with a token made now.
pub fn router(state: ControlState) -> Router {
    let host = warden_probes::program_env::hostname();
    let page = Page {
        state,
        token: random_token().into(),
        host: host.into(),
    };
    Router::new()
        .route("/", get(index_page))
        .route("/action", post(act))
        .with_state(page)
}

/// What the page says after an action (`/?action=restart&service=web&result=done`).
#[derive(Debug, Default, Deserialize)]
struct Flash {
    action: Option<String>,
    service: Option<String>,
    result: Option<String>,
}

async fn index_page(
    State(page): State<Page>,
    viewer: Option<Extension<Viewer>>,
    Query(flash): Query<Flash>,
) -> Response {
    // Without the auth layer nobody is known: show, never offer to act.
    let can_act = viewer.is_some_and(|v| !v.read_only);
    let checks = page.state.status();
    let histories = page.state.board().histories();
    let html = render(&page, &checks, &histories, can_act, &flash);
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    service: String,
    action: String,
    /// Missing is refused like wrong (403), not as a malformed form.
    #[serde(default)]
    csrf: String,
}

async fn act(State(page): State<Page>, Form(form): Form<ActionForm>) -> Response {
    if !same_secret(&form.csrf, &page.token) {
        tracing::warn!(
            "web interface: refused an action on '{}' without a valid CSRF token",
            form.service
        );
        return (
            StatusCode::FORBIDDEN,
            "forbidden: stale or missing form token; reload the page\n",
        )
            .into_response();
    }
    let Some(action) = ServiceAction::parse(&form.action) else {
        return (StatusCode::BAD_REQUEST, "unknown action\n").into_response();
    };
    let result = match page
        .state
        .act(action, Scope::Service(form.service.clone()))
        .await
    {
        Ok(r) if !r.failed.is_empty() => "failed",
        Ok(r) if !r.refused.is_empty() => "refused",
        Ok(_) => "done",
        Err(e) if e.code == ErrorCode::Passive => "refused",
        Err(_) => "error",
    };
    tracing::info!(
        "web interface: {} '{}': {result}",
        action.word(),
        form.service
    );
    let query = format!(
        "/?action={}&service={}&result={result}",
        action.word(),
        url_encode(&form.service)
    );
    Redirect::to(&query).into_response()
}

/// Refuses a request that acts when the browser says it comes from a page
/// of another site (`Origin`, else `Referer`, against `Host`). Programs
/// such as the CLI send neither and pass.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) || is_same_origin(req.headers()) {
        return next.run(req).await;
    }
    tracing::warn!(
        "web interface: refused {} {} from another site's page",
        req.method(),
        req.uri().path()
    );
    (StatusCode::FORBIDDEN, "forbidden: cross-site request\n").into_response()
}

fn is_same_origin(headers: &HeaderMap) -> bool {
    let text = |h| headers.get(h).and_then(|v| v.to_str().ok());
    let Some(from) = text(header::ORIGIN).or_else(|| text(header::REFERER)) else {
        return true;
    };
    let Some(host) = text(header::HOST) else {
        return false;
    };
    // scheme://host[:port][/path]: compare the authority only.
    let authority = from
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    authority.eq_ignore_ascii_case(host)
}

fn render(
    page: &Page,
    checks: &[ServiceStatus],
    histories: &[HistoryView],
    can_act: bool,
    flash: &Flash,
) -> String {
    let mut h = String::with_capacity(4096 + checks.len() * 600);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_S}; url=/\">\
         <title>Warden on {host}</title><style>{CSS}</style></head><body>\
         <h1>Warden on {host}</h1><p class=\"meta\">{n} services; this page reloads every {REFRESH_S} s</p>",
        host = escape(&page.host),
        n = checks.len(),
    );
    flash_line(&mut h, flash);
    h.push_str(
        "<table id=\"services\"><thead><tr><th>Service</th><th>Type</th><th>Status</th>\
         <th>Monitoring</th><th>PID</th><th>CPU</th><th>Memory</th><th>Uptime</th><th>Figures</th><th>Last hour</th>",
    );
    h.push_str(if can_act {
        "<th>Actions</th></tr></thead><tbody>"
    } else {
        "</tr></thead><tbody>"
    });
    let now = unix_s(std::time::SystemTime::now());
    for s in checks {
        // Read apart from the statuses: a reload in between may reorder.
        let history = histories.iter().find(|v| v.name == s.name);
        row(&mut h, s, history, now, can_act.then_some(&*page.token));
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></body></html>\n");
    h
}

fn flash_line(h: &mut String, flash: &Flash) {
    let (Some(action), Some(service), Some(result)) =
        (&flash.action, &flash.service, &flash.result)
    else {
        return;
    };
    let Some(action) = ServiceAction::parse(action) else {
        return;
    };
    let (class, words) = match result.as_str() {
        "done" => ("flash", "done"),
        "failed" => ("flash bad", "failed"),
        "refused" => ("flash bad", "refused (passive mode)"),
        _ => ("flash bad", "not done (see the log)"),
    };
    let _ = write!(
        h,
        "<p class=\"{class}\" id=\"flash\">{} '{}': {words}</p>",
        action.word(),
        escape(service)
    );
}

fn row(
    h: &mut String,
    s: &ServiceStatus,
    history: Option<&HistoryView>,
    now: u64,
    token: Option<&str>,
) {
    let class = match (s.ok, s.monitoring) {
        (_, warden_engine::status::MonitoringStatus::NotMonitored) => "idle",
        (true, _) => "ok",
        (false, _) => "fail",
    };
    let name = escape(&s.name);
    let _ = write!(
        h,
        "<tr data-service=\"{name}\"><td><a href=\"/{}\">{name}</a></td><td>{}</td>\
         <td class=\"{class}\">{}<div class=\"reason\">{}</div></td><td>{}</td>\
         <td class=\"num pid\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        escape(&url_encode(&s.name)),
        escape(s.kind.monit_name()),
        escape(&s.status),
        escape(s.reason.as_deref().unwrap_or("")),
        s.monitoring.words(),
        s.pid.map_or("-".into(), |p| p.to_string()),
        s.cpu_percent.map_or("-".into(), percent),
        s.memory_bytes.map_or("-".into(), |b| bytes(b as f64)),
        s.uptime_s
            .map_or("-".into(), |t| uptime(t, Uptime::Seconds)),
    );
    figures_cell(h, s);
    h.push_str("<td>");
    if let Some(view) = history {
        chart::sparkline(h, view, now);
    }
    h.push_str("</td>");
    if let Some(token) = token {
        let _ = write!(
            h,
            "<td><form method=\"post\" action=\"/action\">\
             <input type=\"hidden\" name=\"service\" value=\"{name}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            escape(token)
        );
        action_buttons(h);
        h.push_str("</form></td>");
    }
}

/// The type's own figures (a filesystem's space and inodes used, the
/// system's load, a host's response time), so that a row that has no pid,
/// CPU or memory still says how the check is doing.
fn figures_cell(h: &mut String, s: &ServiceStatus) {
    h.push_str("<td class=\"figures\">");
    let mut first = true;
    for &series in Series::of(s.kind, !s.tests.is_empty()) {
        // Not twice what a column of its own shows.
        let in_column = match series {
            Series::Cpu => s.cpu_percent.is_some(),
            Series::Memory => s.memory_bytes.is_some(),
            _ => false,
        };
        if in_column {
            continue;
        }
        let value = match series {
            Series::ResponseTime => s.response_time_ms,
            _ => s.metric(series.metric()),
        };
        let Some(value) = value else { continue };
        if !first {
            h.push_str("<br>");
        }
        first = false;
        let _ = write!(
            h,
            "{} {}",
            series.title().to_lowercase(),
            escape(&chart::value_text(series.unit(), value))
        );
    }
    h.push_str("</td>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_uptimes_read_like_monit() {
        let table = [
            (bytes(512.0), "512 B"),
            (bytes(1_572_864.0), "1.5 MB"),
            (uptime(42, Uptime::Seconds), "42s"),
        ];
        for (got, want) in table {
            assert_eq!(got, want);
        }
        assert_eq!(uptime(93_784, Uptime::Seconds), "1d 2h 3m");
        assert_eq!(uptime(3_660, Uptime::Seconds), "1h 1m");
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_pages_of_the_same_host_may_post() {
        let table = [
            (headers(&[(header::HOST, "127.0.0.1:2812")]), true),
            (
                headers(&[
                    (header::HOST, "127.0.0.1:2812"),
                    (header::ORIGIN, "http://127.0.0.1:2812"),
                ]),
                true,
            ),
            (
                headers(&[
                    (header::HOST, "127.0.0.1:2812"),
                    (header::ORIGIN, "https://evil.example"),
                ]),
                false,
            ),
            (
                headers(&[
                    (header::HOST, "127.0.0.1:2812"),
                    (header::REFERER, "http://127.0.0.1:2812/x"),
                ]),
                true,
            ),
            (
                headers(&[
                    (header::HOST, "127.0.0.1:2812"),
                    (header::REFERER, "http://127.0.0.1:9/"),
                ]),
                false,
            ),
            (headers(&[(header::ORIGIN, "null")]), false),
        ];
        for (h, want) in table {
            assert_eq!(is_same_origin(&h), want, "{h:?}");
        }
    }
}
