//! Patterns the config checked, kept compiled for the probes: a regex is
//! compiled once, at lowering, and a probe clones it (the clone shares the
//! compiled program; each gets its own search cache, made on first use).
//! Each shows and compares as the text written.

use std::fmt;

use serde::Serialize;

macro_rules! compiled {
    ($(#[$doc:meta])* $name:ident, $inner:ty) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name($inner);

        impl $name {
            pub fn new(pattern: &str) -> Result<$name, regex::Error> {
                <$inner>::new(pattern).map($name)
            }

            /// The pattern as written.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The compiled regex.
            pub fn regex(&self) -> &$inner {
                &self.0
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &$name) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

compiled!(
    /// A regex matched against text (`content`, `ignore content`, HTTP
    /// `content`).
    Regex,
    regex::Regex
);

compiled!(
    /// A regex matched against the bytes a server sends (`expect`).
    BytesRegex,
    regex::bytes::Regex
);

/// A `matching` pattern. Most are plain text (`nginx: master`, `sidekiq`):
/// those are a substring search holding only the text, where a compiled
/// regex holds about 5 KB once used (its engines and search cache), 2.5 MB
/// for 500 `matching` checks. Anything with a regex meta character is a
/// regex, with the same meaning as before. `-`, `#`, `&` and `~` are plain
/// text outside a class (`[...]`) and without the `x` flag, both of which
/// need a meta character, so `worker --queue q1` is a substring search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// No meta character: matching is containment, exactly as the regex.
    Literal(Box<str>),
    Regex(Regex),
}

/// The characters that mean something to the regex engine outside a class.
const META: &[char] = &[
    '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
];

impl Pattern {
    pub fn new(pattern: &str) -> Result<Pattern, regex::Error> {
        if !pattern.contains(META) {
            Ok(Pattern::Literal(pattern.into()))
        } else {
            Regex::new(pattern).map(Pattern::Regex)
        }
    }

    pub fn is_match(&self, haystack: &str) -> bool {
        match self {
            Pattern::Literal(text) => haystack.contains(&**text),
            Pattern::Regex(re) => re.regex().is_match(haystack),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        match self {
            Pattern::Literal(text) => text,
            Pattern::Regex(re) => re.as_str(),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_a_substring_search_and_meta_characters_make_a_regex() {
        let plain = Pattern::new("nginx: master").unwrap();
        assert!(matches!(plain, Pattern::Literal(_)));
        assert!(plain.is_match("nginx: master process /usr/sbin/nginx"));
        assert!(!plain.is_match("nginx: worker process"));
        let re = Pattern::new("^java .*jenkins").unwrap();
        assert!(matches!(re, Pattern::Regex(_)));
        assert!(re.is_match("java -jar /usr/share/jenkins/jenkins.war"));
        assert!(!re.is_match("/usr/bin/java jenkins"));
        // A dot is a meta character: any character, as in a regex.
        let dotted = Pattern::new("app.jar").unwrap();
        assert!(dotted.is_match("java -jar appXjar"));
        assert_eq!(dotted.as_str(), "app.jar");
    }

    #[test]
    fn both_kinds_agree_with_the_regex_on_plain_text() {
        let hay = [
            "sleep 3000123",
            "/usr/bin/sleep 3000123 x",
            "sleep 300012",
            "",
        ];
        let hay = [
            hay.as_slice(),
            &["worker --queue q1 -x", "a#b&c~d", "worker -queue"],
        ]
        .concat();
        for pattern in [
            "sleep 3000123",
            "sleep",
            "3 x",
            " ",
            "--queue q1",
            "#b&c~",
            "-",
        ] {
            let literal = Pattern::new(pattern).unwrap();
            assert!(matches!(literal, Pattern::Literal(_)), "{pattern:?}");
            let re = regex::Regex::new(pattern).unwrap();
            for h in &hay {
                assert_eq!(literal.is_match(h), re.is_match(h), "{pattern:?} on {h:?}");
            }
        }
    }

    #[test]
    fn a_bad_regex_is_an_error() {
        assert!(Pattern::new("nginx: (master").is_err());
    }

    #[test]
    fn compiled_patterns_compare_and_show_as_written() {
        let a = Regex::new("^ok$").unwrap();
        assert_eq!(a, Regex::new("^ok$").unwrap());
        assert_ne!(a, Regex::new("ok").unwrap());
        assert_eq!(format!("{a} {a:?}"), "^ok$ \"^ok$\"");
    }
}
