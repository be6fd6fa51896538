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

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinSet;
use warden_config::Config;
use warden_config::model::Allow;
use warden_engine::Event;

use super::ControlState;
use super::monit::xml::{self, EventMessage};
use spool::Spool;

/// Monit's timeout for M/Monit when the file sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

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

/// One `set mmonit` URL, ready to post to.
#[derive(Debug)]
struct Target {
    /// The URL without its credentials.
    url: reqwest::Url,
    auth: Option<(String, String)>,
    /// `with timeout N seconds` after this URL, else 5 s.
    timeout: Duration,
    /// Whether the last post failed: a failure is logged once per outage.
    down: std::sync::atomic::AtomicBool,
}

/// The targets of one configuration, with the client that posts to them.
#[derive(Debug)]
struct Targets {
    config: Arc<Config>,
    list: Vec<Target>,
    client: reqwest::Client,
    /// The address toward the first URL, found once.
    local_ip: tokio::sync::OnceCell<Option<String>>,
}

impl Targets {
    async fn local_ip(&self) -> Option<String> {
        let first = self.list.first()?;
        self.local_ip
            .get_or_init(|| local_ip(first, first.timeout))
            .await
            .clone()
    }
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

/// Posts `body` to every target; true when one of them accepted it.
async fn post_all(targets: &Targets, body: &str, what: &str) -> bool {
    let mut accepted = false;
    for t in &targets.list {
        accepted |= post(&targets.client, t, body, what).await;
    }
    accepted
}

/// One POST; a failure is logged once until the collector answers again.
async fn post(client: &reqwest::Client, t: &Target, body: &str, what: &str) -> bool {
    use std::sync::atomic::Ordering;
    let mut request = client
        .post(t.url.clone())
        .timeout(t.timeout)
        .header(reqwest::header::CONTENT_TYPE, "text/xml")
        .header(reqwest::header::PRAGMA, "no-cache")
        .header(reqwest::header::ACCEPT, "*/*")
        .body(body.to_string());
    if let Some((user, password)) = &t.auth {
        request = request.basic_auth(user, Some(password));
    }
    let outcome = match request.send().await {
        Ok(answer) if answer.status().as_u16() < 400 => Ok(()),
        Ok(answer) => Err(format!("it answered {}", answer.status())),
        Err(e) => Err(warden_notify::sink::chain(&e)),
    };
    match outcome {
        Ok(()) => {
            if t.down.swap(false, Ordering::Relaxed) {
                tracing::info!("M/Monit: {} takes messages again", t.url);
            }
            tracing::debug!("M/Monit: {what} message sent to {}", t.url);
            true
        }
        Err(why) => {
            if !t.down.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    "M/Monit: cannot send the {what} message to {}: {why} (said once until it answers again; events wait in the queue)",
                    t.url
                );
            } else {
                tracing::debug!("M/Monit: {what} message to {} failed: {why}", t.url);
            }
            false
        }
    }
}

/// The targets of `config` (none without `set mmonit`); a URL reqwest
/// cannot use is logged and skipped.
fn targets(config: Arc<Config>) -> Targets {
    let settings = &config.settings;
    let user_agent = format!(
        "Monit/{} Warden/{}",
        super::MONIT_VERSION,
        env!("CARGO_PKG_VERSION")
    );
    // Each request carries its URL's timeout (connecting included).
    let client = reqwest::Client::builder()
        .no_proxy()
        .user_agent(user_agent)
        .build()
        .unwrap_or_default();
    let list = settings
        .mmonit
        .iter()
        .filter_map(|server| match target(&server.url) {
            Ok(mut t) => {
                t.timeout = server.timeout.unwrap_or(DEFAULT_TIMEOUT);
                Some(t)
            }
            Err(why) => {
                tracing::error!(
                    "M/Monit: cannot use the URL {}: {why}",
                    hide_password(&server.url)
                );
                None
            }
        })
        .collect();
    if !settings.mmonit.is_empty() {
        warn_without_callback(&config);
    }
    Targets {
        config: config.clone(),
        list,
        client,
        local_ip: tokio::sync::OnceCell::new(),
    }
}

/// A URL split into where to post and the basic auth it carries.
fn target(text: &str) -> Result<Target, String> {
    let mut url = reqwest::Url::parse(text).map_err(|e| e.to_string())?;
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let auth = (!url.username().is_empty()).then(|| {
        (
            decode(url.username()),
            decode(url.password().unwrap_or_default()),
        )
    });
    url.set_username("")
        .and_then(|()| url.set_password(None))
        .map_err(|()| "it has no host".to_string())?;
    Ok(Target {
        url,
        auth,
        timeout: DEFAULT_TIMEOUT,
        down: std::sync::atomic::AtomicBool::new(false),
    })
}

/// The URL as logs show it: the password replaced by `***`.
fn hide_password(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => text.split('@').next_back().unwrap_or(text).to_string(),
    }
}

/// The credentials M/Monit calls Warden's httpd back with: the first
/// `allow user:password` that is not read-only, as Monit picks them.
fn callback_credentials(config: &Config) -> Option<(&str, &str)> {
    let httpd = config.settings.httpd.as_ref()?;
    httpd.allow.iter().find_map(|a| match a {
        Allow::User {
            user,
            password,
            read_only: false,
        } => Some((user.as_str(), password.as_str())),
        _ => None,
    })
}

/// Monit's warnings: M/Monit cannot call back without an httpd, nor log
/// in without credentials.
fn warn_without_callback(config: &Config) {
    let settings = &config.settings;
    if settings.httpd.is_none() {
        tracing::warn!("M/Monit enabled but no httpd allowed -- add a 'set httpd' statement");
    } else if settings.mmonit_credentials && callback_credentials(config).is_none() {
        tracing::warn!(
            "M/Monit registration with credentials enabled, but no suitable credentials found -- add 'allow user:password' to 'set httpd'"
        );
    }
}

/// The local address a connection to `t` leaves from (no packet is sent:
/// a UDP socket's connect only picks the route); the name is resolved
/// within the post's timeout.
async fn local_ip(t: &Target, timeout: Duration) -> Option<String> {
    let host = t.url.host_str()?.trim_matches(['[', ']']).to_string();
    let port = t.url.port_or_known_default()?;
    let lookup = tokio::net::lookup_host((host.as_str(), port));
    let remote = tokio::time::timeout(timeout, lookup)
        .await
        .ok()?
        .ok()?
        .next()?;
    let any: std::net::SocketAddr = if remote.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(any).ok()?;
    socket.connect(remote).ok()?;
    Some(socket.local_addr().ok()?.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_its_credentials_decoded_and_loses_them() {
        let t = target("http://monit:p%40ss@127.0.0.1:8080/collector").unwrap();
        assert_eq!(t.url.as_str(), "http://127.0.0.1:8080/collector");
        assert_eq!(t.auth, Some(("monit".into(), "p@ss".into())));
        let plain = target("https://[::1]/collector").unwrap();
        assert_eq!(plain.auth, None);
        assert!(target("not a url").is_err());
    }

    #[test]
    fn each_url_keeps_its_own_timeout_and_a_bad_one_is_skipped() {
        let text = "set mmonit http://a:1/c timeout 2 s, http://b:1/c, http://[::1/c\n\
                    check file f with path /etc/hosts\n";
        let loaded = warden_config::load_text_without_includes(
            std::path::Path::new("/etc/monitrc"),
            text.to_string(),
        );
        let config = Arc::new(loaded.config.expect("loads"));
        let t = targets(config);
        let got: Vec<_> = t.list.iter().map(|t| (t.url.as_str(), t.timeout)).collect();
        assert_eq!(
            got,
            [
                ("http://a:1/c", Duration::from_secs(2)),
                ("http://b:1/c", DEFAULT_TIMEOUT)
            ]
        );
    }

    #[test]
    fn logs_never_show_the_password() {
        assert_eq!(
            hide_password("http://monit:monit@10.0.0.1:8080/collector"),
            "http://monit:***@10.0.0.1:8080/collector"
        );
        assert_eq!(hide_password("http://10.0.0.1/c"), "http://10.0.0.1/c");
    }

    #[test]
    fn the_local_address_toward_loopback_is_loopback() {
        let t = target("http://127.0.0.1:9/collector").unwrap();
        let ip = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(local_ip(&t, Duration::from_secs(1)));
        assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    }
}
