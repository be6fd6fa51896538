//! Monit's own HTTP protocol, beside Warden's API on the same listeners, so
//! that Monit's clients (the `monit` CLI, Nagios plugins, Telegraf, Netdata,
//! Ansible, M/Monit) talk to Warden as they talk to Monit 5.33:
//!
//! | request | answer |
//! | --- | --- |
//! | `GET`/`POST /_status` (`format=xml\|text`, `level`, `service`, `group`) | the XML document ([`xml`]) or `monit status` text |
//! | `GET`/`POST /_summary`, `/_report` (`type=up\|down\|...`) | `monit summary` / `monit report` text |
//! | `POST /_doaction` (`action`, one or more `service`) | empty on success; Monit's HTML error page otherwise |
//! | `GET /_runtime`, `GET /_viewlog` | the daemon's settings; the log file |
//! | `GET /NAME`, `POST /NAME` (`action`) | one service's page with its action buttons ([`page`]) |
//!
//! Parameters come from the query and, for a POST, the form body, as Monit
//! reads them. Every POST must carry Monit's double-submit CSRF token: a
//! `securitytoken` cookie equal to the `securitytoken` form field (the CLI
//! makes its own pair; pages get theirs in a cookie set on every answer).

pub mod page;
pub mod xml;

use std::fmt::Write as _;
use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use warden_config::model::LogTarget;
use warden_engine::{ServiceAction, ServiceStatus};

use super::html::escape;
use super::secret::{random_token, same_secret};
use super::{ApiError, ControlState, ErrorCode, MONIT_VERSION, Scope, render};

/// The biggest form body read (a `restart all` names every service).
const FORM_LIMIT: usize = 1 << 20;

/// Monit's routes on `state`; merge them after Warden's own (the per-service
/// page `/{name}` matches any other single segment).
pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/_status", get(status).post(status))
        .route("/_summary", get(summary).post(summary))
        .route("/_report", get(report).post(report))
        .route("/_doaction", post(doaction))
        .route("/_runtime", get(runtime))
        .route("/_viewlog", get(viewlog))
        .route("/{name}", get(page::service_page).post(page::act))
        .layer(axum::middleware::from_fn(security_token))
        .with_state(state)
}

/// The request's parameters, query first, then the form body of a POST,
/// in order (a name may come several times: `service=a&service=b`).
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// The `securitytoken` cookie, when sent.
    cookie_token: Option<String>,
    post: bool,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A POST passes when its cookie and its form field carry the same
    /// token; other methods change nothing and always pass.
    pub fn csrf_ok(&self) -> bool {
        if !self.post {
            return true;
        }
        match (self.cookie_token.as_deref(), self.get("securitytoken")) {
            (Some(cookie), Some(field)) => !cookie.is_empty() && same_secret(cookie, field),
            _ => false,
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let post = req.method() == Method::POST;
        let cookie_token = cookie(req.headers(), "securitytoken");
        let mut pairs = req
            .uri()
            .query()
            .map(parse_form)
            .transpose()
            .map_err(|_| bad_parameters())?
            .unwrap_or_default();
        if post {
            let bytes = axum::body::to_bytes(req.into_body(), FORM_LIMIT)
                .await
                .map_err(|_| bad_parameters())?;
            let text = std::str::from_utf8(&bytes).map_err(|_| bad_parameters())?;
            pairs.extend(parse_form(text).map_err(|_| bad_parameters())?);
        }
        Ok(Params {
            pairs,
            cookie_token,
            post,
        })
    }
}

fn parse_form(text: &str) -> Result<Vec<(String, String)>, serde_urlencoded::de::Error> {
    serde_urlencoded::from_str(text)
}

fn bad_parameters() -> Response {
    error_page(StatusCode::BAD_REQUEST, "Cannot parse Request parameters")
}

/// The value of one cookie of the `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Gives every answer a fresh token cookie (pages put the same token in
/// their forms; handlers check a POST's pair through [`Params`]), with
/// Monit's framing headers.
async fn security_token(mut req: Request, next: Next) -> Response {
    let token = random_token();
    req.extensions_mut().insert(PageToken(token.clone()));
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "securitytoken={token}; Max-Age=600; HttpOnly; SameSite=strict"
    )) {
        headers.append(header::SET_COOKIE, v);
    }
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'self'"),
    );
    name_the_server(res).await
}

/// Monit's answers say `Server: monit 5.33.0`; Warden's say who answers,
/// on every listener and route (the TCP interface adds it to all).
pub async fn name_the_server(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::SERVER,
        HeaderValue::from_static(concat!(
            "warden ",
            env!("CARGO_PKG_VERSION"),
            " (Monit 5.33.0 protocol)"
        )),
    );
    res
}

/// The token this answer's cookie carries, for the forms of a page.
#[derive(Debug, Clone)]
pub struct PageToken(pub String);

/// Monit's error page: the CLI prints the words between `</h2>` and `<hr>`.
pub fn error_page(status: StatusCode, words: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<html><head><title>{code} {reason}</title></head><body bgcolor=#FFFFFF>\
         <h2>{reason}</h2>{words}<hr><a href='https://github.com/'><font size=-1>warden {version}</font></a></body></html>",
        code = status.as_u16(),
        words = text_escape(words),
        version = env!("CARGO_PKG_VERSION"),
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        Body::from(body),
    )
        .into_response()
}

/// Markup escaped, quotes kept: the CLI prints the words as they are.
fn text_escape(words: &str) -> String {
    words
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

fn csrf_refused() -> Response {
    error_page(StatusCode::FORBIDDEN, "Invalid CSRF Token")
}

/// The services `service=` and `group=` select (all when neither is given);
/// Err is the name it does not know.
fn select<'a>(state: &ControlState, params: &'a Params) -> Result<Vec<ServiceStatus>, &'a str> {
    let mut all = state.status();
    if let Some(group) = params.get("group") {
        all.retain(|s| s.groups.iter().any(|g| g == group));
    }
    match params.get("service") {
        None => Ok(all),
        Some(name) => match all.into_iter().find(|s| s.name == name) {
            Some(s) => Ok(vec![s]),
            None => Err(name),
        },
    }
}

fn not_found(name: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        &format!("Service '{name}' not found"),
    )
}

async fn status(State(state): State<ControlState>, params: Params) -> Response {
    if !params.csrf_ok() {
        return csrf_refused();
    }
    let format = params.get("format").unwrap_or("html");
    if format.eq_ignore_ascii_case("xml") {
        // On the blocking pool: at 10,000 checks a document is ~10 MB and
        // a tenth of a second of work, which on an async worker held up
        // the checks it would have run (a poller reading it every 0.1 s
        // took half of one).
        let made = tokio::task::spawn_blocking(move || {
            let statuses = state.status();
            xml::document(&xml::Server::of(&state), &statuses)
        })
        .await;
        return match made {
            Ok(body) => ([(header::CONTENT_TYPE, "text/xml")], body).into_response(),
            Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        };
    }
    let selected = match select(&state, &params) {
        Ok(s) => s,
        Err(name) => return not_found(name),
    };
    let summary = params
        .get("level")
        .is_some_and(|l| l.eq_ignore_ascii_case("summary"));
    let up = state.uptime_s();
    let body = if summary {
        render::render_monit_summary(up, &selected, false)
    } else {
        render::render_monit_status(up, &selected, false)
    };
    text(body)
}

async fn summary(State(state): State<ControlState>, params: Params) -> Response {
    if !params.csrf_ok() {
        return csrf_refused();
    }
    match select(&state, &params) {
        Ok(selected) => text(render::render_monit_summary(
            state.uptime_s(),
            &selected,
            false,
        )),
        Err(name) => not_found(name),
    }
}

async fn report(State(state): State<ControlState>, params: Params) -> Response {
    if !params.csrf_ok() {
        return csrf_refused();
    }
    let statuses = state.status();
    match params.get("type") {
        None => text(render::render_report(&statuses)),
        Some(what) => match render::report_count(&statuses, what) {
            Some(n) => text(format!("{n}\n")),
            None => error_page(
                StatusCode::BAD_REQUEST,
                &format!("Invalid report type: '{what}'"),
            ),
        },
    }
}

/// Carries out `action` on the named services and answers as Monit does:
/// an empty 200 when done, its error page (which the CLI prints) when not.
pub async fn run_action(state: &ControlState, action: &str, names: &[String]) -> Response {
    let Some(action) = ServiceAction::parse(action) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("Invalid action \"{action}\""),
        );
    };
    if names.is_empty() {
        return error_page(StatusCode::BAD_REQUEST, "No service was given");
    }
    let known = state.status();
    // Monit always has a system service named after the host; `monit
    // restart all` names it though Warden has none unless configured.
    let implicit = warden_probes::program_env::hostname();
    let mut wanted = Vec::new();
    for name in names {
        if known.iter().any(|s| &s.name == name) {
            wanted.push(name.clone());
        } else if *name != implicit {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!("There is no service named \"{name}\""),
            );
        }
    }
    let mut failed = Vec::new();
    let mut refused = Vec::new();
    let many = wanted.len() > 1;
    for name in wanted {
        match state.act(action, Scope::Service(name.clone())).await {
            Ok(r) => {
                failed.extend(r.failed);
                refused.extend(r.refused);
            }
            Err(e) if e.code == ErrorCode::Passive && many => refused.push(name),
            Err(e) => return api_error(&e),
        }
    }
    for name in &refused {
        tracing::info!(
            "monit protocol: '{name}' is in passive mode: not {}ed",
            action.word()
        );
    }
    if !failed.is_empty() {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("{} failed for {}", action.word(), failed.join(", ")),
        );
    }
    if !many && !refused.is_empty() {
        return error_page(
            StatusCode::CONFLICT,
            &format!(
                "'{}' is in passive mode: Warden does not {} it",
                refused.join(", "),
                action.word()
            ),
        );
    }
    text(String::new())
}

fn api_error(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_page(status, &e.error)
}

async fn doaction(State(state): State<ControlState>, params: Params) -> Response {
    if !params.csrf_ok() {
        return csrf_refused();
    }
    let names: Vec<String> = params.all("service").map(str::to_string).collect();
    run_action(&state, params.get("action").unwrap_or(""), &names).await
}

/// The daemon's settings, as Monit's runtime page lists them.
async fn runtime(State(state): State<ControlState>) -> Response {
    let config = state.board().config();
    let s = &config.settings;
    let path = |p: &Option<PathBuf>| {
        p.as_ref()
            .map_or("-".to_string(), |p| p.display().to_string())
    };
    let log = match &s.log {
        Some(LogTarget::File(p)) => p.display().to_string(),
        Some(LogTarget::Syslog(_)) => "syslog".to_string(),
        None => "-".to_string(),
    };
    let rows = [
        ("Process id", std::process::id().to_string()),
        ("Version", format!("Warden {}", env!("CARGO_PKG_VERSION"))),
        ("Protocol", format!("Monit {MONIT_VERSION}")),
        (
            "Control file",
            state
                .control_file()
                .map_or("-".into(), |p| p.display().to_string()),
        ),
        ("Log file", log),
        ("Pid file", path(&s.pidfile)),
        ("Id file", path(&s.idfile)),
        ("State file", path(&s.statefile)),
        ("Poll time", format!("{} seconds", s.cycle.as_secs())),
        (
            "Start delay",
            format!("{} seconds", s.start_delay.as_secs()),
        ),
        ("Services", config.checks.len().to_string()),
    ];
    let mut h = String::new();
    for (label, value) in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(label),
            escape(&value)
        );
    }
    page::html("Runtime", &format!("<table id=\"runtime\">{h}</table>"))
}

/// The log file, when `set log` names one (Monit's "View log").
async fn viewlog(State(state): State<ControlState>) -> Response {
    let config = state.board().config();
    let Some(LogTarget::File(path)) = &config.settings.log else {
        return error_page(
            StatusCode::NOT_FOUND,
            "No log file is set (set log FILE); nothing to view",
        );
    };
    match tokio::fs::read(path).await {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            page::html("Log", &format!("<pre id=\"log\">{}</pre>", escape(&text)))
        }
        Err(e) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Cannot read the log file {}: {e}", path.display()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)], cookie: Option<&str>, post: bool) -> Params {
        Params {
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cookie_token: cookie.map(str::to_string),
            post,
        }
    }

    #[test]
    fn a_post_needs_the_cookie_and_the_field_to_carry_the_same_token() {
        let table = [
            (params(&[("securitytoken", "ab")], Some("ab"), true), true),
            (params(&[("securitytoken", "ab")], Some("ac"), true), false),
            (params(&[("securitytoken", "ab")], None, true), false),
            (params(&[], Some("ab"), true), false),
            (params(&[("securitytoken", "")], Some(""), true), false),
            (params(&[], None, false), true),
        ];
        for (p, want) in table {
            assert_eq!(p.csrf_ok(), want, "{p:?}");
        }
    }

    #[test]
    fn a_name_may_come_several_times() {
        let p = params(
            &[("service", "a"), ("action", "x"), ("service", "b")],
            None,
            true,
        );
        assert_eq!(p.all("service").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(p.get("action"), Some("x"));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; securitytoken=xyz; b=2"),
        );
        assert_eq!(cookie(&h, "securitytoken").as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "missing"), None);
    }
}
