//! `warden import supervisord FILE`: a `check process` per supervisord
//! program, found by its command line and started and stopped through
//! `supervisorctl`, so supervisord still applies the program's directory,
//! user, environment and stop signal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use configparser::ini::Ini;

use super::emit::{self, Check, Names, Target};

/// Where supervisorctl looks for its configuration without `-c`.
const DEFAULT_CONFS: [&str; 2] = ["/etc/supervisor/supervisord.conf", "/etc/supervisord.conf"];

const SUPERVISORCTL: &str = "/usr/bin/supervisorctl";

/// More processes than this from one program stay one check for the group.
const MAX_PROCS: u32 = 64;

/// A section's keys and raw values (a key without a value has "").
type Section = HashMap<String, String>;
/// The sections in file order.
type Sections = Vec<(String, Section)>;

/// The control text for the programs of `path` (and the files its
/// `[include]` names), or why it cannot be read.
pub fn import(path: &Path) -> Result<String, String> {
    let main = read(path)?;
    let mut files = vec![(path.to_path_buf(), main)];
    for include in includes(path, &files[0].1) {
        let sections = read(&include)?;
        files.push((include, sections));
    }
    let groups = groups(&files);
    let ctl = supervisorctl(path, &files[0].1);
    let mut out = String::new();
    emit::comment(
        &mut out,
        &format!(
            "Imported by `warden import supervisord` from {}.\n\
             Each program is started and stopped through supervisorctl, so supervisord\n\
             still applies its directory, user, environment and stop signal.",
            path.display()
        ),
    );
    let mut names = Names::default();
    let mut any = false;
    for (file, sections) in &files {
        for (header, section) in sections {
            let Some(program) = header.strip_prefix("program:") else {
                continue;
            };
            any = true;
            out.push('\n');
            let group = groups.get(program).map_or(program, String::as_str);
            let found = Program {
                name: program,
                group,
                section,
                file,
            };
            match found.checks(&ctl, &mut names) {
                Ok(checks) => {
                    let blocks: Vec<String> = checks.iter().map(Check::render).collect();
                    out.push_str(&blocks.join("\n"));
                }
                Err(why) => emit::comment(
                    &mut out,
                    &format!(
                        "[program:{program}] in {}: not imported: {why}",
                        file.display()
                    ),
                ),
            }
        }
    }
    if !any {
        out.push('\n');
        emit::comment(&mut out, "No [program:NAME] section found.");
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Sections, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Python's configparser as supervisord sets it up: `=` or `:`, values
    // going on over indented lines, case kept; inline comments are cut
    // below, since they need a blank before them.
    let mut defaults = Ini::new_cs().defaults();
    defaults.multiline = true;
    defaults.enable_inline_comments = false;
    let mut ini = Ini::new_from_defaults(defaults);
    let map = ini
        .read(text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(map
        .into_iter()
        .map(|(header, keys)| {
            let keys = keys
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect();
            (header, keys)
        })
        .collect())
}

fn section<'a>(sections: &'a Sections, header: &str) -> Option<&'a Section> {
    sections.iter().find(|(h, _)| h == header).map(|(_, s)| s)
}

/// A value with its inline comments cut (`;` or `#` after a blank, as
/// supervisord's parser does), per line.
fn value(section: &Section, key: &str) -> Option<String> {
    let raw = section.get(key)?;
    let cut: Vec<&str> = raw
        .lines()
        .map(|line| {
            let end = line
                .char_indices()
                .find(|&(i, c)| {
                    (c == ';' || c == '#') && line[..i].ends_with(|b: char| b.is_whitespace())
                })
                .map_or(line.len(), |(i, _)| i);
            line[..end].trim()
        })
        .collect();
    Some(cut.join("\n").trim().to_string())
}

/// The files `[include] files = ...` names: globs, blank-separated,
/// relative to the including file's folder, in sorted order.
fn includes(path: &Path, sections: &Sections) -> Vec<PathBuf> {
    let Some(files) = section(sections, "include").and_then(|s| value(s, "files")) else {
        return Vec::new();
    };
    let here = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for pattern in files.split_whitespace() {
        let full = here.join(pattern);
        let Ok(found) = glob::glob(&full.to_string_lossy()) else {
            continue;
        };
        let mut found: Vec<PathBuf> = found.flatten().filter(|p| p.is_file()).collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// Program name to the `[group:NAME]` that lists it.
fn groups(files: &[(PathBuf, Sections)]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (_, sections) in files {
        for (header, section) in sections {
            let Some(group) = header.strip_prefix("group:") else {
                continue;
            };
            for program in value(section, "programs").unwrap_or_default().split(',') {
                out.insert(program.trim().to_string(), group.to_string());
            }
        }
    }
    out
}

/// `supervisorctl`, with `-c FILE` when the file is a main configuration
/// (it has a `[supervisord]` section) where supervisorctl does not look.
fn supervisorctl(path: &Path, sections: &Sections) -> String {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let default = DEFAULT_CONFS.iter().any(|d| absolute == Path::new(d));
    if section(sections, "supervisord").is_some() && !default {
        format!("{SUPERVISORCTL} -c {}", absolute.display())
    } else {
        SUPERVISORCTL.to_string()
    }
}

/// One `[program:NAME]` section.
struct Program<'a> {
    name: &'a str,
    /// Its group: the `[group:...]` listing it, else its own name.
    group: &'a str,
    section: &'a Section,
    file: &'a Path,
}

impl Program<'_> {
    fn get(&self, key: &str) -> Option<String> {
        value(self.section, key).filter(|v| !v.is_empty())
    }

    fn checks(&self, ctl: &str, names: &mut Names) -> Result<Vec<Check>, String> {
        let command = self.get("command").ok_or("it has no command")?;
        let numprocs: u32 = match self.get("numprocs") {
            None => 1,
            Some(n) => n
                .parse()
                .map_err(|_| format!("numprocs={n} is not a number"))?,
        };
        let process_name = self
            .get("process_name")
            .unwrap_or_else(|| "%(program_name)s".to_string());
        let mut notes = vec![format!(
            "[program:{}] in {}",
            self.name,
            self.file.display()
        )];
        let restart = self.restart(&mut notes);
        let manual = !boolean(self.get("autostart").as_deref(), true);
        if manual {
            notes.push(format!(
                "autostart=false: mode manual, so nothing starts it until `warden start {}`",
                emit::service_name(self.name)
            ));
        }
        if let Some(signal) = self.get("stopsignal") {
            notes.push(format!("stopsignal={signal}: supervisorctl stop sends it"));
        }
        let per_process =
            numprocs > 1 && numprocs <= MAX_PROCS && command.contains("%(process_num)");
        if numprocs > 1 && !per_process {
            notes.push(format!(
                "numprocs={numprocs}: one check for the group ({}:*), on the oldest of its processes",
                self.group
            ));
        }
        let count = if per_process { numprocs } else { 1 };
        let first: u32 = self
            .get("numprocs_start")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let mut checks = Vec::new();
        for num in first..first + count {
            let expand = |text: &str| self.expand(text, num, numprocs);
            let (command, unknown) = expand(&command);
            let (process, _) = expand(&process_name);
            let mut notes = notes.clone();
            if let Some(word) = unknown {
                notes.push(format!(
                    "the command's %({word}) is not known here: left as written"
                ));
            }
            let argv = shell_words::split(&command)
                .map_err(|e| format!("its command cannot be split into words: {e}"))?;
            if argv.is_empty() {
                return Err("its command is empty".to_string());
            }
            // The process's command line is its words joined by blanks;
            // anchored at the end only, since a script run through its
            // `#!` line has the interpreter before it.
            let regex = format!("{}$", emit::regex_literal(&argv.join(" ")));
            let spec = if numprocs > 1 && !per_process {
                format!("{}:*", self.group)
            } else if process == self.group {
                process.clone()
            } else {
                format!("{}:{process}", self.group)
            };
            let name = if numprocs > 1 && !per_process {
                self.name
            } else {
                &process
            };
            checks.push(Check {
                name: names.unique(emit::service_name(name)),
                target: Target::Matching(regex),
                start: format!("{ctl} start {spec}"),
                stop: format!("{ctl} stop {spec}"),
                restart,
                manual,
                notes,
            });
        }
        Ok(checks)
    }

    /// Whether Warden restarts it, with a note on what differs.
    fn restart(&self, notes: &mut Vec<String>) -> bool {
        match self.get("autorestart").as_deref().unwrap_or("unexpected") {
            "unexpected" => {
                notes.push(
                    "autorestart=unexpected: restarted whatever its exit code (Warden sees \
                     the process gone, not how it ended)"
                        .to_string(),
                );
                true
            }
            other if boolean(Some(other), true) => true,
            _ => {
                notes.push("autorestart=false: an alert, no restart".to_string());
                false
            }
        }
    }

    /// supervisord's `%(NAME)s` expansions (`%(process_num)02d` too) and
    /// `%%`; the first name it does not know, left as written.
    fn expand(&self, text: &str, num: u32, numprocs: u32) -> (String, Option<String>) {
        let mut out = String::with_capacity(text.len());
        let mut unknown = None;
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
                continue;
            }
            let Some((word, width, kind_end)) = spec(after) else {
                out.push('%');
                rest = after;
                continue;
            };
            let value = match word {
                "program_name" => Some(self.name.to_string()),
                "group_name" => Some(self.group.to_string()),
                "process_num" => Some(num.to_string()),
                "numprocs" => Some(numprocs.to_string()),
                "here" => Some(
                    self.file
                        .parent()
                        .unwrap_or(Path::new("."))
                        .display()
                        .to_string(),
                ),
                "host_node_name" => rustix::system::uname()
                    .nodename()
                    .to_str()
                    .ok()
                    .map(str::to_string),
                env => env
                    .strip_prefix("ENV_")
                    .and_then(|var| std::env::var(var).ok()),
            };
            match value {
                Some(v) => {
                    out.push_str(&format!("{v:0>width$}"));
                    rest = &after[kind_end..];
                }
                None => {
                    unknown.get_or_insert_with(|| word.to_string());
                    out.push('%');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        (out, unknown)
    }
}

/// `(NAME)02d` at the start of `after`: the name, the zero-padded width,
/// and where the conversion letter ends.
fn spec(after: &str) -> Option<(&str, usize, usize)> {
    let inner = after.strip_prefix('(')?;
    let close = inner.find(')')?;
    let word = &inner[..close];
    let flags = &inner[close + 1..];
    let digits = flags.chars().take_while(char::is_ascii_digit).count();
    let kind = flags[digits..].chars().next()?;
    if !matches!(kind, 's' | 'd') {
        return None;
    }
    let width = flags[..digits].parse().unwrap_or(0);
    Some((word, width, 1 + close + 1 + digits + 1))
}

/// supervisord's booleans.
fn boolean(value: Option<&str>, default: bool) -> bool {
    match value.map(str::to_ascii_lowercase).as_deref() {
        Some("true" | "yes" | "on" | "1") => true,
        Some("false" | "no" | "off" | "0") => false,
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansions_fill_in_names_and_padded_numbers() {
        let section = Section::new();
        let p = Program {
            name: "web",
            group: "site",
            section: &section,
            file: Path::new("/etc/supervisor/conf.d/web.conf"),
        };
        let (text, unknown) = p.expand(
            "%(here)s/run %(program_name)s-%(process_num)02d %(group_name)s 100%% %(nope)s",
            3,
            4,
        );
        assert_eq!(text, "/etc/supervisor/conf.d/run web-03 site 100% %(nope)s");
        assert_eq!(unknown.as_deref(), Some("nope"));
    }

    #[test]
    fn inline_comments_need_a_blank_before_them() {
        let mut section = Section::new();
        section.insert("command".into(), "sh -c 'a;b' ; run it".into());
        assert_eq!(value(&section, "command").as_deref(), Some("sh -c 'a;b'"));
    }
}
