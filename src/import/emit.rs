//! Writing imported checks as control text both Warden and Monit 5.33 read
//! the same way: service names, regexes for `matching`, quoted strings.

use std::fmt::Write as _;

/// How a check finds its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Pidfile(String),
    /// A regular expression, as the engine receives it (not yet quoted).
    Matching(String),
}

/// One `check process` block and the comments above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub target: Target,
    pub start: String,
    pub stop: String,
    /// `if does not exist then restart` (else `... then alert`: the source
    /// did not restart it, and Monit starts a missing process by default).
    pub restart: bool,
    /// `mode manual`: not started until someone starts it.
    pub manual: bool,
    /// Comment lines above the check: where it came from, what did not
    /// carry over.
    pub notes: Vec<String>,
}

impl Check {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for note in &self.notes {
            comment(&mut out, note);
        }
        let target = match &self.target {
            Target::Pidfile(p) => format!("with pidfile {}", quote(p)),
            Target::Matching(re) => format!("matching {}", quote(re)),
        };
        let _ = writeln!(out, "check process {} {target}", self.name);
        let _ = writeln!(out, "    start program = {}", quote(&self.start));
        let _ = writeln!(out, "    stop program = {}", quote(&self.stop));
        let action = if self.restart { "restart" } else { "alert" };
        let _ = writeln!(out, "    if does not exist then {action}");
        if self.manual {
            let _ = writeln!(out, "    mode manual");
        }
        out
    }
}

/// `text` as `#` comment lines (one per line of it).
pub fn comment(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push_str("#\n");
    }
    for line in text.lines() {
        let _ = writeln!(out, "# {line}");
    }
}

/// A service name both parsers take: Monit's lexer refuses `@`, `:` and
/// more in a bare name, so anything but letters, digits, `.`, `_` and `-`
/// becomes `_`.
pub fn service_name(raw: &str) -> String {
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "unnamed".to_string()
    } else {
        name
    }
}

/// A regex matching `literal` as text. Only the characters special in both
/// dialects are escaped (Warden's Rust regex and Monit's POSIX extended
/// regex), as `\c`, which both read as the character itself; a quote
/// becomes `.`, since Monit's strings cannot hold their own quote.
pub fn regex_literal(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len() + 8);
    for c in literal.chars() {
        match c {
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '"' | '\'' => out.push('.'),
            // A newline would end the control file's line inside the string.
            '\n' | '\r' | '\t' => out.push('.'),
            _ => out.push(c),
        }
    }
    out
}

/// `text` as a control-file string: double quotes (single ones when the
/// text has a double quote), every backslash doubled, since both Warden and
/// Monit read `\\` as one backslash. Monit ends a string at its quote
/// whatever precedes it, so a text with both quotes has its double quotes
/// replaced by single ones (never the case for the regexes and commands
/// made here).
pub fn quote(text: &str) -> String {
    let body = text.replace('\\', "\\\\").replace(['\n', '\r'], " ");
    if !body.contains('"') {
        format!("\"{body}\"")
    } else if !body.contains('\'') {
        format!("'{body}'")
    } else {
        format!("\"{}\"", body.replace('"', "'"))
    }
}

/// Makes names unique in the order they come: a second `web` is `web_2`.
#[derive(Debug, Default)]
pub struct Names(std::collections::HashSet<String>);

impl Names {
    pub fn unique(&mut self, name: String) -> String {
        let mut candidate = name.clone();
        let mut n = 2;
        while !self.0.insert(candidate.clone()) {
            candidate = format!("{name}_{n}");
            n += 1;
        }
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_regex_matches_the_text_itself_in_rust_regex() {
        for text in [
            "/usr/bin/python3 -m http.server 8000",
            "a+b*c?(d)|[e]{f}^g$h\\i",
            "sh -c echo ok; sleep 1",
        ] {
            let re = regex::Regex::new(&format!("^{}$", regex_literal(text))).unwrap();
            assert!(re.is_match(text), "{text}");
            assert!(!re.is_match(&format!("{text}x")), "{text}");
        }
    }

    #[test]
    fn quoting_doubles_backslashes_and_picks_the_quote_the_text_lacks() {
        assert_eq!(quote(r"a\.b"), r#""a\\.b""#);
        assert_eq!(quote(r#"say "hi""#), r#"'say "hi"'"#);
        assert_eq!(quote(r#"it's "x""#), r#""it's 'x'""#);
    }

    #[test]
    fn names_keep_only_what_both_lexers_take_and_stay_unique() {
        assert_eq!(service_name("getty@tty1"), "getty_tty1");
        assert_eq!(service_name("web:web_00"), "web_web_00");
        let mut names = Names::default();
        assert_eq!(names.unique("web".into()), "web");
        assert_eq!(names.unique("web".into()), "web_2");
    }
}
