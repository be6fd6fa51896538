//! Command-line parsing and the commands that need no daemon (`-t`, `plan`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use warden_config::Loaded;

/// Exit codes, fixed and documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    /// The control file has errors.
    pub const CONFIG: u8 = 1;
}

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
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

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the control file's syntax and exit (same as -t).
    Validate,
    /// Print the checks as the engine will run them.
    Plan {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let Some(path) = control_file(cli.control_file.as_deref()) else {
        eprintln!("warden: no control file found; pass one with -c FILE");
        return ExitCode::from(exit::CONFIG);
    };
    if cli.test {
        return syntax_check(&path);
    }
    match cli.command {
        Some(Command::Validate) => syntax_check(&path),
        None => crate::daemon::run(&path, cli.foreground),
        Some(Command::Plan { json }) => plan(&path, json),
    }
}

/// `-c FILE`, or the first default location that exists.
fn control_file(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_path_buf());
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    warden_config::default_locations(home.as_deref())
        .into_iter()
        .find(|p| p.exists())
}

/// Loads the file and prints its diagnostics to stderr.
fn load(path: &Path) -> Loaded {
    let loaded = warden_config::load_file(path);
    print_diagnostics(&loaded);
    loaded
}

fn print_diagnostics(loaded: &Loaded) {
    let rendered = loaded.render();
    if !rendered.is_empty() {
        let _ = std::io::stderr().write_all(rendered.as_bytes());
    }
}

/// `-t` / `validate`: the file's own diagnostics, then a warning for every
/// check or rule the engine cannot run yet (never silently skipped).
fn syntax_check(path: &Path) -> ExitCode {
    let mut loaded = warden_config::load_file(path);
    if let Some(config) = &loaded.config {
        let warnings = warden_engine::unsupported(config);
        loaded.diagnostics.extend(warnings);
    }
    print_diagnostics(&loaded);
    if loaded.has_errors() {
        ExitCode::from(exit::CONFIG)
    } else {
        println!("Control file syntax OK");
        ExitCode::from(exit::OK)
    }
}

fn plan(path: &Path, json: bool) -> ExitCode {
    let loaded = load(path);
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
