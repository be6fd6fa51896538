//! Links the `warden` binary with packed relative relocations
//! (`-z pack-relative-relocs`, DT_RELR) where the linker and the C library
//! support them: the 530 KB `.rela.dyn` table becomes 6 KB, and since the
//! loader reads every page of it at start, peak RSS drops by as much
//! (8.8 -> 8.3 MB with 10 checks, one run). Elsewhere (binutils before 2.38,
//! glibc before 2.36, other targets) the binary is linked as before.

use std::path::PathBuf;
use std::process::{Command, Stdio};

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    if relr_works() {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    }
}

/// Links and runs a tiny C program with the flag: the linker must accept it
/// and the loader must run the result. Only for a native Linux GNU build,
/// where rustc links through `cc` as this probe does.
fn relr_works() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("TARGET") != var("HOST") || var("CARGO_CFG_TARGET_OS") != "linux" {
        return false;
    }
    if var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return false;
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out.join("relr_probe.c");
    let program = out.join("relr_probe");
    if std::fs::write(&source, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let quiet = |c: &mut Command| {
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    quiet(
        Command::new(cc)
            .args(["-fPIE", "-pie"])
            .arg(FLAG)
            .arg(&source)
            .arg("-o")
            .arg(&program),
    ) && quiet(&mut Command::new(&program))
}
