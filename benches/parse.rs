//! Parse and validate a generated control file of 10,000 checks (issue goal:
//! under 50 ms in release).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "compare/config_gen.rs"]
mod config_gen;

fn parse_10k(c: &mut Criterion) {
    let text = config_gen::generate(10_000);
    let mut group = c.benchmark_group("config");
    group.sample_size(10);
    group.bench_function("parse_validate_10k_checks", |b| {
        b.iter(|| {
            let loaded = warden_config::load_text(Path::new("/bench/wardenrc"), text.clone());
            assert!(!loaded.has_errors(), "{}", loaded.render());
            loaded
        })
    });
    group.finish();
}

criterion_group!(benches, parse_10k);
criterion_main!(benches);
