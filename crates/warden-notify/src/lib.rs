//! Alerts: e-mail and webhooks behind a durable on-disk queue.
