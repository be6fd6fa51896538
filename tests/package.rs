//! The Debian packages, as `scripts/package --debug` builds them from the
//! debug binary (the release build's fat LTO takes longer than CI can
//! spend; the script is the same but for the binary's profile): their
//! files, modes and conffiles, unpacked with `dpkg-deb`; then, as root on
//! a machine without any Warden package, a real `dpkg -i`, `warden -t` on
//! the installed control file, `man` on both pages, remove and purge.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// The two .deb files, built once for all the tests here.
struct Debs {
    warden: PathBuf,
    compat: PathBuf,
}

fn debs() -> &'static Debs {
    static DEBS: OnceLock<Debs> = OnceLock::new();
    DEBS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // The target folder this test binary was built into, where the
        // script finds the debug binary.
        let exe = Path::new(env!("CARGO_BIN_EXE_warden"));
        let target = exe.parent().and_then(Path::parent).unwrap();
        let out = run(Command::new(root.join("scripts/package"))
            .arg("--debug")
            .env("CARGO_TARGET_DIR", target)
            .current_dir(root));
        assert!(out.status.success(), "scripts/package: {}", text(&out));
        let printed = String::from_utf8_lossy(&out.stdout);
        let mut lines = printed.lines().rev();
        let compat = PathBuf::from(lines.next().unwrap());
        let warden = PathBuf::from(lines.next().unwrap());
        let at = |p: PathBuf| if p.is_absolute() { p } else { root.join(p) };
        Debs {
            warden: at(warden),
            compat: at(compat),
        }
    })
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// `man` renders the page with every warning on and says nothing on
/// stderr; returns the text.
fn man_quietly(args: &[&str]) -> String {
    let out = run(Command::new("man")
        .arg("--warnings=all")
        .args(args)
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8"));
    assert!(out.status.success(), "man {args:?}: {}", text(&out));
    assert!(out.stderr.is_empty(), "man {args:?} warned: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const FILES: [(&str, u32); 14] = [
    ("usr/bin/warden", 0o755),
    ("etc/warden/wardenrc", 0o600),
    ("usr/lib/systemd/system/warden.service", 0o644),
    ("usr/share/man/man1/warden.1.gz", 0o644),
    ("usr/share/man/man5/wardenrc.5.gz", 0o644),
    ("usr/share/bash-completion/completions/warden", 0o644),
    ("usr/share/zsh/vendor-completions/_warden", 0o644),
    ("usr/share/fish/vendor_completions.d/warden.fish", 0o644),
    ("usr/share/doc/warden/copyright", 0o644),
    (
        "usr/share/doc/warden/examples/prometheus/prometheus.yml",
        0o644,
    ),
    (
        "usr/share/doc/warden/examples/prometheus/warden-rules.yml",
        0o644,
    ),
    (
        "usr/share/doc/warden/examples/prometheus/warden-rules.test.yml",
        0o644,
    ),
    (
        "usr/share/doc/warden/examples/prometheus/targets/warden.json",
        0o644,
    ),
    ("usr/share/doc/warden/examples/grafana/warden.json", 0o644),
];

#[test]
fn the_package_holds_the_binary_config_unit_pages_and_completions() {
    let debs = debs();
    let root = tempfile::tempdir().unwrap();
    let out = run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&debs.warden)
        .arg(root.path()));
    assert!(out.status.success(), "{}", text(&out));
    for (file, want) in FILES {
        assert_eq!(mode(&root.path().join(file)), want, "{file}");
    }
    // Nothing else under /etc: the state folder and conf.d are made by
    // postinst, so that dpkg never owns what the admin puts there.
    let etc: Vec<_> = std::fs::read_dir(root.path().join("etc/warden"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(etc, ["wardenrc"]);

    // The Prometheus examples work where the package puts them (their
    // paths are relative to the config's folder).
    let examples = root.path().join("usr/share/doc/warden/examples/prometheus");
    let out = run(Command::new("/usr/bin/promtool")
        .args(["check", "config", "prometheus.yml"])
        .current_dir(&examples));
    assert!(out.status.success(), "{}", text(&out));

    // The unpacked binary is the one built, and the config it ships is good.
    let bin = root.path().join("usr/bin/warden");
    let version = run(Command::new(&bin).arg("-V"));
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(
        version.starts_with(&format!("warden {}\ncommit:", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(version.contains("\nprofile:  debug\n"), "{version}");
    let rc = root.path().join("etc/warden/wardenrc");
    let out = run(Command::new(&bin).arg("-c").arg(&rc).arg("-t"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Control file syntax OK"));
    let rc_text = std::fs::read_to_string(&rc).unwrap();
    for line in [
        "set statefile /var/lib/warden/state",
        "check system $HOST",
        "check filesystem rootfs with path /",
        "include /etc/warden/conf.d/*",
    ] {
        assert!(rc_text.lines().any(|l| l == line), "{line} in {rc_text}");
    }
    let unit = std::fs::read_to_string(root.path().join(FILES[2].0)).unwrap();
    for line in [
        "Type=notify",
        "ExecStart=/usr/bin/warden -c /etc/warden/wardenrc",
        "WatchdogSec=30",
        "KillMode=process",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} in {unit}");
    }

    // Both pages render without a warning from the files as shipped.
    for (page, title) in [
        ("usr/share/man/man1/warden.1.gz", "warden(1)"),
        ("usr/share/man/man5/wardenrc.5.gz", "WARDENRC(5)"),
    ] {
        let shown = man_quietly(&["-l", root.path().join(page).to_str().unwrap()]);
        assert!(shown.starts_with(title), "{page}: {shown}");
    }

    // The control archive: the conffile and the maintainer scripts.
    let control = tempfile::tempdir().unwrap();
    let out = run(Command::new("dpkg-deb")
        .arg("-e")
        .arg(&debs.warden)
        .arg(control.path()));
    assert!(out.status.success(), "{}", text(&out));
    let conffiles = std::fs::read_to_string(control.path().join("conffiles")).unwrap();
    assert_eq!(
        conffiles.lines().collect::<Vec<_>>(),
        ["/etc/warden/wardenrc"]
    );
    for script in ["postinst", "prerm", "postrm"] {
        assert_eq!(mode(&control.path().join(script)), 0o755, "{script}");
    }
    let fields = std::fs::read_to_string(control.path().join("control")).unwrap();
    assert!(fields.contains("\nDepends: libc6"), "{fields}");

    // The compat package: only the `monit` link, and it never replaces
    // Debian's monit.
    let compat = tempfile::tempdir().unwrap();
    let out = run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&debs.compat)
        .arg(compat.path()));
    assert!(out.status.success(), "{}", text(&out));
    let link = std::fs::read_link(compat.path().join("usr/bin/monit")).unwrap();
    assert_eq!(link, Path::new("warden"));
    let field = |name: &str| {
        let out = run(Command::new("dpkg-deb")
            .arg("--field")
            .arg(&debs.compat)
            .arg(name));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(field("Conflicts"), "monit");
    assert_eq!(
        field("Depends"),
        format!("warden (= {}-1)", env!("CARGO_PKG_VERSION"))
    );
}

/// dpkg runs one at a time on the machine; the tests here take turns too.
static DPKG: Mutex<()> = Mutex::new(());

/// `dpkg ARGS`, waiting (up to a minute) while another dpkg or apt holds
/// its lock rather than failing on it.
fn dpkg(args: &[&std::ffi::OsStr]) -> Output {
    let mut tries = 0;
    loop {
        let out = run(Command::new("dpkg").args(args));
        let locked = String::from_utf8_lossy(&out.stderr).contains("locked by another process");
        if out.status.success() || !locked || tries == 60 {
            return out;
        }
        tries += 1;
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// dpkg has the package installed, or its configuration left (a refused
/// install may leave a `not-installed` entry, which holds nothing).
fn dpkg_knows(package: &str) -> bool {
    let out = run(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]));
    out.status.success() && !String::from_utf8_lossy(&out.stdout).ends_with(" not-installed")
}

/// Purges what the test installed, whatever happened.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        for package in ["warden-monit-compat", "warden"] {
            // Also a refused install's `not-installed` entry, which would
            // keep its "install" selection.
            let listed = Command::new("dpkg-query")
                .args(["-W", package])
                .output()
                .is_ok_and(|o| o.status.success());
            if listed {
                let _ = dpkg(&["--purge".as_ref(), package.as_ref()]);
            }
        }
    }
}

/// Every path under the folders a package touches that names Warden.
fn traces() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("warden"))
            {
                found.push(path.clone());
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&path, found);
            }
        }
    }
    let mut found = Vec::new();
    for dir in [
        "/etc",
        "/var/lib/warden",
        "/var/lib/systemd",
        "/usr/bin",
        "/usr/lib/systemd",
        "/usr/share/man",
        "/usr/share/bash-completion",
        "/usr/share/zsh",
        "/usr/share/fish",
        "/usr/share/doc",
    ] {
        if Path::new(dir).ends_with("warden") && Path::new(dir).exists() {
            found.push(PathBuf::from(dir));
        }
        walk(Path::new(dir), &mut found);
    }
    found
}

#[test]
fn dpkg_installs_it_enabled_not_started_and_purge_leaves_nothing() {
    let _turn = DPKG.lock().unwrap_or_else(|e| e.into_inner());
    // Only where it cannot harm: as root, with no Warden package and no
    // Warden files that a purge would take away.
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: dpkg -i needs root");
        return;
    }
    if let Some(why) = ["warden", "warden-monit-compat"]
        .into_iter()
        .find(|p| dpkg_knows(p))
        .map(|p| format!("package {p} is on this machine"))
        .or_else(|| {
            ["/etc/warden", "/var/lib/warden"]
                .into_iter()
                .find(|p| Path::new(p).exists())
                .map(|p| format!("{p} exists"))
        })
    {
        eprintln!("skipped: {why}");
        return;
    }
    let before = traces();
    let debs = debs();
    let _purge = Purge;

    let out = dpkg(&["-i".as_ref(), debs.warden.as_os_str()]);
    assert!(out.status.success(), "dpkg -i: {}", text(&out));
    for (file, want) in FILES {
        assert_eq!(mode(&Path::new("/").join(file)), want, "{file}");
    }
    assert_eq!(mode(Path::new("/var/lib/warden")), 0o700);
    assert!(Path::new("/etc/warden/conf.d").is_dir());
    assert_eq!(std::fs::metadata("/etc/warden/wardenrc").unwrap().uid(), 0);
    // Enabled (the link systemd reads at boot), not started: no process
    // runs the installed binary.
    let wants = Path::new("/etc/systemd/system/multi-user.target.wants/warden.service");
    // (/lib or /usr/lib, as this Debian's deb-systemd-helper writes it:
    // the same folder on a merged /usr.)
    let unit = std::fs::read_link(wants).unwrap();
    assert!(unit.ends_with("systemd/system/warden.service"), "{unit:?}");
    assert!(unit.is_file(), "{unit:?}");
    assert!(
        running("/usr/bin/warden").is_empty(),
        "{:?}",
        running("/usr/bin/warden")
    );

    // The installed control file is good as it is, without a warning (its
    // conf.d is there, empty).
    let out = run(Command::new("/usr/bin/warden").args(["-c", "/etc/warden/wardenrc", "-t"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Control file syntax OK\n"
    );
    assert!(out.stderr.is_empty(), "{}", text(&out));
    // The completions' helper names its checks (no daemon runs: from the file).
    let out = run(Command::new("/usr/bin/warden").args([
        "-c",
        "/etc/warden/wardenrc",
        "__complete-services",
    ]));
    let names = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(names.lines().last(), Some("rootfs"), "{}", text(&out));

    let page = man_quietly(&["warden"]);
    assert!(page.contains("warden [OPTIONS] start [NAME]"), "{page}");
    let page = man_quietly(&["5", "wardenrc"]);
    assert!(page.contains("include"), "{page}");

    // The `monit` link is refused while Debian's monit owns the name.
    if dpkg_knows("monit") {
        let monit = std::fs::read("/usr/bin/monit").unwrap();
        let out = dpkg(&["-i".as_ref(), debs.compat.as_os_str()]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("conflicts with monit"),
            "{}",
            text(&out)
        );
        assert_eq!(std::fs::read("/usr/bin/monit").unwrap(), monit);
        assert!(!dpkg_knows("warden-monit-compat"));
    }

    // An upgrade (here the same version again) keeps the admin's edits to
    // the conffile and the state, and runs postinst's upgrade path.
    let edited = format!(
        "{}# edited by the admin\n",
        std::fs::read_to_string("/etc/warden/wardenrc").unwrap()
    );
    std::fs::write("/etc/warden/wardenrc", &edited).unwrap();
    std::fs::write("/var/lib/warden/state", "{}").unwrap();
    let out = dpkg(&["-i".as_ref(), debs.warden.as_os_str()]);
    assert!(out.status.success(), "dpkg -i again: {}", text(&out));
    assert_eq!(
        std::fs::read_to_string("/etc/warden/wardenrc").unwrap(),
        edited
    );
    assert_eq!(mode(Path::new("/etc/warden/wardenrc")), 0o600);
    assert!(Path::new("/var/lib/warden/state").is_file());

    // Remove keeps the state and the configuration...
    let out = dpkg(&["--remove".as_ref(), "warden".as_ref()]);
    assert!(out.status.success(), "dpkg --remove: {}", text(&out));
    assert!(!Path::new("/usr/bin/warden").exists());
    assert!(Path::new("/var/lib/warden/state").is_file());
    assert_eq!(
        std::fs::read_to_string("/etc/warden/wardenrc").unwrap(),
        edited
    );
    // ...purge takes everything.
    let out = dpkg(&["--purge".as_ref(), "warden".as_ref()]);
    assert!(out.status.success(), "dpkg --purge: {}", text(&out));
    assert!(!dpkg_knows("warden"));
    assert_eq!(traces(), before);
}

/// The pids whose executable is `exe`.
fn running(exe: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == Path::new(exe))
        })
        .collect()
}
