//! End to end: the TCP control interface of the real daemon. Allow rules
//! (basic auth, read-only users, host rules), TLS with a certificate made
//! here, /metrics parsed by the reference OpenMetrics parser (Python's
//! prometheus_client), and the status page driven in headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the test's panic

mod util;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use util::{Sandbox, alive, answers, free_port, parse_openmetrics, wait_until};

const LIMIT: Duration = Duration::from_secs(20);

/// A service Warden starts, stops (kill -9) and restarts.
fn service(sb: &Sandbox, name: &str, port: u16, extra: &str) -> String {
    let pidfile = sb.pidfile(name);
    format!(
        "check process {name} with pidfile {pid}\n  start program = \"{start}\" with timeout 10 seconds\n  \
         stop program = \"/bin/sh -c 'kill -9 $(cat {pid})'\"\n{extra}\n",
        pid = pidfile.display(),
        start = sb.service_cmd(name, port, "serve"),
    )
}

/// Writes the control file and starts Warden; waits for the TCP interface.
fn daemon(sb: &Sandbox, port: u16, httpd: &str, checks: &str) -> util::Warden {
    sb.write_rc(&format!(
        "set daemon 1\nset httpd port {port}\n{httpd}\n{checks}"
    ));
    let w = sb.warden();
    assert!(
        wait_until(LIMIT, || answers(port)),
        "no web interface:\n{}",
        sb.log()
    );
    w
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(url: &str, user: Option<(&str, &str)>) -> reqwest::Response {
    let mut req = client().get(url);
    if let Some((u, p)) = user {
        req = req.basic_auth(u, Some(p));
    }
    req.send().await.unwrap()
}

/// A POST to the API on `port` as `user:password`.
async fn post_api(port: u16, path: &str, (user, password): (&str, &str)) -> reqwest::Response {
    client()
        .post(format!("http://127.0.0.1:{port}/api/v1/{path}"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_lets_in_the_right_password_and_read_only_users_cannot_act() {
    let sb = Sandbox::new();
    let port = free_port();
    let _w = daemon(
        &sb,
        port,
        "allow admin:secret\nallow viewer:look read-only",
        "",
    );
    let url = format!("http://127.0.0.1:{port}/");

    let none = get(&url, None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()["www-authenticate"], "Basic realm=\"warden\"");
    assert_eq!(
        get(&url, Some(("admin", "wrong"))).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = get(&url, Some(("admin", "secret"))).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("<h1>Warden on"));

    let viewer = get(&url, Some(("viewer", "look"))).await;
    assert_eq!(viewer.status(), StatusCode::OK);
    assert!(
        !viewer.text().await.unwrap().contains("<button"),
        "a read-only user sees no buttons"
    );
    let act = format!("http://127.0.0.1:{port}/api/v1/services/all/monitor");
    let refused = client()
        .post(&act)
        .basic_auth("viewer", Some("look"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let done = client()
        .post(&act)
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);

    let log = sb.log();
    assert!(
        log.contains("no credentials") && log.contains("from 127.0.0.1:"),
        "{log}"
    );
    assert!(log.contains("wrong user or password"), "{log}");
    assert!(log.contains("read-only user cannot act"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_rule_that_leaves_out_loopback_refuses_with_403() {
    let sb = Sandbox::new();
    let port = free_port();
    let _w = daemon(&sb, port, "allow 10.0.0.0/8\nallow admin:secret", "");
    let res = get(
        &format!("http://127.0.0.1:{port}/"),
        Some(("admin", "secret")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        sb.log().contains("client address not allowed"),
        "{}",
        sb.log()
    );
}

/// A self-signed certificate for localhost and 127.0.0.1, and its key, in
/// one PEM file as Monit's `pemfile` has them; returns (file, certificate).
fn self_signed(dir: &Path) -> (PathBuf, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = made.cert.pem();
    let path = dir.join("warden.pem");
    std::fs::write(&path, format!("{cert}{}", made.signing_key.serialize_pem())).unwrap();
    (path, cert)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ssl_the_interface_answers_over_https_only() {
    let sb = Sandbox::new();
    let port = free_port();
    let (pem, cert) = self_signed(sb.dir.path());
    let httpd = format!(
        "with ssl {{ pemfile: {} }}\nallow admin:secret",
        pem.display()
    );
    let _w = daemon(&sb, port, &httpd, "");
    let https = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let res = https
        .get(format!("https://localhost:{port}/api/v1/status"))
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.json::<serde_json::Value>().await.unwrap().is_array());
    let plain = client()
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP must not be answered: {plain:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_is_a_clear_error_and_the_daemon_runs_on() {
    let sb = Sandbox::new();
    let port = free_port();
    std::fs::write(sb.path("junk.pem"), "not a certificate\n").unwrap();
    let httpd = format!(
        "with ssl {{ pemfile: {} }}\nallow admin:secret",
        sb.path("junk.pem").display()
    );
    sb.write_rc(&format!("set daemon 1\nset httpd port {port}\n{httpd}\n"));
    let mut w = sb.warden();
    let said = "web interface on port";
    assert!(
        wait_until(LIMIT, || sb.log().contains(said)),
        "{}",
        sb.log()
    );
    assert!(sb.log().contains("no certificate in"), "{}", sb.log());
    assert!(!answers(port));
    assert!(
        matches!(w.child.try_wait(), Ok(None)),
        "the daemon died:\n{}",
        sb.log()
    );
}

async fn metrics(url: &str) -> HashMap<String, f64> {
    let res = get(url, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    parse_openmetrics(&res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_openmetrics_and_follow_a_killed_service() {
    let sb = Sandbox::new();
    let (port, svc) = (free_port(), free_port());
    // Started here, watched passively: Warden sees it die and leaves it down.
    let started = Command::new("/bin/sh")
        .arg("-c")
        .arg(sb.service_cmd("web", svc, "serve"))
        .status();
    assert!(started.unwrap().success());
    assert!(wait_until(LIMIT, || answers(svc)));
    let check = format!("{}  mode passive\n", service(&sb, "web", svc, ""));
    let _w = daemon(&sb, port, "allow localhost", &check);
    let url = format!("http://127.0.0.1:{port}/metrics");
    let up = r#"warden_check_up{check="web",type="process"}"#;

    let mut seen = HashMap::new();
    for _ in 0..100 {
        seen = metrics(&url).await;
        if seen.get(up) == Some(&1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.get(up), Some(&1.0), "{seen:?}\n{}", sb.log());
    for name in [
        r#"warden_check_monitored{check="web",type="process"}"#,
        r#"warden_check_restarts_total{check="web",type="process"}"#,
        r#"warden_check_probe_duration_seconds{check="web",type="process"}"#,
        r#"warden_check_last_success_timestamp_seconds{check="web",type="process"}"#,
        "warden_uptime_seconds{}",
        "warden_scheduler_lag_seconds_count{}",
    ] {
        assert!(seen.contains_key(name), "{name} missing from {seen:?}");
    }

    util::kill(sb.pid("web").unwrap(), rustix::process::Signal::KILL);
    let gone = r#"warden_events_total{check="web",event="does_not_exist"}"#;
    for _ in 0..100 {
        seen = metrics(&url).await;
        if seen.get(up) == Some(&0.0) && seen.get(gone).is_some_and(|n| *n >= 1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.get(up), Some(&0.0), "{seen:?}\n{}", sb.log());
    assert!(seen.get(gone).is_some_and(|n| *n >= 1.0), "{seen:?}");

    // The same metrics on the Unix socket.
    let unix = reqwest::Client::builder()
        .no_proxy()
        .unix_socket(sb.path(".warden.sock"))
        .build()
        .unwrap();
    let text = unix
        .get("http://warden/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(parse_openmetrics(&text).get(up), Some(&0.0));
}

/// The hidden CSRF token in the page.
fn form_token(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    html[at..at + 32].to_string()
}

async fn post_form(port: u16, fields: &[(&str, &str)], origin: Option<&str>) -> reqwest::Response {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut req = client()
        .post(format!("http://127.0.0.1:{port}/action"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_actions_need_the_form_token_and_the_same_origin() {
    let sb = Sandbox::new();
    let (port, svc) = (free_port(), free_port());
    // A name with markup in it, as a config may have: shown as text.
    let odd = format!(
        "check process \"<b>db</b>\" with pidfile {}\n  mode passive\n",
        sb.pidfile("db").display()
    );
    let checks = service(&sb, "web", svc, "") + &odd;
    let _w = daemon(&sb, port, "allow localhost", &checks);
    assert!(sb.started("web", svc), "{}", sb.log());
    let html = get(&format!("http://127.0.0.1:{port}/"), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("&lt;b&gt;db&lt;/b&gt;") && !html.contains("<b>db"),
        "{html}"
    );
    let token = form_token(&html);
    let me = format!("http://127.0.0.1:{port}");

    let restart = [("service", "web"), ("action", "restart")];
    let no_token = post_form(port, &restart, Some(&me)).await;
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let with = [
        ("service", "web"),
        ("action", "restart"),
        ("csrf", token.as_str()),
    ];
    let foreign = post_form(port, &with, Some("http://evil.example")).await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(sb.starts("web"), 1, "refused forms must not act");

    let before = sb.pid("web").unwrap();
    let done = post_form(port, &with, Some(&me)).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let back = done.headers()["location"].to_str().unwrap().to_string();
    assert!(back.contains("result=done"), "{back}");
    assert!(wait_until(LIMIT, || sb
        .pid("web")
        .is_some_and(|p| p != before && alive(p))));
}

/// chromedriver (and the Chromium it starts) in a process group of its own,
/// killed whole on drop; the browser profile is a fresh temp dir.
struct Browser {
    driver: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Browser {
    /// None (with the reason printed) when Chromium is not installed.
    fn start() -> Option<Browser> {
        use std::os::unix::process::CommandExt as _;
        let (chromium, driver) = (
            Path::new("/usr/bin/chromium"),
            Path::new("/usr/bin/chromedriver"),
        );
        if !chromium.exists() || !driver.exists() {
            eprintln!(
                "SKIP the browser part: chromium/chromium-driver not installed (scripts/setup)"
            );
            return None;
        }
        let port = free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let b = Browser {
            driver,
            port,
            profile: tempfile::tempdir().ok()?,
        };
        wait_until(LIMIT, || answers(port)).then_some(b)
    }

    async fn session(&self) -> fantoccini::Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", self.profile.path().display()));
        let caps = serde_json::json!({
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        fantoccini::ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.driver.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_chromium_lists_services_and_restarts_one() {
    let sb = Sandbox::new();
    let (port, svc) = (free_port(), free_port());
    let checks = service(&sb, "web", svc, "") + &service(&sb, "db", free_port(), "");
    let _w = daemon(&sb, port, "allow localhost\nallow 127.0.0.1", &checks);
    assert!(sb.started("web", svc), "{}", sb.log());
    let Some(browser) = Browser::start() else {
        // Still exercise the page over plain HTTP.
        let html = get(&format!("http://127.0.0.1:{port}/"), None)
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("data-service=\"web\"") && html.contains("data-service=\"db\""));
        return;
    };
    let page = browser.session().await;
    page.goto(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    let rows = page
        .find_all(fantoccini::Locator::Css("tr[data-service]"))
        .await
        .unwrap();
    let mut names = Vec::new();
    for r in rows {
        names.push(r.attr("data-service").await.unwrap().unwrap_or_default());
    }
    assert_eq!(names, ["web", "db"]);

    let before = sb.pid("web").unwrap();
    let restart = r#"tr[data-service="web"] button[value="restart"]"#;
    page.find(fantoccini::Locator::Css(restart))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The answer page first: the page's own reload (every 5 s) drops it.
    let mut flash = String::new();
    for _ in 0..100 {
        if let Ok(el) = page.find(fantoccini::Locator::Id("flash")).await {
            flash = el.text().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        wait_until(LIMIT, || sb
            .pid("web")
            .is_some_and(|p| p != before && alive(p))),
        "{}",
        sb.log()
    );
    assert_eq!(flash, "restart 'web': done");
    let _ = page.close().await;
}

/// A process killed and reaped on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_warden() {
    let prometheus = Path::new("/usr/bin/prometheus");
    if !prometheus.exists() {
        eprintln!("SKIP: Debian's prometheus is not installed (scripts/setup installs it)");
        return;
    }
    let sb = Sandbox::new();
    let (port, svc, prom) = (free_port(), free_port(), free_port());
    let _w = daemon(
        &sb,
        port,
        "allow admin:secret",
        &service(&sb, "web", svc, ""),
    );
    assert!(sb.started("web", svc), "{}", sb.log());
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: warden\n    \
         basic_auth: {{username: admin, password: secret}}\n    \
         static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n"
    );
    std::fs::write(sb.path("prometheus.yml"), config).unwrap();
    let log = std::fs::File::create(sb.path("prometheus.log")).unwrap();
    let _p = Guard(
        Command::new(prometheus)
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
    let query = format!(
        "http://127.0.0.1:{prom}/api/v1/query?query=warden_check_up%7Bcheck%3D%22web%22%7D"
    );
    let mut answer = serde_json::Value::Null;
    for _ in 0..100 {
        if let Ok(res) = client().get(&query).send().await {
            answer = res.json().await.unwrap_or_default();
            if answer["data"]["result"][0]["value"][1] == "1" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let why = util::file(&sb.path("prometheus.log"));
    assert_eq!(
        answer["data"]["result"][0]["value"][1], "1",
        "{answer}\n{why}"
    );
}

/// Rewrites the control file with `httpd` (none when empty) and reloads
/// through the CLI, which must succeed.
fn reload_with(sb: &Sandbox, httpd: &str) {
    sb.write_rc(&format!("set daemon 1\n{httpd}\n"));
    let out = sb.cli(&["reload"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stderr, sb.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_moves_the_interface_changes_its_rules_and_can_remove_and_add_it() {
    let sb = Sandbox::new();
    let (first, second) = (free_port(), free_port());
    let _w = daemon(&sb, first, "allow admin:secret", "");
    let status = |port: u16| format!("http://127.0.0.1:{port}/api/v1/status");
    let admin = Some(("admin", "secret"));
    assert_eq!(get(&status(first), admin).await.status(), StatusCode::OK);

    // Another port and password, asked for through the interface itself:
    // its answer still arrives.
    sb.write_rc(&format!(
        "set daemon 1\nset httpd port {second}\nallow admin:changed\n"
    ));
    let reload = post_api(first, "reload", ("admin", "secret")).await;
    assert_eq!(reload.status(), StatusCode::OK, "{}", sb.log());
    assert!(!answers(first), "the old port still answers:\n{}", sb.log());
    assert!(answers(second), "{}", sb.log());
    assert_eq!(
        get(&status(second), admin).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let changed = Some(("admin", "changed"));
    assert_eq!(get(&status(second), changed).await.status(), StatusCode::OK);

    // The same port with other rules. A kept-alive connection of the old
    // setup must not serve on with the old rules: it is closed.
    let pooled = client();
    let ask = |who: (&'static str, &'static str)| {
        pooled
            .get(status(second))
            .basic_auth(who.0, Some(who.1))
            .send()
    };
    assert_eq!(
        ask(("admin", "changed")).await.unwrap().status(),
        StatusCode::OK
    );
    reload_with(
        &sb,
        &format!("set httpd port {second}\nallow viewer:look read-only"),
    );
    assert_eq!(
        get(&status(second), changed).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = ask(("admin", "changed")).await.map(|r| r.status());
    assert!(
        !matches!(again, Ok(StatusCode::OK)),
        "the old rules still answer on an old connection"
    );
    let viewer = Some(("viewer", "look"));
    assert_eq!(get(&status(second), viewer).await.status(), StatusCode::OK);
    let act = post_api(second, "validate", ("viewer", "look")).await;
    assert_eq!(act.status(), StatusCode::FORBIDDEN);

    // No `set httpd port`: the interface goes; back in the file: it comes back.
    reload_with(&sb, "");
    assert!(!answers(second), "{}", sb.log());
    reload_with(&sb, &format!("set httpd port {first}\nallow admin:secret"));
    assert_eq!(get(&status(first), admin).await.status(), StatusCode::OK);
    let log = sb.log();
    for closed in [first, second] {
        let said = format!("web interface on 127.0.0.1:{closed} closed");
        assert!(log.contains(&said), "{said:?} not in\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_breaks_the_interface_is_an_error_and_the_daemon_runs_on() {
    let sb = Sandbox::new();
    let port = free_port();
    let mut w = daemon(&sb, port, "use address 127.0.0.1\nallow admin:secret", "");
    let httpd = |port: u16, more: &str| {
        format!("set httpd port {port} use address 127.0.0.1\n{more}\nallow admin:secret")
    };

    // A port someone else holds: an error, and the old port closed (the
    // old rules do not run on).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    reload_with(&sb, &httpd(busy, ""));
    let said = format!("cannot listen on 127.0.0.1:{busy} for the web interface");
    assert!(sb.log().contains(&said), "{said:?} not in\n{}", sb.log());
    assert!(!answers(port), "{}", sb.log());

    // A certificate that is none: an error, nothing listens.
    std::fs::write(sb.path("junk.pem"), "not a certificate\n").unwrap();
    let ssl = format!("with ssl {{ pemfile: {} }}", sb.path("junk.pem").display());
    reload_with(&sb, &httpd(port, &ssl));
    let said = format!("the web interface on port {port} is not started: no certificate in");
    assert!(sb.log().contains(&said), "{said:?} not in\n{}", sb.log());
    assert!(!answers(port), "{}", sb.log());

    // The daemon runs on; a good file brings the interface back.
    assert!(matches!(w.child.try_wait(), Ok(None)), "{}", sb.log());
    reload_with(&sb, &httpd(port, ""));
    let url = format!("http://127.0.0.1:{port}/api/v1/status");
    assert_eq!(
        get(&url, Some(("admin", "secret"))).await.status(),
        StatusCode::OK
    );
    drop(taken);
}
