//! User words for grammar rules in "expected ..." hints. A rule missing here
//! and not a keyword is left out of hints: add the rules users can type.

use crate::grammar::Rule;

pub fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        Rule::set_statement => "a 'set' statement",
        Rule::check_statement => "a 'check' statement",
        Rule::string | Rule::dq_string | Rule::sq_string => "a quoted string",
        Rule::integer => "a whole number",
        Rule::number => "a number",
        Rule::path => "an absolute path",
        Rule::bare => "a word",
        Rule::duration => "a duration (e.g. '5 seconds')",
        Rule::time_unit => "a time unit (seconds, minutes, hours, days)",
        Rule::quantity => "a number with an optional unit (e.g. '80%', '200 MB')",
        Rule::size_unit => "a size unit (B, KB, MB, GB)",
        Rule::percent => "'%'",
        Rule::cycles => "a number of cycles (e.g. '3 cycles')",
        Rule::operator => "a comparison ('>', '<', '=', '!=')",
        Rule::service_name => "a service name",
        _ => return None,
    })
}
