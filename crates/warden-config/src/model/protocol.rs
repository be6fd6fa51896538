//! The protocols a connection test may name (`protocol NAME`): Monit 5.33's
//! list, kept here once. Lowering turns the word into a [`Protocol`]; the
//! probes' table matches on it exhaustively, so a protocol added here must
//! be answered there (spoken, or "not supported yet") before it compiles.

use std::fmt;

use serde::Serialize;

macro_rules! protocols {
    ($($variant:ident => $name:literal,)*) => {
        /// A protocol of a connection test; `Default` is a plain connect.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Protocol {
            $($variant,)*
        }

        impl Protocol {
            /// Every protocol: `default` first, then Monit's names in
            /// alphabetical order.
            pub const ALL: &'static [Protocol] = &[$(Protocol::$variant,)*];

            /// The name written after `protocol`, lowercase.
            pub fn name(self) -> &'static str {
                match self {
                    $(Protocol::$variant => $name,)*
                }
            }
        }
    };
}

protocols! {
    Default => "default",
    ApacheStatus => "apache-status",
    Clamav => "clamav",
    Dns => "dns",
    Dwp => "dwp",
    Fail2ban => "fail2ban",
    Ftp => "ftp",
    Gps => "gps",
    Http => "http",
    Https => "https",
    Imap => "imap",
    Imaps => "imaps",
    Ldap2 => "ldap2",
    Ldap3 => "ldap3",
    Lmtp => "lmtp",
    Memcache => "memcache",
    Mongodb => "mongodb",
    Mqtt => "mqtt",
    Mysql => "mysql",
    Mysqls => "mysqls",
    Nntp => "nntp",
    Ntp3 => "ntp3",
    Pgsql => "pgsql",
    Pop => "pop",
    Pops => "pops",
    PostfixPolicy => "postfix-policy",
    Radius => "radius",
    Rdate => "rdate",
    Redis => "redis",
    Rsync => "rsync",
    Sieve => "sieve",
    Sip => "sip",
    Smtp => "smtp",
    Smtps => "smtps",
    Spamassassin => "spamassassin",
    Ssh => "ssh",
    Tns => "tns",
    Websocket => "websocket",
}

impl Protocol {
    /// The protocol named `name`, without regard to case.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Spoken over TLS from the first byte (the socket defaults to tcpssl).
    pub fn tls_from_start(self) -> bool {
        matches!(
            self,
            Protocol::Https | Protocol::Imaps | Protocol::Pops | Protocol::Smtps
        )
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// As the name, the way the model showed it when it was a string.
impl Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol;

    #[test]
    fn every_name_is_lowercase_unique_and_found_again_in_any_case() {
        for (i, p) in Protocol::ALL.iter().enumerate() {
            assert_eq!(p.name(), p.name().to_ascii_lowercase());
            assert!(
                !Protocol::ALL[i + 1..].iter().any(|q| q.name() == p.name()),
                "{p} twice"
            );
            assert_eq!(Protocol::from_name(&p.name().to_uppercase()), Some(*p));
        }
        assert_eq!(Protocol::ALL[0], Protocol::Default);
        assert_eq!(Protocol::from_name("ws"), None);
        assert_eq!(Protocol::ALL.len(), 38);
    }
}
