//! E-mail through lettre on tokio with rustls: the `set mailserver` list
//! tried in order (a server that cannot be reached or refuses for now hands
//! over to the next), plain, STARTTLS (`using tls`) or TLS from the first
//! byte (`using ssl`), certificates verified unless the server's options say
//! otherwise (`{ cacertificatefile: PATH }` trusts that CA only; `verify:
//! disable` or `selfsigned: allow` accept any certificate). [`MAIL`] is
//! the mail [`Sink`]: who the recipients of a service are, and sending.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use warden_config::model::{AlertRecipient, Check, MailSecurity, MailServer, Settings};

use crate::alert::Destination;
use crate::format::{Mail, Template, render};
pub use crate::sink::SendError;
use crate::sink::{BoxFuture, Outgoing, Recipient, Sink, chain};

/// Monit's default when `with timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The mail sink.
#[derive(Debug)]
pub struct MailSink;

pub static MAIL: MailSink = MailSink;

impl Sink for MailSink {
    fn name(&self) -> &'static str {
        "mail"
    }

    /// Logs name a recipient by its address alone.
    fn describe(&self, address: &str) -> String {
        address.to_string()
    }

    /// The global `set alert` recipients less the check's `noalert`
    /// addresses, plus its own `alert` lines (its own line wins for an
    /// address given twice).
    fn recipients(&self, s: &Settings, check: Option<&Check>) -> Vec<Recipient> {
        let recipients: Vec<&AlertRecipient> = match check {
            Some(c) => s
                .alerts
                .iter()
                .filter(|a| !c.alerts.iter().any(|own| own.address == a.address))
                .filter(|a| {
                    !c.noalerts
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(&a.address))
                })
                .chain(&c.alerts)
                .collect(),
            None => s.alerts.iter().collect(),
        };
        recipients
            .into_iter()
            .map(|a| Recipient {
                sink: Destination::new(self.name(), bare_address(&a.address)),
                template: Some(Template::resolve(&s.mail_format, a.mail_format.as_ref())),
                reminder_cycles: a.reminder_cycles.filter(|n| *n > 0),
                filter: a.filter.clone(),
                repost: None,
                labels: Vec::new(),
            })
            .collect()
    }

    fn deliver<'a>(&'a self, alert: Outgoing<'a>) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let template = alert.template.cloned().unwrap_or_default();
            let mail = render(&template, &alert.events)
                .ok_or_else(|| SendError::Permanent("empty alert".into()))?;
            send(alert.settings, alert.address, &mail).await
        })
    }
}

/// Why a mail cannot be written or a server cannot be set up for it.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the {what} address '{address}' is not valid: {source}")]
    Address {
        what: &'static str,
        address: String,
        source: lettre::address::AddressError,
    },
    #[error("{0}")]
    Message(#[from] lettre::error::Error),
    #[error("cannot read the CA certificate file {file}: {source}")]
    CaFile {
        file: String,
        source: std::io::Error,
    },
    #[error("the CA certificate file {file} is not PEM: {source}")]
    CaPem {
        file: String,
        source: lettre::transport::smtp::Error,
    },
    #[error("{}", chain(.0))]
    Tls(lettre::transport::smtp::Error),
}

/// Sends `mail` to `to` through the first server that takes it; returns
/// the server's answer (`127.0.0.1:2525: 250 OK`).
pub async fn send(settings: &Settings, to: &str, mail: &Mail) -> Result<String, SendError> {
    let message = message(to, mail).map_err(|e| SendError::Permanent(e.to_string()))?;
    let fallback;
    let servers = if settings.mailservers.is_empty() {
        // Monit's default: the local mail server.
        fallback = [localhost()];
        &fallback[..]
    } else {
        &settings.mailservers[..]
    };
    let mut failures = Vec::new();
    for server in servers {
        let place = format!("{}:{}", server.host, port(server));
        let transport = match transport(server, settings.mail_hostname.as_deref()) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{place}: {e}"));
                continue;
            }
        };
        match transport.send(message.clone()).await {
            Ok(r) => {
                let words: Vec<&str> = r.message().collect();
                return Ok(format!("{place}: {} {}", r.code(), words.join(" ")));
            }
            Err(e) if e.is_permanent() => {
                return Err(SendError::Permanent(format!("{place}: {}", chain(&e))));
            }
            Err(e) => failures.push(format!("{place}: {}", chain(&e))),
        }
    }
    Err(SendError::Temporary(failures.join("; ")))
}

fn message(to: &str, mail: &Mail) -> Result<Message, MailError> {
    let mailbox = |what: &'static str, a: &str| {
        a.parse::<Mailbox>().map_err(|source| MailError::Address {
            what,
            address: a.to_string(),
            source,
        })
    };
    let mut b = Message::builder()
        .from(mailbox("from", &mail.from)?)
        .to(mailbox("recipient", to)?)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN);
    if let Some(r) = &mail.reply_to {
        b = b.reply_to(mailbox("reply-to", r)?);
    }
    Ok(b.body(mail.body.clone())?)
}

fn port(server: &MailServer) -> u16 {
    server.port.unwrap_or(match server.security {
        MailSecurity::Ssl => 465,
        _ => 25,
    })
}

fn localhost() -> MailServer {
    MailServer {
        host: "localhost".into(),
        port: None,
        username: None,
        password: None,
        security: MailSecurity::Plain,
        ssl: None,
        timeout: None,
        span: Default::default(),
    }
}

fn transport(
    server: &MailServer,
    hello: Option<&str>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
        .port(port(server))
        .timeout(Some(server.timeout.unwrap_or(DEFAULT_TIMEOUT)));
    match server.security {
        MailSecurity::Plain => {}
        MailSecurity::StartTls => b = b.tls(Tls::Required(tls(server)?)),
        MailSecurity::Ssl => b = b.tls(Tls::Wrapper(tls(server)?)),
    }
    if let (Some(user), Some(password)) = (&server.username, &server.password) {
        b = b.credentials(Credentials::new(user.clone(), password.clone()));
    }
    if let Some(h) = hello {
        b = b.hello_name(ClientId::Domain(h.to_string()));
    }
    Ok(b.build())
}

/// TLS parameters from the server's `{ ... }` options.
fn tls(server: &MailServer) -> Result<TlsParameters, MailError> {
    let ssl = server.ssl.as_ref();
    let mut b = TlsParameters::builder(server.host.clone());
    if let Some(path) = ssl.and_then(|s| s.cacertificatefile.as_deref()) {
        let file = path.display().to_string();
        let pem = std::fs::read(path).map_err(|source| MailError::CaFile {
            file: file.clone(),
            source,
        })?;
        let cert =
            Certificate::from_pem(&pem).map_err(|source| MailError::CaPem { file, source })?;
        b = b
            .certificate_store(CertificateStore::None)
            .add_root_certificate(cert);
    }
    let self_signed = Some(warden_config::model::SelfSigned::Allow);
    if ssl.is_some_and(|s| s.verify == Some(false) || s.selfsigned == self_signed) {
        b = b.dangerous_accept_invalid_certs(true);
    }
    b.build_rustls().map_err(MailError::Tls)
}

/// `<john@example.com>` -> `john@example.com` (Monit accepts both).
pub fn bare_address(a: &str) -> String {
    a.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(from: &str) -> Mail {
        Mail {
            from: from.into(),
            reply_to: None,
            subject: "warden alert --  Does not exist web".into(),
            body: "body\n".into(),
        }
    }

    #[test]
    fn a_message_names_sender_recipient_and_subject() {
        let m = message("ops@example.com", &mail("Warden <warden@box>")).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.contains("From: Warden <warden@box>"), "{text}");
        assert!(text.contains("To: ops@example.com"), "{text}");
        assert!(
            text.contains("Subject: warden alert --  Does not exist web"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_address_is_a_clear_error() {
        let err = message("not an address", &mail("warden@box")).unwrap_err();
        assert!(
            err.to_string()
                .contains("recipient address 'not an address'"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn no_server_listening_is_a_temporary_failure_naming_the_server() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut settings = Settings::default();
        let mut server = localhost();
        server.host = "127.0.0.1".into();
        server.port = Some(port);
        settings.mailservers.push(server);
        let err = send(&settings, "ops@example.com", &mail("warden@box"))
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Temporary(_)), "{err:?}");
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
    }
}
