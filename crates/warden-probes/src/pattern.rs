//! A `matching` pattern: the config's [`Pattern`], compiled (or kept as
//! plain text for a substring search) when the config was lowered.

pub use warden_config::model::Pattern;
