//! End to end: schedules and modes with the real binary: `every "cron"` and
//! `not every "cron"`, `mode manual` waiting for `warden start`, a hanging
//! probe raising "Probe timeout", and `set log syslog` lines arriving on a
//! datagram socket the test binds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod util;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use rustix::process::Signal;
use util::{Sandbox, Warden, answers, free_port, wait_until};

fn service(sb: &Sandbox, name: &str, port: u16, mode: &str, extra: &str) -> String {
    format!(
        "check process {name} with pidfile {pidfile}\n  start program = \"{start}\" with timeout 10 seconds\n{extra}\n",
        pidfile = sb.pidfile(name).display(),
        start = sb.service_cmd(name, port, mode),
    )
}

/// `warden -c RC -I` with extra environment, logging to `warden.log`.
fn warden_with(sb: &Sandbox, env: &[(&str, &str)]) -> Warden {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sb.path("warden.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("-c")
        .arg(&sb.rc)
        .arg("-I")
        .env("HOME", sb.dir.path())
        .env("WARDEN_LOG", "debug")
        .env_remove("NOTIFY_SOCKET")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Warden { child }
}

/// A weekday three days from today (local time): a spec naming only it
/// excludes every minute of this test, whenever it runs.
fn another_weekday() -> u32 {
    (warden_engine::clock::cron_time(SystemTime::now()).weekday + 3) % 7
}

#[test]
fn a_cron_spec_outside_now_never_runs_its_check_and_one_inside_does() {
    let sb = Sandbox::new();
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let other = format!("* * * * {}", another_weekday());
    sb.write_rc(&format!(
        "set daemon 1\n{}{}{}{}",
        service(&sb, "inside", ports[0], "serve", "  every \"* * * * *\""),
        service(
            &sb,
            "outside",
            ports[1],
            "serve",
            &format!("  every \"{other}\"")
        ),
        service(
            &sb,
            "notinside",
            ports[2],
            "serve",
            &format!("  not every \"{other}\"")
        ),
        service(
            &sb,
            "notoutside",
            ports[3],
            "serve",
            "  not every \"* * * * *\""
        ),
    ));
    let _w = sb.warden();
    assert!(sb.started("inside", ports[0]), "{}", sb.log());
    assert!(sb.started("notinside", ports[2]), "{}", sb.log());
    // Several more cycles: the gated checks are skipped at each tick.
    assert!(
        wait_until(Duration::from_secs(15), || sb
            .log_count("'outside' skipped")
            >= 3
            && sb.log_count("'notoutside' skipped") >= 3),
        "{}",
        sb.log()
    );
    assert_eq!(sb.starts("outside"), 0, "{}", sb.log());
    assert_eq!(sb.starts("notoutside"), 0, "{}", sb.log());
    assert!(!sb.log().contains("'outside' start:"), "{}", sb.log());
    assert!(!answers(ports[1]) && !answers(ports[3]));
}

#[test]
fn a_bad_cron_spec_is_refused_at_load_time_at_its_line() {
    let sb = Sandbox::new();
    sb.write_rc(
        "set daemon 1\ncheck program job with path /bin/true\n  every \"61 8-19 * * 1-5\"\n",
    );
    let out = sb.cli(&["-t"]);
    let err = &out.stderr;
    assert!(
        err.contains(":3:9: error: minute field '61': 61 is outside 0-59"),
        "{err}"
    );
    assert_ne!(out.code, 0, "{err}");
}

#[test]
fn manual_mode_waits_for_a_start_and_then_keeps_the_service_alive() {
    let sb = Sandbox::new();
    let (pm, pa) = (free_port(), free_port());
    sb.write_rc(&format!(
        "set daemon 1\n{}{}",
        service(&sb, "manual", pm, "serve", "  mode manual"),
        service(&sb, "active", pa, "serve", ""),
    ));
    let _w = sb.warden();
    // The active check starts its service and runs more cycles meanwhile.
    assert!(sb.started("active", pa), "{}", sb.log());
    assert!(
        wait_until(Duration::from_secs(15), || sb.log_count("'active' checked")
            >= 4),
        "{}",
        sb.log()
    );
    assert_eq!(sb.starts("manual"), 0, "{}", sb.log());
    assert!(
        sb.log()
            .contains("'manual' mode manual: not monitored until started")
    );
    let st = sb.status_of("manual").expect("status");
    assert_eq!(
        (st.status.as_str(), st.mode.as_str()),
        ("Not monitored", "manual")
    );
    // Someone starts it: from then on Warden keeps it alive.
    let out = sb.cli(&["start", "manual"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stderr, sb.log());
    assert!(sb.started("manual", pm), "{}", sb.log());
    let pid = sb.pid("manual").expect("pid");
    util::kill(pid, Signal::KILL);
    assert!(
        wait_until(Duration::from_secs(15), || sb.starts("manual") == 2
            && answers(pm)),
        "{}",
        sb.log()
    );
}

#[test]
fn a_hanging_probe_is_a_probe_timeout_in_the_log_and_status() {
    let sb = Sandbox::new();
    let port = free_port();
    let rule = format!("  if failed port {port} then alert");
    sb.write_rc(&format!(
        "set daemon 1\n{}",
        service(&sb, "slow", port, "hang", &rule)
    ));
    // The port test has no timeout of its own: the scheduler's limit rules.
    let _w = warden_with(&sb, &[("WARDEN_PROBE_TIMEOUT", "1s")]);
    assert!(
        wait_until(Duration::from_secs(20), || sb.log().contains(
            "'slow' probe timeout: the port probe gave no answer within 1 s"
        )),
        "{}",
        sb.log()
    );
    assert!(
        wait_until(Duration::from_secs(15), || sb
            .status_of("slow")
            .is_some_and(|s| s.status == "Probe timeout")),
        "{:?}\n{}",
        sb.status_of("slow"),
        sb.log()
    );
}

#[test]
fn syslog_lines_arrive_on_the_socket_with_facility_and_severity() {
    let sb = Sandbox::new();
    let socket = sb.path("log.sock");
    let server = UnixDatagram::bind(&socket).unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    sb.write_rc(&format!(
        "set daemon 1\nset log syslog facility log_local0\ncheck process gone with pidfile {}\n",
        sb.pidfile("gone").display()
    ));
    let w = warden_with(&sb, &[("WARDEN_SYSLOG_SOCKET", socket.to_str().unwrap())]);
    // local0 (16) * 8 + error (3) = 131.
    let want = format!("<131>warden[{}]: 'gone' ", w.pid());
    let mut seen = Vec::new();
    let found = wait_until(Duration::from_secs(15), || {
        let mut buf = [0u8; 2048];
        if let Ok(n) = server.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        seen.iter().any(|l| l.starts_with(&want))
    });
    assert!(found, "{seen:#?}\n{}", sb.log());
    assert!(seen.iter().all(|l| l.starts_with('<')), "{seen:#?}");
}

/// What the packaged unit's `Type=notify` and `WatchdogSec` rely on: the
/// daemon says READY=1 once it runs, WATCHDOG=1 at half the interval
/// systemd gives it, RELOADING=1 then READY=1 around a reload (SIGHUP),
/// and STOPPING=1 on its way out; all on the socket systemd names.
#[test]
fn systemd_hears_ready_watchdog_pings_reload_and_stopping() {
    let sb = Sandbox::new();
    let socket = sb.path("notify.sock");
    let systemd = UnixDatagram::bind(&socket).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    sb.write_rc("set daemon 1\ncheck system localhost\n");
    let w = warden_with(
        &sb,
        &[
            ("NOTIFY_SOCKET", socket.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let mut heard: Vec<String> = Vec::new();
    let mut listen_until = |done: &dyn Fn(&[String]) -> bool| {
        wait_until(Duration::from_secs(15), || {
            let mut buf = [0u8; 512];
            if let Ok(n) = systemd.recv(&mut buf) {
                heard.extend(String::from_utf8_lossy(&buf[..n]).lines().map(String::from));
            }
            done(&heard)
        })
    };
    let count = |heard: &[String], what: &str| heard.iter().filter(|l| *l == what).count();
    // Pings every 200 ms: five within a few seconds of READY.
    let up = listen_until(&|h| count(h, "READY=1") == 1 && count(h, "WATCHDOG=1") >= 5);
    assert!(up, "{heard:#?}\n{}", sb.log());
    w.signal(Signal::HUP);
    let reloaded = listen_until(&|h| {
        let reloading = h.iter().position(|l| l == "RELOADING=1");
        reloading.is_some_and(|i| h[i..].iter().any(|l| l == "READY=1"))
    });
    assert!(reloaded, "{heard:#?}\n{}", sb.log());
    assert!(w.terminate(), "{}", sb.log());
    let stopping = listen_until(&|h| h.iter().any(|l| l == "STOPPING=1"));
    assert!(stopping, "{heard:#?}\n{}", sb.log());
}
