//! How each figure is written, one function per figure, for every text
//! that shows it: `monit status` and Warden's status, the service pages
//! and Warden's status page. Monit 5.33's formats wherever Monit prints
//! the figure; where Warden's own page shows it finer, that is a
//! documented variant of the same function, not a second one.

/// Bytes as Monit prints them: `0 B`, `8 kB`, `1.6 MB`, `0.5 B` (powers
/// of 1024; a whole number without decimals, else one).
pub fn bytes(amount: f64) -> String {
    const UNITS: [&str; 8] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB"];
    let sign = if amount < 0.0 { "-" } else { "" };
    let mut v = amount.abs();
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    scaled(sign, v, 1, UNITS[unit])
}

/// `v unit` with no decimals when `v` is whole, else `decimals`.
fn scaled(sign: &str, v: f64, decimals: usize, unit: &str) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{sign}{v:.0} {unit}")
    } else {
        format!("{sign}{v:.decimals$} {unit}")
    }
}

/// Milliseconds as Monit prints a time: `0.219 ms`, `1.500 s`, `2 m`.
pub fn millis(ms: f64) -> String {
    const STEPS: [(f64, &str); 6] = [
        (1000.0, "ms"),
        (60.0, "s"),
        (60.0, "m"),
        (24.0, "h"),
        (365.0, "d"),
        (999.0, "y"),
    ];
    let sign = if ms < 0.0 { "-" } else { "" };
    let mut v = ms.abs();
    for (base, unit) in STEPS {
        if v < base {
            return scaled(sign, v, 3, unit);
        }
        v /= base;
    }
    scaled(sign, v, 3, "y")
}

/// How finely an uptime is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uptime {
    /// Monit's: whole minutes, so a fresh start reads `0m`.
    Minutes,
    /// Warden's status page: seconds while under a minute (`42s`), so a
    /// service that keeps restarting shows it; from a minute on, Monit's.
    Seconds,
}

/// An uptime: `5m`, `2h 5m`, `3d 2h 5m` (and `42s` in [`Uptime::Seconds`]).
pub fn uptime(secs: u64, precision: Uptime) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) if m == 0 && precision == Uptime::Seconds => format!("{secs}s"),
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

/// A percentage as Monit prints one: one decimal, `12.3%`.
pub fn percent(p: f64) -> String {
    format!("{p:.1}%")
}

/// A measured value where Monit shows a whole number: rounded.
pub fn whole(v: f64) -> i64 {
    v.round() as i64
}

/// Monit's date in status: `Sat, 21 Nov 2026 07:07:09` (UTC here).
pub fn date(unix_s: u64) -> String {
    warden_probes::date::status_date(unix_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_formatted_as_monit_formats_them() {
        let table = [
            (bytes(0.0), "0 B"),
            (bytes(8.0 * 1024.0), "8 kB"),
            (bytes(1_677_722.0), "1.6 MB"),
            (bytes(0.5), "0.5 B"),
            (bytes(2_055_209.0), "2.0 MB"),
            (millis(0.219), "0.219 ms"),
            (millis(1.0), "1 ms"),
            (millis(1500.0), "1.500 s"),
            (millis(120_000.0), "2 m"),
            (uptime(59, Uptime::Minutes), "0m"),
            (uptime(3 * 3600 + 120, Uptime::Minutes), "3h 2m"),
            (uptime(86_400 + 60, Uptime::Minutes), "1d 0h 1m"),
            (percent(0.04), "0.0%"),
            (percent(86.34), "86.3%"),
            (date(1_795_245_229), "Sat, 21 Nov 2026 07:13:49"),
        ];
        for (got, want) in table {
            assert_eq!(got, want);
        }
        assert_eq!(whole(2.5), 3);
    }

    #[test]
    fn warden_s_page_shows_seconds_only_under_a_minute() {
        assert_eq!(uptime(42, Uptime::Seconds), "42s");
        assert_eq!(uptime(0, Uptime::Seconds), "0s");
        for secs in [60, 3_660, 93_784] {
            assert_eq!(uptime(secs, Uptime::Seconds), uptime(secs, Uptime::Minutes));
        }
    }
}
