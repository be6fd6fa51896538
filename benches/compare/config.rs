//! Config: wall time of `-t` (parse and validate, then exit) on a
//! generated control file of 10,000 checks, each monitor run N times.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

use crate::config_gen;
use crate::sandbox::{Monitor, Sandbox};
use crate::stats;

pub fn run(monitor: Monitor, bin: &Path, checks: usize, runs: usize) -> Result<Value, String> {
    let sb = Sandbox::new()?;
    // The generated file has its own `set daemon` and `set logfile`.
    let text = config_gen::generate(checks);
    let rc = sb.write_rc(&text)?;
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let out = Command::new(bin)
            .arg("-t")
            .arg("-c")
            .arg(&rc)
            .env("HOME", sb.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let head: Vec<&str> = err.lines().take(5).collect();
            return Err(format!("{} -t failed: {}", monitor.name(), head.join("\n")));
        }
    }
    Ok(json!({ "checks": checks, "bytes": text.len(), "wall_ms": stats::summary(&times) }))
}
