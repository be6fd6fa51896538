//! Which tests each type of check takes, and which tests take an `else`,
//! as Monit 5.33's grammar says: a test in a check it means nothing to
//! (`if cpu > 50%` on a file) is an error there, as it is in Monit, instead
//! of a rule that is never tested.

use crate::diag::Diagnostic;
use crate::lower::context::LowerContext;
use crate::model::{CheckKind, CheckType, Endpoint, Resource, Rule, Test};

use CheckType::*;

const PATHS: &[CheckType] = &[File, Filesystem, Directory, Fifo];
const OWNED: &[CheckType] = &[Process, File, Filesystem, Directory, Fifo];
const ALL: &[CheckType] = CheckType::ALL;

/// The test's name in messages and the types of check that take it.
fn takers(test: &Test) -> (&'static str, &'static [CheckType]) {
    match test {
        Test::NotExist => ("'does not exist'", OWNED),
        Test::Exist => ("'exist'", OWNED),
        Test::Resource { resource, .. } => resource_takers(*resource),
        Test::Connection(c) => match c.endpoint {
            Endpoint::Port { .. } => ("port", &[Process, Host]),
            Endpoint::UnixSocket { .. } => ("unixsocket", &[Process]),
        },
        Test::Url(_) => ("url", &[Process, Host]),
        Test::Ping { .. } => ("ping", &[Host]),
        Test::Restarts { .. } => ("restarts", ALL),
        Test::Permission(_) => ("permission", PATHS),
        Test::PermissionChanged => ("'changed permission'", PATHS),
        Test::Uid(_) => ("uid", OWNED),
        Test::Gid(_) => ("gid", OWNED),
        Test::Checksum { .. } => ("checksum", &[File]),
        Test::Timestamp { .. } => ("timestamp", &[File, Directory, Fifo]),
        Test::Size { .. } => ("size", &[File]),
        Test::Content { .. } => ("content", &[File, Program]),
        Test::Space { inode: true, .. } => ("inode", &[Filesystem]),
        Test::Space { .. } => ("space", &[Filesystem]),
        Test::FsFlagsChanged => ("fsflags", &[Filesystem]),
        Test::Status { .. } => ("status", &[Program]),
        Test::PidChanged => ("'changed pid'", &[Process]),
        Test::PpidChanged => ("'changed ppid'", &[Process]),
        Test::Link { .. } => ("link", &[Network]),
        Test::Saturation { .. } => ("saturation", &[Network]),
        Test::Transfer { .. } => ("upload/download", &[Network]),
        Test::Uptime { .. } => ("uptime", &[Process, System]),
        // Warden's own: a lookup needs no particular check.
        Test::Resolve(_) => ("resolve", ALL),
    }
}

fn resource_takers(resource: Resource) -> (&'static str, &'static [CheckType]) {
    use Resource as R;
    match resource {
        R::Cpu => ("cpu", &[Process, System]),
        R::TotalCpu => ("'total cpu'", &[Process]),
        R::CpuUser | R::CpuSystem | R::CpuWait => ("'cpu (user|system|wait...)'", &[System]),
        R::Memory => ("memory", &[Process, System]),
        R::TotalMemory => ("'total memory'", &[Process]),
        R::Swap => ("swap", &[System]),
        R::Children => ("children", &[Process]),
        R::Threads => ("threads", &[Process]),
        R::LoadAvg1
        | R::LoadAvg5
        | R::LoadAvg15
        | R::LoadAvg1PerCore
        | R::LoadAvg5PerCore
        | R::LoadAvg15PerCore => ("loadavg", &[Process, System]),
        R::FileDescriptors => ("filedescriptors", &[Process, System]),
        R::TotalFileDescriptors => ("'total filedescriptors'", &[Process]),
        R::ReadBytes | R::WriteBytes | R::ReadOps | R::WriteOps => {
            ("read/write", &[Process, Filesystem])
        }
        R::ServiceTime => ("'service time'", &[Filesystem]),
    }
}

/// Tests that fire on an event and have no failed state to recover from:
/// Monit's grammar gives them no `else`.
fn takes_no_recovery(test: &Test) -> Option<&'static str> {
    match test {
        Test::Restarts { .. } => Some("restarts"),
        Test::PidChanged => Some("'changed pid'"),
        Test::PpidChanged => Some("'changed ppid'"),
        Test::FsFlagsChanged => Some("'changed fsflags'"),
        Test::Status { changed: true, .. } => Some("'changed status'"),
        Test::Timestamp { changed: true, .. } => Some("'changed timestamp'"),
        Test::Checksum { changed: true, .. } => Some("'changed checksum'"),
        Test::Size { changed: true, .. } => Some("'changed size'"),
        Test::Content { .. } => Some("content"),
        _ => None,
    }
}

/// Errors for a rule whose test the check's type does not take, or whose
/// test takes no `else`.
pub(super) fn rule_fits(cx: &mut LowerContext, kind: &CheckKind, rule: &Rule) {
    let kind = kind.check_type();
    let (name, kinds) = takers(&rule.test.value);
    if !kinds.contains(&kind) {
        let takers: Vec<&str> = kinds.iter().map(|k| k.word()).collect();
        cx.push(
            Diagnostic::error(
                rule.test.span,
                format!("the {name} test does not apply to a {} check", kind.word()),
            )
            .with_hint(format!("it applies to {} checks", one_of(&takers))),
        );
    }
    if let (Some(name), Some(recovery)) = (takes_no_recovery(&rule.test.value), &rule.recovery) {
        cx.push(
            Diagnostic::error(
                recovery.action.span,
                format!("a {name} rule takes no 'else': it fires on an event, not on a state that recovers"),
            )
            .with_hint("remove the 'else ...' part"),
        );
    }
}

fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn errors(text: &str) -> Vec<String> {
        let loaded = crate::load_text_without_includes(Path::new("t.rc"), text.into());
        loaded
            .diagnostics
            .into_iter()
            .filter(|d| d.is_error())
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_test_of_another_type_of_check_is_an_error_naming_the_types_that_take_it() {
        let loaded = crate::load_text_without_includes(
            Path::new("t.rc"),
            "check file f with path /etc/hosts\n  if cpu > 50% then alert\n".into(),
        );
        let d = loaded.diagnostics.iter().find(|d| d.is_error()).unwrap();
        assert_eq!(d.message, "the cpu test does not apply to a file check");
        assert_eq!(
            d.hint.as_deref(),
            Some("it applies to process and system checks")
        );
    }

    #[test]
    fn each_test_is_taken_where_monit_takes_it() {
        let fits = [
            "check process p with pidfile /run/p.pid\n if total cpu > 5% then alert",
            "check process p with pidfile /run/p.pid\n if failed unixsocket /run/p.sock then alert",
            "check system s\n if cpu wait > 5% then alert",
            "check system s\n if swap > 5% then alert",
            "check filesystem f with path /\n if inode usage > 5% then alert",
            "check filesystem f with path /\n if read rate > 1 MB/s then alert",
            "check program p with path /bin/true\n if content = \"x\" then alert",
            "check directory d with path /tmp\n if changed timestamp then alert",
            "check network n with interface lo\n if saturation > 90% then alert",
            "check host h with address 127.0.0.1\n if failed ping then alert",
        ];
        for text in fits {
            assert_eq!(errors(text), Vec::<String>::new(), "{text}");
        }
        let misfits = [
            "check system s\n if total cpu > 5% then alert",
            "check process p with pidfile /run/p.pid\n if swap > 5% then alert",
            "check host h with address 127.0.0.1\n if failed unixsocket /run/p.sock then alert",
            "check file f with path /etc/hosts\n if failed port 80 then alert",
            "check process p with pidfile /run/p.pid\n if failed ping then alert",
            "check directory d with path /tmp\n if size > 1 MB then alert",
            "check system s\n if does not exist then alert",
            "check file f with path /etc/hosts\n if changed fsflags then alert",
        ];
        for text in misfits {
            let found = errors(text);
            assert!(
                found.len() == 1 && found[0].contains("does not apply to"),
                "{text}: {found:?}"
            );
        }
    }

    #[test]
    fn event_tests_take_no_else() {
        let found = errors(
            "check process p with pidfile /run/p.pid\n  if changed pid then alert else if succeeded then alert\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("a 'changed pid' rule takes no 'else'"));
        assert_eq!(
            errors(
                "check file f with path /etc/hosts\n  if changed permission then alert else alert\n"
            ),
            Vec::<String>::new()
        );
    }
}
