//! The HTTP client of the sinks that post (webhook, Alertmanager), made on
//! the first delivery: a TLS client loads the system's root certificates,
//! memory a daemon that never posts does not need.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::sink::{SendError, chain};

/// One POST's time limit.
pub const TIMEOUT: Duration = Duration::from_secs(10);

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

/// POSTs `body` as JSON to `url`: a 2xx answer is delivered, 408/429/5xx
/// and network errors are retried, any other status (a body the receiver
/// refuses) is given up, with the receiver's words.
pub async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Result<String, SendError> {
    let answer = client
        .post(url)
        .timeout(TIMEOUT)
        .json(body)
        .send()
        .await
        .map_err(|e| SendError::Temporary(chain(&e)))?;
    let status = answer.status();
    if status.is_success() {
        return Ok(format!("HTTP {status}"));
    }
    let said = answer.text().await.unwrap_or_default();
    // A page of HTML from a proxy is not worth a log line of its own.
    let said: String = said.trim().chars().take(200).collect();
    let words = if said.is_empty() {
        format!("{url} answered HTTP {status}")
    } else {
        format!("{url} answered HTTP {status}: {said}")
    };
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Err(SendError::Temporary(words))
    } else {
        Err(SendError::Permanent(words))
    }
}
