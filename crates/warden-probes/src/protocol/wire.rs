//! What the protocol conversations share: the [`Dialogue`] trait they
//! implement, and reads and writes that each carry the timeout and a size
//! bound, so a silent or chatty server can neither hang nor flood a probe.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::timeout;

use super::error::{ProtocolError, WireError};
use crate::BoxFuture;

/// A connected byte stream (TCP or Unix socket).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Longest line a line-based protocol may send before we give up on it.
pub const LINE_LIMIT: usize = 4096;

/// One protocol's conversation, configured for one rule.
pub trait Dialogue: std::fmt::Debug + Send + Sync {
    /// Talks over a connected stream; `Err` says what went wrong.
    fn talk<'a>(
        &'a self,
        stream: &'a mut dyn Stream,
        limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>>;

    /// Whether the protocol runs over UDP whatever the rule's type says
    /// (NTP, as in Monit).
    fn udp_only(&self) -> bool {
        false
    }

    /// Talks over a connected UDP socket; most protocols need a stream.
    fn talk_udp<'a>(
        &'a self,
        _socket: &'a UdpSocket,
        _limit: Duration,
    ) -> BoxFuture<'a, Result<(), ProtocolError>> {
        Box::pin(async { Err(ProtocolError::NeedsTcp) })
    }
}

pub async fn send(stream: &mut dyn Stream, bytes: &[u8], limit: Duration) -> Result<(), WireError> {
    timeout(limit, async {
        stream.write_all(bytes).await?;
        stream.flush().await
    })
    .await
    .map_err(|_| WireError::SendTimeout)?
    .map_err(WireError::Send)
}

/// Reads exactly `n` bytes.
pub async fn read_exact(
    stream: &mut dyn Stream,
    n: usize,
    limit: Duration,
) -> Result<Vec<u8>, WireError> {
    let mut buf = vec![0u8; n];
    match timeout(limit, stream.read_exact(&mut buf)).await {
        Err(_) => Err(WireError::Timeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(WireError::Closed),
        Ok(Err(e)) => Err(WireError::Read(e)),
        Ok(Ok(_)) => Ok(buf),
    }
}

/// Reads one line (up to `\n`, without the line end). Byte by byte, so
/// nothing after the line is consumed; banners are short.
pub async fn read_line(stream: &mut dyn Stream, limit: Duration) -> Result<String, WireError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        loop {
            match stream.read(&mut byte).await {
                Ok(0) if line.is_empty() => return Err(WireError::Closed),
                Ok(0) => return Ok(()),
                Ok(_) if byte[0] == b'\n' => return Ok(()),
                Ok(_) if line.len() >= LINE_LIMIT => {
                    return Err(WireError::LineTooLong(LINE_LIMIT));
                }
                Ok(_) => line.push(byte[0]),
                Err(e) => return Err(WireError::Read(e)),
            }
        }
    };
    timeout(limit, read)
        .await
        .map_err(|_| WireError::Timeout)??;
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Reads a line and checks that it starts with `prefix`.
pub async fn expect_line(
    stream: &mut dyn Stream,
    prefix: &'static str,
    what: &'static str,
    limit: Duration,
) -> Result<String, WireError> {
    let line = read_line(stream, limit).await?;
    if line.starts_with(prefix) {
        Ok(line)
    } else {
        Err(WireError::Unexpected {
            what,
            prefix,
            got: line,
        })
    }
}

/// Sends one datagram and waits for one answer.
pub async fn udp_ask(
    socket: &UdpSocket,
    ask: &[u8],
    limit: Duration,
) -> Result<Vec<u8>, WireError> {
    socket.send(ask).await.map_err(WireError::Send)?;
    let mut buf = vec![0u8; 4096];
    let n = timeout(limit, socket.recv(&mut buf))
        .await
        .map_err(|_| WireError::NoAnswer)?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => WireError::Refused,
            _ => WireError::Receive(e),
        })?;
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_line_strips_the_line_end_and_leaves_the_rest() {
        let (mut client, mut server) = tokio::io::duplex(64);
        server.write_all(b"220 hi\r\nnext\n").await.unwrap();
        let limit = Duration::from_secs(5);
        assert_eq!(read_line(&mut client, limit).await.unwrap(), "220 hi");
        assert_eq!(read_line(&mut client, limit).await.unwrap(), "next");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_a_closed_one_says_so() {
        let (mut client, server) = tokio::io::duplex(64);
        let err = read_line(&mut client, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::Timeout), "{err}");
        assert!(err.to_string().contains("timed out"), "{err}");
        drop(server);
        let err = read_exact(&mut client, 4, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::Closed), "{err}");
        assert!(err.to_string().contains("closed"), "{err}");
    }
}
