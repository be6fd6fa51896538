//! `procmatch REGEX`: the processes whose command line matches, in Monit's
//! layout (its table without the box, as `monit -B procmatch` prints it),
//! the one a `matching` rule would pick (the oldest) starred. Needs no
//! daemon; both the `warden` and the `monit` command lines print it.

use std::fmt::Write as _;

use warden_probes::pattern::Pattern;
use warden_probes::procfs::Stat;

/// Why no list could be made.
#[derive(Debug)]
pub enum ProcmatchError {
    /// The pattern is not a regular expression; the parser's words.
    Pattern(String),
    /// The process table could not be read.
    Table(std::io::Error),
}

/// The listing, ready to print.
pub fn list(pattern: &str) -> Result<String, ProcmatchError> {
    let re = Pattern::new(pattern).map_err(|e| ProcmatchError::Pattern(e.to_string()))?;
    let table = warden_probes::ProcessTable::scan().map_err(ProcmatchError::Table)?;
    let me = std::process::id();
    let picked = table.oldest_matching(&re, me).map(|s| s.pid);
    let pids = warden_probes::procfs::all_pids().unwrap_or_default();
    let mut found: Vec<(&Stat, &str)> = pids
        .into_iter()
        .filter_map(|pid| table.get(pid))
        .filter(|s| s.pid != me && !s.is_zombie())
        .filter_map(|s| Some((s, table.cmdline(s.pid)?)))
        .filter(|(_, cmd)| re.is_match(cmd))
        .collect();
    found.sort_by_key(|(s, _)| (s.starttime, s.pid));
    let rows: Vec<Row> = found
        .iter()
        .map(|(s, cmd)| Row {
            picked: Some(s.pid) == picked,
            pid: s.pid,
            ppid: s.ppid,
            command: cmd,
        })
        .collect();
    Ok(render(pattern, &rows))
}

/// One matching process.
struct Row<'a> {
    picked: bool,
    pid: u32,
    ppid: u32,
    command: &'a str,
}

/// Monit's command column is 50 characters wide; longer command lines go
/// on in the same column on the next lines.
const COMMAND_WIDTH: usize = 50;

fn render(pattern: &str, rows: &[Row]) -> String {
    let mut out = format!("List of processes matching pattern \"{pattern}\":\n");
    if !rows.is_empty() {
        let _ = writeln!(
            out,
            "    {:<8}  {:<8}  {:<COMMAND_WIDTH$} ",
            "PID", "PPID", "Command"
        );
    }
    for row in rows {
        let mark = if row.picked { '*' } else { ' ' };
        let chars: Vec<char> = row.command.chars().collect();
        let mut pieces = chars
            .chunks(COMMAND_WIDTH)
            .map(|c| c.iter().collect::<String>());
        let first = pieces.next().unwrap_or_default();
        let _ = writeln!(
            out,
            " {mark}  {:>8}  {:>8}  {first:<COMMAND_WIDTH$} ",
            row.pid, row.ppid
        );
        for piece in pieces {
            let _ = writeln!(out, "{:24}{piece:<COMMAND_WIDTH$} ", "");
        }
    }
    let _ = writeln!(out, "Total matches: {}", rows.len());
    if rows.len() > 1 {
        out.push_str(
            "\nWARNING:\nMultiple processes match the pattern. Monit will select the process with the\n\
             highest uptime, the one highlighted.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(picked: bool, pid: u32, command: &str) -> Row<'_> {
        Row {
            picked,
            pid,
            ppid: 1,
            command,
        }
    }

    #[test]
    fn the_layout_is_monits_byte_for_byte() {
        // Captured from Debian's `monit -B procmatch` (5.33.0).
        let long = format!("sleepy {} end 300", "x".repeat(80));
        let text = render(
            "sleep",
            &[row(true, 14093, "sleep 1000"), row(false, 22370, &long)],
        );
        let want = "List of processes matching pattern \"sleep\":\n\
            \x20   PID       PPID      Command                                            \n\
            \x20*     14093         1  sleep 1000                                         \n\
            \x20      22370         1  sleepy xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx \n\
            \x20                       xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx end 300      \n\
            Total matches: 2\n\
            \n\
            WARNING:\n\
            Multiple processes match the pattern. Monit will select the process with the\n\
            highest uptime, the one highlighted.\n";
        assert_eq!(text, want);
    }

    #[test]
    fn no_match_prints_no_header() {
        assert_eq!(
            render("nothing", &[]),
            "List of processes matching pattern \"nothing\":\nTotal matches: 0\n"
        );
    }
}
