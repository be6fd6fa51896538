//! `protocol redis`: `AUTH` first when the rule has a password (with the
//! username too, for Redis 6 ACLs), then `PING` answered `+PONG`, then
//! `QUIT`. Commands go as RESP arrays, as real clients send them.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, ProtocolError};
use super::wire::{Dialogue, Stream, read_line, send};
use crate::BoxFuture;
use crate::peer::Peer;

#[derive(Debug)]
pub struct Redis {
    username: Option<String>,
    password: Option<String>,
}

pub fn build(conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    let o = &conn.options;
    if o.username.is_some() && o.password.is_none() {
        return Err(BuildError::Feature("a redis username without a password"));
    }
    Ok(Conversation::Speak(Box::new(Redis {
        username: o.username.clone(),
        password: o.password.clone(),
    })))
}

/// A command as a RESP array of bulk strings.
pub fn command(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n{w}\r\n", w.len()).as_bytes());
    }
    out
}

impl Redis {
    async fn auth(&self, stream: &mut dyn Stream, limit: Duration) -> Result<(), ProtocolError> {
        let Some(password) = &self.password else {
            return Ok(());
        };
        let words = match &self.username {
            Some(user) => vec!["AUTH", user.as_str(), password.as_str()],
            None => vec!["AUTH", password.as_str()],
        };
        send(stream, &command(&words), limit).await?;
        let line = read_line(stream, limit).await?;
        if line.starts_with("+OK") {
            Ok(())
        } else {
            Err(ProtocolError::Reply {
                step: "Redis AUTH",
                reply: line,
            })
        }
    }
}

impl Dialogue for Redis {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            self.auth(stream, limit).await?;
            send(stream, &command(&["PING"]), limit).await?;
            let line = read_line(stream, limit).await?;
            if !line.starts_with("+PONG") {
                return Err(ProtocolError::Reply {
                    step: "Redis PING",
                    reply: line,
                });
            }
            send(stream, &command(&["QUIT"]), limit).await?;
            // The answer to QUIT does not matter: the server was alive.
            let _ = read_line(stream, limit).await;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{lines_server, talk_to};

    fn redis(user: Option<&str>, password: Option<&str>) -> Redis {
        Redis {
            username: user.map(String::from),
            password: password.map(String::from),
        }
    }

    #[test]
    fn commands_are_resp_arrays() {
        assert_eq!(command(&["PING"]), b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(
            command(&["AUTH", "pw"]),
            b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"
        );
    }

    #[tokio::test]
    async fn ping_answered_with_pong_passes() {
        let port = lines_server("", &[("*1", "+PONG\r\n")]).await;
        talk_to(port, &redis(None, None)).await.unwrap();
    }

    #[tokio::test]
    async fn a_server_that_wants_a_password_fails_and_says_so() {
        let port = lines_server("", &[("*1", "-NOAUTH Authentication required.\r\n")]).await;
        let err = talk_to(port, &redis(None, None)).await.unwrap_err();
        assert!(err.to_string().contains("NOAUTH"), "{err}");
    }

    #[tokio::test]
    async fn auth_goes_first_when_the_rule_has_a_password() {
        let port = lines_server("", &[("*2", "+OK\r\n"), ("*1", "+PONG\r\n")]).await;
        talk_to(port, &redis(None, Some("pw"))).await.unwrap();
    }
}
