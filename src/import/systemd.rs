//! `warden import systemd UNIT...`: a `check process` per service unit,
//! found by its `PIDFile=` or else by its `ExecStart=` program (and the
//! script after an interpreter), started and stopped through `systemctl`.
//! Every service named becomes a check, with `Restart=` or without (a note
//! says when systemd did not restart it).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::emit::{self, Check, Names, Target};

/// Where unit files are looked up by name, most important first.
const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

const SYSTEMCTL: &str = "/bin/systemctl";

/// The control text, and whether every unit was read.
pub fn import(units: &[String]) -> (String, bool) {
    let mut out = String::new();
    emit::comment(
        &mut out,
        "Imported by `warden import systemd`: each service is started and stopped\n\
         through systemctl, so systemd still applies its user, environment and limits.",
    );
    let mut names = Names::default();
    let mut all_read = true;
    for arg in units {
        out.push('\n');
        let unit = match read_unit(arg) {
            Ok(u) => u,
            Err(why) => {
                all_read = false;
                emit::comment(&mut out, &format!("{arg}: not imported: {why}"));
                continue;
            }
        };
        match unit.check(&mut names) {
            Ok(check) => out.push_str(&check.render()),
            Err(why) => emit::comment(&mut out, &format!("{}: not imported: {why}", unit.name)),
        }
    }
    (out, all_read)
}

/// A unit's name, where its text came from and its `[Service]` entries in
/// order (drop-ins after the unit file).
#[derive(Debug)]
struct Unit {
    name: String,
    from: String,
    service: Vec<(String, String)>,
}

/// `systemd` is running when this folder exists (sd_booted(3)).
fn systemd_runs() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

fn read_unit(arg: &str) -> Result<Unit, String> {
    if arg.contains('/') {
        let path = Path::new(arg);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or("not a file name")?;
        let mut text = read(path)?;
        for dropin in dropins(&[path.with_file_name(format!("{name}.d"))]) {
            text.push_str(&read(&dropin)?);
        }
        return Ok(Unit::parse(name, path.display().to_string(), &text));
    }
    let name = if arg
        .rsplit_once('.')
        .is_some_and(|(_, kind)| is_unit_kind(kind))
    {
        arg.to_string()
    } else {
        format!("{arg}.service")
    };
    if systemd_runs()
        && let Ok(out) = Command::new(SYSTEMCTL).args(["cat", "--", &name]).output()
        && out.status.success()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        return Ok(Unit::parse(
            name.clone(),
            format!("systemctl cat {name}"),
            &text,
        ));
    }
    let (file, text) = find_file(&name)?;
    let mut text = text;
    let mut folders: Vec<PathBuf> = Vec::new();
    for dir in UNIT_DIRS {
        folders.push(Path::new(dir).join(format!("{name}.d")));
        if let Some(template) = template_of(&name) {
            folders.push(Path::new(dir).join(format!("{template}.d")));
        }
    }
    for dropin in dropins(&folders) {
        text.push_str(&read(&dropin)?);
    }
    Ok(Unit::parse(name, file.display().to_string(), &text))
}

fn is_unit_kind(kind: &str) -> bool {
    matches!(
        kind,
        "service"
            | "socket"
            | "timer"
            | "target"
            | "mount"
            | "path"
            | "slice"
            | "scope"
            | "device"
            | "swap"
            | "automount"
    )
}

/// `foo@.service` for `foo@bar.service`.
fn template_of(name: &str) -> Option<String> {
    let (head, tail) = name.split_once('@')?;
    let kind = tail.rsplit_once('.')?.1;
    Some(format!("{head}@.{kind}"))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|t| t + "\n")
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The unit file, in the first folder that has it (the template's for an
/// instance).
fn find_file(name: &str) -> Result<(PathBuf, String), String> {
    let mut candidates = vec![name.to_string()];
    candidates.extend(template_of(name));
    for candidate in &candidates {
        for dir in UNIT_DIRS {
            let path = Path::new(dir).join(candidate);
            if path.is_file() {
                let text = read(&path)?;
                return Ok((path, text));
            }
        }
    }
    Err(format!("no unit file in {}", UNIT_DIRS.join(", ")))
}

/// The `*.conf` files of the drop-in folders, by file name; a name in a
/// folder listed earlier hides the same name later, as in systemd.
fn dropins(folders: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(".conf") && !found.iter().any(|(f, _)| *f == file) {
                found.push((file, entry.path()));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

impl Unit {
    /// systemd's unit syntax: `[Section]`, `Key=Value`, `#` and `;`
    /// comments, a trailing `\` going on to the next line; only
    /// `[Service]` is kept.
    fn parse(name: String, from: String, text: &str) -> Unit {
        let mut service = Vec::new();
        let mut section = String::new();
        let mut pending = String::new();
        for raw in text.lines() {
            let line = raw.trim();
            if line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if pending.is_empty() && line.starts_with('[') {
                section = line.trim_matches(['[', ']']).to_string();
                continue;
            }
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(line);
            let whole = std::mem::take(&mut pending);
            if section == "Service"
                && let Some((key, value)) = whole.split_once('=')
            {
                service.push((key.trim().to_string(), value.trim().to_string()));
            }
        }
        let mut unit = Unit {
            name,
            from,
            service,
        };
        unit.specifiers();
        unit
    }

    /// The last value of a key (an empty one resets it).
    fn last(&self, key: &str) -> Option<&str> {
        self.service
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The first command of `ExecStart=` after the last reset.
    fn exec_start(&self) -> Option<&str> {
        let mut first = None;
        for (k, v) in &self.service {
            if k == "ExecStart" {
                if v.is_empty() {
                    first = None;
                } else if first.is_none() {
                    first = Some(v.as_str());
                }
            }
        }
        first
    }

    /// The specifiers of the unit's name (a template's instance), in the
    /// values read.
    fn specifiers(&mut self) {
        let stem = self
            .name
            .rsplit_once('.')
            .map_or(self.name.as_str(), |(s, _)| s);
        let (prefix, instance) = stem.split_once('@').unwrap_or((stem, ""));
        let pairs = [
            ("%n", self.name.clone()),
            ("%N", stem.to_string()),
            ("%p", prefix.to_string()),
            ("%i", instance.to_string()),
            ("%I", instance.to_string()),
            ("%t", "/run".to_string()),
        ];
        for (_, value) in &mut self.service {
            let mut v = value.replace("%%", "\u{0}");
            for (spec, with) in &pairs {
                v = v.replace(spec, with);
            }
            *value = v.replace('\u{0}', "%");
        }
    }

    fn check(&self, names: &mut Names) -> Result<Check, String> {
        let kind = self.name.rsplit_once('.').map_or("", |(_, k)| k);
        if kind != "service" {
            return Err(format!("a .{kind} unit, not a service: nothing to watch"));
        }
        let mut notes = vec![format!("{} (from {})", self.name, self.from)];
        if self.last("Type") == Some("oneshot") {
            return Err("Type=oneshot: it runs and ends, there is no process to watch".into());
        }
        match self.last("Restart") {
            None | Some("no") => notes
                .push("Restart= was not set: systemd did not restart it; this check does".into()),
            Some(policy) => notes.push(format!(
                "Restart={policy}: restarted whenever its process is gone"
            )),
        }
        let target = if let Some(pidfile) = self.last("PIDFile") {
            // systemd reads a relative PIDFile= under /run.
            let path = if pidfile.starts_with('/') {
                pidfile.to_string()
            } else {
                format!("/run/{pidfile}")
            };
            Target::Pidfile(path)
        } else {
            let exec = self.exec_start().ok_or("it has no ExecStart=")?;
            let matched = matched(&words(exec)?);
            if matched.contains(['%', '$']) {
                notes.push(format!(
                    "ExecStart='s {matched} holds a specifier or variable, matched as written"
                ));
            }
            notes.push(format!(
                "no PIDFile=: found by its command line ({matched} then a blank or the end)"
            ));
            Target::Matching(format!("{}( |$)", emit::regex_literal(&matched)))
        };
        let stem = self.name.strip_suffix(".service").unwrap_or(&self.name);
        Ok(Check {
            name: names.unique(emit::service_name(stem)),
            target,
            start: format!("{SYSTEMCTL} start {}", self.name),
            stop: format!("{SYSTEMCTL} stop {}", self.name),
            restart: true,
            manual: false,
            notes,
        })
    }
}

/// The words of an `ExecStart=` command as its command line shows them:
/// its prefixes (`-`, `@`, `:`, `+`, `!`) dropped, and with `@` from the
/// word after the path, which systemd passes as the process's name.
fn words(exec: &str) -> Result<Vec<String>, String> {
    let prefix_len = exec
        .find(|c: char| !matches!(c, '-' | '@' | ':' | '+' | '!'))
        .unwrap_or(exec.len());
    let (prefixes, command) = exec.split_at(prefix_len);
    let mut words = shell_words::split(command)
        .map_err(|e| format!("ExecStart= cannot be split into words: {e}"))?;
    if prefixes.contains('@') && !words.is_empty() {
        words.remove(0);
    }
    if words.is_empty() {
        return Err("ExecStart= is empty".to_string());
    }
    Ok(words)
}

/// Programs whose name alone would match every script they run.
const INTERPRETERS: [&str; 11] = [
    "sh", "bash", "dash", "zsh", "env", "python", "perl", "ruby", "node", "java", "php",
];

/// What the command line is matched on: the program, and after an
/// interpreter or a shell also the words that follow, up to the first one
/// systemd expands (`$VAR`, a specifier).
fn matched(words: &[String]) -> String {
    let Some(program) = words.first() else {
        return String::new();
    };
    let base = program.rsplit('/').next().unwrap_or(program);
    let version = |rest: &str| rest.chars().all(|c| c.is_ascii_digit() || c == '.');
    let interpreter = INTERPRETERS
        .iter()
        .any(|i| base.strip_prefix(i).is_some_and(version));
    if !interpreter {
        return program.clone();
    }
    words
        .iter()
        .take_while(|w| !w.contains(['$', '%']))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continued_lines_resets_and_prefixes_are_read_as_systemd_does() {
        let unit = Unit::parse(
            "a.service".into(),
            "test".into(),
            "[Unit]\nExecStart=/not/this\n[Service]\nExecStart=/bin/old\nExecStart=\n\
             ExecStart=-@/usr/bin/real \\\n  shown --flag\n# ExecStart=/commented\n",
        );
        let exec = unit.exec_start().unwrap();
        assert_eq!(exec, "-@/usr/bin/real  shown --flag");
        assert_eq!(matched(&words(exec).unwrap()), "shown");
        assert_eq!(
            matched(&words("/usr/sbin/sshd -D").unwrap()),
            "/usr/sbin/sshd"
        );
    }

    #[test]
    fn an_interpreter_is_matched_with_its_script_up_to_a_variable() {
        let w = words("/usr/bin/python3.11 /opt/app/main.py --port $PORT").unwrap();
        assert_eq!(matched(&w), "/usr/bin/python3.11 /opt/app/main.py --port");
        let w = words("/bin/sh -c 'exec /opt/run'").unwrap();
        assert_eq!(matched(&w), "/bin/sh -c exec /opt/run");
        assert_eq!(
            matched(&words("/usr/bin/shellcheck x").unwrap()),
            "/usr/bin/shellcheck"
        );
    }

    #[test]
    fn an_instance_fills_in_its_template_specifiers() {
        let unit = Unit::parse(
            "getty@tty1.service".into(),
            "test".into(),
            "[Service]\nPIDFile=%t/%p-%i.pid\nExecStart=/sbin/agetty 100%% %I\n",
        );
        assert_eq!(unit.last("PIDFile"), Some("/run/getty-tty1.pid"));
        assert_eq!(unit.exec_start(), Some("/sbin/agetty 100% tty1"));
        assert_eq!(
            template_of("getty@tty1.service").as_deref(),
            Some("getty@.service")
        );
    }
}
