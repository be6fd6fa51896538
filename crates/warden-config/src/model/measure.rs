//! What rules compare against: an operator and a quantity with its unit.
//! A leaf of the model, shared by checks, tests and their descriptions.

use serde::Serialize;

/// Comparison operators: `>`, `<`, `=`, `!=`, `>=`, `<=` (and the words
/// `greater`, `less`, `equal`, `not equal`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    Equal,
    NotEqual,
}

impl Operator {
    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Operator::Greater => measured > limit,
            Operator::GreaterOrEqual => measured >= limit,
            Operator::Less => measured < limit,
            Operator::LessOrEqual => measured <= limit,
            Operator::Equal => measured == limit,
            Operator::NotEqual => measured != limit,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Greater => ">",
            Operator::GreaterOrEqual => ">=",
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Equal => "=",
            Operator::NotEqual => "!=",
        }
    }
}

/// A number with its unit, normalised: bytes, percent, seconds, a count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantity {
    pub value: f64,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Percent,
    Bytes,
    Seconds,
    /// A rate per second (bytes, packets or operations).
    BytesPerSecond,
    PacketsPerSecond,
    OpsPerSecond,
}
