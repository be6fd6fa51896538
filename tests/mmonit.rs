//! `set mmonit URL`: Warden's collector messages against Monit's own.
//! A loopback HTTP server records every POST (method, path, headers,
//! body); Debian's `monit` 5.33 runs on a control file pointed at it, a
//! service is killed and restarted, Monit stops; then Warden runs on the
//! same file and goes through the same. The two sets of messages must
//! agree: request line and headers, the status document's element paths in
//! document order, the event's elements and numbers, the daemon's start and
//! stop events, and the values both read alike. A second test holds the
//! collector down: the events wait in the queue and arrive once it answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use util::xml::{Elem, parse_xml};
use util::{free_port, wait_until};

/// Element paths only one side sends, and why; `+` Warden only.
const DIFFERENCES: &[(&str, &str)] = &[(
    "+monit[@id][@incarnation][@version]/server/httpd/unixsocket",
    "Warden always serves its control socket and names it (as in /_status)",
)];

/// One request the collector got.
#[derive(Debug, Clone)]
struct Post {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
    accepted: bool,
}

impl Post {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn doc(&self) -> Elem {
        parse_xml(&self.body).unwrap_or_else(|| panic!("not XML: {}", self.body))
    }

    /// The `<event>`'s fields, when it is an event message.
    fn event(&self) -> Option<Vec<(String, String)>> {
        let doc = self.doc();
        let e = doc.children.iter().find(|c| c.name == "event")?;
        Some(
            e.children
                .iter()
                .map(|c| (c.name.clone(), c.text.clone()))
                .collect(),
        )
    }

    fn event_field(&self, name: &str) -> Option<String> {
        self.event()?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A loopback M/Monit stand-in: records every request, answers 200, or
/// 503 while `refuse` is set.
struct Collector {
    port: u16,
    posts: Arc<Mutex<Vec<Post>>>,
    refuse: Arc<AtomicBool>,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let posts = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(AtomicBool::new(false));
        let (p, r) = (posts.clone(), refuse.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let length = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let accepted = !r.load(Ordering::SeqCst);
                p.lock().unwrap().push(Post {
                    request_line: request_line.trim_end().to_string(),
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    accepted,
                });
                let status = if accepted {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                let _ = write!(
                    &stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Collector {
            port,
            posts,
            refuse,
        }
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    fn take(&self) -> Vec<Post> {
        std::mem::take(&mut *self.posts.lock().unwrap())
    }
}

/// A daemon this test started; killed on drop, also on panic.
struct Daemon(Child);

impl Daemon {
    fn start(program: &str, rc: &Path, dir: &Path) -> Daemon {
        let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
        Daemon(
            Command::new(program)
                .arg("-c")
                .arg(rc)
                .arg("-I")
                .env("HOME", dir)
                .env_remove("NOTIFY_SOCKET")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn"),
        )
    }

    /// SIGTERM, then waits (bounded) for the exit.
    fn stop(mut self) -> bool {
        util::kill(self.0.id() as i32, rustix::process::Signal::TERM);
        wait_until(Duration::from_secs(15), || {
            matches!(self.0.try_wait(), Ok(Some(_)) | Err(_))
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn control_file(dir: &Path, collector: u16, httpd: u16) -> std::path::PathBuf {
    let mmonit = format!("http://monit:monit@127.0.0.1:{collector}/collector");
    control_file_with(dir, &mmonit, httpd)
}

/// The test's control file with `set mmonit MMONIT`.
fn control_file_with(dir: &Path, mmonit: &str, httpd: u16) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let d = dir.display();
    let text = format!(
        "set daemon 1\n\
         set pidfile {d}/daemon.pid\n\
         set idfile {d}/id\n\
         set statefile {d}/state\n\
         set mmonit {mmonit}\n\
         set httpd port {httpd} use address 127.0.0.1 allow admin:pw\n\
         check system mmonitbox\n\
         check process sleeper with pidfile {d}/sleeper.pid\n  \
           start program = \"/bin/sh -c 'sleep 600 & echo $! > {d}/sleeper.pid'\"\n  \
           stop program = \"/bin/sh -c 'kill $(cat {d}/sleeper.pid)'\"\n  \
           group web\n\
         check file hosts with path /etc/hosts\n  group web\n"
    );
    let rc = dir.join("monitrc");
    std::fs::write(&rc, text).unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    rc
}

fn sleeper_pid(dir: &Path) -> Option<i32> {
    std::fs::read_to_string(dir.join("sleeper.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A status message in which every service was checked and the process
/// runs with all its figures (cpu takes two samples: Warden leaves it out
/// until it has them, where Monit writes 0.0).
fn complete_status(p: &Post) -> bool {
    if p.event().is_some() {
        return false;
    }
    let doc = p.doc();
    let Some(services) = doc.children.iter().find(|c| c.name == "services") else {
        return false;
    };
    services.children.len() == 3
        && services.children.iter().all(|s| {
            s.children
                .iter()
                .any(|c| c.name == "monitor" && c.text == "1")
        })
        && services
            .children
            .iter()
            .any(|s| s.children.iter().any(|c| c.name == "pid"))
        && services.children.iter().all(|s| {
            let has = |name: &str| s.children.iter().find(|c| c.name == name);
            match has("type").map(|t| t.text.as_str()) {
                Some("3") => has("cpu").is_some(),
                Some("5") => has("system")
                    .and_then(|sys| sys.children.iter().find(|c| c.name == "cpu"))
                    .is_some_and(|cpu| !cpu.children.is_empty()),
                _ => true,
            }
        })
}

fn is_event(p: &Post, service: &str, state: &str) -> bool {
    p.event_field("service").as_deref() == Some(service)
        && p.event_field("state").as_deref() == Some(state)
}

/// Runs `program` on the file: waits for a complete status, kills the
/// service, waits for its failure and recovery events and one more
/// status, stops the daemon; every post it made.
fn session(program: &str, rc: &Path, dir: &Path, collector: &Collector) -> Vec<Post> {
    collector.take();
    let daemon = Daemon::start(program, rc, dir);
    let log = || std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(20), || collector
            .posts()
            .iter()
            .any(complete_status)),
        "{program}: no complete status message; log:\n{}",
        log()
    );
    let pid = sleeper_pid(dir).expect("sleeper pid");
    util::kill(pid, rustix::process::Signal::KILL);
    let failed_and_back = || {
        let posts = collector.posts();
        let failed = posts.iter().position(|p| is_event(p, "sleeper", "1"));
        failed.is_some_and(|i| {
            posts[i..].iter().any(|p| is_event(p, "sleeper", "0"))
                && posts[i..].iter().any(complete_status)
        })
    };
    assert!(
        wait_until(Duration::from_secs(20), failed_and_back),
        "{program}: no failure and recovery after the kill; log:\n{}",
        log()
    );
    assert!(daemon.stop(), "{program} did not stop");
    // The stop event goes out before the exit; give the socket a moment.
    wait_until(Duration::from_secs(2), || {
        collector
            .posts()
            .last()
            .is_some_and(|p| is_event(p, "Monit", "2"))
    });
    collector.take()
}

/// Every element's path in document order; attributes by name, except a
/// service's and a group's name, which are part of the path.
fn paths(e: &Elem, parent: &str, out: &mut Vec<String>) {
    let mut step = e.name.clone();
    for (k, v) in &e.attrs {
        if k == "name" {
            step.push_str(&format!("[@name={v}]"));
        } else {
            step.push_str(&format!("[@{k}]"));
        }
    }
    let path = if parent.is_empty() {
        step
    } else {
        format!("{parent}/{step}")
    };
    out.push(path.clone());
    for c in &e.children {
        paths(c, &path, out);
    }
}

fn doc_paths(p: &Post) -> Vec<String> {
    let mut out = Vec::new();
    paths(&p.doc(), "", &mut out);
    out
}

/// Paths one side has and the other lacks, less the listed ones.
fn differences(monit: &[String], warden: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (sign, a, b) in [("-", monit, warden), ("+", warden, monit)] {
        for p in a {
            let key = format!("{sign}{p}");
            if !b.contains(p) && !DIFFERENCES.iter().any(|(d, _)| *d == key) {
                out.push(key);
            }
        }
    }
    // The same elements in another order is a difference too.
    let common = |x: &[String], y: &[String]| -> Vec<String> {
        x.iter().filter(|p| y.contains(p)).cloned().collect()
    };
    if out.is_empty() && common(monit, warden) != common(warden, monit) {
        out.push("the elements both send come in another order".into());
    }
    out
}

/// The text at `path` (`monit/server/poll`) or an attribute (`monit@id`).
fn value(doc: &Elem, path: &str) -> Option<String> {
    let (path, attr) = match path.split_once('@') {
        Some((p, a)) => (p, Some(a)),
        None => (path, None),
    };
    let mut e = doc;
    for step in path.split('/').skip(1) {
        e = e.children.iter().find(|c| c.name == step)?;
    }
    match attr {
        Some(a) => e.attrs.iter().find(|(k, _)| k == a).map(|(_, v)| v.clone()),
        None => Some(e.text.clone()),
    }
}

/// Values both must send alike (same id file, same control file, same
/// machine, same httpd).
const SAME_VALUES: &[&str] = &[
    "monit@id",
    "monit@version",
    "monit/server/poll",
    "monit/server/startdelay",
    "monit/server/localhostname",
    "monit/server/controlfile",
    "monit/server/httpd/address",
    "monit/server/httpd/port",
    "monit/server/httpd/ssl",
    "monit/server/credentials/username",
    "monit/server/credentials/password",
    "monit/platform/name",
    "monit/platform/release",
    "monit/platform/machine",
    "monit/platform/cpu",
    "monit/platform/memory",
];

/// The top-level elements of a message, in order.
fn top(p: &Post) -> Vec<String> {
    p.doc().children.iter().map(|c| c.name.clone()).collect()
}

#[test]
fn collector_messages_match_monit_s_own() {
    if Command::new("monit").arg("-V").output().is_err() {
        eprintln!("skipped: Debian's monit is not installed (scripts/setup installs it)");
        return;
    }
    util::subreaper();
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start();
    let rc = control_file(dir.path(), collector.port, free_port());
    let monit = session("monit", &rc, dir.path(), &collector);
    // Monit's state file is its own binary format: Warden starts afresh.
    let _ = std::fs::remove_file(dir.path().join("state"));
    let warden = session(env!("CARGO_BIN_EXE_warden"), &rc, dir.path(), &collector);
    if let Some(pid) = sleeper_pid(dir.path()) {
        util::kill(pid, rustix::process::Signal::KILL);
    }

    let mut problems = Vec::new();
    // The request: line, type, auth, agent.
    for (who, posts) in [("Monit", &monit), ("Warden", &warden)] {
        for p in posts {
            let auth = p.header("authorization");
            let agent = p.header("user-agent").unwrap_or_default();
            if p.request_line != "POST /collector HTTP/1.1"
                || p.header("content-type") != Some("text/xml")
                || auth != Some("Basic bW9uaXQ6bW9uaXQ=")
                || !agent.starts_with("Monit/5.33.0")
            {
                problems.push(format!("{who}: {} {:?}", p.request_line, p.headers));
            }
        }
    }
    // The daemon's own start and stop, first and last.
    for (who, posts) in [("Monit", &monit), ("Warden", &warden)] {
        let first = posts.first().and_then(Post::event).unwrap_or_default();
        let last = posts.last().and_then(Post::event).unwrap_or_default();
        let numbers = |e: &[(String, String)]| -> Vec<String> {
            e.iter()
                .filter(|(k, _)| ["service", "type", "id", "state", "action"].contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        };
        let want = |action: &str| {
            vec![
                "service=Monit".to_string(),
                "type=5".into(),
                "id=65536".into(),
                "state=2".into(),
                format!("action={action}"),
            ]
        };
        if numbers(&first) != want("6") || numbers(&last) != want("3") {
            problems.push(format!("{who}: start {first:?}, stop {last:?}"));
        }
    }
    // Status messages: same paths in the same order; no event.
    let status = |posts: &[Post]| posts.iter().rev().find(|p| complete_status(p)).cloned();
    let (ms, ws) = (status(&monit).unwrap(), status(&warden).unwrap());
    let (mp, wp) = (doc_paths(&ms), doc_paths(&ws));
    problems.extend(differences(&mp, &wp));
    for (who, p) in [("Monit", &ms), ("Warden", &ws)] {
        if top(p) != ["server", "platform", "services", "servicegroups"] {
            problems.push(format!("{who}'s status message holds {:?}", top(p)));
        }
    }
    // The failure event: the same elements, the same numbers.
    let failure = |posts: &[Post]| {
        posts
            .iter()
            .find(|p| is_event(p, "sleeper", "1"))
            .cloned()
            .unwrap()
    };
    let (mf, wf) = (failure(&monit), failure(&warden));
    for (who, p) in [("Monit", &mf), ("Warden", &wf)] {
        if top(p) != ["server", "platform", "services", "servicegroups", "event"] {
            problems.push(format!("{who}'s event message holds {:?}", top(p)));
        }
    }
    let event_paths = |p: &Post| -> Vec<String> {
        doc_paths(p)
            .into_iter()
            .filter(|x| x.starts_with("monit/event") || x.starts_with("monit/servicegroups"))
            .collect()
    };
    problems.extend(differences(&event_paths(&mf), &event_paths(&wf)));
    for field in ["type", "id", "state", "action"] {
        if mf.event_field(field) != wf.event_field(field) {
            problems.push(format!(
                "event {field}: Monit {:?}, Warden {:?}",
                mf.event_field(field),
                wf.event_field(field)
            ));
        }
    }
    // The recovery: Monit's numbers.
    let recovery = |posts: &[Post]| {
        posts
            .iter()
            .find(|p| is_event(p, "sleeper", "0"))
            .and_then(|p| Some((p.event_field("id")?, p.event_field("action")?)))
    };
    if recovery(&monit) != recovery(&warden) {
        problems.push(format!(
            "recovery (id, action): Monit {:?}, Warden {:?}",
            recovery(&monit),
            recovery(&warden)
        ));
    }
    // Values both read alike.
    let (md, wd) = (ms.doc(), ws.doc());
    for path in SAME_VALUES {
        let (a, b) = (value(&md, path), value(&wd, path));
        if a.is_none() || a != b {
            problems.push(format!("{path}: Monit {a:?}, Warden {b:?}"));
        }
    }
    let distinct: std::collections::BTreeSet<&String> = mp.iter().collect();
    println!(
        "Monit sent {} messages, Warden {}; compared {} paths of the status message",
        monit.len(),
        warden.len(),
        distinct.len()
    );
    for (path, why) in DIFFERENCES {
        println!("listed difference {path}: {why}");
    }
    assert!(
        problems.is_empty(),
        "differences: {problems:#?}\nMonit's status: {}\nWarden's status: {}\nMonit's event: {}\nWarden's event: {}",
        ms.body,
        ws.body,
        mf.body,
        wf.body
    );
}

#[test]
fn events_wait_while_m_monit_is_down_and_arrive_in_order_once_it_answers() {
    util::subreaper();
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start();
    collector.refuse.store(true, Ordering::SeqCst);
    let rc = control_file(dir.path(), collector.port, free_port());
    let daemon = Daemon::start(env!("CARGO_BIN_EXE_warden"), &rc, dir.path());
    let log = || std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    let queue = dir.path().join("state.queue/mmonit");
    // Messages, not the temporary file of one being written.
    let queued = || {
        std::fs::read_dir(&queue).map_or(0, |d| {
            d.flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.ends_with(".xml") && !name.starts_with('.')
                })
                .count()
        })
    };
    // The service starts (down, then up): the start, the failure and the
    // recovery wait in the queue while the collector refuses.
    assert!(
        wait_until(Duration::from_secs(20), || sleeper_pid(dir.path())
            .is_some()
            && queued() >= 3
            && collector.posts().len() >= 2),
        "nothing waits in {}; log:\n{}",
        queue.display(),
        log()
    );
    let refused = collector.take();
    assert!(refused.iter().all(|p| !p.accepted));
    collector.refuse.store(false, Ordering::SeqCst);
    assert!(
        wait_until(Duration::from_secs(10), || queued() == 0),
        "the queue was not emptied; log:\n{}",
        log()
    );
    let events: Vec<(String, String)> = collector
        .posts()
        .iter()
        .filter(|p| p.accepted)
        .filter_map(|p| Some((p.event_field("service")?, p.event_field("state")?)))
        .collect();
    let want = [
        ("Monit".to_string(), "2".to_string()),
        ("sleeper".into(), "1".into()),
        ("sleeper".into(), "0".into()),
    ];
    assert!(
        events.starts_with(&want),
        "delivered in this order: {events:?}"
    );
    let log_now = log();
    let said = |needle: &str| log_now.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        said("M/Monit: cannot send"),
        1,
        "one error per outage:\n{log_now}"
    );
    assert_eq!(said("takes messages again"), 1, "{log_now}");

    // A reload is Monit's "reloaded" instance event.
    util::kill(daemon.0.id() as i32, rustix::process::Signal::HUP);
    let reloaded = |p: &Post| {
        p.accepted
            && p.event_field("service").as_deref() == Some("Monit")
            && p.event_field("message")
                .is_some_and(|m| m.ends_with("reloaded"))
    };
    assert!(
        wait_until(Duration::from_secs(10), || collector
            .posts()
            .iter()
            .any(reloaded)),
        "no reload event; log:\n{}",
        log()
    );

    // Down again, the service killed, Warden killed: the events wait on
    // disk and the next Warden sends them first.
    collector.refuse.store(true, Ordering::SeqCst);
    let pid = sleeper_pid(dir.path()).unwrap();
    util::kill(pid, rustix::process::Signal::KILL);
    assert!(
        wait_until(Duration::from_secs(20), || queued() >= 2
            && sleeper_pid(dir.path()).is_some_and(|p| p != pid)),
        "the failure and the recovery do not wait; log:\n{}",
        log()
    );
    drop(daemon);
    collector.take();
    collector.refuse.store(false, Ordering::SeqCst);
    let again = Daemon::start(env!("CARGO_BIN_EXE_warden"), &rc, dir.path());
    assert!(
        wait_until(Duration::from_secs(15), || queued() == 0
            && collector.posts().iter().filter(|p| p.accepted).count() >= 3),
        "the next Warden did not send what waited ({} queued, {:?}); log:\n{}",
        queued(),
        collector
            .posts()
            .iter()
            .map(|p| (p.accepted, p.event()))
            .collect::<Vec<_>>(),
        log()
    );
    let events: Vec<(String, String)> = collector
        .posts()
        .iter()
        .filter(|p| p.accepted)
        .filter_map(|p| Some((p.event_field("service")?, p.event_field("state")?)))
        // The restart's "started" may or may not have been queued before the kill.
        .filter(|(service, state)| service != "sleeper" || state != "2")
        .collect();
    // The failure and the recovery, then the new start.
    let want = [
        ("sleeper".to_string(), "1".to_string()),
        ("sleeper".into(), "0".into()),
        ("Monit".into(), "2".into()),
    ];
    assert!(
        events.starts_with(&want),
        "after the restart, in this order: {events:?}"
    );
    assert!(again.stop());
    if let Some(pid) = sleeper_pid(dir.path()) {
        util::kill(pid, rustix::process::Signal::KILL);
    }
}

#[test]
fn every_url_gets_each_message_and_one_acceptance_is_enough() {
    util::subreaper();
    let dir = tempfile::tempdir().unwrap();
    let (up, down) = (Collector::start(), Collector::start());
    down.refuse.store(true, Ordering::SeqCst);
    let mmonit = format!(
        "http://a:b@127.0.0.1:{}/collector, http://127.0.0.1:{}/other with timeout 2 seconds \
         and register without credentials",
        up.port, down.port
    );
    let rc = control_file_with(dir.path(), &mmonit, free_port());
    let daemon = Daemon::start(env!("CARGO_BIN_EXE_warden"), &rc, dir.path());
    let log = || std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    let recovered = |c: &Collector| c.posts().iter().any(|p| is_event(p, "sleeper", "0"));
    assert!(
        wait_until(Duration::from_secs(20), || recovered(&up)
            && recovered(&down)),
        "both collectors get the events; log:\n{}",
        log()
    );
    let queue = dir.path().join("state.queue/mmonit");
    let queued = || {
        std::fs::read_dir(&queue).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".xml"))
                .count()
        })
    };
    // Were both needed, every event would stay queued (one refuses them all).
    assert!(
        wait_until(Duration::from_secs(5), || queued() == 0),
        "one collector accepted: nothing waits ({} do)",
        queued()
    );
    assert!(daemon.stop());
    let (ups, downs) = (up.posts(), down.posts());
    assert!(
        ups.iter()
            .all(|p| p.request_line == "POST /collector HTTP/1.1"
                && p.header("authorization") == Some("Basic YTpi"))
    );
    assert!(
        downs.iter().all(
            |p| p.request_line == "POST /other HTTP/1.1" && p.header("authorization").is_none()
        )
    );
    assert!(
        ups.iter().all(|p| !p.body.contains("<credentials>")),
        "register without credentials: {}",
        ups[0].body
    );
    let log = log();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("M/Monit: cannot send"))
            .count(),
        1,
        "the refusing one is said once:\n{log}"
    );
    if let Some(pid) = sleeper_pid(dir.path()) {
        util::kill(pid, rustix::process::Signal::KILL);
    }
}
