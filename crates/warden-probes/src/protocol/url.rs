//! `if failed url http[s]://[user:password@]host[:port][/path][?query]`:
//! the URL, parsed when the config was read, becomes the connection rule
//! Monit makes of it (host, port, http or https, request, basic auth),
//! then runs as an http port test.

use warden_config::model::{
    Connection, Endpoint, IpVersion, Options, Protocol, SocketType, UrlTest,
};

/// The connection rule a `url` test stands for.
pub fn connection(test: &UrlTest) -> Connection {
    let url = &test.url;
    let mut options = test.options.clone();
    if let Some(user) = url.username() {
        options.username = Some(user.to_string());
        options.password = url.password().map(String::from);
    }
    if let Some(request) = url.request() {
        options.request = Some(request.to_string());
    }
    if test.content.is_some() {
        options.content = test.content.clone();
    }
    let (socket, protocol) = if url.tls() {
        (SocketType::TcpSsl, Protocol::Https)
    } else {
        (SocketType::Tcp, Protocol::Http)
    };
    Connection {
        endpoint: Endpoint::Port {
            host: Some(url.host().to_string()),
            port: url.port(),
            ip: IpVersion::Any,
            socket,
        },
        protocol,
        options: Options::new(options),
        exchange: Vec::new(),
        timeout: test.timeout,
        retry: test.retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_config::model::HttpUrl;

    fn url(text: &str) -> UrlTest {
        UrlTest {
            url: HttpUrl::parse(text).unwrap(),
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
            let c = connection(&url(text));
            assert_eq!(endpoint(&c), (host.to_string(), port, socket), "{text}");
            assert_eq!(c.options.request.as_deref(), request, "{text}");
        }
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth() {
        let c = connection(&url("http://user:p%40ss@example.test:81/"));
        assert_eq!(c.options.username.as_deref(), Some("user"));
        assert_eq!(c.options.password.as_deref(), Some("p%40ss"));
        assert_eq!(endpoint(&c).1, 81);
    }

    #[test]
    fn the_content_of_the_url_test_is_kept() {
        let mut t = url("http://example.test/");
        let error = warden_config::model::Regex::new("error").unwrap();
        t.content = Some((false, error.clone()));
        let c = connection(&t);
        assert_eq!(c.options.content, Some((false, error)));
        assert_eq!(c.protocol, Protocol::Http);
    }
}
