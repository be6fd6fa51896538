//! Runs action programs: argv with no shell, Monit's environment variables
//! (and `WARDEN_*` twins), `as uid/gid`, a timeout after which the whole
//! process group is killed, and always a reaped child.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use warden_config::model::{Program, UserRef};

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

/// Why a program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the program is empty")]
    Empty,
    #[error("cannot read {db}: {source}")]
    Database {
        db: &'static str,
        source: std::io::Error,
    },
    #[error("unknown user or group '{0}'")]
    UnknownName(String),
    #[error("{0}")]
    Spawn(#[from] std::io::Error),
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

/// Runs `program` to its end or its timeout (`default` when it has none).
pub async fn run(program: &Program, ctx: &ActionContext, default: Duration) -> RunOutcome {
    let timeout = program.timeout.unwrap_or(default);
    let mut child = match command(program, ctx).and_then(|mut c| Ok(c.spawn()?)) {
        Ok(c) => c,
        Err(e) => return RunOutcome::NotStarted(format!("cannot run '{}': {e}", program.command)),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => RunOutcome::Exited(status),
        Ok(Err(e)) => RunOutcome::NotStarted(format!("cannot wait for '{}': {e}", program.command)),
        Err(_) => {
            kill_group(child.id());
            // Reap it, so no zombie is left; SIGKILL cannot be ignored.
            let _ = child.wait().await;
            RunOutcome::TimedOut(timeout)
        }
    }
}

fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) else {
        return;
    };
    // The child leads its own group (process_group(0)), so this reaches
    // everything it forked that did not leave the group.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

fn command(program: &Program, ctx: &ActionContext) -> Result<tokio::process::Command, StartError> {
    let (exe, args) = program.argv.split_first().ok_or(StartError::Empty)?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(false);
    for (k, v) in environment(ctx) {
        cmd.env(format!("MONIT_{k}"), &v)
            .env(format!("WARDEN_{k}"), v);
    }
    if let Some(u) = &program.uid {
        cmd.uid(resolve(u, "/etc/passwd")?);
    }
    if let Some(g) = &program.gid {
        cmd.gid(resolve(g, "/etc/group")?);
    }
    Ok(cmd)
}

/// The variables, without their `MONIT_` / `WARDEN_` prefix.
fn environment(ctx: &ActionContext) -> Vec<(&'static str, String)> {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let mut env = vec![
        ("SERVICE", ctx.service.clone()),
        ("EVENT", ctx.event.clone()),
        ("DESCRIPTION", ctx.description.clone()),
        ("HOST", host),
        (
            "DATE",
            crate::clock::monit_date(std::time::SystemTime::now()),
        ),
    ];
    if let Some(pid) = ctx.pid {
        env.push(("PROCESS_PID", pid.to_string()));
    }
    env
}

/// A user or group name to its number, from a passwd-style file.
fn resolve(who: &UserRef, db: &'static str) -> Result<u32, StartError> {
    let name = match who {
        UserRef::Id(id) => return Ok(*id),
        UserRef::Name(n) => n,
    };
    let text = std::fs::read_to_string(db).map_err(|source| StartError::Database { db, source })?;
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name.as_str()))
        .and_then(|f| f.get(2).and_then(|id| id.parse().ok()))
        .ok_or_else(|| StartError::UnknownName(name.clone()))
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

    #[test]
    fn users_resolve_by_name_and_number() {
        assert_eq!(
            resolve(&UserRef::Name("root".into()), "/etc/passwd").ok(),
            Some(0)
        );
        assert_eq!(resolve(&UserRef::Id(12), "/etc/passwd").ok(), Some(12));
        assert!(matches!(
            resolve(&UserRef::Name("no-such-user-x".into()), "/etc/passwd"),
            Err(StartError::UnknownName(_))
        ));
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
