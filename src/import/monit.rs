//! `warden import monit [FILE]`: Monit's control file is Warden's, so the
//! file is printed unchanged, under a header that lists the files its
//! `include`s read (they stay where they are, not copied in) and what
//! `warden -t` says about it, as comments.

use std::path::{Path, PathBuf};

use super::emit;

/// Where Monit's control file is looked for without FILE (Debian's, then
/// Monit's own default).
pub const DEFAULTS: [&str; 2] = ["/etc/monit/monitrc", "/etc/monitrc"];

/// What the import printed: the text, and whether the file has errors.
#[derive(Debug)]
pub struct Imported {
    pub text: String,
    pub errors: bool,
}

/// The first of [`DEFAULTS`] that exists.
pub fn find() -> Option<PathBuf> {
    DEFAULTS.iter().map(PathBuf::from).find(|p| p.exists())
}

/// The file with its header, or why it cannot be read at all.
pub fn import(path: &Path) -> Result<Imported, String> {
    let raw = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let original = String::from_utf8_lossy(&raw);
    // The diagnostics of `warden -t`: the file's, then what the engine
    // cannot run yet.
    let mut loaded = warden_config::load_file(path);
    if let Some(config) = &loaded.config {
        let warnings = warden_engine::unsupported(config);
        loaded.diagnostics.extend(warnings);
    }
    let errors = loaded.has_errors();
    let mut header = format!(
        "Imported by `warden import monit` from {}.\n\
         Warden reads Monit's control file as it is: it follows unchanged.\n",
        path.display()
    );
    let mut included: Vec<&Path> = Vec::new();
    for file in loaded.sources.files.iter().skip(1) {
        if !included.contains(&file.path.as_path()) {
            included.push(&file.path);
        }
    }
    if included.is_empty() {
        header.push_str("It includes no other file.\n");
    } else {
        header.push_str("Its includes are read where they are (not copied here):\n");
        for file in included {
            header.push_str(&format!("  {}\n", file.display()));
        }
    }
    let rendered = loaded.render();
    if rendered.is_empty() {
        header.push_str("`warden -t` finds nothing to report.\n");
    } else {
        let (n_errors, n_warnings) = loaded.diagnostics.iter().fold((0, 0), |(e, w), d| {
            if d.is_error() { (e + 1, w) } else { (e, w + 1) }
        });
        header.push_str(&format!(
            "`warden -t` reports {n_errors} error(s) and {n_warnings} warning(s):\n"
        ));
        for line in rendered.lines() {
            header.push_str(&format!("  {line}\n"));
        }
    }
    let mut text = String::new();
    emit::comment(&mut text, header.trim_end());
    text.push('\n');
    text.push_str(&original);
    if !original.ends_with('\n') {
        text.push('\n');
    }
    Ok(Imported { text, errors })
}
