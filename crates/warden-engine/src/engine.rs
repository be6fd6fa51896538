//! The running engine: the checks, driven by one task per period (see
//! `task::driver`), over a shared state store and event bus; started from a config, stopped cleanly (services keep
//! running), and replaced on reload with state carried over by name.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinSet;
use warden_config::Config;

use crate::context::EngineContext;
use crate::events::EventBus;
use crate::factory::{ProbeFactory, RegistryFactory};
use crate::plan;
use crate::request::{CheckRequest, ServiceAction};
use crate::state::StateStore;
use crate::task::{CheckTask, Driver, SHARD};

/// How many probes may run at once, whatever the number of checks.
pub const DEFAULT_PROBE_CAP: usize = 256;

#[derive(Debug)]
pub struct Engine {
    ctx: Arc<EngineContext>,
    tasks: JoinSet<()>,
}

impl Engine {
    /// Starts one task per check with the built-in probes.
    pub fn start(config: &Arc<Config>, state: StateStore, bus: EventBus) -> Engine {
        Engine::start_with(config, state, bus, &RegistryFactory)
    }

    pub fn start_with(
        config: &Arc<Config>,
        state: StateStore,
        bus: EventBus,
        factory: &dyn ProbeFactory,
    ) -> Engine {
        let names: Vec<&str> = config
            .checks
            .iter()
            .map(|c| c.name.value.as_str())
            .collect();
        state.retain(&names);
        let nodes = plan::plan(config, factory);
        let mut peers: Vec<Option<_>> = config.checks.iter().map(|_| None).collect();
        let mut inboxes = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let (tx, rx) = crate::mailbox::mailbox();
            if let Some(peer) = peers.get_mut(node.check.id().index()) {
                *peer = Some(tx);
            }
            inboxes.push(rx);
        }
        let ctx = Arc::new(EngineContext::new(
            bus,
            state,
            config.clone(),
            peers,
            DEFAULT_PROBE_CAP,
        ));
        ctx.status.configure(config, &ctx.state);
        let mut tasks = JoinSet::new();
        // One start instant for all: checks of the same period then share
        // their ticks, one driver per period (or per shard of one).
        let first = tokio::time::Instant::now() + config.settings.start_delay;
        let mut periods: Vec<(Duration, Vec<_>)> = Vec::new();
        for (node, inbox) in nodes.into_iter().zip(inboxes) {
            let task = Box::new(CheckTask::new(node, ctx.clone()));
            let period = task.period();
            let group = match periods.iter().position(|(p, _)| *p == period) {
                Some(i) => i,
                None => {
                    periods.push((period, Vec::new()));
                    periods.len() - 1
                }
            };
            if let Some((_, checks)) = periods.get_mut(group) {
                checks.push((task, inbox));
            }
        }
        for (period, mut checks) in periods {
            while !checks.is_empty() {
                let rest = checks.split_off(checks.len().min(SHARD));
                tasks.spawn(Driver::new(period, checks).run(first));
                checks = rest;
            }
        }
        Engine { ctx, tasks }
    }

    pub fn bus(&self) -> &EventBus {
        &self.ctx.bus
    }

    pub fn state(&self) -> &StateStore {
        &self.ctx.state
    }

    /// Every check's latest status, in config order.
    pub fn status(&self) -> Vec<crate::status::ServiceStatus> {
        self.ctx.status.snapshot()
    }

    /// A handle on the status board that outlives a borrow of the engine.
    pub fn status_board(&self) -> crate::status::StatusBoard {
        self.ctx.status.clone()
    }

    /// Asks a check to act (for the control API); false for unknown names.
    pub fn command(&self, name: &str, cmd: CheckRequest) -> bool {
        self.ctx.send_named(name, cmd)
    }

    /// Asks a check to start and waits for the answer.
    pub async fn start_check(&self, name: &str) -> bool {
        let (tx, rx) = oneshot::channel();
        self.command(name, CheckRequest::Act(ServiceAction::Start, Some(tx)))
            && rx.await.unwrap_or(false)
    }

    /// Stops every task, leaving the services running. A task busy with an
    /// action gets a grace period, then is cut off.
    pub async fn stop(mut self) {
        for inbox in self.ctx.peers.iter().flatten() {
            inbox.stop();
        }
        join_within(&mut self.tasks, Duration::from_secs(5)).await;
        self.ctx.state.flush();
    }
}

/// Waits for every task to end, for `grace` at most; then cuts off the
/// rest. For tasks already told to stop.
pub async fn join_within(tasks: &mut JoinSet<()>, grace: Duration) {
    let all = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, all).await.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stopping ends every check task through its mailbox at once, rather
    /// than waiting out the grace period and cutting the tasks off. The
    /// clock is tokio's paused one: it only moves when every task waits, so
    /// a task that ignored the stop would carry it 5 s past the start.
    #[tokio::test(start_paused = true)]
    async fn stop_ends_the_check_tasks_without_the_grace_period() {
        let text = "set daemon 1\n\
                    check file a with path /nonexistent/warden-a\n\
                    check file b with path /nonexistent/warden-b\n";
        let loaded =
            warden_config::load_text_without_includes(std::path::Path::new("t.rc"), text.into());
        assert!(!loaded.has_errors(), "{}", loaded.render());
        let Some(config) = loaded.config else {
            panic!("no config");
        };
        let engine = Engine::start(
            &Arc::new(config),
            StateStore::open(None),
            EventBus::default(),
        );
        // A few cycles, so the checks are idle in their wait when told.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        // Both checks share a period: one driver.
        assert_eq!(engine.tasks.len(), 1);
        let before = tokio::time::Instant::now();
        engine.stop().await;
        assert!(
            before.elapsed() < Duration::from_secs(1),
            "the tasks were cut off after {:?}",
            before.elapsed()
        );
    }
}
