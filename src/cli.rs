//! `warden`'s command line (Monit's shape: options before the verb) and
//! the commands that need no daemon (`plan`, `procmatch`); `-t` is
//! `syntax_check.rs`, the verbs that ask the daemon are in `remote.rs`, the
//! daemon is `daemon.rs`. Called by the name `monit`, the binary reads
//! Monit's own command line instead (`monit/`, chosen in `main.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use warden_engine::ServiceAction;

use crate::control_file::{self, ControlFile};
use crate::exit;
use crate::remote::{Show, Verb};
use crate::syntax_check::syntax_check;

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version = crate::version::TEXT,
    about = "A Monit-compatible service monitor and supervisor"
)]
struct Cli {
    /// The control file (default: ~/.wardenrc, /etc/warden/wardenrc,
    /// /etc/wardenrc, then Monit's ~/.monitrc, /etc/monitrc, ...).
    #[arg(short = 'c', long = "control-file", global = true)]
    control_file: Option<PathBuf>,

    /// Check the control file's syntax and exit.
    #[arg(short = 't', long = "test")]
    test: bool,

    /// Run in the foreground (do not detach), logging to stderr too.
    #[arg(short = 'I', long = "foreground")]
    foreground: bool,

    /// Act on (or show) the services of this group.
    #[arg(short = 'g', long = "group", global = true)]
    group: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate every check now (asks the daemon); without a daemon, check
    /// the control file's syntax (same as -t).
    Validate,
    /// Print the checks as the engine will run them.
    Plan {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show every service (or one) in detail.
    Status(Show),
    /// Show a table of services: name, status, type.
    Summary(Show),
    /// Count services: up, down, failed, initialising, unmonitored, total.
    Report {
        /// One category only, printed as a bare number.
        what: Option<String>,
    },
    /// `start`, `stop`, ...: one subcommand per [`ServiceAction`].
    #[command(flatten)]
    Act(Act),
    /// Reload the control file in the running daemon.
    Reload,
    /// Stop the daemon; the services keep running.
    Quit,
    /// Send a test alert mail through the configured mail servers.
    AlertTest {
        /// The recipient (default: every `set alert` address).
        address: Option<String>,
    },
    /// Show which process a `matching` rule with this pattern would pick.
    Procmatch {
        /// A regular expression, matched against full command lines.
        pattern: String,
    },
    /// Print a control file made from another tool's configuration (see
    /// `import/`).
    Import(crate::import::Import),
    /// Write the man page and shell completions into DIR (packaging).
    #[command(name = "__generate", hide = true)]
    Generate { dir: PathBuf },
    /// List the service names, for shell completion.
    #[command(name = "__complete-services", hide = true)]
    CompleteServices,
}

#[derive(Debug, clap::Args)]
pub struct Name {
    /// A service name, or `all`; leave out with -g GROUP.
    pub name: Option<String>,
}

/// An action's subcommand: built from the engine's list of actions, so a
/// new action is a new verb here with its word and help, and parsed back
/// to the same [`ServiceAction`] that goes to the daemon.
#[derive(Debug)]
pub struct Act {
    pub action: ServiceAction,
    pub name: Option<String>,
}

impl clap::Subcommand for Act {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        ServiceAction::ALL.into_iter().fold(cmd, |cmd, action| {
            let sub = clap::Command::new(action.word())
                .about(action.help())
                .long_about(None);
            cmd.subcommand(<Name as clap::Args>::augment_args(sub))
        })
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        ServiceAction::parse(name).is_some()
    }
}

impl clap::FromArgMatches for Act {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }

    fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        let found = matches
            .remove_subcommand()
            .and_then(|(word, sub)| Some((ServiceAction::parse(&word)?, sub)));
        let Some((action, mut sub)) = found else {
            return Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand));
        };
        let name = <Name as clap::FromArgMatches>::from_arg_matches_mut(&mut sub)?.name;
        Ok(Act { action, name })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Procmatch { pattern }) = &cli.command {
        return procmatch(pattern);
    }
    if let Some(Command::Import(import)) = &cli.command {
        return crate::import::run(import);
    }
    if let Some(Command::Generate { dir }) = &cli.command {
        return crate::generate::run(dir, <Cli as clap::CommandFactory>::command());
    }
    let Some(path) = control_file::find(cli.control_file.as_deref()) else {
        eprintln!("warden: no control file found; pass one with -c FILE");
        return ExitCode::from(exit::CONFIG);
    };
    if cli.test {
        return syntax_check(&path);
    }
    let group = cli.group;
    let source = ControlFile::plain(&path);
    let remote = |verb| crate::remote::run(&source, group.clone(), verb);
    match cli.command {
        None => crate::daemon::run(&source, cli.foreground, false),
        Some(Command::Plan { json }) => plan(&path, json),
        Some(Command::AlertTest { address }) => crate::alert_test::run(&path, address.as_deref()),
        Some(Command::Procmatch { .. } | Command::Import(_) | Command::Generate { .. }) => {
            ExitCode::from(exit::OK)
        }
        Some(Command::CompleteServices) => crate::generate::services(&source),
        Some(Command::Validate) => remote(Verb::Validate),
        Some(Command::Status(show)) => remote(Verb::Status(show)),
        Some(Command::Summary(show)) => remote(Verb::Summary(show)),
        Some(Command::Report { what }) => remote(Verb::Report(what)),
        Some(Command::Act(act)) => remote(Verb::Act(act.action, act.name)),
        Some(Command::Reload) => remote(Verb::Reload),
        Some(Command::Quit) => remote(Verb::Quit),
    }
}

fn plan(path: &Path, json: bool) -> ExitCode {
    let loaded = warden_config::load_file(path);
    control_file::print_diagnostics(&loaded);
    let Some(config) = loaded.config else {
        return ExitCode::from(exit::CONFIG);
    };
    if json {
        match serde_json::to_string_pretty(&config) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("warden: cannot encode the plan: {e}");
                return ExitCode::from(exit::CONFIG);
            }
        }
    } else {
        print!("{}", crate::plan::render(&config));
    }
    ExitCode::from(exit::OK)
}

/// `procmatch REGEX`: see `procmatch.rs`.
fn procmatch(pattern: &str) -> ExitCode {
    match crate::procmatch::list(pattern) {
        Ok(text) => {
            print!("{text}");
            ExitCode::from(exit::OK)
        }
        Err(crate::procmatch::ProcmatchError::Pattern(e)) => {
            eprintln!("warden: '{pattern}' is not a valid regular expression: {e}");
            ExitCode::from(exit::USAGE)
        }
        Err(crate::procmatch::ProcmatchError::Table(e)) => {
            eprintln!("warden: cannot read the process table: {e}");
            ExitCode::from(exit::FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn every_action_is_a_verb_with_its_help_and_parses_back_to_itself() {
        Cli::command().debug_assert();
        let help = Cli::command().render_help().to_string();
        for action in ServiceAction::ALL {
            let line = format!("  {:<12}{}", action.word(), action.help());
            assert!(help.contains(&line), "{line} in {help}");
            let cli = Cli::try_parse_from(["warden", "-g", "www", action.word(), "web"]).unwrap();
            match cli.command {
                Some(Command::Act(act)) => {
                    assert_eq!((act.action, act.name.as_deref()), (action, Some("web")));
                }
                other => panic!("{} parsed as {other:?}", action.word()),
            }
            assert_eq!(cli.group.as_deref(), Some("www"));
        }
        assert!(Cli::try_parse_from(["warden", "start", "a", "b"]).is_err());
    }
}
