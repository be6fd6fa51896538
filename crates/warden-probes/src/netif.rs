//! `check network`: an interface's link state, capacity (speed and
//! duplex), saturation and upload / download rates in bytes, packets and
//! errors per second, from `/sys/class/net/IF`, and the raw counters for
//! the totals (`transfer`).
//! An interface given by address is found through `getifaddrs`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use warden_config::model::NetworkTarget;

use crate::latest::Latest;
use crate::outcome::{Metric, Outcome, Status};
use crate::{BoxFuture, Probe};

/// Byte and packet counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counters {
    pub at: Instant,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
}

#[derive(Debug)]
pub struct NetworkProbe {
    target: NetworkTarget,
    root: PathBuf,
    last: Mutex<Option<(String, Counters)>>,
    latest: Arc<Latest>,
}

impl NetworkProbe {
    pub fn new(target: NetworkTarget, latest: Arc<Latest>) -> Self {
        NetworkProbe {
            target,
            root: PathBuf::from("/sys/class/net"),
            last: Mutex::new(None),
            latest,
        }
    }

    pub fn measure(&self) -> Outcome {
        let outcome = match self.interface() {
            Ok(name) => self.read(&name),
            Err(o) => o,
        };
        self.latest.publish(&outcome, None);
        outcome
    }

    fn interface(&self) -> Result<String, Outcome> {
        match &self.target {
            NetworkTarget::Interface(name) => Ok(name.clone()),
            NetworkTarget::Address(addr) => interface_of(addr).ok_or_else(|| {
                Outcome::failed(Status::Missing, format!("no interface has address {addr}"))
            }),
        }
    }

    fn read(&self, name: &str) -> Outcome {
        let dir = self.root.join(name);
        if !dir.exists() {
            return Outcome::failed(Status::Missing, format!("interface {name} does not exist"));
        }
        let up = link_up(&dir);
        let mut o = Outcome::ok(format!("link {name} is {}", if up { "up" } else { "down" }))
            .with(Metric::LinkUp, if up { 1.0 } else { 0.0 });
        let speed = number(&dir.join("speed"))
            .filter(|s| *s > 0)
            .map(|mbit| mbit as f64 * 1e6);
        if let Some(bits) = speed {
            o = o.with(Metric::LinkSpeed, bits);
        }
        // Unknown (loopback, virtual links): read fails, no figure.
        let duplex = std::fs::read_to_string(dir.join("duplex"))
            .ok()
            .and_then(|d| match d.trim() {
                "full" => Some(true),
                "half" => Some(false),
                _ => None,
            });
        if let Some(full) = duplex {
            o = o.with(Metric::LinkDuplex, if full { 1.0 } else { 0.0 });
        }
        let Some(now) = counters(&dir) else {
            return o;
        };
        o = o
            .with(Metric::DownloadedBytes, now.rx_bytes as f64)
            .with(Metric::UploadedBytes, now.tx_bytes as f64)
            .with(Metric::DownloadedPackets, now.rx_packets as f64)
            .with(Metric::UploadedPackets, now.tx_packets as f64)
            .with(Metric::DownloadedErrors, now.rx_errors as f64)
            .with(Metric::UploadedErrors, now.tx_errors as f64);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, before)) = last.as_ref().filter(|(n, _)| n == name) {
            o = rates(o, before, &now, speed, duplex.unwrap_or(false));
        }
        *last = Some((name.to_string(), now));
        o
    }
}

/// Up when the kernel says so, or, for interfaces whose state is
/// `unknown` (loopback, tunnels), when they have a carrier.
fn link_up(dir: &Path) -> bool {
    let state = std::fs::read_to_string(dir.join("operstate")).unwrap_or_default();
    match state.trim() {
        "up" => true,
        "unknown" | "dormant" => number(&dir.join("carrier")) == Some(1),
        _ => false,
    }
}

fn number(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn counters(dir: &Path) -> Option<Counters> {
    let stat = |n: &str| number(&dir.join("statistics").join(n)).map(|v| v.max(0) as u64);
    Some(Counters {
        at: Instant::now(),
        rx_bytes: stat("rx_bytes")?,
        tx_bytes: stat("tx_bytes")?,
        rx_packets: stat("rx_packets")?,
        tx_packets: stat("tx_packets")?,
        rx_errors: stat("rx_errors").unwrap_or(0),
        tx_errors: stat("tx_errors").unwrap_or(0),
    })
}

/// Per-second rates between two readings, and saturation: the busier
/// direction of a full-duplex link, or both together on a half-duplex one,
/// over its capacity.
pub fn rates(
    o: Outcome,
    before: &Counters,
    now: &Counters,
    speed: Option<f64>,
    full_duplex: bool,
) -> Outcome {
    let secs = now.at.duration_since(before.at).as_secs_f64();
    if secs <= 0.0 {
        return o;
    }
    let rate = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
    let (down, up) = (
        rate(now.rx_bytes, before.rx_bytes),
        rate(now.tx_bytes, before.tx_bytes),
    );
    let mut o = o
        .with(Metric::DownloadBytes, down)
        .with(Metric::UploadBytes, up)
        .with(
            Metric::DownloadPackets,
            rate(now.rx_packets, before.rx_packets),
        )
        .with(
            Metric::UploadPackets,
            rate(now.tx_packets, before.tx_packets),
        )
        .with(
            Metric::DownloadErrors,
            rate(now.rx_errors, before.rx_errors),
        )
        .with(Metric::UploadErrors, rate(now.tx_errors, before.tx_errors));
    if let Some(bits) = speed {
        let used = if full_duplex { down.max(up) } else { down + up };
        o = o.with(Metric::Saturation, used * 8.0 * 100.0 / bits);
    }
    o
}

/// The interface that holds `addr`, through getifaddrs.
pub fn interface_of(addr: &str) -> Option<String> {
    let want: IpAddr = addr.parse().ok()?;
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        let a = ifa.address?;
        let ip = a
            .as_sockaddr_in()
            .map(|s| IpAddr::V4(s.ip()))
            .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))?;
        (ip == want).then_some(ifa.interface_name)
    })
}

impl Probe for NetworkProbe {
    fn kind(&self) -> &'static str {
        "network"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        // A few sysfs reads: inline.
        Box::pin(async move { self.measure() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn loopback_is_found_by_name_and_by_address_and_is_up() {
        assert_eq!(interface_of("127.0.0.1").as_deref(), Some("lo"));
        assert_eq!(interface_of("192.0.2.99"), None);
        let by_name = NetworkProbe::new(NetworkTarget::Interface("lo".into()), Arc::default());
        let by_addr = NetworkProbe::new(NetworkTarget::Address("127.0.0.1".into()), Arc::default());
        for probe in [by_name, by_addr] {
            let o = probe.measure();
            assert_eq!(o.value(Metric::LinkUp), Some(1.0), "{o:?}");
            // Traffic on loopback between two readings gives rates.
            let _ = std::net::UdpSocket::bind("127.0.0.1:0")
                .and_then(|s| s.send_to(b"x", "127.0.0.1:9"));
            std::thread::sleep(Duration::from_millis(20));
            let o = probe.measure();
            assert!(o.value(Metric::UploadBytes).is_some(), "{o:?}");
            assert!(o.value(Metric::DownloadedErrors).is_some(), "{o:?}");
            assert_eq!(o.value(Metric::LinkDuplex), None, "loopback has no duplex");
        }
    }

    #[test]
    fn a_missing_interface_is_missing() {
        let probe = NetworkProbe::new(NetworkTarget::Interface("nosuch9".into()), Arc::default());
        assert_eq!(probe.measure().status, Status::Missing);
    }

    #[test]
    fn saturation_is_the_busier_direction_on_full_duplex_and_the_sum_otherwise() {
        let at = Instant::now();
        let c = |s: u64, bytes: u64| Counters {
            at: at + Duration::from_secs(s),
            rx_bytes: bytes,
            tx_bytes: bytes / 2,
            rx_packets: bytes / 100,
            tx_packets: 0,
            rx_errors: s * 3,
            tx_errors: 0,
        };
        // 1,250,000 B/s down = 10 Mbit/s on a 100 Mbit/s link.
        let full = rates(
            Outcome::ok(""),
            &c(0, 0),
            &c(2, 2_500_000),
            Some(100e6),
            true,
        );
        assert_eq!(full.value(Metric::DownloadBytes), Some(1_250_000.0));
        assert_eq!(full.value(Metric::Saturation), Some(10.0));
        let half = rates(
            Outcome::ok(""),
            &c(0, 0),
            &c(2, 2_500_000),
            Some(100e6),
            false,
        );
        assert_eq!(half.value(Metric::Saturation), Some(15.0));
        assert_eq!(half.value(Metric::DownloadPackets), Some(12_500.0));
        assert_eq!(half.value(Metric::DownloadErrors), Some(3.0));
        assert_eq!(half.value(Metric::UploadErrors), Some(0.0));
    }
}
