//! The protocols a port test can speak, found by name in one list. Adding a
//! protocol means one submodule plus one entry in [`PROTOCOLS`]; help text
//! and docs are generated from the same list.

pub mod dns;
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

use warden_config::model::Connection;

use crate::net::Target;

/// What to do once connected (or instead of connecting, for HTTP, where
/// reqwest owns the connection).
#[derive(Debug)]
pub enum Conversation {
    /// Connecting is the whole test.
    Connect,
    /// `send`/`expect` steps in order.
    Exchange(Vec<generic::Step>),
    Http(Box<http::HttpTest>),
    /// A named protocol's own conversation (smtp, redis, ...).
    Speak(Box<dyn wire::Dialogue>),
}

/// How a protocol turns a rule into a conversation.
pub type Build = fn(&Connection, &Target) -> Result<Conversation, String>;

/// One protocol in the registry.
#[derive(Debug)]
pub struct ProtocolDef {
    /// The name written after `protocol`, lowercase.
    pub name: &'static str,
    /// One line for help output.
    pub about: &'static str,
    pub build: Build,
}

/// Every protocol Warden speaks. Order: `default` first, then the generic
/// exchange, then named protocols alphabetically; help lists them in this
/// order.
pub const PROTOCOLS: &[ProtocolDef] = &[
    ProtocolDef {
        name: "default",
        about: "connect only (TCP, UDP or Unix socket)",
        build: |_, _| Ok(Conversation::Connect),
    },
    ProtocolDef {
        name: "generic",
        about: "send/expect exchange: send strings, expect regexes",
        build: generic::build,
    },
    ProtocolDef {
        name: "dns",
        about: "root NS query answered with records or REFUSED (UDP or TCP)",
        build: dns::build,
    },
    ProtocolDef {
        name: "http",
        about: "HTTP request: request, status, content, hostheader, username/password",
        build: http::build_http,
    },
    ProtocolDef {
        name: "https",
        about: "HTTP over TLS, with the same options as http",
        build: http::build_https,
    },
    ProtocolDef {
        name: "imap",
        about: "greeting '* OK', then LOGOUT answered '* BYE'",
        build: imap::build,
    },
    ProtocolDef {
        name: "ldap3",
        about: "anonymous LDAPv3 bind answered with success, then unbind",
        build: ldap3::build,
    },
    ProtocolDef {
        name: "memcache",
        about: "binary-protocol NOOP answered with status 0",
        build: memcache::build,
    },
    ProtocolDef {
        name: "mysql",
        about: "the server greeting is a handshake, not an error packet",
        build: mysql::build,
    },
    ProtocolDef {
        name: "ntp3",
        about: "NTPv3 client request over UDP answered by a synchronised server",
        build: ntp3::build,
    },
    ProtocolDef {
        name: "pgsql",
        about: "startup message answered by an authentication request (or error)",
        build: pgsql::build,
    },
    ProtocolDef {
        name: "pop",
        about: "greeting '+OK', then QUIT answered '+OK'",
        build: pop::build,
    },
    ProtocolDef {
        name: "redis",
        about: "AUTH when a password is given, PING answered '+PONG', QUIT",
        build: redis::build,
    },
    ProtocolDef {
        name: "smtp",
        about: "greeting 220, EHLO (or HELO) answered 250, QUIT answered 221",
        build: smtp::build,
    },
    ProtocolDef {
        name: "ssh",
        about: "the server's 'SSH-' identification line, answered with ours",
        build: ssh::build,
    },
    ProtocolDef {
        name: "websocket",
        about: "HTTP upgrade answered 101, ping answered pong, close answered close",
        build: websocket::build,
    },
];

/// The protocol names, in registry order, for docs and help.
pub fn protocol_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> =
        LazyLock::new(|| PROTOCOLS.iter().map(|p| p.name).collect());
    &NAMES
}

pub fn find(name: &str) -> Option<&'static ProtocolDef> {
    PROTOCOLS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The conversation a connection rule asks for, or why Warden cannot
/// have it yet.
pub fn conversation_for(conn: &Connection, target: &Target) -> Result<Conversation, String> {
    let name = conn.protocol.to_ascii_lowercase();
    let name = match name.as_str() {
        "" => "default",
        n => n,
    };
    if !conn.exchange.is_empty() && name != "default" && name != "generic" {
        return Err(format!(
            "send/expect cannot be combined with protocol {name}"
        ));
    }
    if !conn.exchange.is_empty() {
        return generic::build(conn, target);
    }
    match find(name) {
        Some(def) => (def.build)(conn, target),
        None => Err(format!(
            "protocol {name} is not supported yet (supported: {})",
            protocol_names().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_registry_order_and_are_unique_and_lowercase() {
        let names = protocol_names();
        assert_eq!(names[0], "default");
        assert_eq!(names.len(), PROTOCOLS.len());
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
