//! Checks of the values `set` statements take: host names, addresses and
//! networks, e-mail addresses, absolute paths, syslog facilities. Each
//! check returns why a value is wrong in words a user knows.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::path::PathBuf;

use super::super::common::{SyntaxNode, span, text};
use crate::diag::{Diagnostic, did_you_mean};
use crate::lower::context::LowerContext;
use crate::model::{ClientHost, Facility};
use crate::span::Span;

/// Why a host, an address or a network is not one, in words a user knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("'{0}' is not a valid host name or address")]
    Name(String),
    /// All digits and dots: meant as an IPv4 address, and not a valid one.
    #[error("'{0}' is not a valid IPv4 address")]
    Ipv4(String),
    #[error(
        "'{0}' is not a network mask: write a prefix length from 0 to 32 or a mask such as 255.255.255.0"
    )]
    Ipv4Mask(String),
    #[error("'{0}' is not an IPv6 prefix length (0 to 128)")]
    Ipv6Prefix(String),
    #[error("'{0}' is not a valid network address")]
    NetworkAddress(String),
}

/// An e-mail address that is not one, as written (the part between `<` and
/// `>` of a mailbox).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an e-mail address (expected name@domain)")]
pub struct EmailError(pub String);

/// A host name (`mail.example.com`), an IPv4 or an IPv6 address.
pub fn check_host(value: &str) -> Result<(), HostError> {
    let bare = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    check_host_name(value)
}

fn check_host_name(value: &str) -> Result<(), HostError> {
    let name = value.strip_suffix('.').unwrap_or(value);
    let bad = || Err(HostError::Name(value.to_string()));
    if name.is_empty() || name.len() > 253 {
        return bad();
    }
    if name.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(HostError::Ipv4(value.to_string()));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if name.split('.').all(label_ok) {
        Ok(())
    } else {
        bad()
    }
}

/// What `allow` accepts as a client: a host or address, or a network
/// written `10.0.0.0/8`, `10.0.0.0/255.0.0.0` or `fd00::/8`. Addresses
/// and networks come back parsed; a name stays a name, resolved when the
/// interface starts.
pub fn check_network(value: &str) -> Result<ClientHost, HostError> {
    let written = || value.into();
    let Some((address, mask)) = value.split_once('/') else {
        if let Ok(addr) = value.parse::<IpAddr>() {
            return Ok(ClientHost::Network {
                net: IpNet::from(addr),
                written: written(),
            });
        }
        check_host(value)?;
        return Ok(ClientHost::Name(value.to_string()));
    };
    let net = match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => ipv4_net(v4, mask)?,
        Ok(IpAddr::V6(v6)) => mask
            .parse::<u8>()
            .ok()
            .and_then(|prefix| Ipv6Net::new(v6, prefix).ok())
            .ok_or_else(|| HostError::Ipv6Prefix(mask.to_string()))?
            .into(),
        Err(_) => return Err(HostError::NetworkAddress(address.to_string())),
    };
    Ok(ClientHost::Network {
        net,
        written: written(),
    })
}

/// An IPv4 network with a prefix length or a dotted mask whose ones come
/// first (`255.255.240.0`).
fn ipv4_net(address: Ipv4Addr, mask: &str) -> Result<IpNet, HostError> {
    let net = match mask.parse::<u8>() {
        Ok(prefix) => Ipv4Net::new(address, prefix).ok(),
        Err(_) => mask
            .parse::<Ipv4Addr>()
            .ok()
            .and_then(|m| Ipv4Net::with_netmask(address, m).ok()),
    };
    net.map(IpNet::from)
        .ok_or_else(|| HostError::Ipv4Mask(mask.to_string()))
}

/// An e-mail address, optionally in angle brackets (`<ops@example.com>`).
/// The domain may hold Monit's `$HOST`. As in Monit, the name may hold
/// `<` and `>` (`<NAME>@example.com`, a placeholder: see
/// [`placeholder_address`]).
pub fn check_email(value: &str) -> Result<String, EmailError> {
    let address = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value)
        .trim();
    let bad = || Err(EmailError(value.to_string()));
    let Some((local, domain)) = address.split_once('@') else {
        return bad();
    };
    let word_ok = |w: &str, refused: &str| {
        !w.is_empty()
            && !w
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || refused.contains(c))
    };
    if !word_ok(local, "@,;\"")
        || !word_ok(domain, "<>@,;\"")
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return bad();
    }
    Ok(address.to_string())
}

/// Whether an address's name is a placeholder such as `<NAME>` that was
/// never filled in: Monit takes it, no mail server does.
pub fn placeholder_address(address: &str) -> bool {
    address
        .split_once('@')
        .is_some_and(|(local, _)| local.contains('<') || local.contains('>'))
}

/// A sender or reply-to: `ops@example.com` or `Ops Team <ops@example.com>`.
pub fn check_mailbox(value: &str) -> Result<(), EmailError> {
    match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close && value[close + 1..].trim().is_empty() => {
            check_email(&value[open + 1..close]).map(|_| ())
        }
        _ => check_email(value).map(|_| ()),
    }
}

/// A pair's span without the blanks it may end with (a mail-format line, a
/// number whose unit was left out), so that carets cover only the value.
pub fn trimmed_span(pair: &SyntaxNode<'_>) -> Span {
    let whole = span(pair);
    let kept = pair.as_str().trim_end().len();
    Span::new(
        whole.start,
        whole.start + kept.max(1).min(whole.end - whole.start),
    )
}

/// The value of a `set_value` position as an absolute path.
pub fn absolute_path(cx: &mut LowerContext, pair: &SyntaxNode<'_>, what: &str) -> Option<PathBuf> {
    let value = text(pair);
    if value.starts_with('/') {
        return Some(PathBuf::from(value));
    }
    cx.push(
        Diagnostic::error(
            span(pair),
            format!("{what} must be an absolute path, not '{value}'"),
        )
        .with_hint("write the full path, starting with '/'"),
    );
    None
}

/// A host or address value, reported at its span when malformed.
pub fn host(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<String> {
    let value = text(pair);
    match check_host(&value) {
        Ok(()) => Some(value),
        // Monit takes `999.1.1.1` as a name that never resolves: a warning.
        Err(message) if value.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            cx.push(
                Diagnostic::warning(
                    span(pair),
                    format!("{message}: it is read as a host name, which will not resolve"),
                )
                .with_hint("each of the four numbers of an IPv4 address is 0-255"),
            );
            Some(value)
        }
        Err(message) => {
            cx.error(span(pair), message.to_string());
            None
        }
    }
}

/// A syslog facility (`log_daemon`, `local0`), spelled as Monit does.
pub fn facility(cx: &mut LowerContext, pair: &SyntaxNode<'_>) -> Option<Facility> {
    let value = text(pair).to_ascii_lowercase();
    let full = if value.starts_with("log_") {
        value.clone()
    } else {
        format!("log_{value}")
    };
    if let Some(found) = Facility::from_name(&full) {
        return Some(found);
    }
    let mut diag = Diagnostic::error(span(pair), format!("unknown syslog facility '{value}'"));
    let names: Vec<&str> = Facility::ALL.iter().map(|f| f.name()).collect();
    diag = match did_you_mean(&full, &names) {
        Some(s) => diag.with_hint(format!("did you mean '{s}'?")),
        None => diag.with_hint("use log_daemon, log_user or log_local0 to log_local7"),
    };
    cx.push(diag);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_addresses_and_networks_are_told_apart_from_garbage() {
        let good_hosts = [
            "localhost",
            "mail.example.com",
            "10.1.2.3",
            "::1",
            "fe80::1",
            "smtp-1.ex_ample.org.",
        ];
        for h in good_hosts {
            assert_eq!(check_host(h), Ok(()), "{h}");
        }
        for h in [
            "300.1.1.1",
            "a..b",
            "-bad.example",
            "1.2.3",
            "ex ample",
            "host/x",
        ] {
            assert!(check_host(h).is_err(), "{h}");
        }
        let good_networks = [
            "10.0.0.0/8",
            "192.168.1.0/255.255.255.0",
            "0.0.0.0/0.0.0.0",
            "0.0.0.0/0",
            "fd00::/8",
        ];
        for n in good_networks {
            assert!(check_network(n).is_ok(), "{n}");
        }
        for n in [
            "10.0.0.0/33",
            "10.0.0.0/255.0.255.0",
            "fd00::/129",
            "10.0.0/8",
            "x.y/8",
        ] {
            assert!(check_network(n).is_err(), "{n}");
        }
    }

    #[test]
    fn mail_addresses_need_a_local_part_and_a_domain() {
        assert_eq!(
            check_email("<john@example.com>"),
            Ok("john@example.com".to_string())
        );
        assert_eq!(check_email("monit@$HOST"), Ok("monit@$HOST".to_string()));
        for bad in ["john", "@example.com", "john@", "a@b@c", "john@.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert_eq!(check_mailbox("Monit Support <monit@foo.bar>"), Ok(()));
        assert!(check_mailbox("Monit Support").is_err());
    }
}
