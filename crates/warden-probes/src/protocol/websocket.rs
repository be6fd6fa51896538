//! `protocol websocket`: the HTTP upgrade (`request`, and the `host`,
//! `origin` and `version` options as in Monit) answered 101, then a ping
//! answered by a pong and a close answered by a close. Frames the server
//! sends first (a chat prompt, say) are skipped.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, ProtocolError};
use super::wire::{Dialogue, Stream, read_exact, read_line, send};
use crate::BoxFuture;
use crate::peer::Peer;

const PING: u8 = 0x9;
const PONG: u8 = 0xa;
const CLOSE: u8 = 0x8;
/// Frames skipped while waiting for the one we want, and their size bound.
const FRAMES: usize = 20;
const FRAME_LIMIT: u64 = 64 * 1024;
const HEADER_LINES: usize = 100;

#[derive(Debug)]
pub struct Websocket {
    request: String,
}

pub fn build(conn: &Connection, target: &Peer) -> Result<Conversation, BuildError> {
    let o = &conn.options;
    let extra = |name: &str| {
        o.extra
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let host = extra("host").unwrap_or_else(|| match target {
        Peer::Tcp { host, port, .. } | Peer::Udp { host, port, .. } => format!("{host}:{port}"),
        Peer::Unix { .. } => "localhost".into(),
    });
    let version = extra("version").unwrap_or_else(|| "13".into());
    let origin = extra("origin").unwrap_or_else(|| "http://localhost".into());
    let path = o.request.clone().unwrap_or_else(|| "/".into());
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: V2FyZGVuIHdlYnNvY2tldA==\r\nSec-WebSocket-Version: {version}\r\n\
         Origin: {origin}\r\nCache-Control: no-cache\r\n\r\n"
    );
    Ok(Conversation::Speak(Box::new(Websocket { request })))
}

/// A client frame: final, masked (clients must mask), empty.
fn frame(opcode: u8) -> [u8; 6] {
    [0x80 | opcode, 0x80, 0x57, 0x61, 0x72, 0x64]
}

/// Reads frames until one with `opcode`, skipping others.
async fn wait_for(
    stream: &mut dyn Stream,
    opcode: u8,
    limit: Duration,
) -> Result<(), ProtocolError> {
    for _ in 0..FRAMES {
        let head = read_exact(stream, 2, limit).await?;
        let masked = head[1] & 0x80 != 0;
        let len = match head[1] & 0x7f {
            126 => {
                let b = read_exact(stream, 2, limit).await?;
                u64::from(u16::from_be_bytes([b[0], b[1]]))
            }
            127 => {
                let b = read_exact(stream, 8, limit).await?;
                u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            n => u64::from(n),
        };
        if len > FRAME_LIMIT {
            return Err(ProtocolError::Length {
                proto: "WEBSOCKET",
                what: "a frame of",
                bytes: len,
                want: None,
            });
        }
        let skip = len as usize + if masked { 4 } else { 0 };
        read_exact(stream, skip, limit).await?;
        if head[0] & 0x0f == opcode {
            return Ok(());
        }
    }
    Err(ProtocolError::NoFrame {
        opcode,
        looked: FRAMES,
    })
}

impl Dialogue for Websocket {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            send(stream, self.request.as_bytes(), limit).await?;
            let status = read_line(stream, limit).await?;
            if status.split_whitespace().nth(1) != Some("101") {
                return Err(ProtocolError::Reply {
                    step: "WEBSOCKET: upgrade refused",
                    reply: status,
                });
            }
            let mut ended = false;
            for _ in 0..HEADER_LINES {
                if read_line(stream, limit).await?.is_empty() {
                    ended = true;
                    break;
                }
            }
            if !ended {
                return Err(ProtocolError::Invalid {
                    proto: "WEBSOCKET",
                    what: "endless response headers",
                });
            }
            send(stream, &frame(PING), limit).await?;
            wait_for(stream, PONG, limit).await?;
            send(stream, &frame(CLOSE), limit).await?;
            wait_for(stream, CLOSE, limit).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{bytes_server, talk_to};
    use warden_config::model::{Endpoint, IpVersion, Protocol, ProtocolOptions, SocketType};

    #[test]
    fn the_upgrade_request_names_path_host_origin_and_version() {
        let conn = Connection {
            endpoint: Endpoint::Port {
                host: None,
                port: 8080,
                ip: IpVersion::Any,
                socket: SocketType::Tcp,
            },
            protocol: Protocol::Websocket,
            options: ProtocolOptions {
                request: Some("/chat".into()),
                extra: vec![("origin".into(), "https://example.test".into())],
                ..Default::default()
            }
            .into(),
            exchange: Vec::new(),
            timeout: None,
            retry: None,
        };
        let target = Peer::Tcp {
            host: "127.0.0.1".into(),
            port: 8080,
            ip: IpVersion::Any,
            socket: SocketType::Tcp,
        };
        let Ok(Conversation::Speak(ws)) = build(&conn, &target) else {
            panic!("no websocket conversation")
        };
        let text = format!("{ws:?}");
        for want in [
            "GET /chat HTTP/1.1",
            "Host: 127.0.0.1:8080",
            "Origin: https://example.test",
            "Sec-WebSocket-Version: 13",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
    }

    fn plain() -> Websocket {
        Websocket {
            request: "GET / HTTP/1.1\r\nHost: t\r\n\r\n".into(),
        }
    }

    #[tokio::test]
    async fn upgrade_ping_pong_and_close_pass_past_a_prompt_frame() {
        let handshake = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        let prompt = [0x81, 0x02, b'h', b'i'];
        let script = vec![
            (plain().request.len(), [&handshake[..], &prompt].concat()),
            (6, vec![0x8a, 0x00]),
            (6, vec![0x88, 0x00]),
        ];
        let port = bytes_server(Vec::new(), script).await;
        talk_to(port, &plain()).await.unwrap();
    }

    #[tokio::test]
    async fn a_plain_http_answer_fails_the_upgrade() {
        let port = bytes_server(b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), Vec::new()).await;
        let err = talk_to(port, &plain()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "WEBSOCKET: upgrade refused: HTTP/1.1 200 OK"
        );
    }
}
