//! End to end through the probe registry: what the engine's first stand-in
//! probes could not do: a process found by `matching` and an HTTP health
//! request whose status decides a restart.

mod util;

use std::time::Duration;

use rustix::process::Signal;
use util::{Sandbox, alive, answers, free_port, wait_until};

#[test]
fn a_killed_service_found_by_matching_is_started_again() {
    let sb = Sandbox::new();
    let port = free_port();
    // The pidfile path is unique to this sandbox and part of the service's
    // command line, so the pattern matches this service and nothing else.
    let pattern = sb.pidfile("matched").display().to_string();
    sb.write_rc(&format!(
        "set daemon 60\n\
         check process matched matching \"{pattern}\"\n  \
         start program = \"{start}\" with timeout 10 seconds\n",
        start = sb.service_cmd("matched", port, "serve"),
    ));
    let _w = sb.warden();
    assert!(sb.started("matched", port), "never started:\n{}", sb.log());
    let first = sb.pid("matched").expect("pidfile");
    util::kill(first, Signal::KILL);
    // The cycle is 60 s: a restart within 15 s comes from the exit watch.
    let back = wait_until(Duration::from_secs(15), || {
        sb.pid("matched").is_some_and(|p| p != first && alive(p)) && answers(port)
    });
    assert!(back, "not restarted:\n{}", sb.log());
    assert_eq!(sb.starts("matched"), 2, "{}", sb.log());
}

#[test]
fn a_failing_http_health_request_leads_to_a_restart() {
    let sb = Sandbox::new();
    let port = free_port();
    sb.write_rc(&format!(
        "set daemon 1\n\
         check process web with pidfile {pidfile}\n  \
         start program = \"{start}\" with timeout 10 seconds\n  \
         stop program = \"/bin/sh -c 'kill -9 $(cat {pidfile})'\"\n  \
         if failed port {port} protocol http request \"/health\" then restart\n",
        pidfile = sb.pidfile("web").display(),
        start = sb.http_service_cmd("web", port),
    ));
    let _w = sb.warden();
    assert!(sb.started("web", port), "never started:\n{}", sb.log());
    let first = sb.pid("web").expect("pidfile");
    // From now on /health answers 500 while the port still accepts.
    util::kill(first, Signal::USR1);
    let back = wait_until(Duration::from_secs(20), || {
        sb.pid("web").is_some_and(|p| p != first && alive(p)) && answers(port)
    });
    assert!(back, "not restarted:\n{}", sb.log());
    assert!(!alive(first), "the sick instance still runs");
    assert!(sb.log().contains("HTTP status 500"), "{}", sb.log());
}

#[test]
fn what_the_engine_cannot_run_is_a_warning_for_validate_and_the_daemon() {
    let sb = Sandbox::new();
    sb.write_rc(
        "set daemon 60\n\
         check filesystem root with path /\n  \
         if failed permission 644 then alert\n\
         check process app with pidfile /nonexistent/app.pid\n  \
         if read activity > 1 MB/s then alert\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("-c")
        .arg(&sb.rc)
        .arg("-t")
        .output()
        .expect("warden -t");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "wardenrc:3:6: warning: the permission test on a filesystem check is not supported yet"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("wardenrc:5:6: warning: the disk read test on a process check"),
        "{stderr}"
    );
    let _w = sb.warden();
    let logged = wait_until(Duration::from_secs(10), || {
        sb.log_count("not supported yet") == 2
    });
    assert!(logged, "{}", sb.log());
}
