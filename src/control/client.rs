//! The CLI's side: talks to the daemon's API over its Unix socket.
