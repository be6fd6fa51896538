//! Whole-config validation after lowering: facts no single statement can
//! check on its own (names, dependencies, regexes, paths, the environment).

use std::collections::HashMap;
use std::path::Path;

use crate::diag::{Diagnostic, did_you_mean};
use crate::lower::Cx;
use crate::model::{Action, CheckKind, Config, ProcessTarget, Program, Test, UserRef};

pub fn validate(config: &Config, cx: &mut Cx) {
    unique_names(config, cx);
    dependencies(config, cx);
    for check in &config.checks {
        if let CheckKind::Process { target } = &check.kind {
            match target {
                ProcessTarget::Pidfile(p) if !p.is_absolute() => cx.error(
                    check.name.span,
                    format!("the pidfile '{}' must be an absolute path", p.display()),
                ),
                ProcessTarget::Matching(re) => regex_ok(cx, check.name.span, re),
                _ => {}
            }
        }
        let programs = [&check.start, &check.stop, &check.restart];
        for program in programs.into_iter().flatten() {
            program_exists(cx, program);
        }
        if let CheckKind::Program { program } = &check.kind {
            program_exists(cx, program);
        }
        for rule in &check.rules {
            match &rule.test.value {
                // One restart per cycle at most: `5 restarts within 5 cycles`
                // can happen (Monit accepts it), 6 within 5 cannot.
                Test::Restarts { count, cycles } if count > cycles => cx.push(
                    Diagnostic::error(
                        rule.test.span,
                        format!("{count} restarts within {cycles} cycles can never happen"),
                    )
                    .with_hint("there is at most one restart per cycle: the restarts must not outnumber the cycles"),
                ),
                Test::Content { pattern, .. } => regex_ok(cx, rule.test.span, pattern),
                _ => {}
            }
            let actions =
                std::iter::once(&rule.action).chain(rule.recovery.as_ref().map(|r| &r.action));
            for action in actions {
                if let Action::Exec { program, .. } = &action.value {
                    program_exists(cx, program);
                }
            }
        }
    }
}

fn unique_names(config: &Config, cx: &mut Cx) {
    let mut seen: HashMap<&str, &crate::span::Spanned<String>> = HashMap::new();
    for check in &config.checks {
        if let Some(first) = seen.get(check.name.value.as_str()) {
            let (first_span, name) = (first.span, &check.name.value);
            cx.push(
                Diagnostic::error(
                    check.name.span,
                    format!("a check named '{name}' exists already"),
                )
                .with_hint(format!(
                    "service names must be unique; the first one is at offset {}",
                    first_span.start
                )),
            );
        } else {
            seen.insert(&check.name.value, &check.name);
        }
    }
}

fn dependencies(config: &Config, cx: &mut Cx) {
    let names: Vec<&str> = config
        .checks
        .iter()
        .map(|c| c.name.value.as_str())
        .collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    for check in &config.checks {
        for dep in &check.depends_on {
            if !index.contains_key(dep.value.as_str()) {
                let mut d = Diagnostic::error(
                    dep.span,
                    format!(
                        "'{}' depends on '{}', which is not defined",
                        check.name.value, dep.value
                    ),
                );
                if let Some(s) = did_you_mean(&dep.value, &names) {
                    d = d.with_hint(format!("did you mean '{s}'?"));
                }
                cx.push(d);
            }
        }
    }
    // Depth-first search for cycles; each cycle is reported once, at the
    // dependency that closes it.
    let edges: Vec<Vec<(usize, crate::span::Span)>> = config
        .checks
        .iter()
        .map(|c| {
            c.depends_on
                .iter()
                .filter_map(|d| index.get(d.value.as_str()).map(|&i| (i, d.span)))
                .collect()
        })
        .collect();
    let mut state = vec![0u8; edges.len()]; // 0 new, 1 on stack, 2 done
    let mut stack: Vec<usize> = Vec::new();
    for root in 0..edges.len() {
        visit(root, &edges, &mut state, &mut stack, &names, cx);
    }
}

fn visit(
    node: usize,
    edges: &[Vec<(usize, crate::span::Span)>],
    state: &mut [u8],
    stack: &mut Vec<usize>,
    names: &[&str],
    cx: &mut Cx,
) {
    if state[node] != 0 {
        return;
    }
    state[node] = 1;
    stack.push(node);
    for &(next, span) in &edges[node] {
        if state[next] == 1 {
            let from = stack.iter().position(|&n| n == next).unwrap_or(0);
            let mut path: Vec<&str> = stack[from..].iter().map(|&n| names[n]).collect();
            path.push(names[next]);
            cx.error(span, format!("dependency cycle: {}", path.join(" -> ")));
        } else {
            visit(next, edges, state, stack, names, cx);
        }
    }
    stack.pop();
    state[node] = 2;
}

pub(crate) fn regex_ok(cx: &mut Cx, span: crate::span::Span, pattern: &str) {
    if let Err(e) = regex::Regex::new(pattern) {
        let detail = e.to_string();
        let last = detail
            .lines()
            .last()
            .unwrap_or("invalid")
            .trim()
            .to_string();
        cx.error(
            span,
            format!("invalid regular expression '{pattern}': {last}"),
        );
    }
}

/// A program that is not there is a warning: it may be installed later.
fn program_exists(cx: &mut Cx, program: &Program) {
    if let Some(first) = program.argv.first() {
        let path = Path::new(first);
        if path.is_absolute() && !path.exists() {
            cx.warning(program.span, format!("program '{first}' does not exist"));
        }
    }
    if let Some(UserRef::Name(user)) = &program.uid
        && !name_in("/etc/passwd", user)
    {
        cx.warning(program.span, format!("user '{user}' does not exist here"));
    }
    if let Some(UserRef::Name(group)) = &program.gid
        && !name_in("/etc/group", group)
    {
        cx.warning(program.span, format!("group '{group}' does not exist here"));
    }
}

/// Whether `/etc/passwd`-style `file` has an entry `name` (true when the
/// file cannot be read: nothing to judge by).
pub(crate) fn name_in(file: &str, name: &str) -> bool {
    std::fs::read_to_string(file)
        .map(|t| t.lines().any(|l| l.split(':').next() == Some(name)))
        .unwrap_or(true)
}
