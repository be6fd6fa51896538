//! The JSON API under `/api/v1`, on whatever listener serves it:
//!
//! | method and path | answer |
//! | --- | --- |
//! | `GET /api/v1/status` | `[ServiceStatus]`, config order |
//! | `GET /api/v1/status/{name}` | `ServiceStatus`; 404 `unknown_service` |
//! | `GET /api/v1/status/{name}/history` | `HistoryView`: recent samples and events; 404 `unknown_service` |
//! | `POST /api/v1/services/{name}/{action}` | `ActReport`; `name` may be `all` |
//! | `POST /api/v1/groups/{group}/{action}` | `ActReport`; 404 `unknown_group` |
//! | `POST /api/v1/reload` | `{"reloaded": true}`; 422 `reload_failed` |
//! | `POST /api/v1/quit` | `{"quitting": true}` |
//! | `POST /api/v1/validate` | `{"checks": N}`: every check evaluated now |
//!
//! `action` is a `ServiceAction` word (`start`, `stop`, `restart`,
//! `monitor`, `unmonitor`); a passive check refuses the first three (409
//! `passive`).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use warden_engine::history::HistoryView;
use warden_engine::{ServiceAction, ServiceStatus};

use super::{ActReport, ApiError, ControlState, ErrorCode, Scope};

/// The API's routes with their state; merge it with other routers freely.
pub fn api_router(state: ControlState) -> Router {
    Router::new()
        .route("/api/v1/status", get(all_status))
        .route("/api/v1/status/{name}", get(one_status))
        .route("/api/v1/status/{name}/history", get(history))
        .route("/api/v1/services/{name}/{action}", post(act_service))
        .route("/api/v1/groups/{group}/{action}", post(act_group))
        .route("/api/v1/reload", post(reload))
        .route("/api/v1/quit", post(quit))
        .route("/api/v1/validate", post(validate))
        .with_state(state)
}

async fn all_status(State(state): State<ControlState>) -> Json<Vec<ServiceStatus>> {
    Json(state.status())
}

async fn one_status(
    State(state): State<ControlState>,
    Path(name): Path<String>,
) -> Result<Json<ServiceStatus>, ApiError> {
    let mut found = state.resolve(&Scope::Service(name))?;
    match found.len() {
        1 => Ok(Json(found.remove(0))),
        // `all` is not a service here: use /api/v1/status.
        _ => Err(ApiError::new(
            ErrorCode::UnknownService,
            "there is no service named 'all'",
        )),
    }
}

async fn history(
    State(state): State<ControlState>,
    Path(name): Path<String>,
) -> Result<Json<HistoryView>, ApiError> {
    Ok(Json(state.history(&name)?))
}

fn action(word: &str) -> Result<ServiceAction, ApiError> {
    ServiceAction::parse(word).ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!(
                "unknown action '{word}': use {}",
                one_of(&ServiceAction::ALL)
            ),
        )
    })
}

/// `a, b or c`: the words of `actions`, as the error names them.
fn one_of(actions: &[ServiceAction]) -> String {
    let words: Vec<&str> = actions.iter().map(|a| a.word()).collect();
    match words.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

async fn act_service(
    State(state): State<ControlState>,
    Path((name, word)): Path<(String, String)>,
) -> Result<Json<ActReport>, ApiError> {
    let action = action(&word)?;
    Ok(Json(state.act(action, Scope::Service(name)).await?))
}

async fn act_group(
    State(state): State<ControlState>,
    Path((group, word)): Path<(String, String)>,
) -> Result<Json<ActReport>, ApiError> {
    let action = action(&word)?;
    Ok(Json(state.act(action, Scope::Group(group)).await?))
}

async fn reload(State(state): State<ControlState>) -> Result<Json<Value>, ApiError> {
    state.reload().await?;
    Ok(Json(json!({ "reloaded": true })))
}

async fn quit(State(state): State<ControlState>) -> Result<Json<Value>, ApiError> {
    state.quit().await?;
    Ok(Json(json!({ "quitting": true })))
}

async fn validate(State(state): State<ControlState>) -> Result<Json<Value>, ApiError> {
    let n = state.validate().await?;
    Ok(Json(json!({ "checks": n })))
}
