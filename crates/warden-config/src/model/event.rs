//! Monit's event names, as alert filters list them (`on { nonexist,
//! timeout }`, `not on { instance }`): one table, which lowering reads
//! words through and the alert router matches events against.

use std::fmt;

use serde::Serialize;

macro_rules! events {
    ($($variant:ident => $name:literal $([$($alias:literal),*])?,)*) => {
        /// An event a filter may name (`man monit`, "Setting an event filter").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FilterEvent {
            $($variant,)*
        }

        impl FilterEvent {
            /// Every event, in the order the hints list them.
            pub const ALL: &'static [FilterEvent] = &[$(FilterEvent::$variant,)*];

            /// Monit's name.
            pub fn name(self) -> &'static str {
                match self {
                    $(FilterEvent::$variant => $name,)*
                }
            }

            /// The other spellings Monit's lexer takes.
            fn aliases(self) -> &'static [&'static str] {
                match self {
                    $(FilterEvent::$variant => &[$($($alias),*)?],)*
                }
            }
        }
    };
}

events! {
    Action => "action",
    Bytein => "bytein",
    Byteout => "byteout",
    Checksum => "checksum",
    Connection => "connection",
    Content => "content",
    Data => "data",
    Exec => "exec" ["execute"],
    Exist => "exist" ["exists"],
    Fsflags => "fsflags" ["fsflag"],
    Gid => "gid",
    Icmp => "icmp",
    Instance => "instance",
    Invalid => "invalid",
    Link => "link",
    Nonexist => "nonexist" ["nonexists"],
    Packetin => "packetin",
    Packetout => "packetout",
    Permission => "permission" ["perm"],
    Pid => "pid",
    Ppid => "ppid",
    Resource => "resource",
    Saturation => "saturation",
    Size => "size",
    Speed => "speed",
    Status => "status",
    Timeout => "timeout",
    Timestamp => "timestamp" ["time"],
    Uid => "uid",
    Uptime => "uptime",
}

impl FilterEvent {
    /// The event a word names, by its name or an alias (lowercase).
    pub fn from_word(word: &str) -> Option<FilterEvent> {
        FilterEvent::ALL
            .iter()
            .copied()
            .find(|e| e.name() == word || e.aliases().contains(&word))
    }
}

impl fmt::Display for FilterEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// As the name, the way the model showed it when it was a string.
impl Serialize for FilterEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `[not] on { events }`: which events reach a recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EventFilter {
    /// The events named, in the order written; empty means all.
    pub events: Vec<FilterEvent>,
    /// True for `not on { ... }`: every event except those listed.
    pub exclude: bool,
}

impl EventFilter {
    /// True when an event that filters as `event` passes. Monit also
    /// takes `exist` for `nonexist`.
    pub fn passes(&self, event: FilterEvent) -> bool {
        if self.events.is_empty() {
            return true;
        }
        let listed = self
            .events
            .iter()
            .any(|e| *e == event || (event == FilterEvent::Nonexist && *e == FilterEvent::Exist));
        listed != self.exclude
    }
}

#[cfg(test)]
mod tests {
    use super::FilterEvent;

    #[test]
    fn names_and_aliases_find_their_event_and_nothing_else_does() {
        for e in FilterEvent::ALL {
            assert_eq!(FilterEvent::from_word(e.name()), Some(*e));
        }
        assert_eq!(FilterEvent::from_word("execute"), Some(FilterEvent::Exec));
        assert_eq!(FilterEvent::from_word("time"), Some(FilterEvent::Timestamp));
        assert_eq!(FilterEvent::from_word("gopher"), None);
    }
}
