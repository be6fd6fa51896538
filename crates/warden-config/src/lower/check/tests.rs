//! Table-driven tests for the lowering of `check` blocks: control text in,
//! the expected check, rule or diagnostic out.

use std::path::Path;
use std::time::Duration;

use crate::model::*;

/// Patterns as lowering compiles them.
fn re(text: &str) -> Regex {
    Regex::new(text).unwrap()
}

fn bytes_re(text: &str) -> BytesRegex {
    BytesRegex::new(text).unwrap()
}

fn pat(text: &str) -> Pattern {
    Pattern::new(text).unwrap()
}

fn load(text: &str) -> Config {
    let loaded = crate::load_text(Path::new("/x/rc"), text.to_string());
    assert!(!loaded.has_errors(), "{text}\n{}", loaded.render());
    loaded.config.unwrap_or_default()
}

fn only_check(text: &str) -> Check {
    let mut config = load(text);
    assert_eq!(config.checks.len(), 1, "{text}");
    config.checks.remove(0)
}

/// The single rule of the first type of check that takes `rule` (a test
/// applies to some types only, as in Monit).
fn only_rule(rule: &str) -> Rule {
    const HEADS: &[&str] = &[
        "check process p with pidfile /run/p.pid",
        "check system s",
        "check file f with path /etc/hosts",
        "check filesystem fs with path /",
        "check program prog with path /bin/true",
        "check network n with interface lo",
        "check host h with address 127.0.0.1",
    ];
    let texts = HEADS.iter().map(|head| format!("{head}\n  {rule}\n"));
    let fitting = texts
        .clone()
        .find(|text| !crate::load_text(Path::new("/x/rc"), text.clone()).has_errors());
    // None: the process check's errors say why.
    let mut check =
        only_check(&fitting.unwrap_or_else(|| texts.clone().next().unwrap_or_default()));
    assert_eq!(check.rules.len(), 1, "{rule}");
    check.rules.remove(0)
}

fn q(value: f64, unit: Unit) -> Quantity {
    Quantity { value, unit }
}

#[test]
fn every_check_type_lowers_to_its_kind() {
    let process = |t| CheckKind::Process { target: t };
    let table: Vec<(&str, CheckKind)> = vec![
        (
            "check process a with pidfile /run/a.pid",
            process(ProcessTarget::Pidfile("/run/a.pid".into())),
        ),
        (
            "check process a with pidfile \"/run/a.pid\"",
            process(ProcessTarget::Pidfile("/run/a.pid".into())),
        ),
        (
            "check process a matching \"nginx: master\"",
            process(ProcessTarget::Matching(pat("nginx: master"))),
        ),
        (
            "check process a with pid 42",
            process(ProcessTarget::Pid(42)),
        ),
        (
            "check process a with systemd unit \"a.service\"",
            process(ProcessTarget::SystemdUnit("a.service".into())),
        ),
        (
            "check file a with path /etc/a",
            CheckKind::File {
                path: "/etc/a".into(),
            },
        ),
        (
            "check directory a with path /etc",
            CheckKind::Directory {
                path: "/etc".into(),
            },
        ),
        (
            "check fifo a with path /run/f",
            CheckKind::Fifo {
                path: "/run/f".into(),
            },
        ),
        (
            "check filesystem a with path /dev/sda1",
            CheckKind::Filesystem {
                path: "/dev/sda1".into(),
            },
        ),
        (
            "check device a with path /",
            CheckKind::Filesystem { path: "/".into() },
        ),
        (
            "check host a with address 192.0.2.1",
            CheckKind::Host {
                address: "192.0.2.1".into(),
            },
        ),
        ("check system a", CheckKind::System),
        (
            "check network a with interface eth0",
            CheckKind::Network {
                target: NetworkTarget::Interface("eth0".into()),
            },
        ),
        (
            "check network a with address 10.0.0.1",
            CheckKind::Network {
                target: NetworkTarget::Address("10.0.0.1".into()),
            },
        ),
    ];
    for (text, kind) in table {
        assert_eq!(only_check(text).kind, kind, "{text}");
    }
}

#[test]
fn a_program_check_keeps_its_arguments_and_timeout() {
    let check =
        only_check("check program ls with path \"/bin/ls -l /tmp\" with timeout 20 seconds");
    let CheckKind::Program { program } = check.kind else {
        panic!("not a program check");
    };
    assert_eq!(program.argv, ["/bin/ls", "-l", "/tmp"]);
    assert_eq!(program.timeout, Some(Duration::from_secs(20)));
}

#[test]
fn a_name_that_is_a_filler_word_stays_the_name() {
    assert_eq!(
        only_check("check host on with address example.org")
            .name
            .value,
        "on"
    );
    assert_eq!(
        only_check("check program program with path /bin/true")
            .name
            .value,
        "program"
    );
}

#[test]
fn words_that_start_like_filler_words_are_words_and_filler_words_are_skipped() {
    // Each filler letter's branch gives up on a longer word (`in_word`);
    // a one-letter word is not a prefix that ends early.
    let words = [
        "t", "ti", "tox", "TH", "Than-x", "i", "iss", "wi", "withinx", "with-in", "a", "andx", "p",
        "programx", "f", "fo", "o", "ofx", "u", "usa", "h", "hasp", "b", "butt",
    ];
    for word in words {
        let check = only_check(&format!(
            "check system s\n  group {word}\n  group with the {word}"
        ));
        assert_eq!(check.groups, [word, word], "{word}");
    }
}

#[test]
fn service_statements_fill_the_check() {
    let config = load(
        "check process web with pidfile /run/web.pid
           start program = \"/bin/web start\" as uid www and gid 33 with timeout 60 seconds
           stop \"/bin/web stop\"
           restart program \"/bin/web restart\"
           depends on db, cache
           depend cache
           group www
           group frontend
           every 2 cycles
           mode passive
           onreboot laststate
           noalert ops@example.org
           restart backoff exponential from 1 s to 60 s jitter reset after 10 minutes
         check process db with pidfile /run/db.pid
           not every \"* 0-3 * * 0\"
           restart backoff fixed 5 s
         check process cache with pidfile /run/cache.pid
           every 500 ms
        ",
    );
    let web = &config.checks[0];
    let start = web
        .start
        .as_ref()
        .map(|p| (p.argv.clone(), p.uid.clone(), p.gid.clone(), p.timeout));
    let expected_start = (
        vec!["/bin/web".to_string(), "start".to_string()],
        Some(UserRef::Name("www".into())),
        Some(UserRef::Id(33)),
        Some(Duration::from_secs(60)),
    );
    assert_eq!(start, Some(expected_start));
    assert_eq!(
        web.stop.as_ref().map(|p| p.command.as_str()),
        Some("/bin/web stop")
    );
    assert_eq!(
        web.restart.as_ref().map(|p| p.command.as_str()),
        Some("/bin/web restart")
    );
    let deps: Vec<&str> = web.depends_on.iter().map(|d| d.value.as_str()).collect();
    assert_eq!(deps, ["db", "cache", "cache"]);
    assert_eq!(web.groups, ["www", "frontend"]);
    assert_eq!(web.schedule, Schedule::Cycles(2));
    assert_eq!(web.mode, Mode::Passive);
    assert_eq!(web.onreboot, Some(OnReboot::Laststate));
    assert_eq!(web.noalerts, ["ops@example.org"]);
    let backoff = Backoff::Exponential {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(60),
        jitter: true,
        reset_after: Duration::from_secs(600),
    };
    assert_eq!(web.backoff.as_deref(), Some(&backoff));
    assert_eq!(
        config.checks[1].schedule,
        Schedule::NotCron(Box::new(crate::cron::Cron::parse("* 0-3 * * 0").unwrap()))
    );
    assert_eq!(
        config.checks[1].backoff.as_deref(),
        Some(&Backoff::Fixed {
            delay: Duration::from_secs(5)
        })
    );
    assert_eq!(
        config.checks[2].schedule,
        Schedule::Interval(Duration::from_millis(500))
    );
}

#[test]
fn resource_tests_lower_to_resource_and_limit() {
    use Resource::*;
    let table = [
        (
            "if cpu > 80% then alert",
            Cpu,
            Operator::Greater,
            q(80.0, Unit::Percent),
        ),
        (
            "if cpu usage (user) > 70% then alert",
            CpuUser,
            Operator::Greater,
            q(70.0, Unit::Percent),
        ),
        (
            "if cpu(system) > 30% then alert",
            CpuSystem,
            Operator::Greater,
            q(30.0, Unit::Percent),
        ),
        (
            "if cpu wait > 20% then alert",
            CpuWait,
            Operator::Greater,
            q(20.0, Unit::Percent),
        ),
        (
            "if total cpu > 50% then alert",
            TotalCpu,
            Operator::Greater,
            q(50.0, Unit::Percent),
        ),
        (
            "if totalcpu < 5% then alert",
            TotalCpu,
            Operator::Less,
            q(5.0, Unit::Percent),
        ),
        (
            "if memory usage > 8 MB then alert",
            Memory,
            Operator::Greater,
            q(8.0 * 1048576.0, Unit::Bytes),
        ),
        (
            "if mem > 75% then alert",
            Memory,
            Operator::Greater,
            q(75.0, Unit::Percent),
        ),
        (
            "if totalmem is greater than 100 Mb then alert",
            TotalMemory,
            Operator::Greater,
            q(100.0 * 1048576.0, Unit::Bytes),
        ),
        (
            "if total memory usage > 1% then alert",
            TotalMemory,
            Operator::Greater,
            q(1.0, Unit::Percent),
        ),
        (
            "if totalmemory > 2 GB then alert",
            TotalMemory,
            Operator::Greater,
            q(2.0 * 1073741824.0, Unit::Bytes),
        ),
        (
            "if swap usage > 25% then alert",
            Swap,
            Operator::Greater,
            q(25.0, Unit::Percent),
        ),
        (
            "if children > 250 then alert",
            Children,
            Operator::Greater,
            q(250.0, Unit::Count),
        ),
        (
            "if threads > 3 then alert",
            Threads,
            Operator::Greater,
            q(3.0, Unit::Count),
        ),
        (
            "if loadavg (1min) > 4 then alert",
            LoadAvg1,
            Operator::Greater,
            q(4.0, Unit::Count),
        ),
        (
            "if loadavg(5min) greater than 10 then alert",
            LoadAvg5,
            Operator::Greater,
            q(10.0, Unit::Count),
        ),
        (
            "if loadavg (15min) per core > 1 then alert",
            LoadAvg15PerCore,
            Operator::Greater,
            q(1.0, Unit::Count),
        ),
        (
            "if filedescriptors >= 90% then alert",
            FileDescriptors,
            Operator::GreaterOrEqual,
            q(90.0, Unit::Percent),
        ),
        (
            "if total filedescriptors > 5000 then alert",
            TotalFileDescriptors,
            Operator::Greater,
            q(5000.0, Unit::Count),
        ),
        (
            "if read activity > 1 MB/s then alert",
            ReadBytes,
            Operator::Greater,
            q(1048576.0, Unit::BytesPerSecond),
        ),
        (
            "if disk write rate > 500 operations/s then alert",
            WriteOps,
            Operator::Greater,
            q(500.0, Unit::OpsPerSecond),
        ),
    ];
    for (text, resource, op, limit) in table {
        let expected = Test::Resource {
            resource,
            op,
            limit,
        };
        assert_eq!(only_rule(text).test.value, expected, "{text}");
    }
}

#[test]
fn triggers_and_actions_lower_as_written() {
    let table = [
        ("if cpu > 80% then alert", 1, 1, Action::Alert),
        (
            "if cpu > 80% for 3 cycles then restart",
            3,
            3,
            Action::Restart,
        ),
        (
            "if cpu > 80% 3 times within 5 cycles then stop",
            3,
            5,
            Action::Stop,
        ),
        (
            "if cpu > 80% for 2 times within 3 cycles then start",
            2,
            3,
            Action::Start,
        ),
        (
            "if cpu > 80%\n 2 within 4 cycles\n then unmonitor",
            2,
            4,
            Action::Unmonitor,
        ),
        (
            "if 3 restarts within 5 cycles then timeout",
            1,
            1,
            Action::Unmonitor,
        ),
        ("if cpu > 80% then monitor", 1, 1, Action::Monitor),
    ];
    for (text, times, within, action) in table {
        let rule = only_rule(text);
        assert_eq!(
            (rule.trigger.times, rule.trigger.within),
            (times, within),
            "{text}"
        );
        assert_eq!(rule.action.value, action, "{text}");
    }
}

#[test]
fn exec_actions_keep_user_repeat_and_recovery() {
    let rule = only_rule(
        "if does not exist for 1 cycle then exec \"/bin/notify down\" as uid nobody repeat every 5 cycles
         else if succeeded for 2 cycles then exec \"/bin/notify up\"",
    );
    assert_eq!(rule.test.value, Test::NotExist);
    let Action::Exec {
        program,
        repeat_every,
    } = &rule.action.value
    else {
        panic!("not exec");
    };
    assert_eq!(
        (program.argv.len(), program.uid.clone(), *repeat_every),
        (2, Some(UserRef::Name("nobody".into())), Some(5))
    );
    let recovery = rule.recovery.as_ref().map(|r| {
        (
            r.trigger.times,
            matches!(r.action.value, Action::Exec { .. }),
        )
    });
    assert_eq!(recovery, Some((2, true)));
}

#[test]
fn file_and_program_tests_lower_to_their_variants() {
    let mins = |m: f64| q(m * 60.0, Unit::Seconds);
    let table: Vec<(&str, Test)> = vec![
        ("if exist then alert", Test::Exist),
        ("if not exist then alert", Test::NotExist),
        (
            "if failed permission 0644 then alert",
            Test::Permission(0o644),
        ),
        ("if failed perm 755 then alert", Test::Permission(0o755)),
        ("if failed uid root then alert", Test::Uid("root".into())),
        (
            "if failed gid \"staff\" then alert",
            Test::Gid("staff".into()),
        ),
        (
            "if failed checksum then alert",
            Test::Checksum {
                algorithm: None,
                expected: None,
                changed: false,
            },
        ),
        (
            "if failed sha1 checksum expect 8f7f419955cefa0b33a2ba316cba3659ab12cd34 then alert",
            Test::Checksum {
                algorithm: Some(HashAlgorithm::Sha1),
                expected: Some("8f7f419955cefa0b33a2ba316cba3659ab12cd34".into()),
                changed: false,
            },
        ),
        (
            "if changed md5 checksum then alert",
            Test::Checksum {
                algorithm: Some(HashAlgorithm::Md5),
                expected: None,
                changed: true,
            },
        ),
        (
            "if timestamp > 5 minutes then alert",
            Test::Timestamp {
                which: None,
                compare: Some((Operator::Greater, mins(5.0))),
                changed: false,
            },
        ),
        (
            "if timestamp is older than 1 hour then alert",
            Test::Timestamp {
                which: None,
                compare: Some((Operator::Greater, mins(60.0))),
                changed: false,
            },
        ),
        (
            "if mtime < 2 minutes then alert",
            Test::Timestamp {
                which: Some(TimestampKind::Modify),
                compare: Some((Operator::Less, mins(2.0))),
                changed: false,
            },
        ),
        (
            "if changed access time then alert",
            Test::Timestamp {
                which: Some(TimestampKind::Access),
                compare: None,
                changed: true,
            },
        ),
        (
            "if changed timestamp then alert",
            Test::Timestamp {
                which: None,
                compare: None,
                changed: true,
            },
        ),
        (
            "if size > 100 MB then alert",
            Test::Size {
                compare: Some((Operator::Greater, q(100.0 * 1048576.0, Unit::Bytes))),
                changed: false,
            },
        ),
        (
            "if changed size then alert",
            Test::Size {
                compare: None,
                changed: true,
            },
        ),
        (
            "if content = \"^ERROR\" then alert",
            Test::Content {
                matches: true,
                pattern: re("^ERROR"),
            },
        ),
        (
            "if match != \"ok\" then alert",
            Test::Content {
                matches: false,
                pattern: re("ok"),
            },
        ),
        (
            "if space usage > 80% then alert",
            Test::Space {
                inode: false,
                free: false,
                op: Operator::Greater,
                limit: q(80.0, Unit::Percent),
            },
        ),
        (
            "if space free < 1 GB then alert",
            Test::Space {
                inode: false,
                free: true,
                op: Operator::Less,
                limit: q(1073741824.0, Unit::Bytes),
            },
        ),
        (
            "if inode usage > 90% then alert",
            Test::Space {
                inode: true,
                free: false,
                op: Operator::Greater,
                limit: q(90.0, Unit::Percent),
            },
        ),
        (
            "if inodes free < 1000 then alert",
            Test::Space {
                inode: true,
                free: true,
                op: Operator::Less,
                limit: q(1000.0, Unit::Count),
            },
        ),
        ("if changed fsflags then alert", Test::FsFlagsChanged),
        ("if changed permission then alert", Test::PermissionChanged),
        ("if changed perm then alert", Test::PermissionChanged),
        (
            "if status != 0 then alert",
            Test::Status {
                compare: Some((Operator::NotEqual, 0)),
                changed: false,
            },
        ),
        (
            "if changed status then alert",
            Test::Status {
                compare: None,
                changed: true,
            },
        ),
        ("if changed pid then alert", Test::PidChanged),
        ("if changed ppid then alert", Test::PpidChanged),
        (
            "if uptime > 3 days then restart",
            Test::Uptime {
                op: Operator::Greater,
                limit: q(3.0 * 86400.0, Unit::Seconds),
            },
        ),
        (
            "if 3 restarts within 5 cycles then unmonitor",
            Test::Restarts {
                count: 3,
                cycles: 5,
            },
        ),
    ];
    for (text, test) in table {
        assert_eq!(only_rule(text).test.value, test, "{text}");
    }
}

#[test]
fn network_interface_tests_lower_to_link_and_transfer() {
    let hour = Some(Duration::from_secs(3600));
    let table: Vec<(&str, Test, bool)> = vec![
        (
            "if failed link then alert",
            Test::Link {
                changed: false,
                capacity: false,
            },
            false,
        ),
        (
            "if link down then alert",
            Test::Link {
                changed: false,
                capacity: false,
            },
            false,
        ),
        (
            "if link up then alert",
            Test::Link {
                changed: false,
                capacity: false,
            },
            true,
        ),
        (
            "if changed link capacity then alert",
            Test::Link {
                changed: true,
                capacity: true,
            },
            false,
        ),
        (
            "if saturation > 90% then alert",
            Test::Saturation {
                op: Operator::Greater,
                limit: q(90.0, Unit::Percent),
            },
            false,
        ),
        (
            "if upload > 10 MB/s then alert",
            Test::Transfer {
                direction: Direction::Upload,
                op: Operator::Greater,
                limit: q(10.0 * 1048576.0, Unit::BytesPerSecond),
                window: None,
            },
            false,
        ),
        (
            "if total downloaded > 1 GB in last hour then alert",
            Test::Transfer {
                direction: Direction::Download,
                op: Operator::Greater,
                limit: q(1073741824.0, Unit::Bytes),
                window: hour,
            },
            false,
        ),
        (
            "if download > 1000 packets/s then alert",
            Test::Transfer {
                direction: Direction::Download,
                op: Operator::Greater,
                limit: q(1000.0, Unit::PacketsPerSecond),
                window: None,
            },
            false,
        ),
    ];
    for (text, test, succeeded) in table {
        let rule = only_check(&format!("check network n with interface eth0\n {text}"))
            .rules
            .remove(0);
        assert_eq!(
            (rule.test.value, rule.succeeded),
            (test, succeeded),
            "{text}"
        );
    }
}

fn connection(rule: &str) -> Connection {
    match only_rule(rule).test.value {
        Test::Connection(c) => *c,
        other => panic!("{rule}: not a connection test: {other:?}"),
    }
}

#[test]
fn a_port_test_keeps_host_protocol_and_options() {
    let c = connection(
        "if failed host 127.0.0.1 port 8080 ipv4 type tcp protocol http
            and request \"/health?x=1\" with status = 200 hostheader \"example.org\"
            content = \"ok\" username \"u\" password \"p\" method HEAD
            with http headers [Cache-Control: no-cache, Host: \"a.org:80\"]
            certificate valid > 30 days
            with timeout 10 seconds retry 2 for 3 cycles then restart",
    );
    let expected_endpoint = Endpoint::Port {
        host: Some("127.0.0.1".into()),
        port: 8080,
        ip: IpVersion::V4,
        socket: SocketType::Tcp,
    };
    assert_eq!(c.endpoint, expected_endpoint);
    assert_eq!(c.protocol, Protocol::Http);
    let o = &c.options;
    assert_eq!(o.request.as_deref(), Some("/health?x=1"));
    assert_eq!(o.status, Some((Operator::Equal, 200)));
    assert_eq!(o.hostheader.as_deref(), Some("example.org"));
    assert_eq!(o.content, Some((true, re("ok"))));
    assert_eq!(
        (o.username.as_deref(), o.password.as_deref()),
        (Some("u"), Some("p"))
    );
    assert_eq!(o.method, Some(HttpMethod::Head));
    assert_eq!(o.headers, ["Cache-Control: no-cache", "Host: a.org:80"]);
    assert_eq!(o.certificate_valid_days, Some(30));
    assert_eq!(
        (c.timeout, c.retry),
        (Some(Duration::from_secs(10)), Some(2))
    );
}

#[test]
fn ssl_options_of_a_test_are_typed_and_shown_as_written() {
    let c = connection(
        "if failed port 443 ssl options { verify: Enable, selfsigned: allow, version: TLSv1.2, cacertificatefile: ca.pem, cipher: HIGH } protocol http then alert",
    );
    let ssl = c.options.ssl.clone().map(|s| *s).unwrap_or_default();
    let version: Vec<VersionWord> = vec![VersionWord {
        version: SslVersion::Tlsv12,
        excluded: false,
    }];
    assert_eq!(
        (ssl.verify, ssl.selfsigned, &ssl.version),
        (Some(true), Some(SelfSigned::Allow), &version)
    );
    assert_eq!(
        (ssl.cacertificatefile.as_deref(), ssl.ciphers.as_deref()),
        (Some(Path::new("ca.pem")), Some("HIGH"))
    );
    assert_eq!(ssl.written()[0], ("verify".into(), "Enable".into()));
    assert_eq!(ssl.written()[4], ("cipher".into(), "HIGH".into()));
    // Words Monit does not take are kept, read as not given.
    let odd = connection("if failed port 443 ssl options { verify: maybe } then alert");
    assert_eq!(odd.options.ssl.as_ref().map(|s| s.verify), Some(None));
    let bare = connection("if failed port 443 ssl then alert");
    assert_eq!(bare.options.ssl, None);
}

#[test]
fn socket_kind_follows_type_ssl_and_protocol() {
    let socket = |c: Connection| match c.endpoint {
        Endpoint::Port { socket, .. } | Endpoint::UnixSocket { socket, .. } => socket,
    };
    let table = [
        (
            "if failed port 53 type udp protocol dns then alert",
            SocketType::Udp,
        ),
        (
            "if failed port 443 type TCPSSL protocol http then alert",
            SocketType::TcpSsl,
        ),
        (
            "if failed port 443 protocol https then alert",
            SocketType::TcpSsl,
        ),
        (
            "if failed port 443 ssl options {verify: enable} then alert",
            SocketType::TcpSsl,
        ),
        (
            "if failed port 123 protocol ntp3 then alert",
            SocketType::Udp,
        ),
        (
            "if failed unixsocket /run/pg.sock protocol pgsql then alert",
            SocketType::Tcp,
        ),
    ];
    for (text, expected) in table {
        assert_eq!(socket(connection(text)), expected, "{text}");
    }
}

#[test]
fn send_expect_pairs_keep_their_order() {
    let c = connection(
        "if failed port 25 expect \"^220\" send \"QUIT\\r\\n\" expect \"^221\" then alert",
    );
    let expected = vec![
        SendExpect::Expect(bytes_re("^220")),
        SendExpect::Send("QUIT\\r\\n".into()),
        SendExpect::Expect(bytes_re("^221")),
    ];
    assert_eq!((c.protocol, c.exchange), (Protocol::Default, expected));
}

#[test]
fn a_url_keeps_its_parts_and_an_ipv6_host_needs_no_port() {
    let check = only_check(
        "check host h with address localhost
           if failed url https://u:p@[::1]/x?y then alert",
    );
    let Test::Url(u) = &check.rules[0].test.value else {
        panic!("url")
    };
    let parts = (u.url.tls(), u.url.host(), u.url.port(), u.url.request());
    assert_eq!(parts, (true, "::1", 443, Some("/x?y")));
    assert_eq!((u.url.username(), u.url.password()), (Some("u"), Some("p")));
    assert_eq!(u.url.as_str(), "https://u:p@[::1]/x?y");
}

#[test]
fn url_ping_resolve_and_succeeded_tests_lower() {
    let check = only_check(
        "check host h with address example.org
           if failed url http://user:pw@example.org:8080/x and content = \"ok\" timeout 15 seconds for 4 cycles then alert
           if failed ping count 5 size 128 with timeout 10 seconds then alert
           if failed resolve \"web.test\" to 192.0.2.10 server 127.0.0.1 port 5353 timeout 2 s then alert
           if succeeded port 3306 then alert",
    );
    let [url, ping, resolve, open] = &check.rules[..] else {
        panic!("four rules expected");
    };
    let Test::Url(u) = &url.test.value else {
        panic!("url")
    };
    assert_eq!(
        (u.url.as_str(), u.content.clone(), u.timeout),
        (
            "http://user:pw@example.org:8080/x",
            Some((true, re("ok"))),
            Some(Duration::from_secs(15))
        )
    );
    assert_eq!(
        url.trigger,
        Trigger {
            times: 4,
            within: 4
        }
    );
    let expected_ping = Test::Ping {
        count: Some(5),
        size: Some(128),
        timeout: Some(Duration::from_secs(10)),
    };
    assert_eq!(ping.test.value, expected_ping);
    let Test::Resolve(r) = &resolve.test.value else {
        panic!("resolve")
    };
    let got = (
        r.name.as_str(),
        r.expect.as_deref(),
        r.server.as_deref(),
        r.port,
        r.timeout,
    );
    assert_eq!(
        got,
        (
            "web.test",
            Some("192.0.2.10"),
            Some("127.0.0.1"),
            Some(5353),
            Some(Duration::from_secs(2))
        )
    );
    assert!(open.succeeded && !url.succeeded);
}

#[test]
fn rules_may_span_lines_and_come_in_any_order() {
    let check = only_check(
        "check process nginx with pidfile /var/run/nginx.pid
            if failed port 80 protocol http
               request /
               with timeout 10 seconds
               then restart
            group nginx
            if 5 restarts within 5 cycles then timeout
            start program = \"/etc/init.d/nginx start\"",
    );
    assert_eq!(
        (check.rules.len(), check.groups.len(), check.start.is_some()),
        (2, 1, true)
    );
}

/// `(text, message part, the text under the error's span)`.
#[test]
fn bad_values_are_errors_at_the_bad_token() {
    let p = "check process p with pidfile /run/p.pid\n";
    let table = [
        (
            format!("{p} if failed port 80 protocol htp then alert"),
            "unknown protocol 'htp'",
            "htp",
        ),
        (
            format!("{p} if failed port http then alert"),
            "unexpected 'http'",
            "http",
        ),
        (
            format!("{p} if cpu > -1% then alert"),
            "a percentage must be from 0 to 100",
            "-1%",
        ),
        (
            format!("{p} if failed port 80 protocol http status 70000 then alert"),
            "an HTTP status must be",
            "70000",
        ),
        (
            format!("{p} if failed port 80 protocol http method POST then alert"),
            "the HTTP method 'POST' is not sent by a test",
            "POST",
        ),
        (
            format!("{p} if failed port 80 protocol ssh request \"/\" then alert"),
            "'request' is not an option of protocol ssh",
            "request \"/\"",
        ),
        (
            format!("{p} if failed port 80 protocol ws then alert"),
            "unknown protocol 'ws'",
            "ws",
        ),
        (
            format!("{p} if failed unixsocket run/p.sock then alert"),
            "must be an absolute path",
            "run/p.sock",
        ),
        (
            format!("{p} if children > 10 MB then alert"),
            "a number of children is a count, not a size",
            "10 MB",
        ),
        (
            format!("{p} if failed permission 0999 then alert"),
            "is not a file mode",
            "0999",
        ),
        (
            format!("{p} if cpu > 80% 6 times within 5 cycles then alert"),
            "6 times within 5 cycles",
            "6 times 5 cycles",
        ),
        (
            format!("{p} if 6 restarts within 5 cycles then alert"),
            "6 restarts within 5 cycles",
            "6 restarts within 5 cycles",
        ),
        (
            format!("{p} every \"* * *\""),
            "a cron spec has 5 fields",
            "\"* * *\"",
        ),
        (
            format!("{p} if loadavg (1min) > 50% then alert"),
            "cannot be a percentage",
            "50%",
        ),
        (
            format!("{p} if content = \"a(\" then alert"),
            "invalid regular expression",
            "content = \"a(\"",
        ),
        (
            "check host h with address bad_host!".to_string(),
            "not a valid host name",
            "bad_host!",
        ),
        (
            "check host h with address h\n if failed url ftp://h/ then alert".to_string(),
            "not a valid URL",
            "ftp://h/",
        ),
        (
            "check host h with address h\n if failed url http://h:x/ then alert".to_string(),
            "not a valid URL",
            "http://h:x/",
        ),
        (
            "check process p with pidfile run/p.pid".to_string(),
            "must be an absolute path",
            "p",
        ),
        (
            "check process p with pidfile /run/%NAME%.pid".to_string(),
            "unexpected '%NAME%.pid'",
            "%NAME%.pid",
        ),
        (
            format!("{p} if cpu > 80% then restat"),
            "unexpected 'restat'",
            "restat",
        ),
        (
            format!("{p} if cpu > 80% alert"),
            "unexpected 'alert'",
            "alert",
        ),
        (
            format!("{p} if totlmem > 80% then alert"),
            "unexpected 'totlmem'",
            "totlmem",
        ),
    ];
    for (text, message, token) in table {
        let loaded = crate::load_text(Path::new("/x/rc"), text.clone());
        let found = loaded
            .diagnostics
            .iter()
            .find(|d| d.is_error() && d.message.contains(message));
        let Some(d) = found else {
            panic!(
                "{text}: no error containing {message:?} in\n{}",
                loaded.render()
            );
        };
        let crate::diag::Origin::Span(span) = d.origin else {
            panic!("no span")
        };
        let under = &loaded.sources.expanded()[span.start..span.end];
        assert_eq!(
            under.replace("within ", "").replace('\n', " "),
            token.replace("within ", ""),
            "{text}"
        );
    }
}

#[test]
fn hints_name_what_a_misspelled_keyword_meant() {
    let table = [
        (
            "check process p with pidfile /run/p.pid\n if cpu > 8% then restat",
            "did you mean 'restart'?",
        ),
        (
            "check process p with pidfile /run/p.pid\n if totlmem > 8% then alert",
            "did you mean 'totalmem'?",
        ),
        (
            "check procss p with pidfile /run/p.pid",
            "did you mean 'process'?",
        ),
        (
            "check process p with pidfile /run/p.pid\n if failed port 80 protocol htp then alert",
            "did you mean 'http'?",
        ),
    ];
    for (text, hint) in table {
        let loaded = crate::load_text(Path::new("/x/rc"), text.to_string());
        let hints: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter_map(|d| d.hint.clone())
            .collect();
        assert!(hints.iter().any(|h| h == hint), "{text}: {hints:?}");
    }
}

#[test]
fn system_name_host_is_replaced_by_the_host_name() {
    let name = only_check("check system $HOST").name.value;
    assert!(!name.contains("$HOST") && !name.is_empty());
}

#[test]
fn a_response_time_limit_and_a_source_address_are_kept() {
    let table = [
        (
            "if failed port 80 with responsetime < 2 seconds then alert",
            Some((Operator::Less, Duration::from_secs(2))),
            None,
        ),
        (
            "if failed port 80 responsetime 500 ms address 127.0.0.2 then alert",
            Some((Operator::Less, Duration::from_millis(500))),
            Some("127.0.0.2"),
        ),
        (
            "if failed port 80 protocol http address ::1 then alert",
            None,
            Some("::1"),
        ),
    ];
    for (rule, limit, source) in table {
        let o = connection(rule).options;
        assert_eq!(o.response_time.map(|r| (r.op, r.limit)), limit, "{rule}");
        let source = source.map(|a| a.parse::<std::net::IpAddr>().unwrap());
        assert_eq!(o.source_address, source, "{rule}");
    }
    let loaded = crate::load_text(
        Path::new("/x/rc"),
        "check host h with address 127.0.0.1\n  if failed port 80 address web.example then alert\n"
            .into(),
    );
    assert!(loaded.has_errors());
    assert!(
        loaded
            .render()
            .contains("not an IP address to connect from")
    );
}

#[test]
fn monit_spellings_lower_to_their_meaning() {
    let table: Vec<(&str, Test)> = vec![
        (
            "if failed icmp type echo\n     for 3 times within 5 cycles then alert",
            Test::Ping {
                count: None,
                size: None,
                timeout: None,
            },
        ),
        (
            "if uptime > 3 then alert",
            Test::Uptime {
                op: Operator::Greater,
                limit: q(3.0, Unit::Seconds),
            },
        ),
        (
            "if uptime > 2 months then alert",
            Test::Uptime {
                op: Operator::Greater,
                limit: q(60.0 * 86400.0, Unit::Seconds),
            },
        ),
        (
            "if timestamp > 15 then alert",
            Test::Timestamp {
                which: None,
                compare: Some((Operator::Greater, q(15.0, Unit::Seconds))),
                changed: false,
            },
        ),
        (
            "if space usage > 90 percent then alert",
            Test::Space {
                inode: false,
                free: false,
                op: Operator::Greater,
                limit: q(90.0, Unit::Percent),
            },
        ),
        (
            "if read activity > 1 MB then alert",
            Test::Resource {
                resource: Resource::ReadBytes,
                op: Operator::Greater,
                limit: q(1024.0 * 1024.0, Unit::BytesPerSecond),
            },
        ),
        (
            "if not match \"^ok\" then alert",
            Test::Content {
                matches: false,
                pattern: re("^ok"),
            },
        ),
    ];
    for (text, expected) in table {
        let rule = only_rule(text);
        assert_eq!(rule.test.value, expected, "{text}");
    }
    let trigger =
        only_rule("if failed icmp type echo\n  for 3 times within 5 cycles then alert").trigger;
    assert_eq!((trigger.times, trigger.within), (3, 5));
    let unix = connection("if failed unix /run/x.sock then alert");
    assert!(matches!(unix.endpoint, Endpoint::UnixSocket { .. }));
    let send = connection("if failed port 80 send hello expect ^ok then alert");
    assert_eq!(
        send.exchange,
        vec![
            SendExpect::Send("hello".into()),
            SendExpect::Expect(bytes_re("^ok"))
        ]
    );
    let ignore = only_check("check file f with path /etc/hosts\n  ignore not match \"x\"\n");
    assert!(!ignore.ignore_content[0].matches);
}

#[test]
fn what_monit_refuses_warden_refuses_too() {
    let table = [
        (
            "check host h with address 127.0.0.1\n if failed ping then alert else if failed then alert",
            "'else if failed' follows an 'if succeeded' test",
        ),
        (
            "check host h with address 127.0.0.1\n if succeeded ping then alert else if succeeded then alert",
            "'else if succeeded' follows a failing test",
        ),
        (
            "check host h with address 127.0.0.1\n if failed port 1812 protocol radius then alert",
            "protocol radius runs over UDP",
        ),
        (
            "check host h with address 127.0.0.1\n if failed port 80 protocol apache-status then alert",
            "protocol apache-status needs something to test",
        ),
        (
            "check host h with address 127.0.0.1\n if failed port 80 protocol apache-status loglimit > 10 then alert",
            "an apache-status limit is a percentage",
        ),
        (
            "check host h with address 127.0.0.1\n if failed port 80 request \"/\" then alert",
            "'request' is not an option of a connection test without a protocol",
        ),
        (
            "check host h with address 127.0.0.1\n if failed port 80 expect \"(\" then alert",
            "invalid regular expression",
        ),
        (
            "check host h with address 127.0.0.1\n if failed port 443 protocol https certificate checksum \"abc\" then alert",
            "'abc' is not an MD5, SHA1 or SHA256 checksum",
        ),
        (
            "check host h with address 127.0.0.1\n if failed port 443 ssl { verfy: enable } then alert",
            "unknown SSL option 'verfy'",
        ),
        (
            "check file f with path /etc/hosts\n if failed md5 checksum expect 1ED948A6F4258ACAB964227EF4EB19FCC453B0F8 then alert",
            "is not an MD5 checksum",
        ),
        (
            "check program p with path /bin/true\n if status != -1 then alert",
            "'-1' is not an exit status",
        ),
        (
            "check filesystem f with path /\n if inode usage > 10 MB then alert",
            "an inode limit is a count, not a size",
        ),
        (
            "check file f with path etc/hosts",
            "the path 'etc/hosts' must be an absolute path",
        ),
        (
            "check system a\ncheck system A",
            "a check named 'a' exists already (names do not tell case apart)",
        ),
        (
            "check system s\n noalert ops",
            "'ops' is not an e-mail address",
        ),
        (
            "check system s\n group \"{{ group }}\"",
            "'{{ group }}' is not a group name",
        ),
        (
            "check system s\n alert ops@example.com { nonexist } { timeout }",
            "a recipient takes one event list",
        ),
        (
            "check system s\n if cpu > 50% 3 cycles 5 cycles then alert",
            "unexpected '5'",
        ),
    ];
    for (text, message) in table {
        let loaded = crate::load_text(Path::new("/x/rc"), text.to_string());
        assert!(
            loaded
                .diagnostics
                .iter()
                .any(|d| d.is_error() && d.message.contains(message)),
            "{text}: no error containing {message:?} in\n{}",
            loaded.render()
        );
    }
}

#[test]
fn template_markup_in_a_string_is_text_and_a_whole_token_a_warning() {
    let loaded = crate::load_text(
        Path::new("/x/rc"),
        "check process p with pidfile \"/run/{{ name }}.pid\"\n  \
         start program = \"/bin/sh -c 'date +%F-%T >> /tmp/x'\"\n  \
         stop program = \"{{ stop_command }}\"\n"
            .to_string(),
    );
    assert!(!loaded.has_errors(), "{}", loaded.render());
    let warnings: Vec<&str> = loaded
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        warnings,
        ["'{{ stop_command }}' looks like an unexpanded template placeholder"]
    );
}

#[test]
fn a_url_without_a_port_anyone_listens_on_is_a_warning_as_in_monit() {
    for url in ["http://h:0/", "http://[::1]:70000/x"] {
        let loaded = crate::load_text(
            Path::new("/x/rc"),
            format!("check host h with address h\n  if failed url {url} then alert\n"),
        );
        assert!(!loaded.has_errors(), "{}", loaded.render());
        let messages: Vec<&str> = loaded
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [format!("'{url}' names no port (0 or past 65535): no connection reaches it, so this test always fails").as_str()]
        );
        let url_test = loaded
            .config
            .iter()
            .flat_map(|c| &c.checks)
            .flat_map(|c| &c.rules)
            .find_map(|r| match &r.test.value {
                crate::model::Test::Url(u) => Some(u.url.port()),
                _ => None,
            });
        assert_eq!(url_test, Some(0), "{url}");
    }
}
