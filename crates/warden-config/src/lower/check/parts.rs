//! Pieces every check lowering shares: filler keywords, host addresses,
//! unexpanded template placeholders, programs and timeouts. A leaf under
//! `check`, so the test, rule and network lowerings need not name `check`.

use std::time::Duration;

use crate::grammar_rule::Rule;
use crate::lower::common::{SyntaxNode, duration, seconds, span, text};
use crate::lower::context::LowerContext;
use crate::model::{Program, UserRef};
use crate::span::Span;

pub(crate) fn is_keyword(p: &SyntaxNode<'_>) -> bool {
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

/// A quoted value that is one template token and nothing else (`{{ x }}`,
/// `${X}`, `%X%`, `%(x)s`) was most likely never rendered: a warning, as
/// Monit takes any quoted text. Markup inside a longer value (`date +%F`,
/// `"/run/{{ name }}.pid"`) is left alone, and unquoted markup is a syntax
/// error, as in Monit. True when the value is such a token.
pub(crate) fn placeholder_check(cx: &mut LowerContext, at: Span, value: &str) -> bool {
    let found = is_template_token(value);
    if found {
        cx.push(
            crate::Diagnostic::warning(
                at,
                format!("'{value}' looks like an unexpanded template placeholder"),
            )
            .with_hint("render the template (replace the placeholder with its value) first"),
        );
    }
    found
}

/// Whether the whole of `value` is one template placeholder.
pub(crate) fn is_template_token(value: &str) -> bool {
    let v = value.trim();
    let between = |open: &str, close: &str| {
        v.strip_prefix(open)
            .and_then(|rest| rest.strip_suffix(close))
            .is_some_and(|inner| !inner.trim().is_empty() && !inner.contains(close))
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    between("{{", "}}")
        || between("{%", "%}")
        || v.strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .is_some_and(word)
        || v.strip_prefix('%')
            .and_then(|r| r.strip_suffix('%'))
            .is_some_and(word)
        || v.strip_prefix("%(")
            .and_then(|r| r.strip_suffix(")s").or_else(|| r.strip_suffix(")d")))
            .is_some_and(word)
}

/// A host name or an IP address, checked for shape.
pub(crate) fn address(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<String> {
    let value = text(pair);
    if placeholder_check(cx, span(pair), &value) {
        // Monit takes it as a name that never resolves; so does Warden.
        return Some(value);
    }
    let dotted = !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.');
    if dotted && value.parse::<std::net::Ipv4Addr>().is_err() {
        // Monit takes `999.1.1.1` as a host name that never resolves: the
        // tests on it always fail. A warning, not a refusal.
        cx.push(
            crate::Diagnostic::warning(
                span(pair),
                format!("'{value}' is not an IPv4 address: it is read as a host name, which will not resolve"),
            )
            .with_hint("each of the four numbers of an IPv4 address is 0-255"),
        );
        return Some(value);
    }
    let ok = if value.contains(':') || dotted {
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

/// A `program_spec`: the command line, `as uid/gid`, `with timeout`.
pub(crate) fn program(cx: &mut LowerContext, spec: SyntaxNode<'_>) -> Option<Program> {
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

fn user_ref(pair: &SyntaxNode<'_>) -> UserRef {
    let value = text(pair);
    value
        .parse::<u32>()
        .map_or(UserRef::Name(value), UserRef::Id)
}

/// A `duration` or a bare whole number of seconds.
pub(crate) fn timeout(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<Duration> {
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
