//! `monit`'s verbs: the requests, the waiting and the renderings are
//! `warden`'s (`remote.rs`, `control::render`); what is Monit's here is
//! the words around them, measured on Debian's monit 5.33: the `Monit
//! 5.33.0 uptime: 0m` header, silence after an action, "Service 'x' not
//! found", `validate` exiting 1, and exit code 1 for every failure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use warden::control::client::{Client, ClientError};
use warden::control::render;
use warden::control::{ErrorCode, Scope};
use warden_engine::{ServiceAction, ServiceStatus};

use super::{NOT_RUNNING, fail};
use crate::control_file::ControlFile;
use crate::remote::{self, SelectError};
use crate::syntax_check::syntax_check;

/// What a verb was asked with.
#[derive(Debug)]
pub struct Asked {
    pub socket: PathBuf,
    /// `-g GROUP`.
    pub group: Option<String>,
    /// The word after the verb: a service, `all`, a report category.
    pub arg: Option<String>,
    pub colour: bool,
}

/// Done (with its exit code), or one line for stderr and exit 1.
type Outcome = Result<u8, String>;

#[derive(Debug, Clone, Copy)]
enum Verb {
    Act(ServiceAction),
    Status,
    Summary,
    Report,
    Reload,
    Quit,
    Validate,
}

impl Verb {
    fn parse(word: &str) -> Option<Verb> {
        Some(match word {
            "status" => Verb::Status,
            "summary" => Verb::Summary,
            "report" => Verb::Report,
            "reload" => Verb::Reload,
            "quit" => Verb::Quit,
            "validate" => Verb::Validate,
            other => Verb::Act(ServiceAction::parse(other)?),
        })
    }
}

pub fn run(source: &ControlFile, word: &str, asked: Asked) -> ExitCode {
    let Some(verb) = Verb::parse(word) else {
        return fail(&format!(
            "Invalid argument -- {word}  (-h will show valid arguments)"
        ));
    };
    // Monit refuses an action without a target before it looks for a daemon.
    if let (Verb::Act(action), None, None) = (verb, &asked.arg, &asked.group) {
        return fail(&format!(
            "Please specify a service name or 'all' after {}",
            action.word()
        ));
    }
    if matches!(verb, Verb::Validate) && !remote::answers(&asked.socket) {
        eprintln!(
            "warden: no daemon answers on {}; checking the control file's syntax only",
            asked.socket.display()
        );
        let _ = syntax_check(&source.path);
        // Monit's validate exits 1 whatever it found.
        return ExitCode::FAILURE;
    }
    let done = match (remote::runtime(), Client::new(&asked.socket)) {
        (Ok(rt), Ok(client)) => rt.block_on(ask(&client, verb, &asked)),
        (Err(e), _) => Err(format!("cannot start the runtime: {e}")),
        (_, Err(e)) => Err(client_error_text(e)),
    };
    match done {
        Ok(code) => ExitCode::from(code),
        Err(line) => fail(&line),
    }
}

async fn ask(client: &Client, verb: Verb, asked: &Asked) -> Outcome {
    let arg = asked.arg.clone();
    match verb {
        Verb::Status | Verb::Summary => {
            let statuses = remote::select(client, asked.group.clone(), arg)
                .await
                .map_err(not_found)?;
            print!("{}", render_statuses(verb, &statuses, asked));
            Ok(0)
        }
        Verb::Report => report(client, asked).await,
        Verb::Act(action) => act(client, action, asked).await,
        Verb::Reload => {
            println!("Reinitializing monit daemon");
            match client.post("reload").await {
                Ok(_) => Ok(0),
                Err(ClientError::NotRunning(_)) => {
                    println!("Monit daemon is not running");
                    Ok(0)
                }
                Err(e) => Err(client_error_text(e)),
            }
        }
        Verb::Quit => {
            let pid = remote::daemon_pid(&asked.socket);
            match remote::quit(client, &asked.socket).await {
                Ok(()) => {
                    match pid {
                        Some(pid) => println!("Monit daemon with pid [{pid}] killed"),
                        None => println!("Monit daemon killed"),
                    }
                    Ok(0)
                }
                Err(ClientError::NotRunning(_)) => {
                    println!("Monit daemon is not running");
                    Ok(0)
                }
                Err(e) => Err(client_error_text(e)),
            }
        }
        Verb::Validate => {
            awakened(&asked.socket);
            let all = remote::validated(client).await.map_err(client_error_text)?;
            match remote::pick(all, asked.group.clone(), arg) {
                Ok(chosen) => print!("{}", render_statuses(Verb::Status, &chosen, asked)),
                Err(e) => eprintln!("{}", not_found(e)),
            }
            // Monit's validate exits 1 whatever it found (Ansible knows).
            Ok(1)
        }
    }
}

/// `status` and `summary` as Monit prints them: the daemon's version and
/// uptime first.
fn render_statuses(verb: Verb, statuses: &[ServiceStatus], asked: &Asked) -> String {
    let uptime = remote::daemon_pid(&asked.socket)
        .and_then(|pid| warden_probes::procfs::read_stat(pid).ok().flatten())
        .map_or(0, |stat| {
            warden_probes::procfs::uptime(stat.starttime).as_secs()
        });
    match verb {
        Verb::Summary => render::render_monit_summary(uptime, statuses, asked.colour),
        _ => render::render_monit_status(uptime, statuses, asked.colour),
    }
}

/// Monit's report categories; any other word is refused.
const REPORTS: [&str; 6] = [
    "up",
    "down",
    "initialising",
    "initializing",
    "unmonitored",
    "total",
];

async fn report(client: &Client, asked: &Asked) -> Outcome {
    let statuses = remote::select(client, asked.group.clone(), None)
        .await
        .map_err(not_found)?;
    match &asked.arg {
        None => print!("{}", render::render_report(&statuses)),
        Some(what) => {
            let category = what.to_lowercase();
            let count = REPORTS
                .contains(&category.as_str())
                .then(|| render::report_count(&statuses, &category))
                .flatten();
            match count {
                Some(n) => println!("{n}"),
                None => return Err(format!("Invalid report type: '{what}'")),
            }
        }
    }
    Ok(0)
}

/// An action: silent when done, as Monit. `-g` wins over a name, as in
/// Monit. Warden waits until it is done (Monit only queues it), so a
/// failed start or stop is said here, exit 1.
async fn act(client: &Client, action: ServiceAction, asked: &Asked) -> Outcome {
    let target = match (&asked.group, &asked.arg) {
        (Some(g), _) => Scope::Group(g.clone()),
        (None, Some(n)) => Scope::Service(n.clone()),
        (None, None) => return Err("no service given".into()),
    };
    let report = client.act(action, &target).await.map_err(|e| match e {
        ClientError::Api(a) if a.code == ErrorCode::UnknownService => {
            let name = asked.arg.clone().unwrap_or_default();
            format!("There is no service named \"{name}\"")
        }
        ClientError::Api(a) if a.code == ErrorCode::UnknownGroup => {
            let group = asked.group.clone().unwrap_or_default();
            format!("Group '{group}' not found")
        }
        e => client_error_text(e),
    })?;
    for name in &report.refused {
        eprintln!(
            "'{name}' is in passive mode: Warden does not {} it",
            action.word()
        );
    }
    for name in &report.failed {
        eprintln!("'{name}' {} failed", action.word());
    }
    Ok(u8::from(!report.failed.is_empty()))
}

/// Monit's words for a name or group that is not there.
fn not_found(e: SelectError) -> String {
    match e {
        SelectError::NoService(n) => format!("Service '{n}' not found"),
        SelectError::NoGroup(g) => format!("Service group '{g}' not found"),
        SelectError::Client(e) => client_error_text(e),
    }
}

/// Monit's words when no daemon answers; Warden's for anything else.
fn client_error_text(e: ClientError) -> String {
    match e {
        ClientError::NotRunning(_) => NOT_RUNNING.to_string(),
        e => e.to_string(),
    }
}

/// `monit` with no verb while a daemon runs: it checks every service now.
pub fn wake(socket: &Path) -> ExitCode {
    let asked = async {
        let client = Client::new(socket)?;
        client.post("validate").await
    };
    let done = match remote::runtime() {
        Ok(rt) => rt.block_on(asked).map_err(client_error_text),
        Err(e) => Err(format!("cannot start the runtime: {e}")),
    };
    match done {
        Ok(_) => {
            awakened(socket);
            ExitCode::SUCCESS
        }
        Err(line) => fail(&line),
    }
}

fn awakened(socket: &Path) {
    match remote::daemon_pid(socket) {
        Some(pid) => println!("Monit daemon with PID {pid} awakened"),
        None => println!("Monit daemon awakened"),
    }
}

/// After `--resetid`: the daemon reloads, as Monit's gets SIGHUP; Monit's
/// words when there is none.
pub fn reload_quietly(socket: &Path) {
    let asked = async {
        let client = Client::new(socket)?;
        client.post("reload").await
    };
    if let Ok(rt) = remote::runtime()
        && let Err(e) = rt.block_on(asked)
    {
        match e {
            ClientError::NotRunning(_) => println!("Monit daemon is not running"),
            e => eprintln!("{e}"),
        }
    }
}

/// `procmatch PATTERN` with Monit's words for a missing or bad pattern.
pub fn procmatch(pattern: Option<&str>) -> ExitCode {
    let Some(pattern) = pattern else {
        println!("Invalid syntax - usage: procmatch \"<pattern>\"");
        return ExitCode::FAILURE;
    };
    match crate::procmatch::list(pattern) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(crate::procmatch::ProcmatchError::Pattern(why)) => {
            println!("Regex {pattern} parsing error: {why}");
            ExitCode::FAILURE
        }
        Err(crate::procmatch::ProcmatchError::Table(e)) => {
            fail(&format!("cannot read the process table: {e}"))
        }
    }
}
