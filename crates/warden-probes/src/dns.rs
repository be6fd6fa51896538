//! The `resolve` test (a Warden extension): a name resolves through
//! hickory-resolver, against the system's resolvers or a given server and
//! port, optionally to an expected address, within a timeout. A fresh
//! resolver per run, without cache, so every run really asks.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use warden_config::model::ResolveTest;

use crate::outcome::{Metric, Outcome, Status};
use crate::peer::DEFAULT_TIMEOUT;
use crate::unsupported::NotSupported;
use crate::{BoxFuture, Probe};

/// The DNS port when a server is given without one.
pub const DNS_PORT: u16 = 53;

/// Why a name did not resolve as the rule wants.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    // hickory's errors are large: boxed, so a Result stays small.
    #[error("cannot read the system's resolver settings: {0}")]
    SystemConfig(#[source] Box<NetError>),
    #[error("cannot set up the resolver: {0}")]
    Setup(#[source] Box<NetError>),
    #[error("timed out resolving {name}{}", By(*.server))]
    Timeout {
        name: String,
        server: Option<SocketAddr>,
    },
    #[error("cannot resolve {name}{}: {source}", By(*.server))]
    Lookup {
        name: String,
        server: Option<SocketAddr>,
        source: Box<NetError>,
    },
    #[error("{name} resolves to {}{}, not {want}", List(.found), By(*.server))]
    Elsewhere {
        name: String,
        found: Vec<IpAddr>,
        server: Option<SocketAddr>,
        want: IpAddr,
    },
}

/// " by SERVER", or nothing for the system's resolvers.
struct By(Option<SocketAddr>);

impl std::fmt::Display for By {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(addr) => write!(f, " by {addr}"),
            None => Ok(()),
        }
    }
}

/// Addresses as a comma-separated list.
struct List<'a>(&'a [IpAddr]);

impl std::fmt::Display for List<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, ip) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{ip}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct ResolveProbe {
    name: String,
    expect: Option<IpAddr>,
    /// None: the system's resolvers (`/etc/resolv.conf`, `/etc/hosts`).
    server: Option<SocketAddr>,
    timeout: Duration,
}

impl ResolveProbe {
    pub fn new(
        name: &str,
        expect: Option<IpAddr>,
        server: Option<SocketAddr>,
        timeout: Duration,
    ) -> Self {
        ResolveProbe {
            name: name.to_string(),
            expect,
            server,
            timeout,
        }
    }

    /// The probe for a rule, or why Warden cannot run it.
    pub fn from_test(test: &ResolveTest) -> Result<Self, NotSupported> {
        let ip = |text: &str, what: &str| {
            text.parse::<IpAddr>()
                .map_err(|_| NotSupported(format!("a resolve {what} given by name ({text})")))
        };
        let expect = test
            .expect
            .as_deref()
            .map(|e| ip(e, "address"))
            .transpose()?;
        let server = match &test.server {
            Some(s) => Some(SocketAddr::new(
                ip(s, "server")?,
                test.port.unwrap_or(DNS_PORT),
            )),
            None if test.port.is_some() => {
                return Err(NotSupported("a resolve port without a server".into()));
            }
            None => None,
        };
        let timeout = test.timeout.unwrap_or(DEFAULT_TIMEOUT);
        Ok(ResolveProbe::new(&test.name, expect, server, timeout))
    }

    fn resolver(&self) -> Result<Resolver<TokioRuntimeProvider>, ResolveError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match self.server {
            Some(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                let config = ResolverConfig::from_name_servers(vec![server]);
                let mut b = Resolver::builder_with_config(config, provider);
                b.options_mut().use_hosts_file = ResolveHosts::Never;
                b
            }
            None => {
                Resolver::builder(provider).map_err(|e| ResolveError::SystemConfig(Box::new(e)))?
            }
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = self.timeout;
        opts.attempts = 1;
        opts.cache_size = 0;
        builder
            .build()
            .map_err(|e| ResolveError::Setup(Box::new(e)))
    }

    /// A name with a dot is taken as complete (no search domains).
    fn query_name(&self) -> String {
        if self.name.contains('.') && !self.name.ends_with('.') {
            format!("{}.", self.name)
        } else {
            self.name.clone()
        }
    }

    async fn lookup(&self) -> Result<Vec<IpAddr>, ResolveError> {
        let resolver = self.resolver()?;
        let found = tokio::time::timeout(self.timeout, resolver.lookup_ip(self.query_name()))
            .await
            .map_err(|_| ResolveError::Timeout {
                name: self.name.clone(),
                server: self.server,
            })?
            .map_err(|source| ResolveError::Lookup {
                name: self.name.clone(),
                server: self.server,
                source: Box::new(source),
            })?;
        Ok(found.iter().collect())
    }

    /// The words of a pass, or why the addresses found do not do.
    fn judge(&self, found: Vec<IpAddr>) -> Result<String, ResolveError> {
        match self.expect {
            Some(want) if !found.contains(&want) => Err(ResolveError::Elsewhere {
                name: self.name.clone(),
                found,
                server: self.server,
                want,
            }),
            _ => Ok(format!(
                "{} resolves to {}{}",
                self.name,
                List(&found),
                By(self.server)
            )),
        }
    }
}

impl Probe for ResolveProbe {
    fn kind(&self) -> &'static str {
        "resolve"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let started = Instant::now();
            let result = self.lookup().await.and_then(|found| self.judge(found));
            let took = started.elapsed().as_secs_f64();
            match result {
                Ok(why) => Outcome::ok(why),
                Err(why) => Outcome::failed(Status::Failed, why.to_string()),
            }
            .with(Metric::ResponseTime, took)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(expect: Option<&str>, server: Option<&str>, port: Option<u16>) -> ResolveTest {
        ResolveTest {
            name: "web.test".into(),
            expect: expect.map(String::from),
            server: server.map(String::from),
            port,
            timeout: None,
        }
    }

    #[test]
    fn rules_become_probes_with_addresses_and_default_port() {
        let p =
            ResolveProbe::from_test(&test(Some("192.0.2.10"), Some("127.0.0.1"), None)).unwrap();
        assert_eq!(p.server, Some(SocketAddr::from(([127, 0, 0, 1], DNS_PORT))));
        assert_eq!(p.expect, Some(IpAddr::from([192, 0, 2, 10])));
        assert_eq!(p.timeout, DEFAULT_TIMEOUT);
        assert_eq!(p.query_name(), "web.test.");
    }

    #[test]
    fn names_where_addresses_belong_are_not_supported_yet() {
        for t in [
            test(Some("web.example"), None, None),
            test(None, Some("ns.example"), None),
            test(None, None, Some(5353)),
        ] {
            assert!(ResolveProbe::from_test(&t).is_err(), "{t:?}");
        }
    }

    #[test]
    fn an_unexpected_address_fails_and_names_what_was_found() {
        let p = ResolveProbe::from_test(&test(Some("192.0.2.99"), None, None)).unwrap();
        let found = vec![IpAddr::from([192, 0, 2, 10])];
        let why = p.judge(found.clone()).unwrap_err();
        assert_eq!(
            why.to_string(),
            "web.test resolves to 192.0.2.10, not 192.0.2.99"
        );
        let p = ResolveProbe::from_test(&test(Some("192.0.2.10"), None, None)).unwrap();
        assert_eq!(p.judge(found).unwrap(), "web.test resolves to 192.0.2.10");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_instead_of_hanging() {
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let p = ResolveProbe::new("web.test", None, Some(addr), Duration::from_millis(300));
        let out = tokio::time::timeout(Duration::from_secs(20), p.run())
            .await
            .unwrap();
        assert_eq!(out.status, Status::Failed, "{}", out.reason);
        assert!(out.value(Metric::ResponseTime).is_some());
    }
}
