//! The `http` and `https` protocols through reqwest: one request, then the
//! status against its rule (Monit's default: status < 400) and the body
//! against the `content` regex. No proxy, no redirects followed, no pooled
//! connections: every run really connects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use regex::Regex;
use reqwest::header::{HOST, HeaderName, HeaderValue};
use reqwest::{Client, Method};

use warden_config::model::{Connection, HttpMethod, IpVersion, Operator, SocketType};

use super::error::{BuildError, ProtocolError};
use crate::outcome::Metric;
use crate::peer::{DEFAULT_TIMEOUT, Peer};
use crate::tls;

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
    /// `certificate valid > N days`.
    cert_min_days: Option<u32>,
}

/// What one request measured (HTTP status, certificate days) and whether
/// every condition held.
pub type Report = (Vec<(Metric, f64)>, Result<(), ProtocolError>);

pub fn build_http(conn: &Connection, target: &Peer) -> Result<HttpTest, BuildError> {
    let tls = matches!(
        target,
        Peer::Tcp {
            socket: SocketType::TcpSsl,
            ..
        }
    );
    build(conn, target, tls)
}

pub fn build_https(conn: &Connection, target: &Peer) -> Result<HttpTest, BuildError> {
    build(conn, target, true)
}

fn build(conn: &Connection, target: &Peer, tls: bool) -> Result<HttpTest, BuildError> {
    let o = &conn.options;
    if o.checksum.is_some() {
        return Err(BuildError::Feature("the http content checksum test"));
    }
    if o.certificate_valid_days.is_some() && !tls {
        return Err(BuildError::Feature(
            "a certificate test over plain http (use https)",
        ));
    }
    let path = o.request.clone().unwrap_or_else(|| "/".into());
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let scheme = if tls { "https" } else { "http" };
    let url = match target {
        Peer::Tcp { host, port, .. } | Peer::Udp { host, port, .. } => {
            format!("{scheme}://{}:{port}{path}", bracket(host))
        }
        Peer::Unix { .. } => format!("{scheme}://localhost{path}"),
    };
    let method = match o.method {
        None | Some(HttpMethod::Get) => Method::GET,
        Some(HttpMethod::Head) => Method::HEAD,
    };
    // Compiled at lowering; the clone shares the compiled program.
    let content = o
        .content
        .as_ref()
        .map(|(matches, pattern)| (*matches, pattern.regex().clone()));
    let mut headers = o
        .headers
        .iter()
        .map(|h| header(h))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(host) = &o.hostheader {
        let value =
            HeaderValue::from_str(host).map_err(|_| BuildError::HostHeader(host.clone()))?;
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
        cert_min_days: o.certificate_valid_days,
    };
    Ok(test)
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
fn header(text: &str) -> Result<(HeaderName, HeaderValue), BuildError> {
    let bad = || BuildError::Header(text.to_string());
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    let value = value.trim().trim_matches('"');
    Ok((
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?,
        HeaderValue::from_str(value).map_err(|_| bad())?,
    ))
}

fn client(conn: &Connection, target: &Peer) -> Result<Client, BuildError> {
    let limit = conn.timeout.unwrap_or(DEFAULT_TIMEOUT);
    // Monit does not verify certificates unless told to (`verify: enable`).
    let verify = conn.options.ssl.as_ref().and_then(|s| s.verify) == Some(true);
    let mut builder = Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .connect_timeout(limit)
        .timeout(limit)
        .tls_danger_accept_invalid_certs(!verify)
        .tls_info(conn.options.certificate_valid_days.is_some())
        .user_agent(concat!("Warden/", env!("CARGO_PKG_VERSION")));
    match target {
        Peer::Unix { path } => builder = builder.unix_socket(path.clone()),
        // Binding the wildcard of one family makes reqwest keep to it.
        Peer::Tcp {
            ip: IpVersion::V4, ..
        } => builder = builder.local_address(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Peer::Tcp {
            ip: IpVersion::V6, ..
        } => builder = builder.local_address(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        _ => {}
    }
    // `address IP`: connect from this local address.
    if let Some(source) = conn.options.source_address {
        builder = builder.local_address(source);
    }
    builder.build().map_err(BuildError::Client)
}

impl HttpTest {
    /// Runs the request: the values measured, and whether the certificate,
    /// the status and the content all held (checked in that order).
    pub async fn run(&self) -> Report {
        let mut values = Vec::new();
        let result = self.request(&mut values).await;
        (values, result)
    }

    async fn request(&self, values: &mut Vec<(Metric, f64)>) -> Result<(), ProtocolError> {
        let mut request = self.client.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, password.as_deref());
        }
        let response = request.send().await.map_err(ProtocolError::Request)?;
        if let Some(min) = self.cert_min_days {
            self.certificate(&response, min, values)?;
        }
        let status = response.status().as_u16();
        values.push((Metric::HttpStatus, f64::from(status)));
        let (op, expected) = self.status;
        if !op.holds(f64::from(status), f64::from(expected)) {
            return Err(ProtocolError::HttpStatus {
                status,
                url: self.url.clone(),
                op,
                expected,
            });
        }
        match &self.content {
            Some((must_match, re)) => self.content(response, *must_match, re).await,
            None => Ok(()),
        }
    }

    fn certificate(
        &self,
        response: &reqwest::Response,
        min: u32,
        values: &mut Vec<(Metric, f64)>,
    ) -> Result<(), ProtocolError> {
        let der = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .ok_or_else(|| ProtocolError::NoCertificate {
                url: self.url.clone(),
            })?;
        let (days, result) = tls::check_valid_days(der, min, SystemTime::now());
        if let Some(days) = days {
            values.push((Metric::CertificateDays, days));
        }
        result.map_err(|why| ProtocolError::Certificate {
            url: self.url.clone(),
            source: why,
        })
    }

    async fn content(
        &self,
        mut response: reqwest::Response,
        must_match: bool,
        re: &Regex,
    ) -> Result<(), ProtocolError> {
        let mut body = Vec::new();
        while body.len() < BODY_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(ProtocolError::Request(e)),
            }
        }
        body.truncate(BODY_LIMIT);
        let text = String::from_utf8_lossy(&body);
        if re.is_match(&text) != must_match {
            return Err(ProtocolError::Content {
                must_match,
                pattern: re.clone(),
                url: self.url.clone(),
            });
        }
        Ok(())
    }
}
