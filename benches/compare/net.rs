//! Loopback sockets of the harness: listeners that answer the monitors'
//! port checks and remember when each connection came (that is how a
//! check's period is measured, the same way for both monitors), a
//! listener that never answers, and the TCP service the monitors restart.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A port the OS says is free now (bound to port 0, then released).
pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Listeners that accept and close at once, one thread each; every
/// accepted connection's time (seconds since `origin`) is kept per port.
#[derive(Debug, Clone)]
pub struct Answering {
    pub ports: Vec<u16>,
    hits: Arc<Mutex<Vec<Vec<f64>>>>,
    origin: Instant,
}

impl Answering {
    pub fn start(count: usize) -> Result<Answering, String> {
        let hits = Arc::new(Mutex::new(vec![Vec::new(); count]));
        let origin = Instant::now();
        let mut ports = Vec::new();
        for i in 0..count {
            let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
            ports.push(l.local_addr().map_err(|e| e.to_string())?.port());
            let hits = Arc::clone(&hits);
            // The thread lives as long as the harness (it is a few KB).
            std::thread::spawn(move || {
                for conn in l.incoming() {
                    let at = origin.elapsed().as_secs_f64();
                    drop(conn);
                    if let Ok(mut h) = hits.lock() {
                        h[i].push(at);
                    }
                }
            });
        }
        Ok(Answering {
            ports,
            hits,
            origin,
        })
    }

    /// Seconds since these listeners started.
    pub fn now(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    /// Per port, the gaps between consecutive connections that both came
    /// inside `[from, to]` seconds.
    pub fn gaps(&self, from: f64, to: f64) -> Vec<Vec<f64>> {
        let hits = self.hits.lock().map(|h| h.clone()).unwrap_or_default();
        hits.iter()
            .map(|times| {
                let inside: Vec<f64> = times
                    .iter()
                    .copied()
                    .filter(|t| (from..=to).contains(t))
                    .collect();
                inside.windows(2).map(|w| w[1] - w[0]).collect()
            })
            .collect()
    }
}

/// A listener that never answers: its accept queue is full and nobody
/// accepts, so Linux drops every new SYN and a client's connect hangs
/// until its own timeout, as with a host behind a dropping firewall.
#[derive(Debug)]
pub struct Blackhole {
    pub port: u16,
    _listener: TcpListener,
    _fillers: Vec<TcpStream>,
}

impl Blackhole {
    pub fn start() -> Result<Blackhole, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        // Linux lets listen() be called again to shrink the backlog.
        rustix::net::listen(&listener, 0).map_err(|e| format!("listen: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut fillers = Vec::new();
        // Fill the queue until a connect goes unanswered (backlog 0 still
        // queues a connection or two).
        for _ in 0..8 {
            match TcpStream::connect_timeout(&to, Duration::from_millis(300)) {
                Ok(s) => fillers.push(s),
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    return Ok(Blackhole {
                        port,
                        _listener: listener,
                        _fillers: fillers,
                    });
                }
                Err(e) => return Err(format!("filling the blackhole: {e}")),
            }
        }
        Err("a listener with a full backlog still answered".into())
    }
}

/// Whether 127.0.0.1:`port` accepts a connection now.
pub fn answers(port: u16) -> bool {
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&to, Duration::from_millis(200)).is_ok()
}

/// The service mode of the harness binary (`--serve PORT`): binds
/// 127.0.0.1:PORT (retrying while a killed predecessor's socket is still
/// going away) and accepts and closes connections until it is killed.
pub fn serve(port: u16) -> ! {
    let end = Instant::now() + Duration::from_secs(10);
    let listener = loop {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => break l,
            Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => {
                eprintln!("serve: bind 127.0.0.1:{port}: {e}");
                std::process::exit(1)
            }
        }
    };
    loop {
        let _ = listener.accept();
    }
}
