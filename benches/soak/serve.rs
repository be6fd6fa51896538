//! The processes the services are: the harness binary run by `start.sh`
//! (`--serve`, `--zparent`, `--die`) and the stop program (`--stop`).

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal};

/// Runs a service mode if `args` names one; false otherwise.
pub fn dispatch(args: &[String]) -> bool {
    match args.get(1).map(String::as_str) {
        Some("--serve") if args.len() >= 4 => serve(&args[2], Path::new(&args[3]), args.get(4)),
        Some("--zparent") if args.len() >= 4 => zparent(Path::new(&args[2]), &args[3]),
        Some("--die") => std::process::exit(1),
        Some("--stop") if args.len() >= 4 => stop(Path::new(&args[2]), &args[3]),
        _ => return false,
    }
    true
}

/// Writes its pid to DIR/NAME.pid (write, then rename), then sleeps; with
/// a port, answers HTTP there until DIR/NAME.mute appears, then keeps
/// living with the port closed (the "port stops answering" fault).
fn serve(name: &str, dir: &Path, port: Option<&String>) {
    // The port first: a second instance that cannot have it exits without
    // touching the pidfile, which still names the first.
    let listener = match port.map(|p| p.parse::<u16>()) {
        None => None,
        Some(Ok(p)) => match TcpListener::bind(("127.0.0.1", p)) {
            Ok(l) => Some(l),
            Err(_) => std::process::exit(1),
        },
        Some(Err(_)) => std::process::exit(2),
    };
    let pidfile = dir.join(format!("{name}.pid"));
    let tmp = dir.join(format!("{name}.pid.tmp"));
    if std::fs::write(&tmp, format!("{}\n", std::process::id())).is_err()
        || std::fs::rename(&tmp, &pidfile).is_err()
    {
        std::process::exit(1);
    }
    let Some(listener) = listener else {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    };
    let _ = listener.set_nonblocking(true);
    let mute = dir.join(format!("{name}.mute"));
    loop {
        if mute.exists() {
            drop(listener);
            let _ = std::fs::remove_file(&mute);
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        match listener.accept() {
            Ok((mut s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Starts the service as its child and never reaps it: killed, the
/// service stays a zombie until this parent goes.
fn zparent(dir: &Path, name: &str) {
    let Ok(exe) = std::env::current_exe() else {
        std::process::exit(1);
    };
    let child = Command::new(exe)
        .arg("--serve")
        .arg(name)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    // Held, never waited for.
    let _held = child;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// The stop program: SIGTERM to the pid in DIR/NAME.pid, only when that
/// process is this service (its command line holds `--serve NAME`).
fn stop(dir: &Path, name: &str) {
    if !crate::world::is_soak_dir(dir) {
        std::process::exit(2);
    }
    let pid = crate::procs::read_pid(&dir.join(format!("{name}.pid")));
    if let Some(pid) = pid
        && crate::procs::is_service(pid, &crate::world::marker(dir, name))
        && let Some(p) = Pid::from_raw(pid)
    {
        let _ = rustix::process::kill_process(p, Signal::TERM);
    }
    std::process::exit(0);
}
