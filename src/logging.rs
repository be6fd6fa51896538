//! Log lines in Monit's style, `[2026-11-21T04:51:16+0000] error    : 'web'
//! process is not running`, to `set logfile` and, in the foreground, stderr;
//! or, with `set log syslog`, to the local syslog socket (see [`syslog`]).

use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};
use warden_config::model::LogTarget;

mod syslog;

use syslog::{PlainFormat, Syslog};

struct MonitFormat;

impl<S, N> FormatEvent<S, N> for MonitFormat
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
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        let now = warden_engine::clock::monit_date(std::time::SystemTime::now());
        write!(w, "[{now}] {level:<8} : ")?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Installs the logger; `WARDEN_LOG` (tracing's filter syntax) overrides
/// the default level, info (debug when `verbose`).
pub fn init(target: Option<&LogTarget>, stderr: bool, verbose: bool) {
    let level = if verbose { "debug" } else { "info" };
    let filter = || EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let file = log_file(target).and_then(|p| {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("warden: cannot open the log file {}: {e}", p.display());
                None
            }
        }
    });
    let file_layer = file.map(|f| {
        tracing_subscriber::fmt::layer()
            .event_format(MonitFormat)
            .with_writer(Mutex::new(f))
            .with_ansi(false)
            .with_filter(filter())
    });
    let syslog = match target {
        Some(LogTarget::Syslog(facility)) => Syslog::open(*facility),
        _ => None,
    };
    // Without the syslog socket, lines go to stderr rather than nowhere.
    let stderr = stderr || matches!(target, Some(LogTarget::Syslog(_))) && syslog.is_none();
    let syslog_layer = syslog.map(|s| {
        tracing_subscriber::fmt::layer()
            .event_format(PlainFormat)
            .with_writer(s)
            .with_ansi(false)
            .with_filter(filter())
    });
    let stderr_layer = stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .event_format(MonitFormat)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_filter(filter())
    });
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .with(syslog_layer)
        .try_init();
}

/// The log file, when the log goes to one (not to syslog or stderr).
fn log_file(target: Option<&LogTarget>) -> Option<&Path> {
    match target {
        Some(LogTarget::File(p)) => Some(p),
        _ => None,
    }
}
