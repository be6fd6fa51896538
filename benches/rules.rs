//! Rule evaluation per outcome: `RuleState::record` (Monit's `for N cycles`,
//! `X times within Y cycles`, `else if succeeded` windows) and the restart
//! window behind `N restarts within M cycles`, over a fixed pattern of
//! passing and failing cycles.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_config::model::Trigger;
use warden_engine::rules::{RestartWindow, RuleState};

/// 64 cycles: mostly passing, a few failures and a run of failures.
fn pattern() -> Vec<bool> {
    (0..64)
        .map(|i: u32| i % 7 == 3 || (20..26).contains(&i))
        .collect()
}

fn record(c: &mut Criterion) {
    let cycles = pattern();
    let mut group = c.benchmark_group("rules");
    let cases = [
        (
            "record_1_within_1",
            Trigger {
                times: 1,
                within: 1,
            },
            Trigger {
                times: 1,
                within: 1,
            },
        ),
        (
            "record_for_3_cycles",
            Trigger {
                times: 3,
                within: 3,
            },
            Trigger {
                times: 1,
                within: 1,
            },
        ),
        (
            "record_3_times_within_5_else_2",
            Trigger {
                times: 3,
                within: 5,
            },
            Trigger {
                times: 2,
                within: 2,
            },
        ),
        (
            "record_10_times_within_60",
            Trigger {
                times: 10,
                within: 60,
            },
            Trigger {
                times: 5,
                within: 5,
            },
        ),
    ];
    for (name, trigger, recovery) in cases {
        group.throughput(criterion::Throughput::Elements(cycles.len() as u64));
        group.bench_function(name, |b| {
            let mut state = RuleState::default();
            b.iter(|| {
                for &failed in &cycles {
                    black_box(state.record(black_box(failed), trigger, recovery));
                }
            })
        });
    }
    group.bench_function("restart_window_record_and_count", |b| {
        let mut window = RestartWindow::default();
        let mut cycle = 0u64;
        b.iter(|| {
            cycle += 1;
            if cycle.is_multiple_of(3) {
                window.record(cycle);
            }
            black_box(window.within(cycle, 5))
        })
    });
    group.finish();
}

criterion_group!(benches, record);
criterion_main!(benches);
