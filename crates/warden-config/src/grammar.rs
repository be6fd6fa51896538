//! Parsing with the pest grammar, and the translation of pest's errors into
//! diagnostics in the user's words (rule names never leak).

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pairs;

use crate::diag::{Diagnostic, did_you_mean};
use crate::grammar_rule::{ControlParser, Rule};
use crate::span::Span;

/// Parses the expanded control text into its syntax tree.
pub fn parse(text: &str) -> Result<Pairs<'_, Rule>, Diagnostic> {
    ControlParser::parse(Rule::file, text).map_err(|e| syntax_error(text, e))
}

/// Parses text only to know whether it parses: no diagnostic is built.
pub(crate) fn parse_quietly(text: &str) -> Option<Pairs<'_, Rule>> {
    ControlParser::parse(Rule::file, text).ok()
}

fn syntax_error(text: &str, err: pest::error::Error<Rule>) -> Diagnostic {
    let at = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = token_at(text, at);
    let span = Span::new(
        at,
        at + found.len().max(1).min(text.len().saturating_sub(at)),
    );
    let expected: Vec<Rule> = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let message = if found.is_empty() {
        "unexpected end of file".to_string()
    } else {
        format!("unexpected '{found}'")
    };
    let mut words: Vec<String> = expected.iter().filter_map(|r| describe(*r)).collect();
    words.sort_unstable();
    words.dedup();
    let mut diag = Diagnostic::error(span, message);
    // Every 'quoted' word of a description is a keyword the user could
    // have meant ("a resource ('cpu', 'memory', ...)" names several).
    let keywords: Vec<&str> = words
        .iter()
        .flat_map(|w| w.split('\'').skip(1).step_by(2))
        .collect();
    if let Some(suggestion) = did_you_mean(found, &keywords) {
        diag = diag.with_hint(format!("did you mean '{suggestion}'?"));
    } else if looks_like_template(text, at) {
        diag = diag.with_hint(
            "this looks like template markup that was never rendered: render the template first",
        );
    } else if !words.is_empty() {
        diag = diag.with_hint(format!("expected {}", one_of(&words)));
    }
    // A quote left open swallows the lines after it: say where it began.
    if let Some(open) = crate::quotes::multiline_string_before(text, at) {
        diag = diag.with_note(
            Span::new(open, open + 1),
            "this string starts here and is not closed on its line",
        );
    }
    diag
}

/// Whether the text at `at` is markup of a template engine (`{{ x }}`,
/// `{% x %}`, `${X}`, `%X%`, `%(x)s`), which Monit's lexer refuses outside
/// quotes too.
fn looks_like_template(text: &str, at: usize) -> bool {
    let rest = text.get(at..).unwrap_or("");
    let before = text.get(..at).unwrap_or("");
    rest.starts_with("{{")
        || rest.starts_with("{%")
        || (rest.starts_with('{') && before.ends_with('$'))
        || rest
            .strip_prefix('%')
            .and_then(|r| r.chars().next())
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '(')
}

/// The token at `at`: a quoted string, a word, or one character.
fn token_at(text: &str, at: usize) -> &str {
    let rest = text.get(at..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "";
    };
    if first == '"' || first == '\'' {
        let end = rest[1..].find(first).map_or(rest.len(), |e| e + 2);
        let end = rest[..end].find('\n').unwrap_or(end);
        return &rest[..end];
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || "{}\"',;()".contains(c))
        .unwrap_or(rest.len());
    if end == 0 {
        &rest[..first.len_utf8()]
    } else {
        &rest[..end]
    }
}

fn one_of(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What a grammar rule is called in the user's words; None hides it from
/// "expected ..." lists (punctuation, internal helpers). Keywords (`kw_x`)
/// are named by their spelling.
pub fn describe(rule: Rule) -> Option<String> {
    if let Some(words) = crate::grammar_words::describe(rule) {
        return Some(words.to_string());
    }
    let name = format!("{rule:?}");
    let word = name.strip_prefix("kw_")?;
    Some(format!("'{}'", word.replace('_', "-")))
}
