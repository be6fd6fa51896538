//! Global settings: everything a `set ...` statement configures.

use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Serialize;

use super::event::EventFilter;
use super::millis::{duration_ms, opt_duration_ms};
use super::ssl::SslOptions;
use crate::span::Span;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// `set daemon N`: the cycle length.
    #[serde(with = "duration_ms")]
    pub cycle: Duration,
    /// Whether `set daemon` was given at all (Monit needs it to run as a daemon).
    pub daemon_set: bool,
    /// `set daemon N with start delay M`.
    #[serde(with = "duration_ms")]
    pub start_delay: Duration,
    pub log: Option<LogTarget>,
    pub pidfile: Option<PathBuf>,
    pub idfile: Option<PathBuf>,
    pub statefile: Option<PathBuf>,
    pub httpd: Option<Httpd>,
    pub mailservers: Vec<MailServer>,
    /// `set mailserver ... using hostname H`: the name used in HELO/EHLO.
    pub mail_hostname: Option<String>,
    pub mail_format: MailFormat,
    pub alerts: Vec<AlertRecipient>,
    /// Warden extension: `set alert webhook URL [...]`.
    pub webhooks: Vec<Webhook>,
    /// Warden extension: `set alertmanager URL [labels {...}] [...]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alertmanagers: Vec<Alertmanager>,
    pub eventqueue: Option<EventQueue>,
    /// `set limits { name: value, ... }` as written; units normalised to bytes
    /// or milliseconds.
    pub limits: Vec<(String, u64)>,
    pub onreboot: Option<OnReboot>,
    /// `set mmonit URL [with timeout N seconds], ...`.
    pub mmonit: Vec<MmonitServer>,
    /// False after `register without credentials`.
    pub mmonit_credentials: bool,
    /// `set init`: run in the foreground (for init/upstart/systemd).
    pub init: bool,
    pub ssl: Option<SslOptions>,
    pub fips: bool,
    /// `set terminal batch`.
    pub terminal_batch: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cycle: Duration::from_secs(30),
            daemon_set: false,
            start_delay: Duration::ZERO,
            log: None,
            pidfile: None,
            idfile: None,
            statefile: None,
            httpd: None,
            mailservers: Vec::new(),
            mail_hostname: None,
            mail_format: MailFormat::default(),
            alerts: Vec::new(),
            webhooks: Vec::new(),
            alertmanagers: Vec::new(),
            eventqueue: None,
            limits: Vec::new(),
            onreboot: None,
            mmonit: Vec::new(),
            mmonit_credentials: true,
            init: false,
            ssl: None,
            fips: false,
            terminal_batch: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "to", content = "value", rename_all = "snake_case")]
pub enum LogTarget {
    File(PathBuf),
    /// `set log syslog [facility log_local0]`.
    Syslog(Option<Facility>),
}

macro_rules! facilities {
    ($($variant:ident => $name:literal,)*) => {
        /// A syslog facility, as `set log syslog facility` names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Facility {
            $($variant,)*
        }

        impl Facility {
            /// Every facility the config takes, in the order hints list them.
            pub const ALL: &'static [Facility] = &[$(Facility::$variant,)*];

            /// Monit's spelling (`log_local0`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Facility::$variant => $name,)*
                }
            }
        }
    };
}

facilities! {
    Local0 => "log_local0",
    Local1 => "log_local1",
    Local2 => "log_local2",
    Local3 => "log_local3",
    Local4 => "log_local4",
    Local5 => "log_local5",
    Local6 => "log_local6",
    Local7 => "log_local7",
    Daemon => "log_daemon",
    User => "log_user",
    Mail => "log_mail",
    Auth => "log_auth",
    Authpriv => "log_authpriv",
    Syslog => "log_syslog",
    Cron => "log_cron",
}

impl Facility {
    /// The facility named `name` (`log_daemon`; lowercase).
    pub fn from_name(name: &str) -> Option<Facility> {
        Facility::ALL.iter().copied().find(|f| f.name() == name)
    }
}

/// As the name, the way the model showed it when it was a string.
impl Serialize for Facility {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `set httpd ...`: the control interface.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Httpd {
    pub port: Option<u16>,
    pub address: Option<String>,
    pub unixsocket: Option<PathBuf>,
    /// `with ssl { ... }` / `ssl enable` options.
    pub ssl: Option<SslOptions>,
    pub allow: Vec<Allow>,
    pub signature: bool,
    /// `read-only`: the whole interface only shows, never acts.
    pub read_only: bool,
    /// `unixsocket PATH uid U gid G permission 0660`.
    pub socket_uid: Option<String>,
    pub socket_gid: Option<String>,
    pub socket_permission: Option<u32>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Allow {
    /// A host name, an address or a network (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`).
    Host { host: ClientHost },
    User {
        user: String,
        password: String,
        read_only: bool,
    },
    /// `allow @group [read-only]`.
    Group { group: String, read_only: bool },
    /// `allow md5|crypt|cleartext /path/htpasswd [users]`.
    Htpasswd {
        path: PathBuf,
        digest: Digest,
        users: Vec<String>,
        read_only: bool,
    },
}

/// A client `allow` names: a network (an address is a network of one),
/// parsed once here, or a host name, resolved when the interface starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientHost {
    Network {
        net: IpNet,
        /// As written (`192.168.1.0/255.255.255.0`): what the model shows.
        written: Box<str>,
    },
    Name(String),
}

impl ClientHost {
    /// The host as written.
    pub fn as_str(&self) -> &str {
        match self {
            ClientHost::Network { written, .. } => written,
            ClientHost::Name(name) => name,
        }
    }
}

impl Serialize for ClientHost {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How the passwords of an htpasswd file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Digest {
    #[default]
    Cleartext,
    Md5,
    Crypt,
}

/// One `set mailserver` entry; the list is tried in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailServer {
    pub host: String,
    pub port: Option<u16>,
    pub username: Option<String>,
    #[serde(skip)]
    pub password: Option<String>,
    pub security: MailSecurity,
    /// `using ssl { ... }` options and `certificate checksum`.
    pub ssl: Option<SslOptions>,
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailSecurity {
    #[default]
    Plain,
    /// `using ssl`: TLS from the first byte.
    Ssl,
    /// `using tls`: STARTTLS.
    StartTls,
}

/// `set mail-format { from: ... reply-to: ... subject: ... message: ... }`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MailFormat {
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
}

/// `set alert ADDR [[but] not] on { events } [with mail-format {...}]
/// [with reminder on N cycles]` (global or per check).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRecipient {
    pub address: String,
    /// `on { ... }` / `not on { ... }`; none means all events.
    #[serde(flatten)]
    pub filter: EventFilter,
    pub reminder_cycles: Option<u32>,
    pub mail_format: Option<MailFormat>,
    #[serde(skip)]
    pub span: Span,
}

/// Warden extension: `set alert webhook "URL" [on {...}]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub url: String,
    #[serde(flatten)]
    pub filter: EventFilter,
    #[serde(skip)]
    pub span: Span,
}

/// One M/Monit collector of `set mmonit`, with its own timeout (Monit's
/// default, 5 s, when None).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MmonitServer {
    pub url: String,
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
}

/// Warden extension: `set alertmanager URL [labels { NAME: VALUE, ... }]
/// [[not] on { events }]`: alerts posted to an Alertmanager's
/// `/api/v2/alerts` (the base URL, without that path).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alertmanager {
    pub url: String,
    /// Added to every alert's labels, in the order written; they replace
    /// Warden's own labels of the same name (`host`, `severity`, ...).
    pub labels: Vec<(String, String)>,
    #[serde(flatten)]
    pub filter: EventFilter,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventQueue {
    pub basedir: Option<PathBuf>,
    pub slots: Option<u32>,
}

/// `onreboot start|nostart|laststate`: the default in `set onreboot`, or
/// a check's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReboot {
    Start,
    NoStart,
    Laststate,
}
