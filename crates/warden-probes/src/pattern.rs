//! A `matching` pattern. Most are plain text (`nginx: master`, `sidekiq`):
//! those are a substring search holding only the text, where a compiled
//! regex holds about 5 KB once used (its engines and search cache), 2.5 MB
//! for 500 `matching` checks. Anything with a regex meta character is a
//! regex, with the same meaning as before.

use regex::Regex;

#[derive(Debug, Clone)]
pub enum Pattern {
    /// No meta character: matching is containment, exactly as the regex.
    Literal(Box<str>),
    Regex(Regex),
}

impl Pattern {
    pub fn new(pattern: &str) -> Result<Pattern, regex::Error> {
        if regex::escape(pattern) == pattern {
            Ok(Pattern::Literal(pattern.into()))
        } else {
            Regex::new(pattern).map(Pattern::Regex)
        }
    }

    pub fn is_match(&self, haystack: &str) -> bool {
        match self {
            Pattern::Literal(text) => haystack.contains(&**text),
            Pattern::Regex(re) => re.is_match(haystack),
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
        for pattern in ["sleep 3000123", "sleep", "3 x", " "] {
            let literal = Pattern::new(pattern).unwrap();
            let re = Regex::new(pattern).unwrap();
            for h in hay {
                assert_eq!(literal.is_match(h), re.is_match(h), "{pattern:?} on {h:?}");
            }
        }
    }

    #[test]
    fn a_bad_regex_is_an_error() {
        assert!(Pattern::new("nginx: (master").is_err());
    }
}
