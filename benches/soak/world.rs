//! The services under test: their kinds, the control file that declares
//! them and the scripts Warden runs for them, all in one temporary folder.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// What a service is, as Warden checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A process found by its pidfile, restarted by Warden.
    Pidfile,
    /// A process found by `matching` its command line.
    Matching,
    /// A pidfile process serving HTTP on a loopback port (`protocol http`).
    Port,
    /// A pidfile process whose parent never reaps it: killed, it is a zombie.
    Zombie,
    /// Three pidfile processes, each `depends on` the next.
    Chain,
    /// `check program`: a script whose exit status the harness sets.
    Program,
    /// `check file`: a file the harness removes and puts back.
    File,
    /// A pidfile process under `mode passive`: never started by Warden.
    Passive,
    /// A start that always dies: `if N restarts within M cycles then unmonitor`.
    Crash,
}

impl Kind {
    pub fn is_process(self) -> bool {
        !matches!(self, Kind::Program | Kind::File)
    }
}

/// One service: its name (fixed width, so no name is part of another).
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub kind: Kind,
    pub port: Option<u16>,
}

/// The crash loop's rule: unmonitored after this many restarts...
pub const CRASH_LIMIT: u32 = 3;
/// ...within this many cycles.
pub const CRASH_CYCLES: u32 = 30;

/// The start program's timeout; the `hang` fault sleeps well past it.
pub const START_TIMEOUT_S: u64 = 15;

/// The folder, the harness binary and every service.
#[derive(Debug)]
pub struct World {
    pub dir: tempfile::TempDir,
    pub exe: PathBuf,
    pub services: Vec<Service>,
    pub smtp_port: u16,
    pub hook_port: u16,
}

/// The start program: a mode file chooses a fault (`fail`, `hang`, `slow`,
/// `die`); then the service starts in a session of its own so that Warden
/// is not its parent, as a daemon.
const START: &str = r#"#!/bin/sh
# start.sh DIR NAME EXE [zombie|serve] [PORT]
mode=$(cat "$1/$2.mode" 2>/dev/null)
case "$mode" in
  fail) exit 1 ;;
  hang) sleep 40; exit 1 ;;
  slow) sleep 3 ;;
  die) setsid "$3" --die </dev/null >/dev/null 2>&1 & exit 0 ;;
esac
if [ "$4" = zombie ]; then
  setsid "$3" --zparent "$1" "$2" </dev/null >/dev/null 2>&1 &
else
  setsid "$3" --serve "$2" "$1" ${5:-} </dev/null >/dev/null 2>&1 &
fi
exit 0
"#;

/// A program check: exits with the number in its file (0 when absent).
const PROGRAM: &str = "#!/bin/sh\nexit $(cat \"$1\" 2>/dev/null || echo 0)\n";

impl World {
    /// `count` services of every kind (at least one of each).
    pub fn new(count: usize, ports: &mut impl FnMut() -> u16) -> Result<World, String> {
        let dir = tempfile::Builder::new()
            .prefix("warden-soak")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let exe = std::env::current_exe().map_err(|e| format!("harness path: {e}"))?;
        let share = |pct: usize| (count * pct / 100).max(1);
        let mut services = Vec::new();
        let mut add = |prefix: &str, kind: Kind, n: usize, ports: &mut dyn FnMut() -> u16| {
            for i in 0..n {
                let port = (kind == Kind::Port).then(&mut *ports);
                services.push(Service {
                    name: format!("{prefix}-{i:03}"),
                    kind,
                    port,
                });
            }
        };
        add("pid", Kind::Pidfile, share(35), ports);
        add("match", Kind::Matching, share(15), ports);
        add("port", Kind::Port, share(15), ports);
        add("zomb", Kind::Zombie, share(5), ports);
        add("chain", Kind::Chain, share(3) * 3, ports);
        add("prog", Kind::Program, share(12), ports);
        add("file", Kind::File, share(12), ports);
        add("passive", Kind::Passive, 1, ports);
        add("crash", Kind::Crash, 1, ports);
        let world = World {
            dir,
            exe,
            services,
            smtp_port: ports(),
            hook_port: ports(),
        };
        world.write_script("start.sh", START)?;
        world.write_script("prog.sh", PROGRAM)?;
        for s in &world.services {
            match s.kind {
                Kind::File => std::fs::write(world.path(&format!("{}.dat", s.name)), "x\n")
                    .map_err(|e| format!("file: {e}"))?,
                Kind::Crash => std::fs::write(world.path("crash-000.mode"), "die")
                    .map_err(|e| format!("mode: {e}"))?,
                _ => {}
            }
        }
        Ok(world)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_script(&self, name: &str, text: &str) -> Result<(), String> {
        let p = self.path(name);
        std::fs::write(&p, text).map_err(|e| format!("{name}: {e}"))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {name}: {e}"))
    }

    /// The folder of the state file, alert memory, queue and id file:
    /// the disk the disk-full fault fills (see `disk.rs`).
    pub fn disk_dir(&self) -> PathBuf {
        self.path("disk")
    }

    pub fn rc(&self) -> PathBuf {
        self.path("rc")
    }

    pub fn pidfile(&self, name: &str) -> PathBuf {
        self.path(&format!("{name}.pid"))
    }

    /// The control file; `extra` is appended (the reload faults vary it).
    pub fn control_file(&self, extra: &str) -> String {
        let d = self.dir.path().display();
        let mut rc = format!(
            "set daemon 1\nset statefile {d}/disk/warden.state\n\
             set idfile {d}/disk/warden.id\n\
             set eventqueue basedir {d}/disk/queue\n\
             set mailserver 127.0.0.1 port {} with timeout 5 seconds\n\
             set alert soak@example.com\n\
             set alert webhook \"http://127.0.0.1:{}/hook\"\n\n",
            self.smtp_port, self.hook_port
        );
        for (i, s) in self.services.iter().enumerate() {
            let _ = writeln!(rc, "{}", self.check(s, self.services.get(i + 1)));
        }
        rc + extra
    }

    fn check(&self, s: &Service, next: Option<&Service>) -> String {
        let d = self.dir.path().display();
        let (n, exe) = (&s.name, self.exe.display());
        // The crash loop's start is judged fast: its window is in cycles.
        let timeout = if s.kind == Kind::Crash {
            2
        } else {
            START_TIMEOUT_S
        };
        let start = |how: &str| {
            format!(
                "  start program = \"{d}/start.sh {d} {n} {exe} {how}\" with timeout {timeout} seconds\n\
                 stop program = \"{exe} --stop {d} {n}\"\n"
            )
        };
        match s.kind {
            Kind::Pidfile | Kind::Chain | Kind::Crash | Kind::Passive => {
                let mut c = format!(
                    "check process {n} with pidfile {d}/{n}.pid\n{}",
                    start("serve")
                );
                if s.kind == Kind::Chain
                    && let Some(next) = next.filter(|x| x.kind == Kind::Chain)
                    && number(n) % 3 != 2
                {
                    // Chains of three: 0 -> 1 -> 2, 3 -> 4 -> 5, ...
                    let _ = writeln!(c, "  depends on {}", next.name);
                }
                if s.kind == Kind::Crash {
                    let _ = writeln!(
                        c,
                        "  if {CRASH_LIMIT} restarts within {CRASH_CYCLES} cycles then unmonitor"
                    );
                }
                if s.kind == Kind::Passive {
                    c += "  mode passive\n";
                }
                c
            }
            Kind::Matching => format!(
                "check process {n} matching \"--serve.{n}.{d}\"\n{}",
                start("serve")
            ),
            Kind::Port => format!(
                "check process {n} with pidfile {d}/{n}.pid\n{}  if failed host 127.0.0.1 port {} protocol http with timeout 3 seconds then restart\n",
                start(&format!("serve {}", s.port.unwrap_or(0))),
                s.port.unwrap_or(0)
            ),
            Kind::Zombie => format!(
                "check process {n} with pidfile {d}/{n}.pid\n{}",
                start("zombie")
            ),
            Kind::Program => format!(
                "check program {n} with path \"{d}/prog.sh {d}/{n}.exit\" with timeout 5 seconds\n  if status != 0 then alert\n"
            ),
            Kind::File => format!("check file {n} with path {d}/{n}.dat\n"),
        }
    }

    /// Writes the control file with mode 0600 (Warden refuses more).
    pub fn write_rc(&self, text: &str) -> Result<(), String> {
        let tmp = self.path("rc.tmp");
        std::fs::write(&tmp, text).map_err(|e| format!("write rc: {e}"))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("chmod rc: {e}"))?;
        std::fs::rename(&tmp, self.rc()).map_err(|e| format!("rename rc: {e}"))
    }

    /// Warden never starts a passive service: the harness does, once.
    pub fn start_passive(&self) -> Result<(), String> {
        let d = self.dir.path();
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg(d.join("start.sh"))
            .arg(d)
            .arg("passive-000")
            .arg(&self.exe)
            .arg("serve");
        crate::procs::Child::spawn(&mut cmd)?.wait(std::time::Duration::from_secs(10));
        Ok(())
    }

    pub fn set_mode(&self, name: &str, mode: Option<&str>) {
        let p = self.path(&format!("{name}.mode"));
        let _ = match mode {
            Some(m) => std::fs::write(p, m),
            None => std::fs::remove_file(p),
        };
    }
}

/// The number in a service's name (`chain-004` is 4).
pub fn number(name: &str) -> usize {
    name.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The marker in a service process's command line: `--serve NAME DIR`
/// (the folder too, so that no other soak's services match).
pub fn marker(dir: &Path, name: &str) -> Vec<u8> {
    let mut m = format!("--serve\0{name}\0").into_bytes();
    m.extend_from_slice(dir.as_os_str().as_encoded_bytes());
    m.push(0);
    m
}

impl World {
    pub fn marker(&self, name: &str) -> Vec<u8> {
        marker(self.dir.path(), name)
    }
}

/// Every process on the machine: (pid, ppid, state, command line).
pub fn processes() -> Vec<(i32, i32, char, Vec<u8>)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let rest = stat.rsplit_once(')')?.1;
            let mut f = rest.split_whitespace();
            let state = f.next()?.chars().next()?;
            let ppid = f.next()?.parse().ok()?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            Some((pid, ppid, state, cmd))
        })
        .collect()
}

/// SIGKILLs, by pid, every service process and zombie parent of the soak
/// in `dir`, known by the folder in its command line.
pub fn kill_services(dir: &Path) {
    let d = dir.as_os_str().as_encoded_bytes();
    for (pid, _, state, cmd) in processes() {
        let has = |w: &[u8]| cmd.windows(w.len()).any(|x| x == w);
        let ours = has(d) && (has(b"--serve\0") || has(b"--zparent\0"));
        if ours
            && state != 'Z'
            && let Some(p) = rustix::process::Pid::from_raw(pid)
        {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        kill_services(self.dir.path());
    }
}

/// Whether `dir` is the soak folder (so `--stop` acts only in one).
pub fn is_soak_dir(dir: &Path) -> bool {
    dir.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("warden-soak"))
}
