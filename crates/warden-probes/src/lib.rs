//! The Probe trait and the built-in probes. A probe tests one kind of fact
//! and reports an [`Outcome`]; it never decides what to do about it (rules
//! do), and it owns no timing (the scheduler wraps every run in a timeout).
//!
//! Map: `registry` builds probes from a check; `process_probe` (with
//! `process`, `resources`, `table`, `match_index`, `procfs`, `procinfo`)
//! finds and measures processes; `net` with `protocol/` tests ports;
//! `pidfd` notices exits at once; `pidfile_watch` tells when a pidfile
//! may have changed.
//! Local checks (`local` wires them): `system`, `filesystem`, `file` with
//! `checksum` and `content`, `program` with `nagios`; `latest` lets rule
//! probes read what the check's own probe measured; `spec` says how each
//! rule is tested.

pub mod checksum;
pub mod connect;
pub mod content;
pub mod date;
pub mod dns;
pub mod exits;
pub mod file;
pub mod filesystem;
pub mod held;
pub mod latest;
pub mod local;
pub mod match_index;
pub mod mounts;
pub mod nagios;
pub mod net;
pub mod netif;
pub mod offload;
pub mod outcome;
pub mod pattern;
pub mod peer;
pub mod pidfd;
pub mod pidfile_watch;
pub mod ping;
pub mod probe;
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
pub mod unsupported;

pub use net::PortProbe;
pub use outcome::{
    ALL_METRICS, Measurement, Metric, NamedValue, Outcome, ProcessFacts, Status, Text,
};
pub use pidfd::{ExitWatch, raise_nofile_limit};
pub use probe::{BoxFuture, Probe};
pub use process_probe::ProcessProbe;
pub use registry::{CheckProbes, ProbeContext, probes_for, protocol_names};
pub use spec::{Fact, RuleSpec, SubjectTest, Words};
pub use table::{ProcessTable, TableCache};
pub use unsupported::NotSupported;
