//! The lowering context: where every lowering step puts its diagnostics.
//! A leaf, so that each lowering module and validation can report without
//! naming the module that calls it.

use crate::diag::Diagnostic;
use crate::span::Span;

/// The lowering context: where diagnostics go.
#[derive(Debug, Default)]
pub struct LowerContext {
    pub diagnostics: Vec<Diagnostic>,
}

impl LowerContext {
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::error(span, message));
    }

    pub fn warning(&mut self, span: Span, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::warning(span, message));
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// A construct that parses but that Warden does not act on yet.
    pub fn not_supported(&mut self, span: Span, what: &str) {
        self.warning(
            span,
            format!("{what} is not supported yet: it is parsed and ignored"),
        );
    }
}
