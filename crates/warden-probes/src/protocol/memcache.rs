//! `protocol memcache`: one binary-protocol `NOOP` request, answered by a
//! response header (magic 0x81) with status 0. Cheap for the server, and
//! only a memcached speaks it.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, Field, ProtocolError};
use super::wire::{Dialogue, Stream, read_exact, send};
use crate::BoxFuture;
use crate::peer::Peer;

const HEADER: usize = 24;
const REQUEST_MAGIC: u8 = 0x80;
const RESPONSE_MAGIC: u8 = 0x81;
const NOOP: u8 = 0x0a;
/// Sent back unchanged by the server: tells our answer from a stray one.
const OPAQUE: [u8; 4] = *b"wdn1";

#[derive(Debug)]
pub struct Memcache;

pub fn build(_conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    Ok(Conversation::Speak(Box::new(Memcache)))
}

pub fn noop_request() -> [u8; HEADER] {
    let mut req = [0u8; HEADER];
    req[0] = REQUEST_MAGIC;
    req[1] = NOOP;
    req[12..16].copy_from_slice(&OPAQUE);
    req
}

/// Checks a response header; its body (if any) does not matter.
pub fn check_response(header: &[u8]) -> Result<(), ProtocolError> {
    if header.first() != Some(&RESPONSE_MAGIC) {
        return Err(ProtocolError::Unexpected {
            proto: "MEMCACHE",
            what: "not a binary-protocol response",
            field: Field::FirstByte(header.first().copied().unwrap_or(0)),
        });
    }
    let status = u16::from_be_bytes([header[6], header[7]]);
    if status != 0 {
        return Err(ProtocolError::Refused {
            proto: "MEMCACHE",
            what: "the server answered with",
            field: Field::Status(status),
        });
    }
    if header[12..16] != OPAQUE {
        return Err(ProtocolError::Invalid {
            proto: "MEMCACHE",
            what: "the answer belongs to another request",
        });
    }
    Ok(())
}

impl Dialogue for Memcache {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            send(stream, &noop_request(), limit).await?;
            let header = read_exact(stream, HEADER, limit).await?;
            check_response(&header)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{bytes_server, talk_to};

    fn response(status: u16) -> Vec<u8> {
        let mut r = vec![0u8; HEADER];
        r[0] = RESPONSE_MAGIC;
        r[1] = NOOP;
        r[6..8].copy_from_slice(&status.to_be_bytes());
        r[12..16].copy_from_slice(&OPAQUE);
        r
    }

    #[tokio::test]
    async fn a_noop_answered_with_status_zero_passes() {
        let port = bytes_server(Vec::new(), vec![(HEADER, response(0))]).await;
        talk_to(port, &Memcache).await.unwrap();
    }

    #[tokio::test]
    async fn an_error_status_or_a_text_answer_fails() {
        let port = bytes_server(Vec::new(), vec![(HEADER, response(0x81))]).await;
        let err = talk_to(port, &Memcache).await.unwrap_err();
        assert!(err.to_string().contains("status 129"), "{err}");
        let text = b"ERROR\r\nERROR\r\nERROR\r\nERROR\r\n".to_vec();
        let port = bytes_server(Vec::new(), vec![(HEADER, text)]).await;
        let err = talk_to(port, &Memcache).await.unwrap_err();
        assert!(err.to_string().contains("not a binary-protocol"), "{err}");
    }
}
