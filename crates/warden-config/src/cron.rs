//! Monit's cron specs for `every "..."` and `not every "..."`: five fields
//! (minute hour day-of-month month weekday), each `*`, a number, a range
//! `a-b`, a list `a,b-c`, or (beyond Monit) a step `*/n`, `a-b/n`. A time
//! matches when all five fields match, as in Monit (not Vixie cron's "day
//! of month or weekday").

use std::fmt;

/// One field's name and allowed values, in spec order.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    // 7 is also Sunday, as in most crons; stored as 0.
    ("weekday", 0, 7),
];

/// A parsed spec: one bit set per allowed value of each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CronSpec {
    allowed: [u64; 5],
}

/// A spec as written and as parsed, made once at lowering: the schedule
/// shows the words (`plan`, JSON) and the engine tests the bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: Box<str>,
    spec: CronSpec,
}

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        Ok(Cron {
            spec: CronSpec::parse(text)?,
            text: text.into(),
        })
    }

    /// The spec as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn spec(&self) -> CronSpec {
        self.spec
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// As the text written, the way the model showed it when it was a string.
impl serde::Serialize for Cron {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// A local wall-clock time, as far as a cron spec looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CronTime {
    pub minute: u32,
    pub hour: u32,
    /// 1-31.
    pub day: u32,
    /// 1-12.
    pub month: u32,
    /// 0 = Sunday ... 6 = Saturday.
    pub weekday: u32,
}

/// Why a spec is not valid, in words for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("a cron spec has 5 fields (minute hour day month weekday), not {0}")]
    FieldCount(usize),
    /// One field is wrong (`minute field '60': 60 is outside 0-59`).
    #[error("{field} field '{text}': {why}")]
    Field {
        field: &'static str,
        text: String,
        why: FieldError,
    },
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("a number is missing")]
    NoNumber,
    #[error("'{0}' is not a number, '*', a range a-b or a list a,b")]
    NotANumber(String),
    #[error("{value} is outside {lo}-{hi}")]
    OutOfRange { value: u32, lo: u32, hi: u32 },
    #[error("the range {from}-{to} runs backwards")]
    Backwards { from: u32, to: u32 },
    #[error("a step must be at least 1")]
    ZeroStep,
}

impl CronSpec {
    /// Parses a five-field spec.
    pub fn parse(spec: &str) -> Result<CronSpec, CronError> {
        let parts: Vec<&str> = spec.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError::FieldCount(parts.len()));
        }
        let mut allowed = [0u64; 5];
        for (i, part) in parts.iter().enumerate() {
            allowed[i] = field(part, FIELDS[i])?;
        }
        // Sunday may be written 7.
        if allowed[4] & (1 << 7) != 0 {
            allowed[4] = (allowed[4] & !(1 << 7)) | 1;
        }
        Ok(CronSpec { allowed })
    }

    /// True when every field allows the time's value.
    pub fn matches(&self, t: CronTime) -> bool {
        [t.minute, t.hour, t.day, t.month, t.weekday]
            .iter()
            .zip(self.allowed)
            .all(|(&v, bits)| v < 64 && bits & (1u64 << v) != 0)
    }
}

/// One field: a comma-separated list of items.
fn field(text: &str, (name, lo, hi): (&'static str, u32, u32)) -> Result<u64, CronError> {
    let bad = |why: FieldError| CronError::Field {
        field: name,
        text: text.to_string(),
        why,
    };
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(number(s).map_err(&bad)?)),
            None => (item, None),
        };
        let (from, to) = match range {
            "*" => (lo, hi),
            _ => match range.split_once('-') {
                Some((a, b)) => (number(a).map_err(&bad)?, number(b).map_err(&bad)?),
                // `5/15` means 5, 20, 35, 50 as in Vixie cron.
                None if step.is_some() => (number(range).map_err(&bad)?, hi),
                None => {
                    let n = number(range).map_err(&bad)?;
                    (n, n)
                }
            },
        };
        for value in [from, to] {
            if value < lo || value > hi {
                return Err(bad(FieldError::OutOfRange { value, lo, hi }));
            }
        }
        if from > to {
            return Err(bad(FieldError::Backwards { from, to }));
        }
        let step = step.unwrap_or(1);
        if step == 0 {
            return Err(bad(FieldError::ZeroStep));
        }
        bits |= (from..=to)
            .step_by(step as usize)
            .fold(0u64, |b, n| b | 1u64 << n);
    }
    Ok(bits)
}

fn number(text: &str) -> Result<u32, FieldError> {
    if text.is_empty() {
        return Err(FieldError::NoNumber);
    }
    text.parse()
        .map_err(|_| FieldError::NotANumber(text.to_string()))
}

#[cfg(test)]
mod tests;
