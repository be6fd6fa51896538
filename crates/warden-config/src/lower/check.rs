//! Lowering of `check ...` blocks into [`Check`]s: the check line and the
//! service statements (programs, dependencies, groups, schedule, mode,
//! alerts, backoff). Rules and their tests live in the submodules.

mod net;
mod rule;
mod test;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use super::Cx;
use super::common::{P, duration, integer_in, seconds, span, text};
use crate::grammar::Rule;
use crate::model::{
    Backoff, Check, CheckKind, Mode, NetworkTarget, OnReboot, ProcessTarget, Program, Schedule,
    UserRef,
};
use crate::span::{Span, Spanned};

pub fn lower_check(statement: P<'_>, cx: &mut Cx) -> Option<Check> {
    let whole = span(&statement);
    let mut items = statement
        .into_inner()
        .filter(|p| p.as_rule() != Rule::kw_check);
    let head = items.next()?;
    let (name, kind) = head_of(head, cx)?;
    let mut check = Check {
        name,
        kind: kind?,
        start: None,
        stop: None,
        restart: None,
        depends_on: Vec::new(),
        groups: Vec::new(),
        schedule: Schedule::default(),
        mode: Mode::default(),
        onreboot: None,
        alerts: Vec::new(),
        noalerts: Vec::new(),
        rules: Vec::new(),
        backoff: None,
        ignore_content: Vec::new(),
        span: whole,
    };
    for item in items {
        item_into(&mut check, item, cx);
    }
    shrink(&mut check);
    Some(check)
}

/// The daemon keeps its checks for good: no spare capacity from growing
/// vectors (a one-rule check held room for four rules, 1.6 KB).
fn shrink(check: &mut Check) {
    check.rules.shrink_to_fit();
    check.depends_on.shrink_to_fit();
    check.groups.shrink_to_fit();
    check.alerts.shrink_to_fit();
    check.noalerts.shrink_to_fit();
    check.ignore_content.shrink_to_fit();
}

/// The check line: its name and what it watches (None after an error).
fn head_of(head: P<'_>, cx: &mut Cx) -> Option<(Spanned<String>, Option<CheckKind>)> {
    let rule = head.as_rule();
    let mut inner = head.into_inner();
    let name_pair = inner
        .next()?
        .into_inner()
        .find(|p| p.as_rule() == Rule::service_name)?;
    let name = service_name(&name_pair, cx);
    let target = inner.find(|p| !is_keyword(p));
    let path = |cx: &mut Cx| {
        target
            .as_ref()
            .map(|t| path_value(t, cx))
            .unwrap_or_default()
    };
    let kind = match rule {
        Rule::check_process => process_target(target.as_ref()?, cx),
        Rule::check_file => Some(CheckKind::File { path: path(cx)? }),
        Rule::check_directory => Some(CheckKind::Directory { path: path(cx)? }),
        Rule::check_fifo => Some(CheckKind::Fifo { path: path(cx)? }),
        Rule::check_filesystem => Some(CheckKind::Filesystem { path: path(cx)? }),
        Rule::check_host => {
            let t = target.as_ref()?;
            address(cx, t).map(|address| CheckKind::Host { address })
        }
        Rule::check_system => Some(CheckKind::System),
        Rule::check_network => network_target(target.as_ref()?, cx),
        Rule::check_program => program(cx, target?).map(|program| CheckKind::Program {
            program: Box::new(program),
        }),
        _ => None,
    };
    Some((name, kind))
}

fn is_keyword(p: &P<'_>) -> bool {
    // Rule names are only known as text: look them up once, not per pair.
    static KEYWORDS: std::sync::OnceLock<Vec<bool>> = std::sync::OnceLock::new();
    let keywords = KEYWORDS.get_or_init(|| {
        let mut table = vec![false; Rule::all_rules().len() + 1];
        for &rule in Rule::all_rules() {
            if let Some(slot) = table.get_mut(rule as usize) {
                *slot = format!("{rule:?}").starts_with("kw_");
            }
        }
        table
    });
    keywords.get(p.as_rule() as usize).copied().unwrap_or(false)
}

/// A service name; Monit replaces `$HOST` with the host name.
fn service_name(pair: &P<'_>, cx: &mut Cx) -> Spanned<String> {
    let mut name = text(pair);
    if name.contains("$HOST") {
        let host = hostname();
        name = name.replace("$HOST", &host);
    }
    placeholder_check(cx, span(pair), &name);
    Spanned::new(name, span(pair))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Template markup left in a value (`%VAR%`, `${VAR}`, `{{VAR}}`,
/// `%(VAR)s`) means the file was never rendered: Monit rejects it too.
pub(crate) fn placeholder_check(cx: &mut Cx, at: Span, value: &str) -> bool {
    let bytes = value.as_bytes();
    let percent_pair = bytes.iter().filter(|&&b| b == b'%').count() >= 2;
    let found =
        value.contains("${") || value.contains("{{") || value.contains("%(") || percent_pair;
    if found {
        cx.push(
            crate::Diagnostic::error(
                at,
                format!("'{value}' holds an unexpanded template placeholder"),
            )
            .with_hint("render the template (replace the placeholder with its value) first"),
        );
    }
    found
}

fn path_value(pair: &P<'_>, cx: &mut Cx) -> Option<PathBuf> {
    let value = text(pair);
    if placeholder_check(cx, span(pair), &value) {
        return None;
    }
    if value.is_empty() {
        cx.error(span(pair), "the path is empty");
        return None;
    }
    Some(PathBuf::from(value))
}

fn process_target(target: &P<'_>, cx: &mut Cx) -> Option<CheckKind> {
    let value = target.clone().into_inner().find(|p| !is_keyword(p))?;
    let target = match target.as_rule() {
        Rule::by_pidfile => ProcessTarget::Pidfile(path_value(&value, cx)?),
        Rule::by_matching => ProcessTarget::Matching(text(&value)),
        Rule::by_pid => {
            ProcessTarget::Pid(integer_in(cx, &value, "a pid", 1, u64::from(u32::MAX))? as u32)
        }
        Rule::by_systemd_unit => ProcessTarget::SystemdUnit(text(&value)),
        _ => return None,
    };
    Some(CheckKind::Process { target })
}

fn network_target(target: &P<'_>, cx: &mut Cx) -> Option<CheckKind> {
    let value = target.clone().into_inner().find(|p| !is_keyword(p))?;
    let target = match target.as_rule() {
        Rule::by_address => NetworkTarget::Address(address(cx, &value)?),
        _ => NetworkTarget::Interface(text(&value)),
    };
    Some(CheckKind::Network { target })
}

/// A host name or an IP address, checked for shape.
pub(crate) fn address(cx: &mut Cx, pair: &P<'_>) -> Option<String> {
    let value = text(pair);
    if placeholder_check(cx, span(pair), &value) {
        return None;
    }
    let ip_like = value.contains(':') || value.chars().all(|c| c.is_ascii_digit() || c == '.');
    let ok = if ip_like {
        value.parse::<std::net::IpAddr>().is_ok()
    } else {
        !value.is_empty()
            && value.len() <= 253
            && value.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
    };
    if !ok {
        cx.push(
            crate::Diagnostic::error(
                span(pair),
                format!("'{value}' is not a valid host name or IP address"),
            )
            .with_hint("write a host name (example.org) or an address (192.0.2.1, 2001:db8::1)"),
        );
        return None;
    }
    Some(value)
}

fn item_into(check: &mut Check, item: P<'_>, cx: &mut Cx) {
    match item.as_rule() {
        Rule::start_program => check.start = program_of(cx, item).map(Box::new),
        Rule::stop_program => check.stop = program_of(cx, item).map(Box::new),
        Rule::restart_program => check.restart = program_of(cx, item).map(Box::new),
        Rule::depends => check.depends_on.extend(
            item.into_inner()
                .filter(|p| p.as_rule() == Rule::depend_name)
                .filter_map(|p| p.into_inner().next())
                .map(|p| Spanned::new(text(&p), span(&p))),
        ),
        Rule::group => {
            if let Some(g) = item.into_inner().find(|p| !is_keyword(p)) {
                check.groups.push(text(&g));
            }
        }
        Rule::schedule | Rule::not_every => {
            if let Some(s) = schedule(cx, item) {
                check.schedule = s;
            }
        }
        Rule::mode => check.mode = mode(&item),
        Rule::onreboot => check.onreboot = onreboot(&item),
        Rule::check_alert => {
            if let Some(body) = item.into_inner().find(|p| p.as_rule() == Rule::alert_body)
                && let Some(r) = super::settings::lower_alert_body(body, cx)
            {
                check.alerts.push(r);
            }
        }
        Rule::check_noalert => {
            if let Some(a) = item.into_inner().find(|p| !is_keyword(p)) {
                check.noalerts.push(text(&a));
            }
        }
        Rule::ignore_content => {
            if let Some(ignore) = ignore_content(cx, item) {
                check.ignore_content.push(ignore);
            }
        }
        Rule::restart_backoff => check.backoff = backoff(cx, item).map(Box::new),
        Rule::if_rule => {
            if let Some(r) = rule::lower_rule(item, cx) {
                check.rules.push(r);
            }
        }
        _ => {}
    }
}

/// `ignore content|match [=|!=] "regex"`.
fn ignore_content(cx: &mut Cx, item: P<'_>) -> Option<crate::model::IgnoreContent> {
    let mut matches = true;
    let mut pattern = None;
    for p in item.into_inner().filter(|p| !is_keyword(p)) {
        match p.as_rule() {
            Rule::operator => {
                matches = super::common::operator(&p) != crate::model::Operator::NotEqual
            }
            _ => pattern = Some(p),
        }
    }
    let pattern = pattern?;
    let text_value = text(&pattern);
    if regex::Regex::new(&text_value).is_err() {
        crate::validate::regex_ok(cx, span(&pattern), &text_value);
        return None;
    }
    Some(crate::model::IgnoreContent {
        matches,
        pattern: text_value,
    })
}

fn program_of(cx: &mut Cx, item: P<'_>) -> Option<Program> {
    let spec = item
        .into_inner()
        .find(|p| p.as_rule() == Rule::program_spec)?;
    program(cx, spec)
}

/// A `program_spec`: the command line, `as uid/gid`, `with timeout`.
pub(crate) fn program(cx: &mut Cx, spec: P<'_>) -> Option<Program> {
    let at = span(&spec);
    let mut parts = spec.into_inner();
    let args = parts.next()?;
    let args_span = span(&args);
    let words: Vec<String> = args.into_inner().map(|a| text(&a)).collect();
    let command = words.join(" ");
    let argv = match shell_words::split(&command) {
        Ok(argv) if !argv.is_empty() => argv,
        Ok(_) => {
            cx.error(args_span, "the program is empty");
            return None;
        }
        Err(e) => {
            cx.error(args_span, format!("cannot split the command line: {e}"));
            return None;
        }
    };
    placeholder_check(cx, args_span, &command);
    let mut program = Program {
        command,
        argv,
        uid: None,
        gid: None,
        timeout: None,
        span: at,
    };
    for option in parts {
        let rule = option.as_rule();
        let Some(value) = option.into_inner().find(|p| !is_keyword(p)) else {
            continue;
        };
        match rule {
            Rule::run_uid => program.uid = Some(user_ref(&value)),
            Rule::run_gid => program.gid = Some(user_ref(&value)),
            Rule::run_timeout => program.timeout = timeout(cx, &value),
            _ => {}
        }
    }
    Some(program)
}

fn user_ref(pair: &P<'_>) -> UserRef {
    let value = text(pair);
    value
        .parse::<u32>()
        .map_or(UserRef::Name(value), UserRef::Id)
}

/// A `duration` or a bare whole number of seconds.
pub(crate) fn timeout(cx: &mut Cx, pair: &P<'_>) -> Option<Duration> {
    let d = match pair.as_rule() {
        Rule::duration => duration(cx, pair),
        _ => seconds(cx, pair),
    }?;
    if d.is_zero() {
        cx.error(span(pair), "a timeout must be longer than zero");
        return None;
    }
    Some(d)
}

fn schedule(cx: &mut Cx, item: P<'_>) -> Option<Schedule> {
    let negated = item.as_rule() == Rule::not_every;
    let value = item.into_inner().find(|p| !is_keyword(p))?;
    match value.as_rule() {
        Rule::cycles => super::common::cycles(cx, &value).map(Schedule::Cycles),
        Rule::duration => {
            let d = timeout(cx, &value)?;
            Some(Schedule::Interval(d))
        }
        _ => {
            let spec = text(&value);
            if let Err(e) = crate::cron::CronSpec::parse(&spec) {
                cx.push(
                    crate::Diagnostic::error(span(&value), e.to_string())
                        .with_hint("for example \"* 8-19 * * 1-5\""),
                );
                return None;
            }
            Some(if negated {
                Schedule::NotCron(spec)
            } else {
                Schedule::Cron(spec)
            })
        }
    }
}

fn mode(item: &P<'_>) -> Mode {
    match item.clone().into_inner().last().map(|p| p.as_rule()) {
        Some(Rule::kw_passive) => Mode::Passive,
        Some(Rule::kw_manual) => Mode::Manual,
        _ => Mode::Active,
    }
}

fn onreboot(item: &P<'_>) -> Option<OnReboot> {
    match item.clone().into_inner().last()?.as_rule() {
        Rule::kw_start => Some(OnReboot::Start),
        Rule::kw_nostart => Some(OnReboot::NoStart),
        _ => Some(OnReboot::Laststate),
    }
}

fn backoff(cx: &mut Cx, item: P<'_>) -> Option<Backoff> {
    let kind = item.into_inner().find(|p| !is_keyword(p))?;
    let at = span(&kind);
    let fixed = kind.as_rule() == Rule::backoff_fixed;
    let mut delays = Vec::new();
    let mut jitter = false;
    let mut reset_after = None;
    for part in kind.into_inner() {
        match part.as_rule() {
            Rule::duration => delays.push(duration(cx, &part)?),
            Rule::backoff_jitter => jitter = true,
            Rule::backoff_reset => {
                let d = part.into_inner().find(|p| p.as_rule() == Rule::duration)?;
                reset_after = Some(duration(cx, &d)?);
            }
            _ => {}
        }
    }
    if fixed {
        return Some(Backoff::Fixed {
            delay: *delays.first()?,
        });
    }
    let (initial, max) = (*delays.first()?, *delays.get(1)?);
    if initial.is_zero() || initial > max {
        cx.error(
            at,
            "the first delay must be above zero and not above the cap",
        );
        return None;
    }
    Some(Backoff::Exponential {
        initial,
        max,
        jitter,
        reset_after: reset_after.unwrap_or(max * 10),
    })
}
