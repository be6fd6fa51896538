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
use warden_config::model::{CheckKind, Mode, NameIndex, Schedule};
use warden_engine::ServiceStatus;

use warden_engine::events::EventKind;
use warden_engine::status::{MonitoringStatus, Reach, TestStatus, unix_s};
use warden_probes::Metric;

use super::super::figures::shows_figures;
use super::super::format::whole;
use super::super::{ControlState, MONIT_VERSION};

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
            .unwrap_or_else(warden_probes::program_env::hostname);
        Server {
            id: state.monit_id().to_string(),
            incarnation: unix_s(state.started()),
            uptime_s: state.uptime_s(),
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

/// The whole document for `statuses` (config order).
pub fn document(server: &Server, statuses: &[ServiceStatus]) -> String {
    let mut x = String::with_capacity(1024 + 800 * statuses.len());
    x.push_str("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><monit>");
    x.push_str("<server>");
    el(&mut x, "id", &server.id);
    el(&mut x, "incarnation", server.incarnation);
    el(&mut x, "version", MONIT_VERSION);
    head(&mut x, server);
    x.push_str("</server>");
    platform(&mut x);
    let index = NameIndex::new(&server.config.checks);
    for s in statuses {
        service(&mut x, server, &index, s, Layout::Status);
    }
    x.push_str("</monit>");
    x
}

/// One event of a collector message (`<event>`), in Monit's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMessage {
    pub collected_sec: u64,
    pub collected_usec: u32,
    /// The service's name, or `Monit` for the daemon's own events.
    pub service: String,
    /// The service's type number (5, the system's, for the daemon's own).
    pub service_type: u8,
    /// Monit's event id bit (0x200 does not exist, 0x10000 instance, ...).
    pub id: u32,
    /// 0 succeeded, 1 failed, 2 changed.
    pub state: u8,
    /// Monit's action number (1 alert, 2 restart, 3 stop, 6 start, ...).
    pub action: u8,
    pub message: String,
}

/// Monit's collector message (the document M/Monit's `/collector` reads,
/// Monit's format version 2): the same figures as [`document`], with the
/// daemon's id, incarnation and version as attributes of `<monit>`, the
/// httpd credentials M/Monit calls back with, the services under
/// `<services>` (each `<service name="N"><type>T</type>...`), the groups
/// under `<servicegroups>`, and the event, when there is one, last.
pub fn collector_document(
    server: &Server,
    statuses: &[ServiceStatus],
    credentials: Option<(&str, &str)>,
    event: Option<&EventMessage>,
) -> String {
    let mut x = String::with_capacity(1536 + 800 * statuses.len());
    x.push_str("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><monit id=\"");
    attr(&mut x, &server.id);
    let _ = write!(
        x,
        "\" incarnation=\"{}\" version=\"{MONIT_VERSION}\"><server>",
        server.incarnation
    );
    head(&mut x, server);
    // Monit sends them only with an httpd: they are how M/Monit reaches it.
    if let (Some((user, password)), true) = (credentials, server.httpd.is_some()) {
        x.push_str("<credentials>");
        el(&mut x, "username", user);
        el(&mut x, "password", password);
        x.push_str("</credentials>");
    }
    x.push_str("</server>");
    platform(&mut x);
    x.push_str("<services>");
    let index = NameIndex::new(&server.config.checks);
    for s in statuses {
        service(&mut x, server, &index, s, Layout::Collector);
    }
    x.push_str("</services><servicegroups>");
    for (group, members) in groups(statuses) {
        x.push_str("<servicegroup name=\"");
        attr(&mut x, group);
        x.push_str("\">");
        for m in members {
            el(&mut x, "service", m);
        }
        x.push_str("</servicegroup>");
    }
    x.push_str("</servicegroups>");
    if let Some(e) = event {
        x.push_str("<event>");
        el(&mut x, "collected_sec", e.collected_sec);
        el(&mut x, "collected_usec", e.collected_usec);
        el(&mut x, "service", &e.service);
        el(&mut x, "type", e.service_type);
        el(&mut x, "id", e.id);
        el(&mut x, "state", e.state);
        el(&mut x, "action", e.action);
        x.push_str("<message>");
        cdata(&mut x, &e.message);
        x.push_str("</message></event>");
    }
    x.push_str("</monit>");
    x
}

/// Each group with its members, groups in the order they first appear.
fn groups(statuses: &[ServiceStatus]) -> Vec<(&str, Vec<&str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in statuses {
        for g in &s.groups {
            match out.iter_mut().find(|(name, _)| name == g) {
                Some((_, members)) => members.push(&s.name),
                None => out.push((g, vec![&s.name])),
            }
        }
    }
    out
}

/// Which of Monit's two layouts a service is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `/_status?format=xml`: `<service type="N"><name>...`.
    Status,
    /// The collector's: `<service name="..."><type>N</type>...`.
    Collector,
}

/// `<server>`'s figures after the id, incarnation and version.
fn head(x: &mut String, server: &Server) {
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

/// `index`: the config's checks by name, made once per document (a
/// search through the checks for each service made a 10,000-check
/// document cost 0.4 s, a quarter of it comparing names).
fn service(x: &mut String, server: &Server, index: &NameIndex, s: &ServiceStatus, layout: Layout) {
    let checks = &server.config.checks;
    let Some(check) = index.find(checks, &s.name).and_then(|i| checks.get(i)) else {
        return;
    };
    let number = check.kind.check_type().monit_number();
    match layout {
        Layout::Status => {
            let _ = write!(x, "<service type=\"{number}\">");
            el(x, "name", &s.name);
        }
        Layout::Collector => {
            x.push_str("<service name=\"");
            attr(x, &s.name);
            x.push_str("\">");
            el(x, "type", number);
        }
    }
    el(x, "collected_sec", s.last_check_unix_s.unwrap_or(0));
    el(x, "collected_usec", s.last_check_usec.unwrap_or(0));
    el(x, "status", event_bits(s.failing));
    el(x, "status_hint", 0);
    let monitor = match s.monitoring {
        MonitoringStatus::NotMonitored => 0,
        MonitoringStatus::Monitored => 1,
        MonitoringStatus::Initializing => 2,
    };
    el(x, "monitor", monitor);
    let mode = match s.mode {
        Mode::Active => 0,
        Mode::Passive => 1,
        Mode::Manual => 2,
    };
    el(x, "monitormode", mode);
    let onreboot = match s.on_reboot.as_ref() {
        "nostart" => 1,
        "laststate" => 2,
        _ => 0,
    };
    el(x, "onreboot", onreboot);
    el(x, "pendingaction", 0);
    every(
        x,
        &check.schedule,
        s,
        server.poll_s,
        unix_s(SystemTime::now()),
    );
    if shows_figures(s) {
        figures(x, &check.kind, s);
    }
    x.push_str("</service>");
}

/// Monit's `<every>` for a check with its own schedule: type 2 with the
/// cycles counted since the last run (`counter`, 0 to `number` - 1) for
/// `every N cycles`, 3 and 4 with the spec for `every` and `not every` a
/// cron spec. Warden's `every 5 s` has no Monit form and no element.
fn every(x: &mut String, schedule: &Schedule, s: &ServiceStatus, poll_s: u64, now: u64) {
    match schedule {
        Schedule::Cycles(n) if *n > 1 => {
            // Warden runs such a check on its own timer: the cycles since
            // its last run stand for Monit's count of skipped cycles.
            let since = s.last_check_unix_s.map_or(0, |t| now.saturating_sub(t));
            let counter = (since / poll_s.max(1)).min(u64::from(*n - 1));
            let _ = write!(
                x,
                "<every><type>2</type><counter>{counter}</counter><number>{n}</number></every>"
            );
        }
        Schedule::Cron(spec) | Schedule::NotCron(spec) => {
            let kind = if matches!(schedule, Schedule::Cron(_)) {
                3
            } else {
                4
            };
            let _ = write!(x, "<every><type>{kind}</type>");
            el(x, "cron", spec.as_str());
            x.push_str("</every>");
        }
        Schedule::Cycles(_) | Schedule::Interval(_) => {}
    }
}

/// The figures of one type, in Monit's order: the type's own, then the
/// connection tests, then the system's and the program's blocks.
fn figures(x: &mut String, kind: &CheckKind, s: &ServiceStatus) {
    match kind {
        CheckKind::Process { .. } => process(x, s),
        CheckKind::Filesystem { .. } => filesystem(x, s),
        CheckKind::File { .. } | CheckKind::Directory { .. } | CheckKind::Fifo { .. } => {
            file(x, kind, s)
        }
        CheckKind::System => system_files(x, s),
        CheckKind::Network { .. } => link(x, s),
        CheckKind::Host { .. } | CheckKind::Program { .. } => {}
    }
    for t in &s.tests {
        tested(x, t);
    }
    match kind {
        CheckKind::System => system(x, s),
        CheckKind::Program { .. } => program(x, s),
        CheckKind::Process { .. }
        | CheckKind::Filesystem { .. }
        | CheckKind::File { .. }
        | CheckKind::Directory { .. }
        | CheckKind::Fifo { .. }
        | CheckKind::Host { .. }
        | CheckKind::Network { .. } => {}
    }
}

/// A percentage or a size in MB as Monit's XML writes it: one decimal,
/// no unit.
fn tenths(v: f64) -> Tenths {
    Tenths(v)
}

/// Formatted into the document as it is written, not into a string first.
struct Tenths(f64);

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

fn metric_el(x: &mut String, name: &str, s: &ServiceStatus, metric: Metric) {
    opt(x, name, s.metric(metric).map(whole));
}

fn process(x: &mut String, s: &ServiceStatus) {
    let Some(pid) = s.pid else {
        return;
    };
    el(x, "pid", pid);
    opt(x, "ppid", s.ppid);
    metric_el(x, "uid", s, Metric::Uid);
    metric_el(x, "euid", s, Metric::Euid);
    metric_el(x, "gid", s, Metric::Gid);
    opt(x, "uptime", s.uptime_s);
    opt(x, "threads", s.threads);
    opt(x, "children", s.children);
    if let Some(b) = s.memory_bytes {
        x.push_str("<memory>");
        opt(x, "percent", s.memory_percent.map(tenths));
        opt(x, "percenttotal", s.total_memory_percent.map(tenths));
        el(x, "kilobyte", b / 1024);
        opt(x, "kilobytetotal", s.total_memory_bytes.map(|b| b / 1024));
        x.push_str("</memory>");
    }
    if s.cpu_percent.is_some() || s.total_cpu_percent.is_some() {
        x.push_str("<cpu>");
        opt(x, "percent", s.cpu_percent.map(tenths));
        opt(x, "percenttotal", s.total_cpu_percent.map(tenths));
        x.push_str("</cpu>");
    }
    if s.metric(Metric::FileDescriptors).is_some() {
        x.push_str("<filedescriptors>");
        metric_el(x, "open", s, Metric::FileDescriptors);
        metric_el(x, "opentotal", s, Metric::TotalFileDescriptors);
        let (soft, hard) = (
            Metric::FileDescriptorsSoftLimit,
            Metric::FileDescriptorsHardLimit,
        );
        if s.metric(soft).is_some() || s.metric(hard).is_some() {
            x.push_str("<limit>");
            metric_el(x, "soft", s, soft);
            metric_el(x, "hard", s, hard);
            x.push_str("</limit>");
        }
        x.push_str("</filedescriptors>");
    }
    for (name, parts) in [
        (
            "read",
            [
                ("bytesgeneric", Metric::ReadBytes, Metric::ReadBytesTotal),
                ("bytes", Metric::DiskReadBytes, Metric::DiskReadBytesTotal),
                (
                    "operations",
                    Metric::ReadOperations,
                    Metric::ReadOperationsTotal,
                ),
            ],
        ),
        (
            "write",
            [
                ("bytesgeneric", Metric::WriteBytes, Metric::WriteBytesTotal),
                ("bytes", Metric::DiskWriteBytes, Metric::DiskWriteBytesTotal),
                (
                    "operations",
                    Metric::WriteOperations,
                    Metric::WriteOperationsTotal,
                ),
            ],
        ),
    ] {
        io(x, s, name, &parts);
    }
}

/// `<read>` or `<write>`: per part, the rate (0 until two readings, as
/// Monit) and the total.
fn io(x: &mut String, s: &ServiceStatus, name: &str, parts: &[(&str, Metric, Metric)]) {
    let _ = write!(x, "<{name}>");
    for (part, rate, total) in parts {
        if let Some(t) = s.metric(*total) {
            let _ = write!(x, "<{part}>");
            el(
                x,
                "count",
                format_args!("{:.0}", s.metric(*rate).unwrap_or(0.0)),
            );
            el(x, "total", whole(t));
            let _ = write!(x, "</{part}>");
        }
    }
    let _ = write!(x, "</{name}>");
}

fn owner(x: &mut String, s: &ServiceStatus) {
    opt(
        x,
        "mode",
        s.metric(Metric::Permission)
            .map(|p| format!("{:o}", whole(p))),
    );
    metric_el(x, "uid", s, Metric::Uid);
    metric_el(x, "gid", s, Metric::Gid);
}

fn filesystem(x: &mut String, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    opt(x, "fstype", s.fs_type.as_deref());
    opt(x, "fsflags", s.fs_flags.as_deref());
    owner(x, s);
    if let Some(pct) = m(Metric::SpaceUsedPercent) {
        let mb = |b: Option<f64>| tenths(b.unwrap_or(0.0) / 1_048_576.0);
        x.push_str("<block>");
        el(x, "percent", tenths(pct));
        el(x, "usage", mb(m(Metric::SpaceUsed)));
        el(x, "total", mb(m(Metric::SpaceTotal)));
        x.push_str("</block>");
    }
    if let Some(total) = m(Metric::InodeTotal).filter(|t| *t > 0.0) {
        x.push_str("<inode>");
        opt(x, "percent", m(Metric::InodeUsedPercent).map(tenths));
        metric_el(x, "usage", s, Metric::InodeUsed);
        el(x, "total", whole(total));
        x.push_str("</inode>");
    }
    io(
        x,
        s,
        "read",
        &[
            ("bytes", Metric::ReadBytes, Metric::ReadBytesTotal),
            (
                "operations",
                Metric::ReadOperations,
                Metric::ReadOperationsTotal,
            ),
        ],
    );
    io(
        x,
        s,
        "write",
        &[
            ("bytes", Metric::WriteBytes, Metric::WriteBytesTotal),
            (
                "operations",
                Metric::WriteOperations,
                Metric::WriteOperationsTotal,
            ),
        ],
    );
    if let (Some(read), Some(write)) = (m(Metric::ReadTime), m(Metric::WriteTime)) {
        x.push_str("<servicetime>");
        el(x, "read", format_args!("{read:.3}"));
        el(x, "write", format_args!("{write:.3}"));
        x.push_str("</servicetime>");
    }
}

fn file(x: &mut String, kind: &CheckKind, s: &ServiceStatus) {
    if s.metric(Metric::Permission).is_none() {
        return;
    }
    owner(x, s);
    // Whole seconds, as `stat` gives them to Monit (never rounded up).
    x.push_str("<timestamps>");
    for (name, metric) in [
        ("access", Metric::AccessTime),
        ("change", Metric::ChangeTime),
        ("modify", Metric::ModifyTime),
    ] {
        opt(x, name, s.metric(metric).map(|t| t.floor() as i64));
    }
    x.push_str("</timestamps>");
    if let CheckKind::File { .. } = kind {
        metric_el(x, "size", s, Metric::Size);
        if let Some(c) = &s.checksum {
            let _ = write!(x, "<checksum type=\"{}\">", c.algorithm);
            text(x, &c.digest);
            x.push_str("</checksum>");
        }
    }
}

fn system_files(x: &mut String, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    if let (Some(used), Some(max)) = (m(Metric::FileDescriptors), m(Metric::FileDescriptorsMax)) {
        let unused = m(Metric::FileDescriptorsUnused).unwrap_or(0.0);
        x.push_str("<filedescriptors>");
        el(x, "allocated", whole(used + unused));
        el(x, "unused", whole(unused));
        el(x, "maximum", whole(max));
        x.push_str("</filedescriptors>");
    }
}

fn system(x: &mut String, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    x.push_str("<system><load>");
    for (name, metric) in [
        ("avg01", Metric::LoadAvg1),
        ("avg05", Metric::LoadAvg5),
        ("avg15", Metric::LoadAvg15),
    ] {
        opt(x, name, m(metric).map(|v| format!("{v:.2}")));
    }
    x.push_str("</load><cpu>");
    for (name, metric) in [
        ("user", Metric::CpuUser),
        ("system", Metric::CpuSystem),
        ("nice", Metric::CpuNice),
        ("wait", Metric::CpuWait),
        ("hardirq", Metric::CpuHardIrq),
        ("softirq", Metric::CpuSoftIrq),
        ("steal", Metric::CpuSteal),
        ("guest", Metric::CpuGuest),
        ("guestnice", Metric::CpuGuestNice),
    ] {
        opt(x, name, m(metric).map(tenths));
    }
    x.push_str("</cpu>");
    for (name, amount, pct) in [
        ("memory", Metric::Memory, Metric::MemoryPercent),
        ("swap", Metric::Swap, Metric::SwapPercent),
    ] {
        let _ = write!(x, "<{name}>");
        opt(x, "percent", m(pct).map(tenths));
        opt(x, "kilobyte", m(amount).map(|b| whole(b) / 1024));
        let _ = write!(x, "</{name}>");
    }
    x.push_str("</system>");
}

fn link(x: &mut String, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    let Some(up) = m(Metric::LinkUp) else {
        return;
    };
    // Monit's -1: not known (a loopback has no speed or duplex).
    x.push_str("<link>");
    el(x, "state", whole(up));
    el(x, "speed", m(Metric::LinkSpeed).map_or(-1, whole));
    el(x, "duplex", m(Metric::LinkDuplex).map_or(-1, whole));
    for (name, per_second, totals) in [
        (
            "download",
            [
                Metric::DownloadPackets,
                Metric::DownloadBytes,
                Metric::DownloadErrors,
            ],
            [
                Metric::DownloadedPackets,
                Metric::DownloadedBytes,
                Metric::DownloadedErrors,
            ],
        ),
        (
            "upload",
            [
                Metric::UploadPackets,
                Metric::UploadBytes,
                Metric::UploadErrors,
            ],
            [
                Metric::UploadedPackets,
                Metric::UploadedBytes,
                Metric::UploadedErrors,
            ],
        ),
    ] {
        let _ = write!(x, "<{name}>");
        for (i, part) in ["packets", "bytes", "errors"].into_iter().enumerate() {
            let _ = write!(x, "<{part}>");
            el(x, "now", m(per_second[i]).map_or(0, |v| v.floor() as i64));
            el(x, "total", m(totals[i]).map_or(0, whole));
            let _ = write!(x, "</{part}>");
        }
        let _ = write!(x, "</{name}>");
    }
    x.push_str("</link>");
}

/// Seconds with Monit's six decimals, -1 when the test failed or has not
/// run.
fn seconds(t: &TestStatus) -> String {
    match t.response_time_ms {
        Some(ms) if !t.failed => format!("{:.6}", ms / 1000.0),
        _ => "-1.000000".to_string(),
    }
}

fn tested(x: &mut String, t: &TestStatus) {
    match t.kind {
        Reach::Ping => {
            x.push_str("<icmp>");
            el(x, "type", "Ping");
            el(x, "responsetime", seconds(t));
            x.push_str("</icmp>");
        }
        Reach::Unix => {
            x.push_str("<unix>");
            el(x, "path", t.path.as_deref().unwrap_or(""));
            el(x, "protocol", &t.protocol);
            el(x, "responsetime", seconds(t));
            x.push_str("</unix>");
        }
        Reach::Port => {
            x.push_str("<port>");
            el(x, "hostname", t.host.as_deref().unwrap_or(""));
            el(x, "portnumber", t.port.unwrap_or(0));
            x.push_str("<request>");
            cdata(x, &t.request);
            x.push_str("</request>");
            el(x, "protocol", &t.protocol);
            el(x, "type", &t.socket);
            el(x, "responsetime", seconds(t));
            if t.tls {
                x.push_str("<certificate>");
                el(x, "valid", t.certificate_days.map_or(0, whole));
                x.push_str("</certificate>");
            }
            x.push_str("</port>");
        }
    }
}

fn program(x: &mut String, s: &ServiceStatus) {
    let Some(started) = s.metric(Metric::ProgramStarted) else {
        return;
    };
    x.push_str("<program>");
    el(x, "started", whole(started));
    el(x, "status", s.metric(Metric::ExitStatus).map_or(0, whole));
    x.push_str("<output>");
    cdata(x, s.program_output.as_deref().unwrap_or(""));
    x.push_str("</output></program>");
}

/// `<![CDATA[...]]>`, with `]]>` inside written as `]]&gt;` (Monit's way).
fn cdata(x: &mut String, words: &str) {
    x.push_str("<![CDATA[");
    x.extend(words.replace("]]>", "]]&gt;").chars().map(xml_char));
    x.push_str("]]>");
}

/// A character XML 1.0 forbids everywhere, even in CDATA (a control
/// character in a program's output), as U+FFFD: Monit writes it raw and
/// its document no longer parses.
fn xml_char(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
        c => c,
    }
}

fn opt<T: std::fmt::Display>(x: &mut String, name: &str, value: Option<T>) {
    if let Some(v) = value {
        el(x, name, v);
    }
}

/// `<name>value</name>`, the value escaped for XML text as it is
/// formatted: no string of its own for each of a service's thirty-odd
/// elements (a 10,000-check document is some 300,000 of them).
fn el(x: &mut String, name: &str, value: impl std::fmt::Display) {
    x.push('<');
    x.push_str(name);
    x.push('>');
    let _ = write!(Escaped(x), "{value}");
    x.push_str("</");
    x.push_str(name);
    x.push('>');
}

/// Writes what is formatted into it escaped for XML text.
struct Escaped<'a>(&'a mut String);

impl std::fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        text(self.0, s);
        Ok(())
    }
}

/// An attribute's value: text escaping plus the double quote.
fn attr(x: &mut String, words: &str) {
    for part in words.split_inclusive('"') {
        match part.strip_suffix('"') {
            Some(p) => {
                text(x, p);
                x.push_str("&quot;");
            }
            None => text(x, part),
        }
    }
}

fn text(x: &mut String, words: &str) {
    // Most text (numbers, names) has nothing to escape: one copy.
    if !words
        .bytes()
        .any(|b| b < b' ' || matches!(b, b'&' | b'<' | b'>' | 0xef))
    {
        x.push_str(words);
        return;
    }
    for c in words.chars() {
        match c {
            '&' => x.push_str("&amp;"),
            '<' => x.push_str("&lt;"),
            '>' => x.push_str("&gt;"),
            c => x.push(xml_char(c)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_document() {
        let mut x = String::new();
        cdata(&mut x, "a\u{1}b\tc]]>d");
        text(&mut x, "e\u{0}f\u{1b}<");
        assert_eq!(x, "<![CDATA[a\u{fffd}b\tc]]&gt;d]]>e\u{fffd}f\u{fffd}&lt;");
    }

    #[test]
    fn text_is_escaped_and_numbers_are_plain() {
        let mut x = String::new();
        el(&mut x, "name", "a<b>&c");
        el(&mut x, "pid", 42);
        assert_eq!(x, "<name>a&lt;b&gt;&amp;c</name><pid>42</pid>");
    }

    #[test]
    fn figures_nest_as_monits_and_unknowns_read_as_monit_writes_them() {
        use crate::control::figures::tests::status;
        let s = status(
            "Process",
            &[
                (Metric::Uid, 0.0),
                (Metric::Euid, 0.0),
                (Metric::Gid, 0.0),
                (Metric::FileDescriptors, 5.0),
                (Metric::ReadBytesTotal, 6976.0),
                (Metric::ReadBytes, 2.6),
                (Metric::DiskReadBytesTotal, 8192.0),
                (Metric::ReadOperationsTotal, 10.0),
            ],
            serde_json::json!({"pid": 42, "ppid": 1}),
        );
        let mut x = String::new();
        process(&mut x, &s);
        assert_eq!(
            x,
            "<pid>42</pid><ppid>1</ppid><uid>0</uid><euid>0</euid><gid>0</gid>\
             <filedescriptors><open>5</open></filedescriptors>\
             <read><bytesgeneric><count>3</count><total>6976</total></bytesgeneric>\
             <bytes><count>0</count><total>8192</total></bytes>\
             <operations><count>0</count><total>10</total></operations></read><write></write>"
        );
        let lo = status("Network", &[(Metric::LinkUp, 1.0)], serde_json::json!({}));
        let mut x = String::new();
        link(&mut x, &lo);
        assert!(
            x.starts_with("<link><state>1</state><speed>-1</speed><duplex>-1</duplex><download><packets><now>0</now>"),
            "{x}"
        );
        let prog = status(
            "Program",
            &[
                (Metric::ProgramStarted, 1_796_589_178.0),
                (Metric::ExitStatus, 3.0),
            ],
            serde_json::json!({"program_output": "a]]>b"}),
        );
        let mut x = String::new();
        program(&mut x, &prog);
        assert_eq!(
            x,
            "<program><started>1796589178</started><status>3</status>\
             <output><![CDATA[a]]&gt;b]]></output></program>"
        );
    }

    #[test]
    fn the_collector_layout_names_services_by_attribute_and_ends_with_the_event() {
        use crate::control::figures::tests::status;
        let text = "check process web with pidfile /run/web.pid\n  group www\n\
                    check file \"a\\\"b\" with path /etc/hosts\n  group www\n";
        let loaded = warden_config::load_text_without_includes(
            std::path::Path::new("/etc/monitrc"),
            text.to_string(),
        );
        let config = Arc::new(loaded.config.expect("the file loads"));
        let server = Server {
            id: "ab\"c".into(),
            incarnation: 7,
            uptime_s: 1,
            poll_s: 30,
            start_delay_s: 0,
            local_hostname: "box".into(),
            control_file: "/etc/monitrc".into(),
            httpd: Some(("127.0.0.1".into(), 2812, false)),
            unix_socket: None,
            config: config.clone(),
        };
        let mut web = status("Process", &[], serde_json::json!({"groups": ["www"]}));
        web.name = "web".into();
        let mut file = status("File", &[], serde_json::json!({"groups": ["www"]}));
        file.name = config.checks[1].name.value.clone();
        let event = EventMessage {
            collected_sec: 5,
            collected_usec: 6,
            service: "web".into(),
            service_type: 3,
            id: 0x200,
            state: 1,
            action: 2,
            message: "gone ]]> away".into(),
        };
        let doc = collector_document(&server, &[web, file], Some(("admin", "pw")), Some(&event));
        assert!(
            doc.starts_with(
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\
                 <monit id=\"ab&quot;c\" incarnation=\"7\" version=\"5.33.0\"><server><uptime>1</uptime>"
            ),
            "{doc}"
        );
        assert!(doc.contains("<credentials><username>admin</username><password>pw</password></credentials></server><platform>"), "{doc}");
        assert!(
            doc.contains("<services><service name=\"web\"><type>3</type><collected_sec>"),
            "{doc}"
        );
        assert!(
            doc.contains("<service name=\"a&quot;b\"><type>2</type>"),
            "{doc}"
        );
        assert!(
            doc.ends_with(
                "</services><servicegroups><servicegroup name=\"www\"><service>web</service>\
                 <service>a\"b</service></servicegroup></servicegroups>\
                 <event><collected_sec>5</collected_sec><collected_usec>6</collected_usec>\
                 <service>web</service><type>3</type><id>512</id><state>1</state><action>2</action>\
                 <message><![CDATA[gone ]]&gt; away]]></message></event></monit>"
            ),
            "{doc}"
        );
        let plain = collector_document(&server, &[], Some(("admin", "pw")), None);
        assert!(plain.ends_with("<services></services><servicegroups></servicegroups></monit>"));
        let no_httpd = Server {
            httpd: None,
            ..server
        };
        assert!(
            !collector_document(&no_httpd, &[], Some(("admin", "pw")), None)
                .contains("credentials")
        );
    }

    #[test]
    fn a_check_with_its_own_schedule_says_it_in_every_as_monit() {
        use crate::control::figures::tests::status;
        use warden_config::cron::Cron;
        // Checked at 1_795_245_229 (the helper's time), two cycles of 2 s ago.
        let s = status("File", &[], serde_json::json!({}));
        let now = 1_795_245_229 + 4;
        let shown = |schedule: Schedule| {
            let mut x = String::new();
            every(&mut x, &schedule, &s, 2, now);
            x
        };
        assert_eq!(
            shown(Schedule::Cycles(3)),
            "<every><type>2</type><counter>2</counter><number>3</number></every>"
        );
        assert_eq!(
            shown(Schedule::Cycles(2)),
            "<every><type>2</type><counter>1</counter><number>2</number></every>",
            "never past number - 1"
        );
        let cron = || Box::new(Cron::parse("0 3 * * *").unwrap());
        assert_eq!(
            shown(Schedule::Cron(cron())),
            "<every><type>3</type><cron>0 3 * * *</cron></every>"
        );
        assert_eq!(
            shown(Schedule::NotCron(cron())),
            "<every><type>4</type><cron>0 3 * * *</cron></every>"
        );
        assert_eq!(shown(Schedule::Cycles(1)), "");
        assert_eq!(
            shown(Schedule::Interval(std::time::Duration::from_secs(5))),
            ""
        );
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
