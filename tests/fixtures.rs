//! Grammar fixtures: each `tests/fixtures/valid/*.rc` loads without errors
//! and its config model is snapshotted; each `tests/fixtures/invalid/*.rc`
//! fails and its rendered diagnostics are snapshotted; each
//! `tests/fixtures/warning/*.rc` (a value Monit takes although it cannot
//! work) loads with warnings only, and they are snapshotted.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::path::Path;

/// Loads a fixture as if it were the control file `NAME.rc` in `/etc/warden`,
/// so that rendered paths do not depend on the checkout's location.
fn load(path: &Path) -> warden_config::Loaded {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap();
    warden_config::load_text(&Path::new("/etc/warden").join(name), text)
}

#[test]
fn valid_fixtures_load_and_mean_what_they_say() {
    insta::glob!("fixtures/valid/*.rc", |path| {
        let loaded = load(path);
        assert!(
            !loaded.has_errors(),
            "{}:\n{}",
            path.display(),
            loaded.render()
        );
        let config = loaded.config.expect("no errors means a config");
        insta::assert_json_snapshot!(config);
    });
}

#[test]
fn invalid_fixtures_are_rejected_with_a_clear_diagnostic() {
    insta::glob!("fixtures/invalid/*.rc", |path| {
        let loaded = load(path);
        assert!(loaded.has_errors(), "{} was accepted", path.display());
        insta::assert_snapshot!(loaded.render());
    });
}

#[test]
fn warning_fixtures_load_and_say_why_they_cannot_work() {
    insta::glob!("fixtures/warning/*.rc", |path| {
        let loaded = load(path);
        assert!(
            !loaded.has_errors(),
            "{}:\n{}",
            path.display(),
            loaded.render()
        );
        assert!(
            !loaded.diagnostics.is_empty(),
            "{} loaded without a warning",
            path.display()
        );
        insta::assert_snapshot!(loaded.render());
    });
}
