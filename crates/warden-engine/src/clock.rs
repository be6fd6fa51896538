//! The local wall-clock time that cron specs are matched against (Monit
//! matches them in local time), through jiff and the system time zone; and
//! Monit's log date (`2026-11-21T04:51:16+0000`), which the probes' `date`
//! module writes for everyone.

use std::time::SystemTime;

pub use warden_probes::date::monit_date;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

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
