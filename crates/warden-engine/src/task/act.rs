//! Actions, run inside the check's own task: start (dependencies first, a
//! re-check so two instances never run, then wait until the probe sees it
//! running), stop (dependants first), restart, exec, alert, (un)monitor.
//! `mode passive` turns start, stop and restart into records and alerts.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use warden_config::model::{Action, CheckKind, Mode, ProcessTarget, Program};

use super::{CheckTask, Todo};
use crate::events::{Event, EventKind};
use crate::request::{CheckRequest, ServiceAction};
use crate::runner::{self, ActionContext, DEFAULT_TIMEOUT, RunOutcome};
use crate::state::Monitoring;

impl CheckTask {
    pub(super) async fn perform(&mut self, todo: Todo) {
        let passive = self.node.check.mode == Mode::Passive;
        match &todo.action {
            Action::Start | Action::Stop | Action::Restart if passive => {
                self.publish(
                    EventKind::Alert,
                    format!("passive mode: not acting on '{}'", todo.description),
                );
            }
            Action::Alert => self.publish(EventKind::Alert, format!("alert: {}", todo.description)),
            Action::Restart => {
                self.restart(&todo.description).await;
            }
            Action::Start => {
                self.start(&todo.description).await;
            }
            Action::Stop => {
                self.stop().await;
            }
            Action::Monitor => self.set_monitoring(Monitoring::Monitored),
            Action::Unmonitor => self.set_monitoring(Monitoring::Unmonitored),
            Action::Exec { program, .. } => {
                let program = program.clone();
                tracing::info!("'{}' exec: '{}'", self.name(), program.command);
                self.run_program(&program, todo.event, &todo.description)
                    .await;
            }
        }
    }

    pub(super) fn publish(&self, kind: EventKind, description: impl Into<String>) {
        self.ctx
            .bus
            .publish(Event::of(&self.node.check, kind, description));
    }

    pub(super) fn set_monitoring(&mut self, mode: Monitoring) {
        let changed = self.ctx.state.update(self.node.name(), |s| {
            std::mem::replace(&mut s.monitoring, mode) != mode
        });
        self.monitoring = mode;
        if changed {
            let (kind, words) = match mode {
                Monitoring::Monitored => (EventKind::Monitored, "monitor on user request"),
                Monitoring::Unmonitored => (EventKind::Unmonitored, "unmonitored"),
            };
            self.publish(kind, words);
            self.watch = None;
            self.last_status = None;
        }
    }

    /// Restart: the restart program, or stop then start; dependants are
    /// stopped first and started again after.
    pub(super) async fn restart(&mut self, why: &str) -> bool {
        if !self.deps_up() {
            return false;
        }
        let delay = self
            .backoff
            .next_delay(self.node.check.backoff.as_deref(), Instant::now());
        if !delay.is_zero() {
            tracing::info!(
                "'{}' waiting {} s before restarting (backoff)",
                self.name(),
                delay.as_secs_f64()
            );
            tokio::time::sleep(delay).await;
        }
        tracing::info!("'{}' trying to restart", self.name());
        // Dependants are stopped around a real restart only: a missing
        // process is simply started.
        let running = self
            .probe_subject(true)
            .await
            .is_some_and(|(o, _)| o.is_ok());
        if running {
            self.tell_dependants(ServiceAction::Stop).await;
        }
        let ok = match self.program("restart") {
            Some(p) => self.launch(&p, why).await,
            None => {
                self.stop_program_if_running().await;
                self.start(why).await
            }
        };
        if running {
            self.tell_dependants(ServiceAction::Start).await;
        }
        ok
    }

    /// Start, unless the process is running already or a dependency is down.
    pub(super) async fn start(&mut self, why: &str) -> bool {
        if !self.deps_up() {
            return false;
        }
        if self
            .probe_subject(true)
            .await
            .is_some_and(|(o, _)| o.is_ok())
        {
            return true;
        }
        match self.program("start") {
            Some(p) => self.launch(&p, why).await,
            None => {
                tracing::warn!("'{}' has no start program", self.name());
                false
            }
        }
    }

    /// Stop: dependants first, then the stop program, then unmonitor (a
    /// stopped service is not started again behind the person's back).
    pub(super) async fn stop(&mut self) -> bool {
        self.tell_dependants(ServiceAction::Stop).await;
        let ok = self.stop_program_if_running().await;
        self.set_monitoring(Monitoring::Unmonitored);
        ok
    }

    /// Runs the stop program only when the probe proves the process is the
    /// service's (never a stale pidfile's stranger), then waits for it to go.
    async fn stop_program_if_running(&mut self) -> bool {
        let running = self
            .probe_subject(true)
            .await
            .is_some_and(|(o, _)| o.is_ok());
        let Some(p) = self.program("stop").filter(|_| running) else {
            return true;
        };
        tracing::info!("'{}' stop: '{}'", self.name(), p.command);
        if !self.run_program(&p, EventKind::ActionDone, "stop").await {
            return false;
        }
        let gone = self
            .wait_for(false, p.timeout.unwrap_or(DEFAULT_TIMEOUT))
            .await;
        if gone {
            tracing::info!("'{}' stopped", self.name());
        } else {
            self.publish(EventKind::ActionFailed, "failed to stop");
        }
        gone
    }

    /// Runs a start or restart program and waits until the probe sees the
    /// process running, within the program's timeout.
    async fn launch(&mut self, p: &Program, why: &str) -> bool {
        tracing::info!("'{}' start: '{}'", self.name(), p.command);
        // The pidfile is about to name a new process: the old identity no
        // longer rules it out.
        if let Some(probe) = &self.node.process {
            probe.forget();
        }
        let cycle = self.cycle;
        self.ctx.state.update(self.node.name(), |s| {
            s.restarts.record(cycle);
            s.starts_total += 1;
            s.set_cycle(cycle);
        });
        let began = Instant::now();
        if !self
            .run_program(p, crate::events::EventKind::DoesNotExist, why)
            .await
        {
            return false;
        }
        let left = p
            .timeout
            .unwrap_or(DEFAULT_TIMEOUT)
            .saturating_sub(began.elapsed());
        if self.wait_for(true, left.max(Duration::from_secs(1))).await {
            self.publish(EventKind::ActionDone, "started");
            for &d in &self.node.dependants {
                self.ctx.send(d, CheckRequest::Evaluate);
            }
            true
        } else {
            self.publish(EventKind::ActionFailed, "failed to start");
            false
        }
    }

    /// Polls the subject until it is (or is not) running, or time runs out.
    async fn wait_for(&mut self, running: bool, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        loop {
            // Each poll is a cycle of its own: the tick's table (read
            // before the program ran) must not serve it.
            let poll = warden_probes::table::in_cycle(Instant::now(), self.probe_subject(true));
            match poll.await {
                Some((o, _)) if o.is_ok() == running => return true,
                None => return true,
                _ if Instant::now() >= end => return false,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Runs a program for this check; failures become events.
    async fn run_program(&mut self, p: &Program, event: EventKind, why: &str) -> bool {
        let ctx = ActionContext {
            service: self.name().to_string(),
            event: event.name().to_string(),
            description: why.to_string(),
            pid: self.ctx.state.get(self.name()).pid,
        };
        let outcome = runner::run(p, &ctx, DEFAULT_TIMEOUT).await;
        match &outcome {
            RunOutcome::TimedOut(_) => self.publish(
                EventKind::Timeout,
                format!("'{}' {}", p.command, outcome.describe()),
            ),
            RunOutcome::Exited(_) if outcome.success() => {}
            _ => self.publish(
                EventKind::ActionFailed,
                format!("'{}' failed: {}", p.command, outcome.describe()),
            ),
        }
        outcome.success()
    }

    /// The check's program for `verb`, or `systemctl VERB UNIT` for a check
    /// bound to a systemd unit.
    fn program(&self, verb: &str) -> Option<Program> {
        let check = &self.node.check;
        let own = match verb {
            "start" => &check.start,
            "stop" => &check.stop,
            _ => &check.restart,
        }
        .as_deref()
        .cloned();
        own.or_else(|| match &check.kind {
            CheckKind::Process {
                target: ProcessTarget::SystemdUnit(unit),
            } => Some(Program {
                command: format!("systemctl {verb} {unit}"),
                argv: vec!["systemctl".into(), verb.into(), unit.clone()],
                uid: None,
                gid: None,
                timeout: None,
                span: Default::default(),
            }),
            _ => None,
        })
    }

    /// True when every `depends on` check is up; logs the first that is not.
    fn deps_up(&self) -> bool {
        let down = self
            .node
            .depends_on
            .iter()
            .zip(&self.node.check.depends_on)
            .find(|(id, _)| !id.is_some_and(|id| self.ctx.is_up(id)));
        match down.map(|(_, d)| d) {
            Some(d) => {
                tracing::info!("'{}' waiting for '{}' to be running", self.name(), d.value);
                false
            }
            None => true,
        }
    }

    /// Asks every dependant to do `action` and waits for their answers.
    async fn tell_dependants(&self, action: ServiceAction) {
        let mut answers = Vec::new();
        for &d in &self.node.dependants {
            let (tx, rx) = oneshot::channel();
            if self.ctx.send(d, CheckRequest::Act(action, Some(tx))) {
                answers.push(rx);
            }
        }
        for rx in answers {
            let _ = tokio::time::timeout(DEFAULT_TIMEOUT * 2, rx).await;
        }
    }
}
