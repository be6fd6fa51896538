//! End to end: the binary called through a link named `monit` takes Monit's
//! command line, drives a real Warden daemon with it, and answers as
//! Debian's monit 5.33 answers on the same control file (its own daemon
//! run after Warden's): the same words, layouts and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use util::{CliOutput as Output, Sandbox, Warden, alive, answers, free_port, wait_until};

const DEBIAN_MONIT: &str = "/usr/bin/monit";

/// A sandbox, its `monit` link to the built binary, and the web port.
struct Setup {
    sb: Sandbox,
    link: PathBuf,
    port: u16,
}

/// A control file both monitors run: a real service in a group, a file
/// that is there and one that is not; a Unix socket for both CLIs.
fn setup() -> Setup {
    let sb = Sandbox::new();
    let port = free_port();
    let pid = sb.pidfile("web");
    sb.write_rc(&format!(
        "set daemon 1\nset pidfile {{dir}}/daemon.pid\nset idfile {{dir}}/monit.id\n\
         set statefile {{dir}}/warden.state\n\
         set httpd unixsocket {{dir}}/control.sock\n    allow localhost\n\
         check process web with pidfile {pid}\n  \
         start program = \"{start}\" with timeout 10 seconds\n  \
         stop program = \"/bin/sh -c 'kill -9 $(cat {pid})'\"\n  group www\n\
         check file conf with path {{dir}}/wardenrc\n\
         check file gone with path {{dir}}/missing\n  if does not exist then alert\n",
        pid = pid.display(),
        start = sb.service_cmd("web", port, "serve"),
    ));
    std::fs::create_dir(sb.path("bin")).unwrap();
    let link = sb.path("bin/monit");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_warden"), &link).unwrap();
    Setup { sb, link, port }
}

impl Setup {
    /// `monit -c RC ARGS...` through the link.
    fn ours(&self, args: &[&str]) -> Output {
        self.ours_with(args, None)
    }

    fn ours_with(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.sb.run(&self.link, &self.with_rc(args), stdin)
    }

    /// The same through Debian's monit; None when it is not installed.
    fn theirs(&self, args: &[&str]) -> Option<Output> {
        self.theirs_with(args, None)
    }

    fn theirs_with(&self, args: &[&str], stdin: Option<&str>) -> Option<Output> {
        Path::new(DEBIAN_MONIT).exists().then(|| {
            self.sb
                .run(Path::new(DEBIAN_MONIT), &self.with_rc(args), stdin)
        })
    }

    fn with_rc<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let rc = self.sb.rc.to_str().unwrap();
        [&["-c", rc][..], args].concat()
    }

    fn idfile(&self) -> PathBuf {
        self.sb.path("monit.id")
    }
}

/// Debian's monit is the reference: without it the comparison cannot be
/// made, which is a failure, not a pass.
fn skip_monit() {
    panic!("Debian's monit is not installed: run scripts/setup");
}

/// Digits masked: pids, uptimes and counts differ between two daemons.
fn masked(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match (c.is_ascii_digit(), out.ends_with('N')) {
            (true, true) => {}
            (true, false) => out.push('N'),
            (false, _) => out.push(c),
        }
    }
    out
}

/// A 32-hex-digit id masked.
fn id_masked(text: &str, id: &str) -> String {
    text.replace(id, "<ID>")
}

#[test]
fn without_a_daemon_monit_answers_as_debians_monit_word_for_word() {
    let s = setup();
    // Monit makes its id at every start and says so; made before, both
    // monitors read it silently.
    std::fs::write(s.idfile(), "0123456789abcdef0123456789abcdef").unwrap();
    let not_running = "Monit: the monit daemon is not running\n";
    // Never `start` here: Debian's monit would run the start program itself.
    let cases: &[(&[&str], i32, &str, &str)] = &[
        (&["status"], 1, "", not_running),
        (&["summary", "web"], 1, "", not_running),
        (&["report", "up"], 1, "", not_running),
        (&["quit"], 0, "Monit daemon is not running\n", ""),
        (
            &["reload"],
            0,
            "Reinitializing monit daemon\nMonit daemon is not running\n",
            "",
        ),
        (
            &["stop"],
            1,
            "",
            "Please specify a service name or 'all' after stop\n",
        ),
        (
            &["bogus"],
            1,
            "",
            "Invalid argument -- bogus  (-h will show valid arguments)\n",
        ),
        (
            &["-x"],
            1,
            "",
            "Invalid option -- x  (-h will show valid options)\n",
        ),
        (
            &["status", "-g"],
            1,
            "",
            "Option -- g requires an argument\n",
        ),
        (&["-d", "0"], 1, "", "Option -d requires a natural number\n"),
        (&["-t"], 0, "Control file syntax OK\n", ""),
        (
            &["procmatch"],
            1,
            "Invalid syntax - usage: procmatch \"<pattern>\"\n",
            "",
        ),
        // The pattern cannot match its own command line (nor the shell's).
        (
            &["procmatch", "no-process-has-thi[s]-x7q"],
            0,
            "List of processes matching pattern \"no-process-has-thi[s]-x7q\":\nTotal matches: 0\n",
            "",
        ),
    ];
    let debian = Path::new(DEBIAN_MONIT).exists();
    if !debian {
        skip_monit();
    }
    for (args, code, stdout, stderr) in cases {
        let ours = s.ours(args);
        let want = (*code, stdout.to_string(), stderr.to_string());
        assert_eq!(
            (ours.code, ours.stdout, ours.stderr),
            want,
            "monit {args:?}"
        );
        if let Some(theirs) = s.theirs(args) {
            let got = (theirs.code, theirs.stdout, theirs.stderr);
            assert_eq!(got, want, "Debian's monit {args:?}");
        }
    }
}

#[test]
fn version_help_hash_and_the_id_answer_as_monits() {
    let s = setup();
    let version = s.ours(&["-V"]);
    let first = version.stdout.lines().next().unwrap().to_string();
    assert_eq!(version.code, 0);
    // Ansible's community.general.monit takes the first dotted number of
    // the first line as Monit's version.
    let number: String = first
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    assert_eq!(number, "5.33.0", "{first}");
    assert!(
        first.contains(&format!("Warden {}", env!("CARGO_PKG_VERSION"))),
        "{first}"
    );
    let help = s.ours(&["-h"]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout
            .starts_with("Usage: monit [options]+ [command]\n")
    );

    let file = s.sb.path("hashed");
    std::fs::write(&file, "hello\n").unwrap();
    let file = file.to_str().unwrap();
    let hashed = s.ours(&["-H", file]);
    assert_eq!(hashed.code, 0);
    assert_eq!(
        hashed.stdout,
        format!(
            "SHA1({file}) = f572d396fae9206628714fb2ce00f72e94f2258f\n\
             MD5({file})  = b1946ac92492d2347c6235b4d2611184\n"
        )
    );
    let stdin = s.ours_with(&["-H"], Some("hello\n"));
    assert!(
        stdin.stdout.starts_with("SHA1(stdin) = f572d396"),
        "{}",
        stdin.stdout
    );
    let missing = s.ours(&["-H", "/nonexistent/x"]);
    assert_eq!(
        (missing.code, missing.stdout.as_str()),
        (1, "/nonexistent/x: No such file or directory\n")
    );

    // The id: made when missing, then read back, then reset on "y" only.
    let made = s.ours(&["--id"]);
    let id = std::fs::read_to_string(s.idfile()).unwrap();
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id:?}"
    );
    let stored = format!(" Stored in '{}'\n", s.idfile().display());
    assert_eq!(
        (made.code, made.stdout.clone()),
        (0, format!(" New Monit id: {id}\n{stored}Monit ID: {id}\n"))
    );
    assert_eq!(s.ours(&["--id"]).stdout, format!("Monit ID: {id}\n"));
    let kept = s.ours_with(&["--resetid"], Some("n\n"));
    assert_eq!(
        (kept.code, kept.stdout.as_str()),
        (0, "Reset Monit Id? [y/N]> ")
    );
    assert_eq!(std::fs::read_to_string(s.idfile()).unwrap(), id);
    let reset = s.ours_with(&["--resetid"], Some("y\n"));
    let new = std::fs::read_to_string(s.idfile()).unwrap();
    assert_ne!(new, id);
    assert_eq!(
        reset.stdout,
        format!(
            "Reset Monit Id? [y/N]>  New Monit id: {new}\n{stored}Monit daemon is not running\n"
        )
    );

    // Debian's monit: the same help, hashes and id words.
    if !Path::new(DEBIAN_MONIT).exists() {
        return skip_monit();
    }
    assert!(
        s.theirs(&["-V"])
            .unwrap()
            .stdout
            .starts_with("This is Monit version 5.33.0\n"),
        "the reference is not Monit 5.33.0"
    );
    assert_eq!(s.theirs(&["-h"]).unwrap().stdout, help.stdout);
    assert_eq!(s.theirs(&["-H", file]).unwrap().stdout, hashed.stdout);
    let theirs = s.theirs_with(&["-H"], Some("hello\n")).unwrap();
    assert_eq!(theirs.stdout, stdin.stdout);
    let theirs = s.theirs(&["-H", "/nonexistent/x"]).unwrap();
    assert_eq!((theirs.code, theirs.stdout), (missing.code, missing.stdout));
    std::fs::remove_file(s.idfile()).unwrap();
    let theirs = s.theirs(&["--id"]).unwrap();
    let their_id = std::fs::read_to_string(s.idfile()).unwrap();
    assert_eq!(their_id.len(), 32);
    assert_eq!(
        (theirs.code, id_masked(&theirs.stdout, &their_id)),
        (made.code, id_masked(&made.stdout, &id))
    );
    let theirs = s.theirs_with(&["--resetid"], Some("y\n")).unwrap();
    let their_new = std::fs::read_to_string(s.idfile()).unwrap();
    assert_eq!(
        id_masked(&theirs.stdout, &their_new),
        id_masked(&reset.stdout, &new)
    );
}

/// The status words of `name` in a `summary` (Monit's column 2), if any.
fn summary_status(out: &Output, name: &str) -> Option<String> {
    out.stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .map(|l| {
            l.chars()
                .skip(34)
                .take(28)
                .collect::<String>()
                .trim()
                .to_string()
        })
}

/// One command and what of its output must be the same for both daemons.
struct Step {
    args: &'static [&'static str],
    /// How many first lines of stdout must match (digits masked); None:
    /// all of it.
    lines: Option<usize>,
    /// The summary status `web` has once the command took effect.
    web: Option<&'static str>,
}

const fn step(args: &'static [&'static str], lines: Option<usize>) -> Step {
    Step {
        args,
        lines,
        web: None,
    }
}

const fn act(args: &'static [&'static str], web: &'static str) -> Step {
    Step {
        args,
        lines: None,
        web: Some(web),
    }
}

/// What both daemons are asked, in order; the Ansible module's own forms
/// (`status -B NAME`, `-vv start NAME`, `validate -B NAME`) among them.
const STEPS: &[Step] = &[
    step(&[], None),
    step(&["status"], Some(2)),
    step(&["status", "web"], Some(4)),
    step(&["status", "nosuch"], None),
    step(&["summary"], Some(2)),
    step(&["-g", "www", "summary"], None),
    step(&["-g", "nogrp", "summary"], None),
    step(&["report"], Some(0)),
    step(&["report", "failed"], None),
    step(&["start", "nosuch"], None),
    step(&["-g", "nogrp", "stop"], None),
    act(&["stop", "web"], "Not monitored"),
    act(&["start", "web"], "OK"),
    act(&["restart", "web"], "OK"),
    act(&["-g", "www", "restart"], "OK"),
    act(&["unmonitor", "all"], "Not monitored"),
    act(&["monitor", "all"], "OK"),
    step(&["status", "-B", "web"], Some(4)),
    act(&["-vv", "start", "web"], "OK"),
    step(&["validate", "-B", "web"], Some(5)),
    step(&["reload"], None),
    step(&["quit"], None),
];

/// Runs every step through `run`; after an action, waits (bounded) until
/// `web` shows its effect. Warden answers once the action is done (Monit
/// only queues it): with `at_once`, a started service answers already.
fn drive(s: &Setup, run: &dyn Fn(&[&str]) -> Output, at_once: bool) -> Vec<Output> {
    let mut outputs = Vec::new();
    for step in STEPS {
        let out = run(step.args);
        if let Some(words) = step.web {
            // `-vv` prints Monit's (or Warden's) settings first.
            let quiet = step.args[0] != "-vv";
            assert_eq!(
                (
                    out.code,
                    quiet && !out.stdout.is_empty(),
                    out.stderr.as_str()
                ),
                (0, false, ""),
                "{:?}: {}",
                step.args,
                out.stdout
            );
            if at_once && words == "OK" {
                assert!(
                    answers(s.port),
                    "{:?} returned before web answered",
                    step.args
                );
            }
            let settled =
                || summary_status(&run(&["summary", "-B", "web"]), "web").as_deref() == Some(words);
            let waited = wait_until(Duration::from_secs(20), settled);
            assert!(waited, "{:?}: web never {words}", step.args);
            if words == "OK" {
                assert!(
                    wait_until(Duration::from_secs(10), || answers(s.port)),
                    "web does not answer after {:?}",
                    step.args
                );
            }
        }
        outputs.push(out);
    }
    outputs
}

#[test]
fn monit_drives_a_warden_daemon_as_debians_monit_drives_its_own() {
    let s = setup();
    std::fs::write(s.idfile(), "0123456789abcdef0123456789abcdef").unwrap();
    let log = std::fs::File::create(s.sb.path("warden.log")).unwrap();
    // The daemon itself is started through the link, in the foreground.
    let child = Command::new(&s.link)
        .args(["-c", s.sb.rc.to_str().unwrap(), "-I"])
        .env("HOME", s.sb.dir.path())
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let warden = Warden { child };
    let up = || summary_status(&s.ours(&["summary"]), "web").as_deref() == Some("OK");
    assert!(wait_until(Duration::from_secs(20), up), "{}", s.sb.log());

    let ours = drive(&s, &|args| s.ours(args), true);
    let at = |args: &[&str]| {
        let i = STEPS.iter().position(|st| st.args == args).unwrap();
        &ours[i]
    };
    // What Warden's answers must say, whatever Monit says.
    let pid = warden.pid();
    assert_eq!(
        at(&[]).stdout,
        format!("Monit daemon with PID {pid} awakened\n")
    );
    let status = &at(&["status"]).stdout;
    assert!(
        status.starts_with("Monit 5.33.0 uptime: 0m\n\nProcess 'web'\n"),
        "{status}"
    );
    for block in [
        "File 'conf'\n",
        "File 'gone'\n  status                       Does not exist\n",
    ] {
        assert!(status.contains(block), "{status}");
    }
    let summary = &at(&["-g", "www", "summary"]).stdout;
    assert!(
        summary.ends_with(
            " web                              OK                          Process       \n"
        ),
        "{summary}"
    );
    assert_eq!(
        at(&["status", "nosuch"]).stderr,
        "Service 'nosuch' not found\n"
    );
    assert_eq!(
        at(&["report"]).stdout.lines().last(),
        Some("total:          3 services")
    );
    assert_eq!(
        at(&["validate", "-B", "web"]).code,
        1,
        "Monit's validate exits 1"
    );
    assert_eq!(
        at(&["quit"]).stdout,
        format!("Monit daemon with pid [{pid}] killed\n")
    );
    assert!(!alive(pid), "quit returned before the daemon was gone");
    assert!(answers(s.port), "quit stopped the service");
    let gone = s.ours(&["status"]);
    assert_eq!(
        (gone.code, gone.stderr.as_str()),
        (1, "Monit: the monit daemon is not running\n")
    );
    drop(warden);

    if !Path::new(DEBIAN_MONIT).exists() {
        return skip_monit();
    }
    // Monit's state file apart from Warden's (-s), the rest as written.
    let state = s.sb.path("monit.state");
    let start = s.theirs(&["-s", state.to_str().unwrap()]).unwrap();
    assert_eq!(start.code, 0, "{}", start.stderr);
    let up = || {
        let out = s.theirs(&["summary"]).unwrap();
        summary_status(&out, "web").as_deref() == Some("OK")
    };
    assert!(
        wait_until(Duration::from_secs(30), up),
        "Monit never reported web OK"
    );
    let theirs = drive(&s, &|args| s.theirs(args).unwrap(), false);
    for ((step, ours), theirs) in STEPS.iter().zip(&ours).zip(&theirs) {
        let view = |out: &Output| {
            let text = masked(&out.stdout);
            let head = match step.lines {
                Some(n) => text.lines().take(n).map(|l| format!("{l}\n")).collect(),
                None => text,
            };
            (out.code, head, out.stderr.clone())
        };
        if step.args.first() == Some(&"-vv") {
            // Both print their settings first, each its own.
            assert_eq!(ours.code, theirs.code);
            continue;
        }
        assert_eq!(view(ours), view(theirs), "monit {:?}", step.args);
    }
    // The report's labels, whatever the counts (Monit counts its system too).
    let labels = |out: &Output| -> Vec<String> {
        out.stdout
            .lines()
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .collect()
    };
    let report = STEPS.iter().position(|st| st.args == ["report"]).unwrap();
    assert_eq!(labels(&ours[report]), labels(&theirs[report]));
}

#[test]
fn monit_options_put_the_state_pidfile_log_and_cycle_where_monit_would() {
    let sb = Sandbox::new();
    // Nothing set in the file: the command line decides; `set daemon 60`
    // would take a minute to notice the marker file.
    sb.write_rc(
        "set daemon 60\ncheck file marker with path {dir}/marker\n  if does not exist then alert\n",
    );
    std::fs::create_dir(sb.path("bin")).unwrap();
    let link = sb.path("bin/monit");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_warden"), &link).unwrap();
    let rc = sb.rc.to_str().unwrap().to_string();
    let (state, pid, log) = (sb.path("alt.state"), sb.path("alt.pid"), sb.path("alt.log"));
    let opts = ["-c", &rc, "-s", state.to_str().unwrap()];
    let run = |extra: &[&str]| sb.run(&link, &[&opts[..], extra].concat(), None);

    // Detached, as `monit` starts its daemon.
    let started = run(&[
        "-p",
        pid.to_str().unwrap(),
        "-l",
        log.to_str().unwrap(),
        "-d",
        "1",
    ]);
    assert_eq!(started.code, 0, "{}", started.stderr);
    let socket = sb.path("alt.sock");
    assert!(
        started
            .stdout
            .contains(&format!("with control socket at {}", socket.display())),
        "{}",
        started.stdout
    );
    assert!(wait_until(Duration::from_secs(15), || run(&["summary"])
        .code
        == 0));
    let daemon: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        std::fs::read_to_string(format!("/proc/{daemon}/cmdline"))
            .unwrap()
            .starts_with(link.to_str().unwrap()),
        "the detached daemon lost the name monit"
    );
    assert!(
        wait_until(Duration::from_secs(5), || util::file(&log)
            .contains(&format!("Warden daemon with pid {daemon} started"))),
        "{}",
        util::file(&log)
    );
    // Without -s the CLI looks for the default socket, where nobody is.
    let elsewhere = sb.run(&link, &["-c", &rc, "summary"], None);
    assert_eq!(elsewhere.code, 1);

    // -d 1: the marker is seen within seconds, not a minute.
    let marker_ok = || summary_status(&run(&["summary"]), "marker").as_deref() == Some("OK");
    assert!(!marker_ok());
    std::fs::write(sb.path("marker"), "").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), marker_ok),
        "-d 1 was not the cycle"
    );

    let woken = run(&[]);
    assert_eq!(
        woken.stdout,
        format!("Monit daemon with PID {daemon} awakened\n")
    );
    let quit = run(&["quit"]);
    assert_eq!(
        quit.stdout,
        format!("Monit daemon with pid [{daemon}] killed\n")
    );
    assert!(wait_until(Duration::from_secs(5), || !alive(daemon)));
    assert!(
        !socket.exists() && !pid.exists(),
        "the socket or pidfile was left behind"
    );
}

/// `ansible` from the virtualenv `scripts/setup` makes, else on PATH.
fn ansible() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/monit-clients/bin/ansible");
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("ansible"))
        .find(|p| p.is_file())
}

/// What Ansible's ad-hoc run said: `localhost | CHANGED => {json}`, the
/// word (SUCCESS, CHANGED, FAILED!) and the JSON.
fn ansible_answer(out: &Output) -> (String, serde_json::Value) {
    let parsed = out.stdout.split_once(" => ").and_then(|(head, json)| {
        let word = head.rsplit("| ").next()?.trim().to_string();
        Some((word, serde_json::from_str(json).ok()?))
    });
    parsed.unwrap_or_else(|| panic!("{}\n{}", out.stdout, out.stderr))
}

#[test]
fn ansibles_monit_module_manages_a_warden_service_through_the_link() {
    let Some(ansible) = ansible() else {
        panic!("ansible is not installed: run scripts/setup");
    };
    let s = setup();
    // The module runs `monit` from PATH without -c: the default control file.
    std::fs::copy(&s.sb.rc, s.sb.path(".wardenrc")).unwrap();
    let child = Command::new(&s.link)
        .arg("-I")
        .env("HOME", s.sb.dir.path())
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(s.sb.path("warden.log")).unwrap())
        .spawn()
        .unwrap();
    let _warden = Warden { child };
    let web = || summary_status(&s.sb.run(&s.link, &["summary"], None), "web");
    assert!(wait_until(Duration::from_secs(20), || web().as_deref() == Some("OK")));

    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![s.sb.path("bin")];
    dirs.extend(std::env::split_paths(&path));
    let path = format!(
        "PATH={}",
        std::env::join_paths(dirs).unwrap().to_str().unwrap()
    );
    let module = |args: &str| {
        let argv = [
            path.as_str(),
            "ANSIBLE_NOCOLOR=1",
            "ANSIBLE_LOCALHOST_WARNING=false",
            ansible.to_str().unwrap(),
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            // The module runs on the Python that runs Ansible.
            "-e",
            "ansible_python_interpreter={{ ansible_playbook_python }}",
            "-m",
            "community.general.monit",
            "-a",
            args,
        ];
        s.sb.run(Path::new("/usr/bin/env"), &argv, None)
    };
    let first = module("name=web state=stopped");
    if first.stdout.contains("couldn't resolve module") {
        panic!("the community.general collection is not installed: run scripts/setup");
    }
    // (state, changed, web's status then, whether it runs)
    let steps = [
        ("stopped", true, "Not monitored", false),
        ("stopped", false, "Not monitored", false),
        ("started", true, "OK", true),
        ("started", false, "OK", true),
        ("unmonitored", true, "Not monitored", true),
        ("monitored", true, "OK", true),
        ("present", false, "OK", true),
        ("reloaded", true, "OK", true),
    ];
    let mut first = Some(first);
    for (state, changed, words, running) in steps {
        let out = first
            .take()
            .unwrap_or_else(|| module(&format!("name=web state={state}")));
        let (word, answer) = ansible_answer(&out);
        let want = if changed { "CHANGED" } else { "SUCCESS" };
        assert_eq!(word, want, "{state}: {answer}");
        let settled = wait_until(Duration::from_secs(10), || web().as_deref() == Some(words));
        assert!(settled, "after {state} web is {:?}, not {words}", web());
        assert_eq!(answers(s.port), running, "after {state}");
    }
    let (word, missing) = ansible_answer(&module("name=nosuch state=started"));
    assert_eq!(word, "FAILED!", "{missing}");
    assert_eq!(
        missing["msg"],
        "nosuch process not presently configured with monit"
    );
}
