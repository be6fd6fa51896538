//! The real-world Monit files in `../shared/corpus/monit/`: every `accept`
//! file passes `warden -t`, every `reject` file fails with an error on the
//! line Monit names, and nothing panics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus_dir() -> PathBuf {
    std::env::var_os("WARDEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/monit"))
}

struct Row {
    file: String,
    monit_says: String,
    expect: String,
}

fn rows() -> Vec<Row> {
    let dir = corpus_dir();
    let tsv = std::fs::read_to_string(dir.join("SOURCES.tsv"))
        .unwrap_or_else(|e| panic!("the corpus is missing at {}: {e}", dir.display()));
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (nnn, monit, expect) = (col("nnn"), col("monit_5.33_t"), col("warden_expect"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            Row {
                file: format!("{}.monitrc", cells[nnn]),
                monit_says: cells[monit].to_string(),
                expect: cells[expect].to_string(),
            }
        })
        .collect()
}

/// Runs `warden -t` on a private copy (mode 0600, as Monit requires).
fn check(file: &str) -> (Option<i32>, String, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join(file);
    std::fs::copy(corpus_dir().join(file), &copy).unwrap();
    let mut perms = std::fs::metadata(&copy).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(&copy, perms).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("-c")
        .arg(&copy)
        .arg("-t")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stderr, copy)
}

/// Lines of `error:` diagnostics in `file`.
fn error_lines(stderr: &str, file: &Path) -> Vec<usize> {
    let prefix = format!("{}:", file.display());
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter(|rest| rest.contains(": error: "))
        .filter_map(|rest| rest.split(':').next()?.parse().ok())
        .collect()
}

fn monit_error_line(says: &str) -> Option<usize> {
    let rest = says.split("line ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn every_corpus_file_gets_the_verdict_monit_users_expect() {
    let rows = rows();
    assert!(rows.len() >= 40, "only {} corpus rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let (code, stderr, copy) = check(&row.file);
        let verdict = match (row.expect.as_str(), code) {
            (_, None) | (_, Some(101)) => Err(format!("crashed:\n{stderr}")),
            ("accept", Some(0)) => Ok(()),
            ("accept", _) => Err(format!("rejected:\n{stderr}")),
            ("reject", Some(1)) => {
                let want = monit_error_line(&row.monit_says).unwrap();
                let got = error_lines(&stderr, &copy);
                if got.first() == Some(&want) {
                    Ok(())
                } else {
                    Err(format!(
                        "first error should be on line {want}, errors on {got:?}:\n{stderr}"
                    ))
                }
            }
            ("reject", _) => Err(format!("accepted, but Monit says: {}", row.monit_says)),
            ("either", Some(0 | 1)) => Ok(()),
            (other, code) => Err(format!("unexpected expectation {other} / exit {code:?}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{} ({}): {why}", row.file, row.expect));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
