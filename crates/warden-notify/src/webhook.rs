//! The webhook sink (`set alert webhook URL`): one JSON POST per alert,
//! through reqwest with rustls. The payload (documented in the README) has
//! the root event's fields at the top, a `text` line for chat receivers,
//! and every event of the alert in `events`. [`WEBHOOK`] is its [`Sink`].

use serde_json::{Value, json};
use warden_config::model::{Check, Settings};

use crate::alert::{AlertEvent, Destination};
use crate::http::{LazyClient, post};
use crate::sink::{BoxFuture, Outgoing, Recipient, SendError, Sink};

/// The webhook sink.
#[derive(Debug)]
pub struct WebhookSink {
    client: LazyClient,
}

pub static WEBHOOK: WebhookSink = WebhookSink {
    client: LazyClient::new(|b| b),
};

impl Sink for WebhookSink {
    fn name(&self) -> &'static str {
        "webhook"
    }

    /// Every `set alert webhook URL`, whatever the check.
    fn recipients(&self, settings: &Settings, _check: Option<&Check>) -> Vec<Recipient> {
        settings
            .webhooks
            .iter()
            .map(|w| Recipient {
                sink: Destination::new(self.name(), w.url.clone()),
                template: None,
                reminder_cycles: None,
                filter: w.filter.clone(),
                repost: None,
                labels: Vec::new(),
            })
            .collect()
    }

    fn deliver<'a>(&'a self, alert: Outgoing<'a>) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let body = payload(&alert.events, alert.reminder);
            let client = self.client.get()?;
            post(&client, alert.address, &body).await
        })
    }
}

/// The JSON body for an alert made of `events` (the first is the cause).
pub fn payload(events: &[&AlertEvent], reminder: bool) -> Value {
    let Some(first) = events.first() else {
        return Value::Null;
    };
    json!({
        "source": "warden",
        "version": 1,
        "host": first.host,
        "service": first.service,
        "event": first.event,
        "kind": first.kind,
        "failure": first.failure,
        "action": first.action,
        "description": first.description,
        "date": first.date,
        "timestamp_ms": first.timestamp_ms,
        "reminder": reminder,
        "text": format!("warden alert -- {} {} on {}: {}", first.event, first.service, first.host, first.description),
        "events": events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::tests::entry;

    #[test]
    fn the_payload_leads_with_the_cause_and_lists_every_event() {
        let (a, b) = (entry("db", 1).event, entry("web", 2).event);
        let v = payload(&[&a, &b], false);
        assert_eq!(v["service"], "db");
        assert_eq!(v["event"], "Does not exist");
        assert_eq!(v["action"], "restart");
        assert_eq!(v["events"][1]["service"], "web");
        assert!(v["text"].as_str().unwrap().contains("Does not exist db"));
    }
}
