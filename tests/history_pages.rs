//! End to end: the history the real daemon keeps of each check, read
//! through the API, `warden status NAME --history` and the service pages
//! rendered by headless Chromium (`--dump-dom` for the DOM the browser
//! built, `--screenshot` for a PNG per page type under
//! `target/screenshots/`). A real service is SIGKILLed and restarted;
//! its page must show the restart on the chart and in the timeline.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the test's panic

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::{Sandbox, alive, answers, free_port, wait_until};
use warden_engine::EventKind;
use warden_engine::history::{HistoryView, Series};

const LIMIT: Duration = Duration::from_secs(20);
const CHROMIUM: &str = "/usr/bin/chromium";

/// A control file with one check of each page type: a process with a
/// port test, the root filesystem, the system, a remote host.
fn control_file(sb: &Sandbox, web: u16, svc: u16) -> String {
    let pid = sb.pidfile("web");
    format!(
        "set daemon 1\nset httpd port {web}\n  allow localhost\n  allow 127.0.0.1\n\
         check process web with pidfile {pid}\n  start program = \"{start}\" with timeout 10 seconds\n  \
         stop program = \"/bin/sh -c 'kill -9 $(cat {pid})'\"\n  if failed port {svc} then restart\n\
         check filesystem rootfs with path /\n\
         check system box\n\
         check host loop with address 127.0.0.1\n  if failed port {svc} then alert\n",
        pid = pid.display(),
        start = sb.service_cmd("web", svc, "serve"),
    )
}

/// `warden status NAME --history --json`, parsed.
fn history(sb: &Sandbox, name: &str) -> Option<HistoryView> {
    let out = sb.cli(&["status", name, "--history", "--json"]);
    serde_json::from_str(&out.stdout).ok()
}

fn has_event(view: &HistoryView, kind: EventKind) -> bool {
    view.events.iter().any(|e| e.kind == kind)
}

/// Runs headless Chromium on `url` with `args`, in a process group of its
/// own that is killed after `limit`; its stdout.
fn chromium(profile: &Path, args: &[String], url: &str) -> String {
    use std::io::Read as _;
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(group) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    let _ = child.wait();
    reader.join().unwrap_or_default()
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `target/screenshots/NAME.png` of `url` (the top `height` px of
/// it); true when written.
fn screenshot(profile: &Path, url: &str, name: &str, (width, height): (u32, u32)) -> bool {
    let file = screenshots().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&file);
    chromium(
        profile,
        &[
            format!("--screenshot={}", file.display()),
            format!("--window-size={width},{height}"),
        ],
        url,
    );
    std::fs::metadata(&file).is_ok_and(|m| m.len() > 1000)
}

/// The part of `dom` from the element that holds `start` to its `end`.
fn part<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let Some(at) = dom.find(start) else {
        return "";
    };
    let rest = &dom[at..];
    &rest[..rest.find(end).map_or(rest.len(), |e| e + end.len())]
}

#[test]
fn a_killed_and_restarted_service_shows_the_restart_on_its_page_in_chromium() {
    let sb = Sandbox::new();
    let (web, svc) = (free_port(), free_port());
    sb.write_rc(&control_file(&sb, web, svc));
    let _w = sb.warden();
    assert!(wait_until(LIMIT, || answers(web)), "{}", sb.log());
    assert!(sb.started("web", svc), "{}", sb.log());
    // A few cycles of samples before the kill.
    assert!(wait_until(LIMIT, || history(&sb, "web")
        .is_some_and(|h| h.samples.len() >= 8)));
    let before = sb.pid("web").unwrap();
    util::kill(before, rustix::process::Signal::KILL);
    assert!(
        wait_until(LIMIT, || sb
            .pid("web")
            .is_some_and(|p| p != before && alive(p))),
        "{}",
        sb.log()
    );
    assert!(
        wait_until(LIMIT, || history(&sb, "web").is_some_and(|h| {
            has_event(&h, EventKind::DoesNotExist)
                && h.events
                    .iter()
                    .filter(|e| e.kind == EventKind::ActionDone)
                    .count()
                    >= 2
        })),
        "{:?}\n{}",
        history(&sb, "web"),
        sb.log()
    );
    // Samples after the restart too, so the line goes on past the marks.
    std::thread::sleep(Duration::from_secs(6));

    let view = history(&sb, "web").unwrap();
    assert_eq!(
        view.series,
        [Series::ResponseTime, Series::Cpu, Series::Memory]
    );
    let gone = view
        .events
        .iter()
        .find(|e| e.kind == EventKind::DoesNotExist)
        .unwrap();
    assert_eq!(gone.action.as_deref(), Some("restart"));
    let memory: Vec<f64> = view.samples.iter().filter_map(|s| s.values[2]).collect();
    assert!(
        memory.iter().all(|m| *m > 1e6 && *m < 1e9),
        "a Python service's RSS: {memory:?}"
    );

    let text = sb.cli(&["status", "web", "--history"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains("Does not exist") && text.stdout.contains("[restart]"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("Response time"), "{}", text.stdout);
    let summary = sb.cli(&["summary", "web", "--history"]);
    assert_eq!(summary.code, 2, "--history belongs to status");

    let fs = history(&sb, "rootfs").unwrap();
    assert_eq!(
        fs.series,
        [Series::SpaceUsedPercent, Series::InodesUsedPercent]
    );
    let used = fs.samples.last().and_then(|s| s.values[0]).unwrap();
    assert!(used > 0.0 && used <= 100.0, "{used}");

    if !Path::new(CHROMIUM).exists() {
        eprintln!("SKIP the browser part: chromium is not installed (scripts/setup)");
        return;
    }
    let profile = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{web}");
    let dom = chromium(
        profile.path(),
        &["--dump-dom".into()],
        &format!("{base}/web"),
    );
    let charts = part(&dom, "<div class=\"charts\">", "</div>");
    for series in ["response_time", "cpu", "memory"] {
        assert!(
            charts.contains(&format!("data-series=\"{series}\"")),
            "no {series} chart in\n{dom}"
        );
    }
    let memory = part(charts, "data-series=\"memory\"", "</figure>");
    assert!(
        memory.contains("<g class=\"mark start\" data-kind=\"action_done\">"),
        "the restart on the chart:\n{memory}"
    );
    assert!(
        memory.contains("<g class=\"mark failure\" data-kind=\"does_not_exist\">"),
        "the kill on the chart:\n{memory}"
    );
    assert!(memory.contains("<path class=\"line\""), "{memory}");
    let timeline = part(&dom, "<table id=\"timeline\">", "</table>");
    assert!(
        timeline.contains("<tr data-kind=\"does_not_exist\">")
            && timeline.contains("<td>restart</td>")
            && timeline.contains("<tr data-kind=\"action_done\">"),
        "{timeline}"
    );

    let fs = chromium(
        profile.path(),
        &["--dump-dom".into()],
        &format!("{base}/rootfs"),
    );
    for series in ["space_used_percent", "inodes_used_percent"] {
        let chart = part(&fs, &format!("data-series=\"{series}\""), "</figure>");
        assert!(
            chart.contains("<path class=\"line\""),
            "the {series} chart has a line:\n{fs}"
        );
    }
    for figure in ["space total", "inodes total", "inodes free"] {
        assert!(
            fs.contains(&format!("<td>{figure}</td>")),
            "{figure}:\n{fs}"
        );
    }
    let index = chromium(profile.path(), &["--dump-dom".into()], &format!("{base}/"));
    let row = part(&index, "<tr data-service=\"web\">", "</tr>");
    assert!(row.contains("<a href=\"/web\">web</a>"), "{row}");
    assert!(row.contains("<svg class=\"spark\""), "{row}");
    assert!(row.contains("class=\"mark failure\""), "{row}");
    // A row without pid, CPU or memory still shows its type's own figures.
    let fs_row = part(&index, "<tr data-service=\"rootfs\">", "</tr>");
    assert!(fs_row.contains("space used "), "{fs_row}");
    assert!(fs_row.contains("inodes used "), "{fs_row}");
    let system_row = part(&index, "<tr data-service=\"box\">", "</tr>");
    assert!(system_row.contains("load (1 min) "), "{system_row}");

    // One per page type; `service-page` is the README's (doc/service-page.png).
    for (path, name, size) in [
        ("/web", "process", (1100, 1600)),
        ("/rootfs", "filesystem", (1100, 1000)),
        ("/box", "system", (1100, 1000)),
        ("/loop", "host", (1100, 900)),
        ("/", "index", (1300, 500)),
        ("/web", "service-page", (1200, 600)),
    ] {
        assert!(
            screenshot(profile.path(), &format!("{base}{path}"), name, size),
            "no screenshot of {path}"
        );
    }
}

#[test]
fn the_history_survives_a_reload_and_starts_empty_after_a_restart() {
    let sb = Sandbox::new();
    let rc = "set daemon 1\ncheck filesystem rootfs with path /\n\
              check directory tmp with path /tmp\n";
    sb.write_rc(rc);
    let w = sb.warden();
    assert!(
        wait_until(LIMIT, || history(&sb, "rootfs")
            .is_some_and(|h| h.samples.len() >= 2)),
        "{}",
        sb.log()
    );
    let before = history(&sb, "rootfs").unwrap();
    // The reload drops `tmp` and adds `etc`; rootfs stays.
    sb.write_rc(&format!(
        "{}check directory etc with path /etc\n",
        rc.replace("check directory tmp with path /tmp\n", "")
    ));
    let out = sb.cli(&["reload"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The new engine samples on: more than before, the first one kept.
    assert!(wait_until(LIMIT, || history(&sb, "rootfs")
        .is_some_and(|h| h.samples.len() > before.samples.len() + 1)));
    let after = history(&sb, "rootfs").unwrap();
    assert_eq!(
        after.samples.first().map(|s| s.time_unix_s),
        before.samples.first().map(|s| s.time_unix_s),
        "the first sample is kept: {before:?} then {after:?}"
    );
    assert!(sb.log().contains("reinitializing"), "{}", sb.log());
    let gone = sb.cli(&["status", "tmp", "--history"]);
    assert_eq!(gone.code, 6, "{}", gone.stderr);
    assert!(w.terminate(), "{}", sb.log());

    let restarted = warden_engine::status::unix_s(std::time::SystemTime::now());
    let _w = sb.warden();
    assert!(wait_until(LIMIT, || history(&sb, "rootfs").is_some()));
    let fresh = history(&sb, "rootfs").unwrap();
    assert!(
        fresh.samples.iter().all(|s| s.time_unix_s >= restarted),
        "a restarted Warden starts empty: {fresh:?}"
    );
}
