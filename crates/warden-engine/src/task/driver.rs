//! A period's driver: one tokio task and one timer run the ticks of up to
//! [`SHARD`] checks that share a period. At a tick it runs each idle
//! check's cycle itself (a steady process check's cycle is a few system
//! calls that finish at the first poll). A check whose work waits on
//! something (a probe not ready at once, the process table, an action)
//! stays with the driver as a pending future, polled again only when what
//! it waits on wakes it; a command in its mailbox or the exit of its
//! process wakes the check at once. Every wake-up goes through a waker
//! that names the check. A task and a timer per check cost a timer-wheel
//! entry, a task wake-up and a poll per check per cycle, and a task cell
//! of 512 bytes per check.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::CheckTask;
use crate::mailbox::Receiver;
use crate::request::CheckRequest;

/// Checks per driver: a period's checks beyond this go to more drivers, so
/// the runtime's worker threads share a tick of thousands of checks and no
/// check waits behind more than this many others.
pub const SHARD: usize = 1024;

/// A check's work away from the driver; it gives the check back.
type Work = Pin<Box<dyn Future<Output = Box<CheckTask>> + Send>>;

/// What a check is woken for or runs.
enum Job {
    Tick,
    Exited,
    Command(CheckRequest),
}

/// The driver's checks woken by a command or an exit, and its wake-up.
#[derive(Debug, Default)]
struct Woken {
    places: Mutex<Vec<u32>>,
    notify: Notify,
}

impl Woken {
    fn places(&self) -> MutexGuard<'_, Vec<u32>> {
        self.places.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The waker a check's mailbox and exit watch hold while it is idle.
#[derive(Debug)]
struct CheckWaker {
    place: u32,
    /// Already in `Woken::places`: a second wake adds nothing.
    queued: AtomicBool,
    woken: Arc<Woken>,
}

impl Wake for CheckWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.woken.places().push(self.place);
            self.woken.notify.notify_one();
        }
    }
}

/// Where a check is.
enum Place {
    /// Waiting for its next tick, a command or its process's exit.
    Idle(Box<CheckTask>),
    /// Its work waits (None only while the driver polls it); `owed` when
    /// a tick passed meanwhile, which it runs as soon as the work is done
    /// (as a timer that fired would).
    Busy { work: Option<Work>, owed: bool },
    /// Told to stop, or its work ended in a panic.
    Ended,
}

struct Slot {
    place: Place,
    inbox: Receiver<CheckRequest>,
    waker: Arc<CheckWaker>,
}

pub struct Driver {
    period: Duration,
    slots: Vec<Slot>,
    woken: Arc<Woken>,
    ended: usize,
    /// The tick after the current one, for the board's "next check".
    next: Instant,
    /// When the current tick began (one clock read a tick, not a check).
    began: std::time::Instant,
}

impl Driver {
    /// A driver of checks of one period, each with its mailbox.
    pub fn new(period: Duration, checks: Vec<(Box<CheckTask>, Receiver<CheckRequest>)>) -> Self {
        let woken = Arc::new(Woken::default());
        let slots = checks
            .into_iter()
            .enumerate()
            .map(|(place, (task, inbox))| Slot {
                place: Place::Idle(task),
                inbox,
                waker: Arc::new(CheckWaker {
                    place: u32::try_from(place).unwrap_or(u32::MAX),
                    queued: AtomicBool::new(false),
                    woken: woken.clone(),
                }),
            })
            .collect();
        Driver {
            period,
            slots,
            woken,
            ended: 0,
            next: Instant::now(),
            began: std::time::Instant::now(),
        }
    }

    /// The first tick at `first`, then every period, until every check is
    /// told to stop through its mailbox and is idle.
    pub async fn run(mut self, first: Instant) {
        self.next = first;
        for place in 0..self.slots.len() {
            self.wait(place);
        }
        let sleep = tokio::time::sleep_until(first);
        tokio::pin!(sleep);
        while self.ended < self.slots.len() {
            tokio::select! {
                biased;
                () = self.woken.notify.notified() => self.woken(),
                () = &mut sleep => {
                    self.next = next_tick(self.next, self.period);
                    sleep.as_mut().reset(self.next);
                    self.tick();
                }
            }
        }
    }

    /// Runs every idle check's cycle; a busy one owes it.
    fn tick(&mut self) {
        self.began = std::time::Instant::now();
        for place in 0..self.slots.len() {
            self.tick_one(place);
        }
    }

    /// Looks at the checks woken: an idle one's mailbox and exit watch, a
    /// busy one's work.
    fn woken(&mut self) {
        let places = std::mem::take(&mut *self.woken.places());
        for place in places {
            let place = place as usize;
            let Some(slot) = self.slots.get_mut(place) else {
                continue;
            };
            slot.waker.queued.store(false, Ordering::Release);
            let work = match &mut slot.place {
                Place::Busy { work, .. } => work.take(),
                _ => None,
            };
            match work {
                Some(work) => {
                    let waker = Waker::from(slot.waker.clone());
                    self.poll_work(place, work, &waker);
                }
                None => self.wait(place),
            }
        }
    }

    /// Polls a busy check's work with `waker`: done, the check is idle
    /// again.
    fn poll_work(&mut self, place: usize, mut work: Work, waker: &Waker) {
        let mut cx = Context::from_waker(waker);
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(&mut cx)));
        match polled {
            Ok(Poll::Ready(task)) => self.idle(place, task, true),
            Ok(Poll::Pending) => {
                if let Some(Slot {
                    place: Place::Busy { work: held, .. },
                    ..
                }) = self.slots.get_mut(place)
                {
                    *held = Some(work);
                }
            }
            Err(_) => self.end(place),
        }
    }

    /// A check whose work panicked ends alone, as it ended its task before.
    fn end(&mut self, place: usize) {
        if let Some(slot) = self.slots.get_mut(place) {
            tracing::error!("a check's work panicked; the check ends");
            slot.place = Place::Ended;
            self.ended += 1;
        }
    }

    /// Polls an idle check's mailbox and exit watch with its waker, and
    /// starts what they ask for.
    fn wait(&mut self, place: usize) {
        let Some(slot) = self.slots.get_mut(place) else {
            return;
        };
        let Place::Idle(task) = &mut slot.place else {
            return;
        };
        let waker = Waker::from(slot.waker.clone());
        let mut cx = Context::from_waker(&waker);
        let job = match slot.inbox.poll_recv(&mut cx) {
            Poll::Ready(None) => {
                slot.place = Place::Ended;
                self.ended += 1;
                return;
            }
            Poll::Ready(Some(cmd)) => Job::Command(cmd),
            Poll::Pending if task.poll_exit(&mut cx).is_ready() => Job::Exited,
            Poll::Pending => return,
        };
        self.start(place, job);
    }

    /// Starts a job of an idle check: run in place to its end when it never
    /// waits, else kept pending until what it waits on wakes it.
    fn start(&mut self, place: usize, job: Job) {
        let Some(slot) = self.slots.get_mut(place) else {
            return;
        };
        if !matches!(slot.place, Place::Idle(_)) {
            return;
        }
        let busy = Place::Busy {
            work: None,
            owed: false,
        };
        let Place::Idle(mut task) = std::mem::replace(&mut slot.place, busy) else {
            return;
        };
        let watched = task.watched_pid();
        let tick = matches!(job, Job::Tick);
        let next = self.next;
        // Unconstrained: the driver runs many checks in one poll of its
        // task, and tokio's budget would otherwise send most of them to
        // tasks of their own once it ran out. One future per kind of job:
        // a tick's is the evaluation's size, not a command's (actions).
        let mut work: Work = match job {
            // A tick's lookups in the process table count from the tick: a
            // table read since serves them (one a cycle, as Monit's),
            // however long they wait under the probe cap.
            Job::Tick => Box::pin(tokio::task::unconstrained(warden_probes::table::in_cycle(
                self.began,
                async move {
                    task.tick(next).await;
                    task
                },
            ))),
            Job::Exited => Box::pin(tokio::task::unconstrained(async move {
                if task.after_exit().await {
                    task.ctx.status.scheduled(task.id(), next);
                }
                task
            })),
            Job::Command(cmd) => Box::pin(tokio::task::unconstrained(async move {
                task.command(cmd).await;
                task
            })),
        };
        // Polled first with no waker (a steady check is done at once and
        // needs none); when it waits, again with the check's waker, which
        // is the one it must keep.
        let first = std::panic::catch_unwind(AssertUnwindSafe(|| {
            work.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        }));
        match first {
            Ok(Poll::Ready(task)) => {
                // A tick that kept the same process leaves the wakers
                // where they are; anything else waits anew.
                let same = tick && task.watched_pid() == watched;
                self.idle(place, task, !same);
            }
            Ok(Poll::Pending) => {
                let waker = Waker::from(slot_waker(&self.slots, place));
                self.poll_work(place, work, &waker);
            }
            Err(_) => self.end(place),
        }
    }

    /// Makes a check idle again; runs a tick it owes, else waits anew when
    /// `rewait`.
    fn idle(&mut self, place: usize, task: Box<CheckTask>, rewait: bool) {
        let Some(slot) = self.slots.get_mut(place) else {
            return;
        };
        let owed = matches!(slot.place, Place::Busy { owed: true, .. });
        slot.place = Place::Idle(task);
        // A stop, a command or an exit first, as the old loop's biased
        // select had them; the tick it owes after.
        if owed || rewait {
            self.wait(place);
        }
        if owed {
            self.tick_one(place);
        }
    }

    /// A tick for the check at `place`: run when idle (and its schedule
    /// says so), owed when busy (again, with what woke it).
    fn tick_one(&mut self, place: usize) {
        let Some(slot) = self.slots.get_mut(place) else {
            return;
        };
        let runs = match &mut slot.place {
            Place::Idle(task) => task.tick_runs() || skipped(task, self.next),
            Place::Busy { owed, .. } => {
                *owed = true;
                false
            }
            Place::Ended => false,
        };
        if runs {
            self.start(place, Job::Tick);
        }
    }
}

/// The waker of the check at `place`.
fn slot_waker(slots: &[Slot], place: usize) -> Arc<CheckWaker> {
    match slots.get(place) {
        Some(slot) => slot.waker.clone(),
        // Never: places come from the slots. A waker that wakes nobody.
        None => Arc::new(CheckWaker {
            place: u32::MAX,
            queued: AtomicBool::new(true),
            woken: Arc::new(Woken::default()),
        }),
    }
}

/// A tick a cron spec skips: the board still learns the next one. False.
fn skipped(task: &CheckTask, next: Instant) -> bool {
    task.ctx.status.scheduled(task.id(), next);
    false
}

/// The next tick on the grid `next + k * period` after now: checks of the
/// same period stay in step (one wake-up serves them all, as one Monit
/// cycle does) and a slow tick skips ticks instead of piling them up.
fn next_tick(next: Instant, period: Duration) -> Instant {
    let now = Instant::now();
    let mut tick = next + period;
    if tick <= now && !period.is_zero() {
        let behind = (now - tick).as_nanos() / period.as_nanos() + 1;
        tick += period * u32::try_from(behind).unwrap_or(u32::MAX);
    }
    tick.max(now)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::AtomicU64;

    use warden_config::model::Check;
    use warden_probes::{BoxFuture, CheckProbes, Outcome, Probe};

    use super::*;
    use crate::factory::ProbeFactory;
    use crate::{Engine, EventBus, StateStore};

    /// Counts its runs; the check named `slow` never answers.
    #[derive(Debug)]
    struct Counted {
        runs: Arc<AtomicU64>,
        hangs: bool,
    }

    impl Probe for Counted {
        fn kind(&self) -> &'static str {
            "counted"
        }

        fn run(&self) -> BoxFuture<'_, Outcome> {
            self.runs.fetch_add(1, Ordering::Relaxed);
            if self.hangs {
                Box::pin(std::future::pending())
            } else {
                Box::pin(async { Outcome::ok("fine") })
            }
        }
    }

    #[derive(Debug, Default)]
    struct Factory {
        slow: Arc<AtomicU64>,
        fast: Arc<AtomicU64>,
    }

    impl ProbeFactory for Factory {
        fn probes(&self, check: &Check) -> CheckProbes {
            let hangs = check.name.value == "slow";
            let runs = if hangs { &self.slow } else { &self.fast };
            CheckProbes {
                subject: Ok(Arc::new(Counted {
                    runs: runs.clone(),
                    hangs,
                })),
                process: None,
                rules: Vec::new(),
            }
        }
    }

    fn config(text: &str) -> Arc<warden_config::Config> {
        let loaded = warden_config::load_text_without_includes(Path::new("t.rc"), text.to_string());
        assert!(!loaded.has_errors(), "{}", loaded.render());
        Arc::new(loaded.config.unwrap())
    }

    /// A check whose probe hangs is handed to a task of its own: the other
    /// checks of its driver keep every tick. Tokio's clock is paused, so
    /// the 5.5 s pass at once and exactly.
    #[tokio::test(start_paused = true)]
    async fn a_check_whose_probe_waits_holds_up_no_other_check() {
        let cfg = config(
            "set daemon 1\n\
             check host slow with address 127.0.0.1\n\
             check host a with address 127.0.0.1\n\
             check host b with address 127.0.0.1\n",
        );
        let factory = Factory::default();
        let engine =
            Engine::start_with(&cfg, StateStore::open(None), EventBus::default(), &factory);
        tokio::time::sleep(Duration::from_millis(5500)).await;
        // Ticks at 0, 1, ..., 5 s for both fast checks.
        assert_eq!(factory.fast.load(Ordering::Relaxed), 12);
        // The slow one is still in its first probe (10 s limit).
        assert_eq!(factory.slow.load(Ordering::Relaxed), 1);
        engine.stop().await;
    }

    /// A command reaches an idle check at once, not at its next tick a
    /// minute later.
    #[tokio::test]
    async fn a_command_wakes_an_idle_check_at_once() {
        let cfg = config("set daemon 60\ncheck host a with address 127.0.0.1\n");
        let factory = Factory::default();
        let engine =
            Engine::start_with(&cfg, StateStore::open(None), EventBus::default(), &factory);
        let runs = || factory.fast.load(Ordering::Relaxed);
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while runs() < 1 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(engine.command("a", CheckRequest::Evaluate));
            while runs() < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "runs: {}", runs());
        engine.stop().await;
    }

    /// A tick tells the board the next one, with the cycle's status when
    /// the check runs and alone when it is not monitored.
    #[tokio::test(start_paused = true)]
    async fn every_tick_tells_the_board_the_next_one() {
        let cfg = config(
            "set daemon 30
             check host a with address 127.0.0.1
             check host b with address 127.0.0.1
  mode manual
",
        );
        let factory = Factory::default();
        let engine =
            Engine::start_with(&cfg, StateStore::open(None), EventBus::default(), &factory);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let all = engine.status();
        let (a, b) = (&all[0], &all[1]);
        assert_eq!(factory.fast.load(Ordering::Relaxed), 1, "only a runs");
        assert!(a.last_check_unix_s.is_some());
        assert_eq!(a.reason.as_deref(), Some("fine"));
        assert!(b.last_check_unix_s.is_none(), "b is not monitored");
        for s in [a, b] {
            let next = s.next_check_unix_s.expect("the next tick");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            assert!(next >= now + 28 && next <= now + 31, "{next} {now}");
        }
        engine.stop().await;
    }

    #[test]
    fn a_late_tick_skips_to_the_grid_instead_of_piling_up() {
        let period = Duration::from_secs(1);
        let start = Instant::now() - Duration::from_millis(3500);
        let next = next_tick(start, period);
        // 4 s after the start: the grid point after now, not start + 1 s.
        assert_eq!(next, start + Duration::from_secs(4));
    }
}
