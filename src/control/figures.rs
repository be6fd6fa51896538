//! One service's lines as `monit status` (Monit 5.33) prints them, label
//! and value, per service type: the labels, their order and the value
//! formats (`0.0% [1.6 MB]`, `0 B/s [6.8 kB total]`, `0.219 ms to
//! 127.0.0.1:80 type TCP/IP protocol DEFAULT`) are Monit's. A figure Warden
//! did not measure is left out; a measured one always keeps Monit's label.
//! [`status_rows`] adds Warden's own lines (restarts, last probe, next
//! check, last event) for `warden status` and the service page, and
//! [`html_table`] is that page's figure table.

use warden_config::model::CheckType;
use warden_engine::ServiceStatus;
use warden_engine::events::EventKind;

use warden_engine::status::{MonitoringStatus, Reach, TestStatus};
use warden_probes::Metric;

use super::format::{Uptime, bytes, date, millis, percent, uptime, whole};
use super::html::escape;

/// A service's lines: label and value, in the order they are shown.
pub type Rows = Vec<(&'static str, String)>;

/// Whether a service shows its figures: as Monit, only once checked and
/// monitored, and not while its target does not exist.
pub fn shows_figures(s: &ServiceStatus) -> bool {
    s.monitoring == MonitoringStatus::Monitored && s.failing != Some(EventKind::DoesNotExist)
}

/// A service's lines, from `status` to `data collected` (always the
/// last): the text answers and the service page show the same rows.
pub fn monit_rows(s: &ServiceStatus) -> Rows {
    let mut rows = vec![
        ("status", s.status.clone()),
        ("monitoring status", s.monitoring.words().to_string()),
        ("monitoring mode", s.mode.to_string()),
    ];
    if !s.on_reboot.is_empty() {
        rows.push(("on reboot", s.on_reboot.to_string()));
    }
    if shows_figures(s) {
        match s.kind {
            CheckType::Process => process(&mut rows, s),
            CheckType::System => system(&mut rows, s),
            CheckType::Filesystem => filesystem(&mut rows, s),
            CheckType::File | CheckType::Directory | CheckType::Fifo => file(&mut rows, s),
            CheckType::Network => network(&mut rows, s),
            CheckType::Program => program(&mut rows, s),
            // A host's figures are its connection tests, listed below.
            CheckType::Host => {}
        }
        for t in &s.tests {
            tested(&mut rows, t);
        }
    }
    let collected = s.last_check_unix_s.map_or_else(|| "-".into(), date);
    rows.push(("data collected", collected));
    rows
}

/// A service's lines as `warden status` and the service page show them:
/// Monit's, then Warden's own (groups, restarts, last probe, next check,
/// last event), then `data collected`, last as in Monit.
pub fn status_rows(s: &ServiceStatus) -> Rows {
    let mut rows = monit_rows(s);
    let collected = rows.pop();
    warden_rows(&mut rows, s);
    rows.extend(collected);
    rows
}

/// Warden's lines that Monit does not have.
fn warden_rows(rows: &mut Rows, s: &ServiceStatus) {
    if !s.groups.is_empty() {
        rows.push(("groups", s.groups.join(", ")));
    }
    let window = match s.restart_window_cycles {
        Some(c) => format!(" within {c} cycles"),
        None => String::new(),
    };
    rows.push((
        "restarts",
        format!(
            "{}{window} [{} total]",
            s.restarts_in_window, s.restarts_total
        ),
    ));
    push(
        rows,
        "last probe took",
        s.probe_duration_ms.map(|ms| format!("{ms:.3} ms")),
    );
    push(rows, "next check", s.next_check_unix_s.map(date));
    push(
        rows,
        "last event",
        s.last_event
            .as_ref()
            .map(|e| format!("{}: {} at {}", e.kind, e.description, date(e.time_unix_s))),
    );
}

/// The figure table of a service's page (`<table id="service">`): one row
/// per line of [`status_rows`], every string escaped; as on Monit's page,
/// a value of several lines (a program's output) keeps its lines in a
/// `<pre>`.
pub fn html_table(s: &ServiceStatus) -> String {
    let rows = status_rows(s);
    let mut out = String::with_capacity(64 * rows.len() + 32);
    out.push_str("<table id=\"service\">");
    for (label, value) in rows {
        let value = value.trim_end_matches('\n');
        let (open, close) = if value.contains('\n') {
            ("<pre>", "</pre>")
        } else {
            ("", "")
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{open}{}{close}</td></tr>",
            escape(label),
            escape(value)
        ));
    }
    out.push_str("</table>");
    out
}

fn push(rows: &mut Rows, label: &'static str, value: Option<String>) {
    if let Some(v) = value {
        rows.push((label, v));
    }
}

/// A count Monit shows as a whole number.
fn count(v: f64) -> String {
    whole(v).to_string()
}

fn percent_and_bytes(share: Option<f64>, amount: Option<u64>) -> Option<String> {
    Some(format!("{} [{}]", percent(share?), bytes(amount? as f64)))
}

/// File descriptors against their limit: `5 [0.0% of 20000 limit]`.
fn of_limit(open: f64, limit: f64) -> String {
    format!(
        "{} [{} of {} limit]",
        whole(open),
        percent(open * 100.0 / limit),
        whole(limit)
    )
}

fn process(rows: &mut Rows, s: &ServiceStatus) {
    let Some(pid) = s.pid else {
        return;
    };
    let m = |metric| s.metric(metric);
    rows.push(("pid", pid.to_string()));
    push(rows, "parent pid", s.ppid.map(|p| p.to_string()));
    push(rows, "uid", m(Metric::Uid).map(count));
    push(rows, "effective uid", m(Metric::Euid).map(count));
    push(rows, "gid", m(Metric::Gid).map(count));
    push(
        rows,
        "uptime",
        s.uptime_s.map(|t| uptime(t, Uptime::Minutes)),
    );
    push(rows, "threads", s.threads.map(|n| n.to_string()));
    push(rows, "children", s.children.map(|n| n.to_string()));
    push(rows, "cpu", s.cpu_percent.map(percent));
    push(rows, "cpu total", s.total_cpu_percent.map(percent));
    push(
        rows,
        "memory",
        percent_and_bytes(s.memory_percent, s.memory_bytes),
    );
    push(
        rows,
        "memory total",
        percent_and_bytes(s.total_memory_percent, s.total_memory_bytes),
    );
    let label = s.security_attribute.clone().unwrap_or_else(|| "-".into());
    rows.push(("security attribute", label));
    let limit = match (
        m(Metric::FileDescriptorsSoftLimit),
        m(Metric::FileDescriptorsHardLimit),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .filter(|l| *l > 0.0);
    push(
        rows,
        "filedescriptors",
        m(Metric::FileDescriptors).map(|open| match limit {
            Some(l) => of_limit(open, l),
            None => "N/A".into(),
        }),
    );
    push(
        rows,
        "total filedescriptors",
        m(Metric::TotalFileDescriptors).map(count),
    );
    io(rows, s, IO_READ);
    io(rows, s, IO_WRITE);
}

/// The I/O lines of one direction, each shown once its total is known
/// (a rate needs two readings: until then it is 0, as Monit shows it).
struct Io {
    bytes: (&'static str, Metric, Metric),
    disk: (&'static str, Metric, Metric),
    operations: (&'static str, Metric, Metric),
    word: &'static str,
}

const IO_READ: Io = Io {
    bytes: ("read bytes", Metric::ReadBytes, Metric::ReadBytesTotal),
    disk: (
        "disk read bytes",
        Metric::DiskReadBytes,
        Metric::DiskReadBytesTotal,
    ),
    operations: (
        "disk read operations",
        Metric::ReadOperations,
        Metric::ReadOperationsTotal,
    ),
    word: "read",
};

const IO_WRITE: Io = Io {
    bytes: ("write bytes", Metric::WriteBytes, Metric::WriteBytesTotal),
    disk: (
        "disk write bytes",
        Metric::DiskWriteBytes,
        Metric::DiskWriteBytesTotal,
    ),
    operations: (
        "disk write operations",
        Metric::WriteOperations,
        Metric::WriteOperationsTotal,
    ),
    word: "write",
};

fn io(rows: &mut Rows, s: &ServiceStatus, io: Io) {
    for (label, rate, total) in [io.bytes, io.disk] {
        if let Some(t) = s.metric(total) {
            let r = s.metric(rate).unwrap_or(0.0);
            rows.push((label, format!("{}/s [{} total]", bytes(r), bytes(t))));
        }
    }
    let (label, rate, total) = io.operations;
    if let Some(t) = s.metric(total) {
        let r = s.metric(rate).unwrap_or(0.0);
        let w = io.word;
        rows.push((label, format!("{r:.1} {w}s/s [{} {w}s total]", whole(t))));
    }
}

fn system(rows: &mut Rows, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    if let (Some(a), Some(b), Some(c)) = (
        m(Metric::LoadAvg1),
        m(Metric::LoadAvg5),
        m(Metric::LoadAvg15),
    ) {
        rows.push(("load average", format!("[{a:.2}] [{b:.2}] [{c:.2}]")));
    }
    let split = [
        (Metric::CpuUser, "usr"),
        (Metric::CpuSystem, "sys"),
        (Metric::CpuNice, "nice"),
        (Metric::CpuWait, "iowait"),
        (Metric::CpuHardIrq, "hardirq"),
        (Metric::CpuSoftIrq, "softirq"),
        (Metric::CpuSteal, "steal"),
        (Metric::CpuGuest, "guest"),
        (Metric::CpuGuestNice, "guestnice"),
    ];
    // Monit ends the list with a space.
    let cpu: Option<String> = split
        .iter()
        .map(|(metric, word)| Some(format!("{}{word} ", percent(m(*metric)?))))
        .collect();
    push(rows, "cpu", cpu);
    let usage =
        |amount: Metric, pct: Metric| Some(format!("{} [{}]", bytes(m(amount)?), percent(m(pct)?)));
    push(
        rows,
        "memory usage",
        usage(Metric::Memory, Metric::MemoryPercent),
    );
    push(rows, "swap usage", usage(Metric::Swap, Metric::SwapPercent));
    push(
        rows,
        "uptime",
        s.uptime_s.map(|t| uptime(t, Uptime::Minutes)),
    );
    push(
        rows,
        "boot time",
        m(Metric::BootTime).map(|t| date(t.max(0.0) as u64)),
    );
    if let (Some(used), Some(max)) = (m(Metric::FileDescriptors), m(Metric::FileDescriptorsMax)) {
        let allocated = used + m(Metric::FileDescriptorsUnused).unwrap_or(0.0);
        let value = if max > 0.0 {
            of_limit(allocated, max)
        } else {
            "N/A".into()
        };
        rows.push(("filedescriptors", value));
    }
}

fn owner(rows: &mut Rows, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    push(
        rows,
        "permission",
        m(Metric::Permission).map(|p| format!("{:o}", p as u32)),
    );
    push(rows, "uid", m(Metric::Uid).map(count));
    push(rows, "gid", m(Metric::Gid).map(count));
}

fn filesystem(rows: &mut Rows, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    push(rows, "filesystem type", s.fs_type.clone());
    push(rows, "filesystem flags", s.fs_flags.clone());
    owner(rows, s);
    push(rows, "block size", m(Metric::BlockSize).map(bytes));
    if let Some(total) = m(Metric::SpaceTotal) {
        let share = |part: f64| {
            if total > 0.0 {
                part * 100.0 / total
            } else {
                0.0
            }
        };
        let (free, free_total) = (
            m(Metric::SpaceFree).unwrap_or(0.0),
            m(Metric::SpaceFreeTotal).unwrap_or(0.0),
        );
        rows.push((
            "space total",
            format!(
                "{} (of which {} is reserved for root user)",
                bytes(total),
                percent(share(free_total - free))
            ),
        ));
        rows.push((
            "space free for non superuser",
            format!("{} [{}]", bytes(free), percent(share(free))),
        ));
        rows.push((
            "space free total",
            format!("{} [{}]", bytes(free_total), percent(share(free_total))),
        ));
    }
    if let Some(inodes) = m(Metric::InodeTotal).filter(|n| *n > 0.0) {
        rows.push(("inodes total", count(inodes)));
        if let Some(free) = m(Metric::InodeFree).filter(|n| *n > 0.0) {
            rows.push((
                "inodes free",
                format!("{} [{}]", whole(free), percent(free * 100.0 / inodes)),
            ));
        }
    }
    for io in [IO_READ, IO_WRITE] {
        let (label, rate, total) = io.bytes;
        if let Some(t) = m(total) {
            let r = m(rate).unwrap_or(0.0);
            rows.push((label, format!("{}/s [{} total]", bytes(r), bytes(t))));
        }
        let (label, rate, total) = io.operations;
        if let Some(t) = m(total) {
            let (r, w) = (m(rate).unwrap_or(0.0), io.word);
            rows.push((label, format!("{r:.1} {w}s/s [{} {w}s total]", whole(t))));
        }
    }
    if let (Some(read), Some(write)) = (m(Metric::ReadTime), m(Metric::WriteTime)) {
        // Milliseconds busy a second over operations a second: per operation.
        let ops =
            m(Metric::ReadOperations).unwrap_or(0.0) + m(Metric::WriteOperations).unwrap_or(0.0);
        let per = |ms: f64| if ops > 0.0 { ms / ops } else { 0.0 };
        rows.push((
            "service time",
            format!(
                "{:.3} ms/operation (of which read {:.3} ms, write {:.3} ms)",
                per(read) + per(write),
                per(read),
                per(write)
            ),
        ));
    }
}

fn file(rows: &mut Rows, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    owner(rows, s);
    if s.kind == CheckType::File {
        push(rows, "size", m(Metric::Size).map(bytes));
    }
    let time = |metric| m(metric).filter(|t| *t > 0.0).map(|t| date(t as u64));
    push(rows, "access timestamp", time(Metric::AccessTime));
    push(rows, "change timestamp", time(Metric::ChangeTime));
    push(rows, "modify timestamp", time(Metric::ModifyTime));
    push(
        rows,
        "content match",
        s.content_match
            .map(|m| if m { "yes" } else { "no" }.to_string()),
    );
    push(
        rows,
        "checksum",
        s.checksum
            .as_ref()
            .map(|c| format!("{} ({})", c.digest, c.algorithm)),
    );
}

fn network(rows: &mut Rows, s: &ServiceStatus) {
    let m = |metric| s.metric(metric);
    let Some(up) = m(Metric::LinkUp) else {
        return;
    };
    // Monit shows "-" for every figure of a link that is down.
    let shown = |value: String| if up > 0.0 { value } else { "-".into() };
    let errors = m(Metric::DownloadErrors).unwrap_or(0.0) + m(Metric::UploadErrors).unwrap_or(0.0);
    rows.push(("link", shown(format!("{} errors", whole(errors)))));
    let speed = m(Metric::LinkSpeed).filter(|b| *b > 0.0);
    if let Some(bits) = speed {
        let duplex = match m(Metric::LinkDuplex) {
            Some(d) if d > 0.0 => "full",
            _ => "half",
        };
        let capacity = format!("{:.0} Mb/s {duplex}-duplex", bits / 1e6);
        rows.push(("capacity", shown(capacity)));
    }
    for (label, metric) in [
        ("download bytes", Metric::DownloadBytes),
        ("upload bytes", Metric::UploadBytes),
    ] {
        // Monit counts whole bytes a second.
        let rate = m(metric).unwrap_or(0.0).floor();
        let value = match speed {
            Some(bits) => format!(
                "{}/s ({} link saturation)",
                bytes(rate),
                percent(rate * 8.0 * 100.0 / bits)
            ),
            None => format!("{}/s", bytes(rate)),
        };
        rows.push((label, shown(value)));
    }
    for (label, metric) in [
        ("download packets", Metric::DownloadPackets),
        ("upload packets", Metric::UploadPackets),
    ] {
        let rate = m(metric).unwrap_or(0.0).floor();
        rows.push((label, shown(format!("{} per second", whole(rate)))));
    }
}

fn program(rows: &mut Rows, s: &ServiceStatus) {
    if s.metric(Metric::ProgramStarted).is_none() {
        return;
    }
    push(
        rows,
        "last exit value",
        s.metric(Metric::ExitStatus).map(count),
    );
    let output = s.program_output.clone().filter(|o| !o.is_empty());
    rows.push(("last output", output.unwrap_or_else(|| "-".into())));
}

/// A connection test's line: its response time and what it reached.
fn tested(rows: &mut Rows, t: &TestStatus) {
    let time = t.response_time_ms.map(millis);
    match t.kind {
        Reach::Ping => rows.push((
            "ping response time",
            match (t.failed, time) {
                (true, _) => "connection failed".into(),
                (false, Some(time)) => time,
                (false, None) => "-".into(),
            },
        )),
        Reach::Unix => {
            let path = t.path.as_deref().unwrap_or("");
            let what = format!("type {} protocol {}", t.socket, t.protocol);
            let value = match (t.failed, time) {
                (true, _) => format!("FAILED to {path} {what}"),
                (false, Some(time)) => format!("{time} to {path} {what}"),
                (false, None) => "-".into(),
            };
            rows.push(("unix socket response time", value));
        }
        Reach::Port => {
            let (host, port) = (t.host.as_deref().unwrap_or(""), t.port.unwrap_or(0));
            let kind = format!("type {}/{}", t.socket, t.ip);
            let value = match (t.failed, time) {
                (true, _) => format!(
                    "FAILED to [{host}]:{port}{} {kind} {}protocol {}",
                    t.request,
                    if t.tls { "using TLS " } else { "" },
                    t.protocol
                ),
                (false, Some(time)) => {
                    let tls = match (t.tls, t.certificate_days) {
                        (true, Some(d)) => {
                            format!("using TLS (certificate valid for {} days) ", whole(d))
                        }
                        (true, None) => "using TLS ".into(),
                        (false, _) => String::new(),
                    };
                    format!(
                        "{time} to {host}:{port}{} {kind} {tls}protocol {}",
                        t.request, t.protocol
                    )
                }
                (false, None) => "-".into(),
            };
            rows.push(("port response time", value));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A status of `kind` with these metrics and fields (JSON, as the
    /// daemon sends it).
    pub(crate) fn status(
        kind: &str,
        metrics: &[(Metric, f64)],
        more: serde_json::Value,
    ) -> ServiceStatus {
        let metrics: serde_json::Map<String, serde_json::Value> = metrics
            .iter()
            .map(|(m, v)| {
                (
                    warden_engine::status::metric_name(*m).to_string(),
                    (*v).into(),
                )
            })
            .collect();
        let mut json = serde_json::json!({
            "name": "s", "type": kind, "status": "OK", "ok": true,
            "monitoring": "monitored", "mode": "active", "groups": [],
            "restarts_in_window": 0, "restarts_total": 0, "metrics": metrics,
            "on_reboot": "start", "last_check_unix_s": 1_795_245_229,
        });
        if let (Some(all), serde_json::Value::Object(add)) = (json.as_object_mut(), more) {
            all.extend(add);
        }
        serde_json::from_value(json).unwrap()
    }

    fn labels_and_values(rows: &Rows) -> Vec<String> {
        rows.iter().map(|(l, v)| format!("{l}={v}")).collect()
    }

    #[test]
    fn a_process_shows_monits_lines_in_monits_order() {
        let s = status(
            "Process",
            &[
                (Metric::Uid, 0.0),
                (Metric::Euid, 33.0),
                (Metric::Gid, 0.0),
                (Metric::FileDescriptors, 5.0),
                (Metric::FileDescriptorsSoftLimit, 20000.0),
                (Metric::FileDescriptorsHardLimit, 40000.0),
                (Metric::TotalFileDescriptors, 7.0),
                (Metric::ReadBytesTotal, 6976.0),
                (Metric::DiskReadBytesTotal, 8192.0),
                (Metric::ReadOperationsTotal, 10.0),
                (Metric::ReadOperations, 0.5),
                (Metric::WriteBytes, 1536.0),
                (Metric::WriteBytesTotal, 0.0),
            ],
            serde_json::json!({
                "pid": 42, "ppid": 1, "uptime_s": 3720, "threads": 1, "children": 0,
                "cpu_percent": 0.04, "total_cpu_percent": 0.0,
                "memory_bytes": 1_646_592, "memory_percent": 0.01,
                "total_memory_bytes": 1_646_592, "total_memory_percent": 0.01,
            }),
        );
        let want = [
            "status=OK",
            "monitoring status=Monitored",
            "monitoring mode=active",
            "on reboot=start",
            "pid=42",
            "parent pid=1",
            "uid=0",
            "effective uid=33",
            "gid=0",
            "uptime=1h 2m",
            "threads=1",
            "children=0",
            "cpu=0.0%",
            "cpu total=0.0%",
            "memory=0.0% [1.6 MB]",
            "memory total=0.0% [1.6 MB]",
            "security attribute=-",
            "filedescriptors=5 [0.0% of 20000 limit]",
            "total filedescriptors=7",
            "read bytes=0 B/s [6.8 kB total]",
            "disk read bytes=0 B/s [8 kB total]",
            "disk read operations=0.5 reads/s [10 reads total]",
            "write bytes=1.5 kB/s [0 B total]",
            "data collected=Sat, 21 Nov 2026 07:13:49",
        ];
        assert_eq!(labels_and_values(&monit_rows(&s)), want);
    }

    #[test]
    fn system_filesystem_and_network_values_read_as_monit_writes_them() {
        let cpu = [
            (Metric::CpuUser, 86.3),
            (Metric::CpuSystem, 13.7),
            (Metric::CpuNice, 0.0),
            (Metric::CpuWait, 0.0),
            (Metric::CpuHardIrq, 0.0),
            (Metric::CpuSoftIrq, 0.0),
            (Metric::CpuSteal, 0.0),
            (Metric::CpuGuest, 0.0),
            (Metric::CpuGuestNice, 0.0),
            (Metric::FileDescriptors, 926.0),
            (Metric::FileDescriptorsUnused, 0.0),
            (Metric::FileDescriptorsMax, 2_466_239.0),
        ];
        let rows = labels_and_values(&monit_rows(&status("System", &cpu, serde_json::json!({}))));
        assert!(rows.contains(&"cpu=86.3%usr 13.7%sys 0.0%nice 0.0%iowait 0.0%hardirq 0.0%softirq 0.0%steal 0.0%guest 0.0%guestnice ".to_string()), "{rows:?}");
        assert!(rows.contains(&"filedescriptors=926 [0.0% of 2466239 limit]".to_string()));
        let gb = 1024.0 * 1024.0 * 1024.0;
        let fs = [
            (Metric::SpaceTotal, 252.0 * gb),
            (Metric::SpaceFree, 39.4 * gb),
            (Metric::SpaceFreeTotal, 200.5 * gb),
            (Metric::BlockSize, 4096.0),
            (Metric::InodeTotal, 100.0),
            (Metric::InodeFree, 97.0),
            (Metric::ReadTime, 2.0),
            (Metric::WriteTime, 0.0),
            (Metric::ReadOperations, 4.0),
        ];
        let rows = labels_and_values(&monit_rows(&status(
            "Filesystem",
            &fs,
            serde_json::json!({}),
        )));
        for want in [
            "block size=4 kB",
            "space total=252 GB (of which 63.9% is reserved for root user)",
            "space free for non superuser=39.4 GB [15.6%]",
            "space free total=200.5 GB [79.6%]",
            "inodes free=97 [97.0%]",
            "service time=0.500 ms/operation (of which read 0.500 ms, write 0.000 ms)",
        ] {
            assert!(rows.contains(&want.to_string()), "{want} in {rows:?}");
        }
        let lo = [
            (Metric::LinkUp, 1.0),
            (Metric::DownloadBytes, 646.9),
            (Metric::UploadPackets, 10.0),
        ];
        let rows = labels_and_values(&monit_rows(&status("Network", &lo, serde_json::json!({}))));
        assert_eq!(
            rows[4..9],
            [
                "link=0 errors",
                "download bytes=646 B/s",
                "upload bytes=0 B/s",
                "download packets=0 per second",
                "upload packets=10 per second",
            ]
        );
        let down = labels_and_values(&monit_rows(&status(
            "Network",
            &[(Metric::LinkUp, 0.0)],
            serde_json::json!({}),
        )));
        assert_eq!(down[4], "link=-");
    }

    #[test]
    fn a_file_with_a_content_rule_says_whether_it_matches_after_its_times() {
        let times = [(Metric::ModifyTime, 1_795_245_229.0), (Metric::Size, 6.0)];
        for (firing, word) in [(false, "no"), (true, "yes")] {
            let s = status(
                "File",
                &times,
                serde_json::json!({"content_match": firing,
                    "checksum": {"algorithm": "MD5", "digest": "ab"}}),
            );
            let rows = labels_and_values(&monit_rows(&s));
            let at = rows.iter().position(|r| r.starts_with("modify timestamp="));
            assert_eq!(
                rows[at.unwrap() + 1..at.unwrap() + 3],
                [format!("content match={word}"), "checksum=ab (MD5)".into()]
            );
        }
        let none = status("File", &times, serde_json::json!({}));
        assert!(
            !labels_and_values(&monit_rows(&none))
                .iter()
                .any(|r| r.starts_with("content"))
        );
    }

    #[test]
    fn the_page_table_escapes_and_keeps_the_lines_of_a_long_value() {
        let s = status(
            "Program",
            &[(Metric::ProgramStarted, 1.0), (Metric::ExitStatus, 0.0)],
            serde_json::json!({"program_output": "<b>one</b>\ntwo\n", "groups": ["a&b"]}),
        );
        let table = html_table(&s);
        assert!(table.starts_with("<table id=\"service\"><tr><td>status</td><td>OK</td></tr>"));
        assert!(
            table.contains(
                "<tr><td>last output</td><td><pre>&lt;b&gt;one&lt;/b&gt;\ntwo</pre></td></tr>"
            ),
            "{table}"
        );
        assert!(
            table.contains("<tr><td>groups</td><td>a&amp;b</td></tr>"),
            "{table}"
        );
        let labels: Vec<&str> = status_rows(&s).iter().map(|(l, _)| *l).collect();
        assert_eq!(
            labels[labels.len() - 3..],
            ["groups", "restarts", "data collected"]
        );
    }

    #[test]
    fn connection_tests_read_as_monit_lists_them() {
        let test = |kind: &str, more: serde_json::Value| {
            let mut t = serde_json::json!({
                "kind": kind, "host": "127.0.0.1", "port": 80, "path": "/run/s.sock",
                "request": "", "protocol": "DEFAULT", "socket": "TCP", "ip": "IP",
                "tls": false, "response_time_ms": null, "failed": false, "certificate_days": null,
            });
            if let (Some(all), serde_json::Value::Object(add)) = (t.as_object_mut(), more) {
                all.extend(add);
            }
            t
        };
        let s = status(
            "Remote Host",
            &[],
            serde_json::json!({"tests": [
                test("ping", serde_json::json!({"response_time_ms": 0.047})),
                test("port", serde_json::json!({"failed": true, "request": "/x?y=1", "protocol": "HTTP"})),
                test("port", serde_json::json!({"response_time_ms": 0.219, "tls": true, "certificate_days": 30.0})),
                test("port", serde_json::json!({})),
                test("unix", serde_json::json!({"response_time_ms": 1.0})),
            ]}),
        );
        let rows = labels_and_values(&monit_rows(&s));
        assert_eq!(
            rows[4..9],
            [
                "ping response time=0.047 ms",
                "port response time=FAILED to [127.0.0.1]:80/x?y=1 type TCP/IP protocol HTTP",
                "port response time=0.219 ms to 127.0.0.1:80 type TCP/IP using TLS (certificate valid for 30 days) protocol DEFAULT",
                "port response time=-",
                "unix socket response time=1 ms to /run/s.sock type TCP protocol DEFAULT",
            ]
        );
    }

    #[test]
    fn an_unmonitored_or_missing_service_shows_no_figures() {
        let port = serde_json::json!([{
            "kind": "port", "host": "localhost", "port": 80, "path": null, "request": "",
            "protocol": "DEFAULT", "socket": "TCP", "ip": "IP", "tls": false,
            "response_time_ms": 0.2, "failed": false, "certificate_days": null,
        }]);
        for more in [
            serde_json::json!({"monitoring": "not_monitored", "tests": port}),
            serde_json::json!({"failing": "does_not_exist", "tests": port}),
            serde_json::json!({"monitoring": "initializing", "tests": port}),
        ] {
            let s = status("File", &[(Metric::Size, 6.0)], more.clone());
            let labels: Vec<&str> = monit_rows(&s).iter().map(|(l, _)| *l).collect();
            assert_eq!(
                labels,
                [
                    "status",
                    "monitoring status",
                    "monitoring mode",
                    "on reboot",
                    "data collected"
                ],
                "{more}"
            );
        }
        let shown = status(
            "File",
            &[(Metric::Size, 6.0)],
            serde_json::json!({"tests": port}),
        );
        assert_eq!(monit_rows(&shown).len(), 7, "size and the port");
    }
}
