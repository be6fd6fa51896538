//! Tiny loopback servers for the protocol unit tests: each speaks just
//! enough of a server's side to drive one conversation.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::error::ProtocolError;
use super::wire::Dialogue;

/// Bounds every test conversation; never a timing assertion.
const GUARD: Duration = Duration::from_secs(20);

/// A line server: sends `greeting`, then answers each line it receives
/// with the reply of the first `(prefix, reply)` the line starts with;
/// other lines get no answer.
pub async fn lines_server(greeting: &'static str, script: &[(&'static str, &'static str)]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = script.to_vec();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let script = script.clone();
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                let _ = socket.get_mut().write_all(greeting.as_bytes()).await;
                let mut line = String::new();
                while socket.read_line(&mut line).await.unwrap_or(0) > 0 {
                    if let Some((_, reply)) = script.iter().find(|(p, _)| line.starts_with(p)) {
                        let _ = socket.get_mut().write_all(reply.as_bytes()).await;
                    }
                    line.clear();
                }
            });
        }
    });
    port
}

/// A byte server: sends `greeting`, then for each `(n, reply)` reads `n`
/// bytes and sends `reply`; then waits for the client to hang up.
pub async fn bytes_server(greeting: Vec<u8>, script: Vec<(usize, Vec<u8>)>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (greeting, script) = (greeting.clone(), script.clone());
            tokio::spawn(async move {
                let _ = socket.write_all(&greeting).await;
                for (n, reply) in script {
                    let mut got = vec![0u8; n];
                    if socket.read_exact(&mut got).await.is_err() {
                        return;
                    }
                    let _ = socket.write_all(&reply).await;
                }
                let mut rest = [0u8; 256];
                while socket.read(&mut rest).await.unwrap_or(0) > 0 {}
            });
        }
    });
    port
}

/// Connects to a loopback port and runs one conversation.
pub async fn talk_to(port: u16, dialogue: &dyn Dialogue) -> Result<(), ProtocolError> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tokio::time::timeout(GUARD, dialogue.talk(&mut stream, Duration::from_secs(5)))
        .await
        .unwrap()
}
