//! Monit's command line read as Monit 5.33's getopt loop reads it: options
//! anywhere among the words (`monit status -B web`, as Ansible runs it),
//! bundled (`-Bv`, `-vv`), with the argument attached or next (`-crc`,
//! `-c rc`), long names (`--conf rc`, `--conf=rc`). `-H`, `-V` and `-h`
//! answer at once; `-t`, `--id` and `--resetid` are done last, the last
//! one given winning.

use std::path::PathBuf;
use std::time::Duration;

use warden_config::model::LogTarget;

use crate::control_file::Overrides;

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Help,
    Version,
    /// `-H [FILE]`: no file reads stdin.
    Hash(Option<String>),
    Run(Invocation),
}

/// Options and words of a run that needs the control file.
#[derive(Debug, Default, PartialEq)]
pub struct Invocation {
    pub control: Option<PathBuf>,
    pub group: Option<String>,
    pub overrides: Overrides,
    /// `-I`.
    pub foreground: bool,
    /// `-B`: no colour.
    pub batch: bool,
    /// How many `-v`.
    pub verbose: u8,
    /// `-t`, `--id` or `--resetid`.
    pub special: Option<Special>,
    /// The verb and its arguments, in order.
    pub words: Vec<String>,
    /// Options given twice: Monit warns and takes the last.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Test,
    Id,
    ResetId,
}

/// A command line Monit refuses; the words are Monit's.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("Option -- {0} requires an argument")]
    MissingArgument(char),
    #[error("Invalid option -- {0}  (-h will show valid options)")]
    Invalid(String),
    #[error("Option -d requires a natural number")]
    NotANaturalNumber,
}

/// Monit's long options and the short one each stands for.
const LONG: [(&str, char); 15] = [
    ("conf", 'c'),
    ("daemon", 'd'),
    ("group", 'g'),
    ("logfile", 'l'),
    ("pidfile", 'p'),
    ("statefile", 's'),
    ("hash", 'H'),
    ("id", 'i'),
    ("help", 'h'),
    ("resetid", 'r'),
    ("test", 't'),
    ("verbose", 'v'),
    ("batch", 'B'),
    ("interactive", 'I'),
    ("version", 'V'),
];

/// Options that take an argument.
fn takes_value(opt: char) -> bool {
    matches!(opt, 'c' | 'd' | 'g' | 'l' | 'p' | 's')
}

/// Reads the arguments after the program's name.
pub fn parse(args: &[String]) -> Result<Parsed, ArgError> {
    let mut run = Invocation::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let mut opts: Vec<(char, Option<String>)> = Vec::new();
        if arg == "--" {
            continue;
        } else if let Some(long) = arg.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(&(_, opt)) = LONG.iter().find(|(n, _)| *n == name) else {
                return Err(ArgError::Invalid(arg.clone()));
            };
            opts.push((opt, attached));
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, opt) in short.char_indices() {
                let rest = &short[at + opt.len_utf8()..];
                if takes_value(opt) && !rest.is_empty() {
                    opts.push((opt, Some(rest.to_string())));
                    break;
                }
                opts.push((opt, None));
            }
        } else {
            run.words.push(arg.clone());
            continue;
        }
        for (opt, attached) in opts {
            if opt == 'H' {
                return Ok(Parsed::Hash(attached.or_else(|| args.get(i).cloned())));
            }
            let value = if takes_value(opt) {
                match attached {
                    Some(v) => Some(v),
                    None if i < args.len() => {
                        i += 1;
                        Some(args[i - 1].clone())
                    }
                    None => return Err(ArgError::MissingArgument(opt)),
                }
            } else {
                None
            };
            match opt {
                'V' => return Ok(Parsed::Version),
                'h' => return Ok(Parsed::Help),
                _ => set(&mut run, opt, value)?,
            }
        }
    }
    Ok(Parsed::Run(run))
}

/// Records one option of a run.
fn set(run: &mut Invocation, opt: char, value: Option<String>) -> Result<(), ArgError> {
    let value = value.unwrap_or_default();
    let mut again = |given: bool| {
        if given {
            run.warnings.push(format!(
                "WARNING: The -{opt} option was specified multiple times, only the last value will be used"
            ));
        }
    };
    match opt {
        'c' => {
            again(run.control.is_some());
            run.control = Some(PathBuf::from(value));
        }
        'd' => match value.trim().parse::<u64>() {
            Ok(n) if n >= 1 => run.overrides.cycle = Some(Duration::from_secs(n)),
            _ => return Err(ArgError::NotANaturalNumber),
        },
        'g' => {
            again(run.group.is_some());
            run.group = Some(value);
        }
        'l' => {
            again(run.overrides.log.is_some());
            run.overrides.log = Some(if value == "syslog" {
                LogTarget::Syslog(None)
            } else {
                LogTarget::File(PathBuf::from(value))
            });
        }
        'p' => {
            again(run.overrides.pidfile.is_some());
            run.overrides.pidfile = Some(PathBuf::from(value));
        }
        's' => {
            again(run.overrides.statefile.is_some());
            run.overrides.statefile = Some(PathBuf::from(value));
        }
        'I' => run.foreground = true,
        'B' => run.batch = true,
        'v' => run.verbose = run.verbose.saturating_add(1),
        't' => run.special = Some(Special::Test),
        'i' => run.special = Some(Special::Id),
        'r' => run.special = Some(Special::ResetId),
        other => return Err(ArgError::Invalid(other.to_string())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(line: &str) -> Invocation {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        match parse(&args).unwrap() {
            Parsed::Run(r) => r,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn error(line: &str) -> ArgError {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&args).unwrap_err()
    }

    #[test]
    fn options_are_read_anywhere_among_the_words() {
        // Ansible's community.general.monit runs these.
        let r = run("status -B web");
        assert_eq!(
            (r.words, r.batch),
            (vec!["status".into(), "web".into()], true)
        );
        let r = run("-vv start web");
        assert_eq!(
            (r.words, r.verbose),
            (vec!["start".into(), "web".into()], 2)
        );
        let r = run("-c rc -g www restart");
        assert_eq!(r.control, Some(PathBuf::from("rc")));
        assert_eq!(
            (r.group.as_deref(), r.words),
            (Some("www"), vec!["restart".into()])
        );
    }

    #[test]
    fn arguments_may_be_attached_bundled_or_long() {
        let r = run("-crc -Bvd5 -I --group=www --statefile /s -l syslog -p/p.pid");
        assert_eq!(r.control, Some(PathBuf::from("rc")));
        assert!(r.batch && r.foreground);
        assert_eq!(r.verbose, 1);
        assert_eq!(r.overrides.cycle, Some(Duration::from_secs(5)));
        assert_eq!(r.group.as_deref(), Some("www"));
        assert_eq!(r.overrides.statefile, Some(PathBuf::from("/s")));
        assert_eq!(r.overrides.log, Some(LogTarget::Syslog(None)));
        assert_eq!(r.overrides.pidfile, Some(PathBuf::from("/p.pid")));
        assert_eq!(
            run("-l /var/log/m.log").overrides.log,
            Some(LogTarget::File("/var/log/m.log".into()))
        );
    }

    #[test]
    fn the_last_special_wins_and_repeats_warn() {
        assert_eq!(run("--id -t").special, Some(Special::Test));
        assert_eq!(run("-t --resetid").special, Some(Special::ResetId));
        let r = run("-g a -g b summary");
        assert_eq!(r.group.as_deref(), Some("b"));
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn help_version_and_hash_answer_at_once() {
        let p = |l: &str| parse(&l.split_whitespace().map(String::from).collect::<Vec<_>>());
        assert_eq!(p("-c rc -V status"), Ok(Parsed::Version));
        assert_eq!(p("--help"), Ok(Parsed::Help));
        assert_eq!(p("-H file status"), Ok(Parsed::Hash(Some("file".into()))));
        assert_eq!(p("-H"), Ok(Parsed::Hash(None)));
        assert_eq!(p("--hash=f"), Ok(Parsed::Hash(Some("f".into()))));
    }

    #[test]
    fn refusals_use_monits_words() {
        let table = [
            ("-c", "Option -- c requires an argument"),
            ("status -g", "Option -- g requires an argument"),
            ("-x", "Invalid option -- x  (-h will show valid options)"),
            (
                "--bogus",
                "Invalid option -- --bogus  (-h will show valid options)",
            ),
            ("-d 0", "Option -d requires a natural number"),
            ("-d x", "Option -d requires a natural number"),
        ];
        for (line, words) in table {
            assert_eq!(error(line).to_string(), words, "{line}");
        }
    }
}
