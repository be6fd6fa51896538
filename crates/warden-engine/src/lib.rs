//! The engine: probe graph, scheduler, rule evaluation, actions and state.
//! `Engine::start` turns a config into one task per check; everything a
//! check does is reported as an [`Event`] and remembered in the
//! [`StateStore`].

pub mod backoff;
pub mod clock;
mod conntest;
pub mod context;
pub mod engine;
mod eval;
pub mod events;
pub mod factory;
mod figures;
pub mod history;
pub mod id;
mod mailbox;
pub mod plan;
pub mod request;
pub mod rules;
pub mod runner;
pub mod state;
pub mod status;
mod subject;
pub mod support;
pub mod systemd;
mod task;

pub use engine::Engine;
pub use events::{Event, EventBus, EventKind};
pub use id::{CheckId, CheckRef};
pub use request::{CheckRequest, ServiceAction};
pub use state::{CheckState, Monitoring, StateStore};
pub use status::{ServiceStatus, StatusBoard};
pub use support::unsupported;
