//! Dates in Monit's log format (`2026-11-21T04:51:16+0000`), in UTC, with
//! no date crate: the civil calendar from days since the epoch; and the
//! local wall-clock time that cron specs are matched against (Monit matches
//! them in local time), through jiff and the system time zone.

use std::time::{SystemTime, UNIX_EPOCH};

use warden_config::cron::CronTime;

/// The local time at `t` as a cron spec sees it; UTC when the system time
/// zone cannot be read (jiff falls back to UTC and says so in its log).
pub fn cron_time(t: SystemTime) -> CronTime {
    let zoned = jiff::Timestamp::try_from(t)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(jiff::tz::TimeZone::system());
    cron_time_of(&zoned)
}

fn cron_time_of(z: &jiff::Zoned) -> CronTime {
    // jiff's fields are small signed integers within their calendar ranges.
    let n = |v: i8| u32::try_from(v).unwrap_or(0);
    CronTime {
        minute: n(z.minute()),
        hour: n(z.hour()),
        day: n(z.day()),
        month: n(z.month()),
        weekday: n(z.weekday().to_sunday_zero_offset()),
    }
}

/// `YYYY-MM-DDTHH:MM:SS+0000` for `t`.
pub fn monit_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cron_time_reads_the_wall_clock_of_the_zone() {
        let table = [
            // Tuesday 5 July 2011 11:27 in UTC and two hours ahead.
            ("2011-07-05T11:27:05+00:00[UTC]", (27, 11, 5, 7, 2)),
            ("2011-07-05T11:27:05+02:00[+02:00]", (27, 11, 5, 7, 2)),
            ("2026-11-22T00:00:00+00:00[UTC]", (0, 0, 22, 11, 0)),
        ];
        for (text, (minute, hour, day, month, weekday)) in table {
            let z: jiff::Zoned = text.parse().unwrap();
            let want = CronTime {
                minute,
                hour,
                day,
                month,
                weekday,
            };
            assert_eq!(cron_time_of(&z), want, "{text}");
        }
    }

    #[test]
    fn dates_are_printed_like_monit_prints_them() {
        let table = [
            (0, "1970-01-01T00:00:00+0000"),
            (951_782_400, "2000-02-29T00:00:00+0000"),
            (1_795_236_676, "2026-11-21T04:51:16+0000"),
        ];
        for (secs, want) in table {
            assert_eq!(monit_date(UNIX_EPOCH + Duration::from_secs(secs)), want);
        }
    }
}
