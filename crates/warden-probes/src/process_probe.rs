//! The `process` probe: locates a check's process, proves its identity
//! against what it proved before, and measures its resources. It keeps its
//! memory (last identity, last cpu sample) between runs.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::match_index::Watch;
use crate::outcome::{Outcome, ProcessFacts, Status};
use crate::pidfile_watch::{PidfileWatch, RESTAT_EVERY};
use crate::process::{self, FileKey, Found, Locator, Proven};
use crate::procfs;
use crate::procinfo::Sources;
use crate::resources::{self, Samples};
use crate::table::{ProcessTable, TableCache};
use crate::{BoxFuture, Probe};

#[derive(Debug, Default)]
struct Memory {
    last: Option<Proven>,
    samples: Samples,
    held: Option<Held>,
    /// The process proven before a `forget`: while a start is under way
    /// the pidfile may still name it, exited and unreaped.
    gone: Option<Proven>,
    /// Whether the pidfile changed, without a `stat` each cycle.
    watch: PidWatch,
}

/// How a steady pidfile check learns that its pidfile may have changed.
#[derive(Debug, Default)]
enum PidWatch {
    #[default]
    Untried,
    /// Its directory's inotify watch says.
    Watched(PidfileWatch),
    /// No reliable watch there: a `stat` each cycle; asked again after
    /// this many cycles (the directory may be back, a watch freed).
    Refused(u8),
}

impl PidWatch {
    /// Whether the pidfile at `path` is known unchanged since the last
    /// time this said no; when it says no, the caller stats it now.
    fn unchanged(&mut self, path: &std::path::Path) -> bool {
        match self {
            PidWatch::Watched(w) if !w.lost() => return w.unchanged(),
            PidWatch::Refused(left) if *left > 0 => {
                *left -= 1;
                return false;
            }
            _ => {}
        }
        *self = match PidfileWatch::new(path) {
            Some(mut w) => {
                // Its first answer is no: the stat that follows is the
                // one the watch's events are news against.
                let _ = w.unchanged();
                PidWatch::Watched(w)
            }
            None => PidWatch::Refused(RESTAT_EVERY),
        };
        false
    }
}

/// What lets the next run of a steady check skip the pidfile read and the
/// `/proc` path walk (most of a process check's cost at 1,000 checks): the
/// pidfile's key when it named the proven process, and that process's own
/// `/proc/PID/stat`, kept open. An open stat file stays bound to its
/// process: once that process is gone it reads as an error, never as a
/// newcomer that reused the pid. A check refused a place in the budget of
/// held descriptors keeps the rest and reads its stat by path, proving the
/// process by its pid and start time each run: four system calls instead
/// of the eleven of the full path (at 10,000 checks on a limit of 20,000,
/// some 250 checks are refused; they were 8% of Warden's CPU).
#[derive(Debug)]
struct Held {
    facts: ProcessFacts,
    pidfile: Option<FileKey>,
    /// None: read by path.
    stat: Option<File>,
    /// For `matching`: the command line, read again each run, since a
    /// process may rewrite it (setproctitle) and stop matching. None: read
    /// by path.
    cmdline: Option<File>,
    /// Its place in the budget of held descriptors; None when refused.
    _slots: Option<crate::held::Slots>,
    /// Its I/O counters and open-files directory, held open only when a
    /// rule tests them every cycle (else read by path now and then: two
    /// descriptors a check ran past the open-files limit at 10,000).
    sources: Sources,
}

/// What the check's rules read beyond the process's own stat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// The process tree (children, totals) every cycle.
    pub tree: bool,
    /// Open files and I/O counters every cycle.
    pub files: bool,
}

#[derive(Debug)]
struct Inner {
    locator: Locator,
    /// What the rules read every cycle.
    needs: Needs,
    table: Arc<TableCache>,
    /// A `matching` pattern's place among those the table answers at once.
    watch: Option<Watch>,
    memory: Mutex<Memory>,
}

/// Tests that a process runs and is the right one; reports its resources.
#[derive(Debug, Clone)]
pub struct ProcessProbe {
    inner: Arc<Inner>,
}

impl ProcessProbe {
    /// `needs.tree`: report children and totals over descendants every
    /// cycle, from the shared `table` snapshot (`matching` always uses the
    /// table); `needs.files`: open files and I/O every cycle.
    pub fn new(locator: Locator, table: Arc<TableCache>, needs: Needs) -> ProcessProbe {
        let watch = match &locator {
            Locator::Matching(re) => Some(table.watch(Arc::clone(re))),
            _ => None,
        };
        ProcessProbe {
            inner: Arc::new(Inner {
                locator,
                needs,
                table,
                watch,
                memory: Mutex::new(Memory::default()),
            }),
        }
    }

    pub fn locator(&self) -> &Locator {
        &self.inner.locator
    }

    /// The identity proven by the last successful run.
    pub fn last_proven(&self) -> Option<ProcessFacts> {
        self.inner.memory().last.map(|p| p.facts)
    }

    /// Takes over an identity proven elsewhere (state restored after a
    /// reload or restart of Warden), as if this probe had proven it now.
    pub fn remember(&self, facts: ProcessFacts) {
        let pidfile_mtime = match &self.inner.locator {
            Locator::Pidfile(path) => process::read_pidfile(path).ok().map(|(_, m)| m),
            _ => None,
        };
        let mut memory = self.inner.memory();
        memory.last = Some(Proven {
            facts,
            pidfile_mtime,
        });
        memory.samples.clear();
        memory.held = None;
    }

    /// Forgets the proven identity (after Warden itself started the service
    /// again and the pidfile may name a new process).
    pub fn forget(&self) {
        let mut memory = self.inner.memory();
        let gone = memory.last.or(memory.gone);
        let watch = std::mem::take(&mut memory.watch);
        *memory = Memory {
            gone,
            watch,
            ..Memory::default()
        };
    }
}

impl Held {
    /// Opens the stat file of a process just found (by path when the
    /// budget of held descriptors is spent) and checks that it is still
    /// that process; None when it is gone (the next run then takes the
    /// slow path).
    fn open(found: &Found, locator: &Locator, needs: Needs) -> Option<Held> {
        let matching = matches!(locator, Locator::Matching(_));
        // The stat file, the command line for `matching`, and the I/O and
        // open-files sources when a rule reads them every cycle.
        let slots = crate::held::take(1 + u64::from(matching) + 2 * u64::from(needs.files));
        Held::with_slots(found, matching, needs, slots)
    }

    /// [`Held::open`] with its place in the budget, if any, already taken.
    fn with_slots(
        found: &Found,
        matching: bool,
        needs: Needs,
        slots: Option<crate::held::Slots>,
    ) -> Option<Held> {
        let facts = found.facts();
        let holds = slots.is_some();
        let open = |what: &str| {
            holds
                .then(|| File::open(format!("/proc/{}/{what}", facts.pid)).ok())
                .flatten()
        };
        let held = Held {
            facts,
            pidfile: found.pidfile_key,
            stat: open("stat"),
            cmdline: if matching { open("cmdline") } else { None },
            _slots: slots,
            sources: if needs.files && holds {
                Sources::open(facts.pid)
            } else {
                Sources::default()
            },
        };
        held.read().map(|_| held)
    }

    /// The held process's command line still matches `re`.
    fn still_matches(&self, re: &crate::pattern::Pattern) -> bool {
        let mut buf = [0u8; 4096];
        let read = match &self.cmdline {
            Some(file) => file.read_at(&mut buf, 0),
            None => File::open(format!("/proc/{}/cmdline", self.facts.pid))
                .and_then(|mut f| f.read(&mut buf)),
        };
        match read {
            Ok(n) if n < buf.len() => re.is_match(&procfs::cmdline_words(&buf[..n])),
            _ => false,
        }
    }

    /// The process's stat, if it is still the held process and alive.
    fn read(&self) -> Option<procfs::Stat> {
        let mut buf = [0u8; 1024];
        // One read: the kernel formats the whole line at once, and a line
        // that fills the buffer is refused below.
        let n = match &self.stat {
            Some(file) => file.read_at(&mut buf, 0).ok()?,
            None => File::open(format!("/proc/{}/stat", self.facts.pid))
                .and_then(|mut f| f.read(&mut buf))
                .ok()?,
        };
        if n == buf.len() {
            return None;
        }
        let stat = procfs::parse_stat_nameless(&buf[..n])?;
        let same = stat.pid == self.facts.pid && stat.starttime == self.facts.start_ticks;
        (same && !stat.is_zombie()).then_some(stat)
    }
}

impl Inner {
    fn memory(&self) -> MutexGuard<'_, Memory> {
        // A panic elsewhere cannot leave the memory half-written in a way
        // that matters: keep using it.
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One blocking run: locate, prove, measure.
    fn check(&self, table: Option<&ProcessTable>) -> Outcome {
        let mut memory = self.memory();
        let found = match self.steady(&mut memory) {
            Some(found) => found,
            None => {
                memory.held = None;
                let seen = memory.last.or(memory.gone);
                let watch = self.watch.as_ref();
                match process::locate(
                    &self.locator,
                    memory.last.as_ref(),
                    seen.as_ref(),
                    table,
                    watch,
                ) {
                    Ok(found) => {
                        memory.held = Held::open(&found, &self.locator, self.needs);
                        found
                    }
                    Err(outcome) => return outcome,
                }
            }
        };
        self.measured(&mut memory, &found, table)
    }

    /// The run of a steady check, or None when the full path is needed.
    fn check_steady(&self, table: Option<&ProcessTable>) -> Option<Outcome> {
        let mut memory = self.memory();
        let found = self.steady(&mut memory)?;
        Some(self.measured(&mut memory, &found, table))
    }

    /// Whether status wants the process's tree again (children and
    /// totals, every [`resources::SLOW_EVERY`] when no rule reads them):
    /// None when not, else whether it was read before.
    fn tree_due(&self) -> Option<bool> {
        let memory = self.memory();
        memory.samples.tree_due().then(|| memory.samples.has_tree())
    }

    /// The table for status's tree figures, when they are due. The first
    /// reading waits for it; later ones take the current table if it is
    /// fresh, and otherwise one check reads it again while the others keep
    /// their figures a cycle longer: all checks due together (they were
    /// read from one table) used to wait for that one scan together, each
    /// holding its pending cycle, about 800 bytes a check of peak RSS
    /// every 30 s.
    async fn table_for_status(&self) -> Option<Arc<ProcessTable>> {
        if self.needs.tree {
            return None;
        }
        match self.tree_due()? {
            false => self.table.get_within(resources::SLOW_EVERY).await.ok(),
            true => match self.table.fresh(resources::SLOW_EVERY) {
                Some(table) => Some(table),
                None => {
                    let _claim = self.table.claim_refresh()?;
                    self.table.get_within(resources::SLOW_EVERY).await.ok()
                }
            },
        }
    }

    /// Records the proven process and measures it.
    fn measured(
        &self,
        memory: &mut Memory,
        found: &Found,
        table: Option<&ProcessTable>,
    ) -> Outcome {
        let facts = found.facts();
        if memory.last.map(|p| p.facts) != Some(facts) {
            memory.samples.clear();
        }
        memory.gone = None;
        memory.last = Some(Proven {
            facts,
            pidfile_mtime: found.pidfile_mtime,
        });
        let mut outcome = Outcome::ok(format!("process is running with pid {}", facts.pid));
        outcome.process = Some(facts);
        let by_path = Sources::default();
        let Memory { held, samples, .. } = memory;
        let sources = held.as_ref().map_or(&by_path, |h| &h.sources);
        resources::measure(
            outcome,
            &found.stat,
            sources,
            table,
            samples,
            self.needs.files,
        )
    }

    /// The held process, when nothing says it changed: its pidfile (if
    /// any) has the same key, its own stat file still reads as alive, and
    /// for `matching` its command line still matches. A `matching` check
    /// then skips the process table: a newer process cannot be the oldest
    /// match (one older than the held one that starts to match later, by
    /// rewriting its command line, is picked up once the held one ends).
    /// A watched pidfile is stat'ed only after an event in its directory;
    /// one found changed lets the held process go (a second call in the
    /// same run, told nothing new by the watch, must not trust it).
    fn steady(&self, memory: &mut Memory) -> Option<Found> {
        let held = memory.held.as_ref()?;
        if memory.last.map(|p| p.facts) != Some(held.facts) {
            return None;
        }
        let pidfile_mtime = match &self.locator {
            Locator::Pidfile(path) => {
                let held_key = held.pidfile;
                let key = match memory.watch.unchanged(path) {
                    true => held_key,
                    false => FileKey::at(path).ok(),
                };
                match key.filter(|k| held_key == Some(*k)) {
                    Some(key) => Some(key.mtime),
                    None => {
                        memory.held = None;
                        return None;
                    }
                }
            }
            Locator::Pid(_) => None,
            Locator::Matching(re) => held.still_matches(re).then_some(None)?,
        };
        let stat = held.read()?;
        Some(Found {
            stat,
            pidfile_mtime,
            pidfile_key: held.pidfile,
        })
    }
}

impl Probe for ProcessProbe {
    fn kind(&self) -> &'static str {
        "process"
    }

    /// A `matching` check that must find its process: the answered
    /// table, read once for all such checks of the cycle.
    fn prepare(&self) -> Option<BoxFuture<'_, ()>> {
        let inner = &*self.inner;
        if inner.watch.is_none() || inner.memory().held.is_some() {
            return None;
        }
        Some(Box::pin(async move {
            // An error is the run's to report.
            let _ = inner.table.get_matching().await;
        }))
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        // Borrowed, not cloned: an atomic on the probe's own cold cache
        // line, each cycle of each check, for nothing.
        let inner = &*self.inner;
        Box::pin(async move {
            // Status shows children and totals even when no rule reads
            // them: then a table up to SLOW_EVERY old, shared by all
            // checks, does (one scan of /proc that often, not a cycle).
            // A steady check whose tree is not due is done under one hold
            // of its memory's lock (the due test took one of its own).
            let due = !inner.needs.tree && {
                let mut memory = inner.memory();
                if !memory.samples.tree_due() {
                    if let Some(found) = inner.steady(&mut memory) {
                        return inner.measured(&mut memory, &found, None);
                    }
                    false
                } else {
                    // A `matching` check without its process reads the
                    // answered table below, which gives the tree as well:
                    // a plain table first put each check of a first cycle
                    // through the table's lock twice.
                    memory.held.is_some() || !inner.locator.needs_table()
                }
            };
            let for_status = if due {
                inner.table_for_status().await
            } else {
                None
            };
            // A steady `matching` check needs no fresh process table.
            if !inner.needs.tree
                && let Some(outcome) = inner.check_steady(for_status.as_deref())
            {
                return outcome;
            }
            let table = if inner.needs.tree || inner.locator.needs_table() {
                let table = |got: std::io::Result<Arc<ProcessTable>>| {
                    got.map_err(|e| {
                        let why = format!("cannot read the process table: {e}");
                        Outcome::failed(Status::Error, why)
                    })
                };
                // A steady `matching` check whose rules read its tree
                // takes the plain table: the answers below cost every
                // command line, needed only to find the process again.
                if inner.needs.tree && inner.watch.is_some() {
                    match table(inner.table.get().await) {
                        Ok(t) => {
                            if let Some(outcome) = inner.check_steady(Some(&t)) {
                                return outcome;
                            }
                        }
                        Err(outcome) => return outcome,
                    }
                }
                // A `matching` check's table comes with every watched
                // pattern answered: all the checks of a first cycle from
                // one pass, on the blocking pool, not one each here.
                let got = if inner.watch.is_some() {
                    inner.table.get_matching().await
                } else {
                    inner.table.get().await
                };
                match table(got) {
                    Ok(t) => Some(t),
                    Err(outcome) => return outcome,
                }
            } else {
                for_status
            };
            // Inline, not spawn_blocking: a pidfile and /proc/PID/stat are a
            // few microseconds of reads from memory-backed files, and 1,000
            // checks handing each one to the blocking pool cost more CPU in
            // thread wake-ups than the reads (and grew the pool to ~95 threads).
            // The full table scan, the slow part, stays on the blocking pool.
            inner.check(table.as_deref())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;
    use std::process::{Child, Command};
    use std::time::{Duration, SystemTime};

    use crate::procfs;

    fn sleeper(arg: &str) -> Child {
        // No inherited stdout: a leaked sleeper must not hold the test's pipe.
        Command::new("sleep")
            .arg(arg)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    fn end(mut child: Child) {
        let _ = child.kill();
        child.wait().unwrap();
    }

    fn pidfile_probe(path: &Path) -> ProcessProbe {
        let table = Arc::new(TableCache::default());
        ProcessProbe::new(
            Locator::Pidfile(path.to_path_buf()),
            table,
            Needs::default(),
        )
    }

    /// Three runs find `pid`, the later ones through the held stat file.
    async fn follows_steadily(probe: &ProcessProbe, pid: u32) {
        for _ in 0..3 {
            let out = probe.run().await;
            assert_eq!(out.process.map(|p| p.pid), Some(pid), "{}", out.reason);
        }
        assert!(
            probe.inner.memory().held.is_some(),
            "the steady path is in use"
        );
    }

    fn write_pidfile(path: &Path, text: &str) {
        fs::write(path, text).unwrap();
    }

    /// Status's tree figures come due for every check at once (all were
    /// read from one table): one check reads the table again and waits for
    /// it, the others run to their end at once with the figures they had.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_due_for_a_new_tree_at_once_do_not_all_wait_for_it() {
        let child = sleeper("30");
        let table = Arc::new(TableCache::default());
        let probes: Vec<ProcessProbe> = (0..20)
            .map(|_| ProcessProbe::new(Locator::Pid(child.id()), table.clone(), Needs::default()))
            .collect();
        for p in &probes {
            let out = p.run().await;
            assert!(
                out.value(crate::Metric::Children).is_some(),
                "{}",
                out.reason
            );
        }
        for p in &probes {
            p.inner.memory().samples.age_tree(resources::SLOW_EVERY);
        }
        table.invalidate().await;
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut runs: Vec<_> = probes.iter().map(ProcessProbe::run).collect();
        let waiting = runs
            .iter_mut()
            .map(|r| r.as_mut().poll(&mut cx).is_pending())
            .filter(|pending| *pending)
            .count();
        assert_eq!(waiting, 1, "checks waiting for the new table");
        drop(runs);
        end(child);
    }

    /// With the budget of held descriptors spent, a check keeps what it
    /// knows and reads its process's stat by path, and still sees it end.
    #[tokio::test]
    async fn a_check_refused_held_descriptors_follows_its_process_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let child = sleeper("30");
        let pid = child.id();
        let path = dir.path().join("svc.pid");
        write_pidfile(&path, &format!("{pid}\n"));
        let probe = pidfile_probe(&path);
        // Refused by the budget (spending the real one would starve the
        // other tests of this binary).
        let found = process::locate(&probe.inner.locator, None, None, None, None).unwrap();
        let unheld = Held::with_slots(&found, false, Needs::default(), None);
        probe.inner.memory().held = unheld;
        probe.inner.memory().last = Some(Proven {
            facts: found.facts(),
            pidfile_mtime: found.pidfile_mtime,
        });
        follows_steadily(&probe, pid).await;
        assert!(
            probe
                .inner
                .memory()
                .held
                .as_ref()
                .is_some_and(|h| h.stat.is_none()),
            "the stat file is not held"
        );
        end(child);
        let out = probe.run().await;
        assert_eq!(out.status, Status::Missing, "{}", out.reason);
    }

    #[tokio::test]
    async fn a_live_process_named_by_its_pidfile_is_running() {
        let dir = tempfile::tempdir().unwrap();
        let child = sleeper("30");
        let path = dir.path().join("svc.pid");
        write_pidfile(&path, &format!("  {}\n", child.id()));
        let out = pidfile_probe(&path).run().await;
        assert_eq!(out.status, Status::Ok, "{}", out.reason);
        assert_eq!(out.process.map(|p| p.pid), Some(child.id()));
        assert!(out.reason.contains(&child.id().to_string()));
        end(child);
    }

    #[tokio::test]
    async fn a_missing_empty_or_garbage_pidfile_means_not_running_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        let cases: [(Option<&str>, &str); 5] = [
            (None, "does not exist"),
            (Some(""), "is empty"),
            (Some(" \n"), "is empty"),
            (Some("abc\n"), "no valid pid"),
            (Some("0"), "no valid pid"),
        ];
        for (content, reason) in cases {
            let _ = fs::remove_file(&path);
            if let Some(text) = content {
                write_pidfile(&path, text);
            }
            let out = pidfile_probe(&path).run().await;
            assert_eq!(out.status, Status::Missing, "{content:?}");
            assert!(out.reason.contains(reason), "{content:?}: {}", out.reason);
        }
    }

    #[tokio::test]
    async fn a_pidfile_naming_a_dead_pid_means_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        let child = sleeper("30");
        let pid = child.id();
        end(child);
        write_pidfile(&path, &pid.to_string());
        let out = pidfile_probe(&path).run().await;
        assert_eq!(out.status, Status::Missing);
        assert!(out.reason.contains("is not running"), "{}", out.reason);
    }

    #[tokio::test]
    async fn a_steady_process_is_followed_until_it_exits_or_its_pidfile_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        let first = sleeper("30");
        write_pidfile(&path, &first.id().to_string());
        let probe = pidfile_probe(&path);
        follows_steadily(&probe, first.id()).await;
        // Rewritten (another pid, a later mtime): read again, not followed.
        std::thread::sleep(Duration::from_millis(20));
        let second = sleeper("30");
        write_pidfile(&path, &second.id().to_string());
        let out = probe.run().await;
        assert_eq!(
            out.process.map(|p| p.pid),
            Some(second.id()),
            "{}",
            out.reason
        );
        end(first);
        // The held process dies while its pidfile stays: not running (a
        // zombie of this test until reaped, then gone).
        let pid = second.id();
        let mut second = second;
        second.kill().unwrap();
        let mut waited = 0;
        while !procfs::read_stat(pid).unwrap().unwrap().is_zombie() {
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
            assert!(waited < 500, "the child never became a zombie");
        }
        let out = probe.run().await;
        assert_eq!(out.status, Status::Missing, "pid {pid}: {}", out.reason);
        assert!(out.reason.contains("exited"), "{}", out.reason);
        second.wait().unwrap();
        let out = probe.run().await;
        assert_eq!(out.status, Status::Missing, "{}", out.reason);
    }

    #[tokio::test]
    async fn after_forget_the_exited_service_is_still_not_called_a_zombie() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        let mut child = sleeper("30");
        write_pidfile(&path, &child.id().to_string());
        let probe = pidfile_probe(&path);
        assert_eq!(probe.run().await.status, Status::Ok);
        child.kill().unwrap();
        let pid = child.id();
        let mut waited = 0;
        while !procfs::read_stat(pid).unwrap().unwrap().is_zombie() {
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
            assert!(waited < 500, "the child never became a zombie");
        }
        // Warden starts the service again: the old pidfile still names it.
        probe.forget();
        let out = probe.run().await;
        assert_eq!(out.status, Status::Missing, "{}", out.reason);
        assert!(out.reason.contains("exited"), "{}", out.reason);
        child.wait().unwrap();
    }

    #[test]
    fn the_exited_service_reaped_between_two_reads_is_still_not_called_a_zombie() {
        let mut child = sleeper("30");
        let pid = child.id();
        let alive = procfs::read_stat(pid).unwrap().unwrap();
        let seen = Proven {
            facts: ProcessFacts {
                pid,
                ppid: alive.ppid,
                start_ticks: alive.starttime,
            },
            pidfile_mtime: None,
        };
        child.kill().unwrap();
        let mut waited = 0;
        let dead = loop {
            let stat = procfs::read_stat(pid).unwrap().unwrap();
            if stat.is_zombie() {
                break stat;
            }
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
            assert!(waited < 500, "the child never became a zombie");
        };
        // Reaped right after the probe read it as a zombie: the decision
        // rests on that read, not on a second one that finds nothing.
        child.wait().unwrap();
        let out = process::zombie(&dead, Some(&seen));
        assert_eq!(out.status, Status::Missing, "{}", out.reason);
        assert!(out.reason.contains("exited"), "{}", out.reason);
        // A zombie Warden never saw alive is one.
        assert_eq!(process::zombie(&dead, None).status, Status::Zombie);
    }

    #[tokio::test]
    async fn a_zombie_is_not_running_and_is_reported_as_a_zombie() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        // A child that exits and that we do not reap stays a zombie.
        let mut child = Command::new("true").spawn().unwrap();
        let mut waited = 0;
        while !procfs::read_stat(child.id()).unwrap().unwrap().is_zombie() {
            std::thread::sleep(Duration::from_millis(10));
            waited += 1;
            assert!(waited < 500, "the child never became a zombie");
        }
        write_pidfile(&path, &child.id().to_string());
        let out = pidfile_probe(&path).run().await;
        assert_eq!(out.status, Status::Zombie);
        assert!(out.reason.contains("zombie"), "{}", out.reason);
        let by_pid = ProcessProbe::new(Locator::Pid(child.id()), Arc::default(), Needs::default());
        assert_eq!(by_pid.run().await.status, Status::Zombie);
        child.wait().unwrap();
    }

    #[tokio::test]
    async fn a_pidfile_written_before_its_process_started_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        let child = sleeper("30");
        write_pidfile(&path, &child.id().to_string());
        // As if the file had been left by a process that died long ago and
        // this unrelated process got the same pid later.
        let old = SystemTime::now() - Duration::from_secs(10);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let out = pidfile_probe(&path).run().await;
        assert_eq!(out.status, Status::Missing);
        assert_eq!(
            out.reason,
            format!(
                "pidfile is stale: pid {} belongs to another process",
                child.id()
            )
        );
        end(child);
    }

    #[tokio::test]
    async fn a_remembered_pid_with_another_start_time_is_not_the_service() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        let child = sleeper("30");
        write_pidfile(&path, &child.id().to_string());
        let probe = pidfile_probe(&path);
        let real = probe.run().await.process.unwrap();
        // Warden proved this pid earlier for a process that started before.
        probe.remember(ProcessFacts {
            start_ticks: real.start_ticks - 1,
            ..real
        });
        let out = probe.run().await;
        assert_eq!(out.status, Status::Missing);
        assert!(out.reason.contains("reused"), "{}", out.reason);
        // Once the service writes its pidfile again, the new process counts.
        let later = SystemTime::now() + Duration::from_secs(1);
        write_pidfile(&path, &child.id().to_string());
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(probe.run().await.status, Status::Ok);
        assert_eq!(probe.last_proven(), Some(real));
        end(child);
    }

    #[tokio::test]
    async fn a_pid_target_that_changed_identity_is_missing() {
        let child = sleeper("30");
        let probe = ProcessProbe::new(Locator::Pid(child.id()), Arc::default(), Needs::default());
        let real = probe.run().await.process.unwrap();
        probe.remember(ProcessFacts {
            start_ticks: real.start_ticks + 5,
            ..real
        });
        assert_eq!(probe.run().await.status, Status::Missing);
        end(child);
    }

    #[tokio::test]
    async fn matching_finds_the_oldest_process_and_reports_its_tree() {
        let first = sleeper("32.25");
        std::thread::sleep(Duration::from_millis(50));
        let second = sleeper("32.25");
        let re = crate::pattern::Pattern::new(r"sleep 32\.25").unwrap();
        let probe = ProcessProbe::new(
            Locator::Matching(re.into()),
            Arc::default(),
            Needs {
                tree: true,
                files: false,
            },
        );
        let out = probe.run().await;
        assert_eq!(out.status, Status::Ok, "{}", out.reason);
        assert_eq!(out.process.map(|p| p.pid), Some(first.id()));
        assert_eq!(out.value(crate::Metric::Children), Some(0.0));
        end(first);
        end(second);
        let none = crate::pattern::Pattern::new(r"sleep 32\.26").unwrap();
        let probe = ProcessProbe::new(
            Locator::Matching(none.into()),
            Arc::default(),
            Needs::default(),
        );
        assert_eq!(probe.run().await.status, Status::Missing);
    }

    #[tokio::test]
    async fn a_first_match_reports_its_tree_from_the_answered_table() {
        use std::os::unix::process::CommandExt;
        // A shell with one child: the pattern matches the shell alone.
        let shell = Command::new("sh")
            .args(["-c", "sleep 33.5 & wait"])
            .stdout(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let re = crate::pattern::Pattern::new(r"^sh -c sleep 33\.5").unwrap();
        let table = Arc::new(TableCache::default());
        let probe = ProcessProbe::new(Locator::Matching(re.into()), table, Needs::default());
        let out = probe.run().await;
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", shell.id())])
            .status();
        end(shell);
        assert_eq!(out.status, Status::Ok, "{}", out.reason);
        assert_eq!(out.value(crate::Metric::Children), Some(1.0));
    }

    #[tokio::test]
    async fn a_steady_match_is_followed_without_a_table_until_it_ends() {
        let first = sleeper("33.125");
        std::thread::sleep(Duration::from_millis(50));
        let second = sleeper("33.125");
        let re = crate::pattern::Pattern::new(r"sleep 33\.125").unwrap();
        let table = Arc::new(TableCache::default());
        let probe = ProcessProbe::new(Locator::Matching(re.into()), table, Needs::default());
        follows_steadily(&probe, first.id()).await;
        let pid = first.id();
        end(first);
        assert!(procfs::read_stat(pid).unwrap().is_none(), "reaped");
        // The table is at most a moment old: the first match may still be
        // in it; then it is proven gone and the next run rescans.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let out = probe.run().await;
            if out.process.map(|p| p.pid) == Some(second.id()) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{}", out.reason);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        end(second);
    }

    #[tokio::test]
    async fn matching_never_finds_warden_itself() {
        // This test binary's own command line matches; nothing else does.
        let own = procfs::read_cmdline(std::process::id()).unwrap();
        let re = crate::pattern::Pattern::new(&format!("^{}$", regex::escape(&own))).unwrap();
        let probe = ProcessProbe::new(
            Locator::Matching(re.into()),
            Arc::default(),
            Needs::default(),
        );
        assert_eq!(probe.run().await.status, Status::Missing);
    }

    /// Whether the probe's pidfile is watched (not stat'ed each cycle).
    fn watched(probe: &ProcessProbe) -> bool {
        matches!(&probe.inner.memory().watch, PidWatch::Watched(w) if !w.lost())
    }

    /// The next run of `probe` reports `pid` (past the events' drain).
    async fn follows(probe: &ProcessProbe, pid: u32) {
        std::thread::sleep(Duration::from_millis(5));
        let out = probe.run().await;
        assert_eq!(out.process.map(|p| p.pid), Some(pid), "{}", out.reason);
    }

    /// A hard link to `pidfile` in another directory: a write through it
    /// shows no event in the pidfile's directory. (The link itself may
    /// show one: the caller runs its probe once before writing.)
    fn link_elsewhere(pidfile: &Path, other: &Path) -> std::path::PathBuf {
        let link = other.join("link.pid");
        fs::hard_link(pidfile, &link).unwrap();
        link
    }

    /// A watched pidfile is not stat'ed while its directory is quiet (a
    /// write the watch cannot see goes unnoticed until the periodic
    /// stat), and is read again the run after it is rewritten.
    #[tokio::test]
    async fn a_watched_pidfile_is_read_again_after_an_event_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        let (first, second, third) = (sleeper("30"), sleeper("30"), sleeper("30"));
        write_pidfile(&path, &first.id().to_string());
        let probe = pidfile_probe(&path);
        follows_steadily(&probe, first.id()).await;
        assert!(watched(&probe), "the pidfile's directory is watched");
        // Rewritten in place: followed the next run.
        std::thread::sleep(Duration::from_millis(20));
        write_pidfile(&path, &second.id().to_string());
        follows(&probe, second.id()).await;
        follows_steadily(&probe, second.id()).await;
        // Rewritten behind the watch's back: the held process is trusted
        // until the periodic stat, which then follows the pidfile.
        let link = link_elsewhere(&path, other.path());
        follows(&probe, second.id()).await;
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&link, third.id().to_string()).unwrap();
        let mut runs = 0;
        loop {
            let out = probe.run().await;
            runs += 1;
            if out.process.map(|p| p.pid) == Some(third.id()) {
                break;
            }
            assert_eq!(out.process.map(|p| p.pid), Some(second.id()));
            assert!(runs <= usize::from(RESTAT_EVERY) + 1, "never stat'ed again");
        }
        assert!(runs > 1, "stat'ed without an event: {runs} runs");
        for child in [first, second, third] {
            end(child);
        }
    }

    /// Deleted, then written again; then a new file renamed into place
    /// (how most daemons write theirs): each followed the next run.
    #[tokio::test]
    async fn a_watched_pidfile_deleted_recreated_or_renamed_into_place_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.pid");
        let (first, second, third) = (sleeper("30"), sleeper("30"), sleeper("30"));
        write_pidfile(&path, &first.id().to_string());
        let probe = pidfile_probe(&path);
        follows_steadily(&probe, first.id()).await;
        assert!(watched(&probe));
        fs::remove_file(&path).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let out = probe.run().await;
        assert_eq!(out.status, Status::Missing, "{}", out.reason);
        write_pidfile(&path, &second.id().to_string());
        follows(&probe, second.id()).await;
        follows_steadily(&probe, second.id()).await;
        let tmp = dir.path().join(".svc.pid.new");
        write_pidfile(&tmp, &third.id().to_string());
        fs::rename(&tmp, &path).unwrap();
        follows(&probe, third.id()).await;
        follows_steadily(&probe, third.id()).await;
        assert!(watched(&probe));
        for child in [first, second, third] {
            end(child);
        }
    }

    /// The pidfile's directory removed and made again: the watch is lost,
    /// the check stats, and watches the new directory once it is back.
    #[tokio::test]
    async fn a_pidfile_whose_directory_is_replaced_is_followed_and_watched_again() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("run");
        fs::create_dir(&dir).unwrap();
        let path = dir.join("svc.pid");
        let (first, second, third) = (sleeper("30"), sleeper("30"), sleeper("30"));
        write_pidfile(&path, &first.id().to_string());
        let probe = pidfile_probe(&path);
        follows_steadily(&probe, first.id()).await;
        assert!(watched(&probe));
        fs::remove_dir_all(&dir).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let out = probe.run().await;
        assert_eq!(out.status, Status::Missing, "{}", out.reason);
        fs::create_dir(&dir).unwrap();
        write_pidfile(&path, &second.id().to_string());
        follows(&probe, second.id()).await;
        follows_steadily(&probe, second.id()).await;
        // The same directory moved away and another put in its place.
        let old = root.path().join("run.old");
        fs::rename(&dir, &old).unwrap();
        fs::create_dir(&dir).unwrap();
        write_pidfile(&path, &third.id().to_string());
        follows(&probe, third.id()).await;
        // Watched again: a rewrite is followed the next run.
        follows_steadily(&probe, third.id()).await;
        let mut runs = 0;
        while !watched(&probe) {
            runs += 1;
            assert!(runs <= RESTAT_EVERY + 1, "never watched again");
            follows(&probe, third.id()).await;
        }
        write_pidfile(&path, &second.id().to_string());
        follows(&probe, second.id()).await;
        for child in [first, second, third] {
            end(child);
        }
    }

    /// A directory refused a watch (here by the test's hook, as one on NFS
    /// or out of watches would be): its pidfile is stat'ed every cycle and
    /// even a change no event shows is followed the next run.
    #[tokio::test]
    async fn a_pidfile_in_a_directory_refused_a_watch_is_stat_ed_every_cycle() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        crate::pidfile_watch::REFUSED
            .lock()
            .unwrap()
            .push(dir.path().to_path_buf());
        let path = dir.path().join("svc.pid");
        let (first, second) = (sleeper("30"), sleeper("30"));
        write_pidfile(&path, &first.id().to_string());
        let probe = pidfile_probe(&path);
        follows_steadily(&probe, first.id()).await;
        assert!(
            matches!(probe.inner.memory().watch, PidWatch::Refused(_)),
            "{:?}",
            probe.inner.memory().watch
        );
        let link = link_elsewhere(&path, other.path());
        follows(&probe, first.id()).await;
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&link, second.id().to_string()).unwrap();
        follows(&probe, second.id()).await;
        for child in [first, second] {
            end(child);
        }
    }
}
