//! End to end: Monit's own clients against the real Warden daemon, over
//! Monit's HTTP protocol. Debian's `monit` CLI (5.33) on the same control
//! file (TCP with basic auth, and the Unix socket), PyPI's `monit` package
//! and Ansible's `community.general.monit` module (both from the
//! virtualenv `scripts/setup` makes in target/monit-clients), and the
//! protocol's guards (Monit's double-submit CSRF token, read-only users).
//! Where Monit's own answer is the reference (errors, exit codes), the same
//! command also runs against Debian's `monit` daemon on the same file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the test's panic

mod util;

use std::path::{Path, PathBuf};
use std::time::Duration;

use util::{CliOutput, Sandbox, alive, answers, free_port, wait_until};

const LIMIT: Duration = Duration::from_secs(20);
const MONIT: &str = "/usr/bin/monit";

/// Two services of one group that Warden starts and stops, and a file.
fn checks(sb: &Sandbox) -> String {
    let mut text = String::new();
    for name in ["web", "api"] {
        let pid = sb.pidfile(name);
        text.push_str(&format!(
            "check process {name} with pidfile {pid}\n  start program = \"{start}\" with timeout 10 seconds\n  \
             stop program = \"/bin/sh -c 'kill -9 $(cat {pid})'\"\n  group www\n",
            pid = pid.display(),
            start = sb.service_cmd(name, free_port(), "serve"),
        ));
    }
    text.push_str("check file conf with path {dir}/wardenrc\n");
    text
}

/// Writes the control file with `httpd` and starts Warden; waits until
/// both services run and every check was probed.
fn daemon(sb: &Sandbox, httpd: &str) -> util::Warden {
    sb.write_rc(&format!(
        "set daemon 1\nset pidfile {{dir}}/warden.pid\nset idfile {{dir}}/id\n{httpd}\n{}",
        checks(sb)
    ));
    let w = sb.warden();
    let up = wait_until(LIMIT, || {
        let all = sb.statuses();
        all.len() == 3 && all.iter().all(|s| s.status == "OK")
    });
    assert!(up, "services did not come up:\n{}", sb.log());
    w
}

/// Warden with Monit's interface on a free loopback port, user admin:pw.
fn on_loopback(sb: &Sandbox) -> (util::Warden, u16) {
    let port = free_port();
    let w = daemon(
        sb,
        &format!("set httpd port {port} use address 127.0.0.1 allow admin:pw"),
    );
    (w, port)
}

/// Everything a command printed.
fn all(out: &CliOutput) -> String {
    format!("{}{}", out.stdout, out.stderr)
}

/// Runs a command with the sandbox as HOME, Ansible's files in the
/// sandbox, and `path` (when given) first on PATH.
fn run(sb: &Sandbox, program: &str, args: &[&str], path: Option<&Path>) -> CliOutput {
    let mut argv = vec![
        format!("ANSIBLE_LOCAL_TEMP={}", sb.path("ansible-tmp").display()),
        format!("ANSIBLE_HOME={}", sb.path("ansible-home").display()),
    ];
    if let Some(dir) = path {
        let system = std::env::var("PATH").unwrap_or_default();
        argv.push(format!("PATH={}:{system}", dir.display()));
    }
    argv.push(program.to_string());
    argv.extend(args.iter().map(|a| a.to_string()));
    sb.run(Path::new("/usr/bin/env"), &argv, None)
}

/// Debian's `monit -c RC ARGS...`.
fn monit(sb: &Sandbox, args: &[&str]) -> CliOutput {
    let rc = sb.rc.display().to_string();
    let mut all = vec!["-c", rc.as_str()];
    all.extend_from_slice(args);
    run(sb, MONIT, &all, None)
}

fn status_words(sb: &Sandbox, name: &str) -> String {
    sb.status_of(name).map(|s| s.status).unwrap_or_default()
}

/// A new pid in the pidfile that is alive and not `old`.
fn restarted(sb: &Sandbox, name: &str, old: i32) -> bool {
    wait_until(LIMIT, || {
        sb.pid(name).is_some_and(|p| p != old && alive(p)) && status_words(sb, name) == "OK"
    })
}

#[test]
fn debian_monit_cli_reads_and_acts_through_the_tcp_interface() {
    let sb = Sandbox::new();
    let (w, port) = on_loopback(&sb);

    let status = monit(&sb, &["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status.stdout.starts_with("Monit 5.33.0 uptime: "),
        "{status:?}"
    );
    assert!(status.stdout.contains("Process 'web'"), "{status:?}");
    assert!(status.stdout.contains("File 'conf'"), "{status:?}");
    assert!(
        status
            .stdout
            .contains("\n  status                       OK\n"),
        "{status:?}"
    );
    let one = monit(&sb, &["status", "api"]);
    assert!(one.stdout.contains("Process 'api'") && !one.stdout.contains("'web'"));
    let summary = monit(&sb, &["summary"]);
    assert_eq!(summary.code, 0);
    let rows: Vec<&str> = summary.stdout.lines().skip(2).collect();
    assert_eq!(rows.len(), 3, "{summary:?}");
    assert!(
        rows.iter()
            .any(|r| r.trim_start().starts_with("web ") && r.contains("OK"))
    );
    let group = monit(&sb, &["-g", "www", "summary"]);
    assert_eq!(group.stdout.lines().skip(2).count(), 2, "{group:?}");
    let report = monit(&sb, &["report"]);
    assert!(
        report.stdout.contains("total:          3 services"),
        "{report:?}"
    );
    assert_eq!(monit(&sb, &["report", "up"]).stdout.trim(), "3");

    // Actions: the CLI prints nothing and exits 0 once Warden answered.
    let old = sb.pid("web").unwrap();
    let restart = monit(&sb, &["restart", "web"]);
    assert_eq!(
        (restart.code, all(&restart).as_str()),
        (0, ""),
        "{restart:?}"
    );
    assert!(restarted(&sb, "web", old), "{}", sb.log());

    let stop = monit(&sb, &["stop", "web"]);
    assert_eq!(stop.code, 0, "{stop:?}");
    let pid = sb.pid("web").unwrap();
    assert!(wait_until(LIMIT, || !alive(pid)));
    assert_eq!(status_words(&sb, "web"), "Not monitored");
    assert!(monit(&sb, &["start", "web"]).code == 0);
    assert!(restarted(&sb, "web", pid), "{}", sb.log());

    let (web, api) = (sb.pid("web").unwrap(), sb.pid("api").unwrap());
    assert_eq!(monit(&sb, &["-g", "www", "stop"]).code, 0);
    assert!(wait_until(LIMIT, || !alive(web) && !alive(api)));
    assert_eq!(monit(&sb, &["-g", "www", "start"]).code, 0);
    assert!(restarted(&sb, "web", web) && restarted(&sb, "api", api));

    // `all` names every service of the file, and the host's implicit
    // system service, which Warden does not have: it is skipped.
    assert_eq!(monit(&sb, &["unmonitor", "all"]).code, 0);
    assert!(sb.statuses().iter().all(|s| s.status == "Not monitored"));
    assert_eq!(monit(&sb, &["monitor", "all"]).code, 0);
    assert!(wait_until(LIMIT, || sb
        .statuses()
        .iter()
        .all(|s| s.status == "OK")));

    // `validate` and `reload` signal the daemon's pid (SIGUSR1, SIGHUP):
    // Warden checks everything now, reloads, and runs on.
    monit(&sb, &["validate"]);
    monit(&sb, &["reload"]);
    assert!(wait_until(LIMIT, || sb.log_count("SIGUSR1") > 0));
    assert!(wait_until(LIMIT, || answers(port)));
    assert_eq!(monit(&sb, &["summary"]).code, 0);
    assert!(alive(w.pid()));
    let quit = monit(&sb, &["quit"]);
    assert_eq!(quit.code, 0, "{quit:?}");
    assert!(
        wait_until(LIMIT, || !alive(w.pid())),
        "quit did not stop Warden"
    );
}

/// Runs the same commands against Debian's `monit` daemon and Warden, on
/// the same control file: errors, words and exit codes must agree.
#[test]
fn monit_cli_errors_and_exit_codes_agree_with_monit() {
    let sb = Sandbox::new();
    let port = free_port();
    let httpd = format!("set httpd port {port} use address 127.0.0.1 allow admin:pw");
    let cases: [&[&str]; 5] = [
        &["restart", "nosuch"],
        &["status", "nosuch"],
        &["summary", "nosuch"],
        &["monitor", "conf"],
        &["unmonitor", "conf"],
    ];
    let collect = |sb: &Sandbox| -> Vec<(i32, String)> {
        cases
            .iter()
            .map(|args| {
                let r = monit(sb, args);
                (r.code, all(&r).trim().to_string())
            })
            .collect()
    };
    let w = daemon(&sb, &httpd);
    let from_warden = collect(&sb);
    drop(w);
    assert!(wait_until(LIMIT, || !answers(port)));

    // Monit on the same file, its own state in the folder.
    sb.write_rc(&format!(
        "set daemon 1\nset pidfile {{dir}}/monit.pid\nset idfile {{dir}}/id\nset statefile {{dir}}/monit.state\n{httpd}\n{}",
        checks(&sb)
    ));
    let started = monit(&sb, &[]);
    assert_eq!(started.code, 0, "{started:?}");
    let _stop = MonitGuard(sb.path("monit.pid"));
    // Monit counts its implicit system service too.
    assert!(wait_until(LIMIT, || monit(&sb, &["report", "up"])
        .stdout
        .trim()
        == "4"));
    let from_monit = collect(&sb);
    for ((args, w), m) in cases.iter().zip(&from_warden).zip(&from_monit) {
        assert_eq!(
            w, m,
            "monit {args:?}: Warden (left) and Monit (right) differ"
        );
    }
}

/// Stops a Monit daemon by its pidfile when the test ends.
struct MonitGuard(PathBuf);

impl Drop for MonitGuard {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            util::kill(pid, rustix::process::Signal::TERM);
            wait_until(Duration::from_secs(5), || !alive(pid));
        }
    }
}

#[test]
fn debian_monit_cli_talks_over_the_unix_socket() {
    let sb = Sandbox::new();
    let _w = daemon(
        &sb,
        "set httpd unixsocket {dir}/control.sock allow admin:pw",
    );
    let summary = monit(&sb, &["summary"]);
    assert_eq!(summary.code, 0, "{summary:?}");
    assert!(summary.stdout.contains(" web "), "{summary:?}");
    let old = sb.pid("api").unwrap();
    let restart = monit(&sb, &["restart", "api"]);
    assert_eq!(restart.code, 0, "{restart:?}");
    assert!(restarted(&sb, "api", old), "{}", sb.log());
}

/// One HTTP request with reqwest on a runtime of its own: status, the
/// `securitytoken` cookie set, and the body.
fn http(
    method: reqwest::Method,
    url: &str,
    user: Option<(&str, &str)>,
    body: Option<&str>,
    cookie: Option<&str>,
) -> (u16, Option<String>, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(LIMIT)
            .build()
            .unwrap();
        let mut req = client.request(method, url);
        if let Some((u, p)) = user {
            req = req.basic_auth(u, Some(p));
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(b.to_string());
        }
        if let Some(c) = cookie {
            req = req.header("Cookie", format!("securitytoken={c}"));
        }
        let res = req.send().await.unwrap();
        let token = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("securitytoken="))
            .and_then(|v| v.split(';').next())
            .map(str::to_string);
        let code = res.status().as_u16();
        let server = res.headers().get("server").and_then(|v| v.to_str().ok());
        assert!(
            server.is_some_and(|v| v.starts_with("warden ")),
            "Server header: {server:?}"
        );
        (code, token, res.text().await.unwrap())
    })
}

/// `GET` on the loopback interface: status, token cookie, body.
fn get(port: u16, user: Option<(&str, &str)>, path: &str) -> (u16, Option<String>, String) {
    let url = format!("http://127.0.0.1:{port}{path}");
    http(reqwest::Method::GET, &url, user, None, None)
}

/// A form `POST` with a `securitytoken` cookie when given: status, body.
fn post(
    port: u16,
    user: (&str, &str),
    path: &str,
    body: &str,
    cookie: Option<&str>,
) -> (u16, String) {
    let url = format!("http://127.0.0.1:{port}{path}");
    let (code, _, text) = http(reqwest::Method::POST, &url, Some(user), Some(body), cookie);
    (code, text)
}

#[test]
fn the_protocol_wants_the_csrf_pair_and_refuses_read_only_users_who_act() {
    let sb = Sandbox::new();
    let port = free_port();
    let _w = daemon(
        &sb,
        &format!(
            "set httpd port {port} use address 127.0.0.1 allow admin:pw allow guest:look read-only"
        ),
    );
    let post = |user: &str, pw: &str, path: &str, body: &str, cookie: Option<&str>| {
        post(port, (user, pw), path, body, cookie)
    };
    let get = |user: Option<(&str, &str)>, path: &str| get(port, user, path);
    let old = sb.pid("web").unwrap();
    // No cookie, a cookie that differs, an empty pair: refused as Monit does.
    for (body, cookie) in [
        ("action=restart&service=web&securitytoken=abc", None),
        ("action=restart&service=web&securitytoken=abc", Some("abd")),
        ("action=restart&service=web&securitytoken=", Some("")),
    ] {
        let (code, text) = post("admin", "pw", "/_doaction", body, cookie);
        assert_eq!(code, 403, "{body} {cookie:?}: {text}");
        assert!(text.contains("Invalid CSRF Token"), "{text}");
    }
    assert_eq!(sb.pid("web"), Some(old), "a refused action ran");
    // A read-only user reads with a POST, as the CLI asks, but never acts.
    let (code, text) = post(
        "guest",
        "look",
        "/_status",
        "format=text&securitytoken=t1",
        Some("t1"),
    );
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("Process 'web'"), "{text}");
    let (code, _) = post(
        "guest",
        "look",
        "/_doaction",
        "action=stop&service=web&securitytoken=t1",
        Some("t1"),
    );
    assert_eq!(code, 403);
    assert_eq!(sb.pid("web"), Some(old), "a read-only user acted");
    // Without credentials: 401 and nothing shown.
    assert_eq!(get(None, "/_status?format=xml").0, 401);
    // An unknown action or service: Monit's 400 page with its words.
    let (code, text) = post(
        "admin",
        "pw",
        "/_doaction",
        "action=explode&service=web&securitytoken=t",
        Some("t"),
    );
    assert_eq!(code, 400, "{text}");
    // The service page: admins get a form carrying the token of the
    // answer's own cookie; POSTing it acts and comes back to the page.
    let (code, cookie, page) = get(Some(("admin", "pw")), "/web");
    assert_eq!(code, 200);
    let cookie = cookie.expect("a securitytoken cookie");
    assert!(page.contains(&format!("value=\"{cookie}\"")), "{page}");
    assert!(page.contains("<button name=\"action\" value=\"restart\">"));
    let (code, _) = post(
        "admin",
        "pw",
        "/web",
        &format!("action=restart&securitytoken={cookie}"),
        Some(&cookie),
    );
    assert_eq!(code, 303);
    assert!(restarted(&sb, "web", old), "{}", sb.log());
    let (_, _, guest_page) = get(Some(("guest", "look")), "/web");
    assert!(guest_page.contains("Process &#39;web&#39;") || guest_page.contains("Process 'web'"));
    assert!(
        !guest_page.contains("<button"),
        "read-only users get no buttons"
    );
}

/// The virtualenv of Monit's Python clients (`scripts/setup` makes it).
fn clients() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/monit-clients/bin");
    assert!(
        dir.join("ansible").exists(),
        "{} is missing: run scripts/setup",
        dir.display()
    );
    dir
}

/// PyPI's `monit` 0.5 reads `/_status?format=xml` and acts by POSTing
/// `action=` to `/NAME` with the token of its session's cookie. Its module
/// ends in a Python 2 `print` statement, so it is loaded without its
/// `__main__` block; the rest runs unchanged.
const PY_MONIT: &str = r#"
import sys, importlib.util
spec = importlib.util.find_spec("monit")
source = open(spec.origin).read().split("if __name__ ==")[0]
mod = type(sys)("monit"); exec(compile(source, spec.origin, "exec"), mod.__dict__)
port, step = int(sys.argv[1]), sys.argv[2]
mon = mod.Monit(host="127.0.0.1", port=port, username="admin", password="pw")
names = sorted(k for k in mon if k != "platform")
if step == "list":
    for n in names:
        s = mon[n]
        print(n, s.type, s.running, s.monitored)
    print("platform", mon["platform"].name, mon["platform"].cpu)
else:
    getattr(mon["web"], step)()
    print("web", mon["web"].running, mon["web"].monitored)
"#;

#[test]
fn pypi_monit_package_reads_and_acts() {
    let bin = clients();
    let sb = Sandbox::new();
    let (_w, port) = on_loopback(&sb);
    let script = sb.path("client.py");
    std::fs::write(&script, PY_MONIT).unwrap();
    let python = bin.join("python").display().to_string();
    let py = |step: &str| {
        let r = run(
            &sb,
            &python,
            &[&script.display().to_string(), &port.to_string(), step],
            None,
        );
        assert_eq!(r.code, 0, "{step}: {r:?}");
        r.stdout
    };
    let listed = py("list");
    assert!(listed.contains("web process True True"), "{listed}");
    assert!(listed.contains("conf file False True"), "{listed}");
    assert!(listed.contains("platform Linux "), "{listed}");

    let old = sb.pid("web").unwrap();
    assert!(py("restart").starts_with("web True True"));
    assert!(restarted(&sb, "web", old));
    let pid = sb.pid("web").unwrap();
    assert!(py("stop").starts_with("web False False"));
    assert!(!alive(pid));
    assert!(py("start").starts_with("web True True"));
    assert!(restarted(&sb, "web", pid));
    // Not monitored: no figures, so no pid in the document (as Monit).
    assert!(py("unmonitor").contains("web False False"));
    assert!(py("monitor").contains("web True True"));
}

/// Ansible's module runs `monit` from PATH without `-c`: a two-line
/// `monit` there runs Debian's CLI on the test's file.
#[test]
fn ansible_monit_module_changes_state_through_warden() {
    let bin = clients();
    let sb = Sandbox::new();
    let (_w, _) = on_loopback(&sb);
    let shim = sb.path("bin");
    std::fs::create_dir_all(&shim).unwrap();
    let wrapper = shim.join("monit");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec {MONIT} -c {} \"$@\"\n", sb.rc.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ansible = bin.join("ansible").display().to_string();
    let module = |state: &str| {
        let args = format!("name=web state={state} timeout=30");
        let r = run(
            &sb,
            &ansible,
            &["localhost", "-m", "community.general.monit", "-a", &args],
            Some(&shim),
        );
        (r.code, all(&r))
    };
    let pid = sb.pid("web").unwrap();
    let (code, out) = module("stopped");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"changed\": true"), "{out}");
    assert!(!alive(pid));
    let (code, out) = module("started");
    assert!(code == 0 && out.contains("\"changed\": true"), "{out}");
    assert!(restarted(&sb, "web", pid));
    let (code, out) = module("unmonitored");
    assert!(code == 0 && out.contains("\"changed\": true"), "{out}");
    assert_eq!(status_words(&sb, "web"), "Not monitored");
    let (code, out) = module("monitored");
    assert!(code == 0 && out.contains("\"changed\": true"), "{out}");
    assert!(wait_until(LIMIT, || status_words(&sb, "web") == "OK"));
}

#[test]
fn debian_monit_cli_talks_over_tls() {
    let sb = Sandbox::new();
    let port = free_port();
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let pem = sb.path("warden.pem");
    std::fs::write(
        &pem,
        format!("{}{}", made.cert.pem(), made.signing_key.serialize_pem()),
    )
    .unwrap();
    std::fs::set_permissions(&pem, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let _w = daemon(
        &sb,
        &format!(
            "set httpd port {port} use address 127.0.0.1\n  with ssl {{ pemfile: {}, selfsigned: allow }}\n  allow admin:pw",
            pem.display()
        ),
    );
    let summary = monit(&sb, &["summary"]);
    assert_eq!(summary.code, 0, "{summary:?}");
    assert!(summary.stdout.contains(" api "), "{summary:?}");
    let old = sb.pid("web").unwrap();
    assert_eq!(monit(&sb, &["restart", "web"]).code, 0);
    assert!(restarted(&sb, "web", old), "{}", sb.log());
}

#[test]
fn runtime_and_log_pages_show_the_daemon() {
    let sb = Sandbox::new();
    let port = free_port();
    let _w = daemon(
        &sb,
        &format!(
            "set logfile {{dir}}/daemon.log\nset httpd port {port} use address 127.0.0.1 allow admin:pw"
        ),
    );
    let get = |path: &str| get(port, Some(("admin", "pw")), path);
    let (code, _, runtime) = get("/_runtime");
    assert_eq!(code, 200);
    assert!(runtime.contains(&sb.rc.display().to_string()), "{runtime}");
    assert!(runtime.contains("Poll time</td><td>1 seconds"), "{runtime}");
    let (code, _, log) = get("/_viewlog");
    assert_eq!(code, 200);
    assert!(log.contains("Warden daemon with pid"), "{log}");
}
