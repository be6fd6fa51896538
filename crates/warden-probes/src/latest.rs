//! The last outcome of a check's subject probe, shared with the rule probes
//! that read it: a program check's `content` rules read its output, a
//! network check's `total` rules its counters. Rule probes run after the
//! subject in the same cycle, so they always see this cycle's outcome.

use std::sync::Mutex;

use crate::outcome::{Metric, Outcome};

/// One subject run: a sequence number (to tell a new run from an old one),
/// its outcome, and text the rules may read (a program's output).
#[derive(Debug, Clone, Default)]
pub struct Shot {
    pub seq: u64,
    pub outcome: Option<Outcome>,
    pub text: Option<String>,
}

/// Written by a subject probe, read by its rule probes.
#[derive(Debug, Default)]
pub struct Latest {
    shot: Mutex<Shot>,
}

impl Latest {
    pub fn publish(&self, outcome: &Outcome, text: Option<String>) {
        let mut shot = self.shot.lock().unwrap_or_else(|p| p.into_inner());
        shot.seq += 1;
        shot.outcome = Some(outcome.clone());
        shot.text = text;
    }

    pub fn read(&self) -> Shot {
        self.shot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// This run's value of `metric`, with the run's sequence number.
    pub fn value(&self, metric: Metric) -> Option<(u64, f64)> {
        let shot = self.shot.lock().unwrap_or_else(|p| p.into_inner());
        let value = shot.outcome.as_ref()?.value(metric)?;
        Some((shot.seq, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_publish_is_a_new_run_with_its_own_values() {
        let latest = Latest::default();
        assert_eq!(latest.value(Metric::Size), None);
        latest.publish(&Outcome::ok("a").with(Metric::Size, 1.0), None);
        latest.publish(
            &Outcome::ok("b").with(Metric::Size, 2.0),
            Some("out".into()),
        );
        assert_eq!(latest.value(Metric::Size), Some((2, 2.0)));
        assert_eq!(latest.read().text.as_deref(), Some("out"));
    }
}
