//! End to end: the control API on the daemon's Unix socket through the
//! real CLI: status, summary and their JSON following a real service,
//! stop/start/monitor/unmonitor by name, `all` and group, reload, quit,
//! and the exit codes scripts rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod util;

use std::process::Command;
use std::time::Duration;

use rustix::process::Signal;
use serde_json::Value;
use util::{CliOutput as Output, Sandbox, alive, answers, free_port, wait_until};
use warden::control::render;
use warden_engine::ServiceStatus;

/// A service with start and stop programs; `extra` adds lines to the check.
fn service(sb: &Sandbox, name: &str, port: u16, extra: &str) -> String {
    format!(
        "check process {name} with pidfile {pid}\n  \
         start program = \"{start}\" with timeout 10 seconds\n  \
         stop program = \"/bin/sh -c 'kill -9 $(cat {pid})'\"\n{extra}\n",
        pid = sb.pidfile(name).display(),
        start = sb.service_cmd(name, port, "serve"),
    )
}

fn code(out: &Output) -> i32 {
    out.code
}

fn stdout(out: &Output) -> String {
    out.stdout.clone()
}

fn stderr(out: &Output) -> String {
    out.stderr.clone()
}

/// Waits until `name`'s status words are `words`.
fn reaches(sb: &Sandbox, name: &str, words: &str) -> bool {
    wait_until(Duration::from_secs(15), || {
        sb.status_of(name).is_some_and(|s| s.status == words)
    })
}

#[test]
fn status_and_summary_follow_a_service_going_down_and_coming_back() {
    let sb = Sandbox::new();
    let port = free_port();
    // No start program: Warden only watches, so the outage stays visible.
    sb.write_rc(&format!(
        "set daemon 1\ncheck process web with pidfile {}\n  group www\n  \
         if does not exist then alert\n",
        sb.pidfile("web").display()
    ));
    let start = || {
        let cmd = sb.service_cmd("web", port, "serve");
        let argv: Vec<&str> = cmd.split_whitespace().collect();
        // It daemonizes; the subreaper reaps the parent.
        let mut parent = Command::new(argv[0]).args(&argv[1..]).spawn().unwrap();
        // It exits at once after forking; the subreaper may reap it first.
        let _ = parent.wait();
        assert!(wait_until(Duration::from_secs(10), || answers(port)));
    };
    start();
    let _w = sb.warden();
    assert!(reaches(&sb, "web", "OK"), "{}", sb.log());
    let web = sb.status_of("web").unwrap();
    assert_eq!(web.pid, sb.pid("web").map(|p| p as u32));
    assert!(web.ok && web.memory_bytes.is_some() && web.last_check_unix_s.is_some());
    let summary = sb.cli(&["summary"]);
    assert_eq!(code(&summary), 0, "{}", stderr(&summary));
    assert!(stdout(&summary).contains(" web "), "{}", stdout(&summary));

    util::kill(sb.pid("web").unwrap(), Signal::KILL);
    assert!(reaches(&sb, "web", "Does not exist"), "{}", sb.log());
    let status = sb.cli(&["status", "web"]);
    assert_eq!(code(&status), 3, "a failed service exits 3");
    assert!(stdout(&status).contains("Does not exist"));
    let json: Value = serde_json::from_str(&sb.cli(&["summary", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["status"], "Does not exist");
    assert_eq!(json[0]["ok"], false);
    let event = sb.status_of("web").unwrap().last_event.unwrap();
    // The failure, then the `alert` action it led to.
    assert!(
        ["Does not exist", "Alert"].contains(&event.kind.as_str()),
        "{event:?}"
    );

    start();
    assert!(reaches(&sb, "web", "OK"), "{}", sb.log());
    assert_eq!(code(&sb.cli(&["summary"])), 0);
    assert_eq!(code(&sb.cli(&["-g", "www", "status"])), 0);
}

#[test]
fn stop_stops_a_service_and_warden_leaves_it_stopped_until_start() {
    let sb = Sandbox::new();
    let port = free_port();
    sb.write_rc(&format!("set daemon 1\n{}", service(&sb, "web", port, "")));
    let _w = sb.warden();
    assert!(sb.started("web", port), "{}", sb.log());
    let pid = sb.pid("web").unwrap();

    let stop = sb.cli(&["stop", "web"]);
    assert_eq!(code(&stop), 0, "{}", stderr(&stop));
    assert!(wait_until(Duration::from_secs(5), || !alive(pid)));
    let web = sb.status_of("web").unwrap();
    assert_eq!((web.status.as_str(), web.ok), ("Not monitored", false));
    // Three cycles later it is still down and was never started again.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!answers(port), "Warden started a stopped service");
    assert_eq!(sb.starts("web"), 1);

    let start = sb.cli(&["start", "web"]);
    assert_eq!(code(&start), 0, "{}", stderr(&start));
    assert!(answers(port));
    assert!(reaches(&sb, "web", "OK"), "{}", sb.log());
}

#[test]
fn unmonitor_monitor_start_all_and_groups_act_on_the_right_services() {
    let sb = Sandbox::new();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    sb.write_rc(&format!(
        "set daemon 1\n{}{}{}",
        service(&sb, "a", pa, "  group g"),
        service(&sb, "b", pb, "  group g"),
        service(&sb, "c", pc, ""),
    ));
    let _w = sb.warden();
    for (name, port) in [("a", pa), ("b", pb), ("c", pc)] {
        assert!(sb.started(name, port), "{}", sb.log());
    }

    let stop = sb.cli(&["-g", "g", "stop"]);
    assert_eq!(code(&stop), 0, "{}", stderr(&stop));
    assert!(wait_until(Duration::from_secs(5), || !answers(pa) && !answers(pb)));
    assert!(answers(pc), "c is not in the group");

    let start = sb.cli(&["start", "all"]);
    assert_eq!(code(&start), 0, "{}", stderr(&start));
    assert!(answers(pa) && answers(pb) && answers(pc));

    // Unmonitored, a killed service stays down; monitored again, it is back.
    assert_eq!(code(&sb.cli(&["unmonitor", "c"])), 0);
    assert!(reaches(&sb, "c", "Not monitored"));
    util::kill(sb.pid("c").unwrap(), Signal::KILL);
    std::thread::sleep(Duration::from_secs(2));
    assert!(!answers(pc), "an unmonitored service was restarted");
    assert_eq!(code(&sb.cli(&["monitor", "c"])), 0);
    assert!(
        wait_until(Duration::from_secs(15), || answers(pc)),
        "{}",
        sb.log()
    );
}

#[test]
fn reload_picks_up_a_new_check_and_quit_leaves_services_running() {
    let sb = Sandbox::new();
    let (pa, pb) = (free_port(), free_port());
    sb.write_rc(&format!("set daemon 1\n{}", service(&sb, "a", pa, "")));
    let w = sb.warden();
    assert!(sb.started("a", pa), "{}", sb.log());

    sb.write_rc(&format!(
        "set daemon 1\n{}{}",
        service(&sb, "a", pa, ""),
        service(&sb, "b", pb, "")
    ));
    let reload = sb.cli(&["reload"]);
    assert_eq!(code(&reload), 0, "{}", stderr(&reload));
    assert!(sb.started("b", pb), "{}", sb.log());
    let names: Vec<String> = sb.statuses().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["a", "b"]);

    let quit = sb.cli(&["quit"]);
    assert_eq!(code(&quit), 0, "{}", stderr(&quit));
    let exited = wait_until(Duration::from_secs(10), || !alive(w.pid()));
    assert!(exited, "the daemon still runs after quit");
    assert!(answers(pa) && answers(pb), "quit stopped the services");
    assert!(
        !sb.path(".warden.sock").exists(),
        "the socket was left behind"
    );
    let gone = sb.cli(&["status"]);
    assert_eq!(code(&gone), 4, "daemon not running exits 4");
    assert!(stderr(&gone).contains("not running"), "{}", stderr(&gone));
}

#[test]
fn errors_have_their_own_exit_codes_and_one_line() {
    let sb = Sandbox::new();
    let port = free_port();
    sb.write_rc(&format!(
        "set daemon 1\nset httpd unixsocket {{dir}}/ctl.sock\n{}",
        service(&sb, "quiet", port, "  mode passive\n  group g")
    ));
    let _w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(10), || sb.path("ctl.sock").exists()),
        "{}",
        sb.log()
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(sb.path("ctl.sock"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let table = [
        (vec!["start", "nosuch"], 6, "no service named 'nosuch'"),
        (
            vec!["-g", "nogroup", "restart"],
            6,
            "no group named 'nogroup'",
        ),
        (vec!["status", "nosuch"], 6, "no service named 'nosuch'"),
        (vec!["start", "quiet"], 7, "passive mode"),
        (vec!["-g", "g", "restart"], 7, "passive mode"),
        (vec!["stop"], 2, "needs a service name"),
        (vec!["report", "sideways"], 2, "unknown category"),
    ];
    for (args, want, words) in table {
        let out = sb.cli(&args);
        let err = stderr(&out);
        assert_eq!(code(&out), want, "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // Monitoring a passive service is allowed.
    assert_eq!(code(&sb.cli(&["monitor", "quiet"])), 0);
}

/// Replaces what changes from run to run, so the layout can be compared.
fn normalised(mut all: Vec<ServiceStatus>, dir: &str) -> Vec<ServiceStatus> {
    for s in &mut all {
        s.pid = s.pid.map(|_| 4242);
        s.ppid = s.ppid.map(|_| 1);
        s.uptime_s = s.uptime_s.map(|_| 3720);
        s.cpu_percent = s.cpu_percent.map(|_| 0.5);
        s.total_cpu_percent = s.total_cpu_percent.map(|_| 0.5);
        s.memory_bytes = s.memory_bytes.map(|_| 1_677_722);
        s.memory_percent = s.memory_percent.map(|_| 0.1);
        s.total_memory_bytes = s.total_memory_bytes.map(|_| 1_677_722);
        s.total_memory_percent = s.total_memory_percent.map(|_| 0.1);
        s.response_time_ms = s.response_time_ms.map(|_| 0.25);
        s.probe_duration_ms = s.probe_duration_ms.map(|_| 1.5);
        s.last_check_unix_s = s.last_check_unix_s.map(|_| 1_795_245_229);
        s.next_check_unix_s = s.next_check_unix_s.map(|_| 1_795_245_230);
        s.last_success_unix_s = s.last_success_unix_s.map(|_| 1_795_245_229);
        if let Some(e) = &mut s.last_event {
            e.time_unix_s = 1_795_245_228;
            e.description = e
                .description
                .replace(dir, "{dir}")
                .replace(|c: char| c.is_ascii_digit(), "9");
        }
        s.reason = None;
        // Every figure stays (the layout is the point), each as 1.
        for v in s.metrics.values_mut() {
            *v = 1.0;
        }
        for t in &mut s.tests {
            t.port = t.port.map(|_| 9999);
            t.response_time_ms = t.response_time_ms.map(|_| 0.25);
        }
    }
    all
}

#[test]
fn status_and_summary_render_like_monit() {
    let sb = Sandbox::new();
    let (pa, pb) = (free_port(), free_port());
    sb.write_rc(&format!(
        "set daemon 1\n{}\
         check host gateway with address 127.0.0.1\n  if failed port {pb} then alert\n\
         check process ghost with pidfile {{dir}}/none.pid\n  mode passive\n",
        service(
            &sb,
            "web",
            pa,
            "  group www\n  if 5 restarts within 10 cycles then unmonitor"
        )
    ));
    let _w = sb.warden();
    assert!(sb.started("web", pa), "{}", sb.log());
    assert!(reaches(&sb, "gateway", "Connection failed"), "{}", sb.log());
    assert!(reaches(&sb, "ghost", "Does not exist"), "{}", sb.log());
    // The events that follow a failure are recorded a moment after it.
    let settled = wait_until(Duration::from_secs(10), || {
        let kinds: Vec<Option<String>> = sb
            .statuses()
            .into_iter()
            .map(|s| s.last_event.map(|e| e.kind))
            .collect();
        kinds
            == [
                Some("Action done".to_string()),
                Some("Alert".to_string()),
                Some("Does not exist".to_string()),
            ]
    });
    assert!(settled, "{:#?}", sb.statuses());
    // A cpu figure needs two samples of the same process: wait for the
    // cycle after the start, so the layout does not depend on timing.
    let sampled = wait_until(Duration::from_secs(10), || {
        sb.statuses()
            .iter()
            .any(|s| s.name == "web" && s.cpu_percent.is_some())
    });
    assert!(sampled, "{:#?}", sb.statuses());
    let all = normalised(sb.statuses(), &sb.dir.path().display().to_string());
    insta::assert_snapshot!("summary", render::render_summary(&all, false));
    insta::assert_snapshot!("status", render::render_status(&all, false));
    insta::assert_snapshot!("report", render::render_report(&all));
}

/// `setpriv` arguments that run a command as `nobody` in group `group`.
fn as_nobody(group: &str) -> Vec<String> {
    ["setpriv", "--reuid=nobody", "--clear-groups"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--regid={group}")])
        .collect()
}

#[test]
fn the_socket_owner_group_and_permission_decide_who_gets_in_with_exit_5_for_the_rest() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("skipped: needs root to run the CLI as another user");
        return;
    }
    let sb = Sandbox::new();
    // `nobody` may walk to the socket; whether it gets in is the socket's mode.
    std::fs::set_permissions(sb.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = sb.path("ctl.sock");
    // nobody's own control file, as a user's ~/.wardenrc would be.
    let theirs = sb.path("nobody.rc");
    std::fs::write(
        &theirs,
        format!("set httpd unixsocket {}\n", socket.display()),
    )
    .unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let rc = |options: &str| {
        sb.write_rc(&format!(
            "set daemon 1\nset httpd unixsocket {{dir}}/ctl.sock {options}\n\
             check file here with path {{dir}}/wardenrc\n"
        ));
    };
    let status_as = |group: &str| {
        let prefix = as_nobody(group);
        let prefix: Vec<&str> = prefix.iter().map(String::as_str).collect();
        sb.cli_as(&prefix, &theirs, &["summary"])
    };
    let owner = || {
        let meta = std::fs::metadata(&socket).unwrap();
        (meta.uid(), meta.gid(), meta.mode() & 0o7777)
    };

    // Applied when the socket is created.
    rc("uid nobody gid nogroup permission 0660");
    let _w = sb.warden();
    assert!(
        wait_until(Duration::from_secs(10), || socket.exists()),
        "{}",
        sb.log()
    );
    assert_eq!(owner(), (65534, 65534, 0o660));
    let out = status_as("nogroup");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("here"), "{}", stdout(&out));

    // Back to the default on reload: the daemon's user, 0600; nobody is out.
    rc("");
    assert_eq!(code(&sb.cli(&["reload"])), 0, "{}", sb.log());
    assert_eq!(owner(), (0, 0, 0o600));
    let out = status_as("nogroup");
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "warden: permission denied on the control socket {} (run as its owner or root)",
            socket.display()
        )
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));

    // Open to all.
    rc("permission 0666");
    assert_eq!(code(&sb.cli(&["reload"])), 0, "{}", sb.log());
    assert_eq!(code(&status_as("nogroup")), 0);

    // Open to one group: its members get in, others do not.
    rc("gid nogroup permission 0660");
    assert_eq!(code(&sb.cli(&["reload"])), 0, "{}", sb.log());
    assert_eq!(owner(), (0, 65534, 0o660));
    assert_eq!(code(&status_as("nogroup")), 0);
    assert_eq!(code(&status_as("daemon")), 5);
    // The owner, root, always gets in.
    assert_eq!(code(&sb.cli(&["summary"])), 0);
}
