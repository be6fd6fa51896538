//! Who hears about what: each sink in [`SINKS`] order names its recipients
//! for a service (mail: the global `set alert` recipients less its
//! `noalert` addresses plus its own `alert` lines; then every `set alert
//! webhook`), each filtered by its `on { ... }` / `not on { ... }` list.

use std::sync::Arc;
use std::time::Duration;

use warden_config::Config;
use warden_config::model::{Check, EventFilter, FilterEvent, NameIndex};

use crate::alert::Destination;
use crate::format::Template;
use crate::sink::SINKS;

/// One place an event goes, with how it is written and reminded.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    pub sink: Destination,
    pub template: Option<Template>,
    /// `with reminder on N cycles`.
    pub reminder_cycles: Option<u32>,
    /// `[not] on { ... }`: the events it hears of.
    pub filter: EventFilter,
}

/// The routing part of a configuration, rebuilt on every reload: read
/// from the config itself when an event comes (a few a cycle at most),
/// so it costs no copy of every check's name and recipients.
#[derive(Debug, Default)]
pub struct Routes {
    config: Arc<Config>,
    index: NameIndex,
}

impl Routes {
    pub fn new(config: &Arc<Config>) -> Routes {
        Routes {
            config: config.clone(),
            index: NameIndex::new(&config.checks),
        }
    }

    fn check(&self, service: &str) -> Option<&Check> {
        let i = self.index.find(&self.config.checks, service)?;
        self.config.checks.get(i)
    }

    pub fn knows(&self, service: &str) -> bool {
        self.check(service).is_some()
    }

    /// Where an event that filters as `filter` about `service` goes; with
    /// None, every recipient regardless of filters (for recoveries, which go
    /// to whoever heard of the failure).
    pub fn recipients(&self, service: &str, filter: Option<FilterEvent>) -> Vec<Recipient> {
        let check = self.check(service);
        SINKS
            .iter()
            .flat_map(|sink| sink.recipients(&self.config.settings, check))
            .filter(|t| filter.is_none_or(|event| t.filter.passes(event)))
            .collect()
    }

    /// The names of the checks `service` depends on.
    pub fn depends_on(&self, service: &str) -> impl Iterator<Item = &str> {
        self.check(service)
            .into_iter()
            .flat_map(|c| c.depends_on.iter().map(|d| d.value.as_str()))
    }

    /// The service's check period (one "cycle" for reminders).
    pub fn period(&self, service: &str) -> Duration {
        let cycle = self.config.settings.cycle;
        self.check(service)
            .map_or(cycle, |c| warden_engine::plan::period(&c.schedule, cycle))
    }
}

/// `<john@example.com>` -> `john@example.com` (Monit accepts both).
pub fn bare_address(a: &str) -> String {
    a.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(text: &str) -> Routes {
        let loaded = warden_config::load_text(std::path::Path::new("rc"), text.to_string());
        Routes::new(&Arc::new(loaded.config.unwrap()))
    }

    fn sinks(r: &Routes, service: &str, filter: &str) -> Vec<String> {
        r.recipients(service, FilterEvent::from_word(filter))
            .iter()
            .map(|t| t.sink.key())
            .collect()
    }

    const RC: &str = "set daemon 10\n\
        set alert ops@example.com\n\
        set alert <boss@example.com> not on { action }\n\
        set alert webhook \"http://127.0.0.1:9/hook\"\n\
        check process web with pidfile /run/web.pid\n  noalert ops@example.com\n  alert dev@example.com only on { nonexist } with reminder on 3 cycles\n\
        check process db with pidfile /run/db.pid\n  every 2 cycles\n";

    #[test]
    fn recipients_are_the_global_ones_less_noalert_plus_the_checks_own() {
        let r = routes(RC);
        assert_eq!(
            sinks(&r, "web", "nonexist"),
            [
                "mail:boss@example.com",
                "mail:dev@example.com",
                "webhook:http://127.0.0.1:9/hook"
            ]
        );
        assert_eq!(
            sinks(&r, "db", "action"),
            ["mail:ops@example.com", "webhook:http://127.0.0.1:9/hook"]
        );
        assert_eq!(
            sinks(&r, "web", "action"),
            ["webhook:http://127.0.0.1:9/hook"]
        );
    }

    #[test]
    fn reminders_and_periods_come_from_the_config() {
        let r = routes(RC);
        let dev = r.recipients("web", Some(FilterEvent::Nonexist));
        assert_eq!(dev[1].reminder_cycles, Some(3));
        assert_eq!(r.period("db"), Duration::from_secs(20));
        assert_eq!(r.period("unknown"), Duration::from_secs(10));
    }
}
