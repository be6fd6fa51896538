//! Monit 5.33 is the oracle: every case of `monit_differential/cases.txt`
//! and every file of the shared corpus goes through `monit -t` and
//! `warden -t`, and the two must give the same verdict (accept or refuse)
//! unless the case lists the difference with its reason.
//!
//! A case is one line, `CONTEXT: TEXT`: the TEXT (`\n` a line break, `\\`
//! a backslash, `@TMP@` the case's temporary folder) goes after the
//! context's head line (`@CONTEXT = HEAD` in the same file). A listed
//! difference ends its line with ` !! warden accepts: REASON` or
//! ` !! warden refuses: REASON`; `corpus: NNN.monitrc !! ...` lists one for
//! a corpus file. A listing that no longer differs fails too, so the list
//! stays true.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

const CASES: &str = "tests/monit_differential/cases.txt";
const MONIT: &str = "monit";
/// Monit's `-t` takes milliseconds; a run this long is hung.
const RUN_LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accept,
    Refuse,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Accept => "accepts",
            Verdict::Refuse => "refuses",
        }
    }
}

/// A listed, deliberate difference: what Warden does, and why.
#[derive(Debug, Clone)]
struct Listed {
    warden: Verdict,
    reason: String,
}

#[derive(Debug)]
struct Case {
    /// `cases.txt:LINE` or `corpus/NNN.monitrc`.
    name: String,
    /// The control text both programs judge (before `@TMP@` is replaced).
    text: String,
    listed: Option<Listed>,
}

/// One program's judgement of one case.
#[derive(Debug)]
struct Run {
    verdict: Result<Verdict, String>,
    output: String,
}

#[derive(Debug)]
struct Outcome {
    monit: Run,
    warden: Run,
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Parses `cases.txt` into generated cases and the listings for corpus
/// files (by file name).
fn parse_cases(text: &str) -> (Vec<Case>, Vec<(String, Listed)>) {
    let mut contexts: Vec<(String, String)> = Vec::new();
    let mut cases = Vec::new();
    let mut corpus = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let at = format!("{CASES}:{}", i + 1);
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(def) = line.strip_prefix('@') {
            let (name, head) = def
                .split_once('=')
                .unwrap_or_else(|| panic!("{at}: a context is '@NAME = HEAD'"));
            contexts.push((name.trim().to_string(), unescape(head.trim())));
            continue;
        }
        let (body, listed) = match line.split_once(" !! ") {
            Some((body, listing)) => (body, Some(parse_listing(&at, listing))),
            None => (line, None),
        };
        let (context, rest) = body
            .split_once(':')
            .unwrap_or_else(|| panic!("{at}: a case is 'CONTEXT: TEXT'"));
        let rest = rest.trim();
        if context == "corpus" {
            let listed = listed.unwrap_or_else(|| panic!("{at}: a corpus line lists a difference"));
            corpus.push((rest.to_string(), listed));
            continue;
        }
        let head = contexts
            .iter()
            .find(|(name, _)| name == context)
            .map(|(_, head)| head.as_str())
            .unwrap_or_else(|| panic!("{at}: no context '@{context} = ...' above"));
        let text = if head.is_empty() {
            format!("{}\n", unescape(rest))
        } else {
            format!("{head}\n{}\n", unescape(rest))
        };
        cases.push(Case {
            name: at,
            text,
            listed,
        });
    }
    (cases, corpus)
}

fn parse_listing(at: &str, listing: &str) -> Listed {
    let (verdict, reason) = listing
        .split_once(':')
        .unwrap_or_else(|| panic!("{at}: a listing is 'warden accepts|refuses: REASON'"));
    let warden = match verdict.trim() {
        "warden accepts" => Verdict::Accept,
        "warden refuses" => Verdict::Refuse,
        other => panic!("{at}: '{other}' should be 'warden accepts' or 'warden refuses'"),
    };
    let reason = reason.trim().to_string();
    assert!(
        !reason.is_empty(),
        "{at}: a listed difference gives its reason"
    );
    Listed { warden, reason }
}

/// `\n` is a line break, `\t` a tab, `\\` a backslash.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("WARDEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest().join("../shared/corpus/monit"))
}

/// Every corpus file, as a case named by its file.
fn corpus_cases(listings: &[(String, Listed)]) -> Vec<Case> {
    let dir = corpus_dir();
    let tsv = std::fs::read_to_string(dir.join("SOURCES.tsv"))
        .unwrap_or_else(|e| panic!("the corpus is missing at {}: {e}", dir.display()));
    let mut rows = tsv.lines();
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    let nnn = header.iter().position(|h| *h == "nnn").unwrap();
    let names: Vec<String> = rows
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{}.monitrc", l.split('\t').nth(nnn).unwrap()))
        .collect();
    for (file, _) in listings {
        assert!(
            names.contains(file),
            "{CASES} lists corpus file {file}, which the corpus does not have"
        );
    }
    names
        .into_iter()
        .map(|file| {
            let bytes = std::fs::read(dir.join(&file)).unwrap();
            Case {
                listed: listings
                    .iter()
                    .find(|(f, _)| *f == file)
                    .map(|(_, l)| l.clone()),
                name: format!("corpus/{file}"),
                text: redirect_state_paths(&String::from_utf8_lossy(&bytes)),
            }
        })
        .collect()
}

/// `monit -t` writes its id file and opens its log file: a corpus file's
/// own `set idfile|statefile|pidfile|log[file] /PATH` is pointed into the
/// case's folder (for both programs, so the verdicts stay comparable).
fn redirect_state_paths(text: &str) -> String {
    let re = regex::Regex::new(
        r#"(?im)^(\s*set\s+(idfile|statefile|pidfile|logfile|log)\s+)(/[^\s#]*|"[^"]*")"#,
    )
    .unwrap();
    re.replace_all(text, "${1}@TMP@/corpus-${2}").into_owned()
}

/// The case's control file in `dir`, mode 0600. Its first line keeps
/// Monit's id and state files in `dir` (Monit writes the id file, else in
/// the real home, even with HOME set); a case's own line N is line N+1.
/// First, not last: a quote left open would swallow a last line.
fn write_case(dir: &Path, case: &Case) -> PathBuf {
    let tmp = dir.to_str().unwrap();
    std::fs::create_dir_all(dir.join("include")).unwrap();
    std::fs::write(
        dir.join("include/one.rc"),
        "check file included with path /etc/hosts\n",
    )
    .unwrap();
    let text = format!(
        "set idfile {tmp}/monit.id set statefile {tmp}/monit.state\n{}",
        case.text.replace("@TMP@", tmp)
    );
    let rc = dir.join("rc");
    std::fs::write(&rc, text).unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    rc
}

/// Runs `program -t -c rc` in `dir` (also its HOME) within [`RUN_LIMIT`].
fn judge(program: &str, rc: &Path, dir: &Path, crash_codes: &[i32]) -> Run {
    let child = Command::new(program)
        .arg("-t")
        .arg("-c")
        .arg(rc)
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            return Run {
                verdict: Err(format!("cannot run {program}: {e}")),
                output: String::new(),
            };
        }
    };
    // Waited for on a thread of its own, so that a hung run is killed at
    // the limit without polling every run.
    let pid = rustix::process::Pid::from_child(&child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(RUN_LIMIT) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            return Run {
                verdict: Err(format!("{program} ran past {RUN_LIMIT:?} and was killed")),
                output: String::new(),
            };
        }
    };
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict = match Some(out.status.code()) {
        None => Err(format!("{program} ran past {RUN_LIMIT:?}")),
        Some(None) => Err(format!("{program} was killed by a signal")),
        Some(Some(0)) => Ok(Verdict::Accept),
        Some(Some(code)) if crash_codes.contains(&code) => {
            Err(format!("{program} crashed (exit {code})"))
        }
        Some(Some(_)) => Ok(Verdict::Refuse),
    };
    Run { verdict, output }
}

fn run_case(case: &Case) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let rc = write_case(dir.path(), case);
    // A panic in Warden exits 101; any exit but 0 and 1 is not a verdict.
    let warden = judge(env!("CARGO_BIN_EXE_warden"), &rc, dir.path(), &[101]);
    let warden = match warden.verdict {
        Ok(Verdict::Refuse) if !warden.output.contains(": error: ") => Run {
            verdict: Err("warden exited non-zero without an error diagnostic".into()),
            ..warden
        },
        _ => warden,
    };
    let monit = judge(MONIT, &rc, dir.path(), &[]);
    Outcome {
        monit: Run {
            output: without_id_lines(&monit.output),
            ..monit
        },
        warden,
    }
}

/// Monit's `-t` announces the id file it made; that is noise here.
fn without_id_lines(output: &str) -> String {
    output
        .lines()
        .filter(|l| !l.contains("New Monit id") && !l.contains("Stored in '"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Runs every case on a few threads; outcomes in case order.
fn run_all(cases: &[Case]) -> Vec<Outcome> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Outcome>>> = cases.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    *slots[i].lock().unwrap() = Some(run_case(case));
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| m.into_inner().unwrap().unwrap())
        .collect()
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    | {l}\n")).collect()
}

/// What is wrong with one case's outcome, if anything.
fn problem(case: &Case, outcome: &Outcome) -> Option<String> {
    let (monit, warden) = match (&outcome.monit.verdict, &outcome.warden.verdict) {
        (Ok(m), Ok(w)) => (*m, *w),
        (Err(e), _) | (_, Err(e)) => return Some(e.clone()),
    };
    match &case.listed {
        None if monit == warden => None,
        None => Some(format!(
            "Monit {} it, Warden {} it (fix Warden, or list the difference with its reason)",
            monit.word(),
            warden.word()
        )),
        Some(l) if monit == warden => Some(format!(
            "listed as a difference ({}), but both {} it now: remove the listing",
            l.reason,
            monit.word()
        )),
        Some(l) if l.warden != warden => Some(format!(
            "listed as 'warden {}', but Warden {} it",
            l.warden.word(),
            warden.word()
        )),
        Some(_) => None,
    }
}

#[test]
fn monit_and_warden_agree_on_every_case_but_the_listed_differences() {
    let probe = Command::new(MONIT).arg("-V").output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "Monit is the oracle of this test and `{MONIT} -V` does not run: install it (scripts/setup)"
    );
    let text = std::fs::read_to_string(manifest().join(CASES)).unwrap();
    let (mut cases, corpus_listings) = parse_cases(&text);
    let generated = cases.len();
    assert!(generated >= 300, "only {generated} generated cases");
    cases.extend(corpus_cases(&corpus_listings));
    let outcomes = run_all(&cases);

    let mut failures = Vec::new();
    let mut listed = 0;
    for (case, outcome) in cases.iter().zip(&outcomes) {
        match problem(case, outcome) {
            Some(why) => failures.push(format!(
                "{}: {why}\n  the control file:\n{}  monit -t:\n{}  warden -t:\n{}",
                case.name,
                indent(&case.text),
                indent(&outcome.monit.output),
                indent(&outcome.warden.output)
            )),
            None if case.listed.is_some() => listed += 1,
            None => {}
        }
    }
    let agree = cases.len() - listed - failures.len();
    let summary = format!(
        "monit differential: {} cases ({generated} generated, {} corpus files), {agree} agree, \
         {listed} listed differences, {} failing",
        cases.len(),
        cases.len() - generated,
        failures.len()
    );
    // Straight to stderr, past the test harness's capture: the counts are
    // worth seeing on every run, not only on a failure.
    let _ = writeln!(std::io::stderr(), "{summary}");
    assert!(failures.is_empty(), "{summary}\n\n{}", failures.join("\n"));
}
