//! Alert channels as plug-ins: a [`Sink`] says what it is called, where the
//! configuration sends alerts through it (its [`Recipient`]s), and how it
//! delivers one; the queue, grouping, retries and backoff stay in the
//! dispatcher ([`crate::deliver`]). A new channel is one module
//! implementing [`Sink`] plus one line in [`crate::registry::SINKS`]; this
//! module names no channel, so channels can use it freely.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use warden_config::model::{Check, EventFilter, Settings};
use warden_engine::EventKind;

use crate::alert::{AlertEvent, Destination};
use crate::format::Template;

/// One place an event goes, with how it is written and reminded.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    pub sink: Destination,
    pub template: Option<Template>,
    /// `with reminder on N cycles`.
    pub reminder_cycles: Option<u32>,
    /// `[not] on { ... }`: the events it hears of.
    pub filter: EventFilter,
    /// Repeat a standing failure this often, whatever the reminder says
    /// (Alertmanager: before the alert's `endsAt` lapses).
    pub repost: Option<Duration>,
    /// Labels stored with each queued alert (Alertmanager only): the
    /// check's type and groups, then the configured ones.
    pub labels: Vec<(String, String)>,
}

/// How long an alert waits, by default, after its last event for more to
/// fold in (a restart is one mail, not three).
pub const QUIET: Duration = Duration::from_millis(1500);

/// A boxed future, so that sinks can sit in one list as `&dyn Sink`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a delivery did not happen: worth retrying or not. The sink decides
/// which is which; the dispatcher retries the first and gives up the second.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The next attempt may work (server down, timeout, 4xx).
    #[error("{0}")]
    Temporary(String),
    /// It never will (bad address, 5xx rejection): give up.
    #[error("{0}")]
    Permanent(String),
}

/// One alert ready to go: every event of it (the cause first) for one
/// address on the sink.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub address: &'a str,
    pub events: Vec<&'a AlertEvent>,
    /// The mail format stored with the entries (mail only).
    pub template: Option<&'a Template>,
    /// Every event of it repeats a failure alerted before.
    pub reminder: bool,
    /// The running configuration's settings (mail servers, ...).
    pub settings: &'a Settings,
    /// The labels stored with each event's entry, in the order of
    /// `events` (Alertmanager only; empty for other sinks' entries).
    pub labels: Vec<&'a [(String, String)]>,
}

/// An alert channel.
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// The channel's name: `to` in queue entries and the alert state, the
    /// prefix of keys (`mail:ops@example.com`). Never change it: queued
    /// alerts name their sink by it.
    fn name(&self) -> &'static str;

    /// An address as logs show it (`webhook http://...`).
    fn describe(&self, address: &str) -> String {
        format!("{} {address}", self.name())
    }

    /// Where alerts about `check` (None: a service the config does not
    /// know) go through this channel, each with its event filter.
    fn recipients(&self, settings: &Settings, check: Option<&Check>) -> Vec<Recipient>;

    /// Whether events of this kind are for this channel at all (an
    /// Alertmanager hears of failures and their end, not of actions).
    fn takes(&self, _kind: EventKind) -> bool {
        true
    }

    /// How long an alert waits after its last event for more to fold in;
    /// zero for a receiver that groups alerts itself.
    fn quiet(&self) -> Duration {
        QUIET
    }

    /// Delivers one alert; `Ok` holds the receiver's answer, for the log.
    fn deliver<'a>(&'a self, alert: Outgoing<'a>) -> BoxFuture<'a, Result<String, SendError>>;
}

/// An error with its causes (`connection error: invalid peer certificate:
/// UnknownIssuer`), which lettre's and reqwest's own messages leave out.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !words.contains(&s) {
            words.push_str(": ");
            words.push_str(&s);
        }
        cause = c.source();
    }
    words
}
