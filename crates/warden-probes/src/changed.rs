//! `if changed timestamp|size|permission|fsflags|status|link|link capacity`: a rule
//! probe comparing this cycle's value of one metric, read from the subject's
//! [`Latest`] outcome, with the value it saw on the last cycle. Like Monit,
//! the first value is the reference, and a change becomes the new reference
//! (so a change fires once).

use std::sync::{Arc, Mutex};

use crate::latest::Latest;
use crate::outcome::{Metric, Outcome, Status};
use crate::{BoxFuture, Probe};

#[derive(Debug)]
pub struct ChangedProbe {
    latest: Arc<Latest>,
    metric: Metric,
    /// The fact in words (`timestamp`, `size`, `exit status`).
    what: &'static str,
    /// The run and value seen last time.
    seen: Mutex<Option<(u64, f64)>>,
    /// Values shown in octal (file modes: `0644`, not `420`).
    octal: bool,
}

impl ChangedProbe {
    pub fn new(latest: Arc<Latest>, metric: Metric, what: &'static str) -> Self {
        ChangedProbe {
            latest,
            metric,
            what,
            seen: Mutex::new(None),
            octal: false,
        }
    }

    /// Shows values as file modes in messages.
    pub fn octal(mut self) -> Self {
        self.octal = true;
        self
    }

    /// Failed when the value differs from the reference; the reference moves.
    pub fn judge(&self) -> Outcome {
        let what = self.what;
        let Some((seq, now)) = self.latest.value(self.metric) else {
            return Outcome::ok(format!("{what} is not known yet"));
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let before = seen.replace((seq, now));
        match before {
            Some((s, b)) if s != seq && b != now => Outcome::failed(
                Status::Failed,
                format!(
                    "{what} changed from {} to {}",
                    self.format_value(b),
                    self.format_value(now)
                ),
            ),
            _ => Outcome::ok(format!("{what} has not changed")),
        }
    }
}

impl ChangedProbe {
    fn format_value(&self, v: f64) -> String {
        if self.octal {
            format!("{:04o}", v as u32)
        } else {
            format_number(v)
        }
    }
}

/// Whole numbers without a fraction (sizes, statuses).
fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}")
    }
}

impl Probe for ChangedProbe {
    fn kind(&self) -> &'static str {
        "changed"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { self.judge() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_is_the_reference_and_a_change_fires_once() {
        let latest = Arc::new(Latest::default());
        let probe = ChangedProbe::new(Arc::clone(&latest), Metric::Size, "size");
        let size = |n: f64| latest.publish(&Outcome::ok("").with(Metric::Size, n), None);
        let mut seen = Vec::new();
        for n in [10.0, 10.0, 12.0, 12.0, 7.0] {
            size(n);
            seen.push(probe.judge().is_ok());
        }
        assert_eq!(seen, [true, true, false, true, false]);
        assert_eq!(probe.judge().reason, "size has not changed");
    }

    #[test]
    fn a_mode_change_is_told_in_octal() {
        let latest = Arc::new(Latest::default());
        let probe =
            ChangedProbe::new(Arc::clone(&latest), Metric::Permission, "permission").octal();
        for mode in [0o644, 0o600] {
            latest.publish(
                &Outcome::ok("").with(Metric::Permission, f64::from(mode)),
                None,
            );
            let _ = probe.judge();
        }
        latest.publish(
            &Outcome::ok("").with(Metric::Permission, 0o4755.into()),
            None,
        );
        assert_eq!(probe.judge().reason, "permission changed from 0600 to 4755");
    }

    #[test]
    fn an_unknown_value_is_not_a_change() {
        let latest = Arc::new(Latest::default());
        let probe = ChangedProbe::new(Arc::clone(&latest), Metric::ExitStatus, "exit status");
        assert!(probe.judge().is_ok());
        latest.publish(&Outcome::ok("").with(Metric::ExitStatus, 1.0), None);
        assert!(probe.judge().is_ok());
        latest.publish(&Outcome::ok("").with(Metric::ExitStatus, 2.0), None);
        assert_eq!(probe.judge().reason, "exit status changed from 1 to 2");
    }
}
