//! The verbs that ask the running daemon (`status`, `summary`, `report`,
//! `start`..`unmonitor`, `reload`, `quit`, `validate`): find its socket from
//! the control file, ask, print, and exit with a code that means something.

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use warden::control::client::{Client, ClientError};
use warden::control::render;
use warden::control::{ActReport, ErrorCode, Scope};
use warden_engine::status::{MonitoringStatus, unix_s};
use warden_engine::{ServiceAction, ServiceStatus};

use crate::control_file::{self, ControlFile};
use crate::exit;
use crate::syntax_check::syntax_check;

/// What `status` and `summary` show, as given on the command line.
#[derive(Debug, clap::Args)]
pub struct Show {
    /// One service only.
    pub name: Option<String>,
    /// Print JSON (the schema in the README) instead of text.
    #[arg(long)]
    pub json: bool,
    /// With `status NAME`: the service's recent events and samples (the
    /// last hour the daemon keeps in memory) instead of its status.
    #[arg(long)]
    pub history: bool,
}

/// One verb and its arguments.
#[derive(Debug)]
pub enum Verb {
    Validate,
    Status(Show),
    Summary(Show),
    Report(Option<String>),
    Act(ServiceAction, Option<String>),
    Reload,
    Quit,
}

/// A way out: the exit code and, unless empty, one line for stderr.
type Outcome = Result<u8, (u8, String)>;

pub fn run(source: &ControlFile, group: Option<String>, verb: Verb) -> ExitCode {
    let loaded = source.load();
    let Some(config) = loaded.config else {
        control_file::print_diagnostics(&loaded);
        return ExitCode::from(exit::CONFIG);
    };
    let socket = control_file::socket(&config, &source.path);
    if matches!(verb, Verb::Validate) && !answers(&socket) {
        eprintln!(
            "warden: no daemon answers on {}; checking the control file's syntax only",
            socket.display()
        );
        return syntax_check(&source.path);
    }
    let done = match (runtime(), Client::new(&socket)) {
        (Ok(rt), Ok(client)) => rt.block_on(ask(&client, &socket, group, verb)),
        (Err(e), _) => Err((exit::FAILED, format!("cannot start the runtime: {e}"))),
        (_, Err(e)) => Err(failure(e)),
    };
    match done {
        Ok(code) => ExitCode::from(code),
        Err((code, line)) => {
            eprintln!("warden: {line}");
            ExitCode::from(code)
        }
    }
}

/// False when nobody listens on the socket (no file, or refused): no
/// daemon runs. A socket this user may not use still answers.
pub fn answers(socket: &Path) -> bool {
    !std::os::unix::net::UnixStream::connect(socket).is_err_and(|e| {
        matches!(
            e.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
        )
    })
}

/// The small runtime a CLI request runs on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

async fn ask(client: &Client, socket: &Path, group: Option<String>, verb: Verb) -> Outcome {
    match verb {
        Verb::Status(show) => show_status(client, group, show, false).await,
        Verb::Summary(show) => show_status(client, group, show, true).await,
        Verb::Report(what) => report(client, what).await,
        Verb::Act(action, name) => act(client, action, target(action, name, group)?).await,
        Verb::Reload => {
            client.post("reload").await.map_err(failure)?;
            println!("Reinitializing the Warden daemon");
            Ok(exit::OK)
        }
        Verb::Quit => {
            quit(client, socket).await.map_err(failure)?;
            println!("Warden daemon stopped");
            Ok(exit::OK)
        }
        Verb::Validate => validate(client).await,
    }
}

/// The exit code and words for a failed request.
fn failure(e: ClientError) -> (u8, String) {
    let code = match &e {
        ClientError::NotRunning(_) => exit::NOT_RUNNING,
        ClientError::PermissionDenied(_) => exit::PERMISSION,
        ClientError::Api(a) if a.code.is_unknown() => exit::UNKNOWN,
        ClientError::Api(a) if a.code == ErrorCode::Passive => exit::REFUSED,
        _ => exit::FAILED,
    };
    (code, e.to_string())
}

fn target(
    action: ServiceAction,
    name: Option<String>,
    group: Option<String>,
) -> Result<Scope, (u8, String)> {
    match (name, group) {
        (Some(n), None) => Ok(Scope::Service(n)),
        (None, Some(g)) => Ok(Scope::Group(g)),
        (Some(_), Some(_)) => Err((
            exit::USAGE,
            format!(
                "{}: give a service name or -g GROUP, not both",
                action.word()
            ),
        )),
        (None, None) => Err((
            exit::USAGE,
            format!("{} needs a service name, 'all', or -g GROUP", action.word()),
        )),
    }
}

async fn act(client: &Client, action: ServiceAction, target: Scope) -> Outcome {
    let report: ActReport = client.act(action, &target).await.map_err(failure)?;
    for name in &report.refused {
        eprintln!(
            "warden: '{name}' is in passive mode: Warden does not {} it",
            action.word()
        );
    }
    for name in &report.failed {
        eprintln!("warden: '{name}' {} failed", action.word());
    }
    Ok(
        match (report.failed.is_empty(), report.refused.is_empty()) {
            (false, _) => exit::FAILED,
            (true, false) => exit::REFUSED,
            (true, true) => exit::OK,
        },
    )
}

/// Asks the daemon to stop and returns once its socket is gone and its
/// process has exited (bounded): scripts may start a new daemon next.
pub async fn quit(client: &Client, socket: &Path) -> Result<(), ClientError> {
    let pid = daemon_pid(socket);
    client.post("quit").await?;
    let end = Instant::now() + Duration::from_secs(15);
    while (socket.exists() || pid.is_some_and(running)) && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The pid of the daemon answering on `socket`: the peer of a connection
/// to it (Warden needs no pidfile to know it).
pub fn daemon_pid(socket: &Path) -> Option<u32> {
    let stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    let peer = rustix::net::sockopt::socket_peercred(&stream).ok()?;
    u32::try_from(peer.pid.as_raw_nonzero().get()).ok()
}

/// Whether `pid` is a process that has not exited (a zombie has).
fn running(pid: u32) -> bool {
    warden_probes::procfs::read_stat(pid)
        .ok()
        .flatten()
        .is_some_and(|stat| stat.state != 'Z')
}

/// Why a `status`/`summary` found nothing to show.
#[derive(Debug)]
pub enum SelectError {
    Client(ClientError),
    NoService(String),
    NoGroup(String),
}

impl From<ClientError> for SelectError {
    fn from(e: ClientError) -> Self {
        SelectError::Client(e)
    }
}

/// The statuses a `status`/`summary` asks for: all, one name, or a group.
pub async fn select(
    client: &Client,
    group: Option<String>,
    name: Option<String>,
) -> Result<Vec<ServiceStatus>, SelectError> {
    pick(client.status().await?, group, name)
}

/// Of `all`, the one named, else those of the group, else all.
pub fn pick(
    all: Vec<ServiceStatus>,
    group: Option<String>,
    name: Option<String>,
) -> Result<Vec<ServiceStatus>, SelectError> {
    let chosen: Vec<_> = match (&name, &group) {
        (Some(n), _) => all.into_iter().filter(|s| &s.name == n).collect(),
        (None, Some(g)) => all.into_iter().filter(|s| s.groups.contains(g)).collect(),
        (None, None) => return Ok(all),
    };
    match (chosen.is_empty(), name, group) {
        (true, Some(n), _) => Err(SelectError::NoService(n)),
        (true, None, Some(g)) => Err(SelectError::NoGroup(g)),
        _ => Ok(chosen),
    }
}

/// `warden`'s words and exit codes for a failed selection.
fn not_selected(e: SelectError) -> (u8, String) {
    match e {
        SelectError::Client(e) => failure(e),
        SelectError::NoService(n) => (exit::UNKNOWN, format!("there is no service named '{n}'")),
        SelectError::NoGroup(g) => (exit::UNKNOWN, format!("there is no group named '{g}'")),
    }
}

async fn show_status(client: &Client, group: Option<String>, show: Show, summary: bool) -> Outcome {
    if show.history {
        return history(client, show, summary).await;
    }
    let statuses = select(client, group, show.name)
        .await
        .map_err(not_selected)?;
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = match (show.json, summary) {
        (true, false) => json(&statuses)?,
        (true, true) => json(&statuses.iter().map(short).collect::<Vec<_>>())?,
        (false, false) => render::render_status(&statuses, colour),
        (false, true) => render::render_summary(&statuses, colour),
    };
    print!("{text}");
    Ok(verdict(&statuses))
}

/// `status NAME --history`: one service's events and samples.
async fn history(client: &Client, show: Show, summary: bool) -> Outcome {
    let verb = if summary { "summary" } else { "status" };
    let (Some(name), false) = (show.name, summary) else {
        return Err((
            exit::USAGE,
            format!("{verb} --history needs one service: warden status NAME --history"),
        ));
    };
    let view = client.history(&name).await.map_err(failure)?;
    let text = if show.json {
        json(&view)?
    } else {
        warden::control::chart::text(&view)
    };
    print!("{text}");
    Ok(exit::OK)
}

/// `summary --json`: name, type, status, ok and monitoring only.
fn short(s: &ServiceStatus) -> serde_json::Value {
    serde_json::json!({
        "name": s.name,
        "type": s.kind,
        "status": s.status,
        "ok": s.ok,
        "monitoring": s.monitoring,
    })
}

fn json(value: &impl serde::Serialize) -> Result<String, (u8, String)> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| (exit::FAILED, format!("cannot encode JSON: {e}")))
}

/// Non-zero when a service is failed or not monitored.
fn verdict(statuses: &[ServiceStatus]) -> u8 {
    if statuses.iter().all(|s| s.ok) {
        exit::OK
    } else {
        exit::SERVICE_DOWN
    }
}

async fn report(client: &Client, what: Option<String>) -> Outcome {
    let all = client.status().await.map_err(failure)?;
    match what {
        None => print!("{}", render::render_report(&all)),
        Some(w) => match render::report_count(&all, &w) {
            Some(n) => println!("{n}"),
            None => {
                return Err((
                    exit::USAGE,
                    format!(
                        "report: unknown category '{w}': use up, down, failed, initialising, unmonitored or total"
                    ),
                ));
            }
        },
    }
    Ok(verdict(&all))
}

async fn validate(client: &Client) -> Outcome {
    let statuses = validated(client).await.map_err(failure)?;
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print!("{}", render::render_summary(&statuses, colour));
    Ok(verdict(&statuses))
}

/// Asks the daemon to evaluate every check now and waits (bounded) until
/// each monitored check has reported; the statuses then.
pub async fn validated(client: &Client) -> Result<Vec<ServiceStatus>, ClientError> {
    let asked = unix_s(SystemTime::now());
    client.post("validate").await?;
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let all = client.status().await?;
        let pending = all.iter().any(|s| {
            s.monitoring != MonitoringStatus::NotMonitored
                && s.last_check_unix_s.is_none_or(|t| t < asked)
        });
        if !pending || Instant::now() >= end {
            return Ok(all);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
