//! `warden import monit|supervisord|systemd` through the real binary: the
//! checks it prints from the fixtures in `tests/fixtures/import/`, and that
//! both `warden -t` and Debian's `monit -t` accept the text. Also the
//! control-file examples of the README's "Migrating to Warden".

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn warden(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `text` as `dir/name`, mode 0600 as both programs require.
fn write_rc(dir: &Path, name: &str, text: &str) -> PathBuf {
    let rc = dir.join(name);
    std::fs::write(&rc, text).unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    rc
}

/// `warden -t` and `monit -t` both accept `text` (saved in `dir`). Monit
/// gets its id and state files pointed into `dir` first (it writes the id
/// file, else in the real home).
fn both_accept(dir: &Path, text: &str) {
    let rc = write_rc(dir, "imported.rc", text);
    let out = warden(&["-c", rc.to_str().unwrap(), "-t"], dir);
    assert!(
        out.status.success(),
        "warden -t refuses:\n{text}\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("Control file syntax OK"));
    let tmp = dir.display();
    let for_monit = write_rc(
        dir,
        "monit.rc",
        &format!("set idfile {tmp}/monit.id\nset statefile {tmp}/monit.state\n{text}"),
    );
    let out = Command::new("monit")
        .args(["-t", "-c", for_monit.to_str().unwrap()])
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "monit -t refuses:\n{text}\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// The block of lines from `check process NAME ` to the next blank line.
fn check_block<'a>(text: &'a str, name: &str) -> &'a str {
    let head = format!("check process {name} ");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("no check {name} in:\n{text}"));
    let rest = &text[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

#[test]
fn supervisord_programs_become_checks_started_through_supervisorctl() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("supervisord.conf");
    std::fs::copy(fixtures().join("supervisord.conf"), &conf).unwrap();
    let out = warden(
        &["import", "supervisord", conf.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // Not at a place supervisorctl looks: its commands name the file.
    let ctl = format!(
        "/usr/bin/supervisorctl -c {}",
        conf.canonicalize().unwrap().display()
    );

    let web = check_block(&text, "web");
    assert!(
        web.starts_with(
            r#"check process web matching "/usr/bin/python3 -m http\\.server 8000 --bind 127\\.0\\.0\\.1$""#
        ),
        "{web}"
    );
    assert!(
        web.contains(&format!("start program = \"{ctl} start site:web\"")),
        "{web}"
    );
    assert!(
        web.contains(&format!("stop program = \"{ctl} stop site:web\"")),
        "{web}"
    );
    assert!(web.contains("if does not exist then restart"), "{web}");
    assert!(!web.contains("mode manual"), "{web}");
    assert!(
        text.contains("# stopsignal=INT: supervisorctl stop sends it"),
        "{text}"
    );

    // numprocs=2 with the number in the command: a check per process.
    for n in ["00", "01"] {
        let worker = check_block(&text, &format!("worker_{n}"));
        assert!(
            worker.contains(&format!(
                "matching \"/opt/app/bin/worker --queue=worker_{n}$\""
            )),
            "{worker}"
        );
        assert!(
            worker.contains(&format!("{ctl} start worker:worker_{n}\"")),
            "{worker}"
        );
    }
    assert!(text.contains("# autorestart=unexpected: restarted whatever its exit code"));

    // Quotes gone as supervisord splits the words; regex characters escaped.
    let report = check_block(&text, "report");
    assert!(
        report.starts_with(
            r#"check process report matching "sh -c sleep 60; echo done \\(at last\\) \\$HOME$""#
        ),
        "{report}"
    );
    assert!(report.contains("if does not exist then alert"), "{report}");
    assert!(report.contains("mode manual"), "{report}");

    both_accept(dir.path(), &text);
}

#[test]
fn supervisord_regexes_match_the_command_lines_they_were_made_from() {
    // The regex the import writes, read back as the control file reads
    // it, picks a real process started with that command line.
    let dir = tempfile::tempdir().unwrap();
    let conf = write_rc(
        dir.path(),
        "supervisord.conf",
        "[program:sleeper]\ncommand=/bin/sleep 31.5\n",
    );
    let out = warden(
        &["import", "supervisord", conf.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let pattern = text
        .lines()
        .find_map(|l| l.strip_prefix("check process sleeper matching "))
        .unwrap()
        .trim_matches('"')
        .replace("\\\\", "\\");
    let mut child = Command::new("/bin/sleep").arg("31.5").spawn().unwrap();
    let listed = warden(&["procmatch", &pattern], dir.path());
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        stdout(&listed).contains(&format!("{}", child.id())),
        "{pattern}: {}",
        stdout(&listed)
    );
    both_accept(dir.path(), &text);
}

#[test]
fn supervisord_includes_are_read_and_identical_processes_are_one_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    let conf = write_rc(
        dir.path(),
        "supervisord.conf",
        "[supervisord]\n[include]\nfiles = conf.d/*.conf ; the programs\n",
    );
    write_rc(
        &dir.path().join("conf.d"),
        "pool.conf",
        "[program:pool]\ncommand=/bin/sleep 1000\nnumprocs=3\n\
         process_name=%(program_name)s_%(process_num)s\n",
    );
    let out = warden(
        &["import", "supervisord", conf.to_str().unwrap()],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let pool = check_block(&text, "pool");
    assert!(
        pool.starts_with(r#"check process pool matching "/bin/sleep 1000$""#),
        "{pool}"
    );
    assert!(pool.contains(" start pool:*\""), "{pool}");
    assert!(
        text.contains(
            "# numprocs=3: one check for the group (pool:*), on the oldest of its processes"
        ),
        "{text}"
    );
    assert!(text.contains("conf.d/pool.conf"), "{text}");
    both_accept(dir.path(), &text);
}

#[test]
fn systemd_units_become_checks_by_pidfile_or_by_their_binary() {
    let dir = tempfile::tempdir().unwrap();
    let units = fixtures().join("systemd");
    let arg = |name: &str| units.join(name).to_str().unwrap().to_string();
    let (with, without, once) = (
        arg("withpid.service"),
        arg("nopid.service"),
        arg("once.service"),
    );
    let out = warden(&["import", "systemd", &with, &without, &once], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);

    let withpid = check_block(&text, "withpid");
    assert!(
        withpid.starts_with("check process withpid with pidfile \"/run/withpid.pid\""),
        "{withpid}"
    );
    assert!(withpid.contains("start program = \"/bin/systemctl start withpid.service\""));
    assert!(withpid.contains("stop program = \"/bin/systemctl stop withpid.service\""));
    assert!(withpid.contains("if does not exist then restart"));

    // The drop-in's ExecStart= replaced the unit's; its `-` prefix dropped.
    let nopid = check_block(&text, "nopid");
    assert!(
        nopid.starts_with(r#"check process nopid matching "/usr/local/bin/serve\\+files( |$)""#),
        "{nopid}"
    );
    assert!(text.contains("# Restart=always: restarted whenever its process is gone"));
    assert!(
        text.contains("# once.service: not imported: Type=oneshot"),
        "{text}"
    );
    assert!(!text.contains("check process once "));

    both_accept(dir.path(), &text);
}

#[test]
fn systemd_units_are_found_by_name_and_a_missing_one_fails() {
    // supervisor.service comes with Debian's supervisor (scripts/setup).
    let dir = tempfile::tempdir().unwrap();
    let out = warden(&["import", "systemd", "supervisor"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let check = check_block(&text, "supervisor");
    assert!(
        check.starts_with(r#"check process supervisor matching "/usr/bin/supervisord( |$)""#),
        "{check}"
    );
    assert!(check.contains("\"/bin/systemctl start supervisor.service\""));
    both_accept(dir.path(), &text);

    let out = warden(
        &["import", "systemd", "supervisor", "no-such-unit-here"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("# no-such-unit-here: not imported: no unit file"));
    assert!(stdout(&out).contains("check process supervisor "));
}

#[test]
fn monit_file_is_printed_unchanged_with_its_includes_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    let original = std::fs::read_to_string(fixtures().join("monit/monitrc")).unwrap();
    let rc = write_rc(dir.path(), "monitrc", &original);
    write_rc(
        &dir.path().join("conf.d"),
        "cron",
        &std::fs::read_to_string(fixtures().join("monit/conf.d/cron")).unwrap(),
    );
    let out = warden(&["import", "monit", rc.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.ends_with(&original), "{text}");
    let header = &text[..text.len() - original.len()];
    assert!(
        header.lines().all(|l| l.starts_with('#') || l.is_empty()),
        "{header}"
    );
    let include = dir.path().join("conf.d/cron");
    assert!(
        header.contains(&format!("#   {}\n", include.display())),
        "{header}"
    );
    // The warning as `warden -t` gives it: file:line:col, the line, a caret.
    let at = format!("#   {}:6:20: warning: ", rc.display());
    assert!(header.contains(&at), "{header}");
    assert!(header.contains("#    6 |     if failed port 99999 protocol http then alert"));
    assert!(header.contains("1 warning(s)"), "{header}");

    both_accept(dir.path(), &text);
}

#[test]
fn monit_file_with_errors_exits_1_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let rc = write_rc(
        dir.path(),
        "monitrc",
        "check process a matching \"a\"\n    if failed port 80 protocl http then alert\n",
    );
    let out = warden(&["import", "monit", rc.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(&format!("#   {}:2:", rc.display())), "{text}");
    assert!(text.contains(": error: "), "{text}");
    assert!(text.ends_with("then alert\n"));

    let out = warden(
        &[
            "import",
            "monit",
            dir.path().join("absent").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}

/// The README's "Migrating to Warden" examples: each control-file block
/// (fenced as `text` and holding a `check`) passes both `-t`s.
#[test]
fn readme_migration_examples_pass_warden_and_monit() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("\n## Migrating to Warden")
        .expect("the section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let blocks: Vec<&str> = section
        .split("```text\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.contains("check "))
        .collect();
    assert!(blocks.len() >= 5, "{} blocks", blocks.len());
    for block in blocks {
        let dir = tempfile::tempdir().unwrap();
        both_accept(dir.path(), block);
    }
}
