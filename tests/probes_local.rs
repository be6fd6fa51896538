//! End to end with the real `warden` binary on a temp folder: file
//! checksum / timestamp / permission changes, filesystem thresholds, a
//! hanging program killed at its timeout, a program run 1,000 times without
//! zombies or leaked fds, `check system` rules and a ping to 127.0.0.1.
//! Rules act through `exec "/usr/bin/touch FLAG"`, so each test waits for a
//! file to appear.

mod util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use util::{Sandbox, proc_stat, wait_until, zombies_of};

fn touch(sb: &Sandbox, flag: &str) -> String {
    format!("exec \"/usr/bin/touch {}\"", sb.path(flag).display())
}

fn exists(sb: &Sandbox, flag: &str) -> bool {
    sb.path(flag).exists()
}

/// Waits until check `name` has been probed `n` times (debug log lines).
fn probed(sb: &Sandbox, name: &str, n: usize) -> bool {
    wait_until(Duration::from_secs(15), || {
        sb.log_count(&format!("'{name}' checked")) >= n
    })
}

fn fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// The fewest open files over a few samples: a program in flight holds
/// its pipes and pidfd for a moment, and a busy machine may catch one or
/// two runs at once; a leak stays in every sample.
fn steady_fds(pid: i32) -> usize {
    (0..20)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(3));
            fds(pid)
        })
        .min()
        .unwrap_or(0)
}

#[test]
fn checksum_timestamp_and_permission_changes_trigger_their_rules() {
    let sb = Sandbox::new();
    for f in ["sum", "time", "mode"] {
        std::fs::write(sb.path(f), "first\n").unwrap();
        std::fs::set_permissions(sb.path(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    sb.write_rc(&format!(
        "set daemon 1\n\
         check file sum with path {{dir}}/sum every 100 ms\n  if changed sha256 checksum then {}\n\
         check file time with path {{dir}}/time every 100 ms\n  if changed timestamp then {}\n\
         check file mode with path {{dir}}/mode every 100 ms\n  if failed permission 644 then {}\n",
        touch(&sb, "sum.flag"),
        touch(&sb, "time.flag"),
        touch(&sb, "mode.flag"),
    ));
    let _w = sb.warden();
    for name in ["sum", "time", "mode"] {
        assert!(
            probed(&sb, name, 3),
            "'{name}' never checked:\n{}",
            sb.log()
        );
    }
    let flags = ["sum.flag", "time.flag", "mode.flag"];
    assert!(
        flags.iter().all(|f| !exists(&sb, f)),
        "fired with no change:\n{}",
        sb.log()
    );

    // Same size, new content; a new modify time; a new mode.
    std::fs::write(sb.path("sum"), "other\n").unwrap();
    let file = std::fs::File::options()
        .write(true)
        .open(sb.path("time"))
        .unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    std::fs::set_permissions(sb.path("mode"), std::fs::Permissions::from_mode(0o600)).unwrap();
    for flag in flags {
        let fired = wait_until(Duration::from_secs(10), || exists(&sb, flag));
        assert!(fired, "{flag} never appeared:\n{}", sb.log());
    }
    assert!(
        sb.log().contains("permission is 0600, expected 0644"),
        "{}",
        sb.log()
    );
}

#[test]
fn a_filesystem_threshold_fires_and_a_free_space_rule_that_holds_does_not() {
    let sb = Sandbox::new();
    sb.write_rc(&format!(
        "set daemon 1\n\
         check filesystem tmp with path {{dir}} every 100 ms\n  \
         if space usage > 0% then {}\n  \
         if space free < 1 KB then {}\n  \
         if changed fsflags then {}\n",
        touch(&sb, "usage.flag"),
        touch(&sb, "free.flag"),
        touch(&sb, "flags.flag"),
    ));
    let _w = sb.warden();
    let fired = wait_until(Duration::from_secs(10), || exists(&sb, "usage.flag"));
    assert!(fired, "space usage rule never fired:\n{}", sb.log());
    assert!(probed(&sb, "tmp", 5), "{}", sb.log());
    assert!(
        !exists(&sb, "free.flag"),
        "free space rule fired:\n{}",
        sb.log()
    );
    assert!(
        !exists(&sb, "flags.flag"),
        "flags changed by themselves:\n{}",
        sb.log()
    );
}

/// Alive members (not zombies) of process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    util::all_pids()
        .into_iter()
        .filter(|&pid| proc_stat(pid).is_some_and(|s| s.state != 'Z' && s.pgrp == pgid))
        .collect()
}

#[test]
fn a_hanging_program_is_killed_with_its_group_at_its_timeout_and_reaped() {
    let sb = Sandbox::new();
    let pidfile = sb.path("hang.pid");
    sb.write_rc(&format!(
        "set daemon 1\n\
         check program hang with path \"/bin/sh -c 'echo $$ >> {}; sleep 600 & sleep 600'\" with timeout 1 seconds\n  \
         if status != 0 then alert\n",
        pidfile.display()
    ));
    let w = sb.warden();
    let timed_out = wait_until(Duration::from_secs(15), || {
        sb.log().contains("program timed out after 1 s")
    });
    assert!(timed_out, "no timeout reported:\n{}", sb.log());
    // Each run appends its pid (the next run may be starting while this
    // reads): the first line is the run that timed out.
    let pgid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Killed with its group: neither the program nor its background sleep
    // live on, and Warden reaped the program (no zombie child).
    let gone = wait_until(Duration::from_secs(5), || group_members(pgid).is_empty());
    assert!(gone, "group {pgid} still has {:?}", group_members(pgid));
    let reaped = wait_until(Duration::from_secs(5), || zombies_of(w.pid()).is_empty());
    assert!(reaped, "zombies of warden: {:?}", zombies_of(w.pid()));
}

#[test]
fn a_program_run_a_thousand_times_leaves_no_zombie_and_no_fd_leak() {
    let sb = Sandbox::new();
    let ticks = sb.path("ticks");
    sb.write_rc(&format!(
        "set daemon 1\n\
         check program tick with path \"/bin/sh -c 'echo x >> {}'\" every 10 ms\n  \
         if status != 0 then {}\n",
        ticks.display(),
        touch(&sb, "failed.flag"),
    ));
    let w = sb.warden();
    let runs = |n: usize| {
        wait_until(Duration::from_secs(60), || {
            util::file(&ticks).lines().count() >= n
        })
    };
    assert!(runs(100), "not 100 runs:\n{}", sb.log());
    let before = steady_fds(w.pid());
    assert!(runs(1000), "not 1,000 runs:\n{}", sb.log());
    let after = steady_fds(w.pid());
    assert!(after <= before + 3, "fds grew from {before} to {after}");
    let reaped = wait_until(Duration::from_secs(5), || zombies_of(w.pid()).is_empty());
    assert!(reaped, "zombies of warden: {:?}", zombies_of(w.pid()));
    assert!(!exists(&sb, "failed.flag"), "{}", sb.log());
}

#[test]
fn system_rules_fire_when_they_hold_and_not_otherwise() {
    let sb = Sandbox::new();
    sb.write_rc(&format!(
        "set daemon 1\n\
         check system box every 100 ms\n  \
         if loadavg (1min) >= 0 then {}\n  \
         if memory usage > 0% then {}\n  \
         if loadavg (15min) per core > 100000 then {}\n  \
         if cpu user > 100% then {}\n",
        touch(&sb, "load.flag"),
        touch(&sb, "memory.flag"),
        touch(&sb, "never.flag"),
        touch(&sb, "cpu.flag"),
    ));
    let _w = sb.warden();
    for flag in ["load.flag", "memory.flag"] {
        let fired = wait_until(Duration::from_secs(10), || exists(&sb, flag));
        assert!(fired, "{flag} never appeared:\n{}", sb.log());
    }
    assert!(probed(&sb, "box", 5), "{}", sb.log());
    assert!(
        !exists(&sb, "never.flag") && !exists(&sb, "cpu.flag"),
        "{}",
        sb.log()
    );
    assert!(!sb.log().contains("not supported"), "{}", sb.log());
}

#[test]
fn a_ping_to_loopback_succeeds_or_says_it_is_not_permitted() {
    let sb = Sandbox::new();
    sb.write_rc(&format!(
        "set daemon 1\n\
         check host lo with address 127.0.0.1 every 200 ms\n  \
         if failed ping count 1 timeout 2 s then {}\n  \
         if succeeded ping then {}\n",
        touch(&sb, "failed.flag"),
        touch(&sb, "ok.flag"),
    ));
    let _w = sb.warden();
    let answered = wait_until(Duration::from_secs(10), || {
        exists(&sb, "ok.flag") || exists(&sb, "failed.flag")
    });
    assert!(answered, "ping never judged:\n{}", sb.log());
    if exists(&sb, "failed.flag") {
        // Only a sandbox that forbids ICMP sockets may fail, and it says so.
        assert!(sb.log().contains("not permitted"), "{}", sb.log());
    }
    assert!(Path::new(&sb.path("ok.flag")).exists() || sb.log().contains("not permitted"));
}

/// An `exec` action that appends a line to `name` (to count firings).
fn append_line(sb: &Sandbox, name: &str) -> String {
    format!(
        "exec \"/bin/sh -c 'echo fired >> {}'\"",
        sb.path(name).display()
    )
}

fn lines(sb: &Sandbox, name: &str) -> usize {
    util::file(&sb.path(name)).lines().count()
}

#[test]
fn a_permission_change_fires_changed_permission_once() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("conf"), "x\n").unwrap();
    std::fs::set_permissions(sb.path("conf"), std::fs::Permissions::from_mode(0o644)).unwrap();
    sb.write_rc(&format!(
        "set daemon 1\n\
         check file conf with path {{dir}}/conf every 100 ms\n  if changed permission then {}\n",
        append_line(&sb, "fired"),
    ));
    let _w = sb.warden();
    assert!(probed(&sb, "conf", 3), "never checked:\n{}", sb.log());
    assert_eq!(
        lines(&sb, "fired"),
        0,
        "fired with no change:\n{}",
        sb.log()
    );
    std::fs::set_permissions(sb.path("conf"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let fired = wait_until(Duration::from_secs(10), || lines(&sb, "fired") >= 1);
    assert!(fired, "never fired:\n{}", sb.log());
    let seen = sb.log_count("'conf' checked");
    assert!(probed(&sb, "conf", seen + 5), "{}", sb.log());
    assert_eq!(
        lines(&sb, "fired"),
        1,
        "fired more than once:\n{}",
        sb.log()
    );
    assert!(
        sb.log().contains("permission changed from 0644 to 0600"),
        "{}",
        sb.log()
    );
}

#[test]
fn an_ignored_line_fires_no_content_rule_and_another_line_does() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("app.log"), "start\n").unwrap();
    sb.write_rc(&format!(
        "set daemon 1\n\
         check file log with path {{dir}}/app.log every 100 ms\n  \
         ignore content = \"healthcheck\"\n  \
         if content = \"ERROR\" then {}\n",
        append_line(&sb, "fired"),
    ));
    let _w = sb.warden();
    assert!(probed(&sb, "log", 3), "never checked:\n{}", sb.log());
    let add = |line: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(sb.path("app.log"))
            .unwrap();
        std::io::Write::write_all(&mut f, line.as_bytes()).unwrap();
    };
    add("ERROR healthcheck probe timed out\n");
    let seen = sb.log_count("'log' checked");
    assert!(probed(&sb, "log", seen + 5), "{}", sb.log());
    assert_eq!(
        lines(&sb, "fired"),
        0,
        "an ignored line fired:\n{}",
        sb.log()
    );
    add("ERROR: disk full\n");
    let fired = wait_until(Duration::from_secs(10), || lines(&sb, "fired") == 1);
    assert!(fired, "the other line never fired:\n{}", sb.log());
    assert!(sb.log().contains("ERROR: disk full"), "{}", sb.log());
}

#[test]
fn a_check_program_sees_monit_and_warden_variables() {
    let sb = Sandbox::new();
    let out = sb.path("env.out");
    sb.write_rc(&format!(
        "set daemon 1\n\
         check program nightly with path \"/bin/sh -c 'env > {}.tmp; mv {0}.tmp {0}; exit 3'\" every 100 ms\n  \
         if status != 3 then alert\n",
        out.display(),
    ));
    let _w = sb.warden();
    // The second run knows the first run's exit status.
    let seen = wait_until(Duration::from_secs(10), || {
        util::file(&out).contains("MONIT_PROGRAM_STATUS=3")
    });
    assert!(seen, "no second run:\n{}\n{}", util::file(&out), sb.log());
    let env = util::file(&out);
    for want in [
        "MONIT_SERVICE=nightly",
        "WARDEN_SERVICE=nightly",
        "MONIT_EVENT=No Event",
        "MONIT_DESCRIPTION=No Event",
        "WARDEN_PROGRAM_STATUS=3",
    ] {
        assert!(env.lines().any(|l| l == want), "{want} missing:\n{env}");
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(
        env.contains(&format!("MONIT_HOST={}", host.trim())),
        "{env}"
    );
    assert!(
        env.lines()
            .any(|l| l.starts_with("MONIT_DATE=") && l.ends_with("+0000")),
        "{env}"
    );
}

/// Sends `bytes` over a loopback TCP connection to a reader in this
/// process; how many bytes the reader got.
fn loopback_traffic(bytes: usize) -> std::io::Result<usize> {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let reader = std::thread::spawn(move || -> std::io::Result<usize> {
        let (mut s, _) = listener.accept()?;
        std::io::copy(&mut s, &mut std::io::sink()).map(|n| n as usize)
    });
    let mut out = std::net::TcpStream::connect(addr)?;
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..bytes / chunk.len() {
        out.write_all(&chunk)?;
    }
    drop(out);
    reader
        .join()
        .map_err(|_| std::io::Error::other("the reader panicked"))?
}

#[test]
fn a_network_total_rule_fires_on_loopback_traffic_within_its_window() {
    let sb = Sandbox::new();
    sb.write_rc(&format!(
        "set daemon 1\n\
         check network loop with interface lo every 200 ms\n  \
         if total download > 50 MB in last 1 minute then {}\n  \
         if total uploaded > 1000 GB in last 2 hours then {}\n",
        touch(&sb, "big.flag"),
        touch(&sb, "never.flag"),
    ));
    let _w = sb.warden();
    assert!(probed(&sb, "loop", 3), "never checked:\n{}", sb.log());
    // On loopback every byte sent is also a byte received.
    assert_eq!(loopback_traffic(64 << 20).unwrap(), 64 << 20);
    let fired = wait_until(Duration::from_secs(10), || exists(&sb, "big.flag"));
    assert!(fired, "the total rule never fired:\n{}", sb.log());
    assert!(
        sb.log()
            .contains("bytes downloaded in the last 60 s (> 52428800)"),
        "{}",
        sb.log()
    );
    let seen = sb.log_count("'loop' checked");
    assert!(probed(&sb, "loop", seen + 3), "{}", sb.log());
    assert!(!exists(&sb, "never.flag"), "{}", sb.log());
    assert!(!sb.log().contains("not supported"), "{}", sb.log());
}
