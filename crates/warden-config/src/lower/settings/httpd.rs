//! Lowering of `set httpd ...`: where the control interface listens (port,
//! address, unix socket), its TLS, and who may use it (`allow`).

use std::path::PathBuf;

use super::super::common::{SyntaxNode, port, span, text};
use super::values::{absolute_path, check_network, host};
use crate::diag::Diagnostic;
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::lower::ssl::{ssl_block_into, warn_if_missing};
use crate::model::{Allow, Digest, Httpd, SelfSigned, Settings, SslOption, SslOptions};

/// `set httpd ...`; several statements add to the same interface.
pub fn set_httpd(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    // Later problems with the whole interface point at its keyword.
    let whole = item
        .clone()
        .into_inner()
        .next()
        .map_or_else(|| span(&item), |k| span(&k));
    let httpd = settings.httpd.get_or_insert_with(|| Httpd {
        signature: true,
        span: whole,
        ..Httpd::default()
    });
    for option in item.into_inner() {
        let value = option.clone().into_inner().last();
        match (option.as_rule(), value) {
            (Rule::httpd_port, Some(n)) => httpd.port = httpd_port(cx, &n).or(httpd.port),
            (Rule::httpd_address, Some(v)) => httpd.address = host(cx, &v).or(httpd.address.take()),
            (Rule::httpd_unixsocket, _) => unixsocket(cx, option, httpd),
            (Rule::httpd_signature, _) => {
                httpd.signature = !option.into_inner().any(|p| p.as_rule() == Rule::kw_disable)
            }
            (Rule::httpd_ssl, _) => httpd_ssl(cx, option, httpd),
            (Rule::httpd_pemfile, Some(v)) => {
                ssl_path(cx, httpd, "pemfile", &v, SslOption::PemFile)
            }
            (Rule::httpd_clientpemfile, Some(v)) => {
                ssl_path(cx, httpd, "clientpemfile", &v, SslOption::ClientPemFile)
            }
            (Rule::httpd_allowselfcert, _) => {
                ssl_set(httpd, SslOption::SelfSigned(SelfSigned::Allow))
            }
            (Rule::httpd_read_only, _) => httpd.read_only = true,
            (Rule::httpd_allow, _) => httpd.allow.extend(allow(cx, option)),
            _ => {}
        }
    }
    certificate_given(cx, httpd);
}

/// `port N`: Monit takes any number. 0 lets the system pick a free port
/// (which no client knows); above 65535 the interface cannot listen and
/// stays off, as Monit's does. Both are warnings.
fn httpd_port(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<u16> {
    let Ok(n) = pair.as_str().trim().parse::<u64>() else {
        return port(cx, pair);
    };
    let why = match u16::try_from(n) {
        Ok(0) => "the system picks a free port, which no client knows",
        Ok(p) => return Some(p),
        Err(_) => "no TCP interface can listen on it, so it stays off",
    };
    cx.push(
        Diagnostic::warning(span(pair), format!("port {n} is not a port: {why}"))
            .with_hint("a port is a whole number from 1 to 65535, e.g. 2812"),
    );
    u16::try_from(n).ok()
}

/// TLS on the control interface needs a certificate: `pemfile`, or both
/// `pemchain` and `pemkey`, not both ways.
fn certificate_given(cx: &mut LowerContext, httpd: &Httpd) {
    let Some(ssl) = httpd.ssl.as_ref().filter(|s| s.enabled) else {
        return;
    };
    let (file, chain, key) = (
        ssl.pemfile.is_some(),
        ssl.pemchain.is_some(),
        ssl.pemkey.is_some(),
    );
    let hint =
        "give 'pemfile: /path/cert.pem', or 'pemchain:' and 'pemkey:', in its ssl { } options";
    if file && (chain || key) {
        cx.push(
            Diagnostic::error(
                httpd.span,
                "the control interface's pemfile and pemchain/pemkey exclude each other",
            )
            .with_hint(hint),
        );
    } else if !(file || (chain && key)) {
        cx.push(
            Diagnostic::error(
                httpd.span,
                "the control interface uses TLS but has no certificate",
            )
            .with_hint(hint),
        );
    }
}

fn unixsocket(cx: &mut LowerContext, pair: SyntaxNode<'_>, httpd: &mut Httpd) {
    for p in pair.into_inner() {
        let value = p.clone().into_inner().last();
        match (p.as_rule(), value) {
            (Rule::string | Rule::path | Rule::bare, _) => {
                httpd.unixsocket =
                    absolute_path(cx, &p, "the unix socket").or(httpd.unixsocket.take())
            }
            (Rule::socket_uid, Some(v)) => {
                httpd.socket_uid =
                    socket_owner(cx, &v, "user", "/etc/passwd", crate::users::user_known)
            }
            (Rule::socket_gid, Some(v)) => {
                httpd.socket_gid =
                    socket_owner(cx, &v, "group", "/etc/group", crate::users::group_known)
            }
            (Rule::socket_permission, Some(v)) => httpd.socket_permission = octal_mode(cx, &v),
            _ => {}
        }
    }
}

/// `uid U` / `gid G` of the socket: a number, or a name this system knows
/// (an error otherwise, as in Monit: the daemon could not apply it).
fn socket_owner(
    cx: &mut LowerContext,
    pair: &SyntaxNode<'_>,
    what: &str,
    db: &str,
    known: fn(&str) -> bool,
) -> Option<String> {
    let name = text(pair);
    if known(&name) {
        return Some(name);
    }
    cx.push(
        Diagnostic::error(
            span(pair),
            format!("there is no {what} '{name}' on this system"),
        )
        .with_hint(format!("give a {what} name from {db}, or a number")),
    );
    None
}

/// `permission 0660`: an octal mode up to 07777.
fn octal_mode(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<u32> {
    match u32::from_str_radix(pair.as_str(), 8) {
        Ok(mode) if mode <= 0o7777 => Some(mode),
        _ => {
            cx.push(
                Diagnostic::error(
                    span(pair),
                    format!("'{}' is not an octal file mode", pair.as_str()),
                )
                .with_hint("write the mode in octal, such as 0660"),
            );
            None
        }
    }
}

fn httpd_ssl(cx: &mut LowerContext, pair: SyntaxNode<'_>, httpd: &mut Httpd) {
    let ssl = httpd.ssl.get_or_insert_with(SslOptions::default);
    ssl.enabled = true;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_disable => ssl.enabled = false,
            Rule::ssl_block => ssl_block_into(cx, p, ssl),
            _ => {}
        }
    }
}

/// The old spellings `pemfile PATH` and `clientpemfile PATH`.
fn ssl_path(
    cx: &mut LowerContext,
    httpd: &mut Httpd,
    key: &str,
    value: &SyntaxNode<'_>,
    option: fn(PathBuf) -> SslOption,
) {
    if let Some(path) = absolute_path(cx, value, &format!("the {key}")) {
        warn_if_missing(cx, value, key, &path.display().to_string());
        ssl_set(httpd, option(path));
    }
}

fn ssl_set(httpd: &mut Httpd, option: SslOption) {
    let ssl = httpd.ssl.get_or_insert_with(SslOptions::default);
    ssl.enabled = true;
    ssl.set(option);
}

const ALLOW_HINT: &str = "allow takes a host, an address, a network (10.0.0.0/8), user:password, @group or an htpasswd file";

fn allow(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Allow> {
    let inner: Vec<SyntaxNode<'_>> = pair.into_inner().collect();
    let read_only = inner.iter().any(|p| p.as_rule() == Rule::kw_read_only);
    let Some(value) = inner.get(1) else {
        cx.push(Diagnostic::error(span(&inner[0]), "'allow' needs a client").with_hint(ALLOW_HINT));
        return None;
    };
    match value.as_rule() {
        Rule::allow_group => {
            let name = value.clone().into_inner().next().map(|g| text(&g))?;
            Some(Allow::Group {
                group: name,
                read_only,
            })
        }
        Rule::allow_htpasswd => htpasswd(cx, value.clone(), read_only),
        Rule::allow_credentials => {
            let mut parts = value.clone().into_inner();
            let user = parts.next().map(|u| inner_text(&u))?;
            let password = parts.next().map(|p| inner_text(&p))?;
            Some(Allow::User {
                user,
                password,
                read_only,
            })
        }
        _ => allow_host(cx, value, read_only),
    }
}

fn allow_host(cx: &mut LowerContext, value: &SyntaxNode<'_>, read_only: bool) -> Option<Allow> {
    let host = inner_text(value);
    if read_only {
        cx.push(
            Diagnostic::error(
                span(value),
                format!("'read-only' cannot apply to the host '{host}'"),
            )
            .with_hint("read-only applies to a 'user:password' or an '@group'"),
        );
        return None;
    }
    match check_network(&host) {
        Ok(host) => Some(Allow::Host { host }),
        Err(message) => {
            cx.push(Diagnostic::error(span(value), message.to_string()).with_hint(
                "allow takes a host, an address, a network (10.0.0.0/8), user:password or @group",
            ));
            None
        }
    }
}

/// `allow [md5|crypt|cleartext] /path [users]`. The file is read when the
/// interface starts; a missing one is a warning now (Monit's -t refuses
/// it), as it may be put in place first.
fn htpasswd(cx: &mut LowerContext, pair: SyntaxNode<'_>, read_only: bool) -> Option<Allow> {
    let mut digest = Digest::Cleartext;
    let mut path = None;
    let mut users = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_md5 => digest = Digest::Md5,
            Rule::kw_crypt => digest = Digest::Crypt,
            Rule::htpasswd_file => {
                let file = inner_text(&p);
                warn_if_missing(cx, &p, "htpasswd file", &file);
                path = Some(PathBuf::from(file));
            }
            Rule::htpasswd_user => users.push(inner_text(&p)),
            _ => {}
        }
    }
    Some(Allow::Htpasswd {
        path: path?,
        digest,
        users,
        read_only,
    })
}

/// The text of a compound-atomic wrapper around a `string` or a word.
fn inner_text(pair: &SyntaxNode<'_>) -> String {
    match pair.clone().into_inner().next() {
        Some(inner) if inner.as_rule() == Rule::string => text(&inner),
        _ => pair.as_str().to_string(),
    }
}
