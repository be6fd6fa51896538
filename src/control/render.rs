//! `warden status` and `warden summary` as text, Monit's layouts plus
//! Warden's additions: pure functions from statuses to a string, so they
//! can be snapshotted and benchmarked.

use warden_engine::ServiceStatus;

/// `warden summary`: one line per check.
pub fn render_summary(statuses: &[ServiceStatus], _colour: bool) -> String {
    let mut out = String::new();
    for s in statuses {
        out.push_str(&format!("{} {} {}\n", s.name, s.status, s.kind));
    }
    out
}

/// `warden status`: one block per check.
pub fn render_status(statuses: &[ServiceStatus], _colour: bool) -> String {
    render_summary(statuses, false)
}
