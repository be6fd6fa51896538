//! Lowering of `set ...` statements into [`Settings`]. The statement kinds
//! with many options live in their own modules (httpd, mail, the daemon's
//! machinery; SSL options in `lower::ssl`); the one-value statements are
//! here.

pub mod alertmanager;
mod httpd;
mod mail;
mod runtime;
pub mod values;

#[cfg(test)]
mod tests;

use std::time::Duration;

use super::common::{SyntaxNode, integer_in, span};
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::lower::ssl::ssl_block;
use crate::model::{LogTarget, OnReboot, Settings};

pub use mail::lower_alert_body;
pub(crate) use values::check_email;

/// Monit's longest poll cycle and start delay: one year.
const ONE_YEAR: u64 = 31_556_952;

pub fn lower_set(statement: SyntaxNode<'_>, settings: &mut Settings, cx: &mut LowerContext) {
    let Some(item) = statement.into_inner().find(|p| p.as_rule() != Rule::kw_set) else {
        return;
    };
    match item.as_rule() {
        Rule::set_daemon => set_daemon(cx, item, settings),
        Rule::set_log => set_log(cx, item, settings),
        Rule::set_pidfile => settings.pidfile = file(cx, item, "the pidfile"),
        Rule::set_idfile => settings.idfile = file(cx, item, "the idfile"),
        Rule::set_statefile => settings.statefile = file(cx, item, "the statefile"),
        Rule::set_httpd => httpd::set_httpd(cx, item, settings),
        Rule::set_mailserver => mail::set_mailserver(cx, item, settings),
        Rule::set_mail_format => {
            if let Some(block) = item.into_inner().next() {
                settings.mail_format = mail::mail_format(cx, block);
            }
        }
        Rule::set_alert => mail::set_alert(cx, item, settings),
        Rule::set_alertmanager => alertmanager::set_alertmanager(cx, item, settings),
        Rule::set_eventqueue => runtime::set_eventqueue(cx, item, settings),
        Rule::set_limits => runtime::set_limits(cx, item, settings),
        Rule::set_expectbuffer => runtime::set_expectbuffer(cx, item, settings),
        Rule::set_mmonit => runtime::set_mmonit(cx, item, settings),
        Rule::set_onreboot => settings.onreboot = onreboot(item),
        Rule::set_ssl => {
            if let Some(block) = item.into_inner().find(|p| p.as_rule() == Rule::ssl_block) {
                settings.ssl = Some(ssl_block(cx, block));
            }
        }
        Rule::set_init => settings.init = true,
        Rule::set_terminal => settings.terminal_batch = true,
        Rule::set_fips => {
            cx.not_supported(span(&item), "FIPS mode");
            settings.fips = true;
        }
        _ => {}
    }
}

fn set_daemon(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    let mut numbers = item.into_inner().filter(|p| p.as_rule() == Rule::integer);
    if let Some(n) = numbers.next()
        && let Some(secs) = integer_in(cx, &n, "the daemon cycle", 1, ONE_YEAR)
    {
        settings.cycle = Duration::from_secs(secs);
        settings.daemon_set = true;
    }
    if let Some(n) = numbers.next()
        && let Some(secs) = integer_in(cx, &n, "the start delay", 0, ONE_YEAR)
    {
        settings.start_delay = Duration::from_secs(secs);
    }
}

/// `set log /path`, `set log syslog [facility F]` (also `set logfile`).
fn set_log(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    let Some(value) = item.into_inner().last() else {
        return;
    };
    if value.as_rule() == Rule::log_syslog {
        let facility = value.into_inner().nth(2);
        let facility = match facility {
            Some(f) => match values::facility(cx, &f) {
                Some(f) => Some(f),
                None => return,
            },
            None => None,
        };
        settings.log = Some(LogTarget::Syslog(facility));
    } else if let Some(path) = values::absolute_path(cx, &value, "the log file") {
        // Monit's -t opens the file; Warden opens it when it starts, and
        // says now when it will not be able to.
        if let Some(folder) = path.parent().filter(|f| !f.is_dir()) {
            cx.warning(
                span(&value),
                format!(
                    "the folder {} of the log file does not exist: Warden cannot write its log there",
                    folder.display()
                ),
            );
        }
        settings.log = Some(LogTarget::File(path));
    }
}

/// The absolute path of `set pidfile|idfile|statefile PATH`.
fn file(cx: &mut LowerContext, item: SyntaxNode<'_>, what: &str) -> Option<std::path::PathBuf> {
    let value = item.into_inner().last()?;
    values::absolute_path(cx, &value, what)
}

fn onreboot(item: SyntaxNode<'_>) -> Option<OnReboot> {
    item.into_inner().last().map(|p| match p.as_rule() {
        Rule::kw_nostart => OnReboot::NoStart,
        Rule::kw_laststate => OnReboot::Laststate,
        _ => OnReboot::Start,
    })
}
