//! The `warden` binary: command line, daemon wiring and output.

mod alert_test;
mod cli;
mod daemon;
mod logging;
mod plan;
mod remote;

fn main() -> std::process::ExitCode {
    cli::run()
}
