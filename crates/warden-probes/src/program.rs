//! `check program`: runs the program every cycle through the one runner
//! (`run`: argv, no shell, the first 64 KiB of its output kept, the process
//! group killed past its timeout) and reports its exit status. The child is
//! always reaped, even when the caller gave up waiting, because the run
//! lives in a task of its own. It sees Monit's `MONIT_*` variables and their
//! `WARDEN_*` twins (`program_env`).

use std::sync::Arc;
use std::time::Duration;

use warden_config::model::Program;
use warden_config::users;

use crate::latest::Latest;
use crate::outcome::{Metric, Outcome, Status, Text};
use crate::{BoxFuture, Probe, nagios, run};

pub use crate::run::OUTPUT_LIMIT;

/// Monit's default program timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// How much of it status shows (Monit's default `programoutput` limit).
pub const STATUS_OUTPUT_LIMIT: usize = 512;

/// How one run of a check program went.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgramRun {
    /// Its exit status (128 + N when killed by signal N, like a shell).
    Exited(i32),
    TimedOut(Duration),
    NotStarted(String),
}

#[derive(Debug)]
pub struct ProgramProbe {
    program: Program,
    timeout: Duration,
    latest: Arc<Latest>,
    /// The check's name, for `MONIT_SERVICE`.
    service: String,
}

impl ProgramProbe {
    pub fn new(mut program: Program, latest: Arc<Latest>) -> Self {
        let timeout = program.timeout.unwrap_or(DEFAULT_TIMEOUT);
        // `as uid/gid` looked up once, not every cycle; a name unknown now
        // stays a name, asked again at each run (it may be created later).
        program.uid = program.uid.map(|u| users::resolved(&u, users::uid));
        program.gid = program.gid.map(|g| users::resolved(&g, users::gid));
        ProgramProbe {
            program,
            timeout,
            latest,
            service: String::new(),
        }
    }

    /// The check this program runs for (its `MONIT_SERVICE`).
    pub fn for_service(mut self, name: &str) -> Self {
        self.service = name.to_string();
        self
    }
}

/// Runs `program` once; see the module text. Never panics, never leaves a
/// zombie: on timeout the group is killed with SIGKILL and waited for.
pub async fn run_once(program: &Program, timeout: Duration) -> (ProgramRun, String) {
    run_with_env(program, timeout, Vec::new()).await
}

/// [`run_once`] with these environment variables added.
pub async fn run_with_env(
    program: &Program,
    timeout: Duration,
    env: Vec<(String, String)>,
) -> (ProgramRun, String) {
    let (ended, output) = run::run(program, timeout, env, run::Output::Keep).await;
    let ended = match ended {
        run::Ended::Exited(status) => {
            use std::os::unix::process::ExitStatusExt;
            let code = status
                .code()
                .or(status.signal().map(|s| 128 + s))
                .unwrap_or(-1);
            ProgramRun::Exited(code)
        }
        run::Ended::TimedOut(t) => ProgramRun::TimedOut(t),
        run::Ended::NotStarted(why) => ProgramRun::NotStarted(why),
    };
    (ended, output)
}

/// The outcome of a run: ok with its exit status whenever it ran to its
/// end (rules judge the status), failed when it timed out or never ran.
pub fn outcome(ended: &ProgramRun, output: &str) -> Outcome {
    match ended {
        ProgramRun::Exited(code) => {
            let first = output.lines().next().unwrap_or("").trim();
            let state = nagios::state_word(*code, output)
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            let said = if first.is_empty() {
                String::new()
            } else {
                format!(": {first}")
            };
            let mut o = Outcome::ok(format!("program exited with status {code}{state}{said}"))
                .with(Metric::ExitStatus, f64::from(*code));
            o.named = nagios::perfdata(output);
            o
        }
        ProgramRun::TimedOut(t) => Outcome::failed(
            Status::Failed,
            format!(
                "program timed out after {} s; its process group was killed",
                t.as_secs_f64()
            ),
        ),
        ProgramRun::NotStarted(why) => Outcome::failed(Status::Error, why.clone()),
    }
}

/// The start of `output` that status shows: at most
/// [`STATUS_OUTPUT_LIMIT`] bytes (cut at a character), without the
/// trailing newline.
pub fn status_output(output: &str) -> String {
    let mut end = output.len().min(STATUS_OUTPUT_LIMIT);
    while !output.is_char_boundary(end) {
        end -= 1;
    }
    output[..end].trim_end().to_string()
}

impl Probe for ProgramProbe {
    fn kind(&self) -> &'static str {
        "program"
    }

    /// The program's own timeout, plus time to kill and reap it.
    fn timeout(&self) -> Option<Duration> {
        Some(self.timeout + Duration::from_secs(2))
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        let (program, timeout) = (self.program.clone(), self.timeout);
        let last = self.latest.value(Metric::ExitStatus).map(|(_, v)| v as i32);
        let env = crate::program_env::variables(&self.service, last);
        // A task of its own: if the scheduler stops waiting, the run still
        // ends at its timeout and the child is still reaped.
        let started = std::time::SystemTime::now();
        let run = tokio::spawn(async move { run_with_env(&program, timeout, env).await });
        Box::pin(async move {
            let (ended, output) = run
                .await
                .unwrap_or_else(|e| (ProgramRun::NotStarted(e.to_string()), String::new()));
            let mut o = outcome(&ended, &output);
            if !matches!(ended, ProgramRun::NotStarted(_)) {
                let at = started
                    .duration_since(std::time::SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                o = o
                    .with(Metric::ProgramStarted, at as f64)
                    .with_text(Text::ProgramOutput, status_output(&output));
            }
            self.latest.publish(&o, Some(output));
            o
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(argv: &[&str]) -> Program {
        Program {
            command: argv.join(" "),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            uid: None,
            gid: None,
            timeout: None,
            span: Default::default(),
        }
    }

    #[tokio::test]
    async fn the_exit_status_and_output_are_reported() {
        let p = program(&[
            "sh",
            "-c",
            "echo 'PROCS CRITICAL | n=0;1;2'; echo oops >&2; exit 2",
        ]);
        let (ended, output) = run_once(&p, Duration::from_secs(10)).await;
        assert_eq!(ended, ProgramRun::Exited(2));
        assert_eq!(output, "PROCS CRITICAL | n=0;1;2\noops\n");
        let o = outcome(&ended, &output);
        assert!(o.is_ok());
        assert_eq!(o.value(Metric::ExitStatus), Some(2.0));
        assert_eq!(
            o.reason,
            "program exited with status 2 (CRITICAL): PROCS CRITICAL | n=0;1;2"
        );
        assert_eq!(o.named.len(), 1);
    }

    #[test]
    fn status_shows_the_first_512_bytes_without_the_last_newline() {
        assert_eq!(status_output("hi there\n"), "hi there");
        assert_eq!(status_output("a\nb\n\n"), "a\nb");
        let long = "é".repeat(400);
        let cut = status_output(&long);
        assert_eq!(cut.len(), 512);
        assert!(long.starts_with(&cut));
    }

    #[tokio::test]
    async fn a_run_reports_when_it_started_and_its_output_for_status() {
        let probe = ProgramProbe::new(program(&["echo", "hi", "there"]), Arc::default());
        let before = std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as f64;
        let o = probe.run().await;
        assert_eq!(o.text(Text::ProgramOutput), Some("hi there"));
        let started = o.value(Metric::ProgramStarted).unwrap();
        assert!((before..=before + 5.0).contains(&started), "{started}");
    }

    #[tokio::test]
    async fn a_hanging_program_and_its_group_are_killed_and_reaped_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("echo $$ > {}; sleep 60 & sleep 60", pidfile.display());
        let p = program(&["sh", "-c", &script]);
        let (ended, _) = run_once(&p, Duration::from_millis(300)).await;
        assert_eq!(ended, ProgramRun::TimedOut(Duration::from_millis(300)));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let group = rustix::process::Pid::from_raw(pid).unwrap();
        // The group leader was reaped; its background sleep got SIGKILL
        // (reaped by whoever adopts it): nothing of the group is alive.
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "leader not reaped"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while rustix::process::test_kill_process_group(group).is_ok() {
            let alive = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok())
                .any(|e| {
                    let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                    crate::procfs::parse_stat(&stat)
                        .is_some_and(|s| s.pgrp == pid as u32 && !s.is_zombie())
                });
            assert!(
                alive || std::time::Instant::now() < deadline,
                "group members left alive"
            );
            if !alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[tokio::test]
    async fn a_background_child_holding_the_output_open_does_not_make_it_time_out() {
        let p = program(&["sh", "-c", "echo $$; sleep 5 & exit 3"]);
        let (ended, output) = run_once(&p, Duration::from_secs(3)).await;
        let group: i32 = output.trim().parse().unwrap();
        let group = rustix::process::Pid::from_raw(group).unwrap();
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        assert_eq!(ended, ProgramRun::Exited(3));
    }

    #[tokio::test]
    async fn a_missing_program_is_an_error_with_its_name() {
        let (ended, _) = run_once(&program(&["/nonexistent/prog"]), Duration::from_secs(5)).await;
        let o = outcome(&ended, "");
        assert_eq!(o.status, Status::Error);
        assert!(o.reason.contains("/nonexistent/prog"), "{o:?}");
    }

    #[tokio::test]
    async fn output_beyond_64_kib_is_drained_but_not_kept() {
        let p = program(&["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"]);
        let (ended, output) = run_once(&p, Duration::from_secs(10)).await;
        assert_eq!(ended, ProgramRun::Exited(0));
        assert_eq!(output.len(), OUTPUT_LIMIT);
    }
}
