//! The status board: the latest snapshot of every check (what `warden
//! status`, the JSON API, the web page and /metrics show), kept in memory,
//! written by the check tasks after each probe and read in config order.
//! [`ServiceStatus`] is the documented `--json` schema: units are in the
//! field names, times are unix seconds.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use warden_config::Config;
use warden_config::model::{Check, CheckType, Mode, NameIndex, OnReboot, Test};
use warden_probes::{Metric, Outcome, Status, Text};

pub use crate::conntest::{Reach, TestStatus};
use crate::conntest::{RuleRun, connection_test, tests};
use crate::events::{Event, EventKind};
use crate::figures::Figures;
use crate::history::{History, HistoryView, MOST_SERIES, Series};
use crate::id::CheckId;
use crate::state::{Monitoring, StateStore};

/// Whether Warden watches a check, as `monit status` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitoringStatus {
    Monitored,
    NotMonitored,
    /// Monitored, but not checked yet since Warden (re)started.
    Initializing,
}

impl MonitoringStatus {
    /// Every state, in the order `/metrics` lists them.
    pub const ALL: &'static [MonitoringStatus] = &[
        MonitoringStatus::Monitored,
        MonitoringStatus::NotMonitored,
        MonitoringStatus::Initializing,
    ];

    /// The state's serde name (`not_monitored`), as JSON and metric labels
    /// spell it.
    pub fn word(self) -> &'static str {
        // Every state is a unit variant: it always has a name.
        warden_config::names::variant_name(&self).unwrap_or_default()
    }

    pub fn words(self) -> &'static str {
        match self {
            MonitoringStatus::Monitored => "Monitored",
            MonitoringStatus::NotMonitored => "Not monitored",
            MonitoringStatus::Initializing => "Initializing",
        }
    }
}

/// The last event of a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastEvent {
    /// The event's name in Monit's words (`Does not exist`, `Action done`).
    pub kind: String,
    pub description: String,
    pub time_unix_s: u64,
}

/// One check's status: the `--json` schema, stable (fields are only added).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub name: String,
    /// Monit's type word: `Process`, `File`, `System`, `Remote Host`, ...
    #[serde(rename = "type")]
    pub kind: CheckType,
    /// Monit's status words: `OK`, `Does not exist`, `Connection failed`,
    /// `Resource limit matched`, `Not monitored`, `Initializing`, ...
    pub status: String,
    /// False when the check is failed or not monitored (what makes
    /// `warden status` exit non-zero); true while initializing.
    pub ok: bool,
    /// What the check fails with now (None when it passes or is not
    /// monitored): the typed side of `status`, for Monit's event bits.
    #[serde(default)]
    pub failing: Option<EventKind>,
    pub monitoring: MonitoringStatus,
    /// `active`, `passive` or `manual`.
    pub mode: Mode,
    pub groups: Vec<String>,
    /// The probe's last words (`process is running with pid 42`).
    pub reason: Option<String>,
    pub pid: Option<u32>,
    pub ppid: Option<u32>,
    pub uptime_s: Option<u64>,
    pub threads: Option<u64>,
    /// Every descendant process.
    pub children: Option<u64>,
    pub cpu_percent: Option<f64>,
    pub total_cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub memory_percent: Option<f64>,
    pub total_memory_bytes: Option<u64>,
    pub total_memory_percent: Option<f64>,
    /// The last connection test's response time.
    pub response_time_ms: Option<f64>,
    pub last_check_unix_s: Option<u64>,
    pub next_check_unix_s: Option<u64>,
    pub last_success_unix_s: Option<u64>,
    /// How long the last subject probe took.
    pub probe_duration_ms: Option<f64>,
    /// Starts and restarts within the `N restarts within M cycles` window
    /// (`restart_window_cycles`), or all remembered ones when there is none.
    pub restarts_in_window: u64,
    pub restart_window_cycles: Option<u32>,
    pub restarts_total: u64,
    pub last_event: Option<LastEvent>,
    /// Every value the probes measured, by metric name (`cpu`, `memory`,
    /// `response_time`, ...), in the metric's own unit (bytes, seconds,
    /// percent, count): new probes add keys, never schema changes. The
    /// daemon's own snapshot borrows the names (no string per figure per
    /// check per status read); a client's parsed copy owns them.
    pub metrics: BTreeMap<Cow<'static, str>, f64>,
    /// What a start of Warden does with the service: `start`, `nostart`
    /// or `laststate` (the check's `onreboot`, else the global one).
    #[serde(default)]
    pub on_reboot: Cow<'static, str>,
    /// The microseconds past `last_check_unix_s`.
    #[serde(default)]
    pub last_check_usec: Option<u32>,
    /// A filesystem's type and mount options (`ext4`, `rw,relatime`).
    #[serde(default)]
    pub fs_type: Option<String>,
    #[serde(default)]
    pub fs_flags: Option<String>,
    /// A process's security label (SELinux, AppArmor), when it has one.
    #[serde(default)]
    pub security_attribute: Option<String>,
    /// The start of a program's last output (at most 512 bytes).
    #[serde(default)]
    pub program_output: Option<String>,
    /// A file's digest, when a checksum rule computes one.
    #[serde(default)]
    pub checksum: Option<Checksum>,
    /// Whether a content rule fires now (a line it looks for was found):
    /// Monit's `content match`; none when the check has no content rule.
    #[serde(default)]
    pub content_match: Option<bool>,
    /// The connection tests (ping, ports, unix sockets) and how their last
    /// run went, in the order `monit status` lists them.
    #[serde(default)]
    pub tests: Vec<TestStatus>,
}

/// A file's digest and its algorithm (`MD5`, `SHA1`, `SHA256`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: String,
    pub digest: String,
}

impl ServiceStatus {
    /// A measured value by its metric (what `metrics` holds by name).
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        self.metrics.get(metric_name(metric)).copied()
    }
}

/// The configured side of a check, as the snapshot shows it.
#[derive(Debug, Clone)]
struct Configured {
    kind: CheckType,
    mode: Mode,
    groups: Vec<String>,
    window: Option<u32>,
    /// The check's period, to read the state's cycle as of now.
    period: Duration,
    on_reboot: &'static str,
    /// Whether it has a content rule (Monit then shows `content match`).
    content: bool,
}

/// The observed side of a check: written by its task.
#[derive(Debug, Clone, Default)]
struct Observed {
    subject: Option<(Status, EventKind, String)>,
    failing: Option<EventKind>,
    pid: Option<u32>,
    ppid: Option<u32>,
    /// A port check has one, a process check about 30.
    metrics: Figures,
    last_check: Option<Stamp>,
    next_check: Option<Stamp>,
    last_success: Option<Stamp>,
    /// Nanoseconds, plus one (`Option<Duration>` takes 16 bytes).
    probe_duration: Option<NonZeroU64>,
    /// Facts in words (a filesystem's type, a program's output).
    texts: Vec<(Text, String)>,
    /// The connection tests' last runs, by rule position: the response
    /// time in seconds (None: failed) and the certificate's days left.
    tests: Vec<RuleRun>,
    /// The content rules firing at their last run, one bit per rule
    /// position (positions past 31 share the last bit). A u32 fits in the
    /// struct's padding.
    content_firing: u32,
    /// Recent samples and events; made at the first one. Its newest event
    /// is the check's last event (a copy of it here was two more strings
    /// and 56 bytes a check). In the entry, not boxed: every check that
    /// runs samples each cycle, and a box was one more allocation (96
    /// bytes with malloc's header for 80) a check.
    history: Option<History>,
}

impl Observed {
    fn metric(&self, metric: Metric) -> Option<f64> {
        self.metrics.get(metric)
    }

    fn set_texts(&mut self, outcome: &Outcome) {
        for (text, words) in &outcome.texts {
            match self.texts.iter_mut().find(|(t, _)| t == text) {
                Some(slot) => slot.1.clone_from(words),
                None => self.texts.push((*text, words.clone())),
            }
        }
    }

    fn text(&self, text: Text) -> Option<String> {
        self.texts
            .iter()
            .find(|(t, _)| *t == text)
            .map(|(_, w)| w.clone())
    }
}

/// A wall-clock time to the microsecond (all the board shows of it) in 8
/// bytes, where an `Option<SystemTime>` takes 16: the board's entry holds
/// three, one per check. Microseconds since the epoch plus one (a time
/// before the epoch is the epoch, as `unix_s` read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp(NonZeroU64);

impl Stamp {
    fn of(t: SystemTime) -> Stamp {
        let us = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
        let us = u64::try_from(us).unwrap_or(u64::MAX - 1);
        Stamp(NonZeroU64::MIN.saturating_add(us))
    }

    fn micros(self) -> u64 {
        self.0.get() - 1
    }

    fn unix_s(self) -> u64 {
        self.micros() / 1_000_000
    }

    fn subsec_micros(self) -> u32 {
        (self.micros() % 1_000_000) as u32
    }
}

/// A probe's time as the board keeps it, to the nanosecond.
fn duration_nanos(d: Duration) -> NonZeroU64 {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1);
    NonZeroU64::MIN.saturating_add(ns)
}

/// Texts that rule probes give (kept when the subject probe runs again).
fn from_rules(text: Text) -> bool {
    matches!(
        text,
        Text::ChecksumMd5 | Text::ChecksumSha1 | Text::ChecksumSha256
    )
}

/// The checks' configuration is read from the engine's config; what each
/// check's task saw sits in a vector in config order.
#[derive(Debug, Default)]
struct Inner {
    config: Arc<Config>,
    index: NameIndex,
    /// Same order as `config.checks`.
    observed: Vec<Observed>,
    state: StateStore,
}

/// The board; cheap to clone, shared by the tasks and the readers.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    inner: Arc<RwLock<Inner>>,
}

impl StatusBoard {
    /// Sets the checks (in config order) for a new engine.
    pub fn configure(&self, config: &Arc<Config>, state: &StateStore) {
        let mut inner = self.write();
        inner.config = config.clone();
        inner.index = NameIndex::new(&config.checks);
        inner.observed = vec![Observed::default(); config.checks.len()];
        inner.state = state.clone();
    }

    /// Takes over what an older board saw (a reload), for checks this one
    /// has not probed yet; the histories always (moved out of the old one).
    pub fn carry_over(&self, old: &StatusBoard) {
        if Arc::ptr_eq(&self.inner, &old.inner) {
            return;
        }
        // Copied out first: never both boards' locks at once.
        let (config, index, before, mut histories) = {
            let mut old = old.write();
            let histories: Vec<_> = old.observed.iter_mut().map(|o| o.history.take()).collect();
            (
                old.config.clone(),
                old.index.clone(),
                old.observed.clone(),
                histories,
            )
        };
        let mut inner = self.write();
        let inner = &mut *inner;
        let cycle = inner.config.settings.cycle;
        for (check, entry) in inner.config.checks.iter().zip(inner.observed.iter_mut()) {
            let Some(i) = index.find(&config.checks, &check.name.value) else {
                continue;
            };
            let Some(observed) = before.get(i) else {
                continue;
            };
            if let Some(older) = histories.get_mut(i).and_then(Option::take) {
                let mut history = entry
                    .history
                    .take()
                    .unwrap_or_else(|| new_history(check, cycle));
                history.adopt(older);
                entry.history = Some(history);
            }
            if entry.last_check.is_none() {
                *entry = Observed {
                    // Runs are kept by rule position, which a reload may change.
                    tests: Vec::new(),
                    content_firing: 0,
                    history: entry.history.take(),
                    ..observed.clone()
                };
            }
        }
    }

    /// The config the board was set up with (the running engine's).
    pub fn config(&self) -> Arc<Config> {
        self.read().config.clone()
    }

    /// Every check's status, in config order.
    pub fn snapshot(&self) -> Vec<ServiceStatus> {
        // Read in chunks, the lock let go between them: a snapshot of
        // 10,000 checks held it for tens of milliseconds, and each check
        // ending its cycle meanwhile (a write) stopped its worker thread
        // until then, at every status read.
        const CHUNK: usize = 256;
        'again: loop {
            let (config, state) = {
                let inner = self.read();
                (inner.config.clone(), inner.state.clone())
            };
            let states = state.all();
            let cycle = config.settings.cycle;
            let onreboot = config.settings.onreboot;
            let mut all = Vec::with_capacity(config.checks.len());
            for (n, part) in config.checks.chunks(CHUNK).enumerate() {
                let inner = self.read();
                // Configured anew meanwhile (a reload): start over.
                if !Arc::ptr_eq(&inner.config, &config) {
                    continue 'again;
                }
                let observed = inner.observed.get(n * CHUNK..).unwrap_or_default();
                all.extend(part.iter().zip(observed).map(|(check, observed)| {
                    let name = &check.name.value;
                    let state = states.get(name).cloned().unwrap_or_default();
                    let mut status =
                        build(name, &configured(check, cycle, onreboot), observed, &state);
                    status.tests = tests(check, &observed.tests);
                    status
                }));
            }
            return all;
        }
    }

    // The check tasks name their check by its id (its position in the
    // board's config, the same as the engine's); events name it by name.

    /// One subject probe's outcome and how long it took.
    pub fn probed(&self, id: CheckId, outcome: &Outcome, took: Duration) {
        let now = SystemTime::now();
        self.update(id, |s| record_probe(s, outcome, took, now));
    }

    /// The own probe of rule `rule` (a connection test, a checksum): its
    /// measured values, and for a connection test how this run went.
    pub fn rule_probed(&self, id: CheckId, rule: usize, outcome: &Outcome) {
        let (connection, content) = {
            let inner = self.read();
            let test = inner
                .config
                .checks
                .get(id.index())
                .and_then(|c| c.rules.get(rule))
                .map(|r| &r.test.value);
            (
                test.is_some_and(connection_test),
                matches!(test, Some(Test::Content { .. })),
            )
        };
        self.update(id, |s| {
            s.metrics.update(|_| true, &outcome.values);
            s.set_texts(outcome);
            if content {
                // A content probe fails when a line fires its rule.
                let bit = 1u32 << rule.min(31);
                if outcome.is_ok() {
                    s.content_firing &= !bit;
                } else {
                    s.content_firing |= bit;
                }
            }
            let (Ok(rule), true) = (u16::try_from(rule), connection) else {
                return;
            };
            let run = RuleRun {
                rule,
                response_s: outcome
                    .is_ok()
                    .then(|| outcome.value(Metric::ResponseTime).unwrap_or(0.0)),
                certificate_days: outcome.value(Metric::CertificateDays),
            };
            match s.tests.iter_mut().find(|r| r.rule == rule) {
                Some(slot) => *slot = run,
                None => {
                    // Grown by one: a push makes room for four (160 bytes
                    // where a check with one port test needs 40).
                    s.tests.reserve_exact(1);
                    s.tests.push(run);
                }
            }
        });
    }

    /// The end of one evaluation: which rule (if any) is failing now.
    /// A sample of the check's figures goes into its history.
    pub fn evaluated(&self, id: CheckId, failing: Option<EventKind>) {
        self.cycle(id, None, failing, None);
    }

    /// The end of one evaluation, with what [`probed`](Self::probed) and
    /// [`scheduled`](Self::scheduled) would say when given: one hold of
    /// the board's lock and one clock read a cycle instead of three each
    /// (a lock shared by every check of both worker threads).
    pub fn cycle(
        &self,
        id: CheckId,
        subject: Option<(&Outcome, Duration)>,
        failing: Option<EventKind>,
        next: Option<Instant>,
    ) {
        let now = SystemTime::now();
        let next = next.map(|n| now + n.saturating_duration_since(Instant::now()));
        self.update_with_history(id, |s, history| {
            if let Some((outcome, took)) = subject {
                record_probe(s, outcome, took, now);
            }
            if next.is_some() {
                s.next_check = next.map(Stamp::of);
            }
            s.failing = failing;
            s.last_check = Some(Stamp::of(now));
            let (values, n) = sample(s, history.series());
            history.sample(now, &values[..n]);
        });
    }

    /// When the check runs next.
    pub fn scheduled(&self, id: CheckId, next: Instant) {
        let wall = SystemTime::now() + next.saturating_duration_since(Instant::now());
        self.update(id, |s| s.next_check = Some(Stamp::of(wall)));
    }

    /// Remembers an event as its check's last one.
    pub fn record_event(&self, event: &Event) {
        let found = {
            let inner = self.read();
            match &event.check {
                Some(check) if check.is_of(&inner.config) => Some(check.id()),
                // An event of the engine this board replaced (a reload),
                // read after it: its id is the old config's, its name holds.
                _ => inner
                    .index
                    .find(&inner.config.checks, &event.service)
                    .and_then(CheckId::new),
            }
        };
        let Some(id) = found else {
            return;
        };
        self.update_with_history(id, |_, history| history.event(event));
    }

    /// One check's recent samples and events; None for an unknown name.
    pub fn history(&self, name: &str) -> Option<HistoryView> {
        let inner = self.read();
        let i = inner.index.find(&inner.config.checks, name)?;
        let check = inner.config.checks.get(i)?;
        Some(view(
            check,
            inner.observed.get(i)?,
            inner.config.settings.cycle,
        ))
    }

    /// Every check's history, in config order (the index page's sparklines).
    pub fn histories(&self) -> Vec<HistoryView> {
        let inner = self.read();
        let cycle = inner.config.settings.cycle;
        inner
            .config
            .checks
            .iter()
            .zip(&inner.observed)
            .map(|(check, observed)| view(check, observed, cycle))
            .collect()
    }

    /// The bytes the histories hold on the heap, all checks together.
    pub fn history_bytes(&self) -> usize {
        let inner = self.read();
        inner
            .observed
            .iter()
            .filter_map(|o| o.history.as_ref())
            .map(|h| size_of::<History>() + h.heap_bytes())
            .sum()
    }

    /// Changes what the board holds of a check; nothing past the config's
    /// checks.
    fn update(&self, id: CheckId, f: impl FnOnce(&mut Observed)) {
        if let Some(observed) = self.write().observed.get_mut(id.index()) {
            f(observed);
        }
    }

    /// `update` with the check's history, made at its first sample or event.
    fn update_with_history(&self, id: CheckId, f: impl FnOnce(&mut Observed, &mut History)) {
        let mut inner = self.write();
        let inner = &mut *inner;
        let (Some(check), Some(s)) = (
            inner.config.checks.get(id.index()),
            inner.observed.get_mut(id.index()),
        ) else {
            return;
        };
        // Out of `s` while `f` reads the rest of it.
        let mut history = s
            .history
            .take()
            .unwrap_or_else(|| new_history(check, inner.config.settings.cycle));
        f(s, &mut history);
        s.history = Some(history);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a subject probe's run leaves on the board.
fn record_probe(s: &mut Observed, outcome: &Outcome, took: Duration, now: SystemTime) {
    let event = crate::subject::event_of(outcome);
    // The words copied into the buffer already there: a steady check's
    // words are the same length each cycle (an allocation and a free a
    // cycle otherwise).
    match &mut s.subject {
        Some((status, kind, reason)) => {
            *status = outcome.status;
            *kind = event;
            reason.clone_from(&outcome.reason);
        }
        None => s.subject = Some((outcome.status, event, outcome.reason.clone())),
    }
    s.pid = outcome.process.map(|p| p.pid);
    s.ppid = outcome.process.map(|p| p.ppid);
    s.metrics
        .update(|m| m == Metric::ResponseTime, &outcome.values);
    if !s.texts.is_empty() {
        s.texts.retain(|(t, _)| from_rules(*t));
    }
    s.set_texts(outcome);
    s.last_check = Some(Stamp::of(now));
    s.probe_duration = Some(duration_nanos(took));
    if outcome.is_ok() {
        s.last_success = Some(Stamp::of(now));
    }
}

fn new_history(check: &Check, cycle: Duration) -> History {
    History::new(
        Series::of_check(check),
        crate::plan::period(&check.schedule, cycle),
    )
}

fn view(check: &Check, observed: &Observed, cycle: Duration) -> HistoryView {
    let kind = check.kind.check_type();
    match &observed.history {
        Some(h) => h.view(&check.name.value, kind),
        None => {
            let fresh = new_history(check, cycle);
            HistoryView::empty(&check.name.value, kind, fresh.series(), fresh.width_s())
        }
    }
}

/// This cycle's figures of `series`: NaN for all while the subject fails
/// (a missing process has no CPU); response time is the slowest
/// connection test that answered.
fn sample(observed: &Observed, series: &[Series]) -> ([f32; MOST_SERIES], usize) {
    let failed = matches!(&observed.subject, Some((status, ..)) if *status != Status::Ok);
    // On the stack: every check takes a sample every cycle.
    let mut values = [f32::NAN; MOST_SERIES];
    let figures = series.iter().map(|s| match s {
        _ if failed => f32::NAN,
        Series::ResponseTime => {
            let slowest = observed
                .tests
                .iter()
                .filter_map(|r| r.response_s)
                .reduce(f64::max);
            s.read(slowest)
        }
        _ => s.read(observed.metric(s.board_metric())),
    });
    let mut n = 0;
    for (slot, v) in values.iter_mut().zip(figures) {
        *slot = v;
        n += 1;
    }
    (values, n)
}

fn configured(check: &Check, cycle: Duration, onreboot: Option<OnReboot>) -> Configured {
    // As Monit 5.33: `mode manual` means `onreboot laststate` unless the
    // check says otherwise, and comes before the global setting.
    let manual = (check.mode == Mode::Manual).then_some(OnReboot::Laststate);
    let on_reboot = match check.onreboot.or(manual).or(onreboot) {
        Some(OnReboot::NoStart) => "nostart",
        Some(OnReboot::Laststate) => "laststate",
        Some(OnReboot::Start) | None => "start",
    };
    Configured {
        on_reboot,
        kind: check.kind.check_type(),
        mode: check.mode,
        groups: check.groups.clone(),
        window: check.rules.iter().find_map(|r| match r.test.value {
            Test::Restarts { cycles, .. } => Some(cycles),
            _ => None,
        }),
        period: crate::plan::period(&check.schedule, cycle),
        content: check
            .rules
            .iter()
            .any(|r| matches!(r.test.value, Test::Content { .. })),
    }
}

/// What the check fails with now, if anything.
fn failing(observed: &Observed, monitoring: MonitoringStatus) -> Option<EventKind> {
    match (monitoring, &observed.subject, observed.failing) {
        (MonitoringStatus::NotMonitored | MonitoringStatus::Initializing, ..) => None,
        (_, Some((status, kind, _)), _) if *status != Status::Ok => Some(*kind),
        (_, _, kind) => kind,
    }
}

/// The status words and whether they count as OK.
fn words(failing: Option<EventKind>, monitoring: MonitoringStatus) -> (String, bool) {
    match (monitoring, failing) {
        (MonitoringStatus::NotMonitored, _) => ("Not monitored".into(), false),
        (MonitoringStatus::Initializing, _) => ("Initializing".into(), true),
        (_, Some(kind)) => (kind.name().into(), false),
        (_, None) => ("OK".into(), true),
    }
}

fn build(
    name: &str,
    conf: &Configured,
    observed: &Observed,
    state: &crate::CheckState,
) -> ServiceStatus {
    let monitoring = match (state.monitoring, observed.last_check) {
        (Monitoring::Unmonitored, _) => MonitoringStatus::NotMonitored,
        (Monitoring::Monitored, None) => MonitoringStatus::Initializing,
        (Monitoring::Monitored, Some(_)) => MonitoringStatus::Monitored,
    };
    let failing = failing(observed, monitoring);
    let (status, ok) = words(failing, monitoring);
    let m = |metric| observed.metric(metric);
    let whole = |metric| m(metric).map(|v: f64| v.max(0.0).round() as u64);
    let restarts_in_window = match conf.window {
        Some(w) => state.restarts.within(state.cycle_now(conf.period), w),
        None => state
            .restarts
            .within(state.cycle_now(conf.period), u32::MAX),
    };
    ServiceStatus {
        name: name.to_string(),
        kind: conf.kind,
        status,
        ok,
        failing,
        monitoring,
        mode: conf.mode,
        groups: conf.groups.clone(),
        reason: observed.subject.as_ref().map(|(_, _, r)| r.clone()),
        pid: observed.pid,
        ppid: observed.ppid.or(m(Metric::Ppid).map(|v| v as u32)),
        uptime_s: whole(Metric::Uptime),
        threads: whole(Metric::Threads),
        children: whole(Metric::Children),
        cpu_percent: m(Metric::Cpu),
        total_cpu_percent: m(Metric::TotalCpu),
        memory_bytes: whole(Metric::Memory),
        memory_percent: m(Metric::MemoryPercent),
        total_memory_bytes: whole(Metric::TotalMemory),
        total_memory_percent: m(Metric::TotalMemoryPercent),
        response_time_ms: m(Metric::ResponseTime).map(|s| s * 1000.0),
        last_check_unix_s: observed.last_check.map(Stamp::unix_s),
        next_check_unix_s: observed.next_check.map(Stamp::unix_s),
        last_success_unix_s: observed.last_success.map(Stamp::unix_s),
        probe_duration_ms: observed
            .probe_duration
            .map(|ns| Duration::from_nanos(ns.get() - 1).as_secs_f64() * 1000.0),
        restarts_in_window: u64::from(restarts_in_window),
        restart_window_cycles: conf.window,
        restarts_total: state.starts_total,
        last_event: observed.history.as_ref().and_then(|h| {
            let (time, kind, description) = h.newest_event()?;
            Some(LastEvent {
                kind: kind.name().to_string(),
                description: description.to_string(),
                time_unix_s: u64::from(time),
            })
        }),
        metrics: observed
            .metrics
            .iter()
            .map(|(k, v)| (Cow::Borrowed(metric_name(k)), v))
            .collect(),
        on_reboot: Cow::Borrowed(conf.on_reboot),
        last_check_usec: observed.last_check.map(Stamp::subsec_micros),
        fs_type: observed.text(Text::FsType),
        fs_flags: observed.text(Text::FsFlags),
        security_attribute: observed.text(Text::SecurityAttribute),
        program_output: observed.text(Text::ProgramOutput),
        checksum: checksum(observed),
        content_match: conf.content.then_some(observed.content_firing != 0),
        tests: Vec::new(),
    }
}

fn checksum(observed: &Observed) -> Option<Checksum> {
    [
        (Text::ChecksumMd5, "MD5"),
        (Text::ChecksumSha1, "SHA1"),
        (Text::ChecksumSha256, "SHA256"),
    ]
    .into_iter()
    .find_map(|(text, algorithm)| {
        Some(Checksum {
            algorithm: algorithm.to_string(),
            digest: observed.text(text)?,
        })
    })
}

/// A metric's snake_case name, as serde spells it.
pub fn metric_name(metric: Metric) -> &'static str {
    // Every metric is a unit variant: it always has a name.
    warden_config::names::variant_name(&metric).unwrap_or_default()
}

pub fn unix_s(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every check has an entry, its history in it: 256 bytes keeps the
    /// board's vector at 2.5 MB at 10,000 checks (the entry was 208
    /// bytes and the history a block of 96 more). The times are stamps of
    /// 8 bytes and the history is not boxed; a field past this bound
    /// costs every check.
    #[test]
    fn a_board_entry_stays_within_256_bytes() {
        assert!(size_of::<Observed>() <= 256, "{}", size_of::<Observed>());
        assert_eq!(size_of::<Option<Stamp>>(), 8);
    }

    /// A stamp reads back the seconds and microseconds a `SystemTime`
    /// gave, before the epoch as the epoch.
    #[test]
    fn a_stamp_keeps_the_seconds_and_microseconds() {
        let t = UNIX_EPOCH + Duration::new(1_765_000_000, 123_456_789);
        let s = Stamp::of(t);
        assert_eq!(s.unix_s(), unix_s(t));
        assert_eq!(s.subsec_micros(), 123_456);
        let before = Stamp::of(UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!((before.unix_s(), before.subsec_micros()), (0, 0));
        let took = duration_nanos(Duration::from_micros(2500));
        assert_eq!(
            Duration::from_nanos(took.get() - 1).as_secs_f64() * 1000.0,
            2.5
        );
    }

    fn id(index: usize) -> CheckId {
        CheckId::new(index).unwrap()
    }

    fn board(text: &str) -> StatusBoard {
        let loaded = warden_config::load_text(std::path::Path::new("rc"), text.to_string());
        let config = loaded.config.unwrap();
        let b = StatusBoard::default();
        let config = Arc::new(config);
        b.configure(&config, &StateStore::open(None));
        b
    }

    const RC: &str = "check process web with pidfile /tmp/web.pid\n  group www\n\
                      check process db with pidfile /tmp/db.pid\n  mode passive\n";

    #[test]
    fn checks_are_listed_in_config_order_and_initializing() {
        let all = board(RC).snapshot();
        let names: Vec<_> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["web", "db"]);
        assert_eq!(all[0].status, "Initializing");
        assert_eq!(all[0].groups, ["www"]);
        assert_eq!(all[1].mode, Mode::Passive);
        assert!(all[0].ok);
    }

    #[test]
    fn a_probe_outcome_sets_status_and_measured_values() {
        let b = board(RC);
        let out = Outcome::failed(Status::Missing, "process is not running");
        b.probed(id(0), &out, Duration::from_millis(3));
        let ok = Outcome::ok("running")
            .with(Metric::Memory, 2048.0)
            .with(Metric::Cpu, 1.5);
        b.probed(id(1), &ok, Duration::from_millis(1));
        let all = b.snapshot();
        assert_eq!(
            (all[0].status.as_str(), all[0].ok),
            ("Does not exist", false)
        );
        assert_eq!((all[1].status.as_str(), all[1].ok), ("OK", true));
        assert_eq!(all[1].memory_bytes, Some(2048));
        assert_eq!(all[1].metrics.get("cpu"), Some(&1.5));
    }

    #[test]
    fn a_rule_probe_value_stays_and_the_subject_values_are_replaced() {
        let b = board(RC);
        let first = Outcome::ok("running")
            .with(Metric::Memory, 1.0)
            .with(Metric::Cpu, 9.0);
        b.probed(id(0), &first, Duration::ZERO);
        b.rule_probed(
            id(0),
            0,
            &Outcome::ok("answered").with(Metric::ResponseTime, 0.25),
        );
        b.probed(
            id(0),
            &Outcome::ok("running").with(Metric::Memory, 2.0),
            Duration::ZERO,
        );
        let web = &b.snapshot()[0];
        let names: Vec<_> = web.metrics.keys().map(|k| k.as_ref()).collect();
        assert_eq!(names, ["memory", "response_time"]);
        assert_eq!(web.memory_bytes, Some(2));
        assert_eq!(web.response_time_ms, Some(250.0));
    }

    #[test]
    fn content_match_says_whether_any_content_rule_fires_now() {
        let b = board(
            "check file log with path /tmp/log\n\
             if content = \"ERROR\" then alert\n  if content = \"FATAL\" then alert\n\
             check file plain with path /tmp/f\n",
        );
        let fired = Outcome::failed(Status::Failed, "a line matches");
        let quiet = Outcome::ok("no new line matches");
        let now = |b: &StatusBoard| b.snapshot()[0].content_match;
        assert_eq!(now(&b), Some(false), "shown before the first run");
        b.rule_probed(id(0), 0, &fired);
        b.rule_probed(id(0), 1, &quiet);
        assert_eq!(now(&b), Some(true), "one of the two fires");
        b.rule_probed(id(0), 0, &quiet);
        assert_eq!(now(&b), Some(false));
        assert_eq!(b.snapshot()[1].content_match, None, "no content rule");
    }

    #[test]
    fn a_check_outside_the_config_changes_nothing() {
        let b = board(RC);
        b.probed(
            id(2),
            &Outcome::failed(Status::Missing, "gone"),
            Duration::ZERO,
        );
        b.record_event(&Event::new("nosuch", EventKind::ActionDone, "started"));
        let all = b.snapshot();
        assert_eq!(all.len(), 2);
        assert!(
            all.iter()
                .all(|s| s.status == "Initializing" && s.last_event.is_none())
        );
    }

    #[test]
    fn a_reload_keeps_what_the_old_board_saw_of_the_same_names() {
        let old = board(RC);
        old.probed(
            id(1),
            &Outcome::ok("running").with(Metric::Cpu, 4.0),
            Duration::ZERO,
        );
        old.record_event(&Event::new("web", EventKind::ActionDone, "started"));
        // The new config lists db first and adds a check.
        let new = board(
            "check process db with pidfile /tmp/db.pid\n\
             check process web with pidfile /tmp/web.pid\n\
             check process cache with pidfile /tmp/cache.pid\n",
        );
        new.carry_over(&old);
        let all = new.snapshot();
        assert_eq!(all[0].name, "db");
        assert_eq!(all[0].cpu_percent, Some(4.0));
        assert!(all[0].last_check_unix_s.is_some());
        assert_eq!(
            all[1].last_event.as_ref().map(|e| e.kind.as_str()),
            Some("Action done")
        );
        assert!(all[2].last_check_unix_s.is_none() && all[2].last_event.is_none());
    }

    #[test]
    fn an_event_of_a_replaced_config_lands_on_its_check_by_name() {
        let old = board(RC);
        let config = old.read().config.clone();
        let web = crate::id::CheckRef::new(&config, 0).unwrap();
        old.record_event(&Event::of(&web, EventKind::ActionDone, "started"));
        let kind = |s: &ServiceStatus| s.last_event.as_ref().map(|e| e.kind.clone());
        assert_eq!(kind(&old.snapshot()[0]).as_deref(), Some("Action done"));
        // Read after a reload that lists db first: web's old position is db's.
        let new = board(
            "check process db with pidfile /tmp/db.pid\n\
             check process web with pidfile /tmp/web.pid\n",
        );
        new.record_event(&Event::of(&web, EventKind::Exists, "running"));
        let all = new.snapshot();
        assert_eq!(kind(&all[0]), None);
        assert_eq!(kind(&all[1]).as_deref(), Some("Exists"));
    }

    #[test]
    fn a_snapshot_read_in_chunks_has_every_check_in_order_with_its_own_figures() {
        // Past two chunk boundaries, each check's entry its own.
        let n = 600;
        let text: String = (0..n)
            .map(|i| format!("check process p{i} with pidfile /tmp/p{i}.pid\n"))
            .collect();
        let b = board(&text);
        for i in [0, 255, 256, 257, 511, 512, 599] {
            let out = Outcome::ok("running").with(Metric::Threads, i as f64);
            b.probed(id(i), &out, Duration::ZERO);
        }
        let all = b.snapshot();
        assert_eq!(all.len(), n);
        for (i, s) in all.iter().enumerate() {
            assert_eq!(s.name, format!("p{i}"));
            let probed = [0, 255, 256, 257, 511, 512, 599].contains(&i);
            assert_eq!(
                s.metric(Metric::Threads),
                probed.then_some(i as f64),
                "p{i}"
            );
        }
    }

    #[test]
    fn connection_runs_texts_and_onreboot_reach_the_snapshot() {
        let b = board(
            "set onreboot nostart\n\
             check host h with address 127.0.0.1\n  onreboot laststate\n\
             if failed port 80 then alert\n  if failed port 81 then alert\n\
             check file f with path /tmp/f\n  if changed checksum then alert\n\
             check file m with path /tmp/f\n  mode manual\n",
        );
        b.rule_probed(
            id(0),
            0,
            &Outcome::ok("open").with(Metric::ResponseTime, 0.001),
        );
        b.rule_probed(id(0), 1, &Outcome::failed(Status::Failed, "refused"));
        let sum = Outcome::ok("same").with_text(Text::ChecksumMd5, "b1946ac9");
        b.rule_probed(id(1), 0, &sum);
        // The file's own probe runs again: the rule's digest stays.
        let stat = Outcome::ok("a file").with_text(Text::FsType, "not a file fact");
        b.probed(id(1), &stat, Duration::ZERO);
        let all = b.snapshot();
        let ports: Vec<_> = all[0]
            .tests
            .iter()
            .map(|t| (t.port, t.failed, t.response_time_ms))
            .collect();
        assert_eq!(
            ports,
            [(Some(81), true, None), (Some(80), false, Some(1.0))]
        );
        assert_eq!(
            (all[0].on_reboot.as_ref(), all[1].on_reboot.as_ref()),
            ("laststate", "nostart")
        );
        assert_eq!(all[2].on_reboot, "laststate", "mode manual, as Monit");
        let sum = all[1]
            .checksum
            .as_ref()
            .map(|c| (c.algorithm.as_str(), c.digest.as_str()));
        assert_eq!(sum, Some(("MD5", "b1946ac9")));
        assert!(all[1].tests.is_empty(), "a checksum is no connection test");
        assert_eq!(all[1].fs_type.as_deref(), Some("not a file fact"));
        assert!(all[1].last_check_usec.is_some());
    }

    #[test]
    fn each_evaluation_samples_the_figures_and_a_reload_moves_the_history() {
        let old = board(RC);
        let running = Outcome::ok("running")
            .with(Metric::Cpu, 2.5)
            .with(Metric::Memory, 4096.0);
        old.probed(id(0), &running, Duration::ZERO);
        old.evaluated(id(0), None);
        old.probed(
            id(0),
            &Outcome::failed(Status::Missing, "gone"),
            Duration::ZERO,
        );
        old.record_event(
            &Event::new("web", EventKind::DoesNotExist, "gone").with_action("restart"),
        );
        let web = old.history("web").unwrap();
        assert_eq!(web.series, [Series::Cpu, Series::Memory]);
        assert_eq!(web.samples[0].values, [Some(2.5), Some(4096.0)]);
        assert_eq!(web.events[0].action.as_deref(), Some("restart"));
        assert!(old.history("db").unwrap().samples.is_empty());
        assert!(old.history("nosuch").is_none());
        assert!(old.history_bytes() > 0);
        let new = board(
            "check process db with pidfile /tmp/db.pid\n\
             check process web with pidfile /tmp/web.pid\n",
        );
        new.carry_over(&old);
        assert_eq!(new.history("web"), Some(web), "moved whole");
        assert_eq!(old.history_bytes(), 0, "moved, not copied");
    }

    /// One `cycle` says what `probed`, `evaluated` and `scheduled` say
    /// one after the other, and a steady check's words reuse their buffer.
    #[tokio::test]
    async fn one_cycle_update_says_what_the_three_did() {
        let (apart, together) = (board(RC), board(RC));
        let running = Outcome::ok("process is running with pid 42")
            .with(Metric::Cpu, 2.5)
            .with(Metric::Memory, 4096.0);
        let next = Instant::now() + Duration::from_secs(30);
        apart.probed(id(0), &running, Duration::from_millis(2));
        apart.evaluated(id(0), Some(EventKind::ConnectionFailed));
        apart.scheduled(id(0), next);
        together.cycle(
            id(0),
            Some((&running, Duration::from_millis(2))),
            Some(EventKind::ConnectionFailed),
            Some(next),
        );
        let (a, t) = (&apart.snapshot()[0], &together.snapshot()[0]);
        assert_eq!(t.status, a.status);
        assert_eq!(t.reason, a.reason);
        assert_eq!(t.metrics, a.metrics);
        assert_eq!(t.probe_duration_ms, Some(2.0));
        assert!(t.last_success_unix_s.is_some());
        let (an, tn) = (a.next_check_unix_s.unwrap(), t.next_check_unix_s.unwrap());
        assert!(an.abs_diff(tn) <= 1, "{an} {tn}");
        assert_eq!(
            apart.history("web").unwrap().samples,
            together.history("web").unwrap().samples
        );
        // Without a subject or a next tick, the earlier ones stay.
        together.cycle(id(0), None, None, None);
        let t = &together.snapshot()[0];
        assert_eq!(t.next_check_unix_s, Some(tn));
        assert_eq!(t.reason.as_deref(), Some("process is running with pid 42"));
        assert_eq!(t.status, "OK");
        let pid7 = Outcome::ok("process is running with pid 7");
        together.cycle(id(0), Some((&pid7, Duration::ZERO)), None, None);
        let t = &together.snapshot()[0];
        assert_eq!(t.reason.as_deref(), Some("process is running with pid 7"));
        assert_eq!(t.metrics.get("cpu"), None, "the subject's figures replaced");
    }

    #[test]
    fn a_fired_rule_names_the_status() {
        let b = board(RC);
        b.probed(id(0), &Outcome::ok("running"), Duration::ZERO);
        b.evaluated(id(0), Some(EventKind::ConnectionFailed));
        assert_eq!(b.snapshot()[0].status, "Connection failed");
    }

    #[test]
    fn the_schema_round_trips_through_json() {
        let b = board(RC);
        b.record_event(&Event::new("web", EventKind::ActionDone, "started"));
        let all = b.snapshot();
        let text = serde_json::to_string(&all).unwrap();
        let back: Vec<ServiceStatus> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, all);
        assert!(text.contains("\"type\":\"Process\""));
        assert_eq!(all[0].last_event.as_ref().unwrap().kind, "Action done");
    }
}
