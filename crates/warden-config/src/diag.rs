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
fn located(out: &mut String, level: &str, message: &str, span: &Span, sources: &SourceMap) -> bool {
    let Some(loc) = sources.locate(span.start) else {
        return false;
    };
    let _ = writeln!(
        out,
        "{}:{}:{}: {level}: {message}",
        loc.path.display(),
        loc.line,
        loc.column,
    );
    let _ = writeln!(out, " {} | {}", loc.line, loc.line_text);
    // The caret line's gutter is as wide as the line number.
    let digits = loc.line.checked_ilog10().unwrap_or(0) as usize + 1;
    out.push(' ');
    out.extend(std::iter::repeat_n(' ', digits));
    out.push_str(" | ");
    caret(out, loc.line_text, loc.column, span, sources);
    out.push('\n');
    true
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
