//! `if content = "regex"` / `if content != "regex"`: on a file, the lines
//! written since the last cycle (Monit's incremental read: start at the end
//! of the file, start over when it shrank or was replaced, only whole lines,
//! the first 511 bytes of each); on a program, the output of this cycle's
//! run, read from the subject's [`Latest`] outcome. Lines an `ignore
//! content` pattern of the check fires on are skipped by every content rule.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use regex::Regex;

use crate::latest::Latest;
use crate::offload::InFlight;
use crate::outcome::{Outcome, Status};
use crate::{BoxFuture, Probe};

/// Monit inspects the first 511 characters of a line.
const LINE_LIMIT: usize = 511;
/// At most this much is read per cycle; the rest waits for the next one.
const READ_LIMIT: u64 = 1 << 20;

/// A regex and whether a line must match it (`=`) or not (`!=`) to fire.
#[derive(Debug, Clone)]
pub struct LinePattern {
    pub regex: Regex,
    pub matches: bool,
}

impl LinePattern {
    /// Whether this line fires the pattern (an ignore pattern: skips it).
    fn hits(&self, line: &str) -> bool {
        self.regex.is_match(line) == self.matches
    }

    /// The first line that fires the rule and no ignore pattern skips.
    fn fires<'a>(
        &self,
        ignore: &[LinePattern],
        lines: impl Iterator<Item = &'a str>,
    ) -> Option<&'a str> {
        lines
            .filter(|l| !l.is_empty() && !ignore.iter().any(|i| i.hits(l)))
            .find(|l| self.hits(l))
    }

    fn verb(&self) -> &'static str {
        if self.matches {
            "matches"
        } else {
            "does not match"
        }
    }
}

/// Where the last read stopped, and in which file (its inode).
#[derive(Debug, Default)]
struct Cursor {
    inode: Option<u64>,
    offset: u64,
}

#[derive(Debug)]
pub struct FileContentProbe {
    path: PathBuf,
    pattern: LinePattern,
    /// The check's `ignore content` patterns.
    ignore: Vec<LinePattern>,
    cursor: Arc<Mutex<Cursor>>,
    in_flight: InFlight,
}

impl FileContentProbe {
    pub fn new(path: PathBuf, pattern: LinePattern) -> Self {
        FileContentProbe {
            path,
            pattern,
            ignore: Vec::new(),
            cursor: Arc::default(),
            in_flight: InFlight::default(),
        }
    }

    /// Lines these patterns fire on are skipped.
    pub fn ignoring(mut self, ignore: Vec<LinePattern>) -> Self {
        self.ignore = ignore;
        self
    }

    fn judge(&self, text: std::io::Result<String>) -> Outcome {
        let shown = self.path.display();
        let text = match text {
            Ok(t) => t,
            Err(e) => return Outcome::failed(Status::Error, format!("cannot read {shown}: {e}")),
        };
        let lines = text.lines().map(|l| cut(l, LINE_LIMIT));
        match self.pattern.fires(&self.ignore, lines) {
            Some(line) => Outcome::failed(
                Status::Failed,
                format!(
                    "content {} {:?}: {line}",
                    self.pattern.verb(),
                    self.pattern.regex.as_str()
                ),
            ),
            None => Outcome::ok(format!(
                "no new line of {shown} {} the pattern",
                self.pattern.verb()
            )),
        }
    }
}

/// The whole lines written to `path` since `cursor`, which moves on. A
/// FIFO or device is refused without waiting for a writer (opened
/// non-blocking): Monit reads content of regular files only.
fn new_lines(path: &Path, cursor: &Mutex<Cursor>) -> std::io::Result<String> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut cursor = cursor.lock().unwrap_or_else(|p| p.into_inner());
    match cursor.inode {
        // First look: only what is written from now on counts.
        None => cursor.offset = meta.size(),
        Some(ino) if ino != meta.ino() || meta.size() < cursor.offset => cursor.offset = 0,
        Some(_) => {}
    }
    cursor.inode = Some(meta.ino());
    file.seek(SeekFrom::Start(cursor.offset))?;
    let mut buf = Vec::new();
    file.take(READ_LIMIT).read_to_end(&mut buf)?;
    // Only lines ending with a newline; a partial one waits.
    let whole = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    buf.truncate(whole);
    cursor.offset += whole as u64;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The first `limit` bytes of `line`, cut at a character boundary.
fn cut(line: &str, limit: usize) -> &str {
    let mut end = line.len().min(limit);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

impl Probe for FileContentProbe {
    fn kind(&self) -> &'static str {
        "content"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        // A bounded read (READ_LIMIT), off the driver: a file on a hung
        // network file system never answers.
        let (path, cursor) = (self.path.clone(), Arc::clone(&self.cursor));
        Box::pin(async move {
            match self
                .in_flight
                .run(&self.path, move || new_lines(&path, &cursor))
                .await
            {
                Ok(text) => self.judge(text),
                Err(still_out) => still_out,
            }
        })
    }
}

/// `content` rules of a `check program`: this cycle's output.
#[derive(Debug)]
pub struct OutputContentProbe {
    latest: Arc<Latest>,
    pattern: LinePattern,
    ignore: Vec<LinePattern>,
}

impl OutputContentProbe {
    pub fn new(latest: Arc<Latest>, pattern: LinePattern) -> Self {
        OutputContentProbe {
            latest,
            pattern,
            ignore: Vec::new(),
        }
    }

    /// Lines these patterns fire on are skipped.
    pub fn ignoring(mut self, ignore: Vec<LinePattern>) -> Self {
        self.ignore = ignore;
        self
    }

    pub fn judge(&self) -> Outcome {
        let text = self.latest.read().text.unwrap_or_default();
        let verb = self.pattern.verb();
        let regex = self.pattern.regex.as_str();
        // The output is judged as a whole: `=` fires when any line matches,
        // `!=` when none does.
        let any = text
            .lines()
            .filter(|l| !self.ignore.iter().any(|i| i.hits(l)))
            .any(|l| self.pattern.regex.is_match(l));
        if any == self.pattern.matches {
            Outcome::failed(Status::Failed, format!("program output {verb} {regex:?}"))
        } else {
            Outcome::ok(format!("program output does not fire {regex:?}"))
        }
    }
}

impl Probe for OutputContentProbe {
    fn kind(&self) -> &'static str {
        "content"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { self.judge() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[tokio::test]
    async fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let probe = FileContentProbe::new(fifo, pattern("ERROR", true));
        // A blocking open would wait for a writer forever.
        let out = tokio::time::timeout(std::time::Duration::from_secs(10), probe.run())
            .await
            .expect("the probe waited for a writer");
        assert_eq!(out.status, Status::Error, "{}", out.reason);
        assert!(out.reason.contains("not a regular file"), "{}", out.reason);
    }

    fn pattern(re: &str, matches: bool) -> LinePattern {
        LinePattern {
            regex: Regex::new(re).unwrap(),
            matches,
        }
    }

    fn append(path: &std::path::Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[tokio::test]
    async fn only_whole_lines_written_since_the_last_cycle_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        append(&log, "ERROR before warden looked\n");
        let probe = FileContentProbe::new(log.clone(), pattern("ERROR", true));
        assert!(probe.run().await.is_ok(), "old lines do not count");
        append(&log, "fine\nERROR: disk");
        assert!(probe.run().await.is_ok(), "a partial line waits");
        append(&log, " full\n");
        let o = probe.run().await;
        assert_eq!(o.status, Status::Failed);
        assert!(o.reason.ends_with("ERROR: disk full"), "{o:?}");
        assert!(probe.run().await.is_ok(), "each line is read once");
    }

    #[tokio::test]
    async fn a_truncated_or_replaced_file_is_read_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        append(&log, "one\ntwo\nthree\n");
        let probe = FileContentProbe::new(log.clone(), pattern("panic", true));
        assert!(probe.run().await.is_ok());
        std::fs::write(&log, "panic\n").unwrap();
        assert!(!probe.run().await.is_ok(), "shrunk: read from 0");
        std::fs::remove_file(&log).unwrap();
        append(&log, "a much longer first line here\npanic again\n");
        assert!(!probe.run().await.is_ok(), "new inode: read from 0");
    }

    #[test]
    fn program_output_fires_on_a_match_or_on_no_match() {
        let latest = Arc::new(Latest::default());
        latest.publish(&Outcome::ok(""), Some("disk ok\ntemp 40C\n".into()));
        let table = [
            ("temp", true, false),
            ("temp", false, true),
            ("fan", true, true),
            ("fan", false, false),
        ];
        for (re, matches, ok) in table {
            let probe = OutputContentProbe::new(Arc::clone(&latest), pattern(re, matches));
            assert_eq!(probe.judge().is_ok(), ok, "{re} {matches}");
        }
    }

    #[tokio::test]
    async fn ignored_lines_fire_no_content_rule() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        append(&log, "");
        // `ignore content = "debug"` and `ignore content != "^app"`.
        let ignore = vec![pattern("debug", true), pattern("^app", false)];
        let probe =
            FileContentProbe::new(log.clone(), pattern("ERROR", true)).ignoring(ignore.clone());
        assert!(probe.run().await.is_ok());
        let table = [
            ("app debug ERROR in a test\n", true),
            ("kernel: ERROR elsewhere\n", true),
            ("app ERROR: disk full\n", false),
        ];
        for (line, ok) in table {
            append(&log, line);
            assert_eq!(probe.run().await.is_ok(), ok, "{line}");
        }
        let latest = Arc::new(Latest::default());
        latest.publish(&Outcome::ok(""), Some("app debug ERROR\nok\n".into()));
        let output = OutputContentProbe::new(latest, pattern("ERROR", true)).ignoring(ignore);
        assert!(output.judge().is_ok());
    }

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("abc", 10), "abc");
    }
}
