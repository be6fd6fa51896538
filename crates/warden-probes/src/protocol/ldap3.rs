//! `protocol ldap3`: an anonymous LDAPv3 bind, answered by a bind response
//! with result code 0 (success), then an unbind, as Monit does.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, Field, ProtocolError};
use super::wire::{Dialogue, Stream, read_exact, send};
use crate::BoxFuture;
use crate::peer::Peer;

/// BER: message 1, bindRequest { version 3, name "", simple "" }.
pub const BIND: [u8; 14] = [
    0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
];
/// BER: message 2, unbindRequest.
pub const UNBIND: [u8; 7] = [0x30, 0x05, 0x02, 0x01, 0x02, 0x42, 0x00];
const BIND_RESPONSE: u8 = 0x61;
const MESSAGE_LIMIT: usize = 16 * 1024;

#[derive(Debug)]
pub struct Ldap3;

pub fn build(_conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    Ok(Conversation::Speak(Box::new(Ldap3)))
}

/// Judges the body of the LDAPMessage answering the bind.
pub fn judge(body: &[u8]) -> Result<(), ProtocolError> {
    // messageID INTEGER 1, then the bindResponse.
    let rest = body
        .strip_prefix(&[0x02, 0x01, 0x01])
        .ok_or(invalid("the answer is not to our bind (message id)"))?;
    if rest.first() != Some(&BIND_RESPONSE) {
        return Err(invalid("the answer is not a bind response"));
    }
    let (_, after) = length(&rest[1..]).ok_or(invalid("a malformed bind response"))?;
    match after {
        [0x0a, 0x01, 0, ..] => Ok(()),
        [0x0a, 0x01, code, ..] => Err(ProtocolError::Refused {
            proto: "LDAP",
            what: "anonymous bind refused",
            field: Field::ResultCode(*code),
        }),
        _ => Err(invalid("a bind response without a result code")),
    }
}

fn invalid(what: &'static str) -> ProtocolError {
    ProtocolError::Invalid {
        proto: "LDAP",
        what,
    }
}

/// A BER length and what follows it.
fn length(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let first = *bytes.first()?;
    if first & 0x80 == 0 {
        return Some((usize::from(first), &bytes[1..]));
    }
    let n = usize::from(first & 0x7f);
    let digits = bytes.get(1..1 + n)?;
    if n > 4 {
        return None;
    }
    let len = digits
        .iter()
        .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
    Some((len, &bytes[1 + n..]))
}

impl Dialogue for Ldap3 {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            send(stream, &BIND, limit).await?;
            let head = read_exact(stream, 2, limit).await?;
            if head[0] != 0x30 {
                return Err(invalid("the answer is not an LDAP message"));
            }
            let len = if head[1] & 0x80 == 0 {
                usize::from(head[1])
            } else {
                let n = usize::from(head[1] & 0x7f);
                if n == 0 || n > 4 {
                    return Err(invalid("a malformed message length"));
                }
                let digits = read_exact(stream, n, limit).await?;
                digits
                    .iter()
                    .fold(0usize, |acc, b| acc << 8 | usize::from(*b))
            };
            if len > MESSAGE_LIMIT {
                return Err(ProtocolError::Length {
                    proto: "LDAP",
                    what: "an answer of",
                    bytes: len as u64,
                    want: None,
                });
            }
            let body = read_exact(stream, len, limit).await?;
            judge(&body)?;
            let _ = send(stream, &UNBIND, limit).await;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{bytes_server, talk_to};

    const SUCCESS: [u8; 14] = [
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
    ];

    #[test]
    fn bind_responses_are_judged_by_their_result_code() {
        assert!(judge(&SUCCESS[2..]).is_ok());
        let mut refused = SUCCESS;
        refused[9] = 49;
        let err = judge(&refused[2..]).unwrap_err();
        assert!(err.to_string().contains("49"), "{err}");
        assert!(judge(&[0x02, 0x01, 0x07, 0x61, 0x00]).is_err());
    }

    #[tokio::test]
    async fn a_successful_anonymous_bind_passes() {
        let port = bytes_server(Vec::new(), vec![(BIND.len(), SUCCESS.to_vec())]).await;
        talk_to(port, &Ldap3).await.unwrap();
    }
}
