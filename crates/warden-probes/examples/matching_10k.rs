//! The first cycle's `matching` work at 10,000 checks, without /proc: a
//! table of 10,000 `sleep 40000NN` processes (plus 500 others) and the
//! 10,000 patterns of `benches/compare`'s scale scenario, answered by the
//! index (`index`, all patterns in one pass) or one pattern at a time
//! (`linear N`: the first N patterns, each over the whole table). A target
//! for callgrind's instruction counts:
//! `valgrind --tool=callgrind target/release/examples/matching_10k index`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool

use std::sync::Arc;
use std::time::Instant;

use warden_probes::pattern::Pattern;
use warden_probes::procfs::Stat;
use warden_probes::{ProcessTable, TableCache};

const CHECKS: u32 = 10_000;

fn stat(pid: u32, starttime: u64) -> Stat {
    Stat {
        pid,
        comm: "sleep".into(),
        state: 'S',
        ppid: 1,
        pgrp: pid,
        utime: 0,
        stime: 0,
        cutime: 0,
        cstime: 0,
        num_threads: 1,
        starttime,
        rss_pages: 100,
    }
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "index".into());
    let mut stats = Vec::new();
    let mut lines = Vec::new();
    for i in 0..CHECKS {
        stats.push(stat(100_000 + i, 1_000 + u64::from(i)));
        lines.push((100_000 + i, format!("sleep {}", 4_000_000 + i)));
    }
    // The machine's own processes, none of them matching.
    for i in 0..500 {
        stats.push(stat(1_000 + i, u64::from(i)));
        lines.push((
            1_000 + i,
            format!("/usr/sbin/daemon-{i} --config /etc/d{i}.conf"),
        ));
    }
    let refs: Vec<(u32, &str)> = lines.iter().map(|(p, l)| (*p, l.as_str())).collect();
    let table = ProcessTable::with_cmdlines(stats, &refs);
    let patterns: Vec<Arc<Pattern>> = (0..CHECKS)
        .map(|i| Arc::new(Pattern::new(&format!("sleep {}", 4_000_000 + i)).unwrap()))
        .collect();
    let started = Instant::now();
    let found = match mode.as_str() {
        "index" => {
            let cache = TableCache::default();
            let watches: Vec<_> = patterns
                .iter()
                .map(|p| cache.watch(Arc::clone(p)))
                .collect();
            let index = cache.index();
            let built = started.elapsed();
            table.answer(&index);
            let found = watches
                .iter()
                .filter(|w| table.oldest_watched(w).flatten().is_some())
                .count();
            eprintln!("index built in {built:?}");
            found
        }
        "linear" => {
            let n: usize = std::env::args()
                .nth(2)
                .map_or(100, |a| a.parse().expect("N is a number"));
            patterns
                .iter()
                .take(n)
                .filter(|p| table.oldest_matching(p, 0).is_some())
                .count()
        }
        other => panic!("index or linear N, not {other:?}"),
    };
    eprintln!("{found} found in {:?}", started.elapsed());
}
