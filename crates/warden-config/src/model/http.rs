//! HTTP test options parsed once, when the config is read: the method of
//! `method GET|HEAD` and the URL of a `url` test. The probes, status and
//! the model's own description read these; none parses the text again.

use std::fmt;

use serde::Serialize;

/// The methods an HTTP test sends (Monit's two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Head,
}

impl HttpMethod {
    /// `GET` or `HEAD`, in any case.
    pub fn from_name(name: &str) -> Option<HttpMethod> {
        if name.eq_ignore_ascii_case("GET") {
            Some(HttpMethod::Get)
        } else if name.eq_ignore_ascii_case("HEAD") {
            Some(HttpMethod::Head)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `url` test's URL, `http[s]://[user[:password]@]host[:port][/path][?query]`,
/// in parts; shown (and serialised) as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    text: String,
    tls: bool,
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
    request: Option<String>,
}

impl HttpUrl {
    /// The parts of `text`, or None when it is not an http or https URL
    /// with a host (and a number for a port, when one is written).
    pub fn parse(text: &str) -> Option<HttpUrl> {
        let (scheme, rest) = text.split_once("://")?;
        let tls = if scheme.eq_ignore_ascii_case("http") {
            false
        } else if scheme.eq_ignore_ascii_case("https") {
            true
        } else {
            return None;
        };
        let cut = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, request) = rest.split_at(cut);
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        // A colon inside `[v6]` is not a port's.
        let (host, port) = match host_port.rsplit_once(':') {
            // A number past 65535 is port 0, as Monit reads it: no port.
            Some((h, p)) if !p.contains(']') => {
                (h, Some(u16::try_from(p.parse::<u64>().ok()?).unwrap_or(0)))
            }
            _ => (host_port, None),
        };
        if host.is_empty() {
            return None;
        }
        let (username, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (Some(user), Some(password)),
                None => (Some(info), None),
            },
            None => (None, None),
        };
        Some(HttpUrl {
            text: text.to_string(),
            tls,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: port.unwrap_or(if tls { 443 } else { 80 }),
            username: username.map(String::from),
            password: password.map(String::from),
            request: (!request.is_empty()).then(|| request.to_string()),
        })
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `https`.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The host, without the brackets of an IPv6 literal.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port written, else 80 (http) or 443 (https).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The path and query as written (`/health?full`), if any.
    pub fn request(&self) -> Option<&str> {
        self.request.as_deref()
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_come_apart_with_monits_default_ports() {
        let cases = [
            ("http://example.test", false, "example.test", 80, None),
            (
                "https://example.test:8443/health?full=1",
                true,
                "example.test",
                8443,
                Some("/health?full=1"),
            ),
            ("http://[::1]:8080/x", false, "::1", 8080, Some("/x")),
            ("HTTPS://[::1]", true, "::1", 443, None),
            ("http://h?q", false, "h", 80, Some("?q")),
            ("http://h:70000/", false, "h", 0, Some("/")),
        ];
        for (text, tls, host, port, request) in cases {
            let u = HttpUrl::parse(text).unwrap();
            assert_eq!(
                (u.tls(), u.host(), u.port(), u.request()),
                (tls, host, port, request),
                "{text}"
            );
            assert_eq!(u.to_string(), text);
        }
    }

    #[test]
    fn credentials_are_split_at_the_first_colon() {
        let u = HttpUrl::parse("http://user:p%40ss:x@example.test:81/").unwrap();
        assert_eq!(
            (u.username(), u.password()),
            (Some("user"), Some("p%40ss:x"))
        );
        let u = HttpUrl::parse("http://user@example.test/").unwrap();
        assert_eq!((u.username(), u.password()), (Some("user"), None));
        assert_eq!(u.host(), "example.test");
    }

    #[test]
    fn other_schemes_bad_ports_and_missing_hosts_are_not_urls() {
        for text in [
            "ftp://example.test/",
            "http://example.test:http/",
            "http://example.test:/",
            "http://:80/",
            "http://",
            "example.test",
        ] {
            assert_eq!(HttpUrl::parse(text), None, "{text}");
        }
    }

    #[test]
    fn methods_are_named_in_any_case() {
        assert_eq!(HttpMethod::from_name("head"), Some(HttpMethod::Head));
        assert_eq!(HttpMethod::from_name("GET"), Some(HttpMethod::Get));
        assert_eq!(HttpMethod::from_name("POST"), None);
        assert_eq!(HttpMethod::Head.to_string(), "HEAD");
    }
}
