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
        // settings.pest
        Rule::ssl_block => "an SSL options block '{ ... }'",
        Rule::ssl_option | Rule::ssl_key => "an SSL option (e.g. 'verify: enable')",
        Rule::ssl_version => "an SSL/TLS version (e.g. 'tlsv12')",
        Rule::alert_events => "an event list (e.g. '{ nonexist, timeout }')",
        Rule::event_name => "an event name",
        Rule::alert_address => "an e-mail address",
        Rule::mail_from => "'from:'",
        Rule::mail_reply_to => "'reply-to:'",
        Rule::mail_subject => "'subject:'",
        Rule::mail_message => "'message:'",
        Rule::limit | Rule::limit_name => "a limit (e.g. 'programOutput: 512 B')",
        Rule::mmonit_url => "an M/Monit URL (e.g. 'https://user:password@host:8443/collector')",
        Rule::mailserver_host => "a mail server host",
        Rule::allow_group | Rule::allow_htpasswd | Rule::allow_ipv6 | Rule::allow_credentials | Rule::allow_host => {
            "a host, a network, 'user:password' or '@group'"
        }
        Rule::htpasswd_user => "a user name",
        _ => return None,
    })
}
