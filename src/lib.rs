//! Warden's library side: the control interface (API, socket server,
//! client, status rendering), shared by the `warden` binary and benchmarks.

pub mod control;
