//! What a check's task can be asked from outside its own timer: by another
//! check (a dependency came up, stop for a restart) or by a person.

use tokio::sync::oneshot;

/// A request to one check's task, from another check or a person.
#[derive(Debug)]
pub enum CheckRequest {
    /// Run the check now (a dependency came up, a person asked).
    Evaluate,
    Start(Option<oneshot::Sender<bool>>),
    Stop(Option<oneshot::Sender<bool>>),
    Restart(Option<oneshot::Sender<bool>>),
    Monitor,
    Unmonitor,
}
