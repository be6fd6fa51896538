//! A snapshot of every process on the machine, taken in one pass over
//! `/proc` and shared by all checks of a cycle: children counts, totals over
//! a process tree and `matching` lookups all read the same snapshot, so a
//! thousand checks cost one scan, not a thousand.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::pattern::Pattern;

use crate::procfs::{self, Stat};

/// Every process at one moment, with the parent -> children links.
#[derive(Debug)]
pub struct ProcessTable {
    /// Sorted by pid, found by binary search: a hash map of 10,000
    /// processes took 16,384 slots of 96 bytes (1.6 MB) where these take
    /// 0.9 MB.
    entries: Vec<Stat>,
    children: HashMap<u32, Vec<u32>>,
    /// Read on first use: only `matching` checks need command lines.
    cmdlines: OnceLock<HashMap<u32, String>>,
    taken: Instant,
}

impl ProcessTable {
    /// Reads `/proc` once. Blocking: call it from `spawn_blocking`.
    pub fn scan() -> io::Result<ProcessTable> {
        let pids = procfs::all_pids()?;
        // Sized at once: grown by doubling, a table of 13,000 processes
        // peaked at 1.5 MB of vector beside the 1.2 MB it keeps.
        let mut stats = Vec::with_capacity(pids.len());
        for pid in pids {
            // A process may exit between the listing and the read: skip it.
            if let Ok(Some(stat)) = procfs::read_stat(pid) {
                stats.push(stat);
            }
        }
        Ok(ProcessTable::from_stats(stats))
    }

    /// Builds a table from stats already read (also for tests).
    pub fn from_stats(mut stats: Vec<Stat>) -> ProcessTable {
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for s in &stats {
            children.entry(s.ppid).or_default().push(s.pid);
        }
        stats.sort_unstable_by_key(|s| s.pid);
        stats.dedup_by_key(|s| s.pid);
        stats.shrink_to_fit();
        ProcessTable {
            entries: stats,
            children,
            cmdlines: OnceLock::new(),
            taken: Instant::now(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn taken(&self) -> Instant {
        self.taken
    }

    pub fn get(&self, pid: u32) -> Option<&Stat> {
        self.entries
            .binary_search_by_key(&pid, |s| s.pid)
            .ok()
            .map(|i| &self.entries[i])
    }

    pub fn direct_children(&self, pid: u32) -> &[u32] {
        self.children.get(&pid).map_or(&[], Vec::as_slice)
    }

    /// All descendants of `pid` (children, grandchildren, ...), not `pid`.
    pub fn descendants(&self, pid: u32) -> Vec<&Stat> {
        let mut found = Vec::new();
        let mut todo = vec![pid];
        while let Some(p) = todo.pop() {
            for child in self.direct_children(p) {
                // pid 0 is the parent of pid 1 and 2: never loop back to it.
                if *child == pid || *child == 0 {
                    continue;
                }
                if let Some(stat) = self.get(*child) {
                    found.push(stat);
                    todo.push(*child);
                }
            }
        }
        found
    }

    /// The command line of a process as it was at the time of the snapshot
    /// (its comm in brackets when it has none, like `ps`).
    pub fn cmdline(&self, pid: u32) -> Option<&str> {
        let lines = self.cmdlines.get_or_init(|| {
            self.entries
                .iter()
                .filter_map(|s| {
                    let line = procfs::read_cmdline(s.pid)?;
                    let line = if line.is_empty() {
                        format!("[{}]", s.comm)
                    } else {
                        line
                    };
                    Some((s.pid, line))
                })
                .collect()
        });
        lines.get(&pid).map(String::as_str)
    }

    /// The oldest live (not zombie) process whose command line matches, like
    /// Monit's `matching`; `exclude` is left out (Warden never matches itself).
    pub fn oldest_matching(&self, pattern: &Pattern, exclude: u32) -> Option<&Stat> {
        self.entries
            .iter()
            .filter(|s| s.pid != exclude && !s.is_zombie())
            .filter(|s| self.cmdline(s.pid).is_some_and(|c| pattern.is_match(c)))
            .min_by_key(|s| (s.starttime, s.pid))
    }
}

/// The shared snapshot: at most one scan per `max_age`, however many checks
/// ask. Concurrent askers wait for the one scan in flight, and so does an
/// asker that comes after one gave up (its probe timed out): the scan holds
/// the lock until it ends, so a starved machine never has two scans (each
/// a blocking thread and a whole table) running at once.
#[derive(Debug)]
pub struct TableCache {
    max_age: Duration,
    current: Arc<tokio::sync::Mutex<Option<Arc<ProcessTable>>>>,
}

impl TableCache {
    pub fn new(max_age: Duration) -> TableCache {
        TableCache {
            max_age,
            current: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// A snapshot no older than `max_age`, scanning in `spawn_blocking` if needed.
    pub async fn get(&self) -> io::Result<Arc<ProcessTable>> {
        self.get_within(self.max_age).await
    }

    /// A snapshot no older than `age` (a longer one than `max_age` for
    /// figures that may be older than a cycle).
    pub async fn get_within(&self, age: Duration) -> io::Result<Arc<ProcessTable>> {
        self.get_with(age, ProcessTable::scan).await
    }

    /// [`TableCache::get_within`] with the scan given (tests slow it down).
    async fn get_with(
        &self,
        age: Duration,
        scan: fn() -> io::Result<ProcessTable>,
    ) -> io::Result<Arc<ProcessTable>> {
        let mut current = Arc::clone(&self.current).lock_owned().await;
        if let Some(table) = current.as_ref().filter(|t| t.taken.elapsed() < age) {
            return Ok(Arc::clone(table));
        }
        // The old snapshot goes before the new one is read, not after:
        // two tables of every process at once were the peak of a cycle.
        *current = None;
        // The scan and the lock go to a task of their own: when this caller
        // is dropped (a probe timeout), the lock stays held until the scan
        // ends, instead of passing to a caller that would start another
        // scan beside the first (under load they piled up: 254 threads and
        // a heap of half a gigabyte in a soak).
        let scanning = tokio::spawn(async move {
            let table = Arc::new(
                tokio::task::spawn_blocking(scan)
                    .await
                    .map_err(io::Error::other)??,
            );
            *current = Some(Arc::clone(&table));
            Ok::<_, io::Error>(table)
        });
        scanning.await.map_err(io::Error::other)?
    }

    /// Forgets the snapshot, so the next `get` scans (after an action
    /// started or stopped something).
    pub async fn invalidate(&self) {
        *self.current.lock().await = None;
    }
}

impl Default for TableCache {
    /// Half a second: fresh enough for a 1 s cycle, one scan per cycle.
    fn default() -> Self {
        TableCache::new(Duration::from_millis(500))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pid: u32, ppid: u32, starttime: u64, state: char) -> Stat {
        Stat {
            pid,
            comm: format!("p{pid}"),
            state,
            ppid,
            pgrp: pid,
            utime: 0,
            stime: 0,
            cutime: 0,
            cstime: 0,
            num_threads: 1,
            starttime,
            rss_pages: 1,
        }
    }

    #[test]
    fn descendants_include_grandchildren_but_not_the_root_or_strangers() {
        let t = ProcessTable::from_stats(vec![
            stat(1, 0, 1, 'S'),
            stat(10, 1, 5, 'S'),
            stat(11, 10, 6, 'S'),
            stat(12, 11, 7, 'S'),
            stat(13, 10, 8, 'S'),
            stat(20, 1, 9, 'S'),
        ]);
        let mut pids: Vec<u32> = t.descendants(10).iter().map(|s| s.pid).collect();
        pids.sort();
        assert_eq!(pids, vec![11, 12, 13]);
        assert_eq!(t.direct_children(10), &[11, 13]);
        assert!(t.descendants(12).is_empty());
    }

    #[test]
    fn a_real_scan_sees_this_process_and_its_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let t = ProcessTable::scan().unwrap();
        let me = std::process::id();
        assert!(t.get(me).is_some());
        assert!(t.descendants(me).iter().any(|s| s.pid == child.id()));
        assert_eq!(t.cmdline(child.id()), Some("sleep 30"));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn matching_picks_the_oldest_live_match_and_never_the_excluded_pid() {
        let mut older = std::process::Command::new("sleep")
            .arg("31.5")
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut newer = std::process::Command::new("sleep")
            .arg("31.5")
            .spawn()
            .unwrap();
        let t = ProcessTable::scan().unwrap();
        let re = Pattern::new(r"^sleep 31\.5$").unwrap();
        assert_eq!(t.oldest_matching(&re, 0).map(|s| s.pid), Some(older.id()));
        assert_eq!(
            t.oldest_matching(&re, older.id()).map(|s| s.pid),
            Some(newer.id())
        );
        for c in [&mut older, &mut newer] {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    #[tokio::test]
    async fn the_cache_shares_one_snapshot_until_it_is_invalidated() {
        let cache = TableCache::new(Duration::from_secs(3600));
        let a = cache.get().await.unwrap();
        let b = cache.get().await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        cache.invalidate().await;
        assert!(!Arc::ptr_eq(&a, &cache.get().await.unwrap()));
    }

    /// A slow scan that counts how many run at once.
    fn slow_scan() -> io::Result<ProcessTable> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = RUNNING.fetch_add(1, SeqCst) + 1;
        MOST.fetch_max(now, SeqCst);
        STARTED.fetch_add(1, SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        RUNNING.fetch_sub(1, SeqCst);
        Ok(ProcessTable::from_stats(Vec::new()))
    }
    static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static MOST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn askers_that_give_up_do_not_start_scans_beside_the_one_in_flight() {
        use std::sync::atomic::Ordering::SeqCst;
        let cache = TableCache::new(Duration::from_secs(3600));
        // Each asker gives up after 20 ms, as a probe times out.
        for _ in 0..20 {
            let asked = cache.get_with(Duration::from_secs(3600), slow_scan);
            let _ = tokio::time::timeout(Duration::from_millis(20), asked).await;
        }
        let t = cache
            .get_with(Duration::from_secs(3600), slow_scan)
            .await
            .unwrap();
        assert!(t.get(1).is_none());
        assert_eq!(MOST.load(SeqCst), 1, "scans ran side by side");
        assert_eq!(STARTED.load(SeqCst), 1, "one scan serves them all");
    }
}
