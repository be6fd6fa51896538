//! `warden import monit|supervisord|systemd`: prints a control file made
//! from another tool's configuration, on stdout, to be checked and saved
//! by the user. Checks go through the original tool to start and stop
//! (`supervisorctl`, `systemctl`), and the text reads the same in Monit
//! 5.33, so Monit can stay the fallback.

mod emit;
mod monit;
mod supervisord;
mod systemd;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::exit;

#[derive(Debug, clap::Args)]
pub struct Import {
    #[command(subcommand)]
    from: From,
}

#[derive(Debug, clap::Subcommand)]
enum From {
    /// Monit's control file, unchanged, with what `warden -t` says about it
    /// as comments (default: /etc/monit/monitrc, then /etc/monitrc).
    Monit {
        /// The control file.
        file: Option<PathBuf>,
    },
    /// A check per `[program:NAME]` of a supervisord configuration, started
    /// and stopped through supervisorctl.
    Supervisord {
        /// supervisord.conf, or a file of its `[include]`.
        file: PathBuf,
    },
    /// A check per service unit, started and stopped through systemctl.
    Systemd {
        /// Unit names (looked up as systemd does) or unit files.
        #[arg(required = true)]
        units: Vec<String>,
    },
}

/// Prints the text; exits 1 when the source has errors or cannot be read.
pub fn run(import: &Import) -> ExitCode {
    let (text, ok, problem) = match &import.from {
        From::Monit { file } => {
            let Some(path) = file.clone().or_else(monit::find) else {
                eprintln!(
                    "warden: no Monit control file at {}; name one: warden import monit FILE",
                    monit::DEFAULTS.join(" or ")
                );
                return ExitCode::from(exit::CONFIG);
            };
            match monit::import(&path) {
                Ok(imported) => (
                    imported.text,
                    !imported.errors,
                    "the control file has errors",
                ),
                Err(why) => return failed(&why),
            }
        }
        From::Supervisord { file } => match supervisord::import(file) {
            Ok(text) => (text, true, ""),
            Err(why) => return failed(&why),
        },
        From::Systemd { units } => {
            let (text, ok) = systemd::import(units);
            (text, ok, "a unit could not be read")
        }
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        eprintln!("warden: cannot write the control text: {e}");
        return ExitCode::from(exit::FAILED);
    }
    if ok {
        ExitCode::from(exit::OK)
    } else {
        eprintln!("warden: {problem}: see the comments in the output");
        ExitCode::from(exit::CONFIG)
    }
}

fn failed(why: &str) -> ExitCode {
    eprintln!("warden: {why}");
    ExitCode::from(exit::CONFIG)
}
