//! Lowering: the syntax tree becomes the config model. Each statement is
//! lowered on its own; errors are collected, never fatal, so one run reports
//! every problem.

pub mod check;
pub mod common;
mod runs;
pub mod settings;

pub(crate) use runs::{PIECE_MAX, lower_runs, threads_for};

use pest::iterators::Pairs;

use crate::diag::Diagnostic;
use crate::grammar::Rule;
use crate::model::Config;
use crate::span::Span;

/// The lowering context: where diagnostics go.
#[derive(Debug, Default)]
pub struct Cx {
    pub diagnostics: Vec<Diagnostic>,
}

impl Cx {
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

/// Lowers the `file` rule's pairs into a config.
pub fn lower(file: Pairs<'_, Rule>, cx: &mut Cx) -> Config {
    let mut config = Config::default();
    lower_into(file, &mut config, cx);
    config
}

/// Lowers the `file` rule's pairs, adding to `config`.
fn lower_into(mut file: Pairs<'_, Rule>, config: &mut Config, cx: &mut Cx) {
    let Some(root) = file.next() else {
        return;
    };
    for statement in root.into_inner() {
        match statement.as_rule() {
            Rule::set_statement => settings::lower_set(statement, &mut config.settings, cx),
            Rule::check_statement => {
                if let Some(check) = check::lower_check(statement, cx) {
                    config.checks.push(check);
                }
            }
            _ => {}
        }
    }
}
