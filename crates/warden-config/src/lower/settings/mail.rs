//! Lowering of everything about alert mail: `set mailserver`, `set
//! mail-format`, `set alert` (and a check's own `alert`, through
//! [`lower_alert_body`]), event filters and Warden's `set alert webhook`.

use super::super::common::{SyntaxNode, duration, integer_in, port_or_zero, seconds, span, text};
use super::values::{check_email, check_mailbox, host, placeholder_address, trimmed_span};
use crate::diag::{Diagnostic, did_you_mean};
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::lower::ssl::{certificate_checksum, ssl_block, ssl_version};
use crate::model::{
    AlertRecipient, EventFilter, FilterEvent, MailFormat, MailSecurity, MailServer, Settings,
    SslOption, SslOptions, SslVersion, Webhook,
};

/// The event a word names, or an error with a did-you-mean.
fn event(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<FilterEvent> {
    let word = pair.as_str().to_ascii_lowercase();
    if let Some(found) = FilterEvent::from_word(&word) {
        return Some(found);
    }
    let names: Vec<&str> = FilterEvent::ALL.iter().map(|e| e.name()).collect();
    let diag = Diagnostic::error(span(pair), format!("unknown event '{}'", pair.as_str()));
    cx.push(match did_you_mean(&word, &names) {
        Some(s) => diag.with_hint(format!("did you mean '{s}'?")),
        None => diag.with_hint(format!("the events are: {}", names.join(", "))),
    });
    None
}

/// An `alert_events` pair: the events and whether they are excluded (`not`).
pub(super) fn events(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> EventFilter {
    let whole = span(&pair);
    let mut filter = EventFilter::default();
    let mut any = false;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_not => filter.exclude = true,
            Rule::event_name => {
                any = true;
                if let Some(name) = event(cx, &p) {
                    filter.events.push(name);
                }
            }
            _ => {}
        }
    }
    if !any {
        cx.push(
            Diagnostic::error(whole, "the event list is empty").with_hint(
                "name at least one event, e.g. '{ nonexist, timeout }', or drop the braces",
            ),
        );
    }
    filter
}

/// Lowers an `alert_body` (shared by `set alert` and a check's `alert`).
pub fn lower_alert_body(body: SyntaxNode<'_>, cx: &mut LowerContext) -> Option<AlertRecipient> {
    let whole = span(&body);
    let mut recipient = AlertRecipient {
        address: String::new(),
        filter: EventFilter::default(),
        reminder_cycles: None,
        mail_format: None,
        span: whole,
    };
    let mut ok = true;
    for p in body.into_inner() {
        match p.as_rule() {
            Rule::alert_address => {
                match check_email(&text(&first_inner(&p))) {
                    Ok(address) => {
                        if placeholder_address(&address) {
                            cx.push(
                            crate::Diagnostic::warning(
                                span(&p),
                                format!("'{address}' looks like a placeholder that was never filled in"),
                            )
                            .with_hint("no mail server takes this address: write the recipient's address"),
                        );
                        }
                        recipient.address = address;
                    }
                    Err(message) => {
                        cx.push(Diagnostic::error(span(&p), message.to_string()).with_hint(
                            "alerts go to an e-mail address such as ops@example.com \
                             (or, with Warden, to 'set alert webhook URL')",
                        ));
                        ok = false;
                    }
                }
            }
            // A second list would replace the first: Monit refuses it too.
            Rule::alert_events if !recipient.filter.events.is_empty() => {
                cx.push(
                    Diagnostic::error(span(&p), "a recipient takes one event list")
                        .with_hint("put every event in one list, e.g. '{ nonexist, timeout }'"),
                );
                ok = false;
            }
            Rule::alert_events => recipient.filter = events(cx, p),
            Rule::mail_format => recipient.mail_format = Some(mail_format(cx, p)),
            Rule::alert_reminder => {
                let n = p.into_inner().find(|i| i.as_rule() == Rule::integer);
                let n = n.and_then(|n| integer_in(cx, &n, "the reminder", 0, 1_000_000));
                recipient.reminder_cycles = n.filter(|n| *n > 0).map(|n| n as u32);
            }
            _ => {}
        }
    }
    ok.then_some(recipient)
}

/// The single inner value of a compound-atomic wrapper (`string` or `bare`).
fn first_inner<'i>(pair: &SyntaxNode<'i>) -> SyntaxNode<'i> {
    pair.clone()
        .into_inner()
        .next()
        .unwrap_or_else(|| pair.clone())
}

/// `set alert ...`: a mail recipient or a webhook.
pub fn set_alert(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    for p in item.into_inner() {
        match p.as_rule() {
            Rule::alert_body => settings.alerts.extend(lower_alert_body(p, cx)),
            Rule::alert_webhook => settings.webhooks.extend(webhook(cx, p)),
            _ => {}
        }
    }
}

fn webhook(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Webhook> {
    let whole = span(&pair);
    let mut hook = Webhook {
        url: String::new(),
        filter: EventFilter::default(),
        span: whole,
    };
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::string | Rule::path | Rule::bare => {
                let url = text(&p);
                let lower = url.to_ascii_lowercase();
                let has_host = lower
                    .split_once("://")
                    .is_some_and(|(_, rest)| !rest.is_empty());
                if !(lower.starts_with("http://") || lower.starts_with("https://")) || !has_host {
                    cx.error(
                        span(&p),
                        format!("'{url}' is not an http:// or https:// URL"),
                    );
                    return None;
                }
                hook.url = url;
            }
            Rule::alert_events => hook.filter = events(cx, p),
            _ => {}
        }
    }
    Some(hook)
}

/// A `mail_format` block; `from:` and `reply-to:` must hold an address.
pub fn mail_format(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> MailFormat {
    let mut format = MailFormat::default();
    for p in pair.into_inner() {
        let which = p.as_rule();
        let Some(value) = p.clone().into_inner().next() else {
            continue;
        };
        let mut words = value.as_str().trim().to_string();
        // An address line may end in a comment; a subject or message may not.
        if matches!(which, Rule::mail_from | Rule::mail_reply_to)
            && let Some(at) = words.find(" #").or_else(|| words.find("\t#"))
        {
            words.truncate(at);
            words = words.trim_end().to_string();
        }
        let key = match which {
            Rule::mail_from => "from:",
            Rule::mail_reply_to => "reply-to:",
            _ => "",
        };
        if !key.is_empty()
            && let Err(message) = check_mailbox(&words)
        {
            if words.is_empty() {
                cx.error(trimmed_span(&p), format!("'{key}' needs an e-mail address"));
            } else {
                cx.error(trimmed_span(&value), message.to_string());
            }
            continue;
        }
        match which {
            Rule::mail_from => format.from = Some(words),
            Rule::mail_reply_to => format.reply_to = Some(words),
            Rule::mail_subject => format.subject = Some(words),
            Rule::mail_message => format.message = Some(words),
            _ => {}
        }
    }
    format
}

/// `set mailserver host [port N] [username U] [password P] [using ssl|tls]
/// , ... [with timeout N seconds] [using hostname H]`.
pub fn set_mailserver(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    let mut servers = Vec::new();
    let mut timeout = None;
    let mut after_typo = false;
    for p in item.into_inner() {
        match p.as_rule() {
            // After a misspelt option, the next "host" is that option's value.
            Rule::mailserver if std::mem::take(&mut after_typo) => {}
            Rule::mailserver if !servers.is_empty() && misspelt_option(cx, &p) => after_typo = true,
            Rule::mailserver => servers.extend(mailserver(cx, p)),
            Rule::mailserver_timeout => timeout = positive_timeout(cx, p).or(timeout),
            Rule::mailserver_hostname => {
                if let Some(v) = p.into_inner().last() {
                    settings.mail_hostname = host(cx, &v);
                }
            }
            _ => {}
        }
    }
    // Like Monit, the timeout is one value for the whole list.
    for server in &mut servers {
        server.timeout = timeout;
    }
    settings.mailservers.extend(servers);
}

const MAILSERVER_WORDS: &[&str] = &[
    "port", "username", "password", "timeout", "hostname", "using", "with",
];

/// A mail server "host" that is a misspelt option (`prot 25`): reported as
/// such rather than as a bad host name.
fn misspelt_option(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> bool {
    let word = pair.as_str().split_whitespace().next().unwrap_or("");
    let Some(suggestion) = did_you_mean(word, MAILSERVER_WORDS).filter(|_| !word.contains('.'))
    else {
        return false;
    };
    let at = pair
        .clone()
        .into_inner()
        .next()
        .map_or_else(|| span(pair), |h| span(&h));
    cx.push(
        Diagnostic::error(at, format!("unexpected '{word}'"))
            .with_hint(format!("did you mean '{suggestion}'?")),
    );
    true
}

fn mailserver(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<MailServer> {
    let mut inner = pair.into_inner();
    let host_pair = first_inner(&inner.next()?);
    let mut server = MailServer {
        host: host(cx, &host_pair)?,
        port: None,
        username: None,
        password: None,
        security: MailSecurity::Plain,
        ssl: None,
        timeout: None,
        span: span(&host_pair),
    };
    for p in inner {
        let last = p.clone().into_inner().last();
        match (p.as_rule(), last) {
            (Rule::mailserver_port, Some(n)) => {
                server.port = port_or_zero(
                    cx,
                    &n,
                    "no mail goes through this server (the next one is tried)",
                )
            }
            (Rule::mailserver_username, Some(v)) => server.username = Some(text(&v)),
            (Rule::mailserver_password, Some(v)) => server.password = Some(text(&v)),
            (Rule::mailserver_ssl, _) => {
                let (security, options) = mail_ssl(cx, p);
                server.security = security;
                server.ssl = options;
            }
            (Rule::ssl_version, _) => server.security = version_security(cx, &p),
            (Rule::certificate_checksum, _) => {
                if let Some(checksum) = certificate_checksum(cx, &p) {
                    let ssl = server.ssl.get_or_insert_with(SslOptions::default);
                    ssl.enabled = true;
                    ssl.set(SslOption::Checksum(checksum));
                    if server.security == MailSecurity::Plain {
                        server.security = MailSecurity::Ssl;
                    }
                }
            }
            _ => {}
        }
    }
    Some(server)
}

/// `using ssl` is TLS from the first byte; `using tls` is STARTTLS.
fn mail_ssl(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> (MailSecurity, Option<SslOptions>) {
    let mut security = MailSecurity::Ssl;
    let mut options = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_tls => security = MailSecurity::StartTls,
            Rule::ssl_block => options = Some(ssl_block(cx, p)),
            _ => {}
        }
    }
    (security, options)
}

/// `using tlsv12` and friends: STARTTLS; `sslv2`/`sslv3`: TLS from the start.
fn version_security(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> MailSecurity {
    match ssl_version(cx, pair) {
        Some(v) if !v.excluded && matches!(v.version, SslVersion::Sslv2 | SslVersion::Sslv3) => {
            MailSecurity::Ssl
        }
        _ => MailSecurity::StartTls,
    }
}

/// `timeout 30 seconds` / `timeout 30`: more than zero.
pub fn positive_timeout(
    cx: &mut LowerContext,
    pair: SyntaxNode<'_>,
) -> Option<std::time::Duration> {
    let value = pair.into_inner().last()?;
    let d = match value.as_rule() {
        Rule::duration => duration(cx, &value)?,
        _ => seconds(cx, &value)?,
    };
    if d.is_zero() {
        cx.error(span(&value), "the timeout must be more than zero");
        return None;
    }
    Some(d)
}
