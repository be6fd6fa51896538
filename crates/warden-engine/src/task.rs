//! One check: its rules' memory and one evaluation at a time: probe, rules,
//! actions. Its period's driver (`driver`) runs its ticks and wakes it at
//! once on its process's exit and on commands; actions run with the
//! check, so at most one is in flight per check, and a check waiting for a
//! slow start is polled only when what it waits on wakes it, never
//! delaying another check.

mod act;
mod driver;

pub use driver::{Driver, SHARD};

use std::sync::Arc;
use std::time::Duration;

use warden_config::model::{Action, Test, Trigger};
use warden_probes::{ExitWatch, Outcome, ProcessFacts, RuleSpec, Status};

use crate::backoff::BackoffState;
use crate::context::EngineContext;
use crate::eval::{Facts, Verdict, judge, rule_timeout, watched};
use crate::events::{Event, EventKind, action_name};
use crate::plan::{CronGate, Node};
use crate::request::{CheckRequest, ServiceAction};
use crate::rules::{RuleState, Transition};
use crate::state::Monitoring;
use crate::subject::{event_of, missing, status_word};

pub struct CheckTask {
    node: Node,
    ctx: Arc<EngineContext>,
    /// Same order as the check's rules (a boxed slice: its length never
    /// changes, and a vector's capacity was 8 bytes more in every task).
    rules: Box<[RuleSlot]>,
    implicit: RuleState,
    backoff: BackoffState,
    watch: Option<ExitWatch>,
    cycle: u64,
    last_status: Option<Status>,
    /// What `observe` last wrote to the state store: its status, and its
    /// process and reason as one hash. A copy of the words in every
    /// check's task was 64 bytes of heap a check, only ever compared; the
    /// process's facts beside the hash were 24 bytes of every task.
    recorded: Option<(Status, u64)>,
    /// The check's monitoring in the state store, kept here too: only this
    /// task changes it, and the store's lookup by name under its lock was
    /// a cost on every cycle of every check.
    monitoring: Monitoring,
    /// `every "spec"` / `not every "spec"`: which ticks run.
    /// Boxed: few checks have one (64 bytes in every check's task).
    cron: Option<Box<CronGate>>,
}

/// What a check task remembers of one rule; one vector of these instead of
/// one per field (each a separate allocation in every check).
#[derive(Debug, Clone, Default)]
struct RuleSlot {
    state: RuleState,
    /// The cycle on which the rule's `exec` last ran, for `repeat every`.
    exec_cycle: u64,
    /// The rule's last failure was a probe timeout, not a failed test.
    timed_out: bool,
    /// What a `changed` rule saw last (a pid, a size, a mode, ...).
    reference: Option<f64>,
}

/// An action decided by a rule, with the event that caused it.
#[derive(Debug, Clone)]
pub struct Todo {
    pub action: Action,
    pub event: EventKind,
    pub description: String,
}

impl CheckTask {
    pub fn new(node: Node, ctx: Arc<EngineContext>) -> Self {
        let saved = ctx.state.get(node.name());
        remember(&node, saved.pid, saved.start_ticks);
        manual_waits(&node, &ctx, &saved);
        let monitoring = ctx.state.monitoring(node.name());
        let n = node.check.rules.len();
        CheckTask {
            rules: vec![RuleSlot::default(); n].into_boxed_slice(),
            implicit: RuleState::default(),
            backoff: BackoffState::default(),
            watch: None,
            cycle: saved.cycle_now(node.period),
            last_status: None,
            recorded: None,
            monitoring,
            cron: CronGate::new(&node.check.schedule).map(Box::new),
            node,
            ctx,
        }
    }

    pub fn name(&self) -> &str {
        self.node.name()
    }

    pub fn id(&self) -> crate::id::CheckId {
        self.node.check.id()
    }

    pub fn period(&self) -> Duration {
        self.node.period
    }

    /// The pid whose exit is watched, if any.
    pub(crate) fn watched_pid(&self) -> Option<u32> {
        self.watch.as_ref().map(ExitWatch::pid)
    }

    /// Ready once the watched process has exited (the watch is then
    /// dropped); else keeps `cx`'s waker. Never ready without a watch.
    pub(crate) fn poll_exit(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let Some(watch) = &self.watch else {
            return std::task::Poll::Pending;
        };
        if watch.poll_exited(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        tracing::debug!("'{}' process exited", self.name());
        self.watch = None;
        std::task::Poll::Ready(())
    }

    /// Whether this tick of the period runs the check; a cron spec may
    /// skip it. The wall clock is read only for a cron spec (few checks).
    pub(crate) fn tick_runs(&mut self) -> bool {
        let runs = self
            .cron
            .as_mut()
            .is_none_or(|g| g.tick(std::time::SystemTime::now()));
        if !runs {
            tracing::debug!(
                "'{}' skipped: the time is outside its cron spec",
                self.name()
            );
        }
        runs
    }

    /// After its process exited: evaluates at once unless a cron spec
    /// keeps the check from running now.
    pub(crate) async fn after_exit(&mut self) -> bool {
        if !self.cron_open() {
            return false;
        }
        self.evaluate().await;
        true
    }

    /// Carries out a command from the mailbox.
    pub(crate) async fn command(&mut self, cmd: CheckRequest) {
        match cmd {
            CheckRequest::Evaluate if self.cron_open() => self.evaluate().await,
            CheckRequest::Evaluate => {}
            CheckRequest::Act(action, reply) => {
                let ok = self.carry_out(action).await;
                reply.map(|r| r.send(ok));
            }
        }
    }

    /// False while a cron schedule keeps the check from running at all.
    fn cron_open(&self) -> bool {
        self.cron
            .as_ref()
            .is_none_or(|g| g.open(std::time::SystemTime::now()))
    }

    fn monitored(&self) -> bool {
        self.monitoring == Monitoring::Monitored
    }

    /// One cycle: probe, test every rule, then act on what fired.
    pub async fn evaluate(&mut self) {
        self.evaluate_until(None).await;
    }

    /// A tick's cycle; the board learns `next`, the tick after it, with
    /// the cycle's status (or alone when the check is not monitored).
    pub(crate) async fn tick(&mut self, next: tokio::time::Instant) {
        if !self.evaluate_until(Some(next)).await {
            self.ctx.status.scheduled(self.id(), next);
        }
    }

    /// [`evaluate`](Self::evaluate), telling the board `next` with the
    /// cycle's status; false when the check is not monitored (no cycle).
    async fn evaluate_until(&mut self, next: Option<tokio::time::Instant>) -> bool {
        if !self.monitored() {
            return false;
        }
        self.cycle += 1;
        // A check whose rules run probes of their own tells the board its
        // subject at once (the rule probes' figures go on top of it); the
        // rest tell it with the cycle's end, in one hold of the board's
        // lock. An empty rule list is not even looked at.
        let early = self
            .node
            .rules
            .iter()
            .any(|r| matches!(r, RuleSpec::Probe(_)));
        let probed = self.probe_subject(early).await;
        let subject = probed.as_ref().map(|(o, _)| o);
        let mut todo = Vec::new();
        // `self.rules` has one slot per rule of the check, and lies in this
        // check's own memory: the config's check is a cache miss a cycle
        // at thousands of checks, not worth it for a check with no rules.
        for i in 0..self.rules.len() {
            if let Some((failed, why, timed_out)) = self.test_rule(i, subject).await {
                self.rules[i].timed_out = timed_out;
                // `if succeeded ...` fires when the test passes.
                let fired = failed != self.node.check.rules[i].succeeded;
                self.rule_result(i, fired, why, &mut todo);
            }
        }
        if let Some(s) = subject.filter(|_| self.node.implicit_restart) {
            let failed = missing(s);
            let t = self
                .implicit
                .record(failed, Trigger::default(), Trigger::default());
            if failed && matches!(t, Transition::Fired | Transition::StillFailing) {
                todo.push(Todo {
                    action: Action::Restart,
                    event: event_of(s),
                    description: s.reason.clone(),
                });
            }
        }
        let late = probed.as_ref().filter(|_| !early).map(|(o, t)| (o, *t));
        self.report_status(late, next);
        for t in todo {
            if !self.monitored() {
                break;
            }
            Box::pin(self.perform(t)).await;
        }
        true
    }

    /// Whether rule `i` failed this cycle, the words why and whether its
    /// probe was cut off at its time limit; None when it cannot be tested
    /// now (no probe yet, or the process is not running).
    async fn test_rule(
        &mut self,
        i: usize,
        subject: Option<&Outcome>,
    ) -> Option<(bool, String, bool)> {
        let spec = self.node.rules.get(i)?;
        let restarts = match spec {
            RuleSpec::Restarts { cycles, .. } => self
                .ctx
                .state
                .get(self.name())
                .restarts
                .within(self.cycle, *cycles),
            _ => 0,
        };
        let slot = self.rules.get_mut(i)?;
        let facts = Facts {
            subject,
            reference: slot.reference,
            restarts,
        };
        let verdict = judge(spec, &facts);
        if let Some(now) = watched(spec, subject) {
            slot.reference = Some(now);
        }
        match verdict {
            Verdict::Judged(failed, why) => Some((failed, why, false)),
            Verdict::Untestable => None,
            Verdict::ByProbe => {
                let RuleSpec::Probe(probe) = spec else {
                    return None;
                };
                let probe = probe.clone();
                let test = &self.node.check.rules[i].test.value;
                let timeout = rule_timeout(test).unwrap_or(self.ctx.probe_timeout);
                let outcome = self.ctx.probe(probe.as_ref(), timeout).await;
                self.ctx
                    .status
                    .rule_probed(self.node.check.id(), i, &outcome);
                let timed_out = outcome.status == Status::Timeout;
                Some((!outcome.is_ok(), outcome.reason, timed_out))
            }
        }
    }

    /// Runs the subject probe, reports changes (to the board too when
    /// `board`), and pins a running process; the outcome and the probe's
    /// time.
    async fn probe_subject(&mut self, board: bool) -> Option<(Outcome, std::time::Duration)> {
        // Borrowed, not cloned: the clone was an atomic on a cold cache
        // line each cycle of each check.
        let probe = self.node.subject.as_deref()?;
        let began = std::time::Instant::now();
        let outcome = self.ctx.probe(probe, self.ctx.probe_timeout).await;
        let took = began.elapsed();
        if board {
            self.ctx.status.probed(self.node.check.id(), &outcome, took);
        }
        tracing::debug!("'{}' checked: {}", self.name(), outcome.reason);
        self.observe(&outcome);
        Some((outcome, took))
    }

    /// Records a subject outcome: events on change, state, the exit watch.
    fn observe(&mut self, outcome: &Outcome) {
        if self.last_status != Some(outcome.status) {
            let kind = if outcome.is_ok() {
                self.last_status.map(|_| EventKind::Exists)
            } else {
                Some(event_of(outcome))
            };
            if let Some(kind) = kind {
                let event = Event::of(&self.node.check, kind, &outcome.reason);
                let event = match subject_action(&self.node, outcome).filter(|_| !outcome.is_ok()) {
                    Some(a) => event.with_action(a),
                    None => event,
                };
                self.ctx.bus.publish(event);
            }
            self.last_status = Some(outcome.status);
        }
        self.ctx.set_up(self.node.check.id(), outcome.is_ok());
        let pid = outcome.process.map(|p| p.pid);
        if self.watch.as_ref().map(ExitWatch::pid) != pid {
            self.watch = outcome.process.and_then(|p| self.pin(&p));
        }
        // The state store is written only when something in it changes; a
        // steady process must not cost a lock, a clone and a compare of
        // the whole check state every cycle.
        let seen = (outcome.status, seen_hash(outcome.process, &outcome.reason));
        if self.recorded == Some(seen) {
            return;
        }
        self.recorded = Some(seen);
        let status = status_word(outcome.status);
        let cycle = self.cycle;
        self.ctx.state.update(self.node.name(), |s| {
            if s.last_status.as_deref() != Some(status) || s.pid != pid {
                s.set_cycle(cycle);
            }
            s.last_status = Some(status.into());
            s.last_reason = Some(outcome.reason.clone());
            s.pid = pid;
            s.start_ticks = outcome.process.map(|p| p.start_ticks);
        });
    }

    /// Feeds one rule's result to its state machine and queues its action.
    fn rule_result(&mut self, i: usize, failed: bool, why: String, todo: &mut Vec<Todo>) {
        let rule = &self.node.check.rules[i];
        let recovery = rule
            .recovery
            .as_ref()
            .map(|r| r.trigger)
            .unwrap_or_default();
        let event = self.rule_event(i);
        let transition = self.rules[i].state.record(failed, rule.trigger, recovery);
        let action = rule.action.value.clone();
        let retry = matches!(action, Action::Restart | Action::Start);
        let repeat = match &action {
            Action::Exec {
                repeat_every: Some(n),
                ..
            } => self.cycle >= self.rules[i].exec_cycle + u64::from(*n),
            _ => false,
        };
        // Existence is reported by `observe` already; every other test
        // says here why it failed, so the log shows why Warden acts.
        if transition == Transition::Fired
            && !matches!(rule.test.value, Test::NotExist | Test::Exist)
        {
            self.ctx.bus.publish(
                Event::of(&self.node.check, event, why.clone()).with_action(action_name(&action)),
            );
        }
        match transition {
            Transition::Fired => todo.push(Todo {
                action,
                event,
                description: why,
            }),
            Transition::StillFailing if retry || repeat => todo.push(Todo {
                action,
                event,
                description: why,
            }),
            Transition::Recovered => {
                self.ctx.bus.publish(Event::of(
                    &self.node.check,
                    EventKind::Recovered,
                    why.clone(),
                ));
                if let Some(r) = &rule.recovery {
                    todo.push(Todo {
                        action: r.action.value.clone(),
                        event: EventKind::Recovered,
                        description: why,
                    });
                }
            }
            _ => {}
        }
        if matches!(
            todo.last(),
            Some(Todo {
                action: Action::Exec { .. },
                ..
            })
        ) {
            self.rules[i].exec_cycle = self.cycle;
        }
    }

    /// Carries out a person's (or another check's) action; true when done.
    async fn carry_out(&mut self, action: ServiceAction) -> bool {
        match action {
            ServiceAction::Start => {
                self.set_monitoring(Monitoring::Monitored);
                self.start("start requested").await
            }
            ServiceAction::Stop => self.stop().await,
            ServiceAction::Restart => {
                self.set_monitoring(Monitoring::Monitored);
                self.restart("restart requested").await
            }
            ServiceAction::Monitor => {
                self.set_monitoring(Monitoring::Monitored);
                true
            }
            ServiceAction::Unmonitor => {
                self.set_monitoring(Monitoring::Unmonitored);
                true
            }
        }
    }
}

impl CheckTask {
    /// The event rule `i` raises: a probe timeout when its probe was cut off
    /// at its time limit, else the event of its test.
    fn rule_event(&self, i: usize) -> EventKind {
        if self.rules.get(i).is_some_and(|r| r.timed_out) {
            return EventKind::ProbeTimeout;
        }
        crate::eval::event_kind(&self.node.check.rules[i].test.value)
    }

    /// Tells the board which rule, if any, has fired and not recovered,
    /// with the subject's outcome when not told yet and the next tick.
    fn report_status(
        &self,
        subject: Option<(&Outcome, std::time::Duration)>,
        next: Option<tokio::time::Instant>,
    ) {
        // No rule fired, none failing: said without a look at the config's
        // check (a cache miss a cycle at thousands of checks).
        let failing = if self.rules.iter().any(|slot| slot.state.fired()) {
            self.rules
                .iter()
                .zip(&self.node.check.rules)
                .position(|(slot, rule)| slot.state.fired() && !rule.succeeded)
                .map(|i| self.rule_event(i))
        } else {
            None
        };
        self.ctx
            .status
            .cycle(self.node.check.id(), subject, failing, next);
    }

    /// A pidfd on the proven process, so its exit is noticed at once; None
    /// (polling at each cycle) when pidfds are unavailable or fds run short.
    fn pin(&self, facts: &ProcessFacts) -> Option<ExitWatch> {
        match ExitWatch::open_proven(facts) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::debug!(
                    "'{}' cannot watch pid {} for its exit ({e}); polling instead",
                    self.name(),
                    facts.pid
                );
                None
            }
        }
    }
}

/// FNV-1a of a subject's process (pid, parent, start) and words: cheap
/// for the few dozen bytes of a reason, and a change the hash misses (one
/// in 2^64) only delays the state file's copy to the next change.
fn seen_hash(process: Option<ProcessFacts>, words: &str) -> u64 {
    let facts = process.map_or([0; 17], |p| {
        let mut b = [1; 17];
        b[1..5].copy_from_slice(&p.pid.to_le_bytes());
        b[5..9].copy_from_slice(&p.ppid.to_le_bytes());
        b[9..].copy_from_slice(&p.start_ticks.to_le_bytes());
        b
    });
    facts
        .iter()
        .chain(words.as_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// `mode manual`: a check Warden knows nothing about yet (no saved state) is
/// not monitored, so not started, until someone starts or monitors it; from
/// then on its monitoring state is kept across restarts of Warden like any
/// other (Monit's `onreboot laststate`, which 5.33 makes of `mode manual`).
fn manual_waits(node: &Node, ctx: &EngineContext, saved: &crate::state::CheckState) {
    if node.check.mode != warden_config::model::Mode::Manual || *saved != Default::default() {
        return;
    }
    ctx.state
        .update(node.name(), |s| s.monitoring = Monitoring::Unmonitored);
    tracing::info!(
        "'{}' mode manual: not monitored until started ('warden start {}')",
        node.name(),
        node.name()
    );
}

/// Hands the identity saved in the state (before a reload or a restart of
/// Warden) to the check's process probe, so a pid reused meanwhile by
/// another process is still told apart from the service.
fn remember(node: &Node, pid: Option<u32>, start_ticks: Option<u64>) {
    let (Some(probe), Some(pid), Some(start_ticks)) = (&node.process, pid, start_ticks) else {
        return;
    };
    let ppid = match warden_probes::procfs::read_stat(pid) {
        Ok(Some(s)) => s.ppid,
        _ => 0,
    };
    probe.remember(ProcessFacts {
        pid,
        ppid,
        start_ticks,
    });
}

/// The action a failed subject leads to, for alerts' `$ACTION`: the
/// implicit restart, or the action of an `if does not exist` rule.
fn subject_action(node: &Node, outcome: &Outcome) -> Option<&'static str> {
    if !missing(outcome) {
        return None;
    }
    if node.check.mode == warden_config::model::Mode::Passive {
        return Some("alert");
    }
    if node.implicit_restart {
        return Some("restart");
    }
    let rule = node
        .check
        .rules
        .iter()
        .find(|r| r.test.value == Test::NotExist)?;
    Some(action_name(&rule.action.value))
}

#[cfg(test)]
mod size_tests {
    /// Every check's task is one heap block, held for good: 248 bytes and
    /// malloc's 8-byte header fit its 256-byte class (the task was 320
    /// bytes, 336 with the header: 0.8 MB at 10,000 checks). A field that
    /// pushes it past 248 costs every check 16 bytes or more; box it.
    #[test]
    fn a_check_task_fits_a_256_byte_block() {
        assert!(
            size_of::<super::CheckTask>() <= 248,
            "{}",
            size_of::<super::CheckTask>()
        );
    }
}
