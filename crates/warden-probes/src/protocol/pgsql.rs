//! `protocol pgsql`: a startup message (user and database `root`, as Monit
//! sends when the rule names neither), answered by an authentication
//! request or an error: either way a PostgreSQL server is talking. With
//! `username` (and `database`), the server must accept the login without a
//! password (trust) and come to ReadyForQuery: with trust it says
//! AuthenticationOk before it looks the role and the database up, so an
//! unknown role is an error that follows; then `Terminate`.

use std::time::Duration;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, Field, ProtocolError};
use super::wire::{Dialogue, Stream, read_exact, send};
use crate::BoxFuture;
use crate::peer::Peer;

const PROTOCOL_3_0: u32 = 3 << 16;
const MESSAGE_LIMIT: usize = 64 * 1024;
/// Messages read after AuthenticationOk (parameter statuses, the key,
/// notices) before ReadyForQuery must have come.
const AFTER_LOGIN_LIMIT: usize = 64;

#[derive(Debug)]
pub struct Pgsql {
    user: Option<String>,
    database: Option<String>,
}

pub fn build(conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    if conn.options.password.is_some() {
        return Err(BuildError::Feature("pgsql login with a password"));
    }
    let database = conn
        .options
        .extra
        .iter()
        .find(|(k, _)| k == "database")
        .map(|(_, v)| v.clone());
    Ok(Conversation::Speak(Box::new(Pgsql {
        user: conn.options.username.clone(),
        database,
    })))
}

impl Pgsql {
    /// Whether any answer is good enough (Monit's test without a login).
    fn lenient(&self) -> bool {
        self.user.is_none() && self.database.is_none()
    }

    pub fn startup(&self) -> Vec<u8> {
        let mut params = Vec::new();
        let user = self.user.as_deref().unwrap_or("root");
        let database = match (&self.user, &self.database) {
            (_, Some(db)) => Some(db.as_str()),
            (None, None) => Some("root"),
            (Some(_), None) => None,
        };
        for (k, v) in [("user", Some(user)), ("database", database)] {
            if let Some(v) = v {
                params.extend_from_slice(format!("{k}\0{v}\0").as_bytes());
            }
        }
        params.push(0);
        let len = (8 + params.len()) as u32;
        let mut msg = len.to_be_bytes().to_vec();
        msg.extend_from_slice(&PROTOCOL_3_0.to_be_bytes());
        msg.extend_from_slice(&params);
        msg
    }

    /// Judges the first answer: its type byte and body.
    pub fn judge(&self, kind: u8, body: &[u8]) -> Result<(), ProtocolError> {
        let auth = body
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        match (kind, auth) {
            (b'R' | b'E', _) if self.lenient() => Ok(()),
            (b'R', Some(0)) => Ok(()),
            (b'R', Some(method)) => Err(ProtocolError::Refused {
                proto: "PGSQL",
                what: "the server wants a password",
                field: Field::AuthMethod(method),
            }),
            (b'E', _) => Err(server_error(body)),
            _ => Err(ProtocolError::Unexpected {
                proto: "PGSQL",
                what: "unexpected answer type",
                field: Field::Type(kind),
            }),
        }
    }
}

/// An error response, in the words of its `M` (message) field.
fn server_error(body: &[u8]) -> ProtocolError {
    let text = body
        .split(|b| *b == 0)
        .find_map(|field| field.strip_prefix(b"M"))
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_else(|| "an error without a message".into());
    ProtocolError::ServerError {
        proto: "PGSQL",
        code: None,
        text,
    }
}

impl Dialogue for Pgsql {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            send(stream, &self.startup(), limit).await?;
            let (kind, body) = message(stream, limit).await?;
            self.judge(kind, &body)?;
            if !self.lenient() {
                ready(stream, limit).await?;
            }
            // Terminate, so the server logs a clean goodbye.
            let _ = send(stream, b"X\0\0\0\x04", limit).await;
            Ok(())
        })
    }
}

/// One backend message: its type byte and body.
async fn message(stream: &mut dyn Stream, limit: Duration) -> Result<(u8, Vec<u8>), ProtocolError> {
    let head = read_exact(stream, 5, limit).await?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if !(4..=MESSAGE_LIMIT).contains(&len) {
        return Err(ProtocolError::Unexpected {
            proto: "PGSQL",
            what: "not a PostgreSQL answer",
            field: Field::Size(len),
        });
    }
    Ok((head[0], read_exact(stream, len - 4, limit).await?))
}

/// After AuthenticationOk: ReadyForQuery passes, an error fails with its words.
async fn ready(stream: &mut dyn Stream, limit: Duration) -> Result<(), ProtocolError> {
    for _ in 0..AFTER_LOGIN_LIMIT {
        match message(stream, limit).await? {
            (b'Z', _) => return Ok(()),
            (b'E', body) => return Err(server_error(&body)),
            _ => {}
        }
    }
    Err(ProtocolError::Invalid {
        proto: "PGSQL",
        what: "the server never became ready for a query",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{bytes_server, talk_to};

    fn pg(user: Option<&str>, database: Option<&str>) -> Pgsql {
        Pgsql {
            user: user.map(String::from),
            database: database.map(String::from),
        }
    }

    #[test]
    fn the_startup_message_names_root_unless_told_otherwise() {
        let msg = pg(None, None).startup();
        assert_eq!(&msg[4..8], &PROTOCOL_3_0.to_be_bytes());
        assert!(msg.ends_with(b"user\0root\0database\0root\0\0"));
        assert_eq!(
            msg.len() as u32,
            u32::from_be_bytes([msg[0], msg[1], msg[2], msg[3]])
        );
        assert!(pg(Some("app"), None).startup().ends_with(b"user\0app\0\0"));
    }

    #[test]
    fn answers_are_judged_by_type_and_login() {
        let err = b"SFATAL\0C28000\0Mrole \"root\" does not exist\0\0";
        assert!(pg(None, None).judge(b'E', err).is_ok());
        assert!(pg(None, None).judge(b'R', &5u32.to_be_bytes()).is_ok());
        let why = pg(Some("root"), None).judge(b'E', err).unwrap_err();
        assert_eq!(why.to_string(), "PGSQL: role \"root\" does not exist");
        assert!(
            pg(Some("app"), None)
                .judge(b'R', &0u32.to_be_bytes())
                .is_ok()
        );
        assert!(
            pg(Some("app"), None)
                .judge(b'R', &10u32.to_be_bytes())
                .is_err()
        );
        assert!(pg(None, None).judge(b'H', b"").is_err());
    }

    #[tokio::test]
    async fn an_authentication_request_passes() {
        let mut answer = vec![b'R', 0, 0, 0, 12, 0, 0, 0, 5];
        answer.extend_from_slice(b"salt");
        let len = pg(None, None).startup().len();
        let port = bytes_server(Vec::new(), vec![(len, answer)]).await;
        talk_to(port, &pg(None, None)).await.unwrap();
    }

    /// A backend message: type, length, body.
    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[tokio::test]
    async fn a_login_passes_at_ready_for_query_and_fails_on_a_later_error() {
        let ok = msg(b'R', &0u32.to_be_bytes());
        let status = msg(b'S', b"server_version\x0015\x00");
        let unknown = msg(b'E', b"SFATAL\x00Mrole \"nobody\" does not exist\x00\x00");
        let table = [
            (vec![ok.clone(), status, msg(b'Z', b"I")], None),
            (vec![ok, unknown], Some("role \"nobody\" does not exist")),
        ];
        let login = pg(Some("nobody"), None);
        for (answers, error) in table {
            let script = vec![(login.startup().len(), answers.concat())];
            let port = bytes_server(Vec::new(), script).await;
            let got = talk_to(port, &login).await;
            match (error, got) {
                (None, got) => assert!(got.is_ok(), "{got:?}"),
                (Some(words), Err(e)) => assert!(e.to_string().contains(words), "{e}"),
                (Some(words), Ok(())) => panic!("passed; expected {words:?}"),
            }
        }
    }
}
