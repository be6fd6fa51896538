//! Why a protocol test could not be set up ([`BuildError`]) or failed
//! ([`ProtocolError`], with [`WireError`] for the bytes under it). Each
//! variant's words are the ones events, mails and `warden status` show, so
//! they stay as they are; the reason is made from them once, by the probe.

use std::fmt;

use regex::Regex;
use warden_config::model::{Operator, Protocol};

use crate::unsupported::NotSupported;

/// Why a rule cannot become a conversation yet; the words complete
/// "... is not supported yet".
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("send/expect combined with protocol {0}")]
    ExchangeWith(Protocol),
    #[error("protocol {0}")]
    Protocol(Protocol),
    /// An option, or a mix of options, the protocol does not take yet.
    #[error("{0}")]
    Feature(&'static str),
    #[error("bad hostheader {0:?}")]
    HostHeader(String),
    #[error("http header {0:?} is not \"Name: value\"")]
    Header(String),
    #[error("cannot set up the http client: {0}")]
    Client(#[source] reqwest::Error),
}

/// A protocol that cannot be set up is a rule Warden cannot test yet.
impl From<BuildError> for NotSupported {
    fn from(e: BuildError) -> NotSupported {
        NotSupported(e.to_string())
    }
}

/// Why a read or write on the wire failed, before any protocol judged
/// the answer.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("timed out sending")]
    SendTimeout,
    #[error("send failed: {0}")]
    Send(#[source] std::io::Error),
    #[error("timed out waiting for the server")]
    Timeout,
    #[error("timed out waiting for an answer")]
    NoAnswer,
    #[error("the server closed the connection")]
    Closed,
    #[error("read failed: {0}")]
    Read(#[source] std::io::Error),
    #[error("a line longer than {0} bytes")]
    LineTooLong(usize),
    #[error("connection refused")]
    Refused,
    #[error("receive failed: {0}")]
    Receive(#[source] std::io::Error),
    #[error("{what}: expected {prefix:?}, got {:?}", shorten(.got))]
    Unexpected {
        what: &'static str,
        prefix: &'static str,
        got: String,
    },
}

/// Why a protocol test failed once connected (or, for HTTP, once asked).
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The bytes did not get there or back: I/O, a timeout, a hang-up.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A reply line other than the one the step wants, quoted.
    #[error("{step}: {}", shorten(.reply))]
    Reply { step: &'static str, reply: String },
    /// A reply code that is neither the one wanted nor a known fallback.
    #[error("{step} answered {code}")]
    ReplyCode { step: &'static str, code: u16 },
    /// A line that is not a reply of the protocol at all, quoted.
    #[error("{what}: {:?}", shorten(.line))]
    NotReply { what: &'static str, line: String },
    /// The server's error reply, in its own words (and its code, if any).
    #[error("{proto}: {}", ServerWords(*.code, .text))]
    ServerError {
        proto: &'static str,
        code: Option<u16>,
        text: String,
    },
    /// An answer of the protocol whose code says no.
    #[error("{proto}: {what} {field}")]
    Refused {
        proto: &'static str,
        what: &'static str,
        field: Field,
    },
    /// An answer that, going by one of its fields, is not the one wanted
    /// or not of the protocol at all.
    #[error("{proto}: {what} {field}")]
    Unexpected {
        proto: &'static str,
        what: &'static str,
        field: Field,
    },
    /// An answer or frame of a length the protocol does not allow.
    #[error("{proto}: {what} {bytes} bytes{}", Wanted(*.want))]
    Length {
        proto: &'static str,
        what: &'static str,
        bytes: u64,
        /// The one length allowed, when there is one.
        want: Option<usize>,
    },
    /// An answer the protocol does not allow, in fixed words.
    #[error("{proto}: {what}")]
    Invalid {
        proto: &'static str,
        what: &'static str,
    },
    /// A reply that goes on past the lines any real one takes.
    #[error("{what} longer than {limit} lines")]
    TooManyLines { what: &'static str, limit: usize },
    /// The frame waited for did not come among the first few.
    #[error("WEBSOCKET: no frame with opcode {opcode:#x} in {looked}")]
    NoFrame { opcode: u8, looked: usize },
    #[error("this protocol needs a TCP connection, not UDP")]
    NeedsTcp,
    #[error("{proto} needs UDP (write 'type udp')")]
    NeedsUdp { proto: &'static str },
    /// A send/expect pattern that did not match what arrived.
    #[error("expected {:?}{}{}", .pattern.as_str(), But(.missed), Got(.got))]
    Expect {
        pattern: regex::bytes::Regex,
        missed: Option<Missed>,
        /// What arrived (its first 200 bytes), when anything did.
        got: Option<String>,
    },
    /// The HTTP request got no answer; reqwest's causes say why.
    #[error("{}", Causes(.0))]
    Request(#[source] reqwest::Error),
    #[error("HTTP status {status} from {url} does not satisfy status {} {expected}", .op.symbol())]
    HttpStatus {
        status: u16,
        url: String,
        op: Operator,
        expected: u16,
    },
    #[error("{url} sent no certificate")]
    NoCertificate { url: String },
    /// The certificate could not be read, or expires too soon.
    #[error("{source} ({url})")]
    Certificate {
        url: String,
        source: crate::tls::CertificateError,
    },
    #[error("content {} {:?} failed for {url}", if *.must_match { "=" } else { "!=" }, .pattern.as_str())]
    Content {
        must_match: bool,
        pattern: Regex,
        url: String,
    },
}

/// The field of an answer that decided it, as the words show it (some
/// in parentheses after what they explain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ResponseCode(u8),
    Status(u16),
    ResultCode(u8),
    AuthMethod(u32),
    Mode(u8),
    ProtocolVersion(u8),
    FirstByte(u8),
    /// The length a header announced.
    Size(usize),
    /// A message type byte, shown as a character.
    Type(u8),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::ResponseCode(c) => write!(f, "response code {c}"),
            Field::Status(s) => write!(f, "status {s}"),
            Field::ResultCode(c) => write!(f, "(result code {c})"),
            Field::AuthMethod(m) => write!(f, "(authentication method {m})"),
            Field::Mode(m) => write!(f, "(mode {m})"),
            Field::ProtocolVersion(v) => write!(f, "(protocol version {v})"),
            Field::FirstByte(b) => write!(f, "(first byte 0x{b:02x})"),
            Field::Size(n) => write!(f, "({n} bytes)"),
            Field::Type(t) => write!(f, "{:?}", char::from(*t)),
        }
    }
}

/// How a send/expect step missed its pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// The buffer filled up (this many bytes) without a match.
    NoMatch(usize),
    TimedOut,
    Closed,
}

impl fmt::Display for Missed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missed::NoMatch(n) => write!(f, "no match in the first {n} bytes"),
            Missed::TimedOut => f.write_str("timed out waiting"),
            Missed::Closed => f.write_str("the connection closed"),
        }
    }
}

/// A server's words, cut to a length that fits a log line.
pub fn shorten(text: &str) -> String {
    let mut cut: String = text.chars().take(120).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    cut
}

/// "error 1129 from the server: Host is blocked", or just the words.
struct ServerWords<'a>(Option<u16>, &'a str);

impl fmt::Display for ServerWords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(code) => write!(f, "error {code} from the server: {}", self.1),
            None => f.write_str(self.1),
        }
    }
}

/// ", not 48" after a length, when only one is allowed.
struct Wanted(Option<usize>);

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, ", not {n}"),
            None => Ok(()),
        }
    }
}

struct But<'a>(&'a Option<Missed>);

impl fmt::Display for But<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(missed) => write!(f, " but {missed}"),
            None => Ok(()),
        }
    }
}

struct Got<'a>(&'a Option<String>);

impl fmt::Display for Got<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(got) => write!(f, "; got {got:?}"),
            None => Ok(()),
        }
    }
}

/// reqwest's error with its causes, which hold the useful part
/// ("connection refused", "operation timed out").
struct Causes<'a>(&'a reqwest::Error);

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::error::Error;
        if self.0.is_timeout() {
            f.write_str("timed out: ")?;
        }
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_server_text_is_shortened_for_logs() {
        assert_eq!(shorten("ok"), "ok");
        assert!(shorten(&"x".repeat(500)).ends_with("..."));
    }

    /// The words reach events, mails and `warden status`: a sample of
    /// each shape, spelled out.
    #[test]
    fn each_kind_of_failure_keeps_its_words() {
        let pattern = regex::bytes::Regex::new("^220").unwrap();
        let cases: [(ProtocolError, &str); 10] = [
            (
                ProtocolError::Reply {
                    step: "SMTP greeting",
                    reply: "421 busy".into(),
                },
                "SMTP greeting: 421 busy",
            ),
            (
                ProtocolError::ServerError {
                    proto: "MYSQL",
                    code: Some(1129),
                    text: "Host is blocked".into(),
                },
                "MYSQL: error 1129 from the server: Host is blocked",
            ),
            (
                ProtocolError::Refused {
                    proto: "LDAP",
                    what: "anonymous bind refused",
                    field: Field::ResultCode(49),
                },
                "LDAP: anonymous bind refused (result code 49)",
            ),
            (
                ProtocolError::Unexpected {
                    proto: "MEMCACHE",
                    what: "not a binary-protocol response",
                    field: Field::FirstByte(0x45),
                },
                "MEMCACHE: not a binary-protocol response (first byte 0x45)",
            ),
            (
                ProtocolError::Unexpected {
                    proto: "PGSQL",
                    what: "unexpected answer type",
                    field: Field::Type(b'H'),
                },
                "PGSQL: unexpected answer type 'H'",
            ),
            (
                ProtocolError::Length {
                    proto: "NTP",
                    what: "an answer of",
                    bytes: 10,
                    want: Some(48),
                },
                "NTP: an answer of 10 bytes, not 48",
            ),
            (
                ProtocolError::NoFrame {
                    opcode: 0xa,
                    looked: 20,
                },
                "WEBSOCKET: no frame with opcode 0xa in 20",
            ),
            (
                ProtocolError::Expect {
                    pattern: pattern.clone(),
                    missed: Some(Missed::Closed),
                    got: Some("500 go away\r\n".into()),
                },
                r#"expected "^220" but the connection closed; got "500 go away\r\n""#,
            ),
            (
                ProtocolError::Expect {
                    pattern,
                    missed: Some(Missed::TimedOut),
                    got: None,
                },
                r#"expected "^220" but timed out waiting"#,
            ),
            (
                WireError::Unexpected {
                    what: "POP greeting",
                    prefix: "+OK",
                    got: "-ERR busy".into(),
                }
                .into(),
                r#"POP greeting: expected "+OK", got "-ERR busy""#,
            ),
        ];
        for (error, words) in cases {
            assert_eq!(error.to_string(), words);
        }
    }
}
