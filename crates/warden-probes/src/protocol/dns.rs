//! `protocol dns`: the server answers a query, as Monit tests it: an `NS`
//! query for the root zone over the rule's transport (UDP, or TCP with its
//! length prefix). An answer with our id, one question, and either records
//! or REFUSED (many servers refuse the root but still answer) passes.
//! Resolving a given name is the `resolve` test (`crate::dns`).

use std::time::Duration;

use tokio::net::UdpSocket;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, Field, ProtocolError};
use super::wire::{Dialogue, Stream, read_exact, send, udp_ask};
use crate::BoxFuture;
use crate::peer::Peer;

const ID: [u8; 2] = [0x57, 0x44];
const NOERROR: u8 = 0;
const REFUSED: u8 = 5;

#[derive(Debug)]
pub struct Dns;

pub fn build(_conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    Ok(Conversation::Speak(Box::new(Dns)))
}

/// The query: header (recursion desired, one question), root name, NS, IN.
pub fn query() -> Vec<u8> {
    let mut q = ID.to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(&[0x00, 0x00, 0x02, 0x00, 0x01]);
    q
}

pub fn judge(answer: &[u8]) -> Result<(), ProtocolError> {
    let invalid = |what| ProtocolError::Invalid { proto: "DNS", what };
    if answer.len() < 12 {
        return Err(ProtocolError::Length {
            proto: "DNS",
            what: "an answer of",
            bytes: answer.len() as u64,
            want: None,
        });
    }
    if answer[..2] != ID {
        return Err(invalid("the answer's id is not our query's"));
    }
    if answer[2] & 0x80 == 0 {
        return Err(invalid("the answer is not a response"));
    }
    let rcode = answer[3] & 0x0f;
    if rcode != NOERROR && rcode != REFUSED {
        return Err(ProtocolError::Refused {
            proto: "DNS",
            what: "the server answered with",
            field: Field::ResponseCode(rcode),
        });
    }
    if answer[4..6] != [0, 1] {
        return Err(invalid("the answer does not repeat our one question"));
    }
    if rcode == NOERROR && answer[6..10] == [0, 0, 0, 0] {
        return Err(invalid("no answer or authority records"));
    }
    Ok(())
}

impl Dialogue for Dns {
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move {
            let q = query();
            let mut framed = (q.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&q);
            send(stream, &framed, limit).await?;
            let len = read_exact(stream, 2, limit).await?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            judge(&read_exact(stream, len, limit).await?)
        })
    }

    fn talk_udp<'a>(
        &'a self,
        socket: &'a UdpSocket,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move { judge(&udp_ask(socket, &query(), limit).await?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(rcode: u8, answers: u8) -> Vec<u8> {
        let mut a = query();
        a[2] |= 0x80;
        a[3] = rcode;
        a[7] = answers;
        a
    }

    #[test]
    fn answers_with_records_or_refused_pass_and_others_fail() {
        assert!(judge(&answer(NOERROR, 13)).is_ok());
        assert!(judge(&answer(REFUSED, 0)).is_ok());
        let cases = [
            (answer(2, 0), "response code 2"),
            (answer(NOERROR, 0), "no answer"),
            (query(), "not a response"),
            (vec![0; 5], "5 bytes"),
        ];
        for (bytes, why) in cases {
            let err = judge(&bytes).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
    }
}
