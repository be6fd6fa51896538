//! What packaging writes from the command line's own definition, so that
//! `warden --help`, the man page warden(1) and the shell completions never
//! disagree: the hidden `warden __generate DIR` writes `DIR/warden.1` and
//! `DIR/completions/{warden.bash,_warden,warden.fish}`. The completions
//! ask the hidden `warden __complete-services` for service names: the
//! running daemon's, else the control file's (the daemon may be down while
//! the user types `warden start `).

use std::path::Path;
use std::process::ExitCode;

use clap_complete::Shell;

use crate::control_file::ControlFile;
use crate::exit;

/// The verbs whose argument is a service name; the actions also take `all`.
const ACTIONS: &str = "start stop restart monitor unmonitor";
const SHOWS: &str = "status summary";

pub fn run(dir: &Path, cmd: clap::Command) -> ExitCode {
    match write_all(dir, cmd) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("warden: cannot write into {}: {e}", dir.display());
            ExitCode::from(exit::FAILED)
        }
    }
}

fn write_all(dir: &Path, cmd: clap::Command) -> std::io::Result<()> {
    let mut cmd = public(cmd);
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)?;
    std::fs::write(dir.join("warden.1"), man_page(&cmd)?)?;
    for (shell, file) in [
        (Shell::Bash, "warden.bash"),
        (Shell::Zsh, "_warden"),
        (Shell::Fish, "warden.fish"),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, "warden", &mut script);
        let script = String::from_utf8_lossy(&script);
        std::fs::write(completions.join(file), with_services(shell, &script))?;
    }
    Ok(())
}

/// The command line as users see it: the hidden subcommands left out (the
/// completion generators would offer them), and one line of version, as
/// the man page's header holds (the long `-V` text would break it).
fn public(cmd: clap::Command) -> clap::Command {
    let mut out = clap::Command::new("warden")
        .version(env!("CARGO_PKG_VERSION"))
        .args(cmd.get_arguments().cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    out
}

/// warden(1): clap_mangen's name, synopsis and options, then one entry per
/// verb with its arguments (clap_mangen would point at a page per verb),
/// then what `--help` has no room for.
fn man_page(cmd: &clap::Command) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd.get_subcommands() {
        let mut usage = format!(
            "\\fBwarden\\fR [\\fIOPTIONS\\fR] \\fB{}\\fR",
            roff(sub.get_name())
        );
        for arg in sub.get_arguments().filter(|a| !a.is_global_set()) {
            let name = arg.get_id().as_str().to_uppercase();
            let word = match arg.get_long() {
                Some(long) => format!("\\fB\\-\\-{}\\fR", roff(long)),
                None => format!("\\fI{}\\fR", roff(&name)),
            };
            if arg.is_required_set() {
                usage.push_str(&format!(" {word}"));
            } else {
                usage.push_str(&format!(" [{word}]"));
            }
        }
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        page.extend_from_slice(format!(".TP\n{usage}\n{}\n", roff(&about)).as_bytes());
        for arg in sub.get_arguments().filter(|a| !a.is_global_set()) {
            if let Some(help) = arg.get_help() {
                let name = match arg.get_long() {
                    Some(long) => format!("\\-\\-{}", roff(long)),
                    None => roff(&arg.get_id().as_str().to_uppercase()),
                };
                page.extend_from_slice(
                    format!(".br\n{name}: {}\n", roff(&help.to_string())).as_bytes(),
                );
            }
        }
    }
    page.extend_from_slice(MAN_TAIL.as_bytes());
    Ok(page)
}

/// Text as roff reads it literally.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}

/// The sections after the verbs: the README's exit codes, files and links.
const MAN_TAIL: &str = r#".SH "MONIT'S COMMAND LINE"
Called through a link named \fBmonit\fR, the binary takes Monit 5.33's
command line, words and exit codes instead (\fBmonit \-h\fR lists them;
\fBmonit \-V\fR prints Monit's version line).
.SH "EXIT STATUS"
.TP
0
success
.TP
1
the control file has errors
.TP
2
bad command\-line usage
.TP
3
\fBstatus\fR, \fBsummary\fR, \fBreport\fR, \fBvalidate\fR: a service shown is
failed or not monitored
.TP
4
the daemon is not running (no answer on the control socket)
.TP
5
permission denied on the control socket
.TP
6
no service or group has that name
.TP
7
the action was refused: the service is in \fBmode passive\fR
.TP
8
the action failed, a reload found errors, or the daemon's answer could not
be read
.SH FILES
.TP
\fI/etc/warden/wardenrc\fR
the control file (mode 0600); without \fB\-c\fR, Warden uses the first of
\fI~/.wardenrc\fR, \fI/etc/warden/wardenrc\fR, \fI/etc/wardenrc\fR,
\fI~/.monitrc\fR, \fI/etc/monitrc\fR, \fI/etc/monit/monitrc\fR,
\fI/usr/local/etc/monitrc\fR that exists
.TP
\fI/etc/warden/conf.d/\fR
checks of the package's control file, one file each
.TP
\fI/var/lib/warden/\fR
the package's state file, control socket, alert memory and alert queue
.SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
no colour on the status words
.TP
\fBWARDEN_PROBE_TIMEOUT\fR
the scheduler's limit for a probe (default 10s)
.SH "SEE ALSO"
\fBwardenrc\fR(5), \fBmonit\fR(1), \fBsystemctl\fR(1)
"#;

/// clap's script with service names added after the verbs that take one.
fn with_services(shell: Shell, script: &str) -> String {
    match shell {
        Shell::Bash => format!(
            "{script}
# Service names (from `warden __complete-services`) after a verb that
# takes one; everything else is the completion above.
_warden_with_services() {{
    local i conf=() verb=\"\"
    for ((i = 1; i < COMP_CWORD; i++)); do
        case \"${{COMP_WORDS[i]}}\" in
            -c|--control-file) conf=(-c \"${{COMP_WORDS[i+1]}}\"); ((i++)) ;;
            -g|--group) ((i++)) ;;
            -*) ;;
            *) verb=\"${{COMP_WORDS[i]}}\"; break ;;
        esac
    done
    local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" names=\"\"
    if [[ $cur != -* && $i -eq $((COMP_CWORD - 1)) ]]; then
        case \" {ACTIONS} \" in *\" $verb \"*) names=\"all \" ;; esac
        case \" {ACTIONS} {SHOWS} \" in
            *\" $verb \"*)
                names+=$(warden \"${{conf[@]}}\" __complete-services 2>/dev/null)
                COMPREPLY=($(compgen -W \"$names\" -- \"$cur\"))
                return 0 ;;
        esac
    fi
    _warden \"$@\"
}}
complete -F _warden_with_services -o bashdefault -o default warden
"
        ),
        Shell::Zsh => {
            // clap gives a service name zsh's default (files); this asks
            // Warden instead.
            let script: String = script
                .lines()
                .map(|line| match line.strip_suffix(":_default' \\") {
                    Some(head) if line.starts_with("'::name -- ") => {
                        format!("{head}:_warden_services' \\\n")
                    }
                    _ => format!("{line}\n"),
                })
                .collect();
            let helper = format!(
                "
_warden_services() {{
    local -a conf names
    local i=${{words[(I)(-c|--control-file)]}}
    (( i )) && conf=(-c \"${{words[i+1]}}\")
    names=(${{(f)\"$(warden \"${{conf[@]}}\" __complete-services 2>/dev/null)\"}})
    local w
    for w in \"${{words[@]}}\"; do
        [[ \" {ACTIONS} \" == *\" $w \"* ]] && {{ names+=(all); break; }}
    done
    compadd -a names
}}
"
            );
            match script.split_once('\n') {
                Some((first, rest)) => format!("{first}\n{helper}{rest}"),
                None => format!("{script}{helper}"),
            }
        }
        Shell::Fish => format!(
            "{script}
# Service names after a verb that takes one (from the running daemon, else
# the control file).
function __warden_services
    set -l words (commandline -opc)
    set -l conf
    if set -l i (contains -i -- -c $words); or set i (contains -i -- --control-file $words)
        set conf -c $words[(math $i + 1)]
    end
    warden $conf __complete-services 2>/dev/null
end
complete -c warden -n '__fish_seen_subcommand_from {ACTIONS}' -f -a 'all (__warden_services)'
complete -c warden -n '__fish_seen_subcommand_from {SHOWS}' -f -a '(__warden_services)'
"
        ),
        _ => script.to_string(),
    }
}

/// `__complete-services`: the names, one a line; nothing (and exit 0) when
/// neither the daemon nor the control file can tell.
pub fn services(source: &ControlFile) -> ExitCode {
    let Some(config) = source.load().config else {
        return ExitCode::from(exit::OK);
    };
    let socket = crate::control_file::socket(&config, &source.path);
    let from_daemon = crate::remote::answers(&socket)
        .then(|| {
            let rt = crate::remote::runtime().ok()?;
            let client = warden::control::client::Client::new(&socket).ok()?;
            rt.block_on(client.status()).ok()
        })
        .flatten();
    let names: Vec<String> = match from_daemon {
        Some(statuses) => statuses.into_iter().map(|s| s.name).collect(),
        None => config.checks.iter().map(|c| c.name.value.clone()).collect(),
    };
    for name in names {
        println!("{name}");
    }
    ExitCode::from(exit::OK)
}
