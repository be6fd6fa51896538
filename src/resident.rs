//! The daemon's code pages that only its start ran (reading, parsing and
//! lowering the control file, planning the checks): once the checks run,
//! they are dropped from its resident set. The kernel maps back in, from
//! the page cache, any page that runs again, so only the code the steady
//! daemon runs stays counted in its RSS (1,000 pidfile checks: about 1 MB
//! of start-up code was still resident minutes later).

use std::path::Path;

/// How long after the engine starts: its first cycle has run by then at
/// a few thousand checks, and what it ran again comes back on its own.
pub const AFTER_START: std::time::Duration = std::time::Duration::from_secs(2);

/// Drops this process's resident executable code pages (its own binary's
/// text; never a writable mapping). Returns the bytes advised.
#[cfg(target_os = "linux")]
pub fn drop_code_pages() -> usize {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return 0;
    };
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return 0;
    };
    maps.lines()
        .filter_map(|line| own_text(line, &exe))
        .map(|(start, end)| advise(start, end))
        .sum()
}

#[cfg(not(target_os = "linux"))]
pub fn drop_code_pages() -> usize {
    0
}

/// The range of a `/proc/self/maps` line when it is `exe`'s text:
/// read-only and executable, private, backed by the binary's file.
fn own_text(line: &str, exe: &Path) -> Option<(usize, usize)> {
    let mut fields = line.split_ascii_whitespace();
    let range = fields.next()?;
    let perms = fields.next()?;
    // offset, device, inode, then the path (a replaced binary reads
    // "... (deleted)" and is left alone).
    let path = fields.nth(3)?;
    if perms != "r-xp" || Path::new(path) != exe || fields.next().is_some() {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    (start < end).then_some((start, end))
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // madvise has no safe wrapper
fn advise(start: usize, end: usize) -> usize {
    // SAFETY: [start, end) is a whole mapping of this process's own
    // executable, read-only and private: its pages are never written, so
    // MADV_DONTNEED only unmaps them here, and the next access faults the
    // same bytes in again from the file. No Rust object lives there.
    let done =
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    if done == 0 { end - start } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_binarys_own_executable_mapping_is_taken() {
        let exe = Path::new("/usr/sbin/warden");
        let text = "5600-5700 r-xp 00025000 fe:00 123 /usr/sbin/warden";
        assert_eq!(own_text(text, exe), Some((0x5600, 0x5700)));
        for other in [
            "5600-5700 r--p 00000000 fe:00 123 /usr/sbin/warden",
            "5600-5700 rw-p 00000000 fe:00 123 /usr/sbin/warden",
            "5600-5700 r-xp 00025000 fe:00 124 /usr/lib/libc.so.6",
            "5600-5700 r-xp 00025000 fe:00 123 /usr/sbin/warden (deleted)",
            "5600-5700 r-xp 00000000 00:00 0 ",
            "garbage",
        ] {
            assert_eq!(own_text(other, exe), None, "{other}");
        }
    }

    #[test]
    fn the_running_test_binary_survives_its_code_being_dropped() {
        let dropped = drop_code_pages();
        assert!(
            dropped > 0,
            "no executable mapping of the test binary found"
        );
        // Code runs again after the drop (faulted back in, unchanged).
        let words: Vec<String> = (0..100).map(|i| format!("{i:03}")).collect();
        assert_eq!(words.concat().len(), 300);
    }
}
