//! Durations in the model serialise as whole milliseconds (`plan --json`).
//! A leaf, for every model module that holds a duration.

/// Durations serialised as whole milliseconds.
pub mod duration_ms {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u128(d.as_millis())
    }
}

/// Optional durations serialised as whole milliseconds or null.
pub mod opt_duration_ms {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }
}
