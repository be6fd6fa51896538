//! Where a connection test connects (host and port over TCP or UDP, or a
//! Unix socket) and Monit's default time limit for it. A leaf, shared by
//! the port probe, the protocols and the registry.

use std::path::PathBuf;
use std::time::Duration;

use warden_config::model::{IpVersion, SocketType};

/// Monit's default connect and read timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a port test connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Tcp {
        host: String,
        port: u16,
        ip: IpVersion,
        socket: SocketType,
    },
    Udp {
        host: String,
        port: u16,
        ip: IpVersion,
    },
    Unix {
        path: PathBuf,
    },
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Tcp { host, port, .. } => write!(f, "{host}:{port}"),
            Peer::Udp { host, port, .. } => write!(f, "{host}:{port} (udp)"),
            Peer::Unix { path } => write!(f, "{}", path.display()),
        }
    }
}
