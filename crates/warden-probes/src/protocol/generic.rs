//! The generic `send`/`expect` exchange: send strings (with `\r\n`-style
//! escapes), expect regexes over what arrives, within a bounded buffer.

use std::time::Duration;

use regex::bytes::Regex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::timeout;

use warden_config::model::{Connection, SendExpect};

use super::conversation::{Conversation, Step};
use super::error::{BuildError, Missed, ProtocolError, WireError};
use crate::peer::Peer;

/// How much an `expect` reads at most before giving up on a match (Monit's
/// default is 256 B; banners and greetings are often longer).
pub const EXPECT_BUFFER: usize = 4096;

pub fn build(conn: &Connection, _target: &Peer) -> Result<Conversation, BuildError> {
    let steps = conn
        .exchange
        .iter()
        .map(|step| match step {
            SendExpect::Send(text) => Step::Send(unescape(text)),
            // Compiled at lowering; the clone shares the compiled program.
            SendExpect::Expect(pattern) => Step::Expect(pattern.regex().clone()),
        })
        .collect();
    Ok(Conversation::Exchange(steps))
}

/// Turns `\r`, `\n`, `\t`, `\0`, `\\`, `\"` and `\xHH` into their bytes;
/// anything else after a backslash is kept as written.
pub fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (byte, used) = match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'r')) => (b'\r', 2),
            (b'\\', Some(b'n')) => (b'\n', 2),
            (b'\\', Some(b't')) => (b'\t', 2),
            (b'\\', Some(b'0')) => (0, 2),
            (b'\\', Some(b'\\')) => (b'\\', 2),
            (b'\\', Some(b'"')) => (b'"', 2),
            (b'\\', Some(b'x')) => match bytes.get(i + 2..i + 4).and_then(hex_byte) {
                Some(b) => (b, 4),
                None => (b'\\', 1),
            },
            (b, _) => (b, 1),
        };
        out.push(byte);
        i += used;
    }
    out
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()
}

/// Runs the steps over a connected stream; `Err` says which step failed.
pub async fn exchange<S>(
    stream: &mut S,
    steps: &[Step],
    limit: Duration,
) -> Result<(), ProtocolError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut pending = Vec::new();
    for step in steps {
        match step {
            Step::Send(bytes) => {
                timeout(limit, stream.write_all(bytes))
                    .await
                    .map_err(|_| WireError::SendTimeout)?
                    .map_err(WireError::Send)?;
            }
            Step::Expect(re) => pending = expect(stream, re, pending, limit).await?,
        }
    }
    Ok(())
}

/// Reads until `re` matches, the buffer is full, the peer closes, or the
/// timeout; returns what came after the match, for the next expect.
async fn expect<S>(
    stream: &mut S,
    re: &Regex,
    mut buf: Vec<u8>,
    limit: Duration,
) -> Result<Vec<u8>, ProtocolError>
where
    S: AsyncRead + Unpin,
{
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(m) = re.find(&buf) {
            return Ok(buf.split_off(m.end()));
        }
        let mismatch = |missed, buf: &[u8]| ProtocolError::Expect {
            pattern: re.clone(),
            missed: Some(missed),
            got: Some(start_of(buf)),
        };
        if buf.len() >= EXPECT_BUFFER {
            return Err(mismatch(Missed::NoMatch(EXPECT_BUFFER), &buf));
        }
        let room = (EXPECT_BUFFER - buf.len()).min(chunk.len());
        match timeout(limit, stream.read(&mut chunk[..room])).await {
            Err(_) => return Err(mismatch(Missed::TimedOut, &buf)),
            Ok(Err(e)) => return Err(WireError::Read(e).into()),
            Ok(Ok(0)) => return Err(mismatch(Missed::Closed, &buf)),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// What arrived, as text short enough to quote.
fn start_of(buf: &[u8]) -> String {
    String::from_utf8_lossy(&buf[..buf.len().min(200)]).into_owned()
}

/// The exchange over a connected UDP socket: each send is one datagram,
/// each expect matches one datagram received.
pub async fn udp_exchange(
    socket: &UdpSocket,
    steps: &[Step],
    limit: Duration,
) -> Result<(), ProtocolError> {
    let mut buf = vec![0u8; EXPECT_BUFFER];
    for step in steps {
        match step {
            Step::Send(bytes) => {
                socket.send(bytes).await.map_err(WireError::Send)?;
            }
            Step::Expect(re) => {
                let n = timeout(limit, socket.recv(&mut buf))
                    .await
                    .map_err(|_| ProtocolError::Expect {
                        pattern: re.clone(),
                        missed: Some(Missed::TimedOut),
                        got: None,
                    })?
                    .map_err(WireError::Receive)?;
                if !re.is_match(&buf[..n]) {
                    return Err(ProtocolError::Expect {
                        pattern: re.clone(),
                        missed: None,
                        got: Some(start_of(&buf[..n])),
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_in_send_strings_become_bytes() {
        let cases: [(&str, &[u8]); 6] = [
            (r"QUIT\r\n", b"QUIT\r\n"),
            (r"a\tb\0", b"a\tb\0"),
            (r#"say \"hi\" \\"#, b"say \"hi\" \\"),
            (r"\x41\x7a", b"Az"),
            (r"\xZZ", b"\\xZZ"),
            (r"end\", b"end\\"),
        ];
        for (text, bytes) in cases {
            assert_eq!(unescape(text), bytes, "{text}");
        }
    }

    fn steps(list: &[(&str, &str)]) -> Vec<Step> {
        list.iter()
            .map(|(kind, text)| match *kind {
                "send" => Step::Send(unescape(text)),
                _ => Step::Expect(Regex::new(text).unwrap()),
            })
            .collect()
    }

    #[tokio::test]
    async fn an_exchange_passes_when_every_expect_matches() {
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::spawn(async move {
            server.write_all(b"220 ready\r\n").await.unwrap();
            let mut got = [0u8; 6];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"PING\r\n");
            server.write_all(b"+PONG\r\n").await.unwrap();
        });
        let s = steps(&[
            ("expect", "^220"),
            ("send", r"PING\r\n"),
            ("expect", r"\+PONG"),
        ]);
        exchange(&mut client, &s, Duration::from_secs(10))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_expect_that_does_not_match_says_what_arrived() {
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::spawn(async move {
            server.write_all(b"500 go away\r\n").await.unwrap();
        });
        let err = exchange(
            &mut client,
            &steps(&[("expect", "^220")]),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"expected "^220" but the connection closed; got "500 go away\r\n""#
        );
    }
}
