//! `warden` without a subcommand: the daemon. Loads and validates the control
//! file, detaches (unless `-I` or under systemd), sets up Monit-style logs,
//! runs the engine, and handles SIGTERM/SIGINT (stop, services keep running)
//! and SIGHUP (reload; a broken file keeps the old config running).

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use warden::control::{self, ControlState, ReloadError, Request};
use warden_config::{Config, SourceMap};
use warden_engine::{CheckRequest, Engine, EventBus, StateStore, StatusBoard};

use crate::control_file::{self, ControlFile};
use crate::exit;

/// Set in the detached child so it knows it is the daemon.
const DETACHED: &str = "WARDEN_DETACHED";

/// `verbose` logs at debug level (unless `WARDEN_LOG` says otherwise).
pub fn run(source: &ControlFile, foreground: bool, verbose: bool) -> ExitCode {
    let Some((config, sources)) = load(source) else {
        return ExitCode::from(exit::CONFIG);
    };
    let systemd = std::env::var_os("NOTIFY_SOCKET").is_some();
    let detached = std::env::var_os(DETACHED).is_some();
    if !foreground && !systemd && !detached && !config.settings.init {
        return detach();
    }
    if detached {
        // Not a group leader (spawned without process_group), so this works:
        // the daemon leaves the terminal's session.
        let _ = rustix::process::setsid();
    }
    crate::logging::init(
        config.settings.log.as_ref(),
        foreground || systemd || config.settings.init,
        verbose,
    );
    if let Some(pidfile) = &config.settings.pidfile
        && let Err(e) = std::fs::write(pidfile, format!("{}\n", std::process::id()))
    {
        tracing::error!("cannot write the pidfile {}: {e}", pidfile.display());
    }
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(serve(source.clone(), config, sources)),
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the control file, printing its diagnostics; None on errors.
fn load(source: &ControlFile) -> Option<(Config, SourceMap)> {
    let loaded = source.load();
    control_file::print_diagnostics(&loaded);
    Some((loaded.config?, loaded.sources))
}

/// Logs one warning per check or rule the engine cannot run yet, with its
/// place in the control file, so nothing is skipped silently.
fn warn_unsupported(config: &Config, sources: &SourceMap) {
    for d in warden_engine::unsupported(config) {
        let rendered = d.render(sources);
        let place = rendered.lines().next().unwrap_or(&d.message).to_string();
        tracing::warn!("{place}");
    }
}

/// Starts a copy of this program as the daemon, detached, and returns.
fn detach() -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("warden: cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut args = std::env::args_os();
    // The name it was called by goes too: as `monit` it reads Monit's options.
    let name = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let args: Vec<OsString> = args.collect();
    let spawned = std::process::Command::new(&exe)
        .arg0(name)
        .args(args)
        .env(DETACHED, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        Ok(_) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("warden: cannot start the daemon: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Monit's unique id of this host (`set idfile`, made when missing, as
/// Monit does at start): the XML status names the host by it. A file that
/// cannot be read or written leaves a random id for this run, logged.
fn monit_id(config: &Config, control: &Path) -> String {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let path = warden::monit_id::path(config.settings.idfile.as_deref(), home.as_deref(), control);
    match warden::monit_id::read_or_create(&path) {
        Ok(id) => id.id,
        Err(e) => {
            tracing::warn!("{e}; this run uses an id of its own");
            control::secret::random_token()
        }
    }
}

/// The running engine and what is needed to replace it on reload.
struct Running {
    source: ControlFile,
    /// None only while a reload swaps it.
    engine: Option<Engine>,
    config: Arc<Config>,
    state: StateStore,
    bus: EventBus,
    board: watch::Sender<StatusBoard>,
    notifier: warden_notify::Notifier,
    /// `set httpd port`: set up again on every reload.
    web: control::tcp::WebInterface,
    /// The control socket, where it was created at start.
    socket: PathBuf,
}

impl Running {
    /// Reloads the control file (SIGHUP or the API); a file with errors
    /// keeps the running configuration and says why.
    async fn reload(&mut self) -> Result<(), ReloadError> {
        tracing::info!(
            "reinitializing Warden - control file '{}'",
            self.source.path.display()
        );
        let Some((new, sources)) = reload(&self.source) else {
            return Err(ReloadError::ConfigErrors);
        };
        warn_unsupported(&new, &sources);
        // As at start: not held while the new engine allocates.
        drop(sources);
        let new = Arc::new(new);
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
        // The old engine stops before the new one starts: never two tasks
        // acting on one service.
        let old = self.board.borrow().clone();
        if let Some(engine) = self.engine.take() {
            engine.stop().await;
        }
        raise_open_files_limit(&new);
        let engine = Engine::start(&new, self.state.clone(), self.bus.clone());
        let board = engine.status_board();
        self.engine = Some(engine);
        board.carry_over(&old);
        let _ = self.board.send(board);
        self.notifier.reload(&new);
        self.web.reconfigure(new.settings.httpd.as_ref()).await;
        self.socket_access(&new);
        self.config = new;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        Ok(())
    }

    /// Gives the control socket the new file's `uid`, `gid` and
    /// `permission`. It stays where it was created: the reload may have
    /// come through it.
    fn socket_access(&self, new: &Config) {
        let httpd = new.settings.httpd.as_ref();
        let wanted = control_file::socket(new, &self.source.path);
        if wanted != self.socket {
            tracing::warn!(
                "the control socket stays at {} until Warden restarts (the control file now says {})",
                self.socket.display(),
                wanted.display()
            );
        }
        // Applied even when unchanged, as Monit sets up its httpd again: a
        // socket chmod-ed by hand gets the file's mode back.
        let access = control::server::SocketAccess::from_config(httpd);
        if let Err(e) = access.apply(&self.socket) {
            tracing::error!("the control socket {}: {e}", self.socket.display());
        }
    }

    /// Carries out one control request; true when the daemon must quit.
    async fn handle(&mut self, request: Request) -> bool {
        match request {
            Request::Act {
                action,
                names,
                reply,
            } => {
                if let Some(engine) = &self.engine {
                    let done = control::server::act(engine, action, names);
                    tokio::spawn(async move {
                        let _ = reply.send(done.await);
                    });
                }
            }
            Request::Reload(reply) => {
                let _ = reply.send(self.reload().await);
            }
            Request::Validate(reply) => {
                let names: Vec<String> = self
                    .config
                    .checks
                    .iter()
                    .map(|c| c.name.value.clone())
                    .collect();
                if let Some(engine) = &self.engine {
                    for name in &names {
                        engine.command(name, CheckRequest::Evaluate);
                    }
                }
                let _ = reply.send(names.len());
            }
            Request::Quit(reply) => {
                tracing::info!("quit requested through the control socket");
                let _ = reply.send(());
                return true;
            }
        }
        false
    }
}

async fn serve(source: ControlFile, config: Config, sources: SourceMap) -> ExitCode {
    raise_open_files_limit(&config);
    // One copy for the engine, the notifier and the control side.
    let config = Arc::new(config);
    let statefile = control_file::statefile(&config, &source.path);
    let state = StateStore::open(Some(statefile.clone()));
    let bus = EventBus::default();
    tracing::info!("Warden daemon with pid {} started", std::process::id());
    warn_unsupported(&config, &sources);
    // The control text is needed no more: freed before the engine and the
    // notifier allocate, they reuse its memory (it is the peak otherwise).
    drop(sources);
    // Subscribed before the engine starts, so its first events are kept.
    let event_rx = bus.subscribe();
    let metrics_rx = bus.subscribe();
    let mmonit_rx = bus.subscribe();
    // Before the engine: it subscribes to the bus, so it sees the first events.
    let notifier = warden_notify::Notifier::start(&config, bus.clone(), &statefile);
    let engine = Engine::start(&config, state.clone(), bus.clone());
    let (board, board_rx) = watch::channel(engine.status_board());
    let events = tokio::spawn(record_events(event_rx, board_rx.clone()));
    let (requests, mut inbox) = mpsc::channel(64);
    let socket_path = control_file::socket(&config, &source.path);
    let control = ControlState::new(board_rx, requests).with_info(control::DaemonInfo {
        control_file: Some(
            std::path::absolute(&source.path).unwrap_or_else(|_| source.path.clone()),
        ),
        monit_id: monit_id(&config, &source.path),
        socket: Some(socket_path.clone()),
    });
    let metrics = control::metrics::Metrics::start(control.clone(), metrics_rx);
    // `set mmonit`: its event messages wait in the alert queue's folder.
    let mmonit_queue = warden_notify::queue_dir(&config, &statefile).join("mmonit");
    let slots = config.settings.eventqueue.as_ref().and_then(|q| q.slots);
    let collector =
        control::mmonit::Collector::start(control.clone(), mmonit_rx, &mmonit_queue, slots).await;
    let Some((server, socket)) = serve_socket(&config, socket_path, control.clone(), &metrics)
    else {
        engine.stop().await;
        return ExitCode::FAILURE;
    };
    // `set httpd port`: the web page, API and /metrics on TCP.
    let web =
        control::tcp::WebInterface::start(config.settings.httpd.as_ref(), control, &metrics).await;
    let mut running = Running {
        source,
        engine: Some(engine),
        config,
        state,
        bus,
        board,
        notifier,
        web,
        socket,
    };
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = tokio::spawn(watchdog());
    // The start's parse, planning and first cycles leave freed heap
    // behind: give it back as they settle, then now and then.
    let trimming = tokio::spawn(warden::heap::keep_trimmed());
    // SIGUSR1 is Monit's "wake up and check everything now" (`monit
    // validate` sends it to the daemon's pid): without a handler it would
    // kill the daemon.
    let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                let _ = running.reload().await;
            }
            _ = usr1.recv() => {
                tracing::info!("woken up by SIGUSR1: checking every service now");
                let (reply, _) = tokio::sync::oneshot::channel();
                running.handle(Request::Validate(reply)).await;
            }
            Some(request) = inbox.recv() => {
                if running.handle(request).await {
                    break;
                }
            }
        }
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("Warden daemon with pid {} stopped", std::process::id());
    server.stop().await;
    if let Some(engine) = running.engine.take() {
        engine.stop().await;
    }
    running.notifier.stop().await;
    collector.stop().await;
    watchdog.abort();
    trimming.abort();
    events.abort();
    if let Some(p) = &running.config.settings.pidfile {
        let _ = std::fs::remove_file(p);
    }
    ExitCode::from(exit::OK)
}

/// Serves the control API on its Unix socket; None (logged) when the
/// socket cannot be created.
fn serve_socket(
    config: &Config,
    socket: PathBuf,
    control: ControlState,
    metrics: &control::metrics::Metrics,
) -> Option<(control::server::UnixServer, PathBuf)> {
    let httpd = config.settings.httpd.as_ref();
    let access = control::server::SocketAccess::from_config(httpd);
    match control::server::bind(&socket, &access) {
        Ok(listener) => {
            tracing::info!("control socket at {}", socket.display());
            // Monit's routes last: its `/{name}` page takes any other path.
            let router = control::api_router(control.clone())
                .merge(metrics.router())
                .merge(control::monit::router(control));
            let server = control::server::UnixServer::serve(listener, socket.clone(), router);
            Some((server, socket))
        }
        Err(e) => {
            tracing::error!("cannot create the control socket {}: {e}", socket.display());
            None
        }
    }
}

/// Remembers every event as its check's last one on the running board.
async fn record_events(
    mut rx: tokio::sync::broadcast::Receiver<warden_engine::Event>,
    board: watch::Receiver<StatusBoard>,
) {
    loop {
        match rx.recv().await {
            Ok(event) => board.borrow().record_event(&event),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    }
}

/// Parses and validates the file again; on errors logs them and keeps the
/// running config.
fn reload(source: &ControlFile) -> Option<(Config, SourceMap)> {
    let loaded = source.load();
    for line in loaded.render().lines().filter(|l| !l.trim().is_empty()) {
        tracing::error!("{line}");
    }
    if loaded.config.is_none() {
        tracing::error!("the control file has errors; keeping the running configuration");
    }
    Some((loaded.config?, loaded.sources))
}

/// Tells systemd we are alive, at half its watchdog interval, from the
/// same runtime the checks run on: a stuck scheduler stops the pings.
async fn watchdog() {
    let Some(every) = sd_notify::watchdog_enabled() else {
        return;
    };
    let mut tick = tokio::time::interval((every / 2).max(Duration::from_millis(100)));
    loop {
        tick.tick().await;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
    }
}

/// Thousands of checks hold thousands of pidfds and stat files: use the
/// whole hard limit, raised where permitted to what the checks need (a
/// pidfd and a stat file each, the rest for sockets, programs and logs).
/// Without it, checks past the limit fall back to polling.
fn raise_open_files_limit(config: &Config) {
    let wanted = 4096 + 3 * config.checks.len() as u64;
    match warden_probes::raise_nofile_limit(wanted) {
        Ok(n) => tracing::debug!("open files limit is {n}"),
        Err(e) => tracing::warn!(
            "cannot raise the open files limit ({e}): exits past it are noticed by polling"
        ),
    }
}
