//! Warden as `monit`: called through a link (or a copy) named `monit`, the
//! binary reads Monit 5.33's command line and answers in Monit's words,
//! layouts and exit codes (0, or 1 with a line on stderr), so scripts, cron
//! jobs and Ansible's `community.general.monit` keep working. The daemon,
//! the API client and the renderings are `warden`'s own; this module only
//! reads Monit's options and speaks Monit's words around them.

mod args;
mod verbs;

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use md5::Md5;
use sha1::{Digest as _, Sha1};
use warden::monit_id;
use warden_config::Config;

use crate::control_file::{self, ControlFile};
use crate::syntax_check::syntax_check;
use args::{Invocation, Parsed, Special};

/// The Monit release whose command line this one is.
pub use warden::control::MONIT_VERSION;

/// Monit's answer to a command on a control file with no daemon behind it.
const NOT_RUNNING: &str = "Monit: the monit daemon is not running";

/// True when the program was called by the name `monit`.
pub fn invoked_as_monit() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|arg0| Path::new(&arg0).file_name().is_some_and(|n| n == "monit"))
}

pub fn run() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match args::parse(&args) {
        Err(e) => fail(&e.to_string()),
        Ok(Parsed::Help) => {
            print!("{}", help());
            ExitCode::SUCCESS
        }
        Ok(Parsed::Version) => {
            print!("{}", version());
            ExitCode::SUCCESS
        }
        Ok(Parsed::Hash(file)) => hash(file.as_deref()),
        Ok(Parsed::Run(invocation)) => run_invocation(invocation),
    }
}

/// Monit's one failure code, after one line on stderr.
fn fail(line: &str) -> ExitCode {
    eprintln!("{line}");
    ExitCode::FAILURE
}

fn run_invocation(inv: Invocation) -> ExitCode {
    for warning in &inv.warnings {
        eprintln!("{warning}");
    }
    // The one verb that needs no control file (Monit reads one all the same).
    if inv.special.is_none() && inv.words.first().is_some_and(|w| w == "procmatch") {
        return verbs::procmatch(inv.words.get(1).map(String::as_str));
    }
    let path = match control_file(inv.control.as_deref()) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let source = ControlFile {
        path,
        overrides: inv.overrides.clone(),
    };
    if inv.special == Some(Special::Test) {
        return syntax_check(&source.path);
    }
    let loaded = source.load();
    let Some(config) = loaded.config else {
        control_file::print_diagnostics(&loaded);
        return ExitCode::FAILURE;
    };
    if inv.verbose > 0 {
        // Monit's -v prints its settings and services first; Warden's plan
        // says the same.
        println!("{}{}", crate::plan::render(&config), "-".repeat(79));
    }
    match inv.special {
        Some(Special::Id) => return id(&source, &config, false),
        Some(Special::ResetId) => return id(&source, &config, true),
        Some(Special::Test) | None => {}
    }
    let colour = std::io::stdout().is_terminal()
        && !inv.batch
        && !config.settings.terminal_batch
        && std::env::var_os("NO_COLOR").is_none();
    let socket = control_file::socket(&config, &source.path);
    let Some((verb, rest)) = inv.words.split_first() else {
        return daemon(&source, &socket, &inv);
    };
    let asked = verbs::Asked {
        socket,
        group: inv.group.clone(),
        arg: rest.first().cloned(),
        colour,
    };
    verbs::run(&source, verb, asked)
}

/// Why there is no control file to read, in Monit's words.
#[derive(Debug, thiserror::Error)]
enum ControlFileError {
    #[error("The control file '{}' does not exist at {}", given.display(), cwd.display())]
    Missing { given: PathBuf, cwd: PathBuf },
    #[error("The control file '{}' is not a file", .0.display())]
    NotAFile(PathBuf),
    #[error("Cannot find the control file at {}", .0.join(", "))]
    NotFound(Vec<String>),
}

/// `-c FILE` as Monit checks it, or Warden's default locations.
fn control_file(given: Option<&Path>) -> Result<PathBuf, ControlFileError> {
    match given {
        Some(p) if p.is_file() => Ok(p.to_path_buf()),
        Some(p) if !p.exists() && p.is_relative() => Err(ControlFileError::Missing {
            given: p.to_path_buf(),
            cwd: std::env::current_dir().unwrap_or_default(),
        }),
        Some(p) => Err(ControlFileError::NotAFile(p.to_path_buf())),
        None => control_file::find(None).ok_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let places: Vec<String> = warden_config::default_locations(home.as_deref())
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            ControlFileError::NotFound(places)
        }),
    }
}

/// No verb: start the daemon, or wake the running one (it checks every
/// service now), as Monit does.
fn daemon(source: &ControlFile, socket: &Path, inv: &Invocation) -> ExitCode {
    if crate::remote::answers(socket) {
        return verbs::wake(socket);
    }
    println!(
        "Starting Warden {} daemon (as Monit {MONIT_VERSION}) with control socket at {}",
        env!("CARGO_PKG_VERSION"),
        socket.display()
    );
    crate::daemon::run(source, inv.foreground, inv.verbose > 0)
}

/// `--id` and `--resetid`.
fn id(source: &ControlFile, config: &Config, reset: bool) -> ExitCode {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let path = monit_id::path(
        config.settings.idfile.as_deref(),
        home.as_deref(),
        &source.path,
    );
    let made = |path: &Path, id: &str| {
        println!(" New Monit id: {id}\n Stored in '{}'", path.display());
    };
    let current = match monit_id::read_or_create(&path) {
        Ok(current) => current,
        Err(e) => return fail(&e.to_string()),
    };
    if current.created {
        made(&path, &current.id);
    }
    if !reset {
        println!("Monit ID: {}", current.id);
        return ExitCode::SUCCESS;
    }
    print!("Reset Monit Id? [y/N]> ");
    let _ = std::io::stdout().flush();
    let mut answer = [0u8; 1];
    let yes = std::io::stdin().read(&mut answer).is_ok_and(|n| n == 1)
        && answer[0].eq_ignore_ascii_case(&b'y');
    if !yes {
        return ExitCode::SUCCESS;
    }
    match monit_id::reset(&path) {
        Ok(new) => made(&path, &new.id),
        Err(e) => return fail(&e.to_string()),
    }
    // A running daemon reads the new id on reload, as Monit's does.
    verbs::reload_quietly(&control_file::socket(config, &source.path));
    ExitCode::SUCCESS
}

/// `-H [FILE]`: SHA1 and MD5 of the file or of stdin, as Monit prints them
/// (an unreadable file is named on stdout too, exit 1).
fn hash(file: Option<&str>) -> ExitCode {
    let label = file.unwrap_or("stdin");
    let reader: Result<Box<dyn std::io::Read>, _> = match file {
        Some(f) => std::fs::File::open(f).map(|f| Box::new(f) as Box<dyn std::io::Read>),
        None => Ok(Box::new(std::io::stdin().lock())),
    };
    match reader.and_then(digests) {
        Ok((sha1, md5)) => {
            println!("SHA1({label}) = {sha1}");
            println!("MD5({label})  = {md5}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{label}: {}", strerror(&e));
            ExitCode::FAILURE
        }
    }
}

/// SHA1 and MD5 in one pass, lowercase hex.
fn digests(mut reader: Box<dyn std::io::Read>) -> std::io::Result<(String, String)> {
    let (mut sha1, mut md5) = (Sha1::new(), Md5::new());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha1.update(&buf[..n]);
        md5.update(&buf[..n]);
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Ok((hex(&sha1.finalize()), hex(&md5.finalize())))
}

/// The system's words for an error, without Rust's `(os error N)`.
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// `-V`: Monit's first line shape, so tools that read Monit's version from
/// it (Ansible takes the first dotted number) find 5.33.0; then Warden's.
fn version() -> String {
    format!(
        "This is Monit version {MONIT_VERSION} (Warden {}, compatible with Monit 5.33)\n\
         Built with ssl, with ipv6, without compression, without pam and with large files\n\
         Warden reads Monit's control files and command line; `warden -h` lists its own.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// `-h`: Monit's own help, every line of which this command accepts.
fn help() -> String {
    "Usage: monit [options]+ [command]
Options are as follows:
 -c file       Use this control file
 -d n          Run as a daemon once per n seconds
 -g name       Set group name for monit commands
 -l logfile    Print log information to this file
 -p pidfile    Use this lock file in daemon mode
 -s statefile  Set the file monit should write state information to
 -I            Do not run in background (needed when run from init)
 --id          Print Monit's unique ID
 --resetid     Reset Monit's unique ID. Use with caution
 -B            Batch command line mode (do not output tables or colors)
 -t            Run syntax check for the control file
 -v            Verbose mode, work noisy (diagnostic output)
 -vv           Very verbose mode, same as -v plus log stacktrace on error
 -H [filename] Print SHA1 and MD5 hashes of the file or of stdin if the
               filename is omitted; monit will exit afterwards
 -V            Print version number and patchlevel
 -h            Print this text
Optional commands are as follows:
 start all             - Start all services
 start <name>          - Only start the named service
 stop all              - Stop all services
 stop <name>           - Stop the named service
 restart all           - Stop and start all services
 restart <name>        - Only restart the named service
 monitor all           - Enable monitoring of all services
 monitor <name>        - Only enable monitoring of the named service
 unmonitor all         - Disable monitoring of all services
 unmonitor <name>      - Only disable monitoring of the named service
 reload                - Reinitialize monit
 status [name]         - Print full status information for service(s)
 summary [name]        - Print short status information for service(s)
 report [up|down|..]   - Report state of services. See manual for options
 quit                  - Kill the monit daemon process
 validate              - Check all services and start if not running
 procmatch <pattern>   - Test process matching pattern
"
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_line_gives_monits_version_first() {
        let text = version();
        let first = text.lines().next().unwrap_or_default();
        // Ansible's community.general.monit: the first dotted number.
        let number: String = first
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        assert_eq!(number, MONIT_VERSION);
        assert!(first.contains(&format!("Warden {}", env!("CARGO_PKG_VERSION"))));
    }

    #[test]
    fn system_errors_read_as_the_system_words_them() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(strerror(&e), "No such file or directory");
    }
}
