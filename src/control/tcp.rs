//! The TCP control interface of `set httpd port N [use address A] allow ...`:
//! the status page, the JSON API and /metrics behind Monit's allow rules,
//! over TLS when `ssl` is set. Loopback only unless an address is given.
//! Each connection is served by hyper with the peer address on its requests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use warden_config::model::{Httpd, SslOptions};

use super::auth::{self, Access, Peer};
use super::metrics::Metrics;
use super::{ControlState, api_router, web};

/// A client gets this long to finish the TLS handshake or send its headers.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The running interface; its listeners stop when it is dropped.
#[derive(Debug)]
pub struct TcpInterface {
    pub addrs: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for TcpInterface {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// Starts the interface when `set httpd port` is configured. Every reason
/// it cannot (a bad certificate, a port in use) is an error in the log;
/// the daemon runs on without it.
pub async fn start(
    httpd: Option<&Httpd>,
    state: ControlState,
    metrics: &Metrics,
) -> Option<TcpInterface> {
    let httpd = httpd?;
    let port = httpd.port?;
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
    let app = web::router(state.clone())
        .merge(api_router(state))
        .merge(metrics.router())
        .layer(axum::middleware::from_fn(web::same_origin))
        .layer(axum::middleware::from_fn_with_state(access, auth::guard));
    let mut iface = TcpInterface {
        addrs: Vec::new(),
        tasks: Vec::new(),
    };
    for addr in bind_addresses(httpd.address.as_deref(), port).await {
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                let scheme = if tls.is_some() { "https" } else { "http" };
                tracing::info!("web interface listening on {scheme}://{addr}");
                iface.addrs.push(addr);
                iface
                    .tasks
                    .push(tokio::spawn(accept(listener, app.clone(), tls.clone())));
            }
            // A host without IPv6 still serves on 127.0.0.1: not an error.
            Err(e) if httpd.address.is_none() && addr.is_ipv6() => {
                tracing::debug!("web interface not on {addr}: {e}")
            }
            Err(e) => tracing::error!("cannot listen on {addr} for the web interface: {e}"),
        }
    }
    (!iface.addrs.is_empty()).then_some(iface)
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

async fn accept(listener: TcpListener, app: Router, tls: Option<TlsAcceptor>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors, most likely: wait, do not spin.
                tracing::warn!("web interface: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone().layer(Extension(Peer(peer)));
        let tls = tls.clone();
        tokio::spawn(async move {
            let Some(tls) = tls else {
                return connection(stream, app).await;
            };
            match tokio::time::timeout(HANDSHAKE, tls.accept(stream)).await {
                Ok(Ok(stream)) => connection(stream, app).await,
                Ok(Err(e)) => tracing::debug!("web interface: TLS handshake with {peer}: {e}"),
                Err(_) => tracing::debug!("web interface: TLS handshake with {peer} timed out"),
            }
        });
    }
}

/// Serves HTTP/1.1 on one connection until the client is done.
async fn connection<S>(io: S, app: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app))
        .await;
    if let Err(e) = served {
        tracing::debug!("web interface: connection ended: {e}");
    }
}

/// The TLS settings from `with ssl { pemfile: F }` (certificate and key in
/// one file, as Monit has it) or `{ pemchain: F, pemkey: K }`; None without
/// `ssl`. An option Warden cannot honour is a warning.
pub fn tls_config(ssl: Option<&SslOptions>) -> Result<Option<Arc<ServerConfig>>, String> {
    let Some(ssl) = ssl.filter(|s| s.enabled) else {
        return Ok(None);
    };
    let get = |key: &str| {
        ssl.options
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| Path::new(v.as_str()))
    };
    let (chain, key) = match (get("pemchain"), get("pemkey"), get("pemfile")) {
        (Some(chain), Some(key), _) => (chain, key),
        (_, _, Some(file)) => (file, file),
        _ => return Err("ssl needs a certificate: pemfile, or pemchain and pemkey".into()),
    };
    if get("clientpemfile").is_some() {
        tracing::warn!("ssl clientpemfile: client certificates are not supported yet; ignored");
    }
    let certs = certificates(chain)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("no private key in {}: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate in {} is not usable: {e}", chain.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssl(options: &[(&str, &str)]) -> SslOptions {
        SslOptions {
            enabled: true,
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn no_ssl_means_plain_http() {
        assert!(tls_config(None).unwrap().is_none());
        let off = SslOptions::default();
        assert!(tls_config(Some(&off)).unwrap().is_none());
    }

    #[test]
    fn unusable_certificates_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let missing = dir.path().join("missing.pem");
        let table = [
            (ssl(&[("selfsigned", "allow")]), "ssl needs a certificate"),
            (
                ssl(&[("pemfile", junk.to_str().unwrap())]),
                "no certificate in",
            ),
            (
                ssl(&[("pemfile", missing.to_str().unwrap())]),
                "cannot read the certificate",
            ),
        ];
        for (options, want) in table {
            let err = tls_config(Some(&options)).unwrap_err();
            assert!(err.contains(want), "{err:?} should say {want:?}");
        }
    }

    #[test]
    fn a_pemfile_or_a_pemchain_with_a_pemkey_is_a_usable_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
        let (both, chain, keyfile) = (
            dir.path().join("both.pem"),
            dir.path().join("chain.pem"),
            dir.path().join("key.pem"),
        );
        std::fs::write(&both, format!("{key}{cert}")).unwrap();
        std::fs::write(&chain, &cert).unwrap();
        std::fs::write(&keyfile, &key).unwrap();
        let table = [
            ssl(&[("pemfile", both.to_str().unwrap())]),
            ssl(&[
                ("pemchain", chain.to_str().unwrap()),
                ("pemkey", keyfile.to_str().unwrap()),
            ]),
        ];
        for options in table {
            assert!(tls_config(Some(&options)).unwrap().is_some(), "{options:?}");
        }
        let no_key = ssl(&[("pemfile", chain.to_str().unwrap())]);
        assert!(
            tls_config(Some(&no_key))
                .unwrap_err()
                .contains("no private key")
        );
    }

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
