//! The TCP control interface of `set httpd port N [use address A] allow ...`:
//! the status page, the JSON API and /metrics behind Monit's allow rules,
//! over TLS when `ssl` is set. Loopback only unless an address is given.
//! Each connection is served by hyper with the peer address on its requests.
//!
//! On reload the interface is set up again from the new file, as Monit
//! restarts its httpd: the certificate is read again, host names resolved
//! again, a listener on an address that stays is handed over (no moment
//! without it), others are closed or opened, and the connections of the old
//! setup close once their request in flight is answered. It fails closed: a
//! new setup that cannot start (a bad certificate, a port in use) is an
//! error in the log and leaves that part off, never the old rules running on.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use warden_config::model::Httpd;

use super::auth::{self, Access, Peer};
use super::metrics::Metrics;
use super::server::{self, connection};
use super::tls::tls_config;
use super::{ControlState, api_router, monit, web};

/// A client gets this long to finish the TLS handshake or send its headers.
const HANDSHAKE: Duration = server::HEADER_TIMEOUT;

/// The TCP interface for the daemon's whole life: off, or listening as the
/// last loaded control file says. Its listeners stop when it is dropped.
#[derive(Debug)]
pub struct WebInterface {
    /// Page, API and /metrics without the allow rules; built once, so the
    /// page's form token outlives reloads.
    routes: Router,
    listening: Vec<Listening>,
    /// Dropped to close the connections of the current setup.
    closing: watch::Sender<()>,
}

/// One accept loop; answers its listener back when told to stop.
#[derive(Debug)]
struct Listening {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<TcpListener>,
}

/// What a setup serves with: the routes behind its rules, and TLS.
#[derive(Clone)]
struct Serving {
    app: Router,
    tls: Option<TlsAcceptor>,
}

impl Drop for WebInterface {
    fn drop(&mut self) {
        self.listening.iter().for_each(|l| l.task.abort());
    }
}

impl WebInterface {
    /// Starts the interface when `set httpd port` is configured. Every
    /// reason it cannot (a bad certificate, a port in use) is an error in
    /// the log; the daemon runs on without it.
    pub async fn start(httpd: Option<&Httpd>, state: ControlState, metrics: &Metrics) -> Self {
        // Monit's routes last: its `/{name}` page takes any other path.
        let routes = web::router(state.clone())
            .merge(api_router(state.clone()))
            .merge(metrics.router())
            .merge(monit::router(state));
        let mut iface = WebInterface {
            routes,
            listening: Vec::new(),
            closing: watch::channel(()).0,
        };
        iface.reconfigure(httpd).await;
        iface
    }

    /// Where it listens now; empty when it is off.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.listening.iter().map(|l| l.addr).collect()
    }

    /// Sets the interface up as `httpd` says (start and reload).
    pub async fn reconfigure(&mut self, httpd: Option<&Httpd>) {
        // Prepared while the old setup still serves: resolving host names
        // may take a moment.
        let next = match httpd.and_then(|h| h.port.map(|p| (h, p))) {
            Some((httpd, port)) => Some((httpd, port, self.prepare(httpd, port).await)),
            None => None,
        };
        let mut kept = self.close().await;
        let Some((httpd, port, Some(serving))) = next else {
            // Off, or a setup that cannot start: fail closed.
            for addr in kept.keys() {
                tracing::info!("web interface on {addr} closed");
            }
            return;
        };
        let addrs = bind_addresses(httpd.address.as_deref(), port).await;
        // Listeners on addresses that go away close before new ones bind:
        // 0.0.0.0:P would stand in the way of 127.0.0.1:P.
        kept.retain(|addr, _| {
            let stays = addrs.contains(addr);
            if !stays {
                tracing::info!("web interface on {addr} closed");
            }
            stays
        });
        for addr in addrs {
            let listener = match kept.remove(&addr) {
                Some(listener) => listener,
                None => match TcpListener::bind(addr).await {
                    Ok(listener) => listener,
                    // A host without IPv6 still serves on 127.0.0.1: not an error.
                    Err(e) if httpd.address.is_none() && addr.is_ipv6() => {
                        tracing::debug!("web interface not on {addr}: {e}");
                        continue;
                    }
                    Err(e) => {
                        tracing::error!("cannot listen on {addr} for the web interface: {e}");
                        continue;
                    }
                },
            };
            let scheme = if serving.tls.is_some() {
                "https"
            } else {
                "http"
            };
            tracing::info!("web interface listening on {scheme}://{addr}");
            self.listen(addr, listener, serving.clone());
        }
    }

    /// The app and TLS for `httpd`; None (logged) when TLS cannot be set up.
    async fn prepare(&self, httpd: &Httpd, port: u16) -> Option<Serving> {
        let tls = match tls_config(httpd.ssl.as_ref()) {
            Ok(tls) => tls.map(TlsAcceptor::from),
            Err(e) => {
                tracing::error!("the web interface on port {port} is not started: {e}");
                return None;
            }
        };
        if httpd.allow.is_empty() && httpd.address.is_some() {
            tracing::warn!(
                "the web interface on port {port} has no allow rule: anyone who reaches it may act"
            );
        }
        let access = Arc::new(Access::from_config(httpd).await);
        let app = self
            .routes
            .clone()
            .layer(axum::middleware::from_fn(web::same_origin))
            .layer(axum::middleware::from_fn_with_state(access, auth::guard))
            .layer(axum::middleware::map_response(monit::name_the_server))
            .layer(axum::middleware::from_fn(server::one_host));
        Some(Serving { app, tls })
    }

    /// Stops every accept loop and returns their listeners by address; the
    /// connections of this setup close after their request in flight.
    async fn close(&mut self) -> HashMap<SocketAddr, TcpListener> {
        self.closing = watch::channel(()).0;
        let mut listeners = HashMap::new();
        for Listening { addr, stop, task } in std::mem::take(&mut self.listening) {
            let _ = stop.send(());
            match task.await {
                Ok(listener) => {
                    listeners.insert(addr, listener);
                }
                Err(e) => tracing::error!("web interface on {addr} ended: {e}"),
            }
        }
        listeners
    }

    fn listen(&mut self, addr: SocketAddr, listener: TcpListener, serving: Serving) {
        let (stop, stopped) = oneshot::channel();
        let closing = self.closing.subscribe();
        let task = tokio::spawn(accept(listener, serving, stopped, closing));
        self.listening.push(Listening { addr, stop, task });
    }
}

/// `use address A` (a name resolves to all its addresses), else loopback.
async fn bind_addresses(address: Option<&str>, port: u16) -> Vec<SocketAddr> {
    let Some(address) = address else {
        return vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ];
    };
    if let Ok(ip) = address.parse::<IpAddr>() {
        return vec![SocketAddr::new(ip, port)];
    }
    match tokio::net::lookup_host((address, port)).await {
        Ok(addrs) => {
            let mut all: Vec<SocketAddr> = addrs.collect();
            all.dedup();
            all
        }
        Err(e) => {
            tracing::error!("cannot resolve the web interface address {address}: {e}");
            Vec::new()
        }
    }
}

/// Accepts connections until `stop`, then hands the listener back.
async fn accept(
    listener: TcpListener,
    serving: Serving,
    mut stop: oneshot::Receiver<()>,
    closing: watch::Receiver<()>,
) -> TcpListener {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = &mut stop => return listener,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors, most likely: wait, do not spin.
                tracing::warn!("web interface: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = serving.app.clone().layer(Extension(Peer(peer))).layer(
            axum::middleware::from_fn_with_state(closing.clone(), current_setup),
        );
        let tls = serving.tls.clone();
        let closing = closing.clone();
        tokio::spawn(async move {
            let Some(tls) = tls else {
                return connection(stream, app, closing).await;
            };
            match tokio::time::timeout(HANDSHAKE, tls.accept(stream)).await {
                Ok(Ok(stream)) => connection(stream, app, closing).await,
                Ok(Err(e)) => tracing::debug!("web interface: TLS handshake with {peer}: {e}"),
                Err(_) => tracing::debug!("web interface: TLS handshake with {peer} timed out"),
            }
        });
    }
}

/// Refuses a request that reaches an old setup's connection after a reload
/// replaced it, before its connection closes: the old rules judge nothing
/// once the reload is done.
async fn current_setup(
    State(closing): State<watch::Receiver<()>>,
    req: Request,
    next: Next,
) -> Response {
    if closing.has_changed().is_err() {
        let mut res = (
            StatusCode::SERVICE_UNAVAILABLE,
            "the web interface was set up again; connect again\n",
        )
            .into_response();
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return res;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_an_address_only_loopback_is_used() {
        let addrs = bind_addresses(None, 2812).await;
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 2812)
        );
        let given = bind_addresses(Some("127.0.0.2"), 1).await;
        assert_eq!(given, [SocketAddr::from(([127, 0, 0, 2], 1))]);
    }
}
