//! The `file` rule: each statement lowered in order, `set` statements into
//! the settings and `check` statements into checks.

use pest::iterators::Pairs;

use super::context::LowerContext;
use super::{check, settings};
use crate::grammar_rule::Rule;
use crate::model::Config;

/// Lowers the `file` rule's pairs into a config.
pub fn lower(file: Pairs<'_, Rule>, cx: &mut LowerContext) -> Config {
    let mut config = Config::default();
    lower_into(file, &mut config, cx);
    config
}

/// Lowers the `file` rule's pairs, adding to `config`.
pub(super) fn lower_into(mut file: Pairs<'_, Rule>, config: &mut Config, cx: &mut LowerContext) {
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
