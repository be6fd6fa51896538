//! Loads the 10,000-check control file of `benches/parse.rs` a few times and
//! prints the fastest and the median run: a quick target for `perf record`
//! or callgrind that builds only this crate
//! (`cargo run --release -p warden-config --example parse_10k [RUNS|--print]`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool

use std::path::Path;
use std::time::{Duration, Instant};

#[path = "../../../benches/compare/config_gen.rs"]
mod config_gen;

fn main() {
    let arg = std::env::args().nth(1);
    let text = config_gen::generate(10_000);
    if arg.as_deref() == Some("--print") {
        // The file itself, to time `warden -t` and `monit -t` on it.
        print!("{text}");
        return;
    }
    let runs: usize = arg.map_or(10, |a| a.parse().expect("RUNS is a number"));
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let loaded = warden_config::load_text(Path::new("/bench/wardenrc"), text.clone());
            let took = started.elapsed();
            assert!(!loaded.has_errors(), "{}", loaded.render());
            took
        })
        .collect();
    times.sort();
    println!(
        "{} bytes, {runs} runs: fastest {:.1} ms, median {:.1} ms",
        text.len(),
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3
    );
}
