//! The pest binding for `grammar/*.pest`: the parser and its `Rule` enum,
//! one variant per grammar rule. A leaf, so that parsing, lowering and the
//! rules' user words can all name `Rule` without naming each other.

#[derive(Debug, pest_derive::Parser)]
#[grammar = "../../grammar/warden.pest"]
#[grammar = "../../grammar/settings.pest"]
#[grammar = "../../grammar/checks.pest"]
pub struct ControlParser;
