//! The `warden` binary: command line, daemon wiring and output. Two
//! fronts sit on top, `warden`'s command line (`cli`) and Monit's
//! (`monit`), chosen by the name the binary is called by; both call down
//! into the verbs (`remote`, `syntax_check`, ...) and the `daemon`, which
//! know neither.

mod alert_test;
mod cli;
mod control_file;
mod daemon;
mod exit;
mod generate;
mod import;
mod logging;
mod monit;
mod plan;
mod procmatch;
mod remote;
mod syntax_check;
mod version;

fn main() -> std::process::ExitCode {
    // Before any thread starts: see `heap::configure`.
    warden::heap::configure();
    if monit::invoked_as_monit() {
        monit::run()
    } else {
        cli::run()
    }
}
