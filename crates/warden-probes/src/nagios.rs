//! The Nagios plugin convention for `check program`: exit status 0 OK,
//! 1 WARNING, 2 CRITICAL, 3 UNKNOWN, and performance data after `|`
//! (`'label'=value[unit];[warn];[crit];[min];[max]`), kept as named values.

use crate::outcome::NamedValue;

/// The state word of a plugin's exit status, when the output looks like a
/// plugin's (performance data, or the word itself on the first line), so a
/// plain script's `exit 1` is not called a WARNING.
pub fn state_word(code: i32, output: &str) -> Option<&'static str> {
    let word = match code {
        0 => "OK",
        1 => "WARNING",
        2 => "CRITICAL",
        3 => "UNKNOWN",
        _ => return None,
    };
    let first = output.lines().next().unwrap_or("");
    (first.contains(word) || first.contains('|')).then_some(word)
}

/// Every performance value of the output: after the first `|` of the first
/// line, and after a `|` on a later line (the long-output form).
pub fn perfdata(output: &str) -> Vec<NamedValue> {
    let mut lines = output.lines();
    let mut out = Vec::new();
    if let Some((_, perf)) = lines.next().and_then(|l| l.split_once('|')) {
        parse_into(perf, &mut out);
    }
    let mut long = false;
    for line in lines {
        match line.split_once('|') {
            Some((_, perf)) if !long => {
                long = true;
                parse_into(perf, &mut out);
            }
            _ if long => parse_into(line, &mut out),
            _ => {}
        }
    }
    out
}

/// Parses `label=value[unit];...` items separated by blanks.
fn parse_into(text: &str, out: &mut Vec<NamedValue>) {
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let Some((label, after)) = label(rest) else {
            return;
        };
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        if label.is_empty() {
            rest = after.trim_start();
            continue;
        }
        if let Some(v) = value(&label, &after[..end]) {
            out.push(v);
        }
        rest = after[end..].trim_start();
    }
}

/// A label up to `=`, quoted (`'a b'=`, `''` for a quote) or bare.
fn label(text: &str) -> Option<(String, &str)> {
    if let Some(quoted) = text.strip_prefix('\'') {
        let mut label = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                label.push(c);
            } else if quoted[i + 1..].starts_with('\'') {
                label.push('\'');
                chars.next();
            } else {
                return Some((label, quoted[i + 1..].strip_prefix('=')?));
            }
        }
        return None;
    }
    // A bare label has no blanks: a word without `=` is skipped.
    let word = text.split(char::is_whitespace).next().unwrap_or("");
    match word.split_once('=') {
        Some((label, _)) => Some((label.to_string(), &text[label.len() + 1..])),
        None => Some((String::new(), &text[word.len()..])),
    }
}

fn value(label: &str, field: &str) -> Option<NamedValue> {
    let first = field.split(';').next()?;
    let split = first
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(first.len());
    let (number, unit) = first.split_at(split);
    Some(NamedValue {
        name: label.to_string(),
        value: number.parse().ok()?,
        unit: unit.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(v: &[NamedValue]) -> Vec<(&str, f64, &str)> {
        v.iter()
            .map(|n| (n.name.as_str(), n.value, n.unit.as_str()))
            .collect()
    }

    #[test]
    fn performance_data_is_kept_by_label_with_its_unit() {
        let out = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968 'in use'=44.5%;;;0;100 time=0.02s\n";
        assert_eq!(
            named(&perfdata(out)),
            [
                ("/", 2643.0, "MB"),
                ("in use", 44.5, "%"),
                ("time", 0.02, "s")
            ]
        );
    }

    #[test]
    fn long_output_perfdata_continues_on_later_lines() {
        let out = "OK - fine | a=1\nmore text\nstill text | b=2c\nc=3\n";
        assert_eq!(
            named(&perfdata(out)),
            [("a", 1.0, ""), ("b", 2.0, "c"), ("c", 3.0, "")]
        );
    }

    #[test]
    fn garbage_and_quotes_in_labels_do_not_break_parsing() {
        assert_eq!(
            named(&perfdata("x | 'it''s'=5 bad novalue= U=U")),
            [("it's", 5.0, "")]
        );
        assert!(perfdata("no perfdata here").is_empty());
    }

    #[test]
    fn a_state_word_is_given_only_to_plugin_shaped_output() {
        let table = [
            (0, "OK - all good", Some("OK")),
            (2, "PROCS CRITICAL: 0 processes", Some("CRITICAL")),
            (1, "load high | load=5", Some("WARNING")),
            (1, "grep found nothing", None),
            (3, "UNKNOWN - cannot tell", Some("UNKNOWN")),
            (4, "OK", None),
        ];
        for (code, out, want) in table {
            assert_eq!(state_word(code, out), want, "{code} {out}");
        }
    }
}
