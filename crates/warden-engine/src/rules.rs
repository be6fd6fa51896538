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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RuleState {
    /// Newest last; true is a failed cycle.
    history: VecDeque<bool>,
    fired: bool,
}

impl RuleState {
    pub fn fired(&self) -> bool {
        self.fired
    }

    /// Records one cycle's result and says what it means for the rule.
    pub fn record(&mut self, failed: bool, trigger: Trigger, recovery: Trigger) -> Transition {
        let keep = trigger.within.max(recovery.within).max(1) as usize;
        self.history.push_back(failed);
        while self.history.len() > keep {
            self.history.pop_front();
        }
        if !self.fired {
            if count(&self.history, trigger.within, true) >= trigger.times.max(1) {
                self.fired = true;
                return Transition::Fired;
            }
            return if failed {
                Transition::Pending
            } else {
                Transition::Ok
            };
        }
        if count(&self.history, recovery.within, false) >= recovery.times.max(1) {
            self.fired = false;
            // A fresh window, so one old failure cannot fire it again at once.
            self.history.clear();
            return Transition::Recovered;
        }
        Transition::StillFailing
    }
}

/// How many of the last `within` cycles had the result `failed`.
fn count(history: &VecDeque<bool>, within: u32, failed: bool) -> u32 {
    let within = within.max(1) as usize;
    history
        .iter()
        .rev()
        .take(within)
        .filter(|&&f| f == failed)
        .count() as u32
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
