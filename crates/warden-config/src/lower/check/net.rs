//! Lowering of network tests: `[host H] port N` / `unixsocket P` with their
//! protocol and options, `url ...`, `ping`, and Warden's `resolve`.

use std::path::PathBuf;

use super::super::Cx;
use super::super::common::{P, integer_in, operator, port, span, text};
use super::{address, is_keyword, placeholder_check, timeout};
use crate::diag::{Diagnostic, did_you_mean};
use crate::grammar::Rule;
use crate::model::{
    Connection, Endpoint, IpVersion, Operator, Options, ProtocolOptions, ResolveTest, ResponseTime,
    SendExpect, SocketType, Test, UrlTest,
};

/// Monit's protocol names (`protocol NAME`), plus `ws` for websocket.
pub const PROTOCOLS: &[&str] = &[
    "apache-status",
    "clamav",
    "default",
    "dns",
    "dwp",
    "fail2ban",
    "ftp",
    "generic",
    "gps",
    "http",
    "https",
    "imap",
    "imaps",
    "ldap2",
    "ldap3",
    "lmtp",
    "memcache",
    "mongodb",
    "mqtt",
    "mysql",
    "mysqls",
    "netbios",
    "nntp",
    "ntp3",
    "pgsql",
    "pop",
    "pops",
    "postfix-policy",
    "radius",
    "rdate",
    "redis",
    "rsync",
    "sieve",
    "sip",
    "smtp",
    "smtps",
    "spamassassin",
    "ssh",
    "tns",
    "websocket",
    "ws",
];

/// Protocols spoken over TLS from the first byte.
const TLS_PROTOCOLS: &[&str] = &["https", "imaps", "pops", "smtps"];

pub fn lower_net_test(cx: &mut Cx, pair: P<'_>) -> Option<Test> {
    match pair.as_rule() {
        Rule::connection => connection(cx, pair).map(|c| Test::Connection(Box::new(c))),
        Rule::url_test => url_test(cx, pair).map(|u| Test::Url(Box::new(u))),
        Rule::ping_test => ping(cx, pair),
        Rule::resolve_test => resolve(cx, pair).map(|r| Test::Resolve(Box::new(r))),
        _ => None,
    }
}

/// Everything a connection or url test may set, gathered from its options.
#[derive(Default)]
struct Gathered {
    ip: IpVersion,
    socket: Option<SocketType>,
    protocol: Option<String>,
    options: ProtocolOptions,
    exchange: Vec<SendExpect>,
    timeout: Option<std::time::Duration>,
    retry: Option<u32>,
    ok: bool,
}

fn connection(cx: &mut Cx, pair: P<'_>) -> Option<Connection> {
    let mut parts = pair.into_inner();
    let target = parts.next()?;
    let gathered = gather(cx, parts);
    let protocol = gathered
        .protocol
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let tls_default = TLS_PROTOCOLS.contains(&protocol.as_str());
    let socket = gathered.socket.unwrap_or(match protocol.as_str() {
        "ntp3" => SocketType::Udp,
        _ if tls_default => SocketType::TcpSsl,
        _ => SocketType::Tcp,
    });
    let endpoint = match target.as_rule() {
        Rule::endpoint_port => {
            let mut host = None;
            let mut number = None;
            for p in target.into_inner().filter(|p| !is_keyword(p)) {
                match p.as_rule() {
                    Rule::integer => number = port(cx, &p),
                    _ => host = address(cx, &p),
                }
            }
            Endpoint::Port {
                host,
                port: number?,
                ip: gathered.ip,
                socket,
            }
        }
        _ => {
            let p = target.into_inner().find(|p| !is_keyword(p))?;
            let path = text(&p);
            if placeholder_check(cx, span(&p), &path) {
                return None;
            }
            Endpoint::UnixSocket {
                path: PathBuf::from(path),
                socket,
            }
        }
    };
    gathered.ok.then_some(Connection {
        endpoint,
        protocol,
        options: Options::new(gathered.options),
        exchange: gathered.exchange,
        timeout: gathered.timeout,
        retry: gathered.retry,
    })
}

fn gather<'i>(cx: &mut Cx, parts: impl Iterator<Item = P<'i>>) -> Gathered {
    let mut g = Gathered {
        ok: true,
        ..Gathered::default()
    };
    for option in parts {
        if option_into(cx, &mut g, option).is_none() {
            g.ok = false;
        }
    }
    g
}

/// The first non-keyword child of an option: its value.
fn value_of<'i>(option: &P<'i>) -> Option<P<'i>> {
    option.clone().into_inner().find(|p| !is_keyword(p))
}

fn option_into(cx: &mut Cx, g: &mut Gathered, option: P<'_>) -> Option<()> {
    let o = &mut g.options;
    match option.as_rule() {
        Rule::o_ipv4 => g.ip = IpVersion::V4,
        Rule::o_ipv6 => g.ip = IpVersion::V6,
        Rule::o_type => {
            g.socket = Some(match option.into_inner().nth(1)?.as_rule() {
                Rule::kw_udp => SocketType::Udp,
                Rule::kw_tcpssl => SocketType::TcpSsl,
                _ => SocketType::Tcp,
            })
        }
        Rule::o_tcpssl => g.socket = Some(SocketType::TcpSsl),
        Rule::o_ssl => {
            g.socket = Some(SocketType::TcpSsl);
            o.ssl = ssl_options(&option);
        }
        Rule::o_protocol => g.protocol = Some(protocol(cx, &value_of(&option)?)?),
        Rule::o_request => o.request = Some(text(&value_of(&option)?)),
        Rule::o_status => o.status = Some(status(cx, &option)?),
        Rule::o_content => {
            let value = option
                .clone()
                .into_inner()
                .find(|p| !is_keyword(p) && p.as_rule() != Rule::operator)?;
            o.content = Some((op_of(&option) != Operator::NotEqual, text(&value)));
        }
        Rule::o_hostheader => o.hostheader = Some(text(&value_of(&option)?)),
        Rule::o_username => o.username = Some(text(&value_of(&option)?)),
        Rule::o_password => o.password = Some(text(&value_of(&option)?)),
        Rule::o_method => o.method = Some(text(&value_of(&option)?).to_ascii_uppercase()),
        Rule::o_headers => o.headers.extend(headers(&value_of(&option)?)),
        Rule::o_certificate => certificate(cx, o, value_of(&option)?)?,
        Rule::o_checksum => o.checksum = Some(text(&option.into_inner().last()?)),
        Rule::o_send | Rule::o_expect => {
            if let Some(p) = g
                .protocol
                .as_deref()
                .filter(|p| *p != "default" && *p != "generic")
            {
                cx.error(
                    span(&option),
                    format!("send/expect cannot be used with protocol '{p}'"),
                );
                return None;
            }
            let value = text(&value_of(&option)?);
            g.exchange.push(match option.as_rule() {
                Rule::o_send => SendExpect::Send(value),
                _ => SendExpect::Expect(value),
            });
        }
        Rule::o_timeout => g.timeout = Some(timeout(cx, &value_of(&option)?)?),
        Rule::o_retry => {
            g.retry = Some(integer_in(cx, &value_of(&option)?, "retry", 0, 100)? as u32)
        }
        Rule::o_responsetime => o.response_time = Some(response_time(cx, &option)?),
        Rule::o_address => o.source_address = Some(source_address(cx, &option)?),
        Rule::o_apache_limit | Rule::o_extra => {
            let mut parts = option.into_inner();
            let name = parts.next()?.as_str().to_ascii_lowercase();
            // Unquoted: `database "app"` names the database app.
            let value: Vec<String> = parts.filter(|p| !is_keyword(p)).map(|p| text(&p)).collect();
            o.extra.push((name, value.join(" ")));
        }
        _ => {}
    }
    Some(())
}

/// `responsetime [op] N ms|s`; `<` when no operator is written.
fn response_time(cx: &mut Cx, option: &P<'_>) -> Option<ResponseTime> {
    let value = option
        .clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::duration)?;
    let op = option
        .clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::operator)
        .map_or(Operator::Less, |p| operator(&p));
    Some(ResponseTime {
        op,
        limit: timeout(cx, &value)?,
    })
}

/// `address IP`: an IP address of this host to connect from.
fn source_address(cx: &mut Cx, option: &P<'_>) -> Option<String> {
    let value = value_of(option)?;
    let text = text(&value);
    if text.parse::<std::net::IpAddr>().is_err() {
        cx.push(
            Diagnostic::error(
                span(&value),
                format!("'{text}' is not an IP address to connect from"),
            )
            .with_hint("write an address of this host, e.g. 192.0.2.5 or 2001:db8::5"),
        );
        return None;
    }
    Some(text)
}

fn op_of(pair: &P<'_>) -> Operator {
    pair.clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::operator)
        .map_or(Operator::Equal, |p| operator(&p))
}

fn protocol(cx: &mut Cx, pair: &P<'_>) -> Option<String> {
    let name = pair.as_str().to_ascii_lowercase();
    if PROTOCOLS.contains(&name.as_str()) {
        return Some(name);
    }
    let mut d = Diagnostic::error(span(pair), format!("unknown protocol '{}'", pair.as_str()));
    d = match did_you_mean(&name, PROTOCOLS) {
        Some(s) => d.with_hint(format!("did you mean '{s}'?")),
        None => d.with_hint("leave 'protocol' out for a plain connection test, or use send/expect"),
    };
    cx.push(d);
    None
}

/// `status = 200`: an HTTP status code, 100-599.
fn status(cx: &mut Cx, option: &P<'_>) -> Option<(Operator, u16)> {
    let n = option
        .clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::integer)?;
    let code = integer_in(cx, &n, "an HTTP status", 100, 599)? as u16;
    Some((op_of(option), code))
}

fn ssl_options(option: &P<'_>) -> Vec<(String, String)> {
    let Some(block) = option
        .clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::option_block)
    else {
        return Vec::new();
    };
    block
        .into_inner()
        .filter_map(|pair| {
            let mut kv = pair.into_inner();
            let key = kv.next()?.as_str().to_ascii_lowercase();
            Some((key, text(&kv.next()?)))
        })
        .collect()
}

/// `[Host: example.org, Cache-Control: no-cache]`: split at commas outside
/// quotes; quotes around a value are removed.
fn headers(list: &P<'_>) -> Vec<String> {
    let raw = list.as_str().trim_start_matches('[').trim_end_matches(']');
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in raw.chars() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            (',', None) => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out.iter()
        .map(|h| h.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|h| !h.is_empty())
        .collect()
}

fn certificate(cx: &mut Cx, o: &mut ProtocolOptions, which: P<'_>) -> Option<()> {
    match which.as_rule() {
        Rule::cert_valid => {
            let n = which.into_inner().find(|p| p.as_rule() == Rule::integer)?;
            o.certificate_valid_days =
                Some(integer_in(cx, &n, "a number of days", 1, 100_000)? as u32);
        }
        _ => {
            let value = which.into_inner().last()?;
            o.extra
                .push(("certificate checksum".to_string(), text(&value)));
        }
    }
    Some(())
}

fn url_test(cx: &mut Cx, pair: P<'_>) -> Option<UrlTest> {
    let mut parts = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_url);
    let url = parts.next()?;
    let checked = check_url(cx, &url);
    let g = gather(cx, parts);
    let content = g.options.content.clone();
    (checked && g.ok).then(|| UrlTest {
        url: url.as_str().to_string(),
        content,
        timeout: g.timeout,
        retry: g.retry,
        options: g.options,
    })
}

/// `http[s]://[user:password@]host[:port][/path]`.
fn check_url(cx: &mut Cx, url: &P<'_>) -> bool {
    let raw = url.as_str();
    let (scheme, rest) = raw.split_once("://").unwrap_or(("", raw));
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || host_port.starts_with('[') => (h, Some(p)),
        _ => (host_port, None),
    };
    let scheme_ok = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if scheme_ok && port_ok && !host.is_empty() {
        return true;
    }
    cx.push(
        Diagnostic::error(span(url), format!("'{raw}' is not a valid URL"))
            .with_hint("write http[s]://[user:password@]host[:port][/path]"),
    );
    false
}

fn ping(cx: &mut Cx, pair: P<'_>) -> Option<Test> {
    let (mut count, mut size, mut limit) = (None, None, None);
    for option in pair.into_inner() {
        match option.as_rule() {
            Rule::ping_count => {
                count = Some(integer_in(cx, &value_of(&option)?, "the ping count", 1, 20)? as u32)
            }
            Rule::ping_size => {
                size = Some(integer_in(cx, &value_of(&option)?, "the ping size", 8, 1492)? as u32)
            }
            Rule::o_timeout => limit = Some(timeout(cx, &value_of(&option)?)?),
            Rule::o_responsetime => cx.not_supported(span(&option), "'responsetime'"),
            Rule::o_address => cx.not_supported(span(&option), "a source 'address'"),
            Rule::kw_ping4 | Rule::kw_ping6 => {
                cx.not_supported(span(&option), "choosing the IP version of a ping")
            }
            _ => {}
        }
    }
    Some(Test::Ping {
        count,
        size,
        timeout: limit,
    })
}

fn resolve(cx: &mut Cx, pair: P<'_>) -> Option<ResolveTest> {
    let mut test = ResolveTest {
        name: String::new(),
        expect: None,
        server: None,
        port: None,
        timeout: None,
    };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::kw_resolve => {}
            Rule::resolve_expect => test.expect = Some(address(cx, &value_of(&part)?)?),
            Rule::resolve_server => {
                for p in part.into_inner().filter(|p| !is_keyword(p)) {
                    match p.as_rule() {
                        Rule::integer => test.port = Some(port(cx, &p)?),
                        _ => test.server = Some(address(cx, &p)?),
                    }
                }
            }
            Rule::o_timeout => test.timeout = Some(timeout(cx, &value_of(&part)?)?),
            _ => test.name = text(&part),
        }
    }
    Some(test)
}
