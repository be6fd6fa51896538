//! `protocol mysql`: reads the server's greeting packet, like Monit without
//! credentials. A handshake (protocol 10) means a live server; an error
//! packet ("Host is blocked", "Too many connections") is a failure with
//! the server's words.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, Field, ProtocolError};
use super::wire::{Dialogue, Stream, read_exact};
use crate::BoxFuture;
use crate::peer::Peer;

/// A greeting is ~100 bytes; refuse to read absurd lengths.
const PACKET_LIMIT: usize = 64 * 1024;

#[derive(Debug)]
pub struct Mysql;

pub fn build(conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    if conn.options.username.is_some() || conn.options.password.is_some() {
        return Err(BuildError::Feature("mysql login (username/password)"));
    }
    Ok(Conversation::Speak(Box::new(Mysql)))
}

/// Judges the greeting payload; `Ok` names the server version.
pub fn judge_greeting(payload: &[u8]) -> Result<String, ProtocolError> {
    match payload.first() {
        Some(10) => {
            let version = payload[1..].split(|b| *b == 0).next().unwrap_or_default();
            Ok(String::from_utf8_lossy(version).into_owned())
        }
        Some(0xff) => {
            let code = payload
                .get(1..3)
                .map_or(0, |c| u16::from_le_bytes([c[0], c[1]]));
            // Protocol 4.1 puts `#` and a 5-character SQL state first.
            let text = match payload.get(3) {
                Some(b'#') => payload.get(9..).unwrap_or_default(),
                _ => payload.get(3..).unwrap_or_default(),
            };
            Err(ProtocolError::ServerError {
                proto: "MYSQL",
                code: Some(code),
                text: String::from_utf8_lossy(text).into_owned(),
            })
        }
        Some(other) => Err(ProtocolError::Unexpected {
            proto: "MYSQL",
            what: "not a MySQL greeting",
            field: Field::ProtocolVersion(*other),
        }),
        None => Err(ProtocolError::Invalid {
            proto: "MYSQL",
            what: "an empty greeting",
        }),
    }
}

impl Dialogue for Mysql {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            let header = read_exact(stream, 4, limit).await?;
            let len =
                usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
            if len == 0 || len > PACKET_LIMIT {
                return Err(ProtocolError::Unexpected {
                    proto: "MYSQL",
                    what: "not a MySQL greeting",
                    field: Field::Size(len),
                });
            }
            let payload = read_exact(stream, len, limit).await?;
            judge_greeting(&payload).map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{bytes_server, talk_to};

    fn packet(payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut p = len.to_le_bytes()[..3].to_vec();
        p.push(0);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn greetings_are_judged_by_their_first_byte() {
        let ok = judge_greeting(b"\x0a8.0.36\0\x01\0\0\0salt");
        assert_eq!(ok.unwrap(), "8.0.36");
        let blocked = judge_greeting(b"\xff\x69\x04Host '10.0.0.1' is blocked")
            .unwrap_err()
            .to_string();
        assert!(
            blocked.contains("1129") && blocked.contains("is blocked"),
            "{blocked}"
        );
        let state = judge_greeting(b"\xff\x10\x04#08004Too many connections")
            .unwrap_err()
            .to_string();
        assert!(state.ends_with("Too many connections"), "{state}");
        assert!(judge_greeting(b"\x09old").is_err());
    }

    #[tokio::test]
    async fn a_server_handshake_passes() {
        let port = bytes_server(packet(b"\x0a10.11.6-MariaDB\0rest"), Vec::new()).await;
        talk_to(port, &Mysql).await.unwrap();
    }

    #[tokio::test]
    async fn an_http_server_is_not_taken_for_mysql() {
        let port = bytes_server(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), Vec::new()).await;
        assert!(talk_to(port, &Mysql).await.is_err());
    }
}
