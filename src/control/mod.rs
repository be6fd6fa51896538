//! The control interface: what a person or a program may ask the running
//! daemon, whichever way they reach it.
//!
//! Contract (shared with the TCP side: `tcp.rs`, `web.rs`, `metrics.rs`):
//! - [`ControlState`] is cheap to clone and is all a request handler needs:
//!   `status()` (every check's [`ServiceStatus`], config order, always the
//!   running engine's, also across reloads), `resolve(&Scope)` (names for a
//!   service, `all` or a group; 404 errors), `act(ServiceAction, Scope)`
//!   (the engine's one list of actions; waits until the checks answered;
//!   passive checks refuse start/stop/restart), `reload()`, `quit()`,
//!   `validate()` (evaluate every check now).
//! - [`api_router`] serves the JSON API under `/api/v1` (see `api.rs`);
//!   the TCP listener merges its own routes with it on the same state.
//! - Errors are [`ApiError`]: an HTTP status and `{"error": words, "code":
//!   "unknown_service" | "unknown_group" | "passive" | "reload_failed" |
//!   "daemon_stopping" | "bad_request"}`.
//! - The daemon owns the other end: [`Request`]s arrive in its select loop
//!   (see `daemon.rs`), so reload and quit take the same path as signals.
//!
//! Layers, each importing only those below it: `format` (one function per
//! figure), `html` and `secret` at the bottom; `figures` (a service's
//! lines) and `chart` (its history as SVG), then `render` (the text answers); `auth` (who may do what);
//! then the routes: `api`, `web` (Warden's page), `monit` (Monit's
//! protocol and pages), `metrics`; `server` and `tcp` serve them, and
//! `mmonit` posts `monit`'s documents to M/Monit.

pub mod api;
pub mod auth;
pub mod chart;
pub mod client;
pub mod figures;
pub mod format;
pub mod html;
pub mod metrics;
pub mod mmonit;
pub mod monit;
pub mod render;
pub mod secret;
pub mod server;
pub mod tcp;
pub mod tls;
pub mod web;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use warden_config::model::Mode;
use warden_engine::history::HistoryView;
use warden_engine::status::unix_s;
use warden_engine::{ServiceAction, ServiceStatus, StatusBoard};

pub use api::api_router;

/// The Monit release whose protocol, documents and command line Warden
/// speaks.
pub const MONIT_VERSION: &str = "5.33.0";

/// Which checks a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One check by name; the name `all` means every check.
    Service(String),
    Group(String),
}

/// What an action did, check by check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActReport {
    /// Checks that did it.
    pub done: Vec<String>,
    /// Checks that tried and failed (a start program failed, a timeout).
    pub failed: Vec<String>,
    /// Passive checks, skipped (start, stop and restart only).
    pub refused: Vec<String>,
}

/// A request to the daemon's loop.
#[derive(Debug)]
pub enum Request {
    Act {
        action: ServiceAction,
        names: Vec<String>,
        reply: oneshot::Sender<ActReport>,
    },
    /// Reload the control file; `Err` holds why it was not taken.
    Reload(oneshot::Sender<Result<(), ReloadError>>),
    /// Stop the daemon (services keep running); answered before it stops.
    Quit(oneshot::Sender<()>),
    /// Evaluate every check now; answers how many.
    Validate(oneshot::Sender<usize>),
}

/// The stable code of an API error, serialised as the README's
/// snake_case words (`unknown_service`, ...); clients match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    UnknownService,
    UnknownGroup,
    /// A passive check was asked to start, stop or restart.
    Passive,
    ReloadFailed,
    DaemonStopping,
    BadRequest,
}

impl ErrorCode {
    /// The HTTP status each code is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::UnknownService | ErrorCode::UnknownGroup => StatusCode::NOT_FOUND,
            ErrorCode::Passive => StatusCode::CONFLICT,
            ErrorCode::ReloadFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::DaemonStopping => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        }
    }

    /// No service or group has that name.
    pub fn is_unknown(self) -> bool {
        matches!(self, ErrorCode::UnknownService | ErrorCode::UnknownGroup)
    }
}

/// Why a reload was not taken (the old configuration runs on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReloadError {
    #[error("the control file has errors; keeping the running configuration")]
    ConfigErrors,
}

/// An error for an API client: an HTTP status, a stable code and words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    #[serde(skip, default = "internal")]
    pub status: u16,
    pub code: ErrorCode,
    pub error: String,
}

fn internal() -> u16 {
    500
}

impl ApiError {
    /// An error with the code's HTTP status.
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        ApiError {
            status: code.status().as_u16(),
            code,
            error: error.into(),
        }
    }

    fn stopping() -> Self {
        ApiError::new(ErrorCode::DaemonStopping, "the daemon is stopping")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

/// What the daemon knows of itself, for Monit's documents.
#[derive(Debug, Clone, Default)]
pub struct DaemonInfo {
    /// The control file it runs on.
    pub control_file: Option<PathBuf>,
    /// Monit's unique id of this installation (`set idfile`).
    pub monit_id: String,
    /// The control socket.
    pub socket: Option<PathBuf>,
}

/// Everything a request handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct ControlState {
    board: watch::Receiver<StatusBoard>,
    requests: mpsc::Sender<Request>,
    started: SystemTime,
    info: Arc<DaemonInfo>,
}

impl ControlState {
    /// `board` follows the running engine's status board (the daemon sends
    /// a new one on reload); `requests` goes to the daemon's loop.
    pub fn new(board: watch::Receiver<StatusBoard>, requests: mpsc::Sender<Request>) -> Self {
        ControlState {
            board,
            requests,
            started: SystemTime::now(),
            info: Arc::default(),
        }
    }

    /// The same state, knowing what the daemon knows of itself.
    pub fn with_info(mut self, info: DaemonInfo) -> Self {
        self.info = Arc::new(info);
        self
    }

    pub fn control_file(&self) -> Option<&Path> {
        self.info.control_file.as_deref()
    }

    pub fn monit_id(&self) -> &str {
        &self.info.monit_id
    }

    pub fn socket_path(&self) -> Option<&Path> {
        self.info.socket.as_deref()
    }

    /// Every check's status, in config order.
    pub fn status(&self) -> Vec<ServiceStatus> {
        self.board.borrow().snapshot()
    }

    /// One check's recent samples and events; 404 for an unknown name.
    pub fn history(&self, name: &str) -> Result<HistoryView, ApiError> {
        self.board.borrow().history(name).ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownService,
                format!("there is no service named '{name}'"),
            )
        })
    }

    /// The running engine's status board.
    pub fn board(&self) -> StatusBoard {
        self.board.borrow().clone()
    }

    /// Follows the running engine's board: it changes on every reload.
    pub fn board_watch(&self) -> watch::Receiver<StatusBoard> {
        self.board.clone()
    }

    /// When this daemon started (for Warden's own uptime).
    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// How long this daemon has run, in whole seconds as Monit counts
    /// them (now's second less the start's), for Monit's headline and XML.
    pub fn uptime_s(&self) -> u64 {
        unix_s(SystemTime::now()).saturating_sub(unix_s(self.started))
    }

    /// The checks a target names, in config order; 404 when none.
    pub fn resolve(&self, target: &Scope) -> Result<Vec<ServiceStatus>, ApiError> {
        let all = self.status();
        match target {
            Scope::Service(name) if name == "all" => Ok(all),
            Scope::Service(name) => all
                .into_iter()
                .find(|s| &s.name == name)
                .map(|s| vec![s])
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::UnknownService,
                        format!("there is no service named '{name}'"),
                    )
                }),
            Scope::Group(group) => {
                let found: Vec<_> = all
                    .into_iter()
                    .filter(|s| s.groups.iter().any(|g| g == group))
                    .collect();
                if found.is_empty() {
                    Err(ApiError::new(
                        ErrorCode::UnknownGroup,
                        format!("there is no group named '{group}'"),
                    ))
                } else {
                    Ok(found)
                }
            }
        }
    }

    /// Runs an action on the target's checks and waits for their answers.
    /// A single passive check asked to start, stop or restart is a 409;
    /// within `all` or a group, passive checks are skipped as `refused`.
    pub async fn act(&self, action: ServiceAction, target: Scope) -> Result<ActReport, ApiError> {
        let checks = self.resolve(&target)?;
        let (passive, names): (Vec<_>, Vec<_>) = checks
            .into_iter()
            .partition(|s| action.touches_service() && s.mode == Mode::Passive);
        let refused: Vec<String> = passive.into_iter().map(|s| s.name).collect();
        if let (Scope::Service(name), false) = (&target, refused.is_empty())
            && name != "all"
        {
            return Err(ApiError::new(
                ErrorCode::Passive,
                format!(
                    "'{name}' is in passive mode: Warden does not {} it",
                    action.word()
                ),
            ));
        }
        let names = names.into_iter().map(|s| s.name).collect();
        let (reply, answer) = oneshot::channel();
        self.send(Request::Act {
            action,
            names,
            reply,
        })
        .await?;
        let mut report = answer.await.map_err(|_| ApiError::stopping())?;
        report.refused = refused;
        Ok(report)
    }

    /// Reloads the control file; 422 when it has errors (the old one runs on).
    pub async fn reload(&self) -> Result<(), ApiError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Reload(reply)).await?;
        match answer.await.map_err(|_| ApiError::stopping())? {
            Ok(()) => Ok(()),
            Err(why) => Err(ApiError::new(ErrorCode::ReloadFailed, why.to_string())),
        }
    }

    /// Stops the daemon; the services keep running.
    pub async fn quit(&self) -> Result<(), ApiError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Quit(reply)).await?;
        answer.await.map_err(|_| ApiError::stopping())
    }

    /// Evaluates every monitored check now; answers how many checks there are.
    pub async fn validate(&self) -> Result<usize, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Validate(reply)).await?;
        answer.await.map_err(|_| ApiError::stopping())
    }

    async fn send(&self, request: Request) -> Result<(), ApiError> {
        self.requests
            .send(request)
            .await
            .map_err(|_| ApiError::stopping())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_the_readme_words_and_choose_the_http_status() {
        let table = [
            (ErrorCode::UnknownService, "unknown_service", 404),
            (ErrorCode::UnknownGroup, "unknown_group", 404),
            (ErrorCode::Passive, "passive", 409),
            (ErrorCode::ReloadFailed, "reload_failed", 422),
            (ErrorCode::DaemonStopping, "daemon_stopping", 503),
            (ErrorCode::BadRequest, "bad_request", 400),
        ];
        for (code, word, status) in table {
            let e = ApiError::new(code, "words");
            let json = serde_json::to_value(&e).unwrap();
            assert_eq!(json, serde_json::json!({"code": word, "error": "words"}));
            assert_eq!(e.status, status, "{word}");
            let back: ApiError = serde_json::from_value(json).unwrap();
            assert_eq!(back.code, code);
        }
    }
}
