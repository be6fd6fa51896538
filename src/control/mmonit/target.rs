//! The `set mmonit` URLs as Warden posts to them: each URL split into
//! where to post, the basic auth it carries and its timeout; one POST with
//! Monit's headers; a failure logged once per outage; the credentials
//! M/Monit calls back with; the local address Monit names for the httpd.

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use warden_config::Config;
use warden_config::model::Allow;

/// Monit's timeout for M/Monit when the file sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// One `set mmonit` URL, ready to post to.
#[derive(Debug)]
pub struct Target {
    /// The URL without its credentials.
    url: reqwest::Url,
    auth: Option<(String, String)>,
    /// `with timeout N seconds` after this URL, else 5 s.
    timeout: Duration,
    /// Whether the last post failed: a failure is logged once per outage.
    down: std::sync::atomic::AtomicBool,
}

/// The targets of one configuration, with the client that posts to them.
#[derive(Debug)]
pub struct Targets {
    pub config: Arc<Config>,
    pub list: Vec<Target>,
    /// Built at the first post: a client initialises TLS and reads the
    /// system's root certificates (about 0.1 MB of heap and their parsing
    /// code resident), which a daemon without `set mmonit` never needs.
    client: std::sync::OnceLock<reqwest::Client>,
    /// The address toward the first URL, found once.
    local_ip: tokio::sync::OnceCell<Option<String>>,
}

impl Targets {
    pub async fn local_ip(&self) -> Option<String> {
        let first = self.list.first()?;
        self.local_ip
            .get_or_init(|| local_ip(first, first.timeout))
            .await
            .clone()
    }
}

/// Posts `body` to every target; true when one of them accepted it.
pub async fn post_all(targets: &Targets, body: &str, what: &str) -> bool {
    let mut accepted = false;
    if targets.list.is_empty() {
        return false;
    }
    let client = targets.client.get_or_init(client);
    for t in &targets.list {
        accepted |= post(client, t, body, what).await;
    }
    accepted
}

/// One POST; a failure is logged once until the collector answers again.
async fn post(client: &reqwest::Client, t: &Target, body: &str, what: &str) -> bool {
    use std::sync::atomic::Ordering;
    let mut request = client
        .post(t.url.clone())
        .timeout(t.timeout)
        .header(reqwest::header::CONTENT_TYPE, "text/xml")
        .header(reqwest::header::PRAGMA, "no-cache")
        .header(reqwest::header::ACCEPT, "*/*")
        .body(body.to_string());
    if let Some((user, password)) = &t.auth {
        request = request.basic_auth(user, Some(password));
    }
    let outcome = match request.send().await {
        Ok(answer) if answer.status().as_u16() < 400 => Ok(()),
        Ok(answer) => Err(format!("it answered {}", answer.status())),
        Err(e) => Err(warden_notify::sink::chain(&e)),
    };
    match outcome {
        Ok(()) => {
            if t.down.swap(false, Ordering::Relaxed) {
                tracing::info!("M/Monit: {} takes messages again", t.url);
            }
            tracing::debug!("M/Monit: {what} message sent to {}", t.url);
            true
        }
        Err(why) => {
            if !t.down.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    "M/Monit: cannot send the {what} message to {}: {why} (said once until it answers again; events wait in the queue)",
                    t.url
                );
            } else {
                tracing::debug!("M/Monit: {what} message to {} failed: {why}", t.url);
            }
            false
        }
    }
}

/// The targets of `config` (none without `set mmonit`); a URL reqwest
/// cannot use is logged and skipped.
pub fn targets(config: Arc<Config>) -> Targets {
    let settings = &config.settings;
    let list = settings
        .mmonit
        .iter()
        .filter_map(|server| match target(&server.url) {
            Ok(mut t) => {
                t.timeout = server.timeout.unwrap_or(DEFAULT_TIMEOUT);
                Some(t)
            }
            Err(why) => {
                tracing::error!(
                    "M/Monit: cannot use the URL {}: {why}",
                    hide_password(&server.url)
                );
                None
            }
        })
        .collect();
    if !settings.mmonit.is_empty() {
        warn_without_callback(&config);
    }
    Targets {
        config: config.clone(),
        list,
        client: std::sync::OnceLock::new(),
        local_ip: tokio::sync::OnceCell::new(),
    }
}

/// The client that posts to M/Monit.
fn client() -> reqwest::Client {
    let user_agent = format!(
        "Monit/{} Warden/{}",
        super::super::MONIT_VERSION,
        env!("CARGO_PKG_VERSION")
    );
    // Each request carries its URL's timeout (connecting included).
    reqwest::Client::builder()
        .no_proxy()
        .user_agent(user_agent)
        .build()
        .unwrap_or_default()
}

/// A URL split into where to post and the basic auth it carries.
fn target(text: &str) -> Result<Target, String> {
    let mut url = reqwest::Url::parse(text).map_err(|e| e.to_string())?;
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let auth = (!url.username().is_empty()).then(|| {
        (
            decode(url.username()),
            decode(url.password().unwrap_or_default()),
        )
    });
    url.set_username("")
        .and_then(|()| url.set_password(None))
        .map_err(|()| "it has no host".to_string())?;
    Ok(Target {
        url,
        auth,
        timeout: DEFAULT_TIMEOUT,
        down: std::sync::atomic::AtomicBool::new(false),
    })
}

/// The URL as logs show it: the password replaced by `***`.
fn hide_password(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => text.split('@').next_back().unwrap_or(text).to_string(),
    }
}

/// The credentials M/Monit calls Warden's httpd back with: the first
/// `allow user:password` that is not read-only, as Monit picks them.
pub fn callback_credentials(config: &Config) -> Option<(&str, &str)> {
    let httpd = config.settings.httpd.as_ref()?;
    httpd.allow.iter().find_map(|a| match a {
        Allow::User {
            user,
            password,
            read_only: false,
        } => Some((user.as_str(), password.as_str())),
        _ => None,
    })
}

/// Monit's warnings: M/Monit cannot call back without an httpd, nor log
/// in without credentials.
fn warn_without_callback(config: &Config) {
    let settings = &config.settings;
    if settings.httpd.is_none() {
        tracing::warn!("M/Monit enabled but no httpd allowed -- add a 'set httpd' statement");
    } else if settings.mmonit_credentials && callback_credentials(config).is_none() {
        tracing::warn!(
            "M/Monit registration with credentials enabled, but no suitable credentials found -- add 'allow user:password' to 'set httpd'"
        );
    }
}

/// The local address a connection to `t` leaves from (no packet is sent:
/// a UDP socket's connect only picks the route); the name is resolved
/// within the post's timeout.
async fn local_ip(t: &Target, timeout: Duration) -> Option<String> {
    let host = t.url.host_str()?.trim_matches(['[', ']']).to_string();
    let port = t.url.port_or_known_default()?;
    let lookup = tokio::net::lookup_host((host.as_str(), port));
    let remote = tokio::time::timeout(timeout, lookup)
        .await
        .ok()?
        .ok()?
        .next()?;
    let any: std::net::SocketAddr = if remote.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(any).ok()?;
    socket.connect(remote).ok()?;
    Some(socket.local_addr().ok()?.ip().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_its_credentials_decoded_and_loses_them() {
        let t = target("http://monit:p%40ss@127.0.0.1:8080/collector").unwrap();
        assert_eq!(t.url.as_str(), "http://127.0.0.1:8080/collector");
        assert_eq!(t.auth, Some(("monit".into(), "p@ss".into())));
        let plain = target("https://[::1]/collector").unwrap();
        assert_eq!(plain.auth, None);
        assert!(target("not a url").is_err());
    }

    /// Without `set mmonit` nothing is posted, so no HTTP client (TLS and
    /// the system's root certificates) is ever made; with it, the first
    /// post makes one.
    #[tokio::test]
    async fn the_client_is_made_at_the_first_post_only() {
        let load = |text: &str| {
            let loaded = warden_config::load_text_without_includes(
                std::path::Path::new("/etc/monitrc"),
                text.to_string(),
            );
            Arc::new(loaded.config.expect("loads"))
        };
        let none = targets(load("check file f with path /etc/hosts\n"));
        assert!(!post_all(&none, "<monit/>", "status").await);
        assert!(none.client.get().is_none(), "a client without set mmonit");
        // Port 9 (discard) on loopback: refused at once, nothing listens.
        let one = targets(load(
            "set mmonit http://127.0.0.1:9/collector timeout 1 s\n\
             check file f with path /etc/hosts\n",
        ));
        assert!(one.client.get().is_none(), "made before the first post");
        assert!(!post_all(&one, "<monit/>", "status").await);
        assert!(one.client.get().is_some(), "no client after a post");
    }

    #[test]
    fn each_url_keeps_its_own_timeout_and_a_bad_one_is_skipped() {
        let text = "set mmonit http://a:1/c timeout 2 s, http://b:1/c, http://[::1/c\n\
                    check file f with path /etc/hosts\n";
        let loaded = warden_config::load_text_without_includes(
            std::path::Path::new("/etc/monitrc"),
            text.to_string(),
        );
        let config = Arc::new(loaded.config.expect("loads"));
        let t = targets(config);
        let got: Vec<_> = t.list.iter().map(|t| (t.url.as_str(), t.timeout)).collect();
        assert_eq!(
            got,
            [
                ("http://a:1/c", Duration::from_secs(2)),
                ("http://b:1/c", DEFAULT_TIMEOUT)
            ]
        );
    }

    #[test]
    fn logs_never_show_the_password() {
        assert_eq!(
            hide_password("http://monit:monit@10.0.0.1:8080/collector"),
            "http://monit:***@10.0.0.1:8080/collector"
        );
        assert_eq!(hide_password("http://10.0.0.1/c"), "http://10.0.0.1/c");
    }

    #[test]
    fn the_local_address_toward_loopback_is_loopback() {
        let t = target("http://127.0.0.1:9/collector").unwrap();
        let ip = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(local_ip(&t, Duration::from_secs(1)));
        assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    }
}
