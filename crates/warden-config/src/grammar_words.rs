//! User words for grammar rules in "expected ..." hints. A rule missing here
//! and not a keyword is left out of hints: add the rules users can type.

use crate::grammar_rule::Rule;

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
        Rule::am_labels => "a label block (e.g. 'labels { env: prod }')",
        Rule::am_label | Rule::label_name => "a label (e.g. 'env: prod')",
        Rule::am_label_value => "a label value",
        Rule::alert_address => "an e-mail address",
        Rule::mail_from => "'from:'",
        Rule::mail_reply_to => "'reply-to:'",
        Rule::mail_subject => "'subject:'",
        Rule::mail_message => "'message:'",
        Rule::limit | Rule::limit_name => "a limit (e.g. 'programOutput: 512 B')",
        Rule::mmonit_url => "an M/Monit URL (e.g. 'https://user:password@host:8443/collector')",
        Rule::mailserver_host => "a mail server host",
        Rule::allow_group
        | Rule::allow_htpasswd
        | Rule::allow_ipv6
        | Rule::allow_credentials
        | Rule::allow_host => "a host, a network, 'user:password' or '@group'",
        Rule::htpasswd_user => "a user name",
        Rule::block_end => "'}'",
        // Statements that start with a choice of spellings are reported whole.
        Rule::set_log => "'log'",
        Rule::set_ssl => "'ssl'",
        // checks.pest
        Rule::kw_check_program => "'check program'",
        Rule::by_pidfile => "'pidfile'",
        Rule::by_systemd_unit => "'systemd unit'",
        Rule::depend_name => "a service name",
        Rule::depends => "'depends'",
        Rule::program_spec | Rule::program_args => "a quoted command line",
        Rule::action => {
            "an action ('alert', 'restart', 'start', 'stop', 'exec', 'monitor', 'unmonitor')"
        }
        Rule::act_alert => "'alert'",
        Rule::act_restart => "'restart'",
        Rule::act_start => "'start'",
        Rule::act_stop => "'stop'",
        Rule::act_exec => "'exec'",
        Rule::act_monitor => "'monitor'",
        Rule::act_unmonitor => "'unmonitor'",
        Rule::trigger | Rule::trigger_times | Rule::trigger_for => {
            "a trigger (e.g. 'for 3 cycles')"
        }
        Rule::recovery => "'else if succeeded'",
        Rule::resource => {
            "a resource ('cpu', 'totalcpu', 'memory', 'totalmem', 'swap', 'children', 'threads', \
             'loadavg', 'filedescriptors')"
        }
        Rule::t_not_exist => "'not exist'",
        Rule::t_exist => "'exist'",
        Rule::timestamp_kind | Rule::c_timestamp => "'timestamp'",
        Rule::t_content => "'content'",
        Rule::t_space => "'space' or 'inode'",
        Rule::t_transfer => "'upload' or 'download'",
        Rule::t_io => "'read' or 'write'",
        Rule::f_checksum | Rule::c_checksum => "'checksum'",
        Rule::f_permission => "'permission'",
        Rule::f_uid => "'uid'",
        Rule::connection | Rule::endpoint_port => "'port', 'host' or 'unixsocket'",
        Rule::ping_test => "'ping'",
        Rule::protocol_name => "a protocol name (e.g. 'http')",
        Rule::url_value => "a URL (e.g. 'http://localhost/health')",
        Rule::loadavg_period => "'1min', '5min' or '15min'",
        Rule::cpu_kind => "'user', 'system' or 'wait'",
        Rule::per_second => "'/s'",
        Rule::ops_unit => "'operations/s'",
        Rule::packets_unit => "'packets'",
        Rule::age_operator => "'older' or 'newer'",
        Rule::compare_op => "a comparison ('>', '<', '=', '!=', 'older', 'newer')",
        Rule::option_block | Rule::option_pair | Rule::option_name => {
            "an options block (e.g. '{ verify: enable }')"
        }
        Rule::header_list => "a header list (e.g. '[Host: example.org]')",
        Rule::apache_limit => "an apache-status limit (e.g. 'waitlimit')",
        Rule::hash_algorithm => "'md5', 'sha1' or 'sha256'",
        Rule::backoff_fixed | Rule::backoff_exponential => "'fixed' or 'exponential'",
        _ => return None,
    })
}
