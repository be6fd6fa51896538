//! Include expansion: `include GLOB` is inlined where it stands, like Monit's
//! lexer does, so it works at top level, inside a check and inside a rule.
//!
//! The directive itself stays in the expanded text (the grammar skips it like
//! a comment), so diagnostics about it point at real text; the matched files
//! follow it, each on lines of its own.

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::source::SourceMap;
use crate::span::Span;

/// Includes nested deeper than this are refused (a cycle through symlinks
/// or generated names would otherwise never end).
const MAX_DEPTH: usize = 32;

/// Reads `path` and everything it includes into `map`.
pub fn expand_root(path: &Path, text: String, map: &mut SourceMap, diags: &mut Vec<Diagnostic>) {
    let mut stack = vec![canonical(path)];
    expand_file(path.to_path_buf(), text, map, &mut stack, Some(diags));
}

/// Puts `text` into `map` without reading any included file (the
/// directives stay, skipped by the grammar): for fuzzing and tests, where
/// a pattern such as `/**` must not walk the file system.
pub fn without_includes(path: &Path, text: String, map: &mut SourceMap) {
    expand_file(path.to_path_buf(), text, map, &mut Vec::new(), None);
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn expand_file(
    path: PathBuf,
    text: String,
    map: &mut SourceMap,
    stack: &mut Vec<PathBuf>,
    mut diags: Option<&mut Vec<Diagnostic>>,
) {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let file = map.add_file(path, text);
    let directives = find_includes(&map.files[file].text);
    let len = map.files[file].text.len();
    let mut copied = 0;
    for directive in directives {
        map.push_segment(file, copied..directive.end);
        copied = directive.end;
        let span_start = map.expanded().len() - (directive.end - directive.start);
        let span = Span::new(span_start, map.expanded().len());
        map.push_synthetic("\n");
        if let Some(diags) = diags.as_deref_mut() {
            include_matches(&dir, &directive.pattern, span, map, stack, diags);
        }
    }
    map.push_segment(file, copied..len);
    map.push_synthetic("\n");
}

fn include_matches(
    dir: &Path,
    pattern: &str,
    span: Span,
    map: &mut SourceMap,
    stack: &mut Vec<PathBuf>,
    diags: &mut Vec<Diagnostic>,
) {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        dir.join(pattern)
    };
    let matches = match glob::glob(&full.to_string_lossy()) {
        Ok(paths) => {
            let mut found: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            found
        }
        Err(e) => {
            diags.push(Diagnostic::error(
                span,
                format!("invalid include pattern: {}", e.msg),
            ));
            return;
        }
    };
    if matches.is_empty() {
        // A drop-in folder (`include /etc/warden/conf.d/*`) that is there
        // but empty is a normal state, not a mistake worth a warning.
        if empty_drop_in(&full) {
            return;
        }
        diags.push(
            Diagnostic::warning(span, format!("include matches no file: {}", full.display()))
                .with_hint("nothing is included; check the path or remove the line"),
        );
        return;
    }
    for found in matches {
        let key = canonical(&found);
        if stack.contains(&key) {
            diags.push(Diagnostic::error(
                span,
                format!("include cycle: {} includes itself", found.display()),
            ));
            continue;
        }
        if stack.len() >= MAX_DEPTH {
            diags.push(Diagnostic::error(
                span,
                format!("includes nested deeper than {MAX_DEPTH}"),
            ));
            return;
        }
        if let Some(why) = open_to_others(&found) {
            diags.push(
                Diagnostic::warning(span, why)
                    .with_hint("anyone who can change it can run programs as Warden's user"),
            );
        }
        match std::fs::read(&found) {
            Ok(bytes) => {
                let text = crate::source::text_of(bytes);
                stack.push(key);
                expand_file(found, text, map, stack, Some(diags));
                stack.pop();
            }
            Err(e) => diags.push(Diagnostic::error(
                span,
                format!("cannot read included file {}: {e}", found.display()),
            )),
        }
    }
}

/// Why an included file is open to others: writable by group or others,
/// or owned by someone other than this user or root. Monit reads such a
/// file silently; Warden reads it too (a drop-in) but warns.
fn open_to_others(found: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(found).ok()?;
    let me = rustix::process::geteuid().as_raw();
    let shown = found.display();
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "included file {shown} is writable by group or others (mode {:04o})",
            meta.mode() & 0o7777
        ));
    }
    (meta.uid() != me && meta.uid() != 0).then(|| {
        format!(
            "included file {shown} is owned by uid {}, not by you or root",
            meta.uid()
        )
    })
}

/// An `include PATTERN` directive found in a file.
#[derive(Debug, PartialEq)]
struct Directive {
    start: usize,
    end: usize,
    pattern: String,
}

/// Finds `include` directives outside comments and strings.
fn find_includes(text: &str) -> Vec<Directive> {
    // Most files include nothing: a search for the word alone spares them
    // the scan below of quotes, comments and words.
    if !mentions_include(text.as_bytes()) {
        return Vec::new();
    }
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = skip_until(bytes, i + 1, b'\n'),
            q @ (b'"' | b'\'') => i = skip_until(bytes, i + 1, q).saturating_add(1),
            c if is_word(c) => {
                let start = i;
                while i < bytes.len() && is_word(bytes[i]) {
                    i += 1;
                }
                let boundary = start == 0 || !is_word(bytes[start - 1]);
                if boundary
                    && text[start..i].eq_ignore_ascii_case("include")
                    && let Some((pattern, end)) = pattern_after(text, i)
                {
                    found.push(Directive {
                        start,
                        end,
                        pattern,
                    });
                    i = end;
                }
            }
            _ => i += 1,
        }
    }
    found
}

/// Whether `include` (any case) appears anywhere, in a comment or a string
/// too: the scan after it decides which ones are directives. memchr's
/// vector search for its 'd' (the rarest of its letters in control files:
/// a third as many as 'i' in the 10,000-check file and the corpus), where
/// the scan keeps track of quotes.
fn mentions_include(bytes: &[u8]) -> bool {
    const D_AT: usize = 5; // "inclu" before it
    memchr::memchr2_iter(b'd', b'D', bytes).any(|at| {
        at.checked_sub(D_AT)
            .and_then(|start| bytes.get(start..start + "include".len()))
            .is_some_and(|word| word.eq_ignore_ascii_case(b"include"))
    })
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' || c == b'/' || c >= 0x80
}

fn skip_until(bytes: &[u8], from: usize, stop: u8) -> usize {
    bytes[from.min(bytes.len())..]
        .iter()
        .position(|&b| b == stop)
        .map_or(bytes.len(), |p| from + p)
}

/// The pattern after `include` (quoted or a bare word) and where it ends.
fn pattern_after(text: &str, from: usize) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    if i >= bytes.len() || !bytes[i].is_ascii_whitespace() {
        return None;
    }
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    match bytes.get(i)? {
        q @ (b'"' | b'\'') => {
            let end = skip_until(bytes, i + 1, *q);
            (end < bytes.len()).then(|| (text[i + 1..end].to_string(), end + 1))
        }
        b'#' => None,
        _ => {
            let end = (i..bytes.len())
                .find(|&j| bytes[j].is_ascii_whitespace())
                .unwrap_or(bytes.len());
            Some((text[i..end].to_string(), end))
        }
    }
}

/// The pattern's last part is a glob and the folder it looks in exists.
fn empty_drop_in(full: &Path) -> bool {
    let globbed = full
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains(['*', '?', '[']));
    globbed && full.parent().is_some_and(Path::is_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_is_found_in_any_case_and_anywhere() {
        for text in [
            "include x",
            "a\nINCLUDE 'b'",
            "# InClUdE\n",
            "x\"include\"",
            "include",
        ] {
            assert!(mentions_include(text.as_bytes()), "{text:?}");
        }
        for text in [
            "",
            "d",
            "includ",
            "nclude",
            "exclude x",
            "inc lude",
            "dd include_",
        ] {
            assert_eq!(
                mentions_include(text.as_bytes()),
                text.contains("include"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn finds_includes_but_not_in_comments_or_strings() {
        let text =
            "# include /a\nset x \"include /b\"\n  INCLUDE /etc/c/*.conf\ninclude 'sp ace'\n";
        let found: Vec<String> = find_includes(text).into_iter().map(|d| d.pattern).collect();
        assert_eq!(found, ["/etc/c/*.conf", "sp ace"]);
    }

    #[test]
    fn the_quick_search_sees_include_in_any_case_and_at_either_end() {
        for text in ["include x", "x InClUdE", "a\nINCLUDE"] {
            assert!(mentions_includes_for_test(text), "{text}");
        }
        for text in [
            "",
            "inclu",
            "check file x with path /inc/lude",
            "i I in INC",
        ] {
            assert!(!mentions_includes_for_test(text), "{text}");
        }
    }

    fn mentions_includes_for_test(text: &str) -> bool {
        mentions_include(text.as_bytes())
    }

    #[test]
    fn a_word_containing_include_is_not_a_directive() {
        assert!(find_includes("check file x with path /includes\nnoinclude /x\n").is_empty());
    }

    #[test]
    fn included_files_are_inlined_in_sorted_order_after_the_directive() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.conf"), "B").unwrap();
        std::fs::write(dir.path().join("a.conf"), "A").unwrap();
        let root = dir.path().join("rc");
        let mut map = SourceMap::default();
        let mut diags = Vec::new();
        expand_root(&root, "x include *.conf y".into(), &mut map, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(map.expanded(), "x include *.conf\nA\nB\n y\n");
    }

    #[test]
    fn an_empty_drop_in_folder_is_quiet_but_a_missing_one_warns() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        let root = dir.path().join("rc");
        let mut map = SourceMap::default();
        let mut diags = Vec::new();
        expand_root(&root, "include conf.d/*\n".into(), &mut map, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        for missing in ["include absent.d/*\n", "include conf.d/one\n"] {
            let mut diags = Vec::new();
            expand_root(&root, missing.into(), &mut map, &mut diags);
            assert_eq!(diags.len(), 1, "{missing}: {diags:?}");
            assert!(
                diags[0].message.contains("include matches no file"),
                "{diags:?}"
            );
        }
    }

    #[test]
    fn an_include_cycle_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "include b").unwrap();
        std::fs::write(dir.path().join("b"), "include a").unwrap();
        let root = dir.path().join("a");
        let mut map = SourceMap::default();
        let mut diags = Vec::new();
        expand_root(&root, "include b".into(), &mut map, &mut diags);
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("include cycle"), "{diags:?}");
    }

    #[test]
    fn a_pattern_matching_nothing_is_a_warning() {
        let mut map = SourceMap::default();
        let mut diags = Vec::new();
        expand_root(
            Path::new("/nonexistent/rc"),
            "include /nonexistent/*.conf".into(),
            &mut map,
            &mut diags,
        );
        assert_eq!(diags.len(), 1);
        assert!(!diags[0].is_error());
    }
}
