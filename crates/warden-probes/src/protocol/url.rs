//! `if failed url http[s]://[user:password@]host[:port][/path][?query]`:
//! the URL becomes the connection rule Monit makes of it (host, port,
//! http or https, request, basic auth), then runs as an http port test.

use warden_config::model::{
    Connection, Endpoint, IpVersion, Options, Protocol, SocketType, UrlTest,
};

use super::error::BuildError;

/// The connection rule a `url` test stands for.
pub fn connection(test: &UrlTest) -> Result<Connection, BuildError> {
    let bad = || BuildError::Url(test.url.clone());
    let (scheme, rest) = test.url.split_once("://").ok_or_else(bad)?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        _ => return Err(bad()),
    };
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, request) = rest.split_at(cut);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let (host, port) = split_port(host_port).ok_or_else(bad)?;
    let mut options = test.options.clone();
    if let Some(info) = userinfo {
        let (user, password) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p.to_string())),
            None => (info, None),
        };
        options.username = Some(user.to_string());
        options.password = password;
    }
    if !request.is_empty() {
        options.request = Some(request.to_string());
    }
    if test.content.is_some() {
        options.content = test.content.clone();
    }
    Ok(Connection {
        endpoint: Endpoint::Port {
            host: Some(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
            ),
            port: port.unwrap_or(if https { 443 } else { 80 }),
            ip: IpVersion::Any,
            socket: if https {
                SocketType::TcpSsl
            } else {
                SocketType::Tcp
            },
        },
        protocol: if https {
            Protocol::Https
        } else {
            Protocol::Http
        },
        options: Options::new(options),
        exchange: Vec::new(),
        timeout: test.timeout,
        retry: test.retry,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p.parse::<u16>().ok()?)),
        _ => (host_port, None),
    };
    (!host.is_empty()).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> UrlTest {
        UrlTest {
            url: text.into(),
            content: None,
            timeout: None,
            retry: None,
            options: Default::default(),
        }
    }

    fn endpoint(c: &Connection) -> (String, u16, SocketType) {
        match &c.endpoint {
            Endpoint::Port {
                host, port, socket, ..
            } => (host.clone().unwrap_or_default(), *port, *socket),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn urls_become_http_rules_with_monits_default_ports() {
        let cases = [
            (
                "http://example.test",
                "example.test",
                80,
                SocketType::Tcp,
                None,
            ),
            (
                "https://example.test:8443/health?full=1",
                "example.test",
                8443,
                SocketType::TcpSsl,
                Some("/health?full=1"),
            ),
            (
                "http://[::1]:8080/x",
                "::1",
                8080,
                SocketType::Tcp,
                Some("/x"),
            ),
            ("HTTPS://[::1]", "::1", 443, SocketType::TcpSsl, None),
        ];
        for (text, host, port, socket, request) in cases {
            let c = connection(&url(text)).unwrap();
            assert_eq!(endpoint(&c), (host.to_string(), port, socket), "{text}");
            assert_eq!(c.options.request.as_deref(), request, "{text}");
        }
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth() {
        let c = connection(&url("http://user:p%40ss@example.test:81/")).unwrap();
        assert_eq!(c.options.username.as_deref(), Some("user"));
        assert_eq!(c.options.password.as_deref(), Some("p%40ss"));
        assert_eq!(endpoint(&c).1, 81);
    }

    #[test]
    fn the_content_of_the_url_test_is_kept() {
        let mut t = url("http://example.test/");
        let error = warden_config::model::Regex::new("error").unwrap();
        t.content = Some((false, error.clone()));
        let c = connection(&t).unwrap();
        assert_eq!(c.options.content, Some((false, error)));
        assert_eq!(c.protocol, Protocol::Http);
    }

    #[test]
    fn other_schemes_and_bad_ports_are_refused() {
        for text in [
            "ftp://example.test/",
            "http://example.test:http/",
            "http://:80/",
        ] {
            assert!(connection(&url(text)).is_err(), "{text}");
        }
    }
}
