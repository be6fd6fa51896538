//! Fuzz target: any bytes, as a file of the alert queue and of the M/Monit
//! spool, are loaded without panicking (an unreadable entry is renamed
//! `.bad`, never a reason to stop).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let alerts = dir.path().join("alerts");
    if let Ok(queue) = warden_notify::queue::Queue::open(&alerts, None) {
        let _ = std::fs::write(alerts.join("1700000000000-1.json"), data);
        for e in queue.load() {
            queue.remove(&e.id);
        }
    }
    let spool = dir.path().join("mmonit");
    if let Ok(s) = warden::control::mmonit::spool::Spool::open(&spool, None) {
        let _ = std::fs::write(spool.join("1700000000000-1.xml"), data);
        for m in s.load() {
            s.remove(&m.id);
        }
    }
});
