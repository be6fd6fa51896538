//! Lowering: the syntax tree becomes the config model. Each statement is
//! lowered on its own; errors are collected, never fatal, so one run reports
//! every problem.

pub mod check;
pub mod common;
pub(crate) mod context;
mod runs;
pub mod settings;
pub(crate) mod ssl;
mod statements;

pub use context::LowerContext;
pub(crate) use runs::{PIECE_MAX, lower_runs, threads_for};
pub use statements::lower;
