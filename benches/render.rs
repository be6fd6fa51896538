//! Status rendering for 1,000 services: `warden status` and `warden
//! summary` text (src/control/render.rs), the `--json` body and Monit's
//! XML document (`/_status?format=xml`, src/control/monit/xml.rs), over a
//! status board filled the way the engine fills it (a process probe's
//! outcome with its resources for every check), plus the board snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use warden::control::monit::xml;
use warden::control::render::{render_status, render_summary};
use warden_engine::status::StatusBoard;
use warden_engine::{CheckId, StateStore};
use warden_probes::{Metric, Outcome, ProcessFacts};

/// A board over `n` process checks, each probed once, and its config.
fn board(n: usize) -> (StatusBoard, std::sync::Arc<warden_config::Config>) {
    let mut text = String::from("set daemon 30\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "check process svc{i} with pidfile /run/svc{i}.pid\n  group web"
        );
    }
    let loaded = warden_config::load_text(Path::new("/bench/wardenrc"), text);
    assert!(!loaded.has_errors(), "{}", loaded.render());
    let config = std::sync::Arc::new(loaded.config.expect("config"));
    let board = StatusBoard::default();
    board.configure(&config, &StateStore::open(None));
    for i in 0..config.checks.len() {
        let pid = 1000 + i as u32;
        let mut outcome = Outcome::ok(format!("process is running with pid {pid}"))
            .with(Metric::Cpu, 0.3 + i as f64 / 1000.0)
            .with(Metric::TotalCpu, 0.5)
            .with(Metric::Memory, 12_345_678.0)
            .with(Metric::MemoryPercent, 0.6)
            .with(Metric::TotalMemory, 23_456_789.0)
            .with(Metric::TotalMemoryPercent, 1.1)
            .with(Metric::Children, 2.0)
            .with(Metric::Threads, 4.0)
            .with(Metric::Uptime, 86_400.0 + i as f64);
        outcome.process = Some(ProcessFacts {
            pid,
            ppid: 1,
            start_ticks: 4242,
        });
        if let Some(id) = CheckId::new(i) {
            board.probed(id, &outcome, Duration::from_micros(40));
        }
    }
    (board, config)
}

fn render(c: &mut Criterion) {
    let (board, config) = board(1000);
    let statuses = board.snapshot();
    let server = xml::Server {
        id: "0123456789abcdef0123456789abcdef".into(),
        incarnation: 1_796_000_000,
        uptime_s: 3600,
        poll_s: 30,
        start_delay_s: 0,
        local_hostname: "bench".into(),
        control_file: "/bench/wardenrc".into(),
        httpd: Some(("127.0.0.1".into(), 2812, false)),
        unix_socket: None,
        config,
    };
    let mut group = c.benchmark_group("render_1000_services");
    group.sample_size(20);
    group.bench_function("board_snapshot", |b| b.iter(|| black_box(board.snapshot())));
    group.bench_function("status_text", |b| {
        b.iter(|| black_box(render_status(black_box(&statuses), false)))
    });
    group.bench_function("summary_text", |b| {
        b.iter(|| black_box(render_summary(black_box(&statuses), false)))
    });
    group.bench_function("status_json", |b| {
        b.iter(|| black_box(serde_json::to_string(black_box(&statuses)).expect("json")))
    });
    // What a Monit client's poll costs the daemon: a snapshot, then the
    // document.
    group.bench_function("status_xml", |b| {
        b.iter(|| black_box(xml::document(&server, &board.snapshot())))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
