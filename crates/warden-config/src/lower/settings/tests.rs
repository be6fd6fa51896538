//! Tests of `set` statements: control text in, settings or diagnostics out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diag::Origin;
use crate::model::{
    Allow, CertificateChecksum, Digest, Facility, FilterEvent, HashAlgorithm, LogTarget,
    MailSecurity, OnReboot, SelfSigned, Settings, SslVersion,
};

fn load(text: &str) -> crate::Loaded {
    crate::load_text(Path::new("/x/rc"), text.to_string())
}

fn settings(text: &str) -> Settings {
    let loaded = load(text);
    assert!(!loaded.has_errors(), "{text}\n{}", loaded.render());
    loaded.config.map(|c| c.settings).unwrap_or_default()
}

/// Every error as (message, the text its span covers).
fn errors(text: &str) -> Vec<(String, String)> {
    let loaded = load(text);
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| match &d.origin {
            Origin::Span(s) => (d.message.clone(), loaded.sources.text(*s).to_string()),
            Origin::File(_) => (d.message.clone(), String::new()),
        })
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

type Expect = fn(&Settings);

const VALID: &[(&str, Expect)] = &[
    ("set daemon 10 with start delay 60", |s| {
        assert_eq!(
            (s.cycle, s.start_delay, s.daemon_set),
            (secs(10), secs(60), true)
        )
    }),
    ("SET DAEMON 5 # poll", |s| assert_eq!(s.cycle, secs(5))),
    ("set logfile syslog facility log_daemon", |s| {
        assert_eq!(s.log, Some(LogTarget::Syslog(Some(Facility::Daemon))))
    }),
    ("set log syslog", |s| {
        assert_eq!(s.log, Some(LogTarget::Syslog(None)))
    }),
    ("set log /var/log/monit.log", |s| {
        assert_eq!(s.log, Some(LogTarget::File("/var/log/monit.log".into())))
    }),
    (
        "set pidfile /run/m.pid set idfile '/var/m id' set statefile \"/var/state\"",
        |s| {
            assert_eq!(s.pidfile, Some(PathBuf::from("/run/m.pid")));
            assert_eq!(s.idfile, Some(PathBuf::from("/var/m id")));
            assert_eq!(s.statefile, Some(PathBuf::from("/var/state")));
        },
    ),
    ("set onreboot laststate", |s| {
        assert_eq!(s.onreboot, Some(OnReboot::Laststate))
    }),
    ("set init set terminal batch", |s| {
        assert!(s.init && s.terminal_batch)
    }),
    (
        "set eventqueue\n basedir /var/monit # dir\n slots 5000",
        |s| {
            let q = s.eventqueue.as_ref().map(|q| (q.basedir.clone(), q.slots));
            assert_eq!(q, Some((Some("/var/monit".into()), Some(5000))));
        },
    ),
    ("set eventqueue slots 10", |s| {
        assert_eq!(s.eventqueue.as_ref().and_then(|q| q.slots), Some(10))
    }),
    (
        "set limits {\n programOutput: 1 MB, sendExpectBuffer: 256 B\n networkTimeout: 5 seconds\n stopTimeout: 500 ms }",
        |s| {
            let want = [
                ("programOutput", 1 << 20),
                ("sendExpectBuffer", 256),
                ("networkTimeout", 5000),
                ("stopTimeout", 500),
            ];
            let want: Vec<(String, u64)> = want.iter().map(|(n, v)| (n.to_string(), *v)).collect();
            assert_eq!(s.limits, want);
        },
    ),
    ("set expectbuffer 1 kb", |s| {
        assert_eq!(s.limits, vec![("sendExpectBuffer".into(), 1024)])
    }),
    (
        "set ssl options { verify : enable, version: tlsv12 TLSv1.3 }",
        |s| {
            let opts = s.ssl.as_ref().map(|o| o.written().to_vec());
            assert_eq!(
                opts,
                Some(vec![
                    ("verify".into(), "enable".into()),
                    ("version".into(), "tlsv12 tlsv13".into())
                ])
            );
            let typed = s.ssl.as_ref().map(|o| {
                let versions: Vec<SslVersion> = o.version.iter().map(|w| w.version).collect();
                (o.verify, versions)
            });
            assert_eq!(
                typed,
                Some((Some(true), vec![SslVersion::Tlsv12, SslVersion::Tlsv13]))
            );
        },
    ),
    (
        "set mmonit http://monit:monit@server1:19840/collector with timeout 5 seconds and register without credentials",
        |s| {
            let servers: Vec<_> = s
                .mmonit
                .iter()
                .map(|m| (m.url.as_str(), m.timeout))
                .collect();
            assert_eq!(
                servers,
                [("http://monit:monit@server1:19840/collector", Some(secs(5)))]
            );
            assert!(!s.mmonit_credentials);
        },
    ),
    (
        "set mmonit http://a:8080/collector timeout 2 s, http://b:8080/collector",
        |s| {
            let servers: Vec<_> = s
                .mmonit
                .iter()
                .map(|m| (m.url.as_str(), m.timeout))
                .collect();
            assert_eq!(
                servers,
                [
                    ("http://a:8080/collector", Some(secs(2))),
                    ("http://b:8080/collector", None)
                ]
            );
            assert!(s.mmonit_credentials);
        },
    ),
];

#[test]
fn simple_set_statements_lower_to_their_settings() {
    for (text, expect) in VALID {
        expect(&settings(text));
    }
}

const MAIL: &[(&str, Expect)] = &[
    (
        "set mailserver smtp.gmail.com port 587 username \"me@x.net\" password \"set\" using tlsv1 with timeout 30 seconds",
        |s| {
            let m = &s.mailservers[0];
            assert_eq!(
                (m.host.as_str(), m.port, m.username.as_deref()),
                ("smtp.gmail.com", Some(587), Some("me@x.net"))
            );
            assert_eq!(
                (m.password.as_deref(), m.security, m.timeout),
                (Some("set"), MailSecurity::StartTls, Some(secs(30)))
            );
        },
    ),
    (
        "set mailserver a.example.com, b.example.com port 465 using ssl\n with timeout 15 seconds using hostname me.example.com",
        |s| {
            let hosts: Vec<_> = s
                .mailservers
                .iter()
                .map(|m| (m.host.as_str(), m.port, m.security, m.timeout))
                .collect();
            assert_eq!(
                hosts,
                [
                    ("a.example.com", None, MailSecurity::Plain, Some(secs(15))),
                    (
                        "b.example.com",
                        Some(465),
                        MailSecurity::Ssl,
                        Some(secs(15))
                    )
                ]
            );
            assert_eq!(s.mail_hostname.as_deref(), Some("me.example.com"));
        },
    ),
    (
        "set mailserver localhost using tls { verify: disable }",
        |s| {
            assert_eq!(s.mailservers[0].security, MailSecurity::StartTls);
            assert!(s.mailservers[0].ssl.is_some());
        },
    ),
    (
        "set mailserver mx.example.com using sslv3 using ssl { selfsigned: Allow, cacertificatefile: /ca.pem }\n certificate checksum sha1 1ED948A6F4258ACAB964227EF4EB19FCC453B0F8",
        |s| {
            let m = &s.mailservers[0];
            assert_eq!(m.security, MailSecurity::Ssl);
            let ssl = m.ssl.clone().unwrap_or_default();
            assert_eq!(
                (ssl.enabled, ssl.selfsigned, ssl.cacertificatefile),
                (
                    true,
                    Some(SelfSigned::Allow),
                    Some(PathBuf::from("/ca.pem"))
                )
            );
            assert_eq!(
                ssl.checksum,
                Some(CertificateChecksum {
                    algorithm: HashAlgorithm::Sha1,
                    hex: "1ed948a6f4258acab964227ef4eb19fcc453b0f8".into(),
                })
            );
        },
    ),
    ("set mailserver mx.example.com using -sslv3", |s| {
        assert_eq!(s.mailservers[0].security, MailSecurity::StartTls);
    }),
    (
        "set mail-format {\n     from: Monit Support <monit@foo.bar>\n reply-to: support@domain.com\n  subject: $SERVICE $EVENT at $DATE\n  message: Monit $ACTION on $HOST:\n    Yours,\n    monit\n}",
        |s| {
            let f = &s.mail_format;
            assert_eq!(f.from.as_deref(), Some("Monit Support <monit@foo.bar>"));
            assert_eq!(f.reply_to.as_deref(), Some("support@domain.com"));
            assert_eq!(f.subject.as_deref(), Some("$SERVICE $EVENT at $DATE"));
            assert_eq!(
                f.message.as_deref(),
                Some("Monit $ACTION on $HOST:\n    Yours,\n    monit")
            );
        },
    ),
    ("set mail-format { from: monit@$HOST subject: down }", |s| {
        assert_eq!(
            (
                s.mail_format.from.as_deref(),
                s.mail_format.subject.as_deref()
            ),
            (Some("monit@$HOST"), Some("down"))
        );
    }),
    ("set alert <john@example.com> # all", |s| {
        let a = &s.alerts[0];
        assert_eq!(
            (
                a.address.as_str(),
                a.filter.events.is_empty(),
                a.filter.exclude
            ),
            ("john@example.com", true, false)
        );
    }),
    (
        "set alert foo@bar but not on { instance, fsflag } with reminder on 10 cycles",
        |s| {
            let a = &s.alerts[0];
            assert_eq!(
                (a.filter.events.clone(), a.filter.exclude, a.reminder_cycles),
                (
                    vec![FilterEvent::Instance, FilterEvent::Fsflags],
                    true,
                    Some(10)
                )
            );
        },
    ),
    (
        "set alert sec@bar only on { checksum, permission, time } with mail-format { subject: x }",
        |s| {
            let a = &s.alerts[0];
            use FilterEvent::{Checksum, Permission, Timestamp};
            assert_eq!(a.filter.events, [Checksum, Permission, Timestamp]);
            assert_eq!(
                a.mail_format
                    .as_ref()
                    .and_then(|f| f.subject.clone())
                    .as_deref(),
                Some("x")
            );
        },
    ),
    (
        "set alertmanager http://127.0.0.1:9093/ labels { env: prod, team: \"db ops\" } not on { action }\n\
         set alertmanager 'https://am.example/prefix'",
        |s| {
            let am = &s.alertmanagers[0];
            assert_eq!(am.url, "http://127.0.0.1:9093");
            assert_eq!(
                am.labels,
                [
                    ("env".into(), "prod".into()),
                    ("team".into(), "db ops".into())
                ]
            );
            assert_eq!(
                (am.filter.events.clone(), am.filter.exclude),
                (vec![FilterEvent::Action], true)
            );
            assert_eq!(s.alertmanagers[1].url, "https://am.example/prefix");
            assert!(s.alertmanagers[1].labels.is_empty());
        },
    ),
    ("set alert webhook@example.com", |s| {
        assert_eq!(s.alerts[0].address, "webhook@example.com")
    }),
    (
        "set alert webhook \"https://hooks.example.com/x\" not { instance }",
        |s| {
            let w = &s.webhooks[0];
            assert_eq!(
                (w.url.as_str(), w.filter.events.clone(), w.filter.exclude),
                (
                    "https://hooks.example.com/x",
                    vec![FilterEvent::Instance],
                    true
                )
            );
        },
    ),
];

#[test]
fn mail_statements_lower_to_servers_formats_and_recipients() {
    for (text, expect) in MAIL {
        expect(&settings(text));
    }
}

#[test]
fn httpd_block_collects_listeners_tls_and_allow_entries() {
    let s = settings(
        "set httpd port 2812 and use address localhost\n\
         allow localhost allow 10.0.0.0/8 allow 192.168.1.0/255.255.255.0 allow fe80::/10\n\
         allow admin:monit allow hauk:\"passw@rd\" read-only allow @users readonly\n\
         allow md5 /etc/htpasswd john paul\n\
         signature disable read-only\n\
         with ssl { pemfile: /etc/monit.pem, selfsigned: allow }\n\
         set httpd unixsocket /run/monit.sock uid root gid root permission 0660",
    );
    let h = s.httpd.clone().unwrap_or_default();
    assert_eq!(
        (h.port, h.address.as_deref(), h.signature, h.read_only),
        (Some(2812), Some("localhost"), false, true)
    );
    assert_eq!(h.unixsocket, Some(PathBuf::from("/run/monit.sock")));
    assert_eq!(
        (h.socket_uid.as_deref(), h.socket_permission),
        (Some("root"), Some(0o660))
    );
    let host = |h: &str| Allow::Host {
        host: super::values::check_network(h).unwrap(),
    };
    let user = |u: &str, p: &str, read_only| Allow::User {
        user: u.into(),
        password: p.into(),
        read_only,
    };
    let expected = vec![
        host("localhost"),
        host("10.0.0.0/8"),
        host("192.168.1.0/255.255.255.0"),
        host("fe80::/10"),
        user("admin", "monit", false),
        user("hauk", "passw@rd", true),
        Allow::Group {
            group: "users".into(),
            read_only: true,
        },
        Allow::Htpasswd {
            path: "/etc/htpasswd".into(),
            digest: Digest::Md5,
            users: vec!["john".into(), "paul".into()],
            read_only: false,
        },
    ];
    assert_eq!(h.allow, expected);
    let ssl = h.ssl.as_ref().map(|s| (s.enabled, s.written().len()));
    assert_eq!(ssl, Some((true, 2)));
    let ssl = h.ssl.map(|s| (s.pemfile, s.selfsigned));
    assert_eq!(
        ssl,
        Some((
            Some(PathBuf::from("/etc/monit.pem")),
            Some(SelfSigned::Allow)
        ))
    );
}

/// (control text, error message, the text the error's span covers)
const BAD: &[(&str, &str, &str)] = &[
    (
        "set httpd port 1 ssl enable allow a:b",
        "the control interface uses TLS but has no certificate",
        "httpd",
    ),
    (
        "set httpd port 1 with ssl { pemfile: /a.pem pemkey: /k.pem }",
        "the control interface's pemfile and pemchain/pemkey exclude each other",
        "httpd",
    ),
    (
        "set mailserver localhost prot 25",
        "unexpected 'prot'",
        "prot",
    ),
    (
        "set mailserver mx certificate checksum md5 0123456789abcdef0123456789abcdef01234567",
        "'0123456789abcdef0123456789abcdef01234567' is not an MD5 checksum",
        "0123456789abcdef0123456789abcdef01234567",
    ),
    (
        "set daemon 0",
        "the daemon cycle must be a whole number from 1 to 31556952, not '0'",
        "0",
    ),
    (
        "set httpd port 2812 allow 10.0.0.0/33",
        "'33' is not a network mask: write a prefix length from 0 to 32 or a mask such as 255.255.255.0",
        "10.0.0.0/33",
    ),
    (
        "set httpd port 2812 allow 300.1.2.3",
        "'300.1.2.3' is not a valid IPv4 address",
        "300.1.2.3",
    ),
    (
        "set httpd port 1 address bad..host",
        "'bad..host' is not a valid host name or address",
        "bad..host",
    ),
    (
        "set httpd port 1 allow localhost read-only",
        "'read-only' cannot apply to the host 'localhost'",
        "localhost",
    ),
    (
        "set httpd unixsocket /run/s permission 0999",
        "'0999' is not an octal file mode",
        "0999",
    ),
    (
        "set httpd unixsocket /run/s uid no-such-user-w",
        "there is no user 'no-such-user-w' on this system",
        "no-such-user-w",
    ),
    (
        "set httpd unixsocket /run/s gid \"no such group\" permission 0660",
        "there is no group 'no such group' on this system",
        "\"no such group\"",
    ),
    (
        "set httpd unixsocket run/s",
        "the unix socket must be an absolute path, not 'run/s'",
        "run/s",
    ),
    (
        "set alert admin",
        "'admin' is not an e-mail address (expected name@domain)",
        "admin",
    ),
    (
        "set alert a@b { timout }",
        "unknown event 'timout'",
        "timout",
    ),
    (
        "set httpd port 1 allow\nset init",
        "'allow' needs a client",
        "allow",
    ),
    (
        "set limits { sendExpectBuffer: 3 GB }",
        "sendExpectBuffer must be a size from 0 B to 2 GB",
        "3 GB",
    ),
    (
        "set alert a@b not { }",
        "the event list is empty",
        "not { }",
    ),
    (
        "set alertmanager labels { env: x }",
        "unexpected 'labels'",
        "labels",
    ),
    (
        "set alertmanager am.example:9093",
        "'am.example:9093' is not an http:// or https:// URL",
        "am.example:9093",
    ),
    (
        "set alertmanager http://a:9093 labels { my-env: x }",
        "'my-env' is not a label name",
        "my-env:",
    ),
    (
        "set alertmanager http://a:9093 labels { __name__: x }",
        "'__name__' is not a label name: names starting with '__' are Prometheus's own",
        "__name__:",
    ),
    (
        "set alertmanager http://a:9093 labels { env: x, env: y }",
        "the label 'env' is given twice",
        "env:",
    ),
    (
        "set alertmanager http://a:9093 labels { env: '' }",
        "the label 'env' has an empty value",
        "''",
    ),
    (
        "set alertmanager http://a:9093 labels { }",
        "the label list is empty",
        "labels { }",
    ),
    (
        "set alertmanager http://a:9093\nset alertmanager http://a:9093/ labels { env: x }",
        "the Alertmanager http://a:9093 is set twice",
        "alertmanager http://a:9093/ labels { env: x }",
    ),
    (
        "set alert webhook \"ftp://x\"",
        "'ftp://x' is not an http:// or https:// URL",
        "\"ftp://x\"",
    ),
    (
        "set mailserver localhost with timeout 0 seconds",
        "the timeout must be more than zero",
        "0 seconds",
    ),
    (
        "set mail-format { from: nobody }",
        "'nobody' is not an e-mail address (expected name@domain)",
        "nobody",
    ),
    (
        "set mail-format { from: }",
        "'from:' needs an e-mail address",
        "from:",
    ),
    (
        "set log monit.log",
        "the log file must be an absolute path, not 'monit.log'",
        "monit.log",
    ),
    (
        "set log syslog facility log_daemn",
        "unknown syslog facility 'log_daemn'",
        "log_daemn",
    ),
    (
        "set eventqueue basedir /var/q slots -1",
        "unexpected '-1'",
        "-1",
    ),
    (
        "set limits { programOutpt: 1 MB }",
        "unknown limit 'programOutpt'",
        "programOutpt",
    ),
    (
        "set limits { programOutput: 5 s }",
        "programOutput takes a size, not a duration",
        "5 s",
    ),
    (
        "set limits { networkTimeout: 5 }",
        "networkTimeout takes a duration",
        "5",
    ),
    (
        "set limits { fileContentBuffer: 50% }",
        "fileContentBuffer takes a size, not a percentage",
        "50%",
    ),
    (
        "set ssl { verify: maybe }",
        "'verify:' must be enable or disable, not 'maybe'",
        "maybe",
    ),
    (
        "set ssl { verfy: enable }",
        "unknown SSL option 'verfy'",
        "verfy:",
    ),
    (
        "set ssl { version: tlsv14 }",
        "unknown SSL/TLS version 'tlsv14'",
        "tlsv14",
    ),
    (
        "set ssl { pemfile: cert.pem }",
        "'pemfile:' must be an absolute path, not 'cert.pem'",
        "cert.pem",
    ),
    (
        "set mmonit http:///collector",
        "'http:///collector' is not an http:// or https:// URL with a host",
        "http:///collector",
    ),
];

/// Values Monit takes although they cannot work: a warning each, and the
/// file is accepted.
#[test]
fn values_monit_takes_that_cannot_work_are_warnings() {
    let table = [
        (
            "set httpd port 70000 allow localhost",
            "port 70000 is not a port: no TCP interface can listen on it",
        ),
        (
            "set httpd port 0 allow localhost",
            "port 0 is not a port: the system picks a free port",
        ),
        (
            "set mailserver localhost port 0",
            "port 0 is not a port: no mail goes through this server",
        ),
        (
            "set eventqueue basedir /var/q slots 0",
            "a queue of 0 slots holds no alert",
        ),
        (
            "set alert <NAME>@example.com",
            "'<NAME>@example.com' looks like a placeholder",
        ),
        (
            "set mailserver 999.1.1.1",
            "'999.1.1.1' is not a valid IPv4 address: it is read as a host name",
        ),
    ];
    for (text, warning) in table {
        let loaded = load(text);
        assert!(!loaded.has_errors(), "{text}\n{}", loaded.render());
        assert!(
            loaded
                .diagnostics
                .iter()
                .any(|d| d.message.starts_with(warning)),
            "{text}: no warning '{warning}' in\n{}",
            loaded.render()
        );
    }
    assert_eq!(
        settings("set httpd port 70000 allow localhost")
            .httpd
            .and_then(|h| h.port),
        None
    );
    assert_eq!(
        settings("set httpd port 0 allow localhost")
            .httpd
            .and_then(|h| h.port),
        Some(0)
    );
}

#[test]
fn bad_values_are_reported_at_the_bad_token() {
    for (text, message, at) in BAD {
        let found = errors(text);
        assert_eq!(found, vec![(message.to_string(), at.to_string())], "{text}");
    }
}

#[test]
fn a_missing_certificate_file_is_a_warning() {
    let loaded = load("set httpd port 1 with ssl { pemfile: /nonexistent/monit.pem }");
    let found: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.is_error(), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [(false, "the pemfile '/nonexistent/monit.pem' does not exist")]
    );
}

#[test]
fn misspelt_events_get_a_suggestion() {
    let loaded = load("set alert a@b { timout }");
    let hint = loaded.diagnostics.first().and_then(|d| d.hint.clone());
    assert_eq!(hint.as_deref(), Some("did you mean 'timeout'?"));
}

/// (control text, part of the message, parts the hint must name)
const SYNTAX: &[(&str, &str, &[&str])] = &[
    ("set deamon 5", "'deamon'", &["did you mean 'daemon'?"]),
    ("set httpd port", "end of", &["a whole number"]),
    (
        "set mail-format { subject: a\n",
        "end of",
        &["'from:'", "'message:'", "'reply-to:'", "'subject:'", "'}'"],
    ),
    (
        "set limits { programOutput: 1 MB",
        "end of",
        &["a limit (e.g. 'programOutput: 512 B')", "'}'"],
    ),
    (
        "set alert a@b { timeout",
        "end of",
        &["an event name", "'}'"],
    ),
    (
        "set ssl { verify: enable",
        "end of",
        &["an SSL option (e.g. 'verify: enable')", "'}'"],
    ),
];

#[test]
fn syntax_errors_name_what_was_expected() {
    for (text, message, hints) in SYNTAX {
        let loaded = load(text);
        let d = loaded.diagnostics.first();
        // The wording of syntax errors belongs to grammar.rs: check the gist.
        let found = d.map(|d| d.message.clone()).unwrap_or_default();
        assert!(
            found.starts_with("unexpected") && found.contains(message),
            "{text}: {found}"
        );
        let hint = d.and_then(|d| d.hint.clone()).unwrap_or_default();
        for part in *hints {
            assert!(hint.contains(part), "{text}: hint '{hint}' lacks {part}");
        }
    }
}

#[test]
fn a_quoted_password_is_never_a_keyword() {
    let s = settings("set mailserver mx.example.com username \"port\" password \"ssl\"");
    let m = &s.mailservers[0];
    assert_eq!(
        (m.username.as_deref(), m.password.as_deref(), m.port),
        (Some("port"), Some("ssl"), None)
    );
}

#[test]
fn m_monit_is_taken_without_a_warning_but_its_ssl_options_are_said() {
    let plain = load("set mmonit https://monit:monit@10.0.0.1:8443/collector with timeout 5 s");
    assert!(plain.diagnostics.is_empty(), "{}", plain.render());
    for text in [
        "set mmonit https://10.0.0.1:8443/collector with ssl { selfsigned: allow }",
        "set mmonit https://10.0.0.1:8443/collector certificate checksum = \"ab\"",
    ] {
        let loaded = load(text);
        assert!(!loaded.has_errors(), "{text}\n{}", loaded.render());
        assert!(
            loaded.diagnostics.iter().any(|d| d
                .message
                .starts_with("an ssl option for M/Monit is not supported yet")),
            "{text}: {}",
            loaded.render()
        );
    }
}

#[test]
fn m_monit_urls_in_a_list_do_not_keep_the_comma() {
    let s = settings("set mmonit http://a:8080/collector, http://b:8080/collector");
    let urls: Vec<_> = s.mmonit.iter().map(|m| m.url.as_str()).collect();
    assert_eq!(urls, ["http://a:8080/collector", "http://b:8080/collector"]);
}
