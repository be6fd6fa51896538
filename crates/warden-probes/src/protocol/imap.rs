//! `protocol imap`: the greeting (`* OK`, or `* PREAUTH`), then
//! `LOGOUT` answered with `* BYE`.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, ProtocolError};
use super::wire::{Dialogue, Stream, expect_line, read_line, send};
use crate::BoxFuture;
use crate::peer::Peer;

#[derive(Debug)]
pub struct Imap;

pub fn build(_conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    Ok(Conversation::Speak(Box::new(Imap)))
}

impl Dialogue for Imap {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            let greeting = read_line(stream, limit).await?;
            if !(greeting.starts_with("* OK") || greeting.starts_with("* PREAUTH")) {
                return Err(ProtocolError::Reply {
                    step: "IMAP greeting",
                    reply: greeting,
                });
            }
            send(stream, b"001 LOGOUT\r\n", limit).await?;
            expect_line(stream, "* BYE", "IMAP LOGOUT", limit).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{lines_server, talk_to};

    #[tokio::test]
    async fn greeting_and_logout_pass() {
        let port = lines_server(
            "* OK [CAPABILITY IMAP4rev1] ready\r\n",
            &[("001 LOGOUT", "* BYE logging out\r\n001 OK done\r\n")],
        )
        .await;
        talk_to(port, &Imap).await.unwrap();
    }

    #[tokio::test]
    async fn a_refusing_greeting_fails() {
        let port = lines_server("* BYE go away\r\n", &[]).await;
        let err = talk_to(port, &Imap).await.unwrap_err();
        assert!(err.to_string().contains("go away"), "{err}");
    }
}
