//! HTTP test options parsed once, when the config is read: the method of
//! `method GET|HEAD`. The probes read it; none parses the text again.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_named_in_any_case() {
        assert_eq!(HttpMethod::from_name("head"), Some(HttpMethod::Head));
        assert_eq!(HttpMethod::from_name("GET"), Some(HttpMethod::Get));
        assert_eq!(HttpMethod::from_name("POST"), None);
        assert_eq!(HttpMethod::Head.to_string(), "HEAD");
    }
}
