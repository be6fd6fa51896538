//! Alerts: e-mail (lettre), webhooks and Alertmanager (reqwest), each a [`Sink`] (see
//! [`sink`], listed in [`registry`]), behind a durable on-disk queue.
//! [`Notifier::start`] runs two tasks beside the engine: one reads the
//! event bus and decides which events become alerts ([`decide`]), writing
//! each to the queue first ([`queue`]); the other delivers the queue with
//! retries ([`deliver`]). Neither ever blocks a check.
//!
//! Files, next to the engine's state file `S`: `S.alerts` (what was alerted,
//! see [`memory`]) and `S.queue/` (the queue, unless `set eventqueue
//! basedir` names another folder).

pub mod alert;
pub mod alertmanager;
pub mod atomic;
pub mod decide;
pub mod deliver;
pub mod folder;
pub mod format;
pub mod http;
pub mod mail;
pub mod memory;
pub mod queue;
pub mod registry;
pub mod route;
pub mod sink;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use warden_config::Config;
use warden_config::model::Settings;
use warden_engine::EventBus;

pub use alert::{AlertEvent, Destination};
pub use sink::{SendError, Sink};

/// The running alert machinery; stop it with [`Notifier::stop`].
#[derive(Debug)]
pub struct Notifier {
    config: watch::Sender<Arc<Config>>,
    settings: watch::Sender<Arc<Settings>>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    queue_dir: PathBuf,
}

/// Where the queue lives: `set eventqueue basedir`, else `STATEFILE.queue`.
pub fn queue_dir(config: &Config, statefile: &Path) -> PathBuf {
    match config
        .settings
        .eventqueue
        .as_ref()
        .and_then(|q| q.basedir.clone())
    {
        Some(dir) => dir,
        None => with_suffix(statefile, ".queue"),
    }
}

/// Where what was alerted is remembered: `STATEFILE.alerts`.
pub fn memory_file(statefile: &Path) -> PathBuf {
    with_suffix(statefile, ".alerts")
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// This machine's name (`$HOST`).
pub fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

impl Notifier {
    /// Starts both tasks on the current tokio runtime. It subscribes to
    /// the bus before it returns: start it before the engine, so that no
    /// event published at the engine's start is missed.
    pub fn start(config: &Arc<Config>, bus: EventBus, statefile: &Path) -> Notifier {
        let dir = queue_dir(config, statefile);
        let slots = config.settings.eventqueue.as_ref().and_then(|q| q.slots);
        let queue = match queue::Queue::open(&dir, slots) {
            Ok(q) => Some(Arc::new(q)),
            Err(e) => {
                tracing::error!(
                    "cannot open the alert queue {}: {e}; alerts cannot be sent",
                    dir.display()
                );
                None
            }
        };
        let wake = Arc::new(Notify::new());
        let (config_tx, config_rx) = watch::channel(config.clone());
        let (settings_tx, settings_rx) = watch::channel(Arc::new(config.settings.clone()));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let decider = decide::Decider::new(
            route::Routes::new(config),
            memory::Memory::open(Some(&memory_file(statefile))),
            queue.clone(),
            wake.clone(),
            host_name(),
        );
        let unreachable = decider.unreachable.clone();
        let mut tasks = JoinSet::new();
        let events = bus.subscribe();
        tasks.spawn(read_events(decider, events, config_rx, shutdown_rx.clone()));
        if let Some(q) = queue {
            let mut d = deliver::Dispatcher::new(q, settings_rx, wake);
            d.unreachable = unreachable;
            tasks.spawn(d.run(shutdown_rx));
        }
        Notifier {
            config: config_tx,
            settings: settings_tx,
            shutdown,
            tasks,
            queue_dir: dir,
        }
    }

    /// Hands over a reloaded configuration (recipients, formats, servers).
    pub fn reload(&self, config: &Arc<Config>) {
        let dir = config
            .settings
            .eventqueue
            .as_ref()
            .and_then(|q| q.basedir.clone());
        if dir.is_some_and(|d| d != self.queue_dir) {
            tracing::warn!("a new eventqueue basedir takes effect when Warden restarts");
        }
        let _ = self.settings.send(Arc::new(config.settings.clone()));
        let _ = self.config.send(config.clone());
    }

    /// Stops both tasks; queued alerts stay on disk for the next start.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        warden_engine::engine::join_within(&mut self.tasks, Duration::from_secs(5)).await;
    }
}

/// The bus reader: events, reloads and a reminder tick, until shutdown.
async fn read_events(
    mut decider: decide::Decider,
    mut events: tokio::sync::broadcast::Receiver<warden_engine::Event>,
    mut config: watch::Receiver<Arc<Config>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            got = events.recv() => match got {
                Ok(e) => decider.on_event(&e),
                Err(RecvError::Lagged(n)) => lost(n),
                Err(RecvError::Closed) => break,
            },
            Ok(()) = config.changed() => {
                let c = config.borrow_and_update().clone();
                // The old engine's events were all published before the
                // reload (the daemon stops it first): read them first, so
                // they are not read under the new routes.
                for _ in 0..events.len() {
                    match events.try_recv() {
                        Ok(e) => decider.on_event(&e),
                        Err(TryRecvError::Lagged(n)) => lost(n),
                        Err(_) => break,
                    }
                }
                decider.reload(route::Routes::new(&c));
            }
            _ = tick.tick() => decider.remind(),
        }
    }
}

fn lost(n: u64) {
    tracing::error!(
        "alerts: {n} events were lost (the event bus overflowed); their alerts are not sent"
    );
}
