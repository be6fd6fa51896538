//! Fuzz target: any bytes, as the state file, parse to its checks or to an
//! error without panicking (the daemon then logs it and starts afresh).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(checks) = warden_engine::state::parse(data) {
        // What was read is written back the same way on the next save.
        let _ = checks.values().map(|c| format!("{c:?}")).count();
    }
});
