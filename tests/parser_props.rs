//! Property tests: whatever the bytes, loading a control file never panics
//! and ends either with a config or with at least one error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::path::{Path, PathBuf};

use proptest::prelude::*;

fn outcome_is_sound(text: String) {
    let loaded = warden_config::load_text_without_includes(Path::new("/prop/rc"), text);
    assert_eq!(loaded.config.is_some(), !loaded.has_errors());
    // Rendering every diagnostic must not panic either.
    let _ = loaded.render();
}

fn corpus_texts() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/monit");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "monitrc"));
    files.sort();
    let mut texts: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    // The fixtures are real files too, and are in the repository.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid");
    if let Ok(dir) = std::fs::read_dir(fixtures) {
        texts.extend(dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()));
    }
    assert!(!texts.is_empty(), "no corpus files found");
    texts
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, char),
    Duplicate(usize, usize),
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let n = chars.len().max(1);
        match edit {
            Edit::Delete(at, len) => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            Edit::Insert(at, s) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, s.chars());
            }
            Edit::Replace(at, c) => {
                if !chars.is_empty() {
                    let at = at % chars.len();
                    chars[at] = *c;
                }
            }
            Edit::Duplicate(at, len) => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                let piece: Vec<char> = chars[at.min(end)..end].to_vec();
                chars.splice(at..at, piece);
            }
        }
    }
    chars.into_iter().collect()
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(" if failed port 99999 then ".to_string()),
        Just("\ncheck process x with pidfile /p\n".to_string()),
        Just(" include /nonexistent/* ".to_string()),
        Just("%".to_string()),
        "[ -~\n\t]{1,12}",
    ];
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(a, l)| Edit::Delete(a, l)),
        (any::<usize>(), token).prop_map(|(a, s)| Edit::Insert(a, s)),
        (any::<usize>(), any::<char>()).prop_map(|(a, c)| Edit::Replace(a, c)),
        (any::<usize>(), 1usize..200).prop_map(|(a, l)| Edit::Duplicate(a, l)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        outcome_is_sound(text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        outcome_is_sound(String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn mutated_real_files_never_panic(
        pick in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let texts = corpus_texts();
        let text = pick.get(&texts);
        outcome_is_sound(apply(text, &edits));
    }
}
