//! Link options for the `warden` binary that cut its resident code and
//! relocation pages, each applied only where a probe link on this machine
//! shows the toolchain supports it; elsewhere the binary links as before.
//!
//! - Packed relative relocations (`-z pack-relative-relocs`, DT_RELR): the
//!   530 KB `.rela.dyn` table, which the loader reads whole at start,
//!   becomes 6 KB (peak RSS 8.8 -> 8.3 MB with 10 checks, one run). Needs
//!   binutils 2.38 or lld, and glibc 2.36.
//! - Hot code first (`--symbol-ordering-file=link/hot-code.txt`, lld only,
//!   rustc's default linker on x86_64 Linux since 1.90): the kernel maps
//!   code in 64 KB windows around each first use, so the ~1 MB a running
//!   daemon executes, spread over 7 MB of `.text`, made most of it
//!   resident. `scripts/hot-code` regenerates the list.
//!
//! It also hands `warden -V` the git commit (`WARDEN_GIT_COMMIT`, "unknown"
//! outside a git checkout) and the build profile (`WARDEN_BUILD_PROFILE`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const RELR: &str = "-Wl,-z,pack-relative-relocs";
const ORDER_FILE: &str = "link/hot-code.txt";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=CC");
    version_facts();
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    // Only a native Linux GNU build, where rustc links through `cc` as the
    // probes do.
    let native_gnu = var("TARGET") == var("HOST")
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu";
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    if !native_gnu {
        return;
    }
    if relr_works(&out) {
        println!("cargo:rustc-link-arg-bins={RELR}");
    }
    for flag in ordering_flags(&out) {
        println!("cargo:rustc-link-arg-bins={flag}");
    }
}

/// The commit and profile `warden -V` prints. The build reruns when HEAD
/// moves, so a new commit is never shown under an old hash.
fn version_facts() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WARDEN_GIT_COMMIT={commit}");
    // HEAD, and the branch file it points to, live in the worktree's own
    // git dir; packed refs in the common one.
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    for path in ["HEAD", "packed-refs"].into_iter().chain(branch.as_deref()) {
        // Only a file that exists: Cargo reruns the script on every build
        // for a missing one (no packed-refs until git packs refs).
        if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", path])
            .filter(|p| Path::new(p).exists())
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=WARDEN_BUILD_PROFILE={profile}");
}

/// Whether the probe command exits 0, its output discarded.
fn quiet(c: &mut Command) -> bool {
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Links and runs a tiny C program with the RELR flag: the linker must
/// accept it and the loader must run the result.
fn relr_works(out: &Path) -> bool {
    let source = out.join("relr_probe.c");
    let program = out.join("relr_probe");
    if std::fs::write(&source, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    quiet(
        Command::new(cc)
            .args(["-fPIE", "-pie"])
            .arg(RELR)
            .arg(&source)
            .arg("-o")
            .arg(&program),
    ) && quiet(&mut Command::new(&program))
}

/// The flags that hand the hot-code list to the linker, when rustc, with
/// this build's flags, links and runs a tiny program with them (only lld
/// knows them; other linkers fail the probe).
fn ordering_flags(out: &Path) -> Vec<String> {
    let Some(root) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return Vec::new();
    };
    let list = root.join(ORDER_FILE);
    let Some(list) = list.to_str().filter(|p| !p.contains(',')) else {
        return Vec::new();
    };
    if !Path::new(list).is_file() {
        return Vec::new();
    }
    let flags = vec![
        format!("-Wl,--symbol-ordering-file={list}"),
        // Names of code that LTO inlined or a rebuild renamed are expected.
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ];
    let source = out.join("order_probe.rs");
    let program = out.join("order_probe");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return Vec::new();
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut probe = Command::new(rustc);
    probe
        .arg("--target")
        .arg(std::env::var("TARGET").unwrap_or_default());
    if let Ok(encoded) = std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        probe.args(encoded.split('\x1f').filter(|f| !f.is_empty()));
    }
    for flag in &flags {
        probe.arg("-C").arg(format!("link-arg={flag}"));
    }
    probe.arg(&source).arg("-o").arg(&program);
    if quiet(&mut probe) && quiet(&mut Command::new(&program)) {
        flags
    } else {
        Vec::new()
    }
}
