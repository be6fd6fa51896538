//! Lowering of network tests: `[host H] port N` / `unixsocket P` with their
//! protocol and options, `url ...`, `ping`, and Warden's `resolve`.

use std::path::PathBuf;

use super::super::common::{
    SyntaxNode, compiled, hash_algorithm, hex_digest, integer_in, operator, port, port_or_zero,
    span, text,
};
use super::parts::{address, is_keyword, placeholder_check, timeout};
use crate::diag::{Diagnostic, did_you_mean};
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::lower::ssl::test_options;
use crate::model::Protocol::{
    ApacheStatus, Http, Https, Mqtt, Mysql, Mysqls, Pgsql, Radius, Redis, Sip, Smtp, Smtps,
    Websocket,
};
use crate::model::{
    BytesRegex, Connection, Endpoint, HttpMethod, HttpUrl, IpVersion, Operator, Options, Protocol,
    ProtocolOptions, Regex, ResolveTest, ResponseTime, SendExpect, SocketType, SslOptions, Test,
    UrlTest,
};
use crate::span::Span;

/// Names people write for a protocol that Monit spells otherwise.
const PROTOCOL_ALIASES: &[(&str, &str)] = &[
    ("ws", "websocket"),
    ("wss", "websocket"),
    ("postgres", "pgsql"),
    ("postgresql", "pgsql"),
    ("memcached", "memcache"),
    ("ldap", "ldap3"),
    ("ntp", "ntp3"),
    ("pop3", "pop"),
    ("mariadb", "mysql"),
];

/// The options only some protocols take (Monit 5.33's grammar; `redis`
/// logins are Warden's). Any other option goes with every protocol.
const PROTOCOL_OPTIONS: &[(&str, &[Protocol])] = &[
    ("request", &[Http, Https, Websocket]),
    ("status", &[Http, Https]),
    ("hostheader", &[Http, Https]),
    ("method", &[Http, Https]),
    ("http headers", &[Http, Https]),
    ("checksum", &[Http, Https]),
    ("username", LOGINS),
    ("password", LOGINS),
    ("database", &[Pgsql]),
    ("rsakey checksum", &[Mysql, Mysqls]),
    ("secret", &[Radius]),
    ("target", &[Sip]),
    ("maxforward", &[Sip]),
    ("origin", &[Websocket]),
    ("version", &[Websocket]),
    ("host", &[Websocket]),
    ("path", &[ApacheStatus]),
    ("an apache-status limit", &[ApacheStatus]),
];

/// The protocols that take `username` and `password`.
const LOGINS: &[Protocol] = &[
    Http,
    Https,
    Mysql,
    Mysqls,
    Pgsql,
    Smtp,
    Smtps,
    Mqtt,
    ApacheStatus,
    Redis,
];

pub fn lower_net_test(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
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
    protocol: Option<Protocol>,
    options: ProtocolOptions,
    exchange: Vec<SendExpect>,
    timeout: Option<std::time::Duration>,
    retry: Option<u32>,
    ok: bool,
    /// Protocol-specific options as written, to check against the protocol
    /// once it is known (the options may come in any order).
    specific: Vec<(&'static str, Span)>,
}

fn connection(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Connection> {
    let whole = span(&pair);
    let mut parts = pair.into_inner();
    let target = parts.next()?;
    let mut gathered = gather(cx, parts);
    let protocol = gathered.protocol.unwrap_or(Protocol::Default);
    if !options_fit(cx, protocol, &gathered) || !protocol_fit(cx, whole, protocol, &gathered) {
        gathered.ok = false;
    }
    let socket = gathered.socket.unwrap_or(match protocol {
        Protocol::Ntp3 => SocketType::Udp,
        p if p.tls_from_start() => SocketType::TcpSsl,
        _ => SocketType::Tcp,
    });
    let endpoint = match target.as_rule() {
        Rule::endpoint_port => {
            let mut host = None;
            let mut number = None;
            for p in target.into_inner().filter(|p| !is_keyword(p)) {
                match p.as_rule() {
                    Rule::integer => {
                        number = port_or_zero(
                            cx,
                            &p,
                            "no connection reaches it, so this test always fails",
                        );
                    }
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
            placeholder_check(cx, span(&p), &path);
            if !path.starts_with('/') {
                cx.push(
                    Diagnostic::error(
                        span(&p),
                        format!("the unix socket '{path}' must be an absolute path"),
                    )
                    .with_hint("write the socket's full path, e.g. /run/app.sock"),
                );
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

fn gather<'i>(cx: &mut LowerContext, parts: impl Iterator<Item = SyntaxNode<'i>>) -> Gathered {
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

/// Each protocol-specific option goes with its protocol (`request` with
/// http, `database` with pgsql, ...), as in Monit: elsewhere it would be
/// read and never used.
fn options_fit(cx: &mut LowerContext, protocol: Protocol, g: &Gathered) -> bool {
    let mut ok = true;
    for (option, at) in &g.specific {
        let Some((_, protocols)) = PROTOCOL_OPTIONS.iter().find(|(o, _)| o == option) else {
            continue;
        };
        if protocols.contains(&protocol) {
            continue;
        }
        let what = match protocol {
            Protocol::Default => "a connection test without a protocol".to_string(),
            p => format!("protocol {p}"),
        };
        let names: Vec<&str> = protocols.iter().map(|p| p.name()).collect();
        cx.push(
            Diagnostic::error(*at, format!("'{option}' is not an option of {what}")).with_hint(
                format!("'{option}' goes with protocol {}", names.join(", ")),
            ),
        );
        ok = false;
    }
    ok
}

/// What a protocol itself needs: radius runs over UDP, apache-status
/// tests at least one of its options (Monit refuses it bare).
fn protocol_fit(cx: &mut LowerContext, at: Span, protocol: Protocol, g: &Gathered) -> bool {
    match protocol {
        Protocol::Radius if g.socket != Some(SocketType::Udp) => {
            cx.push(
                Diagnostic::error(at, "protocol radius runs over UDP")
                    .with_hint("add 'type udp' to the test"),
            );
            false
        }
        Protocol::ApacheStatus
            if !g.specific.iter().any(|(o, _)| {
                matches!(
                    *o,
                    "path" | "username" | "password" | "an apache-status limit"
                )
            }) =>
        {
            cx.push(
                Diagnostic::error(at, "protocol apache-status needs something to test")
                    .with_hint("add a limit such as 'waitlimit < 20%', or 'path /server-status'"),
            );
            false
        }
        _ => true,
    }
}

/// The first non-keyword child of an option: its value.
fn value_of<'i>(option: &SyntaxNode<'i>) -> Option<SyntaxNode<'i>> {
    option.clone().into_inner().find(|p| !is_keyword(p))
}

/// The protocol-specific option an option pair is, if it is one.
fn specific_name(option: &SyntaxNode<'_>) -> Option<&'static str> {
    Some(match option.as_rule() {
        Rule::o_request => "request",
        Rule::o_status => "status",
        Rule::o_hostheader => "hostheader",
        Rule::o_method => "method",
        Rule::o_headers => "http headers",
        Rule::o_checksum => "checksum",
        Rule::o_username => "username",
        Rule::o_password => "password",
        Rule::o_apache_limit => "an apache-status limit",
        Rule::o_extra => {
            let name = option
                .clone()
                .into_inner()
                .next()?
                .as_str()
                .to_ascii_lowercase();
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            PROTOCOL_OPTIONS.iter().find(|(o, _)| *o == name)?.0
        }
        _ => return None,
    })
}

fn option_into(cx: &mut LowerContext, g: &mut Gathered, option: SyntaxNode<'_>) -> Option<()> {
    if let Some(name) = specific_name(&option) {
        g.specific.push((name, span(&option)));
    }
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
            o.ssl = ssl_options(cx, &option)?;
        }
        Rule::o_protocol => g.protocol = Some(protocol(cx, &value_of(&option)?)?),
        Rule::o_request => o.request = Some(text(&value_of(&option)?)),
        Rule::o_status => o.status = Some(status(cx, &option)?),
        Rule::o_content => {
            let value = option
                .clone()
                .into_inner()
                .find(|p| !is_keyword(p) && p.as_rule() != Rule::operator)?;
            let pattern = compiled(cx, span(&value), &text(&value), Regex::new)?;
            o.content = Some((op_of(&option) != Operator::NotEqual, pattern));
        }
        Rule::o_hostheader => o.hostheader = Some(text(&value_of(&option)?)),
        Rule::o_username => o.username = Some(text(&value_of(&option)?)),
        Rule::o_password => o.password = Some(text(&value_of(&option)?)),
        Rule::o_method => o.method = Some(method(cx, &value_of(&option)?)?),
        Rule::o_headers => o.headers.extend(headers(&value_of(&option)?)),
        Rule::o_certificate => certificate(cx, o, value_of(&option)?)?,
        Rule::o_checksum => o.checksum = Some(text(&option.into_inner().last()?)),
        Rule::o_send | Rule::o_expect => {
            if let Some(p) = g.protocol.filter(|p| *p != Protocol::Default) {
                cx.error(
                    span(&option),
                    format!("send/expect cannot be used with protocol '{p}'"),
                );
                return None;
            }
            let value_pair = value_of(&option)?;
            let value = text(&value_pair);
            g.exchange.push(match option.as_rule() {
                Rule::o_send => SendExpect::Send(value),
                // Checked as a text regex, as Monit's are; matched on bytes.
                _ => SendExpect::Expect(compiled(cx, span(&value_pair), &value, |p| {
                    regex::Regex::new(p).and_then(|_| BytesRegex::new(p))
                })?),
            });
        }
        Rule::o_timeout => g.timeout = Some(timeout(cx, &value_of(&option)?)?),
        Rule::o_retry => {
            g.retry = Some(integer_in(cx, &value_of(&option)?, "retry", 0, 100)? as u32)
        }
        Rule::o_responsetime => o.response_time = Some(response_time(cx, &option)?),
        Rule::o_address => o.source_address = Some(source_address(cx, &option)?),
        Rule::o_apache_limit if !apache_percent(cx, &option) => return None,
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
fn response_time(cx: &mut LowerContext, option: &SyntaxNode<'_>) -> Option<ResponseTime> {
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
fn source_address(cx: &mut LowerContext, option: &SyntaxNode<'_>) -> Option<std::net::IpAddr> {
    let value = value_of(option)?;
    let text = text(&value);
    let Ok(address) = text.parse() else {
        cx.push(
            Diagnostic::error(
                span(&value),
                format!("'{text}' is not an IP address to connect from"),
            )
            .with_hint("write an address of this host, e.g. 192.0.2.5 or 2001:db8::5"),
        );
        return None;
    };
    Some(address)
}

fn op_of(pair: &SyntaxNode<'_>) -> Operator {
    pair.clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::operator)
        .map_or(Operator::Equal, |p| operator(&p))
}

fn protocol(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<Protocol> {
    let name = pair.as_str().to_ascii_lowercase();
    if let Some(p) = Protocol::from_name(&name) {
        return Some(p);
    }
    let mut d = Diagnostic::error(span(pair), format!("unknown protocol '{}'", pair.as_str()));
    let alias = PROTOCOL_ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map(|(_, p)| *p);
    let names: Vec<&str> = Protocol::ALL.iter().map(|p| p.name()).collect();
    d = match alias.or_else(|| did_you_mean(&name, &names)) {
        Some(s) => d.with_hint(format!("did you mean '{s}'?")),
        None => d.with_hint("leave 'protocol' out for a plain connection test, or use send/expect"),
    };
    cx.push(d);
    None
}

/// `status = 200`. HTTP statuses are 100-599; Monit takes any number, so
/// one outside is a warning (the comparison always or never holds).
fn status(cx: &mut LowerContext, option: &SyntaxNode<'_>) -> Option<(Operator, u16)> {
    let n = option
        .clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::integer)?;
    let code = integer_in(cx, &n, "an HTTP status", 0, u64::from(u16::MAX))? as u16;
    if !(100..=599).contains(&code) {
        cx.push(
            Diagnostic::warning(span(&n), format!("{code} is not an HTTP status"))
                .with_hint("HTTP statuses are 100-599: this comparison always holds or never does"),
        );
    }
    Some((op_of(option), code))
}

/// `method GET|HEAD`: the two methods Monit (and Warden) send.
fn method(cx: &mut LowerContext, value: &SyntaxNode<'_>) -> Option<HttpMethod> {
    if let Some(method) = HttpMethod::from_name(&text(value)) {
        return Some(method);
    }
    cx.push(
        Diagnostic::error(
            span(value),
            format!("the HTTP method '{}' is not sent by a test", text(value)),
        )
        .with_hint("write 'method GET' or 'method HEAD'"),
    );
    None
}

/// An apache-status limit is a percentage of the server's workers.
fn apache_percent(cx: &mut LowerContext, option: &SyntaxNode<'_>) -> bool {
    let percent = option
        .clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::quantity)
        .is_some_and(|q| q.into_inner().any(|p| p.as_rule() == Rule::percent));
    if !percent {
        cx.push(
            Diagnostic::error(span(option), "an apache-status limit is a percentage")
                .with_hint("write it with '%', e.g. 'waitlimit < 20%'"),
        );
    }
    percent
}

/// `ssl options { verify: enable, ... }` (see [`test_options`]); None
/// without any.
fn ssl_options(cx: &mut LowerContext, option: &SyntaxNode<'_>) -> Option<Option<Box<SslOptions>>> {
    let Some(block) = option
        .clone()
        .into_inner()
        .find(|p| p.as_rule() == Rule::option_block)
    else {
        return Some(None);
    };
    let options = test_options(cx, block)?;
    Some((!options.is_empty()).then(|| Box::new(options)))
}

/// `[Host: example.org, Cache-Control: no-cache]`: split at commas outside
/// quotes; quotes around a value are removed.
fn headers(list: &SyntaxNode<'_>) -> Vec<String> {
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

fn certificate(
    cx: &mut LowerContext,
    o: &mut ProtocolOptions,
    which: SyntaxNode<'_>,
) -> Option<()> {
    match which.as_rule() {
        Rule::cert_valid => {
            let n = which.into_inner().find(|p| p.as_rule() == Rule::integer)?;
            o.certificate_valid_days =
                Some(integer_in(cx, &n, "a number of days", 1, 100_000)? as u32);
        }
        _ => {
            let named = which
                .clone()
                .into_inner()
                .find(|p| p.as_rule() == Rule::hash_algorithm)
                .and_then(|p| hash_algorithm(&p));
            let value = which.into_inner().last()?;
            hex_digest(cx, &value, named)?;
            o.extra
                .push(("certificate checksum".to_string(), text(&value)));
        }
    }
    Some(())
}

fn url_test(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<UrlTest> {
    let mut parts = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_url);
    let url = check_url(cx, &parts.next()?);
    // The options are checked (and their errors told) even after a bad URL.
    let g = gather(cx, parts);
    let url = url.filter(|_| g.ok)?;
    Some(UrlTest {
        url,
        content: g.options.content.clone(),
        timeout: g.timeout,
        retry: g.retry,
        options: g.options,
    })
}

/// `http[s]://[user:password@]host[:port][/path]`, in parts. Port 0 is
/// refused, as in a port test: no connection reaches it.
fn check_url(cx: &mut LowerContext, url: &SyntaxNode<'_>) -> Option<HttpUrl> {
    let raw = url.as_str();
    if let Some(parsed) = HttpUrl::parse(raw) {
        // Monit takes port 0 (and past 65535) as it does in a port test:
        // a warning here too.
        if parsed.port() == 0 {
            cx.push(
                Diagnostic::warning(
                    span(url),
                    format!("'{raw}' names no port (0 or past 65535): no connection reaches it, so this test always fails"),
                )
                .with_hint("a port is a whole number from 1 to 65535"),
            );
        }
        return Some(parsed);
    }
    cx.push(
        Diagnostic::error(span(url), format!("'{raw}' is not a valid URL"))
            .with_hint("write http[s]://[user:password@]host[:port][/path]"),
    );
    None
}

fn ping(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Test> {
    let (mut count, mut size, mut limit) = (None, None, None);
    for option in pair.into_inner() {
        match option.as_rule() {
            Rule::ping_count => count = Some(ping_count(cx, &value_of(&option)?)?),
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

/// `count N`: Monit's manual says 1-20 and Monit takes any number; 0 sends
/// one ping all the same (a test needs one).
fn ping_count(cx: &mut LowerContext, value: &SyntaxNode<'_>) -> Option<u32> {
    let n = integer_in(cx, value, "the ping count", 0, u64::from(u16::MAX))? as u32;
    if n == 0 {
        cx.push(
            Diagnostic::warning(span(value), "a ping count of 0 sends one ping all the same")
                .with_hint("write a count from 1 to 20"),
        );
    }
    Some(n.max(1))
}

fn resolve(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<ResolveTest> {
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
