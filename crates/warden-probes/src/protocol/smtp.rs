//! `protocol smtp`: the greeting (2xx), `EHLO` (falling back to `HELO` for
//! old servers) answered 250, then `QUIT` answered 221, as Monit does.
//! Multi-line replies (`250-...` up to `250 ...`) are read whole.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, ProtocolError};
use super::wire::{Dialogue, Stream, read_line, send};
use crate::BoxFuture;
use crate::peer::Peer;

/// At most this many lines in one reply (a long EHLO list has ~15).
const REPLY_LINES: usize = 100;

#[derive(Debug)]
pub struct Smtp;

pub fn build(conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    if conn.options.username.is_some() {
        return Err(BuildError::Feature("smtp login (username/password)"));
    }
    Ok(Conversation::Speak(Box::new(Smtp)))
}

/// One reply: its code and its last line.
pub async fn reply(
    stream: &mut dyn Stream,
    limit: Duration,
) -> Result<(u16, String), ProtocolError> {
    for _ in 0..REPLY_LINES {
        let line = read_line(stream, limit).await?;
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            return Err(ProtocolError::NotReply {
                what: "not an SMTP reply",
                line,
            });
        };
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, line));
        }
    }
    Err(ProtocolError::TooManyLines {
        what: "an SMTP reply",
        limit: REPLY_LINES,
    })
}

/// A reply of the class of `want` (2xx for 250), or the server's words
/// under `step`.
async fn expect(
    stream: &mut dyn Stream,
    want: u16,
    step: &'static str,
    limit: Duration,
) -> Result<(u16, String), ProtocolError> {
    let (code, line) = reply(stream, limit).await?;
    if code / 100 == want / 100 {
        Ok((code, line))
    } else {
        Err(ProtocolError::Reply { step, reply: line })
    }
}

impl Dialogue for Smtp {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            expect(stream, 220, "SMTP greeting", limit).await?;
            send(stream, b"EHLO localhost\r\n", limit).await?;
            let (code, _) = reply(stream, limit).await?;
            if code / 100 == 5 {
                send(stream, b"HELO localhost\r\n", limit).await?;
                expect(stream, 250, "SMTP HELO", limit).await?;
            } else if code / 100 != 2 {
                return Err(ProtocolError::ReplyCode {
                    step: "SMTP EHLO",
                    code,
                });
            }
            send(stream, b"QUIT\r\n", limit).await?;
            let (code, line) = reply(stream, limit).await?;
            if code != 221 {
                return Err(ProtocolError::Reply {
                    step: "SMTP QUIT",
                    reply: line,
                });
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{lines_server, talk_to};

    #[tokio::test]
    async fn a_live_smtp_server_passes_ehlo_and_quit() {
        let port = lines_server(
            "220 mx ESMTP\r\n",
            &[
                ("EHLO", "250-mx hello\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
                ("QUIT", "221 bye\r\n"),
            ],
        )
        .await;
        talk_to(port, &Smtp).await.unwrap();
    }

    #[tokio::test]
    async fn an_old_server_gets_helo_after_refusing_ehlo() {
        let port = lines_server(
            "220 old\r\n",
            &[
                ("EHLO", "502 what?\r\n"),
                ("HELO", "250 hi\r\n"),
                ("QUIT", "221 bye\r\n"),
            ],
        )
        .await;
        talk_to(port, &Smtp).await.unwrap();
    }

    #[tokio::test]
    async fn a_busy_greeting_fails_with_the_servers_words() {
        let port = lines_server("421 too busy\r\n", &[]).await;
        let err = talk_to(port, &Smtp).await.unwrap_err();
        assert_eq!(err.to_string(), "SMTP greeting: 421 too busy");
    }
}
