//! The environment a program runs with, for action programs and `check
//! program` alike: Monit's `MONIT_*` variables (service, event,
//! description, host, date, and the process's pid or the last exit status)
//! and the same values again as `WARDEN_*`. A check run is not caused by an
//! event, so its event and description read `No Event`, as in Monit.

use std::time::SystemTime;

use crate::date::monit_date;

/// A `check program` run's variables: `(NAME, value)` pairs, each set as
/// `MONIT_NAME` and `WARDEN_NAME`.
pub fn variables(service: &str, last_status: Option<i32>) -> Vec<(String, String)> {
    let status = last_status.map(|code| ("PROGRAM_STATUS", code.to_string()));
    for_event(service, "No Event", "No Event", status)
}

/// The variables of a program run about `event` on `service`, with one
/// more (`PROCESS_PID`, `PROGRAM_STATUS`) when given.
pub fn for_event(
    service: &str,
    event: &str,
    description: &str,
    extra: Option<(&'static str, String)>,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("SERVICE", service.to_string()),
        ("EVENT", event.to_string()),
        ("DESCRIPTION", description.to_string()),
        ("HOST", hostname()),
        ("DATE", monit_date(SystemTime::now())),
    ];
    env.extend(extra);
    env.into_iter()
        .flat_map(|(k, v)| {
            [
                (format!("MONIT_{k}"), v.clone()),
                (format!("WARDEN_{k}"), v),
            ]
        })
        .collect()
}

/// The kernel's host name (what `uname -n` prints), `localhost` when unset.
pub fn hostname() -> String {
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    if name.is_empty() {
        "localhost".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_are_utc_in_the_engine_format() {
        let table = [
            (0, "1970-01-01T00:00:00+0000"),
            (951_782_400, "2000-02-29T00:00:00+0000"),
            (1_795_236_676, "2026-11-21T04:51:16+0000"),
        ];
        for (secs, want) in table {
            assert_eq!(monit_date(UNIX_EPOCH + Duration::from_secs(secs)), want);
        }
    }

    #[test]
    fn every_variable_has_a_monit_and_a_warden_name() {
        let env = variables("nightly", Some(2));
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("MONIT_SERVICE"), Some("nightly"));
        assert_eq!(get("WARDEN_SERVICE"), Some("nightly"));
        assert_eq!(get("MONIT_EVENT"), Some("No Event"));
        assert_eq!(get("WARDEN_PROGRAM_STATUS"), Some("2"));
        assert!(get("MONIT_HOST").is_some_and(|h| !h.is_empty()));
        assert!(get("MONIT_DATE").is_some_and(|d| d.ends_with("+0000")));
        assert_eq!(variables("x", None).len(), 10);
    }
}
