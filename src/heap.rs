//! The dealings with glibc's allocator: the daemon's settings, made once
//! before any thread starts, and giving freed memory back to the kernel
//! after a large answer (a status document of thousands of checks).

/// glibc's settings for the daemon:
///
/// - One arena: glibc gives every thread that allocates an arena of its
///   own (up to 8 a core); the daemon's few threads allocate little, and
///   separate arenas only hold freed memory apart (one arena saved 1.2 MB
///   of peak RSS at 1,000 checks).
/// - A fixed mmap threshold (128 KB, glibc's starting value): by default
///   glibc raises it to the size of each mapped block freed, up to 32 MB,
///   so after the first large answer every later one (an 8 MB document at
///   10,000 checks) comes from the heap and its pages stay resident after
///   it is freed. Fixed, a large block is mapped and unmapped with its
///   answer.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // no safe wrapper exists for mallopt
pub fn configure() {
    // SAFETY: mallopt only sets allocator parameters; called before any
    // other thread exists, so nothing allocates concurrently.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn configure() {}

/// glibc's settings for `-t`, which parses the control file on every core
/// and exits (called before its threads start, after [`configure`]):
///
/// - An arena per thread again: with the daemon's one arena the parse
///   threads wait on each other's allocations.
/// - Blocks up to 32 MB from the heap, kept at a free, and 16 MB of spare
///   heap taken at a time: pest's token queue of each piece (up to 1 MB)
///   was a fresh mapping, unmapped after the piece, its pages faulted in
///   again for the next (17,000 page faults on 10,000 checks).
///
/// Figures: README "Ten thousand checks" (session parse21).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // no safe wrapper exists for mallopt
pub fn configure_one_shot() {
    // SAFETY: mallopt only sets allocator parameters; called before the
    // parse threads exist, so nothing allocates concurrently.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 64);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        libc::mallopt(libc::M_TOP_PAD, 16 * 1024 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn configure_one_shot() {}

/// Returns the heap's free pages to the kernel. The small blocks a large
/// answer was built from (one status per check) are freed between blocks
/// still in use, where glibc's own trimming (the top of the heap only)
/// does not reach them; `malloc_trim` releases every free page.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // no safe wrapper exists for malloc_trim
pub fn give_back() {
    // SAFETY: malloc_trim takes glibc's own locks; it may run at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() {}

/// When the daemon gives its heap back of its own accord, in seconds from
/// the start: as start-up settles (the first cycle's waits, the first state
/// writes and status reads free megabytes at 10,000 checks, some of them
/// only seconds after the first cycle is done), then every [`EVERY`].
const SETTLING: [u64; 4] = [2, 4, 8, 16];

/// Between trims once start-up has settled: a process table is read again
/// that often, and freed pages left between live blocks stay resident
/// otherwise (7 MB at 10,000 process checks, measured with `malloc_trim`
/// at the end of a 35 s run).
const EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Gives the heap back at the [`SETTLING`] times, then every [`EVERY`],
/// for as long as the runtime runs. Each trim walks the heap under glibc's
/// lock: 15-60 µs at 1,000 process checks (measured, release build).
pub async fn keep_trimmed() {
    let mut at = 0;
    for s in SETTLING {
        tokio::time::sleep(std::time::Duration::from_secs(s - at)).await;
        at = s;
        timed_give_back();
    }
    let first = tokio::time::Instant::now() + EVERY;
    let mut tick = tokio::time::interval_at(first, EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        timed_give_back();
    }
}

/// [`give_back`], its time logged at debug level.
fn timed_give_back() {
    let began = std::time::Instant::now();
    give_back();
    tracing::debug!("heap given back in {:?}", began.elapsed());
}

/// Whether a [`give_back_soon`] is waiting.
static PENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How long after an answer the heap is trimmed: a burst of answers (a
/// client polling every 0.1 s) is trimmed once, after its last one.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

/// [`give_back`] a second from now, once however many answers ask
/// meanwhile (each trim walks the whole heap under glibc's lock). Needs
/// a tokio runtime; without one it does nothing.
pub fn give_back_soon() {
    use std::sync::atomic::Ordering;
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if PENDING.swap(true, Ordering::AcqRel) {
        return;
    }
    runtime.spawn(async {
        tokio::time::sleep(SETTLE).await;
        PENDING.store(false, Ordering::Release);
        // Inline on the runtime: one trim per burst of answers.
        give_back();
    });
}
