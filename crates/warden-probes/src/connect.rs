//! TCP connects that leave the reactor out when they can: on loopback (and
//! other local addresses) the kernel completes the handshake inside
//! `connect()`, so a second `connect()` right after it finds the answer, and
//! a connect-only port test costs `socket`, two `connect`s and `close`: no
//! epoll registration, no task wake-up, no timer. A connect still in
//! progress is handed to tokio and awaited there.

use std::io;
use std::net::{IpAddr, SocketAddr};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType, ipproto};

/// A TCP connection, registered with the reactor only once it is used for
/// more than connecting.
#[derive(Debug)]
pub enum Tcp {
    /// Connected within `connect()`; not known to the reactor.
    Ready(std::net::TcpStream),
    Registered(tokio::net::TcpStream),
}

impl Tcp {
    /// The stream as tokio's, for a conversation.
    pub fn into_tokio(self) -> io::Result<tokio::net::TcpStream> {
        match self {
            Tcp::Ready(s) => tokio::net::TcpStream::from_std(s),
            Tcp::Registered(s) => Ok(s),
        }
    }
}

/// How a connect begun by [`start`] stands.
#[derive(Debug)]
pub enum Started {
    Done(Tcp),
    /// The handshake is under way: [`finish`] waits for it.
    InProgress(std::net::TcpStream),
}

/// Opens a non-blocking socket (bound to `source` if given), connects it to
/// `addr` and looks, without waiting, whether the handshake is over.
pub fn start(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<Started> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        Some(ipproto::TCP),
    )?;
    if let Some(source) = source {
        rustix::net::bind(&fd, &SocketAddr::new(source, 0))?;
    }
    match rustix::net::connect(&fd, &addr) {
        Ok(()) => return Ok(Started::Done(Tcp::Ready(fd.into()))),
        Err(Errno::INPROGRESS) => {}
        Err(e) => return Err(e.into()),
    }
    // Asking again is how a non-blocking socket tells, in one syscall, how
    // its connect stands: done (0, or EISCONN), still under way (EALREADY),
    // or failed (the socket's error, ECONNREFUSED say).
    match rustix::net::connect(&fd, &addr) {
        Ok(()) | Err(Errno::ISCONN) => Ok(Started::Done(Tcp::Ready(fd.into()))),
        Err(Errno::ALREADY | Errno::INPROGRESS | Errno::INTR) => Ok(Started::InProgress(fd.into())),
        Err(e) => Err(e.into()),
    }
}

/// Waits, through the reactor, for a connect still in progress; the same
/// steps as tokio's own `TcpStream::connect`.
pub async fn finish(pending: std::net::TcpStream) -> io::Result<Tcp> {
    let stream = tokio::net::TcpStream::from_std(pending)?;
    stream.writable().await?;
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    Ok(Tcp::Registered(stream))
}
