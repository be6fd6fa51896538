//! Whole-config validation after lowering: facts no single statement can
//! check on its own (names, dependencies, paths, the environment). It reads
//! the lowered model; lowering never calls in here.

mod fit;

use std::collections::HashMap;
use std::path::Path;

use crate::diag::{Diagnostic, did_you_mean};
use crate::lower::context::LowerContext;
use crate::model::{Action, Check, CheckKind, Config, ProcessTarget, Program, Test, UserRef};
use crate::users;

pub fn validate(config: &Config, cx: &mut LowerContext) {
    // After an error a rule may be missing: "nothing is tested" would be noise.
    let clean = !cx.diagnostics.iter().any(Diagnostic::is_error);
    unique_names(config, cx);
    dependencies(config, cx);
    let mut programs = Programs::default();
    for check in &config.checks {
        match &check.kind {
            CheckKind::Process { target } => match target {
                ProcessTarget::Pidfile(p) if !p.is_absolute() => cx.error(
                    check.name.span,
                    format!("the pidfile '{}' must be an absolute path", p.display()),
                ),
                _ => {}
            },
            CheckKind::File { path } | CheckKind::Directory { path } | CheckKind::Fifo { path }
                if !path.is_absolute() =>
            {
                cx.push(
                    Diagnostic::error(
                        check.name.span,
                        format!("the path '{}' must be an absolute path", path.display()),
                    )
                    .with_hint("write the full path, starting with '/'"),
                )
            }
            _ => {}
        }
        if clean {
            nothing_tested(cx, check);
        }
        for program in [&check.start, &check.stop, &check.restart]
            .into_iter()
            .flatten()
        {
            programs.check(cx, program);
        }
        if let CheckKind::Program { program } = &check.kind {
            programs.check(cx, program);
        }
        for rule in &check.rules {
            fit::rule_fits(cx, &check.kind, rule);
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
                // Monit looks them up when it reads the file (and refuses
                // it); Warden when it tests, so the user may come later.
                Test::Uid(user) if !users::user_known(user) => {
                    cx.warning(rule.test.span, format!("user '{user}' does not exist here"))
                }
                Test::Gid(group) if !users::group_known(group) => {
                    cx.warning(rule.test.span, format!("group '{group}' does not exist here"))
                }
                _ => {}
            }
            let actions =
                std::iter::once(&rule.action).chain(rule.recovery.as_ref().map(|r| &r.action));
            for action in actions {
                if let Action::Exec { program, .. } = &action.value {
                    programs.check(cx, program);
                }
            }
        }
    }
}

/// A host check without a connection or ping test, or a program check
/// without a status or content test, tests nothing: Monit refuses the file
/// ("incomplete"); Warden says so and runs it (a program is still run and
/// its exit status and output kept).
fn nothing_tested(cx: &mut LowerContext, check: &Check) {
    let tested = |f: fn(&Test) -> bool| check.rules.iter().any(|r| f(&r.test.value));
    let (missing, hint) = match check.kind {
        CheckKind::Host { .. }
            if !tested(|t| {
                matches!(
                    t,
                    Test::Connection(_) | Test::Url(_) | Test::Ping { .. } | Test::Resolve(_)
                )
            }) =>
        {
            (
                "no port, url or ping test",
                "add e.g. 'if failed ping then alert'",
            )
        }
        CheckKind::Program { .. }
            if !tested(|t| matches!(t, Test::Status { .. } | Test::Content { .. })) =>
        {
            (
                "no status or content test",
                "add e.g. 'if status != 0 then alert'",
            )
        }
        _ => return,
    };
    cx.push(
        Diagnostic::warning(
            check.name.span,
            format!("'{}' has {missing}: nothing acts on it", check.name.value),
        )
        .with_hint(hint),
    );
}

/// Service names are unique, and as in Monit case does not tell two apart.
fn unique_names(config: &Config, cx: &mut LowerContext) {
    use std::collections::hash_map::Entry;
    // One lower-casing and one hash a name, no growth on the way (`-t` on
    // 10,000 checks runs this on its one serial thread).
    let mut seen: HashMap<String, &crate::span::Spanned<String>> =
        HashMap::with_capacity(config.checks.len());
    for check in &config.checks {
        let first = match seen.entry(check.name.value.to_lowercase()) {
            Entry::Occupied(first) => *first.get(),
            Entry::Vacant(slot) => {
                slot.insert(&check.name);
                continue;
            }
        };
        let (first_span, name) = (first.span, &check.name.value);
        let message = if first.value == *name {
            format!("a check named '{name}' exists already")
        } else {
            format!(
                "a check named '{}' exists already (names do not tell case apart)",
                first.value
            )
        };
        cx.push(
            Diagnostic::error(check.name.span, message).with_hint(format!(
                "service names must be unique; the first one is at offset {}",
                first_span.start
            )),
        );
    }
}

fn dependencies(config: &Config, cx: &mut LowerContext) {
    if config.checks.iter().all(|c| c.depends_on.is_empty()) {
        return;
    }
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
    cx: &mut LowerContext,
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

/// Whether each program named so far is there: a big file names the same
/// few programs thousands of times, and each look costs a system call.
#[derive(Default)]
struct Programs<'a> {
    exists: HashMap<&'a str, bool>,
}

impl<'a> Programs<'a> {
    /// A program that is not there is a warning: it may be installed later.
    fn check(&mut self, cx: &mut LowerContext, program: &'a Program) {
        if let Some(first) = program.argv.first() {
            let path = Path::new(first);
            let exists = *self
                .exists
                .entry(first.as_str())
                .or_insert_with(|| !path.is_absolute() || path.exists());
            if !exists {
                cx.warning(program.span, format!("program '{first}' does not exist"));
            }
        }
        if let Some(UserRef::Name(user)) = &program.uid
            && !users::user_known(user)
        {
            cx.warning(program.span, format!("user '{user}' does not exist here"));
        }
        if let Some(UserRef::Name(group)) = &program.gid
            && !users::group_known(group)
        {
            cx.warning(program.span, format!("group '{group}' does not exist here"));
        }
    }
}
