//! SSL/TLS options into [`SslOptions`]: the `{ verify: enable, version:
//! tlsv12 ... }` block of `set ssl`, `set httpd ... with ssl`, a mail server
//! and M/Monit, the bare version words (`using tlsv12`), a certificate
//! checksum, and a connection test's `ssl options`. Keys and values are
//! checked and typed here, for settings and checks alike.

use std::path::PathBuf;

use super::common::{SyntaxNode, hex_digest, span, text};
use crate::diag::{Diagnostic, did_you_mean};
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::model::{
    CertificateChecksum, HashAlgorithm, SelfSigned, SslOption, SslOptions, SslVersion, VersionWord,
};

/// The options a block takes.
#[derive(Clone, Copy)]
enum Key {
    Verify,
    SelfSigned,
    Version,
    Ciphers,
    /// A path; the option it makes.
    Path(fn(PathBuf) -> SslOption),
}

const KEYS: &[(&str, Key)] = &[
    ("verify", Key::Verify),
    ("selfsigned", Key::SelfSigned),
    ("version", Key::Version),
    ("ciphers", Key::Ciphers),
    ("pemfile", Key::Path(SslOption::PemFile)),
    ("pemchain", Key::Path(SslOption::PemChain)),
    ("pemkey", Key::Path(SslOption::PemKey)),
    ("clientpemfile", Key::Path(SslOption::ClientPemFile)),
    ("cacertificatefile", Key::Path(SslOption::CaCertificateFile)),
    ("cacertificatepath", Key::Path(SslOption::CaCertificatePath)),
];

/// The key `name` is (`cipher` is `ciphers`), with its one spelling.
fn key(name: &str) -> Option<(&'static str, Key)> {
    let name = if name == "cipher" { "ciphers" } else { name };
    KEYS.iter().find(|(k, _)| *k == name).copied()
}

/// `verify:` takes enable or disable.
const VERIFY: &[(&str, bool)] = &[("enable", true), ("disable", false)];

/// A version word (`TLSv1.2`, `-sslv3`, `sslauto`), or None.
fn version_word(word: &str) -> Option<VersionWord> {
    let lower = word.to_ascii_lowercase().replace('.', "");
    let (excluded, name) = match lower.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    let name = if name == "sslauto" { "auto" } else { name };
    let version = SslVersion::ALL.iter().copied().find(|v| v.name() == name)?;
    // Leaving out "whatever the library offers" leaves nothing.
    (!(excluded && version == SslVersion::Auto)).then_some(VersionWord { version, excluded })
}

/// An `ssl_version` pair (or a version word in a block).
pub fn ssl_version(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<VersionWord> {
    let found = version_word(pair.as_str());
    if found.is_none() {
        let names: Vec<&str> = SslVersion::ALL.iter().map(|v| v.name()).collect();
        cx.push(
            Diagnostic::error(
                span(pair),
                format!("unknown SSL/TLS version '{}'", pair.as_str()),
            )
            .with_hint(format!("the versions are: {}", names.join(", "))),
        );
    }
    found
}

/// An `ssl_block` pair: switched on, with its options.
pub fn ssl_block(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> SslOptions {
    let mut options = SslOptions::on();
    ssl_block_into(cx, pair, &mut options);
    options
}

/// An `ssl_block` pair's options, over those `options` has.
pub fn ssl_block_into(cx: &mut LowerContext, pair: SyntaxNode<'_>, options: &mut SslOptions) {
    for option in pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::ssl_option)
    {
        if let Some(option) = ssl_option(cx, option) {
            options.set(option);
        }
    }
}

/// Whether `key` is no SSL option; an error at `at` (with a did-you-mean)
/// when it is not one.
fn unknown_key(cx: &mut LowerContext, at: crate::span::Span, key: &str) -> bool {
    if self::key(key).is_some() {
        return false;
    }
    let key = if key == "cipher" { "ciphers" } else { key };
    let names: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
    let diag = Diagnostic::error(at, format!("unknown SSL option '{key}'"));
    cx.push(match did_you_mean(key, &names) {
        Some(s) => diag.with_hint(format!("did you mean '{s}:'?")),
        None => diag.with_hint(format!("the options are: {}", names.join(", "))),
    });
    true
}

fn ssl_option(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<SslOption> {
    let mut inner = pair.clone().into_inner();
    let key_pair = inner.next()?;
    let written = key_pair
        .as_str()
        .trim_end_matches(':')
        .trim_end()
        .to_ascii_lowercase();
    let Some((name, key)) = self::key(&written) else {
        unknown_key(cx, span(&key_pair), &written);
        return None;
    };
    let words: Vec<SyntaxNode<'_>> = inner.filter_map(|w| w.into_inner().next()).collect();
    if words.is_empty() {
        cx.error(span(&pair), format!("'{name}:' needs a value"));
        return None;
    }
    ssl_value(cx, name, key, &words)
}

fn ssl_value(
    cx: &mut LowerContext,
    name: &str,
    key: Key,
    words: &[SyntaxNode<'_>],
) -> Option<SslOption> {
    if !matches!(key, Key::Version) && words.len() > 1 {
        cx.error(span(&words[1]), format!("'{name}:' takes one value"));
        return None;
    }
    let first = &words[0];
    let value = text(first);
    match key {
        Key::Verify => choice(cx, first, name, VERIFY).map(SslOption::Verify),
        Key::SelfSigned => {
            let choices: Vec<(&str, SelfSigned)> =
                SelfSigned::ALL.iter().map(|s| (s.name(), *s)).collect();
            choice(cx, first, name, &choices).map(SslOption::SelfSigned)
        }
        Key::Path(_) if !value.starts_with('/') => {
            cx.error(
                span(first),
                format!("'{name}:' must be an absolute path, not '{value}'"),
            );
            None
        }
        Key::Path(make) => {
            warn_if_missing(cx, first, name, &value);
            Some(make(PathBuf::from(value)))
        }
        Key::Ciphers => Some(SslOption::Ciphers(value)),
        Key::Version => {
            let versions: Option<Vec<VersionWord>> =
                words.iter().map(|w| ssl_version(cx, w)).collect();
            versions.map(SslOption::Version)
        }
    }
}

/// One of `choices` (any case), or an error naming them.
fn choice<T: Copy>(
    cx: &mut LowerContext,
    word: &SyntaxNode<'_>,
    name: &str,
    choices: &[(&str, T)],
) -> Option<T> {
    let value = text(word);
    let lower = value.to_ascii_lowercase();
    if let Some((_, found)) = choices.iter().find(|(c, _)| *c == lower) {
        return Some(*found);
    }
    let names: Vec<&str> = choices.iter().map(|(c, _)| *c).collect();
    cx.error(
        span(word),
        format!("'{name}:' must be {}, not '{value}'", names.join(" or ")),
    );
    None
}

/// Like Monit, a certificate or key file should exist; it is a warning here
/// since the file may be installed after the config is checked.
pub fn warn_if_missing(cx: &mut LowerContext, at: &SyntaxNode<'_>, name: &str, path: &str) {
    if !std::path::Path::new(path).exists() {
        cx.warning(span(at), format!("the {name} '{path}' does not exist"));
    }
}

/// `certificate checksum [md5|sha1|sha256] HASH`; the hash's length names
/// its kind, which must agree with the one written.
pub fn certificate_checksum(
    cx: &mut LowerContext,
    pair: &SyntaxNode<'_>,
) -> Option<CertificateChecksum> {
    let inner: Vec<SyntaxNode<'_>> = pair.clone().into_inner().collect();
    let value = inner.last()?;
    let named = inner.iter().find_map(|p| match p.as_rule() {
        Rule::kw_md5 => Some(HashAlgorithm::Md5),
        Rule::kw_sha1 => Some(HashAlgorithm::Sha1),
        Rule::kw_sha256 => Some(HashAlgorithm::Sha256),
        _ => None,
    });
    let (algorithm, hex) = hex_digest(cx, value, named)?;
    Some(CertificateChecksum { algorithm, hex })
}

/// A connection test's `ssl options { verify: enable, ... }`: the keys
/// `set ssl` knows (an unknown one is an error). Monit's words are typed;
/// any other value is kept as written and read as not given, as Warden
/// always took these values (`verify: true` verifies too).
pub fn test_options(cx: &mut LowerContext, block: SyntaxNode<'_>) -> Option<SslOptions> {
    let mut options = SslOptions::on();
    let mut ok = true;
    for pair in block.into_inner() {
        let mut kv = pair.into_inner();
        let (Some(key_pair), Some(value)) = (kv.next(), kv.next()) else {
            continue;
        };
        let written = key_pair.as_str().to_ascii_lowercase();
        if unknown_key(cx, span(&key_pair), &written) {
            ok = false;
            continue;
        }
        let value = text(&value);
        let option = self::key(&written).and_then(|(_, key)| test_value(key, &value));
        options.set_as_written(option, &written, &value);
    }
    ok.then_some(options)
}

fn test_value(key: Key, value: &str) -> Option<SslOption> {
    let lower = value.to_ascii_lowercase();
    match key {
        Key::Verify => match (lower.as_str(), value) {
            ("enable", _) | (_, "true") => Some(SslOption::Verify(true)),
            ("disable", _) | (_, "false") => Some(SslOption::Verify(false)),
            _ => None,
        },
        Key::SelfSigned => SelfSigned::ALL
            .iter()
            .find(|s| s.name() == lower)
            .map(|s| SslOption::SelfSigned(*s)),
        Key::Version => {
            let words: Option<Vec<VersionWord>> =
                value.split_whitespace().map(version_word).collect();
            words.filter(|w| !w.is_empty()).map(SslOption::Version)
        }
        Key::Ciphers => Some(SslOption::Ciphers(value.to_string())),
        Key::Path(make) => Some(make(PathBuf::from(value))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(word: &str) -> Option<String> {
        version_word(word).map(|w| w.to_string())
    }

    #[test]
    fn version_words_have_one_spelling() {
        assert_eq!(shown("TLSv1.2").as_deref(), Some("tlsv12"));
        assert_eq!(shown("-sslv3").as_deref(), Some("-sslv3"));
        assert_eq!(shown("sslauto").as_deref(), Some("auto"));
        assert_eq!(shown("tlsv14"), None);
        assert_eq!(shown("-auto"), None);
    }

    #[test]
    fn test_option_values_are_typed_where_they_are_monits_words() {
        let verify = |v: &str| match test_value(Key::Verify, v) {
            Some(SslOption::Verify(b)) => Some(b),
            _ => None,
        };
        assert_eq!(verify("Enable"), Some(true));
        assert_eq!(verify("true"), Some(true));
        assert_eq!(verify("disable"), Some(false));
        assert_eq!(verify("maybe"), None);
        assert_eq!(
            test_value(Key::SelfSigned, "ALLOW"),
            Some(SslOption::SelfSigned(SelfSigned::Allow))
        );
        assert_eq!(test_value(Key::Version, "tlsv14"), None);
    }
}
