//! The budget of descriptors held open across cycles (each watched
//! process's pidfd and stat file): below the open-files limit, with room
//! left for what a cycle opens and closes (pidfiles, `/proc` reads,
//! sockets, programs), so that holding never makes a check fail with
//! "too many open files". A check refused a slot reads by path and polls.

use std::sync::atomic::{AtomicU64, Ordering};

use rustix::process::{Resource, getrlimit};

/// Descriptors kept free of held ones, for the ones a cycle opens.
pub const RESERVE: u64 = 256;

static HELD: AtomicU64 = AtomicU64::new(0);

/// The soft open-files limit as last read; 0 until read. Cached: a check
/// refused a slot asks again each cycle (its exit watch), and a
/// `prlimit64` each time was a cost on every cycle of every refused check.
static LIMIT: AtomicU64 = AtomicU64::new(0);

/// Held descriptors counted in the budget; given back on drop.
#[derive(Debug)]
pub struct Slots(u64);

impl Drop for Slots {
    fn drop(&mut self) {
        HELD.fetch_sub(self.0, Ordering::Relaxed);
    }
}

/// `n` slots, or None when holding `n` more would pass the budget.
pub fn take(n: u64) -> Option<Slots> {
    let budget = soft_limit().saturating_sub(RESERVE);
    let before = HELD.fetch_add(n, Ordering::Relaxed);
    if before.saturating_add(n) > budget {
        HELD.fetch_sub(n, Ordering::Relaxed);
        return None;
    }
    Some(Slots(n))
}

/// The soft open-files limit, read once and again after [`limit_changed`].
fn soft_limit() -> u64 {
    match LIMIT.load(Ordering::Relaxed) {
        0 => {
            let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
            LIMIT.store(soft, Ordering::Relaxed);
            soft
        }
        soft => soft,
    }
}

/// Says the open-files limit was set (at start, at a reload): the next
/// [`take`] reads it again.
pub fn limit_changed() {
    LIMIT.store(0, Ordering::Relaxed);
}

/// How many descriptors are held now.
pub fn held() -> u64 {
    HELD.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_past_the_limit_are_refused_and_given_back_on_drop() {
        let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        let a = take(1).expect("one slot is within any budget");
        // Other tests in this binary may hold some meanwhile: compare
        // with what is asked, not with exact counts.
        assert!(take(soft).is_none(), "the whole limit is past the budget");
        assert!(held() >= 1);
        drop(a);
        let many = take(soft.saturating_sub(RESERVE) / 2);
        assert!(many.is_some() || soft == u64::MAX);
    }
}
