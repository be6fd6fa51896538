//! `protocol ntp3`: one NTPv3 client request over UDP (Monit tests NTP over
//! UDP whatever the rule's type says), answered by a 48-byte server packet
//! (mode 4) from a synchronised server (leap indicator not 3).

use std::time::Duration;

use tokio::net::UdpSocket;

use warden_config::model::Connection;

use super::conversation::Conversation;
use super::error::{BuildError, Field, ProtocolError};
use super::wire::{Dialogue, Stream, udp_ask};
use crate::BoxFuture;
use crate::peer::Peer;

const PACKET: usize = 48;
/// Leap indicator 0, version 3, mode 3 (client).
const CLIENT: u8 = 0x1b;

#[derive(Debug)]
pub struct Ntp3;

pub fn build(_conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    Ok(Conversation::Speak(Box::new(Ntp3)))
}

pub fn request() -> [u8; PACKET] {
    let mut req = [0u8; PACKET];
    req[0] = CLIENT;
    req
}

pub fn judge(answer: &[u8]) -> Result<(), ProtocolError> {
    if answer.len() < PACKET {
        return Err(ProtocolError::Length {
            proto: "NTP",
            what: "an answer of",
            bytes: answer.len() as u64,
            want: Some(PACKET),
        });
    }
    let (leap, mode) = (answer[0] >> 6, answer[0] & 0x07);
    if mode != 4 {
        return Err(ProtocolError::Unexpected {
            proto: "NTP",
            what: "the answer is not from a server",
            field: Field::Mode(mode),
        });
    }
    if leap == 3 {
        return Err(ProtocolError::Invalid {
            proto: "NTP",
            what: "the server is not synchronised",
        });
    }
    Ok(())
}

impl Dialogue for Ntp3 {
    fn udp_only(&self) -> bool {
        true
    }

    fn talk<'a>(
        &'a self,
        _stream: &'a mut dyn Stream,
        _limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async { Err(ProtocolError::NeedsUdp { proto: "NTP" }) })
    }

    fn talk_udp<'a>(
        &'a self,
        socket: &'a UdpSocket,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async move { judge(&udp_ask(socket, &request(), limit).await?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_answers_are_judged_by_mode_and_leap_indicator() {
        let mut answer = [0u8; PACKET];
        answer[0] = 0x1c; // leap 0, version 3, mode 4
        assert!(judge(&answer).is_ok());
        answer[0] = 0xdc; // leap 3: not synchronised
        let words = |a: &[u8]| judge(a).unwrap_err().to_string();
        assert!(words(&answer).contains("not synchronised"));
        assert!(words(&request()).contains("mode 3"));
        assert_eq!(words(&answer[..10]), "NTP: an answer of 10 bytes, not 48");
    }

    #[tokio::test]
    async fn a_udp_server_answering_in_mode_4_passes() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(buf[..n], request());
            let mut answer = [0u8; PACKET];
            answer[0] = 0x1c;
            server.send_to(&answer, from).await.unwrap();
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(addr).await.unwrap();
        Ntp3.talk_udp(&client, Duration::from_secs(5))
            .await
            .unwrap();
    }
}
