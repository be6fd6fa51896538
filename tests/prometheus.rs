//! The Prometheus side of a fleet, end to end: the shipped rules, their
//! unit tests and the example config pass Debian's `promtool`; every
//! metric the rules, their tests and the Grafana dashboard name is one the
//! real binary serves (with a config holding a check of each type); the
//! served values agree with `warden status --json`; and a real Prometheus
//! run on the shipped config finds Warden through file-based discovery,
//! loads the rules and evaluates every dashboard query without an error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the test's panic

mod util;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use util::{Sandbox, answers, free_port, parse_openmetrics, wait_until};
use warden_engine::ServiceStatus;

const LIMIT: Duration = Duration::from_secs(30);
const PROMTOOL: &str = "/usr/bin/promtool";
const PROMETHEUS: &str = "/usr/bin/prometheus";

fn etc(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("etc").join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs promtool with `args` in `dir`; its output when it fails.
fn promtool(dir: &Path, args: &[&str]) -> Result<String, String> {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is missing: scripts/setup installs Debian's prometheus"
    );
    let out = Command::new(PROMTOOL)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

#[test]
fn promtool_checks_the_rules_runs_their_unit_tests_and_checks_the_example_config() {
    let dir = etc("prometheus");
    let rules = promtool(&dir, &["check", "rules", "warden-rules.yml"]).unwrap();
    assert!(rules.contains("SUCCESS: 9 rules found"), "{rules}");
    let tests = promtool(&dir, &["test", "rules", "warden-rules.test.yml"]).unwrap();
    assert!(tests.contains("SUCCESS"), "{tests}");
    let config = promtool(&dir, &["check", "config", "prometheus.yml"]).unwrap();
    assert!(config.contains("1 rule files found"), "{config}");

    // The fleet test relies on this alert, by this name, in this group.
    let text = read(&dir.join("warden-rules.yml"));
    assert!(text.contains("  - name: warden\n"), "{text}");
    assert!(text.contains("- alert: WardenDown\n        expr: up{job=\"warden\"} == 0\n"));

    // A broken expectation fails: the unit tests can fail.
    let sb = Sandbox::new();
    std::fs::copy(dir.join("warden-rules.yml"), sb.path("warden-rules.yml")).unwrap();
    let broken = read(&dir.join("warden-rules.test.yml")).replace(
        "summary: \"Warden on a:2812 does not answer scrapes\"",
        "summary: \"something else\"",
    );
    std::fs::write(sb.path("warden-rules.test.yml"), broken).unwrap();
    let failed = promtool(sb.dir.path(), &["test", "rules", "warden-rules.test.yml"]);
    assert!(failed.is_err(), "{failed:?}");
}

#[test]
fn the_example_targets_file_is_a_list_of_target_groups() {
    let text = read(&etc("prometheus/targets/warden.json"));
    let groups: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(!groups.is_empty());
    for g in groups {
        let targets = g["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{g}");
        for t in targets {
            let (host, port) = t.as_str().unwrap().rsplit_once(':').unwrap();
            assert!(!host.is_empty() && port.parse::<u16>().is_ok(), "{t}");
        }
        let labels = g["labels"].as_object().unwrap();
        assert!(labels.values().all(|v| v.is_string()), "{g}");
    }
}

/// Every `warden_...` metric name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("warden_"))
        .map(str::to_string)
        .collect()
}

/// Every PromQL expression of the dashboard: the panels' `expr` and the
/// variables' queries.
fn dashboard_queries() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr" | "definition", serde_json::Value::String(s)) => {
                            out.push(s.clone())
                        }
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(&etc("grafana/warden.json"))).unwrap();
    let mut out = Vec::new();
    walk(&dashboard, &mut out);
    out
}

/// http.server wrapped in TLS with the given certificate.
const HTTPS_SERVER: &str = r#"
import http.server, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), Quiet)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

/// A loopback HTTPS server with a self-signed certificate that expires on
/// 1 January two years from now.
fn https_server(sb: &Sandbox, port: u16) -> Guard {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let year = 1970 + (now / 31_556_952) as i32;
    params.not_after = rcgen::date_time_ymd(year + 2, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (sb.path("cert.pem"), sb.path("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::write(sb.path("https.py"), HTTPS_SERVER).unwrap();
    let server = Command::new("/usr/bin/python3")
        .arg(sb.path("https.py"))
        .arg(port.to_string())
        .args([&cert_path, &key_path])
        .current_dir(sb.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Guard(server);
    assert!(wait_until(LIMIT, || answers(port)), "no HTTPS server");
    server
}

/// A Warden and the HTTPS server one of its checks reaches.
struct Host {
    _warden: util::Warden,
    _tls: Guard,
}

/// A Warden with one check of each type whose figures the rules and the
/// dashboard read, serving on `port`; returns once every check has been
/// evaluated and measured.
fn fleet_host(sb: &Sandbox, port: u16) -> Host {
    let (svc, tls) = (free_port(), free_port());
    let server = https_server(sb, tls);
    let pid = sb.pidfile("web");
    sb.write_rc(&format!(
        "set daemon 1\nset httpd port {port}\n  allow localhost\n\
         check process web with pidfile {pid}\n  \
           start program = \"{start}\" with timeout 10 seconds\n  \
           stop program = \"/bin/sh -c 'kill -9 $(cat {pid})'\"\n  \
           if failed port {svc} then restart\n  group www\n\
         check host local with address 127.0.0.1\n  if failed port {svc} then alert\n\
         check host secure with address 127.0.0.1\n  \
           if failed port {tls} protocol https certificate valid > 1 days then alert\n\
         check filesystem root with path /\n\
         check system fleethost\n\
         check file rc with path {rc}\n\
         check program truth with path /bin/true\n\
         check network loopback with interface lo\n",
        pid = pid.display(),
        start = sb.service_cmd("web", svc, "serve"),
        rc = sb.rc.display(),
    ));
    let w = sb.warden();
    assert!(wait_until(LIMIT, || answers(port)), "{}", sb.log());
    let measured = |s: &ServiceStatus, figure: &str| s.metrics.contains_key(figure);
    let ready = wait_until(LIMIT, || {
        let all = sb.statuses();
        all.len() == 8
            && all.iter().all(|s| s.ok && s.status == "OK")
            && all.iter().any(|s| s.name == "web" && measured(s, "memory"))
            && all
                .iter()
                .any(|s| s.name == "local" && measured(s, "response_time"))
            && all
                .iter()
                .any(|s| s.name == "fleethost" && measured(s, "cpu_user"))
            && all
                .iter()
                .any(|s| s.name == "secure" && s.tests.iter().any(|t| t.certificate_days.is_some()))
    });
    assert!(ready, "{:#?}\n{}", sb.statuses(), sb.log());
    Host {
        _warden: w,
        _tls: server,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn scrape(port: u16) -> (String, HashMap<String, f64>) {
    let res = client()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    let samples = parse_openmetrics(&text);
    (text, samples)
}

/// The sample names (`warden_check_up`) among `samples`' keys.
fn served(samples: &HashMap<String, f64>) -> BTreeSet<String> {
    samples
        .keys()
        .filter_map(|k| k.split('{').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_rules_and_the_dashboard_name_is_served_by_warden() {
    let sb = Sandbox::new();
    let port = free_port();
    let _w = fleet_host(&sb, port);
    let (_, samples) = scrape(port).await;
    let served = served(&samples);

    let mut named = BTreeSet::new();
    for file in ["warden-rules.yml", "warden-rules.test.yml"] {
        named.extend(metric_names(&read(&etc("prometheus").join(file))));
    }
    let queries = dashboard_queries();
    assert!(queries.len() > 20, "{queries:?}");
    for q in &queries {
        named.extend(metric_names(q));
    }
    assert!(named.len() > 15, "{named:?}");
    let missing: Vec<_> = named.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "named but not served: {missing:?}\nserved: {served:?}"
    );
}

/// The key of `name` with `labels` as `parse_openmetrics` writes it
/// (labels sorted).
fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels = labels.to_vec();
    labels.sort();
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

/// The value of `name` with `labels`.
fn sample(samples: &HashMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples.get(&key(name, labels)).copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_values_agree_with_the_status() {
    let sb = Sandbox::new();
    let port = free_port();
    let _w = fleet_host(&sb, port);
    // The status first: a figure a later probe adds (a rate needs two)
    // is then in the scrape too.
    let statuses = sb.statuses();
    let (text, samples) = scrape(port).await;

    // warden_build_info says what `warden -V` says.
    let version = sb.cli(&["-V"]).stdout;
    let line = |field: &str| {
        version
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .unwrap()
            .trim()
            .to_string()
    };
    let (commit, profile) = (line("commit:"), line("profile:"));
    let build = [
        ("version", env!("CARGO_PKG_VERSION")),
        ("commit", commit.as_str()),
        ("profile", profile.as_str()),
    ];
    assert_eq!(
        sample(&samples, "warden_build_info", &build),
        Some(1.0),
        "{text}"
    );

    let info = [
        ("check", "web"),
        ("type", "process"),
        ("mode", "active"),
        ("group", "www"),
    ];
    assert_eq!(
        sample(&samples, "warden_check_info", &info),
        Some(1.0),
        "{text}"
    );
    for s in &statuses {
        let (name, kind) = (s.name.as_str(), s.kind.word());
        let l = [("check", name), ("type", kind)];
        assert_eq!(sample(&samples, "warden_check_up", &l), Some(1.0), "{name}");
        // The status state set: one sample per state, `ok` alone is 1.
        let states: Vec<(&str, f64)> = STATES
            .iter()
            .filter_map(|st| {
                let v = sample(
                    &samples,
                    "warden_check_status",
                    &[l[0], l[1], ("status", st)],
                );
                v.map(|v| (*st, v))
            })
            .collect();
        assert_eq!(states.len(), STATES.len(), "{name}: {states:?}\n{text}");
        let on: Vec<_> = states.iter().filter(|(_, v)| *v == 1.0).collect();
        assert_eq!(on, [&("ok", 1.0)], "{name}: {states:?}");
        let monitored = [l[0], l[1], ("state", "monitored")];
        let monitoring = sample(&samples, "warden_check_monitoring", &monitored);
        assert_eq!(monitoring, Some(1.0), "{name}");
        let restarts = sample(&samples, "warden_check_restarts_total", &l);
        assert_eq!(restarts, Some(s.restarts_total as f64), "{name}");
        // Every figure the board holds has its family, with this check.
        let labels = key("", &l);
        for figure in s.metrics.keys() {
            // Renamed: sizes a `_total` would misname as counters, days.
            let prefix = match figure.as_ref() {
                "space_total" => "warden_check_space_size_bytes".to_string(),
                "space_free_total" => "warden_check_space_free_with_reserved_bytes".into(),
                "inode_total" => "warden_check_inodes".into(),
                "certificate_days" => "warden_check_certificate_valid_seconds".into(),
                _ => format!("warden_check_{figure}"),
            };
            let found = samples
                .keys()
                .any(|k| k.starts_with(&prefix) && k.ends_with(&labels));
            assert!(found, "{name}'s {figure} is not served:\n{text}");
        }
    }

    // Figures that do not move between the status and the scrape, exactly.
    let of = |name: &str| &statuses.iter().find(|s| s.name == name).unwrap().metrics;
    let exact = [
        (
            "root",
            "filesystem",
            "space_total",
            "warden_check_space_size_bytes",
        ),
        ("root", "filesystem", "inode_total", "warden_check_inodes"),
        ("rc", "file", "size", "warden_check_size_bytes"),
        (
            "fleethost",
            "system",
            "boot_time",
            "warden_check_boot_time_seconds",
        ),
    ];
    for (check, kind, figure, family) in exact {
        let served = sample(&samples, family, &[("check", check), ("type", kind)]);
        assert_eq!(served, Some(of(check)[figure]), "{family}\n{text}");
    }
    // Each connection test, labelled by what it reaches.
    let secure = &statuses.iter().find(|s| s.name == "secure").unwrap().tests[0];
    let target = format!("127.0.0.1:{}", secure.port.unwrap());
    let l = [
        ("check", "secure"),
        ("type", "host"),
        ("test", target.as_str()),
        ("protocol", "http"),
    ];
    assert_eq!(
        sample(&samples, "warden_check_test_up", &l),
        Some(1.0),
        "{text}"
    );
    let valid = sample(&samples, "warden_check_test_certificate_valid_seconds", &l).unwrap();
    let days = secure.certificate_days.unwrap();
    assert!(
        (valid - days * 86_400.0).abs() < 1000.0 && days > 300.0,
        "{valid} s vs {days} days"
    );
    let response = sample(&samples, "warden_check_test_response_time_seconds", &l);
    assert!(response.is_some_and(|r| r > 0.0 && r < 5.0), "{text}");
    // A process's memory, within what a second of running can change.
    let web = [("check", "web"), ("type", "process")];
    let memory = sample(&samples, "warden_check_memory_bytes", &web).unwrap();
    let want = of("web")["memory"];
    assert!((memory - want).abs() <= want / 2.0, "{memory} vs {want}");
}

/// The status state set's states.
const STATES: [&str; 11] = [
    "ok",
    "initializing",
    "not_monitored",
    "does_not_exist",
    "zombie",
    "connection_failed",
    "resource_limit",
    "failed",
    "probe_timeout",
    "action_failed",
    "timeout",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_shows_in_the_state_set_the_events_and_the_restarts() {
    let sb = Sandbox::new();
    let port = free_port();
    let _w = fleet_host(&sb, port);
    let before = sb.status_of("web").unwrap().restarts_total;
    util::kill(sb.pid("web").unwrap(), rustix::process::Signal::KILL);
    let web = [("check", "web"), ("type", "process")];
    let gone = [("check", "web"), ("event", "does_not_exist")];
    let status = |seen: &HashMap<String, f64>, st: &str| {
        sample(
            seen,
            "warden_check_status",
            &[web[0], web[1], ("status", st)],
        )
    };
    let mut seen = HashMap::new();
    for _ in 0..200 {
        seen = scrape(port).await.1;
        let restarted =
            sample(&seen, "warden_check_restarts_total", &web).is_some_and(|n| n > before as f64);
        let counted = sample(&seen, "warden_events_total", &gone).is_some_and(|n| n >= 1.0);
        if restarted && counted && status(&seen, "ok") == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let restarts = sample(&seen, "warden_check_restarts_total", &web);
    let now = sb.status_of("web").unwrap();
    assert_eq!(restarts, Some(now.restarts_total as f64), "{seen:?}");
    assert!(now.restarts_total > before, "{}", sb.log());
    assert!(sample(&seen, "warden_events_total", &gone).is_some_and(|n| n >= 1.0));
    assert_eq!(status(&seen, "ok"), Some(1.0), "{seen:?}");

    // Unmonitored: both state sets follow, and the check is not up.
    let out = sb.cli(&["unmonitor", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    let seen = scrape(port).await.1;
    let state = |st: &str| {
        sample(
            &seen,
            "warden_check_monitoring",
            &[web[0], web[1], ("state", st)],
        )
    };
    assert_eq!(state("not_monitored"), Some(1.0), "{seen:?}");
    assert_eq!(state("monitored"), Some(0.0));
    assert_eq!(status(&seen, "not_monitored"), Some(1.0));
    assert_eq!(status(&seen, "ok"), Some(0.0));
    assert_eq!(sample(&seen, "warden_check_up", &web), Some(0.0));
}

/// A process killed and reaped on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Prometheus's answer to an instant query.
async fn query(prom: u16, expr: &str) -> serde_json::Value {
    let encoded: String = expr
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let res = client()
        .get(format!(
            "http://127.0.0.1:{prom}/api/v1/query?query={encoded}"
        ))
        .send()
        .await;
    match res {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_on_the_shipped_config_finds_warden_loads_the_rules_and_runs_every_dashboard_query()
 {
    assert!(
        Path::new(PROMETHEUS).exists(),
        "{PROMETHEUS} is missing: scripts/setup installs Debian's prometheus"
    );
    let sb = Sandbox::new();
    let (port, prom) = (free_port(), free_port());
    let _w = fleet_host(&sb, port);

    // The shipped files as they are, but for the intervals (a test cannot
    // wait 15 s a scrape) and the targets file, which names this Warden.
    let config = read(&etc("prometheus/prometheus.yml"))
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    assert!(config.contains("scrape_interval: 1s") && config.contains("evaluation_interval: 1s"));
    std::fs::write(sb.path("prometheus.yml"), config).unwrap();
    std::fs::copy(
        etc("prometheus/warden-rules.yml"),
        sb.path("warden-rules.yml"),
    )
    .unwrap();
    std::fs::create_dir(sb.path("targets")).unwrap();
    // Two targets for the one Warden: one named by its address, one given
    // a host label, which the relabelling keeps.
    let targets = format!(
        "[{{\"targets\": [\"localhost:{port}\"], \"labels\": {{\"env\": \"test\"}}}},\n \
         {{\"targets\": [\"127.0.0.1:{port}\"], \"labels\": {{\"host\": \"fleet-1\"}}}}]"
    );
    std::fs::write(sb.path("targets/warden.json"), targets).unwrap();
    let log = std::fs::File::create(sb.path("prometheus.log")).unwrap();
    let _p = Guard(
        Command::new(PROMETHEUS)
            .arg(format!(
                "--config.file={}",
                sb.path("prometheus.yml").display()
            ))
            .arg(format!("--storage.tsdb.path={}", sb.path("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prom}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let why = || util::file(&sb.path("prometheus.log"));

    // Both targets found through the targets file, labelled with their
    // host (by the relabelling, or as the file says), and scraped.
    let ups = [
        "up{job=\"warden\", host=\"localhost\", env=\"test\"}",
        "up{job=\"warden\", host=\"fleet-1\", instance=~\"127.0.0.1:.*\"}",
    ];
    for up in ups {
        let mut answer = serde_json::Value::Null;
        for _ in 0..120 {
            answer = query(prom, up).await;
            if answer["data"]["result"][0]["value"][1] == "1" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let value = &answer["data"]["result"][0]["value"][1];
        assert_eq!(value, "1", "{up}: {answer}\n{}", why());
    }
    // A few more scrapes, so that rate() has two samples to work with.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Every dashboard query parses and evaluates; the variables as "All".
    for q in dashboard_queries() {
        let expr = q.replace("$instance", ".*").replace("$check", ".*");
        let expr = match expr.strip_prefix("label_values(") {
            // A variable's query: the series selector inside it.
            Some(inner) => inner.rsplit_once(',').unwrap().0.to_string(),
            None => expr,
        };
        let answer = query(prom, &expr).await;
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
    }
    let up = query(prom, "count by (host) (warden_check_up == 1)").await;
    let hosts = up["data"]["result"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{up}");
    for h in hosts {
        assert_eq!(h["value"][1], "8", "{up}");
    }

    // The shipped rules are loaded and evaluate without an error.
    let mut rules = serde_json::Value::Null;
    for _ in 0..40 {
        if let Ok(r) = client()
            .get(format!("http://127.0.0.1:{prom}/api/v1/rules"))
            .send()
            .await
        {
            rules = r.json().await.unwrap_or_default();
            let all = rules["data"]["groups"][0]["rules"].as_array();
            if all.is_some_and(|r| {
                r.len() == 8
                    && r.iter()
                        .all(|r| r["lastEvaluation"] != "0001-01-01T00:00:00Z")
            }) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "warden", "{rules}");
    let all = group["rules"].as_array().unwrap();
    assert_eq!(all.len(), 9, "{rules}");
    for r in all {
        assert_eq!(r["health"], "ok", "{r}");
    }
    // Nothing is down here: no Warden alert fires.
    let firing = query(
        prom,
        "ALERTS{alertstate=\"firing\", alertname=~\"Warden.*\"}",
    )
    .await;
    assert_eq!(firing["data"]["result"], serde_json::json!([]), "{firing}");
}

#[test]
fn the_dashboard_panels_have_unique_ids_queries_and_places_of_their_own() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(&etc("grafana/warden.json"))).unwrap();
    assert_eq!(dashboard["uid"], "warden-fleet");
    let panels = dashboard["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "id twice: {p}");
        let at = |k: &str| p["gridPos"][k].as_u64().unwrap();
        assert!(at("x") + at("w") <= 24, "wider than the grid: {p}");
        // Every grid cell belongs to one panel at most.
        for x in at("x")..at("x") + at("w") {
            for y in at("y")..at("y") + at("h") {
                assert!(cells.insert((x, y)), "overlaps another panel: {p}");
            }
        }
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{p}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{p}");
        for t in targets {
            assert!(!t["expr"].as_str().unwrap().is_empty(), "{p}");
        }
    }
}

/// The OpenMetrics text in Prometheus's older text format, which is what
/// `promtool check metrics` reads: an info family becomes a gauge named
/// as its sample, a counter family takes its sample's `_total`.
fn prometheus_text(openmetrics: &str) -> String {
    let mut renamed = HashMap::new();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            match rest.rsplit_once(' ') {
                Some((name, "info")) => renamed.insert(name, (format!("{name}_info"), "gauge")),
                Some((name, "counter")) => {
                    renamed.insert(name, (format!("{name}_total"), "counter"))
                }
                _ => None,
            };
        }
    }
    let mut out = String::new();
    for line in openmetrics.lines().filter(|l| *l != "# EOF") {
        let meta = ["# TYPE ", "# HELP "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        let line = match meta.and_then(|(p, rest)| Some((p, rest.split_once(' ')?))) {
            Some((p, (name, tail))) => match renamed.get(name) {
                Some((new, kind)) if p == "# TYPE " => format!("{p}{new} {kind}"),
                Some((new, _)) => format!("{p}{new} {tail}"),
                None => line.to_string(),
            },
            None => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_finds_nothing_to_lint_in_the_metrics_names() {
    let sb = Sandbox::new();
    let port = free_port();
    let _w = fleet_host(&sb, port);
    let (text, _) = scrape(port).await;
    let plain = prometheus_text(&text);
    let mut lint = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    lint.stdin
        .take()
        .unwrap()
        .write_all(plain.as_bytes())
        .unwrap();
    let out = lint.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.is_empty(), "{said}\n{plain}");
}
