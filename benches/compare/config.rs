//! Config: wall time of `-t` (parse and validate, then exit) on a
//! generated control file of 10,000 checks, each monitor run N times.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config_gen;
use crate::procs;
use crate::sandbox::{Monitor, Sandbox};
use crate::stats;

pub fn run(monitor: Monitor, bin: &Path, checks: usize, runs: usize) -> Result<Value, String> {
    let sb = Sandbox::new()?;
    // The generated file has its own `set daemon` and `set logfile`.
    let text = config_gen::generate(checks);
    let rc = sb.write_rc(&text)?;
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        // Output to files and the exit code from the reaper thread: a
        // `Command`'s own wait would race it.
        let err_path = sb.path("stderr");
        let err = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let child = procs::Child::spawn(
            Command::new(bin)
                .arg("-t")
                .arg("-c")
                .arg(&rc)
                .env("HOME", sb.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err),
        )?;
        let code = child.wait(Duration::from_secs(120));
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        if code != Some(0) {
            let text = std::fs::read_to_string(&err_path).unwrap_or_default();
            let head: Vec<&str> = text.lines().take(5).collect();
            return Err(format!(
                "{} -t exited with {code:?}: {}",
                monitor.name(),
                head.join("\n")
            ));
        }
    }
    Ok(json!({ "checks": checks, "bytes": text.len(), "wall_ms": stats::summary(&times) }))
}
