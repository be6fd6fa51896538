//! End to end: the daemon's own life: dependency order, passive mode,
//! SIGHUP with a broken file, state across `kill -9`, SIGTERM, zombies,
//! and hanging probes that do not slow healthy checks.

mod util;

use std::time::Duration;

use rustix::process::Signal;
use util::{Sandbox, alive, answers, free_port, wait_until};

fn service(sb: &Sandbox, name: &str, port: u16, mode: &str, extra: &str) -> String {
    format!(
        "check process {name} with pidfile {pidfile}\n  start program = \"{start}\" with timeout 10 seconds\n{extra}\n",
        pidfile = sb.pidfile(name).display(),
        start = sb.service_cmd(name, port, mode),
    )
}

#[test]
fn dependencies_are_started_first() {
    let sb = Sandbox::new();
    let (pa, pb) = (free_port(), free_port());
    let rc = format!(
        "set daemon 60\n{}{}",
        service(&sb, "web", pa, "serve", "  depends on db"),
        service(&sb, "db", pb, "serve", "")
    );
    sb.write_rc(&rc);
    let _w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(20), || answers(pa) && answers(pb)),
        "{}",
        sb.log()
    );
    let log = sb.log();
    let db = log.find("'db' start:").expect("db started");
    let web = log.find("'web' start:").expect("web started");
    assert!(db < web, "web started before its dependency:\n{log}");
}

#[test]
fn a_passive_check_never_acts() {
    let sb = Sandbox::new();
    let port = free_port();
    sb.write_rc(&format!(
        "set daemon 1\n{}",
        service(&sb, "svc", port, "serve", "  mode passive")
    ));
    let _w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(10), || sb.log_count("'svc' checked")
            >= 3),
        "{}",
        sb.log()
    );
    assert_eq!(sb.starts("svc"), 0, "{}", sb.log());
    assert!(!sb.log().contains("'svc' start:"), "{}", sb.log());
}

#[test]
fn sighup_with_a_broken_file_keeps_the_running_config() {
    let sb = Sandbox::new();
    let port = free_port();
    sb.write_rc(&format!(
        "set daemon 60\n{}",
        service(&sb, "svc", port, "serve", "")
    ));
    let w = sb.warden();
    assert!(sb.started("svc", port), "{}", sb.log());
    sb.write_rc("set daemon 60\ncheck process broken with\n");
    w.signal(Signal::HUP);
    assert!(
        wait_until(Duration::from_secs(10), || sb
            .log()
            .contains("keeping the running configuration")),
        "{}",
        sb.log()
    );
    let first = sb.pid("svc").expect("pid");
    util::kill(first, Signal::KILL);
    let back = wait_until(Duration::from_secs(15), || {
        sb.pid("svc").is_some_and(|p| p != first) && answers(port)
    });
    assert!(back, "the old config stopped working:\n{}", sb.log());
}

#[test]
fn unmonitored_state_survives_kill_9_of_warden() {
    let sb = Sandbox::new();
    let port = free_port();
    let rule = "  if 3 restarts within 5 cycles then unmonitor";
    sb.write_rc(&format!(
        "set daemon 60\nset statefile {{dir}}/state\n{}",
        service(&sb, "svc", port, "crash", rule)
    ));
    let w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(30), || sb
            .log()
            .contains("'svc' unmonitored")),
        "{}",
        sb.log()
    );
    drop(w); // SIGKILL
    let starts = sb.starts("svc");
    let _again = sb.warden();
    assert!(wait_until(Duration::from_secs(10), || sb
        .log_count("Warden daemon with pid")
        >= 2));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        sb.starts("svc"),
        starts,
        "started again after a restart of Warden:\n{}",
        sb.log()
    );
}

#[test]
fn sigterm_stops_warden_and_leaves_services_running_with_no_zombies() {
    let sb = Sandbox::new();
    let port = free_port();
    sb.write_rc(&format!(
        "set daemon 60\n{}",
        service(&sb, "svc", port, "serve", "")
    ));
    let w = sb.warden();
    let warden_pid = w.pid();
    assert!(sb.started("svc", port), "{}", sb.log());
    assert!(
        util::zombies_of(warden_pid).is_empty(),
        "zombies under warden"
    );
    assert!(w.terminate(), "warden did not stop on SIGTERM");
    let pid = sb.pid("svc").expect("pid");
    assert!(
        alive(pid) && answers(port),
        "the service was stopped with warden"
    );
}

#[test]
fn a_hanging_probe_does_not_slow_healthy_checks() {
    let sb = Sandbox::new();
    let (hang, a, b) = (free_port(), free_port(), free_port());
    let rule = format!("  if failed port {hang} with timeout 5 seconds then alert");
    let rc = format!(
        "set daemon 1\n{}{}{}",
        service(&sb, "slow", hang, "hang", &rule),
        service(&sb, "ok1", a, "serve", ""),
        service(&sb, "ok2", b, "serve", "")
    );
    sb.write_rc(&rc);
    let _w = sb.warden();
    assert!(wait_until(Duration::from_secs(15), || answers(a)
        && answers(b)
        && sb.pid("slow").is_some()));
    let before = (sb.log_count("'ok1' checked"), sb.log_count("'ok2' checked"));
    std::thread::sleep(Duration::from_secs(8));
    let after = (sb.log_count("'ok1' checked"), sb.log_count("'ok2' checked"));
    // About 8 runs each at a 1 s cycle; a shared loop stuck on 5 s probes
    // would manage one or two.
    assert!(
        after.0 - before.0 >= 5 && after.1 - before.1 >= 5,
        "{before:?} -> {after:?}\n{}",
        sb.log()
    );
}

/// The tests' orphan reaper (tests/util) reaps orphans only: a child a test
/// spawned itself, exited before the test waits for it, is still there for
/// its own `wait` (the reaper used to take it, an ECHILD on CI).
#[test]
fn the_orphan_reaper_leaves_a_tests_own_children_to_it() {
    util::subreaper();
    let mut own = std::process::Command::new("true").spawn().unwrap();
    // Long enough for many rounds of the reaper (every 10 ms).
    let exited = wait_until(Duration::from_secs(5), || {
        matches!(util::proc_state(own.id() as i32), Some('Z') | None)
    });
    assert!(exited, "the child never exited");
    std::thread::sleep(Duration::from_millis(200));
    let status = own.wait();
    assert!(
        status.as_ref().is_ok_and(|s| s.success()),
        "the child's status was taken: {status:?}"
    );
}
