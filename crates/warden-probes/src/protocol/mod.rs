//! The protocols a port test can speak: one line each in [`speaks`], which
//! answers every [`Protocol`] of the config's list. Adding a protocol means
//! one submodule plus that line; help text and docs come from the same
//! table.

pub mod conversation;
pub mod dns;
pub mod error;
pub mod generic;
pub mod http;
pub mod imap;
pub mod ldap3;
pub mod memcache;
pub mod mysql;
pub mod ntp3;
pub mod pgsql;
pub mod pop;
pub mod redis;
pub mod smtp;
pub mod ssh;
pub mod url;
pub mod websocket;
pub mod wire;

#[cfg(test)]
mod testing;

use std::sync::LazyLock;

use warden_config::model::{Connection, Protocol};

use crate::peer::Peer;

pub use conversation::{Build, Conversation};
pub use error::{BuildError, ProtocolError};

/// One protocol Warden speaks.
#[derive(Debug, Clone, Copy)]
pub struct ProtocolDef {
    /// The name written after `protocol`, lowercase.
    pub name: &'static str,
    /// One line for help output.
    pub about: &'static str,
    pub build: Build,
}

/// How Warden speaks `protocol`, or None when it cannot yet. One line per
/// protocol of the config's list, matched exhaustively: a protocol added
/// there does not compile until it is answered here.
pub fn speaks(protocol: Protocol) -> Option<ProtocolDef> {
    use Protocol::*;
    let def = |about, build| {
        Some(ProtocolDef {
            name: protocol.name(),
            about,
            build,
        })
    };
    match protocol {
        Default => def("connect only (TCP, UDP or Unix socket)", |_, _| {
            Ok(Conversation::Connect)
        }),
        Dns => def(
            "root NS query answered with records or REFUSED (UDP or TCP)",
            dns::build,
        ),
        Http => def(
            "HTTP request: request, status, content, hostheader, username/password",
            |conn, peer| Ok(Conversation::Http(Box::new(http::build_http(conn, peer)?))),
        ),
        Https => def(
            "HTTP over TLS, with the same options as http",
            |conn, peer| Ok(Conversation::Http(Box::new(http::build_https(conn, peer)?))),
        ),
        Imap => def("greeting '* OK', then LOGOUT answered '* BYE'", imap::build),
        Ldap3 => def(
            "anonymous LDAPv3 bind answered with success, then unbind",
            ldap3::build,
        ),
        Memcache => def(
            "binary-protocol NOOP answered with status 0",
            memcache::build,
        ),
        Mysql => def(
            "the server greeting is a handshake, not an error packet",
            mysql::build,
        ),
        Ntp3 => def(
            "NTPv3 client request over UDP answered by a synchronised server",
            ntp3::build,
        ),
        Pgsql => def(
            "startup message answered by an authentication request (or error)",
            pgsql::build,
        ),
        Pop => def("greeting '+OK', then QUIT answered '+OK'", pop::build),
        Redis => def(
            "AUTH when a password is given, PING answered '+PONG', QUIT",
            redis::build,
        ),
        Smtp => def(
            "greeting 220, EHLO (or HELO) answered 250, QUIT answered 221",
            smtp::build,
        ),
        Ssh => def(
            "the server's 'SSH-' identification line, answered with ours",
            ssh::build,
        ),
        Websocket => def(
            "HTTP upgrade answered 101, ping answered pong, close answered close",
            websocket::build,
        ),
        ApacheStatus | Clamav | Dwp | Fail2ban | Ftp | Gps | Imaps | Ldap2 | Lmtp | Mongodb
        | Mqtt | Mysqls | Nntp | Pops | PostfixPolicy | Radius | Rdate | Rsync | Sieve | Sip
        | Smtps | Spamassassin | Tns => None,
    }
}

/// The send/expect exchange: not a `protocol` word but listed with them.
const GENERIC: ProtocolDef = ProtocolDef {
    name: "generic",
    about: "send/expect exchange: send strings, expect regexes",
    build: generic::build,
};

/// Every protocol Warden speaks. Order: `default` first, then the generic
/// exchange, then named protocols alphabetically; help lists them in this
/// order.
pub fn protocols() -> &'static [ProtocolDef] {
    static ALL: LazyLock<Vec<ProtocolDef>> = LazyLock::new(|| {
        let mut all: Vec<ProtocolDef> = Protocol::ALL.iter().filter_map(|p| speaks(*p)).collect();
        all.insert(1, GENERIC);
        all
    });
    &ALL
}

/// The protocol names, in registry order, for docs and help.
pub fn protocol_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> =
        LazyLock::new(|| protocols().iter().map(|p| p.name).collect());
    &NAMES
}

/// A protocol Warden speaks, by the name written (any case).
pub fn find(name: &str) -> Option<&'static ProtocolDef> {
    protocols()
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The conversation a connection rule asks for, or why Warden cannot
/// have it yet.
pub fn conversation_for(conn: &Connection, target: &Peer) -> Result<Conversation, BuildError> {
    if !conn.exchange.is_empty() && conn.protocol != Protocol::Default {
        return Err(BuildError::ExchangeWith(conn.protocol));
    }
    if !conn.exchange.is_empty() {
        return generic::build(conn, target);
    }
    match speaks(conn.protocol) {
        Some(def) => (def.build)(conn, target),
        None => Err(BuildError::Protocol(conn.protocol)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_registry_order_and_are_unique_and_lowercase() {
        let names = protocol_names();
        assert_eq!(names[0], "default");
        assert_eq!(names.len(), protocols().len());
        for (i, n) in names.iter().enumerate() {
            assert_eq!(*n, n.to_ascii_lowercase());
            assert!(!names[i + 1..].contains(n), "{n} twice");
        }
    }

    #[test]
    fn protocols_are_found_without_regard_to_case() {
        assert_eq!(find("HTTP").map(|p| p.name), Some("http"));
        assert!(find("gopher").is_none());
    }
}
