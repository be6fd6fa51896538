//! Fuzz target: any bytes, as one HTTP request (method, target, headers,
//! body) to the TCP interface's routes (Warden's page and `/action` form,
//! the JSON API, Monit's protocol with its query and form parameters),
//! answer without panicking. No daemon answers actions: they fail fast.
#![no_main]

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt as _;
use warden::control::{ControlState, api_router, monit, web};
use warden_engine::{StateStore, StatusBoard};

thread_local! {
    static SETUP: RefCell<Option<(tokio::runtime::Runtime, axum::Router)>> = const { RefCell::new(None) };
}

/// One check on the board, so `/{name}` and `service=` find something.
fn routes() -> axum::Router {
    let text = "set daemon 30\ncheck process web with pidfile /run/web.pid\n  group g\n";
    let loaded = warden_config::load_text(Path::new("/fuzz/rc"), text.to_string());
    let board = StatusBoard::default();
    if let Some(config) = loaded.config {
        board.configure(&Arc::new(config), &StateStore::open(None));
    }
    let (_keep, board_rx) = tokio::sync::watch::channel(board);
    std::mem::forget(_keep);
    // The receiver is dropped: every action is refused at once.
    let (requests, _) = tokio::sync::mpsc::channel(1);
    let state = ControlState::new(board_rx, requests);
    web::router(state.clone())
        .merge(api_router(state.clone()))
        .merge(monit::router(state))
        .layer(axum::middleware::from_fn(web::same_origin))
}

/// `METHOD TARGET\nName: value\n...\n\nBODY`, built leniently.
fn request(data: &[u8]) -> Option<Request<Body>> {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut req = Request::builder().method(method).uri(target);
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            req = req.header(k.trim(), v.trim());
        }
    }
    req.body(Body::from(body.to_string())).ok()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(req) = request(data) else {
        return;
    };
    SETUP.with(|setup| {
        let mut setup = setup.borrow_mut();
        let (rt, app) = setup.get_or_insert_with(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let app = rt.block_on(async { routes() });
            (rt, app)
        });
        let Ok(res) = rt.block_on(app.clone().oneshot(req));
        // A server error would be a bug: bad input is a 4xx. (503: the
        // daemon is gone, as here where nobody answers actions.)
        let code = res.status().as_u16();
        assert!(code < 500 || code == 503, "{code}");
    });
});
