//! The one program runner, for action programs (the engine) and `check
//! program`: argv with no shell, the caller's environment added, `as
//! uid/gid`, in a process group of its own; past its timeout the whole
//! group is killed with SIGKILL, and the child is always reaped. Output is
//! thrown away, or its first 64 KiB kept (stdout then stderr, like Monit's
//! output buffer, which it also drains so the program never blocks on a
//! full pipe).

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use warden_config::model::Program;
use warden_config::users;

/// How much output is kept (the rest is read and dropped).
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// How long output is still read after the program exited.
const PIPE_GRACE: Duration = Duration::from_millis(200);

/// What becomes of the program's stdout and stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// To /dev/null (action programs).
    Discard,
    /// The first [`OUTPUT_LIMIT`] bytes, stdout then stderr.
    Keep,
}

/// How a run ended.
#[derive(Debug)]
pub enum Ended {
    Exited(ExitStatus),
    /// It ran past its timeout; its process group was killed and reaped.
    TimedOut(Duration),
    /// It could not be started or waited for (missing file, unknown user).
    NotStarted(String),
}

/// Why a program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the program is empty")]
    Empty,
    /// Its `as uid` or `as gid` names no user or group here.
    #[error("{0}")]
    Owner(Box<dyn std::error::Error + Send + Sync>),
    #[error("{0}")]
    Spawn(#[source] std::io::Error),
}

/// Runs `program` to its end or `timeout`, with `env` added; the output
/// kept (empty when discarded or timed out). Never panics, never leaves a
/// zombie.
pub async fn run(
    program: &Program,
    timeout: Duration,
    env: Vec<(String, String)>,
    output: Output,
) -> (Ended, String) {
    let spawned =
        command(program, env, output).and_then(|mut c| c.spawn().map_err(StartError::Spawn));
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let why = format!("cannot run '{}': {e}", program.command);
            return (Ended::NotStarted(why), String::new());
        }
    };
    // None when discarded: the readers are then done at once.
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let (mut o, mut e) = (Vec::new(), Vec::new());
    let io = async {
        let mut readers = std::pin::pin!(async {
            tokio::join!(keep(out.as_mut(), &mut o), keep(err.as_mut(), &mut e))
        });
        let exited = tokio::select! {
            status = child.wait() => Some(status),
            _ = &mut readers => None,
        };
        match exited {
            Some(status) => {
                // Something it started in the background may hold the
                // pipes open: the output it wrote so far is enough.
                let _ = tokio::time::timeout(PIPE_GRACE, readers).await;
                status
            }
            None => child.wait().await,
        }
    };
    match tokio::time::timeout(timeout, io).await {
        Ok(Ok(status)) => (Ended::Exited(status), joined(o, e)),
        Ok(Err(wait)) => (
            Ended::NotStarted(format!("cannot wait for '{}': {wait}", program.command)),
            joined(o, e),
        ),
        Err(_) => {
            kill_group(child.id());
            // SIGKILL cannot be ignored: this wait is short, and reaps it.
            let _ = child.wait().await;
            (Ended::TimedOut(timeout), String::new())
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

/// Reads a pipe to its end, keeping the first [`OUTPUT_LIMIT`] bytes.
async fn keep<R: AsyncRead + Unpin>(pipe: Option<&mut R>, kept: &mut Vec<u8>) {
    let Some(pipe) = pipe else { return };
    let mut buf = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = OUTPUT_LIMIT.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
}

fn joined(mut out: Vec<u8>, err: Vec<u8>) -> String {
    let room = OUTPUT_LIMIT.saturating_sub(out.len());
    out.extend_from_slice(&err[..err.len().min(room)]);
    String::from_utf8_lossy(&out).into_owned()
}

fn command(
    program: &Program,
    env: Vec<(String, String)>,
    output: Output,
) -> Result<tokio::process::Command, StartError> {
    let (exe, args) = program.argv.split_first().ok_or(StartError::Empty)?;
    let pipe = || match output {
        Output::Discard => Stdio::null(),
        Output::Keep => Stdio::piped(),
    };
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(args)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(pipe())
        .stderr(pipe())
        .process_group(0)
        .kill_on_drop(false);
    if let Some(u) = &program.uid {
        cmd.uid(users::user_id(u).map_err(|e| StartError::Owner(e.into()))?);
    }
    if let Some(g) = &program.gid {
        cmd.gid(users::group_id(g).map_err(|e| StartError::Owner(e.into()))?);
    }
    Ok(cmd)
}
