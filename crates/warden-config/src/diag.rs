//! Diagnostics people read: `FILE:LINE:COL: error: MESSAGE`, the source line,
//! a caret under the span, a hint in the user's words, and notes that point
//! at another place that explains the problem.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::source::SourceMap;
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// Where a diagnostic points: a span of the control text, or a whole file
/// (for problems such as its permissions, found before it is read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Origin {
    Span(Span),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub origin: Origin,
    pub message: String,
    pub hint: Option<String>,
    /// Other places that explain the problem, rendered after it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

/// A place in the text, with words on its part in a diagnostic (e.g. where
/// a string left open began).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub span: Span,
    pub message: String,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            origin: Origin::Span(span),
            message: message.into(),
            hint: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message)
        }
    }

    pub fn file_error(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            origin: Origin::File(path.into()),
            message: message.into(),
            hint: None,
            notes: Vec::new(),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Self {
        self.notes.push(Note {
            span,
            message: message.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `(path, line, column)` of where it points, 1-based.
    pub fn position(&self, sources: &SourceMap) -> Option<(PathBuf, usize, usize)> {
        match &self.origin {
            Origin::Span(span) => sources
                .locate(span.start)
                .map(|l| (l.path.to_path_buf(), l.line, l.column)),
            Origin::File(path) => Some((path.clone(), 0, 0)),
        }
    }

    /// The rendered diagnostic, several lines, ending with a newline.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        self.render_into(&mut out, sources);
        out
    }

    /// [`Diagnostic::render`] appended to `out` (no string of its own: `-t`
    /// on the 10,000-check file renders 5,000 warnings).
    fn render_into(&self, out: &mut String, sources: &SourceMap) {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let out = &mut *out;
        match &self.origin {
            Origin::File(path) => {
                let _ = writeln!(out, "{}: {level}: {}", path.display(), self.message);
            }
            Origin::Span(span) => {
                if !located(out, level, &self.message, span, sources) {
                    let _ = writeln!(out, "<input>: {level}: {}", self.message);
                }
            }
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "   = hint: {hint}");
        }
        for note in &self.notes {
            located(out, "note", &note.message, &note.span, sources);
        }
    }
}

/// `FILE:LINE:COL: LEVEL: MESSAGE`, the line and a caret under the span;
/// false (nothing written) when the span is in no file.
///
/// Written piece by piece rather than with `write!`: the formatting
/// machinery cost about 1,000 instructions a line, and `-t` on the
/// 10,000-check file renders 5,000 warnings on the main thread after the
/// parse (callgrind: see README "Ten thousand checks").
fn located(out: &mut String, level: &str, message: &str, span: &Span, sources: &SourceMap) -> bool {
    let Some(loc) = sources.locate(span.start) else {
        return false;
    };
    match loc.path.to_str() {
        Some(path) => out.push_str(path),
        None => {
            let _ = write!(out, "{}", loc.path.display());
        }
    }
    out.push(':');
    push_number(out, loc.line);
    out.push(':');
    push_number(out, loc.column);
    out.push_str(": ");
    out.push_str(level);
    out.push_str(": ");
    out.push_str(message);
    out.push_str("\n ");
    push_number(out, loc.line);
    out.push_str(" | ");
    out.push_str(loc.line_text);
    out.push('\n');
    // The caret line's gutter is as wide as the line number.
    let digits = loc.line.checked_ilog10().unwrap_or(0) as usize + 1;
    out.push(' ');
    out.extend(std::iter::repeat_n(' ', digits));
    out.push_str(" | ");
    caret(out, loc.line_text, loc.column, span, sources);
    out.push('\n');
    true
}

/// `n` in decimal, as `Display` writes it.
fn push_number(out: &mut String, mut n: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        // Below 10: the cast keeps the value.
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or("0"));
}

/// Blanks up to the column (keeping tabs so the caret lines up) and one `^`
/// per character of the span on that line, appended to `out`.
fn caret(out: &mut String, line: &str, column: usize, span: &Span, sources: &SourceMap) {
    out.extend(
        line.chars()
            .take(column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' }),
    );
    let rest = line
        .chars()
        .count()
        .saturating_sub(column.saturating_sub(1));
    let spanned = sources
        .text(*span)
        .split('\n')
        .next()
        .unwrap_or("")
        .chars()
        .count();
    let width = spanned.min(rest).max(1);
    out.extend(std::iter::repeat_n('^', width));
}

/// Renders every diagnostic, errors and warnings in source order, into one
/// string.
pub fn render_all(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        d.render_into(&mut out, sources);
    }
    out
}

/// The closest of `candidates` to `word`, if close enough to suggest.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&word, c), *c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for n in [0, 7, 9, 10, 99, 100, 12_345, 1_000_000, usize::MAX] {
            let mut out = String::from("x");
            push_number(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }
}
