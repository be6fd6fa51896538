//! Parsing run by run (on every core) against parsing the whole text: the
//! same config, the same diagnostics at the same places, whatever the text.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::*;

fn load_on(path: &Path, text: &str, parse: Parse) -> Loaded {
    let mut sources = SourceMap::default();
    let mut cx = lower::LowerContext::default();
    include::expand_root(path, text.to_string(), &mut sources, &mut cx.diagnostics);
    finish_on(sources, cx, parse)
}

/// Both ways agree on `text`; returns the rendered diagnostics.
fn same_both_ways(path: &Path, text: &str) -> String {
    // Three threads cut even a small file into pieces; one thread parses
    // a big file piece after piece.
    let whole = load_on(path, text, Parse::Whole);
    let mut rendered = String::new();
    for threads in [3, 1] {
        let by_runs = load_on(path, text, Parse::Pieces(threads));
        assert_eq!(by_runs.config, whole.config, "{}", path.display());
        assert_eq!(by_runs.diagnostics, whole.diagnostics, "{}", path.display());
        rendered = by_runs.render();
    }
    rendered
}

/// `n` checks of the shapes real files use (past `n = 1000` as big as a
/// file that is parsed on several threads).
fn many_checks(n: usize) -> String {
    let mut text = String::from("set daemon 30\n# a check in a comment: check host x\n");
    for i in 0..n {
        let _ = write!(
            text,
            "check process svc{i} with pidfile /run/svc{i}.pid\n  \
             start program = \"/bin/svc\ncheck {i}\" with timeout 60 seconds\n  \
             if failed port {} protocol http request \"/health\" then restart\n  \
             if cpu > 80% for 3 cycles then alert\n  \
             depends on svc{}\n\
             check host remote{i} with address 127.0.0.1\n  \
             if failed port 22 protocol ssh for 2 cycles then alert\n\n",
            1024 + i,
            i.saturating_sub(1)
        );
    }
    text
}

#[test]
fn a_big_file_means_the_same_run_by_run_as_whole() {
    let text = many_checks(1500);
    assert!(text.len() > 128 * 1024, "big enough for several threads");
    let rendered = same_both_ways(Path::new("/t/rc"), &text);
    // svc0 depends on itself: one error, found by validation.
    assert!(rendered.contains("dependency cycle"), "{rendered}");
}

#[test]
fn a_syntax_error_in_the_middle_is_reported_as_by_the_whole_text_parse() {
    let mut text = many_checks(1500);
    let middle = text.len() / 2;
    let at = middle + text[middle..].find("  if cpu").unwrap();
    text.insert_str(at, "  if cpuu > 5 then alert\n");
    let rendered = same_both_ways(Path::new("/t/rc"), &text);
    assert!(rendered.contains("unexpected 'cpuu'"), "{rendered}");
}

#[test]
fn lowering_errors_and_warnings_keep_their_places() {
    let text = "check process a with pidfile run/a.pid\n  if 9 restarts within 2 cycles then stop\n\
                set daemon 0\ncheck host b with address x\n  depends on nothere\n\
                check process a matching \"(\"\n  start program = \"/nonexistent/x\"\n";
    let rendered = same_both_ways(Path::new("/t/rc"), text);
    for expected in [
        "pidfile",
        "restarts",
        "nothere",
        "exists already",
        "regular",
        "/nonexistent/x",
    ] {
        assert!(rendered.contains(expected), "{expected} in:\n{rendered}");
    }
}

#[test]
fn crlf_line_ends_mean_the_same_run_by_run() {
    let text = many_checks(20).replace('\n', "\r\n");
    same_both_ways(Path::new("/t/rc"), &text);
}

#[test]
fn included_files_mean_the_same_run_by_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.conf"), many_checks(30)).unwrap();
    std::fs::write(
        dir.path().join("b.conf"),
        "check host late address y\n  if failed port 1 then alert\n  include *.part\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.part"), "  group fromc\n").unwrap();
    std::fs::write(
        dir.path().join("d.conf"),
        "check host bad address y\n  if cpuu > 1 then alert\n",
    )
    .unwrap();
    let root = dir.path().join("rc");
    same_both_ways(&root, "set daemon 5\ninclude a.conf\ninclude b.conf\n");
    let rendered = same_both_ways(&root, "include *.conf\ncheck system s\n");
    assert!(rendered.contains("d.conf:2"), "{rendered}");
}

/// Every fixture and corpus file there is.
fn sample_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dirs = [
        root.join("tests/fixtures/valid"),
        root.join("tests/fixtures/invalid"),
        root.join("../shared/corpus/monit"),
    ];
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fixture_and_corpus_file_means_the_same_run_by_run() {
    let files = sample_files();
    assert!(files.len() > 100, "fixtures found: {}", files.len());
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        same_both_ways(
            &Path::new("/etc/warden").join(file.file_name().unwrap()),
            &text,
        );
    }
}

#[test]
fn a_missing_program_is_reported_at_every_check_that_names_it() {
    // The look-up is made once per program; the warning is not.
    let text = "check process a with pidfile /run/a.pid\n  start program = \"/nonexistent/x a\"\n\
                check process b with pidfile /run/b.pid\n  start program = \"/nonexistent/x b\"\n  \
                stop program = \"/bin/sh -c true\"\n";
    let loaded = load_text_without_includes(Path::new("/etc/warden/rc"), text.to_string());
    let missing: Vec<usize> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message == "program '/nonexistent/x' does not exist")
        .filter_map(|d| match &d.origin {
            diag::Origin::Span(s) => loaded.sources.locate(s.start).map(|l| l.line),
            diag::Origin::File(_) => None,
        })
        .collect();
    assert_eq!(missing, [2, 4], "{}", loaded.render());
}
