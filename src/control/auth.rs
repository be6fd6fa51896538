//! Monit's `allow` rules for the TCP control interface: which client
//! addresses may connect (hosts, addresses, networks) and which users may
//! log in with HTTP basic auth, read-only or not. Built once from the
//! config; every request is judged by [`Access::judge`].

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ipnet::IpNet;
use warden_config::model::{Allow, ClientHost, Digest, Httpd};

use super::secret::same_secret;

/// The client address of a TCP connection, put on each request by the server.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// Who is asking, once let in; handlers read it to show or hide actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user: Option<String>,
    pub read_only: bool,
}

/// Whether the network lets `ip` in; an IPv4 client seen as IPv6
/// (`::ffff:127.0.0.1`) is judged as IPv4.
fn allows(net: &IpNet, ip: IpAddr) -> bool {
    net.contains(&ip.to_canonical())
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Credential {
    user: String,
    password: String,
    read_only: bool,
}

/// What a request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed(Viewer),
    /// 401: credentials missing or wrong.
    Unauthorized(&'static str),
    /// 403: the client address is not allowed, or a read-only user acts.
    Forbidden(&'static str),
}

/// The allow rules, resolved: networks and host names turned to addresses.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// None: no host rule, every client address may connect.
    nets: Option<Vec<IpNet>>,
    users: Vec<Credential>,
    /// Credentials were configured (even if none could be loaded): auth is on.
    auth: bool,
    read_only: bool,
}

impl Access {
    /// Builds the rules; host names are resolved now, as Monit does. What
    /// cannot be used (a name that does not resolve, `@group`, a hashed
    /// htpasswd file) is one warning line each and lets nobody in.
    pub async fn from_config(httpd: &Httpd) -> Access {
        let mut access = Access {
            read_only: httpd.read_only,
            ..Access::default()
        };
        for rule in &httpd.allow {
            match rule {
                Allow::Host { host } => {
                    let nets = access.nets.get_or_insert_with(Vec::new);
                    nets.extend(resolve(host).await);
                }
                Allow::User {
                    user,
                    password,
                    read_only,
                } => {
                    access.auth = true;
                    access.users.push(Credential {
                        user: user.clone(),
                        password: password.clone(),
                        read_only: *read_only,
                    });
                }
                Allow::Group { group, .. } => {
                    access.auth = true;
                    tracing::warn!(
                        "allow @{group}: system groups (PAM) are not supported yet; nobody logs in through it"
                    );
                }
                Allow::Htpasswd {
                    path,
                    digest,
                    users,
                    read_only,
                } => {
                    access.auth = true;
                    access
                        .users
                        .extend(htpasswd(path, *digest, users, *read_only));
                }
            }
        }
        access
    }

    /// Judges one request from `peer` carrying `authorization` (the header).
    pub fn judge(&self, peer: IpAddr, authorization: Option<&str>, acts: bool) -> Verdict {
        if let Some(nets) = &self.nets
            && !nets.iter().any(|n| allows(n, peer))
        {
            return Verdict::Forbidden("client address not allowed");
        }
        let viewer = if self.auth {
            let Some((user, password)) = authorization.and_then(basic) else {
                return Verdict::Unauthorized("no credentials");
            };
            let Some(c) = self
                .users
                .iter()
                .find(|c| c.user == user && same_secret(&c.password, &password))
            else {
                return Verdict::Unauthorized("wrong user or password");
            };
            Viewer {
                user: Some(user),
                read_only: c.read_only || self.read_only,
            }
        } else {
            Viewer {
                user: None,
                read_only: self.read_only,
            }
        };
        if acts && viewer.read_only {
            return Verdict::Forbidden("read-only user cannot act");
        }
        Verdict::Allowed(viewer)
    }
}

/// A host rule: a network, or a name resolved to all its addresses.
async fn resolve(host: &ClientHost) -> Vec<IpNet> {
    let host = match host {
        ClientHost::Network { net, .. } => return vec![*net],
        ClientHost::Name(name) => name.as_str(),
    };
    match tokio::net::lookup_host((host, 0)).await {
        Ok(addrs) => addrs.map(|a| IpNet::from(a.ip())).collect(),
        Err(e) => {
            tracing::warn!("allow {host}: cannot resolve the name ({e}); it lets nobody in");
            Vec::new()
        }
    }
}

/// Users of a cleartext htpasswd file (`user:password` lines), all of them
/// or the ones named.
fn htpasswd(path: &std::path::Path, digest: Digest, only: &[String], ro: bool) -> Vec<Credential> {
    if digest != Digest::Cleartext {
        tracing::warn!(
            "allow {digest:?} {}: hashed htpasswd files are not supported yet; nobody logs in through it",
            path.display()
        );
        return Vec::new();
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("allow {}: cannot read it ({e})", path.display());
            return Vec::new();
        }
    };
    text.lines()
        .filter_map(|l| l.trim().split_once(':'))
        .filter(|(u, _)| !u.starts_with('#') && (only.is_empty() || only.iter().any(|o| o == u)))
        .map(|(u, p)| Credential {
            user: u.to_string(),
            password: p.to_string(),
            read_only: ro,
        })
        .collect()
}

/// `Basic dXNlcjpwYXNz` -> ("user", "pass").
fn basic(header: &str) -> Option<(String, String)> {
    let (scheme, b64) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// The paths of Monit's protocol (`control::monit`) that only read, whatever
/// the method: the CLI asks for status with a POST, and read-only users
/// may do that.
pub fn only_reads(path: &str) -> bool {
    matches!(
        path,
        "/_status" | "/_summary" | "/_report" | "/_runtime" | "/_viewlog"
    )
}

/// The middleware: judges each request, logs and refuses, or lets it
/// through with a [`Viewer`]. Anything but GET/HEAD counts as acting,
/// but for Monit's status pages, which its CLI asks for with a POST.
pub async fn guard(State(access): State<Arc<Access>>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<Peer>().map(|p| p.0);
    let ip = peer.map_or(IpAddr::from([127, 0, 0, 1]), |p| p.ip());
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let acts =
        !matches!(*req.method(), Method::GET | Method::HEAD) && !only_reads(req.uri().path());
    let who = peer.map_or_else(|| "unknown".to_string(), |p| p.to_string());
    match access.judge(ip, authorization, acts) {
        Verdict::Allowed(viewer) => {
            req.extensions_mut().insert(viewer);
            next.run(req).await
        }
        Verdict::Unauthorized(why) => {
            tracing::warn!(
                "control: refused {} {} from {who}: {why}",
                req.method(),
                req.uri().path()
            );
            let mut res = (StatusCode::UNAUTHORIZED, "authentication required\n").into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"warden\""),
            );
            res
        }
        Verdict::Forbidden(why) => {
            tracing::warn!(
                "control: refused {} {} from {who}: {why}",
                req.method(),
                req.uri().path()
            );
            (StatusCode::FORBIDDEN, format!("forbidden: {why}\n")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_config::lower::settings::values::check_network;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The network the config makes of `text`; None for a name or an error.
    fn net(text: &str) -> Option<IpNet> {
        match check_network(text) {
            Ok(ClientHost::Network { net, .. }) => Some(net),
            _ => None,
        }
    }

    fn host(text: &str) -> Allow {
        Allow::Host {
            host: check_network(text).unwrap(),
        }
    }

    #[test]
    fn networks_contain_the_addresses_they_should() {
        let table = [
            ("10.0.0.0/8", "10.200.3.4", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.0/255.255.255.0", "192.168.1.77", true),
            ("192.168.1.0/255.255.255.0", "192.168.2.1", false),
            ("0.0.0.0/0.0.0.0", "203.0.113.9", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("127.0.0.1", "::ffff:127.0.0.1", true),
            ("::1", "::1", true),
            ("::1", "127.0.0.1", false),
            ("2001:db8::/32", "2001:db8:1::5", true),
        ];
        for (net, addr, want) in table {
            let n = self::net(net).unwrap();
            assert_eq!(allows(&n, ip(addr)), want, "{net} contains {addr}");
        }
    }

    #[test]
    fn host_names_and_broken_masks_are_not_networks() {
        for text in ["localhost", "10.0.0.0/33", "10.0.0.0/255.0.255.0", "x/8"] {
            assert_eq!(net(text), None, "{text}");
        }
    }

    fn access(rules: Vec<Allow>) -> Access {
        let httpd = Httpd {
            allow: rules,
            ..Httpd::default()
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(Access::from_config(&httpd))
    }

    fn user(u: &str, p: &str, read_only: bool) -> Allow {
        Allow::User {
            user: u.into(),
            password: p.into(),
            read_only,
        }
    }

    fn auth(u: &str, p: &str) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        format!("Basic {b64}")
    }

    #[test]
    fn credentials_are_required_once_a_user_is_allowed() {
        let a = access(vec![user("admin", "secret", false), user("ro", "pw", true)]);
        let local = ip("127.0.0.1");
        let table = [
            (None, false, Verdict::Unauthorized("no credentials")),
            (
                Some(auth("admin", "nope")),
                false,
                Verdict::Unauthorized("wrong user or password"),
            ),
            (
                Some("Bearer x".to_string()),
                false,
                Verdict::Unauthorized("no credentials"),
            ),
            (
                Some(auth("ro", "pw")),
                true,
                Verdict::Forbidden("read-only user cannot act"),
            ),
        ];
        for (header, acts, want) in table {
            assert_eq!(a.judge(local, header.as_deref(), acts), want, "{header:?}");
        }
        let ok = a.judge(local, Some(&auth("admin", "secret")), true);
        assert_eq!(
            ok,
            Verdict::Allowed(Viewer {
                user: Some("admin".into()),
                read_only: false
            })
        );
    }

    #[test]
    fn a_host_rule_keeps_out_every_other_address() {
        let a = access(vec![host("10.0.0.0/8")]);
        assert_eq!(
            a.judge(ip("127.0.0.1"), None, false),
            Verdict::Forbidden("client address not allowed")
        );
        assert!(matches!(
            a.judge(ip("10.1.2.3"), None, true),
            Verdict::Allowed(_)
        ));
    }

    #[test]
    fn without_rules_everyone_may_look_and_act_unless_read_only() {
        assert!(matches!(
            access(vec![]).judge(ip("::1"), None, true),
            Verdict::Allowed(_)
        ));
        let mut ro = access(vec![]);
        ro.read_only = true;
        assert_eq!(
            ro.judge(ip("::1"), None, true),
            Verdict::Forbidden("read-only user cannot act")
        );
    }

    #[test]
    fn a_group_rule_turns_auth_on_but_lets_nobody_in() {
        let a = access(vec![Allow::Group {
            group: "monit".into(),
            read_only: false,
        }]);
        assert_eq!(
            a.judge(ip("127.0.0.1"), Some(&auth("root", "x")), false),
            Verdict::Unauthorized("wrong user or password")
        );
    }

    #[test]
    fn cleartext_htpasswd_users_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "john:beatle\n# x:y\npaul:bass\n").unwrap();
        let users = htpasswd(&path, Digest::Cleartext, &["john".to_string()], false);
        assert_eq!(
            users.iter().map(|c| c.user.as_str()).collect::<Vec<_>>(),
            ["john"]
        );
        assert!(htpasswd(&path, Digest::Md5, &[], false).is_empty());
    }

    #[test]
    fn localhost_resolves_to_a_loopback_address() {
        let a = access(vec![host("localhost")]);
        assert!(matches!(
            a.judge(ip("127.0.0.1"), None, false),
            Verdict::Allowed(_)
        ));
    }

    #[test]
    fn only_status_pages_read_on_a_post() {
        assert!(only_reads("/_status"));
        assert!(only_reads("/_report"));
        assert!(!only_reads("/_doaction"));
        assert!(!only_reads("/web"));
    }
}
