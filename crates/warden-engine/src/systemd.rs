//! The subject probe of a check bound to a systemd unit: systemd already
//! tracks the unit's process, so the probe asks it for the unit's MainPID
//! (`systemctl show`) and then reads that process like any other.

use std::process::Stdio;

use warden_probes::{BoxFuture, Outcome, Probe, ProcessFacts, Status, procfs};

/// Why systemd did not say the unit's main pid.
#[derive(Debug, thiserror::Error)]
enum MainPidError {
    #[error("no systemctl command")]
    NoCommand,
    #[error("cannot run systemctl: {0}")]
    Run(std::io::Error),
    #[error("systemctl show {unit} failed: {status}")]
    Failed {
        unit: String,
        status: std::process::ExitStatus,
    },
    #[error("systemctl gave no main pid for {unit}: {word:?}")]
    NoPid { unit: String, word: String },
}

#[derive(Debug)]
pub struct UnitProbe {
    unit: String,
    /// `systemctl`, or a stand-in command in tests.
    systemctl: Vec<String>,
}

impl UnitProbe {
    pub fn new(unit: &str) -> UnitProbe {
        UnitProbe {
            unit: unit.to_string(),
            systemctl: vec!["systemctl".into()],
        }
    }

    async fn main_pid(&self) -> Result<u32, MainPidError> {
        let (exe, first) = self
            .systemctl
            .split_first()
            .ok_or(MainPidError::NoCommand)?;
        let out = tokio::process::Command::new(exe)
            .args(first)
            .args(["show", "--property=MainPID", "--value", &self.unit])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(MainPidError::Run)?;
        if !out.status.success() {
            return Err(MainPidError::Failed {
                unit: self.unit.clone(),
                status: out.status,
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        // `--value` prints the bare number; older systemctl prints `MainPID=N`.
        let word = text.trim().trim_start_matches("MainPID=");
        word.parse().map_err(|_| MainPidError::NoPid {
            unit: self.unit.clone(),
            word: word.to_string(),
        })
    }

    fn outcome(&self, pid: u32) -> Outcome {
        let gone = || {
            Outcome::failed(
                Status::Missing,
                format!("unit {} has no running main process", self.unit),
            )
        };
        if pid == 0 {
            return gone();
        }
        match procfs::read_stat(pid) {
            Ok(None) => gone(),
            Err(e) => Outcome::failed(Status::Error, format!("cannot read process {pid}: {e}")),
            Ok(Some(s)) if s.is_zombie() => Outcome::failed(
                Status::Zombie,
                format!("process with pid {pid} is a zombie"),
            ),
            Ok(Some(s)) => {
                let mut out = Outcome::ok(format!("process is running with pid {pid}"));
                out.process = Some(ProcessFacts {
                    pid,
                    ppid: s.ppid,
                    start_ticks: s.starttime,
                });
                out
            }
        }
    }
}

impl Probe for UnitProbe {
    fn kind(&self) -> &'static str {
        "process"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match self.main_pid().await {
                Ok(pid) => self.outcome(pid),
                Err(why) => Outcome::failed(Status::Error, why.to_string()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in `systemctl` that prints `answer` whatever it is asked.
    fn probe_answering(answer: &str) -> UnitProbe {
        UnitProbe {
            unit: "x.service".into(),
            systemctl: ["sh", "-c", "echo \"$0\"", answer]
                .map(String::from)
                .to_vec(),
        }
    }

    #[tokio::test]
    async fn the_units_main_pid_is_the_process_and_zero_means_not_running() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let table = [
            (child.id().to_string(), Status::Ok),
            (format!("MainPID={}", child.id()), Status::Ok),
            ("0".to_string(), Status::Missing),
            ("nonsense".to_string(), Status::Error),
        ];
        for (answer, status) in table {
            let out = probe_answering(&answer).run().await;
            assert_eq!(out.status, status, "{answer}: {}", out.reason);
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
