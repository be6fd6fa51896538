//! What every check task shares: the event bus, the state store, the probe
//! concurrency cap, the other checks' command channels and who is up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};
use warden_probes::{Outcome, Probe, Status};

use crate::events::EventBus;
use crate::state::StateStore;

/// A request to one check's task, from another check or a person.
#[derive(Debug)]
pub enum Command {
    /// Run the check now (a dependency came up, a person asked).
    Evaluate,
    Start(Option<oneshot::Sender<bool>>),
    Stop(Option<oneshot::Sender<bool>>),
    Restart(Option<oneshot::Sender<bool>>),
    Monitor,
    Unmonitor,
}

#[derive(Debug)]
pub struct Shared {
    pub bus: EventBus,
    pub state: StateStore,
    pub probes: Arc<Semaphore>,
    pub peers: HashMap<String, mpsc::Sender<Command>>,
    up: Mutex<HashMap<String, bool>>,
    pub probe_timeout: Duration,
    /// The latest status of every check, for the control API.
    pub status: crate::status::StatusBoard,
}

impl Shared {
    pub fn new(
        bus: EventBus,
        state: StateStore,
        peers: HashMap<String, mpsc::Sender<Command>>,
        cap: usize,
    ) -> Self {
        Shared {
            bus,
            state,
            probes: Arc::new(Semaphore::new(cap.max(1))),
            peers,
            up: Mutex::new(HashMap::new()),
            probe_timeout: Duration::from_secs(10),
            status: Default::default(),
        }
    }

    pub fn set_up(&self, name: &str, up: bool) {
        let mut map = self.up.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(name) {
            Some(v) => *v = up,
            None => {
                map.insert(name.to_string(), up);
            }
        }
    }

    pub fn is_up(&self, name: &str) -> bool {
        self.up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .copied()
            .unwrap_or(false)
    }

    /// Sends a command to a check; false when it is gone.
    pub fn send(&self, name: &str, cmd: Command) -> bool {
        self.peers
            .get(name)
            .is_some_and(|tx| tx.try_send(cmd).is_ok())
    }

    /// Runs a probe under the global cap and within `timeout`: a hanging
    /// probe costs its own check a timeout and nobody else anything.
    pub async fn probe(&self, probe: &dyn Probe, timeout: Duration) -> Outcome {
        let Ok(_permit) = self.probes.acquire().await else {
            return Outcome::failed(Status::Error, "the engine is shutting down");
        };
        // A probe with a longer limit of its own (a program's `with
        // timeout`) keeps it; it kills what it runs at that limit.
        let timeout = probe.timeout().map_or(timeout, |own| own.max(timeout));
        match tokio::time::timeout(timeout, probe.run()).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::failed(
                Status::Failed,
                format!(
                    "{} probe timed out after {} s",
                    probe.kind(),
                    timeout.as_secs_f64()
                ),
            ),
        }
    }
}
