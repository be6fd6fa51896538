//! Monit 5.33's XML status document (`/_status?format=xml`), the one that
//! Nagios plugins, Telegraf, Netdata, PyPI's `monit` and M/Monit read:
//! `<monit>` with `<server>`, `<platform>` and one `<service type="N">` per
//! check, in config order, with the figures Monit gives for that type.
//! Element names, order and number formats follow Monit's document; a
//! figure Warden did not measure is left out, as Monit leaves out what it
//! has not collected.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use warden_config::Config;
use warden_config::model::{CheckKind, OnReboot};
use warden_engine::ServiceStatus;
use warden_engine::events::EventKind;
use warden_engine::status::MonitoringStatus;

use super::super::ControlState;
use super::MONIT_VERSION;

/// What `<server>` and `<platform>` say: this daemon and this machine.
#[derive(Debug, Clone)]
pub struct Server {
    pub id: String,
    pub incarnation: u64,
    pub uptime_s: u64,
    pub poll_s: u64,
    pub start_delay_s: u64,
    pub local_hostname: String,
    pub control_file: String,
    /// `set httpd port`: address, port and whether TLS is on.
    pub httpd: Option<(String, u16, bool)>,
    pub unix_socket: Option<String>,
    pub config: Arc<Config>,
}

impl Server {
    /// The running daemon, as its control state knows it.
    pub fn of(state: &ControlState) -> Server {
        let config = state.board().config();
        let s = &config.settings;
        let started = state.started();
        let since = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let httpd = s.httpd.as_ref().and_then(|h| {
            let port = h.port?;
            let address = h.address.clone().unwrap_or_else(|| "127.0.0.1".into());
            Some((address, port, h.ssl.is_some()))
        });
        let local_hostname = config
            .checks
            .iter()
            .find(|c| matches!(c.kind, CheckKind::System))
            .map(|c| c.name.value.clone())
            .unwrap_or_else(hostname);
        Server {
            id: state.monit_id().to_string(),
            incarnation: since(started),
            uptime_s: since(SystemTime::now()).saturating_sub(since(started)),
            poll_s: s.cycle.as_secs(),
            start_delay_s: s.start_delay.as_secs(),
            local_hostname,
            control_file: state
                .control_file()
                .map_or_else(String::new, |p| p.display().to_string()),
            httpd,
            unix_socket: state.socket_path().map(|p| p.display().to_string()),
            config: config.clone(),
        }
    }
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The whole document for `statuses` (config order).
pub fn document(server: &Server, statuses: &[ServiceStatus]) -> String {
    let mut x = String::with_capacity(1024 + 800 * statuses.len());
    x.push_str("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><monit>");
    head(&mut x, server);
    platform(&mut x);
    for s in statuses {
        service(&mut x, server, s);
    }
    x.push_str("</monit>");
    x
}

fn head(x: &mut String, server: &Server) {
    x.push_str("<server>");
    el(x, "id", &server.id);
    el(x, "incarnation", server.incarnation);
    el(x, "version", MONIT_VERSION);
    el(x, "uptime", server.uptime_s);
    el(x, "poll", server.poll_s);
    el(x, "startdelay", server.start_delay_s);
    el(x, "localhostname", &server.local_hostname);
    el(x, "controlfile", &server.control_file);
    if server.httpd.is_some() || server.unix_socket.is_some() {
        x.push_str("<httpd>");
        if let Some((address, port, ssl)) = &server.httpd {
            el(x, "address", address);
            el(x, "port", port);
            el(x, "ssl", u8::from(*ssl));
        }
        if let Some(path) = &server.unix_socket {
            el(x, "unixsocket", path);
        }
        x.push_str("</httpd>");
    }
    x.push_str("</server>");
}

fn platform(x: &mut String) {
    let uname = rustix::system::uname();
    let text = |s: &std::ffi::CStr| s.to_string_lossy().into_owned();
    let (memory_kb, swap_kb) = meminfo();
    x.push_str("<platform>");
    el(x, "name", text(uname.sysname()));
    el(x, "release", text(uname.release()));
    el(x, "version", text(uname.version()));
    el(x, "machine", text(uname.machine()));
    el(
        x,
        "cpu",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    el(x, "memory", memory_kb);
    el(x, "swap", swap_kb);
    x.push_str("</platform>");
}

/// MemTotal and SwapTotal in kB, as Monit sends them.
fn meminfo() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("MemTotal:"), field("SwapTotal:"))
}

/// Monit's service type numbers.
pub fn type_number(kind: &CheckKind) -> u8 {
    match kind {
        CheckKind::Filesystem { .. } => 0,
        CheckKind::Directory { .. } => 1,
        CheckKind::File { .. } => 2,
        CheckKind::Process { .. } => 3,
        CheckKind::Host { .. } => 4,
        CheckKind::System => 5,
        CheckKind::Fifo { .. } => 6,
        CheckKind::Program { .. } => 7,
        CheckKind::Network { .. } => 8,
    }
}

/// Monit's legacy event class bits for what a service fails with (the
/// `<status>` mask M/Monit and the plugins read; 0 is OK).
pub fn event_bits(failing: Option<EventKind>) -> u32 {
    match failing {
        Some(EventKind::DoesNotExist | EventKind::Zombie) => 0x200,
        Some(EventKind::ConnectionFailed) => 0x20,
        Some(EventKind::ResourceLimit) => 0x2,
        Some(EventKind::ProbeTimeout | EventKind::Timeout) => 0x4,
        Some(EventKind::ActionFailed) => 0x1000,
        Some(EventKind::Failed) => 0x20_0000,
        _ => 0,
    }
}

fn service(x: &mut String, server: &Server, s: &ServiceStatus) {
    let Some(check) = server.config.check(&s.name) else {
        return;
    };
    let _ = write!(x, "<service type=\"{}\">", type_number(&check.kind));
    el(x, "name", &s.name);
    el(x, "collected_sec", s.last_check_unix_s.unwrap_or(0));
    el(x, "collected_usec", 0);
    el(x, "status", event_bits(s.failing));
    el(x, "status_hint", 0);
    let monitor = match s.monitoring {
        MonitoringStatus::NotMonitored => 0,
        MonitoringStatus::Monitored => 1,
        MonitoringStatus::Initializing => 2,
    };
    el(x, "monitor", monitor);
    let mode = match s.mode.as_str() {
        "passive" => 1,
        "manual" => 2,
        _ => 0,
    };
    el(x, "monitormode", mode);
    let onreboot = match check.onreboot.or(server.config.settings.onreboot) {
        Some(OnReboot::NoStart) => 1,
        Some(OnReboot::Laststate) => 2,
        _ => 0,
    };
    el(x, "onreboot", onreboot);
    el(x, "pendingaction", 0);
    if s.monitoring != MonitoringStatus::NotMonitored {
        figures(x, &check.kind, s);
    }
    x.push_str("</service>");
}

/// The figures of one type, in Monit's order.
fn figures(x: &mut String, kind: &CheckKind, s: &ServiceStatus) {
    if let CheckKind::Process { .. } = kind {
        let Some(pid) = s.pid else {
            return;
        };
        el(x, "pid", pid);
        opt(x, "ppid", s.ppid);
        opt(x, "uptime", s.uptime_s);
        opt(x, "threads", s.threads);
        opt(x, "children", s.children);
        if let (Some(kb), Some(kbt)) = (s.memory_bytes, s.total_memory_bytes) {
            x.push_str("<memory>");
            el(
                x,
                "percent",
                format!("{:.1}", s.memory_percent.unwrap_or(0.0)),
            );
            el(
                x,
                "percenttotal",
                format!("{:.1}", s.total_memory_percent.unwrap_or(0.0)),
            );
            el(x, "kilobyte", kb / 1024);
            el(x, "kilobytetotal", kbt / 1024);
            x.push_str("</memory>");
        }
        if let Some(cpu) = s.cpu_percent {
            x.push_str("<cpu>");
            el(x, "percent", format!("{cpu:.1}"));
            el(
                x,
                "percenttotal",
                format!("{:.1}", s.total_cpu_percent.unwrap_or(cpu)),
            );
            x.push_str("</cpu>");
        }
    }
}

fn opt<T: std::fmt::Display>(x: &mut String, name: &str, value: Option<T>) {
    if let Some(v) = value {
        el(x, name, v);
    }
}

/// `<name>value</name>`, the value escaped for XML text.
fn el(x: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(x, "<{name}>");
    let text = value.to_string();
    for c in text.chars() {
        match c {
            '&' => x.push_str("&amp;"),
            '<' => x.push_str("&lt;"),
            '>' => x.push_str("&gt;"),
            c => x.push(c),
        }
    }
    let _ = write!(x, "</{name}>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_are_plain() {
        let mut x = String::new();
        el(&mut x, "name", "a<b>&c");
        el(&mut x, "pid", 42);
        assert_eq!(x, "<name>a&lt;b&gt;&amp;c</name><pid>42</pid>");
    }

    #[test]
    fn failures_map_to_monit_event_classes() {
        assert_eq!(event_bits(None), 0);
        assert_eq!(event_bits(Some(EventKind::DoesNotExist)), 0x200);
        assert_eq!(event_bits(Some(EventKind::ConnectionFailed)), 0x20);
        assert_eq!(event_bits(Some(EventKind::ResourceLimit)), 0x2);
        assert_eq!(event_bits(Some(EventKind::Recovered)), 0);
    }
}
