//! Mail formats: Monit's default (From `warden@HOST`, Subject `warden alert
//! --  EVENT SERVICE`, a body of Date/Action/Host/Description lines),
//! `set mail-format` and a recipient's own format layered over it, and the
//! `$EVENT $SERVICE $DATE $HOST $ACTION $DESCRIPTION` substitution.

use serde::{Deserialize, Serialize};
use warden_config::model::MailFormat;

use crate::alert::AlertEvent;

pub const DEFAULT_FROM: &str = "warden@$HOST";
pub const DEFAULT_SUBJECT: &str = "warden alert --  $EVENT $SERVICE";
pub const DEFAULT_MESSAGE: &str = "$EVENT Service $SERVICE\n\n\
    \tDate:        $DATE\n\
    \tAction:      $ACTION\n\
    \tHost:        $HOST\n\
    \tDescription: $DESCRIPTION\n\n\
    Your faithful employee,\nWarden\n";

/// A complete format, every field decided; stored in each queue entry so
/// that a reload does not change a mail already queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub from: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub message: String,
}

impl Default for Template {
    fn default() -> Self {
        Template {
            from: DEFAULT_FROM.into(),
            reply_to: None,
            subject: DEFAULT_SUBJECT.into(),
            message: DEFAULT_MESSAGE.into(),
        }
    }
}

impl Template {
    /// The default, then `set mail-format`, then the recipient's own
    /// `with mail-format { ... }`: each field from the last that sets it.
    pub fn resolve(global: &MailFormat, own: Option<&MailFormat>) -> Template {
        let mut t = Template::default();
        for f in std::iter::once(global).chain(own) {
            if let Some(v) = &f.from {
                t.from = v.clone();
            }
            if let Some(v) = &f.reply_to {
                t.reply_to = Some(v.clone());
            }
            if let Some(v) = &f.subject {
                t.subject = v.clone();
            }
            if let Some(v) = &f.message {
                t.message = v.clone();
            }
        }
        t
    }
}

/// A mail ready for a transport.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    pub from: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub body: String,
}

/// Renders one mail for a group of events sent together: the first event
/// (the root cause) fills the template; the others (what followed within
/// the same moments, dependants failing as a consequence) are listed below.
pub fn render(template: &Template, events: &[&AlertEvent]) -> Option<Mail> {
    let (first, rest) = events.split_first()?;
    let mut body = substitute(&template.message, first);
    if !rest.is_empty() {
        if !body.ends_with('\n') {
            body.push('\n');
        }
        body.push_str("\nAlso in this alert:\n");
        for e in rest {
            body.push_str(&format!(
                "\t{}  {} {}: {}\n",
                e.date, e.service, e.event, e.description
            ));
        }
    }
    Some(Mail {
        from: substitute(&template.from, first),
        reply_to: template.reply_to.as_ref().map(|r| substitute(r, first)),
        // A header is one line: a message folded over lines is joined.
        subject: one_line(&substitute(&template.subject, first)),
        body,
    })
}

/// Replaces Monit's variables in one pass, so text inside a description
/// (`$HOST` in a program's output) is never expanded again.
pub fn substitute(text: &str, e: &AlertEvent) -> String {
    const VARS: [&str; 6] = ["EVENT", "SERVICE", "DATE", "HOST", "ACTION", "DESCRIPTION"];
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match VARS.iter().find(|v| after.starts_with(**v)) {
            Some(v) => {
                out.push_str(match *v {
                    "EVENT" => &e.event,
                    "SERVICE" => &e.service,
                    "DATE" => &e.date,
                    "HOST" => &e.host,
                    "ACTION" => &e.action,
                    _ => &e.description,
                });
                rest = &after[v.len()..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(service: &str, description: &str) -> AlertEvent {
        AlertEvent {
            service: service.into(),
            event: "Does not exist".into(),
            kind: "does_not_exist".into(),
            failure: true,
            action: "restart".into(),
            description: description.into(),
            date: "2026-11-21T04:51:16+0000".into(),
            timestamp_ms: 0,
            host: "box".into(),
        }
    }

    #[test]
    fn the_default_format_reads_like_monits() {
        let e = event("dummy", "process is not running");
        let m = render(&Template::default(), &[&e]).unwrap();
        assert_eq!(m.from, "warden@box");
        assert_eq!(m.subject, "warden alert --  Does not exist dummy");
        assert!(m.body.starts_with("Does not exist Service dummy\n\n"));
        for line in [
            "\tDate:        2026-11-21T04:51:16+0000",
            "\tAction:      restart",
            "\tHost:        box",
            "\tDescription: process is not running",
        ] {
            assert!(m.body.contains(line), "{line:?} missing from {:?}", m.body);
        }
    }

    #[test]
    fn a_recipient_format_overrides_the_global_one_field_by_field() {
        let global = MailFormat {
            from: Some("ops@example.com".into()),
            subject: Some("global $SERVICE".into()),
            ..Default::default()
        };
        let own = MailFormat {
            subject: Some("[PAGE] $SERVICE $EVENT".into()),
            ..Default::default()
        };
        let t = Template::resolve(&global, Some(&own));
        assert_eq!(t.from, "ops@example.com");
        assert_eq!(t.subject, "[PAGE] $SERVICE $EVENT");
        assert_eq!(t.message, DEFAULT_MESSAGE);
    }

    #[test]
    fn variables_inside_substituted_text_are_left_alone() {
        let e = event("web", "output: $HOST and $ $X");
        assert_eq!(
            substitute("$SERVICE on $HOST: $DESCRIPTION", &e),
            "web on box: output: $HOST and $ $X"
        );
    }

    #[test]
    fn events_sent_together_are_listed_after_the_first() {
        let (a, b) = (event("db", "gone"), event("web", "connection refused"));
        let m = render(&Template::default(), &[&a, &b]).unwrap();
        assert!(m.subject.ends_with("Does not exist db"), "{}", m.subject);
        assert!(m.body.contains("Also in this alert:\n\t2026-11-21T04:51:16+0000  web Does not exist: connection refused"), "{}", m.body);
    }
}
