//! Who hears about what: each sink in [`SINKS`] order names its recipients
//! for a service (mail: the global `set alert` recipients less its
//! `noalert` addresses plus its own `alert` lines; then every `set alert
//! webhook`), each filtered by its `on { ... }` / `not on { ... }` list.

use std::sync::Arc;
use std::time::Duration;

use warden_config::Config;
use warden_config::model::{Check, FilterEvent, NameIndex};
use warden_engine::{CheckId, CheckRef};

use crate::registry::SINKS;
use crate::sink::Recipient;

/// The routing part of one configuration, read from the config itself
/// when an event comes (a few a cycle at most), so it costs no copy of
/// every check's name and recipients. Checks are [`CheckId`]s of this
/// config: only an event of the same config (see [`Routes::is_of`]) may
/// be routed with its ids.
#[derive(Debug, Default)]
pub struct Routes {
    config: Arc<Config>,
    /// Names to ids, for what names a check across configs (the alert
    /// memory, a decider's state carried over a reload), resolved once
    /// when these routes are installed.
    index: NameIndex,
    /// Each check's `depends on`, resolved once: check `i`'s are
    /// `depends[starts[i]..starts[i + 1]]` (one allocation for all).
    starts: Box<[u32]>,
    depends: Box<[CheckId]>,
}

impl Routes {
    pub fn new(config: &Arc<Config>) -> Routes {
        let index = NameIndex::new(&config.checks);
        let mut starts = Vec::with_capacity(config.checks.len() + 1);
        let mut depends = Vec::new();
        for check in &config.checks {
            starts.push(u32::try_from(depends.len()).unwrap_or(u32::MAX));
            depends.extend(
                check
                    .depends_on
                    .iter()
                    .filter_map(|d| index.find(&config.checks, &d.value).and_then(CheckId::new)),
            );
        }
        starts.push(u32::try_from(depends.len()).unwrap_or(u32::MAX));
        Routes {
            config: config.clone(),
            index,
            starts: starts.into_boxed_slice(),
            depends: depends.into_boxed_slice(),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// True when `check`'s id is one of these routes' (the same load).
    pub fn is_of(&self, check: &CheckRef) -> bool {
        check.is_of(&self.config)
    }

    /// How many checks the config has (ids are below it).
    pub fn len(&self) -> usize {
        self.config.checks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.config.checks.is_empty()
    }

    /// The check called `name`: for names kept across configs only.
    pub fn find(&self, name: &str) -> Option<CheckId> {
        self.index
            .find(&self.config.checks, name)
            .and_then(CheckId::new)
    }

    pub fn knows(&self, service: &str) -> bool {
        self.find(service).is_some()
    }

    pub fn name(&self, check: CheckId) -> Option<&str> {
        self.check(Some(check)).map(|c| c.name.value.as_str())
    }

    fn check(&self, check: Option<CheckId>) -> Option<&Check> {
        self.config.checks.get(check?.index())
    }

    /// Where an event that filters as `filter` about `check` goes (None: a
    /// service the config does not know); with no filter, every recipient
    /// regardless of filters (for recoveries, which go to whoever heard of
    /// the failure).
    pub fn recipients(
        &self,
        check: Option<CheckId>,
        filter: Option<FilterEvent>,
    ) -> Vec<Recipient> {
        let check = self.check(check);
        SINKS
            .iter()
            .flat_map(|sink| sink.recipients(&self.config.settings, check))
            .filter(|t| filter.is_none_or(|event| t.filter.passes(event)))
            .collect()
    }

    /// The checks `check` depends on (names the config lacks left out).
    pub fn depends_on(&self, check: CheckId) -> &[CheckId] {
        let i = check.index();
        let range = self.starts.get(i).zip(self.starts.get(i + 1));
        range
            .and_then(|(a, b)| self.depends.get(*a as usize..*b as usize))
            .unwrap_or_default()
    }

    /// The check's period (one "cycle" for reminders); the daemon's cycle
    /// for a service the config does not know.
    pub fn period(&self, check: Option<CheckId>) -> Duration {
        let cycle = self.config.settings.cycle;
        self.check(check)
            .map_or(cycle, |c| warden_engine::plan::period(&c.schedule, cycle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(text: &str) -> Routes {
        let loaded = warden_config::load_text(std::path::Path::new("rc"), text.to_string());
        Routes::new(&Arc::new(loaded.config.unwrap()))
    }

    fn sinks(r: &Routes, service: &str, filter: &str) -> Vec<String> {
        r.recipients(r.find(service), FilterEvent::from_word(filter))
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
        let dev = r.recipients(r.find("web"), Some(FilterEvent::Nonexist));
        assert_eq!(dev[1].reminder_cycles, Some(3));
        assert_eq!(r.period(r.find("db")), Duration::from_secs(20));
        assert_eq!(r.period(r.find("unknown")), Duration::from_secs(10));
    }

    #[test]
    fn dependencies_are_the_ids_of_the_same_config() {
        let r = routes(
            "check process db with pidfile /run/db.pid\n\
             check process web with pidfile /run/web.pid\n  depends on db, cache\n\
             check process cache with pidfile /run/cache.pid\n",
        );
        let (db, web, cache) = (r.find("db"), r.find("web"), r.find("cache"));
        let deps: Vec<_> = web
            .map_or(&[][..], |w| r.depends_on(w))
            .iter()
            .copied()
            .map(Some)
            .collect();
        assert_eq!(deps, [db, cache]);
        assert!(db.is_some_and(|d| r.depends_on(d).is_empty()));
    }
}
