//! "Not supported yet" is never silent: the checks and rules the engine
//! cannot run, as warnings at their span, for `warden -t` and for the
//! daemon's log at start and on reload. Built from the same factory the
//! engine runs, so the list cannot drift from what actually runs.

use warden_config::model::{Check, CheckKind};
use warden_config::{Config, Diagnostic};
use warden_probes::RuleSpec;

use crate::factory::{ProbeFactory, RegistryFactory};

/// One warning per check or rule that Warden will not test.
pub fn unsupported(config: &Config) -> Vec<Diagnostic> {
    unsupported_with(config, &RegistryFactory)
}

pub fn unsupported_with(config: &Config, factory: &dyn ProbeFactory) -> Vec<Diagnostic> {
    /// Below this many checks one thread is quicker than starting others.
    const PARALLEL_FROM: usize = 1_000;
    let checks = &config.checks;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if checks.len() < PARALLEL_FROM || threads < 2 {
        return unsupported_in(checks, factory);
    }
    // Building every check's probes is the bulk of `-t` after the parse on
    // a big file; consecutive shares keep the warnings in config order.
    let share = checks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = checks
            .chunks(share)
            .map(|part| scope.spawn(move || unsupported_in(part, factory)))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

fn unsupported_in(checks: &[Check], factory: &dyn ProbeFactory) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for check in checks {
        let probes = factory.probes(check);
        if let Err(why) = &probes.subject
            && subject_matters(&check.kind)
        {
            out.push(Diagnostic::warning(
                check.name.span,
                format!("{why}: Warden will not test '{}'", check.name.value),
            ));
        }
        for (rule, spec) in check.rules.iter().zip(&probes.rules) {
            if let RuleSpec::NotSupported(why) = spec {
                out.push(Diagnostic::warning(
                    rule.test.span,
                    format!("{why}: this rule is never tested"),
                ));
            }
        }
    }
    out
}

/// Whether a check's own probe tests something by itself: a file or a
/// program does (it exists, it runs); a host or the system is only tested
/// through its rules, which are reported one by one.
fn subject_matters(kind: &CheckKind) -> bool {
    !matches!(kind, CheckKind::Host { .. } | CheckKind::System)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn warnings(text: &str) -> Vec<(String, String)> {
        let loaded = warden_config::load_text_without_includes(Path::new("t.rc"), text.into());
        assert!(!loaded.has_errors(), "{}", loaded.render());
        let config = loaded.config.unwrap();
        unsupported(&config)
            .into_iter()
            .map(|d| {
                let (_, line, col) = d.position(&loaded.sources).unwrap();
                (format!("{line}:{col}"), d.message)
            })
            .collect()
    }

    #[test]
    fn runnable_process_checks_have_no_warnings() {
        let text = "check process a with pidfile /run/a.pid\n\
                    if does not exist then restart\n\
                    if cpu > 90% then alert\n\
                    if changed pid then alert\n\
                    if failed port 80 protocol http request \"/health\" then restart\n\
                    if 3 restarts within 5 cycles then unmonitor\n\
                    check process b matching \"^b\"\n\
                    check process c with systemd unit \"c.service\"\n\
                    check host h with address 127.0.0.1\n\
                    if failed port 22 then alert\n";
        assert_eq!(warnings(text), Vec::<(String, String)>::new());
    }

    #[test]
    fn an_unsupported_rule_is_reported_at_its_span() {
        let w =
            warnings("check filesystem root with path /\n  if failed permission 644 then alert\n");
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, "2:6");
        assert!(w[0].1.contains("not supported yet"), "{w:?}");
    }

    #[test]
    fn many_checks_are_reported_in_config_order_as_one_thread_reports_them() {
        use std::fmt::Write as _;
        let mut text = String::new();
        for i in 0..2_500 {
            let _ = write!(
                text,
                "check filesystem fs{i} with path /\n  if failed permission 644 then alert\n"
            );
        }
        let loaded = warden_config::load_text_without_includes(Path::new("t.rc"), text);
        let config = loaded.config.unwrap();
        let all = unsupported(&config);
        assert_eq!(all.len(), 2_500);
        assert_eq!(all, unsupported_in(&config.checks, &RegistryFactory));
        let lines: Vec<usize> = all
            .iter()
            .map(|d| d.position(&loaded.sources).unwrap().1)
            .collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "out of order");
    }

    #[test]
    fn local_checks_and_their_rules_have_no_warnings() {
        let text = "check system s\n if loadavg (1min) per core > 2 then alert\n if cpu wait > 20% then alert\n if memory > 90% then alert\n if swap > 100 MB then alert\n if uptime < 5 minutes then alert\n if filedescriptors > 80% then alert\n\
                    check file f with path /etc/hosts\n if failed permission 644 then alert\n if failed uid root then alert\n if changed sha256 checksum then alert\n if timestamp > 5 minutes then alert\n if size > 1 MB then alert\n if content = \"x\" then alert\n if does not exist then alert\n\
                    check directory d with path /tmp\n if changed timestamp then alert\n if changed perm then alert\n\
                    check fifo p with path /run/p\n if failed gid 0 then alert\n\
                    check filesystem fs with path /\n if space usage > 90% then alert\n if inode free < 1000 then alert\n if changed fsflags then alert\n\
                    check program prog with path \"/bin/true\" with timeout 5 seconds\n if status != 0 then alert\n if changed status then alert\n if content = \"ERR\" then alert\n\
                    check network n with interface lo\n if total download > 1 GB in last 2 hours then alert\n if total upload > 1000 packets in last 1 minute then alert\n";
        assert_eq!(warnings(text), Vec::<(String, String)>::new());
    }
}
