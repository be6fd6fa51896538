//! M/Monit (`set mmonit URL`): Monit 5.33's collector messages, posted as
//! Monit posts them. Every cycle the status document (the figures of
//! `/_status?format=xml` in Monit's collector layout); on every event the
//! same document with an `<event>`; the daemon's own start, reload and stop
//! as Monit's instance events. `POST URL` with `Content-Type: text/xml`,
//! basic auth from the URL's `user:password`, the configured timeout
//! (5 s by default). A message goes to every URL of the list and counts as
//! delivered when one of them accepted it (an answer below 400), as in
//! Monit. Event messages go through a durable queue ([`spool`]); status
//! messages are not queued (the next cycle's replaces them).

pub mod message;
pub mod spool;
pub mod target;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinSet;
use warden_engine::Event;

use super::ControlState;
use super::monit::xml::{self, EventMessage};
use spool::Spool;
use target::{Targets, callback_credentials, post_all, targets};

/// The running collector client; stop it with [`Collector::stop`].
#[derive(Debug)]
pub struct Collector {
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    sender: Arc<Sender>,
}

impl Collector {
    /// Queues the daemon's start event, then starts the event reader and
    /// the sender. `events` is subscribed before the engine starts, so its
    /// first events are kept (and queued after the start); `queue` is the
    /// folder event messages wait in. With no `set mmonit` in the file (now
    /// or after a reload) both tasks only wait.
    pub async fn start(
        control: ControlState,
        events: broadcast::Receiver<Event>,
        queue: &Path,
        slots: Option<u32>,
    ) -> Collector {
        let sender = Arc::new(Sender {
            control,
            queue: queue.to_path_buf(),
            slots,
            spool: std::sync::OnceLock::new(),
            wake: Notify::new(),
            targets: std::sync::Mutex::new(None),
        });
        sender
            .post_event(message::instance(&words("started"), "start"))
            .await;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(read_events(sender.clone(), events, shutdown_rx.clone()));
        tasks.spawn(send(sender.clone(), shutdown_rx));
        Collector {
            shutdown,
            tasks,
            sender,
        }
    }

    /// Stops both tasks, then queues Monit's "stopped" event and tries the
    /// queue once more (each post bounded by the timeout); what is not
    /// delivered stays queued for the next start.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        warden_engine::engine::join_within(&mut self.tasks, Duration::from_secs(5)).await;
        if self.sender.configured().is_some() {
            let stopped = message::instance(&words("stopped"), "stop");
            self.sender.post_event(stopped).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), self.sender.flush()).await;
        }
    }
}

/// The words of the daemon's own events, which a person reads in
/// M/Monit's event list: Warden names itself there (Monit writes `Monit
/// 5.33.0 started`).
fn words(what: &str) -> String {
    format!("Warden {} {what}", env!("CARGO_PKG_VERSION"))
}

/// What both tasks share.
#[derive(Debug)]
struct Sender {
    control: ControlState,
    queue: std::path::PathBuf,
    slots: Option<u32>,
    /// Opened when a message is first queued: no folder without `set mmonit`.
    spool: std::sync::OnceLock<Option<Spool>>,
    wake: Notify,
    /// Built again when a reload brings another configuration.
    targets: std::sync::Mutex<Option<Arc<Targets>>>,
}

impl Sender {
    /// The running configuration's targets; None without `set mmonit`.
    fn configured(&self) -> Option<Arc<Targets>> {
        let config = self.control.board().config().clone();
        let mut cached = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cached.as_ref()
            && Arc::ptr_eq(&t.config, &config)
        {
            return (!t.list.is_empty()).then(|| t.clone());
        }
        let targets = Arc::new(targets(config));
        *cached = Some(targets.clone());
        (!targets.list.is_empty()).then_some(targets)
    }

    /// The queue, opened (created) on first use; an error is logged once.
    fn spool(&self) -> Option<&Spool> {
        self.spool
            .get_or_init(|| match Spool::open(&self.queue, self.slots) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(
                        "cannot open the M/Monit queue {}: {e}; M/Monit gets status messages but no events",
                        self.queue.display()
                    );
                    None
                }
            })
            .as_ref()
    }

    /// The document as M/Monit gets it, with `event` when there is one.
    async fn document(&self, targets: &Targets, event: Option<&EventMessage>) -> String {
        let mut server = xml::Server::of(&self.control);
        let config = server.config.clone();
        let settings = &config.settings;
        // Monit names the address it reaches M/Monit from when the httpd
        // listens on every address: M/Monit calls back there.
        if let (Some((address, _, _)), Some(httpd)) = (server.httpd.as_mut(), &settings.httpd)
            && httpd.address.is_none()
            && let Some(ip) = targets.local_ip().await
        {
            *address = ip;
        }
        let credentials = settings
            .mmonit_credentials
            .then(|| callback_credentials(&config))
            .flatten();
        let statuses = self.control.status();
        xml::collector_document(&server, &statuses, credentials, event)
    }

    /// Queues an event message and wakes the sender (nothing without
    /// `set mmonit`).
    async fn post_event(&self, event: EventMessage) {
        let Some(targets) = self.configured() else {
            return;
        };
        let Some(spool) = self.spool() else {
            return;
        };
        let body = self.document(&targets, Some(&event)).await;
        match spool.push(&body) {
            Ok(_) => self.wake.notify_one(),
            Err(e) => tracing::error!(
                "M/Monit: the event '{}' {} is not sent: {e}",
                event.service,
                event.message
            ),
        }
    }

    /// Sends the queued events, oldest first, until one is not accepted.
    async fn flush(&self) {
        let Some(targets) = self.configured() else {
            return;
        };
        let Some(spool) = self.spool() else {
            return;
        };
        for queued in spool.load() {
            if post_all(&targets, &queued.body, "event").await {
                spool.remove(&queued.id);
                continue;
            }
            let age = spool::now_ms().saturating_sub(queued.queued_ms);
            if Duration::from_millis(age) > spool::GIVE_UP_AFTER {
                tracing::error!(
                    "M/Monit: event message {} given up after a day of failures",
                    queued.id
                );
                spool.remove(&queued.id);
                continue;
            }
            // Kept in order: the rest waits for the next cycle.
            break;
        }
    }

    async fn post_status(&self) {
        if let Some(targets) = self.configured() {
            let body = self.document(&targets, None).await;
            post_all(&targets, &body, "status").await;
        }
    }
}

/// Reads the bus: each event of the running configuration becomes a
/// queued message; a new board means a reload, Monit's "reloaded" event.
async fn read_events(
    sender: Arc<Sender>,
    mut events: broadcast::Receiver<Event>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut board = sender.control.board_watch();
    board.borrow_and_update();
    let mut translator = message::Translator::default();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            got = events.recv() => match got {
                Ok(e) => {
                    let config = sender.control.board().config().clone();
                    let number = e
                        .check
                        .as_ref()
                        .map(|c| c.kind.check_type())
                        .or_else(|| config.check(&e.service).map(|c| c.kind.check_type()))
                        .map_or(5, |t| t.monit_number());
                    sender.post_event(translator.message(&e, number)).await;
                }
                Err(RecvError::Lagged(n)) => tracing::error!(
                    "M/Monit: {n} events were lost (the event bus overflowed)"
                ),
                Err(RecvError::Closed) => break,
            },
            Ok(()) = board.changed() => {
                board.borrow_and_update();
                sender
                    .post_event(message::instance(&words("reloaded"), "start"))
                    .await;
            }
        }
    }
}

/// Every cycle (`set daemon N`, read again after a reload): the queued
/// events, then the status; queued events also as soon as they come.
async fn send(sender: Arc<Sender>, mut shutdown: watch::Receiver<bool>) {
    let mut next_status = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            () = sender.wake.notified() => sender.flush().await,
            () = tokio::time::sleep_until(next_status) => {
                sender.flush().await;
                sender.post_status().await;
                let cycle = sender.control.board().config().settings.cycle;
                next_status = tokio::time::Instant::now() + cycle.max(Duration::from_secs(1));
            }
        }
    }
}
