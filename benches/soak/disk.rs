//! The disk under Warden's state file, alert memory, alert queue and id
//! file: a small tmpfs the harness mounts in a mount namespace of its own
//! (so a killed harness leaves no mount behind on the host), and the
//! disk-full fault, a filler file written until ENOSPC and deleted later.
//! Where no mount is allowed (not root, a container) the folder is a plain
//! one and the fault is skipped, said so in the verdict.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Set in the environment once the harness runs in its own namespace.
const NS_ENV: &str = "WARDEN_SOAK_MOUNT_NS";

/// The tmpfs size: room for the state of a few hundred checks and a
/// backlog of alerts, small enough to fill in a moment.
pub const SIZE_MB: u64 = 16;

/// Re-executes the harness under `unshare --mount --propagation private`
/// once, when that works here (root, no container refusing it); returns
/// only when it does not (or when already inside). Call before any thread.
pub fn enter_namespace() {
    if std::env::var_os(NS_ENV).is_some() {
        return;
    }
    let works = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    if !works {
        return;
    }
    let err = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(NS_ENV, "1")
        .exec();
    eprintln!("soak: cannot re-run in a mount namespace ({err}); no disk-full fault");
}

/// The folder and whether it is a tmpfs of the harness's own.
#[derive(Debug)]
pub struct Disk {
    pub dir: PathBuf,
    /// None: mounted; Some(why): a plain folder, the fault skipped.
    pub skipped: Option<String>,
    filler: PathBuf,
}

impl Disk {
    /// `dir` made, and a tmpfs mounted on it when this process runs in its
    /// own mount namespace.
    pub fn new(dir: &Path) -> Result<Disk, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let skipped = if std::env::var_os(NS_ENV).is_none() {
            Some("no mount namespace here (not root, or a container refusing unshare)".into())
        } else {
            let out = Command::new("mount")
                .args(["-t", "tmpfs", "-o"])
                .arg(format!("size={SIZE_MB}m,mode=0700"))
                .arg("tmpfs")
                .arg(dir)
                .stdin(Stdio::null())
                .output();
            // The harness reaps every child (procs::become_reaper), so the
            // exit status may be gone: the mount table says.
            if is_tmpfs(dir) {
                None
            } else {
                Some(match out {
                    Ok(o) => format!(
                        "mount -t tmpfs refused: {}",
                        String::from_utf8_lossy(&o.stderr).trim()
                    ),
                    Err(e) => format!("mount: {e}"),
                })
            }
        };
        Ok(Disk {
            dir: dir.to_path_buf(),
            filler: dir.join("filler"),
            skipped,
        })
    }

    pub fn mounted(&self) -> bool {
        self.skipped.is_none()
    }

    /// Fills the disk: a filler file written until ENOSPC. Returns the
    /// bytes written and the error that stopped it.
    pub fn fill(&self) -> Result<(u64, String), String> {
        let mut f = std::fs::File::create(&self.filler).map_err(|e| format!("filler: {e}"))?;
        let big = vec![0u8; 1 << 20];
        let small = [0u8; 4096];
        let mut n = 0u64;
        let mut why = String::new();
        for chunk in [&big[..], &small[..]] {
            loop {
                match f.write(chunk) {
                    Ok(0) => break,
                    Ok(k) => n += k as u64,
                    Err(e) => {
                        why = e.to_string();
                        break;
                    }
                }
            }
        }
        Ok((n, why))
    }

    /// Fills again what was freed meanwhile (Warden delivering and removing
    /// queued alerts frees their space): the disk stays full, as when
    /// something else keeps writing to it.
    pub fn top_up(&self) {
        let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&self.filler) else {
            return;
        };
        let chunk = [0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
    }

    /// Frees the disk again.
    pub fn free(&self) -> bool {
        std::fs::remove_file(&self.filler).is_ok()
    }

    /// Bytes free on the disk now.
    pub fn free_bytes(&self) -> Option<u64> {
        let s = rustix::fs::statvfs(&self.dir).ok()?;
        Some(s.f_bavail * s.f_frsize)
    }
}

/// Whether a tmpfs is mounted on `dir` (in this mount namespace).
fn is_tmpfs(dir: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let want = dir.to_string_lossy();
    mounts.lines().any(|l| {
        let mut f = l.split_whitespace();
        let (_, at, kind) = (f.next(), f.next(), f.next());
        at == Some(&*want) && kind == Some("tmpfs")
    })
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.filler);
        if self.mounted() {
            // Lazy: Warden may still hold a file there for a moment.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(&self.dir)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
