//! The port probe: TCP, UDP and Unix-socket connection tests with an
//! optional protocol conversation, a timeout on every network operation,
//! `retry N` within one run, the response time as a metric and its limit
//! (`responsetime < 2 s`), and the local address to connect from (`address`).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::net::{UdpSocket, UnixStream};
use tokio::time::timeout;

use warden_config::model::{IpVersion, ResponseTime};

use crate::connect::{self, Started, Tcp};
use crate::outcome::{Metric, Outcome, Status};
use crate::peer::Peer;
use crate::protocol::{Conversation, ProtocolError, generic};
use crate::{BoxFuture, Probe};

/// UDP has no handshake: a closed port answers with an ICMP error (seen as
/// ECONNREFUSED on a connected socket) within a round trip. Silence for this
/// long (or half the timeout, if shorter) counts as success, like Monit.
pub const UDP_SILENCE: Duration = Duration::from_secs(1);

/// Why a port test failed: the address, the connection, or the protocol
/// spoken over it.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("timed out resolving {host}")]
    ResolveTimeout { host: String },
    #[error("cannot resolve {host}: {source}")]
    Resolve { host: String, source: io::Error },
    #[error("{host}:{port} has no {} address", family(*.ip))]
    NoAddress {
        host: String,
        port: u16,
        ip: IpVersion,
    },
    #[error("{0} is not of the family of the source address")]
    Family(SocketAddr),
    #[error("timed out connecting to {0}")]
    ConnectTimeout(SocketAddr),
    #[error("cannot connect to {addr}: {}", io_error_text(.source))]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("timed out connecting to {}", .0.display())]
    UnixTimeout(PathBuf),
    #[error("cannot connect to {}: {source}", .path.display())]
    UnixConnect { path: PathBuf, source: io::Error },
    /// The connected socket could not be handed to the runtime.
    #[error("cannot use the connection to {target}: {source}")]
    Stream { target: Peer, source: io::Error },
    #[error("cannot open a udp socket on {local}: {source}")]
    UdpSocket {
        local: SocketAddr,
        source: io::Error,
    },
    #[error("cannot send to {addr}: {}", io_error_text(.source))]
    UdpSend { addr: SocketAddr, source: io::Error },
    /// The ICMP error a closed UDP port answers with.
    #[error("{addr} (udp): {}", io_error_text(.source))]
    UdpAnswer { addr: SocketAddr, source: io::Error },
}

/// One connection rule, ready to run.
#[derive(Debug)]
pub struct PortProbe {
    target: Peer,
    conversation: Conversation,
    /// For each network operation (resolve, connect, send, each read).
    timeout: Duration,
    /// Extra attempts within one run after a failure.
    retry: u32,
    /// `responsetime < N`: a passing test slower than this fails.
    response_time: Option<ResponseTime>,
    /// `address IP`: the local address to connect from.
    source: Option<IpAddr>,
    // The words of a pass are formatted at each pass, not kept: kept, they
    // were a block of 48 bytes and 16 in the probe's own (160 -> 144 with
    // malloc's header) for every port test, to save a `format!` of a few
    // dozen bytes next to a connection's system calls.
}

impl PortProbe {
    pub fn new(target: Peer, conversation: Conversation, timeout: Duration, retry: u32) -> Self {
        let target = match (target, &conversation) {
            (Peer::Tcp { host, port, ip, .. }, Conversation::Speak(d)) if d.udp_only() => {
                Peer::Udp { host, port, ip }
            }
            (target, _) => target,
        };
        PortProbe {
            target,
            conversation,
            timeout,
            retry,
            response_time: None,
            source: None,
        }
    }

    /// A limit on the time a passing test may take.
    pub fn with_response_time(mut self, limit: Option<ResponseTime>) -> Self {
        self.response_time = limit;
        self
    }

    /// Connects from this local address (TCP and UDP; http through reqwest).
    pub fn from_address(mut self, source: Option<IpAddr>) -> Self {
        self.source = source;
        self
    }

    /// Failed when a test that passed took longer than its limit allows.
    fn judge_time(&self, outcome: Outcome, took: f64) -> Outcome {
        match self.response_time {
            Some(ResponseTime { op, limit }) if outcome.is_ok() => {
                let limit = limit.as_secs_f64();
                if op.holds(took, limit) {
                    return outcome;
                }
                Outcome::failed(
                    Status::Failed,
                    format!(
                        "response time {} s from {} does not meet the limit {} {} s",
                        seconds(took),
                        self.target,
                        op.symbol(),
                        seconds(limit)
                    ),
                )
            }
            _ => outcome,
        }
    }

    pub fn target(&self) -> &Peer {
        &self.target
    }

    /// One try: what it measured besides the time, and whether it passed.
    async fn attempt(&self) -> (Vec<(Metric, f64)>, Result<(), NetError>) {
        match &self.conversation {
            Conversation::Http(http) => {
                let (values, result) = http.run().await;
                (values, result.map_err(NetError::from))
            }
            conv => (Vec::new(), self.connect_and_talk(conv).await),
        }
    }

    async fn connect_and_talk(&self, conv: &Conversation) -> Result<(), NetError> {
        match &self.target {
            Peer::Tcp { host, port, ip, .. } => {
                let stream = self.connect_tcp(host, *port, *ip).await?;
                if matches!(conv, Conversation::Connect) {
                    // Connecting was the test; dropping the stream closes it.
                    return Ok(());
                }
                let mut stream = stream.into_tokio().map_err(|source| NetError::Stream {
                    target: self.target.clone(),
                    source,
                })?;
                self.converse(&mut stream, conv).await
            }
            Peer::Unix { path } => {
                let mut stream = timeout(self.timeout, UnixStream::connect(path))
                    .await
                    .map_err(|_| NetError::UnixTimeout(path.clone()))?
                    .map_err(|source| NetError::UnixConnect {
                        path: path.clone(),
                        source,
                    })?;
                self.converse(&mut stream, conv).await
            }
            Peer::Udp { host, port, ip } => self.udp(host, *port, *ip, conv).await,
        }
    }

    async fn converse<S>(&self, stream: &mut S, conv: &Conversation) -> Result<(), NetError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let talked = match conv {
            Conversation::Exchange(steps) => generic::exchange(stream, steps, self.timeout).await,
            Conversation::Speak(dialogue) => dialogue.talk(stream, self.timeout).await,
            _ => Ok(()),
        };
        Ok(talked?)
    }

    /// Tries each resolved address of the wanted family in turn, like Monit.
    async fn connect_tcp(&self, host: &str, port: u16, ip: IpVersion) -> Result<Tcp, NetError> {
        // The last address's failure is the one reported.
        let mut last = None;
        for addr in self.resolve(host, port, ip).await? {
            if self.source.is_some_and(|s| s.is_ipv4() != addr.is_ipv4()) {
                last = Some(NetError::Family(addr));
                continue;
            }
            // The timeout (and its timer) is needed only when the kernel
            // did not settle the connect at once.
            let result = match connect::start(addr, self.source) {
                Ok(Started::Done(stream)) => Ok(stream),
                Ok(Started::InProgress(pending)) => {
                    match timeout(self.timeout, connect::finish(pending)).await {
                        Ok(r) => r,
                        Err(_) => {
                            last = Some(NetError::ConnectTimeout(addr));
                            continue;
                        }
                    }
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(stream) => return Ok(stream),
                Err(source) => last = Some(NetError::Connect { addr, source }),
            }
        }
        Err(last.unwrap_or_else(|| no_address(host, port, ip)))
    }

    async fn resolve(
        &self,
        host: &str,
        port: u16,
        ip: IpVersion,
    ) -> Result<Vec<SocketAddr>, NetError> {
        let wanted = |a: &SocketAddr| match ip {
            IpVersion::Any => true,
            IpVersion::V4 => a.is_ipv4(),
            IpVersion::V6 => a.is_ipv6(),
        };
        // An address literal needs no resolver (nor its timeout): tokio
        // would parse it the same way.
        if let Ok(literal) = host.parse::<IpAddr>() {
            let addr = SocketAddr::new(literal, port);
            return Ok(if wanted(&addr) {
                vec![addr]
            } else {
                Vec::new()
            });
        }
        let found = timeout(self.timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| NetError::ResolveTimeout {
                host: host.to_string(),
            })?
            .map_err(|source| NetError::Resolve {
                host: host.to_string(),
                source,
            })?;
        Ok(found.filter(wanted).collect())
    }

    async fn udp(
        &self,
        host: &str,
        port: u16,
        ip: IpVersion,
        conv: &Conversation,
    ) -> Result<(), NetError> {
        let addr = *self
            .resolve(host, port, ip)
            .await?
            .first()
            .ok_or_else(|| no_address(host, port, ip))?;
        let local: SocketAddr = match self.source {
            Some(source) => SocketAddr::new(source, 0),
            None if addr.is_ipv4() => ([0, 0, 0, 0], 0).into(),
            None => ([0u16; 8], 0).into(),
        };
        let socket = UdpSocket::bind(local)
            .await
            .map_err(|source| NetError::UdpSocket { local, source })?;
        // A UDP connect sends nothing, so it is never refused nor timed
        // out: the words are those of any other connect error.
        socket
            .connect(addr)
            .await
            .map_err(|source| NetError::Connect { addr, source })?;
        match conv {
            Conversation::Exchange(steps) => {
                Ok(generic::udp_exchange(&socket, steps, self.timeout).await?)
            }
            Conversation::Speak(dialogue) => Ok(dialogue.talk_udp(&socket, self.timeout).await?),
            _ => {
                socket
                    .send(b"\0")
                    .await
                    .map_err(|source| NetError::UdpSend { addr, source })?;
                let silence = UDP_SILENCE.min(self.timeout / 2);
                let mut buf = [0u8; 512];
                match timeout(silence, socket.recv(&mut buf)).await {
                    Ok(Err(source)) => Err(NetError::UdpAnswer { addr, source }),
                    _ => Ok(()),
                }
            }
        }
    }
}

fn no_address(host: &str, port: u16, ip: IpVersion) -> NetError {
    NetError::NoAddress {
        host: host.to_string(),
        port,
        ip,
    }
}

fn family(ip: IpVersion) -> &'static str {
    match ip {
        IpVersion::Any => "IP",
        IpVersion::V4 => "IPv4",
        IpVersion::V6 => "IPv6",
    }
}

/// Seconds for messages: milliseconds shown, not nanoseconds.
fn seconds(s: f64) -> String {
    format!("{s:.3}")
}

/// An io error in the words a person expects ("connection refused").
fn io_error_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

impl Probe for PortProbe {
    fn kind(&self) -> &'static str {
        match self.conversation {
            Conversation::Http(_) => "http",
            _ => "port",
        }
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let mut attempts = 0;
            loop {
                let started = Instant::now();
                let (values, result) = self.attempt().await;
                let took = started.elapsed().as_secs_f64();
                attempts += 1;
                let outcome = match result {
                    Ok(()) => Outcome::ok(format!("connected to {}", self.target)),
                    Err(_) if attempts <= self.retry => continue,
                    Err(why) => Outcome::failed(Status::Failed, why.to_string()),
                };
                let outcome = self
                    .judge_time(outcome, took)
                    .with(Metric::ResponseTime, took);
                return values.into_iter().fold(outcome, |o, (m, v)| o.with(m, v));
            }
        })
    }
}

#[cfg(test)]
#[path = "net_tests.rs"]
mod tests;
