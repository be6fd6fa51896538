//! Alert channels as plug-ins: a [`Sink`] says what it is called, where the
//! configuration sends alerts through it, and how it delivers one; the
//! queue, grouping, retries and backoff stay in the dispatcher
//! ([`crate::deliver`]). [`SINKS`] is the registry: a new channel is one
//! module implementing [`Sink`] plus one line there.

use std::future::Future;
use std::pin::Pin;

use warden_config::model::{Check, Settings};

use crate::alert::AlertEvent;
use crate::format::Template;
use crate::route::Recipient;

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

    /// Delivers one alert; `Ok` holds the receiver's answer, for the log.
    fn deliver<'a>(&'a self, alert: Outgoing<'a>) -> BoxFuture<'a, Result<String, SendError>>;
}

/// Every channel, in the order a service's recipients are listed (mail
/// recipients first, then webhooks).
pub static SINKS: &[&dyn Sink] = &[&crate::mail::MAIL, &crate::webhook::WEBHOOK];

/// The sink called `name`.
pub fn find(name: &str) -> Option<&'static dyn Sink> {
    SINKS.iter().copied().find(|s| s.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sink_has_its_own_name() {
        let mut names: Vec<_> = SINKS.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SINKS.len());
        assert!(find("mail").is_some() && find("webhook").is_some());
        assert!(find("carrier pigeon").is_none());
    }
}
