//! The tests a rule can make (`if TEST then ...`), one variant per kind of
//! fact a probe measures.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::hash::HashAlgorithm;
use super::http::{HttpMethod, HttpUrl};
use super::measure::{Operator, Quantity};
use super::millis::{duration_ms, opt_duration_ms};
use super::pattern::{BytesRegex, Regex};
use super::protocol::Protocol;
use super::ssl::{SslOptions, serialize_test_ssl};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum Test {
    /// `if does not exist` (process, file, ...).
    NotExist,
    /// `if exist`.
    Exist,
    /// `if cpu > 80%`, `if totalmem > 200 MB`, `if loadavg (5min) > 4`, ...
    Resource {
        resource: Resource,
        op: Operator,
        limit: Quantity,
    },
    /// `if failed [host H] port N ...`, `if failed unixsocket P ...`.
    Connection(Box<Connection>),
    /// `if failed url http://...`.
    Url(Box<UrlTest>),
    /// `if failed ping [count N] [size N] [timeout N s]`.
    Ping {
        count: Option<u32>,
        size: Option<u32>,
        #[serde(with = "opt_duration_ms")]
        timeout: Option<Duration>,
    },
    /// `if N restarts within M cycles`.
    Restarts { count: u32, cycles: u32 },
    /// `if failed permission 0644`.
    #[serde(serialize_with = "named::mode")]
    Permission(u32),
    /// `if failed uid root`.
    #[serde(serialize_with = "named::user")]
    Uid(String),
    /// `if failed gid staff`.
    #[serde(serialize_with = "named::group")]
    Gid(String),
    /// `if failed [md5|sha1|sha256] checksum [expect X]` or `if changed checksum`.
    Checksum {
        algorithm: Option<HashAlgorithm>,
        expected: Option<String>,
        changed: bool,
    },
    /// `if timestamp > 5 minutes`, `if changed timestamp`; `which` is
    /// atime/mtime/ctime (Monit's default is the newest of mtime and ctime).
    Timestamp {
        which: Option<TimestampKind>,
        /// None with `changed`.
        compare: Option<(Operator, Quantity)>,
        changed: bool,
    },
    /// `if size > 100 MB`, `if changed size`.
    Size {
        compare: Option<(Operator, Quantity)>,
        changed: bool,
    },
    /// `if content = "regex"` / `if content != "regex"`.
    Content { matches: bool, pattern: Regex },
    /// `if space usage > 80%`, `if space free < 1 GB`, `if inode ...`.
    Space {
        inode: bool,
        free: bool,
        op: Operator,
        limit: Quantity,
    },
    /// `if changed fsflags`.
    FsFlagsChanged,
    /// `if changed perm[ission]`: the mode differs from the last cycle's.
    PermissionChanged,
    /// `if status != 0`, `if changed status`.
    Status {
        compare: Option<(Operator, i64)>,
        changed: bool,
    },
    /// `if changed pid`.
    PidChanged,
    /// `if changed ppid`.
    PpidChanged,
    /// `if failed link`, `if link down`, `if changed link [capacity]`.
    Link { changed: bool, capacity: bool },
    /// `if saturation > 90%`.
    Saturation { op: Operator, limit: Quantity },
    /// `if upload > 10 MB/s`, `if total download > 1 GB in last hour`.
    Transfer {
        direction: Direction,
        op: Operator,
        limit: Quantity,
        /// `total ... in last N minutes/hours/days`; None is per second.
        #[serde(with = "opt_duration_ms")]
        window: Option<Duration>,
    },
    /// `if uptime < 3 minutes` (process or system).
    Uptime { op: Operator, limit: Quantity },
    /// Warden extension: `if failed resolve NAME [to ADDR] [on SERVER [port N]]`.
    Resolve(Box<ResolveTest>),
}

impl Test {
    /// The test's name in messages: the same word as its `test` tag in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Test::NotExist => "not_exist",
            Test::Exist => "exist",
            Test::Resource { .. } => "resource",
            Test::Connection(_) => "connection",
            Test::Url(_) => "url",
            Test::Ping { .. } => "ping",
            Test::Restarts { .. } => "restarts",
            Test::Permission(_) => "permission",
            Test::Uid(_) => "uid",
            Test::Gid(_) => "gid",
            Test::Checksum { .. } => "checksum",
            Test::Timestamp { .. } => "timestamp",
            Test::Size { .. } => "size",
            Test::Content { .. } => "content",
            Test::Space { .. } => "space",
            Test::FsFlagsChanged => "fs_flags_changed",
            Test::PermissionChanged => "permission_changed",
            Test::Status { .. } => "status",
            Test::PidChanged => "pid_changed",
            Test::PpidChanged => "ppid_changed",
            Test::Link { .. } => "link",
            Test::Saturation { .. } => "saturation",
            Test::Transfer { .. } => "transfer",
            Test::Uptime { .. } => "uptime",
            Test::Resolve(_) => "resolve",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Cpu,
    TotalCpu,
    CpuUser,
    CpuSystem,
    CpuWait,
    Memory,
    TotalMemory,
    Swap,
    Children,
    Threads,
    LoadAvg1,
    LoadAvg5,
    LoadAvg15,
    /// `loadavg per core`.
    LoadAvg1PerCore,
    LoadAvg5PerCore,
    LoadAvg15PerCore,
    FileDescriptors,
    TotalFileDescriptors,
    ReadBytes,
    WriteBytes,
    ReadOps,
    WriteOps,
    ServiceTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampKind {
    Access,
    Modify,
    Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Upload,
    Download,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IpVersion {
    #[default]
    Any,
    V4,
    V6,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketType {
    #[default]
    Tcp,
    Udp,
    /// TCP with TLS (Monit's `tcpssl` / `type tcpssl`).
    TcpSsl,
}

/// Where a connection test connects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Endpoint {
    /// `[host H] port N`; `host` None means the check's own address
    /// (a host check) or localhost.
    Port {
        host: Option<String>,
        port: u16,
        ip: IpVersion,
        socket: SocketType,
    },
    UnixSocket {
        path: PathBuf,
        socket: SocketType,
    },
}

/// `if failed ... port N [protocol P ...] [send/expect] [timeout] [retry]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connection {
    pub endpoint: Endpoint,
    /// `Protocol::Default` when none is named.
    pub protocol: Protocol,
    pub options: Options,
    /// Generic protocol: `send "x" expect "regex"` pairs in order.
    pub exchange: Vec<SendExpect>,
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
    pub retry: Option<u32>,
}

/// A connection test's protocol options, stored only when one is set: most
/// port tests have none, and the 312 bytes of an empty [`ProtocolOptions`]
/// were most of what a port check's config kept. Reads see the empty
/// options through `Deref`; the first write through `DerefMut` stores them.
#[derive(Clone, Default)]
pub struct Options(Option<Box<ProtocolOptions>>);

static NO_OPTIONS: ProtocolOptions = ProtocolOptions {
    request: None,
    status: None,
    content: None,
    hostheader: None,
    username: None,
    password: None,
    method: None,
    headers: Vec::new(),
    checksum: None,
    certificate_valid_days: None,
    ssl: None,
    extra: Vec::new(),
    response_time: None,
    source_address: None,
};

impl Options {
    /// Stores `options` unless they are all empty.
    pub fn new(options: ProtocolOptions) -> Options {
        Options((options != NO_OPTIONS).then(|| Box::new(options)))
    }
}

impl From<ProtocolOptions> for Options {
    fn from(options: ProtocolOptions) -> Options {
        Options::new(options)
    }
}

impl std::ops::Deref for Options {
    type Target = ProtocolOptions;
    fn deref(&self) -> &ProtocolOptions {
        self.0.as_deref().unwrap_or(&NO_OPTIONS)
    }
}

impl std::ops::DerefMut for Options {
    fn deref_mut(&mut self) -> &mut ProtocolOptions {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for Options {
    fn eq(&self, other: &Options) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl Serialize for Options {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

/// The options a protocol test may take; each protocol uses what it needs.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ProtocolOptions {
    /// HTTP `request "/path"` (may hold a query).
    pub request: Option<String>,
    /// HTTP `status = 200`, `status != 500`, ...
    pub status: Option<(Operator, u16)>,
    /// HTTP `content = "regex"` / `content != "regex"`.
    pub content: Option<(bool, Regex)>,
    pub hostheader: Option<String>,
    /// `username X password Y` (http basic auth, mysql, pgsql, ...).
    pub username: Option<String>,
    pub password: Option<String>,
    /// HTTP `method GET|HEAD`.
    pub method: Option<HttpMethod>,
    /// HTTP `with http headers [...]`.
    pub headers: Vec<String>,
    /// `checksum [md5|sha1] expect X` on HTTP content.
    pub checksum: Option<String>,
    /// `certificate valid > N days`.
    pub certificate_valid_days: Option<u32>,
    /// `ssl options {verify: enable, selfsigned: allow, ...}`; None
    /// without any.
    #[serde(serialize_with = "serialize_test_ssl")]
    pub ssl: Option<Box<SslOptions>>,
    /// Anything else a protocol takes, by name (e.g. `database`).
    pub extra: Vec<(String, String)>,
    /// `responsetime < 2 seconds`: slower than this, the test fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_time: Option<ResponseTime>,
    /// `address 192.0.2.5`: the local address to connect from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_address: Option<IpAddr>,
}

/// A response time limit: the time taken must satisfy `op limit`
/// (`< 2 s`; `<` when no operator is written).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ResponseTime {
    pub op: Operator,
    #[serde(with = "duration_ms")]
    pub limit: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", content = "text", rename_all = "snake_case")]
pub enum SendExpect {
    Send(String),
    /// A regex the response must match.
    Expect(BytesRegex),
}

/// `if failed url URL [and content = "..."] [timeout N s] [retry N]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrlTest {
    pub url: HttpUrl,
    pub content: Option<(bool, Regex)>,
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub options: ProtocolOptions,
}

/// Warden extension: a DNS name resolves (optionally to an address).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolveTest {
    pub name: String,
    pub expect: Option<String>,
    pub server: Option<String>,
    pub port: Option<u16>,
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
}

mod named {
    //! An internally tagged enum cannot hold a bare number or string, so
    //! these variants serialise as `{"test": "uid", "user": "root"}`.
    use serde::Serializer;
    use serde::ser::SerializeStruct;

    fn one<S: Serializer, T: serde::Serialize>(
        s: S,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Test", 1)?;
        st.serialize_field(name, value)?;
        st.end()
    }

    pub fn mode<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        one(s, "mode", &format!("{mode:04o}"))
    }

    pub fn user<S: Serializer>(user: &String, s: S) -> Result<S::Ok, S::Error> {
        one(s, "user", user)
    }

    pub fn group<S: Serializer>(group: &String, s: S) -> Result<S::Ok, S::Error> {
        one(s, "group", group)
    }
}

#[cfg(test)]
mod options_tests {
    use super::{Options, ProtocolOptions};

    #[test]
    fn empty_options_read_as_empty_and_a_write_keeps_what_is_written() {
        let mut none = Options::new(ProtocolOptions::default());
        assert_eq!(*none, ProtocolOptions::default());
        assert_eq!(none, Options::default());
        assert_eq!(
            format!("{none:?}"),
            format!("{:?}", ProtocolOptions::default())
        );
        none.request = Some("/health".into());
        assert_eq!(none.request.as_deref(), Some("/health"));
        assert_ne!(none, Options::default());

        let set = Options::from(ProtocolOptions {
            username: Some("u".into()),
            ..ProtocolOptions::default()
        });
        assert_eq!(set.username.as_deref(), Some("u"));
        assert_eq!(set.clone(), set);
    }
}
