//! `protocol ssh`: the server's identification line (`SSH-2.0-...`, after
//! any banner lines the RFC allows), answered with ours so that the server
//! does not log a client that never spoke; then we hang up.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, ProtocolError};
use super::wire::{Dialogue, Stream, read_line, send};
use crate::BoxFuture;
use crate::peer::Peer;

/// Lines a server may send before its identification (RFC 4253 4.2).
const BANNER_LINES: usize = 20;

#[derive(Debug)]
pub struct Ssh;

pub fn build(_conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    Ok(Conversation::Speak(Box::new(Ssh)))
}

impl Dialogue for Ssh {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            for _ in 0..BANNER_LINES {
                let line = read_line(stream, limit).await?;
                if line.starts_with("SSH-") {
                    send(stream, b"SSH-2.0-Warden\r\n", limit).await?;
                    return Ok(());
                }
                if line.starts_with("Protocol mismatch") {
                    return Err(ProtocolError::Reply {
                        step: "SSH",
                        reply: line,
                    });
                }
            }
            Err(ProtocolError::Invalid {
                proto: "SSH",
                what: "no identification line from the server",
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{lines_server, talk_to};

    #[tokio::test]
    async fn an_identification_after_banner_lines_passes() {
        let port = lines_server("hello\r\nSSH-2.0-OpenSSH_9.2\r\n", &[]).await;
        talk_to(port, &Ssh).await.unwrap();
    }

    #[tokio::test]
    async fn a_server_that_is_not_ssh_fails() {
        let port = lines_server("220 smtp here\r\n", &[]).await;
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let err = Ssh
            .talk(&mut stream, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
    }
}
