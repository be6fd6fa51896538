//! A snapshot of every process on the machine, taken in one pass over
//! `/proc` and shared by all checks of a cycle: children counts, totals over
//! a process tree and `matching` lookups all read the same snapshot, so a
//! thousand checks cost one scan, not a thousand. The `matching` checks'
//! lookups are answered all at once per snapshot, by the index of their
//! patterns (`match_index`), on the blocking pool with the scan.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::match_index::{Index, Scratch, Watch, Watched};
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
    cmdlines: OnceLock<Cmdlines>,
    /// The oldest match of every watched pattern, found in one pass.
    answers: OnceLock<Answers>,
    taken: Instant,
}

/// The command lines of a table's processes, in the order of its entries:
/// one text and a span each (a map of 10,000 strings was 10,000
/// allocations and a hash per lookup).
#[derive(Debug, Default)]
struct Cmdlines {
    text: String,
    /// Start and end in `text`; `GONE` as the start when the process
    /// ended before its command line was read.
    spans: Vec<(u32, u32)>,
}

const GONE: u32 = u32::MAX;

impl Cmdlines {
    fn get(&self, entry: usize) -> Option<&str> {
        let &(start, end) = self.spans.get(entry)?;
        if start == GONE {
            return None;
        }
        self.text.get(start as usize..end as usize)
    }
}

/// The answers of one [`Index`] on one table.
#[derive(Debug)]
struct Answers {
    /// The index's generation: a watch added after it is not answered.
    generation: u64,
    /// Per slot, the entry of the oldest match (`NONE`: no match).
    oldest: Vec<u32>,
}

const NONE: u32 = u32::MAX;

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
            answers: OnceLock::new(),
            taken: Instant::now(),
        }
    }

    /// A table with the command lines given instead of read (tests and
    /// benches: any processes, any number of them). A pid without a line
    /// has none (as a process that ended before it was read).
    pub fn with_cmdlines(stats: Vec<Stat>, lines: &[(u32, &str)]) -> ProcessTable {
        let table = ProcessTable::from_stats(stats);
        let by_pid: HashMap<u32, &str> = lines.iter().copied().collect();
        let mut cmdlines = Cmdlines::default();
        for s in &table.entries {
            cmdlines.push(by_pid.get(&s.pid).copied());
        }
        let _ = table.cmdlines.set(cmdlines);
        table
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
        let entry = self.entries.binary_search_by_key(&pid, |s| s.pid).ok()?;
        self.cmdlines().get(entry)
    }

    /// Every command line, read on first use (blocking: a read of
    /// `/proc/PID/cmdline` per process, into one reused buffer).
    fn cmdlines(&self) -> &Cmdlines {
        self.cmdlines.get_or_init(|| {
            let mut lines = Cmdlines::default();
            let mut buf = Vec::new();
            let mut line = String::new();
            for s in &self.entries {
                let read = procfs::read_cmdline_into(s.pid, &mut buf, &mut line);
                if read && line.is_empty() {
                    line.push('[');
                    line.push_str(&s.comm);
                    line.push(']');
                }
                lines.push(read.then_some(line.as_str()));
            }
            lines.text.shrink_to_fit();
            lines
        })
    }

    /// The oldest live (not zombie) process whose command line matches, like
    /// Monit's `matching`; `exclude` is left out (Warden never matches itself).
    /// One pattern against every process: [`ProcessTable::oldest_watched`]
    /// answers a watched pattern at once.
    pub fn oldest_matching(&self, pattern: &Pattern, exclude: u32) -> Option<&Stat> {
        let lines = self.cmdlines();
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, s)| s.pid != exclude && !s.is_zombie())
            .filter(|(i, _)| lines.get(*i).is_some_and(|c| pattern.is_match(c)))
            .map(|(_, s)| s)
            .min_by_key(|s| (s.starttime, s.pid))
    }

    /// [`ProcessTable::oldest_matching`] of a watched pattern, excluding
    /// this process, from the answers of [`ProcessTable::answer`]; None when
    /// they were not made or do not know this watch (added since).
    pub fn oldest_watched(&self, watch: &Watch) -> Option<Option<&Stat>> {
        let answers = self.answers.get()?;
        if answers.generation < watch.since() {
            return None;
        }
        let entry = *answers.oldest.get(watch.slot())?;
        Some((entry != NONE).then(|| &self.entries[entry as usize]))
    }

    /// The generation of the index this table was answered by, if any.
    pub fn answered(&self) -> Option<u64> {
        self.answers.get().map(|a| a.generation)
    }

    /// Finds the oldest match of every pattern of `index` in one pass over
    /// the command lines, leaving out this process; once per table (a later
    /// call keeps the first answers). Blocking: reads the command lines.
    pub fn answer(&self, index: &Index) {
        self.answer_excluding(index, std::process::id());
    }

    fn answer_excluding(&self, index: &Index, exclude: u32) {
        if self.answers.get().is_some() {
            return;
        }
        let lines = self.cmdlines();
        let mut oldest = vec![NONE; index.len()];
        let mut scratch = Scratch::default();
        for (entry, s) in self.entries.iter().enumerate() {
            if s.pid == exclude || s.is_zombie() {
                continue;
            }
            let Some(line) = lines.get(entry) else {
                continue;
            };
            let key = (s.starttime, s.pid);
            index.each_match(line, &mut scratch, |slot| {
                let best = &mut oldest[slot];
                let older = *best == NONE || {
                    let b = &self.entries[*best as usize];
                    key < (b.starttime, b.pid)
                };
                if older {
                    *best = u32::try_from(entry).unwrap_or(NONE);
                }
            });
        }
        let _ = self.answers.set(Answers {
            generation: index.generation(),
            oldest,
        });
    }
}

impl Cmdlines {
    fn push(&mut self, line: Option<&str>) {
        let start = u32::try_from(self.text.len()).unwrap_or(GONE);
        match line {
            Some(line) if start != GONE => {
                self.text.push_str(line);
                let end = u32::try_from(self.text.len()).unwrap_or(GONE);
                self.spans.push((start, end));
            }
            // Gone, or past 4 GB of command lines: not matched.
            _ => self.spans.push((GONE, GONE)),
        }
    }
}

/// The shared snapshot: at most one scan per `max_age`, however many checks
/// ask. One caller at a time scans, holding the scan lock until the scan
/// ends (also when that caller gave up: its probe timed out), so a starved
/// machine never has two scans (each a blocking thread and a whole table)
/// running at once. The other askers wait for the scan's end together and
/// then all read the table it published: queued on the lock instead, the
/// 10,000 checks of a first cycle were handed it one after another, a
/// wake-up of a driver each, and askers whose turn came more than
/// `max_age` after the scan read `/proc` again.
#[derive(Debug)]
pub struct TableCache {
    max_age: Duration,
    /// Held by the one scan in flight (and by `invalidate`).
    scan_lock: Arc<tokio::sync::Mutex<()>>,
    /// The latest table and when it was published, read without waiting.
    latest: Arc<Mutex<Option<Published>>>,
    /// Bumped when a holder of the scan lock is done: the askers that
    /// found a scan in flight look again.
    ended: Arc<watch::Sender<u64>>,
    /// The `matching` patterns of the live checks, answered together.
    watched: Arc<Watched>,
    /// A [`RefreshClaim`] is out: one caller reads the table again for
    /// figures that can wait, the others go on without it.
    refreshing: AtomicBool,
}

tokio::task_local! {
    /// When the work of the cycle being run began (see [`in_cycle`]).
    static CYCLE: Instant;
}

/// Runs `work` as a cycle that began at `began`: a table published since
/// then serves its process lookups however long it waited for them (its
/// place under the engine's probe cap, the scan). One table per cycle,
/// as Monit reads the process table once at the start of each cycle: the
/// 10,000 checks of a first cycle, let in 256 at a time by the probe cap,
/// asked for the table after it was read and read it again once it was
/// `max_age` old, three scans to one cycle.
pub fn in_cycle<F: std::future::Future>(
    began: Instant,
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    CYCLE.scope(began, work)
}

/// A table and when its scan (or its answers) ended.
#[derive(Debug)]
struct Published {
    table: Arc<ProcessTable>,
    at: Instant,
}

/// What the latest table is to one asker.
enum Lookup {
    Use(Arc<ProcessTable>),
    /// Fresh, but the watched patterns are not answered on it yet.
    Answer(Arc<ProcessTable>),
    Scan,
}

/// The right to read the table again for figures that can wait a cycle
/// ([`TableCache::claim_refresh`]); given back when dropped, also when its
/// caller is (a probe timeout).
#[derive(Debug)]
pub struct RefreshClaim<'a> {
    refreshing: &'a AtomicBool,
}

impl Drop for RefreshClaim<'_> {
    fn drop(&mut self) {
        self.refreshing.store(false, Ordering::Release);
    }
}

/// The slot of the latest table, whatever panicked while it was held (a
/// clone of an `Arc` or a store: it is always whole).
fn slot(latest: &Mutex<Option<Published>>) -> MutexGuard<'_, Option<Published>> {
    latest.lock().unwrap_or_else(|e| e.into_inner())
}

impl TableCache {
    pub fn new(max_age: Duration) -> TableCache {
        TableCache {
            max_age,
            scan_lock: Arc::default(),
            latest: Arc::default(),
            ended: Arc::new(watch::Sender::new(0)),
            watched: Arc::default(),
            refreshing: AtomicBool::new(false),
        }
    }

    /// The current snapshot if it is younger than `age`, without waiting:
    /// None when it is older, missing, or being read.
    pub fn fresh(&self, age: Duration) -> Option<Arc<ProcessTable>> {
        slot(&self.latest)
            .as_ref()
            .filter(|p| p.table.taken.elapsed() < age)
            .map(|p| Arc::clone(&p.table))
    }

    /// For figures that may stand a cycle longer (a process's tree for
    /// status): the claim to read the table again, to one caller at a
    /// time; None while another holds it. The others go on without a
    /// table instead of all waiting for the one scan: at 10,000 checks
    /// every check's pending cycle held at once was the steady peak.
    pub fn claim_refresh(&self) -> Option<RefreshClaim<'_>> {
        // `then`, not `then_some`: a claim made and dropped for a caller
        // refused would give back the one held by another.
        (!self.refreshing.swap(true, Ordering::AcqRel)).then(|| RefreshClaim {
            refreshing: &self.refreshing,
        })
    }

    /// Adds a check's pattern to those every [`TableCache::get_matching`]
    /// table answers, for as long as the watch lives.
    pub fn watch(&self, pattern: Arc<Pattern>) -> Watch {
        self.watched.watch(pattern)
    }

    /// The index of the watched patterns as they are now (blocking: built
    /// when they changed).
    pub fn index(&self) -> Arc<Index> {
        self.watched.index()
    }

    /// A snapshot no older than `max_age`, scanning in `spawn_blocking` if needed.
    pub async fn get(&self) -> io::Result<Arc<ProcessTable>> {
        self.get_within(self.max_age).await
    }

    /// A snapshot no older than `age` (a longer one than `max_age` for
    /// figures that may be older than a cycle).
    pub async fn get_within(&self, age: Duration) -> io::Result<Arc<ProcessTable>> {
        self.get_with(age, false, ProcessTable::scan).await
    }

    /// A snapshot no older than `max_age` that has answered every watched
    /// pattern ([`ProcessTable::oldest_watched`]): the scan, the command
    /// lines and the answers all in one blocking task.
    pub async fn get_matching(&self) -> io::Result<Arc<ProcessTable>> {
        self.get_with(self.max_age, true, ProcessTable::scan).await
    }

    /// What the latest table is to a caller who asked at `asked` for one
    /// no older than `age`, answered at the watched patterns' current
    /// generation when `answered`.
    fn lookup(&self, age: Duration, asked: Instant, answered: bool) -> Lookup {
        let generation = answered.then(|| self.watched.generation());
        let latest = slot(&self.latest);
        let Some(p) = latest.as_ref() else {
            return Lookup::Scan;
        };
        // A table published since this caller asked (or since its cycle
        // began) is as fresh as it needs, however long its scan took: at
        // 10,000 checks on a busy machine the first cycle's askers
        // outlived `age` and read /proc again.
        if p.table.taken.elapsed() >= age && p.at < asked {
            return Lookup::Scan;
        }
        match (generation, p.table.answered()) {
            (None, _) => Lookup::Use(Arc::clone(&p.table)),
            (Some(want), Some(had)) if had == want => Lookup::Use(Arc::clone(&p.table)),
            (Some(_), None) => Lookup::Answer(Arc::clone(&p.table)),
            // Answered before the patterns changed (a reload): the answers
            // are made once per table, so read a new one.
            (Some(_), Some(_)) => Lookup::Scan,
        }
    }

    /// [`TableCache::get_within`] with the scan given (tests slow it down);
    /// `answered`: with the watched patterns answered.
    async fn get_with(
        &self,
        age: Duration,
        answered: bool,
        scan: fn() -> io::Result<ProcessTable>,
    ) -> io::Result<Arc<ProcessTable>> {
        let now = Instant::now();
        let asked = CYCLE
            .try_with(|began| *began)
            .map_or(now, |began| began.min(now));
        // Subscribed before the first look: a scan that ends after it is
        // seen by `changed` below.
        let mut ended = self.ended.subscribe();
        let (guard, reuse) = loop {
            if let Lookup::Use(table) = self.lookup(age, asked, answered) {
                return Ok(table);
            }
            match Arc::clone(&self.scan_lock).try_lock_owned() {
                // Looked at again under the lock: a scan may have ended
                // between the look and the lock.
                Ok(guard) => match self.lookup(age, asked, answered) {
                    Lookup::Use(table) => return Ok(table),
                    Lookup::Answer(table) => break (guard, Some(table)),
                    Lookup::Scan => break (guard, None),
                },
                // A scan is in flight: wait for its end with the other
                // askers, all woken at once.
                Err(_) => ended
                    .changed()
                    .await
                    .map_err(|_| io::Error::other("the process table cache is gone"))?,
            }
        };
        if reuse.is_none() {
            // The old snapshot goes before the new one is read, not after:
            // two tables of every process at once were the peak of a cycle.
            *slot(&self.latest) = None;
        }
        let watched = answered.then(|| Arc::clone(&self.watched));
        let latest = Arc::clone(&self.latest);
        let ended = Arc::clone(&self.ended);
        // The scan and the lock go to a task of their own: when this caller
        // is dropped (a probe timeout), the lock stays held until the scan
        // ends, instead of passing to a caller that would start another
        // scan beside the first (under load they piled up: 254 threads and
        // a heap of half a gigabyte in a soak).
        let scanning = tokio::spawn(async move {
            let read = tokio::task::spawn_blocking(move || {
                let table = match reuse {
                    Some(table) => table,
                    None => Arc::new(scan()?),
                };
                if let Some(watched) = watched {
                    table.answer(&watched.index());
                }
                Ok::<_, io::Error>(table)
            })
            .await
            .map_err(io::Error::other)
            .and_then(|read| read);
            if let Ok(table) = &read {
                *slot(&latest) = Some(Published {
                    table: Arc::clone(table),
                    at: Instant::now(),
                });
            }
            drop(guard);
            ended.send_modify(|n| *n = n.wrapping_add(1));
            read
        });
        scanning.await.map_err(io::Error::other)?
    }

    /// Forgets the snapshot, so the next `get` scans (after an action
    /// started or stopped something).
    pub async fn invalidate(&self) {
        let guard = self.scan_lock.lock().await;
        *slot(&self.latest) = None;
        drop(guard);
        self.ended.send_modify(|n| *n = n.wrapping_add(1));
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

    #[test]
    fn the_answers_are_the_oldest_live_match_of_each_pattern_as_one_pass_finds_it() {
        // Pids out of age order, a zombie, a process without a command
        // line left (gone), the excluded pid, and patterns that overlap.
        let mut stats = vec![
            stat(10, 1, 500, 'S'),
            stat(11, 1, 100, 'S'),
            stat(12, 1, 50, 'Z'),
            stat(13, 1, 10, 'S'),
            stat(14, 1, 300, 'S'),
            stat(15, 1, 300, 'S'),
            stat(16, 1, 1, 'S'),
        ];
        stats.push(stat(17, 1, 5, 'S'));
        let lines = [
            (10, "nginx: worker process"),
            (11, "nginx: master process /usr/sbin/nginx"),
            (12, "nginx: master process (zombie)"),
            (13, "sleep 4000123"),
            (14, "python3 -m worker --queue q1"),
            (15, "python3 -m worker --queue q1"),
            (17, "nginx: master process, excluded"),
        ];
        let t = ProcessTable::with_cmdlines(stats, &lines);
        let watched = Arc::new(Watched::default());
        let patterns = [
            "nginx",
            "nginx: master",
            r"^nginx: (master|worker) process$",
            "--queue q1",
            r"worker .*q1$",
            "sleep 4000123",
            "sleep 4000124",
            "p16",
            r"^\[p16\]$",
            ".*",
            "",
        ];
        let watches: Vec<Watch> = patterns
            .iter()
            .map(|p| watched.watch(Arc::new(Pattern::new(p).unwrap())))
            .collect();
        assert!(t.oldest_watched(&watches[0]).is_none(), "not answered yet");
        t.answer_excluding(&watched.index(), 17);
        for (p, w) in patterns.iter().zip(&watches) {
            let re = Pattern::new(p).unwrap();
            let linear = t.oldest_matching(&re, 17).map(|s| s.pid);
            let indexed = t.oldest_watched(w).map(|s| s.map(|s| s.pid));
            assert_eq!(indexed, Some(linear), "{p:?}");
        }
        let pid = |w: &Watch| t.oldest_watched(w).flatten().map(|s| s.pid);
        assert_eq!(
            pid(&watches[0]),
            Some(11),
            "the oldest, not the zombie or the excluded"
        );
        assert_eq!(pid(&watches[3]), Some(14), "same start: the lower pid");
        assert_eq!(pid(&watches[6]), None);
        assert_eq!(
            pid(&watches[7]),
            None,
            "a gone process's comm is not matched"
        );
        // A watch added after the answers is not answered by them.
        let late = watched.watch(Arc::new(Pattern::new("nginx").unwrap()));
        assert!(t.oldest_watched(&late).is_none());
    }

    #[tokio::test]
    async fn a_matching_table_answers_the_watched_patterns_and_a_new_watch_gets_a_new_table() {
        let mut child = std::process::Command::new("sleep")
            .arg("34.0625")
            .spawn()
            .unwrap();
        let cache = TableCache::new(Duration::from_secs(3600));
        let plain = cache.get().await.unwrap();
        assert_eq!(plain.answered(), None);
        let w = cache.watch(Arc::new(Pattern::new("sleep 34.0625").unwrap()));
        let t = cache.get_matching().await.unwrap();
        assert!(
            Arc::ptr_eq(&plain, &t),
            "the fresh table is answered, not read again"
        );
        let found = t.oldest_watched(&w).flatten().map(|s| s.pid);
        assert_eq!(found, Some(child.id()));
        assert!(Arc::ptr_eq(&t, &cache.get_matching().await.unwrap()));
        let w2 = cache.watch(Arc::new(Pattern::new(r"^sleep 34\.0625$").unwrap()));
        let t2 = cache.get_matching().await.unwrap();
        assert!(
            !Arc::ptr_eq(&t, &t2),
            "answered before the new pattern: read again"
        );
        assert_eq!(
            t2.oldest_watched(&w2).flatten().map(|s| s.pid),
            Some(child.id())
        );
        assert_eq!(
            t2.oldest_watched(&w).flatten().map(|s| s.pid),
            Some(child.id())
        );
        child.kill().unwrap();
        child.wait().unwrap();
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

    /// A scan that takes a while, counting nothing.
    fn sleepy_scan() -> io::Result<ProcessTable> {
        std::thread::sleep(Duration::from_millis(300));
        Ok(ProcessTable::from_stats(Vec::new()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_table_being_read_is_not_fresh_and_one_caller_at_a_time_may_read_it_again() {
        let hour = Duration::from_secs(3600);
        let cache = Arc::new(TableCache::new(hour));
        assert!(cache.fresh(hour).is_none(), "no table yet");
        let t = cache.get().await.unwrap();
        assert!(Arc::ptr_eq(&t, &cache.fresh(hour).unwrap()));
        assert!(cache.fresh(Duration::ZERO).is_none(), "older than asked");
        let claim = cache.claim_refresh().expect("the first claim");
        assert!(cache.claim_refresh().is_none(), "one claim at a time");
        assert!(
            cache.claim_refresh().is_none(),
            "a refused caller gives back no claim"
        );
        drop(claim);
        let claim = cache.claim_refresh().expect("given back when dropped");
        // While a scan runs, no table is fresh: the answer comes at once.
        let scanning = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get_with(Duration::ZERO, false, sleepy_scan).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(cache.fresh(hour).is_none(), "a table while it is read");
        let new = scanning.await.unwrap().unwrap();
        assert!(!Arc::ptr_eq(&t, &new));
        assert!(Arc::ptr_eq(&new, &cache.fresh(hour).unwrap()));
        drop(claim);
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

    /// A scan whose table is taken at once and ready 300 ms later (the
    /// command lines and answers of a big table), counting its runs.
    fn long_scan() -> io::Result<ProcessTable> {
        LONG_SCANS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let table = ProcessTable::from_stats(Vec::new());
        std::thread::sleep(Duration::from_millis(300));
        Ok(table)
    }
    static LONG_SCANS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn askers_during_a_long_scan_all_take_its_table_however_old_it_is_by_then() {
        use std::sync::atomic::Ordering::SeqCst;
        let cache = Arc::new(TableCache::new(Duration::from_millis(100)));
        let age = Duration::from_millis(100);
        let first = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get_with(age, false, long_scan).await })
        };
        // Asked after the table was taken, served 200 ms past `age`: it
        // was published after they asked, so it is fresh enough for them
        // (queued on a lock, each of them read /proc again).
        tokio::time::sleep(Duration::from_millis(50)).await;
        let askers: Vec<_> = (0..200)
            .map(|_| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move { cache.get_with(age, false, long_scan).await })
            })
            .collect();
        let table = first.await.unwrap().unwrap();
        for asker in askers {
            let got = asker.await.unwrap().unwrap();
            assert!(Arc::ptr_eq(&table, &got), "another table");
        }
        assert_eq!(LONG_SCANS.load(SeqCst), 1, "one scan serves them all");
        // A caller asking now, with the table older than `age`, reads again.
        let again = cache.get_with(age, false, long_scan).await.unwrap();
        assert!(!Arc::ptr_eq(&table, &again));
        assert_eq!(LONG_SCANS.load(SeqCst), 2);
    }

    /// A quick scan, counting its runs.
    fn counted_scan() -> io::Result<ProcessTable> {
        COUNTED_SCANS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(ProcessTable::from_stats(Vec::new()))
    }
    static COUNTED_SCANS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[tokio::test]
    async fn a_cycle_takes_a_table_read_since_it_began_however_old_it_is_now() {
        use std::sync::atomic::Ordering::SeqCst;
        let age = Duration::from_millis(100);
        let cache = TableCache::new(age);
        let began = Instant::now();
        let table = cache.get_with(age, false, counted_scan).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let same = in_cycle(began, cache.get_with(age, false, counted_scan));
        assert!(Arc::ptr_eq(&table, &same.await.unwrap()));
        assert_eq!(COUNTED_SCANS.load(SeqCst), 1, "read since the cycle began");
        // A cycle that began now, or none, wants a table younger than `age`.
        let later = in_cycle(Instant::now(), cache.get_with(age, false, counted_scan));
        let later = later.await.unwrap();
        assert!(!Arc::ptr_eq(&table, &later));
        assert_eq!(COUNTED_SCANS.load(SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn askers_that_give_up_do_not_start_scans_beside_the_one_in_flight() {
        use std::sync::atomic::Ordering::SeqCst;
        let cache = TableCache::new(Duration::from_secs(3600));
        // Each asker gives up after 20 ms, as a probe times out.
        for _ in 0..20 {
            let asked = cache.get_with(Duration::from_secs(3600), false, slow_scan);
            let _ = tokio::time::timeout(Duration::from_millis(20), asked).await;
        }
        let t = cache
            .get_with(Duration::from_secs(3600), false, slow_scan)
            .await
            .unwrap();
        assert!(t.get(1).is_none());
        assert_eq!(MOST.load(SeqCst), 1, "scans ran side by side");
        assert_eq!(STARTED.load(SeqCst), 1, "one scan serves them all");
    }
}
