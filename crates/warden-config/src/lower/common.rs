//! Lowering helpers for the shared values of `warden.pest`: strings,
//! numbers, durations, quantities, operators, regexes, hashes. Each reports
//! a bad value as a diagnostic at its span and returns None.

use std::time::Duration;

use pest::iterators::Pair;

use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::model::{HashAlgorithm, Operator, Quantity, Unit};
use crate::span::Span;

pub type SyntaxNode<'i> = Pair<'i, Rule>;

thread_local! {
    /// Where the text being lowered starts in the expanded text: a run of
    /// statements parsed on its own has pest offsets from its own start.
    static BASE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `lower` with every span shifted by `base`.
pub(crate) fn at_offset<T>(base: usize, lower: impl FnOnce() -> T) -> T {
    let before = BASE.replace(base);
    let out = lower();
    BASE.set(before);
    out
}

pub fn span(pair: &SyntaxNode<'_>) -> Span {
    let s = pair.as_span();
    let base = BASE.get();
    Span::new(base + s.start(), base + s.end())
}

/// The value of a `string` (quotes removed, `\"` unescaped), `path`, `bare`
/// or `service_name` pair.
pub fn text(pair: &SyntaxNode<'_>) -> String {
    let raw = pair.as_str();
    match pair.as_rule() {
        Rule::string | Rule::dq_string | Rule::sq_string | Rule::service_name => unquote(raw),
        _ => raw.to_string(),
    }
}

pub fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let quoted = bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0];
    if !quoted {
        return raw.to_string();
    }
    let quote = raw.chars().next().unwrap_or('"');
    let inner = &raw[1..raw.len() - 1];
    // Nothing escaped (most strings): one copy, not a push a character.
    if !inner.contains('\\') {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) if n == quote || n == '\\' => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A whole number in `lo..=hi`, or an error naming the range.
pub fn integer_in(
    cx: &mut LowerContext,
    pair: &SyntaxNode<'_>,
    what: &str,
    lo: u64,
    hi: u64,
) -> Option<u64> {
    match pair.as_str().trim().parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Some(n),
        _ => {
            cx.error(
                span(pair),
                format!(
                    "{what} must be a whole number from {lo} to {hi}, not '{}'",
                    pair.as_str()
                ),
            );
            None
        }
    }
}

pub fn port(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<u16> {
    integer_in(cx, pair, "a port", 1, 65535).map(|p| p as u16)
}

/// A port Monit takes whatever its number: 0 and numbers above 65535 are
/// no port anyone listens on, so they are a warning (`never` says what then
/// happens) and read as 0, which no connection reaches.
pub fn port_or_zero(cx: &mut LowerContext, pair: &SyntaxNode<'_>, never: &str) -> Option<u16> {
    let Ok(n) = pair.as_str().trim().parse::<u64>() else {
        return port(cx, pair);
    };
    match u16::try_from(n) {
        Ok(p) if p > 0 => Some(p),
        _ => {
            cx.push(
                crate::Diagnostic::warning(span(pair), format!("port {n} is not a port: {never}"))
                    .with_hint("a port is a whole number from 1 to 65535"),
            );
            Some(0)
        }
    }
}

pub fn number(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<f64> {
    match pair.as_str().trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Some(n),
        _ => {
            cx.error(span(pair), format!("'{}' is not a number", pair.as_str()));
            None
        }
    }
}

/// Seconds per unit of a `time_unit`.
fn unit_seconds(unit: &str) -> f64 {
    match unit.to_ascii_lowercase().as_str() {
        "ms" | "msec" | "millisecond" | "milliseconds" => 0.001,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        // Monit's month is 30 days.
        "month" | "months" => 30.0 * 86400.0,
        _ => 1.0,
    }
}

/// A `duration` pair: `5 seconds`, `500 ms`.
pub fn duration(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<Duration> {
    let mut inner = pair.clone().into_inner();
    let n = number(cx, &inner.next()?)?;
    let unit = inner.next().map_or(1.0, |u| unit_seconds(u.as_str()));
    seconds_to_duration(cx, span(pair), n * unit)
}

/// A bare count of seconds (`with timeout 30` without a unit).
pub fn seconds(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<Duration> {
    let n = number(cx, pair)?;
    seconds_to_duration(cx, span(pair), n)
}

fn seconds_to_duration(cx: &mut LowerContext, at: Span, secs: f64) -> Option<Duration> {
    if !(0.0..=1e9).contains(&secs) {
        cx.error(at, "a duration must be between 0 and a billion seconds");
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

/// Bytes per unit of a `size_unit`.
fn unit_bytes(unit: &str) -> f64 {
    match unit.to_ascii_lowercase().as_str() {
        "k" | "kb" | "kilobyte" | "kilobytes" => 1024.0,
        "m" | "mb" | "megabyte" | "megabytes" => 1024.0 * 1024.0,
        "g" | "gb" | "gigabyte" | "gigabytes" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "terabyte" | "terabytes" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    }
}

/// A `quantity` pair: `80%`, `200 MB` (bytes), `4`. A percentage above
/// 100 is a warning: Monit takes it, and a usage never reaches it.
pub fn quantity(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<Quantity> {
    let mut inner = pair.clone().into_inner();
    let value = number(cx, &inner.next()?)?;
    match inner.next() {
        Some(u) if u.as_rule() == Rule::percent => {
            if value < 0.0 {
                cx.error(
                    span(pair),
                    format!("a percentage must be from 0 to 100, not {value}"),
                );
                return None;
            }
            if value > 100.0 {
                cx.push(
                    crate::Diagnostic::warning(
                        span(pair),
                        format!("{value}% is above 100%: no usage ever reaches it"),
                    )
                    .with_hint("a rule comparing with it is always true or never true"),
                );
            }
            Some(Quantity {
                value,
                unit: Unit::Percent,
            })
        }
        Some(u) => Some(Quantity {
            value: value * unit_bytes(u.as_str()),
            unit: Unit::Bytes,
        }),
        None => Some(Quantity {
            value,
            unit: Unit::Count,
        }),
    }
}

/// `pattern` compiled by `compile` (a [`Regex`](crate::model::Regex), a
/// `matching` [`Pattern`](crate::model::Pattern), ...); an error at `span`
/// when it is no regex.
pub(crate) fn compiled<T>(
    cx: &mut LowerContext,
    span: Span,
    pattern: &str,
    compile: impl FnOnce(&str) -> Result<T, regex::Error>,
) -> Option<T> {
    let e = match compile(pattern) {
        Ok(compiled) => return Some(compiled),
        Err(e) => e.to_string(),
    };
    let last = e.lines().last().unwrap_or("invalid").trim();
    cx.error(
        span,
        format!("invalid regular expression '{pattern}': {last}"),
    );
    None
}

/// The algorithm a `hash_algorithm` pair names.
pub fn hash_algorithm(pair: &SyntaxNode<'_>) -> Option<HashAlgorithm> {
    match pair.clone().into_inner().next().map(|k| k.as_rule()) {
        Some(Rule::kw_sha1) => Some(HashAlgorithm::Sha1),
        Some(Rule::kw_sha256) => Some(HashAlgorithm::Sha256),
        Some(Rule::kw_md5) => Some(HashAlgorithm::Md5),
        _ => None,
    }
}

/// A hex digest (`8f7f...`, colons allowed) as lower-case hex; its length
/// names the algorithm (32 MD5, 40 SHA1, 64 SHA256) and must agree with
/// `named` when the algorithm is written.
pub fn hex_digest(
    cx: &mut LowerContext,
    pair: &SyntaxNode<'_>,
    named: Option<HashAlgorithm>,
) -> Option<(HashAlgorithm, String)> {
    let hash: String = text(pair)
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    let by_length = match hash.len() {
        32 => Some(HashAlgorithm::Md5),
        40 => Some(HashAlgorithm::Sha1),
        64 => Some(HashAlgorithm::Sha256),
        _ => None,
    };
    let hex = hash.chars().all(|c| c.is_ascii_hexdigit());
    match (by_length, named) {
        (Some(kind), None) if hex => Some((kind, hash)),
        (Some(kind), Some(n)) if hex && kind == n => Some((kind, hash)),
        _ => {
            let what = match named {
                Some(HashAlgorithm::Md5) => "an MD5",
                Some(HashAlgorithm::Sha1) => "a SHA1",
                Some(HashAlgorithm::Sha256) => "a SHA256",
                None => "an MD5, SHA1 or SHA256",
            };
            cx.push(
                crate::Diagnostic::error(
                    span(pair),
                    format!("'{}' is not {what} checksum", text(pair)),
                )
                .with_hint("write the hash in hex: 32 digits for MD5, 40 for SHA1, 64 for SHA256"),
            );
            None
        }
    }
}

/// An `operator` pair.
pub fn operator(pair: &SyntaxNode<'_>) -> Operator {
    // The symbols (most operators written) without the three allocations
    // below (about 900 instructions an operator, on the parse threads).
    match pair.as_str() {
        ">" => return Operator::Greater,
        ">=" => return Operator::GreaterOrEqual,
        "<" => return Operator::Less,
        "<=" => return Operator::LessOrEqual,
        "!=" | "<>" => return Operator::NotEqual,
        "=" | "==" => return Operator::Equal,
        _ => {}
    }
    let op = pair.as_str().to_ascii_lowercase();
    match op.split_whitespace().collect::<Vec<_>>().join(" ").as_str() {
        ">" | "gt" | "greater" => Operator::Greater,
        ">=" => Operator::GreaterOrEqual,
        "<" | "lt" | "less" => Operator::Less,
        "<=" => Operator::LessOrEqual,
        "!=" | "<>" | "ne" | "notequal" | "not equal" | "changed" => Operator::NotEqual,
        _ => Operator::Equal,
    }
}

/// A `cycles` pair (`3 cycles`): the count, at least 1.
pub fn cycles(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<u32> {
    let n = pair.clone().into_inner().next()?;
    integer_in(cx, &n, "a number of cycles", 1, 1_000_000).map(|n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_removes_quotes_and_unescapes_only_its_own_quote() {
        assert_eq!(unquote(r#""a \"b\" \d""#), r#"a "b" \d"#);
        assert_eq!(unquote("'it''"), "it'");
        assert_eq!(unquote("bare"), "bare");
    }

    #[test]
    fn unquote_copies_a_string_with_nothing_escaped() {
        assert_eq!(unquote(r#""/usr/bin/svc --id 0""#), "/usr/bin/svc --id 0");
        assert_eq!(unquote("'q1 é'"), "q1 é");
        assert_eq!(unquote(r#""""#), "");
        assert_eq!(unquote(r#""a'b""#), "a'b");
    }
}
