//! Rule state machines with Monit's meaning: a sliding window of the last
//! `within` cycles fires when at least `times` of them failed, and the
//! `else if succeeded` window recovers it; plus the per-check restart window
//! behind `if N restarts within M cycles`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use warden_config::model::Trigger;

/// What one more cycle's result did to a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The rule is passing and was passing.
    Ok,
    /// Failures are counting but have not reached the trigger yet.
    Pending,
    /// The rule fired on this cycle.
    Fired,
    /// The rule had fired and is still failing.
    StillFailing,
    /// The rule had fired and its recovery trigger was met on this cycle.
    Recovered,
}

/// The state of one rule: the last results and whether it has fired.
///
/// The results sit in the bits of one word (windows of up to 64 cycles,
/// which is nearly every rule); a longer window keeps them in a queue of
/// its own. A queue in every rule was an allocation a rule, and 40 bytes
/// where this takes 24, in every check's task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RuleState {
    /// The newest results, the newest in bit 0; a set bit is a failed cycle.
    bits: u64,
    /// How many of `bits` count (at most 64 and the window kept).
    len: u8,
    fired: bool,
    /// A window over 64 cycles: every result kept, the newest last. Boxed
    /// on purpose: 8 bytes in every rule, where the deque itself is 32.
    #[allow(clippy::box_collection)]
    long: Option<Box<VecDeque<bool>>>,
}

/// The most results `RuleState::bits` holds.
const BITS: usize = u64::BITS as usize;

impl RuleState {
    pub fn fired(&self) -> bool {
        self.fired
    }

    /// Records one cycle's result and says what it means for the rule.
    pub fn record(&mut self, failed: bool, trigger: Trigger, recovery: Trigger) -> Transition {
        let keep = trigger.within.max(recovery.within).max(1) as usize;
        self.push(failed, keep);
        if !self.fired {
            if self.count(trigger.within, true) >= trigger.times.max(1) {
                self.fired = true;
                return Transition::Fired;
            }
            return if failed {
                Transition::Pending
            } else {
                Transition::Ok
            };
        }
        if self.count(recovery.within, false) >= recovery.times.max(1) {
            self.fired = false;
            // A fresh window, so one old failure cannot fire it again at once.
            self.bits = 0;
            self.len = 0;
            if let Some(q) = &mut self.long {
                q.clear();
            }
            return Transition::Recovered;
        }
        Transition::StillFailing
    }

    /// Adds the newest result, keeping the last `keep`.
    fn push(&mut self, failed: bool, keep: usize) {
        if keep > BITS || self.long.is_some() {
            let q = self.long.get_or_insert_with(Default::default);
            q.push_back(failed);
            while q.len() > keep {
                q.pop_front();
            }
            return;
        }
        self.bits = self.bits << 1 | u64::from(failed);
        self.len = (usize::from(self.len) + 1).min(keep) as u8;
    }

    /// How many of the last `within` cycles had the result `failed`.
    fn count(&self, within: u32, failed: bool) -> u32 {
        let within = within.max(1) as usize;
        if let Some(q) = &self.long {
            return q
                .iter()
                .rev()
                .take(within)
                .filter(|&&f| f == failed)
                .count() as u32;
        }
        let n = within.min(usize::from(self.len));
        let mask = if n >= BITS { u64::MAX } else { (1u64 << n) - 1 };
        let failures = (self.bits & mask).count_ones();
        if failed {
            failures
        } else {
            n as u32 - failures
        }
    }
}

/// The cycles on which a check was restarted, for `N restarts within M cycles`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RestartWindow {
    cycles: VecDeque<u64>,
}

impl RestartWindow {
    pub fn record(&mut self, cycle: u64) {
        self.cycles.push_back(cycle);
        // Nobody asks about more than this many; keep the file small.
        while self.cycles.len() > 64 {
            self.cycles.pop_front();
        }
    }

    /// Restarts in the last `cycles` cycles, counting the current one.
    pub fn within(&self, now: u64, cycles: u32) -> u32 {
        let oldest = now.saturating_sub(u64::from(cycles.max(1)) - 1);
        self.cycles
            .iter()
            .filter(|&&c| c >= oldest && c <= now)
            .count() as u32
    }

    pub fn clear(&mut self) {
        self.cycles.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Transition::*;

    fn t(times: u32, within: u32) -> Trigger {
        Trigger { times, within }
    }

    fn run(trigger: Trigger, recovery: Trigger, results: &str) -> Vec<Transition> {
        let mut state = RuleState::default();
        results
            .chars()
            .map(|c| state.record(c == 'F', trigger, recovery))
            .collect()
    }

    #[test]
    fn triggers_follow_monits_sliding_window() {
        let one = t(1, 1);
        let table: &[(&str, Trigger, Trigger, &str, &[Transition])] = &[
            (
                "the default fires at the first failure",
                one,
                one,
                "SFS",
                &[Ok, Fired, Recovered],
            ),
            (
                "for 3 cycles needs three in a row",
                t(3, 3),
                one,
                "FFSFFF",
                &[Pending, Pending, Ok, Pending, Pending, Fired],
            ),
            (
                "2 times within 3 cycles forgives a lone failure",
                t(2, 3),
                one,
                "FSSFSF",
                &[Pending, Ok, Ok, Pending, Ok, Fired],
            ),
            (
                "a fired rule stays failing until it succeeds",
                one,
                one,
                "FFFS",
                &[Fired, StillFailing, StillFailing, Recovered],
            ),
            (
                "recovery can need several successes",
                one,
                t(2, 2),
                "FSFSS",
                &[Fired, StillFailing, StillFailing, StillFailing, Recovered],
            ),
            (
                "after recovery the window starts afresh",
                t(2, 3),
                one,
                "FFSF",
                &[Pending, Fired, Recovered, Pending],
            ),
        ];
        for (name, trigger, recovery, results, want) in table {
            assert_eq!(&run(*trigger, *recovery, results), want, "{name}");
        }
    }

    /// The queue this state replaced, as the reference: the last `keep`
    /// results, newest last.
    fn reference(trigger: Trigger, recovery: Trigger, results: &[bool]) -> Vec<Transition> {
        let keep = trigger.within.max(recovery.within).max(1) as usize;
        let count = |h: &VecDeque<bool>, within: u32, failed: bool| {
            h.iter()
                .rev()
                .take(within.max(1) as usize)
                .filter(|&&f| f == failed)
                .count() as u32
        };
        let (mut h, mut fired) = (VecDeque::new(), false);
        let mut out = Vec::new();
        for &failed in results {
            h.push_back(failed);
            while h.len() > keep {
                h.pop_front();
            }
            out.push(if !fired {
                if count(&h, trigger.within, true) >= trigger.times.max(1) {
                    fired = true;
                    Fired
                } else if failed {
                    Pending
                } else {
                    Ok
                }
            } else if count(&h, recovery.within, false) >= recovery.times.max(1) {
                fired = false;
                h.clear();
                Recovered
            } else {
                StillFailing
            });
        }
        out
    }

    /// The bits in a word give what the queue gave, at windows under, at
    /// and over the word's 64 results, over a long irregular run.
    #[test]
    fn the_word_of_results_judges_as_the_queue_did() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let results: Vec<bool> = (0..3000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Long runs of failures and of successes, then a mix.
                match (i / 400) % 3 {
                    0 => x % 10 < 8,
                    1 => x % 10 < 2,
                    _ => x.is_multiple_of(2),
                }
            })
            .collect();
        let windows = [
            (1, 1),
            (2, 3),
            (30, 40),
            (50, 63),
            (60, 64),
            (40, 65),
            (90, 100),
        ];
        for &(times, within) in &windows {
            for &recovery in &[t(1, 1), t(3, 5), t(20, 64), t(50, 70)] {
                let trigger = t(times, within);
                let mut state = RuleState::default();
                let got: Vec<_> = results
                    .iter()
                    .map(|&f| state.record(f, trigger, recovery))
                    .collect();
                assert_eq!(
                    got,
                    reference(trigger, recovery, &results),
                    "{trigger:?} {recovery:?}"
                );
            }
        }
    }

    /// Every rule of every check holds one in its task: 24 bytes and no
    /// allocation for windows of up to 64 cycles (a queue was 40 bytes and
    /// an allocation of 32 a rule, 0.6 MB at 10,000 port checks).
    #[test]
    fn a_rule_state_is_small_and_allocates_nothing_for_short_windows() {
        assert!(std::mem::size_of::<RuleState>() <= 24);
        let mut state = RuleState::default();
        for i in 0..200 {
            state.record(i % 3 == 0, t(40, 64), t(1, 1));
        }
        assert!(state.long.is_none());
    }

    #[test]
    fn restarts_are_counted_within_the_last_cycles_only() {
        let mut w = RestartWindow::default();
        for c in [1, 2, 4] {
            w.record(c);
        }
        assert_eq!(w.within(4, 5), 3);
        assert_eq!(w.within(4, 3), 2);
        assert_eq!(w.within(6, 3), 1);
        assert_eq!(w.within(10, 5), 0);
    }
}
