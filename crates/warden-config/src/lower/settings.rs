//! Lowering of `set ...` statements into [`Settings`].

use super::Cx;
use super::common::{P, integer_in};
use crate::grammar::Rule;
use crate::model::Settings;
use std::time::Duration;

pub fn lower_set(statement: P<'_>, settings: &mut Settings, cx: &mut Cx) {
    for item in statement.into_inner() {
        if item.as_rule() == Rule::set_daemon {
            let mut numbers = item.into_inner().filter(|p| p.as_rule() == Rule::integer);
            if let Some(n) = numbers.next() {
                if let Some(secs) = integer_in(cx, &n, "the daemon cycle", 1, 86_400) {
                    settings.cycle = Duration::from_secs(secs);
                    settings.daemon_set = true;
                }
            }
            if let Some(n) = numbers.next() {
                if let Some(secs) = integer_in(cx, &n, "the start delay", 0, 86_400) {
                    settings.start_delay = Duration::from_secs(secs);
                }
            }
        }
    }
}

/// Lowers an `alert_body` (shared by `set alert` and a check's `alert`).
pub fn lower_alert_body(body: P<'_>, _cx: &mut Cx) -> Option<crate::model::AlertRecipient> {
    let span = super::common::span(&body);
    let address = body.into_inner().next().map(|p| super::common::text(&p))?;
    Some(crate::model::AlertRecipient {
        address,
        events: Vec::new(),
        exclude: false,
        reminder_cycles: None,
        mail_format: None,
        span,
    })
}
