//! Runs action programs through the probes' one runner (`warden_probes::run`:
//! argv with no shell, `as uid/gid`, a timeout after which the whole process
//! group is killed, and always a reaped child), with Monit's environment
//! variables for the event (and `WARDEN_*` twins).

use std::process::ExitStatus;
use std::time::Duration;

use warden_config::model::Program;
use warden_probes::{program_env, run};

/// Monit's default for start/stop/restart programs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the program is run for: it becomes the environment.
#[derive(Debug, Clone, Default)]
pub struct ActionContext {
    pub service: String,
    /// The event name (`Does not exist`, ...), `MONIT_EVENT`.
    pub event: String,
    pub description: String,
    pub pid: Option<u32>,
}

/// How a program run ended.
#[derive(Debug)]
pub enum RunOutcome {
    Exited(ExitStatus),
    /// It ran past its timeout; its process group was killed and reaped.
    TimedOut(Duration),
    /// It could not be started at all (missing file, unknown user, ...).
    NotStarted(String),
}

impl RunOutcome {
    pub fn success(&self) -> bool {
        matches!(self, RunOutcome::Exited(s) if s.success())
    }

    /// Words for the log: `exit status 1`, `timed out after 30 s`.
    pub fn describe(&self) -> String {
        match self {
            RunOutcome::Exited(s) => match s.code() {
                Some(c) => format!("exit status {c}"),
                None => format!("{s}"),
            },
            RunOutcome::TimedOut(t) => format!("timed out after {} s", t.as_secs_f64()),
            RunOutcome::NotStarted(e) => e.clone(),
        }
    }
}

/// Runs `program` to its end or its timeout (`default` when it has none),
/// through the probes' runner with its output thrown away.
pub async fn run(program: &Program, ctx: &ActionContext, default: Duration) -> RunOutcome {
    let timeout = program.timeout.unwrap_or(default);
    let pid = ctx.pid.map(|pid| ("PROCESS_PID", pid.to_string()));
    let env = program_env::for_event(&ctx.service, &ctx.event, &ctx.description, pid);
    match run::run(program, timeout, env, run::Output::Discard)
        .await
        .0
    {
        run::Ended::Exited(status) => RunOutcome::Exited(status),
        run::Ended::TimedOut(t) => RunOutcome::TimedOut(t),
        run::Ended::NotStarted(why) => RunOutcome::NotStarted(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(cmd: &str, timeout: Option<Duration>) -> Program {
        Program {
            command: cmd.into(),
            argv: shell_words::split(cmd).unwrap(),
            uid: None,
            gid: None,
            timeout,
            span: Default::default(),
        }
    }

    fn ctx() -> ActionContext {
        ActionContext {
            service: "web".into(),
            event: "Does not exist".into(),
            description: "process is not running".into(),
            pid: Some(4242),
        }
    }

    #[tokio::test]
    async fn the_program_sees_monit_and_warden_variables() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let script = format!(
            "sh -c 'echo $MONIT_SERVICE $WARDEN_SERVICE $MONIT_EVENT/$MONIT_PROCESS_PID $MONIT_HOST > {}'",
            out.display()
        );
        let r = run(&program(&script, None), &ctx(), DEFAULT_TIMEOUT).await;
        assert!(r.success(), "{}", r.describe());
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            std::fs::read_to_string(out).unwrap().trim(),
            format!("web web Does not exist/4242 {host}")
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild");
        // The grandchild would outlive its parent if only the parent were killed.
        let script = format!("sh -c 'sleep 60 & echo $! > {}; wait'", pidfile.display());
        let r = run(
            &program(&script, Some(Duration::from_millis(500))),
            &ctx(),
            DEFAULT_TIMEOUT,
        )
        .await;
        assert!(matches!(r, RunOutcome::TimedOut(_)), "{}", r.describe());
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            !process_alive(pid)
        });
        assert!(gone, "the grandchild {pid} survived the group kill");
    }

    #[tokio::test]
    async fn a_finished_program_is_reaped() {
        let r = run(
            &program("sh -c 'echo $$ > /dev/null; exit 3'", None),
            &ctx(),
            DEFAULT_TIMEOUT,
        )
        .await;
        assert_eq!(r.describe(), "exit status 3");
        let zombies = children_in_state('Z');
        assert!(zombies.is_empty(), "zombies left: {zombies:?}");
    }

    #[tokio::test]
    async fn a_missing_program_is_reported_not_panicked() {
        let r = run(&program("/nonexistent/prog", None), &ctx(), DEFAULT_TIMEOUT).await;
        assert!(matches!(r, RunOutcome::NotStarted(_)), "{}", r.describe());
    }

    fn process_alive(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => false,
        }
    }

    fn children_in_state(state: char) -> Vec<String> {
        let me = std::process::id().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
            .filter(|s| {
                let rest: Vec<&str> = s
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                rest.first() == Some(&state.to_string().as_str())
                    && rest.get(1) == Some(&me.as_str())
            })
            .collect()
    }
}
