//! Lowering of `if TEST [trigger] then ACTION [else if succeeded ...]`:
//! the trigger (`for N cycles`, `X times within Y cycles`), the actions and
//! the recovery branch. The test itself is lowered by `test.rs`/`net.rs`.

use super::super::common::{SyntaxNode, cycles, span};
use super::parts::{is_keyword, program};
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::model::{Action, Recovery, Rule as CheckRule, Trigger};
use crate::span::Spanned;

pub fn lower_rule(pair: SyntaxNode<'_>, cx: &mut LowerContext) -> Option<CheckRule> {
    let whole = span(&pair);
    let mut test = None;
    let mut succeeded = false;
    let mut trigger = Trigger::default();
    let mut action = None;
    let mut recovery = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::kw_if | Rule::kw_then => {}
            Rule::trigger => trigger = lower_trigger(cx, part).unwrap_or_default(),
            Rule::action => action = lower_action(cx, part),
            Rule::recovery => recovery = lower_recovery(cx, part, succeeded),
            _ => {
                if let Some((t, inverted)) = super::test::lower_test(cx, part) {
                    test = Some(t);
                    succeeded = inverted;
                }
            }
        }
    }
    Some(CheckRule {
        test: test?,
        trigger,
        action: action?,
        recovery,
        succeeded,
        span: whole,
    })
}

/// `3 cycles` is 3 within 3; `3 times 5 cycles` is 3 within 5.
fn lower_trigger(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Trigger> {
    let inner = pair.into_inner().next()?;
    match inner.as_rule() {
        Rule::trigger_for => {
            let n = cycles(cx, &inner.into_inner().next()?)?;
            Some(Trigger {
                times: n,
                within: n,
            })
        }
        _ => {
            let mut parts = inner.into_inner().filter(|p| !is_keyword(p));
            let times_pair = parts.next()?;
            let times = super::super::common::integer_in(
                cx,
                &times_pair,
                "the number of times",
                1,
                1_000_000,
            )?;
            let within_pair = parts.next()?;
            let within = cycles(cx, &within_pair)?;
            if times as u32 > within {
                cx.push(
                    crate::Diagnostic::error(
                        span(&times_pair).to(span(&within_pair)),
                        format!("{times} times within {within} cycles can never happen"),
                    )
                    .with_hint("the number of times must not be more than the number of cycles"),
                );
                return None;
            }
            Some(Trigger {
                times: times as u32,
                within,
            })
        }
    }
}

pub(crate) fn lower_action(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Spanned<Action>> {
    let at = span(&pair);
    let inner = pair.into_inner().next()?;
    let action = match inner.as_rule() {
        Rule::act_alert => Action::Alert,
        Rule::act_restart => Action::Restart,
        Rule::act_start => Action::Start,
        Rule::act_stop => Action::Stop,
        Rule::act_monitor => Action::Monitor,
        // `timeout` is Monit's old word for unmonitor.
        Rule::act_unmonitor | Rule::act_timeout => Action::Unmonitor,
        Rule::act_exec => exec(cx, inner)?,
        _ => return None,
    };
    Some(Spanned::new(action, at))
}

fn exec(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Action> {
    let mut program_spec = None;
    let mut repeat_every = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::program_spec => program_spec = program(cx, part),
            Rule::exec_repeat => {
                repeat_every = match part.into_inner().find(|p| p.as_rule() == Rule::cycles) {
                    Some(c) => Some(cycles(cx, &c)?),
                    None => Some(1),
                }
            }
            _ => {}
        }
    }
    Some(Action::Exec {
        program: Box::new(program_spec?),
        repeat_every,
    })
}

/// `else [if succeeded|recovered|passed [trigger] then] ACTION`; after an
/// `if succeeded ...` test the recovery is `else if failed`.
fn lower_recovery(
    cx: &mut LowerContext,
    pair: SyntaxNode<'_>,
    succeeded: bool,
) -> Option<Recovery> {
    let mut trigger = Trigger::default();
    let mut action = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::kw_failed if !succeeded => {
                cx.push(
                    crate::Diagnostic::error(
                        span(&part),
                        "'else if failed' follows an 'if succeeded' test",
                    )
                    .with_hint("after a test that fails, write 'else if succeeded'"),
                );
                return None;
            }
            Rule::kw_succeeded | Rule::kw_recovered | Rule::kw_passed if succeeded => {
                cx.push(
                    crate::Diagnostic::error(
                        span(&part),
                        format!("'else if {}' follows a failing test", part.as_str()),
                    )
                    .with_hint("after an 'if succeeded' test, write 'else if failed'"),
                );
                return None;
            }
            Rule::trigger => trigger = lower_trigger(cx, part).unwrap_or_default(),
            Rule::action => action = lower_action(cx, part),
            _ => {}
        }
    }
    Some(Recovery {
        trigger,
        action: action?,
    })
}
