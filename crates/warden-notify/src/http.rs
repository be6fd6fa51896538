//! The HTTP client of the sinks that post (webhook, Alertmanager), made on
//! the first delivery: a TLS client loads the system's root certificates,
//! memory a daemon that never posts does not need.

use std::sync::Mutex;

use crate::sink::SendError;

#[derive(Debug)]
pub struct LazyClient {
    slot: Mutex<Option<reqwest::Client>>,
    /// The sink's own settings over the shared ones.
    configure: fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
}

impl LazyClient {
    pub const fn new(
        configure: fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> LazyClient {
        LazyClient {
            slot: Mutex::new(None),
            configure,
        }
    }

    /// The client (cheap to clone: it shares its connection pool).
    pub fn get(&self) -> Result<reqwest::Client, SendError> {
        // A poisoned lock only means a panic elsewhere; the client is fine.
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = &*slot {
            return Ok(client.clone());
        }
        let builder =
            reqwest::Client::builder().user_agent(concat!("warden/", env!("CARGO_PKG_VERSION")));
        let client = (self.configure)(builder)
            .build()
            .map_err(|e| SendError::Temporary(format!("cannot set up HTTP: {e}")))?;
        Ok(slot.insert(client).clone())
    }
}
