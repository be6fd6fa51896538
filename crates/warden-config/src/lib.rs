//! Monit-compatible control files: reading (with includes), parsing with the
//! pest grammar in `grammar/`, lowering to the config model, validation, and
//! diagnostics with `file:line:col` and a caret.

// pest is built without `std` (its stack probe costs a tenth of parse time
// and the grammar does not recurse); its generated code then names `alloc`.
extern crate alloc;

pub mod cron;
pub mod diag;
pub mod grammar;
pub mod grammar_rule;
mod grammar_words;
pub mod include;
pub mod lower;
pub mod model;
pub mod names;
mod quotes;
pub mod source;
pub mod span;
mod split;
pub mod users;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Severity};
pub use model::Config;
pub use source::SourceMap;
pub use span::{Span, Spanned};

/// The result of loading a control file: the config when there was no error,
/// every diagnostic, and the sources they point into.
#[derive(Debug)]
pub struct Loaded {
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Every diagnostic rendered, in order.
    pub fn render(&self) -> String {
        diag::render_all(&self.diagnostics, &self.sources)
    }
}

/// Loads a control file from disk: it must exist, be a regular file, be
/// owned by the effective user and not be readable by group or others
/// (like Monit).
pub fn load_file(path: &Path) -> Loaded {
    let failed = |d: Diagnostic| Loaded {
        config: None,
        diagnostics: vec![d],
        sources: SourceMap::default(),
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            return failed(Diagnostic::file_error(
                path,
                format!("cannot read the control file: {e}"),
            ));
        }
    };
    if !meta.is_file() {
        return failed(Diagnostic::file_error(
            path,
            "the control file is not a regular file",
        ));
    }
    if let Some(d) = permission_problem(path, &meta) {
        return failed(d);
    }
    match std::fs::read(path) {
        Ok(bytes) => load_text(path, source::text_of(bytes)),
        Err(e) => failed(Diagnostic::file_error(
            path,
            format!("cannot read the control file: {e}"),
        )),
    }
}

#[cfg(unix)]
fn permission_problem(path: &Path, meta: &std::fs::Metadata) -> Option<Diagnostic> {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    // Monit's rule: a file someone else owns could be changed under us.
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Some(
            Diagnostic::file_error(
                path,
                format!(
                    "the control file must be owned by you (uid {me}); it is owned by uid {}",
                    meta.uid()
                ),
            )
            .with_hint(format!("run: chown {me} {}", path.display())),
        );
    }
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        Diagnostic::file_error(
            path,
            format!("the control file must not be readable or writable by group or others (mode is {mode:04o})"),
        )
        .with_hint(format!("run: chmod 600 {}", path.display()))
    })
}

#[cfg(not(unix))]
fn permission_problem(_: &Path, _: &std::fs::Metadata) -> Option<Diagnostic> {
    None
}

/// Loads control text as if read from `path` (includes resolve relative to
/// its folder); no permission check. Never panics, whatever the text.
pub fn load_text(path: &Path, text: String) -> Loaded {
    let mut sources = SourceMap::default();
    let mut cx = lower::LowerContext::default();
    include::expand_root(path, text, &mut sources, &mut cx.diagnostics);
    finish(sources, cx)
}

/// Like [`load_text`], but `include` directives read nothing: for fuzzing
/// and property tests.
pub fn load_text_without_includes(path: &Path, text: String) -> Loaded {
    let mut sources = SourceMap::default();
    include::without_includes(path, text, &mut sources);
    finish(sources, lower::LowerContext::default())
}

/// How a text is parsed.
#[derive(Debug, Clone, Copy)]
enum Parse {
    Whole,
    /// In pieces cut at statement boundaries, on this many threads.
    Pieces(usize),
}

fn finish(sources: SourceMap, cx: lower::LowerContext) -> Loaded {
    let text = sources.expanded();
    let threads = lower::threads_for(text);
    let parse = if threads > 1 || text.len() > lower::PIECE_MAX {
        Parse::Pieces(threads)
    } else {
        Parse::Whole
    };
    finish_on(sources, cx, parse)
}

/// Parses a big text in pieces (bounded memory, every core), the whole text
/// when a piece does not parse alone (which is also what reports a syntax
/// error) or when it is small. The config and the diagnostics are the same
/// either way (tests compare them).
fn finish_on(sources: SourceMap, mut cx: lower::LowerContext, parse: Parse) -> Loaded {
    let text = sources.expanded();
    let in_pieces = match parse {
        Parse::Pieces(threads) => lower::lower_runs(text, threads, &mut cx),
        Parse::Whole => None,
    };
    let mut config = in_pieces.or_else(|| whole_text(text, &mut cx));
    if let Some(config) = &mut config {
        validate::validate(config, &mut cx);
        shrink(config);
    }
    let diagnostics = sort_by_position(cx.diagnostics);
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    Loaded {
        config: config.filter(|_| !has_errors),
        diagnostics,
        sources,
    }
}

/// The daemon keeps the config for good: no spare capacity in the checks'
/// vector (up to twice its length; each check's own are trimmed as lowered).
fn shrink(config: &mut Config) {
    config.checks.shrink_to_fit();
}

/// Parses and lowers the text in one go; None after a syntax error.
fn whole_text(text: &str, cx: &mut lower::LowerContext) -> Option<Config> {
    match grammar::parse(text) {
        Ok(pairs) => Some(lower::lower(pairs, cx)),
        Err(d) => {
            cx.push(d);
            None
        }
    }
}

/// Source order (the expanded text follows includes in place), then
/// file-level problems.
fn sort_by_position(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by_cached_key(|d| match &d.origin {
        diag::Origin::Span(s) => (0, s.start, PathBuf::new()),
        diag::Origin::File(p) => (1, 0, p.clone()),
    });
    diags
}

/// Where Warden looks for a control file when `-c` is not given, in order.
pub fn default_locations(home: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(h) = home {
        out.push(h.join(".wardenrc"));
    }
    out.push("/etc/warden/wardenrc".into());
    out.push("/etc/wardenrc".into());
    if let Some(h) = home {
        out.push(h.join(".monitrc"));
    }
    out.extend(
        [
            "/etc/monitrc",
            "/etc/monit/monitrc",
            "/usr/local/etc/monitrc",
        ]
        .map(PathBuf::from),
    );
    out
}

#[cfg(test)]
mod tests;
