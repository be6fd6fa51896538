//! The Probe trait: one kind of test, configured for one target. A leaf,
//! so that every probe and the registry can name it without naming the
//! crate root, which only re-exports.

use std::future::Future;
use std::pin::Pin;

use crate::outcome::Outcome;

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

    /// What the next run will wait for that many checks share (a process
    /// table), to be awaited before the run takes its place under the
    /// scheduler's cap on probes in flight; None when nothing. Waiting
    /// under the cap, the 10,000 checks of a first cycle were let through
    /// to the one table 256 at a time, each place handed on to the next.
    fn prepare(&self) -> Option<BoxFuture<'_, ()>> {
        None
    }
}
