//! SSL/TLS options: the `{ verify: enable, version: tlsv12 ... }` block of
//! `set ssl`, `set httpd ... with ssl`, a mail server and M/Monit, and the
//! bare version words (`using tlsv12`). Keys and values are checked here.

use super::super::common::{SyntaxNode, span, text};
use crate::diag::{Diagnostic, did_you_mean};
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::model::SslOptions;

/// What a key takes.
#[derive(Clone, Copy)]
enum Takes {
    /// One of these words.
    Choice(&'static [&'static str]),
    /// One or more SSL/TLS versions.
    Versions,
    /// One absolute path.
    Path,
    /// One string.
    Text,
}

const KEYS: &[(&str, Takes)] = &[
    ("verify", Takes::Choice(&["enable", "disable"])),
    ("selfsigned", Takes::Choice(&["allow", "reject"])),
    ("version", Takes::Versions),
    ("ciphers", Takes::Text),
    ("pemfile", Takes::Path),
    ("pemchain", Takes::Path),
    ("pemkey", Takes::Path),
    ("clientpemfile", Takes::Path),
    ("cacertificatefile", Takes::Path),
    ("cacertificatepath", Takes::Path),
];

const VERSIONS: &[&str] = &[
    "auto", "sslv2", "sslv3", "tlsv1", "tlsv11", "tlsv12", "tlsv13",
];

/// The canonical spelling of a version word (`TLSv1.2` -> `tlsv12`,
/// `-sslv3` -> `-sslv3`), or None.
fn canonical_version(word: &str) -> Option<String> {
    let lower = word.to_ascii_lowercase().replace('.', "");
    let (sign, name) = match lower.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", lower.as_str()),
    };
    let name = if name == "sslauto" { "auto" } else { name };
    (VERSIONS.contains(&name) && !(sign == "-" && name == "auto")).then(|| format!("{sign}{name}"))
}

/// An `ssl_version` pair (or a version word in a block).
pub fn ssl_version(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<String> {
    let found = canonical_version(pair.as_str());
    if found.is_none() {
        cx.push(
            Diagnostic::error(
                span(pair),
                format!("unknown SSL/TLS version '{}'", pair.as_str()),
            )
            .with_hint(format!("the versions are: {}", VERSIONS.join(", "))),
        );
    }
    found
}

/// An `ssl_block` pair: options in order, keys lower-cased, values joined.
pub fn ssl_block(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> SslOptions {
    let mut options = SslOptions {
        enabled: true,
        options: Vec::new(),
    };
    for option in pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::ssl_option)
    {
        options.options.extend(ssl_option(cx, option));
    }
    options
}

/// Whether `key` is no SSL option; an error at `at` (with a did-you-mean)
/// when it is not one.
pub(crate) fn unknown_key(cx: &mut LowerContext, at: crate::span::Span, key: &str) -> bool {
    let key = if key == "cipher" { "ciphers" } else { key };
    if KEYS.iter().any(|(k, _)| *k == key) {
        return false;
    }
    let names: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
    let diag = Diagnostic::error(at, format!("unknown SSL option '{key}'"));
    cx.push(match did_you_mean(key, &names) {
        Some(s) => diag.with_hint(format!("did you mean '{s}:'?")),
        None => diag.with_hint(format!("the options are: {}", names.join(", "))),
    });
    true
}

fn ssl_option(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<(String, String)> {
    let mut inner = pair.clone().into_inner();
    let key_pair = inner.next()?;
    let key = key_pair
        .as_str()
        .trim_end_matches(':')
        .trim_end()
        .to_ascii_lowercase();
    let key = if key == "cipher" {
        "ciphers".to_string()
    } else {
        key
    };
    let Some((name, takes)) = KEYS.iter().find(|(k, _)| *k == key) else {
        unknown_key(cx, span(&key_pair), &key);
        return None;
    };
    let words: Vec<SyntaxNode<'_>> = inner.filter_map(|w| w.into_inner().next()).collect();
    if words.is_empty() {
        cx.error(span(&pair), format!("'{name}:' needs a value"));
        return None;
    }
    let value = ssl_value(cx, name, *takes, &words)?;
    Some(((*name).to_string(), value))
}

fn ssl_value(
    cx: &mut LowerContext,
    name: &str,
    takes: Takes,
    words: &[SyntaxNode<'_>],
) -> Option<String> {
    if !matches!(takes, Takes::Versions) && words.len() > 1 {
        cx.error(span(&words[1]), format!("'{name}:' takes one value"));
        return None;
    }
    let first = &words[0];
    let value = text(first);
    match takes {
        Takes::Choice(choices) if !choices.contains(&value.to_ascii_lowercase().as_str()) => {
            cx.error(
                span(first),
                format!("'{name}:' must be {}, not '{value}'", choices.join(" or ")),
            );
            None
        }
        Takes::Choice(_) => Some(value.to_ascii_lowercase()),
        Takes::Path if !value.starts_with('/') => {
            cx.error(
                span(first),
                format!("'{name}:' must be an absolute path, not '{value}'"),
            );
            None
        }
        Takes::Path => {
            warn_if_missing(cx, first, name, &value);
            Some(value)
        }
        Takes::Text => Some(value),
        Takes::Versions => {
            let versions: Option<Vec<String>> = words.iter().map(|w| ssl_version(cx, w)).collect();
            versions.map(|v| v.join(" "))
        }
    }
}

/// Like Monit, a certificate or key file should exist; it is a warning here
/// since the file may be installed after the config is checked.
pub fn warn_if_missing(cx: &mut LowerContext, at: &SyntaxNode<'_>, name: &str, path: &str) {
    if !std::path::Path::new(path).exists() {
        cx.warning(span(at), format!("the {name} '{path}' does not exist"));
    }
}

/// `certificate checksum [md5|sha1|sha256] HASH` as the option
/// `("checksum", "sha1:HASH")`; the hash's length names its kind.
pub fn certificate_checksum(
    cx: &mut LowerContext,
    pair: &SyntaxNode<'_>,
) -> Option<(String, String)> {
    let inner: Vec<SyntaxNode<'_>> = pair.clone().into_inner().collect();
    let value = inner.last()?;
    let named = inner.iter().find_map(|p| match p.as_rule() {
        Rule::kw_md5 => Some("md5"),
        Rule::kw_sha1 => Some("sha1"),
        Rule::kw_sha256 => Some("sha256"),
        _ => None,
    });
    let hash: String = text(value)
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    let by_length = match hash.len() {
        32 => Some("md5"),
        40 => Some("sha1"),
        64 => Some("sha256"),
        _ => None,
    };
    let hex = hash.chars().all(|c| c.is_ascii_hexdigit());
    match (by_length, named) {
        (Some(kind), None) if hex => Some(("checksum".into(), format!("{kind}:{hash}"))),
        (Some(kind), Some(n)) if hex && kind == n => {
            Some(("checksum".into(), format!("{kind}:{hash}")))
        }
        _ => {
            let what = match named {
                Some("md5") => "an MD5",
                Some("sha1") => "a SHA1",
                Some(_) => "a SHA256",
                None => "an MD5, SHA1 or SHA256",
            };
            cx.push(
                Diagnostic::error(
                    span(value),
                    format!("'{}' is not {what} checksum", text(value)),
                )
                .with_hint("write the hash in hex: 32 digits for MD5, 40 for SHA1, 64 for SHA256"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_words_have_one_spelling() {
        assert_eq!(canonical_version("TLSv1.2").as_deref(), Some("tlsv12"));
        assert_eq!(canonical_version("-sslv3").as_deref(), Some("-sslv3"));
        assert_eq!(canonical_version("sslauto").as_deref(), Some("auto"));
        assert_eq!(canonical_version("tlsv14"), None);
        assert_eq!(canonical_version("-auto"), None);
    }
}
