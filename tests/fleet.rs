//! The fleet test: three Warden daemons (their own folders, control files,
//! state and ports on loopback, told apart by a `host` label), one Debian
//! `prometheus` scraping their `/metrics` every second with the shipped
//! `etc/prometheus/warden-rules.yml`, and one `prometheus-alertmanager`
//! receiving both Warden's alerts and Prometheus's. A service killed on the
//! second daemon is an alert labelled with that host within two seconds
//! (timed over several kills, the median printed), resolved once Warden
//! has started it again; a whole daemon stopped fires `WardenDown`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

#[path = "util/alertmanager.rs"]
mod am;
mod util;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use am::{Alertmanager, Prometheus};
use rustix::process::Signal;
use util::{Sandbox, free_port, wait_until};

/// How many times the service is killed to time the alert.
const KILLS: usize = 5;

/// One host of the fleet.
struct Host {
    name: String,
    sb: Sandbox,
    httpd: u16,
    port: u16,
    warden: Option<util::Warden>,
}

impl Host {
    /// Writes its control file and starts its service, then its Warden
    /// (the service runs already, so the start is no alert).
    fn start(n: usize, am_port: u16) -> Host {
        let sb = Sandbox::new();
        let (httpd, port) = (free_port(), free_port());
        let name = format!("fleet-{n}");
        sb.write_rc(&format!(
            "set daemon 1\nset statefile {{dir}}/state\nset httpd port {httpd}\n  allow admin:pw\n\
             set alertmanager http://127.0.0.1:{am_port} labels {{ host: {name} }}\n\
             check process web with pidfile {pidfile}\n\
             \x20 start program = \"/bin/sh -c 'sleep 1; exec {start}'\" with timeout 20 seconds\n\
             \x20 if does not exist then restart\n",
            pidfile = sb.pidfile("web").display(),
            start = sb.service_cmd("web", port, "serve"),
        ));
        let status = Command::new("/bin/sh")
            .arg("-c")
            .arg(sb.service_cmd("web", port, "serve"))
            .status()
            .unwrap();
        assert!(status.success() && wait_until(Duration::from_secs(10), || util::answers(port)));
        let warden = Some(sb.warden());
        Host {
            name,
            sb,
            httpd,
            port,
            warden,
        }
    }

    /// Kills its service once Warden watches it; returns when.
    fn kill_web(&self) -> Instant {
        let pid = self.sb.pid("web").unwrap();
        let watched = wait_until(Duration::from_secs(15), || {
            self.sb
                .status_of("web")
                .is_some_and(|s| s.pid == Some(pid as u32) && s.ok)
        });
        assert!(
            watched,
            "{}: web not watched:\n{}",
            self.name,
            self.sb.log()
        );
        let at = Instant::now();
        util::kill(pid, Signal::KILL);
        at
    }
}

fn installed() -> bool {
    let missing: Vec<&str> = [am::ALERTMANAGER, am::PROMETHEUS]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "SKIP: {} not installed (scripts/setup installs them)",
            missing.join(", ")
        );
    }
    missing.is_empty()
}

/// Prometheus's configuration: every second, the three Wardens with their
/// host labels, the shipped rules, alerts to the Alertmanager.
fn prometheus_config(hosts: &[Host], am_port: u16) -> String {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/prometheus/warden-rules.yml");
    let targets: String = hosts
        .iter()
        .map(|h| {
            format!(
                "      - targets: [\"127.0.0.1:{}\"]\n        labels: {{host: {}}}\n",
                h.httpd, h.name
            )
        })
        .collect();
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files: [\"{rules}\"]\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"127.0.0.1:{am_port}\"]\n\
         scrape_configs:\n  - job_name: warden\n    \
         basic_auth: {{username: admin, password: pw}}\n    static_configs:\n{targets}",
        rules = rules.display()
    )
}

/// Files in a host's queue folder (next to its state file).
fn queued(sb: &Sandbox) -> usize {
    std::fs::read_dir(sb.path("state.queue"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn three_wardens_one_prometheus_one_alertmanager() {
    if !installed() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (am_port, prom_port) = (free_port(), free_port());
    let mut am = Alertmanager::start(&scratch.path().join("am"), am_port);
    let mut hosts: Vec<Host> = (1..=3).map(|n| Host::start(n, am_port)).collect();
    let prom = Prometheus::start(
        &scratch.path().join("prometheus"),
        prom_port,
        &prometheus_config(&hosts, am_port),
    );
    let all_up = wait_until(Duration::from_secs(30), || {
        let v = prom.api("/api/v1/query?query=up%7Bjob%3D%22warden%22%7D%3D%3D1");
        v["data"]["result"].as_array().is_some_and(|r| r.len() == 3)
    });
    assert!(
        all_up,
        "Prometheus does not scrape all three:\n{}",
        prom.log()
    );

    // Alertmanager down: the first and second hosts' services are killed
    // and started again meanwhile; every state waits in their queues and
    // arrives once it is back (counted by Alertmanager, which so far got
    // nothing: no Prometheus alert fires while every Warden answers).
    let down = Instant::now();
    am.stop();
    for h in &hosts[..2] {
        h.kill_web();
    }
    for h in &hosts[..2] {
        let both = wait_until(Duration::from_secs(20), || queued(&h.sb) >= 2);
        assert!(both, "{}: not queued:\n{}", h.name, h.sb.log());
        assert!(wait_until(Duration::from_secs(10), || util::answers(
            h.port
        )));
    }
    // A while down: each host has tried and failed to deliver.
    std::thread::sleep(Duration::from_secs(4));
    for h in &hosts[..2] {
        assert!(
            h.sb.log_count("not delivered (attempt 2)") > 0,
            "{}",
            h.sb.log()
        );
    }
    let states: usize = hosts[..2].iter().map(|h| queued(&h.sb)).sum();
    let down_for = down.elapsed();
    let am = Alertmanager::start(&scratch.path().join("am"), am_port);
    let back = Instant::now();
    let emptied = wait_until(Duration::from_secs(40), || {
        hosts[..2].iter().all(|h| queued(&h.sb) == 0)
    });
    assert!(emptied, "still queued:\n{}", hosts[1].sb.log());
    let (firing, resolved) = (am.received("firing"), am.received("resolved"));
    eprintln!(
        "Alertmanager down for {} ms: {states} alert states queued on two hosts; \
         {firing} firing and {resolved} resolved received within {} ms of its return",
        down_for.as_millis(),
        back.elapsed().as_millis()
    );
    assert_eq!((firing, resolved), (2, 2), "each state once");
    assert!(am.alerts().is_empty(), "{:#?}", am.alerts());

    // The third host goes away: its rule's `for` runs while the
    // second host's service is killed and timed.
    let stopped = Instant::now();
    assert!(
        hosts[2].warden.take().unwrap().terminate(),
        "fleet-3 did not stop"
    );

    let second = &hosts[1];
    let web2 = [
        ("service", "web"),
        ("host", "fleet-2"),
        ("alertname", "WardenCheckFailed"),
    ];
    let mut times = Vec::new();
    for round in 0..KILLS {
        let killed = second.kill_web();
        // Asked every 2 ms (an answer takes about as long), not wait_until's 20.
        let shown = loop {
            if am.alert(&web2).is_some() {
                break true;
            }
            if killed.elapsed() > Duration::from_secs(5) {
                break false;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let took = killed.elapsed();
        assert!(shown, "round {round}: no alert:\n{}", second.sb.log());
        times.push(took);
        let alert = am.alert(&web2).unwrap();
        assert_eq!(alert["labels"]["type"], "process", "{alert:#}");
        assert_eq!(
            alert["generatorURL"],
            format!(
                "http://{}:{}/web",
                rustix::system::uname().nodename().to_string_lossy(),
                second.httpd
            )
        );
        // Only the second host's service fails.
        let others: Vec<_> = am
            .alerts()
            .into_iter()
            .filter(|a| {
                a["labels"]["alertname"] == "WardenCheckFailed" && a["labels"]["host"] != "fleet-2"
            })
            .collect();
        assert!(others.is_empty(), "{others:#?}");
        let resolved = wait_until(Duration::from_secs(15), || am.alert(&web2).is_none());
        assert!(
            resolved,
            "round {round}: not resolved:\n{}",
            second.sb.log()
        );
        assert!(wait_until(Duration::from_secs(5), || util::answers(
            second.port
        )));
    }
    let worst = times.iter().max().copied().unwrap_or_default();
    eprintln!(
        "kill -> alert in Alertmanager over {KILLS} kills: median {} ms, max {} ms ({:?})",
        median(times.clone()).as_millis(),
        worst.as_millis(),
        times.iter().map(Duration::as_millis).collect::<Vec<_>>()
    );
    assert!(worst < Duration::from_secs(2), "{times:?}");

    // The stopped Warden: Prometheus's WardenDown, labelled with its host,
    // reaches the same Alertmanager (the rule waits its `for` first).
    let down = [("alertname", "WardenDown"), ("host", "fleet-3")];
    let fired = wait_until(Duration::from_secs(150), || am.alert(&down).is_some());
    assert!(
        fired,
        "no WardenDown for fleet-3:\n{:#?}\n{}",
        am.alerts(),
        prom.log()
    );
    eprintln!(
        "daemon stopped -> WardenDown in Alertmanager: {} s",
        stopped.elapsed().as_secs()
    );
    let alert = am.alert(&down).unwrap();
    assert_eq!(
        alert["labels"]["instance"],
        format!("127.0.0.1:{}", hosts[2].httpd)
    );
    // The hosts still running are not down.
    for h in &hosts[..2] {
        assert!(
            am.alert(&[("alertname", "WardenDown"), ("host", h.name.as_str())])
                .is_none()
        );
    }
}
