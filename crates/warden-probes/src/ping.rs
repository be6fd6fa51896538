//! `if failed ping` on a `check host`: ICMP echo through an unprivileged
//! datagram socket where `net.ipv4.ping_group_range` allows it, else a raw
//! socket (root, CAP_NET_RAW); when neither is allowed, a failure that says
//! "not permitted" instead of a silent pass. Blocking socket calls with a
//! receive timeout, on the blocking pool.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, ipproto};

use crate::outcome::{Metric, Outcome, Status};
use crate::{BoxFuture, Probe};

/// Monit's defaults: three echo requests, 5 s each, 64 bytes of payload.
const DEFAULT_COUNT: u32 = 3;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_SIZE: u32 = 64;

#[derive(Debug, Clone)]
pub struct PingProbe {
    host: String,
    count: u32,
    size: usize,
    timeout: Duration,
}

impl PingProbe {
    pub fn new(
        host: String,
        count: Option<u32>,
        size: Option<u32>,
        timeout: Option<Duration>,
    ) -> Self {
        PingProbe {
            host,
            count: count.unwrap_or(DEFAULT_COUNT).max(1),
            size: size.unwrap_or(DEFAULT_SIZE).clamp(8, 1472) as usize,
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        }
    }

    /// Sends up to `count` echo requests; ok at the first reply.
    pub fn ping(&self) -> Outcome {
        let addr = match (self.host.as_str(), 0)
            .to_socket_addrs()
            .map(|mut a| a.next())
        {
            Ok(Some(a)) => a,
            Ok(None) | Err(_) => {
                return Outcome::failed(Status::Failed, format!("cannot resolve {}", self.host));
            }
        };
        let (fd, raw) = match open(addr.ip()) {
            Ok(s) => s,
            Err(e) => {
                return Outcome::failed(
                    Status::Error,
                    format!(
                        "ping to {} is not permitted: {e} (allow the group in net.ipv4.ping_group_range, or run as root)",
                        self.host
                    ),
                );
            }
        };
        let id = (std::process::id() & 0xffff) as u16;
        for seq in 1..=self.count as u16 {
            let start = Instant::now();
            match echo(&fd, raw, addr, id, seq, self.size, self.timeout) {
                Ok(true) => {
                    let rtt = start.elapsed();
                    return Outcome::ok(format!(
                        "ping to {} answered in {:.3} ms",
                        self.host,
                        rtt.as_secs_f64() * 1e3
                    ))
                    .with(Metric::ResponseTime, rtt.as_secs_f64());
                }
                Ok(false) => {}
                Err(e) => {
                    return Outcome::failed(
                        Status::Failed,
                        format!("ping to {} failed: {e}", self.host),
                    );
                }
            }
        }
        Outcome::failed(
            Status::Failed,
            format!(
                "ping to {} got no answer to {} requests",
                self.host, self.count
            ),
        )
    }
}

/// A datagram ICMP socket, or a raw one when that is refused; true: raw.
fn open(ip: IpAddr) -> rustix::io::Result<(OwnedFd, bool)> {
    let (family, proto) = match ip {
        IpAddr::V4(_) => (AddressFamily::INET, ipproto::ICMP),
        IpAddr::V6(_) => (AddressFamily::INET6, ipproto::ICMPV6),
    };
    match rustix::net::socket(family, SocketType::DGRAM, Some(proto)) {
        Ok(fd) => Ok((fd, false)),
        Err(_) => rustix::net::socket(family, SocketType::RAW, Some(proto)).map(|fd| (fd, true)),
    }
}

/// One echo request and its reply within `timeout`; Ok(false) on no reply.
fn echo(
    fd: &OwnedFd,
    raw: bool,
    to: SocketAddr,
    id: u16,
    seq: u16,
    size: usize,
    timeout: Duration,
) -> std::io::Result<bool> {
    let v6 = to.is_ipv6();
    let packet = request(v6, id, seq, size);
    rustix::net::sendto(fd, &packet, SendFlags::empty(), &to)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; size + 128];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        rustix::net::sockopt::set_socket_timeout(
            fd,
            rustix::net::sockopt::Timeout::Recv,
            Some(left),
        )?;
        let n = match rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()) {
            Ok((n, _)) => n,
            Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::INTR => continue,
            Err(e) => return Err(e.into()),
        };
        // A raw IPv4 socket hands over the IP header too.
        let icmp = match (raw, v6) {
            (true, false) => buf.get(usize::from(buf[0] & 0x0f) * 4..n).unwrap_or(&[]),
            _ => &buf[..n],
        };
        if is_reply(icmp, v6, raw, id, seq) {
            return Ok(true);
        }
    }
}

/// An echo request: type, code, checksum, id, sequence, then payload.
pub fn request(v6: bool, id: u16, seq: u16, size: usize) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend((0..size).map(|i| i as u8));
    // ICMPv6 checksums cover a pseudo header: the kernel fills them in.
    if !v6 {
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// The Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo reply to our request. A datagram socket's kernel rewrites the
/// id (and only hands us our own replies), so only raw sockets check it.
fn is_reply(icmp: &[u8], v6: bool, raw: bool, id: u16, seq: u16) -> bool {
    let reply = if v6 { 129 } else { 0 };
    icmp.len() >= 8
        && icmp[0] == reply
        && u16::from_be_bytes([icmp[6], icmp[7]]) == seq
        && (!raw || u16::from_be_bytes([icmp[4], icmp[5]]) == id)
}

impl Probe for PingProbe {
    fn kind(&self) -> &'static str {
        "ping"
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.timeout * self.count + Duration::from_secs(1))
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        let probe = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || probe.ping())
                .await
                .unwrap_or_else(|e| Outcome::failed(Status::Error, e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_of_a_request_verifies_to_zero() {
        let p = request(false, 0x1234, 1, 56);
        assert_eq!(checksum(&p), 0);
        assert_eq!(&p[..2], &[8, 0]);
        assert_eq!(request(true, 1, 1, 8)[0], 128);
    }

    #[test]
    fn only_our_echo_reply_counts() {
        let mut reply = request(false, 7, 3, 8);
        assert!(
            !is_reply(&reply, false, true, 7, 3),
            "a request is not a reply"
        );
        reply[0] = 0;
        assert!(is_reply(&reply, false, true, 7, 3));
        assert!(!is_reply(&reply, false, true, 8, 3), "another pinger's id");
        assert!(
            is_reply(&reply, false, false, 8, 3),
            "datagram sockets rewrite ids"
        );
        assert!(!is_reply(&reply, false, true, 7, 4));
    }

    #[tokio::test]
    async fn loopback_answers_or_the_failure_says_not_permitted() {
        for host in ["127.0.0.1", "::1"] {
            let o = PingProbe::new(host.into(), Some(1), None, Some(Duration::from_secs(2)))
                .run()
                .await;
            assert!(
                o.is_ok() || o.reason.contains("not permitted"),
                "{host}: {o:?}"
            );
        }
    }
}
