//! `if total upload|download > N [unit|packets] in last N minutes|hours|day`
//! on a `check network`: a rule probe that keeps a short history of the
//! interface's counters (read from the subject's [`Latest`] outcome) and
//! judges the amount moved within the window. Like Monit, the history lives
//! in memory and spans a day at most, in three rings: one sample a second
//! for the last minute, one a minute for the last hour, one an hour for the
//! last day. A window is judged on the finest ring that spans it, from the
//! oldest sample inside the window (so at most one ring step is missed);
//! before the ring has filled, the total since Warden started counts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use warden_config::model::Operator;

use crate::latest::Latest;
use crate::outcome::{Metric, Outcome, Status};
use crate::{BoxFuture, Probe};

/// Samples of one counter at one resolution: at most one per `step`, the
/// last `len` of them.
#[derive(Debug)]
struct Ring {
    step: Duration,
    len: usize,
    samples: VecDeque<(Instant, f64)>,
}

impl Ring {
    fn new(step: Duration, steps: u32) -> Self {
        Ring {
            step,
            // One more than the steps, so a sample a whole span old is kept.
            len: steps as usize + 1,
            samples: VecDeque::new(),
        }
    }

    fn span(&self) -> Duration {
        self.step * (self.len as u32 - 1)
    }

    fn record(&mut self, at: Instant, value: f64) {
        let recent = self
            .samples
            .back()
            .is_some_and(|(t, _)| at.saturating_duration_since(*t) < self.step);
        if recent {
            return;
        }
        self.samples.push_back((at, value));
        while self.samples.len() > self.len {
            self.samples.pop_front();
        }
    }

    /// The oldest value recorded no longer than `window` before `now`.
    fn base(&self, now: Instant, window: Duration) -> Option<f64> {
        self.samples
            .iter()
            .find(|(t, _)| now.saturating_duration_since(*t) <= window)
            .map(|(_, v)| *v)
    }
}

/// A day of one counter's history.
#[derive(Debug)]
pub struct History {
    rings: [Ring; 3],
}

impl Default for History {
    fn default() -> Self {
        History {
            rings: [
                Ring::new(Duration::from_secs(1), 60),
                Ring::new(Duration::from_secs(60), 60),
                Ring::new(Duration::from_secs(3600), 24),
            ],
        }
    }
}

impl History {
    pub fn record(&mut self, at: Instant, value: f64) {
        for ring in &mut self.rings {
            ring.record(at, value);
        }
    }

    /// How much the counter, now at `value`, grew within `window`. A counter
    /// that went down (the interface was re-created) counts from zero.
    pub fn total(&self, now: Instant, value: f64, window: Duration) -> f64 {
        let ring = self
            .rings
            .iter()
            .find(|r| window <= r.span())
            .unwrap_or(&self.rings[2]);
        let base = ring.base(now, window).unwrap_or(value);
        if value >= base { value - base } else { value }
    }
}

#[derive(Debug)]
pub struct TotalProbe {
    latest: Arc<Latest>,
    /// The counter (`DownloadedBytes`, `UploadedPackets`, ...).
    metric: Metric,
    op: Operator,
    limit: f64,
    window: Duration,
    history: Mutex<History>,
}

impl TotalProbe {
    pub fn new(
        latest: Arc<Latest>,
        metric: Metric,
        op: Operator,
        limit: f64,
        window: Duration,
    ) -> Self {
        TotalProbe {
            latest,
            metric,
            op,
            limit,
            window,
            history: Mutex::new(History::default()),
        }
    }

    /// Records this cycle's counter and judges the total within the window.
    pub fn judge_at(&self, now: Instant) -> Outcome {
        let what = counter_name(self.metric);
        let Some((_, counter)) = self.latest.value(self.metric) else {
            return Outcome::ok(format!("{what} are not known yet"));
        };
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        history.record(now, counter);
        let total = history.total(now, counter, self.window);
        let why = format!(
            "{total:.0} {what} in the last {} s ({} {:.0})",
            self.window.as_secs(),
            self.op.symbol(),
            self.limit
        );
        if self.op.holds(total, self.limit) {
            Outcome::failed(Status::Failed, why)
        } else {
            Outcome::ok(why)
        }
    }
}

/// The counter in words: `bytes downloaded`, `packets uploaded`.
fn counter_name(metric: Metric) -> &'static str {
    match metric {
        Metric::UploadedBytes => "bytes uploaded",
        Metric::UploadedPackets => "packets uploaded",
        Metric::DownloadedPackets => "packets downloaded",
        _ => "bytes downloaded",
    }
}

impl Probe for TotalProbe {
    fn kind(&self) -> &'static str {
        "transfer"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { self.judge_at(Instant::now()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    /// A history fed one sample every `every`, the counter growing by
    /// `rate` per second, for `long`; the instant of the last sample.
    fn fed(every: Duration, rate: f64, long: Duration) -> (History, Instant, f64) {
        let start = Instant::now();
        let mut h = History::default();
        let mut at = Duration::ZERO;
        while at <= long {
            h.record(start + at, rate * at.as_secs_f64());
            at += every;
        }
        let last = at - every;
        (h, start + last, rate * last.as_secs_f64())
    }

    #[test]
    fn a_window_counts_what_moved_within_it_to_a_ring_step() {
        // 10 bytes a second, sampled every 5 s for 3 hours.
        let (h, now, value) = fed(Duration::from_secs(5), 10.0, 3 * HOUR);
        let table = [
            (MIN, 600.0, 0.0),
            (10 * MIN, 6000.0, 600.0),
            (2 * HOUR, 72_000.0, 36_000.0),
            (24 * HOUR, 108_000.0, 0.0),
        ];
        for (window, want, slack) in table {
            let got = h.total(now, value, window);
            assert!(
                got <= want && got >= want - slack,
                "{window:?}: {got} not within {slack} under {want}"
            );
        }
    }

    #[test]
    fn before_the_ring_fills_the_total_since_start_counts() {
        let (h, now, value) = fed(Duration::from_secs(1), 100.0, Duration::from_secs(30));
        assert_eq!(h.total(now, value, HOUR), 3000.0);
        assert_eq!(History::default().total(now, 5.0, HOUR), 0.0);
    }

    #[test]
    fn a_counter_that_went_down_counts_from_zero() {
        let start = Instant::now();
        let mut h = History::default();
        h.record(start, 1_000_000.0);
        let now = start + Duration::from_secs(2);
        h.record(now, 300.0);
        assert_eq!(h.total(now, 300.0, MIN), 300.0);
    }

    #[test]
    fn the_probe_fires_when_the_total_passes_the_limit() {
        let latest = Arc::new(Latest::default());
        let probe = TotalProbe::new(
            Arc::clone(&latest),
            Metric::DownloadedBytes,
            Operator::Greater,
            1000.0,
            MIN,
        );
        let start = Instant::now();
        assert!(probe.judge_at(start).is_ok(), "nothing known yet");
        let counter =
            |v: f64| latest.publish(&Outcome::ok("").with(Metric::DownloadedBytes, v), None);
        let table = [(0, 5000.0, true), (2, 5600.0, true), (4, 6500.0, false)];
        for (secs, value, ok) in table {
            counter(value);
            let o = probe.judge_at(start + Duration::from_secs(secs));
            assert_eq!(o.is_ok(), ok, "{secs}: {}", o.reason);
        }
        let o = probe.judge_at(start + Duration::from_secs(5));
        assert_eq!(o.reason, "1500 bytes downloaded in the last 60 s (> 1000)");
    }
}
