//! Fuzz target: any bytes, as the state file, are read at start without
//! panicking (an unreadable file is logged and started afresh).
#![no_main]

use warden_engine::StateStore;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("state");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let store = StateStore::open(Some(path));
    let _ = store.all();
});
