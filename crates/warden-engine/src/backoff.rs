//! Restart backoff (Warden extension): how long to wait before the next
//! automatic restart, fixed or exponential with jitter and a cap, starting
//! over once the service has run long enough without a restart.

use std::time::{Duration, Instant};

use warden_config::model::Backoff;

/// The backoff of one check: consecutive restarts and when the last one was.
#[derive(Debug, Clone, Default)]
pub struct BackoffState {
    attempts: u32,
    last: Option<Instant>,
}

impl BackoffState {
    /// The delay before the next restart, at `now`; records the restart.
    pub fn next_delay(&mut self, policy: Option<&Backoff>, now: Instant) -> Duration {
        let Some(policy) = policy else {
            return Duration::ZERO;
        };
        if let (Some(last), Backoff::Exponential { reset_after, .. }) = (self.last, policy)
            && now.saturating_duration_since(last) >= *reset_after
        {
            self.attempts = 0;
        }
        let delay = delay_for(policy, self.attempts, rand::random::<f64>());
        self.attempts = self.attempts.saturating_add(1);
        self.last = Some(now);
        delay
    }
}

/// The delay before restart number `attempt` (0 is the first); `unit` in
/// [0, 1) picks the jitter, which spreads the delay over its upper half.
pub fn delay_for(policy: &Backoff, attempt: u32, unit: f64) -> Duration {
    match policy {
        Backoff::Fixed { delay } => *delay,
        Backoff::Exponential {
            initial,
            max,
            jitter,
            ..
        } => {
            let factor = 2u32.saturating_pow(attempt.min(31));
            let full = initial.saturating_mul(factor).min(*max);
            if *jitter {
                full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
            } else {
                full
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(jitter: bool) -> Backoff {
        Backoff::Exponential {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            jitter,
            reset_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn exponential_backoff_doubles_up_to_its_cap() {
        let got: Vec<u64> = (0..6)
            .map(|a| delay_for(&exp(false), a, 0.0).as_secs())
            .collect();
        assert_eq!(got, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn jitter_stays_within_the_upper_half() {
        assert_eq!(delay_for(&exp(true), 3, 0.0), Duration::from_secs(4));
        assert_eq!(delay_for(&exp(true), 3, 1.0), Duration::from_secs(8));
    }

    #[test]
    fn fixed_backoff_never_grows() {
        let fixed = Backoff::Fixed {
            delay: Duration::from_secs(3),
        };
        assert_eq!(delay_for(&fixed, 9, 0.7), Duration::from_secs(3));
    }

    #[test]
    fn a_stable_run_resets_the_delay() {
        let mut s = BackoffState::default();
        let t0 = Instant::now();
        let policy = exp(false);
        assert_eq!(s.next_delay(Some(&policy), t0), Duration::from_secs(1));
        assert_eq!(
            s.next_delay(Some(&policy), t0 + Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert_eq!(
            s.next_delay(Some(&policy), t0 + Duration::from_secs(100)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn no_policy_means_no_delay() {
        assert_eq!(
            BackoffState::default().next_delay(None, Instant::now()),
            Duration::ZERO
        );
    }
}
