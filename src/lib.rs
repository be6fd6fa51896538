//! Warden's library side: the control interface (API, socket server,
//! client, status rendering) and Monit's unique id, shared by the `warden`
//! binary and benchmarks.

pub mod control;
pub mod heap;
pub mod monit_id;
pub mod resident;
