//! End to end: Warden keeps a real self-daemonizing service alive: instant
//! restart after SIGKILL, zombie and stale pidfiles, crash loops, dead ports.

mod util;

use std::time::Duration;

use rustix::process::Signal;
use util::{Sandbox, alive, answers, free_port, wait_until};

fn one_service(sb: &Sandbox, cycle: u32, port: u16, mode: &str, extra: &str) {
    sb.write_rc(&format!(
        "set daemon {cycle}\nset statefile {{dir}}/state\n\
         check process svc with pidfile {pidfile}\n  start program = \"{start}\" with timeout 10 seconds\n  \
         stop program = \"/bin/sh -c 'kill -9 $(cat {pidfile})'\"\n{extra}\n",
        pidfile = sb.pidfile("svc").display(),
        start = sb.service_cmd("svc", port, mode),
    ));
}

#[test]
fn a_killed_service_is_started_again_without_waiting_for_the_cycle() {
    let sb = Sandbox::new();
    let port = free_port();
    one_service(&sb, 60, port, "serve", "");
    let _w = sb.warden();
    assert!(sb.started("svc", port), "never started:\n{}", sb.log());
    let first = sb.pid("svc").expect("pidfile");
    util::kill(first, Signal::KILL);
    // The cycle is 60 s: only the pidfd can explain a restart within 15 s.
    let back = wait_until(Duration::from_secs(15), || {
        sb.pid("svc").is_some_and(|p| p != first && alive(p)) && answers(port)
    });
    assert!(back, "not restarted:\n{}", sb.log());
    assert_eq!(sb.starts("svc"), 2);
    assert!(sb.log().contains("'svc' trying to restart"), "{}", sb.log());
}

#[test]
fn a_pidfile_pointing_at_a_zombie_leads_to_a_start() {
    let sb = Sandbox::new();
    let pidfile = sb.pidfile("svc");
    // A parent that never reaps its exited child, so the child stays a zombie.
    let script = format!(
        "import os, time\npid = os.fork()\nif pid == 0: os._exit(0)\n\
         open('{}', 'w').write(str(pid))\nopen('{}', 'w').write(str(os.getpid()))\ntime.sleep(60)",
        pidfile.display(),
        sb.path("parent.pid").display()
    );
    let mut parent = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .spawn()
        .expect("python");
    assert!(wait_until(Duration::from_secs(5), || sb
        .pid("svc")
        .is_some_and(|p| util::proc_state(p) == Some('Z'))));
    let port = free_port();
    one_service(&sb, 60, port, "serve", "");
    let _w = sb.warden();
    let started = wait_until(Duration::from_secs(15), || answers(port));
    let _ = parent.kill();
    let _ = parent.wait();
    assert!(started, "a zombie counted as running:\n{}", sb.log());
}

#[test]
fn a_pidfile_pointing_at_an_unrelated_process_leads_to_a_start() {
    let sb = Sandbox::new();
    let pidfile = sb.pidfile("svc");
    // A live process that started after its pidfile was last written: the
    // pid is not the service's (Monit would take it for the service).
    let mut stranger = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("sleep");
    std::fs::write(&pidfile, stranger.id().to_string()).expect("pidfile");
    let past = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&pidfile)
        .and_then(|f| f.set_modified(past))
        .expect("mtime");
    let port = free_port();
    one_service(&sb, 60, port, "serve", "");
    let _w = sb.warden();
    let started = wait_until(Duration::from_secs(15), || answers(port));
    let stranger_alive = alive(stranger.id() as i32);
    let _ = stranger.kill();
    let _ = stranger.wait();
    assert!(started, "a stale pidfile counted as running:\n{}", sb.log());
    assert!(stranger_alive, "the unrelated process was touched");
}

#[test]
fn a_crash_looping_service_is_unmonitored_and_left_alone() {
    let sb = Sandbox::new();
    let port = free_port();
    one_service(
        &sb,
        60,
        port,
        "crash",
        "  if 3 restarts within 5 cycles then unmonitor",
    );
    let _w = sb.warden();
    let gave_up = wait_until(Duration::from_secs(30), || {
        sb.log().contains("'svc' unmonitored")
    });
    assert!(gave_up, "never unmonitored:\n{}", sb.log());
    let starts = sb.starts("svc");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        sb.starts("svc"),
        starts,
        "started after unmonitor:\n{}",
        sb.log()
    );
    assert!((3..=5).contains(&starts), "{starts} starts:\n{}", sb.log());
}

#[test]
fn a_service_whose_port_stops_answering_is_restarted() {
    let sb = Sandbox::new();
    let port = free_port();
    one_service(
        &sb,
        1,
        port,
        "serve",
        &format!("  if failed port {port} then restart"),
    );
    let _w = sb.warden();
    assert!(sb.started("svc", port), "never started:\n{}", sb.log());
    let first = sb.pid("svc").expect("pid");
    util::kill(first, Signal::USR1);
    assert!(
        wait_until(Duration::from_secs(5), || !answers(port)),
        "the port did not close"
    );
    let back = wait_until(Duration::from_secs(20), || {
        sb.pid("svc").is_some_and(|p| p != first) && answers(port)
    });
    assert!(back, "not restarted:\n{}", sb.log());
    assert!(!alive(first), "the old instance still runs");
}

/// Kills the service and waits for Warden to start it again.
fn kill_and_wait_back(sb: &Sandbox, port: u16) -> bool {
    let Some(old) = sb.pid("svc") else {
        return false;
    };
    util::kill(old, Signal::KILL);
    wait_until(Duration::from_secs(15), || {
        sb.pid("svc").is_some_and(|p| p != old && alive(p)) && answers(port)
    })
}

#[test]
fn restarts_from_before_a_restart_of_warden_age_out_of_the_window() {
    let sb = Sandbox::new();
    let port = free_port();
    one_service(
        &sb,
        1,
        port,
        "serve",
        "  if 3 restarts within 4 cycles then unmonitor",
    );
    let w = sb.warden();
    assert!(sb.started("svc", port), "{}", sb.log());
    for _ in 0..2 {
        assert!(kill_and_wait_back(&sb, port), "{}", sb.log());
    }
    assert!(w.terminate(), "warden did not stop");
    // Longer than the 4-cycle window while Warden is down.
    std::thread::sleep(Duration::from_secs(6));
    let _w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(10), || sb
            .log_count("Warden daemon with pid")
            >= 3),
        "{}",
        sb.log()
    );
    assert!(kill_and_wait_back(&sb, port), "{}", sb.log());
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !sb.log().contains("'svc' unmonitored"),
        "old restarts counted again:\n{}",
        sb.log()
    );
}
