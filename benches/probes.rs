//! Process probe per pid: one run of the `process` probe on a live child of
//! this benchmark, found by pidfile, by pid and by `matching`, beside the
//! raw /proc read it is built on and a full process-table scan.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};
use warden_probes::registry::{ProbeContext, process_subject};
use warden_probes::{Probe, ProcessProbe, ProcessTable, procfs};

/// A sleeping child, killed and reaped on drop.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn probe(text: &str) -> ProcessProbe {
    let loaded = warden_config::load_text_without_includes(Path::new("/bench/rc"), text.into());
    assert!(!loaded.has_errors(), "{}", loaded.render());
    let config = loaded.config.expect("config");
    process_subject(&config.checks[0], ProbeContext::shared()).expect("process probe")
}

fn process_probe(c: &mut Criterion) {
    let child = Command::new("sleep")
        .arg("7654321")
        .stdin(Stdio::null())
        .spawn()
        .expect("sleep");
    let sleeper = Sleeper(child);
    let pid = sleeper.0.id();
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("sleep.pid");
    std::fs::write(&pidfile, format!("{pid}\n")).expect("pidfile");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cases = [
        (
            "process_probe_by_pidfile",
            format!("check process s with pidfile {}\n", pidfile.display()),
        ),
        (
            "process_probe_by_pid",
            format!("check process s with pid {pid}\n"),
        ),
        (
            "process_probe_matching",
            "check process s matching \"sleep 7654321\"\n".to_string(),
        ),
    ];
    let mut group = c.benchmark_group("probes");
    for (name, text) in cases {
        let p = probe(&text);
        let first = rt.block_on(p.run());
        assert!(first.is_ok(), "{name}: {}", first.reason);
        group.bench_function(name, |b| b.iter(|| black_box(rt.block_on(p.run()))));
    }
    group.bench_function("procfs_read_stat", |b| {
        b.iter(|| black_box(procfs::read_stat(black_box(pid))))
    });
    group.bench_function("process_table_scan", |b| {
        b.iter(|| black_box(ProcessTable::scan()))
    });
    group.finish();
    drop(sleeper);
}

criterion_group!(benches, process_probe);
criterion_main!(benches);
