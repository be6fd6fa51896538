//! The CLI's side: asks the daemon's API over its Unix socket, and turns
//! every way that can fail into one [`ClientError`] a person can read.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use warden_engine::history::HistoryView;
use warden_engine::{ServiceAction, ServiceStatus};

use super::{ActReport, ApiError, Scope};

/// Why a request to the daemon did not get an answer it wanted.
#[derive(Debug)]
pub enum ClientError {
    /// No socket, or nobody answers on it.
    NotRunning(PathBuf),
    /// The socket is there but this user may not use it.
    PermissionDenied(PathBuf),
    /// The daemon answered with an error.
    Api(ApiError),
    /// Anything else (a broken answer, an I/O error).
    Other(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotRunning(p) => write!(
                f,
                "the Warden daemon is not running (no answer on {})",
                p.display()
            ),
            ClientError::PermissionDenied(p) => write!(
                f,
                "permission denied on the control socket {} (run as its owner or root)",
                p.display()
            ),
            ClientError::Api(e) => f.write_str(&e.error),
            ClientError::Other(e) => f.write_str(e),
        }
    }
}

/// A client of one daemon's socket.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    socket: PathBuf,
}

impl Client {
    pub fn new(socket: &Path) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .unix_socket(socket)
            .no_proxy()
            .build()
            .map_err(|e| ClientError::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            socket: socket.to_path_buf(),
        })
    }

    pub async fn status(&self) -> Result<Vec<ServiceStatus>, ClientError> {
        self.call(reqwest::Method::GET, "/api/v1/status").await
    }

    /// One service's recent samples and events.
    pub async fn history(&self, name: &str) -> Result<HistoryView, ClientError> {
        let path = format!("/api/v1/status/{}/history", super::html::url_encode(name));
        self.call(reqwest::Method::GET, &path).await
    }

    pub async fn act(
        &self,
        action: ServiceAction,
        target: &Scope,
    ) -> Result<ActReport, ClientError> {
        let path = match target {
            Scope::Service(name) => format!("/api/v1/services/{}/{}", name, action.word()),
            Scope::Group(group) => format!("/api/v1/groups/{}/{}", group, action.word()),
        };
        self.call(reqwest::Method::POST, &path).await
    }

    /// `reload`, `quit` or `validate`.
    pub async fn post(&self, what: &str) -> Result<serde_json::Value, ClientError> {
        self.call(reqwest::Method::POST, &format!("/api/v1/{what}"))
            .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<T, ClientError> {
        self.reachable()?;
        let url = format!("http://warden{path}");
        let answer = self
            .http
            .request(method, url)
            .send()
            .await
            .map_err(|e| ClientError::Other(format!("the daemon did not answer: {e}")))?;
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .map_err(|e| ClientError::Other(format!("the daemon's answer broke off: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| ClientError::Other(format!("cannot read the daemon's answer: {e}")));
        }
        match serde_json::from_slice::<ApiError>(&body) {
            Ok(mut e) => {
                e.status = status.as_u16();
                Err(ClientError::Api(e))
            }
            Err(_) => Err(ClientError::Other(format!(
                "the daemon answered {status}: {}",
                String::from_utf8_lossy(&body).trim()
            ))),
        }
    }

    /// Connects once by hand first: the OS's answer (no file, refused,
    /// permission denied) says more than the HTTP client's.
    fn reachable(&self) -> Result<(), ClientError> {
        use std::io::ErrorKind;
        match std::os::unix::net::UnixStream::connect(&self.socket) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                Err(ClientError::PermissionDenied(self.socket.clone()))
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
                Err(ClientError::NotRunning(self.socket.clone()))
            }
            Err(e) => Err(ClientError::Other(format!(
                "cannot reach the control socket {}: {e}",
                self.socket.display()
            ))),
        }
    }
}
