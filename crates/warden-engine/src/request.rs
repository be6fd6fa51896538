//! What a check's task can be asked from outside its own timer: by another
//! check (a dependency came up, stop for a restart) or by a person, and the
//! one list of the actions a person may ask for ([`ServiceAction`]).

use tokio::sync::oneshot;

/// A request to one check's task, from another check or a person.
#[derive(Debug)]
pub enum CheckRequest {
    /// Run the check now (a dependency came up, a person asked).
    Evaluate,
    /// Do `action`; the answer says whether it was done.
    Act(ServiceAction, Option<oneshot::Sender<bool>>),
}

/// Declares [`ServiceAction`] from one list: each action's word and its
/// help text. The command line, the API, Monit's protocol, the pages and
/// the task all take the actions from here, so a new action is one line
/// in the list plus the arms the compiler then asks for.
macro_rules! service_actions {
    ($($(#[doc = $help:literal])+ $variant:ident = $word:literal,)+) => {
        /// What a person may ask of a check: the `warden` verb, the API's
        /// `{action}`, Monit's `action=` and the pages' buttons.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum ServiceAction {
            $($(#[doc = $help])+ #[serde(rename = $word)] $variant,)+
        }

        impl ServiceAction {
            /// Every action, in the order help and pages list them.
            pub const ALL: [ServiceAction; [$($word),+].len()] = [$(ServiceAction::$variant),+];

            /// The action's word, the same everywhere it is written.
            pub const fn word(self) -> &'static str {
                match self {
                    $(ServiceAction::$variant => $word,)+
                }
            }

            /// One line of help, as clap makes one from a doc comment:
            /// the lines joined, without the final period.
            pub fn help(self) -> &'static str {
                let text = match self {
                    $(ServiceAction::$variant => concat!($($help),+),)+
                }
                .trim();
                match text.strip_suffix('.') {
                    Some(cut) if !cut.ends_with('.') => cut,
                    _ => text,
                }
            }
        }
    };
}

service_actions! {
    /// Start a service (or `all`, or -g GROUP), monitoring it again.
    Start = "start",
    /// Stop a service and stop monitoring it.
    Stop = "stop",
    /// Restart a service.
    Restart = "restart",
    /// Monitor a service again.
    Monitor = "monitor",
    /// Stop monitoring a service (no probe, no action).
    Unmonitor = "unmonitor",
}

impl ServiceAction {
    /// The action a word names, if any.
    pub fn parse(word: &str) -> Option<ServiceAction> {
        ServiceAction::ALL.into_iter().find(|a| a.word() == word)
    }

    /// Whether it touches the service itself (start, stop, restart):
    /// passive checks refuse these, and the API waits for their outcome.
    pub fn touches_service(self) -> bool {
        match self {
            ServiceAction::Start | ServiceAction::Stop | ServiceAction::Restart => true,
            ServiceAction::Monitor | ServiceAction::Unmonitor => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_word_and_serialises_as_it() {
        for a in ServiceAction::ALL {
            assert_eq!(ServiceAction::parse(a.word()), Some(a));
            let json = serde_json::to_value(a).unwrap();
            assert_eq!(json, serde_json::json!(a.word()));
        }
        assert_eq!(ServiceAction::parse("reload"), None);
    }

    #[test]
    fn help_reads_as_clap_makes_it_from_a_doc_comment() {
        assert_eq!(
            ServiceAction::Start.help(),
            "Start a service (or `all`, or -g GROUP), monitoring it again"
        );
        assert_eq!(ServiceAction::Restart.help(), "Restart a service");
    }
}
