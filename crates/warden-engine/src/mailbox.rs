//! A check's inbox of commands: a short queue, a stop flag and the waker
//! of whoever waits on it (the check's driver, or its own task while it is
//! busy). An empty one holds no allocation, where a tokio mpsc channel
//! holds a block of 32 slots per check (about 1.3 KB each, 1.3 MB at 1,000
//! checks). The stop flag replaces a shutdown channel, whose wait future
//! took 120 bytes in every check's task; a waker in the queue's lock
//! replaces a `Notify`, so the driver can wait on thousands of inboxes
//! without a future per inbox.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Commands a check may have waiting; more are refused, as a full channel's.
const CAPACITY: usize = 64;

#[derive(Debug)]
struct Queue<T> {
    /// Oldest first. A vector, not a deque: 8 bytes less in every check's
    /// mailbox (its block 80 -> 72 bytes, 96 -> 80 with malloc's header),
    /// and taking from the front of at most 64 items costs nothing.
    items: Vec<T>,
    /// Who to wake at the next item or at the stop.
    waker: Option<Waker>,
}

#[derive(Debug)]
struct Inner<T> {
    queue: Mutex<Queue<T>>,
    /// The receiving check is gone: sending fails.
    closed: AtomicBool,
    /// The receiver is told to stop: it gets nothing more.
    stopped: AtomicBool,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes the waiting receiver, outside the lock.
    fn wake(&self) {
        let waker = self.lock().waker.take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The sending side: cheap to clone.
#[derive(Debug)]
pub struct Sender<T>(Arc<Inner<T>>);

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

/// The receiving side, owned by the check.
#[derive(Debug)]
pub struct Receiver<T>(Arc<Inner<T>>);

pub fn mailbox<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        queue: Mutex::new(Queue {
            items: Vec::new(),
            waker: None,
        }),
        closed: AtomicBool::new(false),
        stopped: AtomicBool::new(false),
    });
    (Sender(inner.clone()), Receiver(inner))
}

impl<T> Sender<T> {
    /// Queues `item`; false when the receiver is gone or the queue is full.
    pub fn try_send(&self, item: T) -> bool {
        if self.0.closed.load(Ordering::Acquire) {
            return false;
        }
        let waker = {
            let mut queue = self.0.lock();
            if queue.items.len() >= CAPACITY {
                return false;
            }
            queue.items.push(item);
            queue.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Tells the receiver to stop: its `recv` returns None from now on,
    /// before any item still queued.
    pub fn stop(&self) {
        // The flag before the lock: a receiver that read it unset stored
        // its waker under the lock, so `wake` finds it.
        self.0.stopped.store(true, Ordering::Release);
        self.0.wake();
    }
}

impl<T> Receiver<T> {
    /// The next item, waiting for one; None once told to stop. Cancel-safe:
    /// an item is only taken from the queue in the same poll that returns it.
    #[cfg(test)]
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item, or None once told to stop; else keeps `cx`'s waker
    /// for the next item or the stop.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.0.stopped.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        let mut queue = self.0.lock();
        if let Some(item) = take(&mut queue) {
            return Poll::Ready(Some(item));
        }
        match &mut queue.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    #[cfg(test)]
    pub fn try_recv(&mut self) -> Option<T> {
        take(&mut self.0.lock())
    }
}

fn take<T>(queue: &mut Queue<T>) -> Option<T> {
    let item = (!queue.items.is_empty()).then(|| queue.items.remove(0));
    // Give back memory a burst of commands took.
    if queue.items.is_empty() && queue.items.capacity() > 0 {
        queue.items = Vec::new();
    }
    item
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        let mut queue = self.0.lock();
        queue.items.clear();
        queue.waker = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn items_arrive_in_order_and_a_waiting_receiver_wakes() {
        let (tx, mut rx) = mailbox();
        assert!(tx.try_send(1));
        assert!(tx.try_send(2));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        let waiting = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        assert!(tx.try_send(3));
        let got = tokio::time::timeout(Duration::from_secs(10), waiting).await;
        assert_eq!(got.ok().and_then(|r| r.ok()), Some(Some(3)));
    }

    #[tokio::test]
    async fn a_full_or_closed_mailbox_refuses() {
        let (tx, rx) = mailbox();
        for i in 0..CAPACITY {
            assert!(tx.try_send(i), "item {i}");
        }
        assert!(!tx.try_send(CAPACITY), "full");
        drop(rx);
        assert!(!tx.try_send(0), "closed");
    }

    #[tokio::test]
    async fn a_cancelled_receive_loses_nothing() {
        let (tx, mut rx) = mailbox();
        // Cancelled while waiting, as in a select! whose other arm won.
        let cancelled = tokio::time::timeout(Duration::from_millis(1), rx.recv()).await;
        assert!(cancelled.is_err());
        assert!(tx.try_send(7));
        assert_eq!(rx.recv().await, Some(7));
        assert!(tx.try_send(8));
        assert_eq!(rx.try_recv(), Some(8));
        assert_eq!(rx.try_recv(), None);
    }

    #[tokio::test]
    async fn a_stop_wakes_a_waiting_receiver_and_comes_before_queued_items() {
        let (tx, mut rx) = mailbox::<u32>();
        let waiting = tokio::spawn(async move {
            let first = rx.recv().await;
            (first, rx)
        });
        tokio::task::yield_now().await;
        tx.stop();
        let got = tokio::time::timeout(Duration::from_secs(10), waiting).await;
        let Ok(Ok((first, mut rx))) = got else {
            panic!("the stopped receiver did not wake");
        };
        assert_eq!(first, None);
        // Stopped for good, even with items queued after the stop.
        assert!(tx.try_send(1));
        assert_eq!(rx.recv().await, None);
    }
}
