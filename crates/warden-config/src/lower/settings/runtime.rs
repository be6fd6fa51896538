//! Lowering of the `set` statements that tune the daemon's machinery: the
//! event queue, `set limits { ... }` (and the old `set expectbuffer`), and
//! `set mmonit`.

use super::super::common::{SyntaxNode, duration, integer_in, quantity, span};
use super::mail::positive_timeout;
use super::values::{absolute_path, trimmed_span};
use crate::diag::{Diagnostic, did_you_mean};
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::model::{EventQueue, MmonitServer, Settings};

pub fn set_eventqueue(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    let mut queue = EventQueue {
        basedir: None,
        slots: None,
    };
    for p in item.into_inner() {
        let Some(value) = p.clone().into_inner().last() else {
            continue;
        };
        match p.as_rule() {
            Rule::eventqueue_basedir => {
                queue.basedir = absolute_path(cx, &value, "the event queue directory")
            }
            Rule::eventqueue_slots => {
                queue.slots = integer_in(cx, &value, "the number of slots", 0, u64::from(u32::MAX))
                    .map(|n| n as u32);
                if queue.slots == Some(0) {
                    // Monit takes it too, and drops every event ("queue over quota").
                    cx.push(
                        Diagnostic::warning(
                            span(&value),
                            "a queue of 0 slots holds no alert: every alert is dropped",
                        )
                        .with_hint(
                            "write the number of alerts the queue may hold, e.g. 'slots 1000'",
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    settings.eventqueue = Some(queue);
}

/// A limit's name and whether it is a size (bytes) or a time (milliseconds).
const LIMITS: &[(&str, bool)] = &[
    ("programOutput", true),
    ("sendExpectBuffer", true),
    ("fileContentBuffer", true),
    ("httpContentBuffer", true),
    ("networkTimeout", false),
    ("programTimeout", false),
    ("stopTimeout", false),
    ("startTimeout", false),
    ("restartTimeout", false),
    ("execTimeout", false),
];

/// Monit keeps buffer sizes in an int.
const MAX_BUFFER: f64 = i32::MAX as f64;

pub fn set_limits(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    for limit in item.into_inner().filter(|p| p.as_rule() == Rule::limit) {
        let mut inner = limit.into_inner();
        let (Some(name), Some(value)) = (inner.next(), inner.next()) else {
            continue;
        };
        let word = name.as_str().to_ascii_lowercase();
        let Some((canonical, is_size)) =
            LIMITS.iter().find(|(n, _)| n.to_ascii_lowercase() == word)
        else {
            let names: Vec<&str> = LIMITS.iter().map(|(n, _)| *n).collect();
            let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
            let lower_refs: Vec<&str> = lower.iter().map(String::as_str).collect();
            let diag = Diagnostic::error(span(&name), format!("unknown limit '{}'", name.as_str()));
            let hint = match did_you_mean(&word, &lower_refs)
                .and_then(|s| names.iter().find(|n| n.eq_ignore_ascii_case(s)))
            {
                Some(s) => format!("did you mean '{s}'?"),
                None => format!("the limits are: {}", names.join(", ")),
            };
            cx.push(diag.with_hint(hint));
            continue;
        };
        let amount = if *is_size {
            size_limit(cx, canonical, &value)
        } else {
            time_limit(cx, canonical, &value)
        };
        if let Some(amount) = amount {
            settings.limits.retain(|(n, _)| n != canonical);
            settings.limits.push(((*canonical).to_string(), amount));
        }
    }
}

/// A buffer size in bytes: at most 2 GiB (0 keeps nothing, as in Monit).
fn size_limit(cx: &mut LowerContext, name: &str, value: &SyntaxNode<'_>) -> Option<u64> {
    let percent = value
        .clone()
        .into_inner()
        .any(|p| p.as_rule() == Rule::percent);
    let q = match value.as_rule() {
        Rule::quantity if percent => {
            cx.push(
                Diagnostic::error(
                    span(value),
                    format!("{name} takes a size, not a percentage"),
                )
                .with_hint("write a size such as '512 B', '64 kB' or '1 MB'"),
            );
            return None;
        }
        Rule::quantity => quantity(cx, value)?,
        _ => {
            cx.push(
                Diagnostic::error(span(value), format!("{name} takes a size, not a duration"))
                    .with_hint("write a size such as '512 B', '64 kB' or '1 MB'"),
            );
            return None;
        }
    };
    if q.value < 0.0 || q.value > MAX_BUFFER {
        cx.push(
            Diagnostic::error(
                span(value),
                format!("{name} must be a size from 0 B to 2 GB"),
            )
            .with_hint("write a size such as '512 B', '64 kB' or '1 MB'"),
        );
        return None;
    }
    Some(q.value as u64)
}

/// A timeout in milliseconds: more than zero, with a unit.
fn time_limit(cx: &mut LowerContext, name: &str, value: &SyntaxNode<'_>) -> Option<u64> {
    let hint = "write a duration such as '5 s' or '500 ms'";
    if value.as_rule() != Rule::duration {
        cx.push(
            Diagnostic::error(trimmed_span(value), format!("{name} takes a duration"))
                .with_hint(hint),
        );
        return None;
    }
    let d = duration(cx, value)?;
    if d.is_zero() {
        cx.push(
            Diagnostic::error(span(value), format!("{name} must be more than zero"))
                .with_hint(hint),
        );
        return None;
    }
    Some(d.as_millis() as u64)
}

/// `set expectbuffer N unit`: Monit's older spelling of
/// `set limits { sendExpectBuffer: ... }`.
pub fn set_expectbuffer(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    let whole = span(&item);
    let Some(value) = item.into_inner().last() else {
        return;
    };
    if let Some(bytes) = size_limit(cx, "expectbuffer", &value) {
        settings.limits.retain(|(n, _)| n != "sendExpectBuffer");
        settings
            .limits
            .push(("sendExpectBuffer".to_string(), bytes));
        cx.push(
            Diagnostic::warning(whole, "'set expectbuffer' is deprecated")
                .with_hint("use 'set limits { sendExpectBuffer: ... }'"),
        );
    }
}

/// `set mmonit URL [timeout N s] [ssl ...] [register without credentials]`.
pub fn set_mmonit(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    for p in item.into_inner() {
        match p.as_rule() {
            Rule::mmonit_server => mmonit_server(cx, p, settings),
            Rule::mmonit_no_credentials => settings.mmonit_credentials = false,
            _ => {}
        }
    }
}

fn mmonit_server(cx: &mut LowerContext, pair: SyntaxNode<'_>, settings: &mut Settings) {
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::mmonit_url => {
                let url = p.as_str();
                let lower = url.to_ascii_lowercase();
                let host = lower
                    .split_once("://")
                    .map(|(_, rest)| rest.rsplit('@').next().unwrap_or(""));
                let ok = (lower.starts_with("http://") || lower.starts_with("https://"))
                    && host.is_some_and(|h| {
                        !h.is_empty() && !h.starts_with('/') && !h.starts_with(':')
                    });
                if ok {
                    settings.mmonit.push(MmonitServer {
                        url: url.to_string(),
                        timeout: None,
                    });
                } else {
                    cx.error(
                        span(&p),
                        format!("'{url}' is not an http:// or https:// URL with a host"),
                    );
                }
            }
            // The URL comes first in the grammar: the timeout is its own.
            Rule::mmonit_timeout => {
                let timeout = positive_timeout(cx, p);
                if let Some(server) = settings.mmonit.last_mut() {
                    server.timeout = timeout.or(server.timeout);
                }
            }
            // An https URL is verified against the system's roots; options
            // that would change that are said, not silently dropped.
            Rule::mailserver_ssl
                if p.clone()
                    .into_inner()
                    .any(|i| i.as_rule() == Rule::ssl_block) =>
            {
                cx.not_supported(span(&p), "an ssl option for M/Monit")
            }
            Rule::ssl_version | Rule::certificate_checksum => {
                cx.not_supported(span(&p), "an ssl option for M/Monit")
            }
            _ => {}
        }
    }
}
