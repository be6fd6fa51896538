//! `protocol pop`: the greeting `+OK`, then `QUIT` answered `+OK`.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, ProtocolError};
use super::wire::{Dialogue, Stream, expect_line, send};
use crate::BoxFuture;
use crate::peer::Peer;

#[derive(Debug)]
pub struct Pop;

pub fn build(_conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    Ok(Conversation::Speak(Box::new(Pop)))
}

impl Dialogue for Pop {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            expect_line(stream, "+OK", "POP greeting", limit).await?;
            send(stream, b"QUIT\r\n", limit).await?;
            expect_line(stream, "+OK", "POP QUIT", limit).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{lines_server, talk_to};

    #[tokio::test]
    async fn greeting_and_quit_pass() {
        let port = lines_server("+OK POP3 ready\r\n", &[("QUIT", "+OK bye\r\n")]).await;
        talk_to(port, &Pop).await.unwrap();
    }

    #[tokio::test]
    async fn an_error_greeting_fails() {
        let port = lines_server("-ERR busy\r\n", &[]).await;
        let err = talk_to(port, &Pop).await.unwrap_err();
        assert!(err.to_string().contains("-ERR busy"), "{err}");
    }
}
