//! Monit's per-service page, `GET /NAME`: every line `warden status` shows
//! for the service (Monit's, then Warden's own), and for users who may act, Monit's action buttons (a
//! form that POSTs `action=...` with the page's CSRF token to `/NAME`),
//! with its last hour as charts above and its event timeline below (`chart`).
//! Every string is HTML-escaped: service names come from the config.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, extract::Request};
use warden_engine::ServiceStatus;

use super::super::auth::Viewer;
use super::super::figures::html_table;
use super::super::html::{CSS, action_buttons, escape, url_encode};
use super::{ControlState, PageToken, Params, error_page, run_action};

/// A page of Warden's look with `title` and `body` (already escaped).
pub fn html(title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title><style>{CSS}</style></head><body>\
         <p class=\"meta\"><a href=\"/\">All services</a></p><h1>{title}</h1>{body}</body></html>\n",
        title = escape(title),
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

fn find(state: &ControlState, name: &str) -> Option<ServiceStatus> {
    state.status().into_iter().find(|s| s.name == name)
}

pub async fn service_page(
    State(state): State<ControlState>,
    Path(name): Path<String>,
    viewer: Option<Extension<Viewer>>,
    token: Option<Extension<PageToken>>,
) -> Response {
    let Some(service) = find(&state, &name) else {
        return error_page(
            StatusCode::NOT_FOUND,
            &format!("There is no service named \"{name}\""),
        );
    };
    // Without the auth layer (the Unix socket) nobody is known: show only.
    let can_act = viewer.is_some_and(|v| !v.read_only);
    let token = token.map(|t| t.0.0);
    let history = state.board().history(&service.name);
    let now = warden_engine::status::unix_s(std::time::SystemTime::now());
    let mut body = String::new();
    if let Some(view) = &history {
        super::super::chart::charts(&mut body, view, now);
    }
    body.push_str(&html_table(&service));
    if let (true, Some(token)) = (can_act, token) {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/{}\" id=\"actions\">\
             <input type=\"hidden\" name=\"securitytoken\" value=\"{}\">",
            escape(&url_encode(&service.name)),
            escape(&token)
        );
        action_buttons(&mut body);
        body.push_str("</form>");
    }
    if let Some(view) = &history {
        super::super::chart::timeline(&mut body, view);
    }
    let title = format!("{} '{}'", service.kind, service.name);
    html(&title, &body)
}

pub async fn act(
    State(state): State<ControlState>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    let params = match <Params as axum::extract::FromRequest<()>>::from_request(req, &()).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    if !params.csrf_ok() {
        return super::csrf_refused();
    }
    let action = params.get("action").unwrap_or("");
    let res = run_action(&state, action, std::slice::from_ref(&name)).await;
    if !res.status().is_success() {
        return res;
    }
    // Back to the page, which shows the state the action left.
    Redirect::to(&format!("/{}", url_encode(&name))).into_response()
}
