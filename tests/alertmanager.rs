//! End to end: Warden's alerts in Debian's real `prometheus-alertmanager`
//! on loopback. A killed service is a firing alert with Warden's labels
//! (and the configured ones) and resolved once Warden has started it again;
//! with Alertmanager down, every state waits in the durable queue and
//! arrives, counted, once it is up.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

#[path = "util/alertmanager.rs"]
mod am;
mod util;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use am::Alertmanager;
use rustix::process::Signal;
use util::{Sandbox, free_port, wait_until};

fn host() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// False (and a note on stderr) where Debian's Alertmanager is missing.
fn installed() -> bool {
    let there = Path::new(am::ALERTMANAGER).exists();
    if !there {
        eprintln!("SKIP: prometheus-alertmanager is not installed (scripts/setup installs it)");
    }
    there
}

/// The control file: `web` (the Python service on `port`, started after a
/// pause of `pause` seconds, so its alert stands that long) in group
/// `www`, and `ghost`, a process that never exists and is never started.
fn rc(sb: &Sandbox, httpd: u16, am_port: u16, port: u16, pause: u32) -> String {
    format!(
        "set daemon 1\nset statefile {{dir}}/state\nset httpd port {httpd}\n  allow admin:pw\n\
         set alertmanager http://127.0.0.1:{am_port} labels {{ env: test }}\n\
         check process web with pidfile {pidfile}\n  group www\n\
         \x20 start program = \"/bin/sh -c 'sleep {pause}; exec {start}'\" with timeout 20 seconds\n\
         \x20 if does not exist then restart\n\
         check process ghost with pidfile {{dir}}/ghost.pid\n",
        pidfile = sb.pidfile("web").display(),
        start = sb.service_cmd("web", port, "serve"),
    )
}

/// Starts the service as Warden would, before Warden: its first check
/// finds it running, so no alert comes of the start.
fn prestart(sb: &Sandbox, port: u16) {
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg(sb.service_cmd("web", port, "serve"))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(wait_until(Duration::from_secs(10), || util::answers(port)));
}

/// Kills `web` once Warden watches it; returns when it was killed.
fn kill_web(sb: &Sandbox) -> Instant {
    let pid = sb.pid("web").unwrap();
    let watched = wait_until(Duration::from_secs(15), || {
        sb.status_of("web")
            .is_some_and(|s| s.pid == Some(pid as u32))
    });
    assert!(watched, "Warden never saw web running:\n{}", sb.log());
    let at = Instant::now();
    util::kill(pid, Signal::KILL);
    at
}

/// Files in the queue folder (next to the state file).
fn queued(sb: &Sandbox) -> usize {
    std::fs::read_dir(sb.path("state.queue"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_killed_service_fires_in_alertmanager_with_its_labels_and_resolves_when_restarted() {
    if !installed() {
        return;
    }
    let sb = Sandbox::new();
    let (httpd, am_port, port) = (free_port(), free_port(), free_port());
    let am = Alertmanager::start(&sb.path("am"), am_port);
    sb.write_rc(&rc(&sb, httpd, am_port, port, 3));
    prestart(&sb, port);
    let _w = sb.warden();
    // ghost never exists: a standing alert, the first one posted.
    assert!(
        wait_until(Duration::from_secs(15), || am
            .alert(&[("service", "ghost")])
            .is_some()),
        "no alert for ghost:\n{}",
        sb.log()
    );
    let killed = kill_web(&sb);
    let web = [("service", "web")];
    let shown = wait_until(Duration::from_secs(5), || am.alert(&web).is_some());
    let took = killed.elapsed();
    assert!(shown, "no alert for web in Alertmanager:\n{}", sb.log());
    eprintln!(
        "kill -> alert listed by Alertmanager: {} ms",
        took.as_millis()
    );

    let alert = am.alert(&web).unwrap();
    let labels = &alert["labels"];
    for (k, v) in [
        ("alertname", "WardenCheckFailed"),
        ("service", "web"),
        ("type", "process"),
        ("host", host().as_str()),
        ("group", "www"),
        ("severity", "critical"),
        ("env", "test"),
    ] {
        assert_eq!(labels[k], v, "label {k} of {alert:#}");
    }
    assert_eq!(alert["status"]["state"], "active", "{alert:#}");
    let description = alert["annotations"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(!description.is_empty(), "{alert:#}");
    assert_eq!(alert["annotations"]["action"], "restart", "{alert:#}");
    assert_eq!(
        alert["generatorURL"],
        format!("http://{}:{httpd}/web", host()),
        "{alert:#}"
    );
    assert_eq!(
        am.alert(&[("service", "ghost")]).unwrap()["labels"]["group"],
        serde_json::Value::Null
    );

    // Warden starts it again after the pause: the alert is resolved.
    let resolved = wait_until(Duration::from_secs(20), || am.alert(&web).is_none());
    assert!(resolved, "web's alert still active:\n{}", sb.log());
    assert!(util::answers(port), "web is not back");
    assert!(am.received("resolved") >= 1);
    assert!(
        am.alert(&[("service", "ghost")]).is_some(),
        "ghost resolved?"
    );
}

#[test]
fn alerts_raised_while_alertmanager_is_down_arrive_once_it_is_up() {
    if !installed() {
        return;
    }
    let sb = Sandbox::new();
    let (httpd, am_port, port) = (free_port(), free_port(), free_port());
    sb.write_rc(&rc(&sb, httpd, am_port, port, 0));
    prestart(&sb, port);
    let _w = sb.warden();
    // ghost fails at once; web is killed and started again: three states
    // (ghost firing, web firing, web resolved), all queued meanwhile.
    kill_web(&sb);
    let back = wait_until(Duration::from_secs(20), || {
        sb.log_count("'web' started") > 0 || sb.log_count("'web' process is running") > 0
    });
    assert!(
        back && wait_until(Duration::from_secs(10), || util::answers(port)),
        "{}",
        sb.log()
    );
    assert!(
        wait_until(Duration::from_secs(15), || queued(&sb) >= 3),
        "not queued:\n{}",
        sb.log()
    );
    let states = queued(&sb);
    assert!(
        sb.log_count("not delivered (attempt 1)") > 0,
        "{}",
        sb.log()
    );

    let am = Alertmanager::start(&sb.path("am"), am_port);
    let arrived = wait_until(Duration::from_secs(40), || queued(&sb) == 0);
    assert!(arrived, "still queued:\n{}", sb.log());
    let (firing, resolved) = (am.received("firing"), am.received("resolved"));
    eprintln!(
        "queued while Alertmanager was down: {states} alert states; \
         received once it was up: {firing} firing, {resolved} resolved"
    );
    assert!(
        firing >= 2 && resolved >= 1,
        "{firing} firing, {resolved} resolved"
    );
    assert!(
        am.alert(&[("service", "ghost")]).is_some(),
        "{:#?}",
        am.alerts()
    );
    assert!(
        am.alert(&[("service", "web")]).is_none(),
        "{:#?}",
        am.alerts()
    );
}

#[test]
fn a_standing_failure_is_posted_again_before_its_end_lapses() {
    if !installed() {
        return;
    }
    let sb = Sandbox::new();
    let (httpd, am_port, port) = (free_port(), free_port(), free_port());
    let am = Alertmanager::start(&sb.path("am"), am_port);
    sb.write_rc(&rc(&sb, httpd, am_port, port, 0));
    prestart(&sb, port);
    let _w = sb.warden();
    let ghost = [("service", "ghost")];
    assert!(
        wait_until(Duration::from_secs(15), || am.alert(&ghost).is_some()),
        "{}",
        sb.log()
    );
    let first = am.alert(&ghost).unwrap();
    let ends = |a: &serde_json::Value| a["endsAt"].as_str().unwrap_or_default().to_string();
    // At `set daemon 1` the check re-posts every 10 s (the shortest period).
    let again = wait_until(Duration::from_secs(25), || am.received("firing") >= 2);
    assert!(again, "no re-post:\n{}", sb.log());
    let later = am.alert(&ghost).unwrap();
    assert_eq!(later["startsAt"], first["startsAt"], "the same alert");
    // RFC 3339 in UTC sorts as text.
    assert!(ends(&later) > ends(&first), "{first:#}\n{later:#}");
}
