//! Every alert channel: [`SINKS`], the one place that names them. A new
//! channel is one module implementing [`Sink`] plus one line here; nothing
//! else imports the channels, so they may import anything but this.

use crate::alert::Destination;
use crate::sink::Sink;

/// Every channel, in the order a service's recipients are listed (mail
/// recipients first, then webhooks, then Alertmanagers).
pub static SINKS: &[&dyn Sink] = &[
    &crate::mail::MAIL,
    &crate::webhook::WEBHOOK,
    &crate::alertmanager::ALERTMANAGER,
];

/// The sink called `name`.
pub fn find(name: &str) -> Option<&'static dyn Sink> {
    SINKS.iter().copied().find(|s| s.name() == name)
}

/// As its sink describes it; a sink this Warden lacks (a queue written by
/// another version) as `NAME ADDRESS`.
impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match find(&self.to) {
            Some(sink) => f.write_str(&sink.describe(&self.address)),
            None => write!(f, "{} {}", self.to, self.address),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sink_has_its_own_name() {
        let mut names: Vec<_> = SINKS.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SINKS.len());
        assert!(find("mail").is_some() && find("webhook").is_some());
        assert!(find("carrier pigeon").is_none());
    }
}
