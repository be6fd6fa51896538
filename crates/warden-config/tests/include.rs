//! `include` end to end: at top level, inside a check and inside a rule,
//! relative to the including file, with diagnostics pointing into the file
//! that holds the problem.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::path::Path;
use std::time::Duration;

use warden_config::model::Test;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn includes_work_at_top_level_inside_a_check_and_inside_a_rule() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "conf.d/b.conf",
        "check process b with pidfile /run/b.pid\n",
    );
    write(
        dir.path(),
        "conf.d/a.conf",
        "check process a with pidfile /run/a.pid\n",
    );
    write(dir.path(), "parts/start", "start program = \"/bin/true\"\n");
    write(dir.path(), "parts/timeout", "with timeout 7 seconds");
    let root = dir.path().join("wardenrc");
    let text = "set daemon 10\n\
                check process main with pidfile /run/main.pid\n  \
                  include parts/start\n  \
                  if failed port 80 include parts/timeout then restart\n\
                include conf.d/*.conf\n";
    let loaded = warden_config::load_text(&root, text.into());
    assert!(!loaded.has_errors(), "{}", loaded.render());
    let config = loaded.config.unwrap();
    let names: Vec<&str> = config
        .checks
        .iter()
        .map(|c| c.name.value.as_str())
        .collect();
    assert_eq!(names, ["main", "a", "b"], "matches come in sorted order");
    let main = &config.checks[0];
    assert_eq!(main.start.as_ref().unwrap().argv, ["/bin/true"]);
    let Test::Connection(conn) = &main.rules[0].test.value else {
        panic!(
            "expected a connection test, got {:?}",
            main.rules[0].test.value
        );
    };
    assert_eq!(conn.timeout, Some(Duration::from_secs(7)));
}

#[test]
fn an_error_in_an_included_file_names_that_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.conf",
        "# a comment\ncheck process x with pidfile /run/x.pid\n  if failed port 99999 then alert\n",
    );
    let root = dir.path().join("wardenrc");
    let loaded = warden_config::load_text(&root, "set daemon 10\ninclude bad.conf\n".into());
    let rendered = loaded.render();
    let want = format!("{}:3:", dir.path().join("bad.conf").display());
    assert!(rendered.starts_with(&want), "{rendered}");
    assert!(rendered.contains("65535"), "{rendered}");
}

#[test]
fn an_include_cycle_is_reported_at_the_directive() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.conf", "set daemon 10\ninclude b.conf\n");
    write(dir.path(), "b.conf", "include a.conf\n");
    let root = dir.path().join("a.conf");
    let loaded = warden_config::load_text(&root, "set daemon 10\ninclude b.conf\n".into());
    assert!(loaded.has_errors());
    let rendered = loaded.render();
    let want = format!(
        "{}:1:1: error: include cycle",
        dir.path().join("b.conf").display()
    );
    assert!(rendered.contains(&want), "{rendered}");
}

#[test]
fn a_control_file_readable_by_others_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wardenrc");
    std::fs::write(&root, "set daemon 10\n").unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loaded = warden_config::load_file(&root);
    assert!(loaded.has_errors());
    assert!(loaded.render().contains("chmod 600"), "{}", loaded.render());
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!warden_config::load_file(&root).has_errors());
}
