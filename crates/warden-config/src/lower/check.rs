//! Lowering of `check ...` blocks into [`Check`]s: the check line and the
//! service statements (programs, dependencies, groups, schedule, mode,
//! alerts, backoff). Rules and their tests live in the submodules.

mod net;
mod parts;
mod rule;
mod test;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use super::common::{SyntaxNode, compiled, duration, integer_in, span, text};
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::model::{
    Backoff, Check, CheckKind, Mode, NetworkTarget, OnReboot, Pattern, ProcessTarget, Program,
    Regex, Schedule,
};
use crate::span::{Span, Spanned};
use parts::{address, is_keyword, placeholder_check, program, timeout};

pub fn lower_check(statement: SyntaxNode<'_>, cx: &mut LowerContext) -> Option<Check> {
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
        alertmanagers: Vec::new(),
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
    check.alertmanagers.shrink_to_fit();
    check.ignore_content.shrink_to_fit();
}

/// The check line: its name and what it watches (None after an error).
fn head_of(
    head: SyntaxNode<'_>,
    cx: &mut LowerContext,
) -> Option<(Spanned<String>, Option<CheckKind>)> {
    let rule = head.as_rule();
    let mut inner = head.into_inner();
    let name_pair = inner
        .next()?
        .into_inner()
        .find(|p| p.as_rule() == Rule::service_name)?;
    let name = service_name(&name_pair, cx);
    let target = inner.find(|p| !is_keyword(p));
    let path = |cx: &mut LowerContext| {
        target
            .as_ref()
            .map(|t| path_value(t, cx))
            .unwrap_or_default()
    };
    let kind = match rule {
        Rule::check_process => process_target(target.as_ref()?, name.span, cx),
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

/// A service name; Monit replaces `$HOST` with the host name.
fn service_name(pair: &SyntaxNode<'_>, cx: &mut LowerContext) -> Spanned<String> {
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

fn path_value(pair: &SyntaxNode<'_>, cx: &mut LowerContext) -> Option<PathBuf> {
    let value = text(pair);
    placeholder_check(cx, span(pair), &value);
    if value.is_empty() {
        cx.error(span(pair), "the path is empty");
        return None;
    }
    Some(PathBuf::from(value))
}

/// What a process check finds its process by; a `matching` pattern that is
/// no regex is reported at the check's name.
fn process_target(target: &SyntaxNode<'_>, name: Span, cx: &mut LowerContext) -> Option<CheckKind> {
    let value = target.clone().into_inner().find(|p| !is_keyword(p))?;
    let target = match target.as_rule() {
        Rule::by_pidfile => ProcessTarget::Pidfile(path_value(&value, cx)?),
        Rule::by_matching => {
            let written = text(&value);
            // After the error the check stays, as plain text that never
            // runs (a config with errors is refused): its name still counts
            // for duplicates and `depends on`.
            let pattern = compiled(cx, name, &written, Pattern::new)
                .unwrap_or_else(|| Pattern::Literal(written.into()));
            ProcessTarget::Matching(pattern)
        }
        Rule::by_pid => {
            ProcessTarget::Pid(integer_in(cx, &value, "a pid", 1, u64::from(u32::MAX))? as u32)
        }
        Rule::by_systemd_unit => ProcessTarget::SystemdUnit(text(&value)),
        _ => return None,
    };
    Some(CheckKind::Process { target })
}

fn network_target(target: &SyntaxNode<'_>, cx: &mut LowerContext) -> Option<CheckKind> {
    let value = target.clone().into_inner().find(|p| !is_keyword(p))?;
    let target = match target.as_rule() {
        Rule::by_address => NetworkTarget::Address(address(cx, &value)?),
        _ => NetworkTarget::Interface(text(&value)),
    };
    Some(CheckKind::Network { target })
}

fn item_into(check: &mut Check, item: SyntaxNode<'_>, cx: &mut LowerContext) {
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
            if let Some(g) = item.into_inner().find(|p| !is_keyword(p))
                && let Some(name) = group_name(cx, &g)
            {
                check.groups.push(name);
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
                let value = text(&a);
                match super::settings::check_email(&value) {
                    Ok(address) => check.noalerts.push(address),
                    // Warden: an Alertmanager this check does not post to.
                    Err(_) if super::settings::alertmanager::url(&value).is_ok() => {
                        check
                            .noalerts
                            .extend(super::settings::alertmanager::url(&value).ok());
                    }
                    Err(message) => cx.error(span(&a), message.to_string()),
                }
            }
        }
        Rule::check_alertmanager => {
            if let Some(am) = super::settings::alertmanager::alertmanager(cx, item) {
                check.alertmanagers.push(am);
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

/// A group name: a word, quoted or not, without the characters Monit's
/// lexer ends a word at (blanks, quotes, `@ : { } ( ) , ; %`).
fn group_name(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<String> {
    let name = text(pair);
    let bad = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "@:{}\"'();,%".contains(*c));
    match bad {
        None if !name.is_empty() => Some(name),
        _ => {
            cx.push(
                crate::Diagnostic::error(span(pair), format!("'{name}' is not a group name"))
                    .with_hint("a group name is one word: letters, digits, '-', '_', '.', '/'"),
            );
            None
        }
    }
}

/// `ignore content|match [=|!=] "regex"`.
fn ignore_content(
    cx: &mut LowerContext,
    item: SyntaxNode<'_>,
) -> Option<crate::model::IgnoreContent> {
    // `ignore not match "x"` is Monit's old spelling of `!=`.
    let mut matches = !item
        .clone()
        .into_inner()
        .any(|p| p.as_rule() == Rule::kw_not);
    let mut pattern = None;
    for p in item.into_inner().filter(|p| !is_keyword(p)) {
        match p.as_rule() {
            Rule::operator => {
                if super::common::operator(&p) == crate::model::Operator::NotEqual {
                    matches = !matches;
                }
            }
            _ => pattern = Some(p),
        }
    }
    let pattern = pattern?;
    Some(crate::model::IgnoreContent {
        matches,
        pattern: compiled(cx, span(&pattern), &text(&pattern), Regex::new)?,
    })
}

fn program_of(cx: &mut LowerContext, item: SyntaxNode<'_>) -> Option<Program> {
    let spec = item
        .into_inner()
        .find(|p| p.as_rule() == Rule::program_spec)?;
    program(cx, spec)
}

fn schedule(cx: &mut LowerContext, item: SyntaxNode<'_>) -> Option<Schedule> {
    let negated = item.as_rule() == Rule::not_every;
    let value = item.into_inner().find(|p| !is_keyword(p))?;
    match value.as_rule() {
        // Monit takes `every 0 cycles` and checks every cycle.
        Rule::cycles if is_zero(&value) => {
            cx.push(
                crate::Diagnostic::warning(span(&value), "'every 0 cycles' checks every cycle")
                    .with_hint("write 'every 1 cycle', or leave 'every' out"),
            );
            Some(Schedule::Cycles(1))
        }
        Rule::cycles => super::common::cycles(cx, &value).map(Schedule::Cycles),
        Rule::duration => {
            let d = timeout(cx, &value)?;
            Some(Schedule::Interval(d))
        }
        _ => {
            let spec = match crate::cron::Cron::parse(&text(&value)) {
                Ok(spec) => Box::new(spec),
                Err(e) => {
                    cx.push(
                        crate::Diagnostic::error(span(&value), e.to_string())
                            .with_hint("for example \"* 8-19 * * 1-5\""),
                    );
                    return None;
                }
            };
            Some(if negated {
                Schedule::NotCron(spec)
            } else {
                Schedule::Cron(spec)
            })
        }
    }
}

/// Whether a `cycles` pair counts zero cycles.
fn is_zero(cycles: &SyntaxNode<'_>) -> bool {
    cycles
        .clone()
        .into_inner()
        .next()
        .is_some_and(|n| n.as_str().parse::<u64>() == Ok(0))
}

fn mode(item: &SyntaxNode<'_>) -> Mode {
    match item.clone().into_inner().last().map(|p| p.as_rule()) {
        Some(Rule::kw_passive) => Mode::Passive,
        Some(Rule::kw_manual) => Mode::Manual,
        _ => Mode::Active,
    }
}

fn onreboot(item: &SyntaxNode<'_>) -> Option<OnReboot> {
    match item.clone().into_inner().last()?.as_rule() {
        Rule::kw_start => Some(OnReboot::Start),
        Rule::kw_nostart => Some(OnReboot::NoStart),
        _ => Some(OnReboot::Laststate),
    }
}

fn backoff(cx: &mut LowerContext, item: SyntaxNode<'_>) -> Option<Backoff> {
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
