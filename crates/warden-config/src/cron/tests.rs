use super::*;

/// Tuesday 5 July 2011, 11:27 (Monit's own test date).
const TUE: CronTime = CronTime {
    minute: 27,
    hour: 11,
    day: 5,
    month: 7,
    weekday: 2,
};

fn at(minute: u32, hour: u32, day: u32, month: u32, weekday: u32) -> CronTime {
    CronTime {
        minute,
        hour,
        day,
        month,
        weekday,
    }
}

#[test]
fn specs_match_the_times_monit_matches() {
    let table: &[(&str, CronTime, bool)] = &[
        ("27 11 5 7 2", TUE, true),
        ("* * * * *", TUE, true),
        ("* 10-11 1-5 * 1-5", TUE, true),
        ("1-10 9-10 1-5 * 1-5", TUE, false),
        ("* 10,11 1-3,5,6 * *", TUE, true),
        ("* 10,11,12 4,5,6 * 0,6", TUE, false),
        ("* 8-19 * * 1-5", at(0, 8, 1, 1, 1), true),
        ("* 8-19 * * 1-5", at(59, 19, 1, 1, 5), true),
        ("* 8-19 * * 1-5", at(0, 20, 1, 1, 5), false),
        ("* 8-19 * * 1-5", at(0, 12, 1, 1, 6), false),
        ("* 0-3 * * 0", at(30, 2, 1, 1, 0), true),
        ("* 0-3 * * 7", at(30, 2, 1, 1, 0), true),
        ("* 0-3 * * 7", at(30, 2, 1, 1, 6), false),
        ("*/15 * * * *", at(45, 0, 1, 1, 0), true),
        ("*/15 * * * *", at(46, 0, 1, 1, 0), false),
        ("10-30/10 * * * *", at(30, 0, 1, 1, 0), true),
        ("10-30/10 * * * *", at(40, 0, 1, 1, 0), false),
        ("5/20 * * * *", at(45, 0, 1, 1, 0), true),
        ("5/20 * * * *", at(40, 0, 1, 1, 0), false),
        // Day of month and weekday must both match, as in Monit.
        ("* * 13 * 5", at(0, 0, 13, 3, 2), false),
        ("* * 13 * 5", at(0, 0, 13, 3, 5), true),
        ("* * * 12 *", at(0, 0, 24, 12, 3), true),
        ("* * * 12 *", at(0, 0, 24, 11, 3), false),
    ];
    for (spec, time, want) in table {
        let parsed = CronSpec::parse(spec).unwrap();
        assert_eq!(parsed.matches(*time), *want, "{spec} at {time:?}");
    }
}

#[test]
fn bad_specs_say_which_field_is_wrong_and_why() {
    let table = [
        (
            "* 8-19 *",
            "a cron spec has 5 fields (minute hour day month weekday), not 3",
        ),
        ("* * * * * *", "a cron spec has 5 fields"),
        ("", "not 0"),
        ("60 * * * *", "minute field '60': 60 is outside 0-59"),
        ("* 24 * * *", "hour field '24': 24 is outside 0-23"),
        ("* * 0 * *", "day of month field '0': 0 is outside 1-31"),
        ("* * * 13 *", "month field '13': 13 is outside 1-12"),
        ("* * * * 8", "weekday field '8': 8 is outside 0-7"),
        ("* 19-8 * * *", "the range 19-8 runs backwards"),
        ("*/0 * * * *", "a step must be at least 1"),
        ("a * * * *", "minute field 'a': 'a' is not a number"),
        ("1, * * * *", "minute field '1,': a number is missing"),
        ("* mon * * *", "hour field 'mon'"),
        ("1-2-3 * * * *", "'2-3' is not a number"),
    ];
    for (spec, want) in table {
        let err = CronSpec::parse(spec).unwrap_err().to_string();
        assert!(err.contains(want), "{spec:?}: {err}");
    }
}
