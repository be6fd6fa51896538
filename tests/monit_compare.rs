//! Warden's Monit status documents against Monit's own: Debian's `monit`
//! 5.33 and Warden run side by side on the same control file (one check of
//! every type; only the port and the daemon's own files differ), and
//! `/_status?format=xml` and `?format=text` must agree: the XML's element
//! paths in document order, attribute values, the server and platform
//! facts and the figures both must read alike (same process, same file),
//! and each service's text labels in order. Every difference fails unless
//! it is listed below with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::xml::{Elem, parse_xml, xml_paths};
use util::{free_port, wait_until};

/// XML paths only one side has, and why; `+` Warden only, `-` Monit only.
const XML_DIFFERENCES: &[(&str, &str)] = &[(
    "+monit/server/httpd/unixsocket",
    "Warden always serves its control socket (next to the state file) and \
     names it; Monit has one only with `set httpd unixsocket`",
)];

/// Text labels only one side shows, as `+service:label` / `-service:label`.
const TEXT_DIFFERENCES: &[(&str, &str)] = &[];

/// A daemon this test started; stopped by pid on drop, also on panic.
struct Daemon {
    child: Child,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        util::kill(self.child.id() as i32, rustix::process::Signal::TERM);
        let ended = wait_until(Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_)) | Err(_))
        });
        if !ended {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The control file, for one daemon's port and files: `open` is a
/// loopback port that accepts, `closed` one that refuses.
fn control_file(dir: &Path, who: &str, port: u16, (open, closed): (u16, u16)) -> String {
    let d = dir.display();
    format!(
        "set daemon 1\n\
         set pidfile {d}/{who}.pid\n\
         set idfile {d}/{who}.id\n\
         set statefile {d}/{who}.state\n\
         set logfile {d}/{who}.log\n\
         set httpd port {port} use address 127.0.0.1 allow user:pw\n\
         check process sleeper with pidfile {d}/sleeper.pid\n  \
           if failed unixsocket {d}/u.sock then alert\n\
         check system comparehost\n\
         check filesystem rootfs with path /\n\
         check file afile with path {d}/file\n  if failed checksum then alert\n  \
           if content = \"^never-there$\" then alert\n\
         check directory adir with path {d}/adir not every \"0 3 31 2 *\"\n\
         check fifo afifo with path {d}/afifo\n\
         check host loop with address 127.0.0.1\n  if failed port {open} then alert\n  \
           if failed port {closed} then alert\n  if failed ping then alert\n\
         check program prog with path \"/bin/echo hi there\"\n  if status != 0 then alert\n\
         check network lo with interface lo\n"
    )
}

fn write_rc(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// One HTTP/1.0 GET with the test's basic auth; the body.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    // "user:pw" in base64.
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Basic dXNlcjpwdw==\r\n\r\n"
    )
    .ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.")
        .then_some(())
        .filter(|()| head.contains(" 200 "))?;
    Some(body.to_string())
}

/// Polls `cond` every 300 ms (gently: Monit serves one request at a time)
/// until it holds or `limit` passes.
fn poll(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    cond()
}

/// Whether every service was checked (collected, monitored).
fn all_collected(doc: &str) -> bool {
    let Some(root) = parse_xml(doc) else {
        return false;
    };
    let services: Vec<&Elem> = root
        .children
        .iter()
        .filter(|c| c.name == "service")
        .collect();
    let field = |s: &Elem, name: &str| {
        s.children
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.text.clone())
    };
    services.len() == 9
        && services.iter().all(|s| {
            field(s, "collected_sec").is_some_and(|t| t != "0")
                && field(s, "monitor").as_deref() == Some("1")
        })
}

/// Each service's labels in order, from a text answer (colours removed).
fn text_labels(text: &str) -> Vec<(String, Vec<String>)> {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let mut services: Vec<(String, Vec<String>)> = Vec::new();
    for line in plain.lines() {
        if line.is_empty() || line.starts_with(' ') {
            let label = line.get(2..31).unwrap_or("").trim();
            if let (false, Some((_, labels))) = (label.is_empty(), services.last_mut()) {
                labels.push(label.to_string());
            }
        } else if let Some((kind, name)) = line.split_once(" '") {
            services.push((format!("{kind} '{name}"), Vec::new()));
        }
    }
    services
}

/// The differences between Monit's and Warden's path sequences: each path
/// only one side has, then (when the sets agree) the first place the
/// orders part.
fn xml_differences(monit: &[(String, String)], warden: &[(String, String)]) -> Vec<String> {
    let listed = |d: &String| XML_DIFFERENCES.iter().any(|(p, _)| p == d);
    let m: BTreeSet<&String> = monit.iter().map(|(p, _)| p).collect();
    let w: BTreeSet<&String> = warden.iter().map(|(p, _)| p).collect();
    let mut diffs: Vec<String> = m
        .difference(&w)
        .map(|p| format!("-{p}"))
        .chain(w.difference(&m).map(|p| format!("+{p}")))
        .filter(|d| !listed(d))
        .collect();
    if diffs.is_empty() {
        let shared = |side: &[(String, String)], other: &BTreeSet<&String>| -> Vec<String> {
            let mut seen = Vec::new();
            for (p, _) in side {
                if other.contains(p) && seen.last() != Some(p) {
                    seen.push(p.clone());
                }
            }
            seen
        };
        let (a, b) = (shared(monit, &w), shared(warden, &m));
        if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i] != b[i]) {
            diffs.push(format!(
                "order: Monit has {} where Warden has {}",
                a[i], b[i]
            ));
        }
    }
    diffs
}

fn text_differences(monit: &str, warden: &str) -> Vec<String> {
    let listed = |d: &String| TEXT_DIFFERENCES.iter().any(|(p, _)| p == d);
    let (m, w) = (text_labels(monit), text_labels(warden));
    let mut diffs = Vec::new();
    let names = |v: &[(String, Vec<String>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(&m) != names(&w) {
        diffs.push(format!(
            "services: Monit {:?}, Warden {:?}",
            names(&m),
            names(&w)
        ));
        return diffs;
    }
    for ((name, ml), (_, wl)) in m.iter().zip(&w) {
        let short = name.split('\'').nth(1).unwrap_or(name);
        let only = |a: &[String], b: &[String], sign: char| -> Vec<String> {
            a.iter()
                .filter(|l| !b.contains(l))
                .map(|l| format!("{sign}{short}:{l}"))
                .collect()
        };
        let mut here: Vec<String> = only(ml, wl, '-')
            .into_iter()
            .chain(only(wl, ml, '+'))
            .filter(|d| !listed(d))
            .collect();
        let keep = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|l| b.contains(l)).cloned().collect()
        };
        if here.is_empty() && keep(ml, wl) != keep(wl, ml) {
            here.push(format!("{short}: Monit's order {ml:?}, Warden's {wl:?}"));
        }
        diffs.extend(here);
    }
    diffs
}

/// The text of the first element at `path`.
fn value<'a>(all: &'a [(String, String)], path: &str) -> Option<&'a str> {
    all.iter().find(|(p, _)| p == path).map(|(_, t)| t.as_str())
}

/// Facts both daemons read from the same machine, process and files.
const SAME_VALUES: &[&str] = &[
    "monit/server/version",
    "monit/server/poll",
    "monit/server/startdelay",
    "monit/server/localhostname",
    "monit/server/httpd/address",
    "monit/server/httpd/ssl",
    "monit/platform/name",
    "monit/platform/release",
    "monit/platform/version",
    "monit/platform/machine",
    "monit/platform/cpu",
    "monit/platform/memory",
    "monit/platform/swap",
    "monit/service[type=3]/name",
    "monit/service[type=3]/status",
    "monit/service[type=3]/monitormode",
    "monit/service[type=3]/onreboot",
    "monit/service[type=3]/pid",
    "monit/service[type=3]/ppid",
    "monit/service[type=3]/uid",
    "monit/service[type=3]/euid",
    "monit/service[type=3]/gid",
    "monit/service[type=3]/threads",
    "monit/service[type=3]/children",
    "monit/service[type=3]/filedescriptors/limit/soft",
    "monit/service[type=3]/filedescriptors/limit/hard",
    "monit/service[type=5]/filedescriptors/maximum",
    "monit/service[type=0]/fstype",
    "monit/service[type=0]/fsflags",
    "monit/service[type=0]/mode",
    "monit/service[type=0]/uid",
    "monit/service[type=0]/gid",
    "monit/service[type=0]/block/total",
    "monit/service[type=0]/inode/total",
    "monit/service[type=2]/mode",
    "monit/service[type=2]/size",
    "monit/service[type=2]/timestamps/modify",
    "monit/service[type=2]/checksum[@type=MD5]",
    "monit/service[type=1]/every/type",
    "monit/service[type=1]/every/cron",
    "monit/service[type=1]/mode",
    "monit/service[type=1]/timestamps/modify",
    "monit/service[type=6]/mode",
    "monit/service[type=6]/timestamps/modify",
    "monit/service[type=4]/icmp/type",
    "monit/service[type=3]/unix/path",
    "monit/service[type=3]/unix/protocol",
    "monit/service[type=4]/port/hostname",
    "monit/service[type=4]/port/portnumber",
    "monit/service[type=4]/port/request",
    "monit/service[type=4]/port/protocol",
    "monit/service[type=4]/port/type",
    "monit/service[type=7]/status",
    "monit/service[type=7]/program/status",
    "monit/service[type=7]/program/output",
    "monit/service[type=8]/link/state",
    "monit/service[type=8]/link/speed",
    "monit/service[type=8]/link/duplex",
];

#[test]
fn status_documents_match_monit_path_for_path_and_label_for_label() {
    if Command::new("monit").arg("-V").output().is_err() {
        panic!("Debian's monit is not installed (scripts/setup installs it)");
    }
    util::subreaper();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("file"), "hello\n").unwrap();
    std::fs::create_dir(d.join("adir")).unwrap();
    let made = Command::new("mkfifo")
        .arg(d.join("afifo"))
        .status()
        .unwrap();
    assert!(made.success());
    let sleeper = Daemon {
        child: Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    };
    std::fs::write(d.join("sleeper.pid"), format!("{}\n", sleeper.child.id())).unwrap();
    // The connection tests' targets: they accept and close, on loopback.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = (listener.local_addr().unwrap().port(), free_port());
    std::thread::spawn(move || {
        for c in listener.incoming() {
            drop(c);
        }
    });
    let socket = std::os::unix::net::UnixListener::bind(d.join("u.sock")).unwrap();
    std::thread::spawn(move || {
        for c in socket.incoming() {
            drop(c);
        }
    });

    let (monit_port, warden_port) = (free_port(), free_port());
    let monit_rc = write_rc(d, "monitrc", &control_file(d, "monit", monit_port, target));
    let warden_rc = write_rc(
        d,
        "wardenrc",
        &control_file(d, "warden", warden_port, target),
    );
    let spawn = |program: &str, rc: &Path, log: &str| Daemon {
        child: Command::new(program)
            .arg("-c")
            .arg(rc)
            .arg("-I")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(d.join(log)).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    };
    let _monit = spawn("monit", &monit_rc, "monit.out");
    let _warden = spawn(env!("CARGO_BIN_EXE_warden"), &warden_rc, "warden.out");

    let xml = "/_status?format=xml";
    let collected = poll(Duration::from_secs(30), || {
        [monit_port, warden_port]
            .iter()
            .all(|p| get(*p, xml).is_some_and(|doc| all_collected(&doc)))
    });
    assert!(
        collected,
        "both daemons did not check every service within 30 s"
    );

    // Figures that need two readings come a cycle later: compare until
    // both documents agree or the time is up, then report what differs.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (monit_xml, warden_xml, monit_text, warden_text, xml_diffs, text_diffs) = loop {
        let fetch = |p: u16, path: &str| get(p, path).unwrap_or_default();
        let (mx, wx) = (fetch(monit_port, xml), fetch(warden_port, xml));
        let text = "/_status?format=text";
        let (mt, wt) = (fetch(monit_port, text), fetch(warden_port, text));
        let xd = xml_differences(&xml_paths(&mx), &xml_paths(&wx));
        let td = text_differences(&mt, &wt);
        if (xd.is_empty() && td.is_empty()) || Instant::now() > deadline {
            break (mx, wx, mt, wt, xd, td);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let (m, w) = (xml_paths(&monit_xml), xml_paths(&warden_xml));
    assert!(
        !m.is_empty() && !w.is_empty(),
        "Monit: {monit_xml}\nWarden: {warden_xml}"
    );
    let distinct: BTreeSet<&String> = m.iter().map(|(p, _)| p).collect();
    println!(
        "compared {} XML paths ({} elements) and {} services' text labels",
        distinct.len(),
        m.len(),
        text_labels(&monit_text).len()
    );
    for (path, why) in XML_DIFFERENCES.iter().chain(TEXT_DIFFERENCES) {
        println!("listed difference {path}: {why}");
    }
    assert!(
        xml_diffs.is_empty(),
        "XML differences: {xml_diffs:#?}\nMonit: {monit_xml}\nWarden: {warden_xml}"
    );
    assert!(
        text_diffs.is_empty(),
        "text differences: {text_diffs:#?}\nMonit:\n{monit_text}\nWarden:\n{warden_text}"
    );

    let mut unequal = Vec::new();
    for path in SAME_VALUES {
        let (a, b) = (value(&m, path), value(&w, path));
        if a.is_none() || a != b {
            unequal.push(format!("{path}: Monit {a:?}, Warden {b:?}"));
        }
    }
    for (path, rc) in [(&m, &monit_rc), (&w, &warden_rc)] {
        let shown = value(path, "monit/server/controlfile");
        if shown != Some(rc.to_str().unwrap()) {
            unequal.push(format!("controlfile {shown:?}, not {}", rc.display()));
        }
    }
    assert!(unequal.is_empty(), "values that differ: {unequal:#?}");
}

#[test]
fn the_reader_turns_a_document_into_paths_in_order() {
    let doc = "<?xml version=\"1.0\"?><monit><service type=\"2\"><name>a&amp;b</name>\
               <checksum type=\"MD5\">ab</checksum><request><![CDATA[/x]]></request>\
               <empty/></service></monit>";
    let all = xml_paths(doc);
    let got: Vec<(&str, &str)> = all.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    assert_eq!(
        got,
        [
            ("monit", ""),
            ("monit/service[type=2]", ""),
            ("monit/service[type=2]/name", "a&b"),
            ("monit/service[type=2]/checksum[@type=MD5]", "ab"),
            ("monit/service[type=2]/request", "/x"),
            ("monit/service[type=2]/empty", ""),
        ]
    );
    assert!(
        parse_xml("<monit><a></b></monit>").is_none(),
        "mismatched tags"
    );
    let text = "Monit 5.33.0 uptime: 0m\n\n\x1b[1;36mProcess 'p'\x1b[0m\n  status                       \x1b[0;92mOK\x1b[0m\n  \
                last output                  one\n                               two\n";
    let labels = text_labels(text);
    assert_eq!(
        labels,
        [(
            "Process 'p'".to_string(),
            vec!["status".to_string(), "last output".to_string()]
        )]
    );
}
