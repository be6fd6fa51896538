//! Dates as Monit writes them, in UTC, through jiff: one place for the
//! log's, alerts' and programs' `2026-11-21T04:51:16+0000` and status's
//! `Sat, 21 Nov 2026 07:13:49`.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::civil::DateTime;
use jiff::tz::Offset;

/// `YYYY-MM-DDTHH:MM:SS+0000` for `t` (the log, alerts, `MONIT_DATE`).
pub fn monit_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format(secs, "%Y-%m-%dT%H:%M:%S+0000")
}

/// `Sat, 21 Nov 2026 07:13:49` for `unix_s` (status's dates).
pub fn status_date(unix_s: u64) -> String {
    format(unix_s, "%a, %d %b %Y %H:%M:%S")
}

/// `unix_s` in UTC as `spec` says; the epoch when it is past jiff's
/// range (the year 9999) or before 1970.
fn format(unix_s: u64, spec: &str) -> String {
    let at = i64::try_from(unix_s)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let civil: DateTime = Offset::UTC.to_datetime(at);
    // Only the directives above, on a civil time: formatting cannot fail.
    jiff::fmt::strtime::format(spec, civil).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_printed_like_monit_prints_them() {
        let table = [
            (0, "1970-01-01T00:00:00+0000", "Thu, 01 Jan 1970 00:00:00"),
            (
                951_782_400,
                "2000-02-29T00:00:00+0000",
                "Tue, 29 Feb 2000 00:00:00",
            ),
            (
                1_795_245_229,
                "2026-11-21T07:13:49+0000",
                "Sat, 21 Nov 2026 07:13:49",
            ),
        ];
        for (secs, iso, status) in table {
            assert_eq!(monit_date(UNIX_EPOCH + Duration::from_secs(secs)), iso);
            assert_eq!(status_date(secs), status);
        }
    }
}
