//! Shell completion: the scripts `warden __generate` writes, and the
//! service names they get from `warden __complete-services`: the running
//! daemon's when one answers, else the control file's.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod util;

use std::process::Command;
use std::time::Duration;

use util::{Sandbox, wait_until};

fn names(sb: &Sandbox) -> Vec<String> {
    let out = sb.cli(&["__complete-services"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn service_names_come_from_the_daemon_when_it_runs_else_from_the_file() {
    let sb = Sandbox::new();
    let rc = |checks: &str| format!("set daemon 1\nset statefile {{dir}}/state\n{checks}",);
    let two = "check file passwd with path /etc/passwd\ncheck directory etc with path /etc\n";
    sb.write_rc(&rc(two));
    assert_eq!(names(&sb), ["passwd", "etc"]);

    let _daemon = sb.warden();
    let socket = sb.path("state.sock");
    assert!(wait_until(Duration::from_secs(20), || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    }));
    // A check added to the file but not reloaded: the daemon does not run
    // it, so it is not offered.
    sb.write_rc(&rc(&format!(
        "{two}check file group with path /etc/group\n"
    )));
    assert_eq!(names(&sb), ["passwd", "etc"]);

    // Bash, through the generated script: `all` and the names after a verb.
    let dir = tempfile::tempdir().unwrap();
    let out = sb.cli(&["__generate", dir.path().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_warden"))
        .parent()
        .unwrap();
    let script = format!(
        "source {}/completions/warden.bash
         COMP_WORDS=(warden -c {} restart ''); COMP_CWORD=4
         _warden_with_services warden '' restart; echo \"${{COMPREPLY[*]}}\"
         COMP_WORDS=(warden -c {} sta); COMP_CWORD=3
         _warden_with_services warden sta {}; echo \"${{COMPREPLY[*]}}\"",
        dir.path().display(),
        sb.rc.display(),
        sb.rc.display(),
        sb.rc.display(),
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        shown,
        "all passwd etc\nstatus start\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
