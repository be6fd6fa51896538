//! Checks (Monit's "services"): what is watched, the rules that test it, and
//! the actions those rules take.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::millis::{duration_ms, opt_duration_ms};
use super::pattern::{Pattern, Regex};
use super::settings::{AlertRecipient, OnReboot};
use super::test::Test;
use crate::cron::Cron;
use crate::span::{Span, Spanned};

/// One `check ...` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: Spanned<String>,
    pub kind: CheckKind,
    // Programs and backoff are boxed: most checks have none, and the daemon
    // keeps every check for good (808 -> 304 bytes a check).
    pub start: Option<Box<Program>>,
    pub stop: Option<Box<Program>>,
    pub restart: Option<Box<Program>>,
    pub depends_on: Vec<Spanned<String>>,
    pub groups: Vec<String>,
    pub schedule: Schedule,
    pub mode: Mode,
    pub onreboot: Option<OnReboot>,
    /// Per-check `alert ADDR ...` recipients, added to the global ones.
    pub alerts: Vec<AlertRecipient>,
    /// Per-check `noalert ADDR`: global recipients this check does not mail
    /// (or, with Warden, a `set alertmanager` URL it does not post to).
    pub noalerts: Vec<String>,
    /// Warden extension: the check's own `alertmanager URL [labels {...}]`
    /// lines, added to the global ones (its labels win for a URL in both).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alertmanagers: Vec<super::settings::Alertmanager>,
    pub rules: Vec<Rule>,
    /// Warden extension: delay between automatic restarts.
    pub backoff: Option<Box<Backoff>>,
    /// `ignore content = "regex"` / `!=`: lines the content rules skip,
    /// in the order written (Monit: they take precedence over `if content`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_content: Vec<IgnoreContent>,
    /// The whole block, `check` keyword to its last statement.
    #[serde(skip)]
    pub span: Span,
}

/// One `ignore content` statement: a line is skipped when the regex
/// matches it (`=`) or does not (`!=`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IgnoreContent {
    pub matches: bool,
    pub pattern: Regex,
}

/// What a check watches.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CheckKind {
    Process {
        target: ProcessTarget,
    },
    File {
        path: PathBuf,
    },
    Directory {
        path: PathBuf,
    },
    Fifo {
        path: PathBuf,
    },
    /// `check filesystem NAME with path P`: P is a mount point or a device.
    Filesystem {
        path: PathBuf,
    },
    Host {
        address: String,
    },
    System,
    /// `check program NAME with path "CMD ARGS" [with timeout N seconds]`.
    Program {
        program: Box<Program>,
    },
    Network {
        target: NetworkTarget,
    },
}

impl CheckKind {
    /// The type of check, without what it watches.
    pub fn check_type(&self) -> CheckType {
        match self {
            CheckKind::Process { .. } => CheckType::Process,
            CheckKind::File { .. } => CheckType::File,
            CheckKind::Directory { .. } => CheckType::Directory,
            CheckKind::Fifo { .. } => CheckType::Fifo,
            CheckKind::Filesystem { .. } => CheckType::Filesystem,
            CheckKind::Host { .. } => CheckType::Host,
            CheckKind::System => CheckType::System,
            CheckKind::Program { .. } => CheckType::Program,
            CheckKind::Network { .. } => CheckType::Network,
        }
    }

    /// The word Monit uses for this type (`Process`, `File`, ...).
    pub fn type_name(&self) -> &'static str {
        self.check_type().monit_name()
    }
}

/// Declares `CheckType` and everything said about each type in one list,
/// so that a new type is one line here (and the arms the compiler then
/// asks for elsewhere); no table can leave one out.
macro_rules! check_types {
    ($($variant:ident = $number:literal, $monit:literal, $word:literal;)*) => {
        /// The types of check, each with Monit's number for it (the `type`
        /// of a `<service>` in Monit's XML).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CheckType {
            $($variant = $number,)*
        }

        impl CheckType {
            /// Every type, in Monit's numbering.
            pub const ALL: &'static [CheckType] = &[$(CheckType::$variant,)*];

            /// Monit's title for the type (`Process`, `Remote Host`, ...).
            pub fn monit_name(self) -> &'static str {
                match self {
                    $(CheckType::$variant => $monit,)*
                }
            }

            /// The control file's word for it (`check host ...`).
            pub fn word(self) -> &'static str {
                match self {
                    $(CheckType::$variant => $word,)*
                }
            }
        }
    };
}

check_types! {
    Filesystem = 0, "Filesystem", "filesystem";
    Directory = 1, "Directory", "directory";
    File = 2, "File", "file";
    Process = 3, "Process", "process";
    Host = 4, "Remote Host", "host";
    System = 5, "System", "system";
    Fifo = 6, "Fifo", "fifo";
    Program = 7, "Program", "program";
    Network = 8, "Network", "network";
}

impl CheckType {
    /// Monit's service type number.
    pub fn monit_number(self) -> u8 {
        self as u8
    }

    /// The type Monit calls `name` (`Remote Host`), if any.
    pub fn from_monit_name(name: &str) -> Option<CheckType> {
        CheckType::ALL
            .iter()
            .copied()
            .find(|t| t.monit_name() == name)
    }
}

/// Serialised as Monit's name (`"Remote Host"`), as status documents show it.
impl Serialize for CheckType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.monit_name())
    }
}

impl<'de> Deserialize<'de> for CheckType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        CheckType::from_monit_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown check type {name:?}")))
    }
}

/// Monit's name; `pad` so that tables can give it a width (`{:<14}`).
impl std::fmt::Display for CheckType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.monit_name())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum ProcessTarget {
    Pidfile(PathBuf),
    /// A regex matched against the full command line; the oldest match wins.
    Matching(Pattern),
    Pid(u32),
    /// Warden extension: `check process NAME with systemd unit "x.service"`.
    SystemdUnit(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum NetworkTarget {
    Address(String),
    Interface(String),
}

/// When a check runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "every", content = "value", rename_all = "snake_case")]
pub enum Schedule {
    /// Every N daemon cycles (1 when not given).
    Cycles(u32),
    /// `every "cron spec"`: run only in matching minutes. Boxed: few
    /// checks have one, and every check keeps its schedule.
    Cron(Box<Cron>),
    /// `not every "cron spec"`: skip matching minutes.
    NotCron(Box<Cron>),
    /// Warden extension: `every 500 ms`, `every 5 s`.
    Interval(#[serde(with = "duration_ms")] Duration),
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Cycles(1)
    }
}

/// `mode active|passive|manual`; serialised as that word (status JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Active,
    Passive,
    Manual,
}

impl Mode {
    /// The word the control file and `monit status` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Active => "active",
            Mode::Passive => "passive",
            Mode::Manual => "manual",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A program to run: start/stop/restart, `exec`, or a `check program`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Program {
    /// The command line as written.
    pub command: String,
    /// `command` split like a shell would (no shell is run).
    pub argv: Vec<String>,
    pub uid: Option<UserRef>,
    pub gid: Option<UserRef>,
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
    #[serde(skip)]
    pub span: Span,
}

/// A user or group, by name or number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum UserRef {
    Id(u32),
    Name(String),
}

/// Warden extension: how long to wait before each automatic restart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backoff {
    Fixed {
        #[serde(with = "duration_ms")]
        delay: Duration,
    },
    Exponential {
        #[serde(with = "duration_ms")]
        initial: Duration,
        #[serde(with = "duration_ms")]
        max: Duration,
        jitter: bool,
        /// A run this long without a restart resets the delay.
        #[serde(with = "duration_ms")]
        reset_after: Duration,
    },
}

/// `if TEST [trigger] then ACTION [else if succeeded [trigger] then ACTION]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub test: Spanned<Test>,
    pub trigger: Trigger,
    pub action: Spanned<Action>,
    pub recovery: Option<Recovery>,
    /// `if succeeded ...` (Monit's inverted tests, e.g. `if succeeded port
    /// 3306` or `if link up`): the rule fires when the test passes.
    pub succeeded: bool,
    #[serde(skip)]
    pub span: Span,
}

/// `else if succeeded [trigger] then ACTION`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    pub trigger: Trigger,
    pub action: Spanned<Action>,
}

/// How many failing cycles out of how many make a rule fire.
/// `for N cycles` is `N times within N cycles`; the default is 1 within 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub times: u32,
    pub within: u32,
}

impl Default for Trigger {
    fn default() -> Self {
        Trigger {
            times: 1,
            within: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Alert,
    Restart,
    Start,
    Stop,
    Monitor,
    Unmonitor,
    Exec {
        program: Box<Program>,
        /// `repeat every N cycles` while the rule keeps failing.
        repeat_every: Option<u32>,
    },
}

#[cfg(test)]
mod tests {
    use super::CheckType;

    #[test]
    fn check_types_are_numbered_as_monit_does_and_read_back_by_name() {
        let numbers: Vec<u8> = CheckType::ALL.iter().map(|t| t.monit_number()).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(CheckType::Host.monit_name(), "Remote Host");
        assert_eq!(CheckType::Host.word(), "host");
        for t in CheckType::ALL {
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.monit_name()));
            assert_eq!(serde_json::from_str::<CheckType>(&json).unwrap(), *t);
        }
        assert!(serde_json::from_str::<CheckType>("\"Host\"").is_err());
        assert_eq!(format!("[{:<8}]", CheckType::File), "[File    ]");
    }
}
