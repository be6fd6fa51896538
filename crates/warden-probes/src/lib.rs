//! The Probe trait and the built-in probes. A probe tests one kind of fact
//! and reports an [`Outcome`]; it never decides what to do about it (rules
//! do), and it owns no timing (the scheduler wraps every run in a timeout).
//!
//! Map: `registry` builds probes from a check; `process_probe` (with
//! `process`, `resources`, `table`, `procfs`, `procinfo`) finds and
//! measures processes; `net` with `protocol/` tests ports; `pidfd` notices
//! exits at once.
//! Local checks (`local` wires them): `system`, `filesystem`, `file` with
//! `checksum` and `content`, `program` with `nagios`; `latest` lets rule
//! probes read what the check's own probe measured; `spec` says how each
//! rule is tested.

pub mod checksum;
pub mod connect;
pub mod content;
pub mod date;
pub mod dns;
pub mod file;
pub mod filesystem;
pub mod latest;
pub mod local;
pub mod mounts;
pub mod nagios;
pub mod net;
pub mod netif;
pub mod outcome;
pub mod pattern;
pub mod pidfd;
pub mod ping;
pub mod process;
pub mod process_probe;
pub mod procfs;
pub mod procinfo;
pub mod program;
pub mod program_env;
pub mod protocol;
pub mod registry;
pub mod resources;
pub mod run;
pub mod spec;
pub mod system;
pub mod table;
pub mod tls;
pub mod transfer;

use std::future::Future;
use std::pin::Pin;

pub use net::PortProbe;
pub use outcome::{Measurement, Metric, NamedValue, Outcome, ProcessFacts, Status, Text};
pub use pidfd::{ExitWatch, raise_nofile_limit};
pub use process_probe::ProcessProbe;
pub use registry::{CheckProbes, NotSupported, ProbeContext, probes_for, protocol_names};
pub use spec::{Fact, RuleSpec, SubjectTest, Words};
pub use table::{ProcessTable, TableCache};

/// A boxed future, so probes can live in a registry as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One kind of test, configured for one target.
pub trait Probe: Send + Sync + std::fmt::Debug {
    /// The registry name (`process`, `port`, `http`, ...), for logs and metrics.
    fn kind(&self) -> &'static str;

    /// Runs the test once. Must not block the thread: blocking work goes to
    /// `tokio::task::spawn_blocking`.
    fn run(&self) -> BoxFuture<'_, Outcome>;

    /// A time limit of the probe's own, longer than the scheduler's default
    /// (a program's `with timeout`); None: the scheduler's default.
    fn timeout(&self) -> Option<std::time::Duration> {
        None
    }
}
