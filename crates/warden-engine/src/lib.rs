//! The engine: probe graph, scheduler, rule evaluation, actions and state.
