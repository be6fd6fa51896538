//! Fuzz target: any bytes, as a control file, load without panicking and end
//! with a config or an error. Run: `cargo +nightly fuzz run parse`.
#![no_main]

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let loaded = warden_config::load_text_without_includes(Path::new("/fuzz/rc"), text);
    assert_eq!(loaded.config.is_some(), !loaded.has_errors());
    let _ = loaded.render();
});
