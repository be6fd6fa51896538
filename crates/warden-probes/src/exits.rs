//! One epoll set and one thread wait for the exits of every watched
//! process. A pidfd registered with tokio's reactor cost each process check
//! about 570 bytes of heap (its cache-aligned readiness cell and the
//! allocator's padding around it); here a watched process costs a slot of
//! 24 bytes, and the kernel keeps the rest. The thread sleeps in
//! `epoll_wait` until an exit, then wakes the task waiting on it: no
//! wake-up while every process runs.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use rustix::event::epoll;

/// One watched process's place.
#[derive(Debug, Default)]
struct Slot {
    /// Bumped at each reuse, and carried in the epoll event, so that an
    /// event of a watch already dropped never marks its successor.
    generation: u32,
    exited: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Slots {
    all: Vec<Slot>,
    free: Vec<u32>,
}

#[derive(Debug)]
struct Exits {
    epoll: OwnedFd,
    slots: Mutex<Slots>,
}

/// A watched process's slot; give it back with [`unwatch`] before its
/// pidfd is closed.
#[derive(Debug)]
pub(crate) struct Watched {
    index: u32,
    generation: u32,
}

impl Watched {
    fn token(&self) -> u64 {
        u64::from(self.index) << 32 | u64::from(self.generation)
    }
}

/// The one set, made with its thread at the first watch; an error when
/// either cannot be made (the caller then polls).
fn exits() -> io::Result<&'static Exits> {
    static EXITS: OnceLock<Result<Exits, io::ErrorKind>> = OnceLock::new();
    let made = EXITS.get_or_init(|| start().map_err(|e| e.kind()));
    made.as_ref()
        .map_err(|kind| io::Error::new(*kind, "cannot set up the exit watcher"))
}

fn start() -> io::Result<Exits> {
    let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    let waiter = epoll.try_clone()?;
    std::thread::Builder::new()
        .name("warden-exits".into())
        // Its frames are small: epoll_wait and a few wakes.
        .stack_size(64 * 1024)
        .spawn(move || wait_for_exits(waiter.as_fd()))?;
    Ok(Exits {
        epoll,
        slots: Mutex::new(Slots::default()),
    })
}

fn slots(exits: &Exits) -> MutexGuard<'_, Slots> {
    exits.slots.lock().unwrap_or_else(|p| p.into_inner())
}

/// Watches `pidfd` for its process's exit.
pub(crate) fn watch(pidfd: BorrowedFd<'_>) -> io::Result<Watched> {
    let exits = exits()?;
    let watched = {
        let mut slots = slots(exits);
        let index = match slots.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(slots.all.len())
                    .map_err(|_| io::Error::other("too many watched processes"))?;
                slots.all.push(Slot::default());
                i
            }
        };
        let slot = &mut slots.all[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.exited = false;
        slot.waker = None;
        Watched {
            index,
            generation: slot.generation,
        }
    };
    // One-shot: an exited process stays readable, and one event is all
    // it takes (the slot remembers).
    let flags = epoll::EventFlags::IN | epoll::EventFlags::ONESHOT;
    let data = epoll::EventData::new_u64(watched.token());
    if let Err(e) = epoll::add(&exits.epoll, pidfd, data, flags) {
        unwatch(&watched, pidfd);
        return Err(e.into());
    }
    Ok(watched)
}

/// Ready once the process has exited; else remembers `cx`'s waker.
pub(crate) fn poll_exited(watched: &Watched, cx: &mut Context<'_>) -> Poll<()> {
    let Ok(exits) = exits() else {
        return Poll::Ready(());
    };
    let mut slots = slots(exits);
    let Some(slot) = slots
        .all
        .get_mut(watched.index as usize)
        .filter(|s| s.generation == watched.generation)
    else {
        return Poll::Ready(());
    };
    if slot.exited {
        return Poll::Ready(());
    }
    match &mut slot.waker {
        Some(w) if w.will_wake(cx.waker()) => {}
        other => *other = Some(cx.waker().clone()),
    }
    Poll::Pending
}

/// Stops watching and frees the slot (before the pidfd is closed).
pub(crate) fn unwatch(watched: &Watched, pidfd: BorrowedFd<'_>) {
    let Ok(exits) = exits() else {
        return;
    };
    // Not registered (a failed watch) or already gone: nothing to undo.
    let _ = epoll::delete(&exits.epoll, pidfd);
    let mut slots = slots(exits);
    if let Some(slot) = slots
        .all
        .get_mut(watched.index as usize)
        .filter(|s| s.generation == watched.generation)
    {
        slot.waker = None;
        slots.free.push(watched.index);
    }
}

/// The thread: marks each exited process's slot and wakes its waiter.
fn wait_for_exits(epoll_fd: BorrowedFd<'_>) {
    let none = epoll::Event {
        flags: epoll::EventFlags::empty(),
        data: epoll::EventData::new_u64(0),
    };
    let mut events = [none; 64];
    let mut wake = Vec::with_capacity(events.len());
    loop {
        let n = match epoll::wait(epoll_fd, &mut events, None) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                tracing::error!("the exit watcher stopped: {e}; exits are seen at the next cycle");
                return;
            }
        };
        let Ok(exits) = exits() else { return };
        {
            let mut slots = slots(exits);
            for event in events.iter().take(n) {
                let token = event.data.u64();
                let (index, generation) = ((token >> 32) as usize, token as u32);
                if let Some(slot) = slots.all.get_mut(index)
                    && slot.generation == generation
                {
                    slot.exited = true;
                    wake.extend(slot.waker.take());
                }
            }
        }
        // Woken outside the lock: a waker may run its task's poll at once.
        wake.drain(..).for_each(Waker::wake);
    }
}
