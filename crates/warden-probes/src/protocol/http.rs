//! The `http` and `https` protocols through reqwest: one request, then the
//! status against its rule (Monit's default: status < 400) and the body
//! against the `content` regex. No proxy, no redirects followed, no pooled
//! connections: every run really connects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use regex::Regex;
use reqwest::header::{HOST, HeaderName, HeaderValue};
use reqwest::{Client, Method};

use warden_config::model::{Connection, IpVersion, Operator, SocketType};

use super::Conversation;
use crate::net::{DEFAULT_TIMEOUT, Target};

/// At most this much of a body is read for `content` (Monit's default).
pub const BODY_LIMIT: usize = 1024 * 1024;

#[derive(Debug)]
pub struct HttpTest {
    client: Client,
    method: Method,
    url: String,
    status: (Operator, u16),
    /// (must match, regex): `content = "x"` or `content != "x"`.
    content: Option<(bool, Regex)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    auth: Option<(String, Option<String>)>,
}

pub fn build_http(conn: &Connection, target: &Target) -> Result<Conversation, String> {
    let tls = matches!(
        target,
        Target::Tcp {
            socket: SocketType::TcpSsl,
            ..
        }
    );
    build(conn, target, tls)
}

pub fn build_https(conn: &Connection, target: &Target) -> Result<Conversation, String> {
    build(conn, target, true)
}

fn build(conn: &Connection, target: &Target, tls: bool) -> Result<Conversation, String> {
    let o = &conn.options;
    if o.checksum.is_some() || o.certificate_valid_days.is_some() {
        return Err("http checksum and certificate tests are not supported yet".into());
    }
    let path = o.request.clone().unwrap_or_else(|| "/".into());
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let scheme = if tls { "https" } else { "http" };
    let url = match target {
        Target::Tcp { host, port, .. } | Target::Udp { host, port, .. } => {
            format!("{scheme}://{}:{port}{path}", bracket(host))
        }
        Target::Unix { .. } => format!("{scheme}://localhost{path}"),
    };
    let method = match o.method.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("GET") => Method::GET,
        Some("HEAD") => Method::HEAD,
        Some(other) => {
            return Err(format!(
                "http method {other} is not supported (GET or HEAD)"
            ));
        }
    };
    let content = match &o.content {
        Some((matches, pattern)) => Some((*matches, compile(pattern)?)),
        None => None,
    };
    let mut headers = o
        .headers
        .iter()
        .map(|h| header(h))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(host) = &o.hostheader {
        let value = HeaderValue::from_str(host).map_err(|_| format!("bad hostheader {host:?}"))?;
        headers.push((HOST, value));
    }
    let test = HttpTest {
        client: client(conn, target)?,
        method,
        url,
        status: o.status.unwrap_or((Operator::Less, 400)),
        content,
        headers,
        auth: o.username.clone().map(|u| (u, o.password.clone())),
    };
    Ok(Conversation::Http(Box::new(test)))
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("content {pattern:?} is not a valid regex: {e}"))
}

/// An IPv6 literal needs brackets in a URL.
fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `Name: value` from `with http headers [...]`.
fn header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let bad = || format!("http header {text:?} is not \"Name: value\"");
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    let value = value.trim().trim_matches('"');
    Ok((
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?,
        HeaderValue::from_str(value).map_err(|_| bad())?,
    ))
}

fn client(conn: &Connection, target: &Target) -> Result<Client, String> {
    let limit = conn.timeout.unwrap_or(DEFAULT_TIMEOUT);
    // Monit does not verify certificates unless told to (`verify: enable`).
    let verify = conn.options.ssl.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("verify") && (v.eq_ignore_ascii_case("enable") || v == "true")
    });
    let mut builder = Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .connect_timeout(limit)
        .timeout(limit)
        .tls_danger_accept_invalid_certs(!verify)
        .user_agent(concat!("Warden/", env!("CARGO_PKG_VERSION")));
    match target {
        Target::Unix { path } => builder = builder.unix_socket(path.clone()),
        // Binding the wildcard of one family makes reqwest keep to it.
        Target::Tcp {
            ip: IpVersion::V4, ..
        } => builder = builder.local_address(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Target::Tcp {
            ip: IpVersion::V6, ..
        } => builder = builder.local_address(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        _ => {}
    }
    builder
        .build()
        .map_err(|e| format!("cannot set up the http client: {e}"))
}

impl HttpTest {
    /// Runs the request; `Ok(status)` if everything held, else why not.
    pub async fn run(&self) -> Result<u16, (Option<u16>, String)> {
        let mut request = self.client.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, password.as_deref());
        }
        let mut response = request.send().await.map_err(|e| (None, describe(&e)))?;
        let status = response.status().as_u16();
        let (op, expected) = self.status;
        if !op.holds(f64::from(status), f64::from(expected)) {
            let why = format!(
                "HTTP status {status} from {} does not satisfy status {} {expected}",
                self.url,
                op.symbol()
            );
            return Err((Some(status), why));
        }
        let Some((must_match, re)) = &self.content else {
            return Ok(status);
        };
        let mut body = Vec::new();
        while body.len() < BODY_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err((Some(status), describe(&e))),
            }
        }
        body.truncate(BODY_LIMIT);
        let text = String::from_utf8_lossy(&body);
        if re.is_match(&text) != *must_match {
            let op = if *must_match { "=" } else { "!=" };
            return Err((
                Some(status),
                format!("content {op} {:?} failed for {}", re.as_str(), self.url),
            ));
        }
        Ok(status)
    }
}

/// reqwest's error with its causes, which hold the useful part
/// ("connection refused", "operation timed out").
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if e.is_timeout() {
        format!("timed out: {e}")
    } else {
        e.to_string()
    };
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
