//! `set log syslog [facility F]`: each log line as one RFC 3164 datagram,
//! `<PRI>warden[PID]: MESSAGE`, to the local syslog socket `/dev/log` (the
//! socket glibc's syslog(3) writes to). No daemon there: said once on stderr,
//! and the caller logs to stderr instead. `WARDEN_SYSLOG_SOCKET` names
//! another socket; it exists for tests, which bind one of their own.

use std::fmt;
use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use warden_config::model::Facility;

const DEFAULT_SOCKET: &str = "/dev/log";

/// Where syslog lines go; one per event, written when the event's line ends.
#[derive(Debug)]
pub struct Syslog {
    socket: UnixDatagram,
    path: PathBuf,
    facility: u8,
    pid: u32,
}

impl Syslog {
    /// Opens the socket for `facility` (Monit's default: user). None, after
    /// a line on stderr, when nobody listens there.
    pub fn open(facility: Option<Facility>) -> Option<Syslog> {
        let path = std::env::var_os("WARDEN_SYSLOG_SOCKET")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
        match Syslog::at(path.clone(), facility) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!(
                    "warden: cannot log to syslog at {} ({e}); logging to stderr instead",
                    path.display()
                );
                None
            }
        }
    }

    fn at(path: PathBuf, facility: Option<Facility>) -> io::Result<Syslog> {
        // Connecting proves a daemon listens; the datagrams themselves are
        // sent by path, so a syslog daemon that restarts is found again.
        UnixDatagram::unbound()?.connect(&path)?;
        Ok(Syslog {
            socket: UnixDatagram::unbound()?,
            path,
            facility: facility_code(facility),
            pid: std::process::id(),
        })
    }

    /// Sends one message at `severity` (syslog.h: 3 error ... 7 debug).
    fn send(&self, severity: u8, message: &[u8]) {
        let mut line =
            format!("<{}>warden[{}]: ", self.facility * 8 + severity, self.pid).into_bytes();
        line.extend_from_slice(message.strip_suffix(b"\n").unwrap_or(message));
        // A lost line cannot be logged anywhere better; syslog drops too.
        let _ = self.socket.send_to(&line, &self.path);
    }
}

/// The facility's number from syslog.h; user when none is set (Monit's
/// default).
fn facility_code(facility: Option<Facility>) -> u8 {
    match facility.unwrap_or(Facility::User) {
        Facility::User => 1,
        Facility::Mail => 2,
        Facility::Daemon => 3,
        Facility::Auth => 4,
        Facility::Syslog => 5,
        Facility::Cron => 9,
        Facility::Authpriv => 10,
        Facility::Local0 => 16,
        Facility::Local1 => 17,
        Facility::Local2 => 18,
        Facility::Local3 => 19,
        Facility::Local4 => 20,
        Facility::Local5 => 21,
        Facility::Local6 => 22,
        Facility::Local7 => 23,
    }
}

fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// One event's line, sent when the formatter drops it.
#[derive(Debug)]
pub struct Line<'a> {
    syslog: &'a Syslog,
    severity: u8,
    buf: Vec<u8>,
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.syslog.send(self.severity, &self.buf);
        }
    }
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        self.line(6)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line<'a> {
        self.line(severity(meta.level()))
    }
}

impl Syslog {
    fn line(&self, severity: u8) -> Line<'_> {
        Line {
            syslog: self,
            severity,
            buf: Vec::new(),
        }
    }
}

/// The message alone: syslog adds the time, host and priority itself.
#[derive(Debug)]
pub struct PlainFormat;

impl<S, N> FormatEvent<S, N> for PlainFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(server: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn a_line_arrives_as_one_datagram_with_facility_and_severity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let table = [
            (Some(Facility::Local0), Level::ERROR, 131),
            (Some(Facility::Daemon), Level::INFO, 30),
            (None, Level::WARN, 12),
            (Some(Facility::Cron), Level::DEBUG, 79),
        ];
        for (facility, level, pri) in table {
            let syslog = Syslog::at(path.clone(), facility).unwrap();
            let mut line = syslog.line(severity(&level));
            line.write_all(b"'web' process is not running\n").unwrap();
            drop(line);
            let want = format!(
                "<{pri}>warden[{}]: 'web' process is not running",
                std::process::id()
            );
            assert_eq!(receive(&server), want, "{facility:?} {level}");
        }
    }

    #[test]
    fn a_socket_nobody_listens_on_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Syslog::at(dir.path().join("none"), None).is_err());
    }

    #[test]
    fn every_facility_the_config_accepts_has_its_number() {
        let table = [
            ("log_user", 1),
            ("log_daemon", 3),
            ("log_local7", 23),
            ("log_authpriv", 10),
        ];
        for (name, code) in table {
            assert_eq!(facility_code(Facility::from_name(name)), code, "{name}");
        }
    }
}
