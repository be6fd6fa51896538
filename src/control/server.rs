//! The daemon's side of the control interface: the Unix socket (created
//! mode 0600 unless `permission` says otherwise, owned as `uid`/`gid` say,
//! a stale socket file replaced, removed at exit) and carrying out an
//! action on the running engine's checks.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use warden_config::model::Httpd;
use warden_config::users;
use warden_engine::{CheckRequest, Engine, ServiceAction};

use super::ActReport;

/// How long an action may take before the API reports it failed (a start
/// program's own timeout is shorter).
const ACTION_LIMIT: Duration = Duration::from_secs(120);

/// `set httpd unixsocket PATH`, else `warden.sock`-style next to the state
/// file: the state file's name with the extension `.sock`
/// (`~/.warden.state` -> `~/.warden.sock`).
pub fn socket_path(httpd: Option<&Httpd>, statefile: &Path) -> PathBuf {
    match httpd.and_then(|h| h.unixsocket.as_ref()) {
        Some(p) => p.clone(),
        None => statefile.with_extension("sock"),
    }
}

/// Who may use the socket: `unixsocket PATH [uid U] [gid G] [permission
/// MODE]`. Without them it belongs to the daemon's user, mode 0600.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketAccess {
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<u32>,
}

impl SocketAccess {
    pub fn from_config(httpd: Option<&Httpd>) -> Self {
        SocketAccess {
            uid: httpd.and_then(|h| h.socket_uid.clone()),
            gid: httpd.and_then(|h| h.socket_gid.clone()),
            mode: httpd.and_then(|h| h.socket_permission),
        }
    }

    /// Gives `path` its owner, group and mode. The owner goes first: the
    /// mode is set on a file that already has its final group.
    pub fn apply(&self, path: &Path) -> std::io::Result<()> {
        let uid = id(self.uid.as_deref(), "user", "/etc/passwd", users::uid)?
            .unwrap_or_else(|| rustix::process::geteuid().as_raw());
        let gid = id(self.gid.as_deref(), "group", "/etc/group", users::gid)?
            .unwrap_or_else(|| rustix::process::getegid().as_raw());
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot give it to uid {uid} gid {gid}: {e}"),
            )
        })?;
        let mode = self.mode.unwrap_or(0o600);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot set its mode to {mode:04o}: {e}"))
        })
    }
}

/// A user or group id from a name or a number; None when not given.
fn id(
    name: Option<&str>,
    what: &str,
    db: &str,
    lookup: fn(&str) -> Option<u32>,
) -> std::io::Result<Option<u32>> {
    let Some(name) = name else {
        return Ok(None);
    };
    match lookup(name) {
        Some(id) => Ok(Some(id)),
        None => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("there is no {what} '{name}' in {db}"),
        )),
    }
}

/// Binds the socket at `path` as `access` says: bound under a temporary
/// name, given its owner and mode, then renamed into place, so nobody can
/// connect while it is still open to more users. A socket file nobody
/// answers on is replaced; one a live daemon answers on is an error.
pub fn bind(path: &Path, access: &SocketAccess) -> std::io::Result<UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another Warden daemon answers on it",
            ));
        }
        std::fs::remove_file(path)?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    let placed = access
        .apply(&tmp)
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(listener)
}

/// The API served on a Unix socket until [`UnixServer::stop`].
#[derive(Debug)]
pub struct UnixServer {
    path: PathBuf,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl UnixServer {
    /// Serves `router` on `listener`, each connection as the TCP
    /// interface serves its own: a client that does not send its request's
    /// head within [`HEADER_TIMEOUT`] is disconnected, so slow clients
    /// cannot hold the socket's connections open for ever.
    pub fn serve(listener: UnixListener, path: PathBuf, router: axum::Router) -> Self {
        let router = router.layer(axum::middleware::from_fn(one_host));
        let (shutdown, mut stop) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let (closing, closed) = watch::channel(());
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    biased;
                    _ = &mut stop => break,
                    accepted = listener.accept() => accepted,
                };
                match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(connection(stream, router.clone(), closed.clone()));
                    }
                    Err(e) => {
                        // Out of file descriptors, most likely: wait, do not spin.
                        tracing::warn!("control socket: cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                while connections.try_join_next().is_some() {}
            }
            // Answers in flight finish (a quit's own answer), then they close.
            drop(closing);
            while connections.join_next().await.is_some() {}
        });
        UnixServer {
            path,
            shutdown,
            task,
        }
    }

    /// Lets answers in flight finish (a quit's own answer), then removes
    /// the socket file.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A client gets this long to send a request's head (and, on TCP, to
/// finish the TLS handshake).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Refuses a request with more than one `Host` header (400), as HTTP/1.1
/// says a server must: two hosts would leave the same-origin check
/// guessing which one the client meant.
pub async fn one_host(req: Request, next: Next) -> Response {
    if req.headers().get_all(header::HOST).iter().nth(1).is_some() {
        return (
            StatusCode::BAD_REQUEST,
            "bad request: more than one Host header\n",
        )
            .into_response();
    }
    next.run(req).await
}

/// Serves HTTP/1.1 on one connection until the client is done, or until
/// `closing` changes (its sender dropped: a reload replaced the TCP setup,
/// or the daemon stops): then the request in flight is answered (a reload
/// or quit asked over this very connection) and the connection closes.
pub async fn connection<S>(io: S, app: Router, mut closing: watch::Receiver<()>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        // Only the sender's drop changes it.
        _ = closing.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!("control connection ended: {e}");
    }
    // Its answers are freed by now: a status of thousands of checks leaves
    // megabytes of small freed blocks that glibc keeps resident otherwise.
    crate::heap::give_back_soon();
}

/// Sends `action` to every named check and returns a future that collects
/// their answers, so the daemon's loop never waits on an action.
pub fn act(
    engine: &Engine,
    action: ServiceAction,
    names: Vec<String>,
) -> impl Future<Output = ActReport> + Send + 'static {
    let mut report = ActReport::default();
    let mut waiting = Vec::new();
    for name in names {
        let (tx, rx) = oneshot::channel();
        // Monitoring changes at once: only what touches the service is
        // waited for (bounded by ACTION_LIMIT).
        let answers = action.touches_service();
        match (
            engine.command(&name, CheckRequest::Act(action, Some(tx))),
            answers,
        ) {
            (false, _) => report.failed.push(name),
            (true, false) => report.done.push(name),
            (true, true) => waiting.push((name, rx)),
        }
    }
    async move {
        for (name, rx) in waiting {
            match tokio::time::timeout(ACTION_LIMIT, rx).await {
                Ok(Ok(true)) => report.done.push(name),
                _ => report.failed.push(name),
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_socket_sits_next_to_the_state_file() {
        let table = [
            ("/home/a/.warden.state", "/home/a/.warden.sock"),
            ("/var/lib/warden/state", "/var/lib/warden/state.sock"),
        ];
        for (state, socket) in table {
            assert_eq!(socket_path(None, Path::new(state)), Path::new(socket));
        }
        let httpd = Httpd {
            unixsocket: Some("/run/w.sock".into()),
            ..Httpd::default()
        };
        assert_eq!(
            socket_path(Some(&httpd), Path::new("/x/state")),
            Path::new("/run/w.sock")
        );
    }

    #[tokio::test]
    async fn a_socket_is_private_and_a_stale_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/w.sock");
        let private = SocketAccess::default();
        let first = bind(&path, &private).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Live: refused.
        assert!(bind(&path, &private).is_err());
        drop(first);
        // Stale: replaced.
        assert!(bind(&path, &private).is_ok());
    }

    #[tokio::test]
    async fn a_socket_gets_its_mode_and_an_unknown_owner_is_an_error() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sock");
        let shared = SocketAccess {
            gid: Some(rustix::process::getegid().as_raw().to_string()),
            mode: Some(0o660),
            ..SocketAccess::default()
        };
        let _listener = bind(&path, &shared).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o660);
        assert_eq!(meta.gid(), rustix::process::getegid().as_raw());
        for (uid, gid, want) in [
            (
                Some("no-such-user-w"),
                None,
                "there is no user 'no-such-user-w'",
            ),
            (
                None,
                Some("no-such-group-w"),
                "there is no group 'no-such-group-w'",
            ),
        ] {
            let access = SocketAccess {
                uid: uid.map(String::from),
                gid: gid.map(String::from),
                mode: None,
            };
            let err = bind(&dir.path().join("x.sock"), &access).unwrap_err();
            assert!(err.to_string().contains(want), "{err}");
            // Nothing is left behind, not even the temporary name.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }
}
