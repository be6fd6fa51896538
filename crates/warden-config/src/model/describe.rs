//! The model in Monit's words again (`if failed port 80 protocol http then
//! restart`): for `warden plan`, logs, status and alerts.

use std::fmt::{self, Display, Formatter};
use std::time::Duration;

use super::check::{Action, CheckKind, NetworkTarget, ProcessTarget, Schedule, Trigger};
use super::measure::{Operator, Quantity, Unit};
use super::protocol::Protocol;
use super::test::{Connection, Endpoint, IpVersion, Resource, SocketType, Test};

/// A duration the way a person writes it: `500 ms`, `5 s`, `2 min`, `3 h`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0 s".into(),
        m if m % 3_600_000 == 0 => format!("{} h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{} min", m / 60_000),
        m if m % 1000 == 0 => format!("{} s", m / 1000),
        m => format!("{m} ms"),
    }
}

impl Display for Quantity {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.unit {
            Unit::Percent => write!(f, "{}%", self.value),
            Unit::Bytes => write!(f, "{}", bytes(self.value)),
            Unit::Seconds => write!(f, "{} s", self.value),
            Unit::Count => write!(f, "{}", self.value),
            Unit::BytesPerSecond => write!(f, "{}/s", bytes(self.value)),
            Unit::PacketsPerSecond => write!(f, "{} packets/s", self.value),
            Unit::OpsPerSecond => write!(f, "{} operations/s", self.value),
        }
    }
}

/// Bytes in the largest unit that keeps the number whole-ish.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = b;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl Display for Resource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::Cpu => "cpu",
            Resource::TotalCpu => "total cpu",
            Resource::CpuUser => "cpu user",
            Resource::CpuSystem => "cpu system",
            Resource::CpuWait => "cpu wait",
            Resource::Memory => "memory",
            Resource::TotalMemory => "total memory",
            Resource::Swap => "swap",
            Resource::Children => "children",
            Resource::Threads => "threads",
            Resource::LoadAvg1 => "loadavg (1min)",
            Resource::LoadAvg5 => "loadavg (5min)",
            Resource::LoadAvg15 => "loadavg (15min)",
            Resource::LoadAvg1PerCore => "loadavg (1min) per core",
            Resource::LoadAvg5PerCore => "loadavg (5min) per core",
            Resource::LoadAvg15PerCore => "loadavg (15min) per core",
            Resource::FileDescriptors => "file descriptors",
            Resource::TotalFileDescriptors => "total file descriptors",
            Resource::ReadBytes => "disk read",
            Resource::WriteBytes => "disk write",
            Resource::ReadOps => "disk read operations",
            Resource::WriteOps => "disk write operations",
            Resource::ServiceTime => "service time",
        })
    }
}

impl Display for Endpoint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Port {
                host,
                port,
                ip,
                socket,
            } => {
                if let Some(h) = host {
                    write!(f, "host {h} ")?;
                }
                write!(f, "port {port}")?;
                match ip {
                    IpVersion::Any => {}
                    IpVersion::V4 => f.write_str(" ipv4")?,
                    IpVersion::V6 => f.write_str(" ipv6")?,
                }
                socket_type(f, *socket)
            }
            Endpoint::UnixSocket { path, socket } => {
                write!(f, "unixsocket {}", path.display())?;
                socket_type(f, *socket)
            }
        }
    }
}

fn socket_type(f: &mut Formatter<'_>, socket: SocketType) -> fmt::Result {
    match socket {
        SocketType::Tcp => Ok(()),
        SocketType::Udp => f.write_str(" type udp"),
        SocketType::TcpSsl => f.write_str(" type tcpssl"),
    }
}

impl Display for Connection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "failed {}", self.endpoint)?;
        if self.protocol != Protocol::Default {
            write!(f, " protocol {}", self.protocol)?;
        }
        if let Some(r) = &self.options.request {
            write!(f, " request \"{r}\"")?;
        }
        if let Some((op, code)) = &self.options.status {
            write!(f, " status {} {code}", op.symbol())?;
        }
        if !self.exchange.is_empty() {
            write!(f, " send/expect ({} steps)", self.exchange.len())?;
        }
        if let Some(t) = self.timeout {
            write!(f, " timeout {}", duration(t))?;
        }
        if let Some(r) = self.retry {
            write!(f, " retry {r}")?;
        }
        if let Some(r) = &self.options.response_time {
            write!(f, " responsetime {} {}", r.op.symbol(), duration(r.limit))?;
        }
        if let Some(a) = &self.options.source_address {
            write!(f, " address {a}")?;
        }
        Ok(())
    }
}

impl Display for Test {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let changed = |f: &mut Formatter<'_>, what: &str| write!(f, "changed {what}");
        match self {
            Test::NotExist => f.write_str("does not exist"),
            Test::Exist => f.write_str("exist"),
            Test::Resource {
                resource,
                op,
                limit,
            } => write!(f, "{resource} {} {limit}", op.symbol()),
            Test::Connection(c) => write!(f, "{c}"),
            Test::Url(u) => write!(f, "failed url {}", u.url),
            Test::Ping { .. } => f.write_str("failed ping"),
            Test::Restarts { count, cycles } => {
                write!(f, "{count} restarts within {cycles} cycles")
            }
            Test::Permission(p) => write!(f, "failed permission {p:04o}"),
            Test::Uid(u) => write!(f, "failed uid {u}"),
            Test::Gid(g) => write!(f, "failed gid {g}"),
            Test::Checksum { changed: true, .. } => changed(f, "checksum"),
            Test::Checksum { expected, .. } => {
                write!(
                    f,
                    "failed checksum expect {}",
                    expected.as_deref().unwrap_or("?")
                )
            }
            Test::Timestamp { changed: true, .. } => changed(f, "timestamp"),
            Test::Timestamp { compare, .. } => compared(f, "timestamp", compare),
            Test::Size { changed: true, .. } => changed(f, "size"),
            Test::Size { compare, .. } => compared(f, "size", compare),
            Test::Content { matches, pattern } => {
                write!(
                    f,
                    "content {} \"{pattern}\"",
                    if *matches { "=" } else { "!=" }
                )
            }
            Test::Space {
                inode,
                free,
                op,
                limit,
            } => {
                let what = if *inode { "inode" } else { "space" };
                let how = if *free { "free" } else { "usage" };
                write!(f, "{what} {how} {} {limit}", op.symbol())
            }
            Test::FsFlagsChanged => changed(f, "fsflags"),
            Test::PermissionChanged => changed(f, "permission"),
            Test::Status { changed: true, .. } => changed(f, "status"),
            Test::Status { compare, .. } => match compare {
                Some((op, n)) => write!(f, "status {} {n}", op.symbol()),
                None => f.write_str("status"),
            },
            Test::PidChanged => changed(f, "pid"),
            Test::PpidChanged => changed(f, "ppid"),
            Test::Link {
                changed: true,
                capacity: true,
            } => changed(f, "link capacity"),
            Test::Link { changed: true, .. } => changed(f, "link"),
            Test::Link { .. } => f.write_str("failed link"),
            Test::Saturation { op, limit } => write!(f, "saturation {} {limit}", op.symbol()),
            Test::Transfer {
                direction,
                op,
                limit,
                window,
            } => {
                let dir = format!("{direction:?}").to_lowercase();
                match window {
                    Some(w) => write!(
                        f,
                        "total {dir} {} {limit} in last {}",
                        op.symbol(),
                        duration(*w)
                    ),
                    None => write!(f, "{dir} {} {limit}/s", op.symbol()),
                }
            }
            Test::Uptime { op, limit } => write!(f, "uptime {} {limit}", op.symbol()),
            Test::Resolve(r) => write!(f, "failed resolve \"{}\"", r.name),
        }
    }
}

fn compared(
    f: &mut Formatter<'_>,
    what: &str,
    compare: &Option<(Operator, Quantity)>,
) -> fmt::Result {
    match compare {
        Some((op, q)) => write!(f, "{what} {} {q}", op.symbol()),
        None => f.write_str(what),
    }
}

impl Display for Action {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Action::Alert => f.write_str("alert"),
            Action::Restart => f.write_str("restart"),
            Action::Start => f.write_str("start"),
            Action::Stop => f.write_str("stop"),
            Action::Monitor => f.write_str("monitor"),
            Action::Unmonitor => f.write_str("unmonitor"),
            Action::Exec {
                program,
                repeat_every,
            } => {
                write!(f, "exec \"{}\"", program.command)?;
                match repeat_every {
                    Some(n) => write!(f, " repeat every {n} cycles"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Display for Trigger {
    /// Empty for the default `1 within 1`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match (self.times, self.within) {
            (1, 1) => Ok(()),
            (t, w) if t == w => write!(f, "for {t} cycles"),
            (t, w) => write!(f, "{t} times within {w} cycles"),
        }
    }
}

impl Display for Schedule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cycles(1) => f.write_str("every cycle"),
            Schedule::Cycles(n) => write!(f, "every {n} cycles"),
            Schedule::Cron(c) => write!(f, "every \"{c}\""),
            Schedule::NotCron(c) => write!(f, "not every \"{c}\""),
            Schedule::Interval(d) => write!(f, "every {}", duration(*d)),
        }
    }
}

impl CheckKind {
    /// What the check watches, in words: `pidfile /run/x.pid`, `path /etc`.
    pub fn target(&self) -> String {
        match self {
            CheckKind::Process { target } => match target {
                ProcessTarget::Pidfile(p) => format!("pidfile {}", p.display()),
                ProcessTarget::Matching(re) => format!("matching \"{re}\""),
                ProcessTarget::Pid(pid) => format!("pid {pid}"),
                ProcessTarget::SystemdUnit(u) => format!("systemd unit \"{u}\""),
            },
            CheckKind::File { path }
            | CheckKind::Directory { path }
            | CheckKind::Fifo { path }
            | CheckKind::Filesystem { path } => format!("path {}", path.display()),
            CheckKind::Host { address } => format!("address {address}"),
            CheckKind::System => "this machine".into(),
            CheckKind::Program { program } => format!("path \"{}\"", program.command),
            CheckKind::Network { target } => match target {
                NetworkTarget::Address(a) => format!("address {a}"),
                NetworkTarget::Interface(i) => format!("interface {i}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_writes_them() {
        let cases = [
            (500, "500 ms"),
            (5_000, "5 s"),
            (120_000, "2 min"),
            (7_200_000, "2 h"),
            (1_500, "1500 ms"),
        ];
        for (ms, want) in cases {
            assert_eq!(duration(Duration::from_millis(ms)), want);
        }
    }

    #[test]
    fn byte_counts_use_the_largest_fitting_unit() {
        assert_eq!(bytes(200.0 * 1024.0 * 1024.0), "200 MB");
        assert_eq!(bytes(1536.0), "1.5 KB");
        assert_eq!(bytes(12.0), "12 B");
    }

    #[test]
    fn triggers_read_like_monit() {
        assert_eq!(
            Trigger {
                times: 1,
                within: 1
            }
            .to_string(),
            ""
        );
        assert_eq!(
            Trigger {
                times: 3,
                within: 3
            }
            .to_string(),
            "for 3 cycles"
        );
        assert_eq!(
            Trigger {
                times: 2,
                within: 5
            }
            .to_string(),
            "2 times within 5 cycles"
        );
    }
}
